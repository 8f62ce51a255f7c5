//! `mongrate diff A B`: compare two schema folders without a server.

use super::Emitter;
use crate::app::{Settings, plan};
use crate::cli::DiffArgs;
use anyhow::Result;

pub fn run(settings: &Settings, args: &DiffArgs, emit: &Emitter) -> Result<i32> {
    let report = plan::diff(settings, &args.from, &args.to)?;
    Ok(emit.report(&report))
}
