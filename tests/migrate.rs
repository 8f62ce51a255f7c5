//! Versioned migrations against a real mongod: the PromptForge story, concurrent runners,
//! SIGKILL at several points, verify, the lock, and down's refusals.
//!
//! The repository's migrations use fixed database names (promptforge, chatbase_db, ...), so the
//! tests of this binary (which has its own mongod) take turns through `SERIAL`.

mod support;

use assert_cmd::Command;
use bson::{Document, doc};
use predicates::prelude::*;
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

const BASELINE: &str = "20250902000000";

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// `mongrate migrate --state-db <state> ...`
fn migrate(state: &str) -> Command {
    let mut cmd = support::mongrate_on_server();
    cmd.args(["migrate", "--state-db", state]);
    cmd
}

/// Drop the seed databases and the state database: an empty server.
fn reset(state: &str) {
    rt().block_on(async {
        let client = support::client().await;
        for db in support::SEED_DATABASES.iter().copied().chain([state]) {
            client.database(db).drop().await.unwrap();
        }
    });
}

/// The live PromptForge database of seed 000: its shape and its 161 documents.
fn load_live() {
    support::mongrate_on_server()
        .args([
            "--schemas",
            "fixtures/promptforge_live/schemas",
            "apply",
            "--yes",
            "-q",
        ])
        .assert()
        .code(0);
    support::mongrate_on_server()
        .args(["seed", "fixtures/promptforge_live/data"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("seeded 161 documents"));
}

/// Documents of `db` that fail their collection's validator, by collection.
fn invalid_documents(db: &str) -> Vec<(String, u64)> {
    rt().block_on(async {
        let client = support::client().await;
        let database = client.database(db);
        let info = database
            .run_command(doc! { "listCollections": 1 })
            .await
            .unwrap();
        let mut out = Vec::new();
        for c in info
            .get_document("cursor")
            .unwrap()
            .get_array("firstBatch")
            .unwrap()
        {
            let c = c.as_document().unwrap();
            let name = c.get_str("name").unwrap();
            if let Ok(v) = c
                .get_document("options")
                .and_then(|o| o.get_document("validator"))
            {
                let n = database
                    .collection::<Document>(name)
                    .count_documents(doc! { "$nor": [v.clone()] })
                    .await
                    .unwrap();
                if n > 0 {
                    out.push((name.to_string(), n));
                }
            }
        }
        out
    })
}

fn count(db: &str, coll: &str, filter: Document) -> u64 {
    rt().block_on(async {
        support::client()
            .await
            .database(db)
            .collection::<Document>(coll)
            .count_documents(filter)
            .await
            .unwrap()
    })
}

/// The live values the data migration changes: prompts with `visibility: team`, notifications
/// with `priority: medium`, prompts with a `deleted` flag.
fn live_values() -> (u64, u64, u64) {
    (
        count("promptforge", "prompts", doc! { "visibility": "team" }),
        count(
            "promptforge",
            "notifications",
            doc! { "priority": "medium" },
        ),
        count(
            "promptforge",
            "prompts",
            doc! { "deleted": { "$exists": true } },
        ),
    )
}

fn changelog(state: &str) -> Vec<Document> {
    rt().block_on(async {
        use futures_util::TryStreamExt;
        support::client()
            .await
            .database(state)
            .collection::<Document>("changelog")
            .find(doc! {})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    })
}

fn assert_all_applied_once(state: &str) {
    let entries = changelog(state);
    let files = mongrate::migrate::load_dir(&support::repo().join("migrations")).unwrap();
    assert_eq!(entries.len(), files.len(), "{entries:#?}");
    for f in &files {
        let e = entries
            .iter()
            .find(|e| e.get_str("_id") == Ok(f.version.as_str()))
            .expect("entry");
        assert_eq!(e.get_str("status").unwrap(), "applied", "{e}");
        assert_eq!(
            e.get_i64("steps_done")
                .or(e.get_i32("steps_done").map(i64::from))
                .unwrap(),
            f.file.up.len() as i64,
            "{e}"
        );
    }
}

#[test]
fn promptforge_story_up_then_down_to_the_live_state() {
    let _guard = serial();
    let state = "mongrate_story";
    reset(state);
    load_live();
    migrate(state)
        .args(["up"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Applied 5 migrations"));
    support::mongrate_on_server()
        .args(["check"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("In sync"));
    assert_eq!(
        invalid_documents("promptforge"),
        vec![],
        "every document passes the new validators"
    );
    assert_eq!(live_values(), (0, 0, 0));
    assert_eq!(
        count(
            "promptforge",
            "prompts",
            doc! { "deleted_at": { "$exists": true } }
        ),
        1
    );
    assert_all_applied_once(state);
    // Status as a table and as JSON.
    migrate(state).args(["status"]).assert().code(0).stdout(
        predicate::str::contains("promptforge_canonical_schema")
            .and(predicate::str::contains("applied")),
    );
    let out = migrate(state)
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        rows["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "applied"),
        "{rows:#}"
    );

    // All the way down to the baseline: the live schema again (indexes, validators), and the
    // live values.
    migrate(state)
        .args(["down", "--yes", "--to", BASELINE])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Rolled back 4 migrations"));
    support::mongrate_on_server()
        .args(["--schemas", "fixtures/promptforge_live/schemas", "check"])
        .assert()
        .code(0);
    assert_eq!(live_values(), (2, 2, 9));
    // Below the baseline is refused, with the reason, and nothing changes.
    migrate(state).args(["down"]).assert().code(1).stderr(
        predicate::str::contains("is irreversible").and(predicate::str::contains("pass --force")),
    );
    support::mongrate_on_server()
        .args(["--schemas", "fixtures/promptforge_live/schemas", "check"])
        .assert()
        .code(0);
    // And up again.
    migrate(state)
        .args(["up"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Applied 4 migrations"));
    support::mongrate_on_server()
        .args(["check"])
        .assert()
        .code(0);
}

#[test]
fn four_concurrent_ups_apply_each_migration_exactly_once() {
    let _guard = serial();
    let state = "mongrate_concurrent";
    reset(state);
    let bin = assert_cmd::cargo::cargo_bin("mongrate");
    let children: Vec<std::process::Child> = (0..4)
        .map(|_| {
            std::process::Command::new(&bin)
                .current_dir(support::repo())
                .env_remove("MONGRATE_FAULT")
                .args([
                    "--uri",
                    &support::server_uri(),
                    "--format",
                    "json",
                    "migrate",
                    "--state-db",
                    state,
                    "up",
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut done: Vec<String> = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        done.extend(report["migrations"].as_array().unwrap().iter().map(|v| {
            format!(
                "{}_{}",
                v["version"].as_str().unwrap(),
                v["name"].as_str().unwrap()
            )
        }));
    }
    // Every migration applied by exactly one of the four processes.
    let mut sorted = done.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        done.len(),
        "a migration was applied twice: {done:?}"
    );
    assert_eq!(done.len(), 5, "{done:?}");
    assert_all_applied_once(state);
    support::mongrate_on_server()
        .args(["check"])
        .assert()
        .code(0);
    // The lock was released.
    assert_eq!(count(state, "locks", doc! { "owner": { "$ne": null } }), 0);
}

/// Run `up` with a SIGKILL at `fault`; the next `up` must finish the job.
fn killed_then_resumed(state: &str, fault: &str) {
    let out = migrate(state)
        .env("MONGRATE_FAULT", fault)
        .args(["up"])
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(9),
        "{fault}: expected SIGKILL, got {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // The dead run still holds the lock; the next run on this host takes it over at once.
    migrate(state)
        .args(["up", "--lock-timeout", "5"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("took over the lock"));
}

#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs the MONGRATE_FAULT hook: cargo test --features test-hooks (scripts/test.sh)"
)]
#[test]
fn up_killed_at_several_points_resumes_and_applies_once() {
    let _guard = serial();
    let state = "mongrate_killed";
    reset(state);
    load_live();
    // In the baseline, right after its first step ran (before it was recorded).
    killed_then_resumed(state, &format!("{BASELINE}:1:after-exec"));
    // Drop everything applied and go again, killing inside the data migration after a step was
    // recorded, and inside the schema migration before its last step was recorded.
    migrate(state)
        .args(["down", "--yes", "--to", BASELINE])
        .assert()
        .code(0);
    killed_then_resumed(state, "20250910000000:2:after-record");
    let entries = changelog(state);
    let data = entries
        .iter()
        .find(|e| e.get_str("_id") == Ok("20250910000000"))
        .unwrap();
    assert_eq!(data.get_str("status").unwrap(), "applied");
    migrate(state)
        .args(["down", "--yes", "--to", "20250910000000"])
        .assert()
        .code(0);
    killed_then_resumed(state, "20250910000100:28:after-exec");
    assert_all_applied_once(state);
    support::mongrate_on_server()
        .args(["check"])
        .assert()
        .code(0);
    assert_eq!(invalid_documents("promptforge"), vec![]);
    assert_eq!(
        count(
            "promptforge",
            "notifications",
            doc! { "type": { "$in": ["system", "billing", "security"] } }
        ),
        0
    );
}

#[test]
fn verify_passes_on_the_repository_and_fails_on_changes() {
    let _guard = serial();
    support::mongrate_on_server()
        .args(["migrate", "verify", "--offline"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("5 migrations"));

    // A schema change with no migration.
    let schemas = tempfile::tempdir().unwrap();
    support::copy_tree(&support::repo().join("schemas"), schemas.path());
    let feedbacks = schemas.path().join("workflowai/feedbacks.yaml");
    let text = std::fs::read_to_string(&feedbacks).unwrap();
    std::fs::write(
        &feedbacks,
        text.replace(
            "  - keys: { createdAt: -1 }\n",
            "  - keys: { createdAt: -1 }\n  - keys: { userEmail: 1 }\n",
        ),
    )
    .unwrap();
    support::mongrate_on_server()
        .args(["migrate", "verify", "--offline", "--schemas"])
        .arg(schemas.path())
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("do not produce the schemas")
                .and(predicate::str::contains("userEmail_1")),
        );
    // ... which `generate` then writes, after which verify passes.
    let dir = tempfile::tempdir().unwrap();
    support::copy_tree(&support::repo().join("migrations"), dir.path());
    let out = support::mongrate_on_server()
        .args(["migrate", "--dir"])
        .arg(dir.path())
        .args(["generate", "feedback_email_index", "--schemas"])
        .arg(schemas.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = std::fs::read_to_string(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert!(
        generated.contains("create_index") && generated.contains("drop_index"),
        "{generated}"
    );
    support::mongrate_on_server()
        .args(["migrate", "verify", "--offline", "--dir"])
        .arg(dir.path())
        .arg("--schemas")
        .arg(schemas.path())
        .assert()
        .code(0);
    support::mongrate_on_server()
        .args(["migrate", "--dir"])
        .arg(dir.path())
        .args(["generate", "again", "--schemas"])
        .arg(schemas.path())
        .assert()
        .code(0)
        .stderr(predicate::str::contains("Nothing to generate"));

    // An applied file edited afterwards: verify and up refuse.
    let state = "mongrate_verify";
    reset(state);
    let dir = tempfile::tempdir().unwrap();
    support::copy_tree(&support::repo().join("migrations"), dir.path());
    migrate(state)
        .args(["--dir"])
        .arg(dir.path())
        .arg("up")
        .assert()
        .code(0);
    let f = dir
        .path()
        .join("20250910000000_promptforge_data_to_canonical.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    // Line endings and trailing spaces are not a change...
    std::fs::write(&f, text.replace('\n', "  \r\n")).unwrap();
    migrate(state)
        .args(["--dir"])
        .arg(dir.path())
        .args(["verify"])
        .assert()
        .code(0);
    // ... a changed value is.
    std::fs::write(&f, text.replace("value: beginner", "value: advanced")).unwrap();
    migrate(state)
        .args(["--dir"])
        .arg(dir.path())
        .args(["verify"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "20250910000000_promptforge_data_to_canonical.yaml was changed after it was applied",
        ));
    migrate(state)
        .args(["--dir"])
        .arg(dir.path())
        .arg("up")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("refusing to migrate"));
    migrate(state)
        .args(["--dir"])
        .arg(dir.path())
        .arg("status")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("checksum mismatch"));
    // A missing applied file shows as missing.
    std::fs::remove_file(&f).unwrap();
    migrate(state)
        .args(["--dir"])
        .arg(dir.path())
        .arg("status")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("missing"));
}

#[test]
fn a_held_lock_makes_others_wait_then_fail_naming_the_owner() {
    let _guard = serial();
    let state = "mongrate_lock";
    reset(state);
    rt().block_on(async {
        let client = support::client().await;
        client
            .database(state)
            .collection::<Document>("locks")
            .insert_one(doc! {
                "_id": "migrate",
                "owner": { "host": "build-7.example", "pid": 4242, "id": "abc", "tool_version": "0.1.0" },
                "acquired_at": bson::DateTime::now(),
                "expires_at": bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() + 3_600_000),
            })
            .await
            .unwrap();
    });
    let started = std::time::Instant::now();
    migrate(state)
        .args(["up", "--lock-timeout", "2"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains(
                "another migration run holds the lock: pid 4242 on build-7.example",
            )
            .and(predicate::str::contains("migrate unlock")),
        );
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "it waited"
    );
    assert_eq!(count("promptforge", "users", doc! {}), 0, "nothing ran");
    migrate(state)
        .args(["unlock"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("pass --yes"));
    migrate(state)
        .args(["unlock", "--yes"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Lock broken"));
    migrate(state).args(["up"]).assert().code(0);
}

#[test]
fn down_refuses_a_migration_without_down_steps_unless_forced() {
    let _guard = serial();
    let state = "mongrate_down";
    let target = support::unique_db("down");
    rt().block_on(async {
        support::client()
            .await
            .database(state)
            .drop()
            .await
            .unwrap()
    });
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text.replace("DB", &target)).unwrap()
    };
    write(
        "20250101000000_one.yaml",
        "up:\n  - create_collection: { db: DB, collection: a }\ndown:\n  - drop_collection: { db: DB, collection: a }\n",
    );
    write(
        "20250102000000_two.yaml",
        "up:\n  - backfill: { db: DB, collection: a, field: n, value: 1 }\n",
    );
    let m = |args: &[&str]| {
        let mut c = migrate(state);
        c.arg("--dir").arg(dir.path()).args(args);
        c
    };
    m(&["up"]).assert().code(0);
    m(&["down"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("has no `down` steps"));
    m(&["down", "--yes", "--force"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Rolled back 1"));
    m(&["down", "--yes", "--to", "0"]).assert().code(0);
    assert!(
        !rt()
            .block_on(async {
                support::client()
                    .await
                    .database(&target)
                    .list_collection_names()
                    .await
                    .unwrap()
            })
            .contains(&"a".to_string())
    );
    // A malformed file is an error with its position, before anything runs.
    write(
        "20250103000000_bad.yaml",
        "up:\n  - create_colection: { db: DB, collection: b }\n",
    );
    m(&["up"]).assert().code(1).stderr(predicate::str::contains(
        "20250103000000_bad.yaml:2:5: error: up[0]: unknown value `create_colection`",
    ));
}

#[test]
fn the_lease_is_renewed_while_held_and_released_after_an_error() {
    let _guard = serial();
    let state = "mongrate_lease";
    rt().block_on(async {
        let client = support::client().await;
        client.database(state).drop().await.unwrap();
        use mongrate::db::lock::LeaseLock;
        use std::time::Duration;
        let held = LeaseLock::acquire(&client, state, Duration::from_secs(3), Duration::ZERO)
            .await
            .unwrap();
        // Well past the 3 s lease: still ours, because it is renewed in the background.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(held.ensure().await.is_ok(), "the lease is still ours");
        let other = LeaseLock::acquire(
            &client,
            state,
            Duration::from_secs(3),
            Duration::from_millis(500),
        )
        .await;
        assert!(
            matches!(other, Err(mongrate::db::lock::LockError::Held { .. })),
            "the lock was not renewed"
        );
        held.release().await.unwrap();
        let again = LeaseLock::acquire(&client, state, Duration::from_secs(3), Duration::ZERO)
            .await
            .unwrap();
        again.release().await.unwrap();
    });

    // A failing step: recorded as failed with the server's message, the lock released; once the
    // file is fixed, `up` runs it again.
    let target = support::unique_db("failing");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("20250101000000_failing.yaml");
    let text = "up:\n  - create_collection: { db: DB, collection: a }\n  - command: { db: DB, command: { noSuchCommand: 1 } }\n  - create_collection: { db: DB, collection: b }\ndown: []\n".replace("DB", &target);
    std::fs::write(&file, &text).unwrap();
    let m = |args: &[&str]| {
        let mut c = migrate(state);
        c.arg("--dir").arg(dir.path()).args(args);
        c
    };
    m(&["up"]).assert().code(1).stderr(
        predicate::str::contains("step 2 of 3 (command")
            .and(predicate::str::contains("no such command")),
    );
    assert_eq!(
        count(state, "locks", doc! { "owner": { "$ne": null } }),
        0,
        "the lock is released after an error"
    );
    let entry = changelog(state)
        .into_iter()
        .find(|e| e.get_str("_id") == Ok("20250101000000"))
        .unwrap();
    assert_eq!(entry.get_str("status").unwrap(), "failed");
    assert!(
        entry.get_str("error").unwrap().contains("no such command"),
        "{entry}"
    );
    m(&["status"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("failed").and(predicate::str::contains("1/3")));
    std::fs::write(&file, text.replace("noSuchCommand: 1", "ping: 1")).unwrap();
    m(&["up"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Applied 1 migration"));
    let names = rt().block_on(async {
        support::client()
            .await
            .database(&target)
            .list_collection_names()
            .await
            .unwrap()
    });
    assert!(
        names.contains(&"a".to_string()) && names.contains(&"b".to_string()),
        "{names:?}"
    );
}
