//! Execute a plan's runnable steps in order, reporting progress through a [`Reporter`], and stop
//! at the first failure with a record of what was and was not applied.

use super::execute::execute;
use crate::plan::Step;
use crate::progress::{Reporter, Unit};
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
    reporter: &mut dyn Reporter,
) -> Result<usize, ApplyError> {
    let runnable: Vec<&Step> = steps.iter().filter(|s| s.skipped.is_none()).collect();
    let started = Instant::now();
    reporter.begin("apply", Unit::Steps, runnable.len() as u64, 0);
    for (i, step) in runnable.iter().enumerate() {
        let summary = step.op.summary();
        reporter.working_on(&summary);
        let step_started = Instant::now();
        if let Err(e) = execute(client, &step.op).await {
            reporter.end("", started.elapsed());
            return Err(ApplyError {
                failed_index: i + 1,
                total: runnable.len(),
                summary: step.op.summary(),
                message: format!("{e:#}"),
                applied: runnable[..i].iter().map(|s| s.op.summary()).collect(),
                not_applied: runnable[i..].iter().map(|s| s.op.summary()).collect(),
            });
        }
        reporter.step_done(&summary, step_started.elapsed());
    }
    reporter.end(
        &format!("applied {} step(s)", runnable.len()),
        started.elapsed(),
    );
    Ok(runnable.len())
}
