//! Data jobs, the pure part: what a batched, resumable rewrite of documents does. A migration's
//! `update_many`, `rename_field` and `evolve_field` become a [`Job`]: the documents that still
//! need the change (`todo`), the update that makes the change, and whether the update takes a
//! document out of `todo` (then passes repeat until none is left: writes that arrive in the old
//! shape while the job runs are caught up). `db::job` runs it in batches by `_id` range.

use crate::ops::Operation;
use bson::{Bson, Document, doc};
use serde::Serialize;
use std::time::Duration;

/// Where a BSON type sorts among `_id` values (MongoDB's comparison order), with its aliases.
const TYPE_ORDER: &[&[&str]] = &[
    &["null"],
    &["int", "long", "double", "decimal"],
    &["string", "symbol"],
    &["object"],
    &["array"],
    &["binData"],
    &["objectId"],
    &["bool"],
    &["date"],
    &["timestamp"],
    &["regex"],
];

fn type_rank(b: &Bson) -> usize {
    let alias = match b {
        Bson::Null => "null",
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => "int",
        Bson::String(_) | Bson::Symbol(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(_) => "binData",
        Bson::ObjectId(_) => "objectId",
        Bson::Boolean(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::Timestamp(_) => "timestamp",
        Bson::RegularExpression(_) => "regex",
        _ => "objectId",
    };
    TYPE_ORDER
        .iter()
        .position(|t| t.contains(&alias))
        .unwrap_or(6)
}

/// `_id` after `last` in `_id` order, across type brackets (`$gt` alone stays within one type).
pub fn after(last: &Bson) -> Document {
    let later: Vec<Bson> = TYPE_ORDER[type_rank(last) + 1..]
        .iter()
        .flat_map(|t| t.iter().map(|a| Bson::String(a.to_string())))
        .collect();
    doc! { "$or": [ { "_id": { "$gt": last.clone() } }, { "_id": { "$type": later } } ] }
}

/// The documents of one batch: an `_id` range when its ends share a type, else the ids.
pub fn batch_filter(ids: &[Bson]) -> Document {
    let (first, last) = (&ids[0], &ids[ids.len() - 1]);
    if type_rank(first) == type_rank(last) {
        doc! { "_id": { "$gte": first.clone(), "$lte": last.clone() } }
    } else {
        doc! { "_id": { "$in": ids.to_vec() } }
    }
}

/// Both conditions (an empty one is left out).
pub fn and(a: Document, b: Document) -> Document {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b,
        (_, true) => a,
        _ => doc! { "$and": [a, b] },
    }
}

/// The lock a migration holds: each batch checks (and touches) it in its transaction.
#[derive(Debug, Clone)]
pub struct Fence {
    pub state_db: String,
    pub lock_id: String,
    pub owner_id: String,
    pub token: i64,
}

/// Where a job keeps its checkpoint.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub state_db: String,
    pub key: String,
}

/// How a job runs (an operation's own `batch_size` and rate win).
#[derive(Debug, Clone)]
pub struct Options {
    pub batch_size: usize,
    pub max_docs_per_sec: Option<u64>,
    pub max_lag: Option<Duration>,
    pub retry_for: Duration,
    pub checkpoint: Option<Checkpoint>,
    pub fence: Option<Fence>,
    /// Passes over the old shape before the job stops catching up and reports what remains.
    pub max_passes: u32,
    /// The state database, where the migrate phase of an evolution records that it finished.
    pub state_db: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            max_docs_per_sec: None,
            max_lag: Some(Duration::from_secs(10)),
            retry_for: Duration::from_secs(60),
            checkpoint: None,
            fence: None,
            max_passes: 20,
            state_db: None,
        }
    }
}

/// An update: a document of operators, or a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    Operators(Document),
    Pipeline(Vec<Document>),
}

/// A batched rewrite of the documents of one collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub db: String,
    pub collection: String,
    /// What a person reads in progress and errors (`rename_field app.users email → mail`).
    pub label: String,
    /// The documents that still need the change.
    pub todo: Document,
    pub update: Update,
    /// The update takes a document out of `todo`: passes repeat until none is left (writes in
    /// the old shape that arrive meanwhile are caught up). Otherwise one pass, each document
    /// at most once (an `update_many` whose filter the update may not leave).
    pub converges: bool,
    /// Changes when the job's meaning changes: a checkpoint of another job is not resumed.
    pub signature: String,
    /// Per operation: documents per batch, and at most this many documents a second.
    pub batch_size: Option<usize>,
    pub max_docs_per_sec: Option<u64>,
    /// The documents the update cannot be applied to, when the server can tell without
    /// failing (a conversion's values it cannot convert): left out of updates, and listed.
    pub refused: Option<Document>,
}

/// An update document or pipeline from a migration file's `update:`.
pub fn update_of(update: &Bson) -> Result<Update, String> {
    match update {
        Bson::Document(d) => Ok(Update::Operators(d.clone())),
        Bson::Array(stages) => {
            let pipeline: Vec<Document> = stages
                .iter()
                .filter_map(|s| s.as_document().cloned())
                .collect();
            if pipeline.len() != stages.len() {
                return Err("every pipeline stage must be a document".into());
            }
            Ok(Update::Pipeline(pipeline))
        }
        other => Err(format!(
            "`update` must be a document or a pipeline, found {other}"
        )),
    }
}

/// The job an operation is, if it rewrites documents (`backfill` has its own engine).
pub fn of(op: &Operation) -> Option<Result<Job, String>> {
    let signature = |op: &Operation| {
        use sha2::{Digest, Sha256};
        let text = serde_json::to_string(op).unwrap_or_default();
        hex::encode(&Sha256::digest(text.as_bytes())[..8])
    };
    let job = match op {
        Operation::UpdateMany {
            db,
            collection,
            filter,
            update,
            batch_size,
            max_docs_per_sec,
        } => update_of(update).map(|update| Job {
            db: db.clone(),
            collection: collection.clone(),
            label: op.summary(),
            todo: filter.clone(),
            update,
            converges: false,
            signature: signature(op),
            batch_size: *batch_size,
            max_docs_per_sec: *max_docs_per_sec,
            refused: None,
        }),
        Operation::RenameField {
            db,
            collection,
            from,
            to,
            batch_size,
            max_docs_per_sec,
        } => Ok(Job {
            db: db.clone(),
            collection: collection.clone(),
            label: op.summary(),
            todo: doc! { from: { "$exists": true }, to: { "$exists": false } },
            update: Update::Operators(doc! { "$rename": { from: to } }),
            converges: true,
            signature: signature(op),
            batch_size: *batch_size,
            max_docs_per_sec: *max_docs_per_sec,
            refused: None,
        }),
        Operation::EvolveField {
            db,
            collection,
            field,
            from,
            convert,
            types,
            batch_size,
            max_docs_per_sec,
        } => {
            if from.is_none() && types.is_empty() {
                Err(format!(
                    "evolve_field {field}: without `from`, `types` says which values are already in the new shape"
                ))
            } else {
                Ok(Job {
                    db: db.clone(),
                    collection: collection.clone(),
                    label: op.summary(),
                    todo: crate::evolve::old_shape(field, from.as_deref(), types),
                    update: Update::Pipeline(crate::evolve::update(
                        field,
                        from.as_deref(),
                        convert.as_ref(),
                    )),
                    converges: true,
                    signature: signature(op),
                    batch_size: *batch_size,
                    max_docs_per_sec: *max_docs_per_sec,
                    refused: convert
                        .as_ref()
                        .and_then(|c| crate::evolve::unconvertible(field, from.as_deref(), c)),
                })
            }
        }
        _ => return None,
    };
    Some(job)
}

/// A document the update could not be applied to (a value the conversion refuses, a document
/// the validator rejects): never dropped or nulled, reported by `_id`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Failure {
    /// The document's `_id`, as Extended JSON.
    pub id: String,
    /// What the server said.
    pub error: String,
    /// The `_id` itself (later passes leave the document alone).
    #[serde(skip)]
    #[schemars(skip)]
    pub raw: Option<Bson>,
}

impl Failure {
    pub fn new(id: &Bson, error: String) -> Self {
        Self {
            id: id.clone().into_relaxed_extjson().to_string(),
            error,
            raw: Some(id.clone()),
        }
    }
}

/// At most this many documents may fail in one job: more, and the conversion is wrong rather
/// than a few values (the job stops, saying so).
pub const FAILURES_KEPT: usize = 10_000;

/// What a job did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub db: String,
    pub collection: String,
    pub label: String,
    /// Documents examined: every `_id` of the first pass, then those each later pass found still
    /// needing the change.
    pub matched: u64,
    pub modified: u64,
    /// Passes over the collection: the first, then one per round of catching up.
    pub passes: u32,
    /// Documents that could not be changed, by `_id` (at most 10,000).
    pub failed: Vec<Failure>,
    pub failed_total: u64,
    /// Documents still needing the change when the job stopped catching up (writes that keep
    /// arriving in the old shape), the failed ones not included.
    pub remaining: u64,
    /// Carried on from a checkpoint of an interrupted run.
    pub resumed: bool,
    pub elapsed_ms: u64,
}

impl Report {
    /// One more document that could not be changed; `false` once there are too many.
    pub fn add_failure(&mut self, f: Failure) -> bool {
        self.failed_total += 1;
        self.failed.push(f);
        self.failed.len() <= FAILURES_KEPT
    }
}

/// A batch of `n` documents (at least 16) whose every document failed alone with the same
/// error: the update itself is wrong (a bad pipeline), not the documents.
pub fn systemic(n: usize, failures: &[Failure]) -> bool {
    n >= 16 && failures.len() == n && failures.windows(2).all(|w| w[0].error == w[1].error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_a_range_when_its_ends_share_a_type() {
        let f = batch_filter(&[Bson::Int32(1), Bson::Int32(9)]);
        assert_eq!(f, doc! { "_id": { "$gte": 1, "$lte": 9 } });
        let f = batch_filter(&[Bson::Int32(1), Bson::String("a".into())]);
        assert_eq!(f, doc! { "_id": { "$in": [1, "a"] } });
        let a = after(&Bson::String("x".into()));
        assert!(a.to_string().contains("objectId"), "{a}");
    }

    #[test]
    fn a_rename_is_a_job_that_converges() {
        let op = Operation::RenameField {
            db: "app".into(),
            collection: "users".into(),
            from: "email".into(),
            to: "mail".into(),
            batch_size: Some(10),
            max_docs_per_sec: None,
        };
        let job = of(&op).unwrap().unwrap();
        assert!(job.converges);
        assert_eq!(
            job.todo,
            doc! { "email": { "$exists": true }, "mail": { "$exists": false } }
        );
        assert_eq!(job.batch_size, Some(10));
        let um = Operation::UpdateMany {
            db: "app".into(),
            collection: "users".into(),
            filter: doc! { "a": 1 },
            update: Bson::Array(vec![Bson::Int32(1)]),
            batch_size: None,
            max_docs_per_sec: None,
        };
        assert!(
            of(&um).unwrap().is_err(),
            "a pipeline stage that is not a document"
        );
        assert!(
            of(&Operation::DropCollection {
                db: "a".into(),
                collection: "b".into()
            })
            .is_none()
        );
    }

    #[test]
    fn the_same_error_on_every_document_is_the_updates_fault() {
        let f = |e: &str| Failure::new(&Bson::Int32(1), e.into());
        let all = |e: &str, n: usize| vec![f(e); n];
        assert!(systemic(16, &all("bad", 16)));
        let mut mixed = all("bad", 15);
        mixed.push(f("other"));
        assert!(!systemic(16, &mixed));
        assert!(!systemic(17, &all("bad", 16)), "one went through");
        assert!(!systemic(2, &all("bad", 2)), "two bad values are values");
    }
}
