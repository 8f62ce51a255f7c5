//! Backfill, the pure part: which defaults a collection declares, and the expressions that fill
//! the missing ones.
//!
//! One pipeline update per batch sets every missing default of a document at once, so each
//! document is written once however many fields it lacks. Every field is set through `$cond` on
//! `$type: "missing"`, evaluated by the server per document at write time: a field that gained a
//! value meanwhile is left alone, and a parent that exists but is not an object (or is null) is
//! kept as it is — such documents are counted as blocked, never overwritten. No dotted paths are
//! used inside the pipeline: each top-level field gets one expression that rebuilds it with
//! `$mergeObjects`. Fields of the objects inside arrays (`messages[].timestamp`) are filled
//! element by element through `$map`, by the same rule: an element that is not an object is
//! kept as it is.

use crate::spec::{CollectionSpec, DefaultValue};
use bson::{Bson, Document, doc};
use serde::Serialize;
use std::collections::BTreeMap;

/// A defaulted field, by dotted path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDefault {
    pub path: String,
    pub value: DefaultValue,
}

/// Every default a collection declares, nested object fields included, and fields of the
/// objects inside arrays (`messages[].timestamp`): those are filled element by element.
pub fn collection_defaults(spec: &CollectionSpec) -> Vec<FieldDefault> {
    let mut out = Vec::new();
    walk(&spec.fields, "", &mut out);
    out
}

fn walk(fields: &crate::spec::FieldMap, prefix: &str, out: &mut Vec<FieldDefault>) {
    for (name, f) in fields {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        if let Some(d) = &f.more().default {
            out.push(FieldDefault {
                path: path.clone(),
                value: (**d).clone(),
            });
        }
        if let Some(sub) = &f.fields {
            walk(sub, &path, out);
        }
        if let Some(sub) = f.items.as_ref().and_then(|i| i.fields.as_ref()) {
            walk(sub, &format!("{path}[]"), out);
        }
    }
}

/// One part of a default's path: a field, or "each element of this array" (`name[]`).
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Field(String),
    Elements,
}

fn segments(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.') {
        match part.strip_suffix("[]") {
            Some(name) => {
                out.push(Seg::Field(name.to_string()));
                out.push(Seg::Elements);
            }
            None => out.push(Seg::Field(part.to_string())),
        }
    }
    out
}

/// The defaults as a tree of paths.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Leaf(DefaultValue),
    Object {
        own: Option<DefaultValue>,
        children: BTreeMap<String, Node>,
    },
    /// An array whose object elements get defaults: `children` are the elements' fields.
    Array {
        own: Option<DefaultValue>,
        children: BTreeMap<String, Node>,
    },
}

fn tree(defaults: &[FieldDefault]) -> BTreeMap<String, Node> {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for d in defaults {
        insert(&mut root, &segments(&d.path), &d.value);
    }
    root
}

fn insert(level: &mut BTreeMap<String, Node>, segs: &[Seg], value: &DefaultValue) {
    let Some(Seg::Field(name)) = segs.first() else {
        return;
    };
    let rest = &segs[1..];
    let elements = matches!(rest.first(), Some(Seg::Elements));
    let below = if elements { &rest[1..] } else { rest };
    let entry = level.entry(name.clone()).or_insert_with(|| {
        if rest.is_empty() {
            Node::Leaf(value.clone())
        } else if elements {
            Node::Array {
                own: None,
                children: BTreeMap::new(),
            }
        } else {
            Node::Object {
                own: None,
                children: BTreeMap::new(),
            }
        }
    });
    if rest.is_empty() {
        match entry {
            Node::Object { own, .. } | Node::Array { own, .. } => *own = Some(value.clone()),
            leaf => *leaf = Node::Leaf(value.clone()),
        }
        return;
    }
    if let Node::Leaf(v) = entry {
        let own = Some(v.clone());
        *entry = if elements {
            Node::Array {
                own,
                children: BTreeMap::new(),
            }
        } else {
            Node::Object {
                own,
                children: BTreeMap::new(),
            }
        };
    }
    match entry {
        Node::Object { children, .. } | Node::Array { children, .. } => {
            insert(children, below, value)
        }
        Node::Leaf(_) => unreachable!("replaced above"),
    }
}

fn value_expr(v: &DefaultValue) -> Bson {
    match v {
        DefaultValue::Now => Bson::String("$$NOW".into()),
        DefaultValue::Value(b) => Bson::Document(doc! { "$literal": b.clone() }),
    }
}

/// A reference to `path` under `base`: `$a.b` at the top (`base` is `$`), `$$e0.a.b` inside
/// an array element bound to `e0`.
fn reference(base: &str, path: &str) -> String {
    if base == "$" {
        format!("${path}")
    } else {
        format!("{base}.{path}")
    }
}

fn type_of(reference: &str) -> Bson {
    Bson::Document(doc! { "$type": reference })
}

fn missing(reference: &str) -> Bson {
    Bson::Document(doc! { "$eq": [type_of(reference), "missing"] })
}

/// The value a missing node gets: its own default merged with its children's. A missing array
/// stays missing unless it has a default of its own (there are no elements to fill).
fn create_expr(node: &Node) -> Bson {
    match node {
        Node::Leaf(v) => value_expr(v),
        Node::Array { own, .. } => own
            .as_ref()
            .map(value_expr)
            .unwrap_or_else(|| Bson::String("$$REMOVE".into())),
        Node::Object { own, children } => {
            let mut built = Document::new();
            for (k, child) in children {
                built.insert(k.clone(), create_expr(child));
            }
            match own {
                // The object's own default wins over its children's where both say something.
                Some(DefaultValue::Value(Bson::Document(d))) => {
                    Bson::Document(doc! { "$mergeObjects": [built, { "$literal": d.clone() }] })
                }
                Some(other) => value_expr(other),
                None => Bson::Document(built),
            }
        }
    }
}

/// The expression for the value at `at` (a reference): that value with every missing default
/// filled in. `depth` names the variables of nested `$map`s apart.
fn fill_expr(at: &str, node: &Node, depth: usize) -> Bson {
    let keep = Bson::String(at.to_string());
    match node {
        Node::Leaf(_) => Bson::Document(doc! { "$cond": [missing(at), create_expr(node), keep] }),
        Node::Object { children, .. } => {
            let mut merged = Document::new();
            for (k, child) in children {
                merged.insert(k.clone(), fill_expr(&format!("{at}.{k}"), child, depth));
            }
            Bson::Document(doc! { "$cond": [
                missing(at),
                create_expr(node),
                { "$cond": [
                    { "$eq": [type_of(at), "object"] },
                    { "$mergeObjects": [keep.clone(), merged] },
                    keep,
                ] },
            ] })
        }
        Node::Array { children, .. } => {
            let var = format!("e{depth}");
            let element = format!("$${var}");
            let mut merged = Document::new();
            for (k, child) in children {
                merged.insert(
                    k.clone(),
                    fill_expr(&format!("{element}.{k}"), child, depth + 1),
                );
            }
            // Each element that is an object gets its missing fields; anything else is kept.
            let each = doc! { "$cond": [
                { "$eq": [type_of(&element), "object"] },
                { "$mergeObjects": [element.clone(), merged] },
                element.clone(),
            ] };
            Bson::Document(doc! { "$cond": [
                missing(at),
                create_expr(node),
                { "$cond": [
                    { "$isArray": [keep.clone()] },
                    { "$map": { "input": keep.clone(), "as": var, "in": each } },
                    keep,
                ] },
            ] })
        }
    }
}

/// The pipeline update that fills every missing default of a document.
pub fn update_pipeline(defaults: &[FieldDefault]) -> Vec<Document> {
    let mut set = Document::new();
    for (name, node) in tree(defaults) {
        set.insert(name.clone(), fill_expr(&format!("${name}"), &node, 0));
    }
    vec![doc! { "$set": set }]
}

/// A query matching documents that lack one default: `{ a.b: { $exists: false } }` (with
/// parents that are missing or objects), or, inside arrays, an element that lacks it.
pub fn element_filter(path: &str) -> Document {
    match path.split_once("[].") {
        None => crate::ops::backfill_filter(path.trim_end_matches("[]")),
        Some((array, rest)) => doc! { array: { "$elemMatch": element_filter(rest) } },
    }
}

/// A query matching documents that lack at least one default (a superset; the pipeline decides).
pub fn needs_filter(defaults: &[FieldDefault]) -> Document {
    let any: Vec<Bson> = defaults
        .iter()
        .map(|d| Bson::Document(element_filter(&d.path)))
        .collect();
    match any.len() {
        0 => doc! { "_id": { "$exists": false } },
        1 => any[0].as_document().cloned().unwrap_or_default(),
        _ => doc! { "$or": any },
    }
}

/// Whether the default at `segs` (under `base`) is missing and can be filled.
fn fill_cond(base: &str, segs: &[Seg], depth: usize) -> Bson {
    let fields: Vec<&str> = segs
        .iter()
        .take_while(|s| matches!(s, Seg::Field(_)))
        .map(|s| match s {
            Seg::Field(f) => f.as_str(),
            Seg::Elements => unreachable!(),
        })
        .collect();
    let mut parents_ok: Vec<Bson> = Vec::new();
    for i in 1..fields.len() {
        parents_ok.push(Bson::Document(
            doc! { "$in": [type_of(&reference(base, &fields[..i].join("."))), ["missing", "object"]] },
        ));
    }
    let at = reference(base, &fields.join("."));
    if fields.len() == segs.len() {
        let mut all = vec![missing(&at)];
        all.extend(parents_ok);
        return Bson::Document(doc! { "$and": all });
    }
    // An array: any object element in which the rest is missing.
    let var = format!("c{depth}");
    let element = format!("$${var}");
    Bson::Document(doc! { "$anyElementTrue": [{ "$map": {
        "input": { "$cond": [{ "$isArray": [at.clone()] }, at, []] },
        "as": var,
        "in": { "$and": [
            { "$eq": [type_of(&element), "object"] },
            fill_cond(&element, &segs[fields.len() + 1..], depth + 1),
        ] },
    } }] })
}

/// Aggregation expressions counting, for one default, the documents it fills and those it cannot
/// fill because a parent exists but is not an object (inside arrays, elements that are not
/// objects are simply left alone, and not counted).
pub fn count_exprs(path: &str) -> (Bson, Bson) {
    let segs = segments(path);
    let fill = fill_cond("$", &segs, 0);
    if segs.contains(&Seg::Elements) {
        return (fill, Bson::Boolean(false));
    }
    let parts: Vec<&str> = path.split('.').collect();
    let mut parents_ok: Vec<Bson> = Vec::new();
    for i in 1..parts.len() {
        let parent = parts[..i].join(".");
        parents_ok.push(Bson::Document(
            doc! { "$in": [type_of(&format!("${parent}")), ["missing", "object"]] },
        ));
    }
    let at = format!("${path}");
    let blocked = if parents_ok.is_empty() {
        Bson::Boolean(false)
    } else {
        Bson::Document(doc! { "$and": [missing(&at), { "$not": [{ "$and": parents_ok }] }] })
    };
    (fill, blocked)
}

/// The `$group` stage counting fills and blocks per default (`f<i>` and `b<i>`), and the
/// documents with anything to fill (`todo`).
pub fn count_group(defaults: &[FieldDefault]) -> Document {
    let mut group = doc! { "_id": Bson::Null, "scanned": { "$sum": 1 } };
    let mut any = Vec::new();
    for (i, d) in defaults.iter().enumerate() {
        let (fill, blocked) = count_exprs(&d.path);
        any.push(fill.clone());
        group.insert(format!("f{i}"), doc! { "$sum": { "$cond": [fill, 1, 0] } });
        group.insert(
            format!("b{i}"),
            doc! { "$sum": { "$cond": [blocked, 1, 0] } },
        );
    }
    group.insert("todo", doc! { "$sum": { "$cond": [{ "$or": any }, 1, 0] } });
    doc! { "$group": group }
}

/// A fingerprint of the defaults, so that a checkpoint is only resumed for the same work.
pub fn signature(defaults: &[FieldDefault]) -> String {
    use sha2::{Digest, Sha256};
    let text = serde_json::to_string(defaults).unwrap_or_default();
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// One collection's defaults.
#[derive(Debug, Clone)]
pub struct Target {
    pub db: String,
    pub collection: String,
    pub defaults: Vec<FieldDefault>,
}

impl Target {
    /// The backfill as an operation (its first field stands for all: they need the same
    /// privileges), for preflight.
    pub fn operation(&self) -> crate::ops::Operation {
        crate::ops::Operation::Backfill {
            db: self.db.clone(),
            collection: self.collection.clone(),
            field: self
                .defaults
                .first()
                .map(|d| d.path.clone())
                .unwrap_or_default(),
            value: bson::Bson::Null,
        }
    }
}

/// Per default: documents filled, and documents left alone because a parent is not an object.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct FieldReport {
    pub field: String,
    pub filled: u64,
    pub blocked: u64,
}

/// What a backfill (or its dry run) did for one collection: the counts are this run's own,
/// also after a resume (what the interrupted run had done is in `resumed_after`).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Report {
    #[serde(rename = "database")]
    pub db: String,
    pub collection: String,
    pub scanned: u64,
    pub modified: u64,
    pub fields: Vec<FieldReport>,
    /// Set when the run resumed from a checkpoint.
    pub resumed: bool,
    /// When resumed: what the interrupted run had done before (scanned, modified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_after: Option<Done>,
    pub elapsed_ms: u64,
}

/// Documents scanned and modified.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Done {
    pub scanned: u64,
    pub modified: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(path: &str, v: Bson) -> FieldDefault {
        FieldDefault {
            path: path.into(),
            value: DefaultValue::Value(v),
        }
    }

    #[test]
    fn nested_defaults_share_one_top_level_expression() {
        let pipeline = update_pipeline(&[
            d("a", Bson::Int32(1)),
            d("s.x", Bson::Int32(0)),
            d("s.y", Bson::Boolean(false)),
        ]);
        let set = pipeline[0].get_document("$set").unwrap();
        assert_eq!(set.keys().collect::<Vec<_>>(), vec!["a", "s"]);
        let text = set.get("s").unwrap().to_string();
        assert!(
            text.contains("$mergeObjects")
                && text.contains("\"$s.x\"")
                && text.contains("\"$s.y\""),
            "{text}"
        );
    }

    #[test]
    fn now_is_the_server_time_not_a_string() {
        let pipeline = update_pipeline(&[FieldDefault {
            path: "at".into(),
            value: DefaultValue::Now,
        }]);
        assert!(pipeline[0].to_string().contains("\"$$NOW\""));
        assert!(!pipeline[0].to_string().contains("$literal\": \"$$NOW"));
    }
}
