//! `check --data` against the server: one aggregation per collection, computed server-side.

use super::describe_driver_error;
use crate::spec::CollectionSpec;
use anyhow::{Result, anyhow};
use bson::{Bson, Document};
use futures_util::TryStreamExt;
use mongodb::Client;

pub use crate::audit::{AuditReport, ReasonCount};

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

/// Did the server refuse to *evaluate* the query on some document (an expression such as
/// `$multiply` meeting an object), rather than refuse the query or fail to answer? Such a
/// document fails the validator: the server answers 121 when it is written.
fn evaluation_error(e: &mongodb::error::Error) -> Option<String> {
    use mongodb::error::ErrorKind;
    match e.kind.as_ref() {
        ErrorKind::Command(c)
            if c.code != 13
                && c.code != 18
                && !crate::resilience::is_transient_code(c.code)
                && !e.contains_label("RetryableWriteError") =>
        {
            Some(format!("{} (code {}, {})", c.message, c.code, c.code_name))
        }
        _ => None,
    }
}

/// The documents a validator refuses: how many, up to five of their `_id`s, and those on which
/// its expression raised an error (counted among them), with the server's message.
#[derive(Debug, Clone, Default)]
pub struct Violators {
    pub count: u64,
    pub sample_ids: Vec<Bson>,
    pub unevaluable: u64,
    pub error: Option<String>,
}

/// The reason a document the validator cannot be evaluated on is reported with.
pub fn unevaluable_reason(error: &str) -> String {
    format!("validator error: its expression cannot be evaluated on the document ({error})")
}

/// The documents of `coll` that `validator` (a query document: `{ $jsonSchema: ... }`, a raw
/// validator) refuses. A collection scan, never an index: the server may turn a schema into a
/// query an index can serve, and `lint` must not count its own reads in an index's use. A
/// document on which the validator's expression raises an error is counted as failing (see
/// [`violators`]).
pub async fn count_failing(
    coll: &mongodb::Collection<Document>,
    validator: &Document,
) -> Result<u64> {
    Ok(violators(coll, validator).await?.count)
}

/// The documents of `coll` that `validator` refuses, with up to five `_id`s. When the server
/// cannot evaluate the validator on some document, the collection is gone through by `_id` in
/// batches of 1,000, a batch that raises the error halved until the documents that raise it are
/// found: each is counted as failing, as the server would refuse it.
pub async fn violators(
    coll: &mongodb::Collection<Document>,
    validator: &Document,
) -> Result<Violators> {
    let natural = mongodb::options::Hint::Keys(bson::doc! { "$natural": 1 });
    let failing = bson::doc! { "$nor": [validator.clone()] };
    let whole = async {
        let count = coll
            .count_documents(failing.clone())
            .hint(natural.clone())
            .await?;
        let sample_ids = if count > 0 {
            sample_ids(coll, &failing).await?
        } else {
            Vec::new()
        };
        Ok::<_, mongodb::error::Error>(Violators {
            count,
            sample_ids,
            ..Default::default()
        })
    }
    .await;
    let first_error = match whole {
        Ok(v) => return Ok(v),
        Err(e) => match evaluation_error(&e) {
            Some(why) => why,
            None => return Err(anyhow!(describe_driver_error(&e))),
        },
    };
    let mut out = Violators {
        error: Some(first_error),
        ..Default::default()
    };
    let mut ids = coll
        .find(bson::doc! {})
        .projection(bson::doc! { "_id": 1 })
        .sort(bson::doc! { "_id": 1 })
        .batch_size(1000)
        .await
        .map_err(|e| anyhow!(describe_driver_error(&e)))?;
    let mut chunk: Vec<Bson> = Vec::new();
    loop {
        let next = ids
            .try_next()
            .await
            .map_err(|e| anyhow!(describe_driver_error(&e)))?;
        if let Some(d) = &next
            && let Some(id) = d.get("_id")
        {
            chunk.push(id.clone());
        }
        if chunk.len() == 1000 || (next.is_none() && !chunk.is_empty()) {
            by_halves(coll, &failing, std::mem::take(&mut chunk), &mut out).await?;
        }
        if next.is_none() {
            return Ok(out);
        }
    }
}

/// Up to five `_id`s of the documents matching `filter`.
async fn sample_ids(
    coll: &mongodb::Collection<Document>,
    filter: &Document,
) -> mongodb::error::Result<Vec<Bson>> {
    let docs: Vec<Document> = coll
        .find(filter.clone())
        .projection(bson::doc! { "_id": 1 })
        .limit(5)
        .await?
        .try_collect()
        .await?;
    Ok(docs
        .into_iter()
        .filter_map(|d| d.get("_id").cloned())
        .collect())
}

/// Count the documents of `ids` matching `failing`; a batch the server cannot evaluate is
/// halved until single documents, which are counted as failing.
async fn by_halves(
    coll: &mongodb::Collection<Document>,
    failing: &Document,
    ids: Vec<Bson>,
    out: &mut Violators,
) -> Result<()> {
    let mut stack = vec![ids];
    while let Some(ids) = stack.pop() {
        let mut filter = failing.clone();
        filter.insert("_id", bson::doc! { "$in": ids.clone() });
        match coll.count_documents(filter.clone()).await {
            Ok(n) => {
                out.count += n;
                if n > 0 && out.sample_ids.len() < 5 {
                    for id in sample_ids(coll, &filter)
                        .await
                        .map_err(|e| anyhow!(describe_driver_error(&e)))?
                    {
                        if out.sample_ids.len() < 5 {
                            out.sample_ids.push(id);
                        }
                    }
                }
            }
            Err(e) => {
                let Some(why) = evaluation_error(&e) else {
                    return Err(anyhow!(describe_driver_error(&e)));
                };
                if ids.len() == 1 {
                    out.count += 1;
                    out.unevaluable += 1;
                    out.error.get_or_insert(why);
                    if out.sample_ids.len() < 5 {
                        out.sample_ids.push(ids[0].clone());
                    }
                } else {
                    let half = ids.len() / 2;
                    let (a, b) = ids.split_at(half);
                    stack.push(b.to_vec());
                    stack.push(a.to_vec());
                }
            }
        }
    }
    Ok(())
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
    let mut report = AuditReport {
        db: spec.database.clone(),
        collection: spec.name.clone(),
        examined: 0,
        sampled: sample.is_some(),
        failing: 0,
        reasons: Vec::new(),
    };
    match run_audit(&coll, pipeline).await {
        Ok(top) => {
            add_facets(&mut report, &top);
            return Ok(report);
        }
        Err(e) if evaluation_error(&e).is_none() => {
            return Err(anyhow!(describe_driver_error(&e)));
        }
        Err(_) => {}
    }
    // The validator raises an error on some document: audit by batches of `_id`s, halving a
    // batch that raises it down to the documents that do, each counted as failing.
    let ids: Vec<Bson> = {
        let mut stages = Vec::new();
        if let Some(n) = sample {
            stages.push(bson::doc! { "$sample": { "size": n as i64 } });
        }
        stages.push(bson::doc! { "$project": { "_id": 1 } });
        let docs: Vec<Document> = coll
            .aggregate(stages)
            .allow_disk_use(true)
            .await
            .map_err(|e| anyhow!(describe_driver_error(&e)))?
            .try_collect()
            .await
            .map_err(|e| anyhow!(describe_driver_error(&e)))?;
        docs.into_iter()
            .filter_map(|mut d| d.remove("_id"))
            .collect()
    };
    let mut stack: Vec<Vec<Bson>> = ids.chunks(1000).rev().map(<[Bson]>::to_vec).collect();
    while let Some(chunk) = stack.pop() {
        let mut stages = vec![bson::doc! { "$match": { "_id": { "$in": chunk.clone() } } }];
        stages.extend(crate::audit::pipeline(spec, validator, None, 5));
        match run_audit(&coll, stages).await {
            Ok(top) => add_facets(&mut report, &top),
            Err(e) => {
                let Some(why) = evaluation_error(&e) else {
                    return Err(anyhow!(describe_driver_error(&e)));
                };
                if chunk.len() == 1 {
                    report.examined += 1;
                    report.failing += 1;
                    merge_reason(&mut report, &unevaluable_reason(&why), 1, &chunk);
                } else {
                    let (a, b) = chunk.split_at(chunk.len() / 2);
                    stack.push(b.to_vec());
                    stack.push(a.to_vec());
                }
            }
        }
    }
    report
        .reasons
        .sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    Ok(report)
}

async fn run_audit(
    coll: &mongodb::Collection<Document>,
    pipeline: Vec<Document>,
) -> mongodb::error::Result<Document> {
    let out: Vec<Document> = coll
        .aggregate(pipeline)
        .allow_disk_use(true)
        .await?
        .try_collect()
        .await?;
    Ok(out.into_iter().next().unwrap_or_default())
}

/// Add one audit aggregation's answer to `report`.
fn add_facets(report: &mut AuditReport, top: &Document) {
    report.examined += first_count(top, "examined");
    report.failing += first_count(top, "failing");
    for r in top
        .get_array("by_reason")
        .map(|a| a.iter().filter_map(|r| r.as_document()).collect::<Vec<_>>())
        .unwrap_or_default()
    {
        merge_reason(
            report,
            r.get_str("_id").unwrap_or("?"),
            n(r.get("count")),
            &r.get_array("sample_ids").cloned().unwrap_or_default(),
        );
    }
}

fn merge_reason(report: &mut AuditReport, reason: &str, count: u64, ids: &[Bson]) {
    let entry = match report.reasons.iter_mut().position(|r| r.reason == reason) {
        Some(i) => &mut report.reasons[i],
        None => {
            report.reasons.push(ReasonCount {
                reason: reason.to_string(),
                count: 0,
                sample_ids: Vec::new(),
            });
            report.reasons.last_mut().expect("just pushed")
        }
    };
    entry.count += count;
    for id in ids {
        if entry.sample_ids.len() < 5 {
            entry.sample_ids.push(id.clone());
        }
    }
}
