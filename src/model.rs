//! The canonical, plain-data description of a deployment: databases → collections →
//! options, validator and indexes.
//!
//! Both sides of a comparison become this: the YAML spec is lowered into it (`spec::lower`) and a
//! live server is read into it (later: `db::inspect`). Nothing here does I/O; every map is a
//! `BTreeMap` so iteration order, and therefore all output, is deterministic.

use bson::{Bson, Document};
use serde::Serialize;
use std::collections::BTreeMap;

/// A whole deployment: every database mongrate manages, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Schema {
    pub databases: BTreeMap<String, Database>,
    /// Read from a server that is not a sharded cluster (no `mongos`): a declared shard key
    /// cannot apply there, so shard keys are not compared against it.
    #[serde(skip)]
    pub unsharded: bool,
    /// Read from a server without search (`$listSearchIndexes` unknown: no Atlas Search):
    /// declared search indexes are not compared against it.
    #[serde(skip)]
    pub no_search: bool,
}

/// One database and the collections it declares.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Database {
    pub name: String,
    pub collections: BTreeMap<String, Collection>,
    /// Collection names or glob patterns owned by something else: never reported, never touched.
    pub ignore_collections: Vec<String>,
}

/// One collection: its creation options, its validator and its indexes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Collection {
    pub name: String,
    /// A plain collection, a view or a time-series collection (as the server reports it).
    pub kind: CollectionKind,
    pub options: CollectionOptions,
    pub validator: Option<Validator>,
    /// Secondary indexes, in declaration order (the implicit `_id_` index is not listed).
    pub indexes: Vec<Index>,
    /// Index names or glob patterns owned by something else.
    pub ignore_indexes: Vec<String>,
    /// Seconds an index no schema declares stays hidden before it may be dropped: such an
    /// index is retired in two phases (hide, then drop) rather than dropped at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retire_after: Option<i64>,
    /// The shard key, on a sharded cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_key: Option<ShardKey>,
    /// Atlas Search and Vector Search indexes, in declaration order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub search_indexes: Vec<SearchIndex>,
    /// Fields the schemas say evolve from an old shape (see `evolve`); not on the server.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evolutions: Vec<Evolution>,
}

/// A field that evolves from an old shape: renamed or moved (`from`), retyped (`convert`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evolution {
    pub db: String,
    pub collection: String,
    /// The new path.
    pub field: String,
    /// The old path, for a rename or a move.
    pub from: Option<String>,
    /// The conversion (`$$value` is the old value), for a type change.
    pub convert: Option<Document>,
    /// The new shape's BSON types (from the validator), for a type change in place.
    pub types: Vec<String>,
    /// Seconds after the migrate phase finished before the contract may run.
    pub contract_after: i64,
}

/// An Atlas Search (`search`) or Vector Search (`vectorSearch`) index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchIndex {
    pub name: String,
    /// `search` or `vectorSearch`, as the server names the type.
    pub kind: String,
    pub definition: Document,
}

impl SearchIndex {
    /// The index as `createSearchIndexes` takes it: `{ name, type, definition }`.
    pub fn to_document(&self) -> Document {
        bson::doc! { "name": &self.name, "type": &self.kind, "definition": self.definition.clone() }
    }

    /// The index from a `createSearchIndexes` entry (`type` defaults to `search`).
    pub fn from_document(d: &Document) -> Option<Self> {
        Some(Self {
            name: d.get_str("name").ok()?.to_string(),
            kind: d.get_str("type").unwrap_or("search").to_string(),
            definition: d.get_document("definition").ok()?.clone(),
        })
    }

    /// A `$listSearchIndexes` entry (`{ id, name, type, status, queryable, latestDefinition,
    /// ... }`) as the model's index: its latest definition, whatever its build status.
    pub fn from_listed(d: &Document) -> Option<Self> {
        Some(Self {
            name: d.get_str("name").ok()?.to_string(),
            kind: d.get_str("type").unwrap_or("search").to_string(),
            definition: d.get_document("latestDefinition").ok()?.clone(),
        })
    }

    /// Do two definitions say the same, as the server compares them: key order aside, and
    /// numbers by value (`1536` written as an int or a double)?
    pub fn same_definition(a: &Document, b: &Document) -> bool {
        fn same(a: &Bson, b: &Bson) -> bool {
            match (a, b) {
                (Bson::Document(x), Bson::Document(y)) => {
                    x.len() == y.len()
                        && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
                }
                (Bson::Array(x), Bson::Array(y)) => {
                    x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
                }
                _ => match (number(a), number(b)) {
                    (Some(x), Some(y)) => x == y,
                    _ => a == b,
                },
            }
        }
        fn number(b: &Bson) -> Option<f64> {
            match b {
                Bson::Int32(n) => Some(f64::from(*n)),
                Bson::Int64(n) => Some(*n as f64),
                Bson::Double(n) => Some(*n),
                _ => None,
            }
        }
        same(&Bson::Document(a.clone()), &Bson::Document(b.clone()))
    }
}

/// How a sharded collection's documents are spread over the shards.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardKey {
    /// The key's fields in order, each ranged (`1`) or `hashed`.
    pub keys: Vec<(String, ShardKeyKind)>,
    pub unique: bool,
    /// Chunks created up front for a hashed key on an empty collection (`numInitialChunks`):
    /// an instruction for sharding, not something the server reports back.
    pub initial_chunks: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardKeyKind {
    Range,
    Hashed,
}

impl ShardKey {
    /// The key as the server takes it: `{ tenant: 1, _id: "hashed" }`.
    pub fn key_document(&self) -> Document {
        let mut d = Document::new();
        for (f, k) in &self.keys {
            match k {
                ShardKeyKind::Range => d.insert(f.clone(), 1i32),
                ShardKeyKind::Hashed => d.insert(f.clone(), "hashed"),
            };
        }
        d
    }

    /// The same distribution: the same fields and kinds in order, and the same uniqueness.
    pub fn same(&self, other: &ShardKey) -> bool {
        self.keys == other.keys && self.unique == other.unique
    }

    /// `other` extends this key with more fields at its end (what
    /// `refineCollectionShardKey` can do in place).
    pub fn refines_to(&self, other: &ShardKey) -> bool {
        other.keys.len() > self.keys.len()
            && other.keys.starts_with(&self.keys)
            && self.unique == other.unique
    }

    pub fn hashed(&self) -> bool {
        self.keys.iter().any(|(_, k)| *k == ShardKeyKind::Hashed)
    }
}

/// What a namespace is on the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CollectionKind {
    #[default]
    Collection,
    View,
    Timeseries,
}

/// A collection's options. `collation`, `capped`, `timeseries` and `clustered` are fixed when
/// the collection is created (changing one means recreating it); the others change in place
/// with `collMod`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CollectionOptions {
    pub collation: Option<Document>,
    pub capped: Option<Capped>,
    pub timeseries: Option<Timeseries>,
    pub clustered: bool,
    /// TTL in seconds of a clustered or time-series collection (`expireAfterSeconds`).
    pub expire_after: Option<i64>,
    /// `changeStreamPreAndPostImages: { enabled: true }`.
    pub change_stream_pre_and_post_images: bool,
    /// A view: the namespace it reads and its pipeline.
    pub view: Option<View>,
}

/// What a view shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct View {
    /// The collection (or view) it reads, in the same database.
    pub on: String,
    pub pipeline: Vec<Document>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capped {
    pub size: i64,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeseries {
    pub time_field: String,
    pub meta_field: Option<String>,
    pub granularity: Option<String>,
}

/// A `$jsonSchema` validator with its level and action, exactly as the server stores it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validator {
    /// The whole validator document, i.e. `{ $jsonSchema: {...} }`, as BSON bytes: both sides
    /// of a check hold one per collection, and as bytes it takes a few hundred bytes rather
    /// than a tree of maps many times that (a catalog of thousands of collections). Serialized
    /// as the document.
    #[serde(rename = "document", serialize_with = "as_document")]
    raw: bson::RawDocumentBuf,
    pub level: ValidationLevel,
    pub action: ValidationAction,
}

fn as_document<S: serde::Serializer>(raw: &bson::RawDocumentBuf, s: S) -> Result<S::Ok, S::Error> {
    raw.to_document()
        .map_err(serde::ser::Error::custom)?
        .serialize(s)
}

impl Validator {
    /// A validator of `document`. A document BSON cannot encode (a NUL in a key, which no
    /// server takes either) is held as the empty validator; the spec checks refuse one first.
    pub fn new(document: &Document, level: ValidationLevel, action: ValidationAction) -> Self {
        Self {
            raw: bson::RawDocumentBuf::from_document(document).unwrap_or_default(),
            level,
            action,
        }
    }

    /// A validator from the server's bytes, as read.
    pub fn from_raw(
        raw: bson::RawDocumentBuf,
        level: ValidationLevel,
        action: ValidationAction,
    ) -> Self {
        Self { raw, level, action }
    }

    /// The validator document.
    pub fn document(&self) -> Document {
        self.raw.to_document().unwrap_or_default()
    }

    /// The document's BSON bytes.
    pub fn bytes(&self) -> &[u8] {
        self.raw.as_bytes()
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ValidationLevel {
    Strict,
    Moderate,
    Off,
}

impl ValidationLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Moderate => "moderate",
            Self::Off => "off",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ValidationAction {
    Error,
    Warn,
}

impl ValidationAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
        }
    }
}

/// The value of one component of an index key pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum IndexKind {
    Asc,
    Desc,
    Text,
    TwoDSphere,
    Hashed,
    /// A key type the spec cannot declare (e.g. `2d`), as found on a server.
    Other(String),
}

impl IndexKind {
    /// The value the server stores in the key pattern.
    pub fn to_bson(&self) -> bson::Bson {
        match self {
            Self::Asc => bson::Bson::Int32(1),
            Self::Desc => bson::Bson::Int32(-1),
            Self::Text => "text".into(),
            Self::TwoDSphere => "2dsphere".into(),
            Self::Hashed => "hashed".into(),
            Self::Other(s) => s.as_str().into(),
        }
    }

    /// The fragment the server uses when it names an index after its keys.
    pub fn name_part(&self) -> &str {
        match self {
            Self::Asc => "1",
            Self::Desc => "-1",
            Self::Text => "text",
            Self::TwoDSphere => "2dsphere",
            Self::Hashed => "hashed",
            Self::Other(s) => s,
        }
    }
}

/// A secondary index. Identity is `keys` + `collation` + `partial`; `name` is secondary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Index {
    /// The name on the server: declared, or the server's default (`a_1_b_-1`).
    pub name: String,
    /// Whether the spec chose the name. An undeclared name is not compared.
    pub name_declared: bool,
    /// Key pattern in order. A wildcard key is the path ending in `$**` with `Asc`.
    pub keys: Vec<(String, IndexKind)>,
    pub unique: bool,
    pub sparse: bool,
    pub hidden: bool,
    // The rare options' documents are boxed: an index is held three times (schemas, model,
    // server) for each of thousands of collections, and mostly has none of them.
    pub partial: Option<Box<Document>>,
    pub collation: Option<Box<Document>>,
    /// TTL in seconds.
    pub expire_after: Option<i64>,
    /// Text index field weights.
    pub weights: Option<Box<Document>>,
    /// Text index `default_language` (the server's default is `english`).
    pub default_language: Option<String>,
    /// Text index `language_override` (the server's default is `language`).
    pub language_override: Option<String>,
    /// Wildcard index `wildcardProjection`.
    pub wildcard_projection: Option<Box<Document>>,
    /// `2dsphereIndexVersion` (the server's default is 3).
    pub sphere_version: Option<i32>,
}

impl Index {
    /// The key pattern as the server stores it.
    pub fn key_document(&self) -> Document {
        let mut doc = Document::new();
        for (path, kind) in &self.keys {
            doc.insert(path.clone(), kind.to_bson());
        }
        doc
    }

    /// The name the server gives an index created without one: `field_dir` pairs joined by `_`.
    pub fn default_name(keys: &[(String, IndexKind)]) -> String {
        keys.iter()
            .map(|(path, kind)| format!("{path}_{}", kind.name_part()))
            .collect::<Vec<_>>()
            .join("_")
    }
}

impl Index {
    /// The index as a `createIndexes` entry (`{ key, name, unique?, ... }`).
    pub fn to_create_spec(&self) -> Document {
        let mut spec = bson::doc! { "key": self.key_document(), "name": &self.name };
        if self.unique {
            spec.insert("unique", true);
        }
        if self.sparse {
            spec.insert("sparse", true);
        }
        if self.hidden {
            spec.insert("hidden", true);
        }
        if let Some(p) = &self.partial {
            spec.insert("partialFilterExpression", p.as_ref().clone());
        }
        if let Some(c) = &self.collation {
            spec.insert("collation", c.as_ref().clone());
        }
        if let Some(s) = self.expire_after {
            spec.insert("expireAfterSeconds", s);
        }
        if let Some(w) = &self.weights {
            spec.insert("weights", w.as_ref().clone());
        }
        if let Some(l) = &self.default_language {
            spec.insert("default_language", l.clone());
        }
        if let Some(l) = &self.language_override {
            spec.insert("language_override", l.clone());
        }
        if let Some(p) = &self.wildcard_projection {
            spec.insert("wildcardProjection", p.as_ref().clone());
        }
        if let Some(v) = self.sphere_version {
            spec.insert("2dsphereIndexVersion", v);
        }
        spec
    }
}

impl Collection {
    /// The `create` command for this collection, with its options and validator.
    pub fn to_create_command(&self) -> Document {
        let mut cmd = bson::doc! { "create": &self.name };
        if let Some(c) = &self.options.collation {
            cmd.insert("collation", c.clone());
        }
        if let Some(c) = &self.options.capped {
            cmd.insert("capped", true);
            cmd.insert("size", c.size);
            if let Some(m) = c.max {
                cmd.insert("max", m);
            }
        }
        if let Some(t) = &self.options.timeseries {
            let mut ts = bson::doc! { "timeField": &t.time_field };
            if let Some(m) = &t.meta_field {
                ts.insert("metaField", m.clone());
            }
            if let Some(g) = &t.granularity {
                ts.insert("granularity", g.clone());
            }
            cmd.insert("timeseries", ts);
        }
        if self.options.clustered {
            cmd.insert(
                "clusteredIndex",
                bson::doc! { "key": { "_id": 1 }, "unique": true },
            );
        }
        if let Some(s) = self.options.expire_after {
            cmd.insert("expireAfterSeconds", s);
        }
        if self.options.change_stream_pre_and_post_images {
            cmd.insert(
                "changeStreamPreAndPostImages",
                bson::doc! { "enabled": true },
            );
        }
        if let Some(v) = &self.options.view {
            cmd.insert("viewOn", v.on.clone());
            cmd.insert("pipeline", v.pipeline.clone());
        }
        if let Some(v) = &self.validator {
            cmd.insert("validator", v.document());
            cmd.insert("validationLevel", v.level.as_str());
            cmd.insert("validationAction", v.action.as_str());
        }
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validator_is_held_as_bytes_and_read_and_serialized_as_its_document() {
        let d = bson::doc! { "$jsonSchema": { "required": ["b", "a"], "bsonType": "object" } };
        let v = Validator::new(&d, ValidationLevel::Moderate, ValidationAction::Warn);
        assert_eq!(v.document(), d, "key order kept");
        assert_eq!(v.bytes(), bson::to_vec(&d).unwrap());
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            serde_json::json!({
                "document": { "$jsonSchema": { "required": ["b", "a"], "bsonType": "object" } },
                "level": "moderate",
                "action": "warn",
            })
        );
    }
}
