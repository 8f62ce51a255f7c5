//! Data jobs against the server (`update_many`, `rename_field`, `evolve_field`): batches by
//! `_id` over the documents that still need the change, each batch one update that re-checks
//! that they still do. On a replica set each batch commits in a transaction that also writes
//! the run's checkpoint and, in a migration, checks the lock's fencing token, so a run frozen
//! between its lease check and the server can never write after another run took over, and a
//! batch is never applied twice. A batch the server refuses is halved until the documents it
//! refuses are found: they are reported by `_id` and left as they are.

use super::retry::{Retrier, driver_error, replication_lag};
pub use crate::job::{Checkpoint, Fence, Options};
use crate::job::{Job, Report, Update, after, and, batch_filter};
use crate::progress::Reporter;
use anyhow::{Result, anyhow};
use bson::{Bson, DateTime, Document, doc};
use futures_util::TryStreamExt;
use mongodb::{Client, ClientSession, Collection};
use std::time::{Duration, Instant};

/// The batch's transaction met a write of the application to one of its documents (nothing of
/// it was written): it goes again.
#[derive(Debug, thiserror::Error)]
#[error("a write conflict with the application")]
struct Conflict;

const CONFLICT: &str = "\u{1}conflict";

/// A driver error of a batch's transaction: a [`Conflict`] when the server says so.
fn txn_error(e: mongodb::error::Error) -> anyhow::Error {
    if e.contains_label(mongodb::error::TRANSIENT_TRANSACTION_ERROR)
        && super::server_code(&e).is_some_and(|c| c == 112 || c == 24)
    {
        Conflict.into()
    } else {
        driver_error(e)
    }
}

/// Why a fenced write did not happen: the server's answer (to classify and retry), or a lost
/// lock and the like.
pub enum Write {
    Server(mongodb::error::Error),
    Other(anyhow::Error),
}

impl From<mongodb::error::Error> for Write {
    fn from(e: mongodb::error::Error) -> Self {
        Self::Server(e)
    }
}

/// Touch the lock in `session`'s transaction where it still holds this run's token: a
/// takeover then conflicts with the transaction, and a lost lock is [`Fenced`].
async fn touch_lock(
    client: &Client,
    fence: &Fence,
    session: &mut ClientSession,
    what: &str,
) -> Result<(), Write> {
    let touched = client
        .database(&fence.state_db)
        .collection::<Document>(LOCKS)
        .update_one(
            doc! { "_id": &fence.lock_id, "owner.id": &fence.owner_id, "token": fence.token },
            doc! { "$set": { "fenced_at": DateTime::now() } },
        )
        .session(session)
        .await?;
    if touched.matched_count == 0 {
        return Err(Write::Other(
            Fenced(format!(
                "{what}: lost the migration lock (token {} is no longer current); this batch was not written",
                fence.token
            ))
            .into(),
        ));
    }
    Ok(())
}

/// One pipeline update in a transaction fenced by `fence` (a backfill's batch in a migration).
pub async fn fenced_update(
    client: &Client,
    fence: &Fence,
    coll: &Collection<Document>,
    filter: &Document,
    pipeline: &[Document],
    bypass: bool,
) -> Result<u64, Write> {
    let mut s = client.start_session().await?;
    s.start_transaction()
        .write_concern(mongodb::options::WriteConcern::majority())
        .await?;
    let what = format!("backfill {}", coll.namespace());
    let result = async {
        touch_lock(client, fence, &mut s, &what).await?;
        let r = coll
            .update_many(filter.clone(), pipeline.to_vec())
            .bypass_document_validation(bypass)
            .session(&mut s)
            .await?;
        Ok::<u64, Write>(r.modified_count)
    }
    .await;
    settle(&mut s, result, Write::from).await
}

/// End a batch's transaction: aborted after an error, else committed (again while the server
/// cannot say whether the commit took).
async fn settle<E>(
    s: &mut ClientSession,
    result: Result<u64, E>,
    error: impl Fn(mongodb::error::Error) -> E,
) -> Result<u64, E> {
    let n = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = s.abort_transaction().await;
            return Err(e);
        }
    };
    loop {
        match s.commit_transaction().await {
            Ok(()) => return Ok(n),
            Err(e) if e.contains_label(mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT) => {}
            Err(e) => return Err(error(e)),
        }
    }
}

/// The run lost its lock: another run took over. Nothing of this batch was written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Fenced(pub String);

const CHECKPOINTS: &str = "job_checkpoints";
const LOCKS: &str = "locks";

fn majority() -> mongodb::options::CollectionOptions {
    mongodb::options::CollectionOptions::builder()
        .write_concern(mongodb::options::WriteConcern::majority())
        .build()
}

/// How many documents the job would touch now (`--dry-run`).
pub async fn dry_run(client: &Client, job: &Job) -> Result<u64> {
    client
        .database(&job.db)
        .collection::<Document>(&job.collection)
        .count_documents(job.todo.clone())
        .await
        .map_err(driver_error)
}

/// Where a job stands between batches (what its checkpoint holds).
#[derive(Debug, Clone, Default)]
struct Position {
    pass: u32,
    last_id: Option<Bson>,
}

/// Transactions need a replica set (or mongos); a standalone server runs batches without.
async fn transactions(client: &Client) -> bool {
    match client
        .database("admin")
        .run_command(doc! { "hello": 1 })
        .await
    {
        Ok(h) => h.get_str("setName").is_ok() || h.get_str("msg") == Ok("isdbgrid"),
        Err(_) => false,
    }
}

struct Runner<'a> {
    client: &'a Client,
    job: &'a Job,
    opts: &'a Options,
    coll: Collection<Document>,
    checkpoints: Option<Collection<Document>>,
    txn: bool,
    report: Report,
    retrier: Retrier,
    /// When the checkpoint was last written with a batch.
    saved_at: Option<Instant>,
}

/// Run `job` to its end: passes until no document needs the change (a job that converges),
/// or one pass; resumed from its checkpoint.
pub async fn run(
    client: &Client,
    job: &Job,
    opts: &Options,
    reporter: &mut dyn Reporter,
) -> Result<Report> {
    let started = Instant::now();
    let txn = (opts.fence.is_some() || opts.checkpoint.is_some()) && transactions(client).await;
    let mut r = Runner {
        client,
        job,
        opts,
        coll: client
            .database(&job.db)
            .collection_with_options(&job.collection, majority()),
        checkpoints: opts.checkpoint.as_ref().map(|c| {
            client
                .database(&c.state_db)
                .collection_with_options(CHECKPOINTS, majority())
        }),
        txn,
        report: Report {
            db: job.db.clone(),
            collection: job.collection.clone(),
            label: job.label.clone(),
            ..Default::default()
        },
        retrier: Retrier::new(opts.retry_for),
        saved_at: None,
    };
    if let Some(c) = &opts.checkpoint {
        // Created before any transaction writes to it (a transaction may not create one on
        // every server version).
        let _ = client
            .database(&c.state_db)
            .create_collection(CHECKPOINTS)
            .await;
    }
    let mut at = r.resume(reporter).await?;
    let batch = job.batch_size.unwrap_or(opts.batch_size).max(1);
    // The first pass reads every `_id` (from the index alone): its total is the collection's.
    let total = loop {
        match r.coll.estimated_document_count().await {
            Ok(n) => break n.max(r.report.matched),
            Err(e) => {
                let what = r.what();
                r.retrier
                    .recover(client, driver_error(e), &what, reporter)
                    .await?
            }
        }
    };
    let mut progress = Progress {
        total,
        started: Instant::now(),
        at_start: r.report.matched,
    };
    // A converging job with few documents left (a catch-up after an earlier run) looks for
    // them rather than walking every `_id`: counted up to a tenth of the collection.
    if job.converges && at.pass == 0 && at.last_id.is_none() && total > 0 {
        let tenth = total / 10 + 1;
        let few = r
            .coll
            .count_documents(job.todo.clone())
            .limit(tenth)
            .await
            .map_err(driver_error)?;
        if few < tenth {
            at.pass = 1;
            progress.total = few;
        }
    }
    let mut pacer = Pacer::new(
        job.max_docs_per_sec.or(opts.max_docs_per_sec),
        opts.max_lag,
        r.report.matched,
    );
    let passes = if job.converges {
        opts.max_passes.max(1)
    } else {
        1
    };
    let mut exhausted = false;
    let mut before: Option<u64> = None;
    loop {
        let found = r
            .pass(&mut at, batch, &mut pacer, &mut progress, reporter)
            .await?;
        r.report.passes = at.pass + 1;
        // The first pass reads every `_id`: only a later one finding nothing ends the job.
        if !job.converges || (found == 0 && at.pass > 0) {
            break;
        }
        // Catching up that no longer shrinks means the old shape keeps being written (the old
        // application is still running): stop, say how many, and let a later run finish.
        let stalled = at.pass >= 2 && before.is_some_and(|b| found >= b);
        if at.pass + 1 >= passes || stalled {
            exhausted = true;
            break;
        }
        if at.pass > 0 {
            before = Some(found);
        }
        // Writes in the old shape arrived while the pass ran: another pass catches them up.
        at = Position {
            pass: at.pass + 1,
            last_id: None,
        };
        r.save(&at, None).await?;
    }
    if exhausted {
        r.report.remaining = r.count(&r.todo_not_failed(), reporter).await?;
    }
    r.finish().await?;
    r.report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(r.report)
}

impl Runner<'_> {
    fn what(&self) -> String {
        self.job.label.clone()
    }

    /// The documents still to do, without those that failed already.
    fn todo_not_failed(&self) -> Document {
        let failed: Vec<Bson> = self
            .report
            .failed
            .iter()
            .filter_map(|f| f.raw.clone())
            .collect();
        if failed.is_empty() {
            self.job.todo.clone()
        } else {
            and(self.job.todo.clone(), doc! { "_id": { "$nin": failed } })
        }
    }

    async fn count(&mut self, filter: &Document, reporter: &mut dyn Reporter) -> Result<u64> {
        loop {
            match self.coll.count_documents(filter.clone()).await {
                Ok(n) => {
                    self.retrier.succeeded();
                    return Ok(n);
                }
                Err(e) => {
                    let what = self.what();
                    self.retrier
                        .recover(self.client, driver_error(e), &what, reporter)
                        .await?
                }
            }
        }
    }

    /// The checkpoint of this very job, if an interrupted run left one.
    async fn resume(&mut self, reporter: &mut dyn Reporter) -> Result<Position> {
        let (Some(cp), Some(c)) = (&self.checkpoints, &self.opts.checkpoint) else {
            return Ok(Position::default());
        };
        let saved = loop {
            match cp
                .find_one(doc! { "_id": &c.key, "signature": &self.job.signature })
                .await
            {
                Ok(s) => break s,
                Err(e) => {
                    let what = self.what();
                    self.retrier
                        .recover(self.client, driver_error(e), &what, reporter)
                        .await?
                }
            }
        };
        let Some(saved) = saved else {
            return Ok(Position::default());
        };
        let n = |k: &str| match saved.get(k) {
            Some(Bson::Int64(i)) => *i as u64,
            Some(Bson::Int32(i)) => *i as u64,
            _ => 0,
        };
        self.report.matched = n("matched");
        self.report.modified = n("modified");
        self.report.failed_total = n("failed_total");
        self.report.resumed = true;
        if let Ok(failed) = saved.get_array("failed") {
            for f in failed.iter().filter_map(Bson::as_document) {
                if let (Some(id), Ok(error)) = (f.get("id"), f.get_str("error")) {
                    self.report
                        .failed
                        .push(crate::job::Failure::new(id, error.into()));
                }
            }
        }
        Ok(Position {
            pass: n("pass") as u32,
            last_id: saved.get("last_id").cloned(),
        })
    }

    fn checkpoint_doc(&self, at: &Position) -> Option<(Document, Document)> {
        let c = self.opts.checkpoint.as_ref()?;
        let failed: Vec<Bson> = self
            .report
            .failed
            .iter()
            .filter_map(|f| {
                f.raw
                    .clone()
                    .map(|id| Bson::Document(doc! { "id": id, "error": &f.error }))
            })
            .collect();
        let mut d = doc! {
            "_id": &c.key, "signature": &self.job.signature, "pass": at.pass as i64,
            "matched": self.report.matched as i64, "modified": self.report.modified as i64,
            "failed_total": self.report.failed_total as i64, "failed": failed,
            "updated_at": DateTime::now(),
        };
        if let Some(last) = &at.last_id {
            d.insert("last_id", last.clone());
        }
        Some((doc! { "_id": &c.key }, d))
    }

    /// Save the position outside a batch (a new pass), in `session` when given.
    async fn save(&mut self, at: &Position, session: Option<&mut ClientSession>) -> Result<()> {
        let (Some(cp), Some((filter, d))) = (&self.checkpoints, self.checkpoint_doc(at)) else {
            return Ok(());
        };
        let action = cp.replace_one(filter, d).upsert(true);
        match session {
            Some(s) => action.session(s).await.map(|_| ()),
            None => action.await.map(|_| ()),
        }
        .map_err(driver_error)
    }

    /// The job ended: its checkpoint goes.
    async fn finish(&mut self) -> Result<()> {
        if let (Some(cp), Some(c)) = (&self.checkpoints, &self.opts.checkpoint) {
            let mut retrier = Retrier::new(self.opts.retry_for);
            loop {
                match cp.delete_one(doc! { "_id": &c.key }).await {
                    Ok(_) => break,
                    Err(e) => {
                        retrier
                            .recover(
                                self.client,
                                driver_error(e),
                                "removing the job's checkpoint",
                                &mut crate::progress::Silent,
                            )
                            .await?
                    }
                }
            }
        }
        Ok(())
    }

    /// One pass: the `_id`s of the documents needing the change, after the position, in
    /// batches. Returns how many it found.
    async fn pass(
        &mut self,
        at: &mut Position,
        batch: usize,
        pacer: &mut Pacer,
        progress: &mut Progress,
        reporter: &mut dyn Reporter,
    ) -> Result<u64> {
        let mut found = 0u64;
        'reopen: loop {
            // The first pass walks every `_id` from the index alone (the batch's update
            // selects what needs the change); the next ones look for what still does.
            let first = at.pass == 0;
            let mut filter = if first {
                Document::new()
            } else {
                self.todo_not_failed()
            };
            if let Some(last) = &at.last_id {
                filter = and(filter, after(last));
            }
            let find = self
                .coll
                .find(filter)
                .projection(doc! { "_id": 1 })
                .sort(doc! { "_id": 1 })
                .batch_size(batch as u32);
            let opened = if first {
                find.hint(mongodb::options::Hint::Keys(doc! { "_id": 1 }))
                    .await
            } else {
                find.await
            };
            let mut cursor = match opened {
                Ok(c) => c,
                Err(e) => {
                    let what = self.what();
                    self.retrier
                        .recover(self.client, driver_error(e), &what, reporter)
                        .await?;
                    continue 'reopen;
                }
            };
            let mut ids: Vec<Bson> = Vec::with_capacity(batch);
            loop {
                let next = match cursor.try_next().await {
                    Ok(n) => n,
                    Err(e) => {
                        let what = self.what();
                        self.retrier
                            .recover(self.client, driver_error(e), &what, reporter)
                            .await?;
                        continue 'reopen;
                    }
                };
                if let Some(id) = next.as_ref().and_then(|d| d.get("_id")) {
                    ids.push(id.clone());
                }
                if ids.len() < batch && next.is_some() {
                    continue;
                }
                if ids.is_empty() {
                    return Ok(found);
                }
                let last = ids[ids.len() - 1].clone();
                let next_at = Position {
                    pass: at.pass,
                    last_id: Some(last),
                };
                self.batch(&ids, &next_at, !first, reporter).await?;
                #[cfg(feature = "test-hooks")]
                batch_hook();
                found += ids.len() as u64;
                *at = next_at;
                ids.clear();
                progress.show(&self.job.label, self.report.matched, at.pass, reporter);
                pacer
                    .pace(self.client, self.report.matched, &self.what(), reporter)
                    .await;
                if next.is_none() {
                    return Ok(found);
                }
            }
        }
    }

    /// One batch, ridden through interruptions; refused documents found by halving.
    async fn batch(
        &mut self,
        ids: &[Bson],
        next_at: &Position,
        all_todo: bool,
        reporter: &mut dyn Reporter,
    ) -> Result<()> {
        let mut pending: Vec<&[Bson]> = vec![ids];
        let mut failures: Vec<crate::job::Failure> = Vec::new();
        let mut modified = 0u64;
        while let Some(part) = pending.pop() {
            // The last part of the batch carries the checkpoint (its position is the batch's).
            let last = pending.is_empty();
            // A job that converges may redo a batch harmlessly: its checkpoint goes with a
            // batch about once a second. One that does not (an update_many) saves it with
            // every batch, so no document is updated twice.
            let save = last
                && (!self.job.converges
                    || self
                        .saved_at
                        .is_none_or(|t| t.elapsed() >= Duration::from_secs(1)));
            match self.write(part, save.then_some(next_at), reporter).await? {
                Ok(n) => {
                    modified += n;
                    if save {
                        self.saved_at = Some(Instant::now());
                    }
                }
                // Busy with the application's writes: halves, not a failure.
                Err(refused) if refused == CONFLICT => {
                    let (a, b) = part.split_at(part.len() / 2);
                    pending.push(b);
                    pending.push(a);
                }
                Err(refused) if part.len() == 1 => {
                    failures.push(crate::job::Failure::new(&part[0], refused))
                }
                Err(_) => {
                    let (a, b) = part.split_at(part.len() / 2);
                    pending.push(b);
                    pending.push(a);
                }
            }
        }
        if crate::job::systemic(ids.len(), &failures) {
            return Err(anyhow!(
                "{}: the server refused every document of a batch: {}",
                self.job.label,
                failures[0].error
            ));
        }
        // Documents the update leaves out because it cannot be applied to them (a value the
        // conversion refuses): found where a batch of documents all needing the change
        // changed fewer.
        if all_todo
            && (modified as usize) < ids.len()
            && let Some(refused) = &self.job.refused
        {
            let which = and(
                and(
                    doc! { "_id": { "$in": ids.to_vec() } },
                    self.job.todo.clone(),
                ),
                refused.clone(),
            );
            let found: Vec<Document> = self
                .coll
                .find(which)
                .projection(doc! { "_id": 1 })
                .await
                .map_err(driver_error)?
                .try_collect()
                .await
                .map_err(driver_error)?;
            let why = format!(
                "{} cannot convert its value",
                self.job
                    .label
                    .split(" by ")
                    .nth(1)
                    .unwrap_or("the conversion")
            );
            for d in found {
                if let Some(id) = d.get("_id") {
                    failures.push(crate::job::Failure::new(id, why.clone()));
                }
            }
        }
        if !failures.is_empty() {
            for f in &failures {
                if !self.report.add_failure(f.clone()) {
                    return Err(anyhow!(
                        "{}: more than {} documents could not be changed (the last: {}); the update is probably wrong for these documents, not a few values — nothing more was written",
                        self.job.label,
                        crate::job::FAILURES_KEPT,
                        f.error
                    ));
                }
            }
            // The refused documents' checkpoint: written now (the batch's own went with its
            // last successful part, or there was none).
            self.save(next_at, None).await?;
        }
        self.report.matched += ids.len() as u64;
        self.report.modified += modified;
        Ok(())
    }

    /// Update the documents of `ids` still needing the change: `Ok(Ok(modified))`, or
    /// `Ok(Err(why))` when the server refused the update for these documents' sake. With a
    /// checkpoint position, it is written with the update (in one transaction on a replica
    /// set).
    async fn write(
        &mut self,
        ids: &[Bson],
        at: Option<&Position>,
        reporter: &mut dyn Reporter,
    ) -> Result<Result<u64, String>> {
        let mut filter = and(batch_filter(ids), self.job.todo.clone());
        if let Some(refused) = &self.job.refused {
            filter = and(filter, doc! { "$nor": [refused.clone()] });
        }
        let mut conflicts = 0u32;
        loop {
            let attempt = if self.txn {
                self.write_fenced(&filter, at).await
            } else {
                self.write_plain(&filter, at).await
            };
            match attempt {
                Ok(n) => {
                    self.retrier.succeeded();
                    return Ok(Ok(n));
                }
                Err(e) if e.is::<Fenced>() => return Err(e),
                // The application wrote one of these documents meanwhile: go again at once (a
                // smaller part after a few tries, so that a busy range gets through).
                Err(e) if e.is::<Conflict>() => {
                    conflicts += 1;
                    if conflicts >= 3 && ids.len() > 1 {
                        return Ok(Err(CONFLICT.into()));
                    }
                    tokio::time::sleep(Duration::from_millis(u64::from(conflicts) * 5)).await;
                }
                Err(e) if super::retry::is_interrupted(&e) => {
                    let what = self.what();
                    self.retrier
                        .recover(self.client, e, &what, reporter)
                        .await?
                }
                Err(e) => return Ok(Err(format!("{e:#}"))),
            }
        }
    }

    async fn update(
        &self,
        filter: &Document,
        session: Option<&mut ClientSession>,
    ) -> mongodb::error::Result<u64> {
        let r = match (&self.job.update, session) {
            (Update::Operators(u), Some(s)) => {
                self.coll
                    .update_many(filter.clone(), u.clone())
                    .session(s)
                    .await
            }
            (Update::Operators(u), None) => self.coll.update_many(filter.clone(), u.clone()).await,
            (Update::Pipeline(p), Some(s)) => {
                self.coll
                    .update_many(filter.clone(), p.clone())
                    .session(s)
                    .await
            }
            (Update::Pipeline(p), None) => self.coll.update_many(filter.clone(), p.clone()).await,
        };
        r.map(|r| r.modified_count)
    }

    async fn write_plain(&mut self, filter: &Document, at: Option<&Position>) -> Result<u64> {
        let n = self.update(filter, None).await.map_err(driver_error)?;
        if let Some(at) = at {
            self.save(at, None).await?;
        }
        Ok(n)
    }

    /// The batch in a transaction: the lock still ours (touched, so that a takeover conflicts
    /// with this transaction), the update, the checkpoint; committed with majority.
    async fn write_fenced(&mut self, filter: &Document, at: Option<&Position>) -> Result<u64> {
        let mut s = self.client.start_session().await.map_err(driver_error)?;
        s.start_transaction()
            .write_concern(mongodb::options::WriteConcern::majority())
            .await
            .map_err(driver_error)?;
        let result = async {
            if let Some(f) = &self.opts.fence {
                touch_lock(self.client, f, &mut s, &self.job.label)
                    .await
                    .map_err(|e| match e {
                        Write::Server(e) => txn_error(e),
                        Write::Other(e) => e,
                    })?;
            }
            let n = self.update(filter, Some(&mut s)).await.map_err(txn_error)?;
            if let Some(at) = at {
                self.save(at, Some(&mut s)).await?;
            }
            Ok::<u64, anyhow::Error>(n)
        }
        .await;
        settle(&mut s, result, txn_error).await
    }
}

/// Test hook (built with `--features test-hooks` only): `MONGRATE_JOB_FAULT=<n>` kills this
/// process with SIGKILL once its n-th batch has committed, so tests can interrupt a job in the
/// middle.
#[cfg(feature = "test-hooks")]
fn batch_hook() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static BATCHES: AtomicU64 = AtomicU64::new(0);
    let n = BATCHES.fetch_add(1, Ordering::SeqCst) + 1;
    if std::env::var("MONGRATE_JOB_FAULT").is_ok_and(|v| v == n.to_string()) {
        // SAFETY: kill(2) on this process's own id with a valid signal number.
        unsafe {
            libc::kill(std::process::id() as libc::pid_t, libc::SIGKILL);
        }
    }
}

/// Where a job is, as the step's progress: documents done of those found at the start, the
/// rate, and the time left.
struct Progress {
    total: u64,
    started: Instant,
    at_start: u64,
}

impl Progress {
    fn show(&mut self, label: &str, done: u64, pass: u32, reporter: &mut dyn Reporter) {
        // Catching up finds documents written since the start: the total grows with them.
        self.total = self.total.max(done);
        let percent = (done * 100).checked_div(self.total).unwrap_or(100);
        let secs = self.started.elapsed().as_secs_f64();
        let rate = (done - self.at_start.min(done)) as f64 / secs.max(1e-3);
        let left = self.total.saturating_sub(done) as f64 / rate.max(1.0);
        let mut detail = format!(
            "{} of {} documents, {}/s",
            crate::progress::thousands(done),
            crate::progress::thousands(self.total),
            crate::progress::thousands(rate as u64)
        );
        if pass == 0 && done < self.total {
            detail.push_str(&format!(
                ", about {} left",
                crate::progress::human_duration(Duration::from_secs_f64(left))
            ));
        } else if pass > 0 {
            detail.push_str(&format!(", catching up (pass {})", pass + 1));
        }
        reporter.step_progress(label, percent, &detail);
    }
}

/// The rate limit and the replication lag, between batches.
pub struct Pacer {
    rate: Option<u64>,
    max_lag: Option<Duration>,
    started: Instant,
    done_at_start: u64,
    lag_noted: Option<Instant>,
    /// When the lag was last read: at most once a second (it is one more command).
    lag_read: Option<Instant>,
}

impl Pacer {
    pub fn new(rate: Option<u64>, max_lag: Option<Duration>, done_at_start: u64) -> Self {
        Self {
            rate: rate.filter(|r| *r > 0),
            max_lag,
            started: Instant::now(),
            done_at_start,
            lag_noted: None,
            lag_read: None,
        }
    }

    /// Wait as long as the rate limit and the slowest secondary ask, `done` documents in.
    pub async fn pace(
        &mut self,
        client: &Client,
        done: u64,
        what: &str,
        reporter: &mut dyn Reporter,
    ) {
        if let Some(rate) = self.rate {
            let since = done.saturating_sub(self.done_at_start) as f64;
            let due = Duration::from_secs_f64(since / rate as f64);
            if let Some(wait) = due.checked_sub(self.started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
        if let Some(max) = self.max_lag
            && self
                .lag_read
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            self.lag_read = Some(Instant::now());
            while let Some(lag) = replication_lag(client).await.filter(|l| *l > max) {
                if self
                    .lag_noted
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(10))
                {
                    self.lag_noted = Some(Instant::now());
                    reporter.note(&format!(
                        "{what}: the slowest secondary is {:.1}s behind (--max-lag {}s); pausing until it catches up",
                        lag.as_secs_f64(),
                        max.as_secs()
                    ));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// The record the migrate phase of an evolution leaves: when it last finished with no document
/// left in the old shape, and what it could not convert.
pub const EVOLUTIONS: &str = "evolutions";

/// The key of an evolution's record and checkpoint.
pub fn evolution_key(db: &str, collection: &str, field: &str) -> String {
    format!("{db}.{collection}.{field}")
}

/// Execute a data operation as a job (or, for `contract_field`, its count), saying what it
/// could not change.
pub async fn execute(
    client: &Client,
    op: &crate::ops::Operation,
    opts: &Options,
    reporter: &mut dyn Reporter,
) -> Result<crate::ops::Done> {
    use crate::ops::{Done, Operation};
    if let Operation::ContractField {
        db,
        collection,
        field,
        from,
        types,
        after,
    } = op
    {
        let done = contract(client, db, collection, field, from.as_deref(), types).await?;
        if let (Some(after), Some(state)) = (after, &opts.state_db) {
            waited(client, state, db, collection, field, *after).await?;
        }
        return Ok(done);
    }
    let job = match crate::job::of(op) {
        Some(Ok(job)) => job,
        Some(Err(e)) => return Err(anyhow!("{}: {e}", op.summary())),
        None => return Err(anyhow!("{}: not a data job", op.summary())),
    };
    let mut opts = opts.clone();
    if let (
        Operation::EvolveField {
            db,
            collection,
            field,
            ..
        },
        Some(state),
    ) = (op, &opts.state_db)
        && opts.checkpoint.is_none()
    {
        opts.checkpoint = Some(Checkpoint {
            state_db: state.clone(),
            key: format!("evolve:{}", evolution_key(db, collection, field)),
        });
    }
    let report = run(client, &job, &opts, reporter).await?;
    if report.failed_total > 0 {
        let shown: Vec<String> = report
            .failed
            .iter()
            .take(20)
            .map(|f| format!("{} ({})", f.id, f.error))
            .collect();
        let message = format!(
            "{}: {} could not be changed and {} left as {}: {}{}",
            job.label,
            crate::progress::count(report.failed_total, "document"),
            if report.failed_total == 1 {
                "is"
            } else {
                "are"
            },
            if report.failed_total == 1 {
                "it was"
            } else {
                "they were"
            },
            shown.join(", "),
            if report.failed_total > 20 {
                ", ..."
            } else {
                ""
            }
        );
        if !matches!(op, Operation::EvolveField { .. }) {
            return Err(anyhow!(message));
        }
        reporter.note(&message);
    }
    if report.remaining > 0 {
        reporter.note(&format!(
            "{}: {} in the old shape still arriving after {} passes (is the old application still writing?); run again once it is gone to catch them up",
            job.label,
            crate::progress::count(report.remaining, "document"),
            report.passes
        ));
    }
    if let Operation::EvolveField {
        db,
        collection,
        field,
        from,
        ..
    } = op
        && let Some(state) = &opts.state_db
    {
        record_evolution(
            client,
            state,
            db,
            collection,
            field,
            from.as_deref(),
            &report,
        )
        .await?;
    }
    Ok(if report.modified == 0 {
        Done::AlreadyThere
    } else {
        Done::Changed
    })
}

async fn record_evolution(
    client: &Client,
    state_db: &str,
    db: &str,
    collection: &str,
    field: &str,
    from: Option<&str>,
    report: &Report,
) -> Result<()> {
    let finished = report.remaining == 0 && report.failed_total == 0;
    let failed: Vec<Bson> = report
        .failed
        .iter()
        .take(1000)
        .map(|f| Bson::Document(doc! { "id": &f.id, "error": &f.error }))
        .collect();
    let mut set = doc! {
        "db": db, "collection": collection, "field": field, "from": from,
        "failed_total": report.failed_total as i64, "failed": failed,
        "last_run_at": DateTime::now(),
    };
    let mut update = doc! {};
    if finished {
        set.insert("migrated_at", DateTime::now());
    } else {
        update.insert("$unset", doc! { "migrated_at": "" });
    }
    update.insert("$set", set);
    client
        .database(state_db)
        .collection_with_options::<Document>(EVOLUTIONS, majority())
        .update_one(doc! { "_id": evolution_key(db, collection, field) }, update)
        .upsert(true)
        .await
        .map_err(driver_error)?;
    Ok(())
}

/// A contract written to a migration waits like `contract_after`: the migrate phase must have
/// finished at least `after` seconds ago. None is left in the old shape (counted before): when
/// its record does not say it finished (documents were fixed by hand since), it finished now.
async fn waited(
    client: &Client,
    state_db: &str,
    db: &str,
    collection: &str,
    field: &str,
    after: i64,
) -> Result<()> {
    let records = client
        .database(state_db)
        .collection_with_options::<Document>(EVOLUTIONS, majority());
    let key = evolution_key(db, collection, field);
    let record = records
        .find_one(doc! { "_id": &key })
        .await
        .map_err(driver_error)?;
    let at = match record
        .as_ref()
        .and_then(|r| r.get_datetime("migrated_at").ok())
    {
        Some(at) => *at,
        None => {
            let now = DateTime::now();
            records
                .update_one(
                    doc! { "_id": &key },
                    doc! { "$set": { "db": db, "collection": collection, "field": field, "migrated_at": now } },
                )
                .upsert(true)
                .await
                .map_err(driver_error)?;
            now
        }
    };
    let due = at
        .timestamp_millis()
        .saturating_add(after.saturating_mul(1000));
    if DateTime::now().timestamp_millis() < due {
        anyhow::bail!(
            "{db}.{collection}: the contract of `{field}` waits until {} ({}s after its migrate phase finished, contract_after); run `migrate up` again then",
            DateTime::from_millis(due)
                .try_to_rfc3339_string()
                .unwrap_or_default(),
            after
        );
    }
    Ok(())
}

/// The contract's guard: no document in the old shape.
async fn contract(
    client: &Client,
    db: &str,
    collection: &str,
    field: &str,
    from: Option<&str>,
    types: &[String],
) -> Result<crate::ops::Done> {
    let coll = client.database(db).collection::<Document>(collection);
    let old = crate::evolve::old_shape(field, from, types);
    let n = coll
        .count_documents(old.clone())
        .await
        .map_err(driver_error)?;
    if n == 0 {
        return Ok(crate::ops::Done::AlreadyThere);
    }
    let ids: Vec<String> = coll
        .find(old)
        .projection(doc! { "_id": 1 })
        .limit(5)
        .await
        .map_err(driver_error)?
        .try_collect::<Vec<Document>>()
        .await
        .map_err(driver_error)?
        .into_iter()
        .filter_map(|d| d.get("_id").cloned())
        .map(|id| id.into_relaxed_extjson().to_string())
        .collect();
    Err(anyhow!(
        "{db}.{collection}: {} still in the old shape of `{field}` (e.g. _id {}); the contract (strict validator) waits until none is left — fix or convert them, then run again",
        crate::progress::count(n, "document"),
        ids.join(", ")
    ))
}

/// What the server says of each declared evolution: documents in the old shape, and the
/// migrate phase's record.
pub async fn facts(
    client: &Client,
    state_db: &str,
    evolutions: &[crate::model::Evolution],
) -> Result<Vec<crate::evolve::Facts>> {
    let mut out = Vec::with_capacity(evolutions.len());
    for e in evolutions {
        let coll = client.database(&e.db).collection::<Document>(&e.collection);
        let old = crate::evolve::old_shape(&e.field, e.from.as_deref(), &e.types);
        let old_shape = coll.count_documents(old).await.map_err(driver_error)?;
        let record = client
            .database(state_db)
            .collection::<Document>(EVOLUTIONS)
            .find_one(doc! { "_id": evolution_key(&e.db, &e.collection, &e.field) })
            .await
            .map_err(driver_error)?;
        let migrated_at = record
            .as_ref()
            .and_then(|r| r.get_datetime("migrated_at").ok())
            .map(|d| d.timestamp_millis());
        let failed_total = record
            .as_ref()
            .and_then(|r| r.get_i64("failed_total").ok())
            .unwrap_or(0) as u64;
        if let Some(c) = &e.convert {
            let probe = client
                .database(&e.db)
                .aggregate(crate::evolve::probe(c))
                .await;
            if let Err(err) = probe {
                anyhow::bail!(
                    "{}.{}: the conversion of `{}` is not an expression this server accepts: {}",
                    e.db,
                    e.collection,
                    e.field,
                    super::describe_driver_error(&err)
                );
            }
        }
        out.push(crate::evolve::Facts {
            old_shape,
            migrated_at,
            failed_total,
            recorded: record.is_some(),
            failed_ids: record
                .as_ref()
                .and_then(|r| r.get_array("failed").ok())
                .map(|a| {
                    a.iter()
                        .filter_map(Bson::as_document)
                        .filter_map(|f| f.get_str("id").ok().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Every evolution's record in the state database (`migrate status`).
pub async fn records(client: &Client, state_db: &str) -> Result<Vec<crate::evolve::Record>> {
    let docs: Vec<Document> = client
        .database(state_db)
        .collection::<Document>(EVOLUTIONS)
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .map_err(driver_error)?
        .try_collect()
        .await
        .map_err(driver_error)?;
    let when = |d: &Document, k: &str| {
        d.get_datetime(k)
            .ok()
            .and_then(|t| t.try_to_rfc3339_string().ok())
    };
    Ok(docs
        .iter()
        .map(|d| crate::evolve::Record {
            db: d.get_str("db").unwrap_or_default().to_string(),
            collection: d.get_str("collection").unwrap_or_default().to_string(),
            field: d.get_str("field").unwrap_or_default().to_string(),
            from: d.get_str("from").ok().map(str::to_string),
            migrated_at: when(d, "migrated_at"),
            failed: d.get_i64("failed_total").unwrap_or(0) as u64,
            last_run_at: when(d, "last_run_at"),
        })
        .collect())
}
