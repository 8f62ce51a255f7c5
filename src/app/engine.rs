//! What `plan`, `apply` and `check` share: load the schemas, read the server, diff, plan.

use super::{Server, Settings, Ui, load, targets};
use crate::db;
use crate::fleet::{DatabaseReport, Outcome};
use crate::normalize::{self, Side};
use crate::plan::{Plan, PlanOptions};
use crate::spec;
use anyhow::{Context, Result};
use std::collections::BTreeMap;

/// What to plan.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineRequest {
    /// Plan drops of what the schemas do not declare.
    pub prune: bool,
    /// Run those drops (else they are listed as skipped).
    pub allow_destructive: bool,
    /// Read every database on the server, not only those the schemas declare.
    pub all_databases: bool,
    /// Declared search indexes on a server without search are an error, not a note.
    pub require_search: bool,
}

/// What `plan`, `apply` and `check` computed.
pub struct Computed {
    pub plan: Plan,
    pub server: Server,
    /// The schemas with every template expanded to the databases it covers.
    pub spec: spec::SchemaSpec,
    /// A run over a fleet: the schemas hold a template, or `--databases` was given.
    pub fleet: bool,
    /// What preflight read of the server and the user (with `data_checks`, when the plan has
    /// steps).
    pub facts: Option<crate::preflight::ServerFacts>,
}

impl Computed {
    /// The databases the run covers: those of the schemas, and those only the plan names
    /// (`--all-databases`), in name order.
    pub fn databases(&self) -> Vec<String> {
        let mut names: Vec<String> = self.spec.databases.keys().cloned().collect();
        names.extend(self.plan.steps.iter().map(|s| s.db.clone()));
        names.extend(self.plan.notices.iter().map(|n| n.db.clone()));
        names.sort();
        names.dedup();
        names
    }
}

/// Load, connect, expand templates, inspect, diff and plan; with `data_checks` (a plan of
/// changes about to be made: `plan`, `apply`), also count violators and duplicates, and run
/// preflight: can every step run for the connected user on this server?
pub fn compute(
    settings: &Settings,
    request: EngineRequest,
    data_checks: bool,
    ui: &mut dyn Ui,
) -> Result<Computed> {
    let loaded = load::declared_spec(&settings.schemas, &settings.state_db)?;
    targets::selection(settings)?;
    let server = Server::connect(settings)?;
    let written = loaded.spec;
    let expanded = server.run(targets::expand(server.client(), settings, &written, ui))?;
    // The templates are lowered once, then copied to each database they cover.
    let mut desired = spec::to_model(&written);
    normalize::schema(&mut desired, Side::Spec);
    let fleet = expanded.is_some();
    let spec = match expanded {
        Some(spec) => {
            desired = crate::fleet::expand_model(&desired, &written, &spec);
            spec
        }
        None => written,
    };
    let mut plan = server
        .run(db::plan_against_server(
            server.client(),
            &desired,
            &PlanOptions {
                prune: request.prune,
                allow_destructive: request.allow_destructive,
                retire: crate::plan::Retire {
                    enabled: true,
                    now: db::retire::now(),
                    ..Default::default()
                },
            },
            request.all_databases,
            &settings.state_db,
        ))
        .with_context(|| format!("planning against {}", settings.shown_uri()))?;
    if request.require_search && plan.search_unsupported > 0 {
        anyhow::bail!(
            "{} declared in the schemas, and {} does not support search indexes (they need MongoDB Atlas, or a deployment with mongot); --require-search makes that an error",
            crate::progress::count(plan.search_unsupported as u64, "search index"),
            settings.shown_uri()
        );
    }
    let mut facts = None;
    if data_checks && plan.runnable().next().is_some() {
        let retires = plan.runnable().any(|s| s.retire.is_some()) || !plan.forget.is_empty();
        let evolves = plan
            .runnable()
            .any(|s| matches!(s.op, crate::ops::Operation::EvolveField { .. }));
        let run = crate::preflight::RunNeeds {
            state_db: if retires {
                Some((settings.state_db.clone(), "index retirement records"))
            } else if evolves {
                Some((
                    settings.state_db.clone(),
                    "evolution checkpoints and records",
                ))
            } else {
                None
            },
            reads: plan
                .runnable()
                .filter(|s| s.check.is_some())
                .map(|s| (s.db.clone(), s.collection.clone()))
                .collect(),
        };
        let read = super::preflight::facts(&server)?;
        plan.preflight = crate::preflight::check(plan.runnable().map(|s| &s.op), &run, &read);
        facts = Some(read);
        // Counting violators and duplicates reads documents: only once the user may.
        if plan.preflight.is_empty() || settings.skip_preflight {
            server
                .run(db::safety::run_checks(server.client(), &mut plan))
                .with_context(|| {
                    format!("checking existing documents at {}", settings.shown_uri())
                })?;
        }
    }
    Ok(Computed {
        plan,
        server,
        spec,
        fleet,
        facts,
    })
}

/// Per database: `in_sync`, or `drift` with its number of `differences` (steps and notices
/// of its part of the plan, and whatever `more` adds).
pub fn drift_reports(
    names: &[String],
    parts: &BTreeMap<String, Plan>,
    more: impl Fn(&str) -> usize,
) -> Vec<DatabaseReport> {
    names
        .iter()
        .map(|db| {
            let differences = parts
                .get(db)
                .map(|p| p.steps.len() + p.notices.len() + p.waiting().count())
                .unwrap_or(0)
                + more(db);
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
        .collect()
}
