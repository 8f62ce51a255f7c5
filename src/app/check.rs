//! `check`: drift report for CI (schema, and with `--data` the documents too).

use super::engine::{self, EngineRequest};
use super::targets::{self, Labels, Mode, Shared};
use super::{Settings, Ui};
use crate::audit::AuditReport;
use crate::fleet::Outcome;
use crate::spec::jsonschema;
use crate::views::check::{CheckReport, DataJson};
use anyhow::Result;
use std::sync::Mutex;

/// What `check` is asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckRequest {
    /// Read every database on the server, not only those the schemas declare.
    pub all_databases: bool,
    /// Also count the documents that fail their schema.
    pub data: bool,
    /// With `data`: examine a sample of this many documents per collection (none: all).
    pub sample: Option<u64>,
    /// Fail when declared search indexes cannot be compared (a server without search).
    pub require_search: bool,
}

/// `mongrate check`.
pub fn check(settings: &Settings, request: CheckRequest, ui: &mut dyn Ui) -> Result<CheckReport> {
    let started = std::time::Instant::now();
    let engine_request = EngineRequest {
        all_databases: request.all_databases,
        require_search: request.require_search,
        ..Default::default()
    };
    let computed = engine::compute(settings, engine_request, false, ui)?;
    let names = computed.databases();
    let audits: Mutex<Vec<AuditReport>> = Mutex::new(Vec::new());
    if request.data {
        let client = computed.server.client();
        let spec = &computed.spec;
        let shared = Shared::new(ui.progress());
        let labels = Labels {
            label: "check --data",
            noun: "collection",
        };
        let audits = &audits;
        computed.server.run(targets::each(
            &names,
            Mode::Together,
            labels,
            &shared,
            |db| async move {
                let Some(database) = spec.databases.get(&db) else {
                    return Ok((Outcome::InSync, 0));
                };
                for c in database.collections.values() {
                    let Some(validator) = jsonschema::declared_validator(c) else {
                        continue;
                    };
                    let audit =
                        crate::db::audit::audit(client, c, &validator, request.sample).await?;
                    audits.lock().expect("not poisoned").push(audit);
                }
                Ok((Outcome::InSync, 0))
            },
        ))?;
    }
    let audits = audits.into_inner().expect("not poisoned");
    let failing_in = |db: &str| {
        audits
            .iter()
            .filter(|a| a.db == db && a.failing > 0)
            .count()
    };
    let databases = engine::drift_reports(&names, &computed.plan.by_database(), failing_in);
    let failing: u64 = audits.iter().map(|a| a.failing).sum();
    Ok(CheckReport {
        plan: crate::render::plan_view(&computed.plan),
        data: request.data.then(|| DataJson {
            failing,
            collections: crate::render::audit_view(&audits),
        }),
        databases,
        source: computed.plan,
        audits,
        schemas: settings.schemas.display().to_string(),
        fleet: computed.fleet,
        elapsed: started.elapsed(),
    })
}
