//! Sharded clusters, planned on paper (no mongos runs here): from schema files with a
//! `shard_key` to the exact `shardCollection` / `refineCollectionShardKey` commands the plan
//! runs, in order after the indexes that support them; keys that cannot change in place are
//! notices; migration files carry the same steps. No mongos: these are the pure paths, and
//! what a declared shard key does against a replica set (nothing, and no false drift).

mod support;

use bson::{Document, doc};
use mongrate::model::{ShardKey, ShardKeyKind};
use mongrate::ops::Operation;
use mongrate::plan::{NoticeKind, PlanOptions};

/// The model of a schemas folder holding `app/<collection>.yaml` with `yaml`.
fn model(collection: &str, yaml: &str) -> mongrate::model::Schema {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("app")).unwrap();
    std::fs::write(root.path().join(format!("app/{collection}.yaml")), yaml).unwrap();
    let loaded = mongrate::spec::load_dir(root.path()).unwrap_or_else(|e| panic!("{e:?}"));
    let mut m = mongrate::spec::to_model(&loaded.spec);
    mongrate::normalize::schema(&mut m, mongrate::normalize::Side::Spec);
    m
}

fn plan(
    current: &mongrate::model::Schema,
    desired: &mongrate::model::Schema,
) -> mongrate::plan::Plan {
    mongrate::plan::plan(
        &mongrate::diff::diff(current, desired),
        &PlanOptions::default(),
    )
}

/// The admin commands of the plan's sharding steps.
fn shard_commands(p: &mongrate::plan::Plan) -> Vec<Document> {
    p.steps
        .iter()
        .filter_map(|s| s.op.admin_command())
        .collect()
}

#[test]
fn a_new_collection_is_created_indexed_then_sharded_hashed_with_presplit_chunks() {
    let desired = model(
        "events",
        "fields:\n  user_id: { type: string }\nindexes:\n  - keys: { user_id: hashed }\n  - keys: { at: -1 }\nshard_key: { keys: { user_id: hashed }, initial_chunks: 64 }\n",
    );
    let p = plan(&Default::default(), &desired);
    let kinds: Vec<String> = p
        .steps
        .iter()
        .map(|s| s.op.summary().split(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "create_collection",
            "create_index",
            "create_index",
            "shard_collection",
        ]
    );
    let shard = p
        .steps
        .iter()
        .position(|s| matches!(s.op, Operation::ShardCollection { .. }))
        .unwrap();
    let last_index = p
        .steps
        .iter()
        .rposition(|s| matches!(s.op, Operation::CreateIndex { .. }))
        .unwrap();
    assert!(shard > last_index, "sharded after its index is built");
    assert_eq!(
        shard_commands(&p),
        [
            doc! { "shardCollection": "app.events", "key": { "user_id": "hashed" }, "unique": false, "numInitialChunks": 64i64 }
        ]
    );
    // Undoing it is refused: a collection cannot be unsharded.
    assert!(matches!(
        p.steps[shard].reverse.as_slice(),
        [Operation::Irreversible { .. }]
    ));
}

#[test]
fn ranged_compound_and_unique_keys_give_their_exact_commands() {
    for (yaml, expected) in [
        (
            "indexes:\n  - keys: { created_at: 1 }\nshard_key: { keys: { created_at: 1 } }\n",
            doc! { "shardCollection": "app.c", "key": { "created_at": 1 }, "unique": false },
        ),
        (
            "indexes:\n  - keys: { tenant: 1, region: 1, n: 1 }\nshard_key: { keys: { tenant: 1, region: 1 } }\n",
            doc! { "shardCollection": "app.c", "key": { "tenant": 1, "region": 1 }, "unique": false },
        ),
        (
            "indexes:\n  - keys: { tenant: 1, email: 1 }\n    unique: true\nshard_key: { keys: { tenant: 1, email: 1 }, unique: true }\n",
            doc! { "shardCollection": "app.c", "key": { "tenant": 1, "email": 1 }, "unique": true },
        ),
        (
            // A default collation: the shard key needs the simple one.
            "options:\n  collation: { locale: fr }\nindexes:\n  - keys: { tenant: 1 }\n    collation: { locale: simple }\nshard_key: { keys: { tenant: 1 } }\n",
            doc! { "shardCollection": "app.c", "key": { "tenant": 1 }, "unique": false, "collation": { "locale": "simple" } },
        ),
    ] {
        let desired = model("c", yaml);
        assert_eq!(
            shard_commands(&plan(&Default::default(), &desired)),
            [expected],
            "{yaml}"
        );
    }
}

fn sharded(
    mut m: mongrate::model::Schema,
    keys: &[(&str, ShardKeyKind)],
) -> mongrate::model::Schema {
    for c in m.databases.get_mut("app").unwrap().collections.values_mut() {
        c.shard_key = Some(ShardKey {
            keys: keys.iter().map(|(f, k)| (f.to_string(), *k)).collect(),
            unique: false,
            initial_chunks: None,
        });
    }
    m
}

#[test]
fn on_an_existing_collection_the_key_is_added_refined_or_reported() {
    use ShardKeyKind::{Hashed, Range};
    let yaml = |key: &str| {
        format!(
            "indexes:\n  - keys: {{ tenant: 1, order_id: 1 }}\n  - keys: {{ region: 1 }}\nshard_key: {{ keys: {key} }}\n"
        )
    };
    let desired = model("orders", &yaml("{ tenant: 1, order_id: 1 }"));
    let mut unsharded = desired.clone();
    for c in unsharded
        .databases
        .get_mut("app")
        .unwrap()
        .collections
        .values_mut()
    {
        c.shard_key = None;
    }
    // Not sharded yet: shard it.
    assert_eq!(
        shard_commands(&plan(&unsharded, &desired)),
        [
            doc! { "shardCollection": "app.orders", "key": { "tenant": 1, "order_id": 1 }, "unique": false }
        ]
    );
    // Sharded on the same key: nothing (presplit chunks are a creation-time instruction).
    let same = sharded(unsharded.clone(), &[("tenant", Range), ("order_id", Range)]);
    assert!(plan(&same, &desired).is_empty());
    // Sharded on a prefix: refined in place.
    let prefix = sharded(unsharded.clone(), &[("tenant", Range)]);
    let p = plan(&prefix, &desired);
    assert_eq!(
        shard_commands(&p),
        [doc! { "refineCollectionShardKey": "app.orders", "key": { "tenant": 1, "order_id": 1 } }]
    );
    assert!(p.notices.is_empty());
    // Sharded on something else: a notice, no step (resharding is never planned).
    let other = sharded(unsharded.clone(), &[("region", Hashed)]);
    let p = plan(&other, &desired);
    assert!(shard_commands(&p).is_empty());
    assert_eq!(p.notices.len(), 1);
    assert_eq!(p.notices[0].kind, NoticeKind::ShardKey);
    assert!(
        p.notices[0].message.contains("reshardCollection"),
        "{}",
        p.notices[0].message
    );
    // Sharded on the server, no key declared: a notice too.
    let p = plan(&prefix, &unsharded);
    assert_eq!(p.notices[0].kind, NoticeKind::ShardKey);
    assert!(
        p.notices[0].message.contains("declare it"),
        "{}",
        p.notices[0].message
    );
}

#[test]
fn migration_files_carry_sharding_steps_and_replay_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("20260101000000_shard.yaml"),
        "up:\n  - create_collection: { db: app, collection: orders }\n  - create_index: { db: app, collection: orders, index: { key: { tenant: 1 }, name: tenant_1 } }\n  - shard_collection: { db: app, collection: orders, key: { tenant: 1 } }\n  - create_index: { db: app, collection: orders, index: { key: { tenant: 1, order_id: 1 }, name: tenant_1_order_id_1 } }\n  - refine_shard_key: { db: app, collection: orders, key: { tenant: 1, order_id: 1 } }\ndown:\n  - irreversible: { reason: sharding cannot be undone }\n",
    )
    .unwrap();
    let migrations = mongrate::migrate::load_dir(dir.path()).unwrap_or_else(|e| panic!("{e:?}"));
    let (schema, warnings) = mongrate::migrate::replay::replay(&migrations);
    assert!(warnings.is_empty(), "{warnings:?}");
    let key = schema.databases["app"].collections["orders"]
        .shard_key
        .clone()
        .unwrap();
    assert_eq!(key.key_document(), doc! { "tenant": 1, "order_id": 1 });
    // A malformed key is refused with its position.
    std::fs::write(
        dir.path().join("20260101000001_bad.yaml"),
        "up:\n  - shard_collection: { db: app, collection: orders, key: { tenant: -1 } }\n",
    )
    .unwrap();
    let e = format!("{:?}", mongrate::migrate::load_dir(dir.path()).unwrap_err());
    assert!(
        e.contains("a shard key is `{ field: 1 | hashed, ... }`"),
        "{e}"
    );
}

#[test]
fn a_server_that_is_not_a_sharded_cluster_is_not_compared_on_shard_keys() {
    let desired = model(
        "orders",
        "collection: orders\nindexes:\n  - keys: { tenant: 1 }\nshard_key: { keys: { tenant: 1 } }\n",
    );
    let mut replica_set = mongrate::model::Schema {
        unsharded: true,
        ..Default::default()
    };
    let p = plan(&replica_set, &desired);
    assert!(shard_commands(&p).is_empty());
    assert_eq!(p.steps.len(), 2, "{:?}", p.steps);
    // Even a server-side key that differs is not reported when the server cannot have one.
    replica_set = desired.clone();
    replica_set.unsharded = true;
    assert!(plan(&replica_set, &desired).is_empty());
}

/// Against a real replica set: a schema with a shard key applies (collection and index), then
/// checks in sync; a migration that shards refuses with a clear message and records no success.
#[test]
fn on_a_replica_set_a_declared_shard_key_is_validated_but_not_applied() {
    let db = support::unique_db("shardrs");
    let root = support::one_collection_schemas(
        &db,
        "orders",
        "collection: orders\nindexes:\n  - keys: { tenant: 1, created: 1 }\nshard_key: { keys: { tenant: 1, created: 1 } }\n",
    );
    let schemas = root.path().to_str().unwrap();
    let apply = support::mongrate_on_server()
        .args(["apply", "--yes", "--schemas", schemas])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&apply.stdout);
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&apply.stderr)
    );
    assert!(!text.contains("shard_collection"), "{text}");
    let check = support::mongrate_on_server()
        .args(["check", "--schemas", schemas])
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    let migrations = tempfile::tempdir().unwrap();
    std::fs::write(
        migrations.path().join("20260101000000_shard.yaml"),
        format!(
            "up:\n  - shard_collection: {{ db: {db}, collection: orders, key: {{ tenant: 1 }} }}\ndown:\n  - irreversible: {{ reason: cannot unshard }}\n"
        ),
    )
    .unwrap();
    let up = support::mongrate_on_server()
        .args([
            "migrate",
            "up",
            "--migrations",
            migrations.path().to_str().unwrap(),
        ])
        .args(["--state-db", &format!("{db}_state")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&up.stderr);
    assert_eq!(up.status.code(), Some(1), "{err}");
    assert!(err.contains("not a sharded cluster"), "{err}");
}
