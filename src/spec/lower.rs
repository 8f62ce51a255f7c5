//! Lowering: the checked spec → the canonical [`model::Schema`] the diff works on.

use super::SchemaSpec;
use crate::model::{self, Validator};
use crate::spec::jsonschema::declared_validator;

/// Lower a checked spec (call only when it has no errors).
pub fn to_model(spec: &SchemaSpec) -> model::Schema {
    let mut schema = model::Schema::default();
    for (db_name, db) in &spec.databases {
        let mut database = model::Database {
            name: db_name.clone(),
            ignore_collections: db.ignore_collections.clone(),
            ..Default::default()
        };
        for (name, c) in &db.collections {
            let validator = declared_validator(c).map(|document| Validator {
                document,
                level: c.validation.level,
                action: c.validation.action,
            });
            database.collections.insert(
                name.clone(),
                model::Collection {
                    name: name.clone(),
                    kind: if c.options.timeseries.is_some() {
                        model::CollectionKind::Timeseries
                    } else if c.options.view.is_some() {
                        model::CollectionKind::View
                    } else {
                        model::CollectionKind::Collection
                    },
                    options: c.options.clone(),
                    validator,
                    indexes: c.indexes.clone(),
                    ignore_indexes: c.ignore_indexes.clone(),
                    retire_after: c.retire_after,
                    shard_key: c.shard_key.clone(),
                    search_indexes: c.search_indexes.clone(),
                },
            );
        }
        schema.databases.insert(db_name.clone(), database);
    }
    schema
}
