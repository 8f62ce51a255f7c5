//! `mongrate check`: drift report for CI.

use super::{engine, exit, runtime};
use crate::cli::{CheckArgs, EngineArgs, Format, GlobalArgs};
use crate::render;
use anyhow::Result;

pub fn run(global: &GlobalArgs, args: &CheckArgs) -> Result<i32> {
    let engine_args = EngineArgs {
        prune: false,
        allow_destructive: false,
        all_databases: args.all_databases,
    };
    let (plan, _client) = runtime()?.block_on(engine::compute(global, &engine_args, false))?;
    let in_sync = plan.is_empty();
    match global.format {
        Format::Json => {
            let out = serde_json::json!({
                "in_sync": in_sync,
                "steps": plan.steps,
                "notices": plan.notices,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Format::Text => {
            if in_sync {
                println!(
                    "In sync: the server matches the schemas in `{}`.",
                    global.schemas.display()
                );
            } else {
                println!(
                    "Drift: the server differs from the schemas in `{}`.\n",
                    global.schemas.display()
                );
                print!("{}", render::plan_text(&plan, engine::style()));
            }
        }
    }
    Ok(if in_sync { exit::OK } else { exit::DIFFERENCES })
}
