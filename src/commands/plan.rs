//! `mongrate plan`: print what `apply` would do.

use super::{engine, exit, runtime};
use crate::cli::{Format, GlobalArgs, PlanArgs};
use crate::render;
use anyhow::Result;

pub fn run(global: &GlobalArgs, args: &PlanArgs) -> Result<i32> {
    let (plan, _client) = runtime()?.block_on(engine::compute(global, &args.engine, true))?;
    match global.format {
        Format::Json => println!("{}", render::plan_json(&plan)),
        Format::Text => print!("{}", render::plan_text(&plan, engine::style())),
    }
    Ok(if args.exit_code && !plan.steps.is_empty() {
        exit::DIFFERENCES
    } else {
        exit::OK
    })
}
