//! `mongrate backfill`: fill missing defaults, batched and resumable.

use super::Emitter;
use crate::app::{Settings, backfill};
use crate::cli::BackfillArgs;
use anyhow::Result;

pub fn run(settings: &Settings, args: &BackfillArgs, emit: &Emitter) -> Result<i32> {
    let request = backfill::BackfillRequest {
        collections: args.targets.clone(),
        dry_run: args.dry_run,
        batch_size: args.batch_size,
        max_docs_per_sec: args.max_docs_per_sec,
        max_lag: args.max_lag,
    };
    let report = backfill::backfill(settings, &request, &mut emit.ui())?;
    Ok(emit.report(&report))
}
