//! `migrate ...`: files written, runs, status, baselines, verification, resolutions, the lock.

use super::{Text, TextOptions, View, count, exit};
use crate::fleet::{DatabaseReport, Report};
use crate::migrate::changelog::{Direction, Status};
use crate::migrate::plan::{MigrationState, StatusRow};
use serde::Serialize;
use std::time::Duration;

/// A migration file `generate` or `new` wrote.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct WrittenFile {
    /// The file written, or null when there was nothing to generate.
    pub path: Option<String>,
    pub up_steps: usize,
    pub down_steps: usize,
    /// `up` steps that drop a collection or an index.
    pub destructive_steps: usize,
    /// `down` steps that drop a collection or an index.
    pub destructive_down_steps: usize,
    /// The first migration of its databases: its `down` never drops what it adopts.
    pub baseline: bool,
    /// Steps that cannot be replayed, notices.
    pub warnings: Vec<String>,
}

/// `mongrate migrate generate NAME`.
#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
pub struct GenerateReport {
    /// The files written, summed (`path`: the first).
    #[serde(flatten)]
    pub total: WrittenFile,
    /// Each file written: one for the plain databases and one per template, when the changes
    /// concern both.
    pub files: Vec<WrittenFile>,
    /// The schemas folder, as the text names it.
    #[serde(skip)]
    #[schemars(skip)]
    pub schemas: String,
}

impl View for GenerateReport {
    fn command(&self) -> &'static str {
        "migrate generate"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        for w in &self.total.warnings {
            t.errln(format!("warning: {w}"));
        }
        for f in &self.files {
            t.outln(f.path.as_deref().unwrap_or_default());
            let drops = |n: usize| match n {
                0 => " (no drops)".to_string(),
                n => format!(" ({})", count(n, "drop")),
            };
            t.errln(format!(
                "Wrote {}{} and {}{}.",
                count(f.up_steps, "up step"),
                drops(f.destructive_steps),
                count(f.down_steps, "down step"),
                drops(f.destructive_down_steps),
            ));
            if f.baseline {
                t.errln("This is a baseline: on a server that already holds these collections every step is already true, and its `down` never drops them.");
            }
        }
        if self.files.is_empty() {
            t.errln(format!(
                "Nothing to generate: the migrations already produce the schemas in `{}`.",
                self.schemas
            ));
        }
        t
    }

    fn exit_code(&self) -> i32 {
        exit::OK
    }
}

/// `mongrate migrate new NAME`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NewReport {
    #[serde(flatten)]
    pub file: WrittenFile,
}

impl View for NewReport {
    fn command(&self) -> &'static str {
        "migrate new"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        t.outln(self.file.path.as_deref().unwrap_or_default());
        t
    }

    fn exit_code(&self) -> i32 {
        exit::OK
    }
}

/// One migration of a run (or of a dry run: what would run).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RunMigration {
    /// Its history: `(shared)` (the migrations without `databases:`), or a database.
    pub database: String,
    pub version: String,
    pub name: String,
    /// The first step run (0-based): > 0 when an interrupted run was resumed.
    pub from_step: usize,
    pub steps_total: usize,
    /// Steps executed by this run (0 in a dry run).
    pub steps_run: usize,
    /// Steps of this run (from `from_step`) that drop a collection or an index.
    pub destructive_steps: usize,
    /// Steps run whose goal already held on the server: nothing changed for them (0 in a dry
    /// run).
    pub steps_already_there: usize,
    /// A dry run's steps, for the text.
    #[serde(skip)]
    #[schemars(skip)]
    pub planned: Vec<PlannedStep>,
}

/// One step a dry run would take.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    /// 1-based, in its migration.
    pub number: usize,
    pub summary: String,
    /// What a drop destroys (`destroys 1,204 documents`), or how many documents a data step
    /// would touch (`would touch 310 documents now`).
    pub drop: Option<String>,
}

/// `mongrate migrate up` / `migrate down`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RunReport {
    pub direction: Direction,
    pub dry_run: bool,
    /// Every migration run (or, in a dry run, that would run), history by history.
    pub migrations: Vec<RunMigration>,
    /// The dead run whose lock was taken over, if one was.
    pub took_over_from: Option<String>,
    /// Per history (`(shared)`, then each database of a fleet): its outcome and the number of
    /// migrations run (or pending, in a dry run).
    pub databases: Vec<DatabaseReport>,
    /// Why a fleet run stopped starting databases, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    #[serde(skip)]
    #[schemars(skip)]
    pub fleet: bool,
    /// What the run would drop (a dry run), as the text names it.
    #[serde(skip)]
    #[schemars(skip)]
    pub drops: Vec<String>,
    #[serde(skip)]
    #[schemars(skip)]
    pub elapsed: Duration,
}

impl RunReport {
    fn report(&self) -> Report {
        Report {
            databases: self.databases.clone(),
            stopped: self.stopped.clone(),
        }
    }

    /// A dry run of one history: what would run, step by step.
    fn planned_text(&self, t: &mut Text) {
        let (command, verb) = match self.direction {
            Direction::Up => ("migrate up", "apply"),
            Direction::Down => ("migrate down", "roll back"),
        };
        let steps: usize = self
            .migrations
            .iter()
            .map(|m| m.steps_total - m.from_step)
            .sum();
        t.outln(format!(
            "Dry run: `{command}` would {verb} {}, {}{}; nothing was changed.",
            count(self.migrations.len(), "migration"),
            count(steps, "step"),
            if self.drops.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} that drop: {})",
                    count(self.drops.len(), "step"),
                    self.drops.join(", ")
                )
            }
        ));
        for m in &self.migrations {
            let resume = if m.from_step > 0 {
                format!(
                    " (resuming at step {} of {})",
                    m.from_step + 1,
                    m.steps_total
                )
            } else {
                String::new()
            };
            t.outln(format!("{}_{}{resume}", m.version, m.name));
            for s in &m.planned {
                let drop = s
                    .drop
                    .as_ref()
                    .map(|d| format!("  ({d})"))
                    .unwrap_or_default();
                t.outln(format!("  {:>3}. {}{drop}", s.number, s.summary));
            }
        }
    }

    /// A run of one history: what it did.
    fn ran_text(&self, t: &mut Text) {
        if self.migrations.is_empty() {
            t.outln(match self.direction {
                Direction::Up => "Nothing to do: every migration is applied.",
                Direction::Down => "Nothing to roll back.",
            });
            return;
        }
        t.outln(format!(
            "{} {}.",
            match self.direction {
                Direction::Up => "Applied",
                Direction::Down => "Rolled back",
            },
            count(self.migrations.len(), "migration")
        ));
        let run: usize = self.migrations.iter().map(|r| r.steps_run).sum();
        let there: usize = self.migrations.iter().map(|r| r.steps_already_there).sum();
        if there > 0 {
            t.outln(format!(
                "{there} of the {} run already held on the server (already there, or already gone): nothing changed for them.",
                count(run, "step")
            ));
        }
    }
}

impl View for RunReport {
    fn command(&self) -> &'static str {
        match self.direction {
            Direction::Up => "migrate up",
            Direction::Down => "migrate down",
        }
    }

    fn text(&self, options: &TextOptions) -> Text {
        let mut t = Text::default();
        match (self.fleet, self.dry_run) {
            (false, true) => self.planned_text(&mut t),
            (false, false) => self.ran_text(&mut t),
            (true, dry_run) => {
                fleet_text(&mut t, &self.report(), self.elapsed, "migration", options);
                if dry_run {
                    t.errln("Dry run: nothing was changed.");
                }
            }
        }
        t
    }

    fn exit_code(&self) -> i32 {
        let report = self.report();
        // A dry run reports; only a history that cannot be read is an error.
        if self.dry_run && report.counts().failed == 0 {
            exit::OK
        } else {
            report.exit_code()
        }
    }
}

/// A fleet report's text on stdout, unless quiet (then only a failure, on stderr).
fn fleet_text(t: &mut Text, report: &Report, elapsed: Duration, noun: &str, o: &TextOptions) {
    let text = report.text(elapsed, noun);
    if !o.quiet {
        t.out(text);
    } else if report.exit_code() == exit::ERROR {
        t.err(text);
    }
}

/// One row of `migrate status`, with its history.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StatusLine {
    /// Its history: `(shared)`, or a database of a fleet.
    pub database: String,
    #[serde(flatten)]
    pub row: StatusRow,
}

/// `mongrate migrate status`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct StatusReport {
    /// Every migration of every history (a rolled-back migration whose file is gone is not
    /// listed).
    pub migrations: Vec<StatusLine>,
    /// Migrations not applied as their file says (pending, running, failed, changed,
    /// missing), over every history.
    pub pending: usize,
    /// Per history: `in_sync`, or `drift` with its pending migrations.
    pub databases: Vec<DatabaseReport>,
    /// Changelog entries written before projects (no project) that match none of this
    /// project's files: another project's, left alone (0 without a project).
    pub unclaimed: usize,
    /// The migrate phases of declared evolutions, as the state database records them.
    pub evolutions: Vec<crate::evolve::Record>,
    #[serde(skip)]
    #[schemars(skip)]
    pub fleet: bool,
    #[serde(skip)]
    #[schemars(skip)]
    pub project: String,
    /// `--exit-code`: exit 2 when some migration is pending.
    #[serde(skip)]
    #[schemars(skip)]
    pub exit_code_on_pending: bool,
}

impl View for StatusReport {
    fn command(&self) -> &'static str {
        "migrate status"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        t.out(if self.fleet {
            self.histories_text()
        } else {
            self.rows_text()
        });
        if !self.evolutions.is_empty() {
            let mut lines = String::from("\nEvolving fields:\n");
            for r in &self.evolutions {
                lines.push_str(&format!("  {}\n", r.line()));
            }
            t.out(lines);
        }
        t
    }

    fn exit_code(&self) -> i32 {
        if self.exit_code_on_pending && self.pending > 0 {
            exit::DIFFERENCES
        } else {
            exit::OK
        }
    }
}

impl StatusReport {
    /// One history: a row per migration.
    fn rows_text(&self) -> String {
        let mut text = format!(
            "{:<16} {:<44} {:<18} {:<24} STEPS\n",
            "VERSION", "NAME", "STATUS", "APPLIED AT"
        );
        for StatusLine { row: r, .. } in &self.migrations {
            let status = match (r.status, r.direction) {
                (MigrationState::Running | MigrationState::Failed, Some(d)) => {
                    format!("{} ({})", state_word(r.status), direction_word(d))
                }
                _ => state_word(r.status).to_string(),
            };
            text.push_str(&format!(
                "{:<16} {:<44} {:<18} {:<24} {}/{}\n",
                r.version,
                r.name,
                status,
                r.applied_at.as_deref().unwrap_or("-"),
                r.steps_done,
                r.steps_total
            ));
            if let Some(e) = &r.error {
                text.push_str(&format!("{:<16} error: {e}\n", ""));
            }
        }
        text.push_str(&format!(
            "{}, {} not applied as their files say.\n",
            count(self.migrations.len(), "migration"),
            self.pending
        ));
        if self.unclaimed > 0 {
            text.push_str(&format!(
                "{} of no project (written before projects) match no file of project `{}`: another project's; left alone.\n",
                count(self.unclaimed, "changelog entry"),
                self.project
            ));
        }
        text
    }

    /// A fleet: a row per history.
    fn histories_text(&self) -> String {
        let mut text = format!(
            "{:<40} {:>9} {:>9} LAST APPLIED\n",
            "DATABASE", "APPLIED", "PENDING"
        );
        for h in &self.databases {
            let rows: Vec<&StatusRow> = self
                .migrations
                .iter()
                .filter(|l| l.database == h.database)
                .map(|l| &l.row)
                .collect();
            let last = rows
                .iter()
                .rev()
                .find(|r| !r.status.is_pending_work())
                .map(|r| r.version.as_str())
                .unwrap_or("-");
            text.push_str(&format!(
                "{:<40} {:>9} {:>9} {last}\n",
                h.database,
                rows.len() - h.steps,
                h.steps
            ));
            for r in rows.iter().filter(|r| r.error.is_some()) {
                text.push_str(&format!(
                    "{:<40} {} error: {}\n",
                    "",
                    r.version,
                    r.error.as_deref().unwrap_or_default()
                ));
            }
        }
        text.push_str(&format!(
            "{}, {} not applied as their files say.\n",
            count(self.databases.len(), "history"),
            count(self.pending, "migration")
        ));
        text
    }
}

fn state_word(s: MigrationState) -> &'static str {
    match s {
        MigrationState::Pending => "pending",
        MigrationState::Applied => "applied",
        MigrationState::Running => "running",
        MigrationState::Failed => "failed",
        MigrationState::ChecksumMismatch => "checksum mismatch",
        MigrationState::Missing => "missing",
    }
}

fn direction_word(d: Direction) -> &'static str {
    match d {
        Direction::Up => "up",
        Direction::Down => "down",
    }
}

/// One history's baseline.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BaselineHistory {
    #[serde(flatten)]
    pub report: DatabaseReport,
    /// The versions recorded as applied without running them.
    pub recorded: Vec<String>,
}

/// `mongrate migrate baseline`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BaselineReport {
    /// Per history: `(shared)`, or each database of a fleet.
    pub databases: Vec<BaselineHistory>,
}

impl View for BaselineReport {
    fn command(&self) -> &'static str {
        "migrate baseline"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        for h in &self.databases {
            t.outln(format!(
                "{}: recorded {} as applied without running them{}",
                h.report.database,
                count(h.recorded.len(), "migration"),
                h.recorded
                    .last()
                    .map(|v| format!(" (up to {v})"))
                    .unwrap_or_default()
            ));
        }
        t
    }

    fn exit_code(&self) -> i32 {
        exit::OK
    }
}

/// What `migrate verify` found wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The migrations do not produce the schemas.
    SchemaDrift,
    /// A step cannot be replayed on the model.
    NotReplayable,
    /// An applied file changed since.
    ChecksumChanged,
    /// An applied file is gone.
    MissingFile,
}

/// One problem `migrate verify` found.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
}

/// `mongrate migrate verify`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct VerifyReport {
    pub ok: bool,
    /// The changelog was not read (`--offline`).
    pub offline: bool,
    /// Migration files.
    pub migrations: usize,
    pub problems: Vec<Problem>,
    #[serde(skip)]
    #[schemars(skip)]
    pub migrations_dir: String,
    #[serde(skip)]
    #[schemars(skip)]
    pub schemas: String,
}

impl View for VerifyReport {
    fn command(&self) -> &'static str {
        "migrate verify"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        if self.ok {
            t.outln(format!(
                "ok: {} in `{}` produce the schemas in `{}`",
                count(self.migrations, "migration"),
                self.migrations_dir,
                self.schemas
            ));
        }
        for p in &self.problems {
            t.errln(&p.message);
        }
        t
    }

    fn exit_code(&self) -> i32 {
        if self.ok { exit::OK } else { exit::DIFFERENCES }
    }
}

/// A resolution as the changelog records it, with its time as RFC 3339.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ResolutionView {
    /// `applied` or `rolled_back`.
    pub marked: Status,
    pub at: String,
    /// `user@host`.
    pub by: String,
    pub pid: u32,
    pub tool_version: String,
    /// `failed` or `running`: what the entry was.
    pub was: Status,
    pub was_direction: Direction,
    pub was_steps_done: u32,
    pub was_error: Option<String>,
    pub note: Option<String>,
}

/// `mongrate migrate resolve VERSION`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ResolveReport {
    pub version: String,
    /// The history: `(shared)`, or the database named with `--databases`.
    pub database: String,
    pub resolution: ResolutionView,
}

impl View for ResolveReport {
    fn command(&self) -> &'static str {
        "migrate resolve"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let r = &self.resolution;
        let mut t = Text::default();
        t.outln(format!(
            "{} marked {} (it was {} during `{}` after {}), by {} — recorded in the changelog.",
            self.version,
            match r.marked {
                Status::Applied => "applied: `migrate up` skips it",
                _ => "rolled back: `migrate up` runs it again from its first step",
            },
            match r.was {
                Status::Failed => "failed",
                _ => "interrupted",
            },
            direction_word(r.was_direction),
            crate::progress::count(u64::from(r.was_steps_done), "step"),
            r.by
        ));
        t
    }

    fn exit_code(&self) -> i32 {
        exit::OK
    }
}

/// `mongrate migrate unlock`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UnlockReport {
    /// A lock was held.
    pub held: bool,
    /// It was broken.
    pub broken: bool,
    /// Who held it, or null.
    pub owner: Option<String>,
}

impl View for UnlockReport {
    fn command(&self) -> &'static str {
        "migrate unlock"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        match (self.held, self.broken) {
            (false, _) => t.outln("No lock is held."),
            (true, true) => t.outln("Lock broken. A run that still held it is fenced off; the next `migrate up` resumes the interrupted migration."),
            (true, false) => t.errln("Left as it is."),
        }
        t
    }

    fn exit_code(&self) -> i32 {
        if self.held && !self.broken {
            exit::ERROR
        } else {
            exit::OK
        }
    }
}
