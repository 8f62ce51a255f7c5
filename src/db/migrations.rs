//! Migrations against a server: read the changelog, decide the run (`migrate::plan`), take the
//! lease lock, execute through the runner, release. The driver-backed [`Backend`] lives here.

use super::changelog::{Changelog, Direction, Entry, History};
use super::lock::{LeaseLock, LockLost, hostname};
use crate::migrate::Migration;
use crate::migrate::plan::{self, Request, RunPlan, StatusRow};
use crate::migrate::runner::{self, Backend, RanMigration};
use crate::ops::Operation;
use crate::progress::Reporter;
use anyhow::{Context, Result};
use bson::DateTime;
use mongodb::Client;
use serde::Serialize;
use std::time::Duration;

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub state_db: String,
    /// The project (`project:` in mongrate.yaml) whose history this is; `None` before projects.
    pub project: Option<String>,
    /// `None`: the history of the whole schemas; `Some(db)`: one database of a fleet, with its
    /// own changelog entries and its own lock (in the state database, keyed by database).
    pub scope: Option<String>,
    pub lock_lease: Duration,
    pub lock_timeout: Duration,
    /// How each step runs (retries after elections, commit quorum).
    pub step: super::retry::StepOptions,
}

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub plan: RunPlan,
    pub ran: Vec<RanMigration>,
    /// The run that held the lock before, when it was taken over from a dead process.
    pub took_over_from: Option<String>,
}

impl RunOptions {
    /// The history this run works on.
    pub fn history(&self) -> History {
        History::new(self.project.as_deref(), self.scope.as_deref())
    }
}

/// A history as read: its entries (its own, and those written before projects that it takes
/// over), the ones it takes over, and how many entries of no project it leaves alone.
#[derive(Debug, Clone, Default)]
pub struct HistoryRead {
    pub entries: Vec<Entry>,
    /// Entries of no project whose version and name match one of the project's files: read as
    /// the project's, and moved under its key by the next run under the lock.
    pub adopted: Vec<Entry>,
    /// Entries of no project that match none of its files: another project's (or a file of
    /// this one deleted before it named itself); left alone and not reported as missing.
    pub unclaimed: usize,
}

/// Read `history`: with a project, its own entries plus the entries written before projects
/// that match one of its files (same version and name; its own wins when both exist).
pub async fn read(
    client: &Client,
    state_db: &str,
    history: &History,
    migrations: &[Migration],
) -> Result<HistoryRead> {
    let mut entries = Changelog::scoped(client, state_db, history, 0)
        .entries()
        .await?;
    let mut read = HistoryRead::default();
    if let Some(before) = history.before_projects() {
        for e in Changelog::scoped(client, state_db, &before, 0)
            .entries()
            .await?
        {
            let ours = migrations
                .iter()
                .any(|m| m.version == e.version && m.name == e.name);
            if !ours {
                read.unclaimed += 1;
            } else if !entries.iter().any(|own| own.version == e.version) {
                read.adopted.push(e);
            }
        }
        entries.extend(read.adopted.iter().cloned());
        entries.sort_by(|a, b| a.version.cmp(&b.version));
    }
    read.entries = entries;
    Ok(read)
}

/// The changelog entries of `history` (see [`read`]).
pub async fn entries(
    client: &Client,
    state_db: &str,
    history: &History,
    migrations: &[Migration],
) -> Result<Vec<Entry>> {
    Ok(read(client, state_db, history, migrations).await?.entries)
}

fn decide(migrations: &[Migration], entries: &[Entry], request: &Request) -> Result<RunPlan> {
    Ok(match request {
        Request::Up { to } => plan::plan_up(migrations, entries, to.as_deref())
            .map_err(anyhow::Error::from)
            .context("refusing to migrate; nothing was changed")?,
        Request::Down { target, force } => plan::plan_down(migrations, entries, target, *force)
            .map_err(anyhow::Error::from)
            .context("refusing to roll back; nothing was changed")?,
    })
}

/// The run `request` would make now, without taking the lock or writing anything.
pub async fn dry_run(
    client: &Client,
    state_db: &str,
    history: &History,
    migrations: &[Migration],
    request: &Request,
) -> Result<RunPlan> {
    decide(
        migrations,
        &entries(client, state_db, history, migrations).await?,
        request,
    )
}

/// Every migration and where it stands, and how many entries of no project were left alone.
pub async fn status(
    client: &Client,
    state_db: &str,
    history: &History,
    migrations: &[Migration],
) -> Result<(Vec<StatusRow>, usize)> {
    let read = read(client, state_db, history, migrations).await?;
    Ok((plan::status_rows(migrations, &read.entries), read.unclaimed))
}

/// Under the lock: the history's entries, after taking over those written before projects.
async fn take_over(
    client: &Client,
    changelog: &Changelog,
    opts: &RunOptions,
    migrations: &[Migration],
) -> Result<Vec<Entry>> {
    let read = read(client, &opts.state_db, &opts.history(), migrations).await?;
    changelog.adopt(&read.adopted).await?;
    Ok(read.entries)
}

/// A migration's start record waits this long for its first step: a step that finishes
/// sooner is recorded with the migration's first record (one write instead of two); a longer
/// one shows as `running` meanwhile.
const START_RECORD_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

/// The driver-backed runner backend of a run holding `lock`. It keeps the running migration's
/// changelog entry and writes it whole (a fenced, majority-acknowledged replace) at each record.
struct ServerBackend<'a> {
    client: &'a Client,
    changelog: Changelog,
    lock: &'a LeaseLock,
    step: super::retry::StepOptions,
    /// The running migration's entry as last recorded (or to record), and whether it is on
    /// the server yet.
    entry: std::cell::RefCell<Option<(Entry, bool)>>,
    /// The running migration resumes an interrupted one.
    resumed: std::cell::Cell<bool>,
    /// This run took the lock over from a process that is gone: whatever it was doing may
    /// still run on the server, recorded or not.
    took_over: bool,
}

impl ServerBackend<'_> {
    /// How this migration's steps run: they look for an index build already running on the
    /// server (to join it and say so) only after an interrupted run: when resuming one, or
    /// when its lock was taken over from a dead process (which may have died before its first
    /// record).
    fn step_options(&self) -> super::retry::StepOptions {
        super::retry::StepOptions {
            look_for_running_builds: self.resumed.get() || self.took_over,
            ..self.step.clone()
        }
    }

    /// A changelog write, again after an election cut it (each write is idempotent, and fenced:
    /// a run that lost its lock in the meantime is refused, not retried).
    async fn retrying<F, Fut>(&self, write: F) -> Result<()>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        let mut retrier = super::retry::Retrier::new(self.step.retry_for);
        loop {
            match write().await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    retrier
                        .recover(
                            self.client,
                            e,
                            "writing the changelog",
                            &mut crate::progress::Silent,
                        )
                        .await?
                }
            }
        }
    }

    /// Record the running migration's entry as `change` makes it.
    async fn record(&self, change: impl Fn(&Entry) -> Entry) -> Result<()> {
        let Some((entry, _)) = self.entry.borrow().clone() else {
            anyhow::bail!("a migration was recorded before it started");
        };
        let next = change(&entry);
        self.retrying(|| self.changelog.put(&next)).await?;
        *self.entry.borrow_mut() = Some((next, true));
        Ok(())
    }

    /// Run a step; if the start record is not written yet and the step takes longer than
    /// [`START_RECORD_AFTER`], write it while the step goes on. An error writing it is the
    /// run's, once the step has ended.
    async fn with_start_record<T>(
        &self,
        step: impl std::future::Future<Output = T>,
    ) -> (T, Result<()>) {
        let pending = matches!(&*self.entry.borrow(), Some((_, false)));
        if !pending {
            return (step.await, Ok(()));
        }
        tokio::pin!(step);
        tokio::select! {
            done = &mut step => (done, Ok(())),
            _ = tokio::time::sleep(START_RECORD_AFTER) => {
                let recorded = self.record(Entry::clone).await;
                (step.await, recorded)
            }
        }
    }
}

impl Backend for ServerBackend<'_> {
    async fn ensure_lease(&self) -> Result<()> {
        self.lock.ensure().await.map_err(|e: LockLost| e.into())
    }
    async fn execute(
        &self,
        op: &Operation,
        reporter: &mut dyn Reporter,
    ) -> Result<crate::ops::Done> {
        let mut options = self.step_options();
        // A data step's batches are fenced by this run's lock, and checkpointed by the step's
        // place in this migration (so an interrupted run resumes it where it stopped).
        options.job.fence = Some(self.lock.fence());
        if let Some((entry, _)) = &*self.entry.borrow() {
            options.job.checkpoint = Some(super::job::Checkpoint {
                state_db: self.lock.state_db().to_string(),
                key: format!(
                    "migrate:{}:{:?}:{}",
                    entry.version, entry.direction, entry.steps_done
                ),
            });
        }
        let (done, recorded) = self
            .with_start_record(super::step::execute(self.client, op, &options, reporter))
            .await;
        recorded?;
        done
    }
    async fn execute_wave(
        &self,
        ops: &[&Operation],
        reporter: &mut dyn Reporter,
    ) -> Result<Vec<crate::ops::Done>, (usize, anyhow::Error)> {
        let options = self.step_options();
        let (done, recorded) = self
            .with_start_record(super::step::execute_wave(
                self.client,
                ops,
                &options,
                reporter,
            ))
            .await;
        recorded.map_err(|e| (0, e))?;
        done.map_err(|w| (w.failed, w.error))
    }
    async fn build_slots(&self) -> usize {
        super::step::build_slots(self.client).await
    }
    async fn record_start(&self, entry: &Entry, resumed: bool) -> Result<()> {
        self.resumed.set(resumed);
        *self.entry.borrow_mut() = Some((entry.clone(), false));
        // A resumed migration says so at once; a fresh one with its first record, unless its
        // first step takes long.
        if resumed {
            self.record(Entry::clone).await?;
        }
        Ok(())
    }
    async fn record_progress(&self, _version: &str, steps_done: u32) -> Result<()> {
        self.record(|e| e.at_step(steps_done)).await
    }
    async fn record_failure(&self, _version: &str, error: &str) -> Result<()> {
        self.record(|e| e.failed(error, DateTime::now())).await
    }
    async fn record_finished(
        &self,
        _version: &str,
        steps_done: u32,
        _direction: Direction,
        _started_at: DateTime,
    ) -> Result<()> {
        self.record(|e| e.finished(steps_done, DateTime::now()))
            .await
    }
    fn host_pid(&self) -> (String, u32) {
        (hostname(), std::process::id())
    }
    #[cfg(feature = "test-hooks")]
    fn checkpoint(&self, version: &str, step: usize, stage: &str) {
        test_hook(version, step, stage);
    }
}

/// Test hook (built with `--features test-hooks` only):
/// `MONGRATE_FAULT=<version>:<step>:<before-exec|after-exec|after-record>` kills this process with SIGKILL
/// at that point, and `MONGRATE_PAUSE=...` (same form) stops it with SIGSTOP, so tests can
/// interrupt or freeze a run at a precise place. Steps count from 1.
#[cfg(feature = "test-hooks")]
fn test_hook(version: &str, step: usize, stage: &str) {
    let here = format!("{version}:{step}:{stage}");
    for (var, signal) in [
        ("MONGRATE_FAULT", libc::SIGKILL),
        ("MONGRATE_PAUSE", libc::SIGSTOP),
    ] {
        if std::env::var(var).is_ok_and(|v| v == here) {
            // SAFETY: kill(2) on this process's own id with a valid signal number.
            unsafe {
                libc::kill(std::process::id() as libc::pid_t, signal);
            }
        }
    }
}

/// Take the lock, decide the run from the changelog as it is under the lock, execute it, and
/// release the lock (also after an error: the run's own error is the one reported).
pub async fn run(
    client: &Client,
    opts: &RunOptions,
    migrations: &[Migration],
    request: &Request,
    reporter: &mut dyn Reporter,
) -> Result<Outcome> {
    let lock = acquire(client, opts).await?;
    let took_over_from = lock.took_over_from.as_ref().map(|o| o.to_string());
    if let Some(o) = &took_over_from {
        reporter.note(&format!(
            "took over the lock from a process that is gone: {o}"
        ));
    }
    let result = async {
        let changelog = Changelog::scoped(client, &opts.state_db, &opts.history(), lock.token());
        let entries = take_over(client, &changelog, opts, migrations).await?;
        let (force, plan) = match request {
            Request::Down { force, .. } => (*force, decide(migrations, &entries, request)?),
            Request::Up { .. } => (false, decide(migrations, &entries, request)?),
        };
        let backend = ServerBackend {
            client,
            changelog,
            lock: &lock,
            step: opts.step.clone(),
            entry: std::cell::RefCell::new(None),
            resumed: std::cell::Cell::new(false),
            took_over: lock.took_over_from.is_some(),
        };
        let ran = runner::execute(&backend, migrations, &entries, &plan, force, reporter).await?;
        anyhow::Ok((plan, ran))
    }
    .await;
    let (plan, ran) = released(result, lock).await?;
    Ok(Outcome {
        plan,
        ran,
        took_over_from,
    })
}

/// `migrate baseline`: record every migration up to `to` (all without it) that has no entry as
/// applied, without running it — for a database adopted mid-history, or a new tenant made from
/// a template that already has what those migrations make. Under the lock; returns the
/// versions recorded. A migration with an entry already (applied, failed, running) is left.
pub async fn baseline(
    client: &Client,
    opts: &RunOptions,
    migrations: &[Migration],
    to: Option<&str>,
) -> Result<Vec<String>> {
    let lock = acquire(client, opts).await?;
    let result = async {
        let changelog = Changelog::scoped(client, &opts.state_db, &opts.history(), lock.token());
        let existing = take_over(client, &changelog, opts, migrations).await?;
        let mut recorded = Vec::new();
        for m in plan::baseline(migrations, &existing, to) {
            lock.ensure().await?;
            let now = DateTime::now();
            let steps = m.file.up.len() as u32;
            changelog
                .put(&Entry {
                    version: m.version.clone(),
                    name: m.name.clone(),
                    checksum: m.checksum.clone(),
                    status: super::changelog::Status::Applied,
                    direction: Direction::Up,
                    steps_done: steps,
                    steps_total: steps,
                    started_at: now,
                    finished_at: Some(now),
                    duration_ms: Some(0),
                    applied_at: Some(now),
                    host: hostname(),
                    pid: std::process::id(),
                    tool_version: env!("CARGO_PKG_VERSION").to_string(),
                    error: None,
                    lock_token: 0,
                    database: None,
                    project: None,
                    resolved: None,
                })
                .await?;
            recorded.push(m.version.clone());
        }
        anyhow::Ok(recorded)
    }
    .await;
    released(result, lock).await
}

/// `migrate resolve`: under the lock, mark `version` (a failed or interrupted run) as rolled
/// back or applied, recording who, when, why and what it said before. Refused — nothing
/// written — where that would be untrue (see [`plan::resolve`]).
pub async fn resolve(
    client: &Client,
    opts: &RunOptions,
    migrations: &[Migration],
    version: &str,
    to: plan::Resolve,
    note: Option<String>,
) -> Result<super::changelog::Resolution> {
    use super::changelog::{Resolution, Status};
    let lock = acquire(client, opts).await?;
    let result = async {
        let changelog = Changelog::scoped(client, &opts.state_db, &opts.history(), lock.token());
        let entries = take_over(client, &changelog, opts, migrations).await?;
        let checksum = plan::resolve(migrations, &entries, version, to)
            .map_err(anyhow::Error::from)
            .context("refusing to resolve; nothing was changed")?;
        let was = entries
            .iter()
            .find(|e| e.version == version)
            .expect("resolve checked the entry exists");
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let resolution = Resolution {
            marked: match to {
                plan::Resolve::Applied => Status::Applied,
                plan::Resolve::RolledBack => Status::RolledBack,
            },
            at: DateTime::now(),
            by: format!("{user}@{}", hostname()),
            pid: std::process::id(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            was: was.status,
            was_direction: was.direction,
            was_steps_done: was.steps_done,
            was_error: was.error.clone(),
            note,
        };
        lock.ensure().await?;
        changelog.resolve(version, &checksum, &resolution).await?;
        anyhow::Ok(resolution)
    }
    .await;
    released(result, lock).await
}

/// The lease lock of the run's scope (the shared history, or one database of a fleet).
async fn acquire(client: &Client, opts: &RunOptions) -> Result<LeaseLock> {
    Ok(LeaseLock::acquire_id(
        client,
        &opts.state_db,
        &opts.history().lock_id(),
        opts.lock_lease,
        opts.lock_timeout,
    )
    .await?)
}

/// Release `lock` after the work under it, also after an error: the work's own error is the
/// one reported (with the release's, when both failed).
async fn released<T>(result: Result<T>, lock: LeaseLock) -> Result<T> {
    match (result, lock.release().await) {
        (Ok(r), Ok(())) => Ok(r),
        (Ok(_), Err(e)) | (Err(e), Ok(())) => Err(e),
        (Err(e), Err(r)) => Err(anyhow::anyhow!("{e:#}\n  (also: {r:#})")),
    }
}
