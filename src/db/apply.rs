//! Execute a plan's runnable steps in order, reporting progress through a [`Reporter`], and stop
//! at the first failure with a record of what was and was not applied. Each step rides out an
//! election (`db::step`); consecutive index builds run in waves the server can take at once.

use super::step::{StepOptions, build_slots, execute, execute_wave};
use crate::ops::Operation;
use crate::plan::Step;
use crate::progress::{Reporter, Unit};
use crate::resilience::{empty_collection_builds_end, wave_end};
use mongodb::Client;
use std::time::Instant;

/// A step that failed, and where the run stands.
#[derive(Debug, thiserror::Error)]
#[error("step {failed_index} of {total} failed: {summary}: {message}")]
pub struct ApplyError {
    /// 1-based position of the failed step among the runnable steps.
    pub failed_index: usize,
    pub total: usize,
    pub summary: String,
    pub message: String,
    /// Summaries of the steps applied before the failure.
    pub applied: Vec<String>,
    /// Summaries of the steps not applied (the failed one included).
    pub not_applied: Vec<String>,
}

/// Run a plan's steps and keep the records of two-phase index retirement with them: when an
/// index was hidden is written before the step that hides it, and records of dropped or stale
/// retirements are deleted once every step ran.
pub async fn apply_plan(
    client: &Client,
    plan: &crate::plan::Plan,
    state_db: &str,
    opts: &StepOptions,
    reporter: &mut dyn Reporter,
) -> anyhow::Result<Result<usize, ApplyError>> {
    super::retire::record_hides(client, state_db, plan, super::retire::now()).await?;
    let applied = apply_steps(client, &plan.steps, opts, reporter).await;
    if applied.is_ok() {
        super::retire::forget_done(client, state_db, plan).await?;
    }
    Ok(applied)
}

/// Run every step that is not skipped; returns how many ran.
pub async fn apply_steps(
    client: &Client,
    steps: &[Step],
    opts: &StepOptions,
    reporter: &mut dyn Reporter,
) -> Result<usize, ApplyError> {
    let runnable: Vec<&Step> = steps.iter().filter(|s| s.skipped.is_none()).collect();
    let ops: Vec<&Operation> = runnable.iter().map(|s| &s.op).collect();
    let started = Instant::now();
    reporter.begin("apply", Unit::Steps, runnable.len() as u64, 0);
    let mut i = 0;
    while i < ops.len() {
        // Builds on a collection this run created: one command for all of them.
        if let Some(end) = empty_collection_builds_end(&ops, i).filter(|e| e - i > 1) {
            let step_started = Instant::now();
            let batch = &ops[i..end];
            reporter.working_on(&format!("{} index builds on a new collection", batch.len()));
            if let Err(e) = execute(client, &combined_builds(batch, opts), opts, reporter).await {
                reporter.end("", started.elapsed());
                return Err(ApplyError {
                    failed_index: i + 1,
                    total: runnable.len(),
                    summary: batch[0].summary(),
                    message: format!("{e:#}"),
                    applied: ops[..i].iter().map(|o| o.summary()).collect(),
                    not_applied: ops[i..].iter().map(|o| o.summary()).collect(),
                });
            }
            for op in batch {
                reporter.step_done(&op.summary(), step_started.elapsed());
            }
            i = end;
            continue;
        }
        let slots = if matches!(ops[i], Operation::CreateIndex { .. }) {
            build_slots(client).await
        } else {
            1
        };
        let end = wave_end(&ops, i, slots);
        let wave = &ops[i..end];
        reporter.working_on(&match wave {
            [one] => one.summary(),
            many => format!("{} index builds at once", many.len()),
        });
        let step_started = Instant::now();
        let outcomes = match execute_wave(client, wave, opts, reporter).await {
            Ok(outcomes) => outcomes,
            Err(w) => {
                reporter.end("", started.elapsed());
                let done_in_wave = |k: &usize| w.completed.contains(k);
                let in_wave = |f: &dyn Fn(&usize) -> bool| -> Vec<String> {
                    (0..wave.len())
                        .filter(|k| f(k))
                        .map(|k| wave[k].summary())
                        .collect()
                };
                let mut applied: Vec<String> = ops[..i].iter().map(|o| o.summary()).collect();
                applied.extend(in_wave(&done_in_wave));
                let mut not_applied = in_wave(&|k| !done_in_wave(k));
                not_applied.extend(ops[end..].iter().map(|o| o.summary()));
                return Err(ApplyError {
                    failed_index: i + w.failed + 1,
                    total: runnable.len(),
                    summary: wave[w.failed].summary(),
                    message: format!("{:#}", w.error),
                    applied,
                    not_applied,
                });
            }
        };
        for (k, op) in wave.iter().enumerate() {
            let said = if outcomes.get(k) == Some(&crate::ops::Done::AlreadyThere) {
                format!("{} — already there, nothing changed", op.summary())
            } else {
                op.summary()
            };
            reporter.step_done(&said, step_started.elapsed());
        }
        i = end;
    }
    reporter.end(
        &format!(
            "applied {}",
            crate::progress::count(runnable.len() as u64, "step")
        ),
        started.elapsed(),
    );
    Ok(runnable.len())
}

/// One `createIndexes` for builds on the same (new, empty) collection: idempotent like each of
/// them (an index that exists with the same definition is left alone).
fn combined_builds(batch: &[&Operation], opts: &StepOptions) -> Operation {
    let (db, collection) = (batch[0].db().to_string(), batch[0].collection().to_string());
    let indexes: Vec<bson::Bson> = batch
        .iter()
        .filter_map(|op| match op {
            Operation::CreateIndex { index, .. } => Some(bson::Bson::Document(index.clone())),
            _ => None,
        })
        .collect();
    let mut command = bson::doc! { "createIndexes": collection, "indexes": indexes };
    if let Some(q) = &opts.commit_quorum {
        command.insert("commitQuorum", q.clone());
    }
    Operation::Command { db, command }
}
