//! The planner: semantic [`Change`]s → an ordered [`Plan`] of [`Step`]s. Pure.
//!
//! Order (README "How plan and apply behave"): create collections → create new indexes (including the new half of a
//! replacement) → in-place `collMod` changes (TTL, hidden, unique) → validators → the old half of
//! replacements → drops. Each step carries its reverse where one exists, whether it destroys
//! something, and a one-line reason. Objects no spec declares become notices, and drop steps
//! only with `prune`; drops of undeclared objects need `allow_destructive` or are shown skipped.

use crate::diff::{Change, ChangeKind, same_identity};
use crate::model::{Index, ValidationAction, ValidationLevel};
use crate::ops::Operation;
use bson::{Bson, Document};
use serde::Serialize;

/// What the user allows.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Plan drops of collections and indexes no spec declares.
    pub prune: bool,
    /// Actually run destructive steps (otherwise they are listed as skipped).
    pub allow_destructive: bool,
}

/// `+` creates, `~` changes in place, `-` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Marker {
    #[serde(rename = "+")]
    Create,
    #[serde(rename = "~")]
    Modify,
    #[serde(rename = "-")]
    Remove,
}

impl Marker {
    pub fn symbol(self) -> char {
        match self {
            Self::Create => '+',
            Self::Modify => '~',
            Self::Remove => '-',
        }
    }
}

/// A data check a step needs before it runs (done against the server, shown in the plan).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum SafetyCheck {
    /// Count documents that fail this validator.
    ValidatorViolations { validator: Document },
    /// Count groups of documents that share a key of this (to be) unique index.
    DuplicateKeys { index: Box<Index> },
}

/// What a safety check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SafetyReport {
    /// Documents failing the validator, or duplicate key groups.
    pub count: u64,
    /// Up to five `_id`s (of failing documents, or of one document per duplicate group).
    pub sample_ids: Vec<Bson>,
}

/// One operation of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub db: String,
    pub collection: String,
    pub marker: Marker,
    pub op: Operation,
    /// The operation that undoes this one, when there is one.
    pub reverse: Option<Operation>,
    pub destructive: bool,
    pub reason: String,
    /// For an index build on an existing collection: the documents the build reads (the
    /// collection's estimated count, read from the server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documents: Option<u64>,
    /// Why this step will not run (e.g. needs `--allow-destructive`).
    pub skipped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<SafetyCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety: Option<SafetyReport>,
    /// For validator changes: the old and new validator (for a unified diff).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validator_change: Option<(Option<Document>, Option<Document>)>,
}

impl Step {
    /// Would this step fail or leave invalid documents behind?
    pub fn blocked_by_data(&self) -> bool {
        self.safety.as_ref().is_some_and(|s| s.count > 0)
    }
}

/// A validator that a staged rollout sets at `warn` first, with what it must be tightened to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Staged {
    pub db: String,
    pub collection: String,
    pub validator: Document,
    pub level: ValidationLevel,
    pub action: ValidationAction,
}

impl Plan {
    /// Staged rollout (`apply --rollout`): every runnable validator step that existing documents
    /// fail goes in with `validationAction: warn`; returns what each must be tightened to.
    pub fn stage_rollout(&mut self) -> Vec<Staged> {
        let mut staged = Vec::new();
        for step in self
            .steps
            .iter_mut()
            .filter(|s| s.skipped.is_none() && s.blocked_by_data())
        {
            if let Operation::SetValidator {
                db,
                collection,
                validator: Some(v),
                level,
                action,
            } = &mut step.op
            {
                staged.push(Staged {
                    db: db.clone(),
                    collection: collection.clone(),
                    validator: v.clone(),
                    level: *level,
                    action: *action,
                });
                *action = ValidationAction::Warn;
                step.reason
                    .push_str(" (staged: warn first, then backfill and tighten)");
            }
        }
        staged
    }

    /// Why `apply` must not start: duplicate keys under a unique index (always), documents
    /// failing a new validator (unless allowed, or staged). Empty when it may start.
    pub fn refusals(&self, allow_violations: bool, staged: &[Staged]) -> Vec<String> {
        self.runnable()
            .filter(|s| s.blocked_by_data())
            .filter_map(|s| {
                let r = s.safety.as_ref()?;
                let ids: Vec<String> = r.sample_ids.iter().map(|b| b.to_string()).collect();
                match &s.check {
                    Some(SafetyCheck::DuplicateKeys { index }) => Some(format!(
                        "{}.{}: {} group(s) of documents share a key of unique index `{}` (e.g. _id {}); remove or merge the duplicates, then apply again",
                        s.db, s.collection, r.count, index.name, ids.join(", ")
                    )),
                    Some(SafetyCheck::ValidatorViolations { .. })
                        if !allow_violations
                            && !staged.iter().any(|t| t.db == s.db && t.collection == s.collection) =>
                    {
                        Some(format!(
                            "{}.{}: {} existing document(s) fail the new validator (e.g. _id {}); fill missing fields with `mongrate backfill`, fix the documents, declare `validation: {{ level: moderate }}`, pass --rollout (warn first, backfill, then tighten), or pass --allow-violations",
                            s.db, s.collection, r.count, ids.join(", ")
                        ))
                    }
                    _ => None,
                }
            })
            .collect()
    }
}

/// Something reported but not acted on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    pub db: String,
    pub collection: String,
    pub kind: NoticeKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    UnmanagedCollection,
    UnmanagedIndex,
    NeedsRecreate,
    /// A shard key that cannot change in place, or is not declared.
    ShardKey,
}

/// The whole plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub notices: Vec<Notice>,
}

impl Plan {
    /// Steps that will run.
    pub fn runnable(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.skipped.is_none())
    }

    /// No steps and no notices: the server matches the schemas.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.notices.is_empty()
    }

    /// The part of the plan that concerns database `db`, in the same order.
    pub fn for_database(&self, db: &str) -> Plan {
        Plan {
            steps: self.steps.iter().filter(|s| s.db == db).cloned().collect(),
            notices: self
                .notices
                .iter()
                .filter(|n| n.db == db)
                .cloned()
                .collect(),
        }
    }
}

// Phases, in execution order.
const CREATE_COLLECTION: u8 = 0;
const CREATE_INDEX: u8 = 1;
/// After the indexes: sharding needs the index that supports the key.
const SHARD: u8 = 2;
const IN_PLACE: u8 = 3;
const VALIDATOR: u8 = 4;
const REPLACE_DROP: u8 = 5;
const DROP: u8 = 6;

struct Draft {
    phase: u8,
    step: Step,
}

fn step(
    c: &Change,
    marker: Marker,
    op: Operation,
    reverse: Option<Operation>,
    reason: String,
) -> Step {
    Step {
        db: c.db.clone(),
        collection: c.collection.clone(),
        marker,
        op,
        reverse,
        destructive: false,
        reason,
        documents: None,
        skipped: None,
        check: None,
        safety: None,
        validator_change: None,
    }
}

fn create_index_op(db: &str, coll: &str, index: &Index) -> Operation {
    Operation::CreateIndex {
        db: db.to_string(),
        collection: coll.to_string(),
        index: index.to_create_spec(),
    }
}

fn drop_index_op(db: &str, coll: &str, name: &str) -> Operation {
    Operation::DropIndex {
        db: db.to_string(),
        collection: coll.to_string(),
        name: name.to_string(),
    }
}

fn set_validator_op(db: &str, coll: &str, v: &Option<crate::model::Validator>) -> Operation {
    Operation::SetValidator {
        db: db.to_string(),
        collection: coll.to_string(),
        validator: v.as_ref().map(|v| v.document.clone()),
        level: v
            .as_ref()
            .map(|v| v.level)
            .unwrap_or(ValidationLevel::Strict),
        action: v
            .as_ref()
            .map(|v| v.action)
            .unwrap_or(ValidationAction::Error),
    }
}

/// A destructive drop of something no schema declares (`--prune`): skipped, with `why_skipped`,
/// unless `--allow-destructive`.
fn prune_step(
    c: &Change,
    op: Operation,
    reverse: Option<Operation>,
    reason: String,
    why_skipped: &str,
    opts: &PlanOptions,
) -> Draft {
    let mut s = step(c, Marker::Remove, op, reverse, reason);
    s.destructive = true;
    if !opts.allow_destructive {
        s.skipped = Some(why_skipped.to_string());
    }
    Draft {
        phase: DROP,
        step: s,
    }
}

/// A name for the new half of a replacement that does not clash with the old one.
fn free_name(base: &str, taken: &str) -> String {
    (2..)
        .map(|n| format!("{base}_v{n}"))
        .find(|n| n != taken)
        .unwrap_or_else(|| format!("{base}_new"))
}

/// Turn changes into an ordered plan.
pub fn plan(changes: &[Change], opts: &PlanOptions) -> Plan {
    let mut drafts: Vec<Draft> = Vec::new();
    let mut notices = Vec::new();
    // Collections created by this plan: data checks there are pointless (they are empty).
    let created: Vec<(String, String)> = changes
        .iter()
        .filter(|c| matches!(c.kind, ChangeKind::CreateCollection { .. }))
        .map(|c| (c.db.clone(), c.collection.clone()))
        .collect();
    let is_new = |c: &Change| created.contains(&(c.db.clone(), c.collection.clone()));
    for c in changes {
        let (db, coll) = (c.db.as_str(), c.collection.as_str());
        match &c.kind {
            ChangeKind::CreateCollection { collection } => {
                let mut options = collection.to_create_command();
                options.remove("create");
                let op = Operation::CreateCollection {
                    db: db.into(),
                    collection: coll.into(),
                    options,
                };
                let reverse = Operation::DropCollection {
                    db: db.into(),
                    collection: coll.into(),
                };
                drafts.push(Draft {
                    phase: CREATE_COLLECTION,
                    step: step(
                        c,
                        Marker::Create,
                        op,
                        Some(reverse),
                        "declared in the schemas, missing on the server".into(),
                    ),
                });
            }
            ChangeKind::CreateIndex { index } => {
                let mut s = step(
                    c,
                    Marker::Create,
                    create_index_op(db, coll, index),
                    Some(drop_index_op(db, coll, &index.name)),
                    "declared in the schemas, missing on the server".into(),
                );
                if index.unique && !is_new(c) {
                    s.check = Some(SafetyCheck::DuplicateKeys {
                        index: Box::new(index.clone()),
                    });
                }
                drafts.push(Draft {
                    phase: CREATE_INDEX,
                    step: s,
                });
            }
            ChangeKind::ReplaceIndex { from, to, reason } => {
                // Two indexes with the same identity, or the same declared name, cannot coexist:
                // then the old one goes first. Otherwise the new one is built first.
                let mut to = to.clone();
                let clash_identity = same_identity(from, &to);
                let clash_name = from.name == to.name;
                let drop_first = clash_identity || (clash_name && to.name_declared);
                let mut why = format!("replace index `{}`: {reason}", from.name);
                if !drop_first && clash_name {
                    to.name = free_name(&to.name, &from.name);
                    why.push_str(&format!(
                        "; built as `{}` while `{}` still serves queries",
                        to.name, from.name
                    ));
                }
                if drop_first {
                    why.push_str("; the old index is dropped first (both cannot exist at once), so queries lose it for the build");
                }
                let mut create = step(
                    c,
                    Marker::Create,
                    create_index_op(db, coll, &to),
                    Some(drop_index_op(db, coll, &to.name)),
                    why.clone(),
                );
                if to.unique {
                    create.check = Some(SafetyCheck::DuplicateKeys {
                        index: Box::new(to.clone()),
                    });
                }
                let drop = step(
                    c,
                    Marker::Remove,
                    drop_index_op(db, coll, &from.name),
                    Some(create_index_op(db, coll, from)),
                    why,
                );
                if drop_first {
                    drafts.push(Draft {
                        phase: REPLACE_DROP,
                        step: drop,
                    });
                    drafts.push(Draft {
                        phase: REPLACE_DROP,
                        step: create,
                    });
                } else {
                    drafts.push(Draft {
                        phase: CREATE_INDEX,
                        step: create,
                    });
                    drafts.push(Draft {
                        phase: REPLACE_DROP,
                        step: drop,
                    });
                }
            }
            ChangeKind::SetIndexTtl { name, from, to } => {
                let op = Operation::ModifyIndex {
                    db: db.into(),
                    collection: coll.into(),
                    name: name.clone(),
                    expire_after: Some(*to),
                    hidden: None,
                };
                let reverse = from.map(|f| Operation::ModifyIndex {
                    db: db.into(),
                    collection: coll.into(),
                    name: name.clone(),
                    expire_after: Some(f),
                    hidden: None,
                });
                let reason = match from {
                    Some(f) => format!("TTL of `{name}` {f}s → {to}s (in place, no rebuild)"),
                    None => format!("add TTL {to}s to `{name}` (in place, no rebuild)"),
                };
                drafts.push(Draft {
                    phase: IN_PLACE,
                    step: step(c, Marker::Modify, op, reverse, reason),
                });
            }
            ChangeKind::ModifyCollection { set, undo, reason } => {
                let op = |options: &Document| Operation::ModifyCollection {
                    db: db.into(),
                    collection: coll.into(),
                    options: options.clone(),
                };
                drafts.push(Draft {
                    phase: IN_PLACE,
                    step: step(
                        c,
                        Marker::Modify,
                        op(set),
                        Some(op(undo)),
                        format!("{reason} (in place)"),
                    ),
                });
            }
            ChangeKind::SetIndexHidden { name, hidden } => {
                let mk = |h: bool| Operation::ModifyIndex {
                    db: db.into(),
                    collection: coll.into(),
                    name: name.clone(),
                    expire_after: None,
                    hidden: Some(h),
                };
                let reason = format!(
                    "{} index `{name}` (in place)",
                    if *hidden { "hide" } else { "unhide" }
                );
                drafts.push(Draft {
                    phase: IN_PLACE,
                    step: step(c, Marker::Modify, mk(*hidden), Some(mk(!*hidden)), reason),
                });
            }
            ChangeKind::MakeIndexUnique { index } => {
                let op = Operation::MakeIndexUnique {
                    db: db.into(),
                    collection: coll.into(),
                    name: index.name.clone(),
                };
                let mut s = step(
                    c,
                    Marker::Modify,
                    op,
                    None,
                    format!(
                        "make `{}` unique in place (prepareUnique, then unique)",
                        index.name
                    ),
                );
                s.check = Some(SafetyCheck::DuplicateKeys {
                    index: Box::new(index.clone()),
                });
                drafts.push(Draft {
                    phase: IN_PLACE,
                    step: s,
                });
            }
            ChangeKind::SetValidator { from, to } => {
                let reason = match (from, to) {
                    (None, Some(_)) => "add validator".to_string(),
                    (Some(_), None) => "remove validator".to_string(),
                    (Some(f), Some(t))
                        if f.document == t.document
                            || crate::normalize::canonical_validator(&f.document)
                                == crate::normalize::canonical_validator(&t.document) =>
                    {
                        format!(
                            "validation level/action {}/{} → {}/{}",
                            f.level.as_str(),
                            f.action.as_str(),
                            t.level.as_str(),
                            t.action.as_str()
                        )
                    }
                    _ => "change validator".to_string(),
                };
                let mut s = step(
                    c,
                    Marker::Modify,
                    set_validator_op(db, coll, to),
                    Some(set_validator_op(db, coll, from)),
                    reason,
                );
                if let Some(t) = to
                    && !is_new(c)
                    && t.level != ValidationLevel::Off
                {
                    s.check = Some(SafetyCheck::ValidatorViolations {
                        validator: t.document.clone(),
                    });
                }
                s.validator_change = Some((
                    from.as_ref().map(|v| v.document.clone()),
                    to.as_ref().map(|v| v.document.clone()),
                ));
                drafts.push(Draft {
                    phase: VALIDATOR,
                    step: s,
                });
            }
            ChangeKind::ShardCollection {
                key,
                simple_collation,
            } => {
                let op = Operation::ShardCollection {
                    db: db.into(),
                    collection: coll.into(),
                    key: key.key_document(),
                    unique: key.unique,
                    initial_chunks: key.initial_chunks,
                    simple_collation: *simple_collation,
                };
                let irreversible = Operation::Irreversible {
                    reason: format!("{db}.{coll} cannot be unsharded"),
                };
                drafts.push(Draft {
                    phase: SHARD,
                    step: step(
                        c,
                        Marker::Create,
                        op,
                        Some(irreversible),
                        format!(
                            "declared shard key {}; the collection is not sharded",
                            key.key_document()
                        ),
                    ),
                });
            }
            ChangeKind::RefineShardKey { from, to } => {
                let op = Operation::RefineShardKey {
                    db: db.into(),
                    collection: coll.into(),
                    key: to.key_document(),
                };
                let irreversible = Operation::Irreversible {
                    reason: format!("a refined shard key of {db}.{coll} cannot be shortened"),
                };
                drafts.push(Draft {
                    phase: SHARD,
                    step: step(
                        c,
                        Marker::Modify,
                        op,
                        Some(irreversible),
                        format!(
                            "shard key {} → {} (suffix fields, refined in place)",
                            from.key_document(),
                            to.key_document()
                        ),
                    ),
                });
            }
            ChangeKind::ShardKeyMismatch { reason } => notices.push(Notice {
                db: db.into(),
                collection: coll.into(),
                kind: NoticeKind::ShardKey,
                message: reason.clone(),
            }),
            ChangeKind::NeedsRecreate { reason } => notices.push(Notice {
                db: db.into(),
                collection: coll.into(),
                kind: NoticeKind::NeedsRecreate,
                message: format!(
                    "needs to be recreated, which mongrate never does automatically: {reason}"
                ),
            }),
            ChangeKind::UnmanagedCollection { kind } => {
                let what = match kind {
                    crate::model::CollectionKind::View => "view",
                    crate::model::CollectionKind::Timeseries => "time-series collection",
                    crate::model::CollectionKind::Collection => "collection",
                };
                if opts.prune {
                    let drop = Operation::DropCollection {
                        db: db.into(),
                        collection: coll.into(),
                    };
                    drafts.push(prune_step(
                        c,
                        drop,
                        None,
                        format!("{what} declared by no schema (--prune)"),
                        "destroys data; pass --allow-destructive to run it",
                        opts,
                    ));
                } else {
                    notices.push(Notice {
                        db: db.into(),
                        collection: coll.into(),
                        kind: NoticeKind::UnmanagedCollection,
                        message: format!("{what} declared by no schema: left alone (declare it, list it in `ignore_collections`, or drop it with --prune --allow-destructive)"),
                    });
                }
            }
            ChangeKind::UnmanagedIndex { index } => {
                if opts.prune {
                    drafts.push(prune_step(
                        c,
                        drop_index_op(db, coll, &index.name),
                        Some(create_index_op(db, coll, index)),
                        format!("index `{}` declared by no schema (--prune)", index.name),
                        "drops an index; pass --allow-destructive to run it",
                        opts,
                    ));
                } else {
                    notices.push(Notice {
                        db: db.into(),
                        collection: coll.into(),
                        kind: NoticeKind::UnmanagedIndex,
                        message: format!(
                            "index `{}` {} is declared by no schema: left alone (declare it, list it in `ignore_indexes`, or drop it with --prune --allow-destructive)",
                            index.name,
                            index.key_document()
                        ),
                    });
                }
            }
        }
    }
    // Stable sort keeps the diff's (database, collection) order within each phase.
    drafts.sort_by_key(|d| d.phase);
    Plan {
        steps: drafts.into_iter().map(|d| d.step).collect(),
        notices,
    }
}
