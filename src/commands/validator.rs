//! `mongrate validator DB.COLLECTION`: print the generated `$jsonSchema`.

use super::Emitter;
use crate::app::{Settings, validate};
use crate::cli::ValidatorArgs;
use anyhow::Result;

pub fn run(settings: &Settings, args: &ValidatorArgs, emit: &Emitter) -> Result<i32> {
    let report = validate::validator(settings, &args.target)?;
    Ok(emit.report(&report))
}
