//! `mongrate backfill`: fill missing defaults, batched and resumable.

use super::{engine, exit, load_valid_spec, runtime};
use crate::backfill::collection_defaults;
use crate::cli::{BackfillArgs, Format, GlobalArgs};
use crate::db;
use crate::db::backfill::{self, Options, Report, Reporter, Target};
use crate::spec::SchemaSpec;
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

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
        let Some((db, coll)) = name.split_once('.') else {
            bail!("`{name}`: expected <database>.<collection>");
        };
        let Some(c) = spec.collection(db, coll) else {
            bail!("no collection `{name}` in the schemas");
        };
        out.push(Target {
            db: db.into(),
            collection: coll.into(),
            defaults: collection_defaults(c),
        });
    }
    Ok(out)
}

/// A bar per collection: count, rate and ETA (hidden off a terminal or with --quiet).
struct Bar {
    bar: Option<ProgressBar>,
    visible: bool,
}

impl Reporter for Bar {
    fn start(&mut self, target: &Target, total: u64, already: u64) {
        let bar = ProgressBar::new(total.max(already));
        bar.set_position(already);
        if !self.visible {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        bar.set_style(
            ProgressStyle::with_template("{msg:30} {bar:30} {pos}/{len} {per_sec} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(format!("{}.{}", target.db, target.collection));
        self.bar = Some(bar);
    }
    fn progress(&mut self, scanned: u64, _modified: u64) {
        if let Some(b) = &self.bar {
            if scanned > b.length().unwrap_or(0) {
                b.set_length(scanned);
            }
            b.set_position(scanned);
        }
    }
    fn finish(&mut self, _report: &Report) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

pub fn run(global: &GlobalArgs, args: &BackfillArgs) -> Result<i32> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let loaded = load_valid_spec(&global.schemas)?;
    let targets = targets(&loaded.spec, &args.targets)?;
    let opts = Options {
        batch_size: args.batch_size,
        max_docs_per_sec: args.max_docs_per_sec,
        checkpoint_db: Some(args.state_db.clone()),
    };
    let mut bar = Bar {
        bar: None,
        visible: !global.quiet && std::io::stderr().is_terminal(),
    };
    let reports: Vec<Report> = runtime()?.block_on(async {
        let client = db::connect(&engine::connect_options(global)).await?;
        let mut reports = Vec::new();
        for t in &targets {
            reports.push(if args.dry_run {
                backfill::dry_run(&client, t).await?
            } else {
                backfill::run(&client, t, &opts, &mut bar).await?
            });
        }
        anyhow::Ok(reports)
    })?;
    match global.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&reports)?),
        Format::Text => {
            let verb = if args.dry_run { "would fill" } else { "filled" };
            for r in &reports {
                println!(
                    "{}.{}: {} document(s) scanned{}{}",
                    r.db,
                    r.collection,
                    r.scanned,
                    if args.dry_run {
                        String::new()
                    } else {
                        format!(", {} modified", r.modified)
                    },
                    if r.resumed {
                        " (resumed from a checkpoint)"
                    } else {
                        ""
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
                    println!("  {:<40} {verb} {}{blocked}", f.field, f.filled);
                }
            }
            let modified: u64 = reports.iter().map(|r| r.modified).sum();
            let would: u64 = reports
                .iter()
                .flat_map(|r| r.fields.iter())
                .map(|f| f.filled)
                .sum();
            if args.dry_run {
                println!(
                    "Dry run: {would} field value(s) would be filled in {} collection(s); nothing was changed.",
                    reports.len()
                );
            } else {
                println!(
                    "Backfill done: {modified} document(s) modified in {} collection(s).",
                    reports.len()
                );
            }
        }
    }
    Ok(exit::OK)
}
