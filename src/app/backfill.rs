//! `backfill`: fill missing defaults, batched and resumable, database by database.

use super::targets::{self, Labels, Mode, Shared};
use super::{Interrupted, Server, Settings, Ui, UsageError, load};
use crate::backfill::{Report, Target, collection_defaults};
use crate::db::backfill::{self, Options};
use crate::fleet::Outcome;
use crate::spec::SchemaSpec;
use crate::views::backfill::BackfillReport;
use anyhow::Result;
use std::sync::Mutex;

/// What `backfill` is asked.
#[derive(Debug, Clone, Default)]
pub struct BackfillRequest {
    /// `<database>.<collection>` (none: every collection with defaults).
    pub collections: Vec<String>,
    pub dry_run: bool,
    pub batch_size: usize,
    pub max_docs_per_sec: Option<u64>,
    /// Seconds a secondary may lag before batches pause (0: never pause).
    pub max_lag: u64,
}

/// The collections to backfill: the named ones, or every one with defaults.
pub fn targets(spec: &SchemaSpec, names: &[String]) -> Result<Vec<Target>> {
    let mut out = Vec::new();
    if names.is_empty() {
        for db in spec.databases.values() {
            for c in db.collections.values() {
                let defaults = collection_defaults(c);
                if !defaults.is_empty() {
                    out.push(Target {
                        db: db.name.clone(),
                        collection: c.name.clone(),
                        defaults,
                    });
                }
            }
        }
        return Ok(out);
    }
    for name in names {
        let (db, coll) = load::split_target(name)?;
        let Some(c) = spec.collection(db, coll) else {
            return Err(UsageError(format!("no collection `{name}` in the schemas")).into());
        };
        out.push(Target {
            db: db.into(),
            collection: coll.into(),
            defaults: collection_defaults(c),
        });
    }
    Ok(out)
}

/// `mongrate backfill`.
pub fn backfill(
    settings: &Settings,
    request: &BackfillRequest,
    ui: &mut dyn Ui,
) -> Result<BackfillReport> {
    if request.batch_size == 0 {
        return Err(UsageError("--batch-size must be at least 1".into()).into());
    }
    for t in &request.collections {
        load::split_target(t)?;
    }
    let loaded = load::declared_spec(&settings.schemas, &settings.state_db)?;
    targets::selection(settings)?;
    let server = Server::connect(settings)?;
    // Templates cover every matching database on the server (narrowed by --databases).
    let spec = server
        .run(targets::expand(server.client(), settings, &loaded.spec, ui))?
        .unwrap_or(loaded.spec);
    let targets = targets(&spec, &request.collections)?;
    let opts = Options {
        batch_size: request.batch_size,
        max_docs_per_sec: request.max_docs_per_sec,
        checkpoint_db: Some(settings.state_db.clone()),
        retry_for: std::time::Duration::from_secs(settings.retry_for),
        max_lag: (request.max_lag > 0).then(|| std::time::Duration::from_secs(request.max_lag)),
        fence: None,
    };
    // Database by database, in the order the collections were named (or declared).
    let mut seen = std::collections::HashSet::new();
    let names: Vec<String> = targets
        .iter()
        .filter(|t| seen.insert(t.db.as_str()))
        .map(|t| t.db.clone())
        .collect();
    if !request.dry_run && !settings.skip_preflight {
        let ops: Vec<crate::ops::Operation> = targets.iter().map(Target::operation).collect();
        let run = crate::preflight::RunNeeds {
            state_db: Some((settings.state_db.clone(), "backfill checkpoints")),
            reads: Vec::new(),
        };
        let found = super::preflight::findings(&server, &ops, &run)?;
        super::preflight::refuse(&found, settings, "backfill")?;
    }
    let reports: Mutex<Vec<Report>> = Mutex::new(Vec::new());
    let _changing = (!request.dry_run).then(|| ui.changing());
    let shared = Shared::new(ui.progress());
    let labels = Labels {
        label: "backfill",
        noun: "document",
    };
    let client = server.client();
    let (reports_ref, targets_ref, opts_ref, shared_ref) = (&reports, &targets, &opts, &shared);
    let work = targets::each(
        &names,
        Mode::Together,
        labels,
        shared_ref,
        |db| async move {
            let mut sink = Mode::Together.sink(shared_ref);
            // Documents modified, or (a dry run) values that would be filled.
            let mut n = 0;
            for t in targets_ref.iter().filter(|t| t.db == db) {
                let r = if request.dry_run {
                    backfill::dry_run(client, t).await?
                } else {
                    backfill::run(client, t, opts_ref, &mut sink).await?
                };
                n += if request.dry_run {
                    r.fields.iter().map(|f| f.filled).sum()
                } else {
                    r.modified
                };
                reports_ref.lock().expect("not poisoned").push(r);
            }
            Ok(match (n, request.dry_run) {
                (0, _) => (Outcome::InSync, 0),
                (n, true) => (Outcome::Drift, n as usize),
                (n, false) => (Outcome::Changed, n as usize),
            })
        },
    );
    let done = server.run(async {
        tokio::select! {
            done = work => done,
            _ = tokio::signal::ctrl_c() => Err(interrupted(request.dry_run, &settings.state_db)),
        }
    })?;
    let collections = reports.into_inner().expect("not poisoned");
    Ok(BackfillReport {
        dry_run: request.dry_run,
        modified: collections.iter().map(|r| r.modified).sum(),
        collections,
        databases: done.databases,
    })
}

/// Ctrl-C: what was done stays done, and how to go on.
fn interrupted(dry_run: bool, state_db: &str) -> anyhow::Error {
    Interrupted(if dry_run {
        "interrupted (Ctrl-C); nothing was changed".into()
    } else {
        format!(
            "interrupted (Ctrl-C) — run `mongrate backfill` again to resume: each collection carries on after its last finished batch (checkpoints in `{state_db}.backfill_checkpoints`); what was filled stays filled"
        )
    })
    .into()
}
