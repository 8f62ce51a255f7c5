//! Fleets against a real mongod: one template for many tenant databases, applied, checked,
//! drifted and repaired in parallel with failures contained; fleet migrations killed midway
//! and re-run, and raced by four runners; a failing canary; baseline of an adopted database.

mod support;

use bson::{Document, doc};
use futures_util::TryStreamExt;
use serde_json::Value;
use std::path::Path;

const ORDERS: &str = "collection: orders\nfields:\n  sku: { type: string, required: true }\n  qty: { type: int, minimum: 1 }\nindexes:\n  - keys: { sku: 1 }\n";
const ORDERS_TIGHTENED: &str = "collection: orders\nfields:\n  sku: { type: string, required: true }\n  qty: { type: int, minimum: 1 }\n  currency: { type: string, required: true }\nindexes:\n  - keys: { sku: 1 }\n";

/// A schemas root with the template `<prefix>_*/orders.yaml`.
fn template(prefix: &str, orders: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    write_template(root.path(), prefix, orders);
    root
}

fn write_template(root: &Path, prefix: &str, orders: &str) {
    let dir = root.join(format!("{prefix}_*"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("orders.yaml"), orders).unwrap();
}

fn tenants(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}_{i:03}")).collect()
}

/// Run mongrate with `--format json`; returns (exit code, the document).
fn json(args: &[&str]) -> (i32, Value) {
    let out = support::mongrate_on_server()
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

/// `(database, outcome)` of a report, sorted.
fn outcomes(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["database"].as_str().unwrap().to_string(),
                d["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn count(v: &Value, outcome: &str) -> usize {
    outcomes(v).iter().filter(|(_, o)| o == outcome).count()
}

async fn drop_all(client: &mongodb::Client, names: &[String]) {
    for n in names {
        client.database(n).drop().await.ok();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_tenants_apply_check_drift_contain_a_failure_and_converge() {
    let client = support::client().await;
    let prefix = support::unique_db("fa");
    let names = tenants(&prefix, 100);
    let root = template(&prefix, ORDERS);
    let schemas = root.path().to_str().unwrap();
    let list = names.join(",");

    // Provision all 100 from the template.
    let (code, v) = json(&["apply", "--yes", "--schemas", schemas, "--databases", &list]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(count(&v, "changed"), 100, "{v:#}");
    for n in [&names[0], &names[99]] {
        let idx: Vec<String> = client
            .database(n)
            .collection::<Document>("orders")
            .list_index_names()
            .await
            .unwrap();
        assert!(idx.contains(&"sku_1".to_string()), "{n}: {idx:?}");
    }
    // The template now covers them on the server, without --databases.
    let (code, v) = json(&["check", "--schemas", schemas]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(count(&v, "in_sync"), 100);

    // Drift one by hand; give another documents a tightened validator will refuse.
    let drifted = &names[6];
    let violating = &names[12];
    client
        .database(drifted)
        .collection::<Document>("orders")
        .drop_index("sku_1")
        .await
        .unwrap();
    client
        .database(violating)
        .collection::<Document>("orders")
        .insert_many(vec![
            doc! { "sku": "a", "qty": 1 },
            doc! { "sku": "b", "qty": 2 },
        ])
        .await
        .unwrap();
    let (code, v) = json(&["check", "--schemas", schemas]);
    assert_eq!(code, 2, "{v:#}");
    let drift: Vec<String> = outcomes(&v)
        .into_iter()
        .filter(|(_, o)| o == "drift")
        .map(|(d, _)| d)
        .collect();
    assert_eq!(drift, std::slice::from_ref(drifted));

    // Tighten the template: 99 converge (the drifted one repaired), the one with violators is
    // reported with its reason, the run exits 1.
    write_template(root.path(), &prefix, ORDERS_TIGHTENED);
    let (code, v) = json(&[
        "apply",
        "--yes",
        "--schemas",
        schemas,
        "--on-error",
        "continue",
        "--parallel",
        "8",
    ]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["result"], "failed");
    assert_eq!(count(&v, "changed"), 99, "{v:#}");
    let failed: Vec<&Value> = v["databases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["database"], violating.as_str());
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("2 existing documents fail the new validator"),
        "{v:#}"
    );
    let idx = client
        .database(drifted)
        .collection::<Document>("orders")
        .list_index_names()
        .await
        .unwrap();
    assert!(
        idx.contains(&"sku_1".to_string()),
        "the drifted tenant was repaired"
    );

    // Fix its documents: a re-run converges it and touches no other tenant.
    client
        .database(violating)
        .collection::<Document>("orders")
        .update_many(doc! {}, doc! { "$set": { "currency": "EUR" } })
        .await
        .unwrap();
    let (code, v) = json(&["apply", "--yes", "--schemas", schemas]);
    assert_eq!(code, 0, "{v:#}");
    let changed: Vec<String> = outcomes(&v)
        .into_iter()
        .filter(|(_, o)| o == "changed")
        .map(|(d, _)| d)
        .collect();
    assert_eq!(changed, std::slice::from_ref(violating));
    assert_eq!(count(&v, "in_sync"), 99);
    let (code, _) = json(&["check", "--schemas", schemas]);
    assert_eq!(code, 0);
    drop_all(&client, &names).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_canary_stops_the_run_without_touching_the_rest() {
    let client = support::client().await;
    let prefix = support::unique_db("fc");
    let names = tenants(&prefix, 12);
    let root = template(&prefix, ORDERS);
    let schemas = root.path().to_str().unwrap();
    let (code, v) = json(&[
        "apply",
        "--yes",
        "--schemas",
        schemas,
        "--databases",
        &names.join(","),
    ]);
    assert_eq!(code, 0, "{v:#}");
    // The second tenant (in the canary) has documents the tightened template refuses.
    client
        .database(&names[1])
        .collection::<Document>("orders")
        .insert_one(doc! { "sku": "a" })
        .await
        .unwrap();
    write_template(root.path(), &prefix, ORDERS_TIGHTENED);
    let (code, v) = json(&["apply", "--yes", "--schemas", schemas, "--canary", "3"]);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["stopped"].as_str().unwrap().contains("canary"), "{v:#}");
    assert_eq!(count(&v, "skipped"), 9, "{v:#}");
    assert_eq!(count(&v, "failed"), 1);
    // The rest still have the old validator: no `currency` required.
    for n in &names[3..] {
        let opts = support::collection_options(&client, n, "orders").await;
        let required = opts
            .get_document("validator")
            .and_then(|v| v.get_document("$jsonSchema"))
            .and_then(|s| s.get_array("required"))
            .unwrap()
            .clone();
        assert!(!required.contains(&"currency".into()), "{n} was touched");
    }
    drop_all(&client, &names).await;
}

/// A migrations folder of fleet migrations for `<prefix>_*`: an index, a counter incremented
/// by the data step, a second index. With `guarded`, the increment only touches documents
/// without the counter (idempotent, as steps that may be interrupted between running and
/// being recorded must be); without, running the step twice would show as 2.
fn fleet_migrations(prefix: &str, guarded: bool) -> tempfile::TempDir {
    let filter = if guarded {
        "{ runs: { $exists: false } }"
    } else {
        "{}"
    };
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "20260101000000_index.yaml",
            "up:\n  - create_index: { collection: orders, index: { key: { sku: 1 }, name: sku_1 } }\ndown:\n  - drop_index: { collection: orders, name: sku_1 }\n",
        ),
        (
            "20260102000000_count.yaml",
            "up:\n  - update_many: { collection: orders, filter: FILTER, update: { $inc: { runs: 1 } } }\ndown:\n  - update_many: { collection: orders, filter: {}, update: { $unset: { runs: '' } } }\n",
        ),
        (
            "20260103000000_second_index.yaml",
            "up:\n  - create_index: { collection: orders, index: { key: { runs: 1 }, name: runs_1 } }\ndown:\n  - drop_index: { collection: orders, name: runs_1 }\n",
        ),
    ];
    for (name, body) in files {
        std::fs::write(
            dir.path().join(name),
            format!(
                "databases: '{prefix}_*'\n{}",
                body.replace("FILTER", filter)
            ),
        )
        .unwrap();
    }
    dir
}

/// Each tenant's changelog: every migration exactly once and applied; the counter says the
/// data step ran exactly once.
async fn assert_exactly_once(client: &mongodb::Client, state: &str, names: &[String]) {
    let entries: Vec<Document> = client
        .database(state)
        .collection::<Document>("changelog")
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    for n in names {
        let mine: Vec<&Document> = entries
            .iter()
            .filter(|e| e.get_str("database") == Ok(n.as_str()))
            .collect();
        assert_eq!(mine.len(), 3, "{n}: {mine:?}");
        assert!(
            mine.iter().all(|e| e.get_str("status") == Ok("applied")),
            "{n}: {mine:?}"
        );
        let doc = client
            .database(n)
            .collection::<Document>("orders")
            .find_one(doc! {})
            .await
            .unwrap()
            .unwrap();
        assert_eq!(doc.get_i32("runs"), Ok(1), "{n}: the data step ran once");
    }
}

async fn seed_tenants(client: &mongodb::Client, names: &[String]) {
    for n in names {
        client
            .database(n)
            .collection::<Document>("orders")
            .insert_one(doc! { "sku": "x" })
            .await
            .unwrap();
    }
}

#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs the MONGRATE_FAULT hook: cargo test --features test-hooks (scripts/test.sh)"
)]
#[tokio::test(flavor = "multi_thread")]
async fn fleet_migrations_survive_a_kill_and_four_racing_runners_exactly_once() {
    let client = support::client().await;
    // 50 tenants, --parallel 8, SIGKILL in the middle, re-run.
    let prefix = support::unique_db("fm");
    let names = tenants(&prefix, 50);
    seed_tenants(&client, &names).await;
    let migrations = fleet_migrations(&prefix, true);
    let state = format!("{prefix}_state");
    let dir = migrations.path().to_str().unwrap();
    let up = [
        "migrate",
        "up",
        "--migrations",
        dir,
        "--state-db",
        &state,
        "--parallel",
        "8",
    ];
    let killed = support::mongrate_on_server()
        .args(up)
        .env("MONGRATE_FAULT", "20260102000000:1:after-exec")
        .output()
        .unwrap();
    assert_eq!(killed.status.code(), None, "killed by SIGKILL");
    let (code, v) = json(&[
        "migrate",
        "status",
        "--migrations",
        dir,
        "--state-db",
        &state,
    ]);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["pending"].as_u64().unwrap() > 0, "killed midway: {v:#}");
    let (code, v) = json(&up);
    assert_eq!(code, 0, "{v:#}");
    assert!(count(&v, "changed") > 0, "{v:#}");
    assert_eq!(count(&v, "failed"), 0, "{v:#}");
    assert_exactly_once(&client, &state, &names).await;
    let (code, v) = json(&[
        "migrate",
        "status",
        "--migrations",
        dir,
        "--state-db",
        &state,
        "--exit-code",
    ]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["databases"].as_array().unwrap().len(), 50);

    // Four fleet runs at once over fresh tenants: still exactly once per tenant.
    let prefix = support::unique_db("fr");
    let names = tenants(&prefix, 20);
    seed_tenants(&client, &names).await;
    // Unguarded: a second run of the data step in any tenant would show.
    let migrations = fleet_migrations(&prefix, false);
    let state = format!("{prefix}_state");
    let dir = migrations.path().to_str().unwrap();
    let runners: Vec<std::process::Child> = (0..4)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("mongrate"))
                .args(["--uri", &support::server_uri(), "--format", "json"])
                .args(["migrate", "up", "--migrations", dir, "--state-db", &state])
                .args(["--parallel", "4", "--lock-timeout", "120"])
                .env_remove("MONGRATE_FAULT")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for r in runners {
        let out = r.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_exactly_once(&client, &state, &names).await;
    drop_all(&client, &names).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn baseline_of_an_adopted_database_then_up_runs_only_the_later_migrations() {
    let client = support::client().await;
    let db = support::unique_db("adopted");
    let state = format!("{db}_state");
    // The adopted database already has what the first two migrations make.
    let orders = client.database(&db).collection::<Document>("orders");
    orders.insert_one(doc! { "sku": "x" }).await.unwrap();
    for key in ["a", "b"] {
        orders
            .create_index(mongodb::IndexModel::builder().keys(doc! { key: 1 }).build())
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    for (version, key) in [
        ("20260101000000", "a"),
        ("20260102000000", "b"),
        ("20260103000000", "c"),
    ] {
        std::fs::write(
            dir.path().join(format!("{version}_index_{key}.yaml")),
            format!(
                "up:\n  - create_index: {{ db: {db}, collection: orders, index: {{ key: {{ {key}: 1 }}, name: {key}_1 }} }}\ndown:\n  - drop_index: {{ db: {db}, collection: orders, name: {key}_1 }}\n"
            ),
        )
        .unwrap();
    }
    let dir = dir.path().to_str().unwrap();
    let common = ["--migrations", dir, "--state-db", &state];
    let (code, v) = json(
        &[
            &["migrate", "baseline", "--to", "20260102000000"],
            &common[..],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        v["databases"][0]["recorded"],
        serde_json::json!(["20260101000000", "20260102000000"])
    );
    let (code, v) = json(&[&["migrate", "up"], &common[..]].concat());
    assert_eq!(code, 0, "{v:#}");
    let ran: Vec<&str> = v["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(ran, ["20260103000000"]);
    let (code, v) = json(&[&["migrate", "status", "--exit-code"], &common[..]].concat());
    assert_eq!(code, 0, "{v:#}");
    client.database(&db).drop().await.ok();
    client.database(&state).drop().await.ok();
}
