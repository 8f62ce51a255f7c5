//! The changelog: one document per migration in `<state db>.changelog`, written with majority
//! acknowledgement and read from the primary, recording where each migration stands.
//!
//! Every write carries the writer's lock token and applies only where no newer token has
//! written: a run that lost its lock can never overwrite the record of the run that took over.

use super::is_duplicate_key;
use super::retry::driver_error;
pub use crate::migrate::changelog::{Direction, Entry, History, Resolution, Status};
use anyhow::Result;
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use mongodb::{Client, Collection};
use serde::Serialize;

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
        let found = self
            .coll
            .clone_with_type::<Document>()
            .find_one(doc! { "_id": self.key(version) })
            .await;
        if let Ok(None) = found {
            return Missing(version.to_string()).into();
        }
        let theirs = found
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

/// An update found no entry to update.
#[derive(Debug, thiserror::Error)]
#[error("the changelog has no entry for {0}")]
pub struct Missing(pub String);
