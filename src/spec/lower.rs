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
            let document = declared_validator(c);
            let evolutions = crate::spec::evolving_fields(&c.fields)
                .into_iter()
                .filter_map(|(path, f)| {
                    let e = f.more().evolve.as_ref()?;
                    Some(model::Evolution {
                        db: db_name.clone(),
                        collection: name.clone(),
                        types: document
                            .as_ref()
                            .map(|d| crate::evolve::types_at(d, &path))
                            .unwrap_or_default(),
                        field: path,
                        from: e.from.clone(),
                        convert: e.convert.clone(),
                        contract_after: e.contract_after,
                    })
                })
                .collect();
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
                    validator: document
                        .map(|d| Validator::new(&d, c.validation.level, c.validation.action)),
                    indexes: c.indexes.clone(),
                    ignore_indexes: c.ignore_indexes.clone(),
                    retire_after: c.retire_after,
                    shard_key: c.shard_key.clone(),
                    search_indexes: c.search_indexes.clone(),
                    evolutions,
                },
            );
        }
        schema.databases.insert(db_name.clone(), database);
    }
    schema
}
