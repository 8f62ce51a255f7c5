//! `pull`, the pure part: a collection as the server holds it (plus, where no validator says
//! them, fields inferred from its documents) → a spec file in the repository's style.
//!
//! - [`convert`]: an existing `$jsonSchema` validator → field declarations, losslessly or not at
//!   all (then the validator is kept as written, under `validator:`).
//! - [`infer`]: per-path statistics of documents, streamed (memory follows the number of
//!   distinct paths, not of documents), → field declarations with a comment of what was seen.
//! - [`emit`]: YAML scalars and flow values.
//!
//! [`collection_decl`] assembles a [`CollectionDecl`] from the model; [`render`] writes it. The
//! command checks that the text it writes, read back, is the same collection (see
//! `commands::pull`).

pub mod convert;
pub mod emit;
pub mod infer;
pub mod privacy;

use crate::model::{
    Collection, CollectionKind, Index, IndexKind, ValidationAction, ValidationLevel,
};
use bson::{Bson, Document};
use std::fmt::Write;

/// One field declaration, as it will be written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldDecl {
    /// Spec type names (`string`, `object_id`, ...); empty means `any`.
    pub types: Vec<String>,
    pub required: bool,
    pub nullable: bool,
    pub title: Option<String>,
    pub description: Option<String>,
    pub enum_values: Option<Vec<Bson>>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub minimum: Option<Bson>,
    pub maximum: Option<Bson>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: Option<bool>,
    pub items: Option<Box<FieldDecl>>,
    pub fields: Option<Vec<(String, FieldDecl)>>,
    pub additional_fields_deny: bool,
    /// A map: the declaration of every value.
    pub values: Option<Box<FieldDecl>>,
    pub default: Option<Bson>,
    /// What was seen in the data (written as a comment).
    pub comment: Option<String>,
}

impl FieldDecl {
    /// Written on one line as a flow mapping (no sub-fields anywhere inside).
    fn is_leaf(&self) -> bool {
        self.fields.is_none()
            && self.values.as_ref().is_none_or(|v| v.is_leaf())
            && self.items.as_ref().is_none_or(|i| i.is_leaf())
    }

    /// The `key: value` pairs of a flow mapping, in the repository's key order.
    fn flow_pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let ty = match self.types.len() {
            0 => "any".to_string(),
            1 => self.types[0].clone(),
            _ => format!("[{}]", self.types.join(", ")),
        };
        out.push(("type".into(), ty));
        if self.required {
            out.push(("required".into(), "true".into()));
        }
        if self.nullable {
            out.push(("nullable".into(), "true".into()));
        }
        if let Some(v) = &self.enum_values {
            out.push(("enum".into(), emit::value(&Bson::Array(v.clone()))));
        }
        if let Some(v) = &self.pattern {
            out.push(("pattern".into(), emit::scalar(v)));
        }
        for (k, v) in [
            ("min_length", self.min_length),
            ("max_length", self.max_length),
        ] {
            if let Some(v) = v {
                out.push((k.into(), v.to_string()));
            }
        }
        for (k, v) in [("minimum", &self.minimum), ("maximum", &self.maximum)] {
            if let Some(v) = v {
                out.push((k.into(), emit::value(v)));
            }
        }
        for (k, v) in [("min_items", self.min_items), ("max_items", self.max_items)] {
            if let Some(v) = v {
                out.push((k.into(), v.to_string()));
            }
        }
        if let Some(v) = self.unique_items {
            out.push(("unique_items".into(), v.to_string()));
        }
        if let Some(items) = &self.items
            && items.is_leaf()
        {
            out.push(("items".into(), emit::flow_pairs(&items.flow_pairs())));
        }
        if let Some(values) = &self.values
            && values.is_leaf()
        {
            out.push(("values".into(), emit::flow_pairs(&values.flow_pairs())));
        }
        if self.additional_fields_deny {
            out.push(("additional_fields".into(), "deny".into()));
        }
        if let Some(d) = &self.default {
            out.push(("default".into(), emit::value(d)));
        }
        if let Some(t) = &self.title {
            out.push(("title".into(), emit::scalar(t)));
        }
        if let Some(d) = &self.description {
            out.push(("description".into(), emit::scalar(d)));
        }
        out
    }
}

/// Write `fields` at `indent` spaces.
pub fn render_fields(out: &mut String, fields: &[(String, FieldDecl)], indent: usize) {
    let pad = " ".repeat(indent);
    for (name, f) in fields {
        let comment = f
            .comment
            .as_ref()
            .map(|c| format!("  # {c}"))
            .unwrap_or_default();
        if f.is_leaf() {
            let _ = writeln!(
                out,
                "{pad}{}: {}{comment}",
                emit::key(name),
                emit::flow_pairs(&f.flow_pairs())
            );
            continue;
        }
        let _ = writeln!(out, "{pad}{}:{comment}", emit::key(name));
        render_block(out, f, indent + 2);
    }
}

/// A field with sub-fields (or items/values with sub-fields) as a block at `indent`.
fn render_block(out: &mut String, f: &FieldDecl, indent: usize) {
    let pad = " ".repeat(indent);
    for (k, v) in f.flow_pairs() {
        let _ = writeln!(out, "{pad}{k}: {v}");
    }
    if let Some(items) = &f.items
        && !items.is_leaf()
    {
        let _ = writeln!(out, "{pad}items:");
        render_block(out, items, indent + 2);
    }
    if let Some(values) = &f.values
        && !values.is_leaf()
    {
        let _ = writeln!(out, "{pad}values:");
        render_block(out, values, indent + 2);
    }
    if let Some(sub) = &f.fields {
        if sub.is_empty() {
            let _ = writeln!(out, "{pad}fields: {{}}");
        } else {
            let _ = writeln!(out, "{pad}fields:");
            render_fields(out, sub, indent + 2);
        }
    }
}

/// A collection as it will be written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CollectionDecl {
    pub name: String,
    pub header: Vec<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    /// `(on, pipeline)` for a view.
    pub view: Option<(String, Vec<Document>)>,
    /// `None`: the defaults (enabled, strict, error, allow).
    pub validation: Validation,
    /// A validator kept as written.
    pub validator: Option<Document>,
    pub fields: Vec<(String, FieldDecl)>,
    pub indexes: Vec<IndexDecl>,
    pub ignore_indexes: Vec<(String, String)>,
    pub options: Vec<(String, String)>,
    /// `shard_key:` in flow style, on a sharded cluster.
    pub shard_key: Option<String>,
    /// Search indexes: `(name, type, definition in flow style)`.
    pub search_indexes: Vec<(String, String, String)>,
    /// Notes for the user about what could not be said exactly.
    pub notes: Vec<String>,
}

/// The `validation:` settings, as far as they differ from the defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Validation {
    pub disabled: bool,
    pub level: Option<ValidationLevel>,
    pub action: Option<ValidationAction>,
    pub deny_additional: bool,
}

/// One index as it will be written: rendered `key: value` lines after `- keys:`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexDecl {
    pub keys: String,
    pub options: Vec<(String, String)>,
}

/// Render a collection file.
pub fn render(c: &CollectionDecl) -> String {
    let mut out = String::new();
    for h in &c.header {
        let _ = writeln!(out, "# {h}");
    }
    let _ = writeln!(out, "collection: {}", emit::scalar(&c.name));
    if let Some(t) = &c.title {
        let _ = writeln!(out, "title: {}", emit::scalar(t));
    }
    if let Some(d) = &c.description {
        let _ = writeln!(out, "description: {}", emit::scalar(d));
    }
    if let Some((on, pipeline)) = &c.view {
        let _ = writeln!(out, "view:");
        let _ = writeln!(out, "  on: {}", emit::scalar(on));
        if pipeline.is_empty() {
            let _ = writeln!(out, "  pipeline: []");
        } else {
            let _ = writeln!(out, "  pipeline:");
            for stage in pipeline {
                let _ = writeln!(out, "    - {}", emit::flow(stage));
            }
        }
    }
    let v = &c.validation;
    let mut vpairs = Vec::new();
    if v.disabled {
        vpairs.push(("enabled".to_string(), "false".to_string()));
    }
    if let Some(l) = v.level {
        vpairs.push(("level".into(), l.as_str().into()));
    }
    if let Some(a) = v.action {
        vpairs.push(("action".into(), a.as_str().into()));
    }
    if v.deny_additional {
        vpairs.push(("additional_fields".into(), "deny".into()));
    }
    if !vpairs.is_empty() {
        let _ = writeln!(out, "validation: {}", emit::flow_pairs(&vpairs));
    }
    if let Some(doc) = &c.validator {
        let _ = writeln!(out, "validator:");
        render_document(&mut out, doc, 2);
    }
    if !c.fields.is_empty() {
        let _ = writeln!(out, "fields:");
        render_fields(&mut out, &c.fields, 2);
    }
    if !c.indexes.is_empty() {
        let _ = writeln!(out, "indexes:");
        for i in &c.indexes {
            let _ = writeln!(out, "  - keys: {}", i.keys);
            for (k, v) in &i.options {
                let _ = writeln!(out, "    {k}: {v}");
            }
        }
    }
    if !c.ignore_indexes.is_empty() {
        let _ = writeln!(out, "ignore_indexes:");
        for (name, why) in &c.ignore_indexes {
            let _ = writeln!(out, "  - {}  # {why}", emit::scalar(name));
        }
    }
    if !c.options.is_empty() {
        let _ = writeln!(out, "options:");
        for (k, v) in &c.options {
            let _ = writeln!(out, "  {k}: {v}");
        }
    }
    if let Some(k) = &c.shard_key {
        let _ = writeln!(out, "shard_key: {k}");
    }
    if !c.search_indexes.is_empty() {
        let _ = writeln!(out, "search_indexes:");
        for (name, kind, definition) in &c.search_indexes {
            let _ = writeln!(out, "  - name: {}", emit::scalar(name));
            if kind != "search" {
                let _ = writeln!(out, "    type: {kind}");
            }
            let _ = writeln!(out, "    definition: {definition}");
        }
    }
    out
}

/// A document in block style (for validators, which can be long), flow for short values.
fn render_document(out: &mut String, doc: &Document, indent: usize) {
    let pad = " ".repeat(indent);
    for (k, v) in doc {
        match v {
            Bson::Document(d) if !d.is_empty() && emit::flow(d).len() > 80 => {
                let _ = writeln!(out, "{pad}{}:", emit::key(k));
                render_document(out, d, indent + 2);
            }
            Bson::Array(items) if !items.is_empty() && emit::value(v).len() > 80 => {
                let _ = writeln!(out, "{pad}{}:", emit::key(k));
                for item in items {
                    match item {
                        Bson::Document(d) if !d.is_empty() && emit::flow(d).len() > 76 => {
                            let mut inner = String::new();
                            render_document(&mut inner, d, indent + 4);
                            let inner = inner.trim_start().to_string();
                            let _ = write!(out, "{pad}  - {inner}");
                        }
                        other => {
                            let _ = writeln!(out, "{pad}  - {}", emit::value(other));
                        }
                    }
                }
            }
            other => {
                let _ = writeln!(out, "{pad}{}: {}", emit::key(k), emit::value(other));
            }
        }
    }
}

/// The spec's name for an index key kind.
fn key_value(kind: &IndexKind) -> Option<&'static str> {
    Some(match kind {
        IndexKind::Asc => "1",
        IndexKind::Desc => "-1",
        IndexKind::Text => "text",
        IndexKind::TwoDSphere => "2dsphere",
        IndexKind::Hashed => "hashed",
        IndexKind::Other(_) => return None,
    })
}

/// The `keys:` flow mapping of an index, as the spec writes it (`None`: not expressible).
fn index_keys(index: &Index) -> Option<String> {
    let mut pairs = Vec::new();
    for (path, kind) in &index.keys {
        if path == "$**" {
            pairs.push((emit::key("$**"), "wildcard".to_string()));
        } else if let Some(base) = path.strip_suffix(".$**") {
            pairs.push((emit::key(base), "wildcard".to_string()));
        } else {
            pairs.push((emit::key(path), key_value(kind)?.to_string()));
        }
    }
    Some(emit::flow_pairs(&pairs))
}

/// A collation as the spec writes it: the locale and what differs from its defaults.
pub fn collation_yaml(c: &Document) -> String {
    let locale = c.get_str("locale").unwrap_or("simple");
    let defaults =
        crate::normalize::collation(&bson::doc! { "locale": locale }).unwrap_or_default();
    let mut pairs = vec![("locale".to_string(), emit::scalar(locale))];
    for (k, v) in c {
        if k == "locale" || k == "version" {
            continue;
        }
        let same = defaults.get(k).is_some_and(|d| {
            crate::normalize::canonical_value(d) == crate::normalize::canonical_value(v)
        });
        if !same {
            pairs.push((k.clone(), emit::value(v)));
        }
    }
    emit::flow_pairs(&pairs)
}

/// The index, as it will be written (against the collection's default collation).
fn index_decl(index: &Index, default_collation: Option<&Document>) -> Option<IndexDecl> {
    let keys = index_keys(index)?;
    let mut options = Vec::new();
    let spec_keys: Vec<(String, IndexKind)> = index.keys.clone();
    if index.name != Index::default_name(&spec_keys) {
        options.push(("name".to_string(), emit::scalar(&index.name)));
    }
    for (k, on) in [
        ("unique", index.unique),
        ("sparse", index.sparse),
        ("hidden", index.hidden),
    ] {
        if on {
            options.push((k.to_string(), "true".to_string()));
        }
    }
    if let Some(p) = &index.partial {
        options.push(("partial".into(), emit::flow(p)));
    }
    // An index inherits the collection's collation; say it only when it differs.
    let own = index
        .collation
        .as_deref()
        .and_then(crate::normalize::collation);
    let inherited = default_collation.and_then(crate::normalize::collation);
    if own != inherited {
        options.push((
            "collation".into(),
            match &index.collation {
                Some(c) if own.is_some() => collation_yaml(c),
                _ => "{ locale: simple }".into(),
            },
        ));
    }
    if let Some(s) = index.expire_after {
        options.push(("expire_after".into(), emit::duration(s)));
    }
    if let Some(w) = &index.weights {
        let pairs: Vec<(String, String)> = w
            .iter()
            .filter(|(_, v)| match v {
                Bson::Int32(1) | Bson::Int64(1) => false,
                Bson::Double(d) => *d != 1.0,
                _ => true,
            })
            .map(|(k, v)| {
                let n = match v {
                    Bson::Double(d) => (*d as i64).to_string(),
                    other => other.to_string(),
                };
                (emit::key(k), n)
            })
            .collect();
        if !pairs.is_empty() {
            options.push(("weights".into(), emit::flow_pairs(&pairs)));
        }
    }
    if let Some(l) = index.default_language.as_ref().filter(|l| *l != "english") {
        options.push(("default_language".into(), emit::scalar(l)));
    }
    if let Some(l) = index
        .language_override
        .as_ref()
        .filter(|l| *l != "language")
    {
        options.push(("language_override".into(), emit::scalar(l)));
    }
    if let Some(p) = &index.wildcard_projection {
        let pairs: Vec<(String, String)> = p
            .iter()
            .map(|(k, v)| {
                let on = match v {
                    Bson::Boolean(b) => *b,
                    Bson::Int32(i) => *i != 0,
                    Bson::Int64(i) => *i != 0,
                    Bson::Double(d) => *d != 0.0,
                    _ => true,
                };
                (emit::key(k), if on { "1" } else { "0" }.to_string())
            })
            .collect();
        options.push(("wildcard_projection".into(), emit::flow_pairs(&pairs)));
    }
    if let Some(v) = index.sphere_version.filter(|v| *v != 3) {
        options.push(("2dsphere_version".into(), v.to_string()));
    }
    Some(IndexDecl { keys, options })
}

/// What [`collection_decl`] is given besides the server's model of the collection.
#[derive(Debug, Clone, Default)]
pub struct DeclInput {
    /// Fields inferred from the documents (used when no validator says them).
    pub inferred: Option<Vec<(String, FieldDecl)>>,
    /// Turn validation on with the inferred fields (`--with-validators`).
    pub with_validators: bool,
    /// Header comment lines.
    pub header: Vec<String>,
}

/// The declaration of a server collection.
pub fn collection_decl(c: &Collection, input: DeclInput) -> CollectionDecl {
    let mut decl = CollectionDecl {
        name: c.name.clone(),
        header: input.header,
        ..Default::default()
    };
    if let Some(v) = &c.options.view {
        decl.view = Some((v.on.clone(), v.pipeline.clone()));
    }
    let o = &c.options;
    if let Some(coll) = &o.collation {
        decl.options
            .push(("collation".into(), collation_yaml(coll)));
    }
    if c.kind != CollectionKind::View {
        if let Some(cap) = &o.capped {
            let mut pairs = vec![("size".to_string(), cap.size.to_string())];
            if let Some(m) = cap.max {
                pairs.push(("max".into(), m.to_string()));
            }
            decl.options
                .push(("capped".into(), emit::flow_pairs(&pairs)));
        }
        if let Some(t) = &o.timeseries {
            let mut pairs = vec![("time_field".to_string(), emit::scalar(&t.time_field))];
            if let Some(m) = &t.meta_field {
                pairs.push(("meta_field".into(), emit::scalar(m)));
            }
            if let Some(g) = t.granularity.as_ref().filter(|g| *g != "seconds") {
                pairs.push(("granularity".into(), emit::scalar(g)));
            }
            decl.options
                .push(("timeseries".into(), emit::flow_pairs(&pairs)));
        }
        if o.clustered {
            decl.options.push(("clustered".into(), "true".into()));
        }
        if let Some(s) = o.expire_after {
            decl.options
                .push(("expire_after".into(), emit::duration(s)));
        }
        if o.change_stream_pre_and_post_images {
            decl.options
                .push(("change_stream_pre_and_post_images".into(), "true".into()));
        }
    }
    // Validator: as fields when they say it exactly, else as written.
    match &c.validator {
        Some(v) => {
            decl.validation.level = (v.level != ValidationLevel::Strict).then_some(v.level);
            decl.validation.action = (v.action != ValidationAction::Error).then_some(v.action);
            match convert::from_validator(&v.document()) {
                Some(converted) => {
                    decl.title = converted.title;
                    decl.description = converted.description;
                    decl.validation.deny_additional = converted.deny_additional;
                    decl.fields = converted.fields;
                }
                None => {
                    decl.validator = Some(v.document());
                    decl.notes.push(
                        "its validator is kept as written (`validator:`): fields cannot say all of it"
                            .into(),
                    );
                }
            }
        }
        None if c.kind == CollectionKind::View => {}
        None => {
            decl.fields = input.inferred.unwrap_or_default();
            if !(input.with_validators && c.kind == CollectionKind::Collection) {
                decl.validation.disabled = true;
            }
        }
    }
    if let Some(k) = &c.shard_key {
        let mut pairs = vec![("keys".to_string(), emit::flow(&k.key_document()))];
        if k.unique {
            pairs.push(("unique".into(), "true".into()));
        }
        decl.shard_key = Some(emit::flow_pairs(&pairs));
    }
    decl.search_indexes = c
        .search_indexes
        .iter()
        .map(|s| (s.name.clone(), s.kind.clone(), emit::flow(&s.definition)))
        .collect();
    let default_collation = o.collation.as_ref();
    for index in &c.indexes {
        match index_decl(index, default_collation) {
            Some(d) => decl.indexes.push(d),
            None => decl.ignore_indexes.push((
                index.name.clone(),
                format!(
                    "{} cannot be declared in a spec; left to the server",
                    index.key_document()
                ),
            )),
        }
    }
    decl
}

/// What differs between the collection a spec file declares and the one the server holds, as
/// plan summaries (empty: the file says exactly what the server holds). `file` is where the text
/// would be written (for messages); spec errors are differences too.
pub fn round_trip(
    db: &str,
    file: &std::path::Path,
    text: &str,
    server: &Collection,
) -> Vec<String> {
    use crate::normalize::{self, Side};
    let loaded = crate::spec::check_sources(&[crate::spec::DatabaseSource {
        name: db.to_string(),
        database_file: None,
        collection_files: vec![(file.to_path_buf(), text.to_string())],
        unreadable: Vec::new(),
        problems: Vec::new(),
    }]);
    if loaded.has_errors() {
        return loaded.errors().map(|d| d.to_string()).collect();
    }
    let mut desired = crate::spec::to_model(&loaded.spec);
    normalize::schema(&mut desired, Side::Spec);
    let mut current = crate::model::Schema::default();
    let mut have = server.clone();
    normalize::collection(&mut have, Side::Server);
    current.databases.insert(
        db.to_string(),
        crate::model::Database {
            name: db.to_string(),
            collections: [(server.name.clone(), have)].into_iter().collect(),
            ..Default::default()
        },
    );
    let changes = crate::diff::diff(&current, &desired);
    let plan = crate::plan::plan(&changes, &crate::plan::PlanOptions::default());
    plan.steps
        .iter()
        .map(|s| format!("{} ({})", s.op.summary(), s.reason))
        .chain(plan.notices.iter().map(|n| n.message.clone()))
        .collect()
}

/// A checked field, as a declaration (to merge a hand-written file with a new pull).
pub fn field_decl_of(f: &crate::spec::Field) -> FieldDecl {
    let m = f.more();
    FieldDecl {
        types: f.types.iter().map(|t| t.name().to_string()).collect(),
        required: f.required,
        nullable: f.nullable,
        title: m.title.clone(),
        description: m.description.clone(),
        enum_values: m.enum_values.clone(),
        pattern: m.pattern.clone(),
        min_length: m.min_length,
        max_length: m.max_length,
        minimum: m.minimum.as_deref().cloned(),
        maximum: m.maximum.as_deref().cloned(),
        min_items: m.min_items,
        max_items: m.max_items,
        unique_items: m.unique_items,
        items: f.items.as_deref().map(|i| Box::new(field_decl_of(i))),
        fields: f.fields.as_ref().map(|fs| {
            fs.iter()
                .map(|(k, v)| (k.clone(), field_decl_of(v)))
                .collect()
        }),
        additional_fields_deny: m.additional_fields == Some(crate::spec::AdditionalFields::Deny),
        values: m.values.as_deref().map(|v| Box::new(field_decl_of(v))),
        default: m.default.as_deref().map(|d| match d {
            crate::spec::DefaultValue::Value(b) => b.clone(),
            crate::spec::DefaultValue::Now => Bson::String("now".into()),
        }),
        comment: None,
    }
}

/// Put `fields` in the order a file wrote them (`written`: its `fields:` mapping), nested
/// `fields` too; names the file does not write keep their place after those it does.
pub fn order_as_written(fields: &mut [(String, FieldDecl)], written: Option<&crate::yaml::Value>) {
    let Some(crate::yaml::Value::Map(entries)) = written else {
        return;
    };
    let rank = |name: &str| {
        entries
            .iter()
            .position(|(k, _)| k == name)
            .unwrap_or(usize::MAX)
    };
    fields.sort_by_key(|(name, _)| rank(name));
    for (name, f) in fields.iter_mut() {
        if let Some(sub) = &mut f.fields {
            let inner = entries
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.get("fields"));
            order_as_written(sub, inner);
        }
    }
}

/// `--merge`: the new declarations, keeping what a person wrote in the old ones (descriptions,
/// defaults and constraints), the old fields the data no longer shows, and the old file's
/// order (fields new to it come after, in name order).
pub fn merge(new: &mut Vec<(String, FieldDecl)>, old: &[(String, FieldDecl)]) {
    for (name, n) in new.iter_mut() {
        let Some((_, o)) = old.iter().find(|(k, _)| k == name) else {
            continue;
        };
        n.title = n.title.take().or_else(|| o.title.clone());
        n.description = n.description.take().or_else(|| o.description.clone());
        n.default = n.default.take().or_else(|| o.default.clone());
        n.enum_values = n.enum_values.take().or_else(|| o.enum_values.clone());
        n.pattern = n.pattern.take().or_else(|| o.pattern.clone());
        n.min_length = n.min_length.or(o.min_length);
        n.max_length = n.max_length.or(o.max_length);
        n.minimum = n.minimum.take().or_else(|| o.minimum.clone());
        n.maximum = n.maximum.take().or_else(|| o.maximum.clone());
        n.min_items = n.min_items.or(o.min_items);
        n.max_items = n.max_items.or(o.max_items);
        n.unique_items = n.unique_items.or(o.unique_items);
        if let (Some(nf), Some(of)) = (&mut n.fields, &o.fields) {
            merge(nf, of);
        }
    }
    let mut merged: Vec<(String, FieldDecl)> = Vec::with_capacity(new.len() + old.len());
    for (name, o) in old {
        match new.iter().position(|(k, _)| k == name) {
            Some(i) => merged.push(new.remove(i)),
            None => merged.push((name.clone(), o.clone())),
        }
    }
    new.sort_by(|a, b| a.0.cmp(&b.0));
    merged.append(new);
    *new = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_render_like_the_hand_written_ones() {
        let fields = vec![
            (
                "name".to_string(),
                FieldDecl {
                    types: vec!["string".into()],
                    required: true,
                    max_length: Some(100),
                    ..Default::default()
                },
            ),
            (
                "perf".to_string(),
                FieldDecl {
                    types: vec!["object".into()],
                    fields: Some(vec![(
                        "rating".into(),
                        FieldDecl {
                            types: vec!["number".into()],
                            comment: Some("seen in 10%".into()),
                            ..Default::default()
                        },
                    )]),
                    ..Default::default()
                },
            ),
            (
                "tags".to_string(),
                FieldDecl {
                    types: vec!["array".into()],
                    items: Some(Box::new(FieldDecl {
                        types: vec!["string".into()],
                        ..Default::default()
                    })),
                    ..Default::default()
                },
            ),
        ];
        let mut out = String::new();
        render_fields(&mut out, &fields, 2);
        assert_eq!(
            out,
            "  name: { type: string, required: true, max_length: 100 }\n  perf:\n    type: object\n    fields:\n      rating: { type: number }  # seen in 10%\n  tags: { type: array, items: { type: string } }\n"
        );
    }

    #[test]
    fn search_indexes_are_written_back_and_read_the_same() {
        use bson::doc;
        let c = Collection {
            name: "movies".into(),
            search_indexes: vec![
                crate::model::SearchIndex {
                    name: "default".into(),
                    kind: "search".into(),
                    definition: doc! { "mappings": { "dynamic": false, "fields": { "title": { "type": "string" } } } },
                },
                crate::model::SearchIndex {
                    name: "plot".into(),
                    kind: "vectorSearch".into(),
                    definition: doc! { "fields": [{ "type": "vector", "path": "e", "numDimensions": 1536, "similarity": "cosine" }] },
                },
            ],
            ..Default::default()
        };
        let text = render(&collection_decl(&c, DeclInput::default()));
        assert!(
            text.contains("search_indexes:\n  - name: default\n    definition: { mappings: "),
            "{text}"
        );
        assert!(
            text.contains("  - name: plot\n    type: vectorSearch\n"),
            "{text}"
        );
        let file = std::path::Path::new("app/movies.yaml");
        assert_eq!(
            round_trip("app", file, &text, &c),
            Vec::<String>::new(),
            "{text}"
        );
    }
}
