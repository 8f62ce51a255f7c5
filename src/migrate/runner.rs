//! Executing a [`RunPlan`]: step by step, each one checked against the lease before it starts
//! and recorded in the changelog after it finishes, so an interrupted run resumes at the step it
//! had not finished and a run that lost its lock stops without writing.
//!
//! The runner talks to the world only through [`Backend`] (implemented over the driver in
//! `db::migrations`), so its rules are tested without a server.

use super::Migration;
use super::changelog::{Direction, Entry, Status};
use super::plan::RunPlan;
use crate::ops::{Done, Operation};
use crate::progress::{Reporter, Unit};
use bson::DateTime;
use serde::Serialize;
use std::time::Instant;

/// What a run needs from the outside: the lease, the changelog, and the server.
#[allow(async_fn_in_trait)]
pub trait Backend {
    /// Fail when this run no longer holds the lock (checked before every step).
    async fn ensure_lease(&self) -> anyhow::Result<()>;
    /// Run one operation on the server (riding out elections, reporting index builds).
    async fn execute(&self, op: &Operation, reporter: &mut dyn Reporter) -> anyhow::Result<Done>;
    /// Run the index builds of one wave at once; on failure, the position of the first that
    /// failed. The default runs them one after another.
    async fn execute_wave(
        &self,
        ops: &[&Operation],
        reporter: &mut dyn Reporter,
    ) -> Result<Vec<Done>, (usize, anyhow::Error)> {
        let mut done = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            done.push(self.execute(op, reporter).await.map_err(|e| (i, e))?);
        }
        Ok(done)
    }
    /// How many index builds may start at once now (the server's limit less running builds).
    async fn build_slots(&self) -> usize {
        1
    }
    /// The changelog entry of a migration that starts (or resumes). `resumed`: an earlier run
    /// of this migration started and did not finish (it may have left an index build running).
    async fn record_start(&self, entry: &Entry, resumed: bool) -> anyhow::Result<()>;
    /// Steps done of a migration still running (one fenced majority write per finished step).
    async fn record_progress(&self, version: &str, steps_done: u32) -> anyhow::Result<()>;
    async fn record_failure(&self, version: &str, error: &str) -> anyhow::Result<()>;
    /// The migration finished: its last steps done and its new status, in one write.
    async fn record_finished(
        &self,
        version: &str,
        steps_done: u32,
        direction: Direction,
        started_at: DateTime,
    ) -> anyhow::Result<()>;
    /// The host and process this run records.
    fn host_pid(&self) -> (String, u32);
    /// Called at each point a run may be interrupted: after step `step` (counted from 1) of
    /// migration `version` ran (`after-exec`) and after it was recorded (`after-record`). The
    /// server backend's test hooks stop the process here; nothing else does anything.
    fn checkpoint(&self, _version: &str, _step: usize, _stage: &str) {}
}

/// What one migration of a run did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RanMigration {
    pub version: String,
    pub name: String,
    pub from_step: usize,
    pub steps_total: usize,
    /// Steps this run executed (0 in a dry run).
    pub steps_run: usize,
    /// Steps of them whose goal already held on the server (a baseline's collections and
    /// indexes that were there): nothing changed for them.
    pub steps_already_there: usize,
}

fn new_entry(
    m: &Migration,
    direction: Direction,
    from: usize,
    total: usize,
    previous: Option<&Entry>,
    (host, pid): (String, u32),
) -> Entry {
    Entry {
        version: m.version.clone(),
        name: m.name.clone(),
        checksum: m.checksum.clone(),
        status: Status::Running,
        direction,
        steps_done: from as u32,
        steps_total: total as u32,
        started_at: previous
            .filter(|p| from > 0 && p.direction == direction)
            .map(|p| p.started_at)
            .unwrap_or_else(DateTime::now),
        finished_at: None,
        duration_ms: None,
        applied_at: previous.and_then(|p| p.applied_at),
        host,
        pid,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        error: None,
        lock_token: 0,
        // Set by the changelog of the run's scope when written.
        database: None,
        project: None,
        resolved: None,
    }
}

/// Run `plan` (from [`super::plan::plan_up`] or [`super::plan::plan_down`]) over
/// `migrations`. With `force`, irreversible steps are skipped instead of failing. Stops at the
/// first error: a failed step is recorded as failed (its error first in the message, whatever
/// else then goes wrong), a lost lease stops before anything more is written.
pub async fn execute(
    backend: &impl Backend,
    migrations: &[Migration],
    entries: &[Entry],
    plan: &RunPlan,
    force: bool,
    reporter: &mut dyn Reporter,
) -> anyhow::Result<Vec<RanMigration>> {
    let direction = plan.direction;
    let mut done = Vec::new();
    for p in &plan.migrations {
        let m = &migrations[p.index];
        let steps = match direction {
            Direction::Up => &m.file.up,
            Direction::Down => &m.file.down,
        };
        backend.ensure_lease().await?;
        let previous = entries.iter().find(|e| e.version == m.version);
        let entry = new_entry(
            m,
            direction,
            p.from_step,
            steps.len(),
            previous,
            backend.host_pid(),
        );
        let resumed =
            previous.is_some_and(|e| matches!(e.status, Status::Running | Status::Failed));
        backend.record_start(&entry, resumed).await?;
        let verb = match direction {
            Direction::Up => "up",
            Direction::Down => "down",
        };
        let started = Instant::now();
        reporter.begin(
            &format!("{verb} {}_{}", m.version, m.name),
            Unit::Steps,
            steps.len() as u64,
            p.from_step as u64,
        );
        let ops: Vec<&Operation> = steps.iter().collect();
        let mut i = p.from_step;
        let mut already = 0usize;
        while i < ops.len() {
            backend.ensure_lease().await.map_err(|e| {
                e.context(format!(
                    "{} {}: stopped before step {} of {}",
                    m.version,
                    m.name,
                    i + 1,
                    steps.len()
                ))
            })?;
            // Consecutive index builds go in waves the server runs at once; other steps alone
            // (a lone build needs no count of free build slots).
            let builds =
                |op: Option<&&Operation>| matches!(op, Some(Operation::CreateIndex { .. }));
            let slots = if builds(ops.get(i)) && builds(ops.get(i + 1)) {
                backend.build_slots().await
            } else {
                1
            };
            let end = crate::resilience::wave_end(&ops, i, slots);
            let wave = &ops[i..end];
            let summary = match wave {
                [one] => one.summary(),
                many => format!("{} index builds at once", many.len()),
            };
            reporter.working_on(&summary);
            backend.checkpoint(&m.version, i + 1, "before-exec");
            let step_started = Instant::now();
            let result = match wave {
                [Operation::Irreversible { reason }] if force => {
                    reporter.note(&format!("skipping irreversible step (--force): {reason}"));
                    Ok(vec![Done::AlreadyThere])
                }
                [one] => backend
                    .execute(one, reporter)
                    .await
                    .map(|d| vec![d])
                    .map_err(|e| (0, e)),
                many => backend.execute_wave(many, reporter).await,
            };
            let outcomes = match result {
                Ok(outcomes) => outcomes,
                Err((k, e)) => {
                    let message = format!(
                        "step {} of {} ({}): {e:#}",
                        i + k + 1,
                        steps.len(),
                        ops[i + k].summary()
                    );
                    let headline = anyhow::anyhow!("{} {}: {message}", m.version, m.name);
                    // The step's own error comes first; a failure to record it is added to it.
                    return Err(match backend.record_failure(&m.version, &message).await {
                        Ok(()) => headline,
                        Err(record) => anyhow::anyhow!(
                            "{headline}\n  (and the failure could not be recorded: {record:#})"
                        ),
                    });
                }
            };
            backend.checkpoint(&m.version, end, "after-exec");
            // Paused or partitioned while the step ran? Then another run may own the work now.
            backend.ensure_lease().await.map_err(|e| {
                e.context(format!(
                    "{} {}: step {} of {} ran, but is not recorded by this run",
                    m.version,
                    m.name,
                    end,
                    steps.len()
                ))
            })?;
            // The last step's record is the migration's: done, and its new status.
            if end < ops.len() {
                backend.record_progress(&m.version, end as u32).await?;
            } else {
                backend
                    .record_finished(&m.version, end as u32, direction, entry.started_at)
                    .await?;
            }
            backend.checkpoint(&m.version, end, "after-record");
            for (k, op) in wave.iter().enumerate() {
                let there = outcomes.get(k) == Some(&Done::AlreadyThere);
                already += usize::from(there);
                let said = if there {
                    format!("{} — already there, nothing changed", op.summary())
                } else {
                    op.summary()
                };
                reporter.step_done(&said, step_started.elapsed());
            }
            i = end;
        }
        if p.from_step >= ops.len() {
            // Nothing left to run (no steps, or all ran and only the finish was not recorded).
            backend.ensure_lease().await?;
            backend
                .record_finished(&m.version, ops.len() as u32, direction, entry.started_at)
                .await?;
        }
        reporter.end(
            match direction {
                Direction::Up => "applied",
                Direction::Down => "rolled back",
            },
            started.elapsed(),
        );
        done.push(RanMigration {
            version: m.version.clone(),
            name: m.name.clone(),
            from_step: p.from_step,
            steps_total: steps.len(),
            steps_run: steps.len() - p.from_step,
            steps_already_there: already,
        });
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::plan::plan_up;
    use crate::migrate::{MigrationFile, checksum};
    use crate::progress::Silent;
    use std::cell::RefCell;
    use std::path::PathBuf;

    /// A backend that records calls, fails a chosen step, and loses the lease on demand.
    #[derive(Default)]
    struct Fake {
        log: RefCell<Vec<String>>,
        fail_on: Option<String>,
        lose_lease_after: Option<usize>,
        executed: RefCell<usize>,
    }

    impl Backend for Fake {
        async fn ensure_lease(&self) -> anyhow::Result<()> {
            match self.lose_lease_after {
                Some(n) if *self.executed.borrow() >= n => anyhow::bail!("lost the migration lock"),
                _ => Ok(()),
            }
        }
        async fn execute(&self, op: &Operation, _r: &mut dyn Reporter) -> anyhow::Result<Done> {
            let s = op.summary();
            if self.fail_on.as_deref() == Some(s.as_str()) {
                anyhow::bail!("server refused: boom");
            }
            *self.executed.borrow_mut() += 1;
            self.log.borrow_mut().push(format!("exec {s}"));
            Ok(Done::Changed)
        }
        async fn record_start(&self, e: &Entry, _resumed: bool) -> anyhow::Result<()> {
            self.log
                .borrow_mut()
                .push(format!("start {} at {}", e.version, e.steps_done));
            Ok(())
        }
        async fn record_progress(&self, v: &str, n: u32) -> anyhow::Result<()> {
            self.log.borrow_mut().push(format!("progress {v} {n}"));
            Ok(())
        }
        async fn record_failure(&self, v: &str, _e: &str) -> anyhow::Result<()> {
            self.log.borrow_mut().push(format!("failed {v}"));
            Ok(())
        }
        async fn record_finished(
            &self,
            v: &str,
            n: u32,
            _d: Direction,
            _s: DateTime,
        ) -> anyhow::Result<()> {
            self.log.borrow_mut().push(format!("finished {v} {n}"));
            Ok(())
        }
        fn host_pid(&self) -> (String, u32) {
            ("h".into(), 1)
        }
    }

    fn op(n: usize) -> Operation {
        Operation::DropIndex {
            db: "a".into(),
            collection: "b".into(),
            name: format!("i{n}"),
        }
    }

    fn one() -> Vec<Migration> {
        vec![Migration {
            version: "20250101000000".into(),
            name: "m".into(),
            path: PathBuf::from("m.yaml"),
            checksum: checksum("x"),
            file: MigrationFile {
                databases: None,
                description: String::new(),
                up: (0..3).map(op).collect(),
                down: vec![],
            },
        }]
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn every_step_is_recorded_after_it_runs() {
        let ms = one();
        let plan = plan_up(&ms, &[], None).unwrap();
        let fake = Fake::default();
        let ran = block_on(execute(&fake, &ms, &[], &plan, false, &mut Silent)).unwrap();
        assert_eq!(ran[0].steps_run, 3);
        assert_eq!(
            fake.log.borrow().as_slice(),
            [
                "start 20250101000000 at 0",
                "exec drop_index a.b i0",
                "progress 20250101000000 1",
                "exec drop_index a.b i1",
                "progress 20250101000000 2",
                "exec drop_index a.b i2",
                "finished 20250101000000 3",
            ]
        );
    }

    #[test]
    fn a_migration_with_nothing_left_to_run_is_only_marked_finished() {
        let mut ms = one();
        ms[0].file.up.clear();
        let plan = plan_up(&ms, &[], None).unwrap();
        let fake = Fake::default();
        block_on(execute(&fake, &ms, &[], &plan, false, &mut Silent)).unwrap();
        assert_eq!(
            fake.log.borrow().as_slice(),
            ["start 20250101000000 at 0", "finished 20250101000000 0"]
        );
    }

    #[test]
    fn a_failed_step_is_recorded_and_named_first() {
        let ms = one();
        let plan = plan_up(&ms, &[], None).unwrap();
        let fake = Fake {
            fail_on: Some("drop_index a.b i1".into()),
            ..Default::default()
        };
        let e = block_on(execute(&fake, &ms, &[], &plan, false, &mut Silent)).unwrap_err();
        assert!(
            format!("{e:#}").starts_with(
                "20250101000000 m: step 2 of 3 (drop_index a.b i1): server refused: boom"
            ),
            "{e:#}"
        );
        assert_eq!(fake.log.borrow().last().unwrap(), "failed 20250101000000");
    }

    #[test]
    fn a_lost_lease_stops_before_recording_or_running_more() {
        let ms = one();
        let plan = plan_up(&ms, &[], None).unwrap();
        let fake = Fake {
            lose_lease_after: Some(2),
            ..Default::default()
        };
        let e = block_on(execute(&fake, &ms, &[], &plan, false, &mut Silent)).unwrap_err();
        assert!(
            format!("{e:#}").contains("step 2 of 3 ran, but is not recorded by this run"),
            "{e:#}"
        );
        let log = fake.log.borrow();
        assert_eq!(log.last().unwrap(), "exec drop_index a.b i1");
        assert!(!log.iter().any(|l| l.contains("progress 20250101000000 2")));
    }
}
