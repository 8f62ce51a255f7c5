//! Reading the project's files: schemas and migrations, refused when they have errors.

use super::{SpecInvalid, Ui, UsageError};
use crate::spec::{self, Loaded};
use anyhow::{Context, Result};
use std::path::Path;

/// The migrations of `dir`; what they probably do not mean is shown as warnings.
pub fn migrations(dir: &Path, ui: &mut dyn Ui) -> Result<Vec<crate::migrate::Migration>> {
    let (migrations, warnings) = crate::migrate::load_dir_with_warnings(dir)
        .with_context(|| format!("reading migrations in `{}`", dir.display()))?;
    for w in warnings {
        ui.warn(&w);
    }
    Ok(migrations)
}

/// Load the schemas root and fail (listing every error) if it has errors; the state database
/// cannot be one of its databases.
pub fn valid_spec(root: &Path, state_db: &str) -> Result<Loaded> {
    let loaded = spec::load_dir(root)?;
    if loaded.has_errors() {
        let lines: Vec<String> = loaded.errors().map(|d| d.to_string()).collect();
        return Err(SpecInvalid(format!(
            "the schemas in `{}` have {}; fix them (see `mongrate validate`):\n{}",
            root.display(),
            crate::progress::count(lines.len() as u64, "error"),
            lines.join("\n")
        ))
        .into());
    }
    if loaded.spec.databases.contains_key(state_db) {
        return Err(SpecInvalid(format!(
            "`{}` declares the database `{state_db}`, which holds mongrate's own state (changelog, lock, checkpoints) and is never a target; rename the folder, or choose another state database with --state-db or `state_db` in mongrate.yaml",
            root.join(state_db).display()
        ))
        .into());
    }
    Ok(loaded)
}

/// [`valid_spec`], refusing a folder that declares no collection: a command pointed at the
/// wrong folder (a CI job in the wrong directory) must not report success.
pub fn declared_spec(root: &Path, state_db: &str) -> Result<Loaded> {
    let loaded = valid_spec(root, state_db)?;
    if loaded
        .spec
        .databases
        .values()
        .all(|d| d.collections.is_empty())
    {
        return Err(SpecInvalid(nothing_declared(root)).into());
    }
    Ok(loaded)
}

/// The message for a schemas folder that declares no collection.
pub fn nothing_declared(root: &Path) -> String {
    format!(
        "`{}` declares no collection: is it the right folder (--schemas, or `schemas:` in mongrate.yaml)? Collections are declared in `<database>/<collection>.yaml` files there; `mongrate pull` writes them from a server",
        root.display()
    )
}

/// Split `DB.COLLECTION`.
pub fn split_target(target: &str) -> Result<(&str, &str)> {
    target
        .split_once('.')
        .filter(|(d, c)| !d.is_empty() && !c.is_empty())
        .ok_or_else(|| {
            UsageError(format!(
                "`{target}`: expected <database>.<collection>, e.g. workflowai.contacts"
            ))
            .into()
        })
}

/// The schemas as a normalised model.
pub fn desired_model(settings: &super::Settings) -> Result<crate::model::Schema> {
    let loaded = declared_spec(&settings.schemas, &settings.state_db)?;
    let mut desired = spec::to_model(&loaded.spec);
    crate::normalize::schema(&mut desired, crate::normalize::Side::Spec);
    Ok(desired)
}
