//! The YAML file formats, exactly as written by users (serde structs, unknown keys rejected).
//!
//! Nothing here is checked beyond shape; `check` turns these into the validated spec.

use super::check::CheckedFields;
use crate::model::{ValidationAction, ValidationLevel};
use crate::yaml::Value;
use indexmap::IndexMap;
use schemars::{JsonSchema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;

/// `schemas/<db>/<collection>.yaml`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionFile {
    /// Collection name; defaults to the file name without `.yaml`.
    pub collection: Option<String>,
    /// A short name of the collection's documents (`title` of its `$jsonSchema`).
    pub title: Option<String>,
    pub description: Option<String>,
    pub validation: Option<ValidationSpec>,
    /// The collection's fields, by name: each with a `type`, and `required`, `nullable`,
    /// `default`, constraints, `fields` (objects), `items` (arrays), `values` (maps).
    #[serde(default)]
    pub fields: CheckedFields,
    #[serde(default)]
    pub indexes: Vec<IndexSpec>,
    pub options: Option<OptionsSpec>,
    #[serde(default)]
    pub ignore_indexes: Vec<String>,
    /// Retire indexes no schema declares in two phases: `apply --prune` hides them first, and
    /// drops them (`--prune --allow-destructive`) only once they have stayed hidden this long
    /// (seconds, or a duration like `7d`).
    pub retire_after: Option<Value>,
    /// The collection is a view of another collection (or view) of the same database.
    pub view: Option<ViewSpec>,
    /// A validator written as the server takes it (any query, or a `$jsonSchema` that `fields`
    /// cannot say); when given, it is the collection's validator and `fields` only document
    /// the shape and carry defaults.
    pub validator: Option<Value>,
    /// The shard key, on a sharded cluster (through mongos): the collection is sharded on it.
    pub shard_key: Option<ShardKeySpec>,
    /// Atlas Search and Vector Search indexes (built where the server has search; on one
    /// without, reported once as not supported).
    #[serde(default)]
    pub search_indexes: Vec<SearchIndexSpec>,
    /// `mongrate lint` settings: changes acknowledged on purpose.
    pub lint: Option<LintSpec>,
}

/// One search index: `{ name, type: search | vectorSearch, definition: {...} }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchIndexSpec {
    /// The index's name (Atlas calls the unnamed one `default`).
    pub name: Option<String>,
    /// `search` (Atlas Search, the default) or `vectorSearch` (Atlas Vector Search).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The definition as Atlas takes it: `{ mappings: {...}, analyzer, ... }` for `search`,
    /// `{ fields: [{ type: vector, path, numDimensions, similarity }, ...] }` for `vectorSearch`.
    pub definition: Value,
}

/// `lint: { allow: [{ rule: ttl-added, reason: "..." }] }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LintSpec {
    #[serde(default)]
    pub allow: Vec<LintAllowSpec>,
}

/// One acknowledged lint rule, with why.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LintAllowSpec {
    /// A rule id of `mongrate lint` (e.g. `ttl-added`).
    pub rule: String,
    /// Why the change is deliberate (shown in lint's output).
    pub reason: String,
}

/// A collection's shard key.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShardKeySpec {
    /// The key's fields in order, each `1` (ranged) or `hashed`.
    #[schemars(with = "IndexMap<String, serde_json::Value>")]
    pub keys: IndexMap<String, Value>,
    /// Enforce uniqueness of the whole key (ranged keys only).
    #[serde(default)]
    pub unique: bool,
    /// Chunks to create up front when an empty collection is sharded on a hashed key
    /// (`numInitialChunks`).
    pub initial_chunks: Option<u32>,
}

/// A view: the collection it reads and its aggregation pipeline.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    pub on: String,
    #[serde(default)]
    pub pipeline: Vec<Value>,
}

/// `schemas/<db>/_database.yaml`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseFile {
    pub description: Option<String>,
    pub validation: Option<ValidationSpec>,
    #[serde(default)]
    pub ignore_collections: Vec<String>,
    /// In a template folder (`tenant_*`): databases it matches but does not cover (names or
    /// patterns).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// The default `retire_after` of the database's collections (a collection's own wins).
    pub retire_after: Option<Value>,
}

/// Validation settings of a collection (or the defaults of a database).
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationSpec {
    /// `false`: the collection has no validator at all (fields are documentation and defaults).
    pub enabled: Option<bool>,
    pub level: Option<ValidationLevel>,
    pub action: Option<ValidationAction>,
    pub additional_fields: Option<AdditionalFields>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AdditionalFields {
    Allow,
    Deny,
}

/// A field's `type`: one name or a list of names (a union). Known names are not allocated.
#[derive(Debug, Clone)]
pub enum TypeSpec {
    One(Cow<'static, str>),
    Many(Vec<String>),
}

/// A type name, borrowed from the list of known names when it is one of them.
fn type_name(s: &str) -> Cow<'static, str> {
    crate::spec::FieldType::NAMES
        .iter()
        .find(|n| **n == s)
        .map(|n| Cow::Borrowed(*n))
        .unwrap_or_else(|| Cow::Owned(s.to_string()))
}

impl<'de> Deserialize<'de> for TypeSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TypeSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a type name (e.g. `string`) or a list of type names (e.g. `[string, int]`)",
                )
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<TypeSpec, E> {
                Ok(TypeSpec::One(type_name(s)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<TypeSpec, A::Error> {
                let mut names = Vec::new();
                while let Some(n) = seq.next_element::<String>()? {
                    names.push(n);
                }
                Ok(TypeSpec::Many(names))
            }
        }
        d.deserialize_any(V)
    }
}

/// One field declaration. What most fields have is inline; the rest is boxed in
/// `FieldSpecMore` (a file may declare a million fields).
#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub ty: TypeSpec,
    pub required: bool,
    pub nullable: bool,
    pub items: Option<Box<FieldSpec>>,
    pub fields: Option<Box<IndexMap<String, FieldSpec>>>,
    pub more: Option<Box<FieldSpecMore>>,
}

/// The less common keys of a field declaration.
#[derive(Debug, Clone, Default)]
pub struct FieldSpecMore {
    pub title: Option<String>,
    pub description: Option<String>,
    /// `Some(Value::Null)` for `default: null`, `None` when absent.
    pub default: Option<Value>,
    pub enum_values: Option<Vec<Value>>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub minimum: Option<Value>,
    pub maximum: Option<Value>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: Option<bool>,
    pub additional_fields: Option<AdditionalFields>,
    /// For an object whose keys are data (a map): the declaration of every value.
    pub values: Option<Box<FieldSpec>>,
    /// Declared evolution: the old path this field is renamed or moved from.
    pub renamed_from: Option<String>,
    /// Declared evolution: the expression that converts an old value (`$$value`).
    pub convert: Option<Value>,
    /// Declared evolution: how long after the migrate phase the contract may run.
    pub contract_after: Option<Value>,
}

static NO_MORE: FieldSpecMore = FieldSpecMore {
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
    renamed_from: None,
    convert: None,
    contract_after: None,
};

impl FieldSpec {
    /// The less common keys (all `None` when none is written).
    pub fn more(&self) -> &FieldSpecMore {
        self.more.as_deref().unwrap_or(&NO_MORE)
    }
}

/// A field declaration as written: every key (unknown ones refused).
/// One field declaration.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Field")]
struct FieldSpecKeys {
    #[serde(rename = "type")]
    ty: TypeSpec,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    nullable: bool,
    /// A short name (`title` in the validator).
    title: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    default: Option<Value>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<Value>>,
    pattern: Option<String>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    minimum: Option<Value>,
    maximum: Option<Value>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    unique_items: Option<bool>,
    items: Option<Box<FieldSpec>>,
    fields: Option<IndexMap<String, FieldSpec>>,
    additional_fields: Option<AdditionalFields>,
    values: Option<Box<FieldSpec>>,
    /// The old path this field is renamed or moved from (a dotted path for a move): the
    /// documents are rewritten while the application keeps writing (expand, migrate, contract).
    renamed_from: Option<String>,
    /// How an old value becomes the new type: one aggregation expression over `$$value`, e.g.
    /// `{ $toDate: "$$value" }`.
    convert: Option<Value>,
    /// How long after the migrate phase finished the strict validator may go in (`1d`, `0s`;
    /// default one day).
    contract_after: Option<Value>,
}

impl<'de> Deserialize<'de> for FieldSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let k = FieldSpecKeys::deserialize(d)?;
        let more = FieldSpecMore {
            title: k.title,
            description: k.description,
            default: k.default,
            enum_values: k.enum_values,
            pattern: k.pattern,
            min_length: k.min_length,
            max_length: k.max_length,
            minimum: k.minimum,
            maximum: k.maximum,
            min_items: k.min_items,
            max_items: k.max_items,
            unique_items: k.unique_items,
            additional_fields: k.additional_fields,
            values: k.values,
            renamed_from: k.renamed_from,
            convert: k.convert,
            contract_after: k.contract_after,
        };
        let empty = more.title.is_none()
            && more.description.is_none()
            && more.default.is_none()
            && more.enum_values.is_none()
            && more.pattern.is_none()
            && more.min_length.is_none()
            && more.max_length.is_none()
            && more.minimum.is_none()
            && more.maximum.is_none()
            && more.min_items.is_none()
            && more.max_items.is_none()
            && more.unique_items.is_none()
            && more.additional_fields.is_none()
            && more.values.is_none()
            && more.renamed_from.is_none()
            && more.convert.is_none()
            && more.contract_after.is_none();
        Ok(FieldSpec {
            ty: k.ty,
            required: k.required,
            nullable: k.nullable,
            items: k.items,
            fields: k.fields.map(Box::new),
            more: (!empty).then(|| Box::new(more)),
        })
    }
}

/// One index declaration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexSpec {
    pub name: Option<String>,
    /// Field paths and their kind: 1, -1, text, 2dsphere, hashed or wildcard.
    #[schemars(schema_with = "index_keys_schema")]
    pub keys: IndexMap<String, Value>,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub sparse: bool,
    #[serde(default)]
    pub hidden: bool,
    pub partial: Option<Value>,
    pub collation: Option<CollationSpec>,
    /// Seconds, or a duration such as `90d`, `12h`, `30m`, `45s`.
    pub expire_after: Option<Value>,
    pub weights: Option<IndexMap<String, i64>>,
    /// Text indexes: the language of the documents (default `english`).
    pub default_language: Option<String>,
    /// Text indexes: the field naming a document's language (default `language`).
    pub language_override: Option<String>,
    /// Wildcard indexes (`keys: { $**: 1 }`): the paths included (1) or excluded (0).
    pub wildcard_projection: Option<IndexMap<String, Value>>,
    /// 2dsphere indexes: `2dsphereIndexVersion` (default 3).
    #[serde(rename = "2dsphere_version")]
    pub sphere_version: Option<i64>,
    pub description: Option<String>,
}

/// A collation, with MongoDB's own option names.
#[derive(Debug, Clone, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CollationSpec {
    pub locale: String,
    pub strength: Option<i32>,
    pub case_level: Option<bool>,
    pub case_first: Option<String>,
    pub numeric_ordering: Option<bool>,
    pub alternate: Option<String>,
    pub max_variable: Option<String>,
    pub backwards: Option<bool>,
    pub normalization: Option<bool>,
}

/// Collection options fixed at creation.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionsSpec {
    pub collation: Option<CollationSpec>,
    pub capped: Option<CappedSpec>,
    pub timeseries: Option<TimeseriesSpec>,
    #[serde(default)]
    pub clustered: bool,
    /// TTL of a clustered or time-series collection: seconds, or a duration such as `30d`.
    pub expire_after: Option<Value>,
    /// Record the document before and after each change for change streams.
    #[serde(default)]
    pub change_stream_pre_and_post_images: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CappedSpec {
    pub size: i64,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeseriesSpec {
    pub time_field: String,
    pub meta_field: Option<String>,
    pub granularity: Option<String>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn index_keys_schema(_: &mut SchemaGenerator) -> schemars::Schema {
    json_schema!({
        "type": "object",
        "minProperties": 1,
        "additionalProperties": { "enum": [1, -1, "text", "2dsphere", "hashed", "wildcard"] }
    })
}

impl JsonSchema for TypeSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Type".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> schemars::Schema {
        let names = crate::spec::FieldType::NAMES;
        json_schema!({
            "description": "A type name, or a list of them (a union).",
            "anyOf": [
                { "enum": names },
                { "type": "array", "items": { "enum": names }, "minItems": 1 }
            ]
        })
    }
}

impl JsonSchema for FieldSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Field".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> schemars::Schema {
        FieldSpecKeys::json_schema(generator)
    }
}
