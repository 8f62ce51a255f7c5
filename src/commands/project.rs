//! The project's commands: `init`, `schema-json`, `completions`, `man`.

use super::Emitter;
use crate::app::{Settings, project};
use crate::cli::{Cli, CompletionsArgs, InitArgs, SchemaJsonArgs};
use anyhow::Result;
use clap::CommandFactory;

pub fn init(settings: &Settings, args: &InitArgs, emit: &Emitter) -> Result<i32> {
    let report = project::init(settings, args.force)?;
    Ok(emit.report(&report))
}

pub fn schema_json(args: &SchemaJsonArgs, emit: &Emitter) -> Result<i32> {
    let report = project::schema_json(args.kind, args.write.as_deref())?;
    Ok(emit.report(&report))
}

pub fn completions(args: &CompletionsArgs, emit: &Emitter) -> Result<i32> {
    let report = project::completions(args.shell, Cli::command());
    Ok(emit.report(&report))
}

pub fn man(emit: &Emitter) -> Result<i32> {
    let report = project::man(Cli::command())?;
    Ok(emit.report(&report))
}
