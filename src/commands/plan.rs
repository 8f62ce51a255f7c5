//! `mongrate plan`: print what `apply` would do.

use super::Emitter;
use crate::app::engine::EngineRequest;
use crate::app::{Settings, plan};
use crate::cli::{EngineArgs, PlanArgs};
use anyhow::Result;

/// What to plan, from the plan options.
pub fn engine(args: &EngineArgs) -> EngineRequest {
    EngineRequest {
        prune: args.prune,
        allow_destructive: args.allow_destructive,
        all_databases: args.all_databases,
        require_search: args.require_search,
    }
}

pub fn run(settings: &Settings, args: &PlanArgs, emit: &Emitter) -> Result<i32> {
    let request = plan::PlanRequest {
        engine: engine(&args.engine),
        exit_code: args.exit_code,
    };
    let report = plan::plan(settings, request, &mut emit.ui())?;
    Ok(emit.report(&report))
}
