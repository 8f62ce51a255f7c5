//! Backfill against the server: batches by `_id` range (a cursor over the `_id` index, never
//! skip), a checkpoint in the state database so an interrupted run resumes after the last
//! finished batch, an optional rate limit, and per-field counts.

use super::retry::{Retrier, driver_error};
pub use crate::backfill::{Done, FieldReport, Report, Target};
use crate::backfill::{count_group, needs_filter, signature, update_pipeline};
use crate::job::{after, batch_filter};
use crate::progress::{Reporter, Unit};
use anyhow::Result;
use bson::{Bson, DateTime, Document, doc};
use futures_util::TryStreamExt;
use mongodb::Client;
use std::time::{Duration, Instant};

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub batch_size: usize,
    pub max_docs_per_sec: Option<u64>,
    /// State database for checkpoints; `None`: no checkpoint (migration steps).
    pub checkpoint_db: Option<String>,
    /// How long to keep retrying after an election or a network error cut a batch.
    pub retry_for: Duration,
    /// Pause while the slowest secondary is further behind than this.
    pub max_lag: Option<Duration>,
    /// A migration's lock: each batch commits in a transaction that checks it still holds.
    pub fence: Option<crate::job::Fence>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            max_docs_per_sec: None,
            checkpoint_db: None,
            retry_for: Duration::from_secs(60),
            max_lag: Some(Duration::from_secs(10)),
            fence: None,
        }
    }
}

fn err(e: mongodb::error::Error) -> anyhow::Error {
    driver_error(e)
}

fn new_report(t: &Target) -> Report {
    Report {
        db: t.db.clone(),
        collection: t.collection.clone(),
        fields: t
            .defaults
            .iter()
            .map(|d| FieldReport {
                field: d.path.clone(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn as_u64(d: &Document, k: &str) -> u64 {
    match d.get(k) {
        Some(Bson::Int32(i)) => *i as u64,
        Some(Bson::Int64(i)) => *i as u64,
        Some(Bson::Double(f)) => *f as u64,
        _ => 0,
    }
}

fn add_counts(report: &mut Report, counts: &Document) {
    report.scanned += as_u64(counts, "scanned");
    for (i, f) in report.fields.iter_mut().enumerate() {
        f.filled += as_u64(counts, &format!("f{i}"));
        f.blocked += as_u64(counts, &format!("b{i}"));
    }
}

/// Count, without writing, what a backfill would do (one aggregation on the server).
pub async fn dry_run(client: &Client, target: &Target) -> Result<Report> {
    let started = Instant::now();
    let coll = client
        .database(&target.db)
        .collection::<Document>(&target.collection);
    let mut report = new_report(target);
    if !target.defaults.is_empty() {
        let out: Vec<Document> = coll
            .aggregate(vec![count_group(&target.defaults)])
            .await
            .map_err(err)?
            .try_collect()
            .await
            .map_err(err)?;
        if let Some(counts) = out.first() {
            add_counts(&mut report, counts);
        }
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

const CHECKPOINTS: &str = "backfill_checkpoints";

/// Fill missing defaults in batches; resumes from (and keeps) a checkpoint when asked to.
///
/// Writes use majority write concern. An election or a network error in the middle is ridden
/// out (within `retry_for`): the batch that was cut is run again (it only fills what is still
/// missing, so nothing is written twice) and the `_id` cursor is reopened after the last
/// finished batch, so no batch is skipped. With `max_lag`, the run pauses while a secondary is
/// further behind than that.
pub async fn run(
    client: &Client,
    target: &Target,
    opts: &Options,
    reporter: &mut dyn Reporter,
) -> Result<Report> {
    let started = Instant::now();
    let majority = mongodb::options::CollectionOptions::builder()
        .write_concern(mongodb::options::WriteConcern::majority())
        .build();
    let coll = client
        .database(&target.db)
        .collection_with_options::<Document>(&target.collection, majority.clone());
    let mut report = new_report(target);
    if target.defaults.is_empty() {
        return Ok(report);
    }
    let what = format!("backfill {}.{}", target.db, target.collection);
    let mut retrier = Retrier::new(opts.retry_for);
    let sig = signature(&target.defaults);
    let key = format!("{}.{}", target.db, target.collection);
    let checkpoints = opts.checkpoint_db.as_ref().map(|db| {
        client
            .database(db)
            .collection_with_options::<Document>(CHECKPOINTS, majority.clone())
    });
    let mut last_id: Option<Bson> = None;
    if let Some(cp) = &checkpoints {
        let saved = loop {
            match cp
                .find_one(doc! { "_id": &key, "signature": &sig })
                .await
                .map_err(err)
            {
                Ok(saved) => break saved,
                Err(e) => retrier.recover(client, e, &what, reporter).await?,
            }
        };
        retrier.succeeded();
        if let Some(saved) = saved {
            last_id = saved.get("last_id").cloned();
            report.scanned = as_u64(&saved, "scanned");
            report.modified = as_u64(&saved, "modified");
            if let Ok(fields) = saved.get_array("fields") {
                for (f, saved) in report.fields.iter_mut().zip(fields) {
                    if let Some(s) = saved.as_document() {
                        f.filled = as_u64(s, "filled");
                        f.blocked = as_u64(s, "blocked");
                    }
                }
            }
            report.resumed = true;
        }
    }
    // What the checkpoint says was done before: subtracted at the end, so that the report
    // counts this run's own work (the checkpoint keeps the totals).
    let before = report.clone();
    let total = loop {
        match coll.estimated_document_count().await.map_err(err) {
            Ok(n) => break n,
            Err(e) => retrier.recover(client, e, &what, reporter).await?,
        }
    };
    retrier.succeeded();
    reporter.begin(
        &format!("{}.{}", target.db, target.collection),
        Unit::Documents,
        total.max(report.scanned),
        report.scanned,
    );
    let pipeline = update_pipeline(&target.defaults);
    let needs = needs_filter(&target.defaults);
    let group = count_group(&target.defaults);
    let mut pacer = super::job::Pacer::new(opts.max_docs_per_sec, opts.max_lag, report.scanned);
    let mut bypass = true;
    // Each pass opens the `_id` cursor after the last finished batch; an interruption ends the
    // pass and the next one carries on from there.
    'pass: loop {
        let filter = last_id.as_ref().map(after).unwrap_or_default();
        let opened = coll
            .find(filter)
            .projection(doc! { "_id": 1 })
            .sort(doc! { "_id": 1 })
            .hint(mongodb::options::Hint::Keys(doc! { "_id": 1 }))
            .batch_size(opts.batch_size as u32)
            .await
            .map_err(err);
        let mut cursor = match opened {
            Ok(c) => c,
            Err(e) => {
                retrier
                    .recover(client, e.context("reading _ids"), &what, reporter)
                    .await?;
                continue 'pass;
            }
        };
        let mut ids: Vec<Bson> = Vec::with_capacity(opts.batch_size);
        loop {
            let next = match cursor.try_next().await.map_err(err) {
                Ok(n) => n,
                Err(e) => {
                    retrier
                        .recover(client, e.context("reading _ids"), &what, reporter)
                        .await?;
                    continue 'pass;
                }
            };
            if let Some(d) = &next
                && let Some(id) = d.get("_id")
            {
                ids.push(id.clone());
            }
            if ids.len() < opts.batch_size && next.is_some() {
                continue;
            }
            if ids.is_empty() {
                break 'pass;
            }
            let range = batch_filter(&ids);
            let counts: Vec<Document> = loop {
                let r = async {
                    coll.aggregate(vec![doc! { "$match": range.clone() }, group.clone()])
                        .await
                        .map_err(err)?
                        .try_collect()
                        .await
                        .map_err(err)
                }
                .await;
                match r {
                    Ok(c) => break c,
                    Err(e) => retrier.recover(client, e, &what, reporter).await?,
                }
            };
            let mut filter = range;
            filter.insert("$and", vec![Bson::Document(needs.clone())]);
            // Only defaults are written, valid by construction; a document invalid for another
            // reason must not stop the batch under a strict validator. Bypassing needs the
            // `bypassDocumentValidation` action, which an application's `readWrite` user lacks:
            // refused once, the batches go on validated.
            let mut interrupted = false;
            let modified = loop {
                let written = match &opts.fence {
                    Some(fence) => {
                        super::job::fenced_update(client, fence, &coll, &filter, &pipeline, bypass)
                            .await
                    }
                    None => coll
                        .update_many(filter.clone(), pipeline.clone())
                        .bypass_document_validation(bypass)
                        .await
                        .map(|r| r.modified_count)
                        .map_err(|e| e.into()),
                };
                match written {
                    Ok(n) => break n,
                    Err(super::job::Write::Server(e))
                        if bypass && super::server_code(&e) == Some(13) =>
                    {
                        bypass = false
                    }
                    Err(super::job::Write::Server(e)) => {
                        interrupted = true;
                        retrier.recover(client, err(e), &what, reporter).await?;
                    }
                    Err(super::job::Write::Other(e)) => return Err(e),
                }
            };
            retrier.succeeded();
            let counts = counts.first().cloned().unwrap_or_default();
            add_counts(&mut report, &counts);
            // A batch cut in the middle was partly written before it ran again: count what it
            // had to fill, not what the second run found left.
            report.modified += if interrupted {
                as_u64(&counts, "todo").max(modified)
            } else {
                modified
            };
            let batch_last = ids[ids.len() - 1].clone();
            ids.clear();
            if let Some(cp) = &checkpoints {
                let fields: Vec<Bson> = report
                    .fields
                    .iter()
                    .map(|f| Bson::Document(doc! { "field": &f.field, "filled": f.filled as i64, "blocked": f.blocked as i64 }))
                    .collect();
                let saved = doc! { "_id": &key, "signature": &sig, "last_id": batch_last.clone(), "scanned": report.scanned as i64,
                "modified": report.modified as i64, "fields": fields, "updated_at": DateTime::now() };
                loop {
                    match cp
                        .replace_one(doc! { "_id": &key }, saved.clone())
                        .upsert(true)
                        .await
                        .map_err(err)
                    {
                        Ok(_) => break,
                        Err(e) => retrier.recover(client, e, &what, reporter).await?,
                    }
                }
            }
            last_id = Some(batch_last);
            reporter.advance(report.scanned);
            pacer.pace(client, report.scanned, &what, reporter).await;
            if next.is_none() {
                break 'pass;
            }
        }
    }
    if let Some(cp) = &checkpoints {
        loop {
            match cp.delete_one(doc! { "_id": &key }).await.map_err(err) {
                Ok(_) => break,
                Err(e) => retrier.recover(client, e, &what, reporter).await?,
            }
        }
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    // The command prints the result, once: no summary line of the reporter's own.
    reporter.end("", started.elapsed());
    if report.resumed {
        report.resumed_after = Some(Done {
            scanned: before.scanned,
            modified: before.modified,
        });
        report.scanned -= before.scanned.min(report.scanned);
        report.modified -= before.modified.min(report.modified);
        for (f, b) in report.fields.iter_mut().zip(&before.fields) {
            f.filled -= b.filled.min(f.filled);
            f.blocked -= b.blocked.min(f.blocked);
        }
    }
    Ok(report)
}
