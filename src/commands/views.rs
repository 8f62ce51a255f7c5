//! The JSON views the migrate commands share (one history, or each of a fleet's).

use crate::migrate::changelog::Direction;
use crate::migrate::plan::StatusRow;
use serde::Serialize;

/// One migration of a run, in JSON.
#[derive(Serialize)]
pub struct RunMigrationJson {
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
}

/// `migrate up` / `migrate down` in JSON.
#[derive(Serialize)]
pub struct RunJson {
    pub direction: Direction,
    pub dry_run: bool,
    /// The migrations of the shared history (empty in a fleet run: see `databases`).
    pub migrations: Vec<RunMigrationJson>,
    pub took_over_from: Option<String>,
    /// A fleet run: per history (`(shared)` or a database), its outcome and the number of
    /// migrations run (or pending, in a dry run). Empty otherwise.
    pub databases: Vec<crate::fleet::DatabaseReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// `migrate status` in JSON.
#[derive(Serialize)]
pub struct StatusJson<'a> {
    /// The shared history's migrations (empty in a fleet run: see `databases`).
    pub migrations: &'a [StatusRow],
    /// Migrations that are not applied as their file says (pending, running, failed, changed,
    /// missing), over every history.
    pub pending: usize,
    /// A fleet run: per history (`(shared)` or a database). Empty otherwise.
    pub databases: Vec<HistoryJson>,
    /// Changelog entries written before projects (no project) that match none of this
    /// project's files: another project's, left alone (0 without a project).
    pub unclaimed: usize,
}

/// One history in `migrate status --format json` over a fleet.
#[derive(Serialize)]
pub struct HistoryJson {
    pub database: String,
    pub pending: usize,
    pub migrations: Vec<StatusRow>,
}
