//! Declared evolutions against a real mongod, while writers keep writing: a rename with
//! writers in the old and the new shape, killed in the middle of its migrate phase and resumed;
//! a retype whose unconvertible values are listed and hold the contract back until fixed.

mod support;

use bson::{Bson, Document, doc};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use support::writers::start_writers;

/// The size of a test's collection: `default`, or `MONGRATE_EVOLVE_N` (a full-size run outside
/// the suite).
pub fn scale(default: i32) -> i32 {
    std::env::var("MONGRATE_EVOLVE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn write_schema(dir: &Path, db: &str, fields: &str) {
    let d = dir.join(db);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("users.yaml"),
        format!(
            "collection: users\nvalidation: {{ level: strict, action: error, additional_fields: deny }}\nfields:\n  _id: {{ type: int }}\n  name: {{ type: string, required: true }}\n  n: {{ type: int }}\n{fields}"
        ),
    )
    .unwrap();
}

/// `mongrate <command> --format json` (`plan`, `check`) over `schemas`: its exit code and JSON.
fn json(command: &str, schemas: &Path, state: &str) -> (Option<i32>, serde_json::Value) {
    let out = support::mongrate()
        .args([command, "--format", "json", "--schemas"])
        .arg(schemas)
        .args(["--state-db", state, "--uri", &support::server_uri()])
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), v)
}

fn apply(
    schemas: &Path,
    state: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("mongrate"));
    c.env_remove("MONGODB_URI")
        .env_remove("MONGRATE_JOB_FAULT")
        .args(["apply", "--yes", "--schemas"])
        .arg(schemas)
        .args(["--state-db", state, "--uri", &support::server_uri()])
        .args(extra);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs the MONGRATE_JOB_FAULT hook: cargo test --features test-hooks (scripts/test.sh)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rename_with_writers_in_both_shapes_survives_a_kill_and_contracts() {
    let db = support::unique_db("evo_rename");
    let state = format!("{db}_s");
    let client = support::client().await;
    let coll = client.database(&db).collection::<Document>("users");
    let dir = tempfile::tempdir().unwrap();
    // Release 0: `email`, required, nothing else allowed.
    write_schema(
        dir.path(),
        &db,
        "  email: { type: string, required: true }\n",
    );
    let out = apply(dir.path(), &state, &[], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 4,000 documents in the suite; `MONGRATE_EVOLVE_N=1000000` runs the full-size case.
    let n = scale(4000);
    for start in (0..n).step_by(50_000) {
        let docs: Vec<Document> = (start..(start + 50_000).min(n))
            .map(|i| doc! { "_id": i, "name": format!("u{i}"), "email": format!("u{i}@x.io") })
            .collect();
        coll.insert_many(docs).await.unwrap();
    }
    // Killed in the middle of the migrate phase (batches of 500).
    let kill_at = (n / 1000).max(3).to_string();
    coll.create_index(
        mongodb::IndexModel::builder()
            .keys(doc! { "email": 1 })
            .build(),
    )
    .await
    .unwrap();

    // The old application keeps writing throughout release 1.
    let old_writers = start_writers(&coll, true, 0, 4);
    // Release 1 declares the rename.
    write_schema(
        dir.path(),
        &db,
        "  mail: { type: string, required: true, renamed_from: email, contract_after: 0s }\nindexes:\n  - keys: { mail: 1 }\n",
    );
    // Killed after its 3rd batch (of 500) of the migrate phase.
    let out = apply(
        dir.path(),
        &state,
        &["--batch-size", "500"],
        &[("MONGRATE_JOB_FAULT", kill_at.as_str())],
    );
    assert_eq!(
        out.status.code(),
        None,
        "killed by the hook: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checkpoint = client
        .database(&state)
        .collection::<Document>("job_checkpoints")
        .find_one(doc! {})
        .await
        .unwrap()
        .expect("the interrupted job left its checkpoint");
    assert!(checkpoint.get("last_id").is_some(), "{checkpoint}");
    // The validator of the expand phase is in: the new application starts writing.
    let new_writers = start_writers(&coll, false, 4, 4);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let out = apply(dir.path(), &state, &["--batch-size", "500"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Release 2: the old application is gone; the migrate phase catches up what it wrote.
    let (old_last, old_rejected) = old_writers.stop().await;
    let out = apply(dir.path(), &state, &[], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        coll.count_documents(doc! { "email": { "$exists": true } })
            .await
            .unwrap(),
        0
    );
    // Then the contract: the strict validator.
    let (_, v) = json("plan", dir.path(), &state);
    assert_eq!(v["evolutions"][0]["phase"], "contract", "{v:#}");
    assert_eq!(v["evolutions"][0]["old_shape"], 0);
    let out = apply(dir.path(), &state, &[], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (new_last, new_rejected) = new_writers.stop().await;
    assert_eq!(
        (old_rejected, new_rejected),
        (0, 0),
        "no writer was refused during expand and migrate"
    );
    // Every document any writer inserted is there, with its last write, in the new shape.
    let mut all: HashMap<i32, String> = HashMap::new();
    let mut cursor = coll.find(doc! {}).await.unwrap();
    use futures_util::TryStreamExt;
    while let Some(d) = cursor.try_next().await.unwrap() {
        assert!(!d.contains_key("email"), "old shape left: {d}");
        all.insert(
            d.get_i32("_id").unwrap(),
            d.get_str("mail").unwrap().to_string(),
        );
    }
    let (mut old_seen, mut new_seen) = (0, 0);
    for (last, seen) in [(&old_last, &mut old_seen), (&new_last, &mut new_seen)] {
        for (id, value) in last {
            // The two kinds of writers update disjoint seeded ids.
            assert_eq!(all.get(id), Some(value), "_id {id}");
            *seen += 1;
        }
    }
    assert!(old_seen > 0 && new_seen > 0, "{old_seen} {new_seen}");
    // Strict after the contract: the old shape is refused now.
    let refused = coll
        .insert_one(doc! { "_id": -1, "name": "late", "email": "late@x.io" })
        .await;
    assert!(
        refused.is_err(),
        "the contracted validator refuses the old shape"
    );
    for d in [&db, &state] {
        client.database(d).drop().await.ok();
    }
}

#[tokio::test]
async fn unconvertible_values_are_listed_and_hold_the_contract_back() {
    let db = support::unique_db("evo_retype");
    let state = format!("{db}_s");
    let client = support::client().await;
    let coll = client.database(&db).collection::<Document>("users");
    let docs: Vec<Document> = (0..3000)
        .map(|i| {
            let created = if i % 1000 == 7 {
                Bson::String(format!("not a date {i}"))
            } else {
                Bson::String(format!("2024-03-{:02}", i % 28 + 1))
            };
            doc! { "_id": i, "name": format!("u{i}"), "created": created }
        })
        .collect();
    coll.insert_many(docs).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_schema(
        dir.path(),
        &db,
        "  created: { type: date, required: true, convert: { $toDate: \"$$value\" }, contract_after: 0s }\n",
    );
    let out = apply(dir.path(), &state, &["--batch-size", "250"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("3 documents could not be changed"),
        "{stderr}"
    );
    let (code, v) = json("check", dir.path(), &state);
    assert_eq!(code, Some(2));
    let e = &v["evolutions"][0];
    assert_eq!(e["phase"], "migrate", "{v:#}");
    assert_eq!(
        (e["old_shape"].as_u64(), e["failed"].as_u64()),
        (Some(3), Some(3))
    );
    let ids: Vec<&str> = e["failed_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    assert_eq!(ids, ["7", "1007", "2007"]);
    // Nothing else changed: the others are dates, the three kept their strings.
    assert_eq!(
        coll.count_documents(doc! { "created": { "$type": "date" } })
            .await
            .unwrap(),
        2997
    );
    assert_eq!(
        coll.count_documents(doc! { "created": { "$regex": "^not a date" } })
            .await
            .unwrap(),
        3
    );
    // The contract waits: applying again changes nothing and the validator stays open.
    let out = apply(dir.path(), &state, &[], &[]);
    assert!(out.status.success());
    let bad = coll
        .insert_one(doc! { "_id": -1, "name": "x", "created": "still a string" })
        .await;
    assert!(
        bad.is_ok(),
        "the expand validator still accepts the old shape"
    );
    coll.delete_one(doc! { "_id": -1 }).await.unwrap();
    // Fixed by hand: the next apply converts them, the one after contracts.
    for id in [7, 1007, 2007] {
        coll.update_one(
            doc! { "_id": id },
            doc! { "$set": { "created": "2024-05-05" } },
        )
        .await
        .unwrap();
    }
    assert!(apply(dir.path(), &state, &[], &[]).status.success());
    assert!(apply(dir.path(), &state, &[], &[]).status.success());
    assert_eq!(
        coll.count_documents(doc! { "created": { "$type": "date" } })
            .await
            .unwrap(),
        3000
    );
    let bad = coll
        .insert_one(doc! { "_id": -2, "name": "x", "created": "a string" })
        .await;
    assert!(bad.is_err(), "strict after the contract");
    let check = support::mongrate()
        .args(["check", "--schemas"])
        .arg(dir.path())
        .args(["--state-db", &state, "--uri", &support::server_uri()])
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    for d in [&db, &state] {
        client.database(d).drop().await.ok();
    }
}

/// The canary of a staged validator: a writer that starts sending 2 % invalid documents once
/// the canary watches is caught, with the field to blame; at `--max-invalid 1%` the switch
/// waits, at 5 % it proceeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_catches_invalid_live_writes_before_the_switch() {
    let client = support::client().await;
    for (max, passes) in [("1%", false), ("5%", true)] {
        let db = support::unique_db("canary");
        let state = format!("{db}_s");
        let max = max.to_string();
        let coll = client.database(&db).collection::<Document>("orders");
        let docs: Vec<Document> = (0..200).map(|i| doc! { "_id": i, "n": i }).collect();
        coll.insert_many(docs).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join(&db);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("orders.yaml"),
            "collection: orders\nfields:\n  _id: { type: int }\n  n: { type: int, required: true }\n  status: { type: string, required: true, default: new }\n",
        )
        .unwrap();
        // The writer sends valid documents, and 2 % invalid ones once the canary watches.
        let stop = Arc::new(AtomicBool::new(false));
        let bad = Arc::new(AtomicBool::new(false));
        let writer = {
            let (coll, stop, bad) = (coll.clone(), stop.clone(), bad.clone());
            tokio::spawn(async move {
                let mut i = 1000;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let status = if bad.load(Ordering::Relaxed) && i % 50 == 0 {
                        Bson::Int32(42)
                    } else {
                        Bson::String("ok".into())
                    };
                    coll.insert_one(doc! { "_id": i, "n": i, "status": status })
                        .await
                        .ok();
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            })
        };
        // The canary starts right after the backfill of the staged validator: bad writes
        // begin once the validator is at `warn` and every document has its default.
        let starter = {
            let (client, db, coll, bad) = (client.clone(), db.clone(), coll.clone(), bad.clone());
            tokio::spawn(async move {
                loop {
                    let warn = client
                        .database(&db)
                        .run_command(doc! { "listCollections": 1, "filter": { "name": "orders" } })
                        .await
                        .map(|r| r.to_string().contains("\"validationAction\": \"warn\""))
                        .unwrap_or(false);
                    let missing = coll
                        .count_documents(doc! { "status": { "$exists": false } })
                        .await
                        .unwrap_or(1);
                    if warn && missing == 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                        bad.store(true, Ordering::Relaxed);
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            })
        };
        let (schemas, uri) = (dir.path().to_path_buf(), support::server_uri());
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("mongrate"))
                .env_remove("MONGODB_URI")
                .args([
                    "apply",
                    "--yes",
                    "--rollout",
                    "--watch",
                    "6s",
                    "--max-invalid",
                    &max,
                ])
                .args(["--format", "json", "--schemas"])
                .arg(&schemas)
                .args(["--state-db", &state, "--uri", &uri])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        starter.abort();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        stop.store(true, Ordering::Relaxed);
        writer.await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let options = support::collection_options(&client, &db, "orders").await;
        let action = options.get_str("validationAction").unwrap_or_default();
        if !passes {
            assert_ne!(out.status.code(), Some(0), "{stdout}{stderr}");
            assert!(
                stdout.contains("fail the new validator"),
                "{stdout}{stderr}"
            );
            assert!(
                stdout.contains("by field: status:"),
                "the field to blame: {stdout}"
            );
            assert_eq!(action, "warn", "the switch waited");
        } else {
            assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
            let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            let c = &v["rollout"][0]["canary"];
            let (writes, invalid) = (
                c["writes"].as_u64().unwrap(),
                c["invalid"].as_u64().unwrap(),
            );
            assert!(writes > 200, "{c}");
            let share = invalid as f64 / writes as f64;
            assert!(
                invalid > 0 && share <= 0.025,
                "about 2 % of the writes: {c}"
            );
            assert_eq!(c["by_field"][0]["field"], "status", "{c}");
            assert_eq!(c["by_field"][0]["documents"].as_u64(), Some(invalid), "{c}");
            assert_eq!(c["passed"], true);
            assert_eq!(action, "error", "switched");
            // The right count: every invalid document written while it watched.
            let stored = coll.count_documents(doc! { "status": 42 }).await.unwrap();
            assert!(
                invalid <= stored && stored - invalid <= 2,
                "{invalid} of {stored}"
            );
        }
        for d in [&db, &format!("{db}_s")] {
            client.database(d).drop().await.ok();
        }
    }
}

/// `migrate generate` writes an evolution as two migrations — expand and migrate, then the
/// contract — and the contract refuses while a document is in the old shape.
#[tokio::test]
async fn generate_writes_expand_and_contract_as_two_migrations() {
    let db = support::unique_db("evo_gen");
    let state = format!("{db}_s");
    let client = support::client().await;
    let coll = client.database(&db).collection::<Document>("users");
    coll.insert_many((0..500).map(|i| {
        let created = if i == 7 {
            "soon".to_string()
        } else {
            format!("2024-02-{:02}", i % 28 + 1)
        };
        doc! { "_id": i, "name": format!("u{i}"), "created": created }
    }))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (schemas, migrations) = (dir.path().join("schemas"), dir.path().join("migrations"));
    // The first migration creates the collection as it is; the second evolves it.
    write_schema(
        &schemas,
        &db,
        "  created: { type: string, required: true }\n",
    );
    let run = |args: &[&str]| {
        let mut c = support::mongrate();
        c.args(args).arg("--migrations").arg(&migrations);
        if matches!(args, ["migrate", "up" | "down" | "status", ..]) {
            c.args(["--state-db", &state, "--uri", &support::server_uri()]);
        } else {
            c.arg("--schemas").arg(&schemas);
        }
        c.output().unwrap()
    };
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    ok(run(&["migrate", "generate", "users"]));
    ok(run(&["migrate", "up"]));
    write_schema(
        &schemas,
        &db,
        "  created: { type: date, required: true, convert: { $toDate: \"$$value\" }, contract_after: 0s }\n",
    );
    let said = ok(run(&["migrate", "generate", "created_as_date"]));
    let files: Vec<String> = std::fs::read_dir(&migrations)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("_created_as_date_expand.yaml")),
        "{files:?} {said}"
    );
    assert!(
        files.iter().any(|f| f.ends_with("_created_as_date.yaml")),
        "{files:?}"
    );
    ok(run(&["migrate", "verify", "--offline"]));
    assert!(ok(run(&["migrate", "generate", "again"])).contains("Nothing to generate"));
    // The contract refuses: one value is not a date.
    let out = run(&["migrate", "up"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("1 document still in the old shape of `created`"),
        "{stderr}"
    );
    assert_eq!(
        coll.count_documents(doc! { "created": { "$type": "date" } })
            .await
            .unwrap(),
        499
    );
    coll.update_one(
        doc! { "_id": 7 },
        doc! { "$set": { "created": bson::DateTime::now() } },
    )
    .await
    .unwrap();
    ok(run(&["migrate", "up"]));
    let bad = coll
        .insert_one(doc! { "_id": -1, "name": "x", "created": "a string" })
        .await;
    assert!(bad.is_err(), "strict after the contract");
    for d in [&db, &state] {
        client.database(d).drop().await.ok();
    }
}

/// A template's evolution is carried out in every tenant it covers, each with its own count.
#[tokio::test]
async fn a_templates_evolution_runs_in_every_tenant() {
    let prefix = support::unique_db("evo_t");
    let state = format!("{prefix}_s");
    let client = support::client().await;
    let tenants: Vec<String> = (0..5).map(|i| format!("{prefix}_{i}")).collect();
    for (i, t) in tenants.iter().enumerate() {
        let docs: Vec<Document> = (0..(10 * (i as i32 + 1)))
            .map(|k| doc! { "_id": k, "name": format!("u{k}"), "email": format!("u{k}@x.io") })
            .collect();
        client
            .database(t)
            .collection::<Document>("users")
            .insert_many(docs)
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    write_schema(
        dir.path(),
        &format!("{prefix}_*"),
        "  mail: { type: string, required: true, renamed_from: email, contract_after: 0s }\n",
    );
    let (_, v) = json("plan", dir.path(), &state);
    let olds: Vec<(String, u64)> = v["evolutions"]
        .as_array()
        .unwrap_or_else(|| panic!("{v:#}"))
        .iter()
        .map(|e| {
            (
                e["db"].as_str().unwrap().to_string(),
                e["old_shape"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = tenants
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), 10 * (i as u64 + 1)))
        .collect();
    assert_eq!(olds, want, "each tenant counted in itself");
    let out = apply(dir.path(), &state, &[], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for t in &tenants {
        let coll = client.database(t).collection::<Document>("users");
        assert_eq!(
            coll.count_documents(doc! { "email": { "$exists": true } })
                .await
                .unwrap(),
            0,
            "{t}"
        );
        assert!(
            coll.count_documents(doc! { "mail": { "$exists": true } })
                .await
                .unwrap()
                > 0
        );
        client.database(t).drop().await.ok();
    }
    client.database(&state).drop().await.ok();
}
