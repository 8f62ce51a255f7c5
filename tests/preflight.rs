//! Preflight against a real mongod with access control: for users holding `read`, `readWrite`,
//! `dbAdmin`, a custom role without `collMod`, and enough, a change that needs index builds and
//! a validator either runs completely or is refused before its first step, naming what is
//! missing — never half-applied. The same for `migrate up`, `backfill` and the state database.

mod support;

use bson::{Document, doc};
use futures_util::TryStreamExt;
use support::{auth_server_uri, mongrate, unique_db};

/// A client as the server's `root` user.
async fn root() -> mongodb::Client {
    mongodb::Client::with_uri_str(auth_server_uri())
        .await
        .expect("root client")
}

/// The URI with `user`'s credentials instead of root's.
fn uri_as(user: &str) -> String {
    let root = auth_server_uri();
    let (scheme, rest) = root.split_once("://").expect("a URI");
    let (_, hosts) = rest.split_once('@').expect("credentials in the URI");
    format!("{scheme}://{user}:pw@{hosts}")
}

async fn create_user(client: &mongodb::Client, user: &str, roles: Vec<Document>) {
    client
        .database("admin")
        .run_command(doc! { "createUser": user, "pwd": "pw", "roles": roles })
        .await
        .expect("createUser");
}

fn role(role: &str, db: &str) -> Document {
    doc! { "role": role, "db": db }
}

/// `db.orders` with one document and no validator; schemas that add an index and a validator.
async fn orders(client: &mongodb::Client, db: &str) -> tempfile::TempDir {
    client
        .database(db)
        .collection::<Document>("orders")
        .insert_one(doc! { "email": "a@example.com" })
        .await
        .unwrap();
    support::one_collection_schemas(
        db,
        "orders",
        "fields:\n  email: { type: string, required: true }\nindexes:\n  - keys: { email: 1 }\n",
    )
}

async fn index_names(client: &mongodb::Client, db: &str) -> Vec<String> {
    client
        .database(db)
        .collection::<Document>("orders")
        .list_index_names()
        .await
        .unwrap()
}

async fn validator(client: &mongodb::Client, db: &str) -> Option<Document> {
    support::collection_options(client, db, "orders")
        .await
        .get_document("validator")
        .ok()
        .cloned()
}

fn apply_as(user: &str, schemas: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let out = mongrate()
        .args(["apply", "--yes", "--schemas"])
        .arg(schemas)
        .args(["--uri", &uri_as(user)])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn apply_runs_whole_or_is_refused_before_step_one_for_each_role() {
    let client = root().await;
    let db = unique_db("pf_apply");
    let schemas = orders(&client, &db).await;
    let custom = format!("{db}_nocollmod");
    client
        .database("admin")
        .run_command(doc! {
            "createRole": &custom,
            "privileges": [{
                "resource": { "db": &db, "collection": "" },
                "actions": ["find", "insert", "update", "remove", "createCollection",
                            "createIndex", "dropIndex", "listCollections", "listIndexes"],
            }],
            "roles": [],
        })
        .await
        .unwrap();
    // (user, roles, what the refusal must name; None: it applies).
    type Case<'a> = (String, Vec<Document>, Option<Vec<&'a str>>);
    let cases: Vec<Case> = vec![
        (
            format!("{db}_read"),
            vec![role("read", &db)],
            Some(vec![
                "needs createIndex on",
                "needs collMod on",
                "dbAdmin (or dbOwner)",
            ]),
        ),
        (
            format!("{db}_rw"),
            vec![role("readWrite", &db)],
            Some(vec!["needs collMod on", "dbAdmin (or dbOwner)"]),
        ),
        (
            format!("{db}_dba"),
            vec![role("dbAdmin", &db)],
            Some(vec!["needs find on", "readWrite on"]),
        ),
        (
            format!("{db}_custom"),
            vec![role(&custom, "admin")],
            Some(vec!["needs collMod on"]),
        ),
        (
            format!("{db}_owner"),
            vec![role("readWrite", &db), role("dbAdmin", &db)],
            None,
        ),
    ];
    for (user, roles, refusal) in cases {
        create_user(&client, &user, roles).await;
        let (code, stdout, stderr) = apply_as(&user, schemas.path(), &[]);
        match refusal {
            Some(named) => {
                assert_eq!(code, 1, "{user}: {stdout}{stderr}");
                assert!(
                    stderr.contains("refusing to apply; nothing was changed"),
                    "{user}: {stderr}"
                );
                for n in named {
                    assert!(stderr.contains(n), "{user}: `{n}` not in {stderr}");
                }
                assert!(!stderr.contains(":pw@"), "no password printed: {stderr}");
                // Never half-applied: neither the index nor the validator is there.
                assert_eq!(index_names(&client, &db).await, ["_id_"], "{user}");
                assert_eq!(validator(&client, &db).await, None, "{user}");
            }
            None => {
                assert_eq!(code, 0, "{user}: {stdout}{stderr}");
                assert!(index_names(&client, &db).await.contains(&"email_1".into()));
                assert!(validator(&client, &db).await.is_some());
            }
        }
    }
}

#[tokio::test]
async fn plan_shows_the_findings_and_skip_preflight_starts_anyway() {
    let client = root().await;
    let db = unique_db("pf_plan");
    let schemas = orders(&client, &db).await;
    let user = format!("{db}_rw");
    create_user(&client, &user, vec![role("readWrite", &db)]).await;
    let out = mongrate()
        .args(["plan", "--format", "json", "--schemas"])
        .arg(schemas.path())
        .args(["--uri", &uri_as(&user)])
        .output()
        .unwrap();
    support::json_schema::assert_shape("plan", &out.stdout);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = plan["preflight"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{plan:#}");
    assert_eq!(findings[0]["kind"], "privilege");
    assert_eq!(findings[0]["missing"], format!("collMod on {db}.orders"));
    // Dangerous on purpose: the index is built, then the validator is refused by the server.
    let (code, _, stderr) = apply_as(&user, schemas.path(), &["--skip-preflight"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("step 2 of 2 failed"), "{stderr}");
    assert!(index_names(&client, &db).await.contains(&"email_1".into()));
}

fn write_migration(dir: &std::path::Path, db: &str) {
    std::fs::write(
        dir.join("20260101000000_orders.yaml"),
        format!(
            "up:\n  - create_index: {{ db: {db}, collection: orders, index: {{ key: {{ email: 1 }}, name: email_1 }} }}\n  - set_validator: {{ db: {db}, collection: orders, validator: {{ $jsonSchema: {{ required: [email] }} }}, level: strict, action: error }}\ndown:\n  - set_validator: {{ db: {db}, collection: orders, level: strict, action: error }}\n  - drop_index: {{ db: {db}, collection: orders, name: email_1 }}\n"
        ),
    )
    .unwrap();
}

fn up_as(user: &str, dir: &std::path::Path, state: &str) -> (i32, String) {
    let out = mongrate()
        .args(["migrate", "up", "--dir"])
        .arg(dir)
        .args(["--state-db", state, "--uri", &uri_as(user)])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

async fn changelog(client: &mongodb::Client, state: &str) -> usize {
    client
        .database(state)
        .collection::<Document>("changelog")
        .find(doc! {})
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn migrate_up_is_refused_up_front_for_the_steps_and_for_the_state_database() {
    let client = root().await;
    let db = unique_db("pf_mig");
    let state = format!("{db}_state");
    orders(&client, &db).await;
    let dir = tempfile::tempdir().unwrap();
    write_migration(dir.path(), &db);
    // readWrite everywhere: the validator step needs collMod.
    let rw = format!("{db}_rw");
    create_user(
        &client,
        &rw,
        vec![role("readWrite", &db), role("readWrite", &state)],
    )
    .await;
    let (code, out) = up_as(&rw, dir.path(), &state);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("refusing to migrate up; nothing was changed"),
        "{out}"
    );
    assert!(
        out.contains(&format!("needs collMod on {db}.orders")),
        "{out}"
    );
    assert_eq!(index_names(&client, &db).await, ["_id_"]);
    assert_eq!(changelog(&client, &state).await, 0, "no record, no lock");
    // Enough on the data, nothing on the state database: refused naming it.
    let admin = format!("{db}_admin");
    create_user(
        &client,
        &admin,
        vec![role("readWrite", &db), role("dbAdmin", &db)],
    )
    .await;
    let (code, out) = up_as(&admin, dir.path(), &state);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("the state database {state}")),
        "{out}"
    );
    assert_eq!(index_names(&client, &db).await, ["_id_"]);
    // Enough everywhere: the whole migration runs.
    let owner = format!("{db}_owner");
    create_user(
        &client,
        &owner,
        vec![
            role("readWrite", &db),
            role("dbAdmin", &db),
            role("readWrite", &state),
        ],
    )
    .await;
    let (code, out) = up_as(&owner, dir.path(), &state);
    assert_eq!(code, 0, "{out}");
    assert!(index_names(&client, &db).await.contains(&"email_1".into()));
    assert!(validator(&client, &db).await.is_some());
    // Applied: a user who may not change validators is no longer held back by that step.
    let (code, out) = up_as(&rw, dir.path(), &state);
    assert_eq!(code, 0, "{out}");
    // Rolling back removes the validator first: refused up front for that user, nothing undone.
    let out = mongrate()
        .args(["migrate", "down", "--yes", "--dir"])
        .arg(dir.path())
        .args(["--state-db", &state, "--uri", &uri_as(&rw)])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("refusing to migrate down; nothing was changed"),
        "{err}"
    );
    assert!(
        err.contains(&format!("needs collMod on {db}.orders")),
        "{err}"
    );
    assert!(index_names(&client, &db).await.contains(&"email_1".into()));
    assert!(validator(&client, &db).await.is_some());
}

#[tokio::test]
async fn backfill_is_refused_for_a_reader_and_runs_for_a_writer() {
    let client = root().await;
    let db = unique_db("pf_fill");
    let state = format!("{db}_state");
    client
        .database(&db)
        .collection::<Document>("orders")
        .insert_many([
            doc! { "email": "a@example.com" },
            doc! { "email": "b@example.com" },
        ])
        .await
        .unwrap();
    let schemas = support::one_collection_schemas(
        &db,
        "orders",
        "fields:\n  email: { type: string }\n  status: { type: string, default: new }\n",
    );
    let run = |user: &str| {
        let out = mongrate()
            .args(["backfill", "--schemas"])
            .arg(schemas.path())
            .args(["--state-db", &state, "--uri", &uri_as(user)])
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let reader = format!("{db}_read");
    create_user(
        &client,
        &reader,
        vec![role("read", &db), role("read", &state)],
    )
    .await;
    let (code, out) = run(&reader);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("refusing to backfill; nothing was changed"),
        "{out}"
    );
    assert!(
        out.contains(&format!("needs update on {db}.orders")),
        "{out}"
    );
    assert!(
        out.contains(&format!("insert, update, remove on {state}")),
        "{out}"
    );
    let filled = || async {
        client
            .database(&db)
            .collection::<Document>("orders")
            .count_documents(doc! { "status": "new" })
            .await
            .unwrap()
    };
    assert_eq!(filled().await, 0);
    let writer = format!("{db}_rw");
    create_user(
        &client,
        &writer,
        vec![role("readWrite", &db), role("readWrite", &state)],
    )
    .await;
    let (code, out) = run(&writer);
    assert_eq!(code, 0, "{out}");
    assert_eq!(filled().await, 2);
}

/// `check --format json`'s steps and notices (what it found, without timings).
fn check_json(uri: &str, schemas: &std::path::Path) -> (i32, serde_json::Value) {
    let out = mongrate()
        .args(["check", "--format", "json", "--schemas"])
        .arg(schemas)
        .args(["--uri", uri])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (
        out.status.code().unwrap_or(-1),
        serde_json::json!({ "steps": v["steps"], "notices": v["notices"] }),
    )
}

#[tokio::test]
async fn below_fcv_6_check_reads_the_same_through_list_collections_and_6_0_options_are_refused() {
    let uri = support::private_server_uri();
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    // The example schemas (five real products), applied, then drifted by hand.
    let schemas = support::repo().join("schemas");
    let out = mongrate()
        .args(["apply", "--yes", "--quiet", "--schemas"])
        .arg(&schemas)
        .args(["--uri", &uri])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = client.database("promptforge");
    let names = db.list_collection_names().await.unwrap();
    let coll = db.collection::<Document>(&names[0]);
    let index = coll
        .list_index_names()
        .await
        .unwrap()
        .into_iter()
        .find(|n| n != "_id_")
        .expect("an index besides _id");
    coll.drop_index(&index).await.unwrap();
    db.run_command(doc! { "collMod": &names[1], "validator": {}, "validationLevel": "off" })
        .await
        .unwrap();
    let (code, catalog) = check_json(&uri, &schemas);
    assert_eq!(code, 2, "drift: {catalog:#}");
    client
        .database("admin")
        .run_command(doc! { "setFeatureCompatibilityVersion": "5.0" })
        .await
        .unwrap();
    let (code, fallback) = check_json(&uri, &schemas);
    assert_eq!(code, 2);
    assert_eq!(
        fallback, catalog,
        "listCollections + listIndexes read what $listCatalog read"
    );
    // A 6.0 option at FCV 5.0: refused before the first step, with how to raise the FCV.
    let s = support::one_collection_schemas(
        "pf_fcv",
        "events",
        "options:\n  change_stream_pre_and_post_images: true\nfields:\n  at: { type: date }\nindexes:\n  - keys: { at: 1 }\n",
    );
    let out = mongrate()
        .args(["apply", "--yes", "--schemas"])
        .arg(s.path())
        .args(["--uri", &uri])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refusing to apply; nothing was changed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("change stream pre- and post-images (MongoDB 6.0; this server's feature compatibility version is 5.0)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("setFeatureCompatibilityVersion: \"6.0\""),
        "{stderr}"
    );
    assert!(
        !client
            .list_database_names()
            .await
            .unwrap()
            .contains(&"pf_fcv".to_string()),
        "nothing created"
    );
}

#[tokio::test]
async fn a_rollout_whose_backfill_the_user_may_not_write_is_refused_before_the_validator() {
    let client = root().await;
    let db = unique_db("pf_roll");
    client
        .database(&db)
        .collection::<Document>("orders")
        .insert_one(doc! { "email": "a@example.com" })
        .await
        .unwrap();
    let schemas = support::one_collection_schemas(
        &db,
        "orders",
        "fields:\n  email: { type: string }\n  status: { type: string, required: true, default: new }\n",
    );
    // May change validators and read, not write documents.
    let user = format!("{db}_admin");
    create_user(
        &client,
        &user,
        vec![role("dbAdmin", &db), role("read", &db)],
    )
    .await;
    let (code, _, stderr) = apply_as(&user, schemas.path(), &["--rollout"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("refusing to apply; nothing was changed"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("needs update on {db}.orders")),
        "{stderr}"
    );
    assert_eq!(validator(&client, &db).await, None, "not even at warn");
}
