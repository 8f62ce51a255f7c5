//! Plans and reports → text for people or JSON for scripts. Pure: returns strings.

use crate::extjson;
use crate::plan::{Plan, Step};
use bson::Document;
use serde::Serialize;
use std::fmt::Write;

/// Colours on or off (off when not a terminal or `NO_COLOR` is set).
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

fn marker_color(c: char) -> &'static str {
    match c {
        '+' => "32",
        '-' => "31",
        '~' => "33",
        _ => "36",
    }
}

/// The plan as text, grouped by database and collection.
pub fn plan_text(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        out.push_str("No changes: the server matches the schemas.\n");
        retiring_text(&mut out, plan);
        evolutions_text(&mut out, plan);
        notes_text(&mut out, plan);
        return out;
    }
    // Steps in the order they run (each names its collection), then the notices.
    for (i, s) in plan.steps.iter().enumerate() {
        step_text(&mut out, i + 1, s, style);
    }
    if !plan.notices.is_empty() {
        if !plan.steps.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", style.paint("1", "Notices:"));
        for n in &plan.notices {
            let _ = writeln!(
                out,
                "  {} {}.{}: {}",
                style.paint("36", "!"),
                n.db,
                n.collection,
                n.message
            );
        }
    }
    let runnable = plan.runnable().count();
    let skipped = plan.steps.len() - runnable;
    let blocked = plan.steps.iter().filter(|s| s.blocked_by_data()).count();
    let _ = write!(
        out,
        "\nPlan: {} to run",
        crate::progress::count(runnable as u64, "step")
    );
    if skipped > 0 {
        let _ = write!(out, ", {skipped} skipped");
    }
    if blocked > 0 {
        let _ = write!(out, ", {blocked} blocked by existing data");
    }
    if !plan.notices.is_empty() {
        let _ = write!(
            out,
            ", {}",
            crate::progress::count(plan.notices.len() as u64, "notice")
        );
    }
    out.push_str(".\n");
    retiring_text(&mut out, plan);
    evolutions_text(&mut out, plan);
    preflight_text(&mut out, plan, style);
    notes_text(&mut out, plan);
    out
}

/// The notes of a plan, one line each (nothing when there are none).
pub fn notes_text(out: &mut String, plan: &Plan) {
    for n in plan.notes() {
        let _ = writeln!(out, "Note: {n}");
    }
}

/// What preflight found: each step that cannot run, what it needs and what would grant it.
pub fn preflight_text(out: &mut String, plan: &Plan, style: Style) {
    if plan.preflight.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{} {} cannot run as the connected user on this server:",
        style.paint("33", "Preflight:"),
        crate::progress::count(plan.preflight.len() as u64, "step")
    );
    for f in &plan.preflight {
        let _ = writeln!(out, "  {} {f}", style.paint("33", "!"));
    }
}

/// Where each declared evolution stands (nothing when there is none).
pub fn evolutions_text(out: &mut String, plan: &Plan) {
    use crate::evolve::Phase;
    if plan.evolutions.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nEvolving fields (expand → migrate → contract):");
    for e in &plan.evolutions {
        let what = match (&e.from, &e.convert) {
            (Some(f), Some(c)) => format!("`{}` from `{f}` by {c}", e.field),
            (Some(f), None) => format!("`{}` from `{f}`", e.field),
            (None, Some(c)) => format!("`{}` by {c}", e.field),
            (None, None) => format!("`{}`", e.field),
        };
        let old = crate::progress::count(e.old_shape, "document");
        let state = match e.phase {
            Phase::Expand => format!(
                "expand: the validator accepting both shapes goes in, then the migrate phase rewrites {old} in the old shape"
            ),
            Phase::Migrate if e.failed > 0 => format!(
                "migrate: {old} in the old shape, {} of them could not be converted (fix them, then apply again)",
                e.failed
            ),
            Phase::Migrate => format!("migrate: {old} in the old shape to rewrite"),
            Phase::Wait => format!(
                "none left in the old shape; the contract may run from {}",
                e.contract_at.as_deref().unwrap_or("?")
            ),
            Phase::Contract => {
                "contract: none left in the old shape; the strict validator goes in".to_string()
            }
            Phase::Done => "done: contracted (the declaration may be removed)".to_string(),
        };
        let _ = writeln!(out, "  {}.{} {what}: {state}", e.db, e.collection);
    }
}

/// Where each retiring index stands (nothing when none is retiring).
pub fn retiring_text(out: &mut String, plan: &Plan) {
    use crate::plan::{RetirePhase, rfc3339};
    if plan.retiring.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nRetiring indexes (phase 1: hidden, phase 2: dropped):"
    );
    for r in &plan.retiring {
        let at = |t: Option<i64>| t.map(rfc3339).unwrap_or_default();
        let state = match r.phase {
            RetirePhase::Visible => "not hidden yet: `apply --prune` hides it".to_string(),
            RetirePhase::Hidden => format!(
                "hidden since {}, may be dropped from {}",
                at(r.hidden_at),
                at(r.drop_after)
            ),
            RetirePhase::Due => format!(
                "hidden since {}: `apply --prune --allow-destructive` drops it",
                at(r.hidden_at)
            ),
        };
        let _ = writeln!(out, "  {}.{} `{}`: {state}", r.db, r.collection, r.index);
    }
}

fn step_text(out: &mut String, n: usize, s: &Step, style: Style) {
    let m = s.marker.symbol();
    let _ = writeln!(
        out,
        "  {} {:>2}. {}",
        style.paint(marker_color(m), &m.to_string()),
        n,
        s.op.summary()
    );
    let _ = writeln!(out, "        {}", s.reason);
    if let Some(n) = s.documents {
        match &s.op {
            crate::ops::Operation::DropCollection { .. } => {
                let _ = writeln!(
                    out,
                    "        {}",
                    style.paint("31", &format!("destroys {}", documents(n)))
                );
            }
            crate::ops::Operation::DropIndex { .. } => {
                let _ = writeln!(out, "        drops an index over {}", documents(n));
            }
            _ if n > 0 => {
                let _ = writeln!(out, "        builds over {}", documents(n));
            }
            _ => {}
        }
    }
    if let Some(why) = &s.skipped {
        let _ = writeln!(
            out,
            "        {}",
            style.paint("35", &format!("skipped: {why}"))
        );
    }
    if let Some(r) = &s.safety {
        if r.count > 0 {
            let what = match s.check {
                Some(crate::plan::SafetyCheck::DuplicateKeys { .. }) => {
                    crate::progress::count(r.count, "duplicate key group")
                }
                _ => format!("{} the new validator", failing_documents(r.count)),
            };
            let ids: Vec<String> = r.sample_ids.iter().map(|b| b.to_string()).collect();
            let _ = writeln!(
                out,
                "        {}",
                style.paint(
                    "31",
                    &format!("blocked: {what}; e.g. _id {}", ids.join(", "))
                )
            );
            if let Some((n, why)) = &r.unevaluable {
                let _ = writeln!(
                    out,
                    "        ({} of them: the validator's expression cannot be evaluated on them, so the server refuses them too: {why})",
                    crate::progress::thousands(*n)
                );
            }
        } else {
            let _ = writeln!(out, "        checked: no existing document conflicts");
        }
    }
    if let Some((from, to)) = &s.validator_change {
        let text = validator_diff(from.as_ref(), to.as_ref());
        for line in text.lines() {
            let color = if line.starts_with('+') {
                "32"
            } else if line.starts_with('-') {
                "31"
            } else {
                "2"
            };
            let _ = writeln!(out, "        {}", style.paint(color, line));
        }
    }
}

pub use crate::progress::failing_documents;

/// `~1,234 documents` (an estimate, as the server's collection metadata gives it).
pub fn documents(n: u64) -> String {
    format!("~{}", crate::progress::count(n, "document"))
}

/// What a destructive operation destroys, in words: `collection app.users (~500 documents)`.
pub fn drop_words(op: &crate::ops::Operation, documents: Option<u64>) -> String {
    let count = documents
        .map(|n| format!(" ({})", self::documents(n)))
        .unwrap_or_default();
    match op {
        crate::ops::Operation::DropCollection { db, collection } => {
            format!("collection {db}.{collection}{count}")
        }
        crate::ops::Operation::DropIndex {
            db,
            collection,
            name,
        } => format!("index {name} on {db}.{collection}{count}"),
        other => other.summary(),
    }
}

/// The sentence a confirmation adds about drops (empty without any): ` It drops collection
/// app.users (~500 documents) and index a_1 on app.users (~500 documents).` At most five are
/// named; the rest are counted.
pub fn drops_sentence(drops: &[String]) -> String {
    if drops.is_empty() {
        return String::new();
    }
    let mut named: Vec<String> = drops.iter().take(5).cloned().collect();
    if drops.len() > 5 {
        named.push(format!("{} more", drops.len() - 5));
    }
    let list = match named.len() {
        1 => named[0].clone(),
        n => format!("{} and {}", named[..n - 1].join(", "), named[n - 1]),
    };
    format!(" It drops {list}.")
}

/// A unified diff of two validators (relaxed Extended JSON, canonical key order).
pub fn validator_diff(from: Option<&Document>, to: Option<&Document>) -> String {
    let show = |d: Option<&Document>| {
        d.map(|d| extjson::to_relaxed_pretty(&crate::normalize::canonical_validator(d)))
            .unwrap_or_default()
    };
    let (a, b) = (show(from), show(to));
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(2)
        .header("server", "schemas")
        .to_string()
}

/// A BSON value as relaxed Extended JSON (what `mongosh` prints and a server accepts back).
pub fn relaxed(b: &bson::Bson) -> serde_json::Value {
    b.clone().into_relaxed_extjson()
}

/// An operation as JSON: `{ "type": "create_index", "database": ..., "collection": ..., ... }`,
/// values as relaxed Extended JSON.
pub fn operation_json(op: &crate::ops::Operation) -> serde_json::Value {
    let Ok(bson::Bson::Document(outer)) = bson::to_bson(op) else {
        return serde_json::Value::Null;
    };
    let Some((kind, body)) = outer.into_iter().next() else {
        return serde_json::Value::Null;
    };
    let mut out = serde_json::Map::new();
    out.insert("type".into(), kind.into());
    if let bson::Bson::Document(fields) = body {
        for (k, v) in fields {
            let key = if k == "db" { "database".to_string() } else { k };
            out.insert(key, relaxed(&v));
        }
    }
    serde_json::Value::Object(out)
}

/// The JSON Schema of an operation (see [`operation_json`]).
pub fn operation_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let types: Vec<&str> = crate::ops::Operation::TYPES.to_vec();
    schemars::json_schema!({
        "type": "object",
        "description": "One server operation, as in migration files but with `database` for `db`; BSON values as relaxed Extended JSON.",
        "properties": {
            "type": { "type": "string", "enum": types },
            "database": { "type": "string" },
            "collection": { "type": "string" }
        },
        "required": ["type"],
        "additionalProperties": true
    })
}

fn optional_operation_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let op = operation_schema(g);
    schemars::json_schema!({ "anyOf": [op, { "type": "null" }] })
}

fn operations_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let op = operation_schema(g);
    schemars::json_schema!({ "type": "array", "items": op })
}

/// Any BSON values, as relaxed Extended JSON.
fn values_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "description": "BSON values as relaxed Extended JSON."
    })
}

/// One step in JSON output.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct StepJson {
    /// 1-based position in the plan.
    pub index: usize,
    pub database: String,
    pub collection: String,
    /// `+` create, `~` change in place, `-` remove.
    pub marker: String,
    pub summary: String,
    pub reason: String,
    /// It drops a collection or an index (its `documents` say how many documents).
    pub destructive: bool,
    /// For an index build on an existing collection: the documents it reads; for a drop: the
    /// documents of the collection (those a collection drop destroys).
    pub documents: Option<u64>,
    /// Why the step will not run, when it will not.
    pub skipped: Option<String>,
    #[schemars(schema_with = "operation_schema")]
    pub operation: serde_json::Value,
    /// The first operation of `undo` (null when nothing undoes the step).
    #[schemars(schema_with = "optional_operation_schema")]
    pub reverse: Option<serde_json::Value>,
    /// Every operation that undoes the step, in order (dropping a collection is undone by
    /// re-creating it, then each index).
    #[schemars(schema_with = "operations_schema")]
    pub undo: Vec<serde_json::Value>,
    /// A data check the step needs, and (once run) what it found.
    pub check: Option<CheckJson>,
}

/// A data check in JSON output.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CheckJson {
    /// `validator_violations` or `duplicate_keys`.
    pub kind: &'static str,
    /// Documents failing the validator, or duplicate key groups; null when not run.
    pub count: Option<u64>,
    #[schemars(schema_with = "values_schema")]
    pub sample_ids: Vec<serde_json::Value>,
}

/// A notice in JSON output.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NoticeJson {
    pub database: String,
    pub collection: String,
    /// `unmanaged_collection`, `unmanaged_index` or `needs_recreate`.
    pub kind: crate::plan::NoticeKind,
    pub message: String,
}

/// Counts of a plan.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PlanSummary {
    pub steps: usize,
    pub runnable: usize,
    pub skipped: usize,
    pub blocked: usize,
    pub notices: usize,
    /// Runnable steps that drop a collection or an index.
    pub destructive: usize,
    /// Steps whose undo drops a collection or an index (what rolling the plan back destroys).
    pub destructive_undo: usize,
}

/// A plan in JSON output (`plan`, `apply`, `check`, `diff`).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PlanJson {
    pub in_sync: bool,
    pub summary: PlanSummary,
    pub steps: Vec<StepJson>,
    pub notices: Vec<NoticeJson>,
    /// Undeclared indexes retired in two phases, each with its phase.
    pub retiring: Vec<crate::plan::Retiring>,
    /// Steps that cannot run for the connected user on this server (`plan`, `apply`): each
    /// names the step, what is missing and what would grant it. `apply` refuses while there
    /// are any, unless `--skip-preflight`.
    pub preflight: Vec<crate::preflight::Finding>,
    /// What is reported but is no difference: e.g. search indexes declared for a server without
    /// search.
    pub notes: Vec<String>,
    /// Declared evolutions (`renamed_from`, `convert`): the phase each is in, with the
    /// documents still in the old shape.
    pub evolutions: Vec<crate::evolve::State>,
}

/// The JSON view of a plan.
pub fn plan_view(plan: &Plan) -> PlanJson {
    let steps = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| StepJson {
            index: i + 1,
            database: s.db.clone(),
            collection: s.collection.clone(),
            marker: s.marker.symbol().to_string(),
            summary: s.op.summary(),
            reason: s.reason.clone(),
            destructive: s.destructive,
            documents: s.documents,
            skipped: s.skipped.clone(),
            operation: operation_json(&s.op),
            reverse: s.reverse.first().map(operation_json),
            undo: s.reverse.iter().map(operation_json).collect(),
            check: s.check.as_ref().map(|c| CheckJson {
                kind: match c {
                    crate::plan::SafetyCheck::ValidatorViolations { .. } => "validator_violations",
                    crate::plan::SafetyCheck::DuplicateKeys { .. } => "duplicate_keys",
                },
                count: s.safety.as_ref().map(|r| r.count),
                sample_ids: s
                    .safety
                    .iter()
                    .flat_map(|r| r.sample_ids.iter().map(relaxed))
                    .collect(),
            }),
        })
        .collect();
    PlanJson {
        in_sync: plan.is_empty(),
        summary: PlanSummary {
            steps: plan.steps.len(),
            runnable: plan.runnable().count(),
            skipped: plan.steps.iter().filter(|s| s.skipped.is_some()).count(),
            blocked: plan.steps.iter().filter(|s| s.blocked_by_data()).count(),
            notices: plan.notices.len(),
            destructive: plan.runnable().filter(|s| s.op.destroys()).count(),
            destructive_undo: plan
                .steps
                .iter()
                .filter(|s| s.reverse.iter().any(|o| o.destroys()))
                .count(),
        },
        steps,
        notices: plan
            .notices
            .iter()
            .map(|n| NoticeJson {
                database: n.db.clone(),
                collection: n.collection.clone(),
                kind: n.kind,
                message: n.message.clone(),
            })
            .collect(),
        retiring: plan.retiring.clone(),
        evolutions: plan.evolutions.clone(),
        preflight: plan.preflight.clone(),
        notes: plan.notes(),
    }
}

/// One broken rule in JSON output.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ReasonJson {
    pub reason: String,
    pub count: u64,
    /// Some of the failing documents' `_id`s (relaxed Extended JSON).
    #[schemars(schema_with = "values_schema")]
    pub sample_ids: Vec<serde_json::Value>,
}

/// The data audit of one collection in JSON output.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AuditJson {
    pub database: String,
    pub collection: String,
    pub examined: u64,
    pub sampled: bool,
    pub failing: u64,
    pub reasons: Vec<ReasonJson>,
}

/// The JSON view of data audits.
pub fn audit_view(audits: &[crate::audit::AuditReport]) -> Vec<AuditJson> {
    audits
        .iter()
        .map(|a| AuditJson {
            database: a.db.clone(),
            collection: a.collection.clone(),
            examined: a.examined,
            sampled: a.sampled,
            failing: a.failing,
            reasons: a
                .reasons
                .iter()
                .map(|r| ReasonJson {
                    reason: r.reason.clone(),
                    count: r.count,
                    sample_ids: r.sample_ids.iter().map(relaxed).collect(),
                })
                .collect(),
        })
        .collect()
}

/// The data audit as text: per collection, the documents failing and why.
pub fn audit_text(audits: &[crate::audit::AuditReport]) -> String {
    let mut out = String::new();
    let failing: u64 = audits.iter().map(|a| a.failing).sum();
    let examined: u64 = audits.iter().map(|a| a.examined).sum();
    for a in audits.iter().filter(|a| a.failing > 0) {
        let _ = writeln!(
            out,
            "{}.{}: {} of {} {}{} fail the schema",
            a.db,
            a.collection,
            crate::progress::thousands(a.failing),
            crate::progress::thousands(a.examined),
            if a.sampled { "sampled " } else { "" },
            if a.examined == 1 {
                "document"
            } else {
                "documents"
            }
        );
        for r in &a.reasons {
            let ids: Vec<String> = r.sample_ids.iter().map(|b| b.to_string()).collect();
            let _ = writeln!(
                out,
                "  {:<40} {:>8}  e.g. _id {}",
                r.reason,
                r.count,
                ids.join(", ")
            );
        }
    }
    if failing == 0 {
        let _ = writeln!(
            out,
            "Data: all {} examined in {} pass their schema.",
            crate::progress::count(examined, "document"),
            crate::progress::count(audits.len() as u64, "collection")
        );
    } else {
        let _ = writeln!(
            out,
            "Data: {} of {} examined fail their schema.",
            crate::progress::thousands(failing),
            crate::progress::count(examined, "document")
        );
    }
    out
}
