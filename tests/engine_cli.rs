//! `plan`, `apply`, `check` and `diff` as a user runs them, against a real mongod.

mod support;

use bson::{Document, doc};
use predicates::prelude::*;
use std::path::Path;

fn run(root: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    support::mongrate()
        .args(args)
        .arg("--schemas")
        .arg(root)
        .args(["--uri", &support::server_uri()])
        .assert()
}

#[test]
fn every_seed_database_applies_on_an_empty_server_then_is_in_sync() {
    for db in support::SEED_DATABASES {
        let target = support::unique_db(db);
        let root = support::schemas_as(db, &target);
        run(root.path(), &["apply", "--yes"])
            .code(0)
            .stderr(predicate::str::contains("Applied"));
        run(root.path(), &["check"])
            .code(0)
            .stdout(predicate::str::contains("In sync"));
        run(root.path(), &["plan", "--exit-code"])
            .code(0)
            .stdout(predicate::str::contains("No changes"));
        // Applying twice changes nothing.
        run(root.path(), &["apply", "--yes"])
            .code(0)
            .stderr(predicate::str::contains("Nothing to apply"));
    }
}

#[tokio::test]
async fn indexes_made_by_hand_exactly_as_the_spec_says_are_no_change() {
    let target = support::unique_db("byhand");
    let root = support::schemas_as("workflowai", &target);
    run(root.path(), &["apply", "--yes"]).code(0);
    // Re-create contacts by hand: other number types, unexpanded collation, the shell's names.
    let client = support::client().await;
    let db = client.database(&target);
    let validator = support::collection_options(&client, &target, "contacts")
        .await
        .get_document("validator")
        .unwrap()
        .clone();
    db.collection::<Document>("contacts").drop().await.unwrap();
    db.run_command(doc! { "create": "contacts", "validator": validator })
        .await
        .unwrap();
    db.run_command(doc! { "createIndexes": "contacts", "indexes": [
        { "key": { "email": 1.0 }, "name": "email_1", "unique": true, "collation": { "locale": "fr", "strength": 2 } },
        { "key": { "status": 1i64 }, "name": "status_1" },
        { "key": { "createdAt": -1.0 }, "name": "createdAt_-1" },
        { "key": { "status": 1i32, "createdAt": -1i64 }, "name": "status_1_createdAt_-1", "unique": false },
        { "key": { "clerkId": 1.0 }, "name": "clerkId_1", "sparse": true },
    ] }).await.unwrap();
    run(root.path(), &["plan", "--exit-code"])
        .code(0)
        .stdout(predicate::str::contains("No changes"));
    db.drop().await.ok();
}

#[test]
fn apply_without_a_terminal_needs_yes() {
    let target = support::unique_db("noyes");
    let root = support::schemas_as("botsmith", &target);
    run(root.path(), &["apply"])
        .code(1)
        .stderr(predicate::str::contains(
            "stdin is not a terminal; pass --yes",
        ));
    // Nothing was applied.
    run(root.path(), &["check"]).code(2);
    // --dry-run goes the same way and changes nothing.
    run(root.path(), &["apply", "--dry-run"])
        .code(0)
        .stderr(predicate::str::contains("Dry run"));
    run(root.path(), &["check"]).code(2);
}

#[tokio::test]
async fn apply_stops_at_a_refused_step_reports_and_rerun_finishes() {
    let target = support::unique_db("stops");
    let root = support::one_collection_schemas(
        &target,
        "places",
        "fields:\n  loc: { type: object }\n  name: { type: string }\nindexes:\n  - keys: { name: 1 }\n  - keys: { loc: 2dsphere }\n",
    );
    let client = support::client().await;
    let places = client.database(&target).collection::<Document>("places");
    // Bad geo data: the server refuses the 2dsphere index (nothing mongrate can predict).
    places
        .insert_one(doc! { "name": "x", "loc": { "type": "Point", "coordinates": "nowhere" } })
        .await
        .unwrap();
    let out = run(root.path(), &["apply", "--yes"])
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("failed at"), "{stderr}");
    assert!(stderr.contains("create_index"), "{stderr}");
    assert!(
        stderr.contains("code 16755") || stderr.contains("Can't extract geo keys"),
        "{stderr}"
    );
    // The collection existed (it has data): name_1 was built, the 2dsphere index and the
    // validator (which comes after indexes) were not.
    assert!(stderr.contains("step 2 of 3 failed"), "{stderr}");
    assert!(stderr.contains("applied (1):"), "{stderr}");
    assert!(stderr.contains("not applied (2):"), "{stderr}");
    // Fix the data, re-run: only what is missing runs.
    places.delete_many(doc! {}).await.unwrap();
    run(root.path(), &["apply", "--yes"])
        .code(0)
        .stderr(predicate::str::contains("Applied 2 steps"));
    run(root.path(), &["check"]).code(0);
    client.database(&target).drop().await.ok();
}

#[tokio::test]
async fn check_reports_drift_as_json_for_ci() {
    let target = support::unique_db("drift");
    let root = support::schemas_as("botsmith", &target);
    run(root.path(), &["apply", "--yes"]).code(0);
    let client = support::client().await;
    client
        .database(&target)
        .run_command(doc! { "createIndexes": "plans", "indexes": [{ "key": { "name": 1 }, "name": "adhoc_name" }] })
        .await
        .unwrap();
    client
        .database(&target)
        .run_command(doc! { "collMod": "subscriptions", "validationLevel": "moderate" })
        .await
        .unwrap();
    let out = run(root.path(), &["check", "--format", "json"])
        .code(2)
        .get_output()
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["in_sync"], false);
    assert_eq!(report["steps"].as_array().unwrap().len(), 1, "{report:#}");
    assert_eq!(report["steps"][0]["operation"]["type"], "set_validator");
    assert_eq!(report["steps"][0]["operation"]["database"], target.as_str());
    assert_eq!(report["steps"][0]["operation"]["level"], "strict");
    assert_eq!(report["notices"][0]["kind"], "unmanaged_index");
    // Text for people: the validator level change and the unmanaged index.
    run(root.path(), &["check"]).code(2).stdout(
        predicate::str::contains("validation level/action moderate/error → strict/error")
            .and(predicate::str::contains("adhoc_name")),
    );
    client.database(&target).drop().await.ok();
}

#[test]
fn diff_between_two_spec_folders_needs_no_server() {
    support::mongrate()
        // A server setting given (unreachable): diff does not use it.
        .args([
            "--uri",
            "mongodb://127.0.0.1:1",
            "diff",
            "schemas",
            "schemas",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No changes"));
    support::mongrate()
        .args(["diff", "fixtures/promptforge_live/schemas", "schemas"])
        .assert()
        .code(2)
        .stdout(
            predicate::str::contains("promptforge.users")
                .and(predicate::str::contains(
                    "create_index promptforge.prompts visibility_1_deleted_at_1_tags_1",
                ))
                .and(predicate::str::contains(
                    "index `visibility_1_deleted_1_tags_1`",
                ))
                .and(predicate::str::contains("declared by no schema")),
        );
}

#[test]
fn unreachable_server_is_one_clear_line() {
    let out = support::mongrate()
        .args([
            "plan",
            "--server-timeout",
            "1",
            "--uri",
            "mongodb://ops:s3cret@127.0.0.1:1/?directConnection=true",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot reach MongoDB at mongodb://ops:****@127.0.0.1:1/"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"));
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

/// A mongod with access control, for this test only (stopped when dropped).
struct AuthServer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn auth_server() -> AuthServer {
    let mongod = std::process::Command::new("python3")
        .arg(support::repo().join("scripts/mongod.py"))
        .arg("path")
        .output()
        .expect("scripts/mongod.py path");
    let mongod = String::from_utf8_lossy(&mongod.stdout).trim().to_string();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(&mongod)
        .args([
            "--auth",
            "--bind_ip",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--dbpath",
        ])
        .arg(dir.path())
        .args(["--logpath"])
        .arg(dir.path().join("log"))
        .spawn()
        .expect("mongod starts");
    let server = AuthServer {
        child,
        port,
        _dir: dir,
    };
    // The localhost exception lets the first user be created without credentials.
    let uri =
        format!("mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=20000");
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    client
        .database("admin")
        .run_command(doc! { "createUser": "ops", "pwd": "right", "roles": ["root"] })
        .await
        .expect("first user");
    let admin = mongodb::Client::with_uri_str(format!(
        "mongodb://ops:right@127.0.0.1:{port}/?directConnection=true"
    ))
    .await
    .unwrap();
    admin
        .database("admin")
        .run_command(doc! { "createUser": "reader", "pwd": "r", "roles": [{ "role": "read", "db": "botsmith" }] })
        .await
        .expect("read-only user");
    server
}

#[tokio::test]
async fn bad_credentials_and_a_read_only_user() {
    let server = auth_server().await;
    let uri = |user: &str| {
        format!(
            "mongodb://{user}@127.0.0.1:{}/?directConnection=true",
            server.port
        )
    };
    let root = tempfile::tempdir().unwrap();
    support::copy_tree(
        &support::repo().join("schemas/botsmith"),
        &root.path().join("botsmith"),
    );

    let out = support::mongrate()
        .args(["check", "--server-timeout", "5", "--uri", &uri("ops:wrong")])
        .arg("--schemas")
        .arg(root.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: authentication failed at mongodb://ops:****@127.0.0.1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("check the user name, password and authSource"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong"), "{stderr}");

    // A user who may read but not run $listCatalog: inspection falls back and still works.
    support::mongrate()
        .args(["apply", "--yes", "--uri", &uri("ops:right")])
        .arg("--schemas")
        .arg(root.path())
        .assert()
        .code(0);
    support::mongrate()
        .args(["check", "--uri", &uri("reader:r")])
        .arg("--schemas")
        .arg(root.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("In sync"));
    // A step the user may not run is refused before it starts, naming the missing action...
    std::fs::write(
        root.path().join("botsmith/extra.yaml"),
        "fields:\n  a: { type: string }\n",
    )
    .unwrap();
    support::mongrate()
        .args(["apply", "--yes", "--uri", &uri("reader:r")])
        .arg("--schemas")
        .arg(root.path())
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("refusing to apply; nothing was changed").and(
                predicate::str::contains("needs createCollection on botsmith.extra"),
            ),
        );
    // ...and past preflight, a refused command names the step, the server's code and what was
    // not applied.
    support::mongrate()
        .args([
            "apply",
            "--yes",
            "--skip-preflight",
            "--uri",
            &uri("reader:r"),
        ])
        .arg("--schemas")
        .arg(root.path())
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("step 1 of 1 failed")
                .and(predicate::str::contains("create_collection botsmith.extra"))
                .and(predicate::str::contains("code 13")),
        );
}

#[test]
fn mongrate_yaml_supplies_the_uri_and_schemas_folder_and_flags_win() {
    let target = support::unique_db("config");
    let root = support::schemas_as("botsmith", &target);
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("mongrate.yaml"),
        format!(
            "uri: {}\nschemas: {}\n",
            support::server_uri(),
            root.path().display()
        ),
    )
    .unwrap();
    let mut cmd = support::mongrate();
    cmd.current_dir(project.path())
        .args(["apply", "--yes"])
        .assert()
        .code(0);
    let mut cmd = support::mongrate();
    cmd.current_dir(project.path())
        .arg("check")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("In sync"));
    // MONGODB_URI (and --uri) take precedence over the file.
    let mut cmd = support::mongrate();
    cmd.current_dir(project.path())
        .env(
            "MONGODB_URI",
            "mongodb://127.0.0.1:1/?directConnection=true",
        )
        .args(["check", "--server-timeout", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("127.0.0.1:1"));
    // Unknown keys are errors, with the position.
    std::fs::write(project.path().join("mongrate.yaml"), "urii: x\n").unwrap();
    let mut cmd = support::mongrate();
    cmd.current_dir(project.path())
        .arg("validate")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "mongrate.yaml:1:1: unknown key `urii`",
        ));
}

#[tokio::test]
async fn a_view_on_the_server_is_reported_as_a_view_and_left_alone() {
    let target = support::unique_db("views");
    let root = support::schemas_as("botsmith", &target);
    run(root.path(), &["apply", "--yes"]).code(0);
    let client = support::client().await;
    client
        .database(&target)
        .run_command(doc! { "create": "active_plans", "viewOn": "plans", "pipeline": [{ "$match": { "is_active": true } }] })
        .await
        .unwrap();
    run(root.path(), &["check"])
        .code(2)
        .stdout(predicate::str::contains(
            "view declared by no schema: left alone",
        ));
    run(root.path(), &["apply", "--yes"])
        .code(0)
        .stderr(predicate::str::contains("Nothing to apply"));
    client.database(&target).drop().await.ok();
}
