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
    /// The project whose history this is (`project:` in mongrate.yaml; its `_id` is then
    /// `<project>:<version>` or `<project>:<database>/<version>`). Absent in entries written
    /// before projects, or by a project that names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Set by `migrate resolve`: a person said how a failed or interrupted run ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Resolution>,
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
    fn version_of<'a>(&self, id: &'a str) -> &'a str {
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
        super::lock::lock_id(self.project.as_deref(), self.database.as_deref())
    }
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
    history: History,
}

fn as_bson<T: Serialize>(v: T) -> Bson {
    bson::to_bson(&v).unwrap_or(Bson::Null)
}

impl Changelog {
    /// The changelog of no project and no database, for reading, and for writing with lock
    /// token `token` (0 to only read).
    pub fn new(client: &Client, state_db: &str, token: i64) -> Self {
        Self::scoped(client, state_db, &History::default(), token)
    }

    /// The changelog of one history (a project's, one database's of a fleet), all kept in the
    /// state database keyed by project and database.
    pub fn scoped(client: &Client, state_db: &str, history: &History, token: i64) -> Self {
        Self {
            coll: super::state_collection(client, state_db, "changelog"),
            token,
            history: history.clone(),
        }
    }

    /// The `_id` of `version`'s entry in this history.
    fn key(&self, version: &str) -> String {
        self.history.key(version)
    }

    /// Every entry, by version.
    pub async fn entries(&self) -> Result<Vec<Entry>> {
        let mut entries: Vec<Entry> = self
            .coll
            .find(self.history.filter())
            .await
            .map_err(|e| driver_error(e).context("reading the changelog"))?
            .try_collect()
            .await
            .map_err(|e| driver_error(e).context("reading the changelog"))?;
        for e in &mut entries {
            e.version = self.history.version_of(&e.version).to_string();
        }
        entries.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(entries)
    }

    /// Take over `entries`, written before projects (no project), as this project's: each is
    /// written under this history's key (kept as it is when already there) and then the old
    /// document is deleted — a crash between the two leaves both, and readers prefer this
    /// project's. Run under the lock.
    pub async fn adopt(&self, entries: &[Entry]) -> Result<()> {
        let Some(old) = self.history.before_projects() else {
            return Ok(());
        };
        for e in entries {
            let mut mine = e.clone();
            mine.version = self.key(&e.version);
            mine.project = self.history.project.clone();
            mine.database = self.history.database.clone();
            match self.coll.insert_one(&mine).await {
                Ok(_) => {}
                Err(err) if is_duplicate_key(&err) => {}
                Err(err) => return Err(driver_error(err).context("taking over the changelog")),
            }
            self.coll
                .delete_one(doc! { "_id": old.key(&e.version), "project": { "$exists": false } })
                .await
                .map_err(|err| driver_error(err).context("taking over the changelog"))?;
        }
        Ok(())
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
        entry.database = self.history.database.clone();
        entry.project = self.history.project.clone();
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

    /// Record a `migrate resolve` of `version`: its new status and checksum, and who did it.
    pub async fn resolve(&self, version: &str, checksum: &str, r: &Resolution) -> Result<()> {
        let mut set = doc! {
            "status": as_bson(r.marked),
            "checksum": checksum,
            "finished_at": r.at,
            "error": Bson::Null,
            "resolved": as_bson(r),
        };
        match r.marked {
            Status::Applied => {
                set.insert("direction", as_bson(Direction::Up));
                set.insert("applied_at", r.at);
            }
            _ => {
                set.insert("direction", as_bson(Direction::Down));
                set.insert("steps_done", 0);
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
