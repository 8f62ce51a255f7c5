//! Read a live server into the canonical [`model::Schema`].
//!
//! One round trip on MongoDB 6.0+: `[{ $listCatalog: {} }, { $match: { db: { $in: [...] } } }]`
//! on `admin` returns every collection's options and index specs. When the user may not run it
//! (or the server is older), fall back to `listCollections` per database and `listIndexes` per
//! collection, run concurrently.

use super::describe_driver_error;
use crate::model::{
    self, Capped, Collection, CollectionKind, CollectionOptions, Index, IndexKind, Timeseries,
    ValidationAction, ValidationLevel, Validator,
};
use anyhow::{Context, Result};
use bson::{Bson, Document, doc};
use futures_util::{StreamExt, TryStreamExt, stream};
use mongodb::Client;
use std::collections::BTreeMap;

/// Which databases to read.
#[derive(Debug, Clone)]
pub enum Scope {
    /// These databases (those the schemas root names).
    Databases(Vec<String>),
    /// Every database but `admin`, `local`, `config` and those listed (mongrate's state
    /// database is never a target).
    All { except: Vec<String> },
}

const SYSTEM_DBS: [&str; 3] = ["admin", "local", "config"];

/// Read the server's collections, options, validators and indexes.
pub async fn inspect(client: &Client, scope: &Scope) -> Result<model::Schema> {
    let mut schema = model::Schema::default();
    if let Scope::Databases(dbs) = scope {
        for db in dbs {
            schema.databases.insert(
                db.clone(),
                model::Database {
                    name: db.clone(),
                    ..Default::default()
                },
            );
        }
    }
    let entries = match list_catalog(client, scope).await {
        Ok(entries) => entries,
        Err(e) if catalog_unavailable(&e) => fallback_entries(client, scope).await?,
        Err(e) => {
            return Err(anyhow::anyhow!(describe_driver_error(&e)))
                .context("reading the server's catalog ($listCatalog)");
        }
    };
    // Time-series options live on their `system.buckets.<name>` collection.
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
        read_options(&mut c, options, e.kind);
        c.indexes = e.indexes.iter().filter_map(parse_index).collect();
        db.collections.insert(e.name, c);
    }
    // Indexes of time-series collections, in their user-facing form.
    for (db, name) in timeseries {
        let specs = list_indexes(client, &db, &name).await?;
        if let Some(c) = schema
            .databases
            .get_mut(&db)
            .and_then(|d| d.collections.get_mut(&name))
        {
            c.indexes = specs.iter().filter_map(parse_index).collect();
        }
    }
    // On a sharded cluster (through mongos), the shard keys.
    schema.unsharded = !is_mongos(client).await;
    if !schema.unsharded {
        for (db, coll, key) in shard_keys(client).await? {
            if let Some(c) = schema
                .databases
                .get_mut(&db)
                .and_then(|d| d.collections.get_mut(&coll))
            {
                c.shard_key = Some(key);
            }
        }
    }
    Ok(schema)
}

/// Is this a `mongos` (a sharded cluster's router)?
pub async fn is_mongos(client: &Client) -> bool {
    client
        .database("admin")
        .run_command(doc! { "hello": 1 })
        .await
        .is_ok_and(|h| h.get_str("msg") == Ok("isdbgrid"))
}

/// Every sharded collection's key, from `config.collections`.
async fn shard_keys(client: &Client) -> Result<Vec<(String, String, model::ShardKey)>> {
    let entries: Vec<Document> = client
        .database("config")
        .collection::<Document>("collections")
        .find(doc! {})
        .await
        .map_err(super::step::driver_error)
        .context("reading shard keys (config.collections)")?
        .try_collect()
        .await
        .map_err(super::step::driver_error)
        .context("reading shard keys (config.collections)")?;
    Ok(entries
        .iter()
        .filter_map(crate::shard::from_config)
        .collect())
}

/// The shard key of `db.collection` (`None`: not sharded, or not a sharded cluster).
pub async fn shard_key_of(
    client: &Client,
    db: &str,
    collection: &str,
) -> Result<Option<model::ShardKey>> {
    if !is_mongos(client).await {
        return Ok(None);
    }
    Ok(shard_keys(client)
        .await?
        .into_iter()
        .find(|(d, c, _)| d == db && c == collection)
        .map(|(_, _, k)| k))
}

/// One namespace as the catalog describes it.
struct Entry {
    db: String,
    name: String,
    kind: CollectionKind,
    options: Document,
    indexes: Vec<Document>,
}

fn catalog_unavailable(e: &mongodb::error::Error) -> bool {
    // Unauthorized, or an unknown stage on an older server.
    matches!(e.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if [13, 40324, 8000].contains(&c.code))
}

fn kind_of(t: &str) -> CollectionKind {
    match t {
        "view" => CollectionKind::View,
        "timeseries" => CollectionKind::Timeseries,
        _ => CollectionKind::Collection,
    }
}

async fn list_catalog(client: &Client, scope: &Scope) -> mongodb::error::Result<Vec<Entry>> {
    let filter = match scope {
        Scope::Databases(dbs) => doc! { "db": { "$in": dbs.clone() } },
        Scope::All { except } => {
            let mut skip: Vec<String> = SYSTEM_DBS.iter().map(|s| s.to_string()).collect();
            skip.extend(except.iter().cloned());
            doc! { "db": { "$nin": skip } }
        }
    };
    let pipeline = vec![
        doc! { "$listCatalog": {} },
        doc! { "$match": filter },
        doc! { "$project": { "db": 1, "name": 1, "type": 1, "viewOn": 1, "pipeline": 1, "md.options": 1, "md.indexes.spec": 1, "md.indexes.ready": 1 } },
    ];
    let docs: Vec<Document> = client
        .database("admin")
        .aggregate(pipeline)
        .await?
        .try_collect()
        .await?;
    // Taken apart by value: a fleet's catalog holds thousands of validators, copied no more.
    Ok(docs
        .into_iter()
        .map(|mut d| {
            let mut md = take_document(&mut d, "md");
            let mut options = take_document(&mut md, "options");
            // A view's definition sits beside the catalog entry, not in its options.
            if d.get_str("type") == Ok("view") {
                for key in ["viewOn", "pipeline"] {
                    if let Some(v) = d.remove(key) {
                        options.insert(key, v);
                    }
                }
            }
            let indexes = match md.remove("indexes") {
                Some(Bson::Array(a)) => a
                    .into_iter()
                    .filter_map(|i| match i {
                        Bson::Document(mut i) => Some(take_document(&mut i, "spec")),
                        _ => None,
                    })
                    .filter(|spec| !spec.is_empty())
                    .collect(),
                _ => Vec::new(),
            };
            Entry {
                kind: kind_of(d.get_str("type").unwrap_or("collection")),
                db: take_string(&mut d, "db"),
                name: take_string(&mut d, "name"),
                options,
                indexes,
            }
        })
        .collect())
}

/// The sub-document under `key`, moved out (empty when absent or not a document).
fn take_document(d: &mut Document, key: &str) -> Document {
    match d.remove(key) {
        Some(Bson::Document(x)) => x,
        _ => Document::new(),
    }
}

fn take_string(d: &mut Document, key: &str) -> String {
    match d.remove(key) {
        Some(Bson::String(x)) => x,
        _ => String::new(),
    }
}

/// Every database on the server but `admin`, `local`, `config` and `except`, in name order.
pub async fn user_databases(client: &Client, except: &[String]) -> Result<Vec<String>> {
    let mut names = database_names(
        client,
        &Scope::All {
            except: except.to_vec(),
        },
    )
    .await?;
    names.sort();
    Ok(names)
}

/// The databases on the server, less `admin`, `local`, `config` and `except`.
pub async fn server_databases(client: &Client, except: &str) -> Result<Vec<String>> {
    database_names(
        client,
        &Scope::All {
            except: vec![except.to_string()],
        },
    )
    .await
}

async fn database_names(client: &Client, scope: &Scope) -> Result<Vec<String>> {
    Ok(match scope {
        Scope::Databases(dbs) => dbs.clone(),
        Scope::All { except } => client
            .list_database_names()
            .await
            .map_err(|e| anyhow::anyhow!(describe_driver_error(&e)))
            .context("listing databases")?
            .into_iter()
            .filter(|d| !SYSTEM_DBS.contains(&d.as_str()) && !except.contains(d))
            .collect(),
    })
}

/// Whether index `name` of `db.coll` is hidden (false when it does not exist).
pub async fn index_hidden(client: &Client, db: &str, coll: &str, name: &str) -> Result<bool> {
    Ok(list_indexes(client, db, coll)
        .await?
        .iter()
        .any(|i| i.get_str("name") == Ok(name) && i.get_bool("hidden") == Ok(true)))
}

async fn list_indexes(client: &Client, db: &str, coll: &str) -> Result<Vec<Document>> {
    let reply = client
        .database(db)
        .run_command(doc! { "listIndexes": coll })
        .await;
    match reply {
        Ok(r) => Ok(r
            .get_document("cursor")
            .and_then(|c| c.get_array("firstBatch"))
            .map(|a| a.iter().filter_map(|d| d.as_document().cloned()).collect())
            .unwrap_or_default()),
        // Dropped meanwhile.
        Err(e) if matches!(e.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if c.code == 26) => {
            Ok(Vec::new())
        }
        Err(e) => Err(anyhow::anyhow!(describe_driver_error(&e)))
            .with_context(|| format!("listIndexes on {db}.{coll}")),
    }
}

async fn fallback_entries(client: &Client, scope: &Scope) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for db in database_names(client, scope).await? {
        let colls: Vec<Document> = client
            .database(&db)
            .run_command(doc! { "listCollections": 1, "nameOnly": false })
            .await
            .map_err(|e| anyhow::anyhow!(describe_driver_error(&e)))
            .with_context(|| format!("listCollections on {db}"))?
            .get_document("cursor")
            .and_then(|c| c.get_array("firstBatch"))
            .map(|a| a.iter().filter_map(|d| d.as_document().cloned()).collect())
            .unwrap_or_default();
        for c in colls {
            entries.push(Entry {
                db: db.clone(),
                name: c.get_str("name").unwrap_or_default().to_string(),
                kind: kind_of(c.get_str("type").unwrap_or("collection")),
                options: c.get_document("options").cloned().unwrap_or_default(),
                indexes: Vec::new(),
            });
        }
    }
    // listIndexes for every plain collection, 16 at a time.
    let wanted: Vec<(usize, String, String)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == CollectionKind::Collection)
        .map(|(i, e)| (i, e.db.clone(), e.name.clone()))
        .collect();
    let results: Vec<(usize, Result<Vec<Document>>)> = stream::iter(wanted)
        .map(|(i, db, name)| async move { (i, list_indexes(client, &db, &name).await) })
        .buffer_unordered(16)
        .collect()
        .await;
    for (i, r) in results {
        entries[i].indexes = r?;
    }
    Ok(entries)
}

pub fn read_options(c: &mut Collection, mut o: Document, kind: CollectionKind) {
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
    if let Some(Bson::Document(v)) = o.remove("validator")
        && !v.is_empty()
        && kind != CollectionKind::Timeseries
    {
        c.validator = Some(Validator {
            document: v,
            level: match o.get_str("validationLevel").unwrap_or("strict") {
                "moderate" => ValidationLevel::Moderate,
                "off" => ValidationLevel::Off,
                _ => ValidationLevel::Strict,
            },
            action: match o.get_str("validationAction").unwrap_or("error") {
                "warn" => ValidationAction::Warn,
                _ => ValidationAction::Error,
            },
        });
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
        partial: spec.get_document("partialFilterExpression").ok().cloned(),
        collation: spec.get_document("collation").ok().cloned(),
        expire_after: spec.get("expireAfterSeconds").and_then(as_i64),
        weights: weights.cloned(),
        default_language: spec.get_str("default_language").ok().map(str::to_string),
        language_override: spec.get_str("language_override").ok().map(str::to_string),
        wildcard_projection: spec.get_document("wildcardProjection").ok().cloned(),
        sphere_version: spec
            .get("2dsphereIndexVersion")
            .and_then(as_i64)
            .map(|v| v as i32),
    })
}
