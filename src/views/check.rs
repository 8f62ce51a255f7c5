//! `check`: drift between the schemas and a server, and with `--data` the documents that fail
//! their schema.

use super::{Text, TextOptions, View, exit};
use crate::audit::AuditReport;
use crate::fleet::{DatabaseReport, Report};
use crate::plan::Plan;
use crate::render::{self, AuditJson, PlanJson};
use serde::Serialize;
use std::time::Duration;

/// `mongrate check`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CheckReport {
    #[serde(flatten)]
    pub plan: PlanJson,
    /// With `--data`: documents failing their schema, per collection (null without).
    pub data: Option<DataJson>,
    /// Per database checked: `in_sync`, or `drift` with its differences (steps, notices and
    /// collections with failing documents).
    pub databases: Vec<DatabaseReport>,
    #[serde(skip)]
    #[schemars(skip)]
    pub source: Plan,
    #[serde(skip)]
    #[schemars(skip)]
    pub audits: Vec<AuditReport>,
    /// The schemas folder, as the text names it.
    #[serde(skip)]
    #[schemars(skip)]
    pub schemas: String,
    /// A fleet run: the text ends with a line per database.
    #[serde(skip)]
    #[schemars(skip)]
    pub fleet: bool,
    #[serde(skip)]
    #[schemars(skip)]
    pub elapsed: Duration,
}

/// `check --data`: the documents that fail their schema.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DataJson {
    /// Documents failing, over all collections.
    pub failing: u64,
    pub collections: Vec<AuditJson>,
}

impl CheckReport {
    fn failing(&self) -> u64 {
        self.audits.iter().map(|a| a.failing).sum()
    }
}

impl View for CheckReport {
    fn command(&self) -> &'static str {
        "check"
    }

    fn text(&self, options: &TextOptions) -> Text {
        let failing = self.failing();
        let in_sync = self.source.is_empty();
        let mut text = if in_sync && failing > 0 {
            let mut text = format!(
                "Data drift: the server's collections and indexes match the schemas in `{}`, but {} {} their schema.\n\n",
                self.schemas,
                crate::progress::count(failing, "document"),
                if failing == 1 { "fails" } else { "fail" }
            );
            render::retiring_text(&mut text, &self.source);
            render::notes_text(&mut text, &self.source);
            text
        } else if in_sync {
            // Indexes waiting out `retire_after` are as intended, and still worth a line.
            let mut text = format!(
                "In sync: the server matches the schemas in `{}`.\n",
                self.schemas
            );
            render::retiring_text(&mut text, &self.source);
            render::notes_text(&mut text, &self.source);
            text
        } else {
            format!(
                "Drift: the server differs from the schemas in `{}`.\n\n{}",
                self.schemas,
                render::plan_text(&self.source, options.style)
            )
        };
        if self.data.is_some() {
            text.push_str(&render::audit_text(&self.audits));
        }
        if self.fleet {
            let report = Report {
                databases: self.databases.clone(),
                stopped: None,
            };
            text.push_str(&report.text(self.elapsed, "difference"));
        }
        let mut t = Text::default();
        t.out(text);
        t
    }

    fn exit_code(&self) -> i32 {
        if self.source.is_empty() && self.failing() == 0 {
            exit::OK
        } else {
            exit::DIFFERENCES
        }
    }
}
