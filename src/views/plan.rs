//! `plan` and `diff`: a plan, for people (grouped steps) and for scripts.

use super::{Text, TextOptions, View, exit};
use crate::fleet::DatabaseReport;
use crate::plan::Plan;
use crate::render::{self, PlanJson};
use serde::Serialize;

/// `mongrate plan`: what `apply` would do.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PlanReport {
    #[serde(flatten)]
    pub plan: PlanJson,
    /// Per database the plan concerns: `in_sync`, or `drift` with its number of steps.
    pub databases: Vec<DatabaseReport>,
    #[serde(skip)]
    #[schemars(skip)]
    pub source: Plan,
    /// `--exit-code`: exit 2 when there are steps.
    #[serde(skip)]
    #[schemars(skip)]
    pub exit_code_on_steps: bool,
}

impl View for PlanReport {
    fn command(&self) -> &'static str {
        "plan"
    }

    fn text(&self, options: &TextOptions) -> Text {
        let mut t = Text::default();
        t.out(render::plan_text(&self.source, options.style));
        t
    }

    fn exit_code(&self) -> i32 {
        if self.exit_code_on_steps && !self.source.steps.is_empty() {
            exit::DIFFERENCES
        } else {
            exit::OK
        }
    }
}

/// `mongrate diff A B`: the plan from one schemas folder to another (no server).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DiffReport {
    #[serde(flatten)]
    pub plan: PlanJson,
    #[serde(skip)]
    #[schemars(skip)]
    pub source: Plan,
    #[serde(skip)]
    #[schemars(skip)]
    pub from: String,
    #[serde(skip)]
    #[schemars(skip)]
    pub to: String,
}

impl View for DiffReport {
    fn command(&self) -> &'static str {
        "diff"
    }

    fn text(&self, options: &TextOptions) -> Text {
        let mut t = Text::default();
        if self.source.is_empty() {
            t.outln(format!(
                "No changes: `{}` and `{}` declare the same collections, indexes and validators.",
                self.from, self.to
            ));
        } else {
            t.out(format!(
                "From `{}` to `{}`:\n{}",
                self.from,
                self.to,
                render::plan_text(&self.source, options.style)
            ));
        }
        t
    }

    fn exit_code(&self) -> i32 {
        if self.source.is_empty() {
            exit::OK
        } else {
            exit::DIFFERENCES
        }
    }
}
