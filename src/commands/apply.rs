//! `mongrate apply`: plan, confirm, execute with progress.

use super::{engine, exit, runtime};
use crate::cli::{ApplyArgs, Format, GlobalArgs};
use crate::db::apply::{Reporter, apply_steps};
use crate::plan::{SafetyCheck, Step};
use crate::{db, render};
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};

/// An indicatif bar on stderr, hidden when stderr is not a terminal or with --quiet.
struct Bar(ProgressBar);

impl Reporter for Bar {
    fn start(&mut self, total: usize) {
        self.0.set_length(total as u64);
    }
    fn step_started(&mut self, _i: usize, step: &Step) {
        self.0.set_message(step.op.summary());
    }
    fn step_done(&mut self, _i: usize, _step: &Step) {
        self.0.inc(1);
    }
    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}

fn refusal(step: &Step) -> Option<String> {
    let r = step.safety.as_ref().filter(|r| r.count > 0)?;
    let ids: Vec<String> = r.sample_ids.iter().map(|b| b.to_string()).collect();
    Some(match &step.check {
        Some(SafetyCheck::DuplicateKeys { index }) => format!(
            "{}.{}: {} group(s) of documents share a key of unique index `{}` (e.g. _id {}); remove or merge the duplicates, then apply again",
            step.db,
            step.collection,
            r.count,
            index.name,
            ids.join(", ")
        ),
        _ => format!(
            "{}.{}: {} existing document(s) fail the new validator (e.g. _id {}); fill missing fields with `mongrate backfill`, fix the documents, declare `validation: {{ level: moderate }}`, or pass --allow-violations",
            step.db,
            step.collection,
            r.count,
            ids.join(", ")
        ),
    })
}

/// A validator set at `warn` by a staged rollout, with what it must be tightened to.
struct Staged {
    db: String,
    collection: String,
    validator: bson::Document,
    level: crate::model::ValidationLevel,
    action: crate::model::ValidationAction,
}

/// After the plan ran: backfill each staged collection, recount, tighten or report.
async fn rollout(global: &GlobalArgs, client: &mongodb::Client, staged: &[Staged]) -> Result<i32> {
    let loaded = super::load_valid_spec(&global.schemas)?;
    let mut remaining = Vec::new();
    for s in staged {
        let Some(spec) = loaded.spec.collection(&s.db, &s.collection) else {
            continue;
        };
        let target = db::backfill::Target {
            db: s.db.clone(),
            collection: s.collection.clone(),
            defaults: crate::backfill::collection_defaults(spec),
        };
        let opts = db::backfill::Options {
            batch_size: 1000,
            max_docs_per_sec: None,
            checkpoint_db: None,
        };
        let filled = db::backfill::run(client, &target, &opts, &mut db::backfill::Silent).await?;
        eprintln!(
            "rollout {}.{}: backfill modified {} document(s)",
            s.db, s.collection, filled.modified
        );
        let failing = client
            .database(&s.db)
            .collection::<bson::Document>(&s.collection)
            .count_documents(bson::doc! { "$nor": [s.validator.clone()] })
            .await
            .map_err(|e| anyhow::anyhow!(db::describe_driver_error(&e)))?;
        if failing == 0 {
            let op = crate::ops::Operation::SetValidator {
                db: s.db.clone(),
                collection: s.collection.clone(),
                validator: Some(s.validator.clone()),
                level: s.level,
                action: s.action,
            };
            db::execute::execute(client, &op).await?;
            eprintln!(
                "rollout {}.{}: no document fails any more; validator tightened to {}",
                s.db,
                s.collection,
                s.action.as_str()
            );
        } else {
            let report = db::audit::audit(client, spec, &s.validator, None).await?;
            remaining.push(report);
        }
    }
    if remaining.is_empty() {
        return Ok(exit::OK);
    }
    eprint!("{}", render::audit_text(&remaining));
    bail!(
        "rollout stopped: documents still fail in {} collection(s); their validators stay at `warn` (writes are logged, not refused). Fix the documents above, then run `mongrate apply --rollout` again",
        remaining.len()
    )
}

pub fn run(global: &GlobalArgs, args: &ApplyArgs) -> Result<i32> {
    let rt = runtime()?;
    let (plan, client) = rt.block_on(engine::compute(global, &args.engine, true))?;
    match global.format {
        Format::Json => println!("{}", render::plan_json(&plan)),
        Format::Text => print!("{}", render::plan_text(&plan, engine::style())),
    }
    let runnable = plan.runnable().count();
    if runnable == 0 {
        eprintln!("Nothing to apply.");
        return Ok(exit::OK);
    }
    // Staged rollout: validators with violators go in at `warn` first.
    let mut plan = plan;
    let mut staged: Vec<Staged> = Vec::new();
    if args.rollout {
        for step in plan
            .steps
            .iter_mut()
            .filter(|s| s.skipped.is_none() && s.blocked_by_data())
        {
            if let crate::ops::Operation::SetValidator {
                db,
                collection,
                validator: Some(v),
                level,
                action,
            } = &mut step.op
            {
                staged.push(Staged {
                    db: db.clone(),
                    collection: collection.clone(),
                    validator: v.clone(),
                    level: *level,
                    action: *action,
                });
                *action = crate::model::ValidationAction::Warn;
                step.reason
                    .push_str(" (staged: warn first, then backfill and tighten)");
            }
        }
    }
    for t in &staged {
        eprintln!(
            "rollout {}.{}: existing documents fail the new validator; it goes in with validationAction warn, then backfill, recount, tighten",
            t.db, t.collection
        );
    }
    // Refuse before anything runs: never a half-applied change.
    let refusals: Vec<String> = plan
        .runnable()
        .filter(|s| match s.check {
            Some(SafetyCheck::DuplicateKeys { .. }) => true,
            Some(SafetyCheck::ValidatorViolations { .. }) => {
                !args.allow_violations
                    && !staged
                        .iter()
                        .any(|t| t.db == s.db && t.collection == s.collection)
            }
            None => false,
        })
        .filter_map(refusal)
        .collect();
    if !refusals.is_empty() {
        bail!(
            "refusing to apply; nothing was changed:\n  {}",
            refusals.join("\n  ")
        );
    }
    if args.dry_run {
        eprintln!("Dry run: {runnable} step(s) would run; nothing was changed.");
        return Ok(exit::OK);
    }
    let target = db::redact_uri(&global.uri);
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            bail!("refusing to apply without confirmation: stdin is not a terminal; pass --yes");
        }
        eprint!("Apply {runnable} step(s) to {target}? [y/N] ");
        std::io::stderr().flush().ok();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("Not applied.");
            return Ok(exit::ERROR);
        }
    }
    let bar = ProgressBar::new(runnable as u64);
    if global.quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut reporter = Bar(bar);
    match rt.block_on(apply_steps(&client, &plan.steps, &mut reporter)) {
        Ok(n) => {
            eprintln!("Applied {n} step(s) to {target}.");
            if staged.is_empty() {
                return Ok(exit::OK);
            }
            rt.block_on(rollout(global, &client, &staged))
        }
        Err(e) => {
            let mut msg = format!(
                "step {} of {} failed at {target}: {}\n  {}\n",
                e.failed_index, e.total, e.summary, e.message
            );
            msg.push_str(&format!("  applied ({}):", e.applied.len()));
            for s in &e.applied {
                msg.push_str(&format!("\n    {s}"));
            }
            msg.push_str(&format!("\n  not applied ({}):", e.not_applied.len()));
            for s in &e.not_applied {
                msg.push_str(&format!("\n    {s}"));
            }
            msg.push_str("\n  fix the cause and run `mongrate apply` again: applied steps are not repeated in the new plan");
            bail!(msg)
        }
    }
}
