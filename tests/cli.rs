//! The `mongrate` binary as a user runs it: exit codes, messages, and the real server.

mod support;

use bson::{Document, doc};
use predicates::prelude::*;

#[test]
fn validate_accepts_the_repository_schemas() {
    support::mongrate()
        .args(["validate", "--schemas", "schemas"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ok: 5 databases, 48 collections"));
}

#[test]
fn validate_lists_every_error_of_a_broken_copy_with_positions() {
    let tmp = tempfile::tempdir().unwrap();
    support::copy_tree(&support::repo().join("schemas"), tmp.path());
    let contacts = tmp.path().join("workflowai/contacts.yaml");
    let text = std::fs::read_to_string(&contacts).unwrap();
    std::fs::write(
        &contacts,
        text.replace(
            "    unique: true\n    collation",
            "    uniqe: true\n    collation",
        ),
    )
    .unwrap();
    let usage = tmp.path().join("workflowai/usagelogs.yaml");
    let text = std::fs::read_to_string(&usage).unwrap();
    std::fs::write(
        &usage,
        text.replace(
            "status: { type: number, required: true",
            "status: { type: numbr, required: true",
        ),
    )
    .unwrap();
    std::fs::write(tmp.path().join("botsmith/broken.yaml"), "fields: [\n").unwrap();

    let out = support::mongrate()
        .arg("validate")
        .arg("--schemas")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let root = tmp.path().display().to_string();
    assert!(
        stderr.contains(&format!(
            "{root}/workflowai/contacts.yaml:18:5: error: indexes[0]: unknown key `uniqe`"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{root}/workflowai/usagelogs.yaml:8:19: error: unknown type `numbr`"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{root}/botsmith/broken.yaml:2:1: error: this is not valid YAML"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("3 errors"), "{stderr}");

    // JSON output for scripts.
    let out = support::mongrate()
        .arg("validate")
        .arg("--schemas")
        .arg(tmp.path())
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["diagnostics"].as_array().unwrap().len(), 3);
}

#[test]
fn validate_on_a_missing_folder_says_what_to_do() {
    support::mongrate()
        .args(["validate", "--schemas", "no/such/dir"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "schemas folder `no/such/dir` does not exist (pass --schemas DIR)",
        ));
}

#[tokio::test]
async fn printed_validator_is_accepted_by_a_real_mongod_and_enforced() {
    let out = support::mongrate()
        .args(["validator", "workflowai.contacts"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("validator output is JSON");
    let bson::Bson::Document(validator) = bson::Bson::try_from(json).unwrap() else {
        panic!("not a document")
    };
    assert!(validator.get_document("$jsonSchema").is_ok());

    let client = support::client().await;
    let db = client.database(&support::unique_db("validator_cli"));
    db.run_command(doc! { "create": "contacts", "validator": validator.clone() })
        .await
        .expect("mongod accepts the validator");
    let stored = support::collection_options(&client, db.name(), "contacts")
        .await
        .get_document("validator")
        .unwrap()
        .clone();
    assert_eq!(
        stored, validator,
        "the server stores exactly what mongrate generated"
    );

    let coll = db.collection::<Document>("contacts");
    let now = bson::DateTime::now();
    coll.insert_one(doc! { "name": "Ann", "email": "ann@example.com", "message": "hi", "createdAt": now, "updatedAt": now })
        .await
        .expect("a valid contact is accepted");
    let err = coll
        .insert_one(doc! { "name": "Bob", "email": "not-an-email", "message": "hi", "createdAt": now, "updatedAt": now })
        .await
        .expect_err("an invalid email is refused");
    assert!(
        err.to_string().contains("121") || err.to_string().contains("Document failed validation"),
        "{err}"
    );
    db.drop().await.ok();

    // JSON for machines: relaxed Extended JSON, which a server takes as it is.
    let out = support::mongrate()
        .args(["validator", "workflowai.usagelogs", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["format_version"], 2);
    assert_eq!(json["collection"], "usagelogs");
    let validator = &json["validator"];
    assert!(!validator.to_string().contains("$numberInt"), "{validator}");
    let bson::Bson::Document(validator) = bson::Bson::try_from(validator.clone()).unwrap() else {
        panic!("not a document")
    };
    let db = client.database(&support::unique_db("validator_json"));
    db.run_command(doc! { "create": "usagelogs", "validator": validator })
        .await
        .expect("mongod accepts the JSON output as it is");
    db.drop().await.ok();
}

#[test]
fn validator_for_an_unknown_collection_lists_the_known_ones() {
    support::mongrate()
        .args(["validator", "workflowai.nope"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("no collection `workflowai.nope`")
                .and(predicate::str::contains("workflowai.contacts")),
        );
    support::mongrate()
        .args(["validator", "contacts"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("expected <database>.<collection>"));
}

#[tokio::test]
async fn seed_loads_fixture_files_into_the_server() {
    let db_name = support::unique_db("seed_cli");
    let tmp = tempfile::tempdir().unwrap();
    support::copy_tree(
        &support::repo().join("fixtures/valid/workflowai"),
        &tmp.path().join(&db_name),
    );
    for _ in 0..2 {
        // Twice with --drop: the second run replaces, it does not duplicate.
        support::mongrate()
            .args(["seed", "--drop", "--uri", &support::server_uri()])
            .arg(tmp.path())
            .assert()
            .code(0)
            .stdout(predicate::str::contains(
                "seeded 40 documents into 10 collections",
            ));
    }
    let client = support::client().await;
    let n = client
        .database(&db_name)
        .collection::<Document>("contacts")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(n, 4);
    // Without --drop a second load collides on _id and says what to do.
    support::mongrate()
        .args(["seed", "--uri", &support::server_uri()])
        .arg(tmp.path())
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("duplicate key").and(predicate::str::contains("use --drop")),
        );
    client.database(&db_name).drop().await.ok();
}

#[test]
fn an_unreachable_server_is_one_clear_line_without_the_password() {
    let tmp = tempfile::tempdir().unwrap();
    support::copy_tree(
        &support::repo().join("fixtures/valid/botsmith"),
        &tmp.path().join("x"),
    );
    let out = support::mongrate()
        .args([
            "seed",
            "--server-timeout",
            "1",
            "--uri",
            "mongodb://admin:hunter2@127.0.0.1:1/?directConnection=true",
        ])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot reach MongoDB at mongodb://admin:****@127.0.0.1:1/"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        "validate",
        "validator",
        "seed",
        "plan",
        "apply",
        "check",
        "diff",
        "backfill",
        "migrate",
        "pull",
        "init",
        "schema-json",
        "completions",
        "man",
    ] {
        support::mongrate()
            .args([cmd, "--help"])
            .assert()
            .code(0)
            .stdout(predicate::str::contains("Example: mongrate"));
    }
    for sub in [
        "generate", "new", "up", "down", "status", "verify", "unlock",
    ] {
        support::mongrate()
            .args(["migrate", sub, "--help"])
            .assert()
            .code(0)
            .stdout(predicate::str::contains("Example: mongrate migrate"));
    }
    // A usage error is an error (1), never the "differences" code (2).
    support::mongrate()
        .arg("--frobnicate")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unexpected argument"));
}

#[test]
fn each_help_shows_its_own_options_first_and_only_the_settings_that_apply() {
    let help = |args: &[&str]| {
        let out = support::mongrate()
            .args(args)
            .arg("--help")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let init = help(&["init"]);
    assert!(init.lines().count() < 45, "{init}");
    for absent in [
        "--parallel",
        "--databases",
        "--state-db",
        "--retry-for",
        "--schemas",
    ] {
        assert!(
            !init.contains(absent),
            "init --help shows {absent}:\n{init}"
        );
    }
    let validate = help(&["validate"]);
    assert!(
        !validate.contains("--uri") && validate.contains("--schemas"),
        "{validate}"
    );
    // apply: its own options, then the server, project, fleet and global headings, in order.
    let apply = help(&["apply"]);
    let at = |h: &str| apply.find(h).unwrap_or_else(|| panic!("{h}: {apply}"));
    assert!(at("--allow-violations") < at("Server options:"));
    assert!(at("Server options:") < at("Project options:"));
    assert!(at("Project options:") < at("Fleet options:"));
    assert!(at("Fleet options:") < at("Global options:"));
    assert!(apply.contains("--commit-quorum") && apply.contains("--canary"));
    // plan narrows to databases but runs no fleet: --databases, no --parallel.
    let plan = help(&["plan"]);
    assert!(
        plan.contains("--databases") && !plan.contains("--parallel"),
        "{plan}"
    );
    let unlock = help(&["migrate", "unlock"]);
    assert!(
        unlock.contains("--state-db") && !unlock.contains("--migrations"),
        "{unlock}"
    );
}

#[test]
fn a_setting_before_the_command_reaches_it_and_one_it_does_not_take_is_refused_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("s/app")).unwrap();
    std::fs::write(tmp.path().join("s/app/t.yaml"), "fields: {}\n").unwrap();
    let s = tmp.path().join("s");
    let out = support::mongrate()
        .args([
            "--schemas",
            s.to_str().unwrap(),
            "--parallel",
            "3",
            "validate",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = support::mongrate()
        .args(["validate", "--parallel", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected argument '--parallel'"));
}

#[test]
fn validate_given_files_checks_and_reports_only_those() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |p: &str, t: &str| {
        let p = tmp.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    };
    write("schemas/app/good.yaml", "collection: good\n");
    write("schemas/app/bad.yaml", "fields:\n  x: { type: strng }\n");
    write(
        "migrations/20250101000000_x.yaml",
        "up:\n  - drop_index: { db: 5, collection: c, name: x }\ndown: []\n",
    );
    let run = |files: &[&str]| {
        support::mongrate()
            .current_dir(tmp.path())
            .arg("validate")
            .args(files)
            .output()
            .unwrap()
    };
    // The good file alone passes, though its folder holds a bad one.
    let out = run(&["schemas/app/good.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = run(&["schemas/app/bad.yaml", "migrations/20250101000000_x.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "schemas/app/bad.yaml:2:14: error: unknown type `strng`; did you mean `string`?"
        ),
        "{err}"
    );
    assert!(
        err.contains("migrations/20250101000000_x.yaml:2:23: error: up[0].db: expected text"),
        "{err}"
    );
    assert!(!err.contains("good.yaml"), "{err}");
}

/// What a published crate needs, and a package holding only what a user needs.
#[test]
fn the_crate_is_installable_like_a_rust_tool() {
    let cargo = env!("CARGO");
    let meta = std::process::Command::new(cargo)
        .current_dir(support::repo())
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .output()
        .unwrap();
    assert!(meta.status.success(), "{meta:?}");
    let v: serde_json::Value = serde_json::from_slice(&meta.stdout).unwrap();
    let pkg = &v["packages"][0];
    for key in [
        "description",
        "license",
        "repository",
        "rust_version",
        "readme",
    ] {
        assert!(pkg[key].is_string(), "Cargo.toml lacks {key}");
    }
    assert_eq!(pkg["license"], "MIT OR Apache-2.0");
    assert!(!pkg["keywords"].as_array().unwrap().is_empty());
    assert!(!pkg["categories"].as_array().unwrap().is_empty());
    let list = std::process::Command::new(cargo)
        .current_dir(support::repo())
        .args([
            "package",
            "--list",
            "--locked",
            "--allow-dirty",
            "--offline",
        ])
        .output()
        .unwrap();
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let files = String::from_utf8_lossy(&list.stdout);
    for needed in [
        "src/main.rs",
        "Cargo.lock",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ] {
        assert!(
            files.lines().any(|l| l == needed),
            "{needed} not packaged:\n{files}"
        );
    }
    for left_out in [
        "tests/",
        "fixtures/",
        "scripts/",
        "fuzz/",
        "schemas/",
        "benches/",
        ".ci/",
    ] {
        assert!(
            !files.lines().any(|l| l.starts_with(left_out)),
            "{left_out} packaged:\n{files}"
        );
    }
}
