//! `validate` (check every schema file, list every problem) and `validator` (the `$jsonSchema`
//! a collection gets).

use super::{Settings, UsageError, load};
use crate::spec;
use crate::spec::jsonschema;
use crate::views::validate::{ValidateReport, ValidatorReport};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// `mongrate validate [FILE...]`: the schemas folder, or only the given files.
pub fn validate(settings: &Settings, files: &[PathBuf]) -> Result<ValidateReport> {
    if !files.is_empty() {
        return Ok(report(files_only(files)?, "the given files"));
    }
    let mut loaded = spec::load_dir(&settings.schemas)?;
    if !loaded.has_errors()
        && loaded
            .spec
            .databases
            .values()
            .all(|d| d.collections.is_empty())
    {
        loaded.diagnostics.push(spec::Diagnostic {
            severity: spec::Severity::Error,
            file: settings.schemas.clone(),
            line: 1,
            column: 1,
            message: load::nothing_declared(&settings.schemas),
        });
    }
    Ok(report(loaded, &format!("`{}`", settings.schemas.display())))
}

fn report(loaded: spec::Loaded, what: &str) -> ValidateReport {
    let errors = loaded.errors().count();
    ValidateReport {
        valid: errors == 0,
        databases: loaded.spec.databases.len(),
        collections: loaded
            .spec
            .databases
            .values()
            .map(|d| d.collections.len())
            .sum(),
        errors,
        warnings: loaded.diagnostics.len() - errors,
        diagnostics: loaded.diagnostics,
        what: what.to_string(),
    }
}

/// A problem with a whole file.
fn whole(file: &Path, message: String) -> spec::Diagnostic {
    spec::Diagnostic {
        severity: spec::Severity::Error,
        file: file.to_path_buf(),
        line: 1,
        column: 1,
        message,
    }
}

/// The diagnostics of the given files only: each collection or `_database` file checked with
/// its schemas folder around it (two folders up), each migration file on its own.
fn files_only(files: &[PathBuf]) -> Result<spec::Loaded> {
    let mut out = spec::Loaded::default();
    let mut roots: std::collections::BTreeMap<PathBuf, spec::Loaded> = Default::default();
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if !file.is_file() {
            out.diagnostics
                .push(whole(file, "no such file".to_string()));
            continue;
        }
        if crate::migrate::parse_file_name(&name).is_some() {
            out.diagnostics.extend(migration_problems(file));
            continue;
        }
        let Some(root) = file.parent().and_then(|db| db.parent()) else {
            out.diagnostics.push(whole(
                file,
                "not in a database folder (`<schemas>/<database>/<collection>.yaml`)".into(),
            ));
            continue;
        };
        if !roots.contains_key(root) {
            roots.insert(root.to_path_buf(), spec::load_dir(root)?);
        }
        one_file(&roots[root], file, &mut out);
    }
    Ok(out)
}

fn same(a: &Path, b: &Path) -> bool {
    std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok()
}

/// A collection file's diagnostics and collection, from its folder as loaded.
fn one_file(loaded: &spec::Loaded, file: &Path, out: &mut spec::Loaded) {
    out.diagnostics.extend(
        loaded
            .diagnostics
            .iter()
            .filter(|d| same(&d.file, file))
            .cloned(),
    );
    let db = file
        .parent()
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if let Some(d) = loaded.spec.databases.get(&db) {
        let mut d = d.clone();
        d.collections.retain(|_, c| same(&c.file, file));
        out.spec
            .databases
            .entry(db)
            .or_default()
            .collections
            .extend(d.collections);
    }
}

/// A migration file's problems, each at its `path:line:column`.
fn migration_problems(file: &Path) -> Vec<spec::Diagnostic> {
    let text = spec::read_text(file).unwrap_or_default();
    let Err(e) = crate::migrate::parse(file, &text) else {
        return Vec::new();
    };
    e.lines()
        .map(|line| {
            let msg = line
                .split_once(": error: ")
                .map(|(_, m)| m.to_string())
                .unwrap_or_else(|| line.to_string());
            let mut d = whole(file, msg);
            // `path:line:column: error: ...`
            let pos: Vec<&str> = line.splitn(4, ':').collect();
            if let [_, l, c, _] = pos.as_slice()
                && let (Ok(l), Ok(c)) = (l.parse(), c.trim().parse())
            {
                (d.line, d.column) = (l, c);
            }
            d
        })
        .collect()
}

/// `mongrate validator DB.COLLECTION`.
pub fn validator(settings: &Settings, target: &str) -> Result<ValidatorReport> {
    let (db, coll) = load::split_target(target)?;
    let loaded = load::valid_spec(&settings.schemas, &settings.state_db)?;
    let Some(spec) = loaded.spec.collection(db, coll) else {
        let known: Vec<String> = loaded
            .spec
            .databases
            .values()
            .flat_map(|d| d.collections.keys().map(move |c| format!("{}.{c}", d.name)))
            .collect();
        return Err(UsageError(format!(
            "no collection `{db}.{coll}` in `{}`; known: {}",
            settings.schemas.display(),
            known.join(", ")
        ))
        .into());
    };
    let Some(validator) = jsonschema::declared_validator(spec) else {
        return Err(UsageError(format!(
            "`{db}.{coll}` has no validator (`validation: {{ enabled: false }}`, or a view)"
        ))
        .into());
    };
    Ok(ValidatorReport {
        database: db.to_string(),
        collection: coll.to_string(),
        validation_level: spec.validation.level.as_str().to_string(),
        validation_action: spec.validation.action.as_str().to_string(),
        validator: bson::Bson::Document(validator.clone()).into_relaxed_extjson(),
        document: validator,
    })
}
