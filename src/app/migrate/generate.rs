//! `migrate generate` and `migrate new`: write the next migration file.

use super::check_name;
use crate::app::project::{SchemaKind, schema_header};
use crate::app::{Settings, Ui, UsageError, load};
use crate::migrate::{self, Migration};
use crate::views::migrate::{GenerateReport, NewReport, WrittenFile};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// `YYYYMMDDHHMMSS` now (UTC), or one second after the newest existing version.
fn next_version(existing: &[Migration]) -> String {
    let now = bson::DateTime::now()
        .try_to_rfc3339_string()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect::<String>();
    migrate::generate::next_version(existing, now)
}

/// A refusal of `generate` as the command reports it (a usage error: exit 1, kind `usage`).
pub(super) fn generate_error(
    e: migrate::generate::GenerateError,
    settings: &Settings,
) -> anyhow::Error {
    match e {
        migrate::generate::GenerateError::UnknownDatabase(name) => UsageError(format!(
            "--database {name}: the schemas in `{}` declare no such database",
            settings.schemas.display()
        ))
        .into(),
        other => UsageError(other.to_string()).into(),
    }
}

/// `mongrate migrate generate NAME [--database DB...]`.
pub fn generate(
    settings: &Settings,
    name: &str,
    only: &[String],
    ui: &mut dyn Ui,
) -> Result<GenerateReport> {
    check_name(name)?;
    let dir = &settings.migrations;
    let desired = load::desired_model(settings)?;
    let description = format!("{name} (generated from `{}`)", settings.schemas.display());
    let mut migrations = load::migrations(dir, ui)?;
    let mut out = GenerateReport {
        schemas: settings.schemas.display().to_string(),
        ..Default::default()
    };
    // Declared evolutions: their expand and migrate phases go in a migration of their own,
    // written first; the contract (guard and strict validator) in the next.
    let (expand, contract) = migrate::generate::pending_evolutions(&migrations, &desired);
    let expand: Vec<_> = expand
        .into_iter()
        .filter(|e| only.is_empty() || only.contains(&e.db))
        .collect();
    if !expand.is_empty() {
        let expanded = migrate::generate::expanded(&migrations, &desired, only, &expand)
            .map_err(|e| generate_error(e, settings))?;
        let mut generated = migrate::generate::generate(
            &migrations,
            &expanded,
            only,
            format!("{description}: expand and migrate"),
        )
        .map_err(|e| generate_error(e, settings))?;
        let file = generated
            .file
            .get_or_insert_with(|| migrate::MigrationFile {
                description: format!("{description}: expand and migrate"),
                ..Default::default()
            });
        migrate::generate::add_migrate_steps(file, &expand);
        if let Some(written) =
            write_generated(settings, &migrations, &format!("{name}_expand"), generated)?
        {
            out.total.path = written.path.clone();
            out.total.up_steps += written.up_steps;
            out.total.down_steps += written.down_steps;
            out.files.push(written);
        }
        migrations = load::migrations(dir, ui)?;
    }
    // A template's migration holds that template alone: changes that concern plain databases
    // and templates are written as one file for the plain ones and one per template.
    let groups: Vec<(String, Vec<String>)> =
        match migrate::generate::generate(&migrations, &desired, only, description.clone()) {
            Err(migrate::generate::GenerateError::MixedTemplate(_)) if only.is_empty() => {
                migrate::generate::file_groups(&desired, name)
            }
            Err(e) => return Err(generate_error(e, settings)),
            Ok(_) => vec![(name.to_string(), only.to_vec())],
        };
    for (file_name, group) in groups {
        let mut generated =
            migrate::generate::generate(&migrations, &desired, &group, description.clone())
                .map_err(|e| generate_error(e, settings))?;
        if let Some(file) = &mut generated.file {
            let here: Vec<_> = contract
                .iter()
                .filter(|e| {
                    file.up.iter().any(|o| {
                        o.collection() == e.collection && (o.db() == e.db || o.db().is_empty())
                    })
                })
                .cloned()
                .collect();
            migrate::generate::add_contract_guards(file, &here);
        }
        out.total
            .warnings
            .extend(generated.warnings.iter().cloned());
        let Some(written) = write_generated(settings, &migrations, &file_name, generated)? else {
            continue;
        };
        out.total
            .path
            .get_or_insert_with(|| written.path.clone().unwrap_or_default());
        out.total.up_steps += written.up_steps;
        out.total.down_steps += written.down_steps;
        out.total.destructive_steps += written.destructive_steps;
        out.total.destructive_down_steps += written.destructive_down_steps;
        out.total.baseline |= written.baseline;
        out.files.push(written);
        migrations = load::migrations(dir, ui)?;
    }
    Ok(out)
}

/// Where the next migration named `name` goes.
fn next_path(settings: &Settings, migrations: &[Migration], name: &str) -> Result<PathBuf> {
    let dir = &settings.migrations;
    std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    Ok(dir.join(format!("{}_{name}.yaml", next_version(migrations))))
}

/// Write one generated migration (`None`: nothing to write).
fn write_generated(
    settings: &Settings,
    migrations: &[Migration],
    name: &str,
    generated: migrate::generate::Generated,
) -> Result<Option<WrittenFile>> {
    let Some(file) = generated.file else {
        return Ok(None);
    };
    let path = next_path(settings, migrations, name)?;
    let header = format!(
        "{}\nGenerated by mongrate {}: review it before applying.\n{}",
        schema_header(SchemaKind::Migration, &path, &settings.project_root)
            .trim_start_matches("# "),
        env!("CARGO_PKG_VERSION"),
        if generated.baseline {
            "A baseline: the first migration of these databases, which adopts what a server may\nalready hold (every step is already true there). `down` never drops what it adopts: each\nadopted collection is `irreversible`, so `migrate down` refuses, and `--force` skips those steps."
        } else {
            "`down` undoes `up` in reverse order; `irreversible` marks a step that cannot be undone."
        }
    );
    std::fs::write(&path, migrate::render_file(&file, &header))
        .with_context(|| format!("writing `{}`", path.display()))?;
    Ok(Some(WrittenFile {
        path: Some(path.display().to_string()),
        up_steps: file.up.len(),
        down_steps: file.down.len(),
        destructive_steps: generated.destructive,
        destructive_down_steps: generated.destructive_down,
        baseline: generated.baseline,
        warnings: generated.warnings,
    }))
}

/// `mongrate migrate new NAME`: an empty migration for hand-written steps.
pub fn new(settings: &Settings, name: &str, ui: &mut dyn Ui) -> Result<NewReport> {
    check_name(name)?;
    let migrations = load::migrations(&settings.migrations, ui)?;
    let path = next_path(settings, &migrations, name)?;
    let text = format!(
        "{}\n# Hand-written migration. Every step must be idempotent (running it twice = once).\n# Operations: create_collection, drop_collection, modify_collection, create_index, drop_index,\n# modify_index, make_index_unique, set_validator, backfill, update_many, rename_field,\n# evolve_field, contract_field, command.\ndescription: {name}\nup: []\ndown: []\n",
        schema_header(SchemaKind::Migration, &path, &settings.project_root)
    );
    std::fs::write(&path, text).with_context(|| format!("writing `{}`", path.display()))?;
    Ok(NewReport {
        file: WrittenFile {
            path: Some(path.display().to_string()),
            ..Default::default()
        },
    })
}
