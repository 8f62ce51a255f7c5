//! Checks of a parsed migration file beyond its shape: what the server would refuse, and what is
//! almost certainly a mistake (drop every index, rename a field onto itself, an update that is
//! not an update). Pure; positions are looked up only for the operations that have a problem.

use super::MigrationFile;
use crate::names;
use crate::ops::Operation;
use crate::spec::pos::PosIndex;
use crate::yaml::show;
use bson::{Bson, Document};

/// One problem: where it is (a path in the file) and what it is.
struct Problem {
    path: Vec<String>,
    message: String,
}

/// Every problem of `file` as (line, column, message).
pub fn check_file(text: &str, file: &MigrationFile) -> Vec<(usize, usize, String)> {
    let mut problems = Vec::new();
    if let Some(pattern) = &file.databases {
        let literal = pattern.replace(['*', '?'], "x");
        if let Some(why) = names::database_problem(&literal) {
            problems.push(Problem {
                path: vec!["databases".into()],
                message: format!("`databases: {pattern}`: {why}"),
            });
        }
    }
    let fleet = file.databases.is_some();
    for (list, ops) in [("up", &file.up), ("down", &file.down)] {
        for (i, op) in ops.iter().enumerate() {
            let base = vec![list.to_string(), i.to_string(), op_key(op).to_string()];
            let mut push = |keys: &[&str], message: String| {
                let mut path = base.clone();
                path.extend(keys.iter().map(|k| k.to_string()));
                problems.push(Problem {
                    path,
                    message: format!("{list}[{i}] {}: {message}", op_key(op)),
                });
            };
            if list == "up" && matches!(op, Operation::Irreversible { .. }) {
                push(&[], "`irreversible` belongs in `down`".into());
                continue;
            }
            if fleet && !op.db().is_empty() {
                push(
                    &["db"],
                    "leave out `db`: this migration runs in each database matching `databases:`"
                        .into(),
                );
                continue;
            }
            if !fleet && op.db().is_empty() && !matches!(op, Operation::Irreversible { .. }) {
                push(
                    &[],
                    "missing key `db`, or it is empty: name the database it runs in (or put `databases: <pattern>` at the top of the file to run it in every matching database)".into(),
                );
                continue;
            }
            if fleet {
                // Checked as it will run: in some database of the fleet.
                let mut placed = op.clone();
                placed.set_db("fleet");
                check_op(&placed, &mut push);
            } else {
                check_op(op, &mut push);
            }
        }
    }
    if problems.is_empty() {
        return Vec::new();
    }
    let pos = PosIndex::build_for(text, problems.iter().map(|p| p.path.as_slice()));
    problems
        .into_iter()
        .map(|p| {
            let at = pos.value(&p.path);
            (at.line, at.column, crate::yaml::tidy(&p.message))
        })
        .collect()
}

/// What a file probably does not mean, as (line, column, message): an `update_many` whose
/// filter matches every document (then only the update itself can make the step idempotent).
pub fn warnings(text: &str, file: &MigrationFile) -> Vec<(usize, usize, String)> {
    let mut found = Vec::new();
    for (list, ops) in [("up", &file.up), ("down", &file.down)] {
        for (i, op) in ops.iter().enumerate() {
            if let Operation::UpdateMany { filter, .. } = op
                && filter.is_empty()
            {
                found.push(Problem {
                    path: vec![
                        list.to_string(),
                        i.to_string(),
                        "update_many".into(),
                        "filter".into(),
                    ],
                    message: format!(
                        "{list}[{i}] update_many: `filter: {{}}` updates every document; select only the documents not updated yet, so that running the step twice changes nothing more"
                    ),
                });
            }
        }
    }
    if found.is_empty() {
        return Vec::new();
    }
    let pos = PosIndex::build_for(text, found.iter().map(|p| p.path.as_slice()));
    found
        .into_iter()
        .map(|p| {
            let at = pos.value(&p.path);
            (at.line, at.column, p.message)
        })
        .collect()
}

/// The largest BSON document a server accepts (a command included).
const MAX_BSON: usize = 16 * 1024 * 1024;

/// The key an operation is written under.
fn op_key(op: &Operation) -> &'static str {
    match op {
        Operation::CreateCollection { .. } => "create_collection",
        Operation::DropCollection { .. } => "drop_collection",
        Operation::ModifyCollection { .. } => "modify_collection",
        Operation::CreateIndex { .. } => "create_index",
        Operation::DropIndex { .. } => "drop_index",
        Operation::ModifyIndex { .. } => "modify_index",
        Operation::MakeIndexUnique { .. } => "make_index_unique",
        Operation::SetValidator { .. } => "set_validator",
        Operation::Backfill { .. } => "backfill",
        Operation::UpdateMany { .. } => "update_many",
        Operation::RenameField { .. } => "rename_field",
        Operation::EvolveField { .. } => "evolve_field",
        Operation::ContractField { .. } => "contract_field",
        Operation::ShardCollection { .. } => "shard_collection",
        Operation::RefineShardKey { .. } => "refine_shard_key",
        Operation::CreateSearchIndex { .. } => "create_search_index",
        Operation::UpdateSearchIndex { .. } => "update_search_index",
        Operation::DropSearchIndex { .. } => "drop_search_index",
        Operation::Command { .. } => "command",
        Operation::Irreversible { .. } => "irreversible",
    }
}

const MAX_TTL: i64 = i32::MAX as i64;

fn check_op(op: &Operation, push: &mut dyn FnMut(&[&str], String)) {
    if let Ok(doc) = bson::to_document(op)
        && let Ok(bytes) = bson::to_vec(&doc)
        && bytes.len() > MAX_BSON
    {
        push(
            &[],
            format!(
                "it is {:.1} MB as BSON; a server refuses any command over 16 MB",
                bytes.len() as f64 / 1_048_576.0
            ),
        );
        return;
    }
    let db = op.db();
    if !matches!(op, Operation::Irreversible { .. })
        && let Some(why) = names::database_problem(db)
    {
        push(&["db"], why);
    }
    let has_collection = !matches!(
        op,
        Operation::Command { .. } | Operation::Irreversible { .. }
    );
    if has_collection && let Some(why) = names::collection_problem(db, op.collection()) {
        push(&["collection"], why);
    }
    match op {
        Operation::CreateCollection { options, .. } => {
            if let Ok(v) = options.get_document("validator") {
                check_validator(v, &["options", "validator"], push);
            }
        }
        Operation::CreateIndex { index, .. } => check_index_spec(index, push),
        Operation::ShardCollection {
            key,
            unique,
            initial_chunks,
            ..
        } => match crate::shard::parse_key(key) {
            Some(keys) if !keys.is_empty() => {
                let k = crate::model::ShardKey {
                    keys,
                    unique: *unique,
                    initial_chunks: *initial_chunks,
                };
                // The rules that do not need the collection's indexes.
                for why in crate::shard::problems(&k, &[], false, false)
                    .into_iter()
                    .filter(|w| !w.starts_with("no declared index"))
                {
                    push(&[], why);
                }
            }
            _ => push(
                &["key"],
                "a shard key is `{ field: 1 | hashed, ... }` with at least one field".into(),
            ),
        },
        Operation::CreateSearchIndex { index, .. } => {
            match crate::model::SearchIndex::from_document(index) {
                Some(s) if !["search", "vectorSearch"].contains(&s.kind.as_str()) => push(
                    &["index", "type"],
                    format!(
                        "unknown search index type `{}`; expected `search` or `vectorSearch`",
                        s.kind
                    ),
                ),
                Some(_) => {}
                None => push(
                    &["index"],
                    "a search index is `{ name, type: search | vectorSearch, definition: {...} }`"
                        .into(),
                ),
            }
        }
        Operation::RefineShardKey { key, .. } => {
            if crate::shard::parse_key(key).is_none_or(|k| k.is_empty()) {
                push(
                    &["key"],
                    "a shard key is `{ field: 1 | hashed, ... }` with at least one field".into(),
                );
            }
        }
        Operation::ModifyCollection { options, .. } => {
            if options.is_empty() {
                push(&["options"], "says nothing to change".into());
            }
            if let Some(k) = options.keys().find(|k| {
                ![
                    "expireAfterSeconds",
                    "changeStreamPreAndPostImages",
                    "viewOn",
                    "pipeline",
                    "validator",
                    "validationLevel",
                    "validationAction",
                ]
                .contains(&k.as_str())
            }) {
                push(
                    &["options", k],
                    format!(
                        "{} cannot change in place; `modify_collection` sets expireAfterSeconds, changeStreamPreAndPostImages, viewOn and pipeline",
                        show(k)
                    ),
                );
            }
        }
        Operation::DropIndex { name, .. } | Operation::MakeIndexUnique { name, .. } => {
            if let Some(why) = names::index_name_problem(name) {
                push(&["name"], why);
            }
        }
        Operation::ModifyIndex {
            name,
            expire_after,
            hidden,
            ..
        } => {
            if let Some(why) = names::index_name_problem(name) {
                push(&["name"], why);
            }
            if expire_after.is_none() && hidden.is_none() {
                push(
                    &[],
                    "says nothing to change; give `expire_after` (seconds) and/or `hidden`".into(),
                );
            }
            if let Some(s) = expire_after {
                ttl_problem(*s, &["expire_after"], push);
            }
        }
        Operation::SetValidator { validator, .. } => {
            if let Some(v) = validator {
                check_validator(v, &["validator"], push);
            }
        }
        Operation::Backfill { field, .. } => {
            if let Some(why) = names::field_path_problem(field) {
                push(&["field"], why);
            }
        }
        Operation::UpdateMany { update, .. } => match update {
            Bson::Document(d) => {
                if d.is_empty() {
                    push(
                        &["update"],
                        "the update is empty; it would change nothing".into(),
                    );
                } else if let Some(k) = d.keys().find(|k| !k.starts_with('$')) {
                    push(
                        &["update"],
                        format!(
                            "{} is not an update operator; an update is `{{ $set: {{...}} }}`, `{{ $unset: {{...}} }}`, ... or a pipeline `[ {{ $set: ... }} ]`",
                            show(k)
                        ),
                    );
                }
            }
            Bson::Array(stages) => {
                if stages.is_empty() {
                    push(&["update"], "the update pipeline is empty".into());
                }
                if stages.iter().any(|s| !matches!(s, Bson::Document(_))) {
                    push(
                        &["update"],
                        "every stage of an update pipeline is a document such as `{ $set: {...} }`"
                            .into(),
                    );
                }
            }
            other => push(
                &["update"],
                format!(
                    "found {}; an update is a document `{{ $set: {{...}} }}` or a pipeline `[ ... ]`",
                    show(&other.to_string())
                ),
            ),
        },
        Operation::RenameField { from, to, .. } => {
            for (key, path) in [("from", from), ("to", to)] {
                if let Some(why) = names::field_path_problem(path) {
                    push(&[key], why);
                }
            }
            if from == to {
                push(&["to"], format!("renames {} to itself", show(from)));
            } else if to.starts_with(&format!("{from}.")) || from.starts_with(&format!("{to}.")) {
                push(
                    &["to"],
                    format!(
                        "{} and {} are on the same path; MongoDB cannot rename a field into or out of itself",
                        show(from),
                        show(to)
                    ),
                );
            }
        }
        Operation::EvolveField {
            field,
            from,
            convert,
            types,
            ..
        } => {
            if let Some(why) = names::field_path_problem(field) {
                push(&["field"], why);
            }
            for (key, why) in crate::evolve::problems(field, from.as_deref(), convert.as_ref()) {
                push(&[key], why);
            }
            if from.is_none() && types.is_empty() {
                push(
                    &["types"],
                    "a type change in place says the new BSON types (`types: [date]`): a value of another type is in the old shape".into(),
                );
            }
        }
        Operation::ContractField {
            field, from, types, ..
        } => {
            if let Some(why) = names::field_path_problem(field) {
                push(&["field"], why);
            }
            if from.is_none() && types.is_empty() {
                push(
                    &["types"],
                    "without `from`, `types` says which values are in the new shape".into(),
                );
            }
        }
        Operation::Command { command, .. } => {
            if command.is_empty() {
                push(&["command"], "the command is empty".into());
            }
        }
        Operation::UpdateSearchIndex { name, .. } | Operation::DropSearchIndex { name, .. }
            if name.is_empty() =>
        {
            push(
                &["name"],
                "a search index step needs the index's `name`".into(),
            );
        }
        Operation::UpdateSearchIndex { .. }
        | Operation::DropSearchIndex { .. }
        | Operation::DropCollection { .. }
        | Operation::Irreversible { .. } => {}
    }
}

fn ttl_problem(seconds: i64, at: &[&str], push: &mut dyn FnMut(&[&str], String)) {
    if seconds < 0 {
        push(
            at,
            format!("a TTL of {seconds} seconds: it must be 0 or more"),
        );
    } else if seconds > MAX_TTL {
        push(
            at,
            format!("a TTL of {seconds} seconds is more than MongoDB allows ({MAX_TTL})"),
        );
    }
}

fn check_validator(v: &Document, at: &[&str], push: &mut dyn FnMut(&[&str], String)) {
    if let Some(schema) = v.get("$jsonSchema")
        && !matches!(schema, Bson::Document(_))
    {
        let mut path = at.to_vec();
        path.push("$jsonSchema");
        push(
            &path,
            format!(
                "`$jsonSchema` must be a document, found {}",
                show(&schema.to_string())
            ),
        );
    }
}

fn check_index_spec(index: &Document, push: &mut dyn FnMut(&[&str], String)) {
    match index.get("key") {
        Some(Bson::Document(key)) if !key.is_empty() => {
            for path in key.keys() {
                if let Some(why) = names::index_path_problem(path) {
                    push(&["index", "key", path], why);
                }
            }
            if key.len() > 32 {
                push(
                    &["index", "key"],
                    format!("an index has at most 32 keys; this one has {}", key.len()),
                );
            }
        }
        _ => push(
            &["index"],
            "`index` needs `key`, a non-empty document such as `{ email: 1 }`".into(),
        ),
    }
    match index.get("name") {
        Some(Bson::String(n)) => {
            if let Some(why) = names::index_name_problem(n) {
                push(&["index", "name"], why);
            }
        }
        _ => push(
            &["index"],
            "`index` needs `name` (the name `down` and later migrations refer to)".into(),
        ),
    }
    match index.get("expireAfterSeconds") {
        None => {}
        Some(Bson::Int32(s)) => ttl_problem(i64::from(*s), &["index", "expireAfterSeconds"], push),
        Some(Bson::Int64(s)) => ttl_problem(*s, &["index", "expireAfterSeconds"], push),
        Some(other) => push(
            &["index", "expireAfterSeconds"],
            format!("a TTL is a whole number of seconds, found {other}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::migrate::parse;
    use std::path::Path;

    fn err(text: &str) -> String {
        parse(Path::new("20250902000000_x.yaml"), text).unwrap_err()
    }

    #[test]
    fn mistakes_in_operations_are_refused_with_positions() {
        let e = err(
            "up:\n  - update_many: { db: a, collection: b, filer: { x: 1 }, update: { $set: { y: 1 } } }\n",
        );
        assert!(
            e.contains(":2:42: error: up[0]: unknown key `filer`"),
            "{e}"
        );
        let e = err("up:\n  - drop_index: { db: a, collection: b, name: '*' }\n");
        assert!(
            e.contains(":2:47: error: up[0] drop_index: `*` cannot name an index"),
            "{e}"
        );
        let e = err("up:\n  - rename_field: { db: a, collection: b, from: x, to: x }\n");
        assert!(e.contains("renames `x` to itself"), "{e}");
        let e = err("up:\n  - update_many: { db: a, collection: b, filter: {}, update: 5 }\n");
        assert!(e.contains("an update is a document"), "{e}");
        let e = err(
            "up:\n  - set_validator: { db: a, collection: b, validator: { $jsonSchema: 5 }, level: strict, action: error }\n",
        );
        assert!(e.contains("`$jsonSchema` must be a document"), "{e}");
        let e = err("up:\n  - modify_index: { db: a, collection: b, name: i, expire_after: -5 }\n");
        assert!(e.contains("must be 0 or more"), "{e}");
        let e = err("up:\n  - backfill: { db: a, collection: b, field: '$x..y', value: 1 }\n");
        assert!(e.contains("the part `$x` starts with `$`"), "{e}");
        let e = err("up:\n  - drop_collection: { db: '', collection: b }\n");
        assert!(e.contains("missing key `db`, or it is empty"), "{e}");
        let e = err("databases: 'tenant_*'\nup:\n  - drop_collection: { db: a, collection: b }\n");
        assert!(
            e.contains(":3:28: error: up[0] drop_collection: leave out `db`"),
            "{e}"
        );
        let e = err("up:\n  - update_many: { db: a, collection: b, update: { $set: { y: 1 } } }\n");
        assert!(e.contains("missing key `filter`"), "{e}");
        let e = parse(Path::new("20251399000000_x.yaml"), "up: []\n").unwrap_err();
        assert!(e.contains("not a real UTC time"), "{e}");
    }
}
