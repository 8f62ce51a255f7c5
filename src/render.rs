//! Plans and reports → text for people or JSON for scripts. Pure: returns strings.

use crate::extjson;
use crate::plan::{Plan, Step};
use bson::Document;
use std::fmt::Write;

/// Colours on or off (off when not a terminal or `NO_COLOR` is set).
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
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
        return out;
    }
    // Groups in first-appearance order of (db, collection), steps in plan order within each.
    let mut groups: Vec<(String, String)> = Vec::new();
    for s in &plan.steps {
        let key = (s.db.clone(), s.collection.clone());
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    for n in &plan.notices {
        let key = (n.db.clone(), n.collection.clone());
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    for (db, coll) in &groups {
        let _ = writeln!(out, "{}", style.paint("1", &format!("{db}.{coll}")));
        for (i, s) in plan
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| &s.db == db && &s.collection == coll)
        {
            step_text(&mut out, i + 1, s, style);
        }
        for n in plan
            .notices
            .iter()
            .filter(|n| &n.db == db && &n.collection == coll)
        {
            let _ = writeln!(out, "  {} {}", style.paint("36", "!"), n.message);
        }
    }
    let runnable = plan.runnable().count();
    let skipped = plan.steps.len() - runnable;
    let blocked = plan.steps.iter().filter(|s| s.blocked_by_data()).count();
    let _ = write!(out, "\nPlan: {runnable} step(s) to run");
    if skipped > 0 {
        let _ = write!(out, ", {skipped} skipped");
    }
    if blocked > 0 {
        let _ = write!(out, ", {blocked} blocked by existing data");
    }
    if !plan.notices.is_empty() {
        let _ = write!(out, ", {} notice(s)", plan.notices.len());
    }
    out.push_str(".\n");
    out
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
                Some(crate::plan::SafetyCheck::DuplicateKeys { .. }) => "duplicate key group(s)",
                _ => "existing document(s) fail the new validator",
            };
            let ids: Vec<String> = r.sample_ids.iter().map(|b| b.to_string()).collect();
            let _ = writeln!(
                out,
                "        {}",
                style.paint(
                    "31",
                    &format!("blocked: {} {what}; e.g. _id {}", r.count, ids.join(", "))
                )
            );
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

/// The plan as pretty JSON.
pub fn plan_json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The data audit as text: per collection, the documents failing and why.
pub fn audit_text(audits: &[crate::db::audit::AuditReport]) -> String {
    let mut out = String::new();
    let failing: u64 = audits.iter().map(|a| a.failing).sum();
    let examined: u64 = audits.iter().map(|a| a.examined).sum();
    for a in audits.iter().filter(|a| a.failing > 0) {
        let _ = writeln!(
            out,
            "{}.{}: {} of {} {}document(s) fail the schema",
            a.db,
            a.collection,
            a.failing,
            a.examined,
            if a.sampled { "sampled " } else { "" }
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
            "Data: all {examined} document(s) examined in {} collection(s) pass their schema.",
            audits.len()
        );
    } else {
        let _ = writeln!(
            out,
            "Data: {failing} of {examined} document(s) examined fail their schema."
        );
    }
    out
}
