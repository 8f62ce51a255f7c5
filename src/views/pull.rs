//! `pull`: the schema files written from a server, per collection.

use super::{Text, TextOptions, View, count, exit};
use crate::fleet::DatabaseReport;
use serde::Serialize;

/// What happened to one collection's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// New, or overwritten (--force / --merge).
    Written,
    /// The file already says this.
    Unchanged,
    /// The file says something else; left alone (the text output shows the diff).
    Differs,
    /// Not pulled (e.g. not readable).
    Skipped,
}

/// One collection's file.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FileReport {
    pub database: String,
    pub collection: String,
    pub path: String,
    pub status: FileStatus,
    /// Documents examined to infer fields (0 when none were).
    pub examined: u64,
    /// What could not be said exactly (e.g. a validator kept as written).
    pub notes: Vec<String>,
    /// For `differs`: the unified diff from the file to what was pulled.
    #[serde(skip)]
    #[schemars(skip)]
    pub diff: Option<String>,
}

/// `mongrate pull`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PullReport {
    /// Per database pulled: `changed` (files written), `in_sync` (every file as it was) or
    /// `drift` (files that differ, left alone); `steps` counts those files.
    pub databases: Vec<DatabaseReport>,
    pub files: Vec<FileReport>,
    pub written: usize,
    pub unchanged: usize,
    pub differs: usize,
    pub skipped: usize,
}

impl PullReport {
    /// The report of `files` pulled from `databases`.
    pub fn of(databases: Vec<DatabaseReport>, files: Vec<FileReport>) -> Self {
        let n = |s: FileStatus| files.iter().filter(|f| f.status == s).count();
        Self {
            written: n(FileStatus::Written),
            unchanged: n(FileStatus::Unchanged),
            differs: n(FileStatus::Differs),
            skipped: n(FileStatus::Skipped),
            databases,
            files,
        }
    }
}

impl View for PullReport {
    fn command(&self) -> &'static str {
        "pull"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        for r in &self.files {
            if let Some(diff) = &r.diff {
                t.out(diff.clone());
            }
        }
        for r in &self.files {
            let what = match r.status {
                FileStatus::Written => "wrote",
                FileStatus::Unchanged => "unchanged",
                FileStatus::Differs => {
                    "differs (left alone; --force to write, --merge to keep hand-written parts)"
                }
                FileStatus::Skipped => "skipped",
            };
            t.outln(format!(
                "{:<10} {}.{}  {}",
                what, r.database, r.collection, r.path
            ));
            for n in &r.notes {
                t.outln(format!("           note: {n}"));
            }
        }
        t.outln(format!(
            "Pulled {}: {} written, {} unchanged, {} differ, {} skipped.",
            count(self.files.len(), "collection"),
            self.written,
            self.unchanged,
            self.differs,
            self.skipped
        ));
        if self.written > 0 {
            t.errln(
                "Next: review the files, then `mongrate check` (clean right after a pull) and `mongrate migrate generate baseline`.",
            );
        }
        t
    }

    fn exit_code(&self) -> i32 {
        exit::OK
    }
}
