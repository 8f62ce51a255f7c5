//! Semantic checks: turn the raw YAML structs into a checked [`CollectionSpec`], reporting
//! every problem with its position.

use super::pos::PosIndex;
use super::raw::{
    AdditionalFields, CollationSpec, CollectionFile, DatabaseFile, FieldSpec, IndexSpec,
    OptionsSpec, TypeSpec, ValidationSpec,
};
use super::{
    CollectionSpec, DatabaseSource, DatabaseSpec, DefaultValue, Diagnostic, Field, FieldType,
    Severity, Validation,
};
use crate::model::{
    self, Capped, CollectionOptions, IndexKind, Timeseries, ValidationAction, ValidationLevel,
};
use bson::{Bson, Document};
use serde_yaml::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Reports problems of one file at positions taken from its [`PosIndex`].
struct Ctx<'a> {
    file: &'a Path,
    pos: PosIndex,
    diags: &'a mut Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn push(&mut self, severity: Severity, at: super::pos::Pos, message: String) {
        self.diags.push(Diagnostic {
            severity,
            file: self.file.to_path_buf(),
            line: at.line,
            column: at.column,
            message,
        });
    }
    /// An error pointing at the key of `path`.
    fn error_key(&mut self, path: &[String], message: impl Into<String>) {
        let at = self.pos.key(path);
        self.push(Severity::Error, at, message.into());
    }
    /// An error pointing at the value of `path`.
    fn error(&mut self, path: &[String], message: impl Into<String>) {
        let at = self.pos.value(path);
        self.push(Severity::Error, at, message.into());
    }
    fn warn(&mut self, path: &[String], message: impl Into<String>) {
        let at = self.pos.value(path);
        self.push(Severity::Warning, at, message.into());
    }
}

fn p(base: &[String], more: &[&str]) -> Vec<String> {
    let mut v = base.to_vec();
    v.extend(more.iter().map(|s| s.to_string()));
    v
}

/// Parse a YAML file with serde, turning a failure into a positioned diagnostic.
fn parse_yaml<T: serde::de::DeserializeOwned>(
    file: &Path,
    text: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    // An empty file is an empty mapping.
    let text = if text.trim().is_empty() { "{}" } else { text };
    match serde_yaml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            let (line, column, mut message) = super::yaml_error(&e);
            if message.contains("untagged enum TypeSpec") {
                message = message.replace(
                    "data did not match any variant of untagged enum TypeSpec",
                    "`type` must be a type name or a list of type names",
                );
            }
            diags.push(Diagnostic {
                severity: Severity::Error,
                file: file.to_path_buf(),
                line,
                column,
                message,
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
    let mut defaults = ValidationSpec::default();
    if let Some((file, text)) = &source.database_file
        && let Some(raw) = parse_yaml::<DatabaseFile>(file, text, diags)
    {
        db.description = raw.description;
        db.ignore_collections = raw.ignore_collections;
        defaults = raw.validation.unwrap_or_default();
    }
    if let Some(problem) = database_name_problem(&source.name) {
        let file = source
            .database_file
            .as_ref()
            .or(source.collection_files.first())
            .map(|(f, _)| f.clone())
            .unwrap_or_default();
        diags.push(Diagnostic {
            severity: Severity::Error,
            file,
            line: 1,
            column: 1,
            message: format!("database folder `{}`: {problem}", source.name),
        });
    }
    let mut seen: HashMap<String, std::path::PathBuf> = HashMap::new();
    for (file, text) in &source.collection_files {
        let Some(raw) = parse_yaml::<CollectionFile>(file, text, diags) else {
            continue;
        };
        let mut ctx = Ctx {
            file,
            pos: PosIndex::build(text),
            diags,
        };
        let Some(spec) = check_collection(&mut ctx, &source.name, raw, &defaults) else {
            continue;
        };
        if let Some(first) = seen.get(&spec.name) {
            ctx.error_key(
                &["collection".to_string()],
                format!(
                    "collection `{}.{}` is already declared in {}; declare each collection in one file",
                    source.name,
                    spec.name,
                    first.display()
                ),
            );
            continue;
        }
        seen.insert(spec.name.clone(), file.clone());
        db.collections.insert(spec.name.clone(), spec);
    }
    db
}

fn database_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() >= 64 {
        return Some("a database name must be 1 to 63 bytes long".into());
    }
    if let Some(c) = name.chars().find(|c| "/\\. \"$*<>:|?".contains(*c)) {
        return Some(format!("a database name cannot contain `{c}`"));
    }
    None
}

fn check_collection(
    ctx: &mut Ctx,
    database: &str,
    raw: CollectionFile,
    defaults: &ValidationSpec,
) -> Option<CollectionSpec> {
    let stem = ctx
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    let name = raw.collection.clone().unwrap_or(stem);
    let name_path = vec!["collection".to_string()];
    if name.is_empty() {
        ctx.error(&name_path, "collection name is empty");
    } else if name.contains('$') || name.contains('\0') {
        ctx.error(
            &name_path,
            format!("collection name `{name}` cannot contain `$` or NUL"),
        );
    } else if name.starts_with("system.") {
        ctx.error(
            &name_path,
            format!("`{name}`: names starting with `system.` are reserved by MongoDB"),
        );
    } else if database.len() + 1 + name.len() > 255 {
        ctx.error(
            &name_path,
            "namespace `<db>.<collection>` is longer than 255 bytes",
        );
    }

    let v = raw.validation.clone().unwrap_or_default();
    let validation = Validation {
        enabled: v.enabled.or(defaults.enabled).unwrap_or(true),
        level: v
            .level
            .or(defaults.level)
            .unwrap_or(ValidationLevel::Strict),
        action: v
            .action
            .or(defaults.action)
            .unwrap_or(ValidationAction::Error),
        additional_fields: v
            .additional_fields
            .or(defaults.additional_fields)
            .unwrap_or(AdditionalFields::Allow),
    };

    let mut fields = BTreeMap::new();
    for (fname, fspec) in &raw.fields {
        let path = vec!["fields".to_string(), fname.clone()];
        fields.insert(fname.clone(), check_field(ctx, &path, fname, fspec));
    }

    let options = raw
        .options
        .as_ref()
        .map(|o| check_options(ctx, o))
        .unwrap_or_default();

    let mut indexes: Vec<model::Index> = Vec::new();
    let mut index_paths: Vec<Vec<String>> = Vec::new();
    for (i, ispec) in raw.indexes.iter().enumerate() {
        let path = vec!["indexes".to_string(), i.to_string()];
        let Some(index) = check_index(ctx, &path, ispec, &fields) else {
            continue;
        };
        for (j, other) in indexes.iter().enumerate() {
            if other.keys == index.keys
                && other.collation == index.collation
                && other.partial == index.partial
            {
                ctx.error(
                    &p(&path, &["keys"]),
                    format!(
                        "index `{}` has the same keys, collation and partial filter as index #{} (`{}`); MongoDB identifies an index by these, so declare it once",
                        index.name,
                        j + 1,
                        other.name
                    ),
                );
            } else if other.name == index.name {
                ctx.error(
                    &p(&path, if ispec.name.is_some() { &["name"] } else { &["keys"] }),
                    format!(
                        "index name `{}` is already used by index #{}; give one of them a distinct `name`",
                        index.name,
                        j + 1
                    ),
                );
            }
        }
        index_paths.push(path);
        indexes.push(index);
    }
    if let Some(default) = &options.collation
        && default.get_str("locale") != Ok("simple")
    {
        for (index, path) in indexes.iter().zip(&index_paths) {
            if index.collation.is_none() && index.keys.iter().any(|(_, k)| *k == IndexKind::Text) {
                ctx.error(
                    &p(path, &["keys"]),
                    format!(
                        "text index `{}` cannot use the collection's default collation; add `collation: {{ locale: simple }}` to it",
                        index.name
                    ),
                );
            }
        }
    }
    if options.timeseries.is_some() && validation.enabled {
        ctx.error_key(
            &["options".to_string(), "timeseries".to_string()],
            "MongoDB refuses validators on time-series collections; add `validation: { enabled: false }` (fields then document the shape and carry defaults)",
        );
    }
    if options.timeseries.is_some() && raw.indexes.iter().any(|i| i.unique) {
        ctx.error(
            &["indexes".to_string()],
            "time-series collections do not support unique indexes",
        );
    }

    Some(CollectionSpec {
        database: database.to_string(),
        name,
        file: ctx.file.to_path_buf(),
        description: raw.description,
        validation,
        fields,
        indexes,
        options,
        ignore_indexes: raw.ignore_indexes,
    })
}

/// The declared types (empty: any) and whether every name was understood.
fn parse_types(ctx: &mut Ctx, path: &[String], spec: &TypeSpec) -> (Vec<FieldType>, bool) {
    let names: Vec<&String> = match spec {
        TypeSpec::One(n) => vec![n],
        TypeSpec::Many(ns) => ns.iter().collect(),
    };
    let tpath = p(path, &["type"]);
    if names.is_empty() {
        ctx.error(
            &tpath,
            "`type` list is empty; use `any` to allow every type",
        );
        return (Vec::new(), false);
    }
    let mut types = Vec::new();
    let mut understood = true;
    for name in names {
        if name == "any" {
            if matches!(spec, TypeSpec::Many(ns) if ns.len() > 1) {
                ctx.error(
                    &tpath,
                    "`any` cannot be part of a union; it already allows every type",
                );
                return (Vec::new(), false);
            }
            return (Vec::new(), true);
        }
        match FieldType::parse(name) {
            Some(t) if types.contains(&t) => {
                ctx.error(&tpath, format!("type `{name}` is listed twice"))
            }
            Some(t) => types.push(t),
            None => {
                understood = false;
                ctx.error(
                    &tpath,
                    format!(
                        "unknown type `{name}`, expected one of {}",
                        FieldType::NAMES.join(", ")
                    ),
                )
            }
        }
    }
    (types, understood)
}

fn check_field(ctx: &mut Ctx, path: &[String], name: &str, spec: &FieldSpec) -> Field {
    if name.is_empty() {
        ctx.error_key(path, "field name is empty");
    } else if name.starts_with('$') {
        ctx.error_key(path, format!("field name `{name}` cannot start with `$`"));
    } else if name.contains('.') {
        ctx.error_key(
            path,
            format!("field name `{name}` contains `.`; declare nested fields with `type: object` and `fields:`"),
        );
    }
    let (types, understood) = parse_types(ctx, path, &spec.ty);
    let mut field = Field {
        types,
        nullable: spec.nullable,
        required: spec.required,
        description: spec.description.clone(),
        pattern: spec.pattern.clone(),
        min_length: spec.min_length,
        max_length: spec.max_length,
        min_items: spec.min_items,
        max_items: spec.max_items,
        unique_items: spec.unique_items,
        additional_fields: spec.additional_fields,
        ..Default::default()
    };
    let declared = |t: &Field| {
        if t.types.is_empty() {
            "any".to_string()
        } else {
            t.types
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(" | ")
        }
    };
    let has = |f: &Field, pred: fn(FieldType) -> bool| f.types.iter().any(|t| pred(*t));
    let type_name = declared(&field);
    if !understood {
        // The type is already wrong: checks that depend on it would only add noise. Nested
        // declarations are still checked so that their own errors show up now.
        if let Some(items) = &spec.items {
            check_field(ctx, &p(path, &["items"]), &format!("{name}[]"), items);
        }
        for (sname, sspec) in spec.fields.iter().flatten() {
            check_field(ctx, &p(path, &["fields", sname]), sname, sspec);
        }
        return field;
    }

    // Constraints that only make sense for some types.
    let string_only = [
        ("pattern", spec.pattern.is_some()),
        ("min_length", spec.min_length.is_some()),
        ("max_length", spec.max_length.is_some()),
    ];
    for (key, set) in string_only {
        if set && !has(&field, |t| t == FieldType::String) {
            ctx.error_key(
                &p(path, &[key]),
                format!("`{key}` applies to strings, but field `{name}` is {type_name}"),
            );
        }
    }
    let numeric_only = [
        ("minimum", spec.minimum.is_some()),
        ("maximum", spec.maximum.is_some()),
    ];
    for (key, set) in numeric_only {
        if set && !has(&field, FieldType::is_numeric) {
            ctx.error_key(
                &p(path, &[key]),
                format!("`{key}` applies to numbers, but field `{name}` is {type_name}"),
            );
        }
    }
    let array_only = [
        ("min_items", spec.min_items.is_some()),
        ("max_items", spec.max_items.is_some()),
        ("unique_items", spec.unique_items.is_some()),
        ("items", spec.items.is_some()),
    ];
    for (key, set) in array_only {
        if set && !has(&field, |t| t == FieldType::Array) {
            ctx.error_key(
                &p(path, &[key]),
                format!("`{key}` applies to arrays, but field `{name}` is {type_name}"),
            );
        }
    }
    for (key, set) in [
        ("fields", spec.fields.is_some()),
        ("additional_fields", spec.additional_fields.is_some()),
    ] {
        if set && !has(&field, |t| t == FieldType::Object) {
            ctx.error_key(
                &p(path, &[key]),
                format!("`{key}` applies to objects, but field `{name}` is {type_name}"),
            );
        }
    }
    if spec.additional_fields.is_some() && spec.fields.is_none() {
        ctx.error_key(
            &p(path, &["additional_fields"]),
            "`additional_fields` needs `fields` to say which keys are allowed",
        );
    }
    if let (Some(a), Some(b)) = (spec.min_length, spec.max_length)
        && a > b
    {
        ctx.error(
            &p(path, &["min_length"]),
            format!("min_length {a} is greater than max_length {b}"),
        );
    }
    if let (Some(a), Some(b)) = (spec.min_items, spec.max_items)
        && a > b
    {
        ctx.error(
            &p(path, &["min_items"]),
            format!("min_items {a} is greater than max_items {b}"),
        );
    }
    if let (Some(a), Some(b)) = (&spec.minimum, &spec.maximum)
        && a.as_f64().unwrap_or(0.0) > b.as_f64().unwrap_or(0.0)
    {
        ctx.error(
            &p(path, &["minimum"]),
            format!("minimum {a} is greater than maximum {b}"),
        );
    }
    if let Some(pattern) = &spec.pattern
        && pattern.is_empty()
    {
        ctx.error(&p(path, &["pattern"]), "`pattern` is empty");
    }
    field.minimum = spec.minimum.as_ref().map(number_to_bson);
    field.maximum = spec.maximum.as_ref().map(number_to_bson);

    if let Some(items) = &spec.items {
        let ipath = p(path, &["items"]);
        field.items = Some(Box::new(check_field(
            ctx,
            &ipath,
            &format!("{name}[]"),
            items,
        )));
    }
    if let Some(sub) = &spec.fields {
        let mut map = BTreeMap::new();
        for (sname, sspec) in sub {
            let spath = p(path, &["fields", sname]);
            map.insert(sname.clone(), check_field(ctx, &spath, sname, sspec));
        }
        field.fields = Some(map);
    }

    // Enum values: each of the field's type, no duplicates.
    if let Some(values) = &spec.enum_values {
        let epath = p(path, &["enum"]);
        if values.is_empty() {
            ctx.error(&epath, "`enum` is empty: no value could ever be valid");
        }
        let mut converted: Vec<Bson> = Vec::new();
        for (i, value) in values.iter().enumerate() {
            let vpath = p(&epath, &[&i.to_string()]);
            if value.is_null() {
                if spec.nullable {
                    continue; // nullable adds null itself
                }
                ctx.error(
                    &vpath,
                    format!(
                        "enum value null is not allowed: field `{name}` is not `nullable: true`"
                    ),
                );
                continue;
            }
            match typed_value(&field, value) {
                Ok(b) if converted.contains(&b) => ctx.error(
                    &vpath,
                    format!("enum value {} is listed twice", yaml_display(value)),
                ),
                Ok(b) => converted.push(b),
                Err(why) => ctx.error(
                    &vpath,
                    format!(
                        "enum value {} is not a {type_name}: {why}",
                        yaml_display(value)
                    ),
                ),
            }
        }
        field.enum_values = Some(converted);
    }

    // The default: of the field's type, within its enum and constraints.
    if let Some(value) = &spec.default {
        let dpath = p(path, &["default"]);
        if value.as_str() == Some("now") && field.allows(FieldType::Date) && !field.types.is_empty()
        {
            field.default = Some(DefaultValue::Now);
        } else {
            match typed_value(&field, value).and_then(|b| {
                check_constraints(&field, &b)?;
                Ok(b)
            }) {
                Ok(b) => field.default = Some(DefaultValue::Value(b)),
                Err(why) => ctx.error(
                    &dpath,
                    format!(
                        "default {} for field `{name}` ({type_name}): {why}",
                        yaml_display(value)
                    ),
                ),
            }
        }
    }
    field
}

fn yaml_display(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// Convert a plain YAML number: integers to int32/int64, others to double.
pub(super) fn number_to_bson(n: &serde_yaml::Number) -> Bson {
    if let Some(i) = n.as_i64() {
        i32::try_from(i).map(Bson::Int32).unwrap_or(Bson::Int64(i))
    } else {
        Bson::Double(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Convert any YAML value to BSON without a declared type (mappings keep their key order).
pub(super) fn plain_bson(v: &Value) -> Result<Bson, String> {
    Ok(match v {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => number_to_bson(n),
        Value::String(s) => Bson::String(s.clone()),
        Value::Sequence(items) => {
            Bson::Array(items.iter().map(plain_bson).collect::<Result<_, _>>()?)
        }
        Value::Mapping(m) => {
            let mut doc = Document::new();
            for (k, v) in m {
                let Some(k) = k.as_str() else {
                    return Err(format!("mapping key {} is not a string", yaml_display(k)));
                };
                doc.insert(k, plain_bson(v)?);
            }
            Bson::Document(doc)
        }
        Value::Tagged(t) => return Err(format!("YAML tags (`{}`) are not supported", t.tag)),
    })
}

/// Convert a YAML value to the BSON the field's declared type calls for.
fn typed_value(field: &Field, v: &Value) -> Result<Bson, String> {
    if v.is_null() {
        return if field.nullable || field.types.is_empty() {
            Ok(Bson::Null)
        } else {
            Err("null is not allowed; add `nullable: true`".into())
        };
    }
    if field.types.is_empty() {
        return plain_bson(v);
    }
    let mut why = String::from("wrong type");
    for t in &field.types {
        match convert_as(*t, field, v) {
            Ok(b) => return Ok(b),
            Err(e) => why = e,
        }
    }
    Err(why)
}

fn convert_as(t: FieldType, field: &Field, v: &Value) -> Result<Bson, String> {
    let kind = match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    };
    let wrong = || format!("expected {}, found {kind}", t.name());
    match (t, v) {
        (FieldType::String, Value::String(s)) => Ok(Bson::String(s.clone())),
        (FieldType::Bool, Value::Bool(b)) => Ok(Bson::Boolean(*b)),
        (FieldType::Int, Value::Number(n)) => n
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .map(Bson::Int32)
            .ok_or_else(|| format!("expected a 32-bit integer, found {n}")),
        (FieldType::Long, Value::Number(n)) => n
            .as_i64()
            .map(Bson::Int64)
            .ok_or_else(|| format!("expected a 64-bit integer, found {n}")),
        (FieldType::Double, Value::Number(n)) => Ok(Bson::Double(n.as_f64().unwrap_or(f64::NAN))),
        (FieldType::Number, Value::Number(n)) => Ok(number_to_bson(n)),
        (FieldType::Date, Value::String(s)) => bson::DateTime::parse_rfc3339_str(s)
            .map(Bson::DateTime)
            .map_err(|_| {
                format!("expected an RFC 3339 date (2026-01-09T12:00:00Z) or `now`, found `{s}`")
            }),
        (FieldType::ObjectId, Value::String(s)) => bson::oid::ObjectId::parse_str(s)
            .map(Bson::ObjectId)
            .map_err(|_| format!("expected a 24-character hex ObjectId, found `{s}`")),
        (FieldType::Uuid, Value::String(s)) => bson::Uuid::parse_str(s)
            .map(|u| Bson::Binary(bson::Binary::from_uuid(u)))
            .map_err(|_| format!("expected a UUID, found `{s}`")),
        (FieldType::Array, Value::Sequence(items)) => {
            let mut out = Vec::new();
            for item in items {
                out.push(match &field.items {
                    Some(spec) => typed_value(spec, item)?,
                    None => plain_bson(item)?,
                });
            }
            Ok(Bson::Array(out))
        }
        (FieldType::Object, Value::Mapping(m)) => {
            let mut doc = Document::new();
            for (k, val) in m {
                let Some(k) = k.as_str() else {
                    return Err(format!("mapping key {} is not a string", yaml_display(k)));
                };
                let sub = field.fields.as_ref().and_then(|f| f.get(k));
                doc.insert(
                    k,
                    match sub {
                        Some(spec) => typed_value(spec, val).map_err(|e| format!("`{k}`: {e}"))?,
                        None => plain_bson(val)?,
                    },
                );
            }
            Ok(Bson::Document(doc))
        }
        (FieldType::Decimal | FieldType::Timestamp | FieldType::Binary, _) => Err(format!(
            "values of type {} cannot be written in YAML; leave the default out",
            t.name()
        )),
        _ => Err(wrong()),
    }
}

fn as_f64(b: &Bson) -> Option<f64> {
    match b {
        Bson::Int32(i) => Some(f64::from(*i)),
        Bson::Int64(i) => Some(*i as f64),
        Bson::Double(d) => Some(*d),
        _ => None,
    }
}

/// Check a converted value against the field's enum and constraints (recursively).
fn check_constraints(field: &Field, value: &Bson) -> Result<(), String> {
    if matches!(value, Bson::Null) {
        return Ok(());
    }
    if let Some(values) = &field.enum_values
        && !values.contains(value)
    {
        let list: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        return Err(format!("{value} is not in the enum [{}]", list.join(", ")));
    }
    match value {
        Bson::String(s) => {
            let n = s.chars().count() as u64;
            if field.min_length.is_some_and(|m| n < m) || field.max_length.is_some_and(|m| n > m) {
                return Err(format!("length {n} is outside min_length/max_length"));
            }
        }
        Bson::Array(items) => {
            let n = items.len() as u64;
            if field.min_items.is_some_and(|m| n < m) || field.max_items.is_some_and(|m| n > m) {
                return Err(format!("{n} items is outside min_items/max_items"));
            }
            if let Some(spec) = &field.items {
                for item in items {
                    check_constraints(spec, item)?;
                }
            }
        }
        Bson::Document(doc) => {
            if let Some(fields) = &field.fields {
                for (k, spec) in fields {
                    match doc.get(k) {
                        Some(v) => check_constraints(spec, v).map_err(|e| format!("`{k}`: {e}"))?,
                        None if spec.required => {
                            return Err(format!("lacks required field `{k}`"));
                        }
                        None => {}
                    }
                }
                if field.additional_fields == Some(AdditionalFields::Deny)
                    && let Some(extra) = doc.keys().find(|k| !fields.contains_key(*k))
                {
                    return Err(format!(
                        "has undeclared field `{extra}` (additional_fields: deny)"
                    ));
                }
            }
        }
        other => {
            if let Some(x) = as_f64(other)
                && (field
                    .minimum
                    .as_ref()
                    .and_then(as_f64)
                    .is_some_and(|m| x < m)
                    || field
                        .maximum
                        .as_ref()
                        .and_then(as_f64)
                        .is_some_and(|m| x > m))
            {
                return Err(format!("{x} is outside minimum/maximum"));
            }
        }
    }
    Ok(())
}

fn check_collation(ctx: &mut Ctx, path: &[String], c: &CollationSpec) -> Document {
    if c.locale.is_empty() {
        ctx.error(
            &p(path, &["locale"]),
            "collation `locale` is empty (use e.g. `en`, `fr`, or `simple`)",
        );
    }
    if let Some(s) = c.strength
        && !(1..=5).contains(&s)
    {
        ctx.error(
            &p(path, &["strength"]),
            format!("collation strength {s} must be 1 to 5"),
        );
    }
    let one_of = |ctx: &mut Ctx, key: &str, v: &Option<String>, allowed: &[&str]| {
        if let Some(v) = v
            && !allowed.contains(&v.as_str())
        {
            ctx.error(
                &p(path, &[key]),
                format!(
                    "collation {key} `{v}` must be one of {}",
                    allowed.join(", ")
                ),
            );
        }
    };
    one_of(ctx, "caseFirst", &c.case_first, &["upper", "lower", "off"]);
    one_of(
        ctx,
        "alternate",
        &c.alternate,
        &["non-ignorable", "shifted"],
    );
    one_of(ctx, "maxVariable", &c.max_variable, &["punct", "space"]);
    let mut doc = Document::new();
    doc.insert("locale", c.locale.clone());
    if let Some(v) = c.strength {
        doc.insert("strength", v);
    }
    if let Some(v) = c.case_level {
        doc.insert("caseLevel", v);
    }
    if let Some(v) = &c.case_first {
        doc.insert("caseFirst", v.clone());
    }
    if let Some(v) = c.numeric_ordering {
        doc.insert("numericOrdering", v);
    }
    if let Some(v) = &c.alternate {
        doc.insert("alternate", v.clone());
    }
    if let Some(v) = &c.max_variable {
        doc.insert("maxVariable", v.clone());
    }
    if let Some(v) = c.backwards {
        doc.insert("backwards", v);
    }
    if let Some(v) = c.normalization {
        doc.insert("normalization", v);
    }
    doc
}

fn check_options(ctx: &mut Ctx, o: &OptionsSpec) -> CollectionOptions {
    let base = vec!["options".to_string()];
    let collation = o
        .collation
        .as_ref()
        .map(|c| check_collation(ctx, &p(&base, &["collation"]), c));
    if let Some(c) = &o.capped {
        if c.size <= 0 {
            ctx.error(
                &p(&base, &["capped", "size"]),
                "capped `size` must be a positive number of bytes",
            );
        }
        if c.max.is_some_and(|m| m <= 0) {
            ctx.error(
                &p(&base, &["capped", "max"]),
                "capped `max` must be a positive number of documents",
            );
        }
    }
    if let Some(t) = &o.timeseries
        && let Some(g) = &t.granularity
        && !["seconds", "minutes", "hours"].contains(&g.as_str())
    {
        ctx.error(
            &p(&base, &["timeseries", "granularity"]),
            format!("granularity `{g}` must be seconds, minutes or hours"),
        );
    }
    let kinds = [o.capped.is_some(), o.timeseries.is_some(), o.clustered]
        .iter()
        .filter(|b| **b)
        .count();
    if kinds > 1 {
        ctx.error_key(
            &base,
            "`capped`, `timeseries` and `clustered` cannot be combined",
        );
    }
    CollectionOptions {
        collation,
        capped: o.capped.as_ref().map(|c| Capped {
            size: c.size,
            max: c.max,
        }),
        timeseries: o.timeseries.as_ref().map(|t| Timeseries {
            time_field: t.time_field.clone(),
            meta_field: t.meta_field.clone(),
            granularity: t.granularity.clone(),
        }),
        clustered: o.clustered,
    }
}

/// Parse `expire_after`: seconds, or a number with a unit s/m/h/d.
pub fn parse_duration(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .filter(|s| *s >= 0)
            .ok_or_else(|| format!("`{n}` is not a whole, non-negative number of seconds")),
        Value::String(s) => {
            let s = s.trim();
            let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
            let n: i64 = num
                .parse()
                .map_err(|_| format!("`{s}` is not a duration like 90d, 12h, 30m or 45s"))?;
            let mult = match unit.trim() {
                "" | "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86_400,
                _ => {
                    return Err(format!(
                        "`{s}`: unknown unit `{unit}`, expected s, m, h or d"
                    ));
                }
            };
            n.checked_mul(mult)
                .ok_or_else(|| format!("`{s}` is too long"))
        }
        _ => Err("expected seconds or a duration like `90d`".into()),
    }
}

/// Resolve a dotted index path against the declared fields: `Some(field)` when declared,
/// `Some(None)` when it lies under an object that allows any keys, `None` when undeclared.
fn resolve_path<'a>(fields: &'a BTreeMap<String, Field>, path: &str) -> Option<Option<&'a Field>> {
    if path == "_id" || path == "$**" {
        return Some(None);
    }
    let mut current: &BTreeMap<String, Field> = fields;
    let parts: Vec<&str> = path.split('.').collect();
    let mut i = 0;
    loop {
        let part = parts[i];
        if part == "$**" {
            return Some(None);
        }
        let mut field = current.get(part)?;
        // Arrays: step into the items (and skip a numeric position, if any).
        while let Some(items) = &field.items {
            if parts.get(i + 1).is_some_and(|n| n.parse::<usize>().is_ok()) {
                i += 1;
            }
            field = items;
        }
        if i + 1 == parts.len() {
            return Some(Some(field));
        }
        match &field.fields {
            Some(sub) => current = sub,
            None if field.allows(FieldType::Object) || field.types.is_empty() => return Some(None),
            None => return None,
        }
        i += 1;
    }
}

fn check_index(
    ctx: &mut Ctx,
    path: &[String],
    spec: &IndexSpec,
    fields: &BTreeMap<String, Field>,
) -> Option<model::Index> {
    let kpath = p(path, &["keys"]);
    if spec.keys.is_empty() {
        ctx.error(&kpath, "index `keys` is empty");
        return None;
    }
    let mut keys = Vec::new();
    let mut ok = true;
    for (field, value) in &spec.keys {
        let vpath = p(&kpath, &[field]);
        let kind = match value {
            Value::Number(n) if n.as_i64() == Some(1) => Some(IndexKind::Asc),
            Value::Number(n) if n.as_i64() == Some(-1) => Some(IndexKind::Desc),
            Value::String(s) => match s.as_str() {
                "text" => Some(IndexKind::Text),
                "2dsphere" => Some(IndexKind::TwoDSphere),
                "hashed" => Some(IndexKind::Hashed),
                "wildcard" => {
                    let wpath = if field == "$**" {
                        field.clone()
                    } else {
                        format!("{field}.$**")
                    };
                    keys.push((wpath, IndexKind::Asc));
                    continue;
                }
                _ => None,
            },
            _ => None,
        };
        let Some(kind) = kind else {
            ctx.error(
                &vpath,
                format!(
                    "index key `{field}`: {} is not an index type; expected 1, -1, text, 2dsphere, hashed or wildcard",
                    yaml_display(value)
                ),
            );
            ok = false;
            continue;
        };
        if field.is_empty() || field.starts_with('$') && field != "$**" {
            ctx.error_key(&vpath, format!("`{field}` is not a field path"));
            ok = false;
            continue;
        }
        keys.push((field.clone(), kind));
    }
    if !ok {
        return None;
    }
    // A collection that declares no fields leaves its shape undeclared: nothing to warn about.
    for (field, _) in keys.iter().filter(|_| !fields.is_empty()) {
        if resolve_path(fields, field).is_none() {
            ctx.warn(
                &p(&kpath, &[field.trim_end_matches(".$**")]),
                format!(
                    "index key `{field}` is not a declared field (documents may still carry it)"
                ),
            );
        }
    }
    if keys.len() == 1 && keys[0].0 == "_id" && spec.collation.is_none() && spec.partial.is_none() {
        ctx.error(
            &kpath,
            "the `_id` index exists on every collection; do not declare it",
        );
        return None;
    }
    let hashed = keys.iter().filter(|(_, k)| *k == IndexKind::Hashed).count();
    let wildcard = keys.iter().any(|(f, _)| f.ends_with("$**"));
    if hashed > 1 {
        ctx.error(&kpath, "an index can have at most one hashed field");
    }
    if spec.unique && hashed > 0 {
        ctx.error(&p(path, &["unique"]), "hashed indexes cannot be unique");
    }
    if spec.unique && wildcard {
        ctx.error(&p(path, &["unique"]), "wildcard indexes cannot be unique");
    }
    if spec.sparse && spec.partial.is_some() {
        ctx.error(&p(path, &["sparse"]), "`sparse` and `partial` cannot be combined; a partial filter such as `{ field: { $exists: true } }` does what sparse does");
    }
    let has_text = keys.iter().any(|(_, k)| *k == IndexKind::Text);
    if spec.weights.is_some() && !has_text {
        ctx.error_key(
            &p(path, &["weights"]),
            "`weights` applies only to text indexes",
        );
    }
    let mut expire_after = None;
    if let Some(v) = &spec.expire_after {
        let epath = p(path, &["expire_after"]);
        match parse_duration(v) {
            Err(e) => ctx.error(&epath, format!("expire_after: {e}")),
            Ok(secs) => {
                expire_after = Some(secs);
                if keys.len() != 1 {
                    ctx.error(
                        &epath,
                        format!(
                            "a TTL (`expire_after`) index must have a single key; this one has {}",
                            keys.len()
                        ),
                    );
                } else if keys[0].0 == "_id" {
                    ctx.error(&epath, "a TTL index cannot be on `_id`");
                } else if let Some(Some(f)) = resolve_path(fields, &keys[0].0)
                    && (!f.allows(FieldType::Date) || f.types.is_empty())
                {
                    let t: Vec<&str> = f.types.iter().map(|t| t.name()).collect();
                    let t = if t.is_empty() {
                        "any".to_string()
                    } else {
                        t.join(" | ")
                    };
                    ctx.error(
                            &epath,
                            format!("TTL on `{}` never expires anything: the field is declared as {t}, and TTL needs type date", keys[0].0),
                        );
                }
            }
        }
    }
    let partial = match &spec.partial {
        None => None,
        Some(v @ Value::Mapping(_)) => match plain_bson(v) {
            Ok(Bson::Document(d)) => Some(d),
            Ok(_) => None,
            Err(e) => {
                ctx.error(&p(path, &["partial"]), format!("partial filter: {e}"));
                None
            }
        },
        Some(_) => {
            ctx.error(
                &p(path, &["partial"]),
                "`partial` must be a filter document, e.g. `{ archived: false }`",
            );
            None
        }
    };
    let collation = spec
        .collation
        .as_ref()
        .map(|c| check_collation(ctx, &p(path, &["collation"]), c));
    let name = match &spec.name {
        Some(n) if n.is_empty() => {
            ctx.error(&p(path, &["name"]), "index name is empty");
            return None;
        }
        Some(n) if n == "_id_" => {
            ctx.error(
                &p(path, &["name"]),
                "`_id_` is the name of the implicit `_id` index",
            );
            return None;
        }
        Some(n) => n.clone(),
        None => model::Index::default_name(&keys),
    };
    let weights = spec.weights.as_ref().map(|w| {
        let mut d = Document::new();
        for (k, v) in w {
            d.insert(k.clone(), *v);
        }
        d
    });
    Some(model::Index {
        name,
        name_declared: spec.name.is_some(),
        keys,
        unique: spec.unique,
        sparse: spec.sparse,
        hidden: spec.hidden,
        partial,
        collation,
        expire_after,
        weights,
    })
}
