//! What scripts and CI rely on, for every command, against a real mongod: the exit codes
//! (0 ok, 1 error, 2 differences or pending), one JSON document per run matching its documented
//! shape in `docs/json/`, output that survives a closed pipe, dry runs that write nothing,
//! progress a log can read, and mongrate's own state database never being a target.

mod support;

use bson::{Document, doc};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::json_schema::assert_shape;

/// A project folder: `schemas/<db>` (a copy of workflowai), `migrations/`, its own state db.
struct Project {
    dir: tempfile::TempDir,
    db: String,
    state: String,
}

impl Project {
    fn new(tag: &str) -> Self {
        let db = support::unique_db(tag);
        let dir = tempfile::tempdir().unwrap();
        support::copy_tree(
            &support::repo().join("schemas/workflowai"),
            &dir.path().join("schemas").join(&db),
        );
        std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
        Self {
            dir,
            state: format!("{db}_state"),
            db,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `mongrate` in the project folder, on the test server, with the project's state db.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("mongrate"));
        c.current_dir(self.path())
            .env_remove("MONGODB_URI")
            .env_remove("MONGRATE_FAULT")
            .env("NO_COLOR", "1")
            .args(["--uri", &support::server_uri(), "--state-db", &self.state])
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let out = self.cmd(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        out
    }

    /// Run, assert the exit code, and return stdout.
    fn code(&self, args: &[&str], code: i32) -> Vec<u8> {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Run with `--format json`, assert the exit code and the documented shape.
    fn json(&self, command: &str, args: &[&str], code: i32) -> serde_json::Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let out = self.code(&all, code);
        assert_shape(command, &out);
        serde_json::from_slice(&out).unwrap()
    }

    fn fixtures(&self) -> PathBuf {
        let root = self.path().join("fixtures");
        support::copy_tree(
            &support::repo().join("fixtures/valid/workflowai"),
            &root.join(&self.db),
        );
        root
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let (db, state) = (self.db.clone(), self.state.clone());
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let c = support::client().await;
                c.database(&db).drop().await.ok();
                c.database(&state).drop().await.ok();
            })
        })
        .join()
        .ok();
    }
}

#[test]
fn every_command_prints_one_json_document_of_its_documented_shape_with_its_exit_code() {
    let p = Project::new("json");
    let db = p.db.clone();
    // validate / validator: no server needed.
    let v = p.json("validate", &["validate"], 0);
    assert_eq!(v["valid"], true);
    let v = p.json("validator", &["validator", &format!("{db}.contacts")], 0);
    assert!(v["validator"]["$jsonSchema"]["properties"]["email"].is_object());
    // plan / check on an empty server: differences.
    let v = p.json("plan", &["plan"], 0);
    assert_eq!(v["in_sync"], false);
    assert!(v["summary"]["runnable"].as_u64().unwrap() > 0);
    p.json("plan", &["plan", "--exit-code"], 2);
    let v = p.json("check", &["check"], 2);
    assert_eq!(v["databases"][0]["database"], db.as_str());
    assert_eq!(v["databases"][0]["outcome"], "drift");
    // apply: dry run, then for real, then nothing to apply.
    let v = p.json("apply", &["apply", "--dry-run"], 0);
    assert_eq!(v["result"], "dry_run");
    let v = p.json("apply", &["apply", "--yes"], 0);
    assert_eq!(v["result"], "applied");
    assert!(v["applied"].as_u64().unwrap() > 0);
    let v = p.json("apply", &["apply", "--yes"], 0);
    assert_eq!(v["result"], "nothing_to_apply");
    let v = p.json("doctor", &["doctor"], 0);
    assert_eq!(v["problems"], serde_json::json!([]));
    assert_eq!(v["project"]["plan_steps"], 0);
    let v = p.json("check", &["check", "--data"], 0);
    assert_eq!(v["in_sync"], true);
    assert_eq!(v["data"]["failing"], 0);
    // seed, backfill.
    let fixtures = p.fixtures();
    let v = p.json("seed", &["seed", fixtures.to_str().unwrap()], 0);
    assert!(v["inserted"].as_u64().unwrap() > 0);
    let v = p.json("backfill", &["backfill", "--dry-run"], 0);
    assert_eq!(v["dry_run"], true);
    p.json("backfill", &["backfill"], 0);
    // diff between two folders.
    let v = p.json("diff", &["diff", "schemas", "schemas"], 0);
    assert_eq!(v["in_sync"], true);
    // Migrations: generate, new, status, dry runs, up, down, verify, unlock.
    let v = p.json("migrate generate", &["migrate", "generate", "initial"], 0);
    assert!(v["path"].as_str().unwrap().contains("_initial.yaml"));
    let v = p.json("migrate new", &["migrate", "new", "by_hand"], 0);
    assert!(v["path"].as_str().unwrap().contains("_by_hand.yaml"));
    let v = p.json("migrate status", &["migrate", "status"], 0);
    assert_eq!(v["pending"], 2);
    p.json("migrate status", &["migrate", "status", "--exit-code"], 2);
    let v = p.json("migrate up", &["migrate", "up", "--dry-run"], 0);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["migrations"].as_array().unwrap().len(), 2);
    let v = p.json("migrate up", &["migrate", "up"], 0);
    assert_eq!(
        v["migrations"][0]["steps_run"],
        v["migrations"][0]["steps_total"]
    );
    p.json("migrate status", &["migrate", "status", "--exit-code"], 0);
    let v = p.json("migrate verify", &["migrate", "verify"], 0);
    assert_eq!(v["ok"], true);
    let v = p.json("migrate down", &["migrate", "down", "--dry-run"], 0);
    assert_eq!(v["migrations"].as_array().unwrap().len(), 1);
    let v = p.json("migrate down", &["migrate", "down", "--yes"], 0);
    assert_eq!(v["direction"], "down");
    let v = p.json("migrate baseline", &["migrate", "baseline"], 0);
    assert_eq!(v["databases"][0]["database"], "(shared)");
    assert_eq!(v["databases"][0]["recorded"].as_array().unwrap().len(), 1);
    let v = p.json("migrate unlock", &["migrate", "unlock", "--yes"], 0);
    assert_eq!(v["held"], false);
    // A migration that fails, resolved as rolled back; its file then removed.
    let broken = p.path().join("migrations/29990101000000_broken.yaml");
    std::fs::write(
        &broken,
        format!("up:\n  - command: {{ db: {db}, command: {{ noSuchCommand: 1 }} }}\ndown: []\n"),
    )
    .unwrap();
    let v = p.json("migrate up", &["migrate", "up"], 1);
    assert_eq!(v["error"]["kind"], "error", "{v:#}");
    let v = p.json(
        "migrate resolve",
        &["migrate", "resolve", "29990101000000", "--rolled-back"],
        0,
    );
    assert_eq!(v["resolution"]["marked"], "rolled_back");
    let v = p.json(
        "migrate resolve",
        &["migrate", "resolve", "29990101000000", "--rolled-back"],
        1,
    );
    assert_eq!(v["error"]["kind"], "refused");
    std::fs::remove_file(&broken).unwrap();
    // pull (into a separate folder): one file per collection, already in sync.
    let v = p.json("pull", &["pull", &db, "--schemas", "pulled"], 0);
    assert!(v["written"].as_u64().unwrap() > 0);
    // The project commands.
    let init = Project::new("json_init");
    std::fs::remove_dir_all(init.path().join("migrations")).unwrap();
    std::fs::remove_dir_all(init.path().join("schemas")).unwrap();
    let v = init.json("init", &["init"], 0);
    assert!(v["written"].to_string().contains("mongrate.yaml"));
    init.json("init", &["init"], 1);
    p.json("schema-json", &["schema-json"], 0);
    p.json("schema-json", &["schema-json", "--write", "editor"], 0);
    p.json("completions", &["completions", "zsh"], 0);
    p.json("man", &["man"], 0);
    // Errors are JSON too, with the same exit code, for every kind of failure.
    let v = p.json("plan", &["plan", "--uri", "mongodb://u:p4ss/w@h"], 1);
    assert_eq!(v["error"]["kind"], "invalid_uri");
    let v = p.json("validator", &["validator", "nodot"], 1);
    assert_eq!(v["error"]["kind"], "usage");
    let v = p.json("migrate down", &["migrate", "down", "--to", "0"], 1);
    assert_eq!(v["error"]["kind"], "refused", "no --yes without a terminal");
}

impl Project {
    /// Run in text and compare what a person sees (stdout, then stderr) with its snapshot in
    /// `tests/snapshots/`, names, paths and timings replaced by placeholders.
    fn text(&self, name: &str, args: &[&str], code: i32) {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        let both = format!(
            "$ mongrate {}\n{}--- stderr\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = self.path().canonicalize().unwrap();
        let both = both
            .replace(&dir.display().to_string(), "[dir]")
            .replace(&self.path().display().to_string(), "[dir]")
            .replace(&support::server_uri(), "[uri]")
            .replace(&self.state, "[state]")
            .replace(&self.db, "[db]");
        insta::with_settings!({
            snapshot_path => "snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            filters => vec![
                (r"\d{14}", "[version]"),
                (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) *", "[time] "),
                (r"\b\d+(\.\d+)? ?(ms|s)\b", "[t]"),
                (r"\b\d+(\.\d+)?[mh]\d+s\b", "[t]"),
                (r"pid \d+", "pid [pid]"),
                (r"@[A-Za-z0-9._-]+", "@[host]"),
                (r"(127\.0\.0\.1|localhost):\d+", "[host:port]"),
            ],
        }, {
            insta::assert_snapshot!(name, both);
        });
    }
}

/// What a person reads from each command, on one project: its text, kept as snapshots so a
/// change to any view shows in review.
#[test]
fn every_command_reads_as_its_snapshot() {
    let p = Project::new("text");
    let db = p.db.clone();
    p.text("validate", &["validate"], 0);
    p.text("validator", &["validator", &format!("{db}.contacts")], 0);
    p.text("plan_empty_server", &["plan"], 0);
    p.text("check_drift", &["check"], 2);
    p.text("apply_dry_run", &["apply", "--dry-run"], 0);
    p.text("apply", &["apply", "--yes"], 0);
    p.text("apply_nothing", &["apply", "--yes"], 0);
    p.text("doctor", &["doctor"], 0);
    p.text("check_data_in_sync", &["check", "--data"], 0);
    let fixtures = p.fixtures();
    p.text("seed", &["seed", fixtures.to_str().unwrap()], 0);
    // Collections without a TTL: the TTL monitor deletes old seeded documents when it likes.
    let (contacts, chats) = (format!("{db}.contacts"), format!("{db}.chatconversations"));
    p.text(
        "backfill_dry_run",
        &["backfill", "--dry-run", &contacts, &chats],
        0,
    );
    p.text("diff_same", &["diff", "schemas", "schemas"], 0);
    p.text("migrate_generate", &["migrate", "generate", "initial"], 0);
    p.text("migrate_new", &["migrate", "new", "by_hand"], 0);
    p.text("migrate_status_pending", &["migrate", "status"], 0);
    p.text("migrate_up_dry_run", &["migrate", "up", "--dry-run"], 0);
    p.text("migrate_up", &["migrate", "up"], 0);
    p.text("migrate_status_applied", &["migrate", "status"], 0);
    p.text("migrate_verify", &["migrate", "verify"], 0);
    p.text("migrate_down_dry_run", &["migrate", "down", "--dry-run"], 0);
    p.text("migrate_down", &["migrate", "down", "--yes"], 0);
    p.text("migrate_baseline", &["migrate", "baseline"], 0);
    p.text("migrate_unlock", &["migrate", "unlock", "--yes"], 0);
    p.text("pull", &["pull", &db, "--schemas", "pulled"], 0);
    p.text("lint_rules", &["lint", "--rules"], 0);
    p.text(
        "error_invalid_uri",
        &["plan", "--uri", "mongodb://u:p4ss/w@h"],
        1,
    );
    p.text("error_refused", &["migrate", "down", "--to", "0"], 1);
}

#[test]
fn exit_codes_follow_the_contract() {
    let p = Project::new("codes");
    // 2: differences or pending work, only for the commands that report them.
    p.code(&["check"], 2);
    p.code(&["plan", "--exit-code"], 2);
    p.code(&["plan"], 0);
    p.code(&["migrate", "generate", "initial"], 0);
    p.code(&["migrate", "status", "--exit-code"], 2);
    p.code(&["migrate", "status"], 0);
    let other = tempfile::tempdir().unwrap();
    support::copy_tree(
        &support::repo().join("schemas/botsmith"),
        &other.path().join(&p.db),
    );
    p.code(&["diff", "schemas", other.path().to_str().unwrap()], 2);
    p.code(&["diff", "schemas", "schemas"], 0);
    // A schema change with no migration: verify reports it (2), offline too.
    p.code(&["migrate", "verify", "--offline"], 0);
    let contacts = p.path().join("schemas").join(&p.db).join("contacts.yaml");
    let text = std::fs::read_to_string(&contacts).unwrap();
    std::fs::write(
        &contacts,
        text.replace("max_length: 100", "max_length: 120"),
    )
    .unwrap();
    p.code(&["migrate", "verify", "--offline"], 2);
    std::fs::write(&contacts, text).unwrap();
    // 1: every error, usage errors included; verify cannot skip an unreadable changelog.
    p.code(&["check", "--dat"], 1);
    p.code(
        &[
            "migrate",
            "verify",
            "--uri",
            "mongodb://127.0.0.1:1/?directConnection=true",
            "--server-timeout",
            "1",
        ],
        1,
    );
    p.code(&["validator", "nope.nope"], 1);
    // 0 once everything is applied.
    p.code(&["migrate", "up"], 0);
    p.code(&["check"], 0);
    p.code(&["plan", "--exit-code"], 0);
    p.code(&["migrate", "status", "--exit-code"], 0);
    p.code(&["migrate", "verify"], 0);
}

/// Spawn `args` with stdout (or stderr) closed before anything is written: the way `| head`
/// ends a pipe early. Returns the exit code and whatever stderr said.
fn with_closed(p: &Project, args: &[&str], close_stderr: bool) -> (Option<i32>, String) {
    let mut cmd = p.cmd(args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stderr = String::new();
    if close_stderr {
        drop(child.stderr.take());
        let mut out = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    } else {
        drop(child.stdout.take());
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
    }
    (child.wait().unwrap().code(), stderr)
}

#[test]
fn a_closed_pipe_never_makes_mongrate_panic() {
    let p = Project::new("pipes");
    p.code(&["migrate", "generate", "initial"], 0);
    let printing: Vec<Vec<&str>> = vec![
        vec!["validate"],
        vec!["validator", "x.y"],
        vec!["plan"],
        vec!["check"],
        vec!["diff", "schemas", "schemas"],
        vec!["migrate", "status"],
        vec!["migrate", "verify", "--offline"],
        vec!["migrate", "up", "--dry-run"],
        vec!["backfill", "--dry-run"],
        vec!["apply", "--dry-run"],
        vec!["--help"],
        vec!["migrate", "--help"],
    ];
    let db = p.db.clone();
    for args in printing {
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("x.y", &format!("{db}.contacts")))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        for json in [false, true] {
            let mut all = args.clone();
            if json {
                all.extend(["--format", "json"]);
            }
            let (code, stderr) = with_closed(&p, &all, false);
            assert_eq!(code, Some(0), "{all:?} with stdout closed: {stderr}");
            assert!(!stderr.contains("panicked"), "{all:?}: {stderr}");
        }
        // A closed stderr is ignored: the exit code is the command's own.
        let (code, _) = with_closed(&p, &args, true);
        assert!(
            matches!(code, Some(0) | Some(2)),
            "{args:?} with stderr closed: {code:?}"
        );
    }
    // `| head -1` on long output, many times (the quickstart's own pipeline).
    for _ in 0..10 {
        let out = Command::new("bash")
            .args(["-o", "pipefail", "-c"])
            .arg(format!(
                "{m} validator {db}.contacts | head -1 && {m} --uri '{uri}' --state-db {state} plan | head -1 && {m} --uri '{uri}' --state-db {state} migrate up --dry-run | head -1",
                m = assert_cmd::cargo::cargo_bin("mongrate").display(),
                uri = support::server_uri(),
                state = p.state,
            ))
            .current_dir(p.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test]
async fn a_change_runs_to_its_end_when_stdout_is_closed() {
    let p = Project::new("closed_apply");
    let (code, stderr) = with_closed(&p, &["apply", "--yes"], false);
    assert_eq!(code, Some(0), "{stderr}");
    let names = support::client()
        .await
        .database(&p.db)
        .list_collection_names()
        .await
        .unwrap();
    assert!(names.contains(&"contacts".to_string()), "{names:?}");
    p.code(&["check"], 0);
}

#[tokio::test]
async fn dry_runs_write_nothing_and_down_asks_first() {
    let p = Project::new("dry");
    // After a first migration of this database, `initial` is not a baseline: its down drops
    // what it creates (a baseline's never does).
    std::fs::write(
        p.path().join("migrations/20250101000000_start.yaml"),
        format!(
            "up:\n  - create_collection: {{ db: {db}, collection: contacts }}\ndown:\n  - drop_collection: {{ db: {db}, collection: contacts }}\n",
            db = p.db
        ),
    )
    .unwrap();
    p.code(&["migrate", "generate", "initial"], 0);
    let out = p.code(&["migrate", "up", "--dry-run"], 0);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("Dry run: `migrate up` would apply 2 migrations,"),
        "{text}"
    );
    assert!(text.contains("create_collection"), "{text}");
    let client = support::client().await;
    assert!(
        client
            .database(&p.db)
            .list_collection_names()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        client
            .database(&p.state)
            .collection::<Document>("changelog")
            .count_documents(doc! {})
            .await
            .unwrap(),
        0,
        "a dry run records nothing"
    );
    p.code(&["migrate", "up"], 0);
    // down: refused without a terminal unless --yes; nothing changes.
    let out = p.run(&["migrate", "down"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --yes"));
    p.code(&["check"], 0);
    let out = p.code(&["migrate", "down", "--dry-run"], 0);
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("would roll back 1 migration,"), "{text}");
    assert!(text.contains("drop_collection"), "{text}");
    p.code(&["check"], 0);
    p.code(&["migrate", "down", "--yes"], 0);
    assert_eq!(
        client
            .database(&p.db)
            .list_collection_names()
            .await
            .unwrap(),
        ["contacts"],
        "what `initial` created is dropped; the first migration's collection stays"
    );
}

#[test]
fn without_a_terminal_each_step_logs_a_line_and_long_work_logs_progress() {
    let p = Project::new("lines");
    let out = p.run(&["apply", "--yes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let steps: Vec<&str> = stderr
        .lines()
        .filter(|l| l.trim_start().starts_with('['))
        .collect();
    assert!(steps.len() > 5, "{stderr}");
    assert!(
        steps[0].contains("[1/") && steps[0].ends_with(')'),
        "{stderr}"
    );
    assert!(!stderr.contains('\x1b'), "no ANSI codes in a log: {stderr}");
    // Backfill of a few thousand documents at a set rate: a progress line with a whole-number
    // rate (the interval is shortened for the test).
    let fixtures = p.fixtures();
    std::fs::remove_dir_all(fixtures.join(&p.db)).unwrap();
    std::fs::create_dir_all(fixtures.join(&p.db)).unwrap();
    let docs: Vec<serde_json::Value> = (0..3000)
        .map(|i| serde_json::json!({ "name": format!("n{i}"), "email": format!("n{i}@example.com"), "message": "hi", "createdAt": { "$date": "2026-01-01T00:00:00Z" }, "updatedAt": { "$date": "2026-01-01T00:00:00Z" } }))
        .collect();
    std::fs::write(
        fixtures.join(&p.db).join("contacts.json"),
        serde_json::to_string(&docs).unwrap(),
    )
    .unwrap();
    p.code(&["seed", fixtures.to_str().unwrap()], 0);
    let out = p
        .cmd(&[
            "backfill",
            &format!("{}.contacts", p.db),
            "--batch-size",
            "200",
            "--max-docs-per-sec",
            "1500",
        ])
        .env("MONGRATE_PROGRESS_SECONDS", "0.5")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains(" documents (") && l.contains("/s, ETA"))
        .unwrap_or_else(|| panic!("no progress line: {stderr}"));
    let rate = line
        .split(", ")
        .nth(1)
        .unwrap()
        .trim_end_matches("/s")
        .replace(',', "");
    assert!(rate.parse::<u64>().is_ok(), "a whole-number rate: {line}");
}

#[tokio::test]
async fn the_state_database_is_never_planned_pruned_or_checked() {
    let p = Project::new("state");
    p.code(&["migrate", "generate", "initial"], 0);
    p.code(&["migrate", "up"], 0);
    // Everything else on the server is pruned; the changelog and lock stay.
    let out = p.run(&["plan", "--all-databases", "--prune", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let touched: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .chain(plan["notices"].as_array().unwrap())
        .map(|s| s["database"].as_str().unwrap())
        .collect();
    assert!(!touched.contains(&p.state.as_str()), "{touched:?}");
    let client = support::client().await;
    assert_eq!(
        client
            .database(&p.state)
            .collection::<Document>("changelog")
            .count_documents(doc! {})
            .await
            .unwrap(),
        1
    );
    // A schemas folder that declares the state database is refused.
    std::fs::create_dir_all(p.path().join("schemas").join(&p.state)).unwrap();
    std::fs::write(
        p.path()
            .join("schemas")
            .join(&p.state)
            .join("changelog.yaml"),
        "fields: {}\n",
    )
    .unwrap();
    let out = p.run(&["apply", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds mongrate's own state"));
}
