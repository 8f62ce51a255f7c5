//! Against a real mongod: every seed collection, created with its generated validator and
//! indexes, accepts each valid fixture and rejects each invalid one with code 121.

mod support;

use bson::{Document, doc};
use mongrate::{extjson, spec};
use std::collections::BTreeMap;

fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Create every collection of `db_spec` in database `target` with validator and indexes.
async fn create_all(client: &mongodb::Client, target: &str, model: &mongrate::model::Database) {
    let db = client.database(target);
    for coll in model.collections.values() {
        db.run_command(coll.to_create_command())
            .await
            .unwrap_or_else(|e| panic!("create {target}.{}: {e}", coll.name));
        if !coll.indexes.is_empty() {
            let specs: Vec<Document> = coll.indexes.iter().map(|i| i.to_create_spec()).collect();
            db.run_command(doc! { "createIndexes": &coll.name, "indexes": specs })
                .await
                .unwrap_or_else(|e| panic!("createIndexes {target}.{}: {e}", coll.name));
        }
    }
}

fn write_error_code(e: &mongodb::error::Error) -> Option<i32> {
    use mongodb::error::{ErrorKind, WriteFailure};
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => Some(w.code),
        _ => None,
    }
}

#[tokio::test]
async fn every_seed_collection_accepts_valid_and_rejects_invalid_fixtures() {
    let loaded = spec::load_dir(&support::repo().join("schemas")).expect("schemas load");
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let model = spec::to_model(&loaded.spec);
    let client = support::client().await;
    let mut checked_valid = 0;
    let mut checked_invalid = 0;
    let mut failures = Vec::new();
    for (db_name, db_model) in &model.databases {
        let target = support::unique_db(db_name);
        create_all(&client, &target, db_model).await;
        for coll in db_model.collections.keys() {
            let c = client.database(&target).collection::<Document>(coll);
            let valid_path = support::repo().join(format!("fixtures/valid/{db_name}/{coll}.json"));
            let invalid_path =
                support::repo().join(format!("fixtures/invalid/{db_name}/{coll}.json"));
            assert!(valid_path.exists(), "missing {}", valid_path.display());
            assert!(invalid_path.exists(), "missing {}", invalid_path.display());
            let valid = extjson::parse_documents(&std::fs::read_to_string(&valid_path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", valid_path.display()));
            assert!(
                !valid.is_empty(),
                "{} has no documents",
                valid_path.display()
            );
            for (i, d) in valid.into_iter().enumerate() {
                if let Err(e) = c.insert_one(d).await {
                    failures.push(format!("{db_name}.{coll} valid #{i} refused: {e}"));
                }
                checked_valid += 1;
            }
            let serde_json::Value::Array(cases) = read_json(&invalid_path) else {
                panic!("{} is not an array", invalid_path.display());
            };
            assert!(!cases.is_empty(), "{} has no cases", invalid_path.display());
            for case in cases {
                let breaks = case["breaks"]
                    .as_str()
                    .expect("breaks is a string")
                    .to_string();
                let bson::Bson::Document(d) = extjson::to_bson(case["document"].clone()).unwrap()
                else {
                    panic!("{db_name}.{coll}: `{breaks}` document is not an object");
                };
                match c.insert_one(d).await {
                    Ok(_) => failures.push(format!(
                        "{db_name}.{coll}: document breaking `{breaks}` was accepted"
                    )),
                    Err(e) if write_error_code(&e) == Some(121) => {}
                    Err(e) => failures.push(format!(
                        "{db_name}.{coll}: `{breaks}` failed with another error: {e}"
                    )),
                }
                checked_invalid += 1;
            }
        }
        client.database(&target).drop().await.ok();
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        checked_valid >= 48 * 3 && checked_invalid >= 48 * 2,
        "{checked_valid} {checked_invalid}"
    );
}

#[tokio::test]
async fn promptforge_live_state_loads_with_its_indexes() {
    let root = support::repo().join("fixtures/promptforge_live");
    let loaded = spec::load_dir(&root.join("schemas")).expect("live schemas load");
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let model = spec::to_model(&loaded.spec);
    let live = &model.databases["promptforge"];
    assert_eq!(live.collections.len(), 23);
    assert!(
        live.collections.values().all(|c| c.validator.is_none()),
        "the live state has no validators"
    );

    let client = support::client().await;
    let target = support::unique_db("pf_live");
    create_all(&client, &target, live).await;
    let data = mongrate::db::seed::read_seed_dir(&root.join("data")).expect("live data reads");
    let mut counts = BTreeMap::new();
    for file in &data {
        let c = client
            .database(&target)
            .collection::<Document>(&file.collection);
        c.insert_many(file.documents.clone())
            .await
            .expect("live data inserts");
        counts.insert(
            file.collection.clone(),
            c.count_documents(doc! {}).await.unwrap(),
        );
    }
    assert_eq!(counts.values().sum::<u64>(), 161, "{counts:?}");
    assert_eq!(counts["auth_logs"], 95);
    assert_eq!(counts["usage"], 16);
    assert_eq!(counts["ideas"], 15);
    // Values the canonical design no longer allows are present, for the migration to fix.
    let prompts = client.database(&target).collection::<Document>("prompts");
    assert!(
        prompts
            .count_documents(doc! { "visibility": "team" })
            .await
            .unwrap()
            > 0
    );
    let notes = client
        .database(&target)
        .collection::<Document>("notifications");
    assert!(
        notes
            .count_documents(doc! { "priority": "medium" })
            .await
            .unwrap()
            > 0
    );
    // Index names as seed 000 lists them.
    let names: Vec<String> = client
        .database(&target)
        .collection::<Document>("users")
        .list_index_names()
        .await
        .unwrap();
    for n in [
        "user_id_1",
        "email_1",
        "account_status_1",
        "subscription.tier_1",
        "last_active_at_-1",
        "created_at_-1",
    ] {
        assert!(names.contains(&n.to_string()), "users lacks {n}: {names:?}");
    }
    client.database(&target).drop().await.ok();
}
