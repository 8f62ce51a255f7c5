//! `mongrate check`: drift report for CI (schema, and with --data the documents too).

use super::{engine, exit, load_valid_spec, runtime};
use crate::cli::{CheckArgs, EngineArgs, Format, GlobalArgs};
use crate::db::audit::AuditReport;
use crate::{jsonschema, render};
use anyhow::Result;

pub fn run(global: &GlobalArgs, args: &CheckArgs) -> Result<i32> {
    let engine_args = EngineArgs {
        prune: false,
        allow_destructive: false,
        all_databases: args.all_databases,
    };
    let rt = runtime()?;
    let (plan, client) = rt.block_on(engine::compute(global, &engine_args, false))?;
    let audits: Vec<AuditReport> = if args.data {
        let loaded = load_valid_spec(&global.schemas)?;
        rt.block_on(async {
            let mut out = Vec::new();
            for db in loaded.spec.databases.values() {
                for c in db.collections.values().filter(|c| c.validation.enabled) {
                    let validator = jsonschema::collection_validator(c);
                    out.push(crate::db::audit::audit(&client, c, &validator, args.sample).await?);
                }
            }
            anyhow::Ok(out)
        })?
    } else {
        Vec::new()
    };
    let failing: u64 = audits.iter().map(|a| a.failing).sum();
    let in_sync = plan.is_empty();
    match global.format {
        Format::Json => {
            let mut out = serde_json::json!({
                "in_sync": in_sync,
                "steps": plan.steps,
                "notices": plan.notices,
            });
            if args.data {
                out["data"] = serde_json::json!({ "failing": failing, "collections": audits });
            }
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
            if args.data {
                print!("{}", render::audit_text(&audits));
            }
        }
    }
    Ok(if in_sync && failing == 0 {
        exit::OK
    } else {
        exit::DIFFERENCES
    })
}
