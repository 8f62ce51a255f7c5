//! Normalisation applied to both sides before diffing, so that nothing unreal is reported and
//! nothing real is missed.
//!
//! Rules (each one compares like with like):
//! - Collations are expanded the way the server expands them (ICU defaults: strength 3,
//!   caseLevel false, caseFirst off, numericOrdering false, alternate non-ignorable, maxVariable
//!   punct, normalization false, backwards false — true for `fr_CA`); the server's `version` is
//!   dropped; `locale: simple` means no collation.
//! - In a spec, an index without a collation inherits the collection's default collation (the
//!   server stores it on the index); on a server, an index without one compares binary. On a
//!   collection with a default collation, binary is written `{ locale: simple }` (which is also
//!   what creating such an index must say); elsewhere binary is no collation at all.
//! - Text indexes: the text fields are compared as a set, in name order, and weights of 1 are
//!   the default (a text index whose weights are all 1 has none).
//! - Partial filters: keys sorted, numbers compared by value.
//! - A capped size is rounded as the server rounds it (at least 4096, then a multiple of 256).
//! - A time-series collection without `granularity` has `seconds`.
//! - Validators are compared in [`canonical_validator`] form: keys sorted, `required`, `enum` and
//!   `bsonType` lists sorted, numbers compared by value (1 == 1.0 == 1L).
//! - Text indexes: `default_language: english` and `language_override: language` are the
//!   server's defaults, so they are the same as none; `2dsphereIndexVersion: 3` likewise.
//! - Wildcard projections: keys sorted, `true`/1 and `false`/0 the same.
//! - View pipelines: numbers compared by value (key order within a stage kept: it can matter).
//! - Index key number types (1, 1L, 1.0) are already one `IndexKind` in the model; default index
//!   names are resolved when the spec is lowered; the `_id_` index and clustered indexes are never
//!   part of the model.

use crate::model::{Collection, Index, IndexKind, Schema, Validator};
use bson::{Bson, Document};

/// Where a model came from: an index without a collation means "inherit the collection's" in a
/// spec, but "binary" on a server (which stores inherited collations on the index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Spec,
    Server,
}

/// The collation of an index that uses binary comparison on a collection that has a default
/// collation: it must be said explicitly when the index is created.
pub fn simple_collation() -> Document {
    bson::doc! { "locale": "simple" }
}

/// Normalise a whole schema in place.
pub fn schema(s: &mut Schema, side: Side) {
    for db in s.databases.values_mut() {
        for c in db.collections.values_mut() {
            collection(c, side);
        }
    }
}

/// Normalise one collection in place.
pub fn collection(c: &mut Collection, side: Side) {
    c.options.collation = c.options.collation.take().and_then(|d| collation(&d));
    if let Some(capped) = &mut c.options.capped {
        capped.size = capped_size(capped.size);
    }
    if let Some(ts) = &mut c.options.timeseries
        && ts.granularity.is_none()
    {
        ts.granularity = Some("seconds".into());
    }
    let default = c.options.collation.clone();
    for index in &mut c.indexes {
        let declared = index.collation.take();
        let binary = || default.as_ref().map(|_| simple_collation());
        index.collation = match (declared, side) {
            (Some(d), _) => collation(&d).or_else(binary),
            (None, Side::Spec) => default.clone(),
            (None, Side::Server) => binary(),
        }
        .map(Box::new);
        index.partial = index.partial.take().map(|p| Box::new(canonical_filter(&p)));
        text_index(index);
        index_defaults(index);
    }
    if let Some(view) = &mut c.options.view {
        view.pipeline = view.pipeline.iter().map(numbers_by_value).collect();
    }
}

/// Options the server fills with its defaults are the same as none.
fn index_defaults(index: &mut Index) {
    if index.default_language.as_deref() == Some("english") {
        index.default_language = None;
    }
    if index.language_override.as_deref() == Some("language") {
        index.language_override = None;
    }
    if index.sphere_version == Some(3) {
        index.sphere_version = None;
    }
    if let Some(p) = index.wildcard_projection.take() {
        let mut entries: Vec<(String, Bson)> = p
            .into_iter()
            .map(|(k, v)| {
                let on = match &v {
                    Bson::Boolean(b) => *b,
                    other => number(other).is_some_and(|n| n != 0.0),
                };
                (k, Bson::Boolean(on))
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        index.wildcard_projection = Some(Box::new(entries.into_iter().collect()));
    }
}

/// A document with numbers compared by value, key order kept.
pub fn numbers_by_value(doc: &Document) -> Document {
    fn value(v: &Bson) -> Bson {
        by_value(v, numbers_by_value, value)
    }
    doc.iter().map(|(k, v)| (k.clone(), value(v))).collect()
}

/// A query filter with keys sorted and numbers compared by value (arrays keep their order).
pub fn canonical_filter(doc: &Document) -> Document {
    fn value(v: &Bson) -> Bson {
        by_value(v, canonical_filter, value)
    }
    let mut entries: Vec<(String, Bson)> = doc.iter().map(|(k, v)| (k.clone(), value(v))).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

/// Do two validators say the same, as the server compares them: the same bytes (the usual
/// case: the server keeps what it was given), or the same [`canonical_validator`] form?
pub fn same_validator_document(a: &Validator, b: &Validator) -> bool {
    a.bytes() == b.bytes()
        || canonical_validator(&a.document()) == canonical_validator(&b.document())
}

/// The server's rounding of a capped collection's size.
pub fn capped_size(size: i64) -> i64 {
    if size <= 4096 {
        4096
    } else {
        (size + 255) / 256 * 256
    }
}

/// Expand a collation the way the server stores it; `None` for the simple (binary) collation.
pub fn collation(doc: &Document) -> Option<Document> {
    let locale = doc.get_str("locale").unwrap_or("simple").to_string();
    if locale == "simple" {
        return None;
    }
    let mut out = Document::new();
    out.insert("alternate", "non-ignorable");
    out.insert("backwards", locale == "fr_CA");
    out.insert("caseFirst", "off");
    out.insert("caseLevel", false);
    out.insert("locale", locale);
    out.insert("maxVariable", "punct");
    out.insert("normalization", false);
    out.insert("numericOrdering", false);
    out.insert("strength", 3);
    for (k, v) in doc {
        match k.as_str() {
            "version" | "locale" => {}
            "strength" => {
                out.insert("strength", number(v).map(|n| n as i32).unwrap_or(3));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Some(out)
}

fn number(v: &Bson) -> Option<f64> {
    match v {
        Bson::Int32(i) => Some(f64::from(*i)),
        Bson::Int64(i) => Some(*i as f64),
        Bson::Double(d) => Some(*d),
        _ => None,
    }
}

/// Text fields in name order at the place of the first one; weights of 1 dropped.
fn text_index(index: &mut Index) {
    let Some(first) = index.keys.iter().position(|(_, k)| *k == IndexKind::Text) else {
        return;
    };
    let mut text: Vec<String> = index
        .keys
        .iter()
        .filter(|(_, k)| *k == IndexKind::Text)
        .map(|(p, _)| p.clone())
        .collect();
    text.sort();
    text.dedup();
    let mut keys: Vec<(String, IndexKind)> = index.keys[..first]
        .iter()
        .filter(|(_, k)| *k != IndexKind::Text)
        .cloned()
        .collect();
    keys.extend(text.iter().map(|p| (p.clone(), IndexKind::Text)));
    keys.extend(
        index.keys[first..]
            .iter()
            .filter(|(_, k)| *k != IndexKind::Text)
            .cloned(),
    );
    index.keys = keys;
    let weights: Document = index
        .weights
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, w)| number(w) != Some(1.0))
        .map(|(k, w)| (k, Bson::Double(number(&w).unwrap_or(1.0))))
        .collect();
    let mut sorted: Vec<(String, Bson)> = weights.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    index.weights = (!sorted.is_empty()).then(|| Box::new(sorted.into_iter().collect()));
}

/// A validator document in a form where meaningless differences are gone.
pub fn canonical_validator(doc: &Document) -> Document {
    canonical_doc(doc)
}

fn canonical_doc(doc: &Document) -> Document {
    let mut entries: Vec<(String, Bson)> = doc
        .iter()
        .map(|(k, v)| {
            let v = match (k.as_str(), v) {
                ("required" | "enum" | "bsonType" | "type", Bson::Array(items)) => {
                    let mut items: Vec<Bson> = items.iter().map(canonical).collect();
                    items.sort_by_key(|b| b.to_string());
                    Bson::Array(items)
                }
                _ => canonical(v),
            };
            (k.clone(), v)
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

fn canonical(v: &Bson) -> Bson {
    by_value(v, canonical_doc, canonical)
}

/// A value in the form where numbers compare by value (1 == 1.0 == 1L) and keys are sorted.
pub fn canonical_value(v: &Bson) -> Bson {
    canonical(v)
}

/// A value with numbers compared by value (int32 and exactly representable int64 as double),
/// documents through `doc` and array elements through `elem`.
fn by_value(v: &Bson, doc: fn(&Document) -> Document, elem: fn(&Bson) -> Bson) -> Bson {
    match v {
        Bson::Document(d) => Bson::Document(doc(d)),
        Bson::Array(items) => Bson::Array(items.iter().map(elem).collect()),
        Bson::Int32(i) => Bson::Double(f64::from(*i)),
        Bson::Int64(i) if i.unsigned_abs() < (1 << 53) => Bson::Double(*i as f64),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn collation_expands_like_the_server() {
        let server = doc! { "locale": "fr", "caseLevel": false, "caseFirst": "off", "strength": 2,
        "numericOrdering": false, "alternate": "non-ignorable", "maxVariable": "punct",
        "normalization": false, "backwards": false, "version": "57.1" };
        assert_eq!(
            collation(&doc! { "locale": "fr", "strength": 2 }),
            collation(&server)
        );
        assert_ne!(
            collation(&doc! { "locale": "fr" }),
            collation(&server),
            "strength 3 vs 2"
        );
        assert_eq!(collation(&doc! { "locale": "simple" }), None);
    }

    #[test]
    fn validator_order_and_number_types_do_not_matter() {
        let a = doc! { "$jsonSchema": { "bsonType": "object", "required": ["b", "a"],
        "properties": { "n": { "bsonType": ["int", "null"], "minimum": 1, "enum": [2, 1] } } } };
        let b = doc! { "$jsonSchema": { "properties": { "n": { "enum": [1.0, 2i64], "minimum": 1.0,
        "bsonType": ["null", "int"] } }, "required": ["a", "b"], "bsonType": "object" } };
        assert_eq!(canonical_validator(&a), canonical_validator(&b));
        let c = doc! { "$jsonSchema": { "bsonType": "object", "required": ["a"] } };
        assert_ne!(canonical_validator(&a), canonical_validator(&c));
    }

    #[test]
    fn capped_sizes_round_like_the_server() {
        assert_eq!(capped_size(1000), 4096);
        assert_eq!(capped_size(1_048_576), 1_048_576);
        assert_eq!(capped_size(5000), 5120);
    }
}
