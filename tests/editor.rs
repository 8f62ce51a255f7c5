//! Editor support: the JSON Schemas of the file formats (generated from the loader's own types)
//! name every key the loader accepts, the repository's files validate against them, the copies
//! shipped in `docs/schema/` are current, and completions and the man page are generated.

mod support;

use mongrate::app::project::editor_schema;
use mongrate::cli::SchemaKind;
use serde_json::Value;
use support::json_schema::check;

/// The keys the loader accepts somewhere, from its own "unknown key ...; expected one of: ..."
/// message for a file with a key it does not know at that place.
fn loader_keys<T: serde::de::DeserializeOwned + std::fmt::Debug>(text: &str) -> Vec<String> {
    let e = mongrate::yaml::from_str::<T>(text).unwrap_err();
    let list = e
        .message
        .split("expected one of: ")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}: {}", e.message));
    list.split(", ").map(str::to_string).collect()
}

/// The property names the schema gives at `pointer` (following one `$ref`).
fn schema_keys(schema: &Value, pointer: &str) -> Vec<String> {
    let mut node = schema
        .pointer(pointer)
        .unwrap_or_else(|| panic!("{pointer}"));
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        node = schema.pointer(&r[1..]).unwrap();
    }
    if let Some(any) = node.get("anyOf").and_then(Value::as_array) {
        let r = any[0]["$ref"].as_str().unwrap();
        node = schema.pointer(&r[1..]).unwrap();
    }
    let mut keys: Vec<String> = node["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{pointer}: {node}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn same(mut loader: Vec<String>, schema: Vec<String>, what: &str) {
    loader.sort();
    assert_eq!(loader, schema, "{what}: the loader's keys vs the schema's");
}

#[test]
fn every_key_the_loader_accepts_is_in_the_editor_schema() {
    type C = mongrate::spec::raw::CollectionFile;
    let col = editor_schema(SchemaKind::Collection);
    same(
        loader_keys::<C>("zz: 1\n"),
        schema_keys(&col, ""),
        "collection file",
    );
    same(
        loader_keys::<C>("fields: { a: { type: int, zz: 1 } }\n"),
        schema_keys(&col, "/$defs/Field"),
        "field",
    );
    same(
        loader_keys::<C>("indexes: [ { keys: { a: 1 }, zz: 1 } ]\n"),
        schema_keys(&col, "/$defs/IndexSpec"),
        "index",
    );
    same(
        loader_keys::<C>("options: { zz: 1 }\n"),
        schema_keys(&col, "/$defs/OptionsSpec"),
        "options",
    );
    same(
        loader_keys::<C>("options: { collation: { locale: en, zz: 1 } }\n"),
        schema_keys(&col, "/$defs/CollationSpec"),
        "collation",
    );
    same(
        loader_keys::<C>("options: { capped: { size: 1, zz: 1 } }\n"),
        schema_keys(&col, "/$defs/CappedSpec"),
        "capped",
    );
    same(
        loader_keys::<C>("options: { timeseries: { time_field: t, zz: 1 } }\n"),
        schema_keys(&col, "/$defs/TimeseriesSpec"),
        "timeseries",
    );
    same(
        loader_keys::<C>("validation: { zz: 1 }\n"),
        schema_keys(&col, "/$defs/ValidationSpec"),
        "validation",
    );
    same(
        loader_keys::<C>("view: { on: x, zz: 1 }\n"),
        schema_keys(&col, "/$defs/ViewSpec"),
        "view",
    );
    let db = editor_schema(SchemaKind::Database);
    same(
        loader_keys::<mongrate::spec::raw::DatabaseFile>("zz: 1\n"),
        schema_keys(&db, ""),
        "_database.yaml",
    );
    let cfg = editor_schema(SchemaKind::Config);
    type Cfg = mongrate::app::config::ConfigFile;
    same(
        loader_keys::<Cfg>("zz: 1\n"),
        schema_keys(&cfg, ""),
        "mongrate.yaml",
    );
    same(
        loader_keys::<Cfg>("environments: { prod: { zz: 1 } }\n"),
        schema_keys(&cfg, "/$defs/Settings"),
        "environment",
    );
    let mig = editor_schema(SchemaKind::Migration);
    type M = mongrate::migrate::MigrationFile;
    same(
        loader_keys::<M>("zz: 1\n"),
        schema_keys(&mig, ""),
        "migration file",
    );
    // Every operation, with its keys.
    let ops = loader_keys::<M>("up: [ { zz: {} } ]\n");
    let variants = mig["$defs"]["Operation"]["oneOf"].as_array().unwrap();
    let mut schema_ops: Vec<String> = variants
        .iter()
        .map(|v| {
            v.get("enum")
                .map(|e| e[0].as_str().unwrap().to_string())
                .unwrap_or_else(|| v["required"][0].as_str().unwrap().to_string())
        })
        .collect();
    schema_ops.sort();
    same(ops.clone(), schema_ops, "operations");
    for op in ops.iter().filter(|o| *o != "irreversible") {
        let loader = loader_keys::<M>(&format!("up: [ {{ {op}: {{ zz: 1 }} }} ]\n"));
        let v = variants
            .iter()
            .find(|v| v["required"][0] == op.as_str())
            .unwrap();
        let mut keys: Vec<String> = v["properties"][op]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        same(loader, keys, op);
    }
}

/// A YAML file as JSON (through the loader's own reader).
fn json_of(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    mongrate::yaml::from_str::<mongrate::yaml::Value>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_json()
}

fn yaml_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml") {
            out.push(p);
        }
    }
}

#[test]
fn the_repositorys_files_validate_against_the_editor_schemas() {
    let repo = support::repo();
    let mut files = Vec::new();
    yaml_files(&repo.join("schemas"), &mut files);
    yaml_files(&repo.join("fixtures/promptforge_live/schemas"), &mut files);
    let (col, db, mig) = (
        editor_schema(SchemaKind::Collection),
        editor_schema(SchemaKind::Database),
        editor_schema(SchemaKind::Migration),
    );
    let mut checked = 0;
    for f in &files {
        let schema = if f.file_name().unwrap() == "_database.yaml" {
            &db
        } else {
            &col
        };
        let mut v = json_of(f);
        if v.is_null() {
            v = Value::Object(Default::default());
        }
        let errs = check(schema, &v);
        assert!(errs.is_empty(), "{}: {errs:#?}", f.display());
        checked += 1;
    }
    let mut migrations = Vec::new();
    yaml_files(&repo.join("migrations"), &mut migrations);
    for f in &migrations {
        let errs = check(&mig, &json_of(f));
        assert!(errs.is_empty(), "{}: {errs:#?}", f.display());
        checked += 1;
    }
    assert!(checked > 70, "{checked} files");
    // And a mistake is caught.
    let bad: Value = serde_json::json!({ "fields": { "a": { "type": "strng" } }, "indexs": [] });
    assert!(!check(&col, &bad).is_empty());
}

#[test]
fn the_shipped_schemas_are_current_and_completions_and_man_are_generated() {
    for kind in [
        SchemaKind::Collection,
        SchemaKind::Database,
        SchemaKind::Migration,
        SchemaKind::Config,
    ] {
        let name = format!("{kind:?}").to_lowercase();
        let shipped = std::fs::read_to_string(
            support::repo().join(format!("docs/schema/{name}.schema.json")),
        )
        .unwrap_or_else(|_| {
            panic!("docs/schema/{name}.schema.json: run `mongrate schema-json --write docs/schema`")
        });
        let shipped: Value = serde_json::from_str(&shipped).unwrap();
        assert_eq!(
            shipped,
            editor_schema(kind),
            "docs/schema/{name}.schema.json is stale: run `mongrate schema-json --write docs/schema`"
        );
    }
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = support::mongrate()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("mongrate") && text.contains("pull") && text.contains("server-timeout"),
            "{shell}"
        );
    }
    let out = support::mongrate().arg("man").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(".TH mongrate") && text.contains("pull"),
        "{text}"
    );
}
