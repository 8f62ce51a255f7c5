//! Replaying migrations' schema operations on the model — what `generate` and `verify` compare
//! with the schemas, without a server. Data operations do not change the schema; a raw
//! `command` cannot be replayed and is reported.

use crate::catalog::{parse_index, read_options};
use crate::model::{Collection, CollectionKind, Database, Schema};
use crate::ops::Operation;

/// Apply one operation to `schema` the way the server would. Returns a warning for operations
/// whose effect cannot be known.
pub fn apply(schema: &mut Schema, op: &Operation) -> Option<String> {
    let db_name = op.db().to_string();
    let coll_name = op.collection().to_string();
    fn database<'s>(s: &'s mut Schema, name: &str) -> &'s mut Database {
        s.databases
            .entry(name.to_string())
            .or_insert_with(|| Database {
                name: name.to_string(),
                ..Default::default()
            })
    }
    match op {
        Operation::CreateCollection { options, .. } => {
            let db = database(schema, &db_name);
            // Creating an existing collection changes nothing (the executor treats it so too).
            if let std::collections::btree_map::Entry::Vacant(slot) =
                db.collections.entry(coll_name.clone())
            {
                let kind = if options.contains_key("timeseries") {
                    CollectionKind::Timeseries
                } else {
                    CollectionKind::Collection
                };
                let mut c = Collection {
                    name: coll_name,
                    kind,
                    ..Default::default()
                };
                read_options(&mut c, options.clone(), kind);
                slot.insert(c);
            }
        }
        Operation::DropCollection { .. } => {
            database(schema, &db_name).collections.remove(&coll_name);
        }
        Operation::ModifyCollection { options, .. } => {
            if let Some(c) = database(schema, &db_name).collections.get_mut(&coll_name) {
                let mut o = c.options.clone();
                if let Some(v) = options.get("expireAfterSeconds") {
                    o.expire_after = match v {
                        bson::Bson::Int32(i) => Some(i64::from(*i)),
                        bson::Bson::Int64(i) => Some(*i),
                        _ => None,
                    };
                }
                if let Ok(cs) = options.get_document("changeStreamPreAndPostImages") {
                    o.change_stream_pre_and_post_images = cs.get_bool("enabled").unwrap_or(false);
                }
                if let (Ok(on), Ok(p)) = (options.get_str("viewOn"), options.get_array("pipeline"))
                {
                    o.view = Some(crate::model::View {
                        on: on.to_string(),
                        pipeline: p.iter().filter_map(|s| s.as_document().cloned()).collect(),
                    });
                }
                c.options = o;
            }
        }
        Operation::CreateIndex { index, .. } => {
            let db = database(schema, &db_name);
            // Creating an index implicitly creates its collection.
            let c = db
                .collections
                .entry(coll_name.clone())
                .or_insert_with(|| Collection {
                    name: coll_name.clone(),
                    ..Default::default()
                });
            if let Some(mut parsed) = parse_index(index) {
                // The server gives an index without a collation the collection's default.
                if parsed.collation.is_none() {
                    parsed.collation = c.options.collation.clone().map(Box::new);
                }
                c.indexes.retain(|i| i.name != parsed.name);
                c.indexes.push(parsed);
            }
        }
        Operation::DropIndex { name, .. } => {
            if let Some(c) = database(schema, &db_name).collections.get_mut(&coll_name) {
                c.indexes.retain(|i| &i.name != name);
            }
        }
        Operation::ModifyIndex {
            name,
            expire_after,
            hidden,
            ..
        } => {
            if let Some(i) = database(schema, &db_name)
                .collections
                .get_mut(&coll_name)
                .and_then(|c| c.indexes.iter_mut().find(|i| &i.name == name))
            {
                if let Some(s) = expire_after {
                    i.expire_after = Some(*s);
                }
                if let Some(h) = hidden {
                    i.hidden = *h;
                }
            }
        }
        Operation::MakeIndexUnique { name, .. } => {
            if let Some(i) = database(schema, &db_name)
                .collections
                .get_mut(&coll_name)
                .and_then(|c| c.indexes.iter_mut().find(|i| &i.name == name))
            {
                i.unique = true;
            }
        }
        Operation::SetValidator {
            validator,
            level,
            action,
            ..
        } => {
            if let Some(c) = database(schema, &db_name).collections.get_mut(&coll_name) {
                c.validator = validator
                    .as_ref()
                    .filter(|v| !v.is_empty())
                    .map(|v| crate::model::Validator::new(v, *level, *action));
            }
        }
        Operation::ShardCollection {
            key,
            unique,
            initial_chunks,
            ..
        } => {
            if let (Some(c), Some(keys)) = (
                database(schema, &db_name).collections.get_mut(&coll_name),
                crate::shard::parse_key(key),
            ) {
                c.shard_key = Some(crate::model::ShardKey {
                    keys,
                    unique: *unique,
                    initial_chunks: *initial_chunks,
                });
            }
        }
        Operation::RefineShardKey { key, .. } => {
            if let (Some(c), Some(keys)) = (
                database(schema, &db_name).collections.get_mut(&coll_name),
                crate::shard::parse_key(key),
            ) && let Some(k) = &mut c.shard_key
            {
                k.keys = keys;
            }
        }
        Operation::CreateSearchIndex { index, .. } => {
            if let (Some(c), Some(s)) = (
                database(schema, &db_name).collections.get_mut(&coll_name),
                crate::model::SearchIndex::from_document(index),
            ) && !c.search_indexes.iter().any(|i| i.name == s.name)
            {
                c.search_indexes.push(s);
            }
        }
        Operation::UpdateSearchIndex {
            name, definition, ..
        } => {
            if let Some(c) = database(schema, &db_name).collections.get_mut(&coll_name)
                && let Some(s) = c.search_indexes.iter_mut().find(|i| &i.name == name)
            {
                s.definition = definition.clone();
            }
        }
        Operation::DropSearchIndex { name, .. } => {
            if let Some(c) = database(schema, &db_name).collections.get_mut(&coll_name) {
                c.search_indexes.retain(|i| &i.name != name);
            }
        }
        Operation::Backfill { .. }
        | Operation::UpdateMany { .. }
        | Operation::RenameField { .. }
        | Operation::EvolveField { .. }
        | Operation::ContractField { .. }
        | Operation::Irreversible { .. } => {}
        Operation::Command { db, command } => {
            return Some(format!(
                "a raw `command` ({}) on {db} cannot be replayed; its effect on the schema is not known to generate/verify",
                command.keys().next().map(String::as_str).unwrap_or("?")
            ));
        }
    }
    None
}

/// The schema the `up` steps of `migrations` produce from an empty server, and the warnings.
pub fn replay<'a>(
    migrations: impl IntoIterator<Item = &'a super::Migration>,
) -> (Schema, Vec<String>) {
    let mut schema = Schema::default();
    let mut warnings = Vec::new();
    for m in migrations {
        for op in &m.file.up {
            if let Some(w) = apply(&mut schema, op) {
                warnings.push(format!("{}: {w}", m.path.display()));
            }
        }
    }
    (schema, warnings)
}
