//! What a `migrate up` / `migrate down` run will do, decided from plain data: the migration
//! files, the changelog entries, and the target. Pure; the runner executes the result, a dry run
//! prints it, `status` reads the same facts.

use super::Migration;
use super::changelog::{Direction, Entry, Status};
use crate::ops::Operation;
use serde::Serialize;

/// One migration of a run: which file, from which step (0-based), of how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedMigration {
    pub version: String,
    pub name: String,
    /// Index into the migrations given to the planner.
    #[serde(skip)]
    pub index: usize,
    /// The first step to run (0-based): > 0 when an interrupted run is resumed.
    pub from_step: usize,
    pub steps_total: usize,
}

/// An ordered run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunPlan {
    pub direction: Direction,
    pub migrations: Vec<PlannedMigration>,
}

/// Which way, how far.
#[derive(Debug, Clone)]
pub enum Request {
    Up { to: Option<String> },
    Down { target: DownTarget, force: bool },
}

/// How far `down` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownTarget {
    /// The last N applied migrations.
    Steps(usize),
    /// Every applied migration with a version above this one (`0`: all of them).
    To(String),
}

/// Why a run cannot start. Nothing has been changed when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunPlanError {
    #[error("no migration has the version `{0}`")]
    UnknownVersion(String),
    #[error("applied migration files changed:\n  {}", .0.join("\n  "))]
    ChecksumChanged(Vec<String>),
    #[error(
        "{version} {name} was interrupted during `{}` after step {step} and must be finished first: {hint}",
        direction_word(*.direction)
    )]
    Dirty {
        version: String,
        name: String,
        step: u32,
        direction: Direction,
        hint: String,
    },
    #[error("{version} {name} is applied but its file is missing; restore it to roll it back")]
    MissingFile { version: String, name: String },
    #[error("cannot roll back:\n  {}", .0.join("\n  "))]
    Irreversible(Vec<String>),
}

fn direction_word(d: Direction) -> &'static str {
    match d {
        Direction::Up => "up",
        Direction::Down => "down",
    }
}

/// Applied migrations whose file changed since.
pub fn checksum_mismatches(migrations: &[Migration], entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| {
            e.status == Status::Applied
                || (e.direction == Direction::Down && e.status != Status::RolledBack)
        })
        .filter_map(|e| {
            let m = migrations.iter().find(|m| m.version == e.version)?;
            (m.checksum != e.checksum).then(|| {
                format!(
                    "{} was changed after it was applied (checksum {} → {}); restore it, or write a new migration for the change",
                    m.path.display(),
                    &e.checksum[..12.min(e.checksum.len())],
                    &m.checksum[..12.min(m.checksum.len())]
                )
            })
        })
        .collect()
}

fn previous_version(migrations: &[Migration], version: &str) -> String {
    migrations
        .iter()
        .map(|m| m.version.as_str())
        .rfind(|v| *v < version)
        .unwrap_or("0")
        .to_string()
}

/// The `up` run: pending migrations up to and including `to`, an interrupted one resumed at its
/// first unfinished step.
pub fn plan_up(
    migrations: &[Migration],
    entries: &[Entry],
    to: Option<&str>,
) -> Result<RunPlan, RunPlanError> {
    if let Some(to) = to
        && !migrations.iter().any(|m| m.version == to)
    {
        return Err(RunPlanError::UnknownVersion(to.to_string()));
    }
    let changed = checksum_mismatches(migrations, entries);
    if !changed.is_empty() {
        return Err(RunPlanError::ChecksumChanged(changed));
    }
    let mut out = Vec::new();
    for (index, m) in migrations.iter().enumerate() {
        if to.is_some_and(|t| m.version.as_str() > t) {
            break;
        }
        let entry = entries.iter().find(|e| e.version == m.version);
        let from_step = match entry {
            Some(e) if e.status == Status::Applied => continue,
            Some(e) if e.direction == Direction::Down && e.status != Status::RolledBack => {
                return Err(RunPlanError::Dirty {
                    version: m.version.clone(),
                    name: m.name.clone(),
                    step: e.steps_done,
                    direction: Direction::Down,
                    hint: format!(
                        "run `mongrate migrate down --to {}` to finish rolling it back",
                        previous_version(migrations, &m.version)
                    ),
                });
            }
            Some(e)
                if e.direction == Direction::Up
                    && matches!(e.status, Status::Running | Status::Failed) =>
            {
                // A file fixed after its run failed starts over: its steps are idempotent, and
                // the step numbers of the old file mean nothing in the new one.
                if e.checksum != m.checksum {
                    0
                } else {
                    (e.steps_done as usize).min(m.file.up.len())
                }
            }
            _ => 0,
        };
        out.push(PlannedMigration {
            version: m.version.clone(),
            name: m.name.clone(),
            index,
            from_step,
            steps_total: m.file.up.len(),
        });
    }
    Ok(RunPlan {
        direction: Direction::Up,
        migrations: out,
    })
}

/// The `down` run: applied (or half rolled back) migrations, newest first. With `force`,
/// irreversible steps are skipped instead of refused.
pub fn plan_down(
    migrations: &[Migration],
    entries: &[Entry],
    target: &DownTarget,
    force: bool,
) -> Result<RunPlan, RunPlanError> {
    if let DownTarget::To(v) = target
        && v != "0"
        && !migrations.iter().any(|m| &m.version == v)
        && !entries.iter().any(|e| &e.version == v)
    {
        return Err(RunPlanError::UnknownVersion(v.clone()));
    }
    let changed = checksum_mismatches(migrations, entries);
    if !changed.is_empty() {
        return Err(RunPlanError::ChecksumChanged(changed));
    }
    let mut candidates: Vec<&Entry> = entries
        .iter()
        .filter(|e| {
            e.status == Status::Applied
                || (e.direction == Direction::Down && e.status != Status::RolledBack)
                || (e.direction == Direction::Up
                    && matches!(e.status, Status::Running | Status::Failed))
        })
        .collect();
    candidates.sort_by(|a, b| b.version.cmp(&a.version));
    let selected: Vec<&Entry> = match target {
        DownTarget::Steps(n) => candidates.into_iter().take(*n).collect(),
        DownTarget::To(v) => candidates
            .into_iter()
            .filter(|e| e.version.as_str() > v.as_str())
            .collect(),
    };
    let mut out = Vec::new();
    let mut irreversible = Vec::new();
    for e in selected {
        if e.direction == Direction::Up && e.status != Status::Applied {
            return Err(RunPlanError::Dirty {
                version: e.version.clone(),
                name: e.name.clone(),
                step: e.steps_done,
                direction: Direction::Up,
                hint: "run `mongrate migrate up` to finish it, then roll back".into(),
            });
        }
        let Some((index, m)) = migrations
            .iter()
            .enumerate()
            .find(|(_, m)| m.version == e.version)
        else {
            return Err(RunPlanError::MissingFile {
                version: e.version.clone(),
                name: e.name.clone(),
            });
        };
        if !force {
            if m.file.down.is_empty() && !m.file.up.is_empty() {
                irreversible.push(format!(
                    "{} has no `down` steps; write them, or pass --force to mark it rolled back without undoing it",
                    m.path.display()
                ));
            }
            for (i, op) in m.file.down.iter().enumerate() {
                if let Operation::Irreversible { reason } = op {
                    irreversible.push(format!(
                        "{} down[{i}] is irreversible: {reason}; pass --force to skip that step",
                        m.path.display()
                    ));
                }
            }
        }
        let from_step = if e.direction == Direction::Down {
            (e.steps_done as usize).min(m.file.down.len())
        } else {
            0
        };
        out.push(PlannedMigration {
            version: m.version.clone(),
            name: m.name.clone(),
            index,
            from_step,
            steps_total: m.file.down.len(),
        });
    }
    if !irreversible.is_empty() {
        return Err(RunPlanError::Irreversible(irreversible));
    }
    Ok(RunPlan {
        direction: Direction::Down,
        migrations: out,
    })
}

impl RunPlan {
    /// The operations this run executes, in order (each migration from its first unfinished
    /// step, in the run's direction).
    pub fn operations<'a>(&self, migrations: &'a [Migration]) -> Vec<&'a Operation> {
        self.migrations
            .iter()
            .filter_map(|p| migrations.get(p.index).map(|m| (p, m)))
            .flat_map(|(p, m)| {
                let steps = match self.direction {
                    Direction::Up => &m.file.up,
                    Direction::Down => &m.file.down,
                };
                steps.iter().skip(p.from_step)
            })
            .collect()
    }
}

/// Where one migration stands, for `migrate status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MigrationState {
    /// Not applied (never, or rolled back).
    Pending,
    Applied,
    /// A run is in progress, or was interrupted (it resumes at its unfinished step).
    Running,
    Failed,
    /// Applied, but its file changed since.
    ChecksumMismatch,
    /// In the changelog, but its file is gone.
    Missing,
}

impl MigrationState {
    /// Does this state need attention (for `status --exit-code`)?
    pub fn is_pending_work(self) -> bool {
        self != Self::Applied
    }
}

/// One row of `migrate status`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct StatusRow {
    pub version: String,
    pub name: String,
    pub status: MigrationState,
    /// `up` or `down` when a run is in progress or failed.
    pub direction: Option<Direction>,
    pub applied_at: Option<String>,
    pub steps_done: u32,
    pub steps_total: u32,
    pub error: Option<String>,
}

/// Every migration file and every changelog entry, by version.
pub fn status_rows(migrations: &[Migration], entries: &[Entry]) -> Vec<StatusRow> {
    let mut versions: Vec<&str> = migrations.iter().map(|m| m.version.as_str()).collect();
    versions.extend(entries.iter().map(|e| e.version.as_str()));
    versions.sort();
    versions.dedup();
    let mut rows = Vec::new();
    for v in versions {
        let m = migrations.iter().find(|m| m.version == v);
        let e = entries.iter().find(|e| e.version == v);
        let (name, status) = match (m, e) {
            (Some(m), None) => (m.name.clone(), MigrationState::Pending),
            // Rolled back, file gone: history, not work.
            (None, Some(e)) if e.status == Status::RolledBack => continue,
            (None, Some(e)) => (e.name.clone(), MigrationState::Missing),
            (Some(m), Some(e)) => (
                m.name.clone(),
                match e.status {
                    Status::Applied if e.checksum != m.checksum => MigrationState::ChecksumMismatch,
                    Status::Applied => MigrationState::Applied,
                    Status::RolledBack => MigrationState::Pending,
                    Status::Running => MigrationState::Running,
                    Status::Failed => MigrationState::Failed,
                },
            ),
            (None, None) => continue,
        };
        let total = m.map(|m| m.file.up.len() as u32).unwrap_or(0);
        let in_progress = matches!(status, MigrationState::Running | MigrationState::Failed);
        rows.push(StatusRow {
            version: v.to_string(),
            name,
            status,
            direction: e.filter(|_| in_progress).map(|e| e.direction),
            applied_at: e
                .and_then(|e| e.applied_at)
                .filter(|_| status != MigrationState::Pending)
                .and_then(|d| d.try_to_rfc3339_string().ok()),
            steps_done: match (e, status) {
                (Some(e), MigrationState::Running | MigrationState::Failed) => e.steps_done,
                (Some(e), MigrationState::Applied | MigrationState::ChecksumMismatch) => {
                    e.steps_done
                }
                _ => 0,
            },
            steps_total: e
                .filter(|_| in_progress)
                .map(|e| e.steps_total)
                .unwrap_or(total),
            error: e.and_then(|e| e.error.clone()).filter(|_| in_progress),
        });
    }
    rows
}

/// Why `migrate resolve` refuses: it would make the changelog say something untrue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("no migration file and no changelog entry has the version `{0}`")]
    UnknownVersion(String),
    #[error(
        "{0} has no changelog entry: it is pending, not failed. Run it with `mongrate migrate up`, or record it as applied without running it with `mongrate migrate baseline --to {0}`"
    )]
    Pending(String),
    #[error(
        "{0} is rolled back (pending), not failed. Run it with `mongrate migrate up`, or record it as applied without running it with `mongrate migrate baseline --to {0}`"
    )]
    RolledBack(String),
    #[error("{0} is applied, not failed{1}")]
    Applied(String, String),
    #[error("{0} is already rolled back")]
    AlreadyRolledBack(String),
    #[error(
        "{0}'s file is missing: restore it to mark the migration applied (its checksum is recorded), or mark it --rolled-back"
    )]
    MissingFile(String),
}

/// What `migrate resolve` marks a failed or interrupted migration as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// Its effects were undone by hand: `up` will run it again from its first step.
    RolledBack,
    /// It was finished by hand: `up` skips it.
    Applied,
}

/// Decide a `migrate resolve`: only a failed or interrupted run (status `failed` or
/// `running`, either direction) can be resolved, and `--applied` needs the file (its checksum
/// is recorded). Returns the checksum to record.
pub fn resolve(
    migrations: &[Migration],
    entries: &[Entry],
    version: &str,
    to: Resolve,
) -> Result<String, ResolveError> {
    let file = migrations.iter().find(|m| m.version == version);
    let Some(entry) = entries.iter().find(|e| e.version == version) else {
        return Err(match file {
            Some(_) => ResolveError::Pending(version.to_string()),
            None => ResolveError::UnknownVersion(version.to_string()),
        });
    };
    match (entry.status, to) {
        (Status::Applied, _) => Err(ResolveError::Applied(
            version.to_string(),
            match (to, file) {
                (Resolve::Applied, _) => String::new(),
                (Resolve::RolledBack, Some(_)) => format!(
                    "; roll it back with `mongrate migrate down --to {}`",
                    previous_version(migrations, version)
                ),
                (Resolve::RolledBack, None) => {
                    "; its effects are still on the server: restore its file and roll it back with `mongrate migrate down`".to_string()
                }
            },
        )),
        (Status::RolledBack, Resolve::RolledBack) => {
            Err(ResolveError::AlreadyRolledBack(version.to_string()))
        }
        (Status::RolledBack, Resolve::Applied) => {
            Err(ResolveError::RolledBack(version.to_string()))
        }
        (Status::Failed | Status::Running, Resolve::Applied) => match file {
            Some(m) => Ok(m.checksum.clone()),
            None => Err(ResolveError::MissingFile(version.to_string())),
        },
        (Status::Failed | Status::Running, Resolve::RolledBack) => Ok(file
            .map(|m| m.checksum.clone())
            .unwrap_or_else(|| entry.checksum.clone())),
    }
}

/// `migrate baseline`: the migrations up to `to` (every one without it) that the changelog
/// has no entry for, or that were rolled back, in order — those a baseline records as applied.
/// One applied, failed or running is left as it is (a failed or interrupted run is finished or
/// rolled back by `up`/`down`, not papered over).
pub fn baseline<'a>(
    migrations: &'a [Migration],
    entries: &[Entry],
    to: Option<&str>,
) -> Vec<&'a Migration> {
    migrations
        .iter()
        .filter(|m| to.is_none_or(|t| m.version.as_str() <= t))
        .filter(|m| {
            entries
                .iter()
                .find(|e| e.version == m.version)
                .is_none_or(|e| e.status == Status::RolledBack)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::{MigrationFile, checksum};
    use bson::DateTime;
    use std::path::PathBuf;

    fn op(n: usize) -> Operation {
        Operation::DropIndex {
            db: "a".into(),
            collection: "b".into(),
            name: format!("i{n}"),
        }
    }

    fn migration(version: &str, up: usize, down: Vec<Operation>) -> Migration {
        Migration {
            version: version.into(),
            name: format!("m{version}"),
            path: PathBuf::from(format!("migrations/{version}_m.yaml")),
            checksum: checksum(version),
            file: MigrationFile {
                databases: None,
                description: String::new(),
                up: (0..up).map(op).collect(),
                down,
            },
        }
    }

    fn entry(m: &Migration, status: Status, direction: Direction, done: u32) -> Entry {
        Entry {
            version: m.version.clone(),
            name: m.name.clone(),
            checksum: m.checksum.clone(),
            status,
            direction,
            steps_done: done,
            steps_total: 3,
            started_at: DateTime::now(),
            finished_at: None,
            duration_ms: None,
            applied_at: None,
            host: "h".into(),
            pid: 1,
            tool_version: "t".into(),
            error: None,
            lock_token: 1,
            database: None,
            project: None,
            resolved: None,
        }
    }

    #[test]
    fn baseline_records_what_is_not_applied_up_to_the_target_and_leaves_failed_runs() {
        let ms = three();
        let versions =
            |v: Vec<&Migration>| -> Vec<String> { v.iter().map(|m| m.version.clone()).collect() };
        assert_eq!(versions(baseline(&ms, &[], None)).len(), 3);
        assert_eq!(
            versions(baseline(&ms, &[], Some("20250102000000"))),
            ["20250101000000", "20250102000000"]
        );
        let entries = vec![
            entry(&ms[0], Status::Applied, Direction::Up, 2),
            entry(&ms[1], Status::Failed, Direction::Up, 1),
            entry(&ms[2], Status::RolledBack, Direction::Down, 1),
        ];
        assert_eq!(versions(baseline(&ms, &entries, None)), ["20250103000000"]);
    }

    fn three() -> Vec<Migration> {
        vec![
            migration("20250101000000", 2, vec![op(9)]),
            migration("20250102000000", 3, vec![op(8), op(7)]),
            migration("20250103000000", 1, vec![op(6)]),
        ]
    }

    #[test]
    fn up_runs_pending_in_order_and_resumes_an_interrupted_one() {
        let ms = three();
        let entries = vec![
            entry(&ms[0], Status::Applied, Direction::Up, 2),
            entry(&ms[1], Status::Running, Direction::Up, 2),
        ];
        let plan = plan_up(&ms, &entries, None).unwrap();
        let got: Vec<(&str, usize, usize)> = plan
            .migrations
            .iter()
            .map(|p| (p.version.as_str(), p.from_step, p.steps_total))
            .collect();
        assert_eq!(
            got,
            vec![("20250102000000", 2, 3), ("20250103000000", 0, 1)]
        );
        let failed = vec![entry(&ms[0], Status::Failed, Direction::Up, 1)];
        assert_eq!(
            plan_up(&ms, &failed, None).unwrap().migrations[0].from_step,
            1
        );
        let plan = plan_up(&ms, &[], Some("20250101000000")).unwrap();
        assert_eq!(plan.migrations.len(), 1);
    }

    #[test]
    fn typed_refusals() {
        let ms = three();
        assert_eq!(
            plan_up(&ms, &[], Some("20990101000000")),
            Err(RunPlanError::UnknownVersion("20990101000000".into()))
        );
        let mut changed = entry(&ms[0], Status::Applied, Direction::Up, 2);
        changed.checksum = "0".repeat(64);
        assert!(matches!(
            plan_up(&ms, &[changed.clone()], None),
            Err(RunPlanError::ChecksumChanged(_))
        ));
        assert!(matches!(
            plan_down(&ms, &[changed], &DownTarget::Steps(1), false),
            Err(RunPlanError::ChecksumChanged(_))
        ));
        let half_down = entry(&ms[1], Status::Failed, Direction::Down, 1);
        assert!(matches!(
            plan_up(&ms, &[half_down], None),
            Err(RunPlanError::Dirty {
                direction: Direction::Down,
                step: 1,
                ..
            })
        ));
        let half_up = entry(&ms[1], Status::Running, Direction::Up, 2);
        assert!(matches!(
            plan_down(&ms, &[half_up], &DownTarget::Steps(1), false),
            Err(RunPlanError::Dirty {
                direction: Direction::Up,
                step: 2,
                ..
            })
        ));
        let gone = Entry {
            version: "20240101000000".into(),
            ..entry(&ms[0], Status::Applied, Direction::Up, 1)
        };
        assert!(matches!(
            plan_down(&ms, &[gone], &DownTarget::Steps(1), false),
            Err(RunPlanError::MissingFile { .. })
        ));
        let mut no_way_back = three();
        no_way_back[2].file.down = vec![Operation::Irreversible {
            reason: "data".into(),
        }];
        let applied = entry(&no_way_back[2], Status::Applied, Direction::Up, 1);
        assert!(matches!(
            plan_down(
                &no_way_back,
                std::slice::from_ref(&applied),
                &DownTarget::Steps(1),
                false
            ),
            Err(RunPlanError::Irreversible(_))
        ));
        assert!(plan_down(&no_way_back, &[applied], &DownTarget::Steps(1), true).is_ok());
    }

    #[test]
    fn down_goes_newest_first_and_resumes_a_half_rolled_back_one() {
        let ms = three();
        let entries = vec![
            entry(&ms[0], Status::Applied, Direction::Up, 2),
            entry(&ms[1], Status::Running, Direction::Down, 1),
            entry(&ms[2], Status::Applied, Direction::Up, 1),
        ];
        let plan = plan_down(
            &ms,
            &entries,
            &DownTarget::To("20250101000000".into()),
            false,
        )
        .unwrap();
        let got: Vec<(&str, usize)> = plan
            .migrations
            .iter()
            .map(|p| (p.version.as_str(), p.from_step))
            .collect();
        assert_eq!(got, vec![("20250103000000", 0), ("20250102000000", 1)]);
        let all = plan_down(&ms, &entries, &DownTarget::To("0".into()), false).unwrap();
        assert_eq!(all.migrations.len(), 3);
    }

    #[test]
    fn status_states() {
        let ms = three();
        let mut changed = entry(&ms[0], Status::Applied, Direction::Up, 2);
        changed.checksum = "x".repeat(64);
        let rows = status_rows(
            &ms,
            &[
                changed,
                entry(&ms[1], Status::Failed, Direction::Up, 1),
                Entry {
                    version: "20260101000000".into(),
                    ..entry(&ms[2], Status::Applied, Direction::Up, 1)
                },
            ],
        );
        let states: Vec<MigrationState> = rows.iter().map(|r| r.status).collect();
        assert_eq!(
            states,
            vec![
                MigrationState::ChecksumMismatch,
                MigrationState::Failed,
                MigrationState::Pending,
                MigrationState::Missing
            ]
        );
        assert_eq!(rows[1].direction, Some(Direction::Up));
    }

    #[test]
    fn resolve_marks_only_a_failed_or_interrupted_run_and_never_lies() {
        let ms = three();
        let failed = entry(&ms[1], Status::Failed, Direction::Up, 1);
        let entries = vec![
            entry(&ms[0], Status::Applied, Direction::Up, 2),
            failed.clone(),
        ];
        // A failed run: either way.
        assert_eq!(
            resolve(&ms, &entries, &ms[1].version, Resolve::RolledBack),
            Ok(ms[1].checksum.clone())
        );
        assert_eq!(
            resolve(&ms, &entries, &ms[1].version, Resolve::Applied),
            Ok(ms[1].checksum.clone())
        );
        // Its file deleted: it can be marked rolled back (then it is no longer missing), not
        // applied.
        let without: Vec<Migration> = vec![ms[0].clone(), ms[2].clone()];
        assert!(resolve(&without, &entries, &ms[1].version, Resolve::RolledBack).is_ok());
        assert_eq!(
            resolve(&without, &entries, &ms[1].version, Resolve::Applied),
            Err(ResolveError::MissingFile(ms[1].version.clone()))
        );
        let mut rolled = failed.clone();
        rolled.status = Status::RolledBack;
        rolled.direction = Direction::Down;
        let rows = status_rows(&without, &[entries[0].clone(), rolled]);
        assert!(
            rows.iter().all(|r| r.status != MigrationState::Missing),
            "{rows:?}"
        );
        // Pending (a file, no entry), applied, unknown: refused.
        assert_eq!(
            resolve(&ms, &entries, &ms[2].version, Resolve::Applied),
            Err(ResolveError::Pending(ms[2].version.clone()))
        );
        assert!(matches!(
            resolve(&ms, &entries, &ms[0].version, Resolve::RolledBack),
            Err(ResolveError::Applied(..))
        ));
        assert_eq!(
            resolve(&ms, &entries, "19990101000000", Resolve::RolledBack),
            Err(ResolveError::UnknownVersion("19990101000000".into()))
        );
    }
}
