//! Semantic checks: turn the raw YAML structs into a checked [`CollectionSpec`], reporting
//! every problem with its position. By keyword family: `collection` (a collection file's
//! top-level keys, views, validation, the lint/retire blocks), `fields` (names, types and
//! values; strings, numbers, arrays and objects), `values` (a YAML value as the BSON a type
//! takes, and the constraints it must meet), `options` (collection options, the shard key),
//! `indexes` (keys, options, collations).

mod collection;
mod fields;
mod indexes;
mod options;
mod values;

#[allow(unused_imports)]
use collection::*;
#[allow(unused_imports)]
use fields::*;
#[allow(unused_imports)]
use indexes::*;
#[allow(unused_imports)]
use options::*;
#[allow(unused_imports)]
use values::*;

use super::pos::PosIndex;
use super::raw::{
    AdditionalFields, CollationSpec, CollectionFile, DatabaseFile, FieldSpec, IndexSpec,
    OptionsSpec, TypeSpec, ValidationSpec,
};
use super::{
    CollectionSpec, DatabaseSource, DatabaseSpec, DefaultValue, Diagnostic, Field, FieldMore,
    FieldType, Severity, TypeList, Validation,
};
use crate::model::{
    self, Capped, CollectionOptions, IndexKind, Timeseries, ValidationAction, ValidationLevel,
};
use crate::yaml::{Value, show};
use bson::{Bson, Document};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A problem found by the checks, located by its path in the file until positions are known.
struct Pending {
    severity: Severity,
    path: Vec<String>,
    /// Point at the key of `path` rather than at its value.
    at_key: bool,
    message: String,
}

/// Collects the problems of one file. Positions are looked up once, at the end, and only for
/// the paths that have a problem, so a valid file costs no position index at all.
struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
    pending: Vec<Pending>,
}

/// At most this many problems are listed per file; the rest are counted.
const MAX_PROBLEMS_PER_FILE: usize = 200;

impl<'a> Ctx<'a> {
    fn new(file: &'a Path, text: &'a str) -> Self {
        Self {
            file,
            text,
            pending: Vec::new(),
        }
    }
    fn push(&mut self, severity: Severity, path: &[String], at_key: bool, message: String) {
        if self.pending.len() > MAX_PROBLEMS_PER_FILE {
            // Counted in the last entry, which says how many more there are.
            if let Some(last) = self.pending.last_mut() {
                last.path.clear();
                let more = last
                    .message
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0)
                    + 1;
                last.message = format!(
                    "{} more {} in this file {} not listed; fix the ones above first",
                    more,
                    if more == 1 { "problem" } else { "problems" },
                    if more == 1 { "is" } else { "are" }
                );
            }
            return;
        }
        if self.pending.len() == MAX_PROBLEMS_PER_FILE {
            self.pending.push(Pending {
                severity: Severity::Error,
                path: Vec::new(),
                at_key: true,
                message: "1 more problem in this file is not listed; fix the ones above first"
                    .into(),
            });
            return;
        }
        self.pending.push(Pending {
            severity,
            path: path.to_vec(),
            at_key,
            message,
        });
    }
    /// An error pointing at the key of `path`.
    fn error_key(&mut self, path: &[String], message: impl Into<String>) {
        self.push(Severity::Error, path, true, message.into());
    }
    /// An error pointing at the value of `path`.
    fn error(&mut self, path: &[String], message: impl Into<String>) {
        self.push(Severity::Error, path, false, message.into());
    }
    fn warn(&mut self, path: &[String], message: impl Into<String>) {
        self.push(Severity::Warning, path, false, message.into());
    }
    /// Resolve positions and hand the diagnostics over.
    fn finish(self, diags: &mut Vec<Diagnostic>) {
        if self.pending.is_empty() {
            return;
        }
        let pos = PosIndex::build_for(self.text, self.pending.iter().map(|p| p.path.as_slice()));
        for p in self.pending {
            let at = if p.path.is_empty() {
                super::pos::Pos { line: 1, column: 1 }
            } else if p.at_key {
                pos.key(&p.path)
            } else {
                pos.value(&p.path)
            };
            diags.push(Diagnostic {
                severity: p.severity,
                file: self.file.to_path_buf(),
                line: at.line,
                column: at.column,
                message: crate::yaml::tidy(&p.message),
            });
        }
    }
}

fn p(base: &[String], more: &[&str]) -> Vec<String> {
    let mut v = base.to_vec();
    v.extend(more.iter().map(|s| s.to_string()));
    v
}

/// Parse a YAML file, turning a failure into a positioned diagnostic. An empty file is an
/// empty mapping.
fn parse_yaml<T: serde::de::DeserializeOwned>(
    file: &Path,
    text: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    match crate::yaml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(Diagnostic {
                severity: Severity::Error,
                file: file.to_path_buf(),
                line: e.line,
                column: e.column,
                message: e.message,
            });
            None
        }
    }
}

/// Check one database folder.
pub(super) fn check_database(source: &DatabaseSource, diags: &mut Vec<Diagnostic>) -> DatabaseSpec {
    let mut db = DatabaseSpec {
        name: source.name.clone(),
        ..Default::default()
    };
    check_database_name(source, diags);
    let (defaults, retire_after) = read_database_file(source, &mut db, diags);
    let mut seen: HashMap<String, std::path::PathBuf> = HashMap::new();
    for (file, text) in &source.collection_files {
        let Some(mut spec) = read_collection_file(&source.name, file, text, &defaults, diags)
        else {
            continue;
        };
        if spec.retire_after.is_none() && spec.options.view.is_none() {
            spec.retire_after = retire_after;
        }
        if let Some(first) = seen.get(&spec.name) {
            let mut ctx = Ctx::new(file, text);
            ctx.error_key(
                &["collection".to_string()],
                format!(
                    "collection `{}.{}` is already declared in {}; declare each collection in one file",
                    source.name,
                    spec.name,
                    first.display()
                ),
            );
            ctx.finish(diags);
            continue;
        }
        seen.insert(spec.name.clone(), file.clone());
        db.collections.insert(spec.name.clone(), spec);
    }
    db
}

/// A problem with a whole file, reported at its first line.
fn whole_file(file: &std::path::Path, severity: Severity, message: String) -> Diagnostic {
    Diagnostic {
        severity,
        file: file.to_path_buf(),
        line: 1,
        column: 1,
        message,
    }
}

/// The folder's name: not one of MongoDB's own databases, and (a template's every
/// instance) a valid database name.
fn check_database_name(source: &DatabaseSource, diags: &mut Vec<Diagnostic>) {
    let file = source
        .database_file
        .as_ref()
        .or(source.collection_files.first())
        .map(|(f, _)| f.clone())
        .unwrap_or_default();
    if matches!(source.name.as_str(), "admin" | "local" | "config") {
        diags.push(whole_file(
            &file,
            Severity::Error,
            format!(
                "database folder `{}`: `admin`, `local` and `config` are MongoDB's own databases, which mongrate never manages; rename the folder",
                source.name
            ),
        ));
    }
    // A template (`tenant_*`) names many databases: each must be a valid name.
    let literal = source.name.replace(['*', '?'], "x");
    if let Some(problem) = crate::names::database_problem(&literal) {
        diags.push(whole_file(
            &file,
            Severity::Error,
            format!("database folder `{}`: {problem}", source.name),
        ));
    }
}

/// `_database.yaml`: description, ignored collections, a template's exclusions, and the
/// defaults its collections inherit (validation, `retire_after` in seconds).
fn read_database_file(
    source: &DatabaseSource,
    db: &mut DatabaseSpec,
    diags: &mut Vec<Diagnostic>,
) -> (ValidationSpec, Option<i64>) {
    let Some((file, text)) = &source.database_file else {
        return (ValidationSpec::default(), None);
    };
    if let Some(why) = crate::yaml::empty_document(text) {
        diags.push(whole_file(
            file,
            Severity::Warning,
            format!("{why}: it sets no defaults for `{}`", source.name),
        ));
        return (ValidationSpec::default(), None);
    }
    let Some(raw) = parse_yaml::<DatabaseFile>(file, text, diags) else {
        return (ValidationSpec::default(), None);
    };
    let mut retire_after = None;
    if let Some(v) = &raw.retire_after {
        let mut ctx = Ctx::new(file, text);
        match parse_duration(v) {
            Ok(s) => retire_after = Some(s),
            Err(e) => ctx.error(&["retire_after".to_string()], format!("retire_after: {e}")),
        }
        ctx.finish(diags);
    }
    if !raw.exclude.is_empty() && !crate::names::is_template(&source.name) {
        diags.push(whole_file(
            file,
            Severity::Error,
            format!(
                "`exclude` applies to a template folder (a name with `*` or `?`, e.g. `tenant_*`); `{}` names one database",
                source.name
            ),
        ));
    }
    db.description = raw.description;
    db.ignore_collections = raw.ignore_collections;
    db.exclude = raw.exclude;
    (raw.validation.unwrap_or_default(), retire_after)
}

/// One collection file, read and checked (its problems pushed to `diags`).
fn read_collection_file(
    database: &str,
    file: &std::path::Path,
    text: &str,
    defaults: &ValidationSpec,
    diags: &mut Vec<Diagnostic>,
) -> Option<CollectionSpec> {
    if let Some(why) = crate::yaml::empty_document(text) {
        diags.push(whole_file(
            file,
            Severity::Error,
            format!(
                "{why}: a collection file declares at least `collection: <name>` (delete the file if it declares nothing)"
            ),
        ));
        return None;
    }
    let mut ctx = Ctx::new(file, text);
    FIELD_CHECKS.with(|c| *c.borrow_mut() = Some(Vec::new()));
    let parsed = parse_yaml::<CollectionFile>(file, text, diags);
    let field_problems = FIELD_CHECKS
        .with(|c| c.borrow_mut().take())
        .unwrap_or_default();
    let raw = parsed?;
    ctx.pending = field_problems;
    let spec = check_collection(&mut ctx, database, raw, defaults);
    ctx.finish(diags);
    Some(spec)
}

thread_local! {
    /// The problems of the fields of the collection file being read (see [`CheckedFields`]).
    static FIELD_CHECKS: std::cell::RefCell<Option<Vec<Pending>>> =
        const { std::cell::RefCell::new(None) };
}

impl schemars::JsonSchema for CheckedFields {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Fields".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let field = generator.subschema_for::<FieldSpec>();
        schemars::json_schema!({ "type": "object", "additionalProperties": field })
    }
}

/// A collection's `fields`, checked one by one as they are read, so that the raw declarations
/// of a file with a million fields never exist all at once. The problems found go to the
/// checks of the file being read (positions are resolved with the others at the end).
#[derive(Debug, Default)]
pub struct CheckedFields(pub crate::spec::FieldMap);

impl<'de> serde::Deserialize<'de> for CheckedFields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = CheckedFields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<CheckedFields, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    let spec: FieldSpec = map.next_value()?;
                    let path = vec!["fields".to_string(), name.clone()];
                    let mut ctx = Ctx::new(Path::new(""), "");
                    ctx.pending = FIELD_CHECKS
                        .with(|c| c.borrow_mut().as_mut().map(std::mem::take))
                        .unwrap_or_default();
                    let field = check_field(&mut ctx, &path, &name, &spec);
                    FIELD_CHECKS.with(|c| {
                        if let Some(pending) = c.borrow_mut().as_mut() {
                            *pending = ctx.pending;
                        }
                    });
                    out.push((name, field));
                }
                Ok(CheckedFields(out.into_iter().collect()))
            }
        }
        d.deserialize_map(V)
    }
}

/// The largest document (and command) the server accepts: 16 MiB.
pub const MAX_BSON_SIZE: usize = 16 * 1024 * 1024;
