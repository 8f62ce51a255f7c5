//! Declared evolution of a field, the pure part: a rename (`renamed_from`), a move (a dotted
//! `renamed_from`), a type change (`convert`), or both, carried out in three phases while the
//! application keeps writing:
//!
//! - *expand*: the validator accepts both shapes (the new field is validated when present but
//!   not required, the old path is allowed; a retype accepts values of other types);
//! - *migrate*: an `evolve_field` job rewrites the documents still in the old shape, in batches,
//!   computing the new value on the server; passes repeat until none is left; a value that
//!   cannot be converted is reported by `_id` and left alone;
//! - *contract*: once no document is in the old shape and `contract_after` has passed since the
//!   migrate phase last finished (a record in the state database), the declared (strict)
//!   validator goes in, behind a `contract_field` guard that counts the old shape again; old
//!   indexes are then retired like any undeclared index.
//!
//! Each `apply` moves an evolution as far as it safely can: expand and migrate in one run,
//! contract in a later one.

use crate::model::{Evolution, Schema, Validator};
use bson::{Bson, Document, doc};
use serde::Serialize;

/// The documents still in the old shape.
pub fn old_shape(field: &str, from: Option<&str>, types: &[String]) -> Document {
    match from {
        Some(from) => doc! { from: { "$exists": true } },
        None => {
            let types: Vec<Bson> = types.iter().map(|t| Bson::String(t.clone())).collect();
            doc! { field: { "$exists": true, "$not": { "$type": types } } }
        }
    }
}

/// The new value, computed on the server from the old one (`$$value` in `convert`).
fn new_value(field: &str, from: Option<&str>, convert: Option<&Document>) -> Bson {
    let old = format!("${}", from.unwrap_or(field));
    match convert {
        Some(c) => Bson::Document(doc! { "$let": { "vars": { "value": old }, "in": c.clone() } }),
        None => Bson::String(old),
    }
}

/// The update pipeline of the migrate phase: the new value set, the old path removed.
pub fn update(field: &str, from: Option<&str>, convert: Option<&Document>) -> Vec<Document> {
    let mut pipeline = vec![doc! { "$set": { field: new_value(field, from, convert) } }];
    if let Some(from) = from {
        pipeline.push(doc! { "$unset": from });
    }
    pipeline
}

/// What a conversion yields for a value it cannot convert, once made safe by [`safe_convert`].
const UNCONVERTIBLE: &str = "\u{1}mongrate: unconvertible";

/// `convert` made to answer a marker instead of failing, when the server can say so
/// (`$toDate`, `$toLong`... as `$convert` with `onError`; `$convert` and `$dateFromString`
/// without their own `onError`): `None` for other expressions.
fn safe_convert(convert: &Document) -> Option<Document> {
    let (op, arg) = convert.iter().next()?;
    let marker = doc! { "$literal": UNCONVERTIBLE };
    let to = match op.as_str() {
        "$toDate" => "date",
        "$toLong" => "long",
        "$toInt" => "int",
        "$toDouble" => "double",
        "$toDecimal" => "decimal",
        "$toObjectId" => "objectId",
        "$toString" => "string",
        "$toBool" => "bool",
        "$convert" | "$dateFromString" => {
            let mut a = arg.as_document()?.clone();
            if a.contains_key("onError") {
                return None;
            }
            a.insert("onError", marker.clone());
            if op == "$convert" && !a.contains_key("onNull") {
                a.insert("onNull", marker);
            }
            return Some(doc! { op: a });
        }
        _ => return None,
    };
    Some(
        doc! { "$convert": { "input": arg.clone(), "to": to, "onError": marker.clone(), "onNull": marker } },
    )
}

/// The documents whose old value `convert` cannot convert (a query), when the server can say
/// so without failing: the migrate phase leaves them out of its updates and lists them.
pub fn unconvertible(field: &str, from: Option<&str>, convert: &Document) -> Option<Document> {
    let safe = safe_convert(convert)?;
    let old = format!("${}", from.unwrap_or(field));
    Some(doc! { "$expr": { "$eq": [
        { "$let": { "vars": { "value": old }, "in": safe } },
        { "$literal": UNCONVERTIBLE },
    ] } })
}

/// A pipeline the server evaluates without a collection (`$documents`): it fails when
/// `convert` is not an expression the server accepts.
pub fn probe(convert: &Document) -> Vec<Document> {
    vec![
        doc! { "$documents": [{ "v": Bson::Null }] },
        doc! { "$project": { "_id": 0, "out": { "$let": { "vars": { "value": "$v" }, "in": convert.clone() } } } },
    ]
}

/// `contract_after` when a field does not say: one day.
pub const DEFAULT_CONTRACT_AFTER: i64 = 86_400;

/// What is wrong with an evolution as written, as (key, message): the paths, the two on one
/// path, a conversion that is not one expression over `$$value`.
pub fn problems(
    field: &str,
    from: Option<&str>,
    convert: Option<&Document>,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let show = |p: &str| format!("`{p}`");
    if let Some(from) = from {
        if let Some(why) = crate::names::field_path_problem(from) {
            out.push(("from", why));
        } else if from == field {
            out.push(("from", format!("{} evolves from itself", show(from))));
        } else if field.starts_with(&format!("{from}.")) || from.starts_with(&format!("{field}.")) {
            out.push((
                "from",
                format!(
                    "{} and {} are on one path: a field cannot move into or out of itself",
                    show(from),
                    show(field)
                ),
            ));
        }
    }
    if let Some(c) = convert {
        let mut keys = c.keys();
        match (keys.next(), keys.next()) {
            (Some(op), None) if op.starts_with('$') => {
                if !Bson::Document(c.clone()).to_string().contains("$$value") {
                    out.push((
                        "convert",
                        format!(
                            "the conversion never reads `$$value` (the old value), e.g. `{{ {op}: \"$$value\" }}`"
                        ),
                    ));
                }
            }
            _ => out.push((
                "convert",
                "a conversion is one expression over the old value `$$value`, e.g. `{ $toDate: \"$$value\" }` or `{ $dateFromString: { dateString: \"$$value\", format: \"%Y-%m-%d\" } }`".into(),
            )),
        }
    }
    if from.is_none() && convert.is_none() {
        out.push((
            "from",
            "an evolution says where the field comes from (`renamed_from`) or how its values convert (`convert`)".into(),
        ));
    }
    out
}

/// The schema of the object holding `path`'s last part, inside a `$jsonSchema`, creating
/// `properties` on the way only where `create`.
fn parent_mut<'a>(schema: &'a mut Document, path: &[&str]) -> Option<&'a mut Document> {
    let mut at = schema;
    for seg in &path[..path.len() - 1] {
        at = at
            .get_document_mut("properties")
            .ok()?
            .get_document_mut(*seg)
            .ok()?;
    }
    Some(at)
}

/// The BSON types `$jsonSchema` declares at `path` (its `bsonType`), empty when it says none.
pub fn types_at(validator: &Document, path: &str) -> Vec<String> {
    let Ok(mut at) = validator.get_document("$jsonSchema") else {
        return Vec::new();
    };
    for seg in path.split('.') {
        match at
            .get_document("properties")
            .and_then(|p| p.get_document(seg))
        {
            Ok(d) => at = d,
            Err(_) => return Vec::new(),
        }
    }
    match at.get("bsonType") {
        Some(Bson::String(t)) => vec![t.clone()],
        Some(Bson::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The validator of the expand phase: both shapes pass. The new field is not required (a
/// document in the old shape lacks it) and, for a retype, accepts values of other types; the
/// old path is allowed where the schema forbids other fields.
pub fn expand_validator(validator: &Document, evolutions: &[Evolution]) -> Document {
    let mut v = validator.clone();
    let Ok(schema) = v.get_document_mut("$jsonSchema") else {
        return v;
    };
    for e in evolutions {
        let path: Vec<&str> = e.field.split('.').collect();
        if let Some(parent) = parent_mut(schema, &path) {
            let leaf = path[path.len() - 1];
            if e.from.is_some()
                && let Ok(required) = parent.get_array_mut("required")
            {
                required.retain(|r| r.as_str() != Some(leaf));
                if required.is_empty() {
                    parent.remove("required");
                }
            }
            if e.from.is_none()
                && let Ok(props) = parent.get_document_mut("properties")
                && let Some(Bson::Document(declared)) = props.get(leaf).cloned()
            {
                let other: Vec<Bson> = e.types.iter().map(|t| Bson::String(t.clone())).collect();
                props.insert(
                    leaf,
                    doc! { "anyOf": [declared, { "not": { "bsonType": other } }] },
                );
            }
        }
        if let Some(from) = &e.from {
            allow(schema, &from.split('.').collect::<Vec<_>>());
        }
    }
    v
}

/// Let `path` exist with any value: along it, each level that lists its properties gets the
/// missing one as `{}` (anything), at the first level that does not know it.
fn allow(schema: &mut Document, path: &[&str]) {
    let mut at = schema;
    for seg in path {
        let Ok(props) = at.get_document_mut("properties") else {
            return;
        };
        if !props.contains_key(*seg) {
            props.insert(*seg, Document::new());
            return;
        }
        match props.get_document_mut(*seg) {
            Ok(d) => at = d,
            Err(_) => return,
        }
    }
}

/// What the server says about an evolution: documents in the old shape, and the record the
/// migrate phase left when it last finished.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub old_shape: u64,
    /// When the migrate phase last finished with no document left in the old shape (ms).
    pub migrated_at: Option<i64>,
    /// Documents whose value could not be converted, as the last run left them.
    pub failed_total: u64,
    /// The migrate phase ran at least once (a record exists).
    pub recorded: bool,
    /// The `_id`s (Extended JSON) of the documents it could not convert, as recorded.
    pub failed_ids: Vec<String>,
}

/// What the state database records of an evolution's migrate phase (`migrate status`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Record {
    pub db: String,
    pub collection: String,
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// When the migrate phase last finished with nothing left in the old shape (RFC 3339);
    /// absent while documents remain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrated_at: Option<String>,
    /// Documents the last run could not convert.
    pub failed: u64,
    /// When a run of the migrate phase last ended (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<String>,
}

impl Record {
    /// One line for people: `app.users mail (from email): migrated at ...`.
    pub fn line(&self) -> String {
        let from = self
            .from
            .as_ref()
            .map(|f| format!(" (from {f})"))
            .unwrap_or_default();
        let state = match (&self.migrated_at, self.failed) {
            (Some(at), _) => format!("migrate phase finished at {at}; the contract may follow"),
            (None, 0) => {
                "migrate phase not finished (documents were still arriving in the old shape)"
                    .to_string()
            }
            (None, n) => format!(
                "migrate phase not finished: {} could not be converted",
                crate::progress::count(n, "document")
            ),
        };
        format!(
            "{}.{} {}{from}: {state}",
            self.db, self.collection, self.field
        )
    }
}

/// Where an evolution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The validator accepting both shapes, and the new indexes, are still to go in.
    Expand,
    /// Documents in the old shape remain (or the migrate phase never ran): rewrite them.
    Migrate,
    /// None remain; the waiting period (`contract_after`) is not over.
    Wait,
    /// The strict validator goes in, old indexes are retired.
    Contract,
    /// Contracted: nothing left to do (the declaration may be removed).
    Done,
}

/// An evolution and where it stands, as `plan`, `check` and `apply` show it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct State {
    pub db: String,
    pub collection: String,
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The conversion's operator (`$toDate`...), if the type changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convert: Option<String>,
    pub phase: Phase,
    /// Documents in the old shape now.
    pub old_shape: u64,
    /// Of those, the ones the last run could not convert.
    pub failed: u64,
    /// Their `_id`s (Extended JSON, at most 1,000).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_ids: Vec<String>,
    /// When the migrate phase last finished (RFC 3339), if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrated_at: Option<String>,
    /// When the contract may run (RFC 3339), once the migrate phase finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_at: Option<String>,
    #[serde(skip)]
    pub evolution: Evolution,
}

fn rfc3339(ms: i64) -> String {
    bson::DateTime::from_millis(ms)
        .try_to_rfc3339_string()
        .unwrap_or_default()
}

/// Where `e` stands given what the server says and the time now (ms).
pub fn decide(e: &Evolution, facts: &Facts, now: i64) -> State {
    let contract_at = facts
        .migrated_at
        .map(|at| at.saturating_add(e.contract_after.saturating_mul(1000)));
    let phase = match (facts.old_shape, contract_at) {
        (0, Some(at)) if now >= at => Phase::Contract,
        (0, Some(_)) => Phase::Wait,
        _ if !facts.recorded => Phase::Expand,
        _ => Phase::Migrate,
    };
    State {
        db: e.db.clone(),
        collection: e.collection.clone(),
        field: e.field.clone(),
        from: e.from.clone(),
        convert: e.convert.as_ref().and_then(|c| c.keys().next().cloned()),
        phase,
        old_shape: facts.old_shape,
        failed: facts.failed_total.min(facts.old_shape),
        failed_ids: if facts.old_shape > 0 {
            facts.failed_ids.clone()
        } else {
            Vec::new()
        },
        migrated_at: facts.migrated_at.map(rfc3339),
        contract_at: contract_at.map(rfc3339),
        evolution: e.clone(),
    }
}

/// Every evolution the desired schema declares.
pub fn declared(desired: &Schema) -> Vec<Evolution> {
    desired
        .databases
        .values()
        .flat_map(|d| d.collections.values())
        .flat_map(|c| c.evolutions.iter().cloned())
        .collect()
}

/// Before the diff: collections whose evolutions are not all contracting keep the validator
/// of the expand phase, and the indexes the server holds on an old path (the old application
/// still reads through them) stay until the contract.
pub fn shape_desired(desired: &mut Schema, current: &Schema, states: &[State]) {
    for db in desired.databases.values_mut() {
        for c in db.collections.values_mut() {
            let open: Vec<Evolution> = states
                .iter()
                .filter(|s| s.db == db.name && s.collection == c.name)
                .filter(|s| !matches!(s.phase, Phase::Contract | Phase::Done))
                .map(|s| s.evolution.clone())
                .collect();
            if open.is_empty() {
                continue;
            }
            if let Some(v) = &mut c.validator {
                *v = Validator::new(&expand_validator(&v.document(), &open), v.level, v.action);
            }
            let old: Vec<&str> = open
                .iter()
                .map(|e| e.from.as_deref().unwrap_or(&e.field))
                .collect();
            let Some(have) = current
                .databases
                .get(&db.name)
                .and_then(|d| d.collections.get(&c.name))
            else {
                continue;
            };
            for i in &have.indexes {
                let on_old = i.keys.iter().any(|(k, _)| {
                    old.iter()
                        .any(|o| k == o || k.starts_with(&format!("{o}.")))
                });
                if on_old && !c.indexes.iter().any(|d| d.name == i.name) {
                    c.indexes.push(i.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Evolution;

    fn rename() -> Evolution {
        Evolution {
            db: "app".into(),
            collection: "users".into(),
            field: "mail".into(),
            from: Some("email".into()),
            convert: None,
            types: vec!["string".into()],
            contract_after: 60,
        }
    }

    fn retype() -> Evolution {
        Evolution {
            field: "created".into(),
            from: None,
            convert: Some(doc! { "$toDate": "$$value" }),
            types: vec!["date".into()],
            ..rename()
        }
    }

    #[test]
    fn the_old_shape_is_the_old_path_or_a_value_of_another_type() {
        assert_eq!(
            old_shape("mail", Some("email"), &[]),
            doc! { "email": { "$exists": true } }
        );
        assert_eq!(
            old_shape("created", None, &["date".into()]),
            doc! { "created": { "$exists": true, "$not": { "$type": ["date"] } } }
        );
    }

    #[test]
    fn the_migrate_update_computes_on_the_server_and_removes_the_old_path() {
        assert_eq!(
            update("mail", Some("email"), None),
            vec![
                doc! { "$set": { "mail": "$email" } },
                doc! { "$unset": "email" }
            ]
        );
        assert_eq!(
            update("created", None, Some(&doc! { "$toDate": "$$value" })),
            vec![
                doc! { "$set": { "created": { "$let": { "vars": { "value": "$created" }, "in": { "$toDate": "$$value" } } } } }
            ]
        );
    }

    #[test]
    fn known_conversions_answer_a_marker_instead_of_failing() {
        let g = unconvertible("created", None, &doc! { "$toDate": "$$value" }).unwrap();
        let text = g.to_string();
        assert!(
            text.contains("\"$convert\"") && text.contains("\"to\": \"date\""),
            "{text}"
        );
        assert!(
            text.contains("onError") && text.contains("onNull"),
            "{text}"
        );
        let own = doc! { "$convert": { "input": "$$value", "to": "int", "onError": 0 } };
        assert!(
            unconvertible("n", None, &own).is_none(),
            "its own onError decides"
        );
        assert!(unconvertible("n", None, &doc! { "$add": ["$$value", 1] }).is_none());
    }

    #[test]
    fn the_expand_validator_accepts_both_shapes() {
        let v = doc! { "$jsonSchema": {
            "bsonType": "object", "required": ["mail", "created"], "additionalProperties": false,
            "properties": { "_id": {}, "mail": { "bsonType": "string" }, "created": { "bsonType": "date" } },
        } };
        let x = expand_validator(&v, &[rename(), retype()]);
        let s = x.get_document("$jsonSchema").unwrap();
        assert_eq!(
            s.get_array("required").unwrap(),
            &vec![Bson::String("created".into())]
        );
        let p = s.get_document("properties").unwrap();
        assert_eq!(
            p.get_document("email").unwrap(),
            &Document::new(),
            "the old path is allowed"
        );
        assert_eq!(
            p.get_document("mail").unwrap(),
            &doc! { "bsonType": "string" }
        );
        assert_eq!(
            p.get_document("created").unwrap(),
            &doc! { "anyOf": [{ "bsonType": "date" }, { "not": { "bsonType": ["date"] } }] }
        );
        assert_eq!(types_at(&v, "created"), vec!["date".to_string()]);
    }

    #[test]
    fn contract_only_when_none_remain_and_the_wait_is_over() {
        let e = rename();
        let at = |old, migrated: Option<i64>, now| {
            decide(
                &e,
                &Facts {
                    old_shape: old,
                    migrated_at: migrated,
                    failed_total: 0,
                    recorded: migrated.is_some(),
                    failed_ids: Vec::new(),
                },
                now,
            )
            .phase
        };
        assert_eq!(
            at(0, None, 0),
            Phase::Expand,
            "never migrated: expand, then run the migrate phase once"
        );
        assert_eq!(
            at(5, Some(0), 1_000_000),
            Phase::Migrate,
            "old writes came back"
        );
        assert_eq!(at(0, Some(0), 59_999), Phase::Wait);
        assert_eq!(at(0, Some(0), 60_000), Phase::Contract);
    }
}
