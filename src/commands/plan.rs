//! `mongrate plan`: print what `apply` would do.

use super::out::stdout;
use super::{engine, exit, print_json};
use crate::cli::{Format, PlanArgs};
use crate::render;
use anyhow::Result;

pub fn run(global: &super::Settings, args: &PlanArgs) -> Result<i32> {
    let plan = engine::compute(global, &args.engine, true)?.plan;
    match global.format {
        Format::Json => print_json("plan", &render::plan_view(&plan)),
        Format::Text | Format::Github => stdout(&render::plan_text(&plan, engine::style())),
    }
    Ok(if args.exit_code && !plan.steps.is_empty() {
        exit::DIFFERENCES
    } else {
        exit::OK
    })
}
