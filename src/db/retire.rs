//! The records of two-phase index retirement: when mongrate hid each retiring index, in
//! `<state db>.retiring_indexes` (`_id: { db, collection, index }`, `hidden_at`). The planner
//! trusts a record only while its index is still hidden and undeclared (`plan::Retire`).

use crate::plan::{IndexKey, Plan, RetirePhase};
use anyhow::{Context, Result};
use bson::{DateTime, Document, doc};
use futures_util::TryStreamExt;
use mongodb::{Client, Collection};
use std::collections::BTreeMap;

/// The collection of records in the state database.
pub const COLLECTION: &str = "retiring_indexes";

/// The clock of index retirement: seconds since the epoch.
pub fn now() -> i64 {
    DateTime::now().timestamp_millis().div_euclid(1000)
}

fn records(client: &Client, state_db: &str) -> Collection<Document> {
    super::state_collection(client, state_db, COLLECTION)
}

fn id(key: &IndexKey) -> Document {
    doc! { "db": &key.0, "collection": &key.1, "index": &key.2 }
}

/// When each retiring index of databases `dbs` was hidden (seconds since the epoch).
pub async fn read(
    client: &Client,
    state_db: &str,
    dbs: &[String],
) -> Result<BTreeMap<IndexKey, i64>> {
    let mut out = BTreeMap::new();
    let mut cursor = records(client, state_db)
        .find(doc! { "_id.db": { "$in": dbs } })
        .await
        .with_context(|| format!("reading {state_db}.{COLLECTION}"))?;
    while let Some(d) = cursor.try_next().await? {
        let (Ok(id), Ok(at)) = (d.get_document("_id"), d.get_datetime("hidden_at")) else {
            continue;
        };
        if let (Ok(db), Ok(c), Ok(i)) = (
            id.get_str("db"),
            id.get_str("collection"),
            id.get_str("index"),
        ) {
            out.insert(
                (db.to_string(), c.to_string(), i.to_string()),
                at.timestamp_millis().div_euclid(1000),
            );
        }
    }
    Ok(out)
}

/// Before the steps run: record now as the moment each index the plan hides was hidden. Written
/// first so that no index is ever hidden without a record; a record whose hide did not happen
/// is harmless (the planner ignores records of visible indexes and hides them again).
pub async fn record_hides(client: &Client, state_db: &str, plan: &Plan, now: i64) -> Result<()> {
    let coll = records(client, state_db);
    for s in plan
        .runnable()
        .filter(|s| s.retire == Some(RetirePhase::Visible))
    {
        let Some(name) = index_name(&s.op) else {
            continue;
        };
        let key = (s.db.clone(), s.collection.clone(), name);
        coll.update_one(
            doc! { "_id": id(&key) },
            doc! { "$set": { "hidden_at": DateTime::from_millis(now.saturating_mul(1000)) } },
        )
        .upsert(true)
        .await
        .with_context(|| {
            format!(
                "recording in {state_db}.{COLLECTION} when index `{}` of {}.{} was hidden",
                key.2, key.0, key.1
            )
        })?;
    }
    Ok(())
}

/// After the steps ran: delete the records of indexes the plan dropped and those the plan found
/// stale (declared again, unhidden or dropped by hand).
pub async fn forget_done(client: &Client, state_db: &str, plan: &Plan) -> Result<()> {
    let mut keys: Vec<IndexKey> = plan.forget.clone();
    for s in plan
        .runnable()
        .filter(|s| s.retire == Some(RetirePhase::Due))
    {
        if let Some(name) = index_name(&s.op) {
            keys.push((s.db.clone(), s.collection.clone(), name));
        }
    }
    if keys.is_empty() {
        return Ok(());
    }
    let ids: Vec<Document> = keys.iter().map(id).collect();
    records(client, state_db)
        .delete_many(doc! { "_id": { "$in": ids } })
        .await
        .with_context(|| format!("deleting finished records from {state_db}.{COLLECTION}"))?;
    Ok(())
}

fn index_name(op: &crate::ops::Operation) -> Option<String> {
    match op {
        crate::ops::Operation::ModifyIndex { name, .. }
        | crate::ops::Operation::DropIndex { name, .. } => Some(name.clone()),
        _ => None,
    }
}
