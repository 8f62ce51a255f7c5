//! Read a live server into the canonical [`model::Schema`].
//!
//! One round trip on MongoDB 6.0+: `[{ $listCatalog: {} }, { $match: { db: { $in: [...] } } }]`
//! on `admin` returns every collection's options and index specs. When the user may not run it
//! (an application user), or the server or its feature compatibility version is older than
//! 6.0, fall back to `listCollections` per database and `listIndexes` per collection, run
//! concurrently: the same model either way.

use super::describe_driver_error;
use crate::catalog::{self, Entry, kind_of, parse_index};
use crate::model::{self, CollectionKind};
use anyhow::{Context, Result};
use bson::{Bson, Document, RawBsonRef, RawDocument, doc};
use futures_util::{StreamExt, TryStreamExt, stream};
use mongodb::Client;

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
    let timeseries = catalog::assemble(&mut schema, entries);
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
        .map_err(super::retry::driver_error)
        .context("reading shard keys (config.collections)")?
        .try_collect()
        .await
        .map_err(super::retry::driver_error)
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

fn catalog_unavailable(e: &mongodb::error::Error) -> bool {
    // Unauthorized (13), an unknown stage on a server older than 6.0 (40324), a feature
    // compatibility version below 6.0 (224, QueryFeatureNotAllowed), Atlas' restriction (8000).
    super::server_code(e).is_some_and(|c| [13, 40324, 224, 8000].contains(&c))
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
    // Read as the server's bytes, and each entry taken apart as it arrives: its options and
    // each index spec become documents one at a time, and the validator stays bytes, so a
    // catalog of thousands of collections is never held whole as documents.
    let mut cursor = client
        .database("admin")
        .aggregate(pipeline)
        .with_type::<bson::RawDocumentBuf>()
        .await?;
    let mut entries = Vec::new();
    while let Some(raw) = cursor.try_next().await? {
        entries.push(entry_of(&raw).map_err(|e| {
            mongodb::error::Error::custom(format!("a malformed catalog entry: {e}"))
        })?);
    }
    Ok(entries)
}

/// One `$listCatalog` entry as the model reads it (the validator kept as its bytes).
fn entry_of(raw: &RawDocument) -> Result<Entry, bson::raw::Error> {
    let text = |key: &str| -> Result<Option<&str>, bson::raw::Error> {
        Ok(raw.get(key)?.and_then(|v| v.as_str()))
    };
    let kind = kind_of(text("type")?.unwrap_or("collection"));
    let db = text("db")?.unwrap_or_default().to_string();
    let name = text("name")?.unwrap_or_default().to_string();
    let md = raw.get("md")?.and_then(|v| v.as_document());
    let mut options = Document::new();
    let mut validator = None;
    if let Some(RawBsonRef::Document(o)) = md.map(|m| m.get("options")).transpose()?.flatten() {
        for item in o {
            let (key, value) = item?;
            match (key, value) {
                ("validator", RawBsonRef::Document(v)) => {
                    well_formed(v)?;
                    validator = Some(v.to_owned());
                }
                (key, value) => {
                    options.insert(key, Bson::try_from(value.to_raw_bson())?);
                }
            }
        }
    }
    // A view's definition sits beside the catalog entry, not in its options.
    if kind == CollectionKind::View {
        for key in ["viewOn", "pipeline"] {
            if let Some(v) = raw.get(key)? {
                options.insert(key, Bson::try_from(v.to_raw_bson())?);
            }
        }
    }
    let mut indexes = Vec::new();
    if let Some(RawBsonRef::Array(list)) = md.map(|m| m.get("indexes")).transpose()?.flatten() {
        for i in list {
            let Some(spec) = i?.as_document().and_then(|i| i.get_document("spec").ok()) else {
                continue;
            };
            if let Some(index) = parse_index(&Document::try_from(spec)?) {
                indexes.push(index);
            }
        }
    }
    Ok(Entry {
        kind,
        db,
        name,
        options,
        validator,
        indexes,
    })
}

/// Every element of `d`, nested ones too, can be read (what decoding it would check, without
/// building it).
fn well_formed(d: &RawDocument) -> Result<(), bson::raw::Error> {
    fn value(v: RawBsonRef<'_>) -> Result<(), bson::raw::Error> {
        match v {
            RawBsonRef::Document(d) => well_formed(d),
            RawBsonRef::Array(a) => a.into_iter().try_for_each(|v| value(v?)),
            _ => Ok(()),
        }
    }
    d.into_iter().try_for_each(|item| value(item?.1))
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
    let reply = async {
        client
            .database(db)
            .run_cursor_command(doc! { "listIndexes": coll })
            .await?
            .try_collect::<Vec<Document>>()
            .await
    }
    .await;
    match reply {
        Ok(specs) => Ok(specs),
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
        let colls: Vec<Document> = async {
            client
                .database(&db)
                .run_cursor_command(doc! { "listCollections": 1, "nameOnly": false })
                .await?
                .try_collect()
                .await
        }
        .await
        .map_err(|e| anyhow::anyhow!(describe_driver_error(&e)))
        .with_context(|| format!("listCollections on {db}"))?;
        for c in colls {
            entries.push(Entry {
                db: db.clone(),
                name: c.get_str("name").unwrap_or_default().to_string(),
                kind: kind_of(c.get_str("type").unwrap_or("collection")),
                options: c.get_document("options").cloned().unwrap_or_default(),
                validator: None,
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
        entries[i].indexes = r?.iter().filter_map(parse_index).collect();
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_bytes() -> Vec<u8> {
        let d = doc! {
            "db": "app", "name": "orders", "type": "collection",
            "md": {
                "options": { "validator": { "$jsonSchema": { "bsonType": "object" } }, "validationLevel": "moderate" },
                "indexes": [
                    { "spec": { "v": 2, "key": { "_id": 1 }, "name": "_id_" }, "ready": true },
                    { "spec": { "v": 2, "key": { "sku": 1 }, "name": "sku_1", "unique": true }, "ready": true },
                ],
            },
        };
        bson::to_vec(&d).unwrap()
    }

    #[test]
    fn a_catalog_entry_keeps_its_validator_as_the_servers_bytes() {
        let bytes = entry_bytes();
        let e = entry_of(RawDocument::from_bytes(&bytes).unwrap()).unwrap();
        assert_eq!((e.db.as_str(), e.name.as_str()), ("app", "orders"));
        let v = e.validator.unwrap().to_document().unwrap();
        assert_eq!(v, doc! { "$jsonSchema": { "bsonType": "object" } });
        assert_eq!(e.options, doc! { "validationLevel": "moderate" });
        assert_eq!(e.indexes.len(), 1, "the _id_ index is implicit");
        assert!(e.indexes[0].unique);
    }

    #[test]
    fn a_validator_that_cannot_be_read_is_an_error_not_an_empty_validator() {
        let mut bytes = entry_bytes();
        // The type byte of `bsonType`, deep inside the validator: an unknown type.
        let at = bytes.windows(8).position(|w| w == b"bsonType").unwrap() - 1;
        bytes[at] = 0x99;
        let raw = RawDocument::from_bytes(&bytes).unwrap();
        assert!(entry_of(raw).is_err());
    }
}
