//! The changelog's records, as plain data: where each migration stands (`Entry`, `Status`,
//! `Direction`), a person's `Resolution` of a failed run, and whose `History` an entry belongs
//! to (a project's, one database's of a fleet) with the keys and lock names that follow. Pure:
//! `db::changelog` reads and writes them.

use bson::{Bson, DateTime, Document, doc};
use serde::{Deserialize, Serialize};

/// Where a migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    Applied,
    Failed,
    RolledBack,
}

/// Which way a run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
}

/// One changelog document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(rename = "_id")]
    pub version: String,
    pub name: String,
    pub checksum: String,
    pub status: Status,
    pub direction: Direction,
    /// Steps of the current direction finished.
    pub steps_done: u32,
    pub steps_total: u32,
    pub started_at: DateTime,
    pub finished_at: Option<DateTime>,
    pub duration_ms: Option<i64>,
    /// When it was last applied (kept through later runs).
    pub applied_at: Option<DateTime>,
    pub host: String,
    pub pid: u32,
    pub tool_version: String,
    pub error: Option<String>,
    /// The lock token of the run that wrote this entry last (0 in entries written before
    /// tokens existed).
    #[serde(default)]
    pub lock_token: i64,
    /// For a fleet's per-database history: the database this entry is about (its `_id` is then
    /// `<database>/<version>`). Absent in the history of the whole schemas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The project whose history this is (`project:` in mongrate.yaml; its `_id` is then
    /// `<project>:<version>` or `<project>:<database>/<version>`). Absent in entries written
    /// before projects, or by a project that names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Set by `migrate resolve`: a person said how a failed or interrupted run ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Resolution>,
}

impl Entry {
    /// The entry after `steps_done` steps of its direction finished, still running.
    pub fn at_step(&self, steps_done: u32) -> Entry {
        Entry {
            steps_done,
            ..self.clone()
        }
    }

    /// The entry of a run that finished its direction with `steps_done` steps at `now`:
    /// applied (up) or rolled back (down).
    pub fn finished(&self, steps_done: u32, now: DateTime) -> Entry {
        let up = self.direction == Direction::Up;
        Entry {
            steps_done,
            status: if up {
                Status::Applied
            } else {
                Status::RolledBack
            },
            finished_at: Some(now),
            duration_ms: Some(now.timestamp_millis() - self.started_at.timestamp_millis()),
            applied_at: if up { Some(now) } else { self.applied_at },
            error: None,
            ..self.clone()
        }
    }

    /// The entry of a run that failed at `now` with `error`.
    pub fn failed(&self, error: &str, now: DateTime) -> Entry {
        Entry {
            status: Status::Failed,
            error: Some(error.to_string()),
            finished_at: Some(now),
            ..self.clone()
        }
    }
}

/// A `migrate resolve`: what the entry was marked as, by whom, when, and what it said before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// `applied` or `rolled_back`.
    pub marked: Status,
    pub at: DateTime,
    /// `user@host` of the person who resolved it.
    pub by: String,
    pub pid: u32,
    pub tool_version: String,
    /// The status, direction, steps done and error the entry had.
    pub was: Status,
    pub was_direction: Direction,
    pub was_steps_done: u32,
    pub was_error: Option<String>,
    /// Why, in the person's words (`--note`).
    pub note: Option<String>,
}

/// Whose migration history: a project's (`None`: entries of no project, as written before
/// projects existed) and, in a fleet, one database's (`None`: the shared history).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub project: Option<String>,
    pub database: Option<String>,
}

impl History {
    pub fn new(project: Option<&str>, database: Option<&str>) -> Self {
        Self {
            project: project.map(str::to_string),
            database: database.map(str::to_string),
        }
    }

    /// The `_id` of `version`'s entry.
    pub fn key(&self, version: &str) -> String {
        let inner = match &self.database {
            None => version.to_string(),
            Some(db) => format!("{db}/{version}"),
        };
        match &self.project {
            None => inner,
            Some(p) => format!("{p}:{inner}"),
        }
    }

    /// The version of an entry `_id` of this history.
    pub fn version_of<'a>(&self, id: &'a str) -> &'a str {
        let mut id = id;
        if let Some(p) = &self.project {
            id = id
                .strip_prefix(p.as_str())
                .and_then(|r| r.strip_prefix(':'))
                .unwrap_or(id);
        }
        if let Some(db) = &self.database {
            id = id
                .strip_prefix(db.as_str())
                .and_then(|r| r.strip_prefix('/'))
                .unwrap_or(id);
        }
        id
    }

    /// The filter of this history's entries.
    pub fn filter(&self) -> Document {
        let exists = |v: &Option<String>| match v {
            None => Bson::Document(doc! { "$exists": false }),
            Some(v) => Bson::String(v.clone()),
        };
        doc! { "project": exists(&self.project), "database": exists(&self.database) }
    }

    /// The same history as written before projects (no project): the entries a project takes
    /// over. `None` for a history of no project.
    pub fn before_projects(&self) -> Option<History> {
        self.project.as_ref().map(|_| History {
            project: None,
            database: self.database.clone(),
        })
    }

    /// The `_id` of this history's lease lock: one per project and database, so that neither
    /// another project's run nor another database's ever waits on it.
    pub fn lock_id(&self) -> String {
        lock_id(self.project.as_deref(), self.database.as_deref())
    }
}

/// The lock document's `_id` for a run over one history: a project's (`None` before projects)
/// whole history (`database: None`) or one database of a fleet, whose runs never wait on
/// another project's or another database's lock.
pub fn lock_id(project: Option<&str>, database: Option<&str>) -> String {
    let base = match project {
        None => "migrate".to_string(),
        Some(p) => format!("migrate@{p}"),
    };
    match database {
        None => base,
        Some(db) => format!("{base}:{db}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histories_keep_projects_and_databases_apart() {
        let none = History::default();
        let shop = History::new(Some("shop"), None);
        let tenant = History::new(Some("shop"), Some("tenant_1"));
        assert_eq!(none.key("20260101000000"), "20260101000000");
        assert_eq!(shop.key("20260101000000"), "shop:20260101000000");
        assert_eq!(tenant.key("20260101000000"), "shop:tenant_1/20260101000000");
        assert_eq!(
            tenant.version_of("shop:tenant_1/20260101000000"),
            "20260101000000"
        );
        assert_eq!(none.lock_id(), "migrate");
        assert_eq!(shop.lock_id(), "migrate@shop");
        assert_eq!(tenant.lock_id(), "migrate@shop:tenant_1");
        assert_eq!(
            tenant.before_projects(),
            Some(History::new(None, Some("tenant_1")))
        );
        assert_eq!(none.before_projects(), None);
    }
}
