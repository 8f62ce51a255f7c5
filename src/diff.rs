//! The diff: two normalised [`Schema`]s in, semantic [`Change`]s out. Pure.
//!
//! Index identity is key pattern + collation + partial filter (ARCHITECTURE.md, README "How plan and apply behave"); the name is compared
//! only when the spec declares it. Objects the desired side marks as owned elsewhere
//! (`ignore_indexes`, `ignore_collections`) are never reported.

use crate::model::{
    Collection, CollectionKind, Database, Index, Schema, SearchIndex, ShardKey, Validator,
};
use serde::Serialize;

/// One semantic difference, located by database and collection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub db: String,
    pub collection: String,
    pub kind: ChangeKind,
}

// A diff holds a few changes per collection; boxing every index would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ChangeKind {
    /// The collection does not exist; created with its options and validator.
    CreateCollection {
        collection: Box<Collection>,
    },
    /// On the server, declared by no spec.
    UnmanagedCollection {
        /// The collection as the server has it (what re-creating it takes).
        collection: Box<Collection>,
    },
    /// Options that cannot change in place (capped, time-series, clustered, default collation).
    NeedsRecreate {
        reason: String,
    },
    /// Options `collMod` changes in place (TTL of a clustered or time-series collection,
    /// change stream pre- and post-images, a view's source and pipeline): the `collMod` fields
    /// to set, and those that undo it.
    ModifyCollection {
        set: bson::Document,
        undo: bson::Document,
        reason: String,
    },
    CreateIndex {
        index: Index,
    },
    /// Anything that cannot change in place: build the new index, drop the old one.
    ReplaceIndex {
        from: Index,
        to: Index,
        reason: String,
    },
    /// TTL added or changed in place with `collMod`.
    SetIndexTtl {
        name: String,
        from: Option<i64>,
        to: i64,
    },
    SetIndexHidden {
        name: String,
        hidden: bool,
    },
    /// Non-unique → unique with `collMod` (`prepareUnique`, then `unique`).
    MakeIndexUnique {
        index: Index,
    },
    UnmanagedIndex {
        index: Index,
        /// The collection's `retire_after`: retire in two phases rather than drop at once.
        retire_after: Option<i64>,
    },
    SetValidator {
        from: Option<Validator>,
        to: Option<Validator>,
    },
    /// Declared shard key, collection not sharded: shard it. `simple_collation`: the
    /// collection has a default collation, so the command asks for the simple one.
    ShardCollection {
        key: ShardKey,
        simple_collation: bool,
    },
    /// The declared key extends the server's with suffix fields: refined in place.
    RefineShardKey {
        from: ShardKey,
        to: ShardKey,
    },
    /// A shard key that cannot change in place (or is not declared): a notice.
    ShardKeyMismatch {
        reason: String,
    },
    /// A declared search index the server does not have.
    CreateSearchIndex {
        index: SearchIndex,
    },
    /// A search index whose definition differs from the declared one.
    UpdateSearchIndex {
        from: SearchIndex,
        to: SearchIndex,
    },
    /// A search index no schema declares (in a collection that declares search indexes).
    UnmanagedSearchIndex {
        index: SearchIndex,
    },
}

/// Compare `current` (usually the server) with `desired` (usually the spec).
pub fn diff(current: &Schema, desired: &Schema) -> Vec<Change> {
    let mut out = Vec::new();
    for (name, want) in &desired.databases {
        let empty = Database::default();
        let have = current.databases.get(name).unwrap_or(&empty);
        diff_database(name, have, want, &mut out);
    }
    if current.no_search {
        out.retain(|c| {
            !matches!(
                c.kind,
                ChangeKind::CreateSearchIndex { .. }
                    | ChangeKind::UpdateSearchIndex { .. }
                    | ChangeKind::UnmanagedSearchIndex { .. }
            )
        });
    }
    if current.unsharded {
        out.retain(|c| {
            !matches!(
                c.kind,
                ChangeKind::ShardCollection { .. }
                    | ChangeKind::RefineShardKey { .. }
                    | ChangeKind::ShardKeyMismatch { .. }
            )
        });
    }
    // Databases only on the current side (inspected with --all-databases).
    for (name, have) in &current.databases {
        if desired.databases.contains_key(name) {
            continue;
        }
        for c in have.collections.values() {
            out.push(Change {
                db: name.clone(),
                collection: c.name.clone(),
                kind: ChangeKind::UnmanagedCollection {
                    collection: Box::new(c.clone()),
                },
            });
        }
    }
    out
}

fn diff_database(db: &str, have: &Database, want: &Database, out: &mut Vec<Change>) {
    for (name, w) in &want.collections {
        match have.collections.get(name) {
            None => {
                let mut created = w.clone();
                created.indexes.clear();
                out.push(change(
                    db,
                    name,
                    ChangeKind::CreateCollection {
                        collection: Box::new(created),
                    },
                ));
                for index in &w.indexes {
                    out.push(change(
                        db,
                        name,
                        ChangeKind::CreateIndex {
                            index: index.clone(),
                        },
                    ));
                }
                diff_shard_key(None, w, &mut |k| out.push(change(db, name, k)));
                diff_search_indexes(&[], w, &mut |k| out.push(change(db, name, k)));
            }
            Some(h) => diff_collection(db, h, w, out),
        }
    }
    for (name, h) in &have.collections {
        if want.collections.contains_key(name) || glob_any(&want.ignore_collections, name) {
            continue;
        }
        out.push(change(
            db,
            name,
            ChangeKind::UnmanagedCollection {
                collection: Box::new(h.clone()),
            },
        ));
    }
}

fn change(db: &str, coll: &str, kind: ChangeKind) -> Change {
    Change {
        db: db.to_string(),
        collection: coll.to_string(),
        kind,
    }
}

fn diff_collection(db: &str, have: &Collection, want: &Collection, out: &mut Vec<Change>) {
    let push = |out: &mut Vec<Change>, kind| out.push(change(db, &want.name, kind));
    let mut reasons = Vec::new();
    let (h, w) = (&have.options, &want.options);
    match (have.kind == CollectionKind::View, w.view.is_some()) {
        (true, false) => reasons.push("it is a view on the server".to_string()),
        (false, true) => {
            reasons.push("it is a collection on the server, a view in the schemas".to_string())
        }
        _ => {}
    }
    if h.collation != w.collation {
        reasons.push(format!(
            "default collation {} → {}",
            show(&h.collation),
            show(&w.collation)
        ));
    }
    if h.capped != w.capped {
        reasons.push(format!(
            "capped {} → {}",
            h.capped
                .as_ref()
                .map(|c| format!("{{ size: {}, max: {:?} }}", c.size, c.max))
                .unwrap_or("no".into()),
            w.capped
                .as_ref()
                .map(|c| format!("{{ size: {}, max: {:?} }}", c.size, c.max))
                .unwrap_or("no".into()),
        ));
    }
    if h.timeseries != w.timeseries {
        reasons.push("time-series options differ".to_string());
    }
    if h.clustered != w.clustered {
        reasons.push(format!("clustered {} → {}", h.clustered, w.clustered));
    }
    if !reasons.is_empty() {
        push(
            out,
            ChangeKind::NeedsRecreate {
                reason: reasons.join("; "),
            },
        );
        return;
    }
    let (mut set, mut undo, mut what) = (bson::Document::new(), bson::Document::new(), Vec::new());
    if h.expire_after != w.expire_after {
        let ttl = |t: Option<i64>| t.map(bson::Bson::Int64).unwrap_or_else(|| "off".into());
        set.insert("expireAfterSeconds", ttl(w.expire_after));
        undo.insert("expireAfterSeconds", ttl(h.expire_after));
        what.push(format!(
            "collection TTL {} → {}",
            h.expire_after
                .map(|s| format!("{s}s"))
                .unwrap_or("none".into()),
            w.expire_after
                .map(|s| format!("{s}s"))
                .unwrap_or("none".into())
        ));
    }
    if h.change_stream_pre_and_post_images != w.change_stream_pre_and_post_images {
        let on = |b: bool| bson::doc! { "enabled": b };
        set.insert(
            "changeStreamPreAndPostImages",
            on(w.change_stream_pre_and_post_images),
        );
        undo.insert(
            "changeStreamPreAndPostImages",
            on(h.change_stream_pre_and_post_images),
        );
        what.push(format!(
            "change stream pre- and post-images {} → {}",
            h.change_stream_pre_and_post_images, w.change_stream_pre_and_post_images
        ));
    }
    if let (Some(hv), Some(wv)) = (&h.view, &w.view)
        && hv != wv
    {
        set.insert("viewOn", wv.on.clone());
        set.insert("pipeline", wv.pipeline.clone());
        undo.insert("viewOn", hv.on.clone());
        undo.insert("pipeline", hv.pipeline.clone());
        what.push(format!(
            "view on `{}` → `{}`, pipeline as declared",
            hv.on, wv.on
        ));
    }
    if !set.is_empty() {
        push(
            out,
            ChangeKind::ModifyCollection {
                set,
                undo,
                reason: what.join("; "),
            },
        );
    }
    if w.view.is_some() {
        return; // A view has no indexes and no validator of its own.
    }

    diff_indexes(have, want, &mut |k| push(out, k));
    diff_shard_key(have.shard_key.as_ref(), want, &mut |k| push(out, k));
    diff_search_indexes(&have.search_indexes, want, &mut |k| push(out, k));

    if !validator_eq(&have.validator, &want.validator) {
        push(
            out,
            ChangeKind::SetValidator {
                from: have.validator.clone(),
                to: want.validator.clone(),
            },
        );
    }
}

/// The server's search indexes (`have`) against the declared ones, by name; definitions are
/// compared as the server compares them ([`SearchIndex::same_definition`]). A collection that
/// declares none is not compared (its search indexes, if any, are someone else's).
fn diff_search_indexes(have: &[SearchIndex], want: &Collection, emit: &mut dyn FnMut(ChangeKind)) {
    if want.search_indexes.is_empty() {
        return;
    }
    for w in &want.search_indexes {
        match have.iter().find(|h| h.name == w.name) {
            None => emit(ChangeKind::CreateSearchIndex { index: w.clone() }),
            Some(h)
                if h.kind != w.kind
                    || !SearchIndex::same_definition(&h.definition, &w.definition) =>
            {
                emit(ChangeKind::UpdateSearchIndex {
                    from: h.clone(),
                    to: w.clone(),
                })
            }
            Some(_) => {}
        }
    }
    for h in have {
        if !want.search_indexes.iter().any(|w| w.name == h.name) {
            emit(ChangeKind::UnmanagedSearchIndex { index: h.clone() });
        }
    }
}

/// The server's shard key (`have`, `None` when unsharded or not a sharded cluster) against the
/// declared one.
fn diff_shard_key(have: Option<&ShardKey>, want: &Collection, emit: &mut dyn FnMut(ChangeKind)) {
    match (have, &want.shard_key) {
        (None, None) => {}
        (None, Some(k)) => emit(ChangeKind::ShardCollection {
            key: k.clone(),
            simple_collation: want
                .options
                .collation
                .as_ref()
                .is_some_and(|c| c.get_str("locale") != Ok("simple")),
        }),
        (Some(h), Some(w)) if h.same(w) => {}
        (Some(h), Some(w)) if h.refines_to(w) => emit(ChangeKind::RefineShardKey {
            from: h.clone(),
            to: w.clone(),
        }),
        (Some(h), Some(w)) => emit(ChangeKind::ShardKeyMismatch {
            reason: format!(
                "sharded on {}{} on the server, {}{} in the schemas: only suffix fields can be added in place (refineCollectionShardKey); anything else is resharding (reshardCollection), which mongrate does not plan",
                h.key_document(),
                if h.unique { " (unique)" } else { "" },
                w.key_document(),
                if w.unique { " (unique)" } else { "" },
            ),
        }),
        (Some(h), None) => emit(ChangeKind::ShardKeyMismatch {
            reason: format!(
                "sharded on {} on the server, and the schemas declare no `shard_key`: declare it (a collection cannot be unsharded)",
                h.key_document()
            ),
        }),
    }
}

fn show(d: &Option<bson::Document>) -> String {
    d.as_ref()
        .map(|d| d.to_string())
        .unwrap_or_else(|| "none".into())
}

/// Validators are equal when their canonical documents, levels and actions are.
pub fn validator_eq(a: &Option<Validator>, b: &Option<Validator>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.level == b.level
                && a.action == b.action
                // Equal as they are (the usual case: the server keeps the order it was given)
                // or equal once canonical.
                && crate::normalize::same_validator_document(a, b)
        }
        _ => false,
    }
}

/// Same key pattern, collation and partial filter.
pub fn same_identity(a: &Index, b: &Index) -> bool {
    a.keys == b.keys && a.collation == b.collation && a.partial == b.partial
}

fn diff_indexes(have: &Collection, want: &Collection, emit: &mut dyn FnMut(ChangeKind)) {
    let mut used = vec![false; have.indexes.len()];
    for w in &want.indexes {
        let by_identity = have
            .indexes
            .iter()
            .enumerate()
            .find(|(j, h)| !used[*j] && same_identity(h, w));
        if let Some((j, h)) = by_identity {
            used[j] = true;
            compare_same_identity(h, w, emit);
            continue;
        }
        let by_name = have
            .indexes
            .iter()
            .enumerate()
            .find(|(j, h)| !used[*j] && h.name == w.name);
        if let Some((j, h)) = by_name {
            used[j] = true;
            let mut what = Vec::new();
            if h.keys != w.keys {
                what.push("keys");
            }
            if h.collation != w.collation {
                what.push("collation");
            }
            if h.partial != w.partial {
                what.push("partial filter");
            }
            emit(ChangeKind::ReplaceIndex {
                from: h.clone(),
                to: w.clone(),
                reason: format!("{} changed", what.join(", ")),
            });
            continue;
        }
        emit(ChangeKind::CreateIndex { index: w.clone() });
    }
    for (j, h) in have.indexes.iter().enumerate() {
        if !used[j] && !glob_any(&want.ignore_indexes, &h.name) {
            emit(ChangeKind::UnmanagedIndex {
                index: h.clone(),
                retire_after: want.retire_after,
            });
        }
    }
}

fn compare_same_identity(h: &Index, w: &Index, emit: &mut dyn FnMut(ChangeKind)) {
    let mut replace = Vec::new();
    if w.name_declared && h.name != w.name {
        replace.push(format!("renamed `{}` → `{}`", h.name, w.name));
    }
    if h.unique && !w.unique {
        replace.push("unique removed".to_string());
    }
    if h.sparse != w.sparse {
        replace.push(format!("sparse {} → {}", h.sparse, w.sparse));
    }
    if h.weights != w.weights {
        replace.push("text weights changed".to_string());
    }
    if h.default_language != w.default_language || h.language_override != w.language_override {
        replace.push("text language options changed".to_string());
    }
    if h.wildcard_projection != w.wildcard_projection {
        replace.push("wildcard projection changed".to_string());
    }
    if h.sphere_version != w.sphere_version {
        replace.push(format!(
            "2dsphere index version {} → {}",
            h.sphere_version.unwrap_or(3),
            w.sphere_version.unwrap_or(3)
        ));
    }
    if h.expire_after.is_some() && w.expire_after.is_none() {
        replace.push("TTL removed".to_string());
    }
    if h.keys
        .iter()
        .any(|(_, k)| matches!(k, crate::model::IndexKind::Other(_)))
    {
        return; // Server-only index types: nothing the spec can say about them.
    }
    if !replace.is_empty() {
        emit(ChangeKind::ReplaceIndex {
            from: h.clone(),
            to: w.clone(),
            reason: replace.join(", "),
        });
        return;
    }
    if let Some(to) = w.expire_after
        && h.expire_after != Some(to)
    {
        emit(ChangeKind::SetIndexTtl {
            name: h.name.clone(),
            from: h.expire_after,
            to,
        });
    }
    if h.hidden != w.hidden {
        emit(ChangeKind::SetIndexHidden {
            name: h.name.clone(),
            hidden: w.hidden,
        });
    }
    if !h.unique && w.unique {
        let mut index = w.clone();
        index.name = h.name.clone();
        emit(ChangeKind::MakeIndexUnique { index });
    }
}

/// Does `name` match any of the names or glob patterns (`*`, `?`)?
pub fn glob_any(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| glob(p.as_bytes(), name.as_bytes()))
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::glob_any;

    #[test]
    fn globs() {
        let p = vec!["atlas_search_*".to_string(), "tmp_?".to_string()];
        assert!(glob_any(&p, "atlas_search_default"));
        assert!(glob_any(&p, "tmp_1"));
        assert!(!glob_any(&p, "tmp_12"));
        assert!(!glob_any(&p, "email_1"));
    }

    use super::{Change, ChangeKind, Collection, Database, Schema, SearchIndex, diff};

    /// The search tests: a declared collection with `search` indexes, and the server's.
    fn search_schemas(declared: Vec<SearchIndex>, on_server: Vec<SearchIndex>) -> (Schema, Schema) {
        let collection = |indexes| Collection {
            name: "movies".into(),
            search_indexes: indexes,
            ..Default::default()
        };
        let schema = |indexes| {
            let mut db = Database {
                name: "app".into(),
                ..Default::default()
            };
            db.collections.insert("movies".into(), collection(indexes));
            let mut s = Schema::default();
            s.databases.insert("app".into(), db);
            s
        };
        (schema(on_server), schema(declared))
    }

    fn search(name: &str, definition: bson::Document) -> SearchIndex {
        SearchIndex {
            name: name.into(),
            kind: "search".into(),
            definition,
        }
    }

    #[test]
    fn search_indexes_compare_by_name_and_definition_as_the_server_does() {
        use bson::doc;
        let declared = search(
            "default",
            doc! { "mappings": { "dynamic": false, "fields": { "title": { "type": "string" } } } },
        );
        // The server's copy: keys in another order, a number as a double.
        let same = search(
            "default",
            doc! { "mappings": { "fields": { "title": { "type": "string" } }, "dynamic": false } },
        );
        let (have, want) = search_schemas(vec![declared.clone()], vec![same]);
        assert!(diff(&have, &want).is_empty());
        let v = |n: f64| SearchIndex {
            name: "v".into(),
            kind: "vectorSearch".into(),
            definition: doc! { "fields": [{ "type": "vector", "path": "e", "numDimensions": n, "similarity": "cosine" }] },
        };
        let mut as_int = v(0.0);
        as_int.definition = doc! { "fields": [{ "type": "vector", "path": "e", "numDimensions": 3, "similarity": "cosine" }] };
        let (have, want) = search_schemas(vec![as_int.clone()], vec![v(3.0)]);
        assert!(
            diff(&have, &want).is_empty(),
            "3 and 3.0 are the same dimension"
        );
        let (have, want) = search_schemas(vec![as_int], vec![v(4.0)]);
        assert!(matches!(
            &diff(&have, &want)[..],
            [Change {
                kind: ChangeKind::UpdateSearchIndex { .. },
                ..
            }]
        ));
        // Missing → create; the server's other one → unmanaged; none declared → not compared.
        let other = search("legacy", doc! { "mappings": { "dynamic": true } });
        let (have, want) = search_schemas(vec![declared.clone()], vec![other.clone()]);
        let changes = diff(&have, &want);
        assert_eq!(changes.len(), 2);
        assert!(matches!(
            changes[0].kind,
            ChangeKind::CreateSearchIndex { .. }
        ));
        assert!(matches!(
            changes[1].kind,
            ChangeKind::UnmanagedSearchIndex { .. }
        ));
        let (have, want) = search_schemas(vec![], vec![other]);
        assert!(diff(&have, &want).is_empty());
        // A server without search: nothing compared.
        let (mut have, want) = search_schemas(vec![declared], vec![]);
        have.no_search = true;
        assert!(diff(&have, &want).is_empty());
    }
}
