//! Sharded clusters, planned on paper: the exact `shardCollection` and
//! `refineCollectionShardKey` commands, the shard key as `config.collections` reports it, and the
//! rules a declared shard key must follow (checked by `validate`). Pure.
//!
//! No `mongos` runs on the machines mongrate is tested on: these are unit-tested for their exact
//! commands; the README says what was and was not verified on a real cluster.

use crate::model::{Index, IndexKind, ShardKey, ShardKeyKind};
use bson::{Bson, Document, doc};

/// `{ shardCollection: "db.coll", key, unique, numInitialChunks?, collation? }`, run on `admin`.
/// A collection with a default collation is sharded with `collation: { locale: "simple" }`
/// (the server requires it: the shard key index must have the simple collation).
pub fn shard_collection_command(
    db: &str,
    collection: &str,
    key: &ShardKey,
    collection_collation: Option<&Document>,
) -> Document {
    let mut cmd = doc! {
        "shardCollection": format!("{db}.{collection}"),
        "key": key.key_document(),
        "unique": key.unique,
    };
    if let Some(n) = key.initial_chunks {
        cmd.insert("numInitialChunks", n as i64);
    }
    if collection_collation.is_some_and(|c| c.get_str("locale") != Ok("simple")) {
        cmd.insert("collation", doc! { "locale": "simple" });
    }
    cmd
}

/// `{ refineCollectionShardKey: "db.coll", key }`, run on `admin`: the key grows by suffix
/// fields (an index supporting the new key must exist).
pub fn refine_command(db: &str, collection: &str, key: &ShardKey) -> Document {
    doc! {
        "refineCollectionShardKey": format!("{db}.{collection}"),
        "key": key.key_document(),
    }
}

/// A key document (`{ a: 1, b: "hashed" }`) as fields and kinds; `None` when a value is
/// neither `1` nor `"hashed"`.
pub fn parse_key(key: &Document) -> Option<Vec<(String, ShardKeyKind)>> {
    key.iter()
        .map(|(f, v)| {
            let kind = match v {
                Bson::String(s) if s == "hashed" => ShardKeyKind::Hashed,
                Bson::Int32(1) | Bson::Int64(1) => ShardKeyKind::Range,
                Bson::Double(d) if *d == 1.0 => ShardKeyKind::Range,
                _ => return None,
            };
            Some((f.clone(), kind))
        })
        .collect()
}

/// A `config.collections` entry (`{ _id: "db.coll", key, unique, dropped? }`) as a shard key.
pub fn from_config(entry: &Document) -> Option<(String, String, ShardKey)> {
    if entry.get_bool("dropped").unwrap_or(false) {
        return None;
    }
    let (db, coll) = entry.get_str("_id").ok()?.split_once('.')?;
    let keys = parse_key(entry.get_document("key").ok()?)?;
    Some((
        db.to_string(),
        coll.to_string(),
        ShardKey {
            keys,
            unique: entry.get_bool("unique").unwrap_or(false),
            initial_chunks: None,
        },
    ))
}

/// Does `index` support `key` (an index on the key, or a compound index the key starts)?
pub fn supports(index: &Index, key: &ShardKey) -> bool {
    index.keys.len() >= key.keys.len()
        && key.keys.iter().zip(&index.keys).all(|((f, k), (g, i))| {
            f == g
                && matches!(
                    (k, i),
                    (ShardKeyKind::Range, IndexKind::Asc)
                        | (ShardKeyKind::Hashed, IndexKind::Hashed)
                )
        })
}

/// Why `index`, which starts with the shard key, cannot serve as its index (`None`: it can).
pub fn unfit_to_support(index: &Index, unique_key: bool) -> Option<&'static str> {
    if index.partial.is_some() {
        Some("it is partial")
    } else if index.sparse {
        Some("it is sparse")
    } else if index.hidden {
        Some("it is hidden")
    } else if index.expire_after.is_some() {
        Some("it is a TTL index")
    } else if index
        .collation
        .as_ref()
        .is_some_and(|c| c.get_str("locale") != Ok("simple"))
    {
        Some("it has a non-simple collation")
    } else if unique_key && !index.unique {
        Some("the shard key is unique and the index is not")
    } else {
        None
    }
}

/// Problems of a declared shard key against the collection's declared indexes, as messages.
/// `capped` and `view`: what the collection is.
pub fn problems(key: &ShardKey, indexes: &[Index], capped: bool, view: bool) -> Vec<String> {
    let mut out = Vec::new();
    let shown = key.key_document();
    if view {
        out.push("a view cannot be sharded; remove `shard_key`".to_string());
        return out;
    }
    if capped {
        out.push("a capped collection cannot be sharded".to_string());
    }
    let hashed = key
        .keys
        .iter()
        .filter(|(_, k)| *k == ShardKeyKind::Hashed)
        .count();
    if hashed > 1 {
        out.push("a shard key has at most one hashed field".to_string());
    }
    if key.unique && hashed > 0 {
        out.push("a hashed shard key cannot be unique".to_string());
    }
    if key.initial_chunks.is_some() && hashed == 0 {
        out.push(
            "`initial_chunks` (numInitialChunks) applies only to a hashed shard key".to_string(),
        );
    }
    if key.initial_chunks == Some(0) {
        out.push("`initial_chunks` must be at least 1".to_string());
    }
    let candidates: Vec<&Index> = indexes.iter().filter(|i| supports(i, key)).collect();
    if candidates.is_empty() {
        let keys: Vec<String> = key
            .keys
            .iter()
            .map(|(f, k)| match k {
                ShardKeyKind::Range => format!("{f}: 1"),
                ShardKeyKind::Hashed => format!("{f}: hashed"),
            })
            .collect();
        out.push(format!(
            "no declared index supports the shard key {shown}: add `- keys: {{ {} }}`{} under `indexes` (an index on the key, or one that starts with it, ascending)",
            keys.join(", "),
            if key.unique { " with `unique: true`" } else { "" }
        ));
    } else {
        // A hashed key cannot be unique (said above): do not ask for a unique index too.
        let unique = key.unique && hashed == 0;
        if candidates
            .iter()
            .all(|i| unfit_to_support(i, unique).is_some())
        {
            let i = candidates[0];
            out.push(format!(
                "index `{}` starts with the shard key {shown} but cannot support it: {}; declare a plain one",
                i.name,
                unfit_to_support(i, unique).unwrap_or_default()
            ));
        }
    }
    for i in indexes.iter().filter(|i| i.unique) {
        let starts = i.keys.len() >= key.keys.len()
            && key.keys.iter().zip(&i.keys).all(|((f, _), (g, _))| f == g);
        if !starts {
            out.push(format!(
                "unique index `{}` {} does not start with the shard key {shown}: on a sharded collection only an index that starts with the shard key (or `_id`) can be unique",
                i.name,
                i.key_document()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(keys: &[(&str, ShardKeyKind)], unique: bool, chunks: Option<u32>) -> ShardKey {
        ShardKey {
            keys: keys.iter().map(|(f, k)| (f.to_string(), *k)).collect(),
            unique,
            initial_chunks: chunks,
        }
    }

    fn index(name: &str, keys: &[(&str, IndexKind)]) -> Index {
        Index {
            name: name.into(),
            name_declared: false,
            keys: keys
                .iter()
                .map(|(f, k)| (f.to_string(), k.clone()))
                .collect(),
            unique: false,
            sparse: false,
            hidden: false,
            partial: None,
            collation: None,
            expire_after: None,
            weights: None,
            default_language: None,
            language_override: None,
            wildcard_projection: None,
            sphere_version: None,
        }
    }

    use ShardKeyKind::{Hashed, Range};

    #[test]
    fn hashed_key_with_presplit_chunks() {
        let k = key(&[("user_id", Hashed)], false, Some(64));
        assert_eq!(
            shard_collection_command("app", "events", &k, None),
            doc! { "shardCollection": "app.events", "key": { "user_id": "hashed" }, "unique": false, "numInitialChunks": 64i64 }
        );
    }

    #[test]
    fn ranged_key() {
        let k = key(&[("created_at", Range)], false, None);
        assert_eq!(
            shard_collection_command("app", "logs", &k, None),
            doc! { "shardCollection": "app.logs", "key": { "created_at": 1 }, "unique": false }
        );
    }

    #[test]
    fn compound_key_keeps_its_order() {
        let k = key(&[("tenant", Range), ("_id", Hashed)], false, None);
        let cmd = shard_collection_command("app", "orders", &k, None);
        assert_eq!(
            cmd.get_document("key").unwrap().keys().collect::<Vec<_>>(),
            ["tenant", "_id"]
        );
        assert_eq!(
            cmd,
            doc! { "shardCollection": "app.orders", "key": { "tenant": 1, "_id": "hashed" }, "unique": false }
        );
    }

    #[test]
    fn unique_key_and_a_collection_with_a_collation() {
        let k = key(&[("tenant", Range), ("email", Range)], true, None);
        let fr = doc! { "locale": "fr", "strength": 2 };
        assert_eq!(
            shard_collection_command("app", "users", &k, Some(&fr)),
            doc! { "shardCollection": "app.users", "key": { "tenant": 1, "email": 1 }, "unique": true, "collation": { "locale": "simple" } }
        );
        let simple = doc! { "locale": "simple" };
        assert!(
            !shard_collection_command("app", "users", &k, Some(&simple)).contains_key("collation")
        );
    }

    #[test]
    fn refine_adds_suffix_fields() {
        let from = key(&[("tenant", Range)], false, None);
        let to = key(&[("tenant", Range), ("order_id", Range)], false, None);
        assert!(from.refines_to(&to));
        assert!(!to.refines_to(&from));
        assert!(!from.refines_to(&key(&[("order_id", Range), ("tenant", Range)], false, None)));
        assert_eq!(
            refine_command("app", "orders", &to),
            doc! { "refineCollectionShardKey": "app.orders", "key": { "tenant": 1, "order_id": 1 } }
        );
    }

    #[test]
    fn config_collections_entries() {
        let (db, coll, k) = from_config(&doc! {
            "_id": "app.orders", "key": { "tenant": 1.0, "_id": "hashed" }, "unique": false, "lastmodEpoch": bson::oid::ObjectId::new(),
        })
        .unwrap();
        assert_eq!((db.as_str(), coll.as_str()), ("app", "orders"));
        assert_eq!(
            k.keys,
            [("tenant".to_string(), Range), ("_id".to_string(), Hashed)]
        );
        assert!(
            from_config(&doc! { "_id": "app.gone", "key": { "a": 1 }, "dropped": true }).is_none()
        );
        assert!(from_config(&doc! { "_id": "app.odd", "key": { "a": -1 } }).is_none());
    }

    #[test]
    fn validate_rules() {
        let tenant = index("tenant_1", &[("tenant", IndexKind::Asc)]);
        let ok = problems(
            &key(&[("tenant", Range)], false, None),
            std::slice::from_ref(&tenant),
            false,
            false,
        );
        assert!(ok.is_empty(), "{ok:?}");
        // A compound index starting with the key supports it; a descending one does not.
        let compound = index(
            "t_1_c_1",
            &[("tenant", IndexKind::Asc), ("c", IndexKind::Asc)],
        );
        assert!(supports(&compound, &key(&[("tenant", Range)], false, None)));
        let desc = index("tenant_-1", &[("tenant", IndexKind::Desc)]);
        let p = problems(
            &key(&[("tenant", Range)], false, None),
            &[desc],
            false,
            false,
        );
        assert!(
            p[0].contains("no declared index supports the shard key"),
            "{p:?}"
        );
        // Hashed key: a hashed index.
        let hashed = index("u_hashed", &[("u", IndexKind::Hashed)]);
        assert!(
            problems(
                &key(&[("u", Hashed)], false, Some(8)),
                std::slice::from_ref(&hashed),
                false,
                false
            )
            .is_empty()
        );
        let p = problems(&key(&[("u", Hashed)], true, None), &[hashed], false, false);
        assert!(p.iter().any(|m| m.contains("cannot be unique")), "{p:?}");
        // Chunks only for hashed keys.
        let p = problems(
            &key(&[("tenant", Range)], false, Some(8)),
            std::slice::from_ref(&tenant),
            false,
            false,
        );
        assert!(
            p.iter().any(|m| m.contains("only to a hashed shard key")),
            "{p:?}"
        );
        // A unique index must start with the shard key.
        let mut email = index("email_1", &[("email", IndexKind::Asc)]);
        email.unique = true;
        let p = problems(
            &key(&[("tenant", Range)], false, None),
            &[tenant.clone(), email],
            false,
            false,
        );
        assert!(
            p.iter().any(|m| m.contains("unique index `email_1`")),
            "{p:?}"
        );
        // The supporting index cannot be TTL, partial, sparse, hidden.
        let mut ttl = tenant.clone();
        ttl.expire_after = Some(60);
        let p = problems(
            &key(&[("tenant", Range)], false, None),
            &[ttl],
            false,
            false,
        );
        assert!(p.iter().any(|m| m.contains("it is a TTL index")), "{p:?}");
        // A unique key needs a unique supporting index.
        let p = problems(
            &key(&[("tenant", Range)], true, None),
            std::slice::from_ref(&tenant),
            false,
            false,
        );
        assert!(p.iter().any(|m| m.contains("the index is not")), "{p:?}");
        // Views and capped collections are not sharded.
        assert!(
            problems(&key(&[("tenant", Range)], false, None), &[], false, true)[0]
                .contains("a view")
        );
        assert!(
            problems(
                &key(&[("tenant", Range)], false, None),
                &[tenant],
                true,
                false
            )[0]
            .contains("capped")
        );
        // Two hashed fields.
        let p = problems(
            &key(&[("a", Hashed), ("b", Hashed)], false, None),
            &[],
            false,
            false,
        );
        assert!(p.iter().any(|m| m.contains("at most one hashed")), "{p:?}");
    }
}
