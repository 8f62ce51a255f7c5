//! `mongrate validate`: check every spec file, list every problem.

use super::out::{errln, outln};
use super::{exit, print_json};
use crate::cli::Format;
use crate::spec;
use anyhow::Result;

pub fn run(global: &super::Settings) -> Result<i32> {
    let mut loaded = spec::load_dir(&global.schemas)?;
    if !loaded.has_errors()
        && loaded
            .spec
            .databases
            .values()
            .all(|d| d.collections.is_empty())
    {
        loaded.diagnostics.push(spec::Diagnostic {
            severity: spec::Severity::Error,
            file: global.schemas.clone(),
            line: 1,
            column: 1,
            message: super::nothing_declared(&global.schemas),
        });
    }
    let errors = loaded.errors().count();
    let warnings = loaded.diagnostics.len() - errors;
    let collections: usize = loaded
        .spec
        .databases
        .values()
        .map(|d| d.collections.len())
        .sum();
    match global.format {
        Format::Json => print_json(
            "validate",
            &serde_json::json!({
                "valid": errors == 0,
                "databases": loaded.spec.databases.len(),
                "collections": collections,
                "errors": errors,
                "warnings": warnings,
                "diagnostics": loaded.diagnostics,
            }),
        ),
        Format::Text | Format::Github => {
            for d in &loaded.diagnostics {
                errln!("{d}");
            }
            if errors == 0 {
                outln!(
                    "ok: {}, {} in `{}`{}",
                    crate::progress::count(loaded.spec.databases.len() as u64, "database"),
                    crate::progress::count(collections as u64, "collection"),
                    global.schemas.display(),
                    if warnings > 0 {
                        format!(", {}", crate::progress::count(warnings as u64, "warning"))
                    } else {
                        String::new()
                    }
                );
            } else {
                errln!(
                    "{}, {} in `{}`",
                    crate::progress::count(errors as u64, "error"),
                    crate::progress::count(warnings as u64, "warning"),
                    global.schemas.display()
                );
            }
        }
    }
    Ok(if errors == 0 { exit::OK } else { exit::ERROR })
}
