//! An existing validator → field declarations: the inverse of `jsonschema`. Only what the field
//! language says exactly is converted; anything else (`anyOf`, `oneOf`, `not`,
//! `patternProperties`, `dependencies`, `minProperties`, `type` instead of `bsonType`, BSON types
//! the spec has no name for, query operators such as `$or` or `$expr`) makes the whole validator
//! stay as written. The command then checks the round trip: the fields, generated back, must give
//! the same validator (as the diff compares them).

use super::FieldDecl;
use bson::{Bson, Document};

/// A validator said as fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    pub title: Option<String>,
    pub description: Option<String>,
    /// `additionalProperties: false` at the root.
    pub deny_additional: bool,
    pub fields: Vec<(String, FieldDecl)>,
}

/// The fields a validator says, or `None` when it says more than fields can.
pub fn from_validator(validator: &Document) -> Option<Converted> {
    if validator.len() != 1 {
        return None;
    }
    let schema = validator.get_document("$jsonSchema").ok()?;
    let mut root = schema.clone();
    if root.get_str("bsonType").ok() != Some("object") {
        return None;
    }
    root.remove("bsonType");
    let title = take_string(&mut root, "title")?;
    let description = take_string(&mut root, "description")?;
    let (fields, deny) = object(&mut root, true)?;
    if !root.is_empty() {
        return None;
    }
    Some(Converted {
        title,
        description,
        deny_additional: deny,
        fields,
    })
}

/// `Some(None)` when absent, `None` when present but not a string.
fn take_string(d: &mut Document, key: &str) -> Option<Option<String>> {
    match d.remove(key) {
        None => Some(None),
        Some(Bson::String(s)) => Some(Some(s)),
        Some(_) => None,
    }
}

fn count(b: Bson) -> Option<u64> {
    match b {
        Bson::Int32(i) if i >= 0 => Some(i as u64),
        Bson::Int64(i) if i >= 0 => Some(i as u64),
        Bson::Double(d) if d >= 0.0 && d.fract() == 0.0 => Some(d as u64),
        _ => None,
    }
}

/// `required`, `properties` and `additionalProperties` of an object schema (removed from `d`).
fn object(d: &mut Document, root: bool) -> Option<(Vec<(String, FieldDecl)>, bool)> {
    let required: Vec<String> = match d.remove("required") {
        None => Vec::new(),
        Some(Bson::Array(a)) => a
            .into_iter()
            .map(|r| match r {
                Bson::String(s) => Some(s),
                _ => None,
            })
            .collect::<Option<_>>()?,
        Some(_) => return None,
    };
    let deny = match d.remove("additionalProperties") {
        None | Some(Bson::Boolean(true)) => false,
        Some(Bson::Boolean(false)) => true,
        Some(_) => return None,
    };
    let mut fields = Vec::new();
    if let Some(p) = d.remove("properties") {
        let Bson::Document(props) = p else {
            return None;
        };
        for (name, s) in props {
            let Bson::Document(s) = s else {
                return None;
            };
            // The `_id: {}` entry the generator adds when additional fields are denied.
            if root && deny && name == "_id" && s.is_empty() {
                continue;
            }
            let mut f = field(s)?;
            f.required = required.contains(&name);
            fields.push((name, f));
        }
    }
    // A required field that is not among the properties cannot be said.
    if required.iter().any(|r| !fields.iter().any(|(n, _)| n == r)) {
        return None;
    }
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    Some((fields, deny))
}

fn spec_type(bson_type: &str) -> Option<&'static str> {
    Some(match bson_type {
        "string" => "string",
        "int" => "int",
        "long" => "long",
        "double" => "double",
        "decimal" => "decimal",
        "number" => "number",
        "bool" => "bool",
        "date" => "date",
        "timestamp" => "timestamp",
        "objectId" => "object_id",
        "binData" => "binary",
        "object" => "object",
        "array" => "array",
        _ => return None,
    })
}

/// One property's schema → a field, or `None` when fields cannot say it.
fn field(mut s: Document) -> Option<FieldDecl> {
    let mut f = FieldDecl::default();
    match s.remove("bsonType") {
        None => {}
        Some(Bson::String(t)) if t == "null" => return None,
        Some(Bson::String(t)) => f.types.push(spec_type(&t)?.to_string()),
        Some(Bson::Array(ts)) => {
            for t in ts {
                let Bson::String(t) = t else { return None };
                if t == "null" {
                    f.nullable = true;
                } else {
                    let name = spec_type(&t)?.to_string();
                    if f.types.contains(&name) {
                        return None;
                    }
                    f.types.push(name);
                }
            }
            if f.types.is_empty() {
                return None;
            }
        }
        Some(_) => return None,
    }
    f.title = take_string(&mut s, "title")?;
    f.description = take_string(&mut s, "description")?;
    if let Some(v) = s.remove("enum") {
        let Bson::Array(mut values) = v else {
            return None;
        };
        if f.nullable {
            // The generator adds null to the enum of a nullable field.
            let before = values.len();
            values.retain(|v| !matches!(v, Bson::Null));
            if values.len() + 1 != before {
                return None;
            }
        } else if values.iter().any(|v| matches!(v, Bson::Null)) {
            return None;
        }
        if values.is_empty() {
            return None;
        }
        f.enum_values = Some(values);
    }
    f.pattern = take_string(&mut s, "pattern")?;
    for (key, slot) in [
        ("minLength", &mut f.min_length),
        ("maxLength", &mut f.max_length),
        ("minItems", &mut f.min_items),
        ("maxItems", &mut f.max_items),
    ] {
        if let Some(v) = s.remove(key) {
            *slot = Some(count(v)?);
        }
    }
    for (key, slot) in [("minimum", &mut f.minimum), ("maximum", &mut f.maximum)] {
        if let Some(v) = s.remove(key) {
            match v {
                Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) => *slot = Some(v),
                _ => return None,
            }
        }
    }
    if let Some(v) = s.remove("uniqueItems") {
        let Bson::Boolean(b) = v else { return None };
        f.unique_items = Some(b);
    }
    if let Some(v) = s.remove("items") {
        let Bson::Document(items) = v else {
            return None;
        };
        f.items = Some(Box::new(field(items)?));
    }
    let is_object = f.types.iter().any(|t| t == "object");
    if s.contains_key("properties") || s.contains_key("required") {
        if !is_object {
            return None;
        }
        let mut rest = s.clone();
        let (fields, deny) = object(&mut rest, false)?;
        s = rest;
        f.fields = Some(fields);
        f.additional_fields_deny = deny;
        if deny && f.fields.as_ref().is_some_and(|x| x.is_empty()) {
            return None;
        }
    } else if let Some(v) = s.remove("additionalProperties") {
        match v {
            Bson::Document(values) if is_object => f.values = Some(Box::new(field(values)?)),
            Bson::Boolean(true) => {}
            _ => return None,
        }
    }
    if let Some(v) = s.remove("additionalProperties") {
        // Alongside properties: a map with some declared keys.
        match v {
            Bson::Document(values) if !f.additional_fields_deny => {
                f.values = Some(Box::new(field(values)?))
            }
            _ => return None,
        }
    }
    // Constraints must fit the types, as the spec checks require.
    let has = |t: &str| f.types.iter().any(|x| x == t);
    let numeric = ["int", "long", "double", "decimal", "number"]
        .iter()
        .any(|t| has(t));
    if (f.pattern.is_some() || f.min_length.is_some() || f.max_length.is_some()) && !has("string")
        || (f.minimum.is_some() || f.maximum.is_some()) && !numeric
        || (f.items.is_some()
            || f.min_items.is_some()
            || f.max_items.is_some()
            || f.unique_items.is_some())
            && !has("array")
    {
        return None;
    }
    if !s.is_empty() {
        return None; // anyOf, oneOf, not, patternProperties, dependencies, minProperties, ...
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn what_fields_can_say_is_converted() {
        let v = doc! { "$jsonSchema": { "bsonType": "object", "required": ["a"], "properties": {
            "a": { "bsonType": "string", "maxLength": 5, "enum": ["x", "y"] },
            "b": { "bsonType": ["int", "null"], "minimum": 0 },
            "c": { "bsonType": "array", "items": { "bsonType": "object", "properties": { "d": { "bsonType": "date" } } } },
            "m": { "bsonType": "object", "additionalProperties": { "bsonType": "int" } },
        } } };
        let c = from_validator(&v).unwrap();
        let names: Vec<&str> = c.fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "m"]);
        assert!(c.fields[0].1.required && c.fields[1].1.nullable);
        assert!(c.fields[3].1.values.is_some());
    }

    #[test]
    fn what_fields_cannot_say_is_refused() {
        for v in [
            doc! { "$or": [{ "a": 1 }] },
            doc! { "$jsonSchema": { "bsonType": "object", "anyOf": [] } },
            doc! { "$jsonSchema": { "bsonType": "object", "properties": { "a": { "oneOf": [] } } } },
            doc! { "$jsonSchema": { "bsonType": "object", "minProperties": 1 } },
            doc! { "$jsonSchema": { "type": "object" } },
            doc! { "$jsonSchema": { "bsonType": "object", "properties": { "a": { "bsonType": "regex" } } } },
            doc! { "$jsonSchema": { "bsonType": "object", "required": ["z"] } },
            doc! { "$jsonSchema": { "bsonType": "object" }, "$expr": true },
        ] {
            assert_eq!(from_validator(&v), None, "{v}");
        }
    }
}
