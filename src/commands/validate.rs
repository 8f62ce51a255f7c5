//! `mongrate validate`: check every spec file, list every problem.

use super::Emitter;
use crate::app::{Settings, validate};
use crate::cli::ValidateArgs;
use anyhow::Result;

pub fn run(settings: &Settings, args: &ValidateArgs, emit: &Emitter) -> Result<i32> {
    let report = validate::validate(settings, &args.files)?;
    Ok(emit.report(&report))
}
