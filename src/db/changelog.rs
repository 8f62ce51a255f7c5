//! The changelog: one document per migration in `<state db>.changelog`, written with majority
//! acknowledgement, recording where each migration stands.

use super::describe_driver_error;
use anyhow::{Result, anyhow};
use bson::{DateTime, Document, doc};
use futures_util::TryStreamExt;
use mongodb::options::{CollectionOptions, WriteConcern};
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
}

/// The changelog collection of a state database.
#[derive(Clone)]
pub struct Changelog {
    coll: Collection<Entry>,
}

impl Changelog {
    pub fn new(client: &Client, state_db: &str) -> Self {
        let options = CollectionOptions::builder()
            .write_concern(WriteConcern::majority())
            .build();
        Self {
            coll: client
                .database(state_db)
                .collection_with_options("changelog", options),
        }
    }

    /// Every entry, by version.
    pub async fn entries(&self) -> Result<Vec<Entry>> {
        let mut entries: Vec<Entry> = self
            .coll
            .find(doc! {})
            .await
            .map_err(|e| anyhow!(describe_driver_error(&e)))?
            .try_collect()
            .await
            .map_err(|e| anyhow!("reading the changelog: {e}"))?;
        entries.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(entries)
    }

    /// Insert or replace an entry.
    pub async fn put(&self, entry: &Entry) -> Result<()> {
        self.coll
            .replace_one(doc! { "_id": &entry.version }, entry)
            .upsert(true)
            .await
            .map_err(|e| anyhow!("writing the changelog: {}", describe_driver_error(&e)))?;
        Ok(())
    }

    /// Record progress: `steps_done` of the running direction.
    pub async fn progress(&self, version: &str, steps_done: u32) -> Result<()> {
        self.update(version, doc! { "$set": { "steps_done": steps_done } })
            .await
    }

    pub async fn update(&self, version: &str, update: Document) -> Result<()> {
        self.coll
            .update_one(doc! { "_id": version }, update)
            .await
            .map_err(|e| anyhow!("writing the changelog: {}", describe_driver_error(&e)))?;
        Ok(())
    }
}
