//! `apply`: the plan, and what running it did (per database, and for a staged rollout per
//! collection).

use super::{Text, TextOptions, View, count, exit};
use crate::fleet::{DatabaseReport, Report};
use crate::plan::{Plan, RolloutStep};
use crate::render::{self, PlanJson};
use serde::Serialize;
use std::time::Duration;

/// How an `apply` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplyResult {
    /// Every database's steps ran.
    Applied,
    /// The server matched the schemas.
    NothingToApply,
    /// `--dry-run`: nothing was changed.
    DryRun,
    /// The question was answered no: nothing was changed (exit 1).
    NotConfirmed,
    /// Some database of a fleet failed (exit 1); see `databases`.
    Failed,
}

/// `mongrate apply`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ApplyReport {
    /// The plan, as planned (staged validators show `action: warn`).
    #[serde(flatten)]
    pub plan: PlanJson,
    pub result: ApplyResult,
    /// Steps executed.
    pub applied: usize,
    /// With `--rollout`: per staged collection, the backfill and whether it was tightened.
    pub rollout: Vec<RolloutStep>,
    /// Per database: `changed` (steps applied), `in_sync`, `drift` (steps pending: a dry run
    /// or an unconfirmed run), `failed` (with its error) or `skipped`.
    pub databases: Vec<DatabaseReport>,
    /// Why a run over many databases stopped starting them, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    #[serde(skip)]
    #[schemars(skip)]
    pub source: Plan,
    /// A fleet run: the text is a line per database.
    #[serde(skip)]
    #[schemars(skip)]
    pub fleet: bool,
    /// The server, as messages name it (no password).
    #[serde(skip)]
    #[schemars(skip)]
    pub target: String,
    #[serde(skip)]
    #[schemars(skip)]
    pub elapsed: Duration,
}

impl ApplyReport {
    fn report(&self) -> Report {
        Report {
            databases: self.databases.clone(),
            stopped: self.stopped.clone(),
        }
    }

    /// Databases with steps to run.
    fn changing(&self) -> usize {
        self.databases.iter().filter(|d| d.steps > 0).count()
    }
}

/// What `apply` shows before it asks or runs: the plan, or for a fleet where more than three
/// databases change, one line (each database's part is `plan --databases NAME`).
pub fn preview(
    plan: &Plan,
    fleet: bool,
    changing: usize,
    databases: usize,
    options: &TextOptions,
) -> Text {
    let mut t = Text::default();
    if !fleet || changing <= 3 {
        t.out(render::plan_text(plan, options.style));
    } else {
        t.outln(format!(
            "Plan: {} in {changing} of {} (`mongrate plan --databases NAME` shows one).",
            count(plan.runnable().count(), "step"),
            count(databases, "database")
        ));
    }
    t
}

/// The line `apply --rollout` shows for a validator it stages at `warn`.
pub fn staged_line(db: &str, collection: &str) -> Text {
    let mut t = Text::default();
    t.errln(format!(
        "rollout {db}.{collection}: existing documents fail the new validator; it goes in with validationAction warn, then backfill, recount, tighten"
    ));
    t
}

impl View for ApplyReport {
    fn command(&self) -> &'static str {
        "apply"
    }

    fn text(&self, options: &TextOptions) -> Text {
        let mut t = Text::default();
        let runnable = self.source.runnable().count();
        match (self.result, self.fleet) {
            (ApplyResult::NotConfirmed, _) => t.errln("Not applied."),
            (ApplyResult::DryRun, false) => t.errln(format!(
                "Dry run: {} would run; nothing was changed.",
                count(runnable, "step")
            )),
            (ApplyResult::DryRun, true) => t.errln(format!(
                "Dry run: {} in {} would run; nothing was changed.",
                count(runnable, "step"),
                count(self.changing(), "database")
            )),
            (ApplyResult::NothingToApply, false) => t.errln("Nothing to apply."),
            (ApplyResult::Applied, false) => {
                t.errln(format!(
                    "Applied {} to {}.",
                    count(self.applied, "step"),
                    self.target
                ));
                for s in &self.rollout {
                    t.errln(rollout_line(s));
                }
            }
            (ApplyResult::NothingToApply | ApplyResult::Applied | ApplyResult::Failed, _) => {
                let report = self.report();
                let text = report.text(self.elapsed, "step");
                if !options.quiet {
                    t.out(text);
                } else if report.exit_code() == exit::ERROR {
                    t.err(text);
                }
            }
        }
        t
    }

    fn exit_code(&self) -> i32 {
        match self.result {
            ApplyResult::NotConfirmed | ApplyResult::Failed => exit::ERROR,
            _ => exit::OK,
        }
    }
}

/// The fields that made the canary's invalid writes invalid: ` (email: 12, (other fields): 3)`.
pub fn by_field(c: &crate::canary::Canary) -> String {
    if c.by_field.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = c
        .by_field
        .iter()
        .map(|f| format!("{}: {}", f.field, crate::progress::thousands(f.documents)))
        .collect();
    format!(" (by field: {})", parts.join(", "))
}

/// What the rollout did for one collection.
fn rollout_line(s: &RolloutStep) -> String {
    let canary = s
        .canary
        .as_ref()
        .map(|c| {
            format!(
                "; canary: {} of {} writes in {}s invalid{} (--max-invalid {})",
                crate::progress::thousands(c.invalid),
                crate::progress::thousands(c.writes),
                c.seconds,
                by_field(c),
                c.max_invalid
            )
        })
        .unwrap_or_default();
    format!(
        "rollout {}.{}: backfill modified {}{canary}; {}",
        s.database,
        s.collection,
        crate::progress::count(s.backfilled, "document"),
        if s.tightened {
            format!(
                "no document fails any more; validator tightened to {}",
                s.action.as_str()
            )
        } else if s.canary.as_ref().is_some_and(|c| !c.passed) {
            "live writes fail it; the validator stays at warn".to_string()
        } else {
            "documents still fail; the validator stays at warn".to_string()
        }
    )
}
