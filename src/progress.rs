//! Progress of long work, as events: the one [`Reporter`] trait that `apply`, `migrate` and
//! `backfill` report through. Core code never prints; the command layer draws a bar on a
//! terminal and writes plain lines otherwise.

use std::time::Duration;

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count and its noun, in the one number format: `1 document`, `12,345 documents`,
/// `0 indexes`. Nouns whose plural is not `+s` are spelled out in [`plural`].
pub fn count(n: u64, noun: &str) -> String {
    format!(
        "{} {}",
        thousands(n),
        if n == 1 {
            noun.to_string()
        } else {
            plural(noun)
        }
    )
}

/// `1 existing document fails` / `3 existing documents fail` (the verb agrees).
pub fn failing_documents(n: u64) -> String {
    format!(
        "{} {}",
        crate::progress::count(n, "existing document"),
        if n == 1 { "fails" } else { "fail" }
    )
}

/// The plural of an English noun as mongrate uses them.
pub fn plural(noun: &str) -> String {
    match noun {
        "index" => "indexes".into(),
        "entry" => "entries".into(),
        "history" => "histories".into(),
        "database" | "collection" | "document" | "step" | "migration" | "field" | "change"
        | "notice" | "file" | "error" | "warning" | "value" | "group" | "operation" => {
            format!("{noun}s")
        }
        n if n.ends_with('s') || n.ends_with('x') || n.ends_with("ch") || n.ends_with("sh") => {
            format!("{n}es")
        }
        n if n.ends_with('y') && !n.ends_with("ey") && !n.ends_with("ay") => {
            format!("{}ies", &n[..n.len() - 1])
        }
        n => format!("{n}s"),
    }
}

/// Seconds as a file would write them: `90d`, `12h`, `30m`, `45s` (the largest exact unit).
pub fn ttl(secs: i64) -> String {
    for (unit, n) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs > 0 && secs % n == 0 {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// A duration for people: `850ms`, `12.3s`, `4m05s`, `1h02m`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{}ms", d.as_millis())
    } else if s < 60.0 {
        format!("{s:.1}s")
    } else if s < 3600.0 {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    } else {
        format!("{}h{:02}m", d.as_secs() / 3600, (d.as_secs() % 3600) / 60)
    }
}

/// What a piece of work counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Steps,
    Documents,
    /// Databases of a fleet run (each counts as one step of the bar).
    Databases,
}

/// Receives progress events. Every method has a default that ignores the event.
pub trait Reporter {
    /// Something the user should know (e.g. a lock taken over from a dead run).
    fn note(&mut self, _message: &str) {}
    /// Work labelled `label` starts: `total` units, of which `done` were done by an earlier,
    /// interrupted run (rates and ETAs count only this run's work).
    fn begin(&mut self, _label: &str, _unit: Unit, _total: u64, _done: u64) {}
    /// The step now running.
    fn working_on(&mut self, _what: &str) {}
    /// `done` units are done (absolute, including earlier runs' work).
    fn advance(&mut self, _done: u64) {}
    /// The running step `what` is `percent` along, as the server reports it (an index build),
    /// with a short `detail` such as `scanning collection: 140,208/400,000`.
    fn step_progress(&mut self, _what: &str, _percent: u64, _detail: &str) {}
    /// A step finished in `elapsed`.
    fn step_done(&mut self, _what: &str, _elapsed: Duration) {}
    /// The work labelled in `begin` finished.
    fn end(&mut self, _summary: &str, _elapsed: Duration) {}
}

/// A reporter that reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;
impl Reporter for Silent {}

/// What the run is doing now ("step 3 of 10: create_index ..."), for an error that interrupts
/// it (a server that stops answering): set by the reporter that draws progress.
static ACTIVITY: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Set (or clear) what the run is doing now.
pub fn set_activity(what: Option<String>) {
    if let Ok(mut a) = ACTIVITY.lock() {
        *a = what;
    }
}

/// What the run was doing, if anything was said.
pub fn activity() -> Option<String> {
    ACTIVITY.lock().ok().and_then(|a| a.clone())
}
