//! `pull` against a real mongod: collections made by hand with the driver (every option, index
//! kind and validator form) come back as spec files that say exactly what the server holds;
//! inferred fields accept every document; re-pulling never clobbers.

mod support;

use bson::{Bson, Document, doc};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::str::FromStr;

fn mongrate(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(assert_cmd::cargo::cargo_bin("mongrate"))
        .current_dir(dir)
        .env_remove("MONGODB_URI")
        .env("NO_COLOR", "1")
        .args(["--uri", &support::server_uri()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    out
}

fn code(dir: &Path, args: &[&str], want: i32) -> String {
    let out = mongrate(dir, args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(want),
        "{args:?}\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// One hand-made configuration: the `create` command's options and `createIndexes` entries.
struct Config {
    name: &'static str,
    create: Document,
    indexes: Vec<Document>,
}

fn c(name: &'static str, create: Document, indexes: Vec<Document>) -> Config {
    Config {
        name,
        create,
        indexes,
    }
}

fn js(schema: Document) -> Document {
    doc! { "validator": { "$jsonSchema": schema } }
}

fn configs() -> Vec<Config> {
    vec![
        c("plain", doc! {}, vec![]),
        c(
            "collation_fr",
            doc! { "collation": { "locale": "fr", "strength": 2 } },
            vec![],
        ),
        c(
            "collation_en_case",
            doc! { "collation": { "locale": "en", "caseLevel": true, "numericOrdering": true } },
            vec![],
        ),
        c("capped", doc! { "capped": true, "size": 100_000 }, vec![]),
        c(
            "capped_max",
            doc! { "capped": true, "size": 1_048_576, "max": 500 },
            vec![],
        ),
        c(
            "ts_seconds",
            doc! { "timeseries": { "timeField": "t" } },
            vec![],
        ),
        c(
            "ts_minutes_meta",
            doc! { "timeseries": { "timeField": "t", "metaField": "m", "granularity": "minutes" } },
            vec![doc! { "key": { "m.host": 1, "t": -1 }, "name": "m.host_1_t_-1" }],
        ),
        c(
            "ts_hours_ttl",
            doc! { "timeseries": { "timeField": "t", "granularity": "hours" }, "expireAfterSeconds": 86400 },
            vec![],
        ),
        c(
            "clustered",
            doc! { "clusteredIndex": { "key": { "_id": 1 }, "unique": true } },
            vec![],
        ),
        c(
            "clustered_ttl",
            doc! { "clusteredIndex": { "key": { "_id": 1 }, "unique": true }, "expireAfterSeconds": 3600 },
            vec![],
        ),
        c(
            "pre_post_images",
            doc! { "changeStreamPreAndPostImages": { "enabled": true } },
            vec![],
        ),
        c(
            "view_simple",
            doc! { "viewOn": "plain", "pipeline": [{ "$match": { "a": 1 } }] },
            vec![],
        ),
        c(
            "view_collation",
            doc! { "viewOn": "plain", "pipeline": [{ "$sort": { "b": -1, "a": 1 } }, { "$limit": 5 }], "collation": { "locale": "de" } },
            vec![],
        ),
        c(
            "view_on_view",
            doc! { "viewOn": "view_simple", "pipeline": [] },
            vec![],
        ),
        c(
            "index_asc",
            doc! {},
            vec![doc! { "key": { "a": 1 }, "name": "a_1" }],
        ),
        c(
            "index_compound",
            doc! {},
            vec![doc! { "key": { "a": 1, "b": -1, "c.d": 1 }, "name": "a_1_b_-1_c.d_1" }],
        ),
        c(
            "index_unique",
            doc! {},
            vec![doc! { "key": { "email": 1 }, "name": "email_1", "unique": true }],
        ),
        c(
            "index_sparse",
            doc! {},
            vec![doc! { "key": { "s": 1 }, "name": "s_1", "sparse": true }],
        ),
        c(
            "index_partial",
            doc! {},
            vec![
                doc! { "key": { "o": 1, "u": -1 }, "name": "o_1_u_-1", "partialFilterExpression": { "archived": false, "n": { "$gt": 5 } } },
            ],
        ),
        c(
            "index_hidden",
            doc! {},
            vec![doc! { "key": { "h": 1 }, "name": "h_1", "hidden": true }],
        ),
        c(
            "index_ttl",
            doc! {},
            vec![doc! { "key": { "at": 1 }, "name": "at_1", "expireAfterSeconds": 7_776_000 }],
        ),
        c(
            "index_named",
            doc! {},
            vec![doc! { "key": { "x": 1 }, "name": "by_x" }],
        ),
        c(
            "index_text",
            doc! {},
            vec![doc! { "key": { "body": "text" }, "name": "body_text" }],
        ),
        c(
            "index_text_weights",
            doc! {},
            vec![
                doc! { "key": { "title": "text", "body": "text" }, "name": "search", "weights": { "title": 10, "body": 2 } },
            ],
        ),
        c(
            "index_text_language",
            doc! {},
            vec![
                doc! { "key": { "t": "text" }, "name": "t_text", "default_language": "spanish", "language_override": "idioma" },
            ],
        ),
        c(
            "index_2dsphere",
            doc! {},
            vec![doc! { "key": { "loc": "2dsphere" }, "name": "loc_2dsphere" }],
        ),
        c(
            "index_2dsphere_v2",
            doc! {},
            vec![
                doc! { "key": { "loc": "2dsphere" }, "name": "loc_2dsphere", "2dsphereIndexVersion": 2 },
            ],
        ),
        c(
            "index_hashed",
            doc! {},
            vec![doc! { "key": { "k": "hashed" }, "name": "k_hashed" }],
        ),
        c(
            "index_wildcard",
            doc! {},
            vec![doc! { "key": { "$**": 1 }, "name": "$**_1" }],
        ),
        c(
            "index_wildcard_path",
            doc! {},
            vec![doc! { "key": { "attrs.$**": 1 }, "name": "attrs.$**_1" }],
        ),
        c(
            "index_wildcard_projection",
            doc! {},
            vec![
                doc! { "key": { "$**": 1 }, "name": "$**_1", "wildcardProjection": { "a": 1, "b.c": 1 } },
            ],
        ),
        c(
            "index_own_collation",
            doc! {},
            vec![
                doc! { "key": { "n": 1 }, "name": "n_1", "collation": { "locale": "sv", "strength": 1 } },
            ],
        ),
        c(
            "index_simple_on_collated",
            doc! { "collation": { "locale": "en" } },
            vec![
                doc! { "key": { "n": 1 }, "name": "n_1", "collation": { "locale": "simple" } },
                doc! { "key": { "m": 1 }, "name": "m_1" },
            ],
        ),
        c(
            "index_unique_partial",
            doc! {},
            vec![
                doc! { "key": { "u": 1 }, "name": "u_1", "unique": true, "partialFilterExpression": { "u": { "$exists": true } } },
            ],
        ),
        c(
            // Values YAML cannot write (a decimal, a date, an ObjectId), kept as Extended JSON.
            "index_partial_special_values",
            doc! { "validator": { "$or": [
                { "since": { "$gte": bson::DateTime::from_millis(1_700_000_000_000) } },
                { "owner": bson::oid::ObjectId::parse_str("507f1f77bcf86cd799439011").unwrap() },
                { "name": { "$regex": "^a", "$options": "i" } },
            ] } },
            vec![
                doc! { "key": { "amount": 1 }, "name": "amount_1", "partialFilterExpression": { "amount": { "$gt": bson::Decimal128::from_str("1.5").unwrap() } } },
                doc! { "key": { "big": 1 }, "name": "big_1", "partialFilterExpression": { "big": { "$lt": 9_000_000_000i64 } } },
            ],
        ),
        c(
            "index_2d",
            doc! {},
            vec![doc! { "key": { "p": "2d" }, "name": "p_2d" }],
        ),
        c(
            "validator_types",
            js(
                doc! { "bsonType": "object", "required": ["a"], "properties": {
                    "a": { "bsonType": "string" }, "b": { "bsonType": "int" }, "c": { "bsonType": "long" }, "d": { "bsonType": "double" },
                    "e": { "bsonType": "decimal" }, "f": { "bsonType": "bool" }, "g": { "bsonType": "date" }, "h": { "bsonType": "objectId" },
                    "i": { "bsonType": "timestamp" }, "j": { "bsonType": "binData" }, "k": { "bsonType": "number" }, "l": { "bsonType": ["string", "int"] },
                } },
            ),
            vec![],
        ),
        c(
            "validator_constraints",
            js(doc! { "bsonType": "object", "properties": {
                "s": { "bsonType": "string", "enum": ["x", "y"], "minLength": 1, "maxLength": 3 },
                "p": { "bsonType": "string", "pattern": "^[a-z]+$" },
                "n": { "bsonType": "int", "minimum": 0, "maximum": 10 },
                "arr": { "bsonType": "array", "minItems": 1, "maxItems": 3, "uniqueItems": true, "items": { "bsonType": "string" } },
            } }),
            vec![],
        ),
        c(
            "validator_nested",
            js(
                doc! { "bsonType": "object", "required": ["o"], "properties": {
                    "o": { "bsonType": "object", "required": ["x"], "properties": { "x": { "bsonType": "int" }, "y": { "bsonType": "object", "properties": { "z": { "bsonType": "bool" } } } } },
                    "list": { "bsonType": "array", "items": { "bsonType": "object", "required": ["k"], "properties": { "k": { "bsonType": "string" } } } },
                } },
            ),
            vec![],
        ),
        c(
            "validator_deny",
            js(
                doc! { "bsonType": "object", "additionalProperties": false, "properties": { "_id": {}, "a": { "bsonType": "string" } } },
            ),
            vec![],
        ),
        c(
            "validator_nullable",
            js(
                doc! { "bsonType": "object", "properties": { "a": { "bsonType": ["string", "null"], "enum": ["x", Bson::Null] } } },
            ),
            vec![],
        ),
        c(
            "validator_description",
            js(
                doc! { "bsonType": "object", "description": "people", "properties": { "a": { "bsonType": "string", "description": "a name" } } },
            ),
            vec![],
        ),
        c(
            "validator_map",
            js(
                doc! { "bsonType": "object", "properties": { "m": { "bsonType": "object", "additionalProperties": { "bsonType": "int" } } } },
            ),
            vec![],
        ),
        c(
            "validator_warn_moderate",
            {
                let mut d = js(
                    doc! { "bsonType": "object", "required": ["a"] , "properties": { "a": { "bsonType": "string" } } },
                );
                d.insert("validationLevel", "moderate");
                d.insert("validationAction", "warn");
                d
            },
            vec![],
        ),
        c(
            "validator_anyof",
            js(
                doc! { "bsonType": "object", "anyOf": [{ "required": ["a"] }, { "required": ["b"] }] },
            ),
            vec![],
        ),
        c(
            "validator_oneof_not",
            js(
                doc! { "bsonType": "object", "properties": { "a": { "oneOf": [{ "bsonType": "int" }, { "bsonType": "string" }] }, "b": { "not": { "bsonType": "null" } } } },
            ),
            vec![],
        ),
        c(
            "validator_pattern_properties",
            js(
                doc! { "bsonType": "object", "patternProperties": { "^x_": { "bsonType": "string" } } },
            ),
            vec![],
        ),
        c(
            "validator_dependencies",
            js(doc! { "bsonType": "object", "dependencies": { "card": ["billing"] } }),
            vec![],
        ),
        c(
            "validator_min_properties",
            js(doc! { "bsonType": "object", "minProperties": 2 }),
            vec![],
        ),
        c(
            "validator_query_or",
            doc! { "validator": { "$or": [{ "kind": "a", "x": { "$exists": true } }, { "kind": "b" }] } },
            vec![],
        ),
        c(
            "validator_expr",
            doc! { "validator": { "$expr": { "$gt": ["$end", "$start"] } } },
            vec![],
        ),
        // MongoDB's documentation: `title` beside `description`, at the root and on fields.
        c(
            "validator_title",
            js(
                doc! { "bsonType": "object", "title": "Student Object Validation", "required": ["name"], "properties": { "name": { "bsonType": "string", "title": "Name", "description": "must be a string and is required" } } },
            ),
            vec![],
        ),
        // A DBRef: `$ref`, `$id` and `$db` are field names MongoDB accepts.
        c(
            "validator_dbref",
            js(
                doc! { "bsonType": "object", "properties": { "owner": { "bsonType": "object", "required": ["$ref", "$id"], "properties": { "$ref": { "bsonType": "string" }, "$id": { "bsonType": "objectId" }, "$db": { "bsonType": "string" } } } } },
            ),
            vec![],
        ),
    ]
}

#[tokio::test]
async fn every_configuration_made_by_hand_comes_back_exactly() {
    let client = support::client().await;
    let db_name = support::unique_db("pull_rt");
    let db = client.database(&db_name);
    let configs = configs();
    assert!(configs.len() >= 40, "{} configurations", configs.len());
    for cfg in &configs {
        let mut create = doc! { "create": cfg.name };
        create.extend(cfg.create.clone());
        db.run_command(create)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", cfg.name));
        if !cfg.indexes.is_empty() {
            db.run_command(doc! { "createIndexes": cfg.name, "indexes": cfg.indexes.clone() })
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", cfg.name));
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = code(tmp.path(), &["pull", &db_name, "--format", "json"], 0);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["written"], configs.len(), "{report:#}");
    let notes: Vec<&serde_json::Value> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["notes"].to_string().contains("not said exactly"))
        .collect();
    assert!(notes.is_empty(), "{notes:#?}");
    code(tmp.path(), &["validate"], 0);
    let check = code(tmp.path(), &["check"], 0);
    assert!(check.contains("In sync"), "{check}");
    code(tmp.path(), &["plan", "--exit-code"], 0);
    // Raw validators stay raw; a $jsonSchema fields can say becomes fields.
    let text = |name: &str| {
        std::fs::read_to_string(tmp.path().join(format!("schemas/{db_name}/{name}.yaml"))).unwrap()
    };
    assert!(text("validator_query_or").contains("validator:\n  $or:"));
    assert!(text("validator_anyof").contains("validator:"));
    // `title` and DBRef fields are said as fields, not kept raw.
    assert!(
        !text("validator_title").contains("validator:")
            && text("validator_title").contains("title: Student Object Validation")
            && text("validator_title").contains("title: Name"),
        "{}",
        text("validator_title")
    );
    assert!(
        !text("validator_dbref").contains("validator:") && text("validator_dbref").contains("$id"),
        "{}",
        text("validator_dbref")
    );
    assert!(!text("validator_nested").contains("validator:"));
    assert!(text("validator_nested").contains("fields:"));
    assert!(
        text("validator_map").contains("values: { type: int }"),
        "{}",
        text("validator_map")
    );
    assert!(text("index_2d").contains("ignore_indexes:"));
    assert!(text("view_on_view").contains("view:\n  on: view_simple"));
    // Pulling again writes nothing.
    let out = code(tmp.path(), &["pull", &db_name, "--format", "json"], 0);
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["unchanged"], configs.len(), "{again:#}");
    db.drop().await.ok();
}

/// Documents with mixed types, nulls, missing fields, nested objects, arrays of objects and maps
/// with dynamic keys.
fn generated(n: usize) -> Vec<Document> {
    (0..n)
        .map(|i| {
            let mut d = doc! { "n": i as i32, "name": format!("user {i}") };
            // Mixed: mostly int, sometimes a string or null; missing in 1 of 7.
            match i % 7 {
                0 => {}
                1 => {
                    d.insert("score", "high");
                }
                2 => {
                    d.insert("score", Bson::Null);
                }
                _ => {
                    d.insert("score", (i % 100) as i32);
                }
            }
            d.insert("plan", ["free", "pro", "team"][i % 3]);
            d.insert("created", bson::DateTime::from_millis(1_700_000_000_000 + i as i64));
            if i % 2 == 0 {
                d.insert("profile", doc! { "city": format!("c{}", i % 13), "age": (i % 90) as i64 });
            } else {
                d.insert("profile", doc! { "city": format!("c{}", i % 13) });
            }
            let items: Vec<Bson> = (0..(i % 4))
                .map(|k| Bson::Document(doc! { "sku": format!("s{k}"), "qty": (k + 1) as i32, "price": 1.5 * k as f64 }))
                .collect();
            d.insert("items", items);
            let mut members = Document::new();
            for k in 0..(i % 3 + 1) {
                members.insert(
                    format!("{:024x}", (i * 7 + k) % 5000),
                    doc! { "role": if k == 0 { "owner" } else { "member" }, "joined": bson::DateTime::now() },
                );
            }
            d.insert("members", members);
            if i % 10 == 0 {
                d.insert("tags", vec!["a", "b"]);
            } else if i % 10 == 1 {
                d.insert("tags", Vec::<String>::new());
            }
            d
        })
        .collect()
}

/// `field: 98.2% of ...` → 98.2, from the comments of a pulled file.
fn percentages(text: &str) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    for line in text.lines() {
        let Some((left, comment)) = line.split_once("  # ") else {
            continue;
        };
        let name = left.trim().split(':').next().unwrap().to_string();
        let pct: f64 = comment.split('%').next().unwrap().parse().unwrap();
        out.entry(format!("{}{name}", left.len() - left.trim_start().len()))
            .or_insert(pct);
    }
    out
}

#[tokio::test]
async fn inferred_fields_accept_every_document_and_a_sample_agrees_with_a_full_scan() {
    let client = support::client().await;
    let db_name = support::unique_db("pull_infer");
    let coll = client.database(&db_name).collection::<Document>("people");
    coll.insert_many(generated(30_000)).await.unwrap();
    let full = tempfile::tempdir().unwrap();
    code(
        full.path(),
        &["pull", &db_name, "--full-scan", "--with-validators"],
        0,
    );
    let text = std::fs::read_to_string(full.path().join(format!("schemas/{db_name}/people.yaml")))
        .unwrap();
    assert!(
        text.contains("score: { type: [string, int], nullable: true }"),
        "{text}"
    );
    assert!(
        text.contains("members:") && text.contains("values:"),
        "a map, not 5000 fields: {text}"
    );
    assert!(text.lines().count() < 60, "{text}");
    // A 1,000-document sample reports percentages within a few points of the full scan.
    let sampled = tempfile::tempdir().unwrap();
    code(sampled.path(), &["pull", &db_name, "--sample", "1000"], 0);
    let sample_text = std::fs::read_to_string(
        sampled
            .path()
            .join(format!("schemas/{db_name}/people.yaml")),
    )
    .unwrap();
    let (a, b) = (percentages(&text), percentages(&sample_text));
    assert!(a.len() >= 8, "{a:?}");
    for (field, pct) in &a {
        let s = b
            .get(field)
            .unwrap_or_else(|| panic!("{field} missing from the sampled file:\n{sample_text}"));
        assert!(
            (pct - s).abs() <= 5.0,
            "{field}: full scan {pct}%, sample {s}%"
        );
    }
    // The new validator finds nothing to refuse, apply goes through, and the data passes.
    let plan: serde_json::Value =
        serde_json::from_str(&code(full.path(), &["plan", "--format", "json"], 0)).unwrap();
    let step = &plan["steps"][0];
    assert_eq!(step["operation"]["type"], "set_validator", "{plan:#}");
    assert_eq!(step["check"]["count"], 0, "{plan:#}");
    code(full.path(), &["apply", "--yes"], 0);
    code(full.path(), &["check", "--data"], 0);
    client.database(&db_name).drop().await.ok();
}

#[tokio::test]
async fn the_promptforge_live_database_pulls_back_to_its_schemas() {
    let target = support::unique_db("pf_live");
    let tmp = tempfile::tempdir().unwrap();
    let live = support::repo().join("fixtures/promptforge_live");
    support::copy_tree(
        &live.join("schemas/promptforge"),
        &tmp.path().join("live").join(&target),
    );
    support::copy_tree(
        &live.join("data/promptforge"),
        &tmp.path().join("data").join(&target),
    );
    code(tmp.path(), &["--schemas", "live", "apply", "--yes"], 0);
    code(tmp.path(), &["seed", "data"], 0);
    let pulled = tmp.path().join("pulled");
    code(
        tmp.path(),
        &[
            "--schemas",
            "pulled",
            "pull",
            &target,
            "--full-scan",
            "--with-validators",
        ],
        0,
    );
    // Indexes identical, collection by collection: the live schemas and the pulled ones plan no
    // index change between them.
    let out = mongrate(tmp.path(), &["diff", "live", "pulled", "--format", "json"]);
    let diff: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let index_steps: Vec<&serde_json::Value> = diff["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["operation"]["type"].as_str().unwrap().contains("index"))
        .collect();
    assert!(index_steps.is_empty(), "{index_steps:#?}");
    assert!(
        diff["notices"].as_array().unwrap().is_empty(),
        "same collections, same options: {diff:#}"
    );
    // The fields match the documents: every document passes the pulled validators.
    code(tmp.path(), &["--schemas", "pulled", "apply", "--yes"], 0);
    code(tmp.path(), &["--schemas", "pulled", "check", "--data"], 0);
    assert!(pulled.join(&target).join("prompts.yaml").exists());
    support::client().await.database(&target).drop().await.ok();
}

#[tokio::test]
async fn pulling_again_never_clobbers_and_merge_keeps_hand_written_parts() {
    let client = support::client().await;
    let db_name = support::unique_db("pull_again");
    client
        .database(&db_name)
        .collection::<Document>("items")
        .insert_many(vec![
            doc! { "sku": "a", "qty": 1 },
            doc! { "sku": "b", "qty": 2 },
        ])
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    code(tmp.path(), &["pull", &db_name], 0);
    let path = tmp.path().join(format!("schemas/{db_name}/items.yaml"));
    let first = std::fs::read_to_string(&path).unwrap();
    // Unchanged server: nothing written (byte for byte).
    let out = code(tmp.path(), &["pull", &db_name], 0);
    assert!(out.contains("unchanged"), "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
    // A hand edit: shown as a diff, left alone.
    let edited = first.replace(
        "  qty: { type: int, required: true }",
        "  qty: { type: int, required: true, minimum: 0, description: units in stock }",
    );
    assert_ne!(edited, first, "{first}");
    std::fs::write(&path, &edited).unwrap();
    let out = code(tmp.path(), &["pull", &db_name], 0);
    assert!(
        out.contains("differs") && out.contains("-  qty: { type: int, required: true, minimum: 0"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    // --merge keeps the description and the constraint, and adds what is new.
    client
        .database(&db_name)
        .collection::<Document>("items")
        .insert_one(doc! { "sku": "c", "qty": 3, "color": "red" })
        .await
        .unwrap();
    code(tmp.path(), &["pull", &db_name, "--merge"], 0);
    let merged = std::fs::read_to_string(&path).unwrap();
    assert!(
        merged.contains("minimum: 0") && merged.contains("description: units in stock"),
        "{merged}"
    );
    assert!(merged.contains("color: { type: string }"), "{merged}");
    // The order a person gave the fields is kept; a new field comes after them.
    let pos = |text: &str, f: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(&format!("{f}:")))
            .unwrap_or_else(|| panic!("{f}: {text}"))
    };
    let (qty, sku) = (pos(&merged, "qty"), pos(&merged, "sku"));
    let lines: Vec<&str> = merged.lines().collect();
    let mut reordered = lines.clone();
    reordered.swap(qty, sku);
    std::fs::write(&path, reordered.join("\n") + "\n").unwrap();
    client
        .database(&db_name)
        .collection::<Document>("items")
        .insert_one(doc! { "sku": "d", "qty": 4, "color": "blue", "aisle": 7 })
        .await
        .unwrap();
    code(tmp.path(), &["pull", &db_name, "--merge"], 0);
    let again = std::fs::read_to_string(&path).unwrap();
    assert!(pos(&again, "sku") < pos(&again, "qty"), "{again}");
    assert!(
        pos(&again, "qty") < pos(&again, "aisle"),
        "new fields come last: {again}"
    );
    // --force writes what the server says.
    code(tmp.path(), &["pull", &db_name, "--force"], 0);
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("units in stock")
    );
    client.database(&db_name).drop().await.ok();
}
