//! The server's descriptions of collections and indexes (catalog entries, `listCollections`
//! options, `listIndexes` specs) decoded into the canonical [`model`](crate::model). Pure: `db::inspect`
//! reads the documents, this turns them into data; `migrate::replay` decodes its operations the
//! same way.

use crate::model::{
    self, Capped, Collection, CollectionKind, CollectionOptions, Index, IndexKind, Timeseries,
    ValidationAction, ValidationLevel, Validator,
};
use bson::{Bson, Document};
use std::collections::BTreeMap;

/// One namespace as the catalog describes it.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub db: String,
    pub name: String,
    pub kind: CollectionKind,
    pub options: Document,
    /// Its validator's bytes, when read apart from `options` (else `options.validator` is).
    pub validator: Option<bson::RawDocumentBuf>,
    /// Its secondary indexes (read with [`parse_index`]; `_id_` is implicit).
    pub indexes: Vec<Index>,
}

/// The kind of a catalog entry from its `type`.
pub fn kind_of(t: &str) -> CollectionKind {
    match t {
        "view" => CollectionKind::View,
        "timeseries" => CollectionKind::Timeseries,
        _ => CollectionKind::Collection,
    }
}

/// Put every entry into `schema` (time-series options come from their `system.buckets.<name>`
/// entry; other `system.*` namespaces are left out). Returns the time-series collections, whose
/// indexes the catalog does not give in their user-facing form.
pub fn assemble(schema: &mut model::Schema, entries: Vec<Entry>) -> Vec<(String, String)> {
    let mut buckets: BTreeMap<(String, String), Document> = BTreeMap::new();
    for e in &entries {
        if let Some(base) = e.name.strip_prefix("system.buckets.") {
            buckets.insert((e.db.clone(), base.to_string()), e.options.clone());
        }
    }
    let mut timeseries: Vec<(String, String)> = Vec::new();
    for e in entries {
        if e.name.starts_with("system.") {
            continue;
        }
        let db = schema
            .databases
            .entry(e.db.clone())
            .or_insert_with(|| model::Database {
                name: e.db.clone(),
                ..Default::default()
            });
        let mut c = Collection {
            name: e.name.clone(),
            kind: e.kind,
            ..Default::default()
        };
        let options = if e.kind == CollectionKind::Timeseries {
            timeseries.push((e.db.clone(), e.name.clone()));
            buckets
                .get(&(e.db.clone(), e.name.clone()))
                .cloned()
                .unwrap_or_default()
        } else {
            e.options
        };
        options_with(&mut c, options, e.validator, e.kind);
        c.indexes = e.indexes;
        db.collections.insert(e.name, c);
    }
    timeseries
}

/// A collection's options (and validator) as the server gives them.
pub fn read_options(c: &mut Collection, o: Document, kind: CollectionKind) {
    options_with(c, o, None, kind);
}

/// [`read_options`], with the validator given apart (`None`: the one in the options).
fn options_with(
    c: &mut Collection,
    mut o: Document,
    validator: Option<bson::RawDocumentBuf>,
    kind: CollectionKind,
) {
    let mut options = CollectionOptions {
        collation: o.get_document("collation").ok().cloned(),
        ..Default::default()
    };
    if o.get_bool("capped").unwrap_or(false) {
        options.capped = Some(Capped {
            size: o.get("size").and_then(as_i64).unwrap_or(0),
            max: o.get("max").and_then(as_i64).filter(|m| *m > 0),
        });
    }
    if let Ok(ts) = o.get_document("timeseries") {
        options.timeseries = Some(Timeseries {
            time_field: ts.get_str("timeField").unwrap_or_default().to_string(),
            meta_field: ts.get_str("metaField").ok().map(str::to_string),
            granularity: ts.get_str("granularity").ok().map(str::to_string),
        });
    }
    // Time-series buckets are clustered by construction; that is not a user option.
    options.clustered = kind == CollectionKind::Collection && o.get("clusteredIndex").is_some();
    options.expire_after = o.get("expireAfterSeconds").and_then(as_i64);
    options.change_stream_pre_and_post_images = o
        .get_document("changeStreamPreAndPostImages")
        .and_then(|c| c.get_bool("enabled"))
        .unwrap_or(false);
    if kind == CollectionKind::View
        && let Ok(on) = o.get_str("viewOn")
    {
        options.view = Some(model::View {
            on: on.to_string(),
            pipeline: o
                .get_array("pipeline")
                .map(|a| a.iter().filter_map(|s| s.as_document().cloned()).collect())
                .unwrap_or_default(),
        });
    }
    let validator = validator.or_else(|| match o.remove("validator") {
        Some(Bson::Document(v)) => bson::RawDocumentBuf::from_document(&v).ok(),
        _ => None,
    });
    // `{}` (five bytes: its length and its end) is no validator.
    if let Some(v) = validator
        && v.as_bytes().len() > 5
        && kind != CollectionKind::Timeseries
    {
        c.validator = Some(Validator::from_raw(
            v,
            match o.get_str("validationLevel").unwrap_or("strict") {
                "moderate" => ValidationLevel::Moderate,
                "off" => ValidationLevel::Off,
                _ => ValidationLevel::Strict,
            },
            match o.get_str("validationAction").unwrap_or("error") {
                "warn" => ValidationAction::Warn,
                _ => ValidationAction::Error,
            },
        ));
    }
    c.options = options;
}

fn as_i64(b: &Bson) -> Option<i64> {
    match b {
        Bson::Int32(i) => Some(i64::from(*i)),
        Bson::Int64(i) => Some(*i),
        Bson::Double(d) => Some(*d as i64),
        _ => None,
    }
}

/// A server index spec → model index; `None` for `_id_` and clustered indexes.
pub fn parse_index(spec: &Document) -> Option<Index> {
    let name = spec.get_str("name").ok()?.to_string();
    if name == "_id_" || spec.get_bool("clustered").unwrap_or(false) {
        return None;
    }
    let key = spec.get_document("key").ok()?;
    let weights = spec.get_document("weights").ok();
    let mut keys = Vec::new();
    for (path, v) in key {
        match (path.as_str(), v) {
            ("_fts", _) => {
                // The text fields are those of `weights`.
                for field in weights
                    .map(|w| w.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
                {
                    keys.push((field, IndexKind::Text));
                }
            }
            ("_ftsx", _) => {}
            (_, Bson::String(s)) => keys.push((
                path.clone(),
                match s.as_str() {
                    "text" => IndexKind::Text,
                    "2dsphere" => IndexKind::TwoDSphere,
                    "hashed" => IndexKind::Hashed,
                    other => IndexKind::Other(other.to_string()),
                },
            )),
            (_, other) => {
                let n = match other {
                    Bson::Int32(i) => f64::from(*i),
                    Bson::Int64(i) => *i as f64,
                    Bson::Double(d) => *d,
                    _ => 1.0,
                };
                keys.push((
                    path.clone(),
                    if n < 0.0 {
                        IndexKind::Desc
                    } else {
                        IndexKind::Asc
                    },
                ));
            }
        }
    }
    Some(Index {
        name,
        name_declared: true,
        keys,
        unique: spec.get_bool("unique").unwrap_or(false),
        sparse: spec.get_bool("sparse").unwrap_or(false),
        hidden: spec.get_bool("hidden").unwrap_or(false),
        partial: spec
            .get_document("partialFilterExpression")
            .ok()
            .cloned()
            .map(Box::new),
        collation: spec.get_document("collation").ok().cloned().map(Box::new),
        expire_after: spec.get("expireAfterSeconds").and_then(as_i64),
        weights: weights.cloned().map(Box::new),
        default_language: spec.get_str("default_language").ok().map(str::to_string),
        language_override: spec.get_str("language_override").ok().map(str::to_string),
        wildcard_projection: spec
            .get_document("wildcardProjection")
            .ok()
            .cloned()
            .map(Box::new),
        sphere_version: spec
            .get("2dsphereIndexVersion")
            .and_then(as_i64)
            .map(|v| v as i32),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn the_catalog_becomes_the_model() {
        let mut schema = model::Schema::default();
        let entries = vec![
            Entry {
                db: "app".into(),
                name: "orders".into(),
                kind: CollectionKind::Collection,
                options: doc! { "validator": { "$jsonSchema": { "bsonType": "object" } }, "validationLevel": "moderate" },
                validator: None,
                indexes: [
                    doc! { "v": 2, "key": { "_id": 1 }, "name": "_id_" },
                    doc! { "v": 2, "key": { "sku": 1.0 }, "name": "sku_1", "unique": true },
                ]
                .iter()
                .filter_map(parse_index)
                .collect(),
            },
            Entry {
                db: "app".into(),
                name: "metrics".into(),
                kind: CollectionKind::Timeseries,
                ..Default::default()
            },
            Entry {
                db: "app".into(),
                name: "system.buckets.metrics".into(),
                kind: CollectionKind::Collection,
                options: doc! { "timeseries": { "timeField": "t", "granularity": "hours" } },
                ..Default::default()
            },
        ];
        let ts = assemble(&mut schema, entries);
        assert_eq!(ts, [("app".to_string(), "metrics".to_string())]);
        let app = &schema.databases["app"];
        assert_eq!(app.collections.len(), 2, "no system.* collection");
        let orders = &app.collections["orders"];
        assert_eq!(orders.indexes.len(), 1, "the _id_ index is implicit");
        assert!(orders.indexes[0].unique);
        assert_eq!(
            orders.indexes[0].keys,
            [("sku".to_string(), IndexKind::Asc)]
        );
        assert_eq!(
            orders.validator.as_ref().unwrap().level,
            ValidationLevel::Moderate
        );
        let metrics = &app.collections["metrics"];
        assert_eq!(metrics.options.timeseries.as_ref().unwrap().time_field, "t");
        assert!(
            !metrics.options.clustered,
            "buckets are clustered by construction"
        );
    }
}
