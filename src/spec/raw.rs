//! The YAML file formats, exactly as written by users (serde structs, unknown keys rejected).
//!
//! Nothing here is checked beyond shape; `check` turns these into the validated spec.

use crate::model::{ValidationAction, ValidationLevel};
use crate::yaml::Value;
use indexmap::IndexMap;
use serde::{Deserialize, Deserializer};

/// `schemas/<db>/<collection>.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionFile {
    /// Collection name; defaults to the file name without `.yaml`.
    pub collection: Option<String>,
    pub description: Option<String>,
    pub validation: Option<ValidationSpec>,
    #[serde(default)]
    pub fields: IndexMap<String, FieldSpec>,
    #[serde(default)]
    pub indexes: Vec<IndexSpec>,
    pub options: Option<OptionsSpec>,
    #[serde(default)]
    pub ignore_indexes: Vec<String>,
}

/// `schemas/<db>/_database.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseFile {
    pub description: Option<String>,
    pub validation: Option<ValidationSpec>,
    #[serde(default)]
    pub ignore_collections: Vec<String>,
}

/// Validation settings of a collection (or the defaults of a database).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationSpec {
    /// `false`: the collection has no validator at all (fields are documentation and defaults).
    pub enabled: Option<bool>,
    pub level: Option<ValidationLevel>,
    pub action: Option<ValidationAction>,
    pub additional_fields: Option<AdditionalFields>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AdditionalFields {
    Allow,
    Deny,
}

/// A field's `type`: one name or a list of names (a union).
#[derive(Debug, Clone)]
pub enum TypeSpec {
    One(String),
    Many(Vec<String>),
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
                Ok(TypeSpec::One(s.to_string()))
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

/// One field declaration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    #[serde(rename = "type")]
    pub ty: TypeSpec,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub nullable: bool,
    pub description: Option<String>,
    /// `Some(Value::Null)` for `default: null`, `None` when absent.
    #[serde(default, deserialize_with = "present")]
    pub default: Option<Value>,
    #[serde(rename = "enum")]
    pub enum_values: Option<Vec<Value>>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub minimum: Option<Value>,
    pub maximum: Option<Value>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: Option<bool>,
    pub items: Option<Box<FieldSpec>>,
    pub fields: Option<IndexMap<String, FieldSpec>>,
    pub additional_fields: Option<AdditionalFields>,
}

/// One index declaration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSpec {
    pub name: Option<String>,
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
    pub description: Option<String>,
}

/// A collation, with MongoDB's own option names.
#[derive(Debug, Clone, Deserialize, PartialEq)]
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsSpec {
    pub collation: Option<CollationSpec>,
    pub capped: Option<CappedSpec>,
    pub timeseries: Option<TimeseriesSpec>,
    #[serde(default)]
    pub clustered: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CappedSpec {
    pub size: i64,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeseriesSpec {
    pub time_field: String,
    pub meta_field: Option<String>,
    pub granularity: Option<String>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}
