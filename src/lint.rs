//! `mongrate lint`: every change between two versions of the schemas, classified `safe`,
//! `risky` or `breaking` by a rule, with a one-line reason and what to do instead. Pure: two
//! checked schema trees in, findings out (positions are looked up by the command, which reads
//! the files).

use crate::model::{Index, SearchIndex, ValidationAction, ValidationLevel};
use crate::spec::{AdditionalFields, CollectionSpec, Field, FieldMap, SchemaSpec};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use crate::rules::{RULES, Severity, advice_of, severity_of};

/// One classified change.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub database: String,
    pub collection: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// What changed, in one line.
    pub message: String,
    /// Why it matters and what to do instead.
    pub advice: &'static str,
    /// The schema file the change is in (the old one for a removed collection).
    pub file: PathBuf,
    /// Its line there (1-based; 0 when unknown), looked up by the command.
    pub line: usize,
    /// With a server (`--uri`): the number the data gives (documents refused or deleted,
    /// operations served by an index, duplicate groups), and what it means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Acknowledged in the schema file (`lint: { allow: [...] }`), with its reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<String>,
    /// Where in the YAML the change is (for the line).
    #[serde(skip)]
    #[schemars(skip)]
    pub yaml_path: Vec<String>,
    /// What the data can say about this change (with `--uri`): which documents it concerns.
    #[serde(skip)]
    #[schemars(skip)]
    pub question: Option<Question>,
}

/// The documents a finding is about, for `lint --uri` to count: each count is of what its own
/// finding says, never of everything a new validator would refuse.
#[derive(Debug, Clone, PartialEq)]
pub enum Question {
    /// Documents failing `{ $jsonSchema: schema }` (a schema of this one change alone), with
    /// what they do, for the sentence: `3 documents <what>`.
    Failing {
        schema: bson::Document,
        what: String,
    },
    /// Documents the collection's whole new validator refuses (a change of validation level or
    /// action is about all of them).
    NewValidator,
    /// Every document of the collection (a dropped collection).
    Documents,
}

/// The parts of a field path as lint names it: `a.b`, `tags[]`, `items[].sku`.
fn path_parts(name: &str) -> Vec<(String, usize)> {
    name.split('.')
        .map(|part| {
            let base = part.trim_end_matches("[]");
            (base.to_string(), (part.len() - base.len()) / 2)
        })
        .collect()
}

/// `schema` placed at the field `name`: `{ properties: { a: { items: <schema> } } }` for `a[]`.
pub fn schema_at(name: &str, schema: bson::Document) -> bson::Document {
    let mut inner = schema;
    for (base, arrays) in path_parts(name).into_iter().rev() {
        for _ in 0..arrays {
            inner = bson::doc! { "items": inner };
        }
        inner = bson::doc! { "properties": { base: inner } };
    }
    inner
}

/// `make(leaf)` placed at the object holding the field `name` (`{ required: [leaf] }` there
/// says the field must be present wherever its parent is an object).
pub fn schema_at_parent(name: &str, make: impl FnOnce(&str) -> bson::Document) -> bson::Document {
    match name.rsplit_once('.') {
        Some((parent, leaf)) => schema_at(parent, make(leaf)),
        None => make(name),
    }
}

/// The keywords of a field's schema that a tightened constraint (`what`, as lint names it)
/// adds.
fn tightened_keywords(what: &[String], n: &Field) -> bson::Document {
    let full = crate::spec::jsonschema::field_schema(n);
    let mut out = bson::Document::new();
    for w in what {
        let key = match w.as_str() {
            "min_length" => "minLength",
            "max_length" => "maxLength",
            "min_items" => "minItems",
            "max_items" => "maxItems",
            "unique_items" => "uniqueItems",
            "additional_fields: deny" => "additionalProperties",
            other => other,
        };
        if let Some(v) = full.get(key) {
            out.insert(key, v.clone());
        }
        if key == "additionalProperties"
            && let Ok(props) = full.get_document("properties")
        {
            let names: bson::Document = props
                .keys()
                .map(|k| (k.clone(), bson::Bson::Document(bson::Document::new())))
                .collect();
            out.insert("properties", names);
        }
    }
    out
}

struct Sink<'a> {
    db: &'a str,
    coll: &'a str,
    file: &'a std::path::Path,
    out: Vec<Finding>,
    /// The new collection's declared evolutions: old path → the field that evolves from it.
    sources: BTreeMap<String, String>,
}

impl Sink<'_> {
    fn push(
        &mut self,
        rule: &'static str,
        message: String,
        field: Option<&str>,
        index: Option<&str>,
        yaml_path: Vec<String>,
    ) {
        self.out.push(Finding {
            rule,
            severity: severity_of(rule).unwrap_or(Severity::Risky),
            database: self.db.to_string(),
            collection: self.coll.to_string(),
            field: field.map(str::to_string),
            index: index.map(str::to_string),
            message,
            advice: advice_of(rule),
            file: self.file.to_path_buf(),
            line: 0,
            count: None,
            evidence: None,
            allowed: None,
            yaml_path,
            question: None,
        });
    }

    /// What the data can say about the finding just pushed.
    fn ask(&mut self, question: Question) {
        if let Some(f) = self.out.last_mut() {
            f.question = Some(question);
        }
    }

    /// The documents lacking the field `name` (where its parent is an object).
    fn ask_missing(&mut self, name: &str) {
        self.ask(Question::Failing {
            schema: schema_at_parent(name, |leaf| bson::doc! { "required": [leaf] }),
            what: format!("lack `{name}`"),
        });
    }
}

/// A declared evolution whose old path the old schema does not declare: a misspelt
/// `renamed_from` would migrate nothing and leave the real field behind.
fn evolution_sources(sink: &mut Sink, old: &CollectionSpec, new: &CollectionSpec) {
    let declared = crate::spec::field_paths(&old.fields);
    for (path, f) in crate::spec::evolving_fields(&new.fields) {
        let Some(from) = f.more().evolve.as_ref().and_then(|e| e.from.clone()) else {
            continue;
        };
        if declared.contains(&from) {
            continue;
        }
        let at = crate::spec::field_key_path(&path, "renamed_from");
        sink.push(
            "evolution-source-missing",
            format!("field `{path}`: `renamed_from: {from}` names a path the old schema does not declare"),
            Some(&path),
            None,
            at,
        );
        sink.ask(Question::Failing {
            schema: schema_at_parent(&from, |leaf| bson::doc! { "not": { "required": [leaf] } }),
            what: format!("have `{from}`"),
        });
    }
}

/// With counts from the server: a finding that is only as bad as the documents it concerns
/// (`evolution-dropped`: documents still in the old shape) becomes breaking when there are any.
pub fn escalate(findings: &mut [Finding]) {
    for f in findings {
        if f.rule == "evolution-dropped" && f.count.is_some_and(|n| n > 0) {
            f.severity = Severity::Breaking;
        }
    }
}

/// Every change from `old` to `new`, classified; acknowledged ones carry their reason.
pub fn lint(old: &SchemaSpec, new: &SchemaSpec) -> Vec<Finding> {
    let mut out = Vec::new();
    for (db, n) in &new.databases {
        for (name, c) in &n.collections {
            let mut sink = Sink {
                db,
                coll: name,
                file: &c.file,
                out: Vec::new(),
                sources: crate::spec::evolving_fields(&c.fields)
                    .into_iter()
                    .filter_map(|(path, f)| Some((f.more().evolve.as_ref()?.from.clone()?, path)))
                    .collect(),
            };
            match old.collection(db, name) {
                None => sink.push(
                    "collection-added",
                    format!("collection `{db}.{name}` added"),
                    None,
                    None,
                    vec!["collection".into()],
                ),
                Some(o) => collection(&mut sink, o, c),
            }
            for f in &mut sink.out {
                if let Some((_, reason)) = c.lint_allow.iter().find(|(r, _)| r == f.rule) {
                    f.allowed = Some(reason.clone());
                }
            }
            out.extend(sink.out);
        }
    }
    for (db, o) in &old.databases {
        for (name, c) in &o.collections {
            if new.collection(db, name).is_none() {
                let mut sink = Sink {
                    db,
                    coll: name,
                    file: &c.file,
                    out: Vec::new(),
                    sources: BTreeMap::new(),
                };
                sink.push(
                    "collection-dropped",
                    format!("collection `{db}.{name}` is no longer declared"),
                    None,
                    None,
                    vec!["collection".into()],
                );
                sink.ask(Question::Documents);
                out.extend(sink.out);
            }
        }
    }
    out
}

fn collection(sink: &mut Sink, old: &CollectionSpec, new: &CollectionSpec) {
    let (o, n) = (&old.options, &new.options);
    if o.collation != n.collation
        || o.capped != n.capped
        || o.timeseries != n.timeseries
        || o.clustered != n.clustered
    {
        sink.push(
            "collection-recreate",
            format!("options fixed at creation changed for `{}`", sink.coll),
            None,
            None,
            vec!["options".into()],
        );
    }
    validation(sink, old, new);
    fields(sink, "", &["fields".to_string()], &old.fields, &new.fields);
    evolution_sources(sink, old, new);
    indexes(sink, &old.indexes, &new.indexes, new.retire_after);
    search_indexes(sink, &old.search_indexes, &new.search_indexes);
}

/// Search indexes added, changed (rebuilt: queries use the old definition until the new one is
/// queryable) or no longer declared.
fn search_indexes(sink: &mut Sink, old: &[SearchIndex], new: &[SearchIndex]) {
    let path = |i: usize| vec!["search_indexes".to_string(), i.to_string()];
    for (i, n) in new.iter().enumerate() {
        match old.iter().find(|o| o.name == n.name) {
            None => sink.push(
                "search-index-added",
                format!("search index `{}` ({}) added", n.name, n.kind),
                None,
                Some(&n.name),
                path(i),
            ),
            Some(o)
                if o.kind != n.kind
                    || !SearchIndex::same_definition(&o.definition, &n.definition) =>
            {
                sink.push(
                    "search-index-changed",
                    format!("search index `{}`: its definition changed", n.name),
                    None,
                    Some(&n.name),
                    path(i),
                )
            }
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|n| n.name == o.name) {
            sink.push(
                "search-index-removed",
                format!("search index `{}` is no longer declared", o.name),
                None,
                Some(&o.name),
                vec!["search_indexes".into()],
            );
        }
    }
}

fn validation(sink: &mut Sink, old: &CollectionSpec, new: &CollectionSpec) {
    let (o, n) = (&old.validation, &new.validation);
    let path = vec!["validation".to_string()];
    let level = |v: &crate::spec::Validation| {
        if !v.enabled {
            0
        } else {
            match v.level {
                ValidationLevel::Off => 0,
                ValidationLevel::Moderate => 1,
                ValidationLevel::Strict => 2,
            }
        }
    };
    let action = |a: ValidationAction| matches!(a, ValidationAction::Error) as u8;
    if level(n) > level(o) {
        sink.push(
            "validation-level-strict",
            format!(
                "validation {} → {}",
                if o.enabled {
                    o.level.as_str()
                } else {
                    "disabled"
                },
                n.level.as_str()
            ),
            None,
            None,
            path.clone(),
        );
        sink.ask(Question::NewValidator);
    }
    if n.enabled && action(n.action) > action(o.action) {
        sink.push(
            "validation-action-error",
            "validation action warn → error".into(),
            None,
            None,
            path.clone(),
        );
        sink.ask(Question::NewValidator);
    }
    if level(n) < level(o) || action(n.action) < action(o.action) {
        sink.push(
            "validation-loosened",
            "validation loosened".into(),
            None,
            None,
            path.clone(),
        );
    }
    if o.additional_fields == AdditionalFields::Allow
        && n.additional_fields == AdditionalFields::Deny
    {
        sink.push(
            "constraint-tightened",
            "additional_fields allow → deny: documents with undeclared fields fail".into(),
            None,
            None,
            path,
        );
        let mut declared: bson::Document = new
            .fields
            .keys()
            .map(|k| (k.clone(), bson::Bson::Document(bson::Document::new())))
            .collect();
        declared.insert("_id", bson::Document::new());
        sink.ask(Question::Failing {
            schema: bson::doc! { "properties": declared, "additionalProperties": false },
            what: "have fields the schema does not declare".into(),
        });
    }
}

fn type_names(f: &Field) -> Vec<String> {
    let mut t: Vec<String> = f.types.iter().map(|t| t.name().to_string()).collect();
    if f.nullable {
        t.push("null".into());
    }
    t.sort();
    t
}

/// Do the two declarations look alike (for a rename)?
fn alike(a: &Field, b: &Field) -> bool {
    a.types == b.types && a.nullable == b.nullable && a.fields == b.fields && a.items == b.items
}

fn fields(sink: &mut Sink, prefix: &str, path: &[String], old: &FieldMap, new: &FieldMap) {
    let full = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        }
    };
    let at = |name: &str| {
        let mut p = path.to_vec();
        p.push(name.to_string());
        p
    };
    let removed: Vec<(&String, &Field)> =
        old.iter().filter(|(k, _)| !new.contains_key(k)).collect();
    let mut renamed_to: Vec<&str> = Vec::new();
    for (name, o) in &removed {
        // Removed because a field declares it evolves from it: the phases take care of it.
        if let Some(to) = sink.sources.get(&full(name)).cloned() {
            sink.push(
                "field-evolved",
                format!(
                    "field `{}` becomes `{to}` (declared: renamed_from)",
                    full(name)
                ),
                Some(&to),
                None,
                path.to_vec(),
            );
            continue;
        }
        // Removed, and one added declared the same way: likely a rename.
        let twin = new.iter().find(|(k, f)| {
            !old.contains_key(k) && alike(o, f) && !renamed_to.contains(&k.as_str())
        });
        match twin {
            Some((to, _)) => {
                renamed_to.push(to);
                sink.push(
                    "field-renamed",
                    format!(
                        "field `{}` removed and `{}` added with the same declaration",
                        full(name),
                        full(to)
                    ),
                    Some(&full(to)),
                    None,
                    at(to),
                );
                let old_name = full(name);
                sink.ask(Question::Failing {
                    schema: schema_at_parent(&old_name, |leaf| {
                        bson::doc! { "not": { "required": [leaf] } }
                    }),
                    what: format!("still have `{old_name}`"),
                });
            }
            None => sink.push(
                "field-removed",
                format!("field `{}` removed", full(name)),
                Some(&full(name)),
                None,
                path.to_vec(),
            ),
        }
    }
    for (name, n) in new.iter() {
        let Some(o) = old.get(name) else {
            if renamed_to.contains(&name.as_str())
                || n.more().evolve.as_ref().is_some_and(|e| e.from.is_some())
            {
                continue;
            }
            let (rule, what) = match (n.required, n.more().default.is_some()) {
                (true, false) => ("field-required-added", "added, required, no default"),
                (true, true) => (
                    "field-required-with-default",
                    "added, required, with a default",
                ),
                (false, _) => ("field-added", "added"),
            };
            sink.push(
                rule,
                format!("field `{}` {what}", full(name)),
                Some(&full(name)),
                None,
                at(name),
            );
            if n.required {
                sink.ask_missing(&full(name));
            }
            continue;
        };
        field(sink, &full(name), &at(name), o, n);
    }
}

fn field(sink: &mut Sink, name: &str, path: &[String], o: &Field, n: &Field) {
    let push =
        |sink: &mut Sink, rule, msg: String| sink.push(rule, msg, Some(name), None, path.to_vec());
    // Types: `any` (empty) accepts everything.
    let accepts_all_old =
        n.types.is_empty() || (!o.types.is_empty() && o.types.iter().all(|t| n.types.contains(t)));
    let null_kept = n.nullable || !o.nullable;
    let converts = n
        .more()
        .evolve
        .as_ref()
        .is_some_and(|e| e.convert.is_some());
    if let (Some(e), None) = (&o.more().evolve, &n.more().evolve) {
        // The declaration goes: the schema now says only the new shape. Documents still in
        // the old one would fail the strict validator (counted with `--uri`).
        push(
            sink,
            "evolution-dropped",
            format!(
                "field `{name}`: the declared evolution ({}) is removed",
                match (&e.from, &e.convert) {
                    (Some(f), _) => format!("renamed_from {f}"),
                    (None, _) => "convert".to_string(),
                }
            ),
        );
        let schema = match &e.from {
            Some(from) => {
                schema_at_parent(from, |leaf| bson::doc! { "not": { "required": [leaf] } })
            }
            None => match crate::spec::jsonschema::field_schema(n).get("bsonType") {
                Some(types) => schema_at(name, bson::doc! { "bsonType": types.clone() }),
                None => bson::Document::new(),
            },
        };
        if !schema.is_empty() {
            sink.ask(Question::Failing {
                schema,
                what: "still in the old shape".into(),
            });
        }
    }
    if converts && !(accepts_all_old && null_kept) {
        push(
            sink,
            "field-evolved",
            format!(
                "field `{name}`: {:?} → {:?}, converted in phases (declared: convert)",
                type_names(o),
                type_names(n)
            ),
        );
    } else if !(accepts_all_old && null_kept) {
        push(
            sink,
            "field-type-changed",
            format!("field `{name}`: {:?} → {:?}", type_names(o), type_names(n)),
        );
        if let Some(types) = crate::spec::jsonschema::field_schema(n).get("bsonType") {
            sink.ask(Question::Failing {
                schema: schema_at(name, bson::doc! { "bsonType": types.clone() }),
                what: format!("hold `{name}` as a type it no longer accepts"),
            });
        }
    } else if type_names(o) != type_names(n) {
        push(
            sink,
            "field-type-widened",
            format!("field `{name}`: {:?} → {:?}", type_names(o), type_names(n)),
        );
    }
    match (o.required, n.required) {
        (false, true) if n.more().default.is_none() => {
            push(
                sink,
                "field-required-added",
                format!("field `{name}` is now required, with no default"),
            );
            sink.ask_missing(name);
        }
        (false, true) => {
            push(
                sink,
                "field-required-with-default",
                format!("field `{name}` is now required"),
            );
            sink.ask_missing(name);
        }
        (true, false) => push(
            sink,
            "field-optional",
            format!("field `{name}` is now optional"),
        ),
        _ => {}
    }
    let (om, nm) = (o.more(), n.more());
    if om.default != nm.default && om.default.is_some() && nm.default.is_some() {
        push(
            sink,
            "default-changed",
            format!("field `{name}`: the default changed"),
        );
    }
    match (&om.enum_values, &nm.enum_values) {
        (Some(a), Some(b)) => {
            let gone: Vec<String> = a
                .iter()
                .filter(|v| !b.contains(v))
                .map(|v| v.to_string())
                .collect();
            if !gone.is_empty() {
                push(
                    sink,
                    "enum-value-removed",
                    format!(
                        "field `{name}`: enum {} {} removed",
                        if gone.len() == 1 { "value" } else { "values" },
                        gone.join(", ")
                    ),
                );
                let removed: Vec<bson::Bson> =
                    a.iter().filter(|v| !b.contains(v)).cloned().collect();
                sink.ask(Question::Failing {
                    schema: schema_at(name, bson::doc! { "not": { "enum": removed } }),
                    what: format!("hold a removed value ({}) in `{name}`", gone.join(", ")),
                });
            }
            if b.iter().any(|v| !a.contains(v)) {
                push(
                    sink,
                    "enum-value-added",
                    format!("field `{name}`: enum values added"),
                );
            }
        }
        (None, Some(_)) => {
            push(
                sink,
                "constraint-tightened",
                format!("field `{name}`: an enum now limits its values"),
            );
            if let Some(values) = crate::spec::jsonschema::field_schema(n).get("enum") {
                sink.ask(Question::Failing {
                    schema: schema_at(name, bson::doc! { "enum": values.clone() }),
                    what: format!("hold a value of `{name}` the new enum does not allow"),
                });
            }
        }
        (Some(_), None) => push(
            sink,
            "constraint-loosened",
            format!("field `{name}`: its enum was removed"),
        ),
        (None, None) => {}
    }
    let mut tightened = Vec::new();
    let mut loosened = Vec::new();
    let mut bound = |what: &str, a: Option<u64>, b: Option<u64>, lower: bool| match (a, b) {
        (a, b) if a == b => {}
        (None, Some(_)) => tightened.push(what.to_string()),
        (Some(_), None) => loosened.push(what.to_string()),
        (Some(a), Some(b)) if (b > a) == lower => tightened.push(what.to_string()),
        _ => loosened.push(what.to_string()),
    };
    bound("min_length", om.min_length, nm.min_length, true);
    bound("max_length", om.max_length, nm.max_length, false);
    bound("min_items", om.min_items, nm.min_items, true);
    bound("max_items", om.max_items, nm.max_items, false);
    let num = |b: &Option<Box<bson::Bson>>| {
        b.as_deref().and_then(|v| match v {
            bson::Bson::Int32(n) => Some(f64::from(*n)),
            bson::Bson::Int64(n) => Some(*n as f64),
            bson::Bson::Double(n) => Some(*n),
            _ => None,
        })
    };
    let mut range = |what: &str, a: Option<f64>, b: Option<f64>, lower: bool| match (a, b) {
        (a, b) if a == b => {}
        (None, Some(_)) => tightened.push(what.to_string()),
        (Some(_), None) => loosened.push(what.to_string()),
        (Some(a), Some(b)) if (b > a) == lower => tightened.push(what.to_string()),
        _ => loosened.push(what.to_string()),
    };
    range("minimum", num(&om.minimum), num(&nm.minimum), true);
    range("maximum", num(&om.maximum), num(&nm.maximum), false);
    if om.pattern != nm.pattern {
        if nm.pattern.is_some() {
            tightened.push("pattern".into());
        } else {
            loosened.push("pattern".into());
        }
    }
    if nm.unique_items == Some(true) && om.unique_items != Some(true) {
        tightened.push("unique_items".into());
    }
    if nm.additional_fields == Some(AdditionalFields::Deny)
        && om.additional_fields != Some(AdditionalFields::Deny)
    {
        tightened.push("additional_fields: deny".into());
    }
    if !tightened.is_empty() {
        push(
            sink,
            "constraint-tightened",
            format!("field `{name}`: {} tightened", tightened.join(", ")),
        );
        let keywords = tightened_keywords(&tightened, n);
        if !keywords.is_empty() {
            sink.ask(Question::Failing {
                schema: schema_at(name, keywords),
                what: format!("break the tightened {} of `{name}`", tightened.join(", ")),
            });
        }
    }
    if !loosened.is_empty() {
        push(
            sink,
            "constraint-loosened",
            format!("field `{name}`: {} loosened", loosened.join(", ")),
        );
    }
    // Nested objects and array elements.
    if let (Some(a), Some(b)) = (&o.fields, &n.fields) {
        let mut p = path.to_vec();
        p.push("fields".into());
        fields(sink, name, &p, a, b);
    }
    if let (Some(a), Some(b)) = (&o.items, &n.items) {
        let mut p = path.to_vec();
        p.push("items".into());
        field(sink, &format!("{name}[]"), &p, a, b);
    }
}

fn same_keys(a: &Index, b: &Index) -> bool {
    a.keys == b.keys
}

fn indexes(sink: &mut Sink, old: &[Index], new: &[Index], retire_after: Option<i64>) {
    let path = |i: usize| vec!["indexes".to_string(), i.to_string()];
    for o in old {
        if new.iter().any(|n| n.name == o.name) {
            continue;
        }
        if let Some((i, n)) = new
            .iter()
            .enumerate()
            .find(|(_, n)| same_keys(o, n) && !old.iter().any(|x| x.name == n.name))
        {
            sink.push(
                "index-replaced",
                format!("index `{}` replaced by `{}`", o.name, n.name),
                None,
                Some(&n.name),
                path(i),
            );
            continue;
        }
        let (rule, how) = match retire_after {
            Some(after) => (
                "index-retired",
                format!(
                    ": retired in two phases (hidden by `apply --prune`, dropped once hidden for {})",
                    crate::plan::show_duration(after)
                ),
            ),
            None => ("index-dropped", String::new()),
        };
        sink.push(
            rule,
            format!(
                "index `{}` {} is no longer declared{how}",
                o.name,
                o.key_document()
            ),
            None,
            Some(&o.name),
            vec!["indexes".into()],
        );
    }
    for (i, n) in new.iter().enumerate() {
        let previous = old.iter().find(|o| o.name == n.name).or_else(|| {
            old.iter()
                .find(|o| same_keys(o, n) && !new.iter().any(|x| x.name == o.name))
        });
        let Some(o) = previous else {
            let rule = if n.unique {
                "unique-index-added"
            } else {
                "index-added"
            };
            sink.push(
                rule,
                format!("index `{}` {} added", n.name, n.key_document()),
                None,
                Some(&n.name),
                path(i),
            );
            if let Some(ttl) = n.expire_after {
                sink.push(
                    "ttl-added",
                    format!("index `{}`: TTL {ttl}s added", n.name),
                    None,
                    Some(&n.name),
                    path(i),
                );
            }
            continue;
        };
        if o.name == n.name {
            let mut a = o.clone();
            let mut b = n.clone();
            (
                a.expire_after,
                b.expire_after,
                a.hidden,
                b.hidden,
                a.unique,
                b.unique,
            ) = (None, None, false, false, false, false);
            (a.name_declared, b.name_declared) = (false, false);
            if a != b {
                sink.push(
                    "index-replaced",
                    format!("index `{}`: its definition changed", n.name),
                    None,
                    Some(&n.name),
                    path(i),
                );
            }
        }
        if n.unique && !o.unique {
            sink.push(
                "unique-index-added",
                format!("index `{}` made unique", n.name),
                None,
                Some(&n.name),
                path(i),
            );
        }
        match (o.expire_after, n.expire_after) {
            (None, Some(t)) => sink.push(
                "ttl-added",
                format!("index `{}`: TTL {t}s added", n.name),
                None,
                Some(&n.name),
                path(i),
            ),
            (Some(a), Some(b)) if b < a => sink.push(
                "ttl-shortened",
                format!("index `{}`: TTL {a}s → {b}s", n.name),
                None,
                Some(&n.name),
                path(i),
            ),
            (Some(a), b) if b.is_none_or(|b| b > a) => sink.push(
                "ttl-lengthened",
                format!(
                    "index `{}`: TTL {a}s → {}",
                    n.name,
                    b.map(|b| format!("{b}s")).unwrap_or_else(|| "none".into())
                ),
                None,
                Some(&n.name),
                path(i),
            ),
            _ => {}
        }
    }
}

/// Findings at or above `fail_on` that nobody acknowledged: what makes `lint` exit 2.
pub fn failing(findings: &[Finding], fail_on: Severity) -> usize {
    findings
        .iter()
        .filter(|f| f.severity >= fail_on && f.allowed.is_none())
        .count()
}
