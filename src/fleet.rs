//! Fleets: one schema and one migration history for many databases (database-per-tenant).
//! Pure: which databases a run covers, and in what order a run over many of them starts,
//! stops and reports. The commands drive it; `db` does the work per database.
//!
//! - A schemas folder whose name holds `*` or `?` is a *template* for every database on the
//!   server its name matches (less its `exclude:` list; a plain folder wins for the database it
//!   names). [`expand`] turns templates into concrete databases.
//! - `--databases` ([`Selection`]) narrows any command to matching databases; a literal name
//!   that matches a template but is not on the server yet is provisioned from the template.
//! - [`Schedule`] decides which database starts next under `--parallel`, `--canary`,
//!   `--on-error` and `--max-failures`; [`Report`] is the one summary at the end.

use crate::diff::glob_any;
use crate::spec::{DatabaseSpec, SchemaSpec};
use serde::Serialize;
use std::collections::BTreeMap;

pub use crate::names::is_template;

pub use crate::names::matches;

/// `--databases`: comma-separated names or patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection(Vec<String>);

impl Selection {
    /// Parse `tenant_*,billing` (spaces around commas ignored).
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<String> = text
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            return Err("--databases needs at least one name or pattern".into());
        }
        for p in &parts {
            let literal = p.replace(['*', '?'], "x");
            if let Some(problem) = crate::names::database_problem(&literal) {
                return Err(format!("--databases `{p}`: {problem}"));
            }
        }
        Ok(Self(parts))
    }

    pub fn matches(&self, name: &str) -> bool {
        glob_any(&self.0, name)
    }

    /// The names given literally (no `*` or `?`).
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(|p| !is_template(p))
            .map(String::as_str)
    }
}

/// Databases a template never covers: the server's own and mongrate's state database.
pub fn reserved(name: &str, state_db: &str) -> bool {
    matches!(name, "admin" | "local" | "config") || name == state_db
}

/// The spec with every template replaced by one database per matching name: the server's
/// databases (`on_server`) that match it, and names given literally in `selection` (to be
/// created). Plain folders are kept (narrowed by `selection`). A database two templates match
/// is an error, as is a literal name that matches no folder.
pub fn expand(
    spec: &SchemaSpec,
    on_server: &[String],
    selection: Option<&Selection>,
    state_db: &str,
) -> Result<SchemaSpec, String> {
    let wanted = |name: &str| selection.is_none_or(|s| s.matches(name));
    let mut out = SchemaSpec::default();
    let (templates, plain): (Vec<&DatabaseSpec>, Vec<&DatabaseSpec>) =
        spec.databases.values().partition(|d| is_template(&d.name));
    for d in plain {
        if wanted(&d.name) {
            out.databases.insert(d.name.clone(), d.clone());
        }
    }
    let mut candidates: Vec<&str> = on_server.iter().map(String::as_str).collect();
    if let Some(s) = selection {
        candidates.extend(s.literals());
    }
    candidates.sort_unstable();
    candidates.dedup();
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for name in candidates {
        if reserved(name, state_db) || spec.databases.contains_key(name) || !wanted(name) {
            continue;
        }
        for t in &templates {
            if !matches(&t.name, name) || glob_any(&t.exclude, name) {
                continue;
            }
            if let Some(first) = owner.insert(name, &t.name) {
                return Err(format!(
                    "database `{name}` matches two templates, `{first}` and `{}`; narrow one with `exclude:` in its _database.yaml",
                    t.name
                ));
            }
            out.databases.insert(name.to_string(), instantiate(t, name));
        }
    }
    if let Some(s) = selection {
        for name in s.literals() {
            if !out.databases.contains_key(name) && !reserved(name, state_db) {
                return Err(format!(
                    "--databases `{name}`: no schemas folder or template declares it"
                ));
            }
        }
    }
    Ok(out)
}

/// A template's folder as the database `name`: every collection is about `name` (the data
/// commands read and write `CollectionSpec::database`, never the template's pattern).
fn instantiate(template: &DatabaseSpec, name: &str) -> DatabaseSpec {
    let mut db = template.clone();
    db.name = name.to_string();
    db.exclude.clear();
    for c in db.collections.values_mut() {
        c.database = name.to_string();
    }
    db
}

/// The label of the history that is not per database (migrations without `databases:`).
pub const SHARED: &str = "(shared)";

/// One history a migrate run works on: the shared one (`scope: None`, migrations without
/// `databases:`) or one database's (its fleet migrations, pointed at it).
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub scope: Option<String>,
    pub migrations: Vec<crate::migrate::Migration>,
}

impl Unit {
    /// The name the report uses.
    pub fn label(&self) -> &str {
        self.scope.as_deref().unwrap_or(SHARED)
    }
}

/// Is this a fleet migrate run: a migration with `databases:`, or `--databases` given?
pub fn is_fleet_run(
    migrations: &[crate::migrate::Migration],
    selection: Option<&Selection>,
) -> bool {
    selection.is_some() || migrations.iter().any(|m| m.file.databases.is_some())
}

/// The histories a migrate run covers: the shared one first (unless `--databases` narrows the
/// run to databases), then each database (on the server, or named literally in `selection`)
/// that some fleet migration covers, with those migrations pointed at it.
pub fn migration_units(
    migrations: &[crate::migrate::Migration],
    on_server: &[String],
    selection: Option<&Selection>,
    state_db: &str,
) -> Vec<Unit> {
    let mut units = Vec::new();
    let shared: Vec<_> = migrations
        .iter()
        .filter(|m| m.file.databases.is_none())
        .cloned()
        .collect();
    if selection.is_none() && !shared.is_empty() {
        units.push(Unit {
            scope: None,
            migrations: shared,
        });
    }
    let mut names: Vec<&str> = on_server.iter().map(String::as_str).collect();
    if let Some(s) = selection {
        names.extend(s.literals());
    }
    names.sort_unstable();
    names.dedup();
    for db in names {
        if reserved(db, state_db) || selection.is_some_and(|s| !s.matches(db)) {
            continue;
        }
        let mine: Vec<_> = migrations
            .iter()
            .filter(|m| m.runs_in(db))
            .map(|m| m.in_database(db))
            .collect();
        if !mine.is_empty() {
            units.push(Unit {
                scope: Some(db.to_string()),
                migrations: mine,
            });
        }
    }
    units
}

/// The model of the expanded schemas, from the model of the schemas as written: each database
/// a template covers gets a copy of the template's model, lowered once rather than once per
/// database (a fleet of thousands). Equal to lowering the expanded schemas.
pub fn expand_model(
    base: &crate::model::Schema,
    written: &SchemaSpec,
    expanded: &SchemaSpec,
) -> crate::model::Schema {
    let mut out = crate::model::Schema {
        unsharded: base.unsharded,
        ..Default::default()
    };
    for name in expanded.databases.keys() {
        let from = if written.databases.contains_key(name) {
            Some(name.as_str())
        } else {
            written
                .databases
                .values()
                .find(|t| {
                    is_template(&t.name) && matches(&t.name, name) && !glob_any(&t.exclude, name)
                })
                .map(|t| t.name.as_str())
        };
        if let Some(d) = from.and_then(|f| base.databases.get(f)) {
            let mut d = d.clone();
            d.name = name.clone();
            // A declared evolution is about each covered database, not the pattern.
            for e in d
                .collections
                .values_mut()
                .flat_map(|c| c.evolutions.iter_mut())
            {
                e.db = name.clone();
            }
            out.databases.insert(name.clone(), d);
        }
    }
    out
}

/// `--on-error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Report a failed database and carry on with the others.
    Continue,
    /// Start no further database after the first failure (running ones finish).
    Stop,
}

/// How a fleet run proceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Databases worked on at once (at least 1).
    pub parallel: usize,
    /// Databases run first, on their own; any failure among them stops the run.
    pub canary: usize,
    pub on_error: OnError,
    /// Start no further database once this many failed.
    pub max_failures: Option<usize>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            parallel: 4,
            canary: 0,
            on_error: OnError::Continue,
            max_failures: None,
        }
    }
}

/// Which database starts next: a state machine over the run's databases, in order.
#[derive(Debug)]
pub struct Schedule {
    policy: Policy,
    total: usize,
    next: usize,
    running: usize,
    finished: usize,
    failed: usize,
    canary_failed: bool,
    /// Why the run stopped starting databases, once it did.
    pub stopped: Option<String>,
}

impl Schedule {
    pub fn new(total: usize, policy: Policy) -> Self {
        Self {
            policy: Policy {
                parallel: policy.parallel.max(1),
                canary: policy.canary.min(total),
                ..policy
            },
            total,
            next: 0,
            running: 0,
            finished: 0,
            failed: 0,
            canary_failed: false,
            stopped: None,
        }
    }

    /// The index of the next database to start now, if one may start.
    pub fn start(&mut self) -> Option<usize> {
        if self.stopped.is_some() || self.next >= self.total {
            return None;
        }
        let in_canary = self.next < self.policy.canary;
        // The canary runs alone (in parallel among itself), and everything waits for it.
        let limit = if in_canary {
            self.policy.parallel.min(self.policy.canary)
        } else {
            if self.finished < self.policy.canary {
                return None;
            }
            self.policy.parallel
        };
        if self.running >= limit {
            return None;
        }
        self.running += 1;
        self.next += 1;
        Some(self.next - 1)
    }

    /// Database `index` finished, `ok` or not.
    pub fn finish(&mut self, index: usize, ok: bool) {
        self.running -= 1;
        self.finished += 1;
        if ok {
            return;
        }
        self.failed += 1;
        if index < self.policy.canary {
            self.canary_failed = true;
        }
        if self.stopped.is_some() {
            return;
        }
        if self.canary_failed {
            self.stopped = Some(format!(
                "a canary database failed (--canary {}): the other databases were not touched",
                self.policy.canary
            ));
        } else if self.policy.on_error == OnError::Stop {
            self.stopped = Some("a database failed (--on-error stop)".into());
        } else if self.policy.max_failures.is_some_and(|m| self.failed >= m) {
            self.stopped = Some(format!(
                "{} failed (--max-failures {})",
                crate::progress::count(self.failed as u64, "database"),
                self.policy.max_failures.unwrap_or_default()
            ));
        }
    }

    /// Nothing running and nothing more will start.
    pub fn done(&self) -> bool {
        self.running == 0 && (self.stopped.is_some() || self.next >= self.total)
    }

    /// Databases never started (after a stop), as indexes.
    pub fn not_started(&self) -> std::ops::Range<usize> {
        self.next..self.total
    }
}

/// Where one database ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Matched the schemas (or had no pending migration) already.
    InSync,
    /// Changed by this run and now in line.
    Changed,
    /// Differs from the schemas, or has pending migrations (check, status, dry runs).
    Drift,
    /// Refused or failed; its error says why.
    Failed,
    /// Not started: the run stopped first (canary, --on-error stop, --max-failures).
    Skipped,
}

/// One database's line of the report.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DatabaseReport {
    pub database: String,
    pub outcome: Outcome,
    /// Steps (or migrations) run or pending.
    pub steps: usize,
    /// The first line of the error, for `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

/// The summary of a run over many databases.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub databases: Vec<DatabaseReport>,
    /// Why the run stopped starting databases, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// Counts per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub in_sync: usize,
    pub changed: usize,
    pub drift: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Report {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for d in &self.databases {
            match d.outcome {
                Outcome::InSync => c.in_sync += 1,
                Outcome::Changed => c.changed += 1,
                Outcome::Drift => c.drift += 1,
                Outcome::Failed => c.failed += 1,
                Outcome::Skipped => c.skipped += 1,
            }
        }
        c
    }

    /// 1 when any database failed or was skipped, 2 when any drifted or is pending, else 0.
    pub fn exit_code(&self) -> i32 {
        let c = self.counts();
        if c.failed > 0 || c.skipped > 0 {
            1
        } else if c.drift > 0 {
            2
        } else {
            0
        }
    }

    /// The text summary: counts, then one line per failed or drifted database (`noun` says
    /// what its count counts: `difference`, `pending migration`), then why the run stopped.
    pub fn text(&self, elapsed: std::time::Duration, noun: &str) -> String {
        let c = self.counts();
        let mut parts = Vec::new();
        for (n, what) in [
            (c.in_sync, "in sync"),
            (c.changed, "changed"),
            (c.drift, "drifted or pending"),
            (c.failed, "failed"),
            (c.skipped, "not started"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let mut out = format!(
            "{}: {} ({:.1}s)\n",
            crate::progress::count(self.databases.len() as u64, "database"),
            if parts.is_empty() {
                "nothing to do".to_string()
            } else {
                parts.join(", ")
            },
            elapsed.as_secs_f64()
        );
        for d in &self.databases {
            match d.outcome {
                Outcome::Failed => out.push_str(&format!(
                    "  failed  {}: {}\n",
                    d.database,
                    d.error.as_deref().unwrap_or("failed")
                )),
                Outcome::Drift => out.push_str(&format!(
                    "  drift   {}: {}\n",
                    d.database,
                    crate::progress::count(d.steps as u64, noun)
                )),
                _ => {}
            }
        }
        if let Some(why) = &self.stopped {
            out.push_str(&format!("  stopped: {why}\n"));
        }
        out
    }
}

/// A finished database's line of the report: its outcome and steps, or its failure (the first
/// line of the error).
pub fn report_line(
    database: &str,
    result: anyhow::Result<(Outcome, usize)>,
    elapsed: std::time::Duration,
) -> DatabaseReport {
    let elapsed_ms = elapsed.as_millis() as u64;
    match result {
        Ok((outcome, steps)) => DatabaseReport {
            database: database.to_string(),
            outcome,
            steps,
            error: None,
            elapsed_ms,
        },
        Err(e) => DatabaseReport {
            database: database.to_string(),
            outcome: Outcome::Failed,
            steps: 0,
            error: Some(first_line(&format!("{e:#}"))),
            elapsed_ms,
        },
    }
}

/// The progress line of a finished database (`noun`: what its count counts).
pub fn outcome_line(d: &DatabaseReport, noun: &str) -> String {
    match d.outcome {
        Outcome::InSync => format!("{}: in sync", d.database),
        Outcome::Changed => format!(
            "{}: {} applied",
            d.database,
            crate::progress::count(d.steps as u64, noun)
        ),
        Outcome::Drift => format!(
            "{}: {} pending",
            d.database,
            crate::progress::count(d.steps as u64, noun)
        ),
        Outcome::Failed => format!(
            "{}: FAILED: {}",
            d.database,
            d.error.as_deref().unwrap_or_default()
        ),
        Outcome::Skipped => format!("{}: not started", d.database),
    }
}

/// The first line of an error, for a report.
pub fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(names: &[(&str, &[&str])]) -> SchemaSpec {
        let mut s = SchemaSpec::default();
        for (name, exclude) in names {
            s.databases.insert(
                name.to_string(),
                DatabaseSpec {
                    name: name.to_string(),
                    exclude: exclude.iter().map(|e| e.to_string()).collect(),
                    ..Default::default()
                },
            );
        }
        s
    }

    fn names(s: &SchemaSpec) -> Vec<&str> {
        s.databases.keys().map(String::as_str).collect()
    }

    #[test]
    fn templates_cover_matching_server_databases_less_excludes_and_plain_folders() {
        let s = spec(&[
            ("tenant_*", &["tenant_test*"]),
            ("tenant_0002", &[]),
            ("billing", &[]),
        ]);
        let server: Vec<String> = [
            "tenant_0001",
            "tenant_0002",
            "tenant_test1",
            "other",
            "admin",
            "mongrate",
        ]
        .map(String::from)
        .to_vec();
        let out = expand(&s, &server, None, "mongrate").unwrap();
        assert_eq!(names(&out), ["billing", "tenant_0001", "tenant_0002"]);
    }

    #[test]
    fn a_selection_narrows_and_a_literal_name_provisions_a_new_tenant() {
        let s = spec(&[("tenant_*", &[]), ("billing", &[])]);
        let server = vec!["tenant_0001".to_string(), "tenant_0002".to_string()];
        let sel = Selection::parse("tenant_0002, tenant_0042").unwrap();
        let out = expand(&s, &server, Some(&sel), "mongrate").unwrap();
        assert_eq!(names(&out), ["tenant_0002", "tenant_0042"]);
        let none = Selection::parse("nobody").unwrap();
        assert!(
            expand(&s, &server, Some(&none), "mongrate")
                .unwrap_err()
                .contains("no schemas folder or template declares it")
        );
        assert!(Selection::parse(" , ").is_err());
        assert!(Selection::parse("a/b").is_err());
    }

    #[test]
    fn the_expanded_model_is_the_template_lowered_once_and_copied() {
        let root = tempfile::tempdir().unwrap();
        for (dir, file) in [("tenant_*", "orders"), ("billing", "invoices")] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
            std::fs::write(
                root.path().join(dir).join(format!("{file}.yaml")),
                "fields:\n  sku: { type: string, required: true, renamed_from: code }\nindexes:\n  - keys: { sku: 1 }\n",
            )
            .unwrap();
        }
        let written = crate::spec::load_dir(root.path()).unwrap().spec;
        let server: Vec<String> = ["tenant_1", "tenant_2", "billing"]
            .map(String::from)
            .to_vec();
        let expanded = expand(&written, &server, None, "mongrate").unwrap();
        let direct = crate::spec::to_model(&expanded);
        let copied = expand_model(&crate::spec::to_model(&written), &written, &expanded);
        assert_eq!(copied, direct);
        assert_eq!(copied.databases.len(), 3);
        // Every collection of a covered database is about that database, not the pattern:
        // the data commands (check --data, backfill, lint --uri) read it from there.
        let orders = expanded.collection("tenant_2", "orders").unwrap();
        assert_eq!(orders.database, "tenant_2");
        // A declared evolution too: counted and rewritten in each tenant, not in the pattern.
        let evolution = &copied.databases["tenant_2"].collections["orders"].evolutions[0];
        assert_eq!(evolution.db, "tenant_2");
    }

    #[test]
    fn a_database_two_templates_match_is_an_error() {
        let s = spec(&[("tenant_*", &[]), ("*_0001", &[])]);
        let err = expand(&s, &["tenant_0001".into()], None, "m").unwrap_err();
        assert!(err.contains("matches two templates"), "{err}");
    }

    fn migration(version: &str, databases: Option<&str>) -> crate::migrate::Migration {
        let text = format!(
            "{}up:\n  - create_index: {{ {}collection: c, index: {{ key: {{ a: 1 }}, name: a_1 }} }}\n",
            databases
                .map(|d| format!("databases: '{d}'\n"))
                .unwrap_or_default(),
            if databases.is_some() { "" } else { "db: app, " },
        );
        crate::migrate::parse(std::path::Path::new(&format!("{version}_m.yaml")), &text)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn migrate_units_are_the_shared_history_then_each_covered_database() {
        let ms = vec![
            migration("20260101000000", None),
            migration("20260102000000", Some("tenant_*")),
            migration("20260103000000", Some("tenant_00*")),
        ];
        let server: Vec<String> = ["tenant_0001", "tenant_1000", "other", "mongrate"]
            .map(String::from)
            .to_vec();
        let units = migration_units(&ms, &server, None, "mongrate");
        let labels: Vec<(&str, usize)> = units
            .iter()
            .map(|u| (u.label(), u.migrations.len()))
            .collect();
        assert_eq!(
            labels,
            [(SHARED, 1), ("tenant_0001", 2), ("tenant_1000", 1)]
        );
        // Pointed at their database.
        assert_eq!(units[1].migrations[0].file.up[0].db(), "tenant_0001");
        // --databases: only those databases (a new one named literally included), no shared.
        let sel = Selection::parse("tenant_0001,tenant_0042").unwrap();
        let units = migration_units(&ms, &server, Some(&sel), "mongrate");
        let labels: Vec<&str> = units.iter().map(Unit::label).collect();
        assert_eq!(labels, ["tenant_0001", "tenant_0042"]);
        assert!(is_fleet_run(&ms, None));
        assert!(!is_fleet_run(&ms[..1], None));
    }

    fn run(total: usize, policy: Policy, fails: &[usize]) -> (Vec<usize>, Schedule) {
        // Finish each started database at once, in start order, recording the order.
        let mut s = Schedule::new(total, policy);
        let mut started = Vec::new();
        let mut running = std::collections::VecDeque::new();
        while !s.done() {
            while let Some(i) = s.start() {
                started.push(i);
                running.push_back(i);
            }
            let i = running.pop_front().expect("something runs");
            s.finish(i, !fails.contains(&i));
        }
        (started, s)
    }

    #[test]
    fn parallel_never_exceeds_its_limit_and_the_canary_goes_first() {
        let mut s = Schedule::new(
            10,
            Policy {
                parallel: 4,
                canary: 2,
                ..Policy::default()
            },
        );
        assert_eq!((s.start(), s.start(), s.start()), (Some(0), Some(1), None));
        s.finish(0, true);
        assert_eq!(s.start(), None, "the rest waits for the whole canary");
        s.finish(1, true);
        assert_eq!(
            (s.start(), s.start(), s.start(), s.start(), s.start()),
            (Some(2), Some(3), Some(4), Some(5), None)
        );
    }

    #[test]
    fn a_failing_canary_stops_the_run_without_touching_the_rest() {
        let policy = Policy {
            parallel: 8,
            canary: 3,
            ..Policy::default()
        };
        let (started, s) = run(20, policy, &[1]);
        assert_eq!(started, [0, 1, 2]);
        assert_eq!(s.not_started(), 3..20);
        assert!(s.stopped.unwrap().contains("canary"));
    }

    #[test]
    fn continue_runs_everything_stop_and_max_failures_do_not() {
        let cont = Policy {
            parallel: 1,
            ..Policy::default()
        };
        assert_eq!(run(5, cont, &[1, 3]).0.len(), 5);
        let stop = Policy {
            on_error: OnError::Stop,
            ..cont
        };
        assert_eq!(run(5, stop, &[1]).0, [0, 1]);
        let max = Policy {
            max_failures: Some(2),
            ..cont
        };
        assert_eq!(run(6, max, &[0, 2, 4]).0, [0, 1, 2]);
    }

    #[test]
    fn the_report_exit_code_is_the_worst_outcome() {
        let line = |outcome| DatabaseReport {
            database: "t".into(),
            outcome,
            steps: 1,
            error: None,
            elapsed_ms: 0,
        };
        let report = |o: &[Outcome]| Report {
            databases: o.iter().map(|o| line(*o)).collect(),
            stopped: None,
        };
        assert_eq!(report(&[Outcome::InSync, Outcome::Changed]).exit_code(), 0);
        assert_eq!(report(&[Outcome::InSync, Outcome::Drift]).exit_code(), 2);
        assert_eq!(report(&[Outcome::Drift, Outcome::Failed]).exit_code(), 1);
        assert_eq!(report(&[Outcome::Skipped]).exit_code(), 1);
        let text =
            report(&[Outcome::InSync, Outcome::Drift]).text(Default::default(), "difference");
        assert!(
            text.starts_with("2 databases: 1 in sync, 1 drifted or pending"),
            "{text}"
        );
    }
}
