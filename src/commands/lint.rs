//! `mongrate lint`: classify the changes between two versions of the schemas, for review in CI.

use super::Emitter;
use crate::app::{Settings, lint};
use crate::cli::LintArgs;
use anyhow::Result;

pub fn run(settings: &Settings, args: &LintArgs, emit: &Emitter) -> Result<i32> {
    if args.rules {
        return Ok(emit.report(&lint::rules()));
    }
    let request = lint::LintRequest {
        old: args.old.clone(),
        new: args.new.clone(),
        base: args.base.clone(),
        fail_on: args.fail_on,
        server: args.server,
    };
    let report = lint::lint(settings, &request)?;
    Ok(emit.report(&report))
}
