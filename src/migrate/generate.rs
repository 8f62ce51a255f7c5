//! What `migrate generate` and `migrate verify` decide, as pure functions: replay the migration
//! files on the model, compare with the schemas, and (for `generate`) turn the difference into
//! the next migration file, a fleet migration when it concerns a template. The command layer
//! only loads the files, writes the result and prints.

use super::{Migration, MigrationFile, generated_file, replay};
use crate::model::Schema;
use crate::normalize::{self, Side};
use crate::ops::Operation;
use crate::plan::{Plan, PlanOptions};

/// Why no migration can be generated.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GenerateError {
    /// `--database NAME` names a database the schemas do not declare.
    #[error("--database {0}: the schemas declare no such database")]
    UnknownDatabase(String),
    /// The changes concern a template and other databases at once.
    #[error(
        "the changes concern {0}: a migration for a template (`tenant_*`) holds that template alone; generate one per database with --database NAME"
    )]
    MixedTemplate(String),
}

/// What the migrations still lack to produce `desired` (normalised, spec side): the replayed
/// schema, the plan from it to `desired` (drops of undeclared objects included: the chain must
/// match exactly), and the warnings about steps that cannot be replayed. `only` narrows both
/// sides to those databases; otherwise databases the schemas do not name are not judged.
pub fn chain(
    migrations: &[Migration],
    desired: &Schema,
    only: &[String],
) -> Result<(Schema, Plan, Vec<String>), GenerateError> {
    // A fleet migration is replayed on its template: the folder named like its `databases:`.
    let placed: Vec<Migration> = migrations
        .iter()
        .map(|m| match &m.file.databases {
            Some(pattern) => m.in_database(pattern),
            None => m.clone(),
        })
        .collect();
    let (mut current, warnings) = replay::replay(&placed);
    normalize::schema(&mut current, Side::Server);
    let mut desired = desired.clone();
    if let Some(name) = only.iter().find(|n| !desired.databases.contains_key(*n)) {
        return Err(GenerateError::UnknownDatabase(name.clone()));
    }
    if only.is_empty() {
        current
            .databases
            .retain(|k, _| desired.databases.contains_key(k));
    } else {
        desired.databases.retain(|k, _| only.contains(k));
        current.databases.retain(|k, _| only.contains(k));
    }
    let changes = crate::diff::diff(&current, &desired);
    let plan = crate::plan::plan(
        &changes,
        &PlanOptions {
            prune: true,
            allow_destructive: true,
            ..Default::default()
        },
    );
    Ok((current, plan, warnings))
}

/// The next migration: its file (None when the migrations already produce the schemas), the
/// warnings (steps that cannot be replayed, differences no step can express), how many of its
/// steps destroy something each way, and whether it is a baseline.
#[derive(Debug)]
pub struct Generated {
    pub file: Option<MigrationFile>,
    pub warnings: Vec<String>,
    /// `up` steps that drop a collection or an index.
    pub destructive: usize,
    /// `down` steps that drop a collection or an index.
    pub destructive_down: usize,
    /// The first migration (the chain was empty): its `down` adopts, never drops (see
    /// [`super::baseline_file`]).
    pub baseline: bool,
}

/// Generate the migration that takes the chain of `migrations` to `desired`. Steps for a
/// template (`tenant_*`) make a fleet migration: `databases:` at the top, no `db` in its
/// operations; one template per file, not mixed with plain databases.
pub fn generate(
    migrations: &[Migration],
    desired: &Schema,
    only: &[String],
    description: String,
) -> Result<Generated, GenerateError> {
    let (_, plan, mut warnings) = chain(migrations, desired, only)?;
    warnings.extend(plan.notices.iter().map(|n| {
        format!(
            "{}.{}: {} (not expressible as a migration step)",
            n.db, n.collection, n.message
        )
    }));
    // A baseline: no migration yet concerns the databases this one does (the chain is empty
    // for them), so the collections it creates are adopted, not made.
    let touched: Vec<String> = migrations
        .iter()
        .flat_map(|m| match &m.file.databases {
            Some(pattern) => vec![pattern.clone()],
            None => m
                .file
                .up
                .iter()
                .map(|o| o.db().to_string())
                .filter(|d| !d.is_empty())
                .collect(),
        })
        .collect();
    let baseline = !plan.steps.iter().any(|s| touched.contains(&s.db));
    if plan.steps.is_empty() {
        return Ok(Generated {
            file: None,
            warnings,
            destructive: 0,
            destructive_down: 0,
            baseline,
        });
    }
    let mut file = if baseline {
        super::baseline_file(&plan, description)
    } else {
        generated_file(&plan, description)
    };
    let mut dbs: Vec<&str> = plan.steps.iter().map(|s| s.db.as_str()).collect();
    dbs.sort_unstable();
    dbs.dedup();
    if dbs.iter().any(|d| crate::names::is_template(d)) {
        let [template] = dbs.as_slice() else {
            return Err(GenerateError::MixedTemplate(dbs.join(", ")));
        };
        file.databases = Some(template.to_string());
        for op in file.up.iter_mut().chain(file.down.iter_mut()) {
            op.set_db("");
        }
    }
    Ok(Generated {
        destructive: file.up.iter().filter(|o| o.destroys()).count(),
        destructive_down: file.down.iter().filter(|o| o.destroys()).count(),
        file: Some(file),
        warnings,
        baseline,
    })
}

/// The declared evolutions of `desired` the chain has not carried out: those with no
/// `evolve_field` step yet (their expand and migrate phases are due), and those with no
/// `contract_field` (their contract is).
pub fn pending_evolutions(
    migrations: &[Migration],
    desired: &Schema,
) -> (Vec<crate::model::Evolution>, Vec<crate::model::Evolution>) {
    let steps: Vec<(&str, &Operation)> = migrations
        .iter()
        .flat_map(|m| {
            let place = m.file.databases.as_deref().unwrap_or("");
            m.file.up.iter().map(move |o| (place, o))
        })
        .collect();
    let has = |e: &crate::model::Evolution, contract: bool| {
        steps.iter().any(|(place, o)| {
            let db = if o.db().is_empty() { *place } else { o.db() };
            let (is_contract, field) = match o {
                Operation::EvolveField { field, .. } => (false, field),
                Operation::ContractField { field, .. } => (true, field),
                _ => return false,
            };
            is_contract == contract
                && db == e.db
                && o.collection() == e.collection
                && *field == e.field
        })
    };
    let all = crate::evolve::declared(desired);
    (
        all.iter().filter(|e| !has(e, false)).cloned().collect(),
        all.iter().filter(|e| !has(e, true)).cloned().collect(),
    )
}

/// The schemas of the expand phase of `pending`: `desired` with their collections' validators
/// accepting both shapes and the chain's indexes on their old paths kept.
pub fn expanded(
    migrations: &[Migration],
    desired: &Schema,
    only: &[String],
    pending: &[crate::model::Evolution],
) -> Result<Schema, GenerateError> {
    let (current, _, _) = chain(migrations, desired, only)?;
    let states: Vec<crate::evolve::State> = pending
        .iter()
        .map(|e| crate::evolve::decide(e, &crate::evolve::Facts::default(), 0))
        .collect();
    let mut out = desired.clone();
    crate::evolve::shape_desired(&mut out, &current, &states);
    Ok(out)
}

/// The migrate phase of each of `pending` at the end of `file`'s `up` (after the expand steps),
/// its reverse first in `down`.
pub fn add_migrate_steps(file: &mut MigrationFile, pending: &[crate::model::Evolution]) {
    for e in pending {
        let mut op = crate::plan::evolve_op(e);
        let mut back = crate::plan::evolve_reverse(e);
        if file.databases.is_some() {
            op.set_db("");
            back.iter_mut().for_each(|o| o.set_db(""));
        }
        file.up.push(op);
        for (k, o) in back.into_iter().enumerate() {
            file.down.insert(k, o);
        }
    }
}

/// The contract's guard of each of `pending` first in `file`'s `up`: it refuses while
/// documents are in the old shape, or before `contract_after` has passed since the migrate
/// phase finished.
pub fn add_contract_guards(file: &mut MigrationFile, pending: &[crate::model::Evolution]) {
    for (k, e) in pending.iter().enumerate() {
        let mut op = crate::plan::contract_op(e, Some(e.contract_after));
        if file.databases.is_some() {
            op.set_db("");
        }
        file.up.insert(k, op);
    }
}

/// How changes that concern plain databases and templates are split into files: one named
/// `name` for the plain databases, and one per template named `name_<template>` (a template's
/// migration holds that template alone). Each with the databases it covers.
pub fn file_groups(desired: &Schema, name: &str) -> Vec<(String, Vec<String>)> {
    let (templates, plain): (Vec<&String>, Vec<&String>) = desired
        .databases
        .keys()
        .partition(|d| crate::names::is_template(d));
    let mut out = Vec::new();
    if !plain.is_empty() {
        out.push((name.to_string(), plain.into_iter().cloned().collect()));
    }
    for t in templates {
        let mut suffix: String = t
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        suffix = suffix.trim_matches('_').to_string();
        if suffix.is_empty() {
            suffix = "template".into();
        }
        let mut file = format!("{name}_{suffix}");
        while out.iter().any(|(n, _)| *n == file) {
            file.push('_');
        }
        out.push((file, vec![t.clone()]));
    }
    out
}

/// The version of the next file: `now` (`YYYYMMDDHHMMSS`, UTC), or one second after the newest
/// existing version when that is not earlier (two files generated in one second stay ordered,
/// and every version stays a real time: `...59` is followed by the next minute).
pub fn next_version(existing: &[Migration], now: String) -> String {
    match existing.last() {
        Some(last) if last.version >= now => one_second_after(&last.version).unwrap_or(now),
        _ => now,
    }
}

/// `YYYYMMDDHHMMSS` plus one second, as a real UTC time.
fn one_second_after(version: &str) -> Option<String> {
    let n = |a: usize, b: usize| version.get(a..b)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, s) = (
        n(0, 4)?,
        n(4, 6)?,
        n(6, 8)?,
        n(8, 10)?,
        n(10, 12)?,
        n(12, 14)?,
    );
    let at =
        bson::DateTime::parse_rfc3339_str(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"))
            .ok()?;
    let next = bson::DateTime::from_millis(at.timestamp_millis() + 1000);
    Some(
        next.try_to_rfc3339_string()
            .ok()?
            .chars()
            .filter(char::is_ascii_digit)
            .take(14)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Operation;
    use std::path::Path;

    /// The normalised model of schema files `(db/collection.yaml, text)`.
    fn desired(files: &[(&str, &str)]) -> Schema {
        let root = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = root.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let loaded = crate::spec::load_dir(root.path()).unwrap_or_else(|e| panic!("{e:?}"));
        let mut m = crate::spec::to_model(&loaded.spec);
        normalize::schema(&mut m, Side::Spec);
        m
    }

    fn migration(version: &str, text: &str) -> Migration {
        super::super::parse(Path::new(&format!("{version}_m.yaml")), text).unwrap()
    }

    const ORDERS: &str = "collection: orders\noptions:\n  collation: { locale: fr }\nfields:\n  sku: { type: string }\nindexes:\n  - keys: { sku: 1 }\n";

    #[test]
    fn a_dropped_collection_comes_back_in_down_with_its_options_and_indexes() {
        let first = generate(
            &[],
            &desired(&[("app/orders.yaml", ORDERS)]),
            &[],
            "one".into(),
        )
        .unwrap()
        .file
        .unwrap();
        let text = crate::migrate::render_file(&first, "first");
        let m = migration("20260101000000", &text);
        // The schemas no longer declare `orders`: up drops it, down re-creates it whole.
        let other = desired(&[("app/other.yaml", "collection: other\n")]);
        let g = generate(std::slice::from_ref(&m), &other, &[], "two".into()).unwrap();
        let file = g.file.unwrap();
        assert_eq!(g.destructive, 1);
        let down: Vec<String> = file.down.iter().map(|o| o.summary()).collect();
        let create = file
            .down
            .iter()
            .position(|o| matches!(o, Operation::CreateCollection { collection, options, .. } if collection == "orders" && options.contains_key("collation")))
            .unwrap_or_else(|| panic!("{down:?}"));
        let index = file
            .down
            .iter()
            .position(|o| matches!(o, Operation::CreateIndex { collection, .. } if collection == "orders"))
            .unwrap_or_else(|| panic!("{down:?}"));
        assert!(create < index, "{down:?}");
        assert!(
            !file
                .down
                .iter()
                .any(|o| matches!(o, Operation::Irreversible { .. }))
        );
    }

    #[test]
    fn a_baseline_never_drops_what_it_adopts() {
        let g = generate(
            &[],
            &desired(&[
                ("app/orders.yaml", ORDERS),
                (
                    "app/users.yaml",
                    "collection: users\nfields:\n  email: { type: string }\n",
                ),
            ]),
            &[],
            "baseline".into(),
        )
        .unwrap();
        assert!(g.baseline);
        assert_eq!((g.destructive, g.destructive_down), (0, 0));
        let file = g.file.unwrap();
        assert!(!file.down.is_empty());
        assert!(
            file.down.iter().all(
                |o| matches!(o, Operation::Irreversible { reason } if reason.contains("adopts"))
            ),
            "{:?}",
            file.down
        );
        assert_eq!(
            file.down.len(),
            2,
            "one per adopted collection: {:?}",
            file.down
        );
        // The next migration is not a baseline: a new collection's down drops it.
        let m = migration("20260101000000", &crate::migrate::render_file(&file, "x"));
        let g = generate(
            &[m],
            &desired(&[
                ("app/orders.yaml", ORDERS),
                (
                    "app/users.yaml",
                    "collection: users\nfields:\n  email: { type: string }\n",
                ),
                ("app/audit.yaml", "collection: audit\n"),
            ]),
            &[],
            "two".into(),
        )
        .unwrap();
        assert!(!g.baseline);
        assert_eq!((g.destructive, g.destructive_down), (0, 1));
    }

    #[test]
    fn nothing_to_generate_when_the_chain_produces_the_schemas() {
        let want = desired(&[("app/orders.yaml", ORDERS)]);
        let first = generate(&[], &want, &[], "one".into())
            .unwrap()
            .file
            .unwrap();
        let m = migration("20260101000000", &crate::migrate::render_file(&first, "x"));
        let g = generate(&[m], &want, &[], "again".into()).unwrap();
        assert!(g.file.is_none(), "{:?}", g.file);
    }

    #[test]
    fn refusals_are_typed() {
        let want = desired(&[("app/orders.yaml", ORDERS)]);
        assert_eq!(
            generate(&[], &want, &["nope".into()], "x".into()).unwrap_err(),
            GenerateError::UnknownDatabase("nope".into())
        );
        let mixed = desired(&[
            ("app/orders.yaml", ORDERS),
            ("tenant_*/orders.yaml", ORDERS),
        ]);
        assert!(matches!(
            generate(&[], &mixed, &[], "x".into()).unwrap_err(),
            GenerateError::MixedTemplate(_)
        ));
        // A template alone: a fleet migration, no `db` in its operations.
        let fleet = desired(&[("tenant_*/orders.yaml", ORDERS)]);
        let file = generate(&[], &fleet, &[], "x".into())
            .unwrap()
            .file
            .unwrap();
        assert_eq!(file.databases.as_deref(), Some("tenant_*"));
        assert!(file.up.iter().all(|o| o.db().is_empty()));
    }

    #[test]
    fn versions_stay_ordered_within_one_second() {
        let m = migration("20260101000000", "description: x\nup: []\ndown: []\n");
        assert_eq!(
            next_version(std::slice::from_ref(&m), "20260101000000".into()),
            "20260101000001"
        );
        assert_eq!(
            next_version(&[m], "20270101000000".into()),
            "20270101000000"
        );
        // The second after :59 is the next minute (and the next year, here).
        let m = migration("20261231235959", "description: x\nup: []\ndown: []\n");
        assert_eq!(
            next_version(&[m], "20261231235959".into()),
            "20270101000000"
        );
    }
}
