//! `mongrate check`: drift report for CI (schema, and with --data the documents too).

use super::Emitter;
use crate::app::{Settings, check};
use crate::cli::CheckArgs;
use anyhow::Result;

pub fn run(settings: &Settings, args: &CheckArgs, emit: &Emitter) -> Result<i32> {
    let request = check::CheckRequest {
        all_databases: args.all_databases,
        data: args.data,
        sample: args.sample,
        require_search: args.require_search,
    };
    let report = check::check(settings, request, &mut emit.ui())?;
    Ok(emit.report(&report))
}
