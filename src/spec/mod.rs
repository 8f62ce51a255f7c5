//! The YAML spec: loading a schemas root, checking it, and the checked form the rest of
//! mongrate works from.
//!
//! A schemas root holds one folder per database and one file per collection
//! (`<root>/<database>/<collection>.yaml`), plus an optional `_database.yaml` per database.
//! Loading never stops at the first problem: every file is read and every problem becomes a
//! [`Diagnostic`] naming file, line and column.

mod check;
pub mod jsonschema;
mod lower;
pub mod pos;
pub mod raw;

pub use lower::to_model;
pub use raw::AdditionalFields;

use crate::model::{self, ValidationAction, ValidationLevel};
use bson::Bson;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// How serious a diagnostic is: errors make the spec unusable, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in a spec file, with its position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {kind}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// Errors that prevent reading a schemas root at all (as opposed to problems inside it).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("schemas folder `{0}` does not exist (pass --schemas DIR)")]
    Missing(PathBuf),
    #[error(
        "`{0}` is a file, not a folder; --schemas names the folder holding one sub-folder per database"
    )]
    NotAFolder(PathBuf),
    #[error("cannot read `{path}`: {reason}")]
    Io { path: PathBuf, reason: String },
}

/// An I/O error in a few words (`permission denied`), without the OS error number.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".into(),
        std::io::ErrorKind::IsADirectory => "it is a folder".into(),
        _ => {
            let text = e.to_string();
            text.split(" (os error")
                .next()
                .unwrap_or(&text)
                .to_lowercase()
        }
    }
}

/// Read a text file, saying why not in a few words.
pub fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| io_reason(&e))?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// A field's BSON type, as declared in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Int,
    Long,
    Double,
    Decimal,
    Number,
    Bool,
    Date,
    Timestamp,
    ObjectId,
    Uuid,
    Binary,
    Object,
    Array,
}

impl FieldType {
    /// Every name the spec accepts for `type` (besides `any`).
    pub const NAMES: &'static [&'static str] = &[
        "string",
        "int",
        "long",
        "double",
        "decimal",
        "number",
        "bool",
        "date",
        "timestamp",
        "object_id",
        "uuid",
        "binary",
        "object",
        "array",
        "any",
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" => Self::String,
            "int" => Self::Int,
            "long" => Self::Long,
            "double" => Self::Double,
            "decimal" => Self::Decimal,
            "number" => Self::Number,
            "bool" => Self::Bool,
            "date" => Self::Date,
            "timestamp" => Self::Timestamp,
            "object_id" => Self::ObjectId,
            "uuid" => Self::Uuid,
            "binary" => Self::Binary,
            "object" => Self::Object,
            "array" => Self::Array,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Int => "int",
            Self::Long => "long",
            Self::Double => "double",
            Self::Decimal => "decimal",
            Self::Number => "number",
            Self::Bool => "bool",
            Self::Date => "date",
            Self::Timestamp => "timestamp",
            Self::ObjectId => "object_id",
            Self::Uuid => "uuid",
            Self::Binary => "binary",
            Self::Object => "object",
            Self::Array => "array",
        }
    }

    /// The `$jsonSchema` `bsonType` alias.
    pub fn bson_type(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Int => "int",
            Self::Long => "long",
            Self::Double => "double",
            Self::Decimal => "decimal",
            Self::Number => "number",
            Self::Bool => "bool",
            Self::Date => "date",
            Self::Timestamp => "timestamp",
            Self::ObjectId => "objectId",
            Self::Uuid | Self::Binary => "binData",
            Self::Object => "object",
            Self::Array => "array",
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Self::Int | Self::Long | Self::Double | Self::Decimal | Self::Number
        )
    }
}

/// What `backfill` writes into documents that lack a field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum DefaultValue {
    /// A fixed value, already converted to the field's BSON type.
    Value(Bson),
    /// The server's current time when the backfill runs (`default: now` on a date field).
    Now,
}

/// The declared types of a field, in declaration order, without a heap allocation (there are
/// only 14 type names). Empty means `any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeList {
    len: u8,
    items: [FieldType; 14],
}

impl Default for TypeList {
    fn default() -> Self {
        Self {
            len: 0,
            items: [FieldType::String; 14],
        }
    }
}

impl TypeList {
    /// Add a type (a type already listed, or a 15th, is ignored).
    pub fn push(&mut self, t: FieldType) {
        if !self.contains(&t) && (self.len as usize) < self.items.len() {
            self.items[self.len as usize] = t;
            self.len += 1;
        }
    }
}

impl std::ops::Deref for TypeList {
    type Target = [FieldType];
    fn deref(&self) -> &[FieldType] {
        &self.items[..self.len as usize]
    }
}

impl FromIterator<FieldType> for TypeList {
    fn from_iter<I: IntoIterator<Item = FieldType>>(iter: I) -> Self {
        let mut list = Self::default();
        for t in iter {
            list.push(t);
        }
        list
    }
}

impl Serialize for TypeList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Fields by name, in name order: a sorted vector, which costs far less than a `BTreeMap` for
/// the many small objects a schema declares.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldMap(Vec<(String, Field)>);

impl FieldMap {
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Field)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }
    pub fn values(&self) -> impl Iterator<Item = &Field> {
        self.0.iter().map(|(_, v)| v)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, Field)> for FieldMap {
    /// In name order; of two entries with one name, the later wins.
    fn from_iter<I: IntoIterator<Item = (String, Field)>>(iter: I) -> Self {
        let mut entries: Vec<(String, Field)> = iter.into_iter().collect();
        entries.reverse();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        entries.shrink_to_fit();
        Self(entries)
    }
}

impl<'a> IntoIterator for &'a FieldMap {
    type Item = (&'a String, &'a Field);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Field)>,
        fn(&'a (String, Field)) -> (&'a String, &'a Field),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for FieldMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// A checked field declaration. What most fields have is inline; the rest is boxed in
/// [`FieldMore`], so a schema with a million plain fields stays small in memory.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Field {
    /// Allowed types; empty means `any`.
    pub types: TypeList,
    pub nullable: bool,
    pub required: bool,
    pub items: Option<Box<Field>>,
    /// Declared sub-fields of an object (`None`: any keys).
    pub fields: Option<FieldMap>,
    /// Everything else, when anything else is declared.
    pub more: Option<Box<FieldMore>>,
}

/// The less common parts of a field declaration.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct FieldMore {
    /// A short name for the field (`title` in `$jsonSchema`, as MongoDB's documentation
    /// recommends beside `description`).
    pub title: Option<String>,
    pub description: Option<String>,
    pub default: Option<Box<DefaultValue>>,
    pub enum_values: Option<Vec<Bson>>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub minimum: Option<Box<Bson>>,
    pub maximum: Option<Box<Bson>>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: Option<bool>,
    pub additional_fields: Option<AdditionalFields>,
    /// A map: the declaration every value of the object must meet (`additionalProperties`).
    pub values: Option<Box<Field>>,
    /// Where the field comes from (`renamed_from`, `convert`, `contract_after`).
    pub evolve: Option<Box<FieldEvolve>>,
}

/// Visit every declared field with its dotted path (objects' fields included, not array
/// elements'), parents before their fields.
fn each_field<'f>(fields: &'f FieldMap, prefix: &str, visit: &mut impl FnMut(String, &'f Field)) {
    for (name, f) in fields {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        visit(path.clone(), f);
        if let Some(sub) = &f.fields {
            each_field(sub, &path, visit);
        }
    }
}

/// Every declared field's dotted path (objects' fields included, not array elements').
pub fn field_paths(fields: &FieldMap) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    each_field(fields, "", &mut |path, _| {
        out.insert(path);
    });
    out
}

/// The fields that declare an evolution, by dotted path (not inside arrays).
pub fn evolving_fields(fields: &FieldMap) -> Vec<(String, &Field)> {
    let mut out = Vec::new();
    each_field(fields, "", &mut |path, f| {
        if f.more().evolve.is_some() {
            out.push((path, f));
        }
    });
    out
}

/// Where `key` of the field at dotted `path` is written in a collection file:
/// `fields.a.fields.b.<key>`.
pub fn field_key_path(path: &str, key: &str) -> Vec<String> {
    let mut at = Vec::new();
    for seg in path.split('.') {
        at.push("fields".to_string());
        at.push(seg.to_string());
    }
    at.push(key.to_string());
    at
}

/// A field's declared evolution, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldEvolve {
    pub from: Option<String>,
    pub convert: Option<bson::Document>,
    /// Seconds.
    pub contract_after: i64,
}

static NO_MORE: FieldMore = FieldMore {
    title: None,
    description: None,
    default: None,
    enum_values: None,
    pattern: None,
    min_length: None,
    max_length: None,
    minimum: None,
    maximum: None,
    min_items: None,
    max_items: None,
    unique_items: None,
    additional_fields: None,
    values: None,
    evolve: None,
};

impl Field {
    pub fn allows(&self, t: FieldType) -> bool {
        self.types.is_empty() || self.types.contains(&t)
    }

    /// The less common parts (all `None` when none is declared).
    pub fn more(&self) -> &FieldMore {
        self.more.as_deref().unwrap_or(&NO_MORE)
    }

    /// The parts to change; boxed on first use.
    pub fn more_mut(&mut self) -> &mut FieldMore {
        self.more.get_or_insert_with(Box::default)
    }
}

/// Validation settings after database defaults are applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    pub enabled: bool,
    pub level: ValidationLevel,
    pub action: ValidationAction,
    pub additional_fields: AdditionalFields,
}

/// One checked collection file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectionSpec {
    pub database: String,
    pub name: String,
    pub file: PathBuf,
    /// The validator's `title` (a short name of the collection's documents).
    pub title: Option<String>,
    pub description: Option<String>,
    pub validation: Validation,
    pub fields: FieldMap,
    pub indexes: Vec<model::Index>,
    pub options: model::CollectionOptions,
    pub ignore_indexes: Vec<String>,
    /// Seconds an undeclared index stays hidden before it may be dropped (`retire_after`).
    pub retire_after: Option<i64>,
    /// A validator written as is (`validator:`), which then replaces the generated one.
    pub raw_validator: Option<bson::Document>,
    /// The shard key, on a sharded cluster.
    pub shard_key: Option<model::ShardKey>,
    /// Atlas Search and Vector Search indexes.
    pub search_indexes: Vec<model::SearchIndex>,
    /// Lint rules acknowledged in this file: (rule, reason).
    pub lint_allow: Vec<(String, String)>,
}

/// One database folder.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DatabaseSpec {
    pub name: String,
    pub description: Option<String>,
    pub collections: BTreeMap<String, CollectionSpec>,
    pub ignore_collections: Vec<String>,
    /// A template's (`tenant_*`) databases it does not cover, as names or patterns.
    pub exclude: Vec<String>,
}

/// A whole schemas root, checked.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SchemaSpec {
    pub databases: BTreeMap<String, DatabaseSpec>,
}

impl SchemaSpec {
    /// Look up `db.collection`.
    pub fn collection(&self, db: &str, collection: &str) -> Option<&CollectionSpec> {
        self.databases.get(db)?.collections.get(collection)
    }
}

/// The result of loading a schemas root: what could be checked, and every problem found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub spec: SchemaSpec,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

/// The raw text of one database folder, read from disk or given in memory.
#[derive(Debug, Default, Clone)]
pub struct DatabaseSource {
    pub name: String,
    /// `_database.yaml`, if present: (path, text).
    pub database_file: Option<(PathBuf, String)>,
    /// Collection files: (path, text), in file-name order.
    pub collection_files: Vec<(PathBuf, String)>,
    /// Files that could not be read: (path, why). Reported; the other files are still checked.
    pub unreadable: Vec<(PathBuf, String)>,
    /// What reading the folder found wrong with it (two `_database` files, files and folders
    /// it ignores): errors and warnings.
    pub problems: Vec<Diagnostic>,
}

/// A diagnostic about a whole file or folder (line 1, column 1).
fn about(path: &Path, severity: Severity, message: String) -> Diagnostic {
    Diagnostic {
        severity,
        file: path.to_path_buf(),
        line: 1,
        column: 1,
        message,
    }
}

/// What a file name says it is: a schema file mongrate reads, one it ignores because of how
/// its extension is spelt, or something else.
fn yaml_kind(path: &Path) -> Option<bool> {
    let ext = path.extension().and_then(|e| e.to_str())?;
    match ext {
        "yaml" | "yml" => Some(true),
        e if e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml") => Some(false),
        _ => None,
    }
}

/// Read every database folder under `root` (I/O only; no checking), with what reading found
/// wrong: folders that are symlinks back into the tree, and files it ignores.
pub fn read_root(root: &Path) -> Result<(Vec<DatabaseSource>, Vec<Diagnostic>), LoadError> {
    if root.is_file() {
        return Err(LoadError::NotAFolder(root.to_path_buf()));
    }
    if !root.is_dir() {
        return Err(LoadError::Missing(root.to_path_buf()));
    }
    let mut problems = Vec::new();
    let dirs = database_folders(root, &mut problems)?;
    let mut out = Vec::new();
    for dir in dirs {
        let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
            problems.push(about(
                &dir,
                Severity::Error,
                "a database folder's name must be valid UTF-8".into(),
            ));
            continue;
        };
        out.push(read_database_folder(&dir, name, &mut problems));
    }
    Ok((out, problems))
}

/// A folder's entries, sorted, hidden ones left out.
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    Ok(entries)
}

/// The database folders directly under `root`; symlink loops and twins are problems, and
/// schema files lying at the top are ignored with a warning.
fn database_folders(
    root: &Path,
    problems: &mut Vec<Diagnostic>,
) -> Result<Vec<PathBuf>, LoadError> {
    let canonical_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let entries = sorted_entries(root).map_err(|e| LoadError::Io {
        path: root.to_path_buf(),
        reason: io_reason(&e),
    })?;
    let mut dirs = Vec::new();
    let mut seen_folders: Vec<(PathBuf, PathBuf)> = Vec::new();
    for path in entries {
        if !path.is_dir() {
            if yaml_kind(&path).is_some() {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                problems.push(about(
                    &path,
                    Severity::Warning,
                    format!(
                        "ignored: schema files go in a database folder (`{}/<database>/{name}`)",
                        root.display()
                    ),
                ));
            } else if !path.exists() {
                problems.push(about(
                    &path,
                    Severity::Warning,
                    "ignored: a symlink to nothing".into(),
                ));
            }
            continue;
        }
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if canonical_root.starts_with(&real) {
            problems.push(about(
                &path,
                Severity::Error,
                format!(
                    "`{}` is a symlink to `{}`, which holds it (a loop); remove it",
                    path.display(),
                    real.display()
                ),
            ));
            continue;
        }
        if let Some((first, _)) = seen_folders.iter().find(|(_, r)| *r == real) {
            problems.push(about(
                &path,
                Severity::Error,
                format!(
                    "`{}` and `{}` are the same folder (a symlink): one database would be declared twice; remove one",
                    first.display(),
                    path.display()
                ),
            ));
            continue;
        }
        seen_folders.push((path.clone(), real));
        dirs.push(path);
    }
    Ok(dirs)
}

/// The schema files of one database folder; anything else in it is ignored with a warning.
fn schema_files(listing: Vec<PathBuf>, problems: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for p in listing {
        if p.is_dir() {
            problems.push(about(
                &p,
                Severity::Warning,
                "ignored: a folder inside a database folder (collection files go directly in it)"
                    .into(),
            ));
            continue;
        }
        match yaml_kind(&p) {
            Some(true) if p.is_file() => files.push(p),
            Some(true) => problems.push(about(
                &p,
                Severity::Warning,
                "ignored: not a readable file (a symlink to nothing?)".into(),
            )),
            Some(false) => {
                let file_name = p.file_name().unwrap_or_default().to_string_lossy();
                problems.push(about(
                    &p,
                    Severity::Warning,
                    format!(
                        "ignored: mongrate reads files ending in `.yaml` or `.yml` (lower case); rename `{file_name}`"
                    ),
                ))
            }
            None => {}
        }
    }
    files
}

/// One database folder's files: its `_database.yaml` and its collection files, as text.
fn read_database_folder(dir: &Path, name: &str, problems: &mut Vec<Diagnostic>) -> DatabaseSource {
    let mut source = DatabaseSource {
        name: name.to_string(),
        ..Default::default()
    };
    let listing = match sorted_entries(dir) {
        Ok(listing) => listing,
        Err(e) => {
            source.unreadable.push((dir.to_path_buf(), io_reason(&e)));
            return source;
        }
    };
    for file in schema_files(listing, problems) {
        let text = match read_text(&file) {
            Ok(text) => text,
            Err(why) => {
                source.unreadable.push((file, why));
                continue;
            }
        };
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if stem != "_database" {
            source.collection_files.push((file, text));
        } else if let Some((first, _)) = &source.database_file {
            source.problems.push(about(
                &file,
                Severity::Error,
                format!(
                    "`{}` is already this database's defaults file; keep one of the two",
                    first.display()
                ),
            ));
        } else {
            source.database_file = Some((file, text));
        }
    }
    source
}

/// Check the given database sources (pure: no I/O).
pub fn check_sources(sources: &[DatabaseSource]) -> Loaded {
    let mut loaded = Loaded::default();
    for source in sources {
        loaded.diagnostics.extend(source.problems.iter().cloned());
        for (path, why) in &source.unreadable {
            loaded.diagnostics.push(Diagnostic {
                severity: Severity::Error,
                file: path.clone(),
                line: 1,
                column: 1,
                message: format!("cannot read this file: {why}"),
            });
        }
        let db = check::check_database(source, &mut loaded.diagnostics);
        loaded.spec.databases.insert(db.name.clone(), db);
    }
    loaded
}

/// Read and check a schemas root.
pub fn load_dir(root: &Path) -> Result<Loaded, LoadError> {
    let (sources, problems) = read_root(root)?;
    let mut loaded = check_sources(&sources);
    loaded.diagnostics.splice(0..0, problems);
    Ok(loaded)
}
