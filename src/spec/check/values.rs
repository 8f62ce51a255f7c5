//! Values: a YAML value as the BSON a declared type takes (Extended JSON wrappers included), and
//! the constraints a value must meet.

#[allow(unused_imports)]
use super::*;

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
pub(super) const EXTJSON_WRAPPERS: &[&str] = &[
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

pub(super) fn is_extjson_wrapper(m: &[(String, Value)]) -> bool {
    m.first()
        .is_some_and(|(k, _)| EXTJSON_WRAPPERS.contains(&k.as_str()))
        && m.iter().all(|(k, _)| k.starts_with('$'))
}

pub(super) fn extjson_value(v: &Value) -> Result<Bson, String> {
    let json = v.to_json();
    let text = json.to_string();
    crate::extjson::to_bson(json).map_err(|e| format!("`{text}` is not valid Extended JSON: {e}"))
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
pub(super) fn bson_value_size(b: &Bson) -> usize {
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
pub(super) fn typed_value(field: &Field, v: &Value) -> Result<Bson, String> {
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

pub(super) fn convert_as(t: FieldType, field: &Field, v: &Value) -> Result<Bson, String> {
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

pub(super) fn as_f64(b: &Bson) -> Option<f64> {
    match b {
        Bson::Int32(i) => Some(f64::from(*i)),
        Bson::Int64(i) => Some(*i as f64),
        Bson::Double(d) => Some(*d),
        _ => None,
    }
}

/// Check a converted value against the field's enum and constraints (recursively).
pub(super) fn check_constraints(field: &Field, value: &Bson) -> Result<(), String> {
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
