//! `mongrate apply`: plan, confirm, execute with progress.

use super::Emitter;
use crate::app::{Settings, apply};
use crate::cli::ApplyArgs;
use anyhow::Result;

pub fn run(settings: &Settings, args: &ApplyArgs, emit: &Emitter) -> Result<i32> {
    let request = apply::ApplyRequest {
        engine: super::plan::engine(&args.engine),
        yes: args.yes,
        dry_run: args.dry_run,
        rollout: args.rollout,
        allow_violations: args.allow_violations,
        watch: args.watch.map(|d| (d, args.max_invalid)),
    };
    let report = apply::apply(settings, request, &mut emit.ui())?;
    Ok(emit.report(&report))
}
