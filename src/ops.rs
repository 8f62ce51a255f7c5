//! [`Operation`]: the closed set of server operations mongrate performs. Each is idempotent:
//! running it twice leaves the same state as running it once (the executor treats "already
//! exists" / "not found" answers accordingly). Plain data: serialisable into plans and migration
//! files.

use crate::model::{ValidationAction, ValidationLevel};
use bson::{Bson, Document};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Operation {
    /// `create` with options (validator, collation, capped, ...): `options` is the command
    /// without its `create` field.
    CreateCollection {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        #[serde(default)]
        #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
        options: Document,
    },
    DropCollection {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
    },
    /// `createIndexes` with one index spec (`{ key, name, unique?, ... }`).
    CreateIndex {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
        index: Document,
    },
    DropIndex {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        name: String,
    },
    /// `collMod` of collection options that change in place (`expireAfterSeconds`,
    /// `changeStreamPreAndPostImages`, a view's `viewOn` and `pipeline`).
    ModifyCollection {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
        options: Document,
    },
    /// `collMod` of an index's TTL and/or hidden flag.
    ModifyIndex {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expire_after: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hidden: Option<bool>,
    },
    /// `collMod` `prepareUnique: true`, then `unique: true`.
    MakeIndexUnique {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        name: String,
    },
    /// `collMod` validator, level and action (`validator: None` removes the validator).
    SetValidator {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
        validator: Option<Document>,
        level: ValidationLevel,
        action: ValidationAction,
    },
    /// Set `field` (a dotted path) to `value` on documents that lack it. A parent that exists
    /// but is not an object is left alone. `value: $$NOW` writes the server's time.
    Backfill {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        field: String,
        #[schemars(with = "serde_json::Value")]
        value: Bson,
    },
    /// An update document or pipeline on the documents `filter` selects, run as a job: in
    /// batches by `_id`, each batch with its checkpoint (in one transaction on a replica set),
    /// so that every document is updated at most once even across an interruption.
    UpdateMany {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        /// Required: `{}` updates every document, and must be said.
        #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
        filter: Document,
        #[schemars(with = "serde_json::Value")]
        update: Bson,
        /// Documents per batch (the command line's `--batch-size` otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        batch_size: Option<usize>,
        /// At most this many documents a second (the command line's `--max-docs-per-sec`
        /// otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_docs_per_sec: Option<u64>,
    },
    /// Rename a field on documents that have `from` and lack `to`, as a job (batches, passes
    /// until none is left).
    RenameField {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        from: String,
        to: String,
        /// Documents per batch (the command line's `--batch-size` otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        batch_size: Option<usize>,
        /// At most this many documents a second (the command line's `--max-docs-per-sec`
        /// otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_docs_per_sec: Option<u64>,
    },
    /// The migrate phase of a declared evolution: every document in the old shape (it has
    /// `from`; or, without `from`, `field` holds a value not of `types`) gets `field` computed
    /// on the server (`convert`, where `$$value` is the old value) and loses `from`, in batches,
    /// with passes until none is left. A document whose value cannot be converted is reported
    /// by `_id` and left as it is.
    EvolveField {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        field: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
        convert: Option<Document>,
        /// The BSON types of the new shape (`date`, `long`...): without `from`, what tells a
        /// converted value from an old one.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        types: Vec<String>,
        /// Documents per batch (the command line's `--batch-size` otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        batch_size: Option<usize>,
        /// At most this many documents a second (the command line's `--max-docs-per-sec`
        /// otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_docs_per_sec: Option<u64>,
    },
    /// The contract phase's guard: refuses while any document is in the old shape of the
    /// evolution (counted and named), changes nothing.
    ContractField {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        field: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        types: Vec<String>,
        /// Seconds the migrate phase must have finished for (its record in the state
        /// database): a contract written to a migration file waits like `contract_after`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<i64>,
    },
    /// `shardCollection` (run on `admin`, through mongos): shard the collection on `key`
    /// (`{ field: 1 | hashed, ... }`). `simple_collation`: the collection has a default
    /// collation, so the command says `collation: { locale: simple }`.
    ShardCollection {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
        key: Document,
        #[serde(default)]
        unique: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        initial_chunks: Option<u32>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        simple_collation: bool,
    },
    /// `refineCollectionShardKey` (run on `admin`): the shard key grows by suffix fields.
    RefineShardKey {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
        key: Document,
    },
    /// `createSearchIndexes` with one Atlas Search or Vector Search index
    /// (`{ name, type, definition }`), watched until it is queryable.
    CreateSearchIndex {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
        index: Document,
    },
    /// `updateSearchIndex`: a search index's new definition, watched until it is queryable.
    UpdateSearchIndex {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        name: String,
        #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
        definition: Document,
    },
    /// `dropSearchIndex`.
    DropSearchIndex {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        collection: String,
        name: String,
    },
    /// A raw database command: the escape hatch (mongrate cannot see its effect on the schema).
    Command {
        /// Left out in a migration with `databases:` (each matching database in turn).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        db: String,
        #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
        command: Document,
    },
    /// In a `down` list: this step of `up` cannot be undone; `migrate down` refuses it unless
    /// `--force`.
    Irreversible { reason: String },
}

impl Operation {
    /// Every operation's `type`, as migration files and JSON write it.
    pub const TYPES: [&'static str; 20] = [
        "create_collection",
        "drop_collection",
        "modify_collection",
        "create_index",
        "drop_index",
        "modify_index",
        "make_index_unique",
        "set_validator",
        "backfill",
        "update_many",
        "rename_field",
        "evolve_field",
        "contract_field",
        "shard_collection",
        "refine_shard_key",
        "create_search_index",
        "update_search_index",
        "drop_search_index",
        "command",
        "irreversible",
    ];

    /// Point the operation at database `to` (a fleet migration runs in each database).
    pub fn set_db(&mut self, to: &str) {
        match self {
            Self::CreateCollection { db, .. }
            | Self::DropCollection { db, .. }
            | Self::ModifyCollection { db, .. }
            | Self::CreateIndex { db, .. }
            | Self::DropIndex { db, .. }
            | Self::ModifyIndex { db, .. }
            | Self::MakeIndexUnique { db, .. }
            | Self::SetValidator { db, .. }
            | Self::Backfill { db, .. }
            | Self::UpdateMany { db, .. }
            | Self::RenameField { db, .. }
            | Self::EvolveField { db, .. }
            | Self::ContractField { db, .. }
            | Self::ShardCollection { db, .. }
            | Self::RefineShardKey { db, .. }
            | Self::CreateSearchIndex { db, .. }
            | Self::UpdateSearchIndex { db, .. }
            | Self::DropSearchIndex { db, .. }
            | Self::Command { db, .. } => *db = to.to_string(),
            Self::Irreversible { .. } => {}
        }
    }

    pub fn db(&self) -> &str {
        match self {
            Self::CreateCollection { db, .. }
            | Self::DropCollection { db, .. }
            | Self::ModifyCollection { db, .. }
            | Self::CreateIndex { db, .. }
            | Self::DropIndex { db, .. }
            | Self::ModifyIndex { db, .. }
            | Self::MakeIndexUnique { db, .. }
            | Self::SetValidator { db, .. }
            | Self::Backfill { db, .. }
            | Self::UpdateMany { db, .. }
            | Self::RenameField { db, .. }
            | Self::EvolveField { db, .. }
            | Self::ContractField { db, .. }
            | Self::ShardCollection { db, .. }
            | Self::RefineShardKey { db, .. }
            | Self::CreateSearchIndex { db, .. }
            | Self::UpdateSearchIndex { db, .. }
            | Self::DropSearchIndex { db, .. }
            | Self::Command { db, .. } => db,
            Self::Irreversible { .. } => "",
        }
    }

    pub fn collection(&self) -> &str {
        match self {
            Self::CreateCollection { collection, .. }
            | Self::DropCollection { collection, .. }
            | Self::ModifyCollection { collection, .. }
            | Self::CreateIndex { collection, .. }
            | Self::DropIndex { collection, .. }
            | Self::ModifyIndex { collection, .. }
            | Self::MakeIndexUnique { collection, .. }
            | Self::SetValidator { collection, .. }
            | Self::Backfill { collection, .. }
            | Self::UpdateMany { collection, .. }
            | Self::RenameField { collection, .. }
            | Self::EvolveField { collection, .. }
            | Self::ContractField { collection, .. }
            | Self::ShardCollection { collection, .. }
            | Self::RefineShardKey { collection, .. }
            | Self::CreateSearchIndex { collection, .. }
            | Self::UpdateSearchIndex { collection, .. }
            | Self::DropSearchIndex { collection, .. } => collection,
            Self::Command { .. } | Self::Irreversible { .. } => "",
        }
    }

    /// A short, stable, one-line description (used in plans, progress and test cases).
    pub fn summary(&self) -> String {
        let ns = format!("{}.{}", self.db(), self.collection());
        match self {
            Self::CreateCollection { options, .. } => {
                let mut extra: Vec<String> = options.keys().cloned().collect();
                extra.retain(|k| k != "validationLevel" && k != "validationAction");
                if extra.is_empty() {
                    format!("create_collection {ns}")
                } else {
                    format!("create_collection {ns} with {}", extra.join(", "))
                }
            }
            Self::DropCollection { .. } => format!("drop_collection {ns}"),
            Self::ModifyCollection { options, .. } => format!(
                "modify_collection {ns} {}",
                options
                    .iter()
                    .map(|(k, v)| match (k.as_str(), seconds(v)) {
                        ("expireAfterSeconds", Some(s)) => {
                            format!("expire_after={}", crate::progress::ttl(s))
                        }
                        _ => format!("{k}={v}"),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Self::CreateIndex { index, .. } => format!(
                "create_index {ns} {} {}",
                index.get_str("name").unwrap_or("?"),
                index
                    .iter()
                    .filter(|(k, _)| *k != "name")
                    .map(|(k, v)| match (k.as_str(), seconds(v)) {
                        ("expireAfterSeconds", Some(s)) => {
                            format!("expire_after={}", crate::progress::ttl(s))
                        }
                        _ => format!("{k}={v}"),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Self::DropIndex { name, .. } => format!("drop_index {ns} {name}"),
            Self::ModifyIndex {
                name,
                expire_after,
                hidden,
                ..
            } => {
                let mut parts = vec![format!("modify_index {ns} {name}")];
                if let Some(s) = expire_after {
                    parts.push(format!("expire_after={}", crate::progress::ttl(*s)));
                }
                if let Some(h) = hidden {
                    parts.push(format!("hidden={h}"));
                }
                parts.join(" ")
            }
            Self::MakeIndexUnique { name, .. } => format!("make_index_unique {ns} {name}"),
            Self::SetValidator {
                validator,
                level,
                action,
                ..
            } => format!(
                "set_validator {ns} {} level={} action={}",
                if validator.is_some() {
                    "$jsonSchema"
                } else {
                    "none"
                },
                level.as_str(),
                action.as_str()
            ),
            Self::Backfill { field, value, .. } => format!("backfill {ns} {field}={value}"),
            Self::UpdateMany { filter, .. } => format!("update_many {ns} filter={filter}"),
            Self::RenameField { from, to, .. } => format!("rename_field {ns} {from} → {to}"),
            Self::EvolveField {
                field,
                from,
                convert,
                ..
            } => format!(
                "evolve_field {ns} {}{field}{}",
                from.as_ref().map(|f| format!("{f} → ")).unwrap_or_default(),
                convert
                    .as_ref()
                    .and_then(|c| c.keys().next())
                    .map(|k| format!(" by {k}"))
                    .unwrap_or_default()
            ),
            Self::ContractField { field, from, .. } => format!(
                "contract_field {ns} {field}{}: no document left in the old shape",
                from.as_ref()
                    .map(|f| format!(" (from {f})"))
                    .unwrap_or_default()
            ),
            Self::ShardCollection {
                key,
                unique,
                initial_chunks,
                ..
            } => {
                let mut parts = vec![format!("shard_collection {ns} key={key}")];
                if *unique {
                    parts.push("unique=true".into());
                }
                if let Some(n) = initial_chunks {
                    parts.push(format!("initial_chunks={n}"));
                }
                parts.join(" ")
            }
            Self::RefineShardKey { key, .. } => format!("refine_shard_key {ns} key={key}"),
            Self::CreateSearchIndex { index, .. } => format!(
                "create_search_index {ns} {} type={}",
                index.get_str("name").unwrap_or("default"),
                index.get_str("type").unwrap_or("search")
            ),
            Self::UpdateSearchIndex { name, .. } => format!("update_search_index {ns} {name}"),
            Self::DropSearchIndex { name, .. } => format!("drop_search_index {ns} {name}"),
            Self::Command { db, command } => format!(
                "command {db} {}",
                command.keys().next().map(String::as_str).unwrap_or("?")
            ),
            Self::Irreversible { reason } => format!("irreversible: {reason}"),
        }
    }
}

/// What running an operation did: changed the server, or found its goal already held (the
/// collection or index already there, the one to drop already gone, nothing left to update).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    Changed,
    AlreadyThere,
}

/// A whole number of seconds held in a BSON number.
fn seconds(v: &Bson) -> Option<i64> {
    match v {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(d) if d.fract() == 0.0 => Some(*d as i64),
        _ => None,
    }
}

impl Operation {
    /// Does this operation destroy something stored: a collection and its documents, or an
    /// index? (What prompts, plans and reports call a drop.)
    pub fn destroys(&self) -> bool {
        matches!(
            self,
            Self::DropCollection { .. } | Self::DropIndex { .. } | Self::DropSearchIndex { .. }
        )
    }

    /// The command of a search index step, run on its database (`None` for every other
    /// operation).
    pub fn search_command(&self) -> Option<Document> {
        match self {
            Self::CreateSearchIndex {
                collection, index, ..
            } => Some(bson::doc! { "createSearchIndexes": collection, "indexes": [index.clone()] }),
            Self::UpdateSearchIndex {
                collection,
                name,
                definition,
                ..
            } => Some(
                bson::doc! { "updateSearchIndex": collection, "name": name, "definition": definition.clone() },
            ),
            Self::DropSearchIndex {
                collection, name, ..
            } => Some(bson::doc! { "dropSearchIndex": collection, "name": name }),
            _ => None,
        }
    }

    /// The `admin` command of a sharding step (`None` for every other operation).
    pub fn admin_command(&self) -> Option<Document> {
        let key_of = |key: &Document, unique: bool, initial_chunks: Option<u32>| {
            crate::shard::parse_key(key).map(|keys| crate::model::ShardKey {
                keys,
                unique,
                initial_chunks,
            })
        };
        match self {
            Self::ShardCollection {
                db,
                collection,
                key,
                unique,
                initial_chunks,
                simple_collation,
            } => {
                let k = key_of(key, *unique, *initial_chunks)?;
                let non_simple = bson::doc! { "locale": "und" };
                Some(crate::shard::shard_collection_command(
                    db,
                    collection,
                    &k,
                    simple_collation.then_some(&non_simple),
                ))
            }
            Self::RefineShardKey {
                db,
                collection,
                key,
            } => Some(crate::shard::refine_command(
                db,
                collection,
                &key_of(key, false, None)?,
            )),
            _ => None,
        }
    }
}

/// The filter of a backfill: documents lacking `field` whose parents, where present, are
/// objects (so `$set` can create the field without overwriting anything).
pub fn backfill_filter(field: &str) -> Document {
    let mut filter = bson::doc! { field: { "$exists": false } };
    let parts: Vec<&str> = field.split('.').collect();
    let mut parents = Vec::new();
    for i in 1..parts.len() {
        let parent = parts[..i].join(".");
        parents.push(Bson::Document(bson::doc! { "$or": [
            { parent.clone(): { "$exists": false } },
            { parent.clone(): { "$type": "object" } },
        ] }));
    }
    if !parents.is_empty() {
        filter.insert("$and", parents);
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SearchIndex;
    use bson::doc;

    #[test]
    fn search_index_steps_send_exactly_these_commands() {
        let index = SearchIndex {
            name: "plot".into(),
            kind: "vectorSearch".into(),
            definition: doc! { "fields": [{ "type": "vector", "path": "e", "numDimensions": 1536, "similarity": "cosine" }] },
        };
        let create = Operation::CreateSearchIndex {
            db: "app".into(),
            collection: "movies".into(),
            index: index.to_document(),
        };
        assert_eq!(
            create.search_command(),
            Some(
                doc! { "createSearchIndexes": "movies", "indexes": [{ "name": "plot", "type": "vectorSearch", "definition": index.definition.clone() }] }
            )
        );
        let update = Operation::UpdateSearchIndex {
            db: "app".into(),
            collection: "movies".into(),
            name: "plot".into(),
            definition: doc! { "mappings": { "dynamic": true } },
        };
        assert_eq!(
            update.search_command(),
            Some(
                doc! { "updateSearchIndex": "movies", "name": "plot", "definition": { "mappings": { "dynamic": true } } }
            )
        );
        let drop = Operation::DropSearchIndex {
            db: "app".into(),
            collection: "movies".into(),
            name: "plot".into(),
        };
        assert_eq!(
            drop.search_command(),
            Some(doc! { "dropSearchIndex": "movies", "name": "plot" })
        );
        assert!(drop.destroys());
        assert_eq!(
            create.summary(),
            "create_search_index app.movies plot type=vectorSearch"
        );
        assert_eq!(
            Operation::Backfill {
                db: "a".into(),
                collection: "b".into(),
                field: "f".into(),
                value: bson::Bson::Null
            }
            .search_command(),
            None
        );
    }

    #[test]
    fn a_listed_search_index_reads_back_as_declared() {
        // As Atlas answers `$listSearchIndexes` (a build in progress still has its definition).
        let listed = doc! {
            "id": "6524096020da840844a4c4a7", "name": "default", "type": "search",
            "status": "BUILDING", "queryable": false,
            "latestDefinitionVersion": { "version": 0, "createdAt": bson::DateTime::from_millis(0) },
            "latestDefinition": { "mappings": { "dynamic": true } },
            "statusDetail": [],
        };
        let read = SearchIndex::from_listed(&listed).unwrap();
        assert_eq!(read.name, "default");
        assert_eq!(read.kind, "search");
        assert!(SearchIndex::same_definition(
            &read.definition,
            &doc! { "mappings": { "dynamic": true } }
        ));
        assert!(SearchIndex::from_listed(&doc! { "name": "x" }).is_none());
    }
}
