//! Backfill, the pure part: which defaults a collection declares, and the expressions that fill
//! the missing ones.
//!
//! One pipeline update per batch sets every missing default of a document at once, so each
//! document is written once however many fields it lacks. Every field is set through `$cond` on
//! `$type: "missing"`, evaluated by the server per document at write time: a field that gained a
//! value meanwhile is left alone, and a parent that exists but is not an object (or is null) is
//! kept as it is — such documents are counted as blocked, never overwritten. No dotted paths are
//! used inside the pipeline: each top-level field gets one expression that rebuilds it with
//! `$mergeObjects`.

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

/// Every default a collection declares (nested object fields included; fields inside array
/// items are not backfilled: they are not missing from the document but from its elements).
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
    }
}

/// The defaults as a tree of paths.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Leaf(DefaultValue),
    Object {
        own: Option<DefaultValue>,
        children: BTreeMap<String, Node>,
    },
}

fn tree(defaults: &[FieldDefault]) -> BTreeMap<String, Node> {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for d in defaults {
        let parts: Vec<&str> = d.path.split('.').collect();
        let mut level = &mut root;
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let entry = level.entry(part.to_string()).or_insert_with(|| {
                if last {
                    Node::Leaf(d.value.clone())
                } else {
                    Node::Object {
                        own: None,
                        children: BTreeMap::new(),
                    }
                }
            });
            if last {
                match entry {
                    Node::Object { own, .. } => *own = Some(d.value.clone()),
                    leaf => *leaf = Node::Leaf(d.value.clone()),
                }
                break;
            }
            if let Node::Leaf(v) = entry {
                *entry = Node::Object {
                    own: Some(v.clone()),
                    children: BTreeMap::new(),
                };
            }
            let Node::Object { children, .. } = entry else {
                unreachable!()
            };
            level = children;
        }
    }
    root
}

fn value_expr(v: &DefaultValue) -> Bson {
    match v {
        DefaultValue::Now => Bson::String("$$NOW".into()),
        DefaultValue::Value(b) => Bson::Document(doc! { "$literal": b.clone() }),
    }
}

fn type_of(path: &str) -> Bson {
    Bson::Document(doc! { "$type": format!("${path}") })
}

fn missing(path: &str) -> Bson {
    Bson::Document(doc! { "$eq": [type_of(path), "missing"] })
}

/// The value a missing node gets: its own default merged with its children's.
fn create_expr(node: &Node) -> Bson {
    match node {
        Node::Leaf(v) => value_expr(v),
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

/// The expression for `path`: its value with every missing default filled in.
fn fill_expr(path: &str, node: &Node) -> Bson {
    let keep = Bson::String(format!("${path}"));
    match node {
        Node::Leaf(_) => Bson::Document(doc! { "$cond": [missing(path), create_expr(node), keep] }),
        Node::Object { children, .. } => {
            let mut merged = Document::new();
            for (k, child) in children {
                merged.insert(k.clone(), fill_expr(&format!("{path}.{k}"), child));
            }
            Bson::Document(doc! { "$cond": [
                missing(path),
                create_expr(node),
                { "$cond": [
                    { "$eq": [type_of(path), "object"] },
                    { "$mergeObjects": [keep.clone(), merged] },
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
        set.insert(name.clone(), fill_expr(&name, &node));
    }
    vec![doc! { "$set": set }]
}

/// A query matching documents that lack at least one default (a superset; the pipeline decides).
pub fn needs_filter(defaults: &[FieldDefault]) -> Document {
    let any: Vec<Bson> = defaults
        .iter()
        .map(|d| Bson::Document(crate::ops::backfill_filter(&d.path)))
        .collect();
    match any.len() {
        0 => doc! { "_id": { "$exists": false } },
        1 => any[0].as_document().cloned().unwrap_or_default(),
        _ => doc! { "$or": any },
    }
}

/// Aggregation expressions counting, for one default, the documents it fills and those it cannot
/// fill because a parent exists but is not an object.
pub fn count_exprs(path: &str) -> (Bson, Bson) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut parents_ok: Vec<Bson> = Vec::new();
    for i in 1..parts.len() {
        let parent = parts[..i].join(".");
        parents_ok.push(Bson::Document(
            doc! { "$in": [type_of(&parent), ["missing", "object"]] },
        ));
    }
    let mut fill = vec![missing(path)];
    fill.extend(parents_ok.clone());
    let fill = Bson::Document(doc! { "$and": fill });
    let blocked = if parents_ok.is_empty() {
        Bson::Boolean(false)
    } else {
        Bson::Document(doc! { "$and": [missing(path), { "$not": [{ "$and": parents_ok }] }] })
    };
    (fill, blocked)
}

/// The `$group` stage counting fills and blocks per default (`f<i>` and `b<i>`).
pub fn count_group(defaults: &[FieldDefault]) -> Document {
    let mut group = doc! { "_id": Bson::Null, "scanned": { "$sum": 1 } };
    for (i, d) in defaults.iter().enumerate() {
        let (fill, blocked) = count_exprs(&d.path);
        group.insert(format!("f{i}"), doc! { "$sum": { "$cond": [fill, 1, 0] } });
        group.insert(
            format!("b{i}"),
            doc! { "$sum": { "$cond": [blocked, 1, 0] } },
        );
    }
    doc! { "$group": group }
}

/// A fingerprint of the defaults, so that a checkpoint is only resumed for the same work.
pub fn signature(defaults: &[FieldDefault]) -> String {
    use sha2::{Digest, Sha256};
    let text = serde_json::to_string(defaults).unwrap_or_default();
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
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
