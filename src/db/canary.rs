//! The validator canary against the server: a change stream on the collection says which
//! documents live traffic writes; about once a second the server checks those documents
//! against the candidate validator (and, for the invalid ones, each field's part of it).

use super::retry::driver_error;
use crate::canary::{Canary, FieldCount, Threshold, field_checks};
use crate::progress::Reporter;
use anyhow::Result;
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use mongodb::Client;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Watch `db.collection` for `duration` and judge the writes by `validator`.
pub async fn watch(
    client: &Client,
    db: &str,
    collection: &str,
    validator: &Document,
    duration: Duration,
    threshold: Threshold,
    reporter: &mut dyn Reporter,
) -> Result<Canary> {
    let coll = client.database(db).collection::<Document>(collection);
    let mut stream = coll
        .watch()
        .pipeline(vec![
            doc! { "$match": { "operationType": { "$in": ["insert", "update", "replace"] } } },
            doc! { "$project": { "documentKey": 1, "operationType": 1, "ns": 1 } },
        ])
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "{db}.{collection}: cannot watch live writes ({}); the canary needs a replica set and the `changeStream` action",
                super::describe_driver_error(&e)
            )
        })?;
    let checks = field_checks(validator);
    let started = Instant::now();
    let deadline = started + duration;
    let mut out = Canary {
        max_invalid: threshold.show(),
        ..Default::default()
    };
    let mut by_field: BTreeMap<String, u64> = BTreeMap::new();
    let mut pending: Vec<Bson> = Vec::new();
    let mut last_check = Instant::now();
    let what = format!("canary {db}.{collection}");
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let wait = (deadline - now).min(Duration::from_millis(250));
        match tokio::time::timeout(wait, stream.try_next()).await {
            Ok(Ok(Some(event))) => {
                if let Some(id) = event.document_key.as_ref().and_then(|k| k.get("_id")) {
                    pending.push(id.clone());
                }
            }
            Ok(Ok(None)) => break,
            Ok(Err(e)) => return Err(driver_error(e).context(what)),
            Err(_) => {}
        }
        if !pending.is_empty()
            && (last_check.elapsed() >= Duration::from_secs(1) || pending.len() >= 1000)
        {
            judge(
                &coll,
                validator,
                &checks,
                &mut pending,
                &mut out,
                &mut by_field,
            )
            .await?;
            last_check = Instant::now();
            let left = deadline.saturating_duration_since(Instant::now()).as_secs();
            reporter.step_progress(
                &what,
                (started.elapsed().as_secs() * 100)
                    .checked_div(duration.as_secs().max(1))
                    .unwrap_or(100)
                    .min(100),
                &format!(
                    "{} written, {} invalid, {left}s left",
                    crate::progress::thousands(out.writes),
                    crate::progress::thousands(out.invalid)
                ),
            );
        }
    }
    if !pending.is_empty() {
        judge(
            &coll,
            validator,
            &checks,
            &mut pending,
            &mut out,
            &mut by_field,
        )
        .await?;
    }
    out.seconds = started.elapsed().as_secs();
    out.by_field = by_field
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(field, documents)| FieldCount { field, documents })
        .collect();
    out.passed = threshold.allows(out.invalid, out.writes);
    Ok(out)
}

/// Check the documents written since the last time (each once, as they are now).
async fn judge(
    coll: &mongodb::Collection<Document>,
    validator: &Document,
    checks: &[(String, Document)],
    pending: &mut Vec<Bson>,
    out: &mut Canary,
    by_field: &mut BTreeMap<String, u64>,
) -> Result<()> {
    let mut ids = std::mem::take(pending);
    ids.sort_by_key(|b| b.to_string());
    ids.dedup();
    out.writes += ids.len() as u64;
    let invalid: Vec<Bson> = coll
        .find(doc! { "_id": { "$in": ids }, "$nor": [validator.clone()] })
        .projection(doc! { "_id": 1 })
        .await
        .map_err(driver_error)?
        .try_collect::<Vec<Document>>()
        .await
        .map_err(driver_error)?
        .into_iter()
        .filter_map(|d| d.get("_id").cloned())
        .collect();
    out.invalid += invalid.len() as u64;
    if invalid.is_empty() {
        return Ok(());
    }
    for (field, check) in checks {
        let mut q = check.clone();
        q.insert("_id", doc! { "$in": invalid.clone() });
        let n = coll.count_documents(q).await.map_err(driver_error)?;
        *by_field.entry(field.clone()).or_default() += n;
    }
    Ok(())
}
