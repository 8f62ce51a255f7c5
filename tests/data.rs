//! Backfill and data drift against a real mongod.

mod support;

use bson::{Bson, Document, doc};
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn with_schemas(root: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    support::mongrate_on_server()
        .arg("--schemas")
        .arg(root)
        .args(args)
        .assert()
}

fn docs(path: PathBuf) -> Vec<Document> {
    mongrate::extjson::parse_documents(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Every default-carrying field removed from the valid fixtures (nested ones too).
fn strip_defaults(spec: &mongrate::spec::CollectionSpec, mut d: Document) -> Document {
    fn remove(d: &mut Document, parts: &[&str]) {
        if parts.len() == 1 {
            d.remove(parts[0]);
        } else if let Some(Bson::Document(inner)) = d.get_mut(parts[0]) {
            remove(inner, &parts[1..]);
        }
    }
    for f in mongrate::backfill::collection_defaults(spec) {
        let parts: Vec<&str> = f.path.split('.').collect();
        remove(&mut d, &parts);
    }
    d
}

#[tokio::test]
async fn backfill_fills_missing_defaults_then_check_data_passes_and_nothing_else_changes() {
    let client = support::client().await;
    for db in ["promptforge", "workflowai", "chatbase_db", "botsmith"] {
        let target = support::unique_db(db);
        let root = support::schemas_as(db, &target);
        let loaded = mongrate::spec::load_dir(root.path()).unwrap();
        // The schema, but the validators at `warn` while old documents come in.
        with_schemas(root.path(), &["apply", "--yes"]).code(0);
        let mut originals: Vec<(String, Document)> = Vec::new();
        for (name, spec) in &loaded.spec.databases[&target].collections {
            let coll = client.database(&target).collection::<Document>(name);
            for (i, d) in docs(support::repo().join(format!("fixtures/valid/{db}/{name}.json")))
                .into_iter()
                .enumerate()
            {
                // Every other document keeps its values: a backfill must not touch them.
                let mut d = if i % 2 == 0 {
                    strip_defaults(spec, d)
                } else {
                    d
                };
                if !d.contains_key("_id") {
                    d.insert("_id", bson::oid::ObjectId::new());
                }
                // usagelogs expire 90 days after `createdAt` (TTL, checked every second on the
                // test server): fixture dates from January would vanish mid-test.
                if name == "usagelogs" {
                    d.insert("createdAt", bson::DateTime::now());
                }
                coll.insert_one(d.clone())
                    .with_options(
                        mongodb::options::InsertOneOptions::builder()
                            .bypass_document_validation(true)
                            .build(),
                    )
                    .await
                    .unwrap();
                originals.push((name.clone(), d));
            }
        }
        // Before: where defaulted fields are required (promptforge), check --data fails on them.
        if db == "promptforge" {
            with_schemas(root.path(), &["check", "--data"])
                .code(2)
                .stdout(predicate::str::contains("required: email_verified"));
        }
        let dry = with_schemas(root.path(), &["backfill", "--dry-run", "--format", "json"])
            .code(0)
            .get_output()
            .stdout
            .clone();
        let dry: serde_json::Value = serde_json::from_slice(&dry).unwrap();
        let would: u64 = dry["collections"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["fields"].as_array().unwrap().iter())
            .map(|f| f["filled"].as_u64().unwrap())
            .sum();
        assert!(would > 0, "{dry:#}");
        with_schemas(root.path(), &["backfill", "--batch-size", "2"])
            .code(0)
            .stdout(predicate::str::contains("Backfill done"));
        // After: every document passes, and every value that existed is unchanged.
        with_schemas(root.path(), &["check", "--data"])
            .code(0)
            .stdout(predicate::str::contains("pass their schema"));
        for (name, original) in &originals {
            let now = client
                .database(&target)
                .collection::<Document>(name)
                .find_one(doc! { "_id": original.get("_id").unwrap() })
                .await
                .unwrap()
                .unwrap();
            kept(original, &now, &format!("{db}.{name}"));
        }
        // A second run changes nothing.
        with_schemas(root.path(), &["backfill"])
            .code(0)
            .stdout(predicate::str::contains(
                "Backfill done: 0 documents modified",
            ));
        client.database(&target).drop().await.ok();
    }
}

#[tokio::test]
async fn check_data_names_each_broken_rule_of_the_invalid_fixtures() {
    let client = support::client().await;
    for db in support::SEED_DATABASES {
        let target = support::unique_db(db);
        let root = support::schemas_as(db, &target);
        let loaded = mongrate::spec::load_dir(root.path()).unwrap();
        let mut expected: Vec<(String, serde_json::Value, String)> = Vec::new(); // (collection, _id, breaks)
        for name in loaded.spec.databases[&target].collections.keys() {
            let path = support::repo().join(format!("fixtures/invalid/{db}/{name}.json"));
            let cases: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let coll = client.database(&target).collection::<Document>(name);
            for (i, case) in cases.as_array().unwrap().iter().enumerate() {
                let Bson::Document(mut d) =
                    mongrate::extjson::to_bson(case["document"].clone()).unwrap()
                else {
                    panic!()
                };
                // The fixture's own `_id` (of the declared type), or a new ObjectId.
                if !d.contains_key("_id") {
                    d.insert("_id", bson::oid::ObjectId::new());
                }
                let id = d.get("_id").unwrap().clone().into_relaxed_extjson();
                coll.insert_one(d).await.unwrap();
                expected.push((
                    format!("{name}#{i}"),
                    id,
                    case["breaks"].as_str().unwrap().to_string(),
                ));
            }
        }
        let out = with_schemas(root.path(), &["check", "--data", "--format", "json"])
            .code(2)
            .get_output()
            .stdout
            .clone();
        let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let collections = report["data"]["collections"].as_array().unwrap();
        assert_eq!(
            report["data"]["failing"].as_u64().unwrap() as usize,
            expected.len(),
            "every invalid document fails"
        );
        for (label, id, breaks) in &expected {
            let coll = label.split('#').next().unwrap();
            let c = collections
                .iter()
                .find(|c| c["collection"] == coll)
                .unwrap();
            // Exactly one rule named for this document: the one it breaks.
            let named: Vec<&str> = c["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["sample_ids"].as_array().unwrap().iter().any(|s| s == id))
                .map(|r| r["reason"].as_str().unwrap())
                .collect();
            assert_eq!(named, vec![breaks.as_str()], "{db}.{label}");
        }
        // A sample looks at that many documents.
        let out = with_schemas(
            root.path(),
            &["check", "--data", "--sample", "2", "--format", "json"],
        )
        .get_output()
        .stdout
        .clone();
        let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
        for c in report["data"]["collections"].as_array().unwrap() {
            assert!(
                c["examined"].as_u64().unwrap() <= 2 && c["sampled"] == true,
                "{c}"
            );
        }
        client.database(&target).drop().await.ok();
    }
}

#[tokio::test]
async fn backfill_killed_mid_way_resumes_and_ends_correct() {
    let client = support::client().await;
    let target = support::unique_db("bf_kill");
    let root = support::one_collection_schemas(
        &target,
        "events",
        "fields:\n  n: { type: int, required: true }\n  status: { type: string, default: new }\n  meta:\n    type: object\n    fields:\n      source: { type: string, default: web }\n      tries: { type: int, default: 0 }\n",
    );
    let coll = client.database(&target).collection::<Document>("events");
    const N: i32 = 200_000;
    for chunk in (0..N).collect::<Vec<_>>().chunks(20_000) {
        let batch: Vec<Document> = chunk
            .iter()
            .map(|i| match i % 10 {
                0 => doc! { "n": *i, "status": "kept", "meta": { "source": "api" } },
                1 => doc! { "n": *i, "meta": "legacy" },
                _ => doc! { "n": *i },
            })
            .collect();
        coll.insert_many(batch).await.unwrap();
    }
    let state = support::unique_db("bf_state");
    let bin = assert_cmd::cargo::cargo_bin("mongrate");
    let mut child = std::process::Command::new(&bin)
        .current_dir(support::repo())
        .args(["--uri", &support::server_uri(), "--schemas"])
        .arg(root.path())
        .args([
            "backfill",
            "--batch-size",
            "2000",
            "--max-docs-per-sec",
            "40000",
            "--state-db",
            &state,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it is well under way (its checkpoint says so), then SIGKILL it.
    let checkpoints = client
        .database(&state)
        .collection::<Document>("backfill_checkpoints");
    let started = std::time::Instant::now();
    loop {
        let cp = checkpoints.find_one(doc! {}).await.unwrap();
        if cp
            .as_ref()
            .is_some_and(|c| c.get_i64("scanned").unwrap_or(0) >= 40_000)
        {
            break;
        }
        assert!(started.elapsed().as_secs() < 60, "no progress");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    kill9(child.id());
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9));
    let done_before = coll
        .count_documents(doc! { "status": { "$exists": true } })
        .await
        .unwrap();
    assert!(
        done_before > 0 && done_before < N as u64,
        "killed mid-way ({done_before})"
    );

    support::mongrate_on_server()
        .arg("--schemas")
        .arg(root.path())
        .args(["backfill", "--batch-size", "5000", "--state-db", &state])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("resumed from a checkpoint"));
    // Final state: every document has its defaults, kept values kept, non-object parents kept.
    assert_eq!(
        coll.count_documents(doc! { "status": { "$exists": false } })
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        coll.count_documents(doc! { "status": "kept" })
            .await
            .unwrap(),
        (N / 10) as u64
    );
    assert_eq!(
        coll.count_documents(doc! { "status": "new" })
            .await
            .unwrap(),
        (N - N / 10) as u64
    );
    assert_eq!(
        coll.count_documents(doc! { "meta.source": "api", "meta.tries": 0 })
            .await
            .unwrap(),
        (N / 10) as u64
    );
    assert_eq!(
        coll.count_documents(doc! { "meta": "legacy" })
            .await
            .unwrap(),
        (N / 10) as u64
    );
    assert_eq!(
        coll.count_documents(doc! { "meta.source": "web", "meta.tries": 0 })
            .await
            .unwrap(),
        (N - 2 * (N / 10)) as u64
    );
    assert_eq!(
        checkpoints.count_documents(doc! {}).await.unwrap(),
        0,
        "the checkpoint is removed at the end"
    );
    client.database(&target).drop().await.ok();
}

/// Every value of `before` is still in `after` (whose objects, array elements included, may
/// have more keys: the defaults backfill added).
fn kept(before: &Document, after: &Document, at: &str) {
    for (k, v) in before {
        let now = after
            .get(k)
            .unwrap_or_else(|| panic!("{at}.{k} disappeared"));
        kept_value(v, now, &format!("{at}.{k}"));
    }
}

fn kept_value(before: &Bson, after: &Bson, at: &str) {
    match (before, after) {
        (Bson::Document(a), Bson::Document(b)) => kept(a, b, at),
        (Bson::Array(a), Bson::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{at}: elements added or removed");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                kept_value(x, y, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(before, after, "{at} changed"),
    }
}

fn kill9(pid: u32) {
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
}

#[tokio::test]
async fn staged_rollout_tightens_when_backfill_fixes_everything_and_stops_otherwise() {
    let client = support::client().await;
    let target = support::unique_db("rollout");
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join(&target);
    std::fs::create_dir_all(&dir).unwrap();
    // Version 1: no required fields. Documents come in.
    std::fs::write(
        dir.join("users.yaml"),
        "fields:\n  email: { type: string, required: true }\n",
    )
    .unwrap();
    with_schemas(root.path(), &["apply", "--yes"]).code(0);
    let users = client.database(&target).collection::<Document>("users");
    users
        .insert_many(vec![
            doc! { "email": "a@x" },
            doc! { "email": "b@x", "plan": "pro" },
            doc! { "email": "c@x", "plan": "gold" },
        ])
        .await
        .unwrap();
    // Version 2: `plan` required with a default, and an enum that one document breaks.
    std::fs::write(
        dir.join("users.yaml"),
        "fields:\n  email: { type: string, required: true }\n  plan: { type: string, required: true, enum: [free, pro], default: free }\n",
    )
    .unwrap();
    // Without --rollout: refused with the count.
    with_schemas(root.path(), &["apply", "--yes"])
        .code(1)
        .stderr(predicate::str::contains(
            "2 existing documents fail the new validator",
        ));
    // With it: warn, backfill (fixes a@x), recount (gold still fails): stop, show why, stay at warn.
    with_schemas(root.path(), &["apply", "--yes", "--rollout"])
        .code(1)
        .stderr(
            predicate::str::contains("enum: plan").and(predicate::str::contains("stay at `warn`")),
        );
    assert_eq!(
        support::collection_options(&client, &target, "users")
            .await
            .get_str("validationAction")
            .unwrap(),
        "warn"
    );
    assert_eq!(
        users
            .count_documents(doc! { "plan": "free" })
            .await
            .unwrap(),
        1,
        "the default was backfilled"
    );
    // Fix the last one by hand; the next apply tightens (nothing fails: no staging needed).
    users
        .update_one(doc! { "plan": "gold" }, doc! { "$set": { "plan": "pro" } })
        .await
        .unwrap();
    with_schemas(root.path(), &["apply", "--yes", "--rollout"])
        .code(0)
        .stdout(predicate::str::contains("strict/warn → strict/error"));
    assert_eq!(
        support::collection_options(&client, &target, "users")
            .await
            .get_str("validationAction")
            .unwrap(),
        "error"
    );
    with_schemas(root.path(), &["check", "--data"]).code(0);

    // Version 3: a new required field with a default — the whole rollout in one run.
    std::fs::write(
        dir.join("users.yaml"),
        "fields:\n  email: { type: string, required: true }\n  plan: { type: string, required: true, enum: [free, pro], default: free }\n  credits: { type: int, required: true, default: 0 }\n",
    )
    .unwrap();
    with_schemas(root.path(), &["apply", "--yes", "--rollout"])
        .code(0)
        .stderr(
            predicate::str::contains("backfill modified 3 documents")
                .and(predicate::str::contains("validator tightened to error")),
        );
    assert_eq!(
        support::collection_options(&client, &target, "users")
            .await
            .get_str("validationAction")
            .unwrap(),
        "error"
    );
    with_schemas(root.path(), &["check", "--data"]).code(0);
    client.database(&target).drop().await.ok();
}

#[tokio::test]
async fn the_rate_limit_holds_and_a_dry_run_changes_nothing() {
    let client = support::client().await;
    let target = support::unique_db("bf_rate");
    let root = support::one_collection_schemas(
        &target,
        "t",
        "fields:\n  s: { type: string, default: x }\n",
    );
    let coll = client.database(&target).collection::<Document>("t");
    coll.insert_many((0..10_000).map(|i| doc! { "i": i }).collect::<Vec<_>>())
        .await
        .unwrap();
    with_schemas(root.path(), &["backfill", "--dry-run"])
        .code(0)
        .stdout(predicate::str::contains("s").and(predicate::str::contains("would fill 10000")));
    assert_eq!(
        coll.count_documents(doc! { "s": { "$exists": true } })
            .await
            .unwrap(),
        0,
        "a dry run writes nothing"
    );
    // 10,000 documents at 4,000 per second cannot take less than about 2.5 s.
    let started = std::time::Instant::now();
    with_schemas(
        root.path(),
        &[
            "backfill",
            "--batch-size",
            "500",
            "--max-docs-per-sec",
            "4000",
            "--state-db",
            &support::unique_db("rate_state"),
        ],
    )
    .code(0);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(2200),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        coll.count_documents(doc! { "s": "x" }).await.unwrap(),
        10_000
    );
    client.database(&target).drop().await.ok();
}

#[tokio::test]
async fn backfill_fills_defaults_inside_array_elements_and_keeps_everything_else() {
    let target = support::unique_db("bf_elems");
    let root = support::one_collection_schemas(
        &target,
        "chats",
        "fields:\n  messages:\n    type: array\n    items:\n      type: object\n      fields:\n        text: { type: string }\n        at: { type: date, default: now }\n        meta:\n          type: object\n          fields:\n            seen: { type: bool, default: false }\n        parts:\n          type: array\n          items:\n            type: object\n            fields:\n              kind: { type: string, default: text }\n",
    );
    let client = support::client().await;
    let coll = client.database(&target).collection::<Document>("chats");
    let at = bson::DateTime::from_millis(1_700_000_000_000);
    coll.insert_many(vec![
        // Two elements lack `at`, one has it; a nested element lacks `kind`.
        doc! { "_id": 1, "messages": [
            { "text": "a" },
            { "text": "b", "at": at, "meta": { "seen": true } },
            { "text": "c", "parts": [{ "kind": "image" }, { "body": "x" }, "loose"] },
        ] },
        // Elements that are not objects, an empty array, no array, a non-array: kept as they are.
        doc! { "_id": 2, "messages": ["just text", 5, Bson::Null] },
        doc! { "_id": 3, "messages": [] },
        doc! { "_id": 4 },
        doc! { "_id": 5, "messages": "not an array" },
        // Nothing to fill.
        doc! { "_id": 6, "messages": [{ "text": "d", "at": at, "meta": { "seen": false }, "parts": [] }] },
    ])
    .await
    .unwrap();
    let run = |args: &[&str]| {
        let mut cmd = support::mongrate_on_server();
        cmd.arg("--schemas").arg(root.path()).args(args);
        cmd.assert()
    };
    // The dry run counts documents with something to fill, per default.
    let out = run(&["backfill", "--dry-run", "--format", "json"])
        .code(0)
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let fields = &report["collections"][0]["fields"];
    let filled = |path: &str| {
        fields
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == path)
            .unwrap_or_else(|| panic!("{path} in {fields}"))["filled"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(filled("messages[].at"), 1);
    assert_eq!(filled("messages[].meta.seen"), 1);
    assert_eq!(filled("messages[].parts[].kind"), 1);
    run(&["backfill"]).code(0).stdout(predicate::str::contains(
        "Backfill done: 1 document modified",
    ));
    let one = coll.find_one(doc! { "_id": 1 }).await.unwrap().unwrap();
    let messages = one.get_array("messages").unwrap();
    let m = |i: usize| messages[i].as_document().unwrap();
    // Filled where missing (the server's time), kept where present.
    assert!(m(0).get_datetime("at").unwrap().timestamp_millis() > at.timestamp_millis());
    assert_eq!(m(1).get_datetime("at").unwrap(), &at);
    assert_eq!(m(0).get_document("meta").unwrap(), &doc! { "seen": false });
    assert_eq!(m(1).get_document("meta").unwrap(), &doc! { "seen": true });
    assert_eq!(m(0).get_str("text").unwrap(), "a");
    assert_eq!(
        m(2).get_array("parts").unwrap(),
        &vec![
            Bson::Document(doc! { "kind": "image" }),
            Bson::Document(doc! { "body": "x", "kind": "text" }),
            Bson::String("loose".into()),
        ]
    );
    // No `parts` array where there was none.
    assert!(!m(0).contains_key("parts"));
    for (id, expected) in [
        (
            2,
            doc! { "_id": 2, "messages": ["just text", 5, Bson::Null] },
        ),
        (3, doc! { "_id": 3, "messages": [] }),
        (4, doc! { "_id": 4 }),
        (5, doc! { "_id": 5, "messages": "not an array" }),
        (
            6,
            doc! { "_id": 6, "messages": [{ "text": "d", "at": at, "meta": { "seen": false }, "parts": [] }] },
        ),
    ] {
        assert_eq!(
            coll.find_one(doc! { "_id": id }).await.unwrap().unwrap(),
            expected,
            "document {id} is left as it was"
        );
    }
    // Nothing left to do.
    run(&["backfill"]).code(0).stdout(predicate::str::contains(
        "Backfill done: 0 documents modified",
    ));
    client.database(&target).drop().await.ok();
}
