//! Data checks shown in the plan: documents that would fail a validator, and duplicate keys
//! that would break a unique index. Computed on the server.

use super::describe_driver_error;
use crate::model::{Index, IndexKind};
use crate::plan::{Plan, SafetyCheck, SafetyReport};
use anyhow::{Context, Result};
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use mongodb::Client;

/// Run every step's check and record what it found.
pub async fn run_checks(client: &Client, plan: &mut Plan) -> Result<()> {
    for step in plan.steps.iter_mut() {
        let Some(check) = &step.check else { continue };
        let coll = client
            .database(&step.db)
            .collection::<Document>(&step.collection);
        let report = match check {
            SafetyCheck::ValidatorViolations { validator } => {
                let v = super::audit::violators(&coll, validator)
                    .await
                    .with_context(|| {
                        format!(
                            "counting documents of {}.{} that fail the new validator",
                            step.db, step.collection
                        )
                    })?;
                SafetyReport {
                    count: v.count,
                    sample_ids: v.sample_ids,
                    unevaluable: (v.unevaluable > 0)
                        .then(|| (v.unevaluable, v.error.unwrap_or_default())),
                }
            }
            SafetyCheck::DuplicateKeys { index } => {
                duplicates(&coll, index).await.with_context(|| {
                    format!(
                        "counting duplicate keys for index `{}` on {}.{}",
                        index.name, step.db, step.collection
                    )
                })?
            }
        };
        step.safety = Some(report);
    }
    Ok(())
}

/// Groups of documents sharing the key of `index` (as the unique index would see them).
pub(crate) async fn duplicates(
    coll: &mongodb::Collection<Document>,
    index: &Index,
) -> Result<SafetyReport> {
    let mut pipeline = Vec::new();
    let mut filter = index.partial.as_deref().cloned().unwrap_or_default();
    if index.sparse {
        let any: Vec<Bson> = index
            .keys
            .iter()
            .map(|(p, _)| Bson::Document(doc! { p.clone(): { "$exists": true } }))
            .collect();
        filter.insert("$or", any);
    }
    if !filter.is_empty() {
        pipeline.push(doc! { "$match": filter });
    }
    let mut group_key = Document::new();
    for (i, (path, kind)) in index.keys.iter().enumerate() {
        if matches!(kind, IndexKind::Asc | IndexKind::Desc) {
            // A missing field and null are the same key to a unique index.
            group_key.insert(
                format!("k{i}"),
                doc! { "$ifNull": [format!("${path}"), Bson::Null] },
            );
        }
    }
    pipeline.push(
        doc! { "$group": { "_id": group_key, "n": { "$sum": 1 }, "first": { "$first": "$_id" } } },
    );
    pipeline.push(doc! { "$match": { "n": { "$gt": 1 } } });
    pipeline.push(doc! { "$facet": {
        "count": [{ "$count": "groups" }],
        "samples": [{ "$limit": 5 }, { "$project": { "_id": 0, "first": 1 } }],
    } });
    let mut agg = coll.aggregate(pipeline).allow_disk_use(true);
    if let Some(c) = &index.collation {
        agg = agg.collation(
            bson::from_document::<mongodb::options::Collation>(c.as_ref().clone())
                .context("reading the index collation")?,
        );
    }
    let out: Vec<Document> = agg
        .await
        .map_err(|e| anyhow::anyhow!(describe_driver_error(&e)))?
        .try_collect()
        .await?;
    let first = out.into_iter().next().unwrap_or_default();
    let count = first
        .get_array("count")
        .ok()
        .and_then(|a| a.first())
        .and_then(|d| d.as_document())
        .and_then(|d| d.get("groups"))
        .and_then(|g| match g {
            Bson::Int32(i) => Some(*i as u64),
            Bson::Int64(i) => Some(*i as u64),
            _ => None,
        })
        .unwrap_or(0);
    let sample_ids = first
        .get_array("samples")
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_document()?.get("first").cloned())
                .collect()
        })
        .unwrap_or_default();
    Ok(SafetyReport {
        count,
        sample_ids,
        unevaluable: None,
    })
}
