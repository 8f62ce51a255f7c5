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
    // Refuse before anything runs: never a half-applied change.
    let refusals: Vec<String> = plan
        .runnable()
        .filter(|s| match s.check {
            Some(SafetyCheck::DuplicateKeys { .. }) => true,
            _ => !args.allow_violations,
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
            Ok(exit::OK)
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
