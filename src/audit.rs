//! Data drift, the pure part: the aggregation that finds documents failing a collection's
//! schema and names, per document, every rule it breaks.
//!
//! Reasons use `$jsonSchema` keyword names: `required: <path>`, `bsonType: <path>`,
//! `enum: <path>`, `pattern: <path>`, `minLength`/`maxLength`, `minimum`/`maximum`,
//! `minItems`/`maxItems`, `uniqueItems`, `additionalProperties: <path>`. Fields inside array
//! elements are named without the position (`messages.role`). The generated validator stays the
//! arbiter: only documents failing it are examined, and one whose failure no rule explains is
//! reported as `other`.

use crate::spec::{AdditionalFields, CollectionSpec, Field, FieldType};
use bson::{Bson, Document, doc};
use serde::Serialize;

/// One broken rule and the documents breaking it.
#[derive(Debug, Clone, Serialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: u64,
    /// Up to five `_id`s.
    pub sample_ids: Vec<Bson>,
}

/// The data audit of one collection.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub db: String,
    pub collection: String,
    /// Documents examined (all, or the random sample).
    pub examined: u64,
    pub sampled: bool,
    /// Documents failing the schema's validator.
    pub failing: u64,
    pub reasons: Vec<ReasonCount>,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn type_of(v: &Bson) -> Bson {
    Bson::Document(doc! { "$type": v.clone() })
}

fn is(v: &Bson, t: &str) -> Bson {
    Bson::Document(doc! { "$eq": [type_of(v), t] })
}

fn present(v: &Bson) -> Bson {
    Bson::Document(doc! { "$ne": [type_of(v), "missing"] })
}

fn reason(cond: Bson, text: String) -> Bson {
    Bson::Document(doc! { "$cond": [cond, text, Bson::Null] })
}

fn aliases(t: FieldType) -> &'static [&'static str] {
    match t {
        FieldType::String => &["string"],
        FieldType::Int => &["int"],
        FieldType::Long => &["long"],
        FieldType::Double => &["double"],
        FieldType::Decimal => &["decimal"],
        FieldType::Number => &["int", "long", "double", "decimal"],
        FieldType::Bool => &["bool"],
        FieldType::Date => &["date"],
        FieldType::Timestamp => &["timestamp"],
        FieldType::ObjectId => &["objectId"],
        FieldType::Uuid | FieldType::Binary => &["binData"],
        FieldType::Object => &["object"],
        FieldType::Array => &["array"],
    }
}

/// Reasons for one value: `scalars` are expressions yielding a reason or null; `lists` yield
/// arrays of reasons (for array elements and unknown keys).
#[derive(Default)]
struct Reasons {
    scalars: Vec<Bson>,
    lists: Vec<Bson>,
}

impl Reasons {
    /// Everything as one array expression (nulls included).
    fn into_array(self) -> Bson {
        let mut parts = vec![Bson::Array(self.scalars)];
        parts.extend(self.lists);
        Bson::Document(doc! { "$concatArrays": parts })
    }

    /// Wrap every reason so it only counts when `guard` holds.
    fn guarded(self, guard: &Bson) -> Reasons {
        let arr = self.into_array();
        Reasons {
            scalars: vec![],
            lists: vec![Bson::Document(doc! { "$cond": [guard.clone(), arr, []] })],
        }
    }
}

/// Reasons for the value `v` (an expression) declared by `field` at `path`.
fn value_reasons(path: &str, v: &Bson, field: &Field, depth: usize, out: &mut Reasons) {
    let p = present(v);
    let more = field.more();
    if !field.types.is_empty() {
        let mut allowed: Vec<Bson> = field
            .types
            .iter()
            .flat_map(|t| aliases(*t).iter().map(|a| Bson::String(a.to_string())))
            .collect();
        if field.nullable {
            allowed.push("null".into());
        }
        out.scalars.push(reason(
            Bson::Document(
                doc! { "$and": [p.clone(), { "$not": [{ "$in": [type_of(v), allowed] }] }] },
            ),
            format!("bsonType: {path}"),
        ));
    }
    if let Some(values) = &more.enum_values {
        let mut values = values.clone();
        if field.nullable {
            values.push(Bson::Null);
        }
        out.scalars.push(reason(
            Bson::Document(
                doc! { "$and": [p.clone(), { "$not": [{ "$in": [v.clone(), values] }] }] },
            ),
            format!("enum: {path}"),
        ));
    }
    let string = is(v, "string");
    if let Some(pattern) = &more.pattern {
        out.scalars.push(reason(
            Bson::Document(doc! { "$and": [string.clone(), { "$not": [{ "$regexMatch": { "input": v.clone(), "regex": pattern } }] }] }),
            format!("pattern: {path}"),
        ));
    }
    let len = Bson::Document(doc! { "$strLenCP": { "$cond": [string.clone(), v.clone(), ""] } });
    if let Some(n) = more.min_length {
        out.scalars.push(reason(
            Bson::Document(doc! { "$and": [string.clone(), { "$lt": [len.clone(), n as i64] }] }),
            format!("minLength: {path}"),
        ));
    }
    if let Some(n) = more.max_length {
        out.scalars.push(reason(
            Bson::Document(doc! { "$and": [string.clone(), { "$gt": [len.clone(), n as i64] }] }),
            format!("maxLength: {path}"),
        ));
    }
    let number = Bson::Document(doc! { "$isNumber": v.clone() });
    if let Some(m) = &more.minimum {
        out.scalars.push(reason(
            Bson::Document(
                doc! { "$and": [number.clone(), { "$lt": [v.clone(), (**m).clone()] }] },
            ),
            format!("minimum: {path}"),
        ));
    }
    if let Some(m) = &more.maximum {
        out.scalars.push(reason(
            Bson::Document(
                doc! { "$and": [number.clone(), { "$gt": [v.clone(), (**m).clone()] }] },
            ),
            format!("maximum: {path}"),
        ));
    }
    let array = Bson::Document(doc! { "$isArray": v.clone() });
    let size = Bson::Document(doc! { "$size": { "$cond": [array.clone(), v.clone(), []] } });
    if let Some(n) = more.min_items {
        out.scalars.push(reason(
            Bson::Document(doc! { "$and": [array.clone(), { "$lt": [size.clone(), n as i64] }] }),
            format!("minItems: {path}"),
        ));
    }
    if let Some(n) = more.max_items {
        out.scalars.push(reason(
            Bson::Document(doc! { "$and": [array.clone(), { "$gt": [size.clone(), n as i64] }] }),
            format!("maxItems: {path}"),
        ));
    }
    if more.unique_items == Some(true) {
        out.scalars.push(reason(
            Bson::Document(doc! { "$and": [array.clone(), { "$ne": [size.clone(), { "$size": { "$setUnion": [{ "$cond": [array.clone(), v.clone(), []] }, []] } }] }] }),
            format!("uniqueItems: {path}"),
        ));
    }
    if let Some(sub) = &field.fields {
        let mut inner = Reasons::default();
        object_reasons(
            path,
            v,
            sub,
            more.additional_fields == Some(AdditionalFields::Deny),
            depth,
            &mut inner,
        );
        let guarded = inner.guarded(&is(v, "object"));
        out.lists.extend(guarded.lists);
    }
    if let Some(values) = &more.values {
        let var = format!("m{depth}");
        let element = Bson::String(format!("$${var}.v"));
        let mut inner = Reasons::default();
        value_reasons(
            &format!("{path}.*"),
            &element,
            values,
            depth + 1,
            &mut inner,
        );
        if !(inner.scalars.is_empty() && inner.lists.is_empty()) {
            let declared: Vec<Bson> = field
                .fields
                .iter()
                .flat_map(|f| f.keys().map(|k| Bson::String(k.clone())))
                .collect();
            let per_value = inner.into_array();
            out.lists.push(Bson::Document(doc! { "$reduce": {
                "input": { "$map": {
                    "input": { "$filter": {
                        "input": { "$objectToArray": { "$cond": [is(v, "object"), v.clone(), {}] } },
                        "as": "kv",
                        "cond": { "$not": [{ "$in": ["$$kv.k", declared] }] },
                    } },
                    "as": var,
                    "in": per_value,
                } },
                "initialValue": [],
                "in": { "$concatArrays": ["$$value", "$$this"] },
            } }));
        }
    }
    if let Some(items) = &field.items {
        let var = format!("e{depth}");
        let element = Bson::String(format!("$${var}"));
        let mut inner = Reasons::default();
        value_reasons(path, &element, items, depth + 1, &mut inner);
        if !(inner.scalars.is_empty() && inner.lists.is_empty()) {
            let per_element = inner.into_array();
            out.lists.push(Bson::Document(doc! { "$reduce": {
                "input": { "$map": { "input": { "$cond": [array.clone(), v.clone(), []] }, "as": var, "in": per_element } },
                "initialValue": [],
                "in": { "$concatArrays": ["$$value", "$$this"] },
            } }));
        }
    }
}

/// Reasons for the declared fields of an object `v` (the document itself at the root).
fn object_reasons(
    prefix: &str,
    v: &Bson,
    fields: &crate::spec::FieldMap,
    deny: bool,
    depth: usize,
    out: &mut Reasons,
) {
    let base = match v {
        Bson::String(s) if s == "$$ROOT" => String::from("$"),
        Bson::String(s) => format!("{s}."),
        _ => String::from("$"),
    };
    for (name, f) in fields {
        let path = join(prefix, name);
        let child = Bson::String(format!("{base}{name}"));
        if f.required {
            out.scalars.push(reason(
                Bson::Document(doc! { "$eq": [type_of(&child), "missing"] }),
                format!("required: {path}"),
            ));
        }
        value_reasons(&path, &child, f, depth, out);
    }
    if deny {
        let mut declared: Vec<Bson> = fields.keys().map(|k| Bson::String(k.clone())).collect();
        if prefix.is_empty() && !fields.contains_key("_id") {
            declared.push("_id".into());
        }
        let label = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}.")
        };
        out.lists.push(Bson::Document(doc! { "$map": {
            "input": { "$filter": {
                "input": { "$objectToArray": v.clone() },
                "as": "kv",
                "cond": { "$not": [{ "$in": ["$$kv.k", declared] }] },
            } },
            "as": "kv",
            "in": { "$concat": [format!("additionalProperties: {label}"), "$$kv.k"] },
        } }));
    }
}

/// The expression listing every rule a document breaks (possibly with nulls; filtered later).
pub fn reasons_expr(spec: &CollectionSpec) -> Bson {
    let mut r = Reasons::default();
    if spec.raw_validator.is_some() {
        // A validator written as is: its rules are not the fields', so only "other" is said.
        return r.into_array();
    }
    object_reasons(
        "",
        &Bson::String("$$ROOT".into()),
        &spec.fields,
        spec.validation.additional_fields == AdditionalFields::Deny,
        0,
        &mut r,
    );
    r.into_array()
}

/// The whole audit pipeline for a collection and its validator. With `sample`, a random sample
/// of that many documents is examined instead of all of them.
pub fn pipeline(
    spec: &CollectionSpec,
    validator: &Document,
    sample: Option<u64>,
    samples_per_reason: i64,
) -> Vec<Document> {
    let mut stages = Vec::new();
    if let Some(n) = sample {
        stages.push(doc! { "$sample": { "size": n as i64 } });
    }
    let failing = doc! { "$match": { "$nor": [validator.clone()] } };
    stages.push(doc! { "$facet": {
        "examined": [{ "$count": "n" }],
        "failing": [failing.clone(), { "$count": "n" }],
        "by_reason": [
            failing,
            { "$project": { "_id": 1, "reasons": { "$filter": { "input": reasons_expr(spec), "cond": { "$ne": ["$$this", Bson::Null] } } } } },
            { "$project": { "_id": 1, "reasons": { "$cond": [{ "$eq": [{ "$size": "$reasons" }, 0] }, ["other: the validator refuses it for a rule not itemised here"], "$reasons"] } } },
            { "$unwind": "$reasons" },
            { "$group": { "_id": "$reasons", "count": { "$sum": 1 }, "sample_ids": { "$firstN": { "input": "$_id", "n": samples_per_reason } } } },
            { "$sort": { "count": -1, "_id": 1 } },
        ],
    } });
    stages
}
