//! `mongrate lint --uri`: the findings informed by the data — how many documents a tightened
//! schema would refuse, how many a new or shorter TTL would delete at once, whether an index
//! to be dropped was used since the server started (and its size), and duplicate groups under
//! a new unique index.

use super::describe_driver_error;
use crate::lint::{Finding, Question};
use crate::spec::SchemaSpec;
use anyhow::Result;
use bson::{DateTime, Document, doc};
use futures_util::TryStreamExt;
use mongodb::Client;
use std::collections::BTreeMap;

fn err(e: mongodb::error::Error) -> anyhow::Error {
    anyhow::anyhow!(describe_driver_error(&e))
}

/// Fill `count` and `evidence` of the findings the data can inform (read-only). `targets`
/// gives, for a template (`tenant_*`), the databases on the server it covers: a finding about
/// a template is counted in every one of them, and says where.
pub async fn inform(
    client: &Client,
    state_db: &str,
    old: &SchemaSpec,
    new: &SchemaSpec,
    findings: &mut [Finding],
    targets: &BTreeMap<String, Vec<String>>,
) -> Result<()> {
    // Index use first: the counts below read the collections, and a read an index serves
    // would count as a use of it.
    let (mut usage, mut rest): (Vec<&mut Finding>, Vec<&mut Finding>) = findings
        .iter_mut()
        .partition(|f| f.rule.starts_with("index-"));
    for f in usage.iter_mut().chain(rest.iter_mut()) {
        let databases = targets
            .get(&f.database)
            .cloned()
            .unwrap_or_else(|| vec![f.database.clone()]);
        if databases.is_empty() {
            f.count = Some(0);
            f.evidence = Some(format!(
                "no database on the server matches `{}` (nothing to count)",
                f.database
            ));
            continue;
        }
        let mut per_db: Vec<(String, u64, String)> = Vec::new();
        for db in &databases {
            if let Some((n, evidence)) = one(client, state_db, old, new, f, db).await? {
                per_db.push((db.clone(), n, evidence));
            }
        }
        match per_db.as_slice() {
            [] => {}
            [(_, n, evidence)] if databases.len() == 1 => {
                f.count = Some(*n);
                f.evidence = Some(evidence.clone());
            }
            _ => {
                let total: u64 = per_db.iter().map(|(_, n, _)| n).sum();
                let mut with: Vec<&(String, u64, String)> =
                    per_db.iter().filter(|(_, n, _)| *n > 0).collect();
                with.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let shown: Vec<String> = with
                    .iter()
                    .take(5)
                    .map(|(db, _, evidence)| format!("{db}: {evidence}"))
                    .collect();
                let more = with.len().saturating_sub(shown.len());
                let none = per_db.len() - with.len();
                let mut evidence = format!(
                    "{} in {} the template covers",
                    crate::progress::thousands(total),
                    crate::progress::count(per_db.len() as u64, "database"),
                );
                if !shown.is_empty() {
                    evidence.push_str(&format!(" — {}", shown.join("; ")));
                }
                if more > 0 {
                    evidence.push_str(&format!(
                        "; {} more with some",
                        crate::progress::count(more as u64, "database")
                    ));
                }
                if none > 0 && !shown.is_empty() {
                    evidence.push_str(&format!(
                        "; {} with none",
                        crate::progress::count(none as u64, "database")
                    ));
                }
                f.count = Some(total);
                f.evidence = Some(evidence);
            }
        }
    }
    Ok(())
}

/// The count and evidence of finding `f` in database `db` (`None`: the data has nothing to
/// say about it).
async fn one(
    client: &Client,
    state_db: &str,
    old: &SchemaSpec,
    new: &SchemaSpec,
    f: &Finding,
    db: &str,
) -> Result<Option<(u64, String)>> {
    let coll = client.database(db).collection::<Document>(&f.collection);
    let new_spec = new.collection(&f.database, &f.collection);
    if let Some(q) = &f.question {
        let docs = |n: u64| crate::progress::count(n, "document");
        return Ok(match q {
            Question::Failing { schema, what } => {
                let n = super::audit::count_failing(&coll, &doc! { "$jsonSchema": schema.clone() })
                    .await?;
                Some((n, format!("{} {what}", docs(n))))
            }
            Question::NewValidator => {
                let Some(validator) =
                    new_spec.and_then(crate::spec::jsonschema::declared_validator)
                else {
                    return Ok(None);
                };
                let n = super::audit::count_failing(&coll, &validator).await?;
                Some((
                    n,
                    format!("{} fail the new schema of {db}.{}", docs(n), f.collection),
                ))
            }
            Question::Documents => {
                let n = coll.estimated_document_count().await.map_err(err)?;
                Some((n, format!("{db}.{} holds ~{}", f.collection, docs(n))))
            }
        });
    }
    Ok(match f.rule {
        "ttl-added" | "ttl-shortened" => {
            let Some(index) =
                new_spec.and_then(|c| c.indexes.iter().find(|i| Some(&i.name) == f.index.as_ref()))
            else {
                return Ok(None);
            };
            let (Some(ttl), Some((field, _))) = (index.expire_after, index.keys.first()) else {
                return Ok(None);
            };
            let cutoff = DateTime::from_millis(DateTime::now().timestamp_millis() - ttl * 1000);
            let n = coll
                .count_documents(doc! { field.clone(): { "$lt": cutoff } })
                .await
                .map_err(err)?;
            Some((
                n,
                format!(
                    "{} have `{field}` older than {}: the first TTL pass deletes them at once",
                    crate::progress::count(n, "document"),
                    crate::plan::show_duration(ttl)
                ),
            ))
        }
        "index-dropped" | "index-replaced" | "index-retired" => {
            let Some(name) = f.index.clone() else {
                return Ok(None);
            };
            // For a replacement the index named is the new one; the old one has the keys.
            let old_name = if f.rule == "index-replaced" {
                let new_index = new_spec.and_then(|c| c.indexes.iter().find(|i| i.name == name));
                old.collection(&f.database, &f.collection)
                    .and_then(|c| {
                        c.indexes
                            .iter()
                            .find(|i| i.name == name || new_index.is_some_and(|n| n.keys == i.keys))
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
                return Ok(Some((
                    0,
                    format!("index `{old_name}` is not on the server"),
                )));
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
                .database(db)
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
            let mut evidence = format!(
                "index `{old_name}` served {} since {since} (the counter restarts with the server), {:.1} MiB",
                crate::progress::count(ops, "operation"),
                size as f64 / 1_048_576.0
            );
            if let Some(after) = new_spec.and_then(|c| c.retire_after) {
                let phase = retire_phase(client, state_db, f, db, &old_name, after).await?;
                evidence.push_str(&format!("; {phase}"));
            }
            Some((ops, evidence))
        }
        "unique-index-added" => {
            let Some(index) =
                new_spec.and_then(|c| c.indexes.iter().find(|i| Some(&i.name) == f.index.as_ref()))
            else {
                return Ok(None);
            };
            let report = super::safety::duplicates(&coll, index).await?;
            Some((
                report.count,
                format!(
                    "{} of documents share a key of `{}` today",
                    crate::progress::count(report.count, "group"),
                    index.name
                ),
            ))
        }
        _ => None,
    })
}

/// Which phase of its retirement an index is in, in words.
async fn retire_phase(
    client: &Client,
    state_db: &str,
    f: &Finding,
    db: &str,
    name: &str,
    after: i64,
) -> Result<String> {
    use crate::plan::{RetirePhase, rfc3339};
    let hidden = super::inspect::index_hidden(client, db, &f.collection, name).await?;
    let records = super::retire::read(client, state_db, &[db.to_string()]).await?;
    let at = records
        .get(&(db.to_string(), f.collection.clone(), name.to_string()))
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
