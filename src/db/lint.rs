//! `mongrate lint --uri`: the findings informed by the data — how many documents a tightened
//! schema would refuse, how many a new or shorter TTL would delete at once, whether an index
//! to be dropped was used since the server started (and its size), and duplicate groups under
//! a new unique index.

use super::describe_driver_error;
use crate::lint::Finding;
use crate::spec::SchemaSpec;
use anyhow::Result;
use bson::{DateTime, Document, doc};
use futures_util::TryStreamExt;
use mongodb::Client;
use std::collections::HashMap;

fn err(e: mongodb::error::Error) -> anyhow::Error {
    anyhow::anyhow!(describe_driver_error(&e))
}

/// Fill `count` and `evidence` of the findings the data can inform (read-only).
pub async fn inform(
    client: &Client,
    state_db: &str,
    old: &SchemaSpec,
    new: &SchemaSpec,
    findings: &mut [Finding],
) -> Result<()> {
    // Documents failing the new validator, once per collection.
    let mut failing: HashMap<(String, String), u64> = HashMap::new();
    for f in findings.iter_mut() {
        let coll = client
            .database(&f.database)
            .collection::<Document>(&f.collection);
        let new_spec = new.collection(&f.database, &f.collection);
        match f.rule {
            "field-required-added"
            | "field-required-with-default"
            | "field-type-changed"
            | "field-renamed"
            | "enum-value-removed"
            | "constraint-tightened"
            | "validation-action-error"
            | "validation-level-strict" => {
                let Some(validator) = new_spec.and_then(crate::jsonschema::declared_validator)
                else {
                    continue;
                };
                let key = (f.database.clone(), f.collection.clone());
                let n = match failing.get(&key) {
                    Some(n) => *n,
                    None => {
                        let n = coll
                            .count_documents(doc! { "$nor": [validator] })
                            .await
                            .map_err(err)?;
                        failing.insert(key, n);
                        n
                    }
                };
                f.count = Some(n);
                f.evidence = Some(format!(
                    "{n} existing document(s) fail the new schema of {}.{}",
                    f.database, f.collection
                ));
            }
            "ttl-added" | "ttl-shortened" => {
                let Some(index) = new_spec
                    .and_then(|c| c.indexes.iter().find(|i| Some(&i.name) == f.index.as_ref()))
                else {
                    continue;
                };
                let (Some(ttl), Some((field, _))) = (index.expire_after, index.keys.first()) else {
                    continue;
                };
                let cutoff = DateTime::from_millis(DateTime::now().timestamp_millis() - ttl * 1000);
                let n = coll
                    .count_documents(doc! { field.clone(): { "$lt": cutoff } })
                    .await
                    .map_err(err)?;
                f.count = Some(n);
                f.evidence = Some(format!(
                    "{n} document(s) have `{field}` older than {ttl}s: the first TTL pass deletes them at once"
                ));
            }
            "index-dropped" | "index-replaced" | "index-retired" => {
                let Some(name) = f.index.clone() else {
                    continue;
                };
                // For a replacement the index named is the new one; the old one has the keys.
                let old_name = if f.rule == "index-replaced" {
                    let new_index =
                        new_spec.and_then(|c| c.indexes.iter().find(|i| i.name == name));
                    old.collection(&f.database, &f.collection)
                        .and_then(|c| {
                            c.indexes.iter().find(|i| {
                                i.name == name || new_index.is_some_and(|n| n.keys == i.keys)
                            })
                        })
                        .map(|i| i.name.clone())
                        .unwrap_or(name)
                } else {
                    name
                };
                let stats: Vec<Document> = coll
                    .aggregate(vec![
                        doc! { "$indexStats": {} },
                        doc! { "$match": { "name": &old_name } },
                    ])
                    .await
                    .map_err(err)?
                    .try_collect()
                    .await
                    .map_err(err)?;
                let Some(s) = stats.first() else {
                    f.evidence = Some(format!("index `{old_name}` is not on the server"));
                    continue;
                };
                let accesses = s.get_document("accesses").ok();
                let ops = accesses
                    .and_then(|a| a.get("ops"))
                    .and_then(|o| match o {
                        bson::Bson::Int64(n) => Some(*n as u64),
                        bson::Bson::Int32(n) => Some(*n as u64),
                        _ => None,
                    })
                    .unwrap_or(0);
                let since = accesses
                    .and_then(|a| a.get_datetime("since").ok())
                    .map(|d| d.try_to_rfc3339_string().unwrap_or_default())
                    .unwrap_or_default();
                let size = client
                    .database(&f.database)
                    .run_command(doc! { "collStats": &f.collection })
                    .await
                    .ok()
                    .and_then(|s| s.get_document("indexSizes").ok().cloned())
                    .and_then(|s| match s.get(&old_name) {
                        Some(bson::Bson::Int32(n)) => Some(*n as u64),
                        Some(bson::Bson::Int64(n)) => Some(*n as u64),
                        Some(bson::Bson::Double(n)) => Some(*n as u64),
                        _ => None,
                    })
                    .unwrap_or(0);
                f.count = Some(ops);
                let mut evidence = format!(
                    "index `{old_name}` served {ops} operation(s) since {since} (the counter restarts with the server), {:.1} MiB",
                    size as f64 / 1_048_576.0
                );
                if let Some(after) = new_spec.and_then(|c| c.retire_after) {
                    let phase = retire_phase(client, state_db, f, &old_name, after).await?;
                    evidence.push_str(&format!("; {phase}"));
                }
                f.evidence = Some(evidence);
            }
            "unique-index-added" => {
                let Some(index) = new_spec
                    .and_then(|c| c.indexes.iter().find(|i| Some(&i.name) == f.index.as_ref()))
                else {
                    continue;
                };
                let report = super::safety::duplicates(&coll, index).await?;
                f.count = Some(report.count);
                f.evidence = Some(format!(
                    "{} group(s) of documents share a key of `{}` today",
                    report.count, index.name
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Which phase of its retirement an index is in, in words.
async fn retire_phase(
    client: &Client,
    state_db: &str,
    f: &Finding,
    name: &str,
    after: i64,
) -> Result<String> {
    use crate::plan::{RetirePhase, rfc3339};
    let hidden = super::inspect::index_hidden(client, &f.database, &f.collection, name).await?;
    let records = super::retire::read(client, state_db, std::slice::from_ref(&f.database)).await?;
    let at = records
        .get(&(f.database.clone(), f.collection.clone(), name.to_string()))
        .copied();
    let now = super::retire::now();
    Ok(match crate::plan::retire_phase(hidden, at, after, now) {
        (RetirePhase::Visible, _) => {
            "retirement phase 1 not started: still visible; `apply --prune` hides it".to_string()
        }
        (RetirePhase::Hidden, drop_after) => format!(
            "retirement phase 1: hidden since {}, may be dropped from {}",
            rfc3339(at.unwrap_or_default()),
            rfc3339(drop_after.unwrap_or_default())
        ),
        (RetirePhase::Due, _) => format!(
            "retirement phase 2 due: hidden since {}; `apply --prune --allow-destructive` drops it",
            rfc3339(at.unwrap_or_default())
        ),
    })
}
