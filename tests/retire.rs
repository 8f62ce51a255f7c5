//! Two-phase index retirement (`retire_after`): an index the schemas stop declaring is first
//! hidden by `apply --prune`, then dropped by `apply --prune --allow-destructive` only once it
//! has stayed hidden that long; declaring it again while hidden unhides it in place. The phase
//! decision is pure (tested on models); the whole cycle runs against a real mongod, with the
//! passage of time simulated through the recorded `hidden_at`.

mod support;

use bson::{Document, doc};
use futures_util::TryStreamExt;
use mongrate::ops::Operation;
use mongrate::plan::{PlanOptions, Retire, RetirePhase};
use serde_json::Value;
use std::collections::BTreeMap;

const DAY: i64 = 86_400;

fn spec(indexes: &str) -> String {
    format!(
        "collection: c\nretire_after: 7d\nfields:\n  a: {{ type: int }}\n  b: {{ type: int }}\nindexes:\n{indexes}"
    )
}

const BOTH: &str = "  - keys: { a: 1 }\n  - keys: { b: 1 }\n";
const ONLY_A: &str = "  - keys: { a: 1 }\n";

// ---- the pure decision ---------------------------------------------------------------------

fn model(yaml: &str) -> mongrate::model::Schema {
    let root = support::one_collection_schemas("app", "c", yaml);
    let loaded = mongrate::spec::load_dir(root.path()).unwrap_or_else(|e| panic!("{e:?}"));
    let mut m = mongrate::spec::to_model(&loaded.spec);
    mongrate::normalize::schema(&mut m, mongrate::normalize::Side::Spec);
    m
}

/// The server as `BOTH` declares it, with `b_1` hidden or not.
fn server(b_hidden: bool) -> mongrate::model::Schema {
    let mut m = model(&spec(BOTH));
    let c = m
        .databases
        .get_mut("app")
        .unwrap()
        .collections
        .get_mut("c")
        .unwrap();
    c.retire_after = None;
    c.indexes[1].hidden = b_hidden;
    m
}

fn plan_with(
    current: &mongrate::model::Schema,
    desired: &mongrate::model::Schema,
    prune: bool,
    hidden_at: Option<i64>,
    now: i64,
) -> mongrate::plan::Plan {
    let mut records = BTreeMap::new();
    if let Some(t) = hidden_at {
        records.insert(("app".into(), "c".into(), "b_1".into()), t);
    }
    mongrate::plan::plan(
        &mongrate::diff::diff(current, desired),
        &PlanOptions {
            prune,
            allow_destructive: true,
            retire: Retire {
                enabled: true,
                now,
                hidden_at: records,
            },
        },
    )
}

#[test]
fn a_visible_undeclared_index_is_hidden_first_never_dropped_at_once() {
    let want = model(&spec(ONLY_A));
    let p = plan_with(&server(false), &want, true, None, 1_000 * DAY);
    assert_eq!(p.retiring.len(), 1);
    assert_eq!(p.retiring[0].phase, RetirePhase::Visible);
    assert_eq!(p.steps.len(), 1, "{:#?}", p.steps);
    let s = &p.steps[0];
    assert!(!s.destructive);
    assert_eq!(s.retire, Some(RetirePhase::Visible));
    assert!(matches!(
        &s.op,
        Operation::ModifyIndex { name, hidden: Some(true), .. } if name == "b_1"
    ));
    assert!(matches!(
        s.reverse.as_slice(),
        [Operation::ModifyIndex {
            hidden: Some(false),
            ..
        }]
    ));
    // Without --prune: a notice that says what --prune will do, and no step.
    let p = plan_with(&server(false), &want, false, None, 1_000 * DAY);
    assert!(p.steps.is_empty());
    assert!(
        p.notices[0].message.contains("retires it"),
        "{:?}",
        p.notices
    );
    // A record of an index that is visible again (unhidden by hand) is not trusted.
    let p = plan_with(&server(false), &want, true, Some(0), 1_000 * DAY);
    assert_eq!(p.retiring[0].phase, RetirePhase::Visible);
    assert_eq!(p.forget.len(), 1);
}

#[test]
fn a_hidden_index_waits_out_retire_after_then_is_dropped_with_allow_destructive() {
    let want = model(&spec(ONLY_A));
    let hidden_at = 1_000 * DAY;
    // Six days later: waiting, neither a step nor a difference.
    let p = plan_with(
        &server(true),
        &want,
        true,
        Some(hidden_at),
        hidden_at + 6 * DAY,
    );
    assert_eq!(p.retiring[0].phase, RetirePhase::Hidden);
    assert_eq!(p.retiring[0].drop_after, Some(hidden_at + 7 * DAY));
    assert!(p.is_empty(), "{p:#?}");
    assert!(p.forget.is_empty());
    // Seven days later: a destructive drop, reversible by re-creating it hidden.
    let p = plan_with(
        &server(true),
        &want,
        true,
        Some(hidden_at),
        hidden_at + 7 * DAY,
    );
    assert_eq!(p.retiring[0].phase, RetirePhase::Due);
    assert_eq!(p.steps.len(), 1);
    let s = &p.steps[0];
    assert!(s.destructive);
    assert_eq!(s.retire, Some(RetirePhase::Due));
    assert!(matches!(&s.op, Operation::DropIndex { name, .. } if name == "b_1"));
    match s.reverse.as_slice() {
        [Operation::CreateIndex { index, .. }] => {
            assert_eq!(index.get_bool("hidden"), Ok(true), "{index}")
        }
        other => panic!("{other:?}"),
    }
    // Hidden by hand, with no record: the clock starts with a (no-op) hide.
    let p = plan_with(&server(true), &want, true, None, hidden_at);
    assert_eq!(p.retiring[0].phase, RetirePhase::Visible);
    assert!(p.steps[0].reason.contains("already hidden"));
}

#[test]
fn declaring_a_hidden_index_again_unhides_it_in_place_and_forgets_the_record() {
    let want = model(&spec(BOTH));
    let p = plan_with(&server(true), &want, true, Some(0), 10 * DAY);
    assert!(p.retiring.is_empty());
    assert_eq!(p.steps.len(), 1, "{:#?}", p.steps);
    assert!(matches!(
        &p.steps[0].op,
        Operation::ModifyIndex { name, hidden: Some(false), .. } if name == "b_1"
    ));
    assert_eq!(
        p.forget,
        vec![("app".to_string(), "c".to_string(), "b_1".to_string())]
    );
}

/// `mongrate validate` of a schemas root that must fail: its error output.
fn validate_fails(root: &std::path::Path) -> String {
    let out = support::mongrate()
        .args(["validate", "--schemas"])
        .arg(root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn retire_after_is_checked_where_it_is_written() {
    let root = support::one_collection_schemas("app", "c", &spec(BOTH).replace("7d", "7 weeks"));
    let err = validate_fails(root.path());
    assert!(
        err.contains("c.yaml:2:") && err.contains("retire_after"),
        "{err}"
    );
}

// ---- against a real mongod ------------------------------------------------------------------

struct Env {
    db: String,
    state: String,
    root: tempfile::TempDir,
}

impl Env {
    fn new(tag: &str) -> Self {
        let db = support::unique_db(tag);
        let state = format!("{db}_state");
        let root = support::one_collection_schemas(&db, "c", &spec(BOTH));
        Env { db, state, root }
    }

    fn write(&self, indexes: &str) {
        std::fs::write(
            self.root.path().join(&self.db).join("c.yaml"),
            spec(indexes),
        )
        .unwrap();
    }

    /// Run a command with `--format json`: (exit code, document).
    fn json(&self, args: &[&str]) -> (i32, Value) {
        let out = support::mongrate_on_server()
            .args(["--format", "json", "--state-db", &self.state, "--schemas"])
            .arg(self.root.path())
            .args(args)
            .output()
            .unwrap();
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: {e}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), v)
    }

    async fn index(&self, client: &mongodb::Client, name: &str) -> Option<Document> {
        let reply = client
            .database(&self.db)
            .run_command(doc! { "listIndexes": "c" })
            .await
            .unwrap();
        reply
            .get_document("cursor")
            .unwrap()
            .get_array("firstBatch")
            .unwrap()
            .iter()
            .filter_map(|b| b.as_document())
            .find(|d| d.get_str("name") == Ok(name))
            .cloned()
    }

    /// The storage table behind the index: a rebuild makes a new one.
    async fn ident(&self, client: &mongodb::Client, name: &str) -> String {
        let stats: Vec<Document> = client
            .database(&self.db)
            .collection::<Document>("c")
            .aggregate([doc! { "$collStats": { "storageStats": {} } }])
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        stats[0]
            .get_document("storageStats")
            .and_then(|s| s.get_document("indexDetails"))
            .and_then(|d| d.get_document(name))
            .and_then(|i| i.get_str("uri"))
            .unwrap_or_else(|e| panic!("no storage details for {name}: {e}"))
            .to_string()
    }

    async fn records(&self, client: &mongodb::Client) -> Vec<Document> {
        client
            .database(&self.state)
            .collection::<Document>("retiring_indexes")
            .find(doc! {})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    }

    /// Pretend the index was hidden `days` ago.
    async fn age(&self, client: &mongodb::Client, days: i64) {
        let then = bson::DateTime::from_millis(
            bson::DateTime::now().timestamp_millis() - days * DAY * 1000,
        );
        let r = client
            .database(&self.state)
            .collection::<Document>("retiring_indexes")
            .update_many(doc! {}, doc! { "$set": { "hidden_at": then } })
            .await
            .unwrap();
        assert_eq!(r.matched_count, 1);
    }
}

fn hidden(ix: &Option<Document>) -> bool {
    ix.as_ref()
        .and_then(|d| d.get_bool("hidden").ok())
        .unwrap_or(false)
}

fn phases(v: &Value, key: &str) -> Vec<String> {
    v[key]["retiring"]
        .as_array()
        .or_else(|| v["retiring"].as_array())
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["index"].as_str().unwrap(),
                r["phase"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn retire_hides_then_after_the_declared_time_drops() {
    let env = Env::new("retire");
    let client = support::client().await;
    let (code, _) = env.json(&["apply", "--yes"]);
    assert_eq!(code, 0);
    client
        .database(&env.db)
        .collection::<Document>("c")
        .insert_many((0..50).map(|i| doc! { "a": i, "b": i }))
        .await
        .unwrap();

    // The schemas stop declaring b_1: the plan shows it retiring, not yet hidden.
    env.write(ONLY_A);
    let (code, v) = env.json(&["plan"]);
    assert_eq!(code, 0);
    assert_eq!(phases(&v, ""), ["b_1:visible"]);
    support::json_schema::assert_shape("plan", serde_json::to_vec(&v).unwrap().as_slice());
    // Phase 1: hidden by a plain --prune (no --allow-destructive needed), and recorded.
    let before = chrono_now();
    let (code, v) = env.json(&["apply", "--prune", "--yes"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["applied"], 1);
    assert!(hidden(&env.index(&client, "b_1").await));
    let recs = env.records(&client).await;
    assert_eq!(recs.len(), 1);
    let at = recs[0]
        .get_datetime("hidden_at")
        .unwrap()
        .timestamp_millis()
        / 1000;
    assert!((before - 1..=chrono_now() + 1).contains(&at), "{recs:?}");

    // Waiting: even --allow-destructive drops nothing, and check sees no drift.
    let (code, v) = env.json(&["apply", "--prune", "--allow-destructive", "--yes"]);
    assert_eq!((code, v["result"].as_str()), (0, Some("nothing_to_apply")));
    assert_eq!(phases(&v, "plan"), ["b_1:hidden"]);
    assert!(env.index(&client, "b_1").await.is_some());
    let (code, v) = env.json(&["check"]);
    assert_eq!(code, 0, "{v}");
    let out = support::mongrate_on_server()
        .args(["--state-db", &env.state, "--schemas"])
        .arg(env.root.path())
        .arg("check")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.starts_with("In sync") && said.contains("`b_1`: hidden since"),
        "{said}"
    );
    let text = support::mongrate_on_server()
        .args(["--state-db", &env.state, "--schemas"])
        .arg(env.root.path())
        .arg("plan")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("`b_1`: hidden since") && text.contains("may be dropped from"),
        "{text}"
    );

    // lint against the server says which phase the retiring index is in.
    let old = support::one_collection_schemas(&env.db, "c", &spec(BOTH));
    let (code, v) = env.json(&[
        "lint",
        old.path().to_str().unwrap(),
        env.root.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "a retirement is safe: {v}");
    let f = &v["findings"][0];
    assert_eq!(
        (f["rule"].as_str(), f["index"].as_str()),
        (Some("index-retired"), Some("b_1"))
    );
    let evidence = f["evidence"].as_str().unwrap_or_default();
    assert!(evidence.contains("phase 1: hidden since"), "{f}");

    // Eight days pass.
    env.age(&client, 8).await;
    let (code, v) = env.json(&["apply", "--prune", "--yes"]);
    assert_eq!(code, 0);
    assert_eq!(
        v["result"], "nothing_to_apply",
        "drop needs --allow-destructive: {v}"
    );
    assert_eq!(phases(&v, "plan"), ["b_1:due"]);
    assert!(env.index(&client, "b_1").await.is_some());
    let (code, v) = env.json(&["apply", "--prune", "--allow-destructive", "--yes"]);
    assert_eq!((code, v["applied"].as_u64()), (0, Some(1)), "{v}");
    assert!(env.index(&client, "b_1").await.is_none());
    assert!(env.records(&client).await.is_empty());
    let (code, v) = env.json(&["check"]);
    assert_eq!(code, 0, "{v}");
    assert!(v["retiring"].as_array().unwrap().is_empty(), "{v}");
}

#[tokio::test]
async fn declaring_a_retiring_index_again_unhides_it_without_a_rebuild() {
    let env = Env::new("unretire");
    let client = support::client().await;
    assert_eq!(env.json(&["apply", "--yes"]).0, 0);
    client
        .database(&env.db)
        .collection::<Document>("c")
        .insert_many((0..50).map(|i| doc! { "a": i, "b": i }))
        .await
        .unwrap();
    let ident = env.ident(&client, "b_1").await;
    env.write(ONLY_A);
    assert_eq!(env.json(&["apply", "--prune", "--yes"]).0, 0);
    assert!(hidden(&env.index(&client, "b_1").await));

    // Declared again during the hidden phase: one in-place step, no build.
    env.write(BOTH);
    let (code, v) = env.json(&["plan", "--prune"]);
    assert_eq!(code, 0);
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{v}");
    assert_eq!(steps[0]["marker"], "~");
    assert_eq!(steps[0]["operation"]["type"], "modify_index", "{v}");
    let (code, v) = env.json(&["apply", "--prune", "--allow-destructive", "--yes"]);
    assert_eq!(code, 0, "{v}");
    let ix = env.index(&client, "b_1").await;
    assert!(ix.is_some() && !hidden(&ix), "{ix:?}");
    assert_eq!(
        env.ident(&client, "b_1").await,
        ident,
        "the index was rebuilt"
    );
    assert!(
        env.records(&client).await.is_empty(),
        "the record is forgotten"
    );
    // Retired again later, its clock starts afresh (the old record is gone).
    env.write(ONLY_A);
    let (code, v) = env.json(&["apply", "--prune", "--allow-destructive", "--yes"]);
    assert_eq!(code, 0);
    assert_eq!(phases(&v, "plan"), ["b_1:visible"]);
    assert!(env.index(&client, "b_1").await.is_some());
}

fn chrono_now() -> i64 {
    bson::DateTime::now().timestamp_millis() / 1000
}

#[test]
fn a_database_default_applies_to_collections_that_say_nothing() {
    let root = support::one_collection_schemas("app", "c", &spec(BOTH));
    std::fs::write(
        root.path().join("app/d.yaml"),
        "collection: d\nfields:\n  a: { type: int }\n",
    )
    .unwrap();
    std::fs::write(root.path().join("app/_database.yaml"), "retire_after: 2d\n").unwrap();
    let loaded = mongrate::spec::load_dir(root.path()).unwrap();
    assert!(!loaded.has_errors());
    let m = mongrate::spec::to_model(&loaded.spec);
    let colls = &m.databases["app"].collections;
    assert_eq!(colls["c"].retire_after, Some(7 * DAY), "its own value wins");
    assert_eq!(colls["d"].retire_after, Some(2 * DAY));

    std::fs::write(
        root.path().join("app/_database.yaml"),
        "retire_after: soon\n",
    )
    .unwrap();
    let err = validate_fails(root.path());
    assert!(err.contains("_database.yaml:1:"), "{err}");
}
