//! `mongrate pull`: schema files from what a server holds.

use super::Emitter;
use crate::app::{Settings, pull};
use crate::cli::PullArgs;
use anyhow::Result;

pub fn run(settings: &Settings, args: &PullArgs, emit: &Emitter) -> Result<i32> {
    let request = pull::PullRequest {
        targets: args.targets.clone(),
        force: args.force,
        merge: args.merge,
        with_validators: args.with_validators,
        sample: args.sample,
        full_scan: args.full_scan,
        max_depth: args.max_depth,
        required_threshold: args.required_threshold,
        enums: args.enums,
    };
    let report = pull::pull(settings, &request, &mut emit.ui())?;
    Ok(emit.report(&report))
}
