//! `mongrate check`: drift report for CI (schema, and with --data the documents too).

use super::out::stdout;
use super::{engine, exit, load_valid_spec, print_json};
use crate::cli::{CheckArgs, EngineArgs, Format, GlobalArgs};
use crate::db::audit::AuditReport;
use crate::{jsonschema, render};
use anyhow::Result;
use serde::Serialize;

/// `check --format json`.
#[derive(Serialize)]
struct CheckJson {
    #[serde(flatten)]
    plan: render::PlanJson,
    /// With --data: documents failing their schema, per collection.
    data: Option<DataJson>,
}

#[derive(Serialize)]
struct DataJson {
    failing: u64,
    collections: Vec<render::AuditJson>,
}

pub fn run(global: &GlobalArgs, args: &CheckArgs) -> Result<i32> {
    let engine_args = EngineArgs {
        prune: false,
        allow_destructive: false,
        all_databases: args.all_databases,
    };
    let (plan, server) = engine::compute(global, &engine_args, false)?;
    let audits: Vec<AuditReport> = if args.data {
        let loaded = load_valid_spec(&global.schemas, &global.state_db)?;
        server.run(async {
            let mut out = Vec::new();
            for db in loaded.spec.databases.values() {
                for c in db.collections.values() {
                    let Some(validator) = jsonschema::declared_validator(c) else {
                        continue;
                    };
                    out.push(
                        crate::db::audit::audit(server.client(), c, &validator, args.sample)
                            .await?,
                    );
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
        Format::Json => print_json(
            "check",
            &CheckJson {
                plan: render::plan_view(&plan),
                data: args.data.then(|| DataJson {
                    failing,
                    collections: render::audit_view(&audits),
                }),
            },
        ),
        Format::Text => {
            let mut text = if in_sync {
                format!(
                    "In sync: the server matches the schemas in `{}`.\n",
                    global.schemas.display()
                )
            } else {
                format!(
                    "Drift: the server differs from the schemas in `{}`.\n\n{}",
                    global.schemas.display(),
                    render::plan_text(&plan, engine::style())
                )
            };
            if args.data {
                text.push_str(&render::audit_text(&audits));
            }
            stdout(&text);
        }
    }
    Ok(if in_sync && failing == 0 {
        exit::OK
    } else {
        exit::DIFFERENCES
    })
}
