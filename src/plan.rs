//! The planner: semantic [`Change`]s → an ordered [`Plan`] of [`Step`]s. Pure.
//!
//! Order (README "How plan and apply behave"): create collections → create new indexes (including the new half of a
//! replacement) → in-place `collMod` changes (TTL, hidden, unique) → validators → the old half of
//! replacements → drops. Each step carries its reverse where one exists, whether it destroys
//! something, and a one-line reason. Objects no spec declares become notices, and drop steps
//! only with `prune`; drops of undeclared objects need `allow_destructive` or are shown skipped.

use crate::diff::{Change, ChangeKind};
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
    /// Retire undeclared indexes of collections with `retire_after` in two phases (hide, then
    /// drop); when off (migration files, which have no clock), they are pruned like any other.
    pub retire: Retire,
}

/// An index by place: (database, collection, index name).
pub type IndexKey = (String, String, String);

/// The clock and the records of two-phase index retirement.
#[derive(Debug, Clone, Default)]
pub struct Retire {
    pub enabled: bool,
    /// Now, in seconds since the epoch.
    pub now: i64,
    /// When mongrate hid each retiring index (seconds since the epoch), from the state database.
    pub hidden_at: std::collections::BTreeMap<IndexKey, i64>,
}

/// Where a retiring index stands (README "Retiring indexes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetirePhase {
    /// Still visible, or hidden with no record of when: `apply --prune` hides it and starts the
    /// clock.
    Visible,
    /// Hidden by mongrate, waiting out `retire_after`.
    Hidden,
    /// Hidden for `retire_after` or longer: `apply --prune --allow-destructive` drops it.
    Due,
}

/// An undeclared index of a collection with `retire_after`, and its phase.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Retiring {
    #[serde(rename = "database")]
    pub db: String,
    pub collection: String,
    pub index: String,
    pub phase: RetirePhase,
    /// `retire_after`, in seconds.
    pub retire_after: i64,
    /// When it was hidden (RFC 3339), once it is.
    #[serde(serialize_with = "ser_time")]
    #[schemars(with = "Option<String>")]
    pub hidden_at: Option<i64>,
    /// When it may be dropped (RFC 3339), once it is hidden.
    #[serde(serialize_with = "ser_time")]
    #[schemars(with = "Option<String>")]
    pub drop_after: Option<i64>,
}

/// Where a retiring index stands, and when it may be dropped: visible (or hidden with no record
/// of when) → `Visible`; hidden for less than `after` → `Hidden`; longer → `Due`.
pub fn retire_phase(
    hidden: bool,
    hidden_at: Option<i64>,
    after: i64,
    now: i64,
) -> (RetirePhase, Option<i64>) {
    match hidden_at.filter(|_| hidden) {
        None => (RetirePhase::Visible, None),
        Some(t) => {
            let drop_after = t.saturating_add(after);
            let phase = if now < drop_after {
                RetirePhase::Hidden
            } else {
                RetirePhase::Due
            };
            (phase, Some(drop_after))
        }
    }
}

/// A number of seconds as people write it: `7d`, `12h`, `30m`, `45s`.
pub fn show_duration(secs: i64) -> String {
    crate::progress::ttl(secs)
}

/// Seconds since the epoch as RFC 3339 (UTC).
pub fn rfc3339(secs: i64) -> String {
    bson::DateTime::from_millis(secs.saturating_mul(1000))
        .try_to_rfc3339_string()
        .unwrap_or_else(|_| format!("{secs}s after the epoch"))
}

fn ser_time<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(*t)),
        None => s.serialize_none(),
    }
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
    /// Documents (among `count`) on which the validator's expression raised an error, and the
    /// server's message: the server refuses them (121) as it refuses any failing document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unevaluable: Option<(u64, String)>,
}

/// One operation of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub db: String,
    pub collection: String,
    pub marker: Marker,
    pub op: Operation,
    /// The operations that undo this one, in order (empty: it cannot be undone). Most steps
    /// have one; dropping a collection is undone by re-creating it and then each index.
    pub reverse: Vec<Operation>,
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
    /// For a step of a two-phase index retirement: the phase it ends (`visible`: it hides the
    /// index; `due`: it drops it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retire: Option<RetirePhase>,
}

impl Plan {
    /// Say the reasons in terms of what is compared when it is not a server against the
    /// schemas: `current` where they say "on the server" (`in `old/``, `after the
    /// migrations`), `desired` where they say "in the schemas" (`in `new/``).
    pub fn speak_of(&mut self, current: &str, desired: &str) {
        let subject = desired.trim_start_matches("in ");
        let reword = |text: &str| {
            text.replace("on the server", current)
                .replace("in the schemas", desired)
                .replace("the schemas declare", &format!("{subject} declares"))
        };
        for s in &mut self.steps {
            s.reason = reword(&s.reason);
        }
        for n in &mut self.notices {
            n.message = reword(&n.message);
        }
    }
}

impl Step {
    /// Would this step fail or leave invalid documents behind?
    pub fn blocked_by_data(&self) -> bool {
        self.safety.as_ref().is_some_and(|s| s.count > 0)
    }
}

/// What the rollout did for one collection.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RolloutStep {
    pub database: String,
    pub collection: String,
    /// Documents the backfill modified.
    pub backfilled: u64,
    /// Whether the validator was tightened to its declared action.
    pub tightened: bool,
    /// The declared action it was (or is to be) tightened to.
    pub action: crate::model::ValidationAction,
    /// With `--watch`: what the canary saw of live writes before the switch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<crate::canary::Canary>,
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
                        "{}.{}: {} of documents share a key of unique index `{}` (e.g. _id {}); remove or merge the duplicates, then apply again",
                        s.db, s.collection, crate::progress::count(r.count, "group"), index.name, ids.join(", ")
                    )),
                    Some(SafetyCheck::ValidatorViolations { .. })
                        if !allow_violations
                            && !staged.iter().any(|t| t.db == s.db && t.collection == s.collection) =>
                    {
                        Some(format!(
                            "{}.{}: {} the new validator (e.g. _id {}); fill missing fields with `mongrate backfill`, fix the documents, declare `validation: {{ level: moderate }}`, pass --rollout (warn first, backfill, then tighten), or pass --allow-violations",
                            s.db, s.collection, crate::progress::failing_documents(r.count), ids.join(", ")
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
    /// Undeclared indexes being retired in two phases, each with its phase.
    pub retiring: Vec<Retiring>,
    /// Retirement records that no longer describe a hidden, undeclared index (it was declared
    /// again, unhidden or dropped by hand): `apply` deletes them.
    #[serde(skip)]
    pub forget: Vec<IndexKey>,
    /// Steps that cannot run for this user on this server (see [`crate::preflight`]); filled
    /// by `plan` and `apply`, which refuse to start while there are any.
    pub preflight: Vec<crate::preflight::Finding>,
    /// Search indexes the schemas declare that this server cannot have (no Atlas Search): not
    /// compared, not drift; said once as a note (`check --require-search` fails instead).
    pub search_unsupported: usize,
    /// Declared evolutions and the phase each is in (see [`crate::evolve`]).
    pub evolutions: Vec<crate::evolve::State>,
}

impl Plan {
    /// What is reported but neither a step nor a notice (not drift).
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.search_unsupported > 0 {
            notes.push(format!(
                "{} declared in the schemas: not supported by this server (search indexes need MongoDB Atlas, or a deployment with mongot); not compared (--require-search makes this an error)",
                crate::progress::count(self.search_unsupported as u64, "search index")
            ));
        }
        notes
    }
}

impl Plan {
    /// Steps that will run.
    pub fn runnable(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.skipped.is_none())
    }

    /// No steps and no notices: the server matches the schemas.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.notices.is_empty() && self.waiting().next().is_none()
    }

    /// Evolutions with no step now but not finished: waiting for their contract.
    pub fn waiting(&self) -> impl Iterator<Item = &crate::evolve::State> {
        self.evolutions
            .iter()
            .filter(|e| e.phase == crate::evolve::Phase::Wait)
    }

    /// The plan split by database, in one pass: each database's part, in the same order.
    pub fn by_database(&self) -> std::collections::BTreeMap<String, Plan> {
        let mut parts: std::collections::BTreeMap<String, Plan> = Default::default();
        for s in &self.steps {
            parts.entry(s.db.clone()).or_default().steps.push(s.clone());
        }
        for n in &self.notices {
            parts
                .entry(n.db.clone())
                .or_default()
                .notices
                .push(n.clone());
        }
        for r in &self.retiring {
            parts
                .entry(r.db.clone())
                .or_default()
                .retiring
                .push(r.clone());
        }
        for k in &self.forget {
            parts.entry(k.0.clone()).or_default().forget.push(k.clone());
        }
        for e in &self.evolutions {
            parts
                .entry(e.db.clone())
                .or_default()
                .evolutions
                .push(e.clone());
        }
        parts
    }
}

mod evolve;
mod kinds;
pub use evolve::{add_evolution_steps, contract_op, evolve_op, evolve_reverse};

/// The phases of a plan, in execution order: a step's phase decides where it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    CreateCollection,
    CreateIndex,
    /// After the indexes: sharding needs the index that supports the key.
    Shard,
    InPlace,
    Validator,
    /// Search index builds run on the search nodes, after everything the documents depend on.
    Search,
    ReplaceDrop,
    Drop,
}

struct Draft {
    phase: Phase,
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
        reverse: reverse.into_iter().collect(),
        destructive: false,
        reason,
        documents: None,
        skipped: None,
        check: None,
        safety: None,
        validator_change: None,
        retire: None,
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
        validator: v.as_ref().map(crate::model::Validator::document),
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
        phase: Phase::Drop,
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
    let mut out = kinds::Out::default();
    // Collections created by this plan: data checks there are pointless (they are empty).
    let created: std::collections::HashSet<(&str, &str)> = changes
        .iter()
        .filter(|c| matches!(c.kind, ChangeKind::CreateCollection { .. }))
        .map(|c| (c.db.as_str(), c.collection.as_str()))
        .collect();
    let is_new = |c: &Change| created.contains(&(c.db.as_str(), c.collection.as_str()));
    for c in changes {
        let ctx = kinds::Ctx {
            opts,
            is_new: is_new(c),
        };
        plan_change(c, &ctx, &mut out);
    }
    // Stable sort keeps the diff's (database, collection) order within each phase.
    out.drafts.sort_by_key(|d| d.phase);
    let forget = opts
        .retire
        .hidden_at
        .keys()
        .filter(|k| {
            !out.retiring.iter().any(|r| {
                r.hidden_at.is_some() && (&r.db, &r.collection, &r.index) == (&k.0, &k.1, &k.2)
            })
        })
        .cloned()
        .collect();
    Plan {
        steps: out.drafts.into_iter().map(|d| d.step).collect(),
        notices: out.notices,
        retiring: out.retiring,
        forget,
        preflight: Vec::new(),
        search_unsupported: 0,
        evolutions: Vec::new(),
    }
}

/// One change to its steps or notice: the function of its kind (see `kinds`).
fn plan_change(c: &Change, ctx: &kinds::Ctx, out: &mut kinds::Out) {
    use kinds::*;
    match &c.kind {
        ChangeKind::CreateCollection { collection } => create_collection(c, ctx, out, collection),
        ChangeKind::CreateIndex { index } => create_index(c, ctx, out, index),
        ChangeKind::ReplaceIndex { from, to, reason } => {
            replace_index(c, ctx, out, from, to, reason)
        }
        ChangeKind::SetIndexTtl { name, from, to } => set_index_ttl(c, ctx, out, name, from, to),
        ChangeKind::ModifyCollection { set, undo, reason } => {
            modify_collection(c, ctx, out, set, undo, reason)
        }
        ChangeKind::SetIndexHidden { name, hidden } => set_index_hidden(c, ctx, out, name, hidden),
        ChangeKind::MakeIndexUnique { index } => make_index_unique(c, ctx, out, index),
        ChangeKind::SetValidator { from, to } => set_validator(c, ctx, out, from, to),
        ChangeKind::ShardCollection {
            key,
            simple_collation,
        } => shard_collection(c, ctx, out, key, simple_collation),
        ChangeKind::RefineShardKey { from, to } => refine_shard_key(c, ctx, out, from, to),
        ChangeKind::ShardKeyMismatch { reason } => shard_key_mismatch(c, ctx, out, reason),
        ChangeKind::CreateSearchIndex { index } => create_search_index(c, ctx, out, index),
        ChangeKind::UpdateSearchIndex { from, to } => update_search_index(c, ctx, out, from, to),
        ChangeKind::UnmanagedSearchIndex { index } => unmanaged_search_index(c, ctx, out, index),
        ChangeKind::NeedsRecreate { reason } => needs_recreate(c, ctx, out, reason),
        ChangeKind::UnmanagedCollection { collection } => {
            unmanaged_collection(c, ctx, out, collection)
        }
        ChangeKind::UnmanagedIndex {
            index,
            retire_after,
        } => match retire_after.filter(|_| ctx.opts.retire.enabled) {
            Some(after) => retiring_index(c, ctx, out, index, after),
            None => unmanaged_index(c, ctx, out, index),
        },
    }
}
