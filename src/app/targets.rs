//! The databases a run covers, and the one loop that works on them. A run over one database —
//! or the plain databases of a project — is a fleet of one: the same loop, run together (one
//! after another, progress per step, the first failure is the run's error); a fleet (a
//! template, or `--databases`) runs under its policy (`--parallel`, `--canary`, `--on-error`,
//! `--max-failures`), each failure contained and reported per database. The decisions —
//! which database starts next, what a run's outcome is — are `crate::fleet`'s.

use super::{Settings, Ui, UsageError};
use crate::fleet::{self, DatabaseReport, Outcome, Policy, Report, Schedule, Selection};
use crate::progress::{Reporter, Unit};
use crate::spec::SchemaSpec;
use anyhow::Result;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::cell::RefCell;
use std::future::Future;
use std::time::{Duration, Instant};

/// `--databases`, parsed.
pub fn selection(settings: &Settings) -> Result<Option<Selection>> {
    settings
        .databases
        .as_deref()
        .map(|s| Selection::parse(s).map_err(|e| UsageError(e).into()))
        .transpose()
}

/// `--parallel`, `--canary`, `--on-error`, `--max-failures`.
pub fn policy(settings: &Settings) -> Policy {
    Policy {
        parallel: usize::from(settings.parallel),
        canary: usize::from(settings.canary),
        on_error: settings.on_error,
        max_failures: settings.max_failures.map(|m| m as usize),
    }
}

/// The schemas with templates expanded against the server's databases, narrowed by
/// `--databases`, when this is a fleet run (a template, or `--databases`); `None` when it is
/// not (the schemas as written are the run's, not copied). A template that covers no database
/// is a warning.
pub async fn expand(
    client: &mongodb::Client,
    settings: &Settings,
    spec: &SchemaSpec,
    ui: &mut dyn Ui,
) -> Result<Option<SchemaSpec>> {
    let selection = selection(settings)?;
    let templated = spec.databases.keys().any(|d| fleet::is_template(d));
    if !templated && selection.is_none() {
        return Ok(None);
    }
    let on_server = if templated {
        crate::db::inspect::server_databases(client, &settings.state_db).await?
    } else {
        Vec::new()
    };
    let expanded = fleet::expand(spec, &on_server, selection.as_ref(), &settings.state_db)
        .map_err(UsageError)?;
    // A template that covers nothing checks nothing: say so, rather than pass in silence.
    for t in spec.databases.keys().filter(|d| fleet::is_template(d)) {
        let covered = expanded
            .databases
            .keys()
            .any(|n| fleet::matches(t, n) && !spec.databases.contains_key(n));
        if !covered {
            ui.warn(&format!(
                "warning: the template `{t}` covers no database on the server (none matches it{}): nothing of it was read",
                if selection.is_some() {
                    " among --databases"
                } else {
                    ""
                }
            ));
        }
    }
    Ok(Some(expanded))
}

/// How the loop runs over its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One after another, progress per step, stop at the first failure and make it the run's
    /// error: one database, the plain databases of a project, and the commands without fleet
    /// options.
    Together,
    /// Under a policy, each failure contained and reported in its database's line, progress
    /// a line per database.
    Fleet(Policy),
}

impl Mode {
    /// A fleet run under the settings' policy when `fleet`, else together.
    pub fn of(fleet: bool, settings: &Settings) -> Self {
        if fleet {
            Mode::Fleet(policy(settings))
        } else {
            Mode::Together
        }
    }

    pub fn is_fleet(&self) -> bool {
        matches!(self, Mode::Fleet(_))
    }

    /// Where one target's work reports its progress: the run's reporter when targets run
    /// together, nowhere in a fleet (the loop reports a line per database).
    pub fn sink<'a>(&self, shared: &'a Shared<'a>) -> Sink<'a> {
        match self {
            Mode::Together => Sink::To(shared),
            Mode::Fleet(_) => Sink::Nowhere,
        }
    }
}

/// A run's reporter, shared by the loop and the work it runs (borrowed for each event).
pub struct Shared<'a>(RefCell<&'a mut dyn Reporter>);

impl<'a> Shared<'a> {
    pub fn new(reporter: &'a mut dyn Reporter) -> Self {
        Self(RefCell::new(reporter))
    }

    fn with(&self, f: impl FnOnce(&mut dyn Reporter)) {
        if let Ok(mut r) = self.0.try_borrow_mut() {
            f(&mut **r);
        }
    }
}

/// Where one target's work reports progress (see [`Mode::sink`]).
#[derive(Clone, Copy)]
pub enum Sink<'a> {
    To(&'a Shared<'a>),
    Nowhere,
}

impl Reporter for Sink<'_> {
    fn note(&mut self, message: &str) {
        if let Sink::To(s) = self {
            s.with(|r| r.note(message));
        }
    }
    fn begin(&mut self, label: &str, unit: Unit, total: u64, done: u64) {
        if let Sink::To(s) = self {
            s.with(|r| r.begin(label, unit, total, done));
        }
    }
    fn working_on(&mut self, what: &str) {
        if let Sink::To(s) = self {
            s.with(|r| r.working_on(what));
        }
    }
    fn advance(&mut self, done: u64) {
        if let Sink::To(s) = self {
            s.with(|r| r.advance(done));
        }
    }
    fn step_progress(&mut self, what: &str, percent: u64, detail: &str) {
        if let Sink::To(s) = self {
            s.with(|r| r.step_progress(what, percent, detail));
        }
    }
    fn step_done(&mut self, what: &str, elapsed: Duration) {
        if let Sink::To(s) = self {
            s.with(|r| r.step_done(what, elapsed));
        }
    }
    fn end(&mut self, summary: &str, elapsed: Duration) {
        if let Sink::To(s) = self {
            s.with(|r| r.end(summary, elapsed));
        }
    }
}

/// What the loop says about its work: its label (`apply`) and what a target's count counts
/// (`step`, `migration`).
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    pub label: &'a str,
    pub noun: &'a str,
}

/// Run `work` once per target, as `mode` says; one line per target in the report (targets
/// never started are `skipped`). `work` returns the outcome and the number of steps. Run
/// together, the first failure is returned as the run's error.
pub async fn each<F, Fut>(
    targets: &[String],
    mode: Mode,
    labels: Labels<'_>,
    progress: &Shared<'_>,
    work: F,
) -> Result<Report>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(Outcome, usize)>>,
{
    match mode {
        Mode::Together => together(targets, work).await,
        Mode::Fleet(policy) => Ok(scheduled(targets, policy, labels, progress, work).await),
    }
}

async fn together<F, Fut>(targets: &[String], work: F) -> Result<Report>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(Outcome, usize)>>,
{
    let mut report = Report::default();
    for name in targets {
        let t = Instant::now();
        let (outcome, steps) = work(name.clone()).await?;
        report.databases.push(DatabaseReport {
            database: name.clone(),
            outcome,
            steps,
            error: None,
            elapsed_ms: t.elapsed().as_millis() as u64,
        });
    }
    Ok(report)
}

async fn scheduled<F, Fut>(
    targets: &[String],
    policy: Policy,
    labels: Labels<'_>,
    progress: &Shared<'_>,
    work: F,
) -> Report
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(Outcome, usize)>>,
{
    let started = Instant::now();
    progress.with(|p| p.begin(labels.label, Unit::Databases, targets.len() as u64, 0));
    let mut schedule = Schedule::new(targets.len(), policy);
    let mut lines: Vec<Option<DatabaseReport>> = vec![None; targets.len()];
    let mut running = FuturesUnordered::new();
    loop {
        while let Some(i) = schedule.start() {
            let fut = work(targets[i].clone());
            running.push(async move {
                let t = Instant::now();
                let r = fut.await;
                (i, r, t.elapsed())
            });
        }
        let Some((i, result, elapsed)) = running.next().await else {
            break;
        };
        let line = fleet::report_line(&targets[i], result, elapsed);
        schedule.finish(i, line.outcome != Outcome::Failed);
        progress.with(|p| p.step_done(&fleet::outcome_line(&line, labels.noun), elapsed));
        lines[i] = Some(line);
        if schedule.done() {
            break;
        }
    }
    for i in schedule.not_started() {
        lines[i] = Some(DatabaseReport {
            database: targets[i].clone(),
            outcome: Outcome::Skipped,
            steps: 0,
            error: None,
            elapsed_ms: 0,
        });
    }
    progress.with(|p| p.end("", started.elapsed()));
    Report {
        databases: lines.into_iter().flatten().collect(),
        stopped: schedule.stopped.clone(),
    }
}
