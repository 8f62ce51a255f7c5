//! The planner's logic per kind of change: each function turns one change into its steps
//! (each with its reverse) or a notice, in its phase. `super::plan` dispatches to them.

use super::{
    Draft, Marker, Notice, NoticeKind, Phase, PlanOptions, RetirePhase, Retiring, SafetyCheck,
    create_index_op, drop_index_op, free_name, prune_step, set_validator_op, step,
};
use crate::diff::{Change, same_identity};
use crate::model::{Collection, Index, SearchIndex, ShardKey, ValidationLevel, Validator};
use crate::ops::Operation;
use bson::Document;

/// What every kind needs besides its change.
pub(super) struct Ctx<'a> {
    pub opts: &'a PlanOptions,
    /// The change is about a collection this plan creates (so it is empty).
    pub is_new: bool,
}

/// Where the steps and notices go.
#[derive(Default)]
pub(super) struct Out {
    pub drafts: Vec<Draft>,
    pub notices: Vec<Notice>,
    pub retiring: Vec<super::Retiring>,
}

/// A collection the schemas declare and the server lacks: `create` with its options (validator,
/// collation, ...); undone by dropping it.
pub(super) fn create_collection(c: &Change, _ctx: &Ctx, out: &mut Out, collection: &Collection) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    let mut options = collection.to_create_command();
    options.remove("create");
    let op = Operation::CreateCollection {
        db: db.into(),
        collection: coll.into(),
        options,
    };
    let reverse = Operation::DropCollection {
        db: db.into(),
        collection: coll.into(),
    };
    out.drafts.push(Draft {
        phase: Phase::CreateCollection,
        step: step(
            c,
            Marker::Create,
            op,
            Some(reverse),
            "declared in the schemas, missing on the server".into(),
        ),
    });
}

/// An index the schemas declare and the server lacks; a unique one on an existing collection is
/// checked for duplicate keys first.
pub(super) fn create_index(c: &Change, ctx: &Ctx, out: &mut Out, index: &Index) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    let mut s = step(
        c,
        Marker::Create,
        create_index_op(db, coll, index),
        Some(drop_index_op(db, coll, &index.name)),
        "declared in the schemas, missing on the server".into(),
    );
    if index.unique && !ctx.is_new {
        s.check = Some(SafetyCheck::DuplicateKeys {
            index: Box::new(index.clone()),
        });
    }
    out.drafts.push(Draft {
        phase: Phase::CreateIndex,
        step: s,
    });
}

/// An index whose definition changed: the new one is built first under a free name where both can
/// exist, else the old one is dropped first.
pub(super) fn replace_index(
    c: &Change,
    _ctx: &Ctx,
    out: &mut Out,
    from: &Index,
    to: &Index,
    reason: &str,
) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    // Two indexes with the same identity, or the same declared name, cannot coexist:
    // then the old one goes first. Otherwise the new one is built first.
    let mut to = to.clone();
    let clash_identity = same_identity(from, &to);
    let clash_name = from.name == to.name;
    let drop_first = clash_identity || (clash_name && to.name_declared);
    let mut why = format!("replace index `{}`: {reason}", from.name);
    if !drop_first && clash_name {
        to.name = free_name(&to.name, &from.name);
        why.push_str(&format!(
            "; built as `{}` while `{}` still serves queries",
            to.name, from.name
        ));
    }
    if drop_first {
        why.push_str("; the old index is dropped first (both cannot exist at once), so queries lose it for the build");
    }
    let mut create = step(
        c,
        Marker::Create,
        create_index_op(db, coll, &to),
        Some(drop_index_op(db, coll, &to.name)),
        why.clone(),
    );
    if to.unique {
        create.check = Some(SafetyCheck::DuplicateKeys {
            index: Box::new(to.clone()),
        });
    }
    let drop = step(
        c,
        Marker::Remove,
        drop_index_op(db, coll, &from.name),
        Some(create_index_op(db, coll, from)),
        why,
    );
    if drop_first {
        out.drafts.push(Draft {
            phase: Phase::ReplaceDrop,
            step: drop,
        });
        out.drafts.push(Draft {
            phase: Phase::ReplaceDrop,
            step: create,
        });
    } else {
        out.drafts.push(Draft {
            phase: Phase::CreateIndex,
            step: create,
        });
        out.drafts.push(Draft {
            phase: Phase::ReplaceDrop,
            step: drop,
        });
    }
}

/// A TTL added or changed: `collMod`, in place.
pub(super) fn set_index_ttl(
    c: &Change,
    _ctx: &Ctx,
    out: &mut Out,
    name: &str,
    from: &Option<i64>,
    to: &i64,
) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    let op = Operation::ModifyIndex {
        db: db.into(),
        collection: coll.into(),
        name: name.to_string(),
        expire_after: Some(*to),
        hidden: None,
    };
    let reverse = from.map(|f| Operation::ModifyIndex {
        db: db.into(),
        collection: coll.into(),
        name: name.to_string(),
        expire_after: Some(f),
        hidden: None,
    });
    let reason = match from {
        Some(f) => format!(
            "TTL of `{name}` {} → {} (in place, no rebuild)",
            crate::progress::ttl(*f),
            crate::progress::ttl(*to)
        ),
        None => format!(
            "add TTL {} to `{name}` (in place, no rebuild)",
            crate::progress::ttl(*to)
        ),
    };
    out.drafts.push(Draft {
        phase: Phase::InPlace,
        step: step(c, Marker::Modify, op, reverse, reason),
    });
}

/// Collection options that change in place (`collMod`).
pub(super) fn modify_collection(
    c: &Change,
    _ctx: &Ctx,
    out: &mut Out,
    set: &Document,
    undo: &Document,
    reason: &str,
) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    let op = |options: &Document| Operation::ModifyCollection {
        db: db.into(),
        collection: coll.into(),
        options: options.clone(),
    };
    out.drafts.push(Draft {
        phase: Phase::InPlace,
        step: step(
            c,
            Marker::Modify,
            op(set),
            Some(op(undo)),
            format!("{reason} (in place)"),
        ),
    });
}

/// An index hidden or unhidden: `collMod`, in place.
pub(super) fn set_index_hidden(c: &Change, _ctx: &Ctx, out: &mut Out, name: &str, hidden: &bool) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    let mk = |h: bool| Operation::ModifyIndex {
        db: db.into(),
        collection: coll.into(),
        name: name.to_string(),
        expire_after: None,
        hidden: Some(h),
    };
    let reason = format!(
        "{} index `{name}` (in place)",
        if *hidden { "hide" } else { "unhide" }
    );
    out.drafts.push(Draft {
        phase: Phase::InPlace,
        step: step(c, Marker::Modify, mk(*hidden), Some(mk(!*hidden)), reason),
    });
}

/// An index made unique in place, checked for duplicate keys first.
pub(super) fn make_index_unique(c: &Change, _ctx: &Ctx, out: &mut Out, index: &Index) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    let op = Operation::MakeIndexUnique {
        db: db.into(),
        collection: coll.into(),
        name: index.name.clone(),
    };
    let mut s = step(
        c,
        Marker::Modify,
        op,
        None,
        format!(
            "make `{}` unique in place (prepareUnique, then unique)",
            index.name
        ),
    );
    s.check = Some(SafetyCheck::DuplicateKeys {
        index: Box::new(index.clone()),
    });
    out.drafts.push(Draft {
        phase: Phase::InPlace,
        step: s,
    });
}

/// A validator added, changed or removed; on an existing collection, checked against its documents.
pub(super) fn set_validator(
    c: &Change,
    ctx: &Ctx,
    out: &mut Out,
    from: &Option<Validator>,
    to: &Option<Validator>,
) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    let reason = match (from, to) {
        (None, Some(_)) => "add validator".to_string(),
        (Some(_), None) => "remove validator".to_string(),
        (Some(f), Some(t)) if crate::normalize::same_validator_document(f, t) => {
            format!(
                "validation level/action {}/{} → {}/{}",
                f.level.as_str(),
                f.action.as_str(),
                t.level.as_str(),
                t.action.as_str()
            )
        }
        _ => "change validator".to_string(),
    };
    let mut s = step(
        c,
        Marker::Modify,
        set_validator_op(db, coll, to),
        Some(set_validator_op(db, coll, from)),
        reason,
    );
    if let Some(t) = to
        && !ctx.is_new
        && t.level != ValidationLevel::Off
    {
        s.check = Some(SafetyCheck::ValidatorViolations {
            validator: t.document(),
        });
    }
    s.validator_change = Some((
        from.as_ref().map(Validator::document),
        to.as_ref().map(Validator::document),
    ));
    out.drafts.push(Draft {
        phase: Phase::Validator,
        step: s,
    });
}

/// A declared shard key on a collection that is not sharded: `shardCollection`, after the index
/// that supports it.
pub(super) fn shard_collection(
    c: &Change,
    _ctx: &Ctx,
    out: &mut Out,
    key: &ShardKey,
    simple_collation: &bool,
) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    let op = Operation::ShardCollection {
        db: db.into(),
        collection: coll.into(),
        key: key.key_document(),
        unique: key.unique,
        initial_chunks: key.initial_chunks,
        simple_collation: *simple_collation,
    };
    let irreversible = Operation::Irreversible {
        reason: format!("{db}.{coll} cannot be unsharded"),
    };
    out.drafts.push(Draft {
        phase: Phase::Shard,
        step: step(
            c,
            Marker::Create,
            op,
            Some(irreversible),
            format!(
                "declared shard key {}; the collection is not sharded",
                key.key_document()
            ),
        ),
    });
}

/// A shard key grown by suffix fields: `refineCollectionShardKey`.
pub(super) fn refine_shard_key(
    c: &Change,
    _ctx: &Ctx,
    out: &mut Out,
    from: &ShardKey,
    to: &ShardKey,
) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    let op = Operation::RefineShardKey {
        db: db.into(),
        collection: coll.into(),
        key: to.key_document(),
    };
    let irreversible = Operation::Irreversible {
        reason: format!("a refined shard key of {db}.{coll} cannot be shortened"),
    };
    out.drafts.push(Draft {
        phase: Phase::Shard,
        step: step(
            c,
            Marker::Modify,
            op,
            Some(irreversible),
            format!(
                "shard key {} → {} (suffix fields, refined in place)",
                from.key_document(),
                to.key_document()
            ),
        ),
    });
}

/// A declared search index the server lacks: `createSearchIndexes` (undone by dropping it).
pub(super) fn create_search_index(c: &Change, _ctx: &Ctx, out: &mut Out, index: &SearchIndex) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    out.drafts.push(Draft {
        phase: Phase::Search,
        step: step(
            c,
            Marker::Create,
            create_search_index_op(db, coll, index),
            Some(drop_search_index_op(db, coll, &index.name)),
            "declared in the schemas, missing on the server".to_string(),
        ),
    });
}

fn create_search_index_op(db: &str, coll: &str, index: &SearchIndex) -> Operation {
    Operation::CreateSearchIndex {
        db: db.into(),
        collection: coll.into(),
        index: index.to_document(),
    }
}

fn drop_search_index_op(db: &str, coll: &str, name: &str) -> Operation {
    Operation::DropSearchIndex {
        db: db.into(),
        collection: coll.into(),
        name: name.into(),
    }
}

/// A search index whose definition changed: `updateSearchIndex` (undone by the old one).
pub(super) fn update_search_index(
    c: &Change,
    _ctx: &Ctx,
    out: &mut Out,
    from: &SearchIndex,
    to: &SearchIndex,
) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    let update = |i: &SearchIndex| Operation::UpdateSearchIndex {
        db: db.into(),
        collection: coll.into(),
        name: i.name.clone(),
        definition: i.definition.clone(),
    };
    out.drafts.push(Draft {
        phase: Phase::Search,
        step: step(
            c,
            Marker::Modify,
            update(to),
            Some(update(from)),
            format!("search index `{}`: its definition changed", to.name),
        ),
    });
}

/// A search index no schema declares: dropped with --prune (destructive), else a notice.
pub(super) fn unmanaged_search_index(c: &Change, ctx: &Ctx, out: &mut Out, index: &SearchIndex) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    let what = format!("search index `{}`", index.name);
    undeclared(
        c,
        ctx,
        out,
        Undeclared {
            drop: drop_search_index_op(db, coll, &index.name),
            undo: create_search_index_op(db, coll, index),
            reason: format!("{what} declared by no schema (--prune)"),
            skipped: "drops a search index; pass --allow-destructive to run it",
            left_alone: format!(
                "{what} is declared by no schema: left alone (declare it, or drop it with --prune --allow-destructive)"
            ),
        },
    );
}

/// A shard key that cannot change in place: a notice.
pub(super) fn shard_key_mismatch(c: &Change, _ctx: &Ctx, out: &mut Out, reason: &str) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    out.notices.push(Notice {
        db: db.into(),
        collection: coll.into(),
        kind: NoticeKind::ShardKey,
        message: reason.to_string(),
    });
}

/// An option fixed at creation that differs: a notice (mongrate never recreates a collection).
pub(super) fn needs_recreate(c: &Change, _ctx: &Ctx, out: &mut Out, reason: &str) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    out.notices.push(Notice {
        db: db.into(),
        collection: coll.into(),
        kind: NoticeKind::NeedsRecreate,
        message: format!(
            "needs to be recreated, which mongrate never does automatically: {reason}"
        ),
    });
}

/// A collection no schema declares: dropped with --prune (and --allow-destructive), a notice
/// otherwise. The drop is undone by re-creating it with its options, then each of its indexes
/// (its documents are gone).
pub(super) fn unmanaged_collection(c: &Change, ctx: &Ctx, out: &mut Out, have: &Collection) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    let what = match have.kind {
        crate::model::CollectionKind::View => "view",
        crate::model::CollectionKind::Timeseries => "time-series collection",
        crate::model::CollectionKind::Collection => "collection",
    };
    if ctx.opts.prune {
        let drop = Operation::DropCollection {
            db: db.into(),
            collection: coll.into(),
        };
        let mut options = have.to_create_command();
        options.remove("create");
        let mut draft = prune_step(
            c,
            drop,
            Some(Operation::CreateCollection {
                db: db.into(),
                collection: coll.into(),
                options,
            }),
            format!("{what} declared by no schema (--prune)"),
            "destroys data; pass --allow-destructive to run it",
            ctx.opts,
        );
        draft
            .step
            .reverse
            .extend(have.indexes.iter().map(|i| create_index_op(db, coll, i)));
        out.drafts.push(draft);
    } else {
        out.notices.push(Notice {
            db: db.into(),
            collection: coll.into(),
            kind: NoticeKind::UnmanagedCollection,
            message: format!("{what} declared by no schema: left alone (declare it, list it in `ignore_collections`, or drop it with --prune --allow-destructive)"),
        });
    }
}

/// An index no schema declares: dropped with --prune (and --allow-destructive), a notice otherwise.
pub(super) fn unmanaged_index(c: &Change, ctx: &Ctx, out: &mut Out, index: &Index) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    undeclared(
        c,
        ctx,
        out,
        Undeclared {
            drop: drop_index_op(db, coll, &index.name),
            undo: create_index_op(db, coll, index),
            reason: format!("index `{}` declared by no schema (--prune)", index.name),
            skipped: "drops an index; pass --allow-destructive to run it",
            left_alone: format!(
                "index `{}` {} is declared by no schema: left alone (declare it, list it in `ignore_indexes`, or drop it with --prune --allow-destructive)",
                index.name,
                index.key_document()
            ),
        },
    );
}

/// An index (or search index) on the server that no schema declares.
struct Undeclared {
    drop: Operation,
    undo: Operation,
    /// The reason of the drop step.
    reason: String,
    /// Why the drop is skipped without --allow-destructive.
    skipped: &'static str,
    /// The notice without --prune.
    left_alone: String,
}

/// With --prune, its drop (destructive: skipped unless --allow-destructive); else a notice.
fn undeclared(c: &Change, ctx: &Ctx, out: &mut Out, u: Undeclared) {
    if ctx.opts.prune {
        out.drafts.push(prune_step(
            c,
            u.drop,
            Some(u.undo),
            u.reason,
            u.skipped,
            ctx.opts,
        ));
    } else {
        out.notices.push(Notice {
            db: c.db.clone(),
            collection: c.collection.clone(),
            kind: NoticeKind::UnmanagedIndex,
            message: u.left_alone,
        });
    }
}

/// An undeclared index of a collection with `retire_after`: retired in two phases. Visible (or
/// hidden with no record of when) → `apply --prune` hides it, which undoes instantly and starts
/// the clock; hidden for less than `retire_after` → left alone, shown as waiting; hidden longer →
/// dropped by `apply --prune --allow-destructive`. Declaring it again unhides it in place.
pub(super) fn retiring_index(c: &Change, ctx: &Ctx, out: &mut Out, index: &Index, after: i64) {
    let (db, coll) = (c.db.as_str(), c.collection.as_str());
    let retire = &ctx.opts.retire;
    let key = (c.db.clone(), c.collection.clone(), index.name.clone());
    let (phase, drop_after) = super::retire_phase(
        index.hidden,
        retire.hidden_at.get(&key).copied(),
        after,
        retire.now,
    );
    // A record counts only while the index is hidden.
    let hidden_at = drop_after.map(|t| t - after);
    let wait = super::show_duration(after);
    out.retiring.push(Retiring {
        db: db.into(),
        collection: coll.into(),
        index: index.name.clone(),
        phase,
        retire_after: after,
        hidden_at,
        drop_after,
    });
    let name = &index.name;
    match phase {
        RetirePhase::Visible if ctx.opts.prune => {
            let hide = |h: bool| Operation::ModifyIndex {
                db: db.into(),
                collection: coll.into(),
                name: name.clone(),
                expire_after: None,
                hidden: Some(h),
            };
            let how = if index.hidden {
                "already hidden; the clock starts now"
            } else {
                "the planner stops using it, and unhiding undoes it at once"
            };
            let mut s = step(
                c,
                Marker::Modify,
                hide(true),
                // Undone to the state it was found in.
                Some(hide(index.hidden)),
                format!("retire index `{name}`, phase 1 of 2: hide it ({how}); a later `apply --prune --allow-destructive` drops it once it has stayed hidden {wait}"),
            );
            s.retire = Some(RetirePhase::Visible);
            out.drafts.push(Draft {
                phase: Phase::InPlace,
                step: s,
            });
        }
        RetirePhase::Visible => out.notices.push(Notice {
            db: db.into(),
            collection: coll.into(),
            kind: NoticeKind::UnmanagedIndex,
            message: format!(
                "index `{name}` {} is declared by no schema: `apply --prune` retires it (hidden first, dropped after {wait} hidden); declare it to keep it",
                index.key_document()
            ),
        }),
        // Waiting out `retire_after`: as intended, so neither a step nor a difference.
        RetirePhase::Hidden => {}
        RetirePhase::Due if ctx.opts.prune => {
            let mut recreate = index.clone();
            recreate.hidden = true;
            let mut d = prune_step(
                c,
                drop_index_op(db, coll, name),
                Some(create_index_op(db, coll, &recreate)),
                format!("retire index `{name}`, phase 2 of 2: drop it (hidden since {}, {wait} ago or more)", super::rfc3339(hidden_at.unwrap_or_default())),
                "drops a retired index; pass --allow-destructive to run it",
                ctx.opts,
            );
            d.step.retire = Some(RetirePhase::Due);
            out.drafts.push(d);
        }
        RetirePhase::Due => out.notices.push(Notice {
            db: db.into(),
            collection: coll.into(),
            kind: NoticeKind::UnmanagedIndex,
            message: format!(
                "index `{name}` has been hidden since {} ({wait} or more): `apply --prune --allow-destructive` drops it; declare it to keep it",
                super::rfc3339(hidden_at.unwrap_or_default())
            ),
        }),
    }
}
