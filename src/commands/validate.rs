//! `mongrate validate`: check every spec file, list every problem.

use super::out::{errln, outln};
use super::{exit, print_json};
use crate::cli::Format;
use crate::spec;
use anyhow::Result;

/// The diagnostics of the given files only: each collection or `_database` file checked with
/// its schemas folder around it (two folders up), each migration file on its own.
fn files_only(files: &[std::path::PathBuf]) -> Result<spec::Loaded> {
    let mut out = spec::Loaded::default();
    let mut roots: std::collections::BTreeMap<std::path::PathBuf, spec::Loaded> =
        Default::default();
    let same = |a: &std::path::Path, b: &std::path::Path| {
        std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok()
    };
    let whole = |file: &std::path::Path, message: String| spec::Diagnostic {
        severity: spec::Severity::Error,
        file: file.to_path_buf(),
        line: 1,
        column: 1,
        message,
    };
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
            let text = spec::read_text(file).unwrap_or_default();
            if let Err(e) = crate::migrate::parse(file, &text) {
                for line in e.lines() {
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
                    out.diagnostics.push(d);
                }
            }
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
        let loaded = &roots[root];
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
    Ok(out)
}

pub fn run(global: &super::Settings, args: &crate::cli::ValidateArgs) -> Result<i32> {
    if !args.files.is_empty() {
        return report(global, files_only(&args.files)?, "the given files");
    }
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
    let shown = format!("`{}`", global.schemas.display());
    report(global, loaded, &shown)
}

fn report(global: &super::Settings, loaded: spec::Loaded, what: &str) -> Result<i32> {
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
                    "ok: {}, {} in {what}{}",
                    crate::progress::count(loaded.spec.databases.len() as u64, "database"),
                    crate::progress::count(collections as u64, "collection"),
                    if warnings > 0 {
                        format!(", {}", crate::progress::count(warnings as u64, "warning"))
                    } else {
                        String::new()
                    }
                );
            } else {
                errln!(
                    "{}, {} in {what}",
                    crate::progress::count(errors as u64, "error"),
                    crate::progress::count(warnings as u64, "warning"),
                );
            }
        }
    }
    Ok(if errors == 0 { exit::OK } else { exit::ERROR })
}
