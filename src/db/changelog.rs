//! The changelog: one document per migration in `<state db>.changelog`, written with majority
//! acknowledgement and read from the primary, recording where each migration stands.
//!
//! Every write carries the writer's lock token and applies only where no newer token has
//! written: a run that lost its lock can never overwrite the record of the run that took over.

use super::is_duplicate_key;
use super::step::driver_error;
use anyhow::Result;
use bson::{Bson, DateTime, Document, doc};
use futures_util::TryStreamExt;
use mongodb::{Client, Collection};
use serde::{Deserialize, Serialize};

/// Where a migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    Applied,
    Failed,
    RolledBack,
}

/// Which way a run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// A write refused because a newer run (a higher lock token) wrote the entry meanwhile.
#[derive(Debug, thiserror::Error)]
#[error(
    "the changelog entry of {version} was written by a newer run (lock token {theirs} > {ours}); this run lost the lock and stops without writing"
)]
pub struct Fenced {
    pub version: String,
    pub ours: i64,
    pub theirs: i64,
}

/// The changelog collection of a state database, as seen by a run holding lock token `token`.
#[derive(Clone)]
pub struct Changelog {
    coll: Collection<Entry>,
    token: i64,
    /// `None`: the history of the whole schemas; `Some(db)`: one database of a fleet.
    scope: Option<String>,
}

fn as_bson<T: Serialize>(v: T) -> Bson {
    bson::to_bson(&v).unwrap_or(Bson::Null)
}

impl Changelog {
    /// The changelog for reading, and for writing with lock token `token` (0 to only read).
    pub fn new(client: &Client, state_db: &str, token: i64) -> Self {
        Self::scoped(client, state_db, None, token)
    }

    /// The history of one database of a fleet (`scope: Some(db)`) or of the whole schemas,
    /// kept in the state database keyed by database.
    pub fn scoped(client: &Client, state_db: &str, scope: Option<&str>, token: i64) -> Self {
        Self {
            coll: super::state_collection(client, state_db, "changelog"),
            token,
            scope: scope.map(str::to_string),
        }
    }

    /// The `_id` of `version`'s entry in this scope.
    fn key(&self, version: &str) -> String {
        match &self.scope {
            None => version.to_string(),
            Some(db) => format!("{db}/{version}"),
        }
    }

    /// Every entry, by version.
    pub async fn entries(&self) -> Result<Vec<Entry>> {
        let filter = match &self.scope {
            None => doc! { "database": { "$exists": false } },
            Some(db) => doc! { "database": db },
        };
        let mut entries: Vec<Entry> = self
            .coll
            .find(filter)
            .await
            .map_err(|e| driver_error(e).context("reading the changelog"))?
            .try_collect()
            .await
            .map_err(|e| driver_error(e).context("reading the changelog"))?;
        if let Some(db) = &self.scope {
            let prefix = format!("{db}/");
            for e in &mut entries {
                if let Some(v) = e.version.strip_prefix(&prefix) {
                    e.version = v.to_string();
                }
            }
        }
        entries.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(entries)
    }

    /// Entries this run may overwrite: none, or written with a token not newer than ours.
    fn fence(&self, version: &str) -> Document {
        doc! { "_id": self.key(version), "$or": [
            { "lock_token": { "$lte": self.token } },
            { "lock_token": { "$exists": false } },
        ] }
    }

    async fn fenced(&self, version: &str) -> anyhow::Error {
        let theirs = self
            .coll
            .clone_with_type::<Document>()
            .find_one(doc! { "_id": self.key(version) })
            .await
            .ok()
            .flatten()
            .and_then(|d| d.get_i64("lock_token").ok())
            .unwrap_or(self.token + 1);
        Fenced {
            version: version.to_string(),
            ours: self.token,
            theirs,
        }
        .into()
    }

    /// Insert or replace an entry (stamped with this run's token).
    pub async fn put(&self, entry: &Entry) -> Result<()> {
        let version = entry.version.clone();
        let mut entry = entry.clone();
        entry.lock_token = self.token;
        entry.version = self.key(&version);
        entry.database = self.scope.clone();
        match self
            .coll
            .replace_one(self.fence(&version), &entry)
            .upsert(true)
            .await
        {
            Ok(_) => Ok(()),
            // The upsert collided with an entry of a newer run.
            Err(e) if is_duplicate_key(&e) => Err(self.fenced(&version).await),
            Err(e) => Err(driver_error(e).context("writing the changelog")),
        }
    }

    /// Record progress: `steps_done` of the running direction.
    pub async fn progress(&self, version: &str, steps_done: u32) -> Result<()> {
        self.set(version, doc! { "steps_done": steps_done }).await
    }

    /// Record that the run of `version` failed.
    pub async fn failed(&self, version: &str, error: &str) -> Result<()> {
        self.set(
            version,
            doc! { "status": as_bson(Status::Failed), "error": error, "finished_at": DateTime::now() },
        )
        .await
    }

    /// Record that `version` finished in `direction`, started at `started_at`.
    pub async fn finished(
        &self,
        version: &str,
        direction: Direction,
        started_at: DateTime,
    ) -> Result<()> {
        let now = DateTime::now();
        let duration = now.timestamp_millis() - started_at.timestamp_millis();
        let mut set = doc! { "finished_at": now, "duration_ms": duration, "error": Bson::Null };
        match direction {
            Direction::Up => {
                set.insert("status", as_bson(Status::Applied));
                set.insert("applied_at", now);
            }
            Direction::Down => {
                set.insert("status", as_bson(Status::RolledBack));
            }
        }
        self.set(version, set).await
    }

    /// `$set` fields of an entry this run may write; fenced otherwise.
    pub async fn set(&self, version: &str, mut fields: Document) -> Result<()> {
        fields.insert("lock_token", self.token);
        let r = self
            .coll
            .update_one(self.fence(version), doc! { "$set": fields })
            .await
            .map_err(|e| driver_error(e).context("writing the changelog"))?;
        if r.matched_count == 0 {
            return Err(self.fenced(version).await);
        }
        Ok(())
    }
}
