//! The other days, against a real mongod: a runner frozen past its lease (SIGSTOP: a GC pause,
//! a frozen VM, a sleeping laptop) while a second runner takes over, and a server that stops
//! answering in the middle of a run.

mod support;

use bson::{Document, doc};
use futures_util::TryStreamExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const V1: &str = "20250101000000";
const V2: &str = "20250102000000";

/// Two migrations over `DB`: indexes, a data change (idempotent through its filter), a
/// backfill; each with its `down`.
fn write_migrations(dir: &Path, db: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let first = "up:\n  - create_collection: { db: DB, collection: items }\n  - create_index: { db: DB, collection: items, index: { key: { sku: 1 }, name: sku_1, unique: true } }\n  - update_many: { db: DB, collection: items, filter: { status: old }, update: { $set: { status: new } } }\n  - create_index: { db: DB, collection: items, index: { key: { status: 1 }, name: status_1 } }\n  - backfill: { db: DB, collection: items, field: qty, value: 0 }\n  - create_index: { db: DB, collection: items, index: { key: { qty: -1 }, name: qty_-1 } }\ndown:\n  - drop_index: { db: DB, collection: items, name: qty_-1 }\n  - update_many: { db: DB, collection: items, filter: { qty: 0 }, update: { $unset: { qty: '' } } }\n  - drop_index: { db: DB, collection: items, name: status_1 }\n  - update_many: { db: DB, collection: items, filter: { status: new }, update: { $set: { status: old } } }\n  - drop_index: { db: DB, collection: items, name: sku_1 }\n";
    let second = "up:\n  - rename_field: { db: DB, collection: items, from: name, to: title }\n  - create_index: { db: DB, collection: items, index: { key: { title: 1 }, name: title_1 } }\n  - update_many: { db: DB, collection: items, filter: { tag: { $exists: false } }, update: { $set: { tag: none } } }\ndown:\n  - update_many: { db: DB, collection: items, filter: { tag: none }, update: { $unset: { tag: '' } } }\n  - drop_index: { db: DB, collection: items, name: title_1 }\n  - rename_field: { db: DB, collection: items, from: title, to: name }\n";
    std::fs::write(
        dir.join(format!("{V1}_first.yaml")),
        first.replace("DB", db),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("{V2}_second.yaml")),
        second.replace("DB", db),
    )
    .unwrap();
}

async fn seed(db: &str) {
    let coll = support::client()
        .await
        .database(db)
        .collection::<Document>("items");
    coll.drop().await.ok();
    let docs: Vec<Document> = (0..500)
        .map(|i| doc! { "_id": i, "sku": format!("s{i}"), "name": format!("item {i}"), "status": if i % 2 == 0 { "old" } else { "kept" } })
        .collect();
    coll.insert_many(docs).await.unwrap();
}

fn mongrate(state: &str, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("mongrate"));
    c.env_remove("MONGODB_URI")
        .env_remove("MONGRATE_FAULT")
        .env_remove("MONGRATE_PAUSE")
        .args([
            "--uri",
            &support::server_uri(),
            "--state-db",
            state,
            "--migrations",
        ])
        .arg(dir)
        .args(args)
        .stdin(Stdio::null());
    c
}

/// The documents (sorted by `_id`) and the index names of `db.items`.
async fn state_of(db: &str) -> (Vec<Document>, Vec<String>) {
    let coll = support::client()
        .await
        .database(db)
        .collection::<Document>("items");
    let docs: Vec<Document> = coll
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut names = coll.list_index_names().await.unwrap();
    names.sort();
    (docs, names)
}

/// (version, status, direction, steps_done, steps_total) of each changelog entry.
async fn changelog(state: &str) -> Vec<(String, String, String, i64, i64)> {
    let entries: Vec<Document> = support::client()
        .await
        .database(state)
        .collection::<Document>("changelog")
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let n = |d: &Document, k: &str| match d.get(k) {
        Some(bson::Bson::Int32(i)) => i64::from(*i),
        Some(bson::Bson::Int64(i)) => *i,
        _ => -1,
    };
    entries
        .iter()
        .map(|d| {
            (
                d.get_str("_id").unwrap().to_string(),
                d.get_str("status").unwrap().to_string(),
                d.get_str("direction").unwrap().to_string(),
                n(d, "steps_done"),
                n(d, "steps_total"),
            )
        })
        .collect()
}

fn stopped(child: &Child) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", child.id()))
        .map(|s| s.split_whitespace().nth(2) == Some("T"))
        .unwrap_or(false)
}

fn signal(child: &Child, sig: &str) {
    Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
}

/// Start `args` as runner A and wait until it is frozen (SIGSTOP) at `pause`.
fn frozen_at(state: &str, dir: &Path, args: &[&str], pause: &str) -> Child {
    let a = mongrate(state, dir, args)
        .env("MONGRATE_PAUSE", pause)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !stopped(&a) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "runner A never reached {pause}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    a
}

/// Run `args` as runner A, frozen (SIGSTOP) at `pause`; let runner B run the same command to
/// its end; thaw A. Returns A's exit code and stderr.
fn paused_holder(state: &str, dir: &Path, args: &[&str], pause: &str) -> (Option<i32>, String) {
    let a = frozen_at(state, dir, args, pause);
    // B waits out A's 3 s lease, takes over and finishes.
    let b = mongrate(state, dir, args).output().unwrap();
    assert_eq!(
        b.status.code(),
        Some(0),
        "runner B: {}",
        String::from_utf8_lossy(&b.stderr)
    );
    signal(&a, "-CONT");
    let out = a.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs the MONGRATE_PAUSE hook: cargo test --features test-hooks (scripts/test.sh)"
)]
#[tokio::test]
async fn a_runner_paused_past_its_lease_stops_and_the_result_equals_an_unpaused_run() {
    // The reference: the same migrations, never paused.
    let ref_db = support::unique_db("fence_ref");
    let ref_state = format!("{ref_db}_s");
    let ref_dir = tempfile::tempdir().unwrap();
    write_migrations(ref_dir.path(), &ref_db);
    seed(&ref_db).await;
    let up = ["migrate", "up", "--lock-lease", "3"];
    assert!(
        mongrate(&ref_state, ref_dir.path(), &up)
            .output()
            .unwrap()
            .status
            .success()
    );
    let after_up = state_of(&ref_db).await;
    let log_up = changelog(&ref_state).await;

    // Paused mid-migration, after a step ran but before it was recorded, and (second run)
    // between two recorded steps.
    for pause in [format!("{V1}:3:after-exec"), format!("{V2}:1:after-record")] {
        let db = support::unique_db("fence");
        let state = format!("{db}_s");
        let dir = tempfile::tempdir().unwrap();
        write_migrations(dir.path(), &db);
        seed(&db).await;
        let (code, stderr) = paused_holder(&state, dir.path(), &up, &pause);
        assert_eq!(code, Some(1), "runner A must fail: {stderr}");
        assert!(stderr.contains("lost the migration lock"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let here = state_of(&db).await;
        assert_eq!(
            here.0, after_up.0,
            "documents as after an unpaused `up` ({pause})"
        );
        assert_eq!(
            here.1, after_up.1,
            "indexes as after an unpaused `up` ({pause})"
        );
        assert_eq!(changelog(&state).await, log_up, "changelog ({pause})");
        support::client().await.database(&db).drop().await.ok();
        support::client().await.database(&state).drop().await.ok();
    }

    // `down --to 0`: reference, then paused.
    let down = ["migrate", "down", "--to", "0", "--yes", "--lock-lease", "3"];
    assert!(
        mongrate(&ref_state, ref_dir.path(), &down)
            .output()
            .unwrap()
            .status
            .success()
    );
    let after_down = state_of(&ref_db).await;
    let log_down = changelog(&ref_state).await;
    assert!(
        log_down.iter().all(|e| e.1 == "rolled_back"),
        "{log_down:?}"
    );
    let db = support::unique_db("fence_down");
    let state = format!("{db}_s");
    let dir = tempfile::tempdir().unwrap();
    write_migrations(dir.path(), &db);
    seed(&db).await;
    assert!(
        mongrate(&state, dir.path(), &up)
            .output()
            .unwrap()
            .status
            .success()
    );
    let (code, stderr) = paused_holder(&state, dir.path(), &down, &format!("{V1}:2:after-exec"));
    assert_eq!(code, Some(1), "runner A must fail: {stderr}");
    assert!(stderr.contains("lost the migration lock"), "{stderr}");
    let here = state_of(&db).await;
    assert_eq!(
        here.0, after_down.0,
        "documents as after an unpaused `down`"
    );
    assert_eq!(here.1, after_down.1, "indexes as after an unpaused `down`");
    assert_eq!(changelog(&state).await, log_down);
    for d in [&db, &state, &ref_db, &ref_state] {
        support::client().await.database(d).drop().await.ok();
    }
}

/// The window the fence closes: runner A checks its lease, then freezes just before a data
/// step; runner B takes over, applies everything and rolls it all back; A wakes up. Its batch
/// commits in a transaction that checks the lock's token, so it writes nothing: the documents
/// are as the rollback left them.
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs the MONGRATE_FAULT hook: cargo test --features test-hooks (scripts/test.sh)"
)]
#[tokio::test(flavor = "multi_thread")]
async fn a_takeover_that_waits_behind_a_killed_runners_open_transaction_keeps_its_lease() {
    let up = ["migrate", "up", "--lock-lease", "3"];
    let reference = support::unique_db("fence_txn_ref");
    let ref_dir = tempfile::tempdir().unwrap();
    write_migrations(ref_dir.path(), &reference);
    seed(&reference).await;
    let ran = mongrate(&format!("{reference}_s"), ref_dir.path(), &up)
        .output()
        .unwrap();
    assert!(ran.status.success());

    let db = support::unique_db("fence_txn");
    let state = format!("{db}_s");
    let dir = tempfile::tempdir().unwrap();
    write_migrations(dir.path(), &db);
    seed(&db).await;
    // Runner A is killed holding the lock...
    let a = mongrate(&state, dir.path(), &up)
        .env("MONGRATE_FAULT", format!("{V1}:1:after-exec"))
        .output()
        .unwrap();
    assert_eq!(a.status.code(), None, "killed by SIGKILL");
    // ... leaving open, as a batch it was in the middle of would, a transaction that wrote the
    // lock document; the server ends it 5 s later (a minute, by default).
    let client = support::client().await;
    let mut session = client.start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    client
        .database(&state)
        .collection::<Document>("locks")
        .update_one(doc! {}, doc! { "$set": { "probe": 1 } })
        .session(&mut session)
        .await
        .unwrap();
    let ends = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        session.abort_transaction().await.unwrap();
    });
    // Runner B takes the lock over (A's process is gone) behind that transaction: the wait is
    // longer than the lease, and B still holds the lock it took.
    let started = Instant::now();
    let b = mongrate(&state, dir.path(), &up).output().unwrap();
    ends.await.unwrap();
    let stderr = String::from_utf8_lossy(&b.stderr);
    assert_eq!(b.status.code(), Some(0), "runner B: {stderr}");
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "B waited for the transaction"
    );
    assert_eq!(state_of(&db).await, state_of(&reference).await);
}

#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs the MONGRATE_PAUSE hook: cargo test --features test-hooks (scripts/test.sh)"
)]
#[tokio::test]
async fn a_runner_frozen_before_a_data_step_writes_nothing_after_a_takeover() {
    // Step 3 is an `update_many`, step 5 a `backfill`.
    for step in [3, 5] {
        frozen_before(step).await;
    }
}

async fn frozen_before(step: usize) {
    let db = support::unique_db("fence_data");
    let state = format!("{db}_s");
    let dir = tempfile::tempdir().unwrap();
    write_migrations(dir.path(), &db);
    seed(&db).await;
    let before = state_of(&db).await;
    let up = ["migrate", "up", "--lock-lease", "3"];
    let a = frozen_at(&state, dir.path(), &up, &format!("{V1}:{step}:before-exec"));
    for args in [
        &up[..],
        &["migrate", "down", "--to", "0", "--yes", "--lock-lease", "3"][..],
    ] {
        let b = mongrate(&state, dir.path(), args).output().unwrap();
        assert_eq!(
            b.status.code(),
            Some(0),
            "B {args:?}: {}",
            String::from_utf8_lossy(&b.stderr)
        );
    }
    let rolled_back = state_of(&db).await;
    assert_eq!(
        rolled_back.0, before.0,
        "B's rollback restores the documents"
    );
    signal(&a, "-CONT");
    let out = a.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "A must fail: {stderr}");
    assert!(stderr.contains("lost the migration lock"), "{stderr}");
    let after = state_of(&db).await;
    let changed = after
        .0
        .iter()
        .zip(&before.0)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        (changed, after.0.len()),
        (0, before.0.len()),
        "A's data step {step} wrote nothing after B took over and rolled back"
    );
    for d in [&db, &state] {
        support::client().await.database(d).drop().await.ok();
    }
}

#[tokio::test]
async fn an_undecodable_lock_fails_after_the_timeout_and_unlock_replaces_it() {
    let db = support::unique_db("badlock");
    let state = format!("{db}_s");
    let dir = tempfile::tempdir().unwrap();
    write_migrations(dir.path(), &db);
    seed(&db).await;
    support::client()
        .await
        .database(&state)
        .collection::<Document>("locks")
        .insert_one(doc! { "_id": "migrate", "owner": 5, "expires_at": "tomorrow" })
        .await
        .unwrap();
    let started = Instant::now();
    let out = mongrate(
        &state,
        dir.path(),
        &["migrate", "up", "--lock-timeout", "1"],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the migration lock document cannot be read"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it did not wait forever"
    );
    let out = mongrate(&state, dir.path(), &["migrate", "unlock", "--yes"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Lock broken"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        mongrate(&state, dir.path(), &["migrate", "up"])
            .output()
            .unwrap()
            .status
            .success()
    );
    support::client().await.database(&db).drop().await.ok();
    support::client().await.database(&state).drop().await.ok();
}

#[tokio::test]
async fn a_server_that_stops_answering_fails_the_run_within_the_timeout_naming_the_work() {
    // Our own mongod, to freeze.
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("python3")
        .arg(support::repo().join("scripts/mongod.py"))
        .args(["start", "--dir"])
        .arg(dir.path())
        .arg("--watch-pid")
        .arg(std::process::id().to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let uri = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("state.json")).unwrap())
            .unwrap();
    let mongod_pid = state["pid"].as_u64().unwrap().to_string();
    let mut opts = mongodb::options::ClientOptions::parse(&uri).await.unwrap();
    opts.server_selection_timeout = Some(Duration::from_secs(20));
    let client = mongodb::Client::with_options(opts).unwrap();
    let docs: Vec<Document> = (0..3000).map(|i| doc! { "_id": i }).collect();
    client
        .database("frozen")
        .collection::<Document>("t")
        .insert_many(docs)
        .await
        .unwrap();
    let schemas = support::one_collection_schemas(
        "frozen",
        "t",
        "validation: { enabled: false }\nfields:\n  n: { type: int, default: 1 }\n",
    );
    // A backfill slowed to 300 documents a second (10 s of work); the server freezes after 2 s.
    let started = Instant::now();
    let child = Command::new(assert_cmd::cargo::cargo_bin("mongrate"))
        .env_remove("MONGODB_URI")
        .args(["--uri", &uri, "--server-timeout", "2", "--schemas"])
        .arg(schemas.path())
        .args([
            "backfill",
            "--batch-size",
            "100",
            "--max-docs-per-sec",
            "300",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    Command::new("kill")
        .args(["-STOP", &mongod_pid])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    Command::new("kill")
        .args(["-CONT", &mongod_pid])
        .status()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stopped answering during frozen.t")
            && stderr.contains("--server-timeout 2"),
        "the error names the work that was running: {stderr}"
    );
    // Frozen at 2 s; 2 s of timeout, a ping interval, and at most 2 s to let go of the client.
    assert!(took < Duration::from_secs(9), "took {took:?}: {stderr}");
    Command::new("python3")
        .arg(support::repo().join("scripts/mongod.py"))
        .args(["stop", "--dir"])
        .arg(dir.path())
        .status()
        .unwrap();
}

#[tokio::test]
async fn a_changelog_write_with_an_older_token_is_refused() {
    use mongrate::db::changelog::{Changelog, Direction, Entry, Fenced, Missing, Status};
    let state = support::unique_db("fenced_writes");
    let client = support::client().await;
    let entry = Entry {
        version: V1.into(),
        name: "first".into(),
        checksum: "c".into(),
        status: Status::Running,
        direction: Direction::Up,
        steps_done: 2,
        steps_total: 6,
        started_at: bson::DateTime::now(),
        finished_at: None,
        duration_ms: None,
        applied_at: None,
        host: "h".into(),
        pid: 1,
        tool_version: "t".into(),
        error: None,
        lock_token: 0,
        database: None,
        project: None,
        resolved: None,
    };
    let old = Changelog::new(&client, &state, 4);
    let new = Changelog::new(&client, &state, 5);
    // Progress on an entry that is not there (its start record lost) says so.
    let e = old
        .set(V1, bson::doc! { "steps_done": 1 })
        .await
        .unwrap_err();
    assert!(e.downcast_ref::<Missing>().is_some(), "{e:#}");
    old.put(&entry).await.unwrap();
    // The run holding token 5 takes over and records progress.
    new.put(&entry.at_step(3)).await.unwrap();
    // The stale run (token 4) can neither update nor replace the entry.
    let e = old.put(&entry.at_step(2)).await.unwrap_err();
    assert!(e.downcast_ref::<Fenced>().is_some(), "{e:#}");
    let e = old.put(&entry).await.unwrap_err();
    assert!(e.downcast_ref::<Fenced>().is_some(), "{e:#}");
    let e = old
        .put(&entry.finished(6, bson::DateTime::now()))
        .await
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("written by a newer run (lock token 5 > 4)"),
        "{e:#}"
    );
    let entries = new.entries().await.unwrap();
    assert_eq!((entries[0].steps_done, entries[0].lock_token), (3, 5));
    client.database(&state).drop().await.ok();
}
