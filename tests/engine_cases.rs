//! Data-driven diff cases: `tests/cases/*.yaml`, each with `current`, `desired` and the expected
//! plan. Every case runs twice:
//! - pure: diff the two spec models, no server — the step summaries must equal `plan`;
//! - live: apply `current` to a real mongod, insert `data`, plan `desired` against the server —
//!   the same summaries (so normalisation leaves no false diff) — then apply it (or check that
//!   it is refused, with the count), and re-plan: no steps left.
//!
//! Case format (`{db}` in expectations stands for the database name):
//! ```yaml
//! description: ...
//! current: { <collection>: <collection spec>, ... }   # or `_database: <database spec>`
//! desired: { ... }
//! data: { <collection>: [ <Extended JSON documents> ] }   # optional
//! options: { prune: false, allow_destructive: false }    # optional
//! plan: [ "<step summary>", ... ]
//! notices: [ unmanaged_index | unmanaged_collection | needs_recreate, ... ]   # optional
//! refused: { count: N }          # optional: apply must refuse, N = violators / duplicate groups
//! ```

mod support;

use bson::Document;
use mongrate::model::Schema;
use mongrate::normalize::{self, Side};
use mongrate::plan::{Plan, PlanOptions};
use mongrate::spec::{self, DatabaseSource};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    description: String,
    current: BTreeMap<String, serde_yaml::Value>,
    desired: BTreeMap<String, serde_yaml::Value>,
    #[serde(default)]
    data: BTreeMap<String, Vec<serde_json::Value>>,
    #[serde(default)]
    options: CaseOptions,
    plan: Vec<String>,
    #[serde(default)]
    notices: Vec<String>,
    refused: Option<Refused>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseOptions {
    #[serde(default)]
    prune: bool,
    #[serde(default)]
    allow_destructive: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Refused {
    count: u64,
}

fn cases() -> Vec<(PathBuf, Case)> {
    let dir = support::repo().join("tests/cases");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/cases exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 10,
        "expected the data-driven cases in {}",
        dir.display()
    );
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let case: Case =
                serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, case)
        })
        .collect()
}

/// A case side as a normalised model of one database named `db`.
fn model(db: &str, side: &BTreeMap<String, serde_yaml::Value>, file: &Path) -> Schema {
    let mut source = DatabaseSource {
        name: db.to_string(),
        ..Default::default()
    };
    for (name, spec) in side {
        let text = serde_yaml::to_string(spec).unwrap();
        let path = PathBuf::from(format!("{db}/{name}.yaml"));
        if name == "_database" {
            source.database_file = Some((path, text));
        } else {
            source.collection_files.push((path, text));
        }
    }
    let loaded = spec::check_sources(&[source]);
    assert!(
        !loaded.has_errors(),
        "{}: {:#?}",
        file.display(),
        loaded.diagnostics
    );
    let mut m = spec::to_model(&loaded.spec);
    normalize::schema(&mut m, Side::Spec);
    m
}

fn summaries(plan: &Plan, db: &str) -> Vec<String> {
    plan.steps
        .iter()
        .map(|s| {
            let mut line = s.op.summary().replace(db, "{db}");
            if s.skipped.is_some() {
                line.push_str(" [skipped]");
            }
            line
        })
        .collect()
}

fn notice_kinds(plan: &Plan) -> Vec<String> {
    plan.notices
        .iter()
        .map(|n| {
            serde_json::to_value(n.kind)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn plan_options(c: &Case) -> PlanOptions {
    PlanOptions {
        prune: c.options.prune,
        allow_destructive: c.options.allow_destructive,
        ..Default::default()
    }
}

#[test]
fn cases_pure() {
    for (path, case) in cases() {
        let current = model("app", &case.current, &path);
        let desired = model("app", &case.desired, &path);
        let changes = mongrate::diff::diff(&current, &desired);
        let plan = mongrate::plan::plan(&changes, &plan_options(&case));
        assert_eq!(
            summaries(&plan, "app"),
            case.plan,
            "{} ({}): pure plan",
            path.display(),
            case.description
        );
        assert_eq!(
            notice_kinds(&plan),
            case.notices,
            "{}: pure notices",
            path.display()
        );
    }
}

#[tokio::test]
async fn cases_live() {
    let client = support::client().await;
    for (path, case) in cases() {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let db = support::unique_db(&stem.chars().take(30).collect::<String>());
        let ctx = format!("{} ({})", path.display(), case.description);

        // 1. Apply `current` to an empty database; re-planning it must be empty.
        let current = model(&db, &case.current, &path);
        let everything = PlanOptions {
            prune: false,
            allow_destructive: true,
            ..Default::default()
        };
        let first =
            mongrate::db::plan_against_server(&client, &current, &everything, false, "mongrate")
                .await
                .unwrap();
        mongrate::db::apply::apply_steps(
            &client,
            &first.steps,
            &Default::default(),
            &mut mongrate::progress::Silent,
        )
        .await
        .unwrap_or_else(|e| panic!("{ctx}: applying current: {e}"));
        let again =
            mongrate::db::plan_against_server(&client, &current, &everything, false, "mongrate")
                .await
                .unwrap();
        assert!(
            again.steps.is_empty(),
            "{ctx}: current re-plans to {:?}",
            summaries(&again, &db)
        );

        // 2. Data.
        for (coll, docs) in &case.data {
            let docs: Vec<Document> = docs
                .iter()
                .map(|d| match mongrate::extjson::to_bson(d.clone()).unwrap() {
                    bson::Bson::Document(d) => d,
                    other => panic!("{ctx}: data item {other} is not a document"),
                })
                .collect();
            client
                .database(&db)
                .collection::<Document>(coll)
                .insert_many(docs)
                .await
                .unwrap();
        }

        // 3. Plan `desired` against the server: the same plan as the pure diff.
        let desired = model(&db, &case.desired, &path);
        let mut plan = mongrate::db::plan_against_server(
            &client,
            &desired,
            &plan_options(&case),
            false,
            "mongrate",
        )
        .await
        .unwrap();
        mongrate::db::safety::run_checks(&client, &mut plan)
            .await
            .unwrap();
        assert_eq!(summaries(&plan, &db), case.plan, "{ctx}: live plan");
        assert_eq!(notice_kinds(&plan), case.notices, "{ctx}: live notices");

        // 4. Apply it, or check the refusal and its count.
        let blocked: Vec<_> = plan.runnable().filter(|s| s.blocked_by_data()).collect();
        match &case.refused {
            Some(r) => {
                assert_eq!(blocked.len(), 1, "{ctx}: expected one blocked step");
                let report = blocked[0].safety.as_ref().unwrap();
                assert_eq!(report.count, r.count, "{ctx}: blocked count");
                assert!(!report.sample_ids.is_empty(), "{ctx}: sample _ids");
            }
            None => {
                assert!(
                    blocked.is_empty(),
                    "{ctx}: unexpectedly blocked: {:?}",
                    blocked.iter().map(|s| s.op.summary()).collect::<Vec<_>>()
                );
                mongrate::db::apply::apply_steps(
                    &client,
                    &plan.steps,
                    &Default::default(),
                    &mut mongrate::progress::Silent,
                )
                .await
                .unwrap_or_else(|e| panic!("{ctx}: applying desired: {e}"));
                let after = mongrate::db::plan_against_server(
                    &client,
                    &desired,
                    &plan_options(&case),
                    false,
                    "mongrate",
                )
                .await
                .unwrap();
                let left: Vec<String> = summaries(&after, &db)
                    .into_iter()
                    .filter(|s| !s.ends_with("[skipped]"))
                    .collect();
                assert!(
                    left.is_empty(),
                    "{ctx}: re-plan after apply still has {left:?}"
                );
            }
        }
        client.database(&db).drop().await.ok();
    }
}
