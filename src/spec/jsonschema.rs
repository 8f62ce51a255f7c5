//! Spec fields → the `$jsonSchema` validator document MongoDB stores.
//!
//! Pure and deterministic: properties are emitted in name order and the keywords of each schema
//! always in the same order, so the same spec always yields byte-identical documents. Defaults are
//! never part of a validator (`$jsonSchema` has no defaults); `backfill` writes them.

use crate::spec::{AdditionalFields, CollectionSpec, Field};
use bson::{Bson, Document, doc};

/// The validator a collection declares: its `validator:` as written, or the one generated from
/// its fields; `None` with `validation: { enabled: false }` (and for views).
pub fn declared_validator(spec: &CollectionSpec) -> Option<Document> {
    match (&spec.raw_validator, spec.validation.enabled) {
        (Some(raw), _) => Some(raw.clone()),
        (None, true) => Some(collection_validator(spec)),
        (None, false) => None,
    }
}

/// The whole validator of a collection: `{ $jsonSchema: { ... } }`.
pub fn collection_validator(spec: &CollectionSpec) -> Document {
    let mut schema = object_schema(
        &spec.fields,
        spec.validation.additional_fields == AdditionalFields::Deny,
    );
    if spec.title.is_some() || spec.description.is_some() {
        // Place the title and description right after bsonType for readability.
        let mut with = doc! { "bsonType": "object" };
        if let Some(t) = &spec.title {
            with.insert("title", t.clone());
        }
        if let Some(d) = &spec.description {
            with.insert("description", d.clone());
        }
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
fn object_schema(fields: &crate::spec::FieldMap, deny_additional: bool) -> Document {
    let mut schema = doc! { "bsonType": "object" };
    object_keywords(&mut schema, fields, deny_additional, true, true);
    schema
}

fn object_keywords(
    schema: &mut Document,
    fields: &crate::spec::FieldMap,
    deny_additional: bool,
    root: bool,
    deep: bool,
) {
    let required: Vec<Bson> = fields
        .iter()
        .filter(|(_, f)| f.required)
        .map(|(n, _)| Bson::String(n.clone()))
        .collect();
    if !required.is_empty() {
        schema.insert("required", required);
    }
    let id_placeholder = root && deny_additional && !fields.contains_key("_id");
    if deep {
        let mut properties = Document::new();
        if id_placeholder {
            // With additionalProperties: false every document would fail on `_id` otherwise.
            properties.insert("_id", Document::new());
        }
        for (name, field) in fields {
            properties.insert(name.clone(), field_schema(field));
        }
        if !properties.is_empty() {
            schema.insert("properties", properties);
        }
    } else if id_placeholder || !fields.is_empty() {
        schema.insert("properties", Document::new());
    }
    if deny_additional {
        schema.insert("additionalProperties", false);
    }
}

/// The schema of one field.
pub fn field_schema(field: &Field) -> Document {
    schema_of(field, true)
}

/// The schema of one field; with `deep` false, `properties` and `items` are written as empty
/// documents (for [`validator_size`], which adds their real sizes without building them).
fn schema_of(field: &Field, deep: bool) -> Document {
    let more = field.more();
    let mut s = Document::new();
    if let Some(types) = bson_types(field) {
        s.insert("bsonType", types);
    }
    if let Some(t) = &more.title {
        s.insert("title", t.clone());
    }
    if let Some(d) = &more.description {
        s.insert("description", d.clone());
    }
    if let Some(values) = &more.enum_values {
        let mut values = values.clone();
        if field.nullable && !values.contains(&Bson::Null) {
            values.push(Bson::Null);
        }
        s.insert("enum", values);
    }
    if let Some(v) = &more.pattern {
        s.insert("pattern", v.clone());
    }
    let bound = |v: &Option<Box<Bson>>| v.as_deref().cloned();
    let counts = [
        ("minLength", more.min_length.map(count)),
        ("maxLength", more.max_length.map(count)),
        ("minimum", bound(&more.minimum)),
        ("maximum", bound(&more.maximum)),
    ];
    insert_all(&mut s, counts);
    let nested = |f: &Field| {
        if deep {
            field_schema(f)
        } else {
            Document::new()
        }
    };
    if let Some(sub) = &field.fields {
        let deny = more.additional_fields == Some(AdditionalFields::Deny);
        object_keywords(&mut s, sub, deny, false, deep);
    }
    if let Some(values) = &more.values {
        s.insert("additionalProperties", nested(values));
    }
    if let Some(items) = &field.items {
        s.insert("items", nested(items));
    }
    let arrays = [
        ("minItems", more.min_items.map(count)),
        ("maxItems", more.max_items.map(count)),
        ("uniqueItems", more.unique_items.map(Bson::Boolean)),
    ];
    insert_all(&mut s, arrays);
    s
}

/// `bsonType`: one name, or a list (with `null` when the field is nullable).
fn bson_types(field: &Field) -> Option<Bson> {
    let mut types: Vec<&str> = Vec::new();
    for t in field.types.iter() {
        let name = t.bson_type();
        if !types.contains(&name) {
            types.push(name);
        }
    }
    if types.is_empty() {
        return None;
    }
    if field.nullable {
        types.push("null");
    }
    Some(match types.as_slice() {
        [one] => Bson::from(*one),
        _ => Bson::from(types),
    })
}

/// Insert the keywords that are set, in order.
fn insert_all<const N: usize>(s: &mut Document, entries: [(&str, Option<Bson>); N]) {
    for (key, value) in entries {
        if let Some(v) = value {
            s.insert(key, v);
        }
    }
}

/// The BSON size of a document (0 if it cannot be encoded).
fn bson_len(d: &Document) -> usize {
    let mut buf = Vec::new();
    d.to_writer(&mut buf).map(|_| buf.len()).unwrap_or(0)
}

/// An empty document's size: what a placeholder of [`schema_of`] counts for.
const EMPTY_DOC: usize = 5;

/// The size of one field's schema, computed field by field without building the whole tree.
fn field_size(field: &Field) -> usize {
    let mut n = bson_len(&schema_of(field, false));
    if let Some(sub) = &field.fields
        && !sub.is_empty()
    {
        n += properties_size(sub, false) - EMPTY_DOC;
    }
    if let Some(items) = &field.items {
        n += field_size(items) - EMPTY_DOC;
    }
    if let Some(values) = &field.more().values {
        n += field_size(values) - EMPTY_DOC;
    }
    n
}

/// The size of a `properties` document (with the `_id: {}` entry the root adds when
/// additional fields are denied).
fn properties_size(fields: &crate::spec::FieldMap, id_placeholder: bool) -> usize {
    let mut n = EMPTY_DOC;
    if id_placeholder {
        n += 1 + "_id".len() + 1 + EMPTY_DOC;
    }
    for (name, f) in fields {
        n += 1 + name.len() + 1 + field_size(f);
    }
    n
}

/// The size in bytes of [`collection_validator`]'s document, without building it (a schema with
/// a million fields has a validator of tens of megabytes).
pub fn validator_size(spec: &CollectionSpec) -> usize {
    let deny = spec.validation.additional_fields == AdditionalFields::Deny;
    let mut root = Document::new();
    root.insert("bsonType", "object");
    if let Some(t) = &spec.title {
        root.insert("title", t.clone());
    }
    if let Some(d) = &spec.description {
        root.insert("description", d.clone());
    }
    object_keywords(&mut root, &spec.fields, deny, true, false);
    let mut n = bson_len(&bson::doc! { "$jsonSchema": root });
    let id_placeholder = deny && !spec.fields.contains_key("_id");
    if !spec.fields.is_empty() || id_placeholder {
        n += properties_size(&spec.fields, id_placeholder) - EMPTY_DOC;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{DatabaseSource, check_sources};
    use std::path::PathBuf;

    #[test]
    fn the_size_is_computed_exactly_without_building() {
        for text in [
            "fields:\n  a: { type: string }\n",
            "description: d\nvalidation: { additional_fields: deny }\nfields:\n  a: { type: [string, int], nullable: true, enum: [x, 1], description: q }\n  o:\n    type: object\n    additional_fields: deny\n    fields:\n      b: { type: array, items: { type: object, fields: { c: { type: double, minimum: 1 } } }, min_items: 1 }\n",
            "fields: {}\n",
            "validation: { additional_fields: deny }\n",
        ] {
            let loaded = check_sources(&[DatabaseSource {
                name: "app".into(),
                database_file: None,
                collection_files: vec![(PathBuf::from("app/t.yaml"), text.into())],
                unreadable: vec![],
                problems: Vec::new(),
            }]);
            assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
            let spec = loaded.spec.collection("app", "t").unwrap();
            assert_eq!(
                validator_size(spec),
                bson_len(&collection_validator(spec)),
                "{text}"
            );
        }
    }
}
