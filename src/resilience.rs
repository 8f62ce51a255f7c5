//! Riding out elections and long index builds, as decisions over plain data: which server
//! answers mean "try again once a primary is back", how long to wait between tries, how index
//! builds are grouped into waves the server runs at once, and what a running build's
//! `$currentOp` entry says about its progress. Pure: the driver side is `db::step`.

use crate::ops::Operation;
use bson::{Bson, Document};
use std::time::Duration;

/// Server error codes that mean the operation was cut by an election, a shutdown or the
/// network, not refused: the server may or may not have done it, and trying again against the
/// (new) primary is the way on — after checking what the server now holds.
pub const TRANSIENT_CODES: &[(i32, &str)] = &[
    (6, "HostUnreachable"),
    (7, "HostNotFound"),
    (89, "NetworkTimeout"),
    (91, "ShutdownInProgress"),
    (189, "PrimarySteppedDown"),
    (9001, "SocketException"),
    (10058, "LegacyNotPrimary"),
    (10107, "NotWritablePrimary"),
    (11600, "InterruptedAtShutdown"),
    (11602, "InterruptedDueToReplStateChange"),
    (13435, "NotPrimaryNoSecondaryOk"),
    (13436, "NotPrimaryOrSecondary"),
    // After an election an index build may still be finishing on the new primary (committing)
    // when the next step (a collMod) comes: the step waits and runs again.
    (12587, "BackgroundOperationInProgressForNamespace"),
];

/// Error labels the server and driver put on errors worth retrying.
pub const TRANSIENT_LABELS: &[&str] = &[
    "RetryableWriteError",
    "TransientTransactionError",
    "ResumableChangeStreamError",
];

/// Is a server error with this code an interruption rather than a refusal?
pub fn is_transient_code(code: i32) -> bool {
    TRANSIENT_CODES.iter().any(|(c, _)| *c == code)
}

/// How long to wait before try `attempt` (1-based): 250 ms, 500 ms, 1 s, then every 2 s.
pub fn backoff(attempt: u32) -> Duration {
    let ms = 250u64.saturating_mul(1 << attempt.saturating_sub(1).min(3));
    Duration::from_millis(ms.min(2000))
}

/// `--commit-quorum`: `votingMembers`, `majority`, a number of data-bearing members, or the
/// name of a replica set tag.
pub fn parse_commit_quorum(s: &str) -> Result<Bson, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(
            "expected `votingMembers`, `majority`, a number of members, or a tag name".into(),
        );
    }
    if let Ok(n) = s.parse::<i64>() {
        return i32::try_from(n)
            .ok()
            .filter(|n| *n >= 0)
            .map(Bson::Int32)
            .ok_or_else(|| format!("a number of members is 0 or more, not {n}"));
    }
    Ok(Bson::String(s.to_string()))
}

/// Where the wave of steps that starts at `start` ends (exclusive): consecutive index builds,
/// at most `slots` of them, run at once; any other step is a wave of its own.
pub fn wave_end(ops: &[&Operation], start: usize, slots: usize) -> usize {
    let is_build = |op: &Operation| matches!(op, Operation::CreateIndex { .. });
    if start >= ops.len() {
        return ops.len();
    }
    if !is_build(ops[start]) {
        return start + 1;
    }
    let mut end = start + 1;
    while end < ops.len() && end - start < slots.max(1) && is_build(ops[end]) {
        end += 1;
    }
    end
}

/// Index builds on a collection this same run created (so it is empty) need no watching and
/// no waves: the consecutive builds from `start` on that collection go to the server as one
/// `createIndexes` command. Returns the end of that run of builds (`start + 1` or more), or
/// `None` when `ops[start]` is not such a build.
pub fn empty_collection_builds_end(ops: &[&Operation], start: usize) -> Option<usize> {
    let Some(Operation::CreateIndex { db, collection, .. }) = ops.get(start) else {
        return None;
    };
    let created = ops[..start].iter().any(|o| {
        matches!(o, Operation::CreateCollection { db: d, collection: c, .. } if d == db && c == collection)
    });
    if !created {
        return None;
    }
    let mut end = start + 1;
    while let Some(Operation::CreateIndex {
        db: d,
        collection: c,
        ..
    }) = ops.get(end)
    {
        if d != db || c != collection {
            break;
        }
        end += 1;
    }
    Some(end)
}

/// How many builds a new wave may start: the server's limit on concurrent user index builds
/// (`maxNumActiveUserIndexBuilds`, 3 by default) less those already running, at least one.
pub fn free_build_slots(limit: Option<i64>, running: usize) -> usize {
    let limit = limit.unwrap_or(3).max(1) as usize;
    limit.saturating_sub(running).max(1)
}

/// How far the furthest-behind secondary is behind the primary, from `replSetGetStatus`
/// (members that are down or not secondaries do not count); `None` without a primary or
/// secondaries.
pub fn replication_lag(status: &Document) -> Option<Duration> {
    let members = status.get_array("members").ok()?;
    let optime = |m: &Document| {
        m.get_datetime("optimeDate")
            .ok()
            .map(|d| d.timestamp_millis())
    };
    let mut primary = None;
    let mut slowest: Option<i64> = None;
    for m in members.iter().filter_map(Bson::as_document) {
        match m.get_str("stateStr") {
            Ok("PRIMARY") => primary = optime(m),
            Ok("SECONDARY") => {
                if let Some(t) = optime(m) {
                    slowest = Some(slowest.map_or(t, |s| s.min(t)));
                }
            }
            _ => {}
        }
    }
    let lag = primary? - slowest?;
    Some(Duration::from_millis(lag.max(0) as u64))
}

/// A running index build, as the primary's `$currentOp` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildProgress {
    pub db: String,
    pub collection: String,
    pub indexes: Vec<String>,
    /// The phase, e.g. `scanning collection`.
    pub phase: String,
    /// Documents (or keys) done and in all, in this phase.
    pub done: u64,
    pub total: u64,
    pub secs_running: u64,
}

/// A build's phase in words, with its place among the three: `phase 1 of 3: scanning
/// collection`.
pub fn phase_words(phase: &str) -> String {
    let n = if phase.starts_with("scanning") {
        1
    } else if phase.starts_with("inserting keys") {
        2
    } else if phase.starts_with("draining") {
        3
    } else {
        return phase.to_string();
    };
    format!("phase {n} of 3: {phase}")
}

impl BuildProgress {
    /// Progress over the whole build in percent: the collection scan is the first 60%, inserting
    /// the sorted keys the next 35%, draining the writes that came meanwhile the rest.
    pub fn percent(&self) -> u64 {
        let (from, span) = match self.phase.as_str() {
            p if p.starts_with("scanning") => (0, 60),
            p if p.starts_with("inserting keys") => (60, 35),
            p if p.starts_with("draining") => (95, 5),
            _ => (0, 0),
        };
        let within = (self.done.min(self.total) * span)
            .checked_div(self.total)
            .unwrap_or(0);
        (from + within).min(100)
    }
}

fn number(v: Option<&Bson>) -> u64 {
    match v {
        Some(Bson::Int32(i)) => (*i).max(0) as u64,
        Some(Bson::Int64(i)) => (*i).max(0) as u64,
        Some(Bson::Double(f)) if *f > 0.0 => *f as u64,
        _ => 0,
    }
}

/// The index builds among `$currentOp` entries: the coordinator threads
/// (`desc: IndexBuildsCoordinator...`), one per build, whoever started it.
pub fn index_builds(ops: &[Document]) -> Vec<BuildProgress> {
    let mut out = Vec::new();
    for op in ops {
        if !op
            .get_str("desc")
            .is_ok_and(|d| d.starts_with("IndexBuildsCoordinator"))
        {
            continue;
        }
        let Ok(command) = op.get_document("command") else {
            continue;
        };
        let Ok(collection) = command.get_str("createIndexes") else {
            continue;
        };
        let db = op
            .get_str("ns")
            .ok()
            .and_then(|ns| ns.split_once('.').map(|(d, _)| d.to_string()))
            .or_else(|| command.get_str("$db").ok().map(str::to_string))
            .unwrap_or_default();
        let indexes = command
            .get_array("indexes")
            .map(|a| {
                a.iter()
                    .filter_map(|i| i.as_document()?.get_str("name").ok().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let msg = op.get_str("msg").unwrap_or_default();
        let phase = msg
            .strip_prefix("Index Build: ")
            .map(|rest| {
                rest.split(" Index Build:")
                    .next()
                    .unwrap_or(rest)
                    .split(':')
                    .next()
                    .unwrap_or(rest)
                    .trim()
                    .to_string()
            })
            .unwrap_or_else(|| "starting".to_string());
        let progress = op.get_document("progress").ok();
        out.push(BuildProgress {
            db,
            collection: collection.to_string(),
            indexes,
            phase,
            done: number(progress.and_then(|p| p.get("done"))),
            total: number(progress.and_then(|p| p.get("total"))),
            secs_running: number(op.get("secs_running")),
        });
    }
    out
}

/// The running build that builds index `name` of `db.collection`, if any.
pub fn build_of<'a>(
    builds: &'a [BuildProgress],
    db: &str,
    collection: &str,
    name: &str,
) -> Option<&'a BuildProgress> {
    builds
        .iter()
        .find(|b| b.db == db && b.collection == collection && b.indexes.iter().any(|i| i == name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn elections_and_shutdowns_are_transient_refusals_are_not() {
        for code in [10107, 11602, 189, 91, 13436, 9001, 12587] {
            assert!(is_transient_code(code), "{code}");
        }
        // Duplicate key, unauthorized, index options conflict, invalid options.
        for code in [11000, 13, 85, 86, 72, 2] {
            assert!(!is_transient_code(code), "{code}");
        }
    }

    #[test]
    fn backoff_grows_then_stays_at_two_seconds() {
        let ms: Vec<u128> = (1..=6).map(|a| backoff(a).as_millis()).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 2000, 2000]);
    }

    #[test]
    fn commit_quorum_values() {
        assert_eq!(
            parse_commit_quorum("majority").unwrap(),
            Bson::String("majority".into())
        );
        assert_eq!(
            parse_commit_quorum("votingMembers").unwrap(),
            Bson::String("votingMembers".into())
        );
        assert_eq!(parse_commit_quorum("2").unwrap(), Bson::Int32(2));
        assert!(parse_commit_quorum("-1").unwrap_err().contains("0 or more"));
        assert!(parse_commit_quorum(" ").is_err());
    }

    fn build(name: &str) -> Operation {
        Operation::CreateIndex {
            db: "d".into(),
            collection: "c".into(),
            index: doc! { "key": { name: 1 }, "name": name },
        }
    }

    #[test]
    fn consecutive_builds_go_in_waves_of_the_free_slots() {
        let drop = Operation::DropIndex {
            db: "d".into(),
            collection: "c".into(),
            name: "x".into(),
        };
        let (a, b, c, d) = (build("a"), build("b"), build("c"), build("d"));
        let ops = [&a, &b, &c, &d, &drop, &a];
        assert_eq!(wave_end(&ops, 0, 3), 3);
        assert_eq!(wave_end(&ops, 3, 3), 4);
        assert_eq!(wave_end(&ops, 4, 3), 5);
        assert_eq!(wave_end(&ops, 5, 3), 6);
        assert_eq!(wave_end(&ops, 0, 1), 1);
        assert_eq!(wave_end(&ops, 0, 0), 1);
        assert_eq!(free_build_slots(Some(3), 0), 3);
        let create = |c: &str| Operation::CreateCollection {
            db: "d".into(),
            collection: c.into(),
            options: Document::new(),
        };
        let build = |c: &str, n: &str| Operation::CreateIndex {
            db: "d".into(),
            collection: c.into(),
            index: doc! { "key": { n: 1 }, "name": n },
        };
        let ops = [
            create("new"),
            build("new", "a"),
            build("new", "b"),
            build("old", "c"),
            build("new", "d"),
        ];
        let refs: Vec<&Operation> = ops.iter().collect();
        assert_eq!(empty_collection_builds_end(&refs, 1), Some(3));
        assert_eq!(
            empty_collection_builds_end(&refs, 3),
            None,
            "not created by this run"
        );
        assert_eq!(empty_collection_builds_end(&refs, 4), Some(5));
        assert_eq!(empty_collection_builds_end(&refs, 0), None);
        assert_eq!(free_build_slots(Some(3), 2), 1);
        assert_eq!(free_build_slots(Some(3), 5), 1);
        assert_eq!(free_build_slots(None, 1), 2);
    }

    #[test]
    fn lag_is_the_slowest_healthy_secondary_behind_the_primary() {
        let at = |ms: i64| bson::DateTime::from_millis(1_700_000_000_000 + ms);
        let status = doc! { "members": [
            { "stateStr": "SECONDARY", "optimeDate": at(-4000) },
            { "stateStr": "PRIMARY", "optimeDate": at(0) },
            { "stateStr": "SECONDARY", "optimeDate": at(-1500) },
            { "stateStr": "(not reachable/healthy)", "optimeDate": at(-900_000) },
        ] };
        assert_eq!(replication_lag(&status), Some(Duration::from_millis(4000)));
        let alone = doc! { "members": [{ "stateStr": "PRIMARY", "optimeDate": at(0) }] };
        assert_eq!(replication_lag(&alone), None);
    }

    #[test]
    fn a_coordinator_entry_reads_as_progress_over_the_whole_build() {
        let ops = vec![
            doc! { "desc": "conn22", "command": { "createIndexes": "big" } },
            doc! {
                "desc": "IndexBuildsCoordinatorMongod-1", "ns": "app.big", "secs_running": 4i64,
                "command": { "createIndexes": "big", "indexes": [{ "key": { "email": 1 }, "name": "email_1" }], "$db": "app" },
                "msg": "Index Build: scanning collection Index Build: scanning collection: 14328/400000 3%",
                "progress": { "done": 200000i64, "total": 400000i64 },
            },
        ];
        let builds = index_builds(&ops);
        assert_eq!(builds.len(), 1);
        let b = &builds[0];
        assert_eq!(
            (b.db.as_str(), b.collection.as_str(), b.phase.as_str()),
            ("app", "big", "scanning collection")
        );
        assert_eq!(b.indexes, ["email_1"]);
        assert_eq!(b.percent(), 30);
        assert!(build_of(&builds, "app", "big", "email_1").is_some());
        assert!(build_of(&builds, "app", "big", "other").is_none());
        let mut later = b.clone();
        later.phase = "inserting keys from external sorter into index".into();
        later.done = 0;
        assert_eq!(later.percent(), 60, "a new phase never goes back");
        later.done = 400000;
        assert_eq!(later.percent(), 95);
    }
}
