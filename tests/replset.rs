//! Against a real 3-member replica set (three mongods on this machine, started by
//! `scripts/mongod.py start --members 3`): runs ride out a `replSetStepDown` at chosen moments
//! (before the first index build, during one, after two), `apply` and `backfill` too, two racing
//! `migrate up`s stay exactly-once, a build's progress is shown, and a run killed during a
//! build is followed by one that waits for that build instead of starting a second.
//!
//! The tests take turns (a stepdown concerns everyone on the set) and share one collection of
//! 400,000 documents, large enough that each index build takes a second or more.

mod support;

use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const BIG: u64 = 400_000;

/// The database holding the shared collection `big` (loaded once per test binary).
fn big_db() -> &'static str {
    static DB: OnceLock<String> = OnceLock::new();
    DB.get_or_init(|| support::unique_db("rs_big"))
}

async fn load_big(client: &mongodb::Client) -> mongodb::Collection<Document> {
    let coll = client.database(big_db()).collection::<Document>("big");
    if coll.estimated_document_count().await.unwrap() < BIG {
        coll.drop().await.unwrap();
        let mut i = 0;
        while i < BIG {
            let batch: Vec<Document> = (i..i + 20_000)
                .map(|k| {
                    doc! {
                        "n": k as i64,
                        "email": format!("user{k}@example.com"),
                        "city": (["Oslo", "Lima", "Pune", "Kobe"][(k % 4) as usize]),
                        "score": (k % 1000) as f64 / 7.0,
                        "tags": [format!("t{}", k % 13), format!("u{}", k % 7)],
                    }
                })
                .collect();
            coll.insert_many(batch).ordered(false).await.unwrap();
            i += 20_000;
        }
    }
    // Only `_id_`: each test builds its own.
    coll.drop_indexes().await.unwrap();
    coll
}

/// `mongrate` on the replica set, started in the background with its output captured.
fn spawn(args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("mongrate"));
    cmd.current_dir(support::repo())
        .env_remove("MONGODB_URI")
        .env_remove("MONGRATE_FAULT")
        .env("NO_COLOR", "1")
        .args(["--uri", &support::replset_uri()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("mongrate starts")
}

async fn finish(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The primary's host name.
async fn primary(client: &mongodb::Client) -> String {
    let hello = client
        .database("admin")
        .run_command(doc! { "hello": 1 })
        .await
        .unwrap();
    hello.get_str("me").unwrap().to_string()
}

/// Step the primary down (it cannot be re-elected for 10 s) and wait for the new one.
async fn step_down(client: &mongodb::Client) -> (String, String) {
    let old = primary(client).await;
    // The primary closes connections as it steps down: the reply may be an error.
    let _ = client
        .database("admin")
        .run_command(doc! { "replSetStepDown": 10, "secondaryCatchUpPeriodSecs": 5, "force": true })
        .await;
    let started = Instant::now();
    loop {
        if let Ok(Ok(h)) = tokio::time::timeout(
            Duration::from_secs(5),
            client.database("admin").run_command(doc! { "hello": 1 }),
        )
        .await
            && h.get_bool("isWritablePrimary").unwrap_or(false)
            && h.get_str("me").is_ok_and(|me| me != old)
        {
            return (old, h.get_str("me").unwrap().to_string());
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no new primary after the stepdown"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Poll `ready` every 50 ms until it holds (at most 90 s).
async fn until<F, Fut>(what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !ready().await {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Index builds running on the primary: (collection, index names, done, total).
async fn builds(client: &mongodb::Client) -> Vec<(String, Vec<String>, i64)> {
    let ops: Vec<Document> = match client
        .database("admin")
        .aggregate(vec![
            doc! { "$currentOp": { "allUsers": true } },
            doc! { "$match": { "desc": { "$regex": "^IndexBuildsCoordinator" } } },
        ])
        .await
    {
        Ok(c) => c.try_collect().await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    ops.iter()
        .map(|o| {
            let cmd = o.get_document("command").cloned().unwrap_or_default();
            let names = cmd
                .get_array("indexes")
                .map(|a| {
                    a.iter()
                        .filter_map(|i| i.as_document()?.get_str("name").ok().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let done = o
                .get_document("progress")
                .ok()
                .and_then(|p| match p.get("done") {
                    Some(Bson::Int32(i)) => Some(i64::from(*i)),
                    Some(Bson::Int64(i)) => Some(*i),
                    _ => None,
                })
                .unwrap_or(0);
            (
                cmd.get_str("createIndexes").unwrap_or_default().to_string(),
                names,
                done,
            )
        })
        .collect()
}

/// Ready indexes of `big`, by name (from the catalog: an index still building is not ready).
async fn ready_indexes(client: &mongodb::Client) -> Vec<String> {
    let coll = client.database(big_db()).collection::<Document>("big");
    let Ok(cursor) = coll.aggregate(vec![doc! { "$listCatalog": {} }]).await else {
        return Vec::new();
    };
    let entries: Vec<Document> = cursor.try_collect().await.unwrap_or_default();
    entries
        .iter()
        .flat_map(|e| {
            e.get_document("md")
                .ok()
                .and_then(|md| md.get_array("indexes").ok())
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|i| {
            let i = i.as_document()?;
            i.get_bool("ready")
                .unwrap_or(false)
                .then(|| i.get_document("spec").ok()?.get_str("name").ok())
                .flatten()
                .map(String::from)
        })
        .collect()
}

/// Every index of `big` by name, as listIndexes shows them (each must appear once).
async fn index_names(client: &mongodb::Client) -> Vec<String> {
    let mut names: Vec<String> = client
        .database(big_db())
        .collection::<Document>("big")
        .list_index_names()
        .await
        .unwrap();
    names.sort();
    names
}

const INDEXES: [(&str, &str); 4] = [
    ("email_1", "{ email: 1 }"),
    ("city_1_score_-1", "{ city: 1, score: -1 }"),
    ("tags_1", "{ tags: 1 }"),
    ("score_1_n_1", "{ score: 1, n: 1 }"),
];

/// A migrations folder with one migration: a backfill of `big` (seconds of work before any
/// build), then the four index builds.
fn migration_dir(field: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let version = "20260101000000";
    let mut up = format!(
        "up:\n  - backfill: {{ db: {db}, collection: big, field: {field}, value: false }}\n",
        db = big_db()
    );
    let mut down = String::from("down:\n");
    for (name, keys) in INDEXES {
        up.push_str(&format!(
            "  - create_index: {{ db: {db}, collection: big, index: {{ key: {keys}, name: {name} }} }}\n",
            db = big_db()
        ));
        down.insert_str(
            6,
            &format!(
                "  - drop_index: {{ db: {db}, collection: big, name: {name} }}\n",
                db = big_db()
            ),
        );
    }
    std::fs::write(
        dir.path().join(format!("{version}_builds.yaml")),
        format!("{up}{down}"),
    )
    .unwrap();
    (dir, version.to_string())
}

fn up_args<'a>(dir: &'a tempfile::TempDir, state: &'a str) -> Vec<&'a str> {
    vec![
        "migrate",
        "--state-db",
        state,
        "--dir",
        dir.path().to_str().unwrap(),
        "up",
        // A build of 400,000 documents on three members sharing two cores can outlast the
        // default 60 s a racing run waits for the lock.
        "--lock-timeout",
        "300",
    ]
}

/// After a run: the migration applied once with every step, every index there once, no lock.
async fn assert_applied_once(client: &mongodb::Client, state: &str, version: &str) {
    let entries: Vec<Document> = client
        .database(state)
        .collection::<Document>("changelog")
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(e.get_str("_id").unwrap(), version);
    assert_eq!(e.get_str("status").unwrap(), "applied", "{e}");
    let steps = |k: &str| match e.get(k) {
        Some(Bson::Int32(i)) => i64::from(*i),
        Some(Bson::Int64(i)) => *i,
        other => panic!("{k}: {other:?}"),
    };
    assert_eq!(steps("steps_done"), 5, "{e}");
    assert_eq!(steps("steps_total"), 5, "{e}");
    let mut expected: Vec<String> = INDEXES.iter().map(|(n, _)| n.to_string()).collect();
    expected.push("_id_".into());
    expected.sort();
    assert_eq!(index_names(client).await, expected);
    let held = client
        .database(state)
        .collection::<Document>("locks")
        .count_documents(doc! { "owner": { "$ne": null } })
        .await
        .unwrap();
    assert_eq!(held, 0, "no lock is left behind");
}

/// When, in `migrate up`, the primary is stepped down.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// During the backfill that comes before the first build.
    BeforeTheFirstBuild,
    /// While an index build is scanning the collection.
    DuringABuild,
    /// Once two indexes are built.
    AfterTwoBuilds,
}

#[tokio::test]
async fn migrate_up_rides_out_a_stepdown_before_during_and_after_index_builds() {
    let _turn = support::replset_guard().await;
    let client = support::replset_client().await;
    for (i, moment) in [
        Moment::BeforeTheFirstBuild,
        Moment::DuringABuild,
        Moment::AfterTwoBuilds,
    ]
    .into_iter()
    .enumerate()
    {
        let coll = load_big(&client).await;
        let field = format!("flag{i}");
        let (dir, version) = migration_dir(&field);
        let state = support::unique_db("rs_state");
        let child = spawn(&up_args(&dir, &state), &[]);
        match moment {
            Moment::BeforeTheFirstBuild => {
                until("the backfill has written", || async {
                    coll.count_documents(doc! { &field: false })
                        .await
                        .unwrap_or(0)
                        > 0
                })
                .await;
                assert!(builds(&client).await.is_empty(), "no build started yet");
            }
            Moment::DuringABuild => {
                until("a build is scanning", || async {
                    builds(&client)
                        .await
                        .iter()
                        .any(|(c, _, done)| c == "big" && *done > 0)
                })
                .await;
            }
            Moment::AfterTwoBuilds => {
                until("two indexes are built", || async {
                    ready_indexes(&client).await.len() >= 3
                })
                .await;
            }
        }
        let (old, new) = step_down(&client).await;
        assert_ne!(old, new);
        let out = finish(child).await;
        assert_eq!(out.status.code(), Some(0), "{moment:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Applied 1 migration"),
            "{moment:?}: {}",
            text(&out)
        );
        if matches!(moment, Moment::DuringABuild) {
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("interrupted"),
                "the run says what happened: {}",
                text(&out)
            );
        }
        assert_applied_once(&client, &state, &version).await;
        assert_eq!(
            coll.count_documents(doc! { &field: { "$exists": false } })
                .await
                .unwrap(),
            0,
            "{moment:?}: the backfill reached every document"
        );
        client.database(&state).drop().await.unwrap();
    }
}

#[tokio::test]
async fn two_racing_ups_across_a_stepdown_apply_the_migration_once() {
    let _turn = support::replset_guard().await;
    let client = support::replset_client().await;
    load_big(&client).await;
    let (dir, version) = migration_dir("raced");
    let state = support::unique_db("rs_race");
    let a = spawn(&up_args(&dir, &state), &[]);
    let b = spawn(&up_args(&dir, &state), &[]);
    until("a build is scanning", || async {
        builds(&client).await.iter().any(|(c, _, _)| c == "big")
    })
    .await;
    step_down(&client).await;
    let (a, b) = (finish(a).await, finish(b).await);
    for out in [&a, &b] {
        assert_eq!(out.status.code(), Some(0), "{}", text(out));
    }
    let applied: usize = [&a, &b]
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stdout).contains("Applied 1 migration"))
        .count();
    assert_eq!(
        applied,
        1,
        "exactly one run applied it:\n{}\n{}",
        text(&a),
        text(&b)
    );
    assert_applied_once(&client, &state, &version).await;
    client.database(&state).drop().await.unwrap();
}

#[tokio::test]
async fn apply_rides_out_a_stepdown_in_the_middle_of_the_plan() {
    let _turn = support::replset_guard().await;
    let client = support::replset_client().await;
    load_big(&client).await;
    let indexes: String = INDEXES
        .iter()
        .map(|(name, keys)| format!("  - keys: {keys}\n    name: {name}\n"))
        .collect();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join(big_db())).unwrap();
    std::fs::write(
        root.path().join(big_db()).join("big.yaml"),
        format!(
            "fields:\n  n: {{ type: long, required: true }}\n  email: {{ type: string }}\n  city: {{ type: string }}\n  score: {{ type: double }}\n  tags: {{ type: array, items: {{ type: string }} }}\nindexes:\n{indexes}"
        ),
    )
    .unwrap();
    let schemas = root.path().to_str().unwrap();
    // The plan says how many documents the builds read.
    let plan = Command::new(assert_cmd::cargo::cargo_bin("mongrate"))
        .args([
            "--uri",
            &support::replset_uri(),
            "--schemas",
            schemas,
            "plan",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("builds over ~400,000 documents"),
        "{}",
        text(&plan)
    );
    let child = spawn(&["--schemas", schemas, "apply", "--yes"], &[]);
    until("a build is scanning", || async {
        builds(&client)
            .await
            .iter()
            .any(|(c, _, done)| c == "big" && *done > 0)
    })
    .await;
    step_down(&client).await;
    let out = finish(child).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let check = Command::new(assert_cmd::cargo::cargo_bin("mongrate"))
        .args([
            "--uri",
            &support::replset_uri(),
            "--schemas",
            schemas,
            "check",
        ])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    assert_eq!(index_names(&client).await.len(), INDEXES.len() + 1);
}

#[tokio::test]
async fn backfill_rides_out_a_stepdown_and_overwrites_nothing() {
    const N: i64 = 200_000;
    let _turn = support::replset_guard().await;
    let client = support::replset_client().await;
    let target = support::unique_db("rs_backfill");
    let coll = client.database(&target).collection::<Document>("items");
    let mut i = 0;
    while i < N {
        let batch: Vec<Document> = (i..i + 20_000)
            .map(|k| {
                // One in ten already has its own status and meta.source: they must stay.
                if k % 10 == 0 {
                    doc! { "_id": k, "status": "kept", "meta": { "source": "api" } }
                } else {
                    doc! { "_id": k }
                }
            })
            .collect();
        coll.insert_many(batch).await.unwrap();
        i += 20_000;
    }
    let root = support::one_collection_schemas(
        &target,
        "items",
        "fields:\n  status: { type: string, default: new }\n  meta:\n    type: object\n    fields:\n      source: { type: string, default: web }\n",
    );
    let state = support::unique_db("rs_bf_state");
    let child = spawn(
        &[
            "--schemas",
            root.path().to_str().unwrap(),
            "backfill",
            "--batch-size",
            "1000",
            "--max-docs-per-sec",
            "50000",
            "--state-db",
            &state,
        ],
        &[],
    );
    until("a fifth of the documents are filled", || async {
        coll.count_documents(doc! { "status": "new" })
            .await
            .unwrap_or(0)
            > (N / 5) as u64
    })
    .await;
    step_down(&client).await;
    let out = finish(child).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Whether the run saw the election depends on where it was: a write cut by the stepdown is
    // retried with a line saying so; a batch sent after the driver already saw the new primary
    // just goes there. Either way the result below must be exact.
    let said = String::from_utf8_lossy(&out.stderr).contains("interrupted");
    eprintln!("backfill across a stepdown: interruption reported: {said}");
    let count = |f: Document| {
        let coll = coll.clone();
        async move { coll.count_documents(f).await.unwrap() }
    };
    assert_eq!(count(doc! { "status": { "$exists": false } }).await, 0);
    assert_eq!(count(doc! { "status": "kept" }).await, (N / 10) as u64);
    assert_eq!(count(doc! { "meta.source": "api" }).await, (N / 10) as u64);
    assert_eq!(count(doc! { "status": "new" }).await, (N - N / 10) as u64);
    assert_eq!(
        count(doc! { "meta.source": "web" }).await,
        (N - N / 10) as u64
    );
    // Counted once each, though a batch was cut and run again.
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "Backfill done: {} modified",
            mongrate::progress::count((N - N / 10) as u64, "document")
        )),
        "{}",
        text(&out)
    );
    client.database(&target).drop().await.unwrap();
    client.database(&state).drop().await.unwrap();
}

#[tokio::test]
async fn a_long_build_shows_its_progress_and_a_killed_run_is_followed_by_one_that_waits_for_it() {
    let _turn = support::replset_guard().await;
    let client = support::replset_client().await;
    load_big(&client).await;
    let dir = tempfile::tempdir().unwrap();
    // A wildcard index: the slowest build here (every field of every document).
    std::fs::write(
        dir.path().join("20260101000000_wild.yaml"),
        format!(
            "up:\n  - create_index: {{ db: {db}, collection: big, index: {{ key: {{ $**: 1 }}, name: wild }} }}\ndown:\n  - drop_index: {{ db: {db}, collection: big, name: wild }}\n",
            db = big_db()
        ),
    )
    .unwrap();
    // 1. Progress: lines with increasing percentages (stderr is not a terminal here).
    let state = support::unique_db("rs_progress");
    let out = finish(spawn(
        &up_args(&dir, &state),
        &[("MONGRATE_PROGRESS_SECONDS", "0.1")],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let percents: Vec<u64> = stderr
        .lines()
        .filter(|l| l.contains("index build `wild`"))
        .filter_map(|l| {
            let (_, rest) = l.split_once(".big: ")?;
            rest.split('%').next()?.trim().parse().ok()
        })
        .collect();
    assert!(
        percents.len() >= 2 && percents.windows(2).all(|w| w[0] <= w[1]),
        "increasing percentages: {percents:?}\n{stderr}"
    );
    assert!(percents.last() > percents.first(), "{percents:?}");

    // 2. Kill the run during the build; the next run waits for that build, never a second.
    client
        .database(big_db())
        .collection::<Document>("big")
        .drop_index("wild")
        .await
        .unwrap();
    let state = support::unique_db("rs_killed");
    let first = spawn(&up_args(&dir, &state), &[]);
    until("the build is scanning", || async {
        builds(&client)
            .await
            .iter()
            .any(|(c, names, done)| c == "big" && names.iter().any(|n| n == "wild") && *done > 0)
    })
    .await;
    let pid = first.id();
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    let killed = finish(first).await;
    assert_eq!(killed.status.code(), None, "killed: {}", text(&killed));
    // The server goes on building without the client that asked.
    let running_at_start = builds(&client)
        .await
        .iter()
        .any(|(c, names, _)| c == "big" && names.iter().any(|n| n == "wild"));
    let second = spawn(&up_args(&dir, &state), &[]);
    // While the second run works: never two builds of the index.
    let mut most = 0;
    let started = Instant::now();
    loop {
        let n = builds(&client)
            .await
            .iter()
            .filter(|(c, names, _)| c == "big" && names.iter().any(|n| n == "wild"))
            .count();
        most = most.max(n);
        if ready_indexes(&client).await.iter().any(|n| n == "wild") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "never built");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = finish(second).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(most <= 1, "{most} builds of the same index at once");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(running_at_start, "the build outlived the killed client");
    assert!(
        stderr.contains("already being built on the server"),
        "the second run says it waited for the running build: {stderr}"
    );
    assert!(
        stderr.contains("took over the lock"),
        "the dead run's lock: {stderr}"
    );
    assert!(index_names(&client).await.contains(&"wild".to_string()));
}

/// A declared rename of 200,000 documents while 4 writers write the old shape and 4 the new,
/// with the primary stepped down in the middle of the migrate phase and the run killed later:
/// it rides out the election, resumes, no writer is refused, and once the old writers stop the
/// next runs leave no document in the old shape, every writer's last update visible, and the
/// strict validator in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_evolution_rides_out_a_stepdown_while_writers_write_both_shapes() {
    // 200,000 in the suite; `MONGRATE_EVOLVE_N=1000000` runs the full-size case.
    let n: i32 = std::env::var("MONGRATE_EVOLVE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let _turn = support::replset_guard().await;
    let client = support::replset_client().await;
    let target = support::unique_db("rs_evolve");
    let coll = client.database(&target).collection::<Document>("users");
    let mut i = 0;
    while i < n {
        let batch: Vec<Document> = (i..i + 20_000)
            .map(|k| doc! { "_id": k, "name": format!("u{k}"), "email": format!("u{k}@x.io") })
            .collect();
        coll.insert_many(batch).await.unwrap();
        i += 20_000;
    }
    let root = support::one_collection_schemas(
        &target,
        "users",
        "validation: { additional_fields: deny }\nfields:\n  _id: { type: int }\n  name: { type: string, required: true }\n  mail: { type: string, required: true, renamed_from: email, contract_after: 0s }\n",
    );
    let state = support::unique_db("rs_evo_state");
    let args = [
        "--schemas",
        root.path().to_str().unwrap(),
        "apply",
        "--yes",
        "--max-docs-per-sec",
        "20000",
        "--state-db",
        &state,
    ];
    let migrated = |share: i32| {
        let coll = coll.clone();
        async move {
            coll.count_documents(doc! { "mail": { "$exists": true } })
                .await
                .unwrap_or(0)
                > (n / share) as u64
        }
    };
    let old = support::writers::start_writers(&coll, true, 0, 4);
    let mut child = spawn(&args, &[]);
    until("a fifth of the documents are migrated", || migrated(5)).await;
    let new = support::writers::start_writers(&coll, false, 4, 4);
    step_down(&client).await;
    // Then killed (SIGKILL) further on, and run again: it resumes from its checkpoint.
    until("two fifths are migrated", || migrated(2)).await;
    child.kill().unwrap();
    let killed = finish(child).await;
    assert_eq!(killed.status.code(), None, "{}", text(&killed));
    let out = finish(spawn(&args, &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (old_last, old_refused) = old.stop().await;
    // The old application is gone: the catch-up, then the contract (`contract_after: 0s`).
    for _ in 0..2 {
        let out = finish(spawn(&args, &[])).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let (new_last, new_refused) = new.stop().await;
    assert_eq!((old_refused, new_refused), (0, 0), "no writer was refused");
    assert_eq!(
        coll.count_documents(doc! { "email": { "$exists": true } })
            .await
            .unwrap(),
        0,
        "{}",
        text(&out)
    );
    for (id, value) in old_last.iter().chain(&new_last) {
        let d = coll.find_one(doc! { "_id": id }).await.unwrap().unwrap();
        assert_eq!(
            d.get_str("mail").ok(),
            Some(value.as_str()),
            "_id {id}: {d}"
        );
    }
    assert!(
        coll.count_documents(doc! {}).await.unwrap() >= n as u64,
        "every document is there"
    );
    let late = coll
        .insert_one(doc! { "_id": -1, "name": "late", "email": "late@x.io" })
        .await;
    assert!(
        late.is_err(),
        "strict after the contract: the old shape is refused"
    );
    client.database(&target).drop().await.unwrap();
    client.database(&state).drop().await.unwrap();
}
