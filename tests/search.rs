//! Search indexes declared for a server without search (the local mongod 6.0.5 answers
//! `$listSearchIndexes` with code 40324): reported once as not supported — no drift, no failure,
//! nothing half-applied — unless `--require-search`.

mod support;

use support::{mongrate_on_server, one_collection_schemas, unique_db};

const MOVIES: &str = "fields:\n  title: { type: string }\nsearch_indexes:\n  - definition: { mappings: { dynamic: true } }\n  - name: plot\n    type: vectorSearch\n    definition:\n      fields: [{ type: vector, path: plot_embedding, numDimensions: 1536, similarity: cosine }]\n";

#[test]
fn declared_search_indexes_are_a_note_on_a_server_without_search() {
    let db = unique_db("search");
    let schemas = one_collection_schemas(&db, "movies", MOVIES);
    let run = |args: &[&str]| {
        let out = mongrate_on_server()
            .args(args)
            .arg("--schemas")
            .arg(schemas.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The collection is created; the search indexes are neither steps nor a failure.
    let (code, stdout, stderr) = run(&["apply", "--yes"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!stdout.contains("create_search_index"), "{stdout}");
    assert!(
        stdout.contains(
            "Note: 2 search indexes declared in the schemas: not supported by this server"
        ),
        "{stdout}"
    );
    let (code, stdout, _) = run(&["check"]);
    assert_eq!(code, 0, "not drift: {stdout}");
    assert!(stdout.contains("In sync"), "{stdout}");
    assert_eq!(stdout.matches("Note: ").count(), 1, "said once: {stdout}");
    let (code, stdout, _) = run(&["check", "--format", "json"]);
    assert_eq!(code, 0);
    support::json_schema::assert_shape("check", stdout.as_bytes());
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["in_sync"], true);
    assert_eq!(v["notes"].as_array().unwrap().len(), 1);
    // Required: an error naming why.
    let (code, _, stderr) = run(&["check", "--require-search"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("2 search indexes declared in the schemas"),
        "{stderr}"
    );
    assert!(
        stderr.contains("does not support search indexes"),
        "{stderr}"
    );
}

#[test]
fn a_migration_that_builds_a_search_index_is_refused_before_its_first_step() {
    let db = unique_db("search_mig");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("20260101000000_movies.yaml"),
        format!(
            "up:\n  - create_collection: {{ db: {db}, collection: movies }}\n  - create_search_index: {{ db: {db}, collection: movies, index: {{ name: default, type: search, definition: {{ mappings: {{ dynamic: true }} }} }} }}\ndown:\n  - drop_search_index: {{ db: {db}, collection: movies, name: default }}\n  - drop_collection: {{ db: {db}, collection: movies }}\n"
        ),
    )
    .unwrap();
    let out = mongrate_on_server()
        .args(["migrate", "up", "--dir"])
        .arg(dir.path())
        .args(["--state-db", &format!("{db}_state")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("refusing to migrate up; nothing was changed"),
        "{err}"
    );
    assert!(err.contains("create_search_index"), "{err}");
    assert!(err.contains("this server has no Atlas Search"), "{err}");
    // Nothing ran: the collection of step 1 was not created.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dbs = rt.block_on(async { support::client().await.list_database_names().await.unwrap() });
    assert!(!dbs.contains(&db), "{dbs:?}");
}
