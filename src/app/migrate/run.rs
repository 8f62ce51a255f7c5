//! `migrate up` / `migrate down`: each history under its own lock — the shared one first and
//! alone (the databases' migrations may rely on it), then each database of a fleet.

use super::{LockRequest, histories, run_options, scoped};
use crate::app::targets::{self, Labels, Mode, Shared, Sink};
use crate::app::{Refused, Server, Settings, Ui, load};
use crate::db;
use crate::db::migrations::RunOptions;
use crate::fleet::{self, DatabaseReport, Outcome, Report, Unit};
use crate::migrate::Migration;
use crate::migrate::changelog::Direction;
use crate::migrate::plan::Request;
use crate::migrate::plan::RunPlan;
use crate::views::count;
use crate::views::migrate::{PlannedStep, RunMigration, RunReport};
use anyhow::Result;
use std::sync::Mutex;
use std::time::Instant;

/// What `migrate up` / `migrate down` is asked.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub request: Request,
    pub dry_run: bool,
    /// Do not ask (`down`).
    pub yes: bool,
    pub lock: LockRequest,
}

impl RunRequest {
    fn direction(&self) -> Direction {
        match self.request {
            Request::Up { .. } => Direction::Up,
            Request::Down { .. } => Direction::Down,
        }
    }
}

/// One run over its histories.
struct Runner<'a> {
    request: &'a RunRequest,
    opts: RunOptions,
    units: Vec<Unit>,
    mode: Mode,
    client: &'a mongodb::Client,
    /// What ran (or would run), history by history.
    migrations: Mutex<Vec<RunMigration>>,
    /// What a dry run would drop: each drop as said for any database (`<db>`), and as said
    /// for its own.
    drops: Mutex<Vec<(String, String)>>,
    took_over_from: Mutex<Option<String>>,
}

/// `mongrate migrate up` / `migrate down`.
pub fn run(settings: &Settings, request: &RunRequest, ui: &mut dyn Ui) -> Result<RunReport> {
    let started = Instant::now();
    let migrations = load::migrations(&settings.migrations, ui)?;
    targets::selection(settings)?;
    let server = Server::connect(settings)?;
    let (units, fleet) = histories(&server, settings, &migrations)?;
    let direction = request.direction();
    let _committed =
        (!request.dry_run && (request.yes || direction == Direction::Up)).then(|| ui.changing());
    let runner = Runner {
        request,
        opts: run_options(settings, request.lock),
        units,
        mode: Mode::of(fleet, settings),
        client: server.client(),
        migrations: Mutex::new(Vec::new()),
        drops: Mutex::new(Vec::new()),
        took_over_from: Mutex::new(None),
    };
    let asks = direction == Direction::Down && !request.yes;
    let done = if request.dry_run || asks {
        let planned = server.run(runner.each(&runner.labels(), ui, true))?;
        if !request.dry_run && planned.databases.iter().any(|d| d.steps > 0) {
            runner.confirm(settings, ui)?;
        }
        planned
    } else {
        Report::default()
    };
    let done = if request.dry_run || (asks && done.databases.iter().all(|d| d.steps == 0)) {
        done
    } else {
        runner.migrations.lock().expect("not poisoned").clear();
        runner.preflight(&server, settings)?;
        let _changing = ui.changing();
        server.run(runner.all(ui))?
    };
    Ok(RunReport {
        direction,
        dry_run: request.dry_run,
        migrations: runner.migrations.into_inner().expect("not poisoned"),
        took_over_from: runner.took_over_from.into_inner().expect("not poisoned"),
        databases: done.databases,
        stopped: done.stopped,
        fleet: runner.mode.is_fleet(),
        drops: runner
            .drops
            .into_inner()
            .expect("not poisoned")
            .into_iter()
            .map(|(_, d)| d)
            .collect(),
        elapsed: started.elapsed(),
    })
}

impl Runner<'_> {
    /// Refuse before the first step when a step that will run (or the changelog and lock)
    /// needs what the user or server lacks. Every migration's steps are checked first; only
    /// when that finds something are the pending ones read, so a history whose refused step
    /// already ran is not held back by it.
    fn preflight(&self, server: &Server, settings: &Settings) -> Result<()> {
        if settings.skip_preflight {
            return Ok(());
        }
        let facts = crate::app::preflight::facts(server)?;
        let run = crate::preflight::RunNeeds {
            state_db: Some((
                settings.state_db.clone(),
                "the migration changelog and lock",
            )),
            reads: Vec::new(),
        };
        let direction = self.request.direction();
        let steps = |m: &Migration| match direction {
            Direction::Up => m.file.up.clone(),
            Direction::Down => m.file.down.clone(),
        };
        let every: Vec<_> = self
            .units
            .iter()
            .flat_map(|u| u.migrations.iter().flat_map(steps))
            .collect();
        if crate::preflight::check(&every, &run, &facts).is_empty() {
            return Ok(());
        }
        // A user who may not read the changelog cannot narrow it down: every step counts.
        let pending = server
            .run(async {
                let mut ops = Vec::new();
                for unit in &self.units {
                    let plan = db::migrations::dry_run(
                        self.client,
                        &self.opts.state_db,
                        &scoped(&self.opts, unit).history(),
                        &unit.migrations,
                        &self.request.request,
                    )
                    .await?;
                    ops.extend(plan.operations(&unit.migrations).into_iter().cloned());
                }
                Ok(ops)
            })
            .unwrap_or(every);
        let found = crate::preflight::check(&pending, &run, &facts);
        crate::app::preflight::refuse(&found, settings, self.command())
    }

    fn labels(&self) -> Vec<String> {
        self.units.iter().map(|u| u.label().to_string()).collect()
    }

    fn command(&self) -> &'static str {
        match self.request.direction() {
            Direction::Up => "migrate up",
            Direction::Down => "migrate down",
        }
    }

    /// The shared history first and alone, then the databases' (not started when the shared
    /// one failed).
    async fn all(&self, ui: &mut dyn Ui) -> Result<Report> {
        let (shared, rest): (Vec<String>, Vec<String>) =
            self.labels().into_iter().partition(|l| l == fleet::SHARED);
        let mut report = Report::default();
        if !shared.is_empty() {
            report = self.each(&shared, ui, false).await?;
            if report.exit_code() == crate::views::exit::ERROR {
                report.stopped =
                    Some("the shared history failed: no database's migrations were started".into());
                report.databases.extend(rest.iter().map(|d| DatabaseReport {
                    database: d.clone(),
                    outcome: Outcome::Skipped,
                    steps: 0,
                    error: None,
                    elapsed_ms: 0,
                }));
                return Ok(report);
            }
        }
        let more = self.each(&rest, ui, false).await?;
        report.databases.extend(more.databases);
        report.stopped = more.stopped;
        Ok(report)
    }

    /// Run (or, `dry`, plan) the histories `labels`.
    async fn each(&self, labels: &[String], ui: &mut dyn Ui, dry: bool) -> Result<Report> {
        let shared = Shared::new(ui.progress());
        let names = Labels {
            label: self.command(),
            noun: "migration",
        };
        targets::each(labels, self.mode, names, &shared, |label| {
            let sink = self.mode.sink(&shared);
            async move {
                let unit = self
                    .units
                    .iter()
                    .find(|u| u.label() == label)
                    .ok_or_else(|| anyhow::anyhow!("no history named {label}"))?;
                if dry {
                    self.plan_one(unit).await
                } else {
                    self.run_one(unit, sink).await
                }
            }
        })
        .await
    }

    /// What one history's run would do, with the documents each drop destroys.
    async fn plan_one(&self, unit: &Unit) -> Result<(Outcome, usize)> {
        let history = scoped(&self.opts, unit).history();
        let plan = db::migrations::dry_run(
            self.client,
            &self.opts.state_db,
            &history,
            &unit.migrations,
            &self.request.request,
        )
        .await?;
        let ops = plan.operations(&unit.migrations);
        let sizes = db::drop_sizes(self.client, &ops).await;
        let planned = planned(&plan, unit, &sizes);
        let drops: Vec<(String, String)> = ops
            .iter()
            .zip(&sizes)
            .filter(|(o, _)| o.destroys())
            .map(|(o, n)| {
                let mut any = (*o).clone();
                any.set_db("<db>");
                (any.summary(), crate::render::drop_words(o, *n))
            })
            .collect();
        self.drops.lock().expect("not poisoned").extend(drops);
        let n = planned.len();
        self.migrations
            .lock()
            .expect("not poisoned")
            .extend(planned);
        Ok(if n == 0 {
            (Outcome::InSync, 0)
        } else {
            (Outcome::Drift, n)
        })
    }

    /// Run one history under its lock.
    async fn run_one(&self, unit: &Unit, mut sink: Sink<'_>) -> Result<(Outcome, usize)> {
        let outcome = db::migrations::run(
            self.client,
            &scoped(&self.opts, unit),
            &unit.migrations,
            &self.request.request,
            &mut sink,
        )
        .await?;
        let direction = self.request.direction();
        let ran: Vec<RunMigration> = outcome
            .ran
            .iter()
            .map(|r| RunMigration {
                database: unit.label().to_string(),
                version: r.version.clone(),
                name: r.name.clone(),
                from_step: r.from_step,
                steps_total: r.steps_total,
                steps_run: r.steps_run,
                steps_already_there: r.steps_already_there,
                destructive_steps: destructive_steps(
                    &unit.migrations,
                    &r.version,
                    direction,
                    r.from_step,
                ),
                planned: Vec::new(),
            })
            .collect();
        let n = ran.len();
        self.migrations.lock().expect("not poisoned").extend(ran);
        if let Some(o) = outcome.took_over_from {
            self.took_over_from
                .lock()
                .expect("not poisoned")
                .get_or_insert(o);
        }
        Ok(if n == 0 {
            (Outcome::InSync, 0)
        } else {
            (Outcome::Changed, n)
        })
    }

    /// Ask before rolling back, naming what would be rolled back and what it drops.
    fn confirm(&self, settings: &Settings, ui: &mut dyn Ui) -> Result<()> {
        let planned = self.migrations.lock().expect("not poisoned").clone();
        let drops = self.drops.lock().expect("not poisoned").clone();
        let steps: usize = planned.iter().map(|m| m.steps_total - m.from_step).sum();
        let target = settings.shown_uri();
        let drop_words: Vec<String> = drops.iter().map(|(_, d)| d.clone()).collect();
        let (question, refusal) = if self.mode.is_fleet() {
            let histories = count(self.units.len(), "history");
            (
                format!(
                    "Roll back {} ({}) in {histories} on {target}?{}",
                    count(planned.len(), "migration"),
                    count(steps, "step"),
                    crate::render::drops_sentence(&drop_words)
                ),
                format!(
                    "refusing to roll back {histories} without --yes (see what would run with --dry-run){}",
                    if drops.is_empty() {
                        String::new()
                    } else {
                        format!("; the rollback drops: {}", fleet_drops(&drops))
                    }
                ),
            )
        } else {
            let names: Vec<String> = planned
                .iter()
                .map(|p| format!("{}_{}", p.version, p.name))
                .collect();
            (
                format!(
                    "Roll back {} ({}) on {target}: {}?{}",
                    count(names.len(), "migration"),
                    count(steps, "step"),
                    names.join(", "),
                    crate::render::drops_sentence(&drop_words)
                ),
                format!(
                    "refusing to roll back without confirmation: stdin is not a terminal; pass --yes (see what would run with --dry-run){}",
                    if drops.is_empty() {
                        String::new()
                    } else {
                        format!("; the rollback drops {}", drop_words.join(", "))
                    }
                ),
            )
        };
        if !ui.confirm(&question, &refusal)? {
            return Err(Refused("not rolled back: not confirmed".into()).into());
        }
        Ok(())
    }
}

/// The drops of many histories, each once with how many histories it is in.
fn fleet_drops(drops: &[(String, String)]) -> String {
    let mut by_drop: std::collections::BTreeMap<&str, usize> = Default::default();
    for (any, _) in drops {
        *by_drop.entry(any.as_str()).or_default() += 1;
    }
    by_drop
        .into_iter()
        .map(|(drop, n)| format!("{drop} in {}", count(n, "history")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The migrations a dry run plans, with their steps (`sizes`: the documents of each drop, in
/// the order of `plan.operations`).
fn planned(plan: &RunPlan, unit: &Unit, sizes: &[Option<u64>]) -> Vec<RunMigration> {
    let mut sizes = sizes.iter();
    plan.migrations
        .iter()
        .map(|p| {
            let m = &unit.migrations[p.index];
            let steps = match plan.direction {
                Direction::Up => &m.file.up,
                Direction::Down => &m.file.down,
            };
            let planned = steps
                .iter()
                .enumerate()
                .skip(p.from_step)
                .map(|(i, op)| {
                    let size = sizes.next().copied().flatten();
                    PlannedStep {
                        number: i + 1,
                        summary: op.summary(),
                        drop: drop_note(op, size),
                    }
                })
                .collect();
            RunMigration {
                database: unit.label().to_string(),
                version: p.version.clone(),
                name: p.name.clone(),
                from_step: p.from_step,
                steps_total: p.steps_total,
                steps_run: 0,
                steps_already_there: 0,
                destructive_steps: destructive_steps(
                    &unit.migrations,
                    &p.version,
                    plan.direction,
                    p.from_step,
                ),
                planned,
            }
        })
        .collect()
}

/// What a dropping step destroys, when its collection's size is known.
fn drop_note(op: &crate::ops::Operation, size: Option<u64>) -> Option<String> {
    match (op, size) {
        (crate::ops::Operation::DropCollection { .. }, Some(n)) => {
            Some(format!("destroys {}", crate::render::documents(n)))
        }
        (crate::ops::Operation::DropIndex { .. }, Some(n)) => {
            Some(format!("an index over {}", crate::render::documents(n)))
        }
        (
            crate::ops::Operation::UpdateMany { .. }
            | crate::ops::Operation::RenameField { .. }
            | crate::ops::Operation::EvolveField { .. },
            Some(n),
        ) => Some(format!(
            "would touch {} now",
            crate::progress::count(n, "document")
        )),
        (crate::ops::Operation::ContractField { .. }, Some(n)) => Some(format!(
            "{} in the old shape now{}",
            crate::progress::count(n, "document"),
            if n > 0 { ": it would refuse" } else { "" }
        )),
        _ => None,
    }
}

/// The drops among `version`'s steps from `from` on, in `direction`.
fn destructive_steps(
    migrations: &[Migration],
    version: &str,
    direction: Direction,
    from: usize,
) -> usize {
    migrations
        .iter()
        .find(|m| m.version == version)
        .map(|m| match direction {
            Direction::Up => &m.file.up,
            Direction::Down => &m.file.down,
        })
        .map(|ops| ops.iter().skip(from).filter(|o| o.destroys()).count())
        .unwrap_or(0)
}
