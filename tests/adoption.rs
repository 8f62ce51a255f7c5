//! Adopting a live database, against a real mongod: every command that reads or writes data
//! covers every database a template covers; pulled files hold no data; a baseline's `down`
//! never drops what it adopted; projects keep their own migration history.

mod support;

use bson::{Document, doc};
use serde_json::Value;
use std::path::Path;

/// Run mongrate in `dir` against the shared server; returns (exit code, stdout, stderr).
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = support::mongrate_on_server()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        stderr,
    )
}

/// Run with `--format json`; returns (exit code, the document).
fn json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(dir, &all);
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}\nstdout: {stdout}\nstderr: {stderr}"));
    (code, v)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const TENANT_ORDERS: &str = "collection: orders\nfields:\n  sku: { type: string, required: true }\n  qty: { type: int, minimum: 1 }\n  status: { type: string, enum: [open, paid], default: open }\nindexes:\n  - keys: { sku: 1 }\n";

/// Every data command over a template of 20 tenants finds the one bad document in one of them.
#[tokio::test(flavor = "multi_thread")]
async fn data_commands_cover_every_database_a_template_covers() {
    let client = support::client().await;
    let prefix = support::unique_db("tdata");
    let names: Vec<String> = (1..=20).map(|i| format!("{prefix}_{i:03}")).collect();
    let root = tempfile::tempdir().unwrap();
    let schemas = root.path().join("schemas");
    write(
        &schemas.join(format!("{prefix}_*/orders.yaml")),
        TENANT_ORDERS,
    );
    let s = schemas.to_str().unwrap();
    let list = names.join(",");
    let (code, v) = json(
        root.path(),
        &["apply", "--yes", "--schemas", s, "--databases", &list],
    );
    assert_eq!(code, 0, "{v:#}");
    for n in &names {
        client
            .database(n)
            .collection::<Document>("orders")
            .insert_many(vec![
                doc! { "sku": "a", "qty": 1, "status": "open" },
                doc! { "sku": "b", "qty": 2, "status": "paid" },
            ])
            .await
            .unwrap();
    }
    let bad = &names[11];
    let orders = client.database(bad).collection::<Document>("orders");
    // Invalid (qty 0), inserted past the validator.
    client
        .database(bad)
        .run_command(doc! {
            "insert": "orders",
            "documents": [{ "_id": "bad-one", "sku": "c", "qty": 0, "status": "open" }],
            "bypassDocumentValidation": true,
        })
        .await
        .unwrap();

    // check --data: every tenant examined, the bad one named, exit 2.
    let (code, v) = json(root.path(), &["check", "--data", "--schemas", s]);
    assert_eq!(code, 2, "{v:#}");
    let audited = v["data"]["collections"].as_array().unwrap();
    assert_eq!(audited.len(), 20, "{v:#}");
    let examined: u64 = audited
        .iter()
        .map(|a| a["examined"].as_u64().unwrap())
        .sum();
    assert_eq!(examined, 41, "{v:#}");
    let failing: Vec<&str> = audited
        .iter()
        .filter(|a| a["failing"] != 0)
        .map(|a| a["database"].as_str().unwrap())
        .collect();
    assert_eq!(failing, [bad.as_str()], "{v:#}");
    let drift: Vec<&str> = v["databases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["outcome"] == "drift")
        .map(|d| d["database"].as_str().unwrap())
        .collect();
    assert_eq!(drift, [bad.as_str()], "{v:#}");
    let (code, text, _) = run(root.path(), &["check", "--data", "--schemas", s]);
    assert_eq!(code, 2);
    assert!(text.contains(&format!("{bad}.orders: 1 of 3")), "{text}");

    // The audit before a validator: a tightened template is refused in the bad tenant only.
    orders.delete_one(doc! { "_id": "bad-one" }).await.unwrap();
    orders
        .insert_one(doc! { "_id": "no-status", "sku": "d", "qty": 3 })
        .await
        .unwrap();
    write(
        &schemas.join(format!("{prefix}_*/orders.yaml")),
        &TENANT_ORDERS.replace("default: open }", "default: open, required: true }"),
    );
    let (code, v) = json(root.path(), &["plan", "--schemas", s]);
    assert_eq!(code, 0, "{v:#}");
    let counted: Vec<(String, u64)> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|st| st["operation"]["type"] == "set_validator")
        .map(|st| {
            (
                st["database"].as_str().unwrap().to_string(),
                st["check"]["count"].as_u64().unwrap(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(counted, [(bad.clone(), 1)], "{v:#}");

    // backfill: the document lacking the default is found and filled, in that tenant only.
    let (code, v) = json(root.path(), &["backfill", "--dry-run", "--schemas", s]);
    assert_eq!(code, 0, "{v:#}");
    let would: Vec<(&str, u64)> = v["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["database"].as_str().unwrap(),
                c["fields"][0]["filled"].as_u64().unwrap(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(would, [(bad.as_str(), 1)], "{v:#}");
    assert_eq!(v["collections"].as_array().unwrap().len(), 20);
    let (code, v) = json(root.path(), &["backfill", "--schemas", s]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["modified"], 1, "{v:#}");
    let filled = orders
        .find_one(doc! { "_id": "no-status" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(filled.get_str("status"), Ok("open"));

    // lint --uri over the template: a removed enum value is counted where it is held, and
    // each count is of what its own finding says.
    client
        .database(bad)
        .run_command(doc! {
            "insert": "orders",
            "documents": [{ "_id": "void-one", "sku": "v", "qty": 1, "status": "void" }],
            "bypassDocumentValidation": true,
        })
        .await
        .unwrap();
    let old = root.path().join("old");
    let new = root.path().join("new");
    write(
        &old.join(format!("{prefix}_*/orders.yaml")),
        &TENANT_ORDERS.replace("enum: [open, paid]", "enum: [open, paid, void]"),
    );
    write(
        &new.join(format!("{prefix}_*/orders.yaml")),
        &TENANT_ORDERS.replace(
            "indexes:",
            "  note: { type: string, required: true }\nindexes:",
        ),
    );
    let (code, v) = json(
        root.path(),
        &[
            "lint",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "--server",
        ],
    );
    assert_eq!(code, 2, "{v:#}");
    let finding = |rule: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule)
            .unwrap_or_else(|| panic!("{rule}: {v:#}"))
            .clone()
    };
    let removed = finding("enum-value-removed");
    assert_eq!(removed["count"], 1, "{removed:#}");
    assert!(
        removed["evidence"]
            .as_str()
            .unwrap()
            .contains(&format!("{bad}: 1 document")),
        "{removed:#}"
    );
    // Every document of every tenant lacks `note`: 19 × 2, and 4 in the bad one.
    let required = finding("field-required-added");
    assert_eq!(required["count"], 42, "{required:#}");
    assert!(
        required["evidence"]
            .as_str()
            .unwrap()
            .contains(&format!("{bad}: 4 documents lack `note`")),
        "{required:#}"
    );
    for n in &names {
        client.database(n).drop().await.ok();
    }
}

/// Two administrators and their sessions, as a real application stores them.
async fn secrets_database(client: &mongodb::Client, name: &str) {
    let db = client.database(name);
    let jwt = format!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ".repeat(5)
    );
    db.collection::<Document>("admins")
        .insert_many(vec![
            doc! { "email": "alice@acme.example", "api_key": "sk_live_51HxQ2eKz9aB3cD4eF5gH6iJ7kL8",
            "password_hash": "$2b$12$KIXQJ1y5x1z8e6Q6y0aZ6uJ0t9m4r3s2q1p0o9n8m7l6k5j4i3h2",
            "role": "owner", "display": "Alice Martin" },
            doc! { "email": "bob@acme.example", "api_key": "sk_live_9ZyXwVuTsRqPoNmLkJiHgFeDcBa",
            "password_hash": "$2b$12$AbCdEfGhIjKlMnOpQrStUuVwXyZ0123456789abcdefghijklmnop",
            "role": "owner", "display": "Bob Stone" },
        ])
        .await
        .unwrap();
    let sessions: Vec<Document> = (0..40)
        .map(|i| {
            doc! { "token": &jwt, "user": (["alice@acme.example", "bob@acme.example"][i % 2]),
            "ip": format!("10.0.{}.{}", i % 3, i), "kind": (["web", "api"][i % 2]) }
        })
        .collect();
    db.collection::<Document>("sessions")
        .insert_many(sessions)
        .await
        .unwrap();
}

/// Every value of the secrets database that must never reach a file.
const SECRETS: &[&str] = &[
    "sk_live",
    "$2b$",
    "acme.example",
    "eyJ",
    "Alice",
    "Bob",
    "Martin",
    "10.0.",
    "owner",
];

#[tokio::test(flavor = "multi_thread")]
async fn pulled_files_hold_no_data() {
    let client = support::client().await;
    let name = support::unique_db("secrets");
    secrets_database(&client, &name).await;
    let root = tempfile::tempdir().unwrap();
    for extra in [&[][..], &["--enums"][..], &["--full-scan", "--enums"][..]] {
        let mut args = vec!["pull", &name, "--force"];
        args.extend_from_slice(extra);
        let (code, out, err) = run(root.path(), &args);
        assert_eq!(code, 0, "{out}{err}");
        for file in ["admins", "sessions"] {
            let text =
                std::fs::read_to_string(root.path().join(format!("schemas/{name}/{file}.yaml")))
                    .unwrap();
            for secret in SECRETS {
                assert!(
                    !text.contains(secret),
                    "{extra:?}: `{secret}` in {file}:\n{text}"
                );
            }
            for line in text.lines() {
                assert!(line.len() < 200, "{extra:?}: a long line in {file}: {line}");
            }
        }
        // Nor in what pull prints.
        for secret in SECRETS {
            assert!(!out.contains(secret) && !err.contains(secret), "{secret}");
        }
    }
    // A harmless category many documents repeat is offered, and declared with --enums.
    let sessions =
        std::fs::read_to_string(root.path().join(format!("schemas/{name}/sessions.yaml"))).unwrap();
    assert!(
        sessions.contains("kind: { type: string, required: true, enum: [api, web] }"),
        "{sessions}"
    );
    client.database(&name).drop().await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn pulling_twice_from_an_unchanged_server_writes_the_same_bytes() {
    let client = support::client().await;
    let name = support::unique_db("pull_twice");
    // 5,000 documents, a sample of 300: rare types and rare fields that a random sample
    // catches one time and misses the next.
    let docs: Vec<Document> = (0..5000)
        .map(|i| {
            let mut d = doc! { "n": i as i32, "plan": (["free", "pro", "team"][i % 3]) };
            if i % 97 == 0 {
                d.insert("n", format!("{i}"));
            }
            if i % 211 == 0 {
                d.insert("rare", true);
            }
            if i % 7 == 0 {
                d.insert("note", bson::Bson::Null);
            }
            d
        })
        .collect();
    client
        .database(&name)
        .collection::<Document>("items")
        .insert_many(docs)
        .await
        .unwrap();
    let path = |dir: &tempfile::TempDir| dir.path().join(format!("schemas/{name}/items.yaml"));
    let first = tempfile::tempdir().unwrap();
    run(first.path(), &["pull", &name, "--sample", "300"]);
    let text = std::fs::read_to_string(path(&first)).unwrap();
    assert!(text.contains("of 300 sampled"), "{text}");
    for _ in 0..3 {
        let again = tempfile::tempdir().unwrap();
        run(again.path(), &["pull", &name, "--sample", "300"]);
        assert_eq!(std::fs::read_to_string(path(&again)).unwrap(), text);
    }
    // And a re-pull into the same folder finds the file unchanged.
    let (code, out, _) = run(first.path(), &["pull", &name, "--sample", "300"]);
    assert_eq!(code, 0);
    assert!(out.contains("unchanged"), "{out}");
    client.database(&name).drop().await.ok();
}

/// Count the documents of `db.coll`.
async fn count(client: &mongodb::Client, db: &str, coll: &str) -> u64 {
    client
        .database(db)
        .collection::<Document>(coll)
        .count_documents(doc! {})
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_baseline_never_drops_what_it_adopted_and_every_drop_is_named_with_its_documents() {
    let client = support::client().await;
    let name = support::unique_db("baseline");
    let db = client.database(&name);
    let users: Vec<Document> = (0..500)
        .map(|i| doc! { "n": i, "plan": (["free", "pro"][i as usize % 2]) })
        .collect();
    db.collection::<Document>("users")
        .insert_many(users)
        .await
        .unwrap();
    db.collection::<Document>("users")
        .create_index(mongodb::IndexModel::builder().keys(doc! { "n": 1 }).build())
        .await
        .unwrap();
    db.collection::<Document>("legacy")
        .insert_many((0..12).map(|i| doc! { "i": i }).collect::<Vec<_>>())
        .await
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let state = support::unique_db("baseline_state");
    write(&dir.join("mongrate.yaml"), &format!("state_db: {state}\n"));
    let r = |a: &[&str]| run(dir, a);
    let j = |a: &[&str]| json(dir, a);
    let (code, out, err) = r(&["pull", &name]);
    assert_eq!(code, 0, "{out}{err}");

    // The baseline: no drop either way, its down irreversible for every adopted collection.
    let (code, v) = j(&["migrate", "generate", "baseline"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["baseline"], true, "{v:#}");
    assert_eq!(v["destructive_steps"], 0, "{v:#}");
    assert_eq!(v["destructive_down_steps"], 0, "{v:#}");
    let file = std::fs::read_to_string(dir.join(v["path"].as_str().unwrap())).unwrap();
    let down = file.split("\ndown:\n").nth(1).unwrap();
    assert!(!down.contains("drop_"), "{file}");
    assert_eq!(down.matches("irreversible").count(), 2, "{file}");
    // Its up on the live database changes nothing, and says so.
    let (code, v) = j(&["migrate", "up"]);
    assert_eq!(code, 0, "{v:#}");
    let ran = &v["migrations"][0];
    assert_eq!(ran["steps_already_there"], ran["steps_run"], "{v:#}");
    assert!(ran["steps_run"].as_u64().unwrap() >= 3, "{v:#}");

    // Rolling it back is refused, and --force skips the irreversible steps: nothing dropped.
    let (code, _, err) = r(&["migrate", "down", "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("irreversible") && err.contains("adopts"),
        "{err}"
    );
    assert_eq!(count(&client, &name, "users").await, 500);
    let (code, out, err) = r(&["migrate", "down", "--yes", "--force"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(count(&client, &name, "users").await, 500);
    assert_eq!(count(&client, &name, "legacy").await, 12);
    let (code, out, err) = r(&["migrate", "up"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("— already there, nothing changed"), "{err}");
    assert!(out.contains("already held on the server"), "{out}");

    // A later migration adds a collection: its down drops it, and says with how many documents.
    write(
        &dir.join(format!("schemas/{name}/audit.yaml")),
        "collection: audit\nfields:\n  at: { type: date }\n",
    );
    let (code, v) = j(&["migrate", "generate", "add_audit"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        (
            v["baseline"].as_bool(),
            v["destructive_down_steps"].as_u64()
        ),
        (Some(false), Some(1))
    );
    let (code, out, err) = r(&["migrate", "up"]);
    assert_eq!(code, 0, "{out}{err}");
    db.collection::<Document>("audit")
        .insert_many((0..7).map(|i| doc! { "i": i }).collect::<Vec<_>>())
        .await
        .unwrap();
    let (code, out, _) = r(&["migrate", "down", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("collection {name}.audit (~7 documents)")),
        "{out}"
    );
    assert!(out.contains("(destroys ~7 documents)"), "{out}");
    let (code, v) = j(&["migrate", "down", "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(v["migrations"][0]["destructive_steps"], 1, "{v:#}");
    // Without a terminal and without --yes: refused, naming the drop.
    let (code, _, err) = r(&["migrate", "down"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("drops collection {name}.audit (~7 documents)")),
        "{err}"
    );
    assert_eq!(count(&client, &name, "audit").await, 7);

    // apply --prune --allow-destructive: the plan and the refusal name the drop and its size.
    std::fs::remove_file(dir.join(format!("schemas/{name}/legacy.yaml"))).unwrap();
    let prune = ["apply", "--prune", "--allow-destructive"];
    let (code, out, err) = r(&prune);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("destroys ~12 documents"), "{out}");
    assert!(
        err.contains(&format!("collection {name}.legacy (~12 documents)")),
        "{err}"
    );
    assert_eq!(count(&client, &name, "legacy").await, 12);
    let (code, v) = j(&["plan", "--prune", "--allow-destructive"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["destructive"], 1, "{v:#}");
    let drop = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["operation"]["type"] == "drop_collection")
        .unwrap();
    assert_eq!(drop["documents"], 12, "{v:#}");
    client.database(&name).drop().await.ok();
    client.database(&state).drop().await.ok();
}

/// A project folder: mongrate.yaml (with `project:` when named), schemas/<db>/items.yaml and
/// one migration creating that collection.
fn project(project: Option<&str>, db: &str, state: &str, version: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let name = project
        .map(|p| format!("project: {p}\n"))
        .unwrap_or_default();
    write(
        &root.path().join("mongrate.yaml"),
        &format!("{name}state_db: {state}\n"),
    );
    write(
        &root.path().join(format!("schemas/{db}/items.yaml")),
        "collection: items\nvalidation: { enabled: false }\n",
    );
    write(
        &root.path().join(format!("migrations/{version}_items.yaml")),
        &format!(
            "up:\n  - create_collection: {{ db: {db}, collection: items }}\ndown:\n  - drop_collection: {{ db: {db}, collection: items }}\n"
        ),
    );
    root
}

/// The changelog documents of a state database.
async fn changelog(client: &mongodb::Client, state: &str) -> Vec<Document> {
    use futures_util::TryStreamExt;
    client
        .database(state)
        .collection::<Document>("changelog")
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_projects_on_one_server_keep_their_own_histories() {
    let client = support::client().await;
    let state = support::unique_db("projects_state");
    let (db_a, db_b) = (support::unique_db("proj_a"), support::unique_db("proj_b"));
    // A starts without a project name (as projects did before names existed).
    let a = project(None, &db_a, &state, "20260101000000");
    let b = project(Some("billing"), &db_b, &state, "20260202000000");
    for p in [&a, &b] {
        let (code, out, err) = run(p.path(), &["migrate", "up"]);
        assert_eq!(code, 0, "{out}{err}");
    }
    // Neither sees the other's migration as missing.
    for p in [&a, &b] {
        let (code, out, err) = run(p.path(), &["migrate", "status", "--exit-code"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(!out.contains("missing"), "{out}");
        let (code, out, err) = run(p.path(), &["migrate", "verify"]);
        assert_eq!(code, 0, "{out}{err}");
    }
    let (_, v) = json(b.path(), &["migrate", "status"]);
    assert_eq!(v["unclaimed"], 1, "A's entry is left alone: {v:#}");
    assert_eq!(v["migrations"].as_array().unwrap().len(), 1, "{v:#}");
    let entries = changelog(&client, &state).await;
    let b_entry = entries
        .iter()
        .find(|e| e.get_str("project") == Ok("billing"))
        .unwrap();
    assert_eq!(b_entry.get_str("_id"), Ok("billing:20260202000000"));

    // A names itself: its entry of no project is read as its own at once, and taken over by
    // its next run under the lock.
    write(
        &a.path().join("mongrate.yaml"),
        &format!("project: shop\nstate_db: {state}\n"),
    );
    let (code, out, err) = run(a.path(), &["migrate", "status", "--exit-code"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("applied"), "{out}");
    let (code, out, err) = run(a.path(), &["migrate", "up"]);
    assert_eq!(code, 0, "{out}{err}");
    let entries = changelog(&client, &state).await;
    let ids: Vec<&str> = entries.iter().map(|e| e.get_str("_id").unwrap()).collect();
    assert!(ids.contains(&"shop:20260101000000"), "{ids:?}");
    assert!(
        !ids.contains(&"20260101000000"),
        "taken over, not copied: {ids:?}"
    );
    assert_eq!(entries.len(), 2, "{entries:?}");
    // Each project's lock is its own: one holding it does not block the other.
    let (_, v) = json(b.path(), &["migrate", "status"]);
    assert_eq!(v["unclaimed"], 0, "{v:#}");
    for d in [&db_a, &db_b, &state] {
        client.database(d).drop().await.ok();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_migration_is_resolved_under_the_lock_and_never_as_a_lie() {
    let client = support::client().await;
    let state = support::unique_db("resolve_state");
    let db = support::unique_db("resolve");
    let p = project(Some("resolver"), &db, &state, "20260101000000");
    let dir = p.path();
    let failing = dir.join("migrations/20260102000000_broken.yaml");
    write(
        &failing,
        &format!(
            "up:\n  - create_index: {{ db: {db}, collection: items, index: {{ key: {{ a: 1 }}, name: a_1 }} }}\n  - command: {{ db: {db}, command: {{ noSuchCommand: 1 }} }}\ndown:\n  - drop_index: {{ db: {db}, collection: items, name: a_1 }}\n"
        ),
    );
    let (code, _, err) = run(dir, &["migrate", "up"]);
    assert_eq!(code, 1, "{err}");
    let (code, out, _) = run(dir, &["migrate", "status", "--exit-code"]);
    assert_eq!(code, 2);
    assert!(out.contains("failed"), "{out}");
    // Pending and applied migrations cannot be resolved: that would be a lie.
    let (code, _, err) = run(
        dir,
        &["migrate", "resolve", "20260101000000", "--rolled-back"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("is applied, not failed"), "{err}");
    write(
        &dir.join("migrations/20260103000000_later.yaml"),
        "up: []\ndown: []\n",
    );
    let (code, _, err) = run(dir, &["migrate", "resolve", "20260103000000", "--applied"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("pending, not failed") && err.contains("baseline"),
        "{err}"
    );
    std::fs::remove_file(dir.join("migrations/20260103000000_later.yaml")).unwrap();

    // The file is deleted (the index dropped by hand): missing, until resolved.
    client
        .database(&db)
        .collection::<Document>("items")
        .drop_index("a_1")
        .await
        .unwrap();
    std::fs::remove_file(&failing).unwrap();
    let (code, out, _) = run(dir, &["migrate", "status", "--exit-code"]);
    assert_eq!(code, 2);
    assert!(out.contains("missing"), "{out}");
    let (code, _, err) = run(dir, &["migrate", "resolve", "20260102000000", "--applied"]);
    assert_eq!(code, 1);
    assert!(err.contains("file is missing"), "{err}");
    let (code, v) = json(
        dir,
        &[
            "migrate",
            "resolve",
            "20260102000000",
            "--rolled-back",
            "--note",
            "index dropped by hand",
        ],
    );
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["resolution"]["marked"], "rolled_back");
    assert_eq!(v["resolution"]["was"], "failed");
    assert_eq!(v["resolution"]["was_steps_done"], 1);
    let (code, out, err) = run(dir, &["migrate", "status", "--exit-code"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(dir, &["migrate", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    let entry = changelog(&client, &state)
        .await
        .into_iter()
        .find(|e| e.get_str("_id") == Ok("resolver:20260102000000"))
        .unwrap();
    assert_eq!(entry.get_str("status"), Ok("rolled_back"));
    let resolved = entry.get_document("resolved").unwrap();
    assert_eq!(resolved.get_str("note"), Ok("index dropped by hand"));
    assert!(resolved.get_str("by").unwrap().contains('@'));
    assert!(
        entry.get_i64("lock_token").unwrap() > 0,
        "written under the lock"
    );
    let (code, _, err) = run(
        dir,
        &["migrate", "resolve", "20260102000000", "--rolled-back"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("already rolled back"), "{err}");

    // Restored and finished by hand: --applied records the file's checksum; up skips it.
    write(
        &failing,
        &format!(
            "up:\n  - create_index: {{ db: {db}, collection: items, index: {{ key: {{ a: 1 }}, name: a_1 }} }}\n  - command: {{ db: {db}, command: {{ noSuchCommand: 1 }} }}\ndown:\n  - drop_index: {{ db: {db}, collection: items, name: a_1 }}\n"
        ),
    );
    let (code, _, _) = run(dir, &["migrate", "up"]);
    assert_eq!(code, 1);
    let (code, out, err) = run(dir, &["migrate", "resolve", "20260102000000", "--applied"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(dir, &["migrate", "up"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Nothing to do"), "{out}");
    let (code, out, _) = run(dir, &["migrate", "status", "--exit-code"]);
    assert_eq!(code, 0, "{out}");
    for d in [&db, &state] {
        client.database(d).drop().await.ok();
    }
}

/// Run mongrate (no server of the test's) and time it.
fn timed(dir: &Path, args: &[&str]) -> (i32, String, std::time::Duration) {
    let started = std::time::Instant::now();
    let out = support::mongrate()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), stderr, started.elapsed())
}

#[test]
fn connecting_fails_fast_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("schemas/app/t.yaml"), "fields: {}\n");
    let fast = std::time::Duration::from_secs(4);
    // Nothing listens: at once, not after the 10 s default.
    let (code, err, took) = timed(
        dir.path(),
        &["plan", "--uri", "mongodb://u:hunter2@127.0.0.1:1/"],
    );
    assert_eq!(code, 1);
    assert!(took < fast, "{took:?}");
    assert!(err.contains("connection refused by 127.0.0.1:1"), "{err}");
    assert!(
        !err.contains("hunter2") && !err.contains("scripts/mongod.py"),
        "{err}"
    );
    // A replica set of another name: diagnosed as such, at once.
    let uri = support::server_uri();
    let host = uri
        .trim_start_matches("mongodb://")
        .split(['/', '?'])
        .next()
        .unwrap()
        .to_string();
    let wrong = format!("mongodb://{host}/?replicaSet=not_this_one");
    let (code, err, took) = timed(dir.path(), &["check", "--uri", &wrong]);
    assert_eq!(code, 1);
    assert!(took < fast, "{took:?}");
    assert!(
        err.contains("asks for replicaSet=not_this_one")
            && err.contains("is a member of replica set `"),
        "{err}"
    );
    // A server that accepts connections and never answers: the URI's timeout is honoured,
    // over mongrate.yaml's; the flag wins over the URI.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in silent.incoming().flatten() {
            held.push(c);
        }
    });
    write(&dir.path().join("mongrate.yaml"), "server_timeout: 30\n");
    let silent_uri =
        format!("mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=1500");
    let (code, err, took) = timed(dir.path(), &["plan", "--uri", &silent_uri]);
    assert_eq!(code, 1, "{err}");
    assert!(
        took >= std::time::Duration::from_millis(1400) && took < fast,
        "{took:?}"
    );
    assert!(err.contains("within 1.5s"), "{err}");
    let slow_uri = silent_uri.replace("1500", "20000");
    let (code, err, took) = timed(
        dir.path(),
        &["plan", "--server-timeout", "1", "--uri", &slow_uri],
    );
    assert_eq!(code, 1, "{err}");
    assert!(took < fast, "{took:?}");
    assert!(err.contains("within 1.0s"), "{err}");
}

/// MongoDB's own `orders` example: a `$expr` validator that raises an error on a document
/// whose `total` is an object. Such a document fails the validator (the server answers 121
/// when it is written): every count includes it instead of aborting.
#[tokio::test(flavor = "multi_thread")]
async fn a_validator_that_raises_an_error_on_a_document_counts_it_as_failing() {
    let client = support::client().await;
    let name = support::unique_db("orders_expr");
    let coll = client.database(&name).collection::<Document>("orders");
    let mut docs: Vec<Document> = (0..2500)
        .map(|i| doc! { "_id": i, "total": 100.0, "VAT": 0.2, "totalWithVAT": 120.0 })
        .collect();
    docs[1700] =
        doc! { "_id": 1700, "total": { "amount": 100 }, "VAT": 0.2, "totalWithVAT": 120.0 };
    docs[42] = doc! { "_id": 42, "total": 100.0, "VAT": 0.2, "totalWithVAT": 99.0 };
    coll.insert_many(docs).await.unwrap();
    let root = tempfile::tempdir().unwrap();
    write(
        &root.path().join(format!("schemas/{name}/orders.yaml")),
        "collection: orders\nvalidator:\n  $expr:\n    $eq: ['$totalWithVAT', { $multiply: ['$total', { $sum: [1, '$VAT'] }] }]\n",
    );
    // check --data: two documents fail, one of them because the expression cannot be evaluated.
    let (code, v) = json(root.path(), &["check", "--data"]);
    assert_eq!(code, 2, "{v:#}");
    let audit = &v["data"]["collections"][0];
    assert_eq!(audit["examined"], 2500, "{v:#}");
    assert_eq!(audit["failing"], 2, "{v:#}");
    let reasons = audit["reasons"].to_string();
    assert!(
        reasons.contains("validator error") && reasons.contains("1700"),
        "{reasons}"
    );
    // plan counts both; apply refuses, and goes through with --allow-violations.
    let (code, v) = json(root.path(), &["plan"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["steps"][0]["check"]["count"], 2, "{v:#}");
    let (code, _, err) = run(root.path(), &["apply", "--yes"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("2 existing documents fail the new validator"),
        "{err}"
    );
    let (code, out, err) = run(root.path(), &["apply", "--yes", "--allow-violations"]);
    assert_eq!(code, 0, "{out}{err}");
    // The server agrees: it refuses such a document with 121.
    let refused = coll
        .insert_one(
            doc! { "_id": "new", "total": { "amount": 1 }, "VAT": 0.2, "totalWithVAT": 1.2 },
        )
        .await
        .unwrap_err();
    assert!(format!("{refused:?}").contains("121"), "{refused:?}");
    client.database(&name).drop().await.ok();
}

/// Ctrl-C during a backfill: it says how to go on; the next run resumes and counts its own work.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_backfill_says_how_to_resume_and_the_resumed_run_counts_its_own_work() {
    let client = support::client().await;
    let name = support::unique_db("bf_ctrlc");
    let state = support::unique_db("bf_ctrlc_state");
    let coll = client.database(&name).collection::<Document>("items");
    coll.insert_many((0..20_000).map(|i| doc! { "_id": i }).collect::<Vec<_>>())
        .await
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    write(
        &root.path().join(format!("schemas/{name}/items.yaml")),
        "collection: items\nvalidation: { enabled: false }\nfields:\n  status: { type: string, default: new }\n",
    );
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("mongrate"))
        .current_dir(root.path())
        .env_remove("MONGODB_URI")
        .args(["--uri", &support::server_uri(), "--state-db", &state])
        .args([
            "backfill",
            "--batch-size",
            "500",
            "--max-docs-per-sec",
            "4000",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let checkpoints = client
        .database(&state)
        .collection::<Document>("backfill_checkpoints");
    let started = std::time::Instant::now();
    while checkpoints.find_one(doc! {}).await.unwrap().is_none() {
        assert!(started.elapsed().as_secs() < 30, "no checkpoint");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("interrupted (Ctrl-C) — run `mongrate backfill` again to resume"),
        "{err}"
    );
    let before = coll
        .count_documents(doc! { "status": "new" })
        .await
        .unwrap();
    assert!(before > 0 && before < 20_000, "{before}");
    let (code, out, err) = run(root.path(), &["--state-db", &state, "backfill"]);
    assert_eq!(code, 0, "{err}");
    // One line for the collection, with this run's own counts.
    assert_eq!(out.matches(&format!("{name}.items:")).count(), 1, "{out}");
    let remaining = 20_000 - before;
    assert!(
        out.contains(&format!(
            "{} modified",
            mongrate::progress::thousands(remaining)
        )) && out.contains("by this run, resumed from a checkpoint"),
        "{out}"
    );
    assert_eq!(
        coll.count_documents(doc! { "status": "new" })
            .await
            .unwrap(),
        20_000
    );
    for d in [&name, &state] {
        client.database(d).drop().await.ok();
    }
}

/// Output a person reads: the plan in the order it runs, TTLs as the file writes them, a data
/// headline that says documents fail, two folders spoken of as folders.
#[tokio::test(flavor = "multi_thread")]
async fn output_speaks_of_what_is_compared_in_the_order_it_runs() {
    let client = support::client().await;
    let name = support::unique_db("speak");
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    write(
        &dir.join(format!("schemas/{name}/a.yaml")),
        "collection: a\nfields:\n  n: { type: double, maximum: 100 }\nindexes:\n  - keys: { at: 1 }\n    expire_after: 30d\n",
    );
    write(
        &dir.join(format!("schemas/{name}/b.yaml")),
        "collection: b\nindexes:\n  - keys: { x: 1 }\n",
    );
    let (code, plan, _) = run(dir, &["plan"]);
    assert_eq!(code, 0);
    let numbers: Vec<u32> = plan
        .lines()
        .filter_map(|l| l.trim_start().split_once(". ").map(|(n, _)| n))
        .filter_map(|n| n.trim_start_matches(['+', '~', '-', ' ']).parse().ok())
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "{numbers:?}\n{plan}"
    );
    assert!(
        plan.contains("expire_after=30d") && !plan.contains("2592000"),
        "{plan}"
    );
    assert!(plan.contains("Plan: 4 steps to run."), "{plan}");
    let (code, out, err) = run(dir, &["apply", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    client
        .database(&name)
        .run_command(
            doc! { "insert": "a", "documents": [{ "n": 101.5 }], "bypassDocumentValidation": true },
        )
        .await
        .unwrap();
    let (code, out, _) = run(dir, &["check", "--data"]);
    assert_eq!(code, 2);
    assert!(
        out.starts_with("Data drift:") && out.contains("but 1 document fails their schema"),
        "{out}"
    );
    // A validator change shows numbers as written.
    write(
        &dir.join(format!("schemas/{name}/a.yaml")),
        "collection: a\nfields:\n  n: { type: double, maximum: 200 }\nindexes:\n  - keys: { at: 1 }\n    expire_after: 30d\n",
    );
    let (_, plan, _) = run(dir, &["plan"]);
    assert!(
        plan.contains("\"maximum\": 200") && !plan.contains("200.0"),
        "{plan}"
    );
    // diff and verify --offline speak of folders and migrations, not of a server.
    let (_, out, _) = run(dir, &["diff", "schemas", "schemas"]);
    assert!(
        out.contains("No changes: `schemas` and `schemas` declare the same"),
        "{out}"
    );
    write(&dir.join("empty/x/t.yaml"), "collection: t\n");
    let (_, out, _) = run(dir, &["diff", "empty", "schemas"]);
    assert!(
        out.contains("missing in `empty`") && !out.contains("server"),
        "{out}"
    );
    let (code, _, err) = run(dir, &["migrate", "verify", "--offline"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("missing after the migrations") && !err.contains("server"),
        "{err}"
    );
    client.database(&name).drop().await.ok();
}

/// The README's adoption walkthrough, end to end, on a database holding secrets, twenty
/// tenants made one template, and a baseline: nothing leaked, every tenant examined, nothing
/// dropped without a prompt that names it.
#[tokio::test(flavor = "multi_thread")]
async fn the_readme_adoption_walkthrough() {
    let client = support::client().await;
    let shop = support::unique_db("walk_shop");
    let prefix = support::unique_db("walk_t");
    let state = support::unique_db("walk_state");
    let tenants: Vec<String> = (1..=20).map(|i| format!("{prefix}_{i:03}")).collect();
    secrets_database(&client, &shop).await;
    client
        .database(&shop)
        .collection::<Document>("orders")
        .insert_many(
            (0..300)
                .map(|i| doc! { "sku": format!("s{i}"), "status": (["open", "paid", "shipped"][i % 3]) })
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    for t in &tenants {
        let c = client.database(t).collection::<Document>("invoices");
        c.insert_many(
            (0..5)
                .map(|i| doc! { "number": i, "state": "draft" })
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
        c.create_index(
            mongodb::IndexModel::builder()
                .keys(doc! { "number": 1 })
                .build(),
        )
        .await
        .unwrap();
    }
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    // 1. init and pull (only our databases: the server is shared with other tests).
    let (code, out, err) = run(dir, &["init"]);
    assert_eq!(code, 0, "{out}{err}");
    let config = std::fs::read_to_string(dir.join("mongrate.yaml")).unwrap();
    assert!(config.contains("project: "), "{config}");
    std::fs::write(
        dir.join("mongrate.yaml"),
        format!("{config}\nstate_db: {state}\n").replace("state_db: mongrate\n", ""),
    )
    .unwrap();
    let mut pull = vec!["pull", shop.as_str()];
    pull.extend(tenants.iter().map(String::as_str));
    let (code, out, err) = run(dir, &pull);
    assert_eq!(code, 0, "{out}{err}");
    let mut written = String::new();
    for entry in walk(&dir.join("schemas")) {
        written.push_str(&std::fs::read_to_string(entry).unwrap());
    }
    for secret in SECRETS {
        assert!(
            !written.contains(secret),
            "`{secret}` was written:\n{written}"
        );
        assert!(!out.contains(secret) && !err.contains(secret));
    }
    // 2. The tenants as one template.
    std::fs::rename(
        dir.join(format!("schemas/{}", tenants[0])),
        dir.join(format!("schemas/{prefix}_*")),
    )
    .unwrap();
    for t in &tenants[1..] {
        std::fs::remove_dir_all(dir.join(format!("schemas/{t}"))).unwrap();
    }
    let (code, v) = json(dir, &["check"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["databases"].as_array().unwrap().len(), 21, "{v:#}");
    // 3. The baseline: two files (shop, the template), no drop either way; up changes nothing.
    let (code, v) = json(dir, &["migrate", "generate", "baseline"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["files"].as_array().unwrap().len(), 2, "{v:#}");
    assert_eq!(
        (
            v["destructive_steps"].as_u64(),
            v["destructive_down_steps"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert!(
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["baseline"] == true),
        "{v:#}"
    );
    let (code, out, err) = run(dir, &["migrate", "up"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, v) = json(dir, &["migrate", "status", "--exit-code"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["databases"].as_array().unwrap().len(), 21, "{v:#}");
    // Rolling the baseline back drops nothing, and refuses without --force.
    let (code, _, err) = run(dir, &["migrate", "down", "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(count(&client, &shop, "admins").await, 2);
    // 4. Enforce one collection; a default on the template reaches every tenant.
    let orders = dir.join(format!("schemas/{shop}/orders.yaml"));
    let text = std::fs::read_to_string(&orders).unwrap();
    std::fs::write(
        &orders,
        text.replace(
            "validation: { enabled: false }",
            "validation: { enabled: true }",
        ),
    )
    .unwrap();
    let (code, out, err) = run(dir, &["migrate", "generate", "enforce_orders"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(dir, &["migrate", "up"]);
    assert_eq!(code, 0, "{out}{err}");
    let invoices = dir.join(format!("schemas/{prefix}_*/invoices.yaml"));
    let text = std::fs::read_to_string(&invoices).unwrap();
    std::fs::write(
        &invoices,
        text.replace(
            "fields:\n",
            "fields:\n  currency: { type: string, default: EUR }\n",
        ),
    )
    .unwrap();
    let (code, v) = json(dir, &["backfill"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["modified"], 100, "{v:#}");
    // One bad invoice in one tenant (with validation on): check --data finds it there.
    std::fs::write(
        &invoices,
        std::fs::read_to_string(&invoices).unwrap().replace(
            "validation: { enabled: false }",
            "validation: { enabled: true }",
        ),
    )
    .unwrap();
    let (code, out, err) = run(dir, &["apply", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    client
        .database(&tenants[11])
        .run_command(doc! { "insert": "invoices", "documents": [{ "number": "x", "state": "draft", "currency": "EUR" }], "bypassDocumentValidation": true })
        .await
        .unwrap();
    let (code, v) = json(dir, &["check", "--data"]);
    assert_eq!(code, 2, "{v:#}");
    let audited = v["data"]["collections"].as_array().unwrap();
    assert_eq!(
        audited
            .iter()
            .filter(|a| a["collection"] == "invoices")
            .count(),
        20
    );
    let failing: Vec<&str> = audited
        .iter()
        .filter(|a| a["failing"] != 0)
        .map(|a| a["database"].as_str().unwrap())
        .collect();
    assert_eq!(failing, [tenants[11].as_str()], "{v:#}");
    for d in tenants.iter().chain([&shop, &state]) {
        client.database(d).drop().await.ok();
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
