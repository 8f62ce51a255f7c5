//! `mongrate validate`: check every spec file, list every problem.

use super::exit;
use crate::cli::{Format, GlobalArgs};
use crate::spec;
use anyhow::Result;

pub fn run(global: &GlobalArgs) -> Result<i32> {
    let loaded = spec::load_dir(&global.schemas)?;
    let errors = loaded.errors().count();
    let warnings = loaded.diagnostics.len() - errors;
    let collections: usize = loaded
        .spec
        .databases
        .values()
        .map(|d| d.collections.len())
        .sum();
    match global.format {
        Format::Json => {
            let out = serde_json::json!({
                "valid": errors == 0,
                "databases": loaded.spec.databases.len(),
                "collections": collections,
                "diagnostics": loaded.diagnostics,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Format::Text => {
            for d in &loaded.diagnostics {
                eprintln!("{d}");
            }
            if errors == 0 {
                println!(
                    "ok: {} database(s), {collections} collection(s) in `{}`{}",
                    loaded.spec.databases.len(),
                    global.schemas.display(),
                    if warnings > 0 {
                        format!(", {warnings} warning(s)")
                    } else {
                        String::new()
                    }
                );
            } else {
                eprintln!(
                    "{errors} error(s), {warnings} warning(s) in `{}`",
                    global.schemas.display()
                );
            }
        }
    }
    Ok(if errors == 0 { exit::OK } else { exit::ERROR })
}
