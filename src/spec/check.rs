//! Semantic checks: turn the raw YAML structs into a checked [`CollectionSpec`], reporting
//! every problem with its position.

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
    let mut defaults = ValidationSpec::default();
    let mut retire_after = None;
    let whole = |file: &std::path::Path, severity, message: String| Diagnostic {
        severity,
        file: file.to_path_buf(),
        line: 1,
        column: 1,
        message,
    };
    if let Some((file, text)) = &source.database_file
        && let Some(why) = crate::yaml::empty_document(text)
    {
        diags.push(whole(
            file,
            Severity::Warning,
            format!("{why}: it sets no defaults for `{}`", source.name),
        ));
    }
    if matches!(source.name.as_str(), "admin" | "local" | "config") {
        let file = source
            .database_file
            .as_ref()
            .or(source.collection_files.first())
            .map(|(f, _)| f.clone())
            .unwrap_or_default();
        diags.push(whole(
            &file,
            Severity::Error,
            format!(
                "database folder `{}`: `admin`, `local` and `config` are MongoDB's own databases, which mongrate never manages; rename the folder",
                source.name
            ),
        ));
    }
    if let Some((file, text)) = &source.database_file
        && crate::yaml::empty_document(text).is_none()
        && let Some(raw) = parse_yaml::<DatabaseFile>(file, text, diags)
    {
        if let Some(v) = &raw.retire_after {
            let mut ctx = Ctx::new(file, text);
            match parse_duration(v) {
                Ok(s) => retire_after = Some(s),
                Err(e) => ctx.error(&["retire_after".to_string()], format!("retire_after: {e}")),
            }
            ctx.finish(diags);
        }
        db.description = raw.description;
        db.ignore_collections = raw.ignore_collections;
        if !raw.exclude.is_empty() && !crate::names::is_template(&source.name) {
            diags.push(Diagnostic {
                severity: Severity::Error,
                file: file.clone(),
                line: 1,
                column: 1,
                message: format!(
                    "`exclude` applies to a template folder (a name with `*` or `?`, e.g. `tenant_*`); `{}` names one database",
                    source.name
                ),
            });
        }
        db.exclude = raw.exclude;
        defaults = raw.validation.unwrap_or_default();
    }
    // A template (`tenant_*`) names many databases: each must be a valid name.
    let literal = source.name.replace(['*', '?'], "x");
    if let Some(problem) = crate::names::database_problem(&literal) {
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
        if let Some(why) = crate::yaml::empty_document(text) {
            diags.push(whole(
                file,
                Severity::Error,
                format!(
                    "{why}: a collection file declares at least `collection: <name>` (delete the file if it declares nothing)"
                ),
            ));
            continue;
        }
        let mut ctx = Ctx::new(file, text);
        FIELD_CHECKS.with(|c| *c.borrow_mut() = Some(Vec::new()));
        let parsed = parse_yaml::<CollectionFile>(file, text, diags);
        let field_problems = FIELD_CHECKS
            .with(|c| c.borrow_mut().take())
            .unwrap_or_default();
        let Some(raw) = parsed else {
            continue;
        };
        ctx.pending = field_problems;
        let mut spec = check_collection(&mut ctx, &source.name, raw, &defaults);
        if spec.retire_after.is_none() && spec.options.view.is_none() {
            spec.retire_after = retire_after;
        }
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
            ctx.finish(diags);
            continue;
        }
        ctx.finish(diags);
        seen.insert(spec.name.clone(), file.clone());
        db.collections.insert(spec.name.clone(), spec);
    }
    db
}

fn check_collection(
    ctx: &mut Ctx,
    database: &str,
    raw: CollectionFile,
    defaults: &ValidationSpec,
) -> CollectionSpec {
    let stem = ctx
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    let name_path = vec!["collection".to_string()];
    if let Some(declared) = &raw.collection
        && *declared != stem
        && !stem.is_empty()
    {
        ctx.warn(
            &name_path,
            format!(
                "`collection: {declared}` differs from the file name `{stem}`; the collection is `{declared}` (rename the file to `{declared}.yaml` to avoid confusion)"
            ),
        );
    }
    let name = raw.collection.clone().unwrap_or(stem);
    if let Some(why) = crate::names::collection_problem(database, &name) {
        ctx.error(&name_path, why);
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

    let fields = raw.fields.0;

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
    let text_indexes: Vec<usize> = indexes
        .iter()
        .enumerate()
        .filter(|(_, i)| i.keys.iter().any(|(_, k)| *k == IndexKind::Text))
        .map(|(n, _)| n)
        .collect();
    if let [first, second, ..] = text_indexes[..] {
        ctx.error(
            &p(&index_paths[second], &["keys"]),
            format!(
                "a collection has at most one text index, and index #{} (`{}`) is one already; put every text field in that index",
                first + 1,
                indexes[first].name
            ),
        );
    }
    // A validator written as is.
    let mut validation = validation;
    let raw_validator = match &raw.validator {
        None => None,
        Some(v) => {
            let vpath = vec!["validator".to_string()];
            if v.is_null() {
                None
            } else {
                match plain_bson(v) {
                    Ok(Bson::Document(d)) if !d.is_empty() => {
                        if let Some(schema) = d.get("$jsonSchema")
                            && !matches!(schema, Bson::Document(_))
                        {
                            ctx.error(&vpath, "`$jsonSchema` must be a mapping");
                        }
                        if raw.validation.as_ref().and_then(|v| v.enabled) == Some(false) {
                            ctx.error_key(
                                &vpath,
                                "`validator` is given but `validation: { enabled: false }` says there is none; remove one of them",
                            );
                        }
                        let size = bson::to_vec(&d).map(|b| b.len()).unwrap_or(0);
                        if size > MAX_BSON_SIZE - 16 * 1024 {
                            ctx.error_key(
                                &vpath,
                                "the validator is over MongoDB's 16 MB document limit",
                            );
                        }
                        validation.enabled = true;
                        Some(d)
                    }
                    Ok(_) => {
                        ctx.error(
                            &vpath,
                            "`validator` must be a non-empty mapping: a query such as `{ $or: [...] }`, or `{ $jsonSchema: {...} }`",
                        );
                        None
                    }
                    Err(e) => {
                        ctx.error(&vpath, format!("validator: {e}"));
                        None
                    }
                }
            }
        }
    };
    // A view.
    let mut options = options;
    if let Some(view) = &raw.view {
        let vpath = vec!["view".to_string()];
        if let Some(why) = crate::names::collection_problem(database, &view.on) {
            ctx.error(&p(&vpath, &["on"]), format!("view `on`: {why}"));
        }
        let mut pipeline = Vec::new();
        for (i, stage) in view.pipeline.iter().enumerate() {
            match plain_bson(stage) {
                Ok(Bson::Document(d)) if d.len() == 1 && d.keys().all(|k| k.starts_with('$')) => {
                    pipeline.push(d)
                }
                _ => ctx.error(
                    &p(&vpath, &["pipeline", &i.to_string()]),
                    "a pipeline stage is a mapping with one `$stage` key, e.g. `{ $match: { archived: false } }`",
                ),
            }
        }
        let only_collation = options.capped.is_none()
            && options.timeseries.is_none()
            && !options.clustered
            && options.expire_after.is_none()
            && !options.change_stream_pre_and_post_images;
        if !only_collation {
            ctx.error_key(
                &["options".to_string()],
                "a view takes no options but `collation`",
            );
        }
        if !raw.indexes.is_empty() {
            ctx.error_key(
                &["indexes".to_string()],
                "a view has no indexes of its own; index the collection it reads",
            );
        }
        if raw_validator.is_some() || raw.validation.as_ref().and_then(|v| v.enabled) == Some(true)
        {
            ctx.error_key(
                &vpath,
                "a view has no validator; validate the collection it reads",
            );
        }
        validation.enabled = false;
        options.view = Some(model::View {
            on: view.on.clone(),
            pipeline,
        });
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

    let shard_key = raw
        .shard_key
        .as_ref()
        .and_then(|k| check_shard_key(ctx, k, &indexes, &options));

    let retire_after = raw.retire_after.as_ref().and_then(|v| {
        let at = ["retire_after".to_string()];
        match parse_duration(v) {
            Ok(_) if raw.view.is_some() => {
                ctx.error(&at, "a view has no indexes to retire");
                None
            }
            Ok(s) => Some(s),
            Err(e) => {
                ctx.error(&at, format!("retire_after: {e}"));
                None
            }
        }
    });

    let mut lint_allow = Vec::new();
    for (i, a) in raw.lint.iter().flat_map(|l| l.allow.iter()).enumerate() {
        let at = [
            "lint".to_string(),
            "allow".to_string(),
            i.to_string(),
            "rule".to_string(),
        ];
        if crate::rules::severity_of(&a.rule).is_none() {
            ctx.error(
                &at,
                format!(
                    "unknown lint rule {}; the rules are listed by `mongrate lint --rules`",
                    crate::yaml::show(&a.rule)
                ),
            );
        } else if a.reason.trim().is_empty() {
            ctx.error(&at, "say why the change is deliberate in `reason`");
        } else {
            lint_allow.push((a.rule.clone(), a.reason.clone()));
        }
    }

    let spec = CollectionSpec {
        database: database.to_string(),
        name,
        file: ctx.file.to_path_buf(),
        title: raw.title,
        description: raw.description,
        validation,
        fields,
        indexes,
        options,
        ignore_indexes: raw.ignore_indexes,
        retire_after,
        raw_validator,
        shard_key,
        lint_allow,
    };
    if spec.validation.enabled && spec.raw_validator.is_none() {
        let size = crate::spec::jsonschema::validator_size(&spec);
        // The validator travels inside a `create`/`collMod` command: leave room for the rest.
        if size > MAX_BSON_SIZE - 16 * 1024 {
            ctx.error_key(
                &["fields".to_string()],
                format!(
                    "the generated validator is {:.1} MB, over MongoDB's 16 MB document limit; split the collection's schema, or use `validation: {{ enabled: false }}`",
                    size as f64 / 1_048_576.0
                ),
            );
        }
    }
    spec
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

/// The declared types (empty: any) and whether every name was understood.
fn parse_types(ctx: &mut Ctx, path: &[String], spec: &TypeSpec) -> (TypeList, bool) {
    let names: Vec<&str> = match spec {
        TypeSpec::One(n) => vec![n.as_ref()],
        TypeSpec::Many(ns) => ns.iter().map(String::as_str).collect(),
    };
    let tpath = p(path, &["type"]);
    if names.is_empty() {
        ctx.error(
            &tpath,
            "`type` list is empty; use `any` to allow every type",
        );
        return (TypeList::default(), false);
    }
    let mut types = TypeList::default();
    let mut understood = true;
    for name in names {
        if name == "any" {
            if matches!(spec, TypeSpec::Many(ns) if ns.len() > 1) {
                ctx.error(
                    &tpath,
                    "`any` cannot be part of a union; it already allows every type",
                );
                return (TypeList::default(), false);
            }
            return (TypeList::default(), true);
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
                        "unknown type `{name}`; {}expected one of {}",
                        crate::yaml::suggestion(name, FieldType::NAMES),
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
    } else if let Some(c) = name.chars().find(|c| c.is_control()) {
        ctx.error_key(
            path,
            format!(
                "field name {} contains the control character {}; no document can be written with it on purpose",
                crate::yaml::show(name),
                crate::yaml::show(&c.to_string())
            ),
        );
    } else if name.starts_with('$') && !crate::names::DBREF_FIELDS.contains(&name) {
        ctx.error_key(
            path,
            format!(
                "field name `{name}` cannot start with `$` (only a DBRef's `$ref`, `$id` and `$db` can)"
            ),
        );
    } else if name.contains('.') {
        ctx.error_key(
            path,
            format!("field name `{name}` contains `.`; declare nested fields with `type: object` and `fields:`"),
        );
    }
    let (types, understood) = parse_types(ctx, path, &spec.ty);
    let sm = spec.more();
    let mut field = Field {
        types,
        nullable: spec.nullable,
        required: spec.required,
        ..Default::default()
    };
    *field.more_mut() = FieldMore {
        title: sm.title.clone(),
        description: sm.description.clone(),
        pattern: sm.pattern.clone(),
        min_length: sm.min_length,
        max_length: sm.max_length,
        min_items: sm.min_items,
        max_items: sm.max_items,
        unique_items: sm.unique_items,
        additional_fields: sm.additional_fields,
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
        for (sname, sspec) in spec.fields.iter().flat_map(|f| f.iter()) {
            check_field(ctx, &p(path, &["fields", sname]), sname, sspec);
        }
        field.more = None;
        return field;
    }

    // Constraints that only make sense for some types.
    let string_only = [
        ("pattern", sm.pattern.is_some()),
        ("min_length", sm.min_length.is_some()),
        ("max_length", sm.max_length.is_some()),
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
        ("minimum", sm.minimum.is_some()),
        ("maximum", sm.maximum.is_some()),
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
        ("min_items", sm.min_items.is_some()),
        ("max_items", sm.max_items.is_some()),
        ("unique_items", sm.unique_items.is_some()),
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
        ("additional_fields", sm.additional_fields.is_some()),
    ] {
        if set && !has(&field, |t| t == FieldType::Object) {
            ctx.error_key(
                &p(path, &[key]),
                format!("`{key}` applies to objects, but field `{name}` is {type_name}"),
            );
        }
    }
    if sm.additional_fields.is_some() && spec.fields.is_none() {
        ctx.error_key(
            &p(path, &["additional_fields"]),
            "`additional_fields` needs `fields` to say which keys are allowed",
        );
    }
    if let (Some(a), Some(b)) = (sm.min_length, sm.max_length)
        && a > b
    {
        ctx.error(
            &p(path, &["min_length"]),
            format!("min_length {a} is greater than max_length {b}"),
        );
    }
    if let (Some(a), Some(b)) = (sm.min_items, sm.max_items)
        && a > b
    {
        ctx.error(
            &p(path, &["min_items"]),
            format!("min_items {a} is greater than max_items {b}"),
        );
    }
    let bound = |ctx: &mut Ctx, key: &str, v: &Option<Value>| -> Option<Bson> {
        let v = v.as_ref()?;
        let b = match v {
            Value::Int(i) => int_to_bson(*i),
            Value::Float(f) if f.is_finite() => Bson::Double(*f),
            Value::Float(f) => {
                ctx.error(
                    &p(path, &[key]),
                    format!(
                        "`{key}: {f}` is not a finite number; write a number, or leave `{key}` out"
                    ),
                );
                return None;
            }
            other => {
                ctx.error(
                    &p(path, &[key]),
                    format!("`{key}` must be a number, found {}", other.display()),
                );
                return None;
            }
        };
        Some(b)
    };
    field.more_mut().minimum = bound(ctx, "minimum", &sm.minimum).map(Box::new);
    field.more_mut().maximum = bound(ctx, "maximum", &sm.maximum).map(Box::new);
    if let (Some(a), Some(b)) = (&field.more().minimum, &field.more().maximum)
        && compare_numbers(a, b) == Some(std::cmp::Ordering::Greater)
    {
        ctx.error(
            &p(path, &["minimum"]),
            format!("minimum {a} is greater than maximum {b}"),
        );
    }
    if let Some(pattern) = &sm.pattern {
        if pattern.is_empty() {
            ctx.error(&p(path, &["pattern"]), "`pattern` is empty");
        } else if let Err(why) = check_regex(pattern) {
            ctx.error(
                &p(path, &["pattern"]),
                format!(
                    "`pattern` {} is not a valid regular expression: {why}",
                    show(pattern)
                ),
            );
        }
    }

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
        for (sname, sspec) in sub.iter() {
            let spath = p(path, &["fields", sname]);
            map.insert(sname.clone(), check_field(ctx, &spath, sname, sspec));
        }
        field.fields = Some(map.into_iter().collect());
    }

    if let Some(values) = &sm.values {
        let vpath = p(path, &["values"]);
        if !has(&field, |t| t == FieldType::Object) {
            ctx.error_key(
                &vpath,
                format!("`values` applies to objects (maps), but field `{name}` is {type_name}"),
            );
        }
        if sm.additional_fields == Some(AdditionalFields::Deny) {
            ctx.error_key(
                &vpath,
                "`values` declares the keys `fields` does not, so it cannot go with `additional_fields: deny`",
            );
        }
        let checked = check_field(ctx, &vpath, &format!("{name}[value]"), values);
        field.more_mut().values = Some(Box::new(checked));
    }

    // Enum values: each of the field's type, no duplicates.
    if let Some(values) = &sm.enum_values {
        let epath = p(path, &["enum"]);
        if values.is_empty() {
            ctx.error(&epath, "`enum` is empty: no value could ever be valid");
        }
        let mut converted: Vec<Bson> = Vec::with_capacity(values.len());
        // Values as compared (numbers by value), by fingerprint → position in `converted`, for
        // finding repeats in one pass (a fingerprint match is confirmed by comparing values).
        let mut seen: HashMap<u64, usize> = HashMap::new();
        // The enum's size in a validator: past 16 MB the server refuses it, so stop there.
        let mut bytes = 0usize;
        let print = |b: &Bson| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            format!("{:?}", crate::normalize::canonical_value(b)).hash(&mut h);
            h.finish()
        };
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
                Ok(b)
                    if seen.get(&print(&b)).is_some_and(|&at| {
                        let same = |c: &Bson| {
                            crate::normalize::canonical_value(c)
                                == crate::normalize::canonical_value(&b)
                        };
                        // A fingerprint shared by different values (all but impossible) falls
                        // back to comparing with every value.
                        same(&converted[at]) || converted.iter().any(same)
                    }) =>
                {
                    ctx.error(
                        &vpath,
                        format!(
                            "enum value {} is listed twice (numbers are compared by value: 1 and 1.0 are the same)",
                            value.display()
                        ),
                    )
                }
                Ok(b) => {
                    bytes += 1 + i.to_string().len() + 1 + bson_value_size(&b);
                    if bytes > MAX_BSON_SIZE {
                        ctx.error(
                            &epath,
                            format!(
                                "the enum of `{name}` holds more than 16 MB of values, over MongoDB's document limit for a validator; use fewer values, or a `pattern`"
                            ),
                        );
                        converted = Vec::new();
                        break;
                    }
                    seen.entry(print(&b)).or_insert(converted.len());
                    converted.push(b);
                }
                Err(why) => ctx.error(
                    &vpath,
                    format!(
                        "enum value {} is not a {type_name}: {why}",
                        value.display()
                    ),
                ),
            }
        }
        field.more_mut().enum_values = Some(converted);
    }

    // The default: of the field's type, within its enum and constraints.
    if let Some(value) = &sm.default {
        let dpath = p(path, &["default"]);
        if value.as_str() == Some("now") && field.allows(FieldType::Date) && !field.types.is_empty()
        {
            field.more_mut().default = Some(Box::new(DefaultValue::Now));
        } else {
            if value.as_str() == Some("now") && field.allows(FieldType::String) {
                ctx.warn(
                    &dpath,
                    format!(
                        "`default: now` on field `{name}` ({type_name}) is the text \"now\", not the server's time: that needs `type: date`"
                    ),
                );
            }
            match typed_value(&field, value).and_then(|b| {
                check_constraints(&field, &b)?;
                let size = bson::to_vec(&bson::doc! { "v": b.clone() }).map_or(0, |v| v.len());
                if size > 16 * 1024 * 1024 {
                    return Err(format!(
                        "it is {:.1} MB as BSON, and no document can hold more than 16 MB",
                        size as f64 / 1_048_576.0
                    ));
                }
                Ok(b)
            }) {
                Ok(b) => field.more_mut().default = Some(Box::new(DefaultValue::Value(b))),
                Err(why) => ctx.error(
                    &dpath,
                    format!(
                        "default {} for field `{name}` ({type_name}): {why}",
                        value.display()
                    ),
                ),
            }
        }
    }
    if *field.more() == FieldMore::default() {
        field.more = None;
    }
    field
}

/// A YAML integer as int32 when it fits, else int64.
pub(super) fn int_to_bson(i: i64) -> Bson {
    i32::try_from(i).map(Bson::Int32).unwrap_or(Bson::Int64(i))
}

/// Convert any YAML value to BSON without a declared type (mappings keep their key order).
pub(super) fn plain_bson(v: &Value) -> Result<Bson, String> {
    Ok(match v {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Int(i) => int_to_bson(*i),
        Value::Float(f) => Bson::Double(*f),
        Value::String(s) => Bson::String(s.clone()),
        Value::Seq(items) => Bson::Array(items.iter().map(plain_bson).collect::<Result<_, _>>()?),
        Value::Map(m) if is_extjson_wrapper(m) => extjson_value(v)?,
        Value::Map(m) => {
            let mut doc = Document::new();
            for (k, v) in m {
                doc.insert(k, plain_bson(v)?);
            }
            Bson::Document(doc)
        }
    })
}

/// Extended JSON type wrappers that no query operator shares a name with: a value YAML cannot
/// write (a decimal, a date, an ObjectId, binary data, ...) is written as its wrapper, as `pull`
/// writes it, e.g. `partial: { amount: { $gt: { $numberDecimal: '1.5' } } }`. `$regex` and
/// `$type` are query operators and stay what they are.
const EXTJSON_WRAPPERS: &[&str] = &[
    "$numberDecimal",
    "$numberLong",
    "$numberInt",
    "$numberDouble",
    "$date",
    "$oid",
    "$binary",
    "$uuid",
    "$timestamp",
    "$regularExpression",
    "$minKey",
    "$maxKey",
    "$symbol",
    "$code",
    "$dbPointer",
];

fn is_extjson_wrapper(m: &[(String, Value)]) -> bool {
    m.first()
        .is_some_and(|(k, _)| EXTJSON_WRAPPERS.contains(&k.as_str()))
        && m.iter().all(|(k, _)| k.starts_with('$'))
}

fn extjson_value(v: &Value) -> Result<Bson, String> {
    let json = v.to_json();
    let text = json.to_string();
    crate::extjson::to_bson(json).map_err(|e| format!("`{text}` is not valid Extended JSON: {e}"))
}

/// A declared shard key: its fields, then the rules of [`crate::shard::problems`] against the
/// collection's declared indexes.
fn check_shard_key(
    ctx: &mut Ctx,
    raw: &super::raw::ShardKeySpec,
    indexes: &[model::Index],
    options: &model::CollectionOptions,
) -> Option<model::ShardKey> {
    let path = vec!["shard_key".to_string()];
    let kpath = p(&path, &["keys"]);
    if raw.keys.is_empty() {
        ctx.error(
            &kpath,
            "a shard key has at least one field, e.g. `keys: { tenant_id: 1 }`",
        );
        return None;
    }
    let mut keys = Vec::new();
    for (field, value) in &raw.keys {
        let vpath = p(&kpath, &[field]);
        if let Some(why) = crate::names::field_path_problem(field) {
            ctx.error_key(&vpath, format!("shard key field `{field}`: {why}"));
            continue;
        }
        match value {
            Value::Int(1) => keys.push((field.clone(), model::ShardKeyKind::Range)),
            Value::String(s) if s == "hashed" => {
                keys.push((field.clone(), model::ShardKeyKind::Hashed))
            }
            other => ctx.error(
                &vpath,
                format!(
                    "shard key field `{field}`: {} is not a shard key kind; expected 1 (ranged) or hashed",
                    other.display()
                ),
            ),
        }
    }
    if keys.len() != raw.keys.len() {
        return None;
    }
    let key = model::ShardKey {
        keys,
        unique: raw.unique,
        initial_chunks: raw.initial_chunks,
    };
    let problems = crate::shard::problems(
        &key,
        indexes,
        options.capped.is_some(),
        options.view.is_some(),
    );
    for why in &problems {
        ctx.error_key(&path, why.clone());
    }
    problems.is_empty().then_some(key)
}

/// Does the server's regular expression engine (PCRE) accept `pattern`?
pub(super) fn check_regex(pattern: &str) -> Result<(), String> {
    pcre2::bytes::RegexBuilder::new()
        .utf(true)
        .build(pattern)
        .map(|_| ())
        .map_err(|e| {
            let text = e.to_string();
            text.strip_prefix("PCRE2: error compiling pattern at offset ")
                .map(|rest| format!("at offset {rest}"))
                .unwrap_or(text)
        })
}

/// The encoded size of a BSON value (as an element's payload).
fn bson_value_size(b: &Bson) -> usize {
    match b {
        Bson::Int32(_) => 4,
        Bson::Int64(_) | Bson::Double(_) | Bson::DateTime(_) | Bson::Timestamp(_) => 8,
        Bson::Boolean(_) => 1,
        Bson::Null => 0,
        Bson::String(s) => 4 + s.len() + 1,
        Bson::ObjectId(_) => 12,
        other => bson::to_vec(&bson::doc! { "v": other.clone() })
            .map(|v| v.len().saturating_sub(4 + 1 + 2 + 1))
            .unwrap_or(0),
    }
}

/// Order two BSON numbers exactly (integers as integers, not through floating point).
pub(super) fn compare_numbers(a: &Bson, b: &Bson) -> Option<std::cmp::Ordering> {
    fn int(v: &Bson) -> Option<i64> {
        match v {
            Bson::Int32(i) => Some(i64::from(*i)),
            Bson::Int64(i) => Some(*i),
            _ => None,
        }
    }
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => as_f64(a)?.partial_cmp(&as_f64(b)?),
    }
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
    for t in field.types.iter() {
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
        Value::Float(_) => "a decimal number",
        Value::Int(_) => "an integer",
        Value::String(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    };
    let wrong = || format!("expected {}, found {kind}", t.name());
    match (t, v) {
        (FieldType::String, Value::String(s)) => Ok(Bson::String(s.clone())),
        (FieldType::Bool, Value::Bool(b)) => Ok(Bson::Boolean(*b)),
        (FieldType::Int, Value::Int(n)) => i32::try_from(*n)
            .map(Bson::Int32)
            .map_err(|_| format!("expected a 32-bit integer, found {n}")),
        (FieldType::Int | FieldType::Long, Value::Float(f)) => {
            Err(format!("expected an integer, found {f}"))
        }
        (FieldType::Long, Value::Int(n)) => Ok(Bson::Int64(*n)),
        (FieldType::Double, Value::Int(n)) => Ok(Bson::Double(*n as f64)),
        (FieldType::Double | FieldType::Number, Value::Float(f)) => Ok(Bson::Double(*f)),
        (FieldType::Number, Value::Int(n)) => Ok(int_to_bson(*n)),
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
        (FieldType::Array, Value::Seq(items)) => {
            let mut out = Vec::new();
            for item in items {
                out.push(match &field.items {
                    Some(spec) => typed_value(spec, item)?,
                    None => plain_bson(item)?,
                });
            }
            Ok(Bson::Array(out))
        }
        (FieldType::Object, Value::Map(m)) => {
            let mut doc = Document::new();
            for (k, val) in m {
                let k = k.as_str();
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
    let more = field.more();
    if let Some(values) = &more.enum_values
        && !values.contains(value)
    {
        let list: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        return Err(format!("{value} is not in the enum [{}]", list.join(", ")));
    }
    match value {
        Bson::String(s) => {
            let n = s.chars().count() as u64;
            if more.min_length.is_some_and(|m| n < m) || more.max_length.is_some_and(|m| n > m) {
                return Err(format!("length {n} is outside min_length/max_length"));
            }
        }
        Bson::Array(items) => {
            let n = items.len() as u64;
            if more.min_items.is_some_and(|m| n < m) || more.max_items.is_some_and(|m| n > m) {
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
                if more.additional_fields == Some(AdditionalFields::Deny)
                    && let Some(extra) = doc.keys().find(|k| !fields.contains_key(k))
                {
                    return Err(format!(
                        "has undeclared field `{extra}` (additional_fields: deny)"
                    ));
                }
            }
        }
        other => {
            use std::cmp::Ordering::{Greater, Less};
            let below = more
                .minimum
                .as_ref()
                .is_some_and(|m| compare_numbers(other, m) == Some(Less));
            let above = more
                .maximum
                .as_ref()
                .is_some_and(|m| compare_numbers(other, m) == Some(Greater));
            if below || above {
                return Err(format!("{other} is outside minimum/maximum"));
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
    } else if !COLLATION_LOCALES.contains(&c.locale.as_str()) {
        let close: Vec<&str> = COLLATION_LOCALES
            .iter()
            .copied()
            .filter(|l| {
                l.eq_ignore_ascii_case(&c.locale)
                    || l.split(['_', '@']).next() == c.locale.split(['_', '@', '-']).next()
            })
            .collect();
        ctx.error(
            &p(path, &["locale"]),
            format!(
                "MongoDB does not know the collation locale {}{}",
                show(&c.locale),
                if close.is_empty() {
                    " (see https://www.mongodb.com/docs/manual/reference/collation-locales-defaults/)".to_string()
                } else {
                    format!("; did you mean {}?", close.join(", "))
                }
            ),
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
    let mut expire_after = None;
    if let Some(v) = &o.expire_after {
        let epath = p(&base, &["expire_after"]);
        match parse_duration(v) {
            Err(e) => ctx.error(&epath, format!("expire_after: {e}")),
            Ok(s) if s > MAX_TTL_SECONDS => ctx.error(
                &epath,
                format!("expire_after: {s} seconds is more than MongoDB allows ({MAX_TTL_SECONDS})"),
            ),
            Ok(_) if !o.clustered && o.timeseries.is_none() => ctx.error_key(
                &epath,
                "a collection TTL (`options.expire_after`) needs `clustered: true` or `timeseries`; for other collections declare a TTL index (`expire_after` on an index of a date field)",
            ),
            Ok(s) => expire_after = Some(s),
        }
    }
    if o.change_stream_pre_and_post_images && o.timeseries.is_some() {
        ctx.error_key(
            &p(&base, &["change_stream_pre_and_post_images"]),
            "time-series collections do not support change stream pre- and post-images",
        );
    }
    CollectionOptions {
        expire_after,
        change_stream_pre_and_post_images: o.change_stream_pre_and_post_images,
        view: None,
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

/// The most keys a compound index may have.
const MAX_INDEX_KEYS: usize = 32;
/// The largest TTL the server accepts (a 32-bit count of seconds).
const MAX_TTL_SECONDS: i64 = i32::MAX as i64;
/// The languages (and codes) MongoDB's text search knows.
const TEXT_LANGUAGES: &[&str] = &[
    "none",
    "danish",
    "da",
    "dutch",
    "nl",
    "english",
    "en",
    "finnish",
    "fi",
    "french",
    "fr",
    "german",
    "de",
    "hungarian",
    "hu",
    "italian",
    "it",
    "norwegian",
    "nb",
    "portuguese",
    "pt",
    "romanian",
    "ro",
    "russian",
    "ru",
    "spanish",
    "es",
    "swedish",
    "sv",
    "turkish",
    "tr",
];
/// The largest document (and command) the server accepts: 16 MiB.
pub const MAX_BSON_SIZE: usize = 16 * 1024 * 1024;

/// The collation locales MongoDB 6.0 accepts (read off a 6.0.5 server: every locale of the
/// manual's list that `create` accepted; `simple` is binary comparison).
pub const COLLATION_LOCALES: &[&str] = &[
    "af",
    "am",
    "ar",
    "ar@collation=compat",
    "as",
    "az",
    "be",
    "bg",
    "bn",
    "bn@collation=traditional",
    "bo",
    "bs",
    "bs_Cyrl",
    "ca",
    "chr",
    "cs",
    "cs@collation=search",
    "cy",
    "da",
    "da@collation=search",
    "de",
    "de@collation=phonebook",
    "de_AT",
    "de_AT@collation=phonebook",
    "dsb",
    "dz",
    "ee",
    "el",
    "en",
    "en_US",
    "en_US_POSIX",
    "eo",
    "es",
    "es@collation=traditional",
    "et",
    "fa",
    "fa_AF",
    "fi",
    "fi@collation=search",
    "fil",
    "fo",
    "fo@collation=search",
    "fr",
    "fr_CA",
    "ga",
    "gl",
    "gu",
    "ha",
    "haw",
    "he",
    "he@collation=search",
    "hi",
    "hr",
    "hr@collation=search",
    "hsb",
    "hu",
    "hy",
    "id",
    "ig",
    "is",
    "is@collation=search",
    "it",
    "ja",
    "ja@collation=unihan",
    "ka",
    "kk",
    "kl",
    "kl@collation=search",
    "km",
    "kn",
    "ko",
    "ko@collation=search",
    "ko@collation=searchjl",
    "ko@collation=unihan",
    "kok",
    "ky",
    "lb",
    "lkt",
    "ln",
    "ln@collation=phonetic",
    "lo",
    "lt",
    "mk",
    "ml",
    "mn",
    "mr",
    "ms",
    "mt",
    "my",
    "nb",
    "nb@collation=search",
    "ne",
    "nl",
    "nn",
    "nn@collation=search",
    "om",
    "or",
    "pa",
    "pl",
    "ps",
    "pt",
    "ro",
    "ru",
    "se",
    "se@collation=search",
    "si",
    "si@collation=dictionary",
    "simple",
    "sk",
    "sl",
    "smn",
    "smn@collation=search",
    "sq",
    "sr",
    "sr_Latn",
    "sr_Latn@collation=search",
    "sv",
    "sv@collation=search",
    "sw",
    "ta",
    "te",
    "th",
    "to",
    "tr",
    "ug",
    "uk",
    "ur",
    "vi",
    "wae",
    "yi",
    "yo",
    "zh",
    "zh@collation=big5han",
    "zh@collation=gb2312han",
    "zh@collation=unihan",
    "zh@collation=zhuyin",
    "zh_Hant",
    "zu",
];

/// Parse `expire_after`: seconds, or a number with a unit s/m/h/d.
pub fn parse_duration(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(n) if *n >= 0 => Ok(*n),
        Value::Int(n) => Err(format!("`{n}` is negative; a TTL is 0 seconds or more")),
        Value::Float(f) => Err(format!("`{f}` is not a whole number of seconds")),
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
fn resolve_path<'a>(fields: &'a crate::spec::FieldMap, path: &str) -> Option<Option<&'a Field>> {
    if path == "_id" || path == "$**" {
        return Some(None);
    }
    let mut current: &crate::spec::FieldMap = fields;
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
    fields: &crate::spec::FieldMap,
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
            Value::Int(1) => Some(IndexKind::Asc),
            Value::Int(-1) => Some(IndexKind::Desc),
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
                    value.display()
                ),
            );
            ok = false;
            continue;
        };
        if let Some(why) = crate::names::index_path_problem(field) {
            ctx.error_key(&vpath, format!("index key {}: {why}", show(field)));
            ok = false;
            continue;
        }
        keys.push((field.clone(), kind));
    }
    if !ok {
        return None;
    }
    if keys.len() > MAX_INDEX_KEYS {
        ctx.error(
            &kpath,
            format!(
                "an index has at most {MAX_INDEX_KEYS} keys; this one has {}",
                keys.len()
            ),
        );
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
    for (field, w) in spec.weights.iter().flatten() {
        if !(1..=99_999).contains(w) {
            ctx.error(
                &p(path, &["weights", field]),
                format!("text weight {w} of {}: a weight is 1 to 99999", show(field)),
            );
        }
    }
    let mut expire_after = None;
    if let Some(v) = &spec.expire_after {
        let epath = p(path, &["expire_after"]);
        match parse_duration(v) {
            Err(e) => ctx.error(&epath, format!("expire_after: {e}")),
            Ok(secs) if secs > MAX_TTL_SECONDS => ctx.error(
                &epath,
                format!(
                    "expire_after: {secs} seconds is more than MongoDB allows ({MAX_TTL_SECONDS} seconds, about 68 years)"
                ),
            ),
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
        Some(v @ Value::Map(_)) => match plain_bson(v) {
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
        Some(n) if crate::names::index_name_problem(n).is_some() => {
            let why = crate::names::index_name_problem(n).unwrap_or_default();
            ctx.error(&p(path, &["name"]), why);
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
    if (spec.default_language.is_some() || spec.language_override.is_some()) && !has_text {
        ctx.error_key(
            &p(
                path,
                &[if spec.default_language.is_some() {
                    "default_language"
                } else {
                    "language_override"
                }],
            ),
            "`default_language` and `language_override` apply only to text indexes",
        );
    }
    if let Some(l) = &spec.default_language
        && !TEXT_LANGUAGES.contains(&l.as_str())
    {
        ctx.error(
            &p(path, &["default_language"]),
            format!(
                "`{l}` is not a text search language; use one of {}",
                TEXT_LANGUAGES.join(", ")
            ),
        );
    }
    let wildcard_projection = match &spec.wildcard_projection {
        None => None,
        Some(m) => {
            let wpath = p(path, &["wildcard_projection"]);
            if keys.len() != 1 || keys[0].0 != "$**" {
                ctx.error_key(
                    &wpath,
                    "`wildcard_projection` applies only to an index on all fields, `keys: { $**: 1 }`",
                );
            }
            let mut doc = Document::new();
            let (mut include, mut exclude) = (false, false);
            for (k, v) in m {
                let on = match v {
                    Value::Int(1) | Value::Bool(true) => true,
                    Value::Int(0) | Value::Bool(false) => false,
                    other => {
                        ctx.error(
                            &p(&wpath, &[k]),
                            format!("{}: write 1 (include) or 0 (exclude)", other.display()),
                        );
                        continue;
                    }
                };
                if k != "_id" {
                    if on {
                        include = true;
                    } else {
                        exclude = true;
                    }
                }
                doc.insert(k.clone(), i32::from(on));
            }
            if include && exclude {
                ctx.error(
                    &wpath,
                    "a wildcard projection either includes paths (1) or excludes them (0), not both (`_id` aside)",
                );
            }
            Some(doc)
        }
    };
    let sphere_version = match spec.sphere_version {
        None => None,
        Some(v) => {
            if !keys.iter().any(|(_, k)| *k == IndexKind::TwoDSphere) {
                ctx.error_key(
                    &p(path, &["2dsphere_version"]),
                    "`2dsphere_version` applies only to 2dsphere indexes",
                );
            }
            if !(1..=3).contains(&v) {
                ctx.error(
                    &p(path, &["2dsphere_version"]),
                    format!("2dsphere index version {v} must be 1, 2 or 3"),
                );
            }
            Some(v as i32)
        }
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
        default_language: spec.default_language.clone(),
        language_override: spec.language_override.clone(),
        wildcard_projection,
        sphere_version,
    })
}
