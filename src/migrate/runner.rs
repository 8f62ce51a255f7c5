//! Running migrations against a server: `up`, `down` and `status`, under the lease lock, with
//! every step recorded in the changelog so that an interrupted run resumes at the step it had
//! not finished.

use super::Migration;
use crate::db::changelog::{Changelog, Direction, Entry, Status};
use crate::db::execute::execute;
use crate::db::lock::{LeaseLock, hostname};
use crate::ops::Operation;
use anyhow::{Context, Result, bail};
use bson::{DateTime, doc};
use mongodb::Client;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub state_db: String,
    pub lock_lease: Duration,
    pub lock_timeout: Duration,
}

/// Progress of a run; the CLI shows a bar per migration. Core code never prints.
pub trait MigrateReporter {
    fn note(&mut self, _message: &str) {}
    /// A migration starts (or resumes at `from`, 0-based) with `total` steps.
    fn migration_started(
        &mut self,
        _m: &Migration,
        _direction: Direction,
        _from: usize,
        _total: usize,
    ) {
    }
    fn step_started(&mut self, _index: usize, _op: &Operation) {}
    fn step_done(&mut self, _index: usize) {}
    fn migration_done(&mut self, _m: &Migration, _direction: Direction, _elapsed: Duration) {}
}

/// A reporter that reports nothing.
pub struct Quiet;
impl MigrateReporter for Quiet {}

/// What a run did.
#[derive(Debug, Default, Serialize)]
pub struct RunReport {
    /// `version_name` of each migration applied or rolled back.
    pub done: Vec<String>,
    /// Set when the lock was taken over from a dead process of this host.
    pub took_over_from: Option<String>,
}

/// Test hook: `MONGRATE_FAULT=<version>:<step>:<after-exec|after-record>` kills this process
/// with SIGKILL at that point of `up`, so tests can interrupt a run at a precise place.
fn fault_point(version: &str, step: usize, stage: &str) {
    let Ok(spec) = std::env::var("MONGRATE_FAULT") else {
        return;
    };
    if spec == format!("{version}:{step}:{stage}") {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &std::process::id().to_string()])
            .status();
        std::thread::sleep(Duration::from_secs(30));
    }
}

fn new_entry(m: &Migration, status: Status, direction: Direction, total: usize) -> Entry {
    Entry {
        version: m.version.clone(),
        name: m.name.clone(),
        checksum: m.checksum.clone(),
        status,
        direction,
        steps_done: 0,
        steps_total: total as u32,
        started_at: DateTime::now(),
        finished_at: None,
        duration_ms: None,
        applied_at: None,
        host: hostname(),
        pid: std::process::id(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        error: None,
    }
}

/// Applied migrations whose file changed since (an error for `up`, `down` and `verify`).
pub fn checksum_mismatches(migrations: &[Migration], entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e.status == Status::Applied || (e.status == Status::Running && e.direction == Direction::Down))
        .filter_map(|e| {
            let m = migrations.iter().find(|m| m.version == e.version)?;
            (m.checksum != e.checksum).then(|| {
                format!(
                    "{} was changed after it was applied (checksum {} → {}); restore it, or write a new migration for the change",
                    m.path.display(),
                    &e.checksum[..12.min(e.checksum.len())],
                    &m.checksum[..12]
                )
            })
        })
        .collect()
}

/// Where the steps of one migration run.
struct Run<'a> {
    client: &'a Client,
    changelog: &'a Changelog,
    lock: &'a LeaseLock,
    direction: Direction,
    /// Skip irreversible steps instead of failing on them.
    force: bool,
}

async fn run_steps(
    run: &Run<'_>,
    m: &Migration,
    steps: &[Operation],
    from: usize,
    reporter: &mut dyn MigrateReporter,
) -> Result<()> {
    let Run {
        client,
        changelog,
        lock,
        direction,
        force,
    } = *run;
    for (i, op) in steps.iter().enumerate().skip(from) {
        if lock.lost() {
            bail!(
                "lost the migration lock (it could not be renewed); stopped before step {} of {}",
                i + 1,
                steps.len()
            );
        }
        reporter.step_started(i, op);
        let result = match op {
            Operation::Irreversible { reason } if force => {
                reporter.note(&format!("skipping irreversible step (--force): {reason}"));
                Ok(())
            }
            _ => execute(client, op).await,
        };
        if let Err(e) = result {
            let message = format!(
                "step {} of {} ({}): {e:#}",
                i + 1,
                steps.len(),
                op.summary()
            );
            changelog
                .update(&m.version, doc! { "$set": { "status": "failed", "error": &message, "finished_at": DateTime::now() } })
                .await?;
            bail!("{} {}: {message}", m.version, m.name);
        }
        if direction == Direction::Up {
            fault_point(&m.version, i + 1, "after-exec");
        }
        changelog.progress(&m.version, (i + 1) as u32).await?;
        if direction == Direction::Up {
            fault_point(&m.version, i + 1, "after-record");
        }
        reporter.step_done(i);
    }
    Ok(())
}

/// Take the lease lock, run, release it (also after an error), and say whether the lock was
/// taken over from a dead process.
async fn locked(
    client: &Client,
    opts: &RunOptions,
    run: impl AsyncFnOnce(&LeaseLock) -> Result<RunReport>,
) -> Result<RunReport> {
    let lock =
        LeaseLock::acquire(client, &opts.state_db, opts.lock_lease, opts.lock_timeout).await?;
    let result = run(&lock).await;
    let took_over = lock.took_over_from.as_ref().map(|o| o.to_string());
    lock.release().await?;
    let mut report = result?;
    report.took_over_from = took_over;
    Ok(report)
}

/// Apply pending migrations (up to and including `to`), resuming an interrupted one.
pub async fn up(
    client: &Client,
    migrations: &[Migration],
    to: Option<&str>,
    opts: &RunOptions,
    reporter: &mut dyn MigrateReporter,
) -> Result<RunReport> {
    if let Some(to) = to
        && !migrations.iter().any(|m| m.version == to)
    {
        bail!("--to {to}: no migration has that version");
    }
    locked(client, opts, async |lock| {
        up_locked(client, migrations, to, lock, reporter).await
    })
    .await
}

async fn up_locked(
    client: &Client,
    migrations: &[Migration],
    to: Option<&str>,
    lock: &LeaseLock,
    reporter: &mut dyn MigrateReporter,
) -> Result<RunReport> {
    if let Some(o) = &lock.took_over_from {
        reporter.note(&format!(
            "took over the lock from a process that is gone: {o}"
        ));
    }
    let changelog = Changelog::new(client, lock.state_db());
    let entries = changelog.entries().await.context("reading the changelog")?;
    let mismatches = checksum_mismatches(migrations, &entries);
    if !mismatches.is_empty() {
        bail!("refusing to migrate:\n  {}", mismatches.join("\n  "));
    }
    let by_version: BTreeMap<&str, &Entry> =
        entries.iter().map(|e| (e.version.as_str(), e)).collect();
    let mut report = RunReport::default();
    for m in migrations {
        if to.is_some_and(|t| m.version.as_str() > t) {
            break;
        }
        let entry = by_version.get(m.version.as_str());
        let from = match entry {
            Some(e) if e.status == Status::Applied => continue,
            // An interrupted or failed `up` of the same file resumes where it stopped.
            Some(e)
                if e.direction == Direction::Up
                    && e.checksum == m.checksum
                    && matches!(e.status, Status::Running | Status::Failed) =>
            {
                e.steps_done as usize
            }
            Some(e) if e.direction == Direction::Down && e.status != Status::RolledBack => {
                bail!(
                    "{} {} was being rolled back and did not finish; finish it with `mongrate migrate down --to {}` first",
                    m.version,
                    m.name,
                    prev_version(migrations, &m.version)
                );
            }
            _ => 0,
        };
        let total = m.file.up.len();
        let mut e = new_entry(m, Status::Running, Direction::Up, total);
        e.steps_done = from as u32;
        if let Some(old) = entry {
            e.applied_at = old.applied_at;
            if from > 0 {
                e.started_at = old.started_at;
            }
        }
        changelog.put(&e).await?;
        reporter.migration_started(m, Direction::Up, from, total);
        let started = Instant::now();
        let run = Run {
            client,
            changelog: &changelog,
            lock,
            direction: Direction::Up,
            force: false,
        };
        run_steps(&run, m, &m.file.up, from, reporter).await?;
        let now = DateTime::now();
        let duration = now.timestamp_millis() - e.started_at.timestamp_millis();
        changelog
            .update(&m.version, doc! { "$set": {
                "status": "applied", "finished_at": now, "applied_at": now, "duration_ms": duration, "error": null,
            } })
            .await?;
        reporter.migration_done(m, Direction::Up, started.elapsed());
        report.done.push(format!("{}_{}", m.version, m.name));
    }
    Ok(report)
}

fn prev_version(migrations: &[Migration], version: &str) -> String {
    migrations
        .iter()
        .map(|m| m.version.as_str())
        .rfind(|v| *v < version)
        .unwrap_or("0")
        .to_string()
}

/// How far to roll back.
#[derive(Debug, Clone)]
pub enum DownTarget {
    /// The last N applied migrations.
    Steps(usize),
    /// Every applied migration with a version above this one (`0`: all of them).
    To(String),
}

/// Roll back applied migrations, newest first.
pub async fn down(
    client: &Client,
    migrations: &[Migration],
    target: &DownTarget,
    force: bool,
    opts: &RunOptions,
    reporter: &mut dyn MigrateReporter,
) -> Result<RunReport> {
    locked(client, opts, async |lock| {
        down_locked(client, migrations, target, force, lock, reporter).await
    })
    .await
}

async fn down_locked(
    client: &Client,
    migrations: &[Migration],
    target: &DownTarget,
    force: bool,
    lock: &LeaseLock,
    reporter: &mut dyn MigrateReporter,
) -> Result<RunReport> {
    let changelog = Changelog::new(client, lock.state_db());
    let entries = changelog.entries().await?;
    let mismatches = checksum_mismatches(migrations, &entries);
    if !mismatches.is_empty() {
        bail!("refusing to roll back:\n  {}", mismatches.join("\n  "));
    }
    // Applied (or half rolled back) migrations, newest first.
    let mut applied: Vec<&Entry> = entries
        .iter()
        .filter(|e| {
            e.status == Status::Applied
                || (e.direction == Direction::Down && e.status != Status::RolledBack)
        })
        .collect();
    applied.sort_by(|a, b| b.version.cmp(&a.version));
    let selected: Vec<&Entry> = match target {
        DownTarget::Steps(n) => applied.into_iter().take(*n).collect(),
        DownTarget::To(v) => applied
            .into_iter()
            .filter(|e| e.version.as_str() > v.as_str())
            .collect(),
    };
    // Check everything before touching anything.
    let mut plan: Vec<(&Migration, &Entry)> = Vec::new();
    let mut problems = Vec::new();
    for e in &selected {
        let Some(m) = migrations.iter().find(|m| m.version == e.version) else {
            problems.push(format!(
                "{} {} is applied but its file is missing; restore it to roll it back",
                e.version, e.name
            ));
            continue;
        };
        if !force {
            if m.file.down.is_empty() && !m.file.up.is_empty() {
                problems.push(format!("{} has no `down` steps; write them, or pass --force to mark it rolled back without undoing it", m.path.display()));
            }
            for (i, op) in m.file.down.iter().enumerate() {
                if let Operation::Irreversible { reason } = op {
                    problems.push(format!(
                        "{} down[{i}] is irreversible: {reason}; pass --force to skip that step",
                        m.path.display()
                    ));
                }
            }
        }
        plan.push((m, e));
    }
    if !problems.is_empty() {
        bail!(
            "refusing to roll back; nothing was changed:\n  {}",
            problems.join("\n  ")
        );
    }
    let mut report = RunReport::default();
    for (m, e) in plan {
        let from = if e.direction == Direction::Down && e.status != Status::RolledBack {
            e.steps_done as usize
        } else {
            0
        };
        let total = m.file.down.len();
        changelog
            .update(&m.version, doc! { "$set": {
                "status": "running", "direction": "down", "steps_done": from as i64, "steps_total": total as i64,
                "started_at": DateTime::now(), "finished_at": null, "error": null,
                "host": hostname(), "pid": std::process::id() as i64,
            } })
            .await?;
        reporter.migration_started(m, Direction::Down, from, total);
        let started = Instant::now();
        let run = Run {
            client,
            changelog: &changelog,
            lock,
            direction: Direction::Down,
            force,
        };
        run_steps(&run, m, &m.file.down, from, reporter).await?;
        changelog
            .update(&m.version, doc! { "$set": {
                "status": "rolled_back", "finished_at": DateTime::now(), "duration_ms": started.elapsed().as_millis() as i64,
            } })
            .await?;
        reporter.migration_done(m, Direction::Down, started.elapsed());
        report.done.push(format!("{}_{}", m.version, m.name));
    }
    Ok(report)
}

/// One row of `migrate status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusRow {
    pub version: String,
    pub name: String,
    /// applied, pending, running, failed, rolled_back, checksum mismatch, missing
    pub status: String,
    pub applied_at: Option<String>,
    pub steps: String,
    pub error: Option<String>,
}

/// Every migration file and every changelog entry, by version.
pub async fn status(
    client: &Client,
    migrations: &[Migration],
    state_db: &str,
) -> Result<Vec<StatusRow>> {
    let entries = Changelog::new(client, state_db).entries().await?;
    let mut rows = Vec::new();
    let mut versions: Vec<String> = migrations.iter().map(|m| m.version.clone()).collect();
    versions.extend(entries.iter().map(|e| e.version.clone()));
    versions.sort();
    versions.dedup();
    for v in versions {
        let m = migrations.iter().find(|m| m.version == v);
        let e = entries.iter().find(|e| e.version == v);
        let (name, status) = match (m, e) {
            (Some(m), None) => (m.name.clone(), "pending".to_string()),
            (None, Some(e)) => (e.name.clone(), "missing".to_string()),
            (Some(m), Some(e)) => {
                let s = if e.status == Status::Applied && e.checksum != m.checksum {
                    "checksum mismatch".to_string()
                } else if e.status == Status::RolledBack {
                    "rolled_back (pending)".to_string()
                } else {
                    serde_json::to_value(e.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                };
                (m.name.clone(), s)
            }
            (None, None) => continue,
        };
        let total = m.map(|m| m.file.up.len()).unwrap_or(0);
        rows.push(StatusRow {
            version: v,
            name,
            status,
            applied_at: e
                .and_then(|e| e.applied_at)
                .and_then(|d| d.try_to_rfc3339_string().ok()),
            steps: e
                .map(|e| format!("{}/{}", e.steps_done, e.steps_total))
                .unwrap_or_else(|| format!("0/{total}")),
            error: e.and_then(|e| e.error.clone()),
        });
    }
    Ok(rows)
}
