//! `check --data` against the server: one aggregation per collection, computed server-side.

use super::describe_driver_error;
use crate::spec::CollectionSpec;
use anyhow::{Result, anyhow};
use bson::{Bson, Document};
use futures_util::TryStreamExt;
use mongodb::Client;
use serde::Serialize;

/// One broken rule and the documents breaking it.
#[derive(Debug, Clone, Serialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: u64,
    /// Up to five `_id`s.
    pub sample_ids: Vec<Bson>,
}

/// The data audit of one collection.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub db: String,
    pub collection: String,
    /// Documents examined (all, or the random sample).
    pub examined: u64,
    pub sampled: bool,
    /// Documents failing the schema's validator.
    pub failing: u64,
    pub reasons: Vec<ReasonCount>,
}

fn n(v: Option<&Bson>) -> u64 {
    match v {
        Some(Bson::Int32(i)) => *i as u64,
        Some(Bson::Int64(i)) => *i as u64,
        _ => 0,
    }
}

fn first_count(d: &Document, key: &str) -> u64 {
    d.get_array(key)
        .ok()
        .and_then(|a| a.first())
        .and_then(|x| x.as_document())
        .map(|x| n(x.get("n")))
        .unwrap_or(0)
}

/// The documents of `coll` that `validator` (a query document: `{ $jsonSchema: ... }`, a raw
/// validator) refuses. A collection scan, never an index: the server may turn a schema into a
/// query an index can serve, and `lint` must not count its own reads in an index's use.
pub async fn count_failing(
    coll: &mongodb::Collection<Document>,
    validator: &Document,
) -> Result<u64> {
    coll.count_documents(bson::doc! { "$nor": [validator.clone()] })
        .hint(mongodb::options::Hint::Keys(bson::doc! { "$natural": 1 }))
        .await
        .map_err(|e| anyhow!(describe_driver_error(&e)))
}

/// Audit one collection against its spec's validator.
pub async fn audit(
    client: &Client,
    spec: &CollectionSpec,
    validator: &Document,
    sample: Option<u64>,
) -> Result<AuditReport> {
    let coll = client
        .database(&spec.database)
        .collection::<Document>(&spec.name);
    let pipeline = crate::audit::pipeline(spec, validator, sample, 5);
    let out: Vec<Document> = coll
        .aggregate(pipeline)
        .allow_disk_use(true)
        .await
        .map_err(|e| anyhow!(describe_driver_error(&e)))?
        .try_collect()
        .await
        .map_err(|e| anyhow!(describe_driver_error(&e)))?;
    let top = out.into_iter().next().unwrap_or_default();
    let reasons = top
        .get_array("by_reason")
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_document())
                .map(|r| ReasonCount {
                    reason: r.get_str("_id").unwrap_or("?").to_string(),
                    count: n(r.get("count")),
                    sample_ids: r.get_array("sample_ids").cloned().unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(AuditReport {
        db: spec.database.clone(),
        collection: spec.name.clone(),
        examined: first_count(&top, "examined"),
        sampled: sample.is_some(),
        failing: first_count(&top, "failing"),
        reasons,
    })
}
