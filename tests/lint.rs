//! `mongrate lint`: one case per rule (old schema, new schema, the rule ids and severities
//! expected), exit codes and output formats, acknowledged changes, git base mode, and the
//! findings informed by a real mongod's data.

mod support;

use bson::doc;
use serde_json::Value;
use std::path::Path;

const BASE: &str = "collection: c\nfields:\n  a: { type: string }\n  n: { type: int, minimum: 1, maximum: 10 }\n  s: { type: string, max_length: 20, pattern: '^x' }\n  k: { type: string, enum: [x, y] }\n  d: { type: string, default: one }\n  r: { type: string, required: true }\n  at: { type: date }\nindexes:\n  - keys: { a: 1 }\n  - keys: { at: 1 }\n    expire_after: 3600\n";

/// One case: name, old file, new file (`None`: absent), expected (rule, severity).
type Case = (
    &'static str,
    Option<String>,
    Option<String>,
    Vec<(&'static str, &'static str)>,
);

fn cases() -> Vec<Case> {
    let base = || Some(BASE.to_string());
    let edit = |from: &str, to: &str| {
        assert!(BASE.contains(from), "{from}");
        Some(BASE.replace(from, to))
    };
    vec![
        (
            "collection added",
            None,
            base(),
            vec![("collection-added", "safe")],
        ),
        (
            "collection dropped",
            base(),
            None,
            vec![("collection-dropped", "breaking")],
        ),
        (
            "collection recreate",
            base(),
            Some(format!("{BASE}options:\n  collation: {{ locale: fr }}\n")),
            vec![("collection-recreate", "breaking")],
        ),
        (
            "field added",
            base(),
            edit(
                "  at: { type: date }\n",
                "  at: { type: date }\n  z: { type: bool }\n",
            ),
            vec![("field-added", "safe")],
        ),
        (
            "field removed",
            base(),
            edit("  n: { type: int, minimum: 1, maximum: 10 }\n", ""),
            vec![("field-removed", "breaking")],
        ),
        (
            "field renamed",
            base(),
            edit("  a: { type: string }\n", "  b: { type: string }\n"),
            vec![("field-renamed", "breaking")],
        ),
        (
            "field renamed, declared",
            base(),
            edit(
                "  a: { type: string }\n",
                "  b: { type: string, renamed_from: a }\n",
            ),
            vec![("field-evolved", "safe")],
        ),
        (
            "type changed, declared",
            base(),
            edit(
                "  a: { type: string }",
                "  a: { type: date, convert: { $toDate: \"$$value\" } }",
            ),
            vec![("field-evolved", "safe")],
        ),
        (
            "evolution source missing",
            base(),
            edit(
                "  at: { type: date }\n",
                "  at: { type: date }\n  z: { type: string, renamed_from: nothere }\n",
            ),
            vec![("evolution-source-missing", "risky")],
        ),
        (
            "evolution dropped",
            edit(
                "  a: { type: string }\n",
                "  b: { type: string, renamed_from: a }\n",
            ),
            edit("  a: { type: string }\n", "  b: { type: string }\n"),
            vec![("evolution-dropped", "risky")],
        ),
        (
            "type changed",
            base(),
            edit("  a: { type: string }", "  a: { type: int }"),
            vec![("field-type-changed", "breaking")],
        ),
        (
            "type widened",
            base(),
            edit(
                "  a: { type: string }",
                "  a: { type: [string, int], nullable: true }",
            ),
            vec![("field-type-widened", "safe")],
        ),
        (
            "required, no default",
            base(),
            edit(
                "  a: { type: string }",
                "  a: { type: string, required: true }",
            ),
            vec![("field-required-added", "breaking")],
        ),
        (
            "required, with default",
            base(),
            edit(
                "  d: { type: string, default: one }",
                "  d: { type: string, default: one, required: true }",
            ),
            vec![("field-required-with-default", "risky")],
        ),
        (
            "made optional",
            base(),
            edit(
                "  r: { type: string, required: true }",
                "  r: { type: string }",
            ),
            vec![("field-optional", "safe")],
        ),
        (
            "enum value removed",
            base(),
            edit("enum: [x, y]", "enum: [x]"),
            vec![("enum-value-removed", "breaking")],
        ),
        (
            "enum value added",
            base(),
            edit("enum: [x, y]", "enum: [x, y, z]"),
            vec![("enum-value-added", "safe")],
        ),
        (
            "range tightened",
            base(),
            edit("minimum: 1, maximum: 10", "minimum: 2, maximum: 10"),
            vec![("constraint-tightened", "risky")],
        ),
        (
            "pattern and length tightened",
            base(),
            edit(
                "max_length: 20, pattern: '^x'",
                "max_length: 10, pattern: '^xy'",
            ),
            vec![("constraint-tightened", "risky")],
        ),
        (
            "constraint loosened",
            base(),
            edit(
                "max_length: 20, pattern: '^x'",
                "max_length: 30, pattern: '^x'",
            ),
            vec![("constraint-loosened", "safe")],
        ),
        (
            "additional fields denied",
            base(),
            Some(BASE.replace(
                "fields:\n",
                "validation: { additional_fields: deny }\nfields:\n",
            )),
            vec![("constraint-tightened", "risky")],
        ),
        (
            "action warn to error",
            Some(BASE.replace("fields:\n", "validation: { action: warn }\nfields:\n")),
            base(),
            vec![("validation-action-error", "risky")],
        ),
        (
            "level moderate to strict",
            Some(BASE.replace("fields:\n", "validation: { level: moderate }\nfields:\n")),
            base(),
            vec![("validation-level-strict", "risky")],
        ),
        (
            "validation loosened",
            base(),
            Some(BASE.replace("fields:\n", "validation: { action: warn }\nfields:\n")),
            vec![("validation-loosened", "safe")],
        ),
        (
            "default changed",
            base(),
            edit("default: one", "default: two"),
            vec![("default-changed", "risky")],
        ),
        (
            "index added",
            base(),
            Some(format!("{BASE}  - keys: {{ n: 1 }}\n")),
            vec![("index-added", "safe")],
        ),
        (
            "unique index added",
            base(),
            Some(format!("{BASE}  - keys: {{ s: 1 }}\n    unique: true\n")),
            vec![("unique-index-added", "risky")],
        ),
        (
            "index dropped",
            base(),
            edit("  - keys: { a: 1 }\n", ""),
            vec![("index-dropped", "risky")],
        ),
        (
            "index retired in two phases",
            base(),
            Some(
                BASE.replace("collection: c\n", "collection: c\nretire_after: 7d\n")
                    .replace("  - keys: { a: 1 }\n", ""),
            ),
            vec![("index-retired", "safe")],
        ),
        (
            "search index added",
            base(),
            Some(BASE.replace(
                "collection: c\n",
                "collection: c\nsearch_indexes:\n  - definition: { mappings: { dynamic: true } }\n",
            )),
            vec![("search-index-added", "safe")],
        ),
        (
            "search index changed",
            Some(BASE.replace(
                "collection: c\n",
                "collection: c\nsearch_indexes:\n  - definition: { mappings: { dynamic: true } }\n",
            )),
            Some(BASE.replace(
                "collection: c\n",
                "collection: c\nsearch_indexes:\n  - definition: { mappings: { dynamic: false } }\n",
            )),
            vec![("search-index-changed", "risky")],
        ),
        (
            "search index removed",
            Some(BASE.replace(
                "collection: c\n",
                "collection: c\nsearch_indexes:\n  - definition: { mappings: { dynamic: true } }\n",
            )),
            base(),
            vec![("search-index-removed", "risky")],
        ),
        (
            "index replaced",
            base(),
            edit(
                "  - keys: { a: 1 }\n",
                "  - keys: { a: 1 }\n    sparse: true\n",
            ),
            vec![("index-replaced", "risky")],
        ),
        (
            "ttl added",
            base(),
            edit(
                "  - keys: { a: 1 }\n",
                "  - keys: { a: 1 }\n  - keys: { created: 1 }\n    expire_after: 7d\n",
            )
            .map(|s| {
                s.replace(
                    "  at: { type: date }\n",
                    "  at: { type: date }\n  created: { type: date }\n",
                )
            }),
            vec![
                ("field-added", "safe"),
                ("index-added", "safe"),
                ("ttl-added", "breaking"),
            ],
        ),
        (
            "ttl shortened",
            base(),
            edit("expire_after: 3600", "expire_after: 60"),
            vec![("ttl-shortened", "breaking")],
        ),
        (
            "ttl lengthened",
            base(),
            edit("expire_after: 3600", "expire_after: 7200"),
            vec![("ttl-lengthened", "safe")],
        ),
        ("nothing changed", base(), base(), vec![]),
    ]
}

fn write(root: &Path, file: &Option<String>) {
    std::fs::create_dir_all(root.join("app")).unwrap();
    if let Some(text) = file {
        std::fs::write(root.join("app/c.yaml"), text).unwrap();
    }
}

fn lint(args: &[&str]) -> (i32, Value) {
    let out = support::mongrate()
        .args(["--format", "json", "lint"])
        .args(args)
        .output()
        .unwrap();
    support::json_schema::assert_shape("lint", &out.stdout);
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

fn rules(v: &Value) -> Vec<(String, String)> {
    let mut r: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    r.sort();
    r
}

#[test]
fn every_rule_classifies_its_change_and_the_exit_code_follows_the_worst() {
    let mut seen = std::collections::BTreeSet::new();
    for (name, old, new, expected) in cases() {
        let dir = tempfile::tempdir().unwrap();
        let (o, n) = (dir.path().join("old"), dir.path().join("new"));
        write(&o, &old);
        write(&n, &new);
        let (code, v) = lint(&[o.to_str().unwrap(), n.to_str().unwrap()]);
        assert!(v["findings"].is_array(), "{name}: {v:#}");
        let mut want: Vec<(String, String)> = expected
            .iter()
            .map(|(r, s)| (r.to_string(), s.to_string()))
            .collect();
        want.sort();
        assert_eq!(rules(&v), want, "{name}: {v:#}");
        let worst_risky = expected.iter().any(|(_, s)| *s != "safe");
        assert_eq!(code, if worst_risky { 2 } else { 0 }, "{name}");
        for f in v["findings"].as_array().unwrap() {
            assert!(f["line"].as_u64().unwrap() > 0, "{name}: a line for {f}");
            assert!(!f["message"].as_str().unwrap().is_empty());
        }
        seen.extend(expected.iter().map(|(r, _)| r.to_string()));
    }
    // Every rule has a case.
    for (rule, _, _) in mongrate::lint::RULES {
        assert!(seen.contains(*rule), "no case for rule {rule}");
    }
}

#[test]
fn fail_on_acknowledgements_and_github_annotations() {
    let dir = tempfile::tempdir().unwrap();
    let (o, n) = (dir.path().join("old"), dir.path().join("new"));
    write(&o, &Some(BASE.to_string()));
    let shorter = BASE.replace("expire_after: 3600", "expire_after: 60");
    write(&n, &Some(shorter.clone()));
    let (old, new) = (o.to_str().unwrap(), n.to_str().unwrap());
    // Breaking: fails at either threshold.
    assert_eq!(lint(&[old, new, "--fail-on", "breaking"]).0, 2);
    // Acknowledged with a reason: passes, and says so.
    write(
        &n,
        &Some(format!(
            "{shorter}lint:\n  allow:\n    - {{ rule: ttl-shortened, reason: sessions expire after a minute now }}\n"
        )),
    );
    let (code, v) = lint(&[old, new]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        v["findings"][0]["allowed"],
        "sessions expire after a minute now"
    );
    // A risky change fails at `risky`, not at `breaking`.
    write(&n, &Some(BASE.replace("default: one", "default: two")));
    assert_eq!(lint(&[old, new]).0, 2);
    assert_eq!(lint(&[old, new, "--fail-on", "breaking"]).0, 0);
    // GitHub annotations: one line per risky or breaking change, on the file and line.
    let out = support::mongrate()
        .args(["--format", "github", "lint", old, new])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap_or_default();
    assert!(
        line.starts_with("::warning file=")
            && line.contains("app/c.yaml,line=7,title=default-changed (risky)::"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(2));
}

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn base_mode_compares_a_git_revision_with_the_working_tree() {
    let repo = tempfile::tempdir().unwrap();
    let schemas = repo.path().join("db/schemas");
    write(&schemas, &Some(BASE.to_string()));
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "schemas"]);
    std::fs::write(
        schemas.join("app/c.yaml"),
        BASE.replace("enum: [x, y]", "enum: [x]"),
    )
    .unwrap();
    let (code, v) = lint(&["--schemas", schemas.to_str().unwrap(), "--base", "HEAD"]);
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(
        rules(&v),
        [("enum-value-removed".to_string(), "breaking".to_string())]
    );
    // A revision that does not exist is an error that says so.
    let out = support::mongrate()
        .args([
            "lint",
            "--schemas",
            schemas.to_str().unwrap(),
            "--base",
            "nope",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("git knows no revision `nope`"));
    // In a shallow clone (as CI checks out), the base is not there: the error says how to
    // fetch it.
    git(repo.path(), &["commit", "-q", "-am", "second"]);
    let shallow = tempfile::tempdir().unwrap();
    let cloned = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1"])
        .arg(format!("file://{}", repo.path().display()))
        .arg(shallow.path().join("c"))
        .status()
        .unwrap();
    assert!(cloned.success());
    let out = support::mongrate()
        .args(["lint", "--schemas"])
        .arg(shallow.path().join("c/db/schemas"))
        .args(["--base", "HEAD~1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("shallow") && err.contains("fetch-depth: 0"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_server_the_findings_carry_the_data() {
    let client = support::client().await;
    let db = support::unique_db("lint");
    let coll = client.database(&db).collection::<bson::Document>("c");
    let old_dt = bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() - 86_400_000);
    coll.insert_many(vec![
        doc! { "a": "1", "s": "xa", "at": old_dt, "r": "r" },
        doc! { "a": "1", "s": "xb", "at": bson::DateTime::now(), "r": "r" },
        doc! { "s": "xa", "r": "r" },
    ])
    .await
    .unwrap();
    coll.create_index(mongodb::IndexModel::builder().keys(doc! { "a": 1 }).build())
        .await
        .unwrap();
    coll.find(doc! { "a": "1" })
        .hint(mongodb::options::Hint::Name("a_1".into()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (o, n) = (dir.path().join("old"), dir.path().join("new"));
    let base = BASE.replace("  - keys: { at: 1 }\n    expire_after: 3600\n", "");
    std::fs::create_dir_all(o.join(&db)).unwrap();
    std::fs::create_dir_all(n.join(&db)).unwrap();
    std::fs::write(o.join(&db).join("c.yaml"), &base).unwrap();
    let new = base
        .replace(
            "  a: { type: string }",
            "  a: { type: string, required: true }",
        )
        .replace(
            "  - keys: { a: 1 }\n",
            "  - keys: { s: 1 }\n    unique: true\n  - keys: { at: 1 }\n    expire_after: 3600\n",
        );
    std::fs::write(n.join(&db).join("c.yaml"), new).unwrap();
    let out = support::mongrate_on_server()
        .args(["--format", "json", "lint"])
        .args([o.to_str().unwrap(), n.to_str().unwrap()])
        .output()
        .unwrap();
    support::json_schema::assert_shape("lint", &out.stdout);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let count = |rule: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule)
            .unwrap_or_else(|| panic!("{rule}: {v:#}"))["count"]
            .as_u64()
    };
    assert_eq!(
        count("field-required-added"),
        Some(1),
        "one document lacks `a`"
    );
    assert_eq!(count("ttl-added"), Some(1), "one document is a day old");
    assert_eq!(count("unique-index-added"), Some(1), "`xa` twice");
    assert_eq!(count("index-dropped"), Some(1), "a_1 served one query");
    client.database(&db).drop().await.ok();
}

/// Removing an evolution's declaration while documents are still in the old shape is breaking,
/// with their count; once none is left it stays risky.
#[tokio::test(flavor = "multi_thread")]
async fn dropping_an_evolution_with_old_documents_left_is_breaking() {
    let client = support::client().await;
    let db = support::unique_db("lint_evo");
    let coll = client.database(&db).collection::<bson::Document>("c");
    coll.insert_many(vec![
        doc! { "b": "new" },
        doc! { "a": "old" },
        doc! { "a": "old" },
    ])
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (o, n) = (dir.path().join("old"), dir.path().join("new"));
    std::fs::create_dir_all(o.join(&db)).unwrap();
    std::fs::create_dir_all(n.join(&db)).unwrap();
    let declared = BASE.replace(
        "  a: { type: string }\n",
        "  b: { type: string, renamed_from: a }\n",
    );
    std::fs::write(o.join(&db).join("c.yaml"), &declared).unwrap();
    std::fs::write(
        n.join(&db).join("c.yaml"),
        declared.replace(", renamed_from: a", ""),
    )
    .unwrap();
    let run = || {
        let out = support::mongrate_on_server()
            .args(["--format", "json", "lint"])
            .args([o.to_str().unwrap(), n.to_str().unwrap()])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "evolution-dropped")
            .cloned()
            .unwrap_or_else(|| panic!("{v:#}"));
        (
            f["severity"].as_str().unwrap().to_string(),
            f["count"].as_u64(),
        )
    };
    assert_eq!(run(), ("breaking".to_string(), Some(2)));
    coll.update_many(
        doc! { "a": "old" },
        vec![doc! { "$set": { "b": "$a" } }, doc! { "$unset": "a" }],
    )
    .await
    .unwrap();
    assert_eq!(run(), ("risky".to_string(), Some(0)));
    client.database(&db).drop().await.ok();
}

/// Each count is of what its own finding is about, not of everything the new validator
/// refuses: 187 documents lack a new required field, none holds the removed enum value.
#[tokio::test(flavor = "multi_thread")]
async fn each_count_is_of_what_its_finding_is_about() {
    let client = support::client().await;
    let db = support::unique_db("lint_counts");
    let coll = client.database(&db).collection::<bson::Document>("c");
    let docs: Vec<bson::Document> = (0..187)
        .map(|i| {
            let mut d = doc! { "r": "r", "k": (["x", "y"][i % 2]), "s": "xs", "n": 5 };
            if i < 3 {
                // Three documents break the tightened max_length, two hold `n` as a string.
                d.insert("s", "x".repeat(15));
            }
            if i >= 185 {
                d.insert("n", "five");
            }
            d
        })
        .collect();
    coll.insert_many(docs).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (o, n) = (dir.path().join("old"), dir.path().join("new"));
    let old = BASE.replace("enum: [x, y]", "enum: [x, y, archived]");
    let new = BASE
        .replace(
            "  a: { type: string }",
            "  a: { type: string, required: true }",
        )
        .replace("max_length: 20", "max_length: 10")
        .replace(
            "n: { type: int, minimum: 1, maximum: 10 }",
            "n: { type: long, minimum: 1, maximum: 10 }",
        );
    for (root, text) in [(&o, &old), (&n, &new)] {
        std::fs::create_dir_all(root.join(&db)).unwrap();
        std::fs::write(root.join(&db).join("c.yaml"), text).unwrap();
    }
    let out = support::mongrate_on_server()
        .args(["--format", "json", "lint", "--server"])
        .args([o.to_str().unwrap(), n.to_str().unwrap()])
        .output()
        .unwrap();
    support::json_schema::assert_shape("lint", &out.stdout);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding = |rule: &str, field: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule && f["field"] == field)
            .unwrap_or_else(|| panic!("{rule} {field}: {v:#}"))
            .clone()
    };
    let removed = finding("enum-value-removed", "k");
    assert_eq!(
        removed["count"], 0,
        "no document holds `archived`: {removed:#}"
    );
    let required = finding("field-required-added", "a");
    assert_eq!(required["count"], 187, "{required:#}");
    assert!(
        required["evidence"]
            .as_str()
            .unwrap()
            .contains("187 documents lack `a`")
    );
    let tightened = finding("constraint-tightened", "s");
    assert_eq!(tightened["count"], 3, "{tightened:#}");
    let retyped = finding("field-type-changed", "n");
    assert_eq!(
        retyped["count"], 187,
        "int and string are both refused by long: {retyped:#}"
    );
    client.database(&db).drop().await.ok();
}
