//! Riding out interruptions: which driver errors are an election, a shutdown or the network
//! (not a refusal), and how long work waits for a primary before going again. The low-level
//! half of `step` (which runs operations) and of `backfill`, apart so that neither depends on
//! the other. The decisions are in [`crate::resilience`].

use super::describe_driver_error;
use crate::progress::Reporter;
use crate::resilience::{TRANSIENT_LABELS, backoff, is_transient_code};
use anyhow::{Result, anyhow};
use bson::{Bson, doc};
use mongodb::Client;
use std::time::{Duration, Instant};

/// How steps run.
#[derive(Debug, Clone)]
pub struct StepOptions {
    /// How long to keep retrying an interrupted step.
    pub retry_for: Duration,
    /// `commitQuorum` for index builds (the server's default when `None`).
    pub commit_quorum: Option<Bson>,
    /// How often a running index build's progress is read.
    pub poll_every: Duration,
    /// Before an index build, look for the same build already running on the server (left by
    /// an interrupted run) and say that it is joined. A migration that starts afresh skips it.
    pub look_for_running_builds: bool,
    /// How data jobs run (batches, rate, lag; a migration's fence and checkpoint).
    pub job: crate::job::Options,
}

impl Default for StepOptions {
    fn default() -> Self {
        Self {
            retry_for: Duration::from_secs(60),
            commit_quorum: None,
            poll_every: Duration::from_secs(1),
            look_for_running_builds: true,
            job: crate::job::Options::default(),
        }
    }
}

/// The operation was cut by an election, a shutdown or the network, not refused by the server.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);

/// Is this driver error an interruption worth retrying once a primary is back?
pub fn is_transient(e: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    if TRANSIENT_LABELS.iter().any(|l| e.contains_label(l)) {
        return true;
    }
    match e.kind.as_ref() {
        ErrorKind::Command(c) => is_transient_code(c.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => is_transient_code(w.code),
        ErrorKind::Write(WriteFailure::WriteError(w)) => is_transient_code(w.code),
        ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::ServerSelection { .. } => true,
        _ => false,
    }
}

/// A driver error as this crate reports it: an [`Interrupted`] when it is one.
pub fn driver_error(e: mongodb::error::Error) -> anyhow::Error {
    let text = describe_driver_error(&e);
    if is_transient(&e) {
        Interrupted(text).into()
    } else {
        anyhow!(text)
    }
}

/// Was this error (anywhere in its chain) an interruption?
pub fn is_interrupted(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<Interrupted>())
}

/// How far the slowest healthy secondary is behind (`None` on a single node, a standalone
/// server, or without the right to run `replSetGetStatus`).
pub async fn replication_lag(client: &Client) -> Option<Duration> {
    let status = client
        .database("admin")
        .run_command(doc! { "replSetGetStatus": 1 })
        .await
        .ok()?;
    crate::resilience::replication_lag(&status)
}

/// Recovery from interruptions in long work (backfill batches, changelog writes): each
/// interruption is retried until `retry_for` has passed since the first of a series (a success
/// ends the series), after waiting for a primary.
pub struct Retrier {
    retry_for: Duration,
    since: Option<Instant>,
    attempt: u32,
}

impl Retrier {
    pub fn new(retry_for: Duration) -> Self {
        Self {
            retry_for,
            since: None,
            attempt: 0,
        }
    }

    /// The work went through: a later interruption starts a new series.
    pub fn succeeded(&mut self) {
        self.since = None;
        self.attempt = 0;
    }

    /// `e` stopped `what`: return it unless it is an interruption that may still be retried,
    /// in which case note it, wait for a primary, and return `Ok` (the caller goes again).
    pub async fn recover(
        &mut self,
        client: &Client,
        e: anyhow::Error,
        what: &str,
        reporter: &mut dyn Reporter,
    ) -> Result<()> {
        if !is_interrupted(&e) || self.retry_for.is_zero() {
            return Err(e);
        }
        let since = *self.since.get_or_insert_with(Instant::now);
        let deadline = since + self.retry_for;
        if Instant::now() >= deadline {
            return Err(e.context(format!(
                "{what}: interrupted, and still failing after retrying for {}s (--retry-for)",
                self.retry_for.as_secs()
            )));
        }
        self.attempt += 1;
        reporter.note(&format!(
            "{what}: interrupted ({e:#}); waiting for a primary, then carrying on from the last finished batch"
        ));
        tokio::time::sleep(backoff(self.attempt)).await;
        wait_for_primary(client, deadline).await.map_err(|w| {
            anyhow!(
                "{what}: interrupted ({e:#}), and {w:#} within {}s (--retry-for)",
                self.retry_for.as_secs()
            )
        })
    }
}

/// Wait until a primary accepts writes, until `deadline`.
pub(super) async fn wait_for_primary(client: &Client, deadline: Instant) -> Result<()> {
    let mut last = String::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Interrupted(format!("no writable primary came back: {last}")).into());
        }
        match tokio::time::timeout(
            left.min(Duration::from_secs(5)),
            client.database("admin").run_command(doc! { "hello": 1 }),
        )
        .await
        {
            Ok(Ok(r)) if r.get_bool("isWritablePrimary").unwrap_or(false) => return Ok(()),
            Ok(Ok(_)) => last = "the member answering is not a writable primary".into(),
            Ok(Err(e)) => last = describe_driver_error(&e),
            Err(_) => last = "no answer".into(),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
