//! Execute a plan's runnable steps in order, reporting progress through a [`Reporter`], and stop
//! at the first failure with a record of what was and was not applied. Each step rides out an
//! election (`db::step`); consecutive index builds run in waves the server can take at once.

use super::step::{StepOptions, build_slots, execute_wave};
use crate::ops::Operation;
use crate::plan::Step;
use crate::progress::{Reporter, Unit};
use crate::resilience::wave_end;
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
        if let Err(w) = execute_wave(client, wave, opts, reporter).await {
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
        for op in wave {
            reporter.step_done(&op.summary(), step_started.elapsed());
        }
        i = end;
    }
    reporter.end(
        &format!("applied {} step(s)", runnable.len()),
        started.elapsed(),
    );
    Ok(runnable.len())
}
