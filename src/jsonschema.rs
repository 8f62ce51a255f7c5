//! Spec fields → the `$jsonSchema` validator document MongoDB stores.
//!
//! Pure and deterministic: properties are emitted in name order and the keywords of each schema
//! always in the same order, so the same spec always yields byte-identical documents. Defaults are
//! never part of a validator (`$jsonSchema` has no defaults); `backfill` writes them.

use crate::spec::{AdditionalFields, CollectionSpec, Field};
use bson::{Bson, Document, doc};
use std::collections::BTreeMap;

/// The whole validator of a collection: `{ $jsonSchema: { ... } }`.
pub fn collection_validator(spec: &CollectionSpec) -> Document {
    let mut schema = object_schema(
        &spec.fields,
        spec.validation.additional_fields == AdditionalFields::Deny,
    );
    if let Some(d) = &spec.description {
        // Place the description right after bsonType for readability.
        let mut with = doc! { "bsonType": "object", "description": d.clone() };
        schema.remove("bsonType");
        with.extend(schema);
        schema = with;
    }
    doc! { "$jsonSchema": schema }
}

fn count(n: u64) -> Bson {
    i32::try_from(n)
        .map(Bson::Int32)
        .unwrap_or(Bson::Int64(n as i64))
}

/// `bsonType: object` with `required`, `properties` and, when denied, `additionalProperties`.
fn object_schema(fields: &BTreeMap<String, Field>, deny_additional: bool) -> Document {
    let mut schema = doc! { "bsonType": "object" };
    object_keywords(&mut schema, fields, deny_additional, true);
    schema
}

fn object_keywords(
    schema: &mut Document,
    fields: &BTreeMap<String, Field>,
    deny_additional: bool,
    root: bool,
) {
    let required: Vec<Bson> = fields
        .iter()
        .filter(|(_, f)| f.required)
        .map(|(n, _)| Bson::String(n.clone()))
        .collect();
    if !required.is_empty() {
        schema.insert("required", required);
    }
    let mut properties = Document::new();
    if root && deny_additional && !fields.contains_key("_id") {
        // With additionalProperties: false every document would fail on `_id` otherwise.
        properties.insert("_id", Document::new());
    }
    for (name, field) in fields {
        properties.insert(name.clone(), field_schema(field));
    }
    if !properties.is_empty() {
        schema.insert("properties", properties);
    }
    if deny_additional {
        schema.insert("additionalProperties", false);
    }
}

/// The schema of one field.
pub fn field_schema(field: &Field) -> Document {
    let mut s = Document::new();
    let mut types: Vec<&str> = Vec::new();
    for t in &field.types {
        let name = t.bson_type();
        if !types.contains(&name) {
            types.push(name);
        }
    }
    if !types.is_empty() {
        if field.nullable {
            types.push("null");
        }
        if types.len() == 1 {
            s.insert("bsonType", types[0]);
        } else {
            s.insert("bsonType", types);
        }
    }
    if let Some(d) = &field.description {
        s.insert("description", d.clone());
    }
    if let Some(values) = &field.enum_values {
        let mut values = values.clone();
        if field.nullable && !values.contains(&Bson::Null) {
            values.push(Bson::Null);
        }
        s.insert("enum", values);
    }
    if let Some(v) = &field.pattern {
        s.insert("pattern", v.clone());
    }
    if let Some(v) = field.min_length {
        s.insert("minLength", count(v));
    }
    if let Some(v) = field.max_length {
        s.insert("maxLength", count(v));
    }
    if let Some(v) = &field.minimum {
        s.insert("minimum", v.clone());
    }
    if let Some(v) = &field.maximum {
        s.insert("maximum", v.clone());
    }
    if let Some(sub) = &field.fields {
        object_keywords(
            &mut s,
            sub,
            field.additional_fields == Some(AdditionalFields::Deny),
            false,
        );
    }
    if let Some(items) = &field.items {
        s.insert("items", field_schema(items));
    }
    if let Some(v) = field.min_items {
        s.insert("minItems", count(v));
    }
    if let Some(v) = field.max_items {
        s.insert("maxItems", count(v));
    }
    if let Some(v) = field.unique_items {
        s.insert("uniqueItems", v);
    }
    s
}
