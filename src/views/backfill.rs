//! `backfill`: per collection, the documents scanned and the defaults filled.

use super::{Text, TextOptions, View, exit};
use crate::backfill::Report;
use crate::fleet::DatabaseReport;
use crate::progress::{count, human_duration, thousands};
use serde::Serialize;

/// `mongrate backfill`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BackfillReport {
    pub dry_run: bool,
    /// Documents modified in all collections (0 in a dry run).
    pub modified: u64,
    /// Per collection (a dry run counts what would be filled in `filled`).
    pub collections: Vec<Report>,
    /// Per database: `changed` (documents modified), `in_sync`, or `drift` (a dry run: values
    /// to fill); `steps` counts the documents.
    pub databases: Vec<DatabaseReport>,
}

impl View for BackfillReport {
    fn command(&self) -> &'static str {
        "backfill"
    }

    fn text(&self, options: &TextOptions) -> Text {
        let mut t = Text::default();
        let verb = if self.dry_run { "would fill" } else { "filled" };
        for r in &self.collections {
            t.outln(collection_line(r, self.dry_run));
            for f in r
                .fields
                .iter()
                .filter(|f| f.filled > 0 || f.blocked > 0 || !options.quiet)
            {
                let blocked = if f.blocked > 0 {
                    format!(
                        ", {} blocked (a parent exists but is not an object)",
                        f.blocked
                    )
                } else {
                    String::new()
                };
                t.outln(format!("  {:<40} {verb} {}{blocked}", f.field, f.filled));
            }
        }
        let n = self.collections.len() as u64;
        if self.dry_run {
            let would: u64 = self
                .collections
                .iter()
                .flat_map(|r| r.fields.iter())
                .map(|f| f.filled)
                .sum();
            t.outln(format!(
                "Dry run: {} would be filled in {}; nothing was changed.",
                count(would, "field value"),
                count(n, "collection")
            ));
        } else {
            t.outln(format!(
                "Backfill done: {} modified in {}.",
                count(self.modified, "document"),
                count(n, "collection")
            ));
        }
        t
    }

    fn exit_code(&self) -> i32 {
        exit::OK
    }
}

/// `db.coll: N documents scanned, M modified (time)`, and how a resumed run started.
fn collection_line(r: &Report, dry_run: bool) -> String {
    let mut line = format!(
        "{}.{}: {} scanned",
        r.db,
        r.collection,
        count(r.scanned, "document")
    );
    if !dry_run {
        line.push_str(&format!(
            ", {} modified ({})",
            thousands(r.modified),
            human_duration(std::time::Duration::from_millis(r.elapsed_ms))
        ));
    }
    if let Some(before) = r.resumed_after {
        line.push_str(&format!(
            " by this run, resumed from a checkpoint (the interrupted run had scanned {} and modified {})",
            thousands(before.scanned),
            thousands(before.modified)
        ));
    }
    line
}
