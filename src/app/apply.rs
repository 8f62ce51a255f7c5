//! `apply`: plan, confirm, run each database's part with progress.

use super::engine::{self, EngineRequest};
use super::targets::{self, Labels, Mode, Shared};
use super::{Refused, Settings, Ui};
use crate::db::apply::{ApplyError, apply_plan};
use crate::fleet::{DatabaseReport, OnError, Outcome};
use crate::plan::{Plan, RolloutStep, Staged};
use crate::views::apply::{self as view, ApplyReport, ApplyResult};
use crate::views::{TextOptions, count};
use anyhow::Result;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What `apply` is asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyRequest {
    pub engine: EngineRequest,
    /// Do not ask.
    pub yes: bool,
    pub dry_run: bool,
    /// Validators that existing documents fail go in at `warn`, then backfill, recount,
    /// tighten.
    pub rollout: bool,
    /// Put validators in over documents that fail them.
    pub allow_violations: bool,
    /// With `rollout`: watch live writes this long before a validator switches from `warn`,
    /// and tolerate this many invalid ones.
    pub watch: Option<(std::time::Duration, crate::canary::Threshold)>,
}

/// `mongrate apply`.
pub fn apply(settings: &Settings, request: ApplyRequest, ui: &mut dyn Ui) -> Result<ApplyReport> {
    let started = std::time::Instant::now();
    let computed = engine::compute(settings, request.engine, true, ui)?;
    let mode = Mode::of(computed.fleet, settings);
    let names = computed.databases();
    let mut plan = computed.plan.clone();
    // With --yes the user has decided: a closed stdout (`| head`) must not stop the change.
    let _committed = (request.yes && !request.dry_run).then(|| ui.changing());
    let staged = if request.rollout {
        plan.stage_rollout()
    } else {
        Vec::new()
    };
    let parts = plan.by_database();
    let pending = |outcome: Outcome| pending(&names, &parts, outcome);
    let changing = parts
        .values()
        .filter(|p| p.runnable().next().is_some())
        .count();
    ui.show(&|o: &TextOptions| view::preview(&plan, mode.is_fleet(), changing, names.len(), o));
    let report = |result, databases, applied, rollout, stopped| ApplyReport {
        plan: crate::render::plan_view(&plan),
        result,
        applied,
        rollout,
        databases,
        stopped,
        source: plan.clone(),
        fleet: mode.is_fleet(),
        target: settings.shown_uri(),
        elapsed: started.elapsed(),
    };
    let runnable = plan.runnable().count();
    if runnable == 0 {
        let result = ApplyResult::NothingToApply;
        return Ok(report(result, pending(Outcome::InSync), 0, vec![], None));
    }
    for t in &staged {
        ui.show(&|_: &TextOptions| view::staged_line(&t.db, &t.collection));
    }
    // Refuse before anything runs: never a half-applied change (a fleet that carries on after
    // a failure refuses per database instead).
    if !matches!(mode, Mode::Fleet(p) if p.on_error == OnError::Continue) {
        refuse(plan.refusals(request.allow_violations, &staged))?;
    }
    // Steps this user or server cannot run: refused whatever the mode, before any change.
    // A staged rollout also backfills its collections: those writes are checked too.
    let mut findings = plan.preflight.clone();
    if let Some(facts) = &computed.facts {
        let backfills: Vec<crate::ops::Operation> = staged
            .iter()
            .filter_map(|s| computed.spec.collection(&s.db, &s.collection))
            .map(|c| crate::backfill::Target {
                db: c.database.clone(),
                collection: c.name.clone(),
                defaults: crate::backfill::collection_defaults(c),
            })
            .filter(|t| !t.defaults.is_empty())
            .map(|t| t.operation())
            .collect();
        findings.extend(crate::preflight::check(
            &backfills,
            &Default::default(),
            facts,
        ));
    }
    super::preflight::refuse(&findings, settings, "apply")?;
    if request.dry_run {
        return Ok(report(
            ApplyResult::DryRun,
            pending(Outcome::Drift),
            0,
            vec![],
            None,
        ));
    }
    if !request.yes && !confirm_apply(&plan, ui, settings, mode, changing)? {
        let result = ApplyResult::NotConfirmed;
        return Ok(report(result, pending(Outcome::Drift), 0, vec![], None));
    }
    let _changing = ui.changing();
    let run = Run {
        settings,
        request,
        mode,
        parts: &parts,
        staged: &staged,
        spec: &computed.spec,
        client: computed.server.client(),
        rollout: Mutex::new(Vec::new()),
    };
    let done = computed.server.run(run.each(&names, ui))?;
    let rollout = run.rollout.into_inner().expect("not poisoned");
    let applied = done
        .databases
        .iter()
        .filter(|d| d.outcome == Outcome::Changed)
        .map(|d| d.steps)
        .sum();
    let result = if done.exit_code() == crate::views::exit::OK {
        ApplyResult::Applied
    } else {
        ApplyResult::Failed
    };
    Ok(report(
        result,
        done.databases,
        applied,
        rollout,
        done.stopped,
    ))
}

/// Each database's line before anything ran: `outcome` where it has steps to run.
fn pending(
    names: &[String],
    parts: &BTreeMap<String, Plan>,
    outcome: Outcome,
) -> Vec<DatabaseReport> {
    names
        .iter()
        .map(|db| {
            let steps = parts.get(db).map(|p| p.runnable().count()).unwrap_or(0);
            DatabaseReport {
                database: db.clone(),
                outcome: if steps == 0 { Outcome::InSync } else { outcome },
                steps,
                error: None,
                elapsed_ms: 0,
            }
        })
        .collect()
}

/// One apply run over its databases.
struct Run<'a> {
    settings: &'a Settings,
    request: ApplyRequest,
    mode: Mode,
    parts: &'a BTreeMap<String, Plan>,
    staged: &'a [Staged],
    spec: &'a crate::spec::SchemaSpec,
    client: &'a mongodb::Client,
    rollout: Mutex<Vec<RolloutStep>>,
}

impl Run<'_> {
    async fn each(&self, names: &[String], ui: &mut dyn Ui) -> Result<crate::fleet::Report> {
        let shared = Shared::new(ui.progress());
        let labels = Labels {
            label: "apply",
            noun: "step",
        };
        targets::each(names, self.mode, labels, &shared, |db| {
            let sink = self.mode.sink(&shared);
            async move { self.one(&db, sink).await }
        })
        .await
    }

    /// Apply one database's part of the plan, then (`--rollout`) finish its staged validators.
    async fn one(&self, db: &str, mut sink: targets::Sink<'_>) -> Result<(Outcome, usize)> {
        let Some(part) = self.parts.get(db) else {
            return Ok((Outcome::InSync, 0));
        };
        if part.runnable().next().is_none() {
            return Ok((Outcome::InSync, 0));
        }
        let staged: Vec<Staged> = self.staged.iter().filter(|s| s.db == db).cloned().collect();
        if self.mode.is_fleet() {
            let refusals = part.refusals(self.request.allow_violations, &staged);
            if !refusals.is_empty() {
                anyhow::bail!("refused, nothing changed: {}", refusals.join("; "));
            }
        }
        let options = self.settings.step_options();
        let applied = apply_plan(
            self.client,
            part,
            &self.settings.state_db,
            &options,
            &mut sink,
        )
        .await?
        .map_err(|e| failure(e, &self.settings.shown_uri()))?;
        if !staged.is_empty() {
            let done = crate::db::rollout::finish(
                self.client,
                self.spec,
                &staged,
                &options,
                self.request.watch,
                &mut sink,
            )
            .await?;
            self.rollout
                .lock()
                .expect("not poisoned")
                .extend(done.steps.clone());
            if let Some(c) = done
                .steps
                .iter()
                .find(|s| s.canary.as_ref().is_some_and(|c| !c.passed))
            {
                let canary = c.canary.as_ref().expect("found by it");
                return Err(Refused(format!(
                    "rollout stopped: {}.{}: {} of {} documents written in {}s fail the new validator (more than --max-invalid {}){}; it stays at `warn` (writes are logged, not refused). Fix the application, then run `mongrate apply --rollout` again",
                    c.database,
                    c.collection,
                    crate::progress::thousands(canary.invalid),
                    crate::progress::thousands(canary.writes),
                    canary.seconds,
                    canary.max_invalid,
                    crate::views::apply::by_field(canary)
                ))
                .into());
            }
            if !done.remaining.is_empty() {
                return Err(Refused(format!(
                    "{}rollout stopped: documents still fail in {}; their validators stay at `warn` (writes are logged, not refused). Fix the documents above, then run `mongrate apply --rollout` again",
                    crate::render::audit_text(&done.remaining),
                    count(done.remaining.len(), "collection")
                ))
                .into());
            }
        }
        Ok((Outcome::Changed, applied))
    }
}

/// A failed step, with what was and was not applied.
fn failure(e: ApplyError, target: &str) -> anyhow::Error {
    let mut msg = format!(
        "step {} of {} failed at {target}: {}\n  {}\n",
        e.failed_index, e.total, e.summary, e.message
    );
    msg.push_str(&format!("  applied ({}):", e.applied.len()));
    for s in &e.applied {
        msg.push_str(&format!("\n    {s}"));
    }
    msg.push_str(&format!("\n  not applied ({}):", e.not_applied.len()));
    for s in &e.not_applied {
        msg.push_str(&format!("\n    {s}"));
    }
    msg.push_str("\n  fix the cause and run `mongrate apply` again: applied steps are not repeated in the new plan");
    anyhow::anyhow!(msg)
}

/// Ask before applying, naming every collection and index the plan drops (and how many
/// documents each holds), in the question and in the refusal without a terminal.
fn confirm_apply(
    plan: &Plan,
    ui: &mut dyn Ui,
    settings: &Settings,
    mode: Mode,
    changing: usize,
) -> Result<bool> {
    let runnable = count(plan.runnable().count(), "step");
    let target = settings.shown_uri();
    let question = if mode.is_fleet() {
        format!(
            "Apply {runnable} in {} on {target}?",
            count(changing, "database")
        )
    } else {
        format!("Apply {runnable} to {target}?")
    };
    let drops: Vec<String> = plan
        .runnable()
        .filter(|s| s.op.destroys())
        .map(|s| crate::render::drop_words(&s.op, s.documents))
        .collect();
    let sentence = crate::render::drops_sentence(&drops);
    ui.confirm(
        &format!("{question}{sentence}"),
        &format!(
            "refusing to apply without confirmation: stdin is not a terminal; pass --yes{}",
            if drops.is_empty() {
                String::new()
            } else {
                format!(" (the plan drops: {})", drops.join(", "))
            }
        ),
    )
}

/// Refuse before anything runs when the plan has refusals: never a half-applied change.
fn refuse(refusals: Vec<String>) -> Result<()> {
    if refusals.is_empty() {
        return Ok(());
    }
    Err(Refused(format!(
        "refusing to apply; nothing was changed:\n  {}",
        refusals.join("\n  ")
    ))
    .into())
}
