//! The JSON Schema of each command's `--format json` document, generated from its report type:
//! `docs/json/<command>.schema.json` (spaces as `-`). A test fails when the files differ from
//! what this generates (`MONGRATE_BLESS=1 cargo test --test contracts` rewrites them).

use super::ErrorView;
use super::apply::ApplyReport;
use super::backfill::BackfillReport;
use super::check::CheckReport;
use super::lint::{LintReport, RulesReport};
use super::migrate::{
    BaselineReport, GenerateReport, NewReport, ResolveReport, RunReport, StatusReport,
    UnlockReport, VerifyReport,
};
use super::plan::{DiffReport, PlanReport};
use super::project::{CompletionsReport, InitReport, ManReport, SchemaJsonReport, SeededReport};
use super::pull::PullReport;
use super::validate::{ValidateReport, ValidatorReport};
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

/// One command's JSON Schema: its command, and the schema.
pub struct Doc {
    pub command: &'static str,
    pub schema: Value,
}

impl Doc {
    /// Its file in `docs/json/`.
    pub fn file_name(&self) -> String {
        format!("{}.schema.json", self.command.replace(' ', "-"))
    }
}

/// Every command's JSON Schema.
pub fn all() -> Vec<Doc> {
    vec![
        doc::<ValidateReport>(
            "validate",
            "Every problem of the schema files (exit 0 when valid, 1 otherwise).",
        ),
        doc::<ValidatorReport>(
            "validator",
            "The `$jsonSchema` validator a collection gets.",
        ),
        doc::<SeededReport>("seed", "The fixture documents inserted."),
        doc::<PlanReport>(
            "plan",
            "The plan, per database (exit 0; 2 with --exit-code when it has steps).",
        ),
        doc::<DiffReport>(
            "diff",
            "The plan from one schemas folder to another (exit 0 when the same, 2 when they differ).",
        ),
        doc::<CheckReport>(
            "check",
            "Drift between the schemas and the server, per database; with --data the documents failing their schema (exit 0 in sync, 2 drift or failing documents).",
        ),
        doc::<crate::views::doctor::DoctorReport>(
            "doctor",
            "The server, the connected user, the state database and the project, and the problems among them (exit 0 none, 2 some).",
        ),
        doc::<ApplyReport>(
            "apply",
            "The plan and what running it did, per database (exit 0; 1 when not confirmed or a database failed).",
        ),
        doc::<BackfillReport>(
            "backfill",
            "Defaults filled, per collection and per database.",
        ),
        doc::<PullReport>(
            "pull",
            "The schema files pulled from a server, per collection and per database.",
        ),
        doc_of(
            "lint",
            "The changes between two versions of the schemas, each classified (exit 2 when unacknowledged findings reach --fail-on); with --rules, every rule.",
            vec![shape::<LintReport>, shape::<RulesReport>],
        ),
        doc::<GenerateReport>("migrate generate", "The migration files written."),
        doc::<NewReport>("migrate new", "The migration file written."),
        doc::<RunReport>(
            "migrate up",
            "The migrations run (or, with --dry-run, that would run), per history.",
        ),
        doc::<RunReport>(
            "migrate down",
            "The migrations rolled back (or, with --dry-run, that would be), per history.",
        ),
        doc::<StatusReport>(
            "migrate status",
            "Every migration of every history and where it stands (exit 2 with --exit-code when some are pending).",
        ),
        doc::<BaselineReport>(
            "migrate baseline",
            "The migrations recorded as applied without running them, per history.",
        ),
        doc::<VerifyReport>(
            "migrate verify",
            "Whether the migrations produce the schemas and every applied file is unchanged (exit 0 ok, 2 problems).",
        ),
        doc::<ResolveReport>(
            "migrate resolve",
            "A failed or interrupted migration marked rolled back or applied.",
        ),
        doc::<UnlockReport>(
            "migrate unlock",
            "The migration lock, and whether it was broken (exit 1 when held and left).",
        ),
        doc::<InitReport>("init", "The project files written."),
        doc::<SchemaJsonReport>(
            "schema-json",
            "The editor schemas of the file formats, or the files written.",
        ),
        doc::<CompletionsReport>("completions", "A shell completion script."),
        doc::<ManReport>("man", "The manual page."),
    ]
}

type Shape = fn(&mut SchemaGenerator) -> Value;

fn shape<T: schemars::JsonSchema>(g: &mut SchemaGenerator) -> Value {
    g.root_schema_for::<T>().to_value()
}

fn doc<T: schemars::JsonSchema>(command: &'static str, description: &str) -> Doc {
    doc_of(command, description, vec![shape::<T>])
}

/// The document of `command`: one of `shapes` with `format_version` and `command`, or the error.
fn doc_of(command: &'static str, description: &str, shapes: Vec<Shape>) -> Doc {
    let mut g = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut defs = Map::new();
    let mut one_of = Vec::new();
    for shape in shapes {
        let mut s = shape(&mut g);
        if let Some(Value::Object(d)) = s.as_object_mut().and_then(|o| o.remove("$defs")) {
            defs.extend(d);
        }
        envelop(&mut s, command);
        one_of.push(s);
    }
    let mut error = shape::<Failed>(&mut g);
    if let Some(Value::Object(d)) = error.as_object_mut().and_then(|o| o.remove("$defs")) {
        defs.extend(d);
    }
    envelop(&mut error, command);
    defs.insert("error".into(), error);
    // Reports are written, never read back: an object has exactly the fields its type says.
    for def in defs.values_mut().filter_map(Value::as_object_mut) {
        if def.contains_key("properties") {
            def.entry("additionalProperties").or_insert(json!(false));
        }
    }
    one_of.push(json!({ "$ref": "#/$defs/error" }));
    let file = command.replace(' ', "-");
    Doc {
        command,
        schema: json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": format!("https://mongrate.dev/json/{file}.schema.json"),
            "title": format!("mongrate {command} --format json"),
            "description": description,
            "oneOf": one_of,
            "$defs": defs,
        }),
    }
}

/// A failed run's document.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct Failed {
    error: ErrorView,
}

/// Every document has `format_version` and `command`, and nothing else beyond its fields.
fn envelop(schema: &mut Value, command: &str) {
    let Some(o) = schema.as_object_mut() else {
        return;
    };
    for key in ["$schema", "title", "description"] {
        o.remove(key);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = o.get_mut(key) {
            for b in branches {
                envelop(b, command);
            }
            return;
        }
    }
    let properties = o
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("properties is an object");
    let mut first = Map::new();
    first.insert(
        "format_version".into(),
        json!({ "const": super::FORMAT_VERSION }),
    );
    first.insert("command".into(), json!({ "const": command }));
    first.extend(std::mem::take(properties));
    *properties = first;
    let required = o
        .entry("required")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .expect("required is a list");
    required.insert(0, json!("command"));
    required.insert(0, json!("format_version"));
    o.insert("additionalProperties".into(), json!(false));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/json/` is what the report types generate; `MONGRATE_BLESS=1` rewrites it.
    #[test]
    fn docs_json_is_generated_from_the_reports() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json");
        let bless = std::env::var_os("MONGRATE_BLESS").is_some();
        let mut stale = Vec::new();
        let docs = all();
        for doc in &docs {
            let path = dir.join(doc.file_name());
            let text = serde_json::to_string_pretty(&doc.schema).unwrap() + "\n";
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                if bless {
                    std::fs::write(&path, &text).unwrap();
                } else {
                    stale.push(path.display().to_string());
                }
            }
        }
        let known: Vec<String> = docs.iter().map(|d| d.file_name()).collect();
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if !known.contains(&name) {
                stale.push(format!("{name} (no command has this shape)"));
            }
        }
        assert!(
            stale.is_empty(),
            "docs/json is stale: {stale:?}; run `MONGRATE_BLESS=1 cargo test --lib docs_json` and review the diff"
        );
    }

    #[test]
    fn every_operation_type_is_listed() {
        let schema = schemars::schema_for!(crate::ops::Operation).to_value();
        let text = schema.to_string();
        for t in crate::ops::Operation::TYPES {
            assert!(text.contains(&format!("\"{t}\"")), "{t}");
        }
        let variants = schema["oneOf"].as_array().map(|v| v.len()).unwrap_or(0);
        assert_eq!(variants, crate::ops::Operation::TYPES.len(), "{schema:#}");
    }
}
