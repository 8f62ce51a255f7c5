//! Running a step so that it rides out an election: an interruption (`NotWritablePrimary`,
//! `InterruptedDueToReplStateChange`, a dropped connection, no primary for a while) is retried
//! within `--retry-for`, each time after waiting for a primary and checking what the server now
//! holds (the step may have completed before the error), with a note saying what happened.
//! Index builds are watched through `$currentOp` (their progress goes to the reporter), joined
//! rather than started twice when one is already running, and run in waves of at most as many
//! as the server builds at once. The decisions are in [`crate::resilience`].

use super::retry::{driver_error, is_interrupted, wait_for_primary};
use crate::ops::{Done, Operation};
use crate::progress::Reporter;
use crate::resilience::{BuildProgress, backoff, build_of, free_build_slots, index_builds};
use anyhow::{Result, anyhow};
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use mongodb::Client;
use std::sync::Mutex;
use std::time::Instant;

pub use super::retry::StepOptions;

/// The index builds running on the primary now.
pub async fn running_builds(client: &Client) -> Result<Vec<BuildProgress>> {
    let ops: Vec<Document> = client
        .database("admin")
        .aggregate(vec![
            doc! { "$currentOp": { "allUsers": true, "idleConnections": false } },
            doc! { "$match": { "desc": { "$regex": "^IndexBuildsCoordinator" } } },
        ])
        .await
        .map_err(driver_error)?
        .try_collect()
        .await
        .map_err(driver_error)?;
    Ok(index_builds(&ops))
}

/// How many index builds a wave may start now: the server's `maxNumActiveUserIndexBuilds` less
/// the builds already running (1 when either cannot be read).
pub async fn build_slots(client: &Client) -> usize {
    let limit = client
        .database("admin")
        .run_command(doc! { "getParameter": 1, "maxNumActiveUserIndexBuilds": 1 })
        .await
        .ok()
        .and_then(|r| match r.get("maxNumActiveUserIndexBuilds") {
            Some(Bson::Int32(n)) => Some(i64::from(*n)),
            Some(Bson::Int64(n)) => Some(*n),
            _ => None,
        });
    let Ok(running) = running_builds(client).await else {
        return 1;
    };
    free_build_slots(limit, running.len())
}

/// What the server holds after an interruption, for the step that was cut.
enum Reconciled {
    /// The step's goal holds: it completed before the error.
    Done(String),
    /// Run it again (every step is idempotent), for this reason.
    Again(String),
}

async fn collection_info(client: &Client, db: &str, collection: &str) -> Result<Option<Document>> {
    let reply = client
        .database(db)
        .run_command(doc! { "listCollections": 1, "filter": { "name": collection } })
        .await
        .map_err(driver_error)?;
    Ok(reply
        .get_document("cursor")
        .ok()
        .and_then(|c| c.get_array("firstBatch").ok())
        .and_then(|b| b.first())
        .and_then(|d| d.as_document())
        .cloned())
}

async fn index_names(client: &Client, db: &str, collection: &str) -> Result<Vec<String>> {
    let reply = client
        .database(db)
        .run_command(doc! { "listIndexes": collection })
        .await;
    let reply = match reply {
        Ok(r) => r,
        // No collection: no indexes.
        Err(e) if matches!(e.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if c.code == 26) =>
        {
            return Ok(Vec::new());
        }
        Err(e) => return Err(driver_error(e)),
    };
    Ok(reply
        .get_document("cursor")
        .ok()
        .and_then(|c| c.get_array("firstBatch").ok())
        .map(|b| {
            b.iter()
                .filter_map(|d| d.as_document()?.get_str("name").ok().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// Look at the server before running an interrupted step again.
async fn reconcile(client: &Client, op: &Operation) -> Result<Reconciled> {
    Ok(match op {
        Operation::CreateCollection { db, collection, .. } => {
            if collection_info(client, db, collection).await?.is_some() {
                Reconciled::Done("the collection exists".into())
            } else {
                Reconciled::Again("the collection does not exist yet".into())
            }
        }
        Operation::DropCollection { db, collection } => {
            if collection_info(client, db, collection).await?.is_none() {
                Reconciled::Done("the collection is gone".into())
            } else {
                Reconciled::Again("the collection is still there".into())
            }
        }
        Operation::DropIndex {
            db,
            collection,
            name,
        } => {
            if !index_names(client, db, collection)
                .await?
                .iter()
                .any(|n| n == name)
            {
                Reconciled::Done("the index is gone".into())
            } else {
                Reconciled::Again("the index is still there".into())
            }
        }
        Operation::CreateIndex {
            db,
            collection,
            index,
        } => {
            let name = index.get_str("name").unwrap_or_default();
            let builds = running_builds(client).await?;
            if let Some(b) = build_of(&builds, db, collection, name) {
                Reconciled::Again(format!(
                    "its build carries on on the new primary ({}, {}%); joining it rather than starting another",
                    b.phase,
                    b.percent()
                ))
            } else if index_names(client, db, collection)
                .await?
                .iter()
                .any(|n| n == name)
            {
                Reconciled::Done("the index is built".into())
            } else {
                Reconciled::Again("the index is not there".into())
            }
        }
        Operation::SetValidator {
            db,
            collection,
            validator,
            level,
            action,
        } => {
            let options = collection_info(client, db, collection)
                .await?
                .and_then(|i| i.get_document("options").ok().cloned())
                .unwrap_or_default();
            let same = options.get_document("validator").ok().cloned()
                == validator.clone().filter(|v| !v.is_empty())
                && options
                    .get_str("validationLevel")
                    .is_ok_and(|l| l == level.as_str())
                && options
                    .get_str("validationAction")
                    .is_ok_and(|a| a == action.as_str());
            if same {
                Reconciled::Done("the validator is in place".into())
            } else {
                Reconciled::Again("the validator is not in place".into())
            }
        }
        _ => Reconciled::Again("the step is idempotent".into()),
    })
}

/// Notes written by concurrent steps, shown by the one task that owns the reporter.
type Notes = Mutex<Vec<String>>;

fn note(notes: &Notes, text: String) {
    if let Ok(mut n) = notes.lock() {
        n.push(text);
    }
}

/// Run one step with retries (see the module's documentation).
async fn run_one(
    client: &Client,
    op: &Operation,
    opts: &StepOptions,
    notes: &Notes,
) -> Result<Done> {
    let summary = op.summary();
    if let Operation::CreateIndex {
        db,
        collection,
        index,
    } = op
        && opts.look_for_running_builds
    {
        let name = index.get_str("name").unwrap_or_default();
        if let Ok(builds) = running_builds(client).await
            && let Some(b) = build_of(&builds, db, collection, name)
        {
            note(
                notes,
                format!(
                    "index `{name}` on {db}.{collection} is already being built on the server (for {}s, {}, {}%), by an earlier run or another client; waiting for that build instead of starting a second one",
                    b.secs_running,
                    b.phase,
                    b.percent()
                ),
            );
        }
    }
    let started = Instant::now();
    let deadline = started + opts.retry_for;
    let mut attempt = 0u32;
    loop {
        let e = match super::execute::execute_with(client, op, opts).await {
            Ok(done) => return Ok(done),
            Err(e) if is_interrupted(&e) && !opts.retry_for.is_zero() => e,
            Err(e) => return Err(e),
        };
        attempt += 1;
        if Instant::now() >= deadline {
            return Err(e.context(format!(
                "interrupted, and still failing after retrying for {}s (--retry-for)",
                opts.retry_for.as_secs()
            )));
        }
        note(
            notes,
            format!(
                "{summary}: interrupted ({e:#}); waiting for a primary (retrying for up to {}s more)",
                deadline.saturating_duration_since(Instant::now()).as_secs()
            ),
        );
        tokio::time::sleep(backoff(attempt)).await;
        wait_for_primary(client, deadline).await.map_err(|w| {
            anyhow!(
                "{summary}: interrupted ({e:#}), and {w:#} within {}s (--retry-for)",
                opts.retry_for.as_secs()
            )
        })?;
        match reconcile(client, op).await {
            Ok(Reconciled::Done(why)) => {
                note(
                    notes,
                    format!("{summary}: completed before the interruption ({why}); not run again"),
                );
                return Ok(Done::Changed);
            }
            Ok(Reconciled::Again(why)) => {
                note(notes, format!("{summary}: {why}: running it again"));
            }
            Err(r) if is_interrupted(&r) => {}
            Err(r) => {
                return Err(r.context(format!(
                    "{summary}: checking the server after an interruption"
                )));
            }
        }
    }
}

/// Run one step (see the module's documentation), reporting the progress of an index build.
pub async fn execute(
    client: &Client,
    op: &Operation,
    opts: &StepOptions,
    reporter: &mut dyn Reporter,
) -> Result<Done> {
    execute_wave(client, &[op], opts, reporter)
        .await
        .map(|done| done.first().copied().unwrap_or(Done::Changed))
        .map_err(|w| w.error)
}

/// A wave in which a step failed: the first that failed, its error, and the positions (in the
/// wave) of the steps that completed.
#[derive(Debug)]
pub struct WaveError {
    pub failed: usize,
    pub error: anyhow::Error,
    pub completed: Vec<usize>,
}

/// Run `ops` at once (index builds of one wave; any other single step), reporting the builds'
/// progress; what each did, in order.
pub async fn execute_wave(
    client: &Client,
    ops: &[&Operation],
    opts: &StepOptions,
    reporter: &mut dyn Reporter,
) -> Result<Vec<Done>, WaveError> {
    // A data step alone: a job with its own batches, retries and progress.
    if let [op] = ops
        && crate::job::of(op).is_some()
    {
        return super::job::execute(client, op, &opts.job, reporter)
            .await
            .map(|d| vec![d])
            .map_err(|error| WaveError {
                failed: 0,
                error,
                completed: Vec::new(),
            });
    }
    let notes = Notes::default();
    let builds: Vec<(String, String, String)> = ops
        .iter()
        .filter_map(|op| match op {
            Operation::CreateIndex {
                db,
                collection,
                index,
            } => Some((
                db.clone(),
                collection.clone(),
                index.get_str("name").unwrap_or_default().to_string(),
            )),
            _ => None,
        })
        .collect();
    let label = match builds.as_slice() {
        [] => String::new(),
        [(db, coll, name)] => format!("index build `{name}` on {db}.{coll}"),
        many => format!("{} index builds at once", many.len()),
    };
    let all =
        futures_util::future::join_all(ops.iter().map(|op| run_one(client, op, opts, &notes)));
    tokio::pin!(all);
    // Per build: the highest percentage seen, and whether it was seen running.
    let mut seen: Vec<(u64, bool)> = vec![(0, false); builds.len()];
    let mut shown = None;
    let flush = |reporter: &mut dyn Reporter| {
        let drained: Vec<String> = notes
            .lock()
            .map(|mut n| std::mem::take(&mut *n))
            .unwrap_or_default();
        for n in drained {
            reporter.note(&n);
        }
    };
    let results = loop {
        tokio::select! {
            results = &mut all => break results,
            _ = tokio::time::sleep(opts.poll_every) => {
                flush(reporter);
                if builds.is_empty() {
                    continue;
                }
                let Ok(running) = running_builds(client).await else { continue };
                // One figure: the builds' progress over their whole run; the detail names
                // the phase (its own counts would be a second, different percentage).
                let mut detail = String::new();
                for (i, (db, coll, name)) in builds.iter().enumerate() {
                    match build_of(&running, db, coll, name) {
                        Some(b) => {
                            seen[i] = (seen[i].0.max(b.percent()), true);
                            if detail.is_empty() && builds.len() == 1 {
                                detail = crate::resilience::phase_words(&b.phase);
                            }
                        }
                        // Seen running before and gone now: finished.
                        None if seen[i].1 => seen[i].0 = 100,
                        None => {}
                    }
                }
                if seen.iter().any(|(_, s)| *s) {
                    let percent = seen.iter().map(|(p, _)| p).sum::<u64>() / seen.len() as u64;
                    if shown != Some(percent) {
                        shown = Some(percent);
                        reporter.step_progress(&label, percent, &detail);
                    }
                }
            }
        }
    };
    flush(reporter);
    let completed: Vec<usize> = (0..results.len()).filter(|i| results[*i].is_ok()).collect();
    let mut done = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(d) => done.push(d),
            Err(error) => {
                return Err(WaveError {
                    failed: i,
                    error,
                    completed,
                });
            }
        }
    }
    Ok(done)
}
