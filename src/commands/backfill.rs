//! `mongrate backfill`: fill missing defaults, batched and resumable.

use super::out::{Critical, Progress, outln};
use super::{Server, UsageError, exit, load_declared_spec, print_json, split_target};
use crate::backfill::collection_defaults;
use crate::cli::{BackfillArgs, Format};
use crate::db::backfill::{self, Options, Report, Target};
use crate::spec::SchemaSpec;
use anyhow::Result;
use serde::Serialize;

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
        let (db, coll) = split_target(name)?;
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

/// `backfill --format json`.
#[derive(Serialize)]
struct BackfillJson<'a> {
    dry_run: bool,
    /// Documents modified in all collections (0 in a dry run).
    modified: u64,
    collections: &'a [Report],
}

pub fn run(global: &super::Settings, args: &BackfillArgs) -> Result<i32> {
    if args.batch_size == 0 {
        return Err(UsageError("--batch-size must be at least 1".into()).into());
    }
    for t in &args.targets {
        split_target(t)?;
    }
    let loaded = load_declared_spec(&global.schemas, &global.state_db)?;
    super::fleet::selection(global)?;
    let server = Server::connect(global)?;
    // Templates cover every matching database on the server (narrowed by --databases).
    let (spec, _) = server.run(super::fleet::expand(server.client(), global, loaded.spec))?;
    let targets = targets(&spec, &args.targets)?;
    let opts = Options {
        batch_size: args.batch_size,
        max_docs_per_sec: args.max_docs_per_sec,
        checkpoint_db: Some(global.state_db.clone()),
        retry_for: std::time::Duration::from_secs(global.retry_for),
        max_lag: (args.max_lag > 0).then(|| std::time::Duration::from_secs(args.max_lag)),
    };
    let json = global.format == Format::Json;
    let mut progress = Progress::new(global.quiet || json);
    let reports: Vec<Report> = {
        let _changing = (!args.dry_run).then(Critical::enter);
        server.run(async {
            let work = async {
                let mut reports = Vec::new();
                for t in &targets {
                    reports.push(if args.dry_run {
                        backfill::dry_run(server.client(), t).await?
                    } else {
                        backfill::run(server.client(), t, &opts, &mut progress).await?
                    });
                }
                anyhow::Ok(reports)
            };
            tokio::select! {
                reports = work => reports,
                _ = tokio::signal::ctrl_c() => Err(super::Interrupted(if args.dry_run {
                    "interrupted (Ctrl-C); nothing was changed".into()
                } else {
                    format!(
                        "interrupted (Ctrl-C) — run `mongrate backfill` again to resume: each collection carries on after its last finished batch (checkpoints in `{}.backfill_checkpoints`); what was filled stays filled",
                        global.state_db
                    )
                })
                .into()),
            }
        })?
    };
    let modified: u64 = reports.iter().map(|r| r.modified).sum();
    if json {
        print_json(
            "backfill",
            &BackfillJson {
                dry_run: args.dry_run,
                modified,
                collections: &reports,
            },
        );
        return Ok(exit::OK);
    }
    let verb = if args.dry_run { "would fill" } else { "filled" };
    for r in &reports {
        outln!(
            "{}.{}: {} scanned{}{}{}",
            r.db,
            r.collection,
            crate::progress::count(r.scanned, "document"),
            if args.dry_run {
                String::new()
            } else {
                format!(", {} modified", crate::progress::thousands(r.modified))
            },
            if args.dry_run {
                String::new()
            } else {
                format!(
                    " ({})",
                    crate::progress::human_duration(std::time::Duration::from_millis(r.elapsed_ms))
                )
            },
            match r.resumed_after {
                Some(before) => format!(
                    " by this run, resumed from a checkpoint (the interrupted run had scanned {} and modified {})",
                    crate::progress::thousands(before.scanned),
                    crate::progress::thousands(before.modified)
                ),
                None => String::new(),
            }
        );
        for f in r
            .fields
            .iter()
            .filter(|f| f.filled > 0 || f.blocked > 0 || !global.quiet)
        {
            let blocked = if f.blocked > 0 {
                format!(
                    ", {} blocked (a parent exists but is not an object)",
                    f.blocked
                )
            } else {
                String::new()
            };
            outln!("  {:<40} {verb} {}{blocked}", f.field, f.filled);
        }
    }
    let would: u64 = reports
        .iter()
        .flat_map(|r| r.fields.iter())
        .map(|f| f.filled)
        .sum();
    if args.dry_run {
        outln!(
            "Dry run: {} would be filled in {}; nothing was changed.",
            crate::progress::count(would, "field value"),
            crate::progress::count(reports.len() as u64, "collection")
        );
    } else {
        outln!(
            "Backfill done: {} modified in {}.",
            crate::progress::count(modified, "document"),
            crate::progress::count(reports.len() as u64, "collection")
        );
    }
    Ok(exit::OK)
}
