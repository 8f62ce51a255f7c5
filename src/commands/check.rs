//! `mongrate check`: drift report for CI (schema, and with --data the documents too).

use super::out::stdout;
use super::{engine, exit, print_json};
use crate::cli::{CheckArgs, EngineArgs, Format};
use crate::db::audit::AuditReport;
use crate::render;
use crate::spec::jsonschema;
use anyhow::Result;
use serde::Serialize;

/// `check --format json`.
#[derive(Serialize)]
struct CheckJson {
    #[serde(flatten)]
    plan: render::PlanJson,
    /// With --data: documents failing their schema, per collection.
    data: Option<DataJson>,
    /// Per database checked: `in_sync` or `drift`, with its number of differences.
    databases: Vec<crate::fleet::DatabaseReport>,
}

#[derive(Serialize)]
struct DataJson {
    failing: u64,
    collections: Vec<render::AuditJson>,
}

pub fn run(global: &super::Settings, args: &CheckArgs) -> Result<i32> {
    let engine_args = EngineArgs {
        prune: false,
        allow_destructive: false,
        all_databases: args.all_databases,
    };
    let started = std::time::Instant::now();
    let engine::Computed {
        plan,
        server,
        spec,
        fleet,
    } = engine::compute(global, &engine_args, false)?;
    let audits: Vec<AuditReport> = if args.data {
        server.run(async {
            let mut out = Vec::new();
            for db in spec.databases.values() {
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
    let report = per_database(&spec, &plan, &audits);
    match global.format {
        Format::Json => print_json(
            "check",
            &CheckJson {
                plan: render::plan_view(&plan),
                data: args.data.then(|| DataJson {
                    failing,
                    collections: render::audit_view(&audits),
                }),
                databases: report.databases.clone(),
            },
        ),
        Format::Text | Format::Github => {
            let mut text = if in_sync && failing > 0 {
                let mut text = format!(
                    "Data drift: the server's collections and indexes match the schemas in `{}`, but {} {} their schema.\n\n",
                    global.schemas.display(),
                    crate::progress::count(failing, "document"),
                    if failing == 1 { "fails" } else { "fail" }
                );
                render::retiring_text(&mut text, &plan);
                text
            } else if in_sync {
                // Indexes waiting out `retire_after` are as intended, and still worth a line.
                let mut text = format!(
                    "In sync: the server matches the schemas in `{}`.\n",
                    global.schemas.display()
                );
                render::retiring_text(&mut text, &plan);
                text
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
            if fleet {
                text.push_str(&report.text(started.elapsed(), "difference"));
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

/// Per database of the schemas: in sync, or drifted (its differences and failing documents).
fn per_database(
    spec: &crate::spec::SchemaSpec,
    plan: &crate::plan::Plan,
    audits: &[AuditReport],
) -> crate::fleet::Report {
    use crate::fleet::{DatabaseReport, Outcome, Report};
    let mut names: Vec<&String> = spec.databases.keys().collect();
    // Databases only on the server (--all-databases) drift too.
    for s in &plan.steps {
        names.push(&s.db);
    }
    for n in &plan.notices {
        names.push(&n.db);
    }
    names.sort();
    names.dedup();
    Report {
        databases: names
            .into_iter()
            .map(|db| {
                let part = plan.for_database(db);
                let failing = audits
                    .iter()
                    .filter(|a| &a.db == db && a.failing > 0)
                    .count();
                let differences = part.steps.len() + part.notices.len() + failing;
                DatabaseReport {
                    database: db.clone(),
                    outcome: if differences == 0 {
                        Outcome::InSync
                    } else {
                        Outcome::Drift
                    },
                    steps: differences,
                    error: None,
                    elapsed_ms: 0,
                }
            })
            .collect(),
        stopped: None,
    }
}
