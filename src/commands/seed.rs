//! `mongrate seed DIR`: load fixture documents into the server.

use super::Emitter;
use crate::app::{Settings, seed};
use crate::cli::SeedArgs;
use anyhow::Result;

pub fn run(settings: &Settings, args: &SeedArgs, emit: &Emitter) -> Result<i32> {
    let report = seed::seed(settings, &args.dir, args.drop, &mut emit.ui())?;
    Ok(emit.report(&report))
}
