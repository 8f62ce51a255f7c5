//! Versioned migrations: `migrations/<UTC timestamp>_<name>.yaml` files with `up` and `down`
//! lists of [`Operation`]s, their checksums, replaying them on the model (for `generate` and
//! `verify`), and the runner (`up`/`down`) with its changelog and lease lock.

pub mod changelog;
mod check;
pub mod generate;
pub mod plan;
pub mod replay;
pub mod runner;

use crate::ops::Operation;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// One migration file, as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrationFile {
    /// A fleet migration: runs in every database matching this name or pattern
    /// (`tenant_*`), with its own history per database; its operations leave out `db`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub databases: Option<String>,
    #[serde(default)]
    pub description: String,
    /// Written as `- create_index: { ... }` (one-key maps), not YAML tags.
    #[serde(
        default,
        serialize_with = "serde_yaml::with::singleton_map_recursive::serialize"
    )]
    pub up: Vec<Operation>,
    #[serde(
        default,
        serialize_with = "serde_yaml::with::singleton_map_recursive::serialize"
    )]
    pub down: Vec<Operation>,
}

/// A loaded migration: its version and name (from the file name), content and checksum.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    /// The UTC timestamp prefix, e.g. `20250902000000`.
    pub version: String,
    /// The rest of the file name, e.g. `promptforge_baseline`.
    pub name: String,
    pub path: PathBuf,
    pub checksum: String,
    pub file: MigrationFile,
}

impl Migration {
    /// Does this migration run in database `db` (a fleet migration whose pattern matches)?
    pub fn runs_in(&self, db: &str) -> bool {
        self.file
            .databases
            .as_deref()
            .is_some_and(|p| crate::names::matches(p, db))
    }

    /// This fleet migration as it runs in database `db`: every operation pointed at it.
    pub fn in_database(&self, db: &str) -> Migration {
        let mut m = self.clone();
        for op in m.file.up.iter_mut().chain(m.file.down.iter_mut()) {
            op.set_db(db);
        }
        m
    }
}

/// Problems reading a migrations folder; each names the file (and line:column when known).
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("cannot read `{path}`: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

/// The checksum of a migration file: SHA-256 of its text with line endings made `\n`, trailing
/// whitespace removed from every line, and trailing blank lines removed — so a CRLF checkout or
/// an editor's whitespace clean-up does not count as a change.
pub fn checksum(text: &str) -> String {
    let normalized: Vec<&str> = text
        .split('\n')
        .map(|l| l.trim_end_matches(['\r', ' ', '\t']))
        .collect();
    let mut end = normalized.len();
    while end > 0 && normalized[end - 1].is_empty() {
        end -= 1;
    }
    let mut hasher = Sha256::new();
    hasher.update(normalized[..end].join("\n").as_bytes());
    hex::encode(hasher.finalize())
}

/// Split `20250902000000_name.yaml` into version and name.
pub fn parse_file_name(file_name: &str) -> Option<(String, String)> {
    let stem = file_name
        .strip_suffix(".yaml")
        .or_else(|| file_name.strip_suffix(".yml"))?;
    let (version, name) = stem.split_once('_')?;
    (version.len() == 14 && version.chars().all(|c| c.is_ascii_digit()) && !name.is_empty())
        .then(|| (version.to_string(), name.to_string()))
}

/// Is `version` (`YYYYMMDDHHMMSS`) a real UTC time?
pub fn valid_version(version: &str) -> bool {
    let n = |a: usize, b: usize| version.get(a..b).and_then(|s| s.parse::<u32>().ok());
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) =
        (n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14))
    else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1970 && (1..=days).contains(&d) && h < 24 && mi < 60 && s < 60
}

/// Parse one migration's text (pure).
pub fn parse(path: &Path, text: &str) -> Result<Migration, String> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let (version, name) = parse_file_name(file_name).ok_or_else(|| {
        format!(
            "{}: a migration file is named `<YYYYMMDDHHMMSS>_<name>.yaml` (UTC), e.g. 20250902120000_add_email_index.yaml",
            path.display()
        )
    })?;
    if !valid_version(&version) {
        return Err(format!(
            "{}: the version `{version}` is not a real UTC time (YYYYMMDDHHMMSS: month 01-12, a day the month has, hour 00-23, ...)",
            path.display()
        ));
    }
    if let Some(why) = crate::yaml::empty_document(text) {
        return Err(format!(
            "{}:1:1: error: {why}: a migration has `up:` and `down:` lists of operations (`up: []` for none)",
            path.display()
        ));
    }
    // Values follow Extended JSON: an integer is an int32 when it fits (int64 otherwise), a
    // number with a point a double, and `{ $numberLong: "5" }`, `{ $date: "..." }`,
    // `{ $oid: "..." }` mean what they say.
    let file: MigrationFile = crate::yaml::from_str(text).map_err(|e| {
        format!(
            "{}:{}:{}: error: {}",
            path.display(),
            e.line,
            e.column,
            e.message
        )
    })?;
    let problems = check::check_file(text, &file);
    if !problems.is_empty() {
        return Err(problems
            .into_iter()
            .map(|(line, column, message)| {
                format!("{}:{line}:{column}: error: {message}", path.display())
            })
            .collect::<Vec<_>>()
            .join("\n"));
    }
    Ok(Migration {
        version,
        name,
        path: path.to_path_buf(),
        checksum: checksum(text),
        file,
    })
}

/// Read every migration under `dir`, ordered by file name (a missing folder is empty).
pub fn load_dir(dir: &Path) -> Result<Vec<Migration>, MigrationError> {
    load_dir_with_warnings(dir).map(|(migrations, _)| migrations)
}

/// [`load_dir`], and the warnings about what the files probably do not mean (an `update_many`
/// of every document, files it ignores), as `path:line:column: warning: ...` lines.
pub fn load_dir_with_warnings(dir: &Path) -> Result<(Vec<Migration>, Vec<String>), MigrationError> {
    if !dir.exists() {
        return Ok((Vec::new(), Vec::new()));
    }
    if !dir.is_dir() {
        return Err(MigrationError::Io {
            path: dir.to_path_buf(),
            reason: "it is a file, not a folder of migration files".into(),
        });
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| MigrationError::Io {
            path: dir.to_path_buf(),
            reason: crate::spec::io_reason(&e),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let mut warnings = Vec::new();
    paths.retain(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if name.starts_with('.') || name == "README.md" {
            return false;
        }
        if matches!(ext, "yaml" | "yml") && p.is_file() {
            return true;
        }
        if ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml") {
            warnings.push(format!(
                "{}:1:1: warning: ignored: migration files end in `.yaml` or `.yml` (lower case)",
                p.display()
            ));
        } else if p.is_dir() {
            warnings.push(format!(
                "{}:1:1: warning: ignored: a folder inside the migrations folder",
                p.display()
            ));
        }
        false
    });
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let text = match crate::spec::read_text(&path) {
            Ok(text) => text,
            Err(why) => {
                errors.push(format!(
                    "{}:1:1: error: cannot read this file: {why}",
                    path.display()
                ));
                continue;
            }
        };
        match parse(&path, &text) {
            Ok(m) => {
                for (line, column, message) in check::warnings(&text, &m.file) {
                    warnings.push(format!(
                        "{}:{line}:{column}: warning: {message}",
                        path.display()
                    ));
                }
                if let Some(prev) = out.iter().find(|p: &&Migration| p.version == m.version) {
                    errors.push(format!(
                        "{}: version {} is also used by {}",
                        path.display(),
                        m.version,
                        prev.path.display()
                    ));
                }
                out.push(m);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok((out, warnings))
    } else {
        Err(MigrationError::Invalid(errors))
    }
}

/// The migration `generate` writes: `up` is the plan's steps; `down` is their reverses in reverse
/// order (a dropped collection comes back empty with its options and indexes: the planner's
/// reverse of the drop), and `irreversible` where nothing can undo a step. Pure.
pub fn generated_file(plan: &crate::plan::Plan, description: String) -> MigrationFile {
    let up: Vec<Operation> = plan.steps.iter().map(|s| s.op.clone()).collect();
    let mut down: Vec<Operation> = Vec::new();
    for s in plan.steps.iter().rev() {
        if s.reverse.is_empty() {
            down.push(Operation::Irreversible {
                reason: format!("`{}` has no reverse", s.op.summary()),
            });
        }
        down.extend(s.reverse.iter().cloned());
    }
    MigrationFile {
        databases: None,
        description,
        up,
        down,
    }
}

/// The first migration of a project (generated from an empty chain): a *baseline* that adopts
/// what a server may already hold. Its `up` is the plan; its `down` never drops what it adopted:
/// each collection it creates is undone by an `irreversible` step (with the reason), and the
/// steps on those collections (indexes, validators) have no separate undo — rolling a baseline
/// back must not drop the production data it describes. Steps on other collections keep their
/// reverses.
pub fn baseline_file(plan: &crate::plan::Plan, description: String) -> MigrationFile {
    let mut file = generated_file(plan, description);
    let adopted: Vec<(&str, &str)> = plan
        .steps
        .iter()
        .filter(|s| matches!(s.op, Operation::CreateCollection { .. }))
        .map(|s| (s.op.db(), s.op.collection()))
        .collect();
    let mut down = Vec::new();
    for s in plan.steps.iter().rev() {
        let ns = (s.op.db(), s.op.collection());
        if !adopted.contains(&ns) {
            if s.reverse.is_empty() {
                down.push(Operation::Irreversible {
                    reason: format!("`{}` has no reverse", s.op.summary()),
                });
            }
            down.extend(s.reverse.iter().cloned());
        } else if matches!(s.op, Operation::CreateCollection { .. }) {
            down.push(Operation::Irreversible {
                reason: format!(
                    "the baseline adopts {}.{} as the server holds it; rolling it back would drop the collection and its documents",
                    ns.0, ns.1
                ),
            });
        }
    }
    file.down = down;
    file
}

/// A migration file's text for `generate` / `new` (YAML, with a comment header).
pub fn render_file(file: &MigrationFile, header: &str) -> String {
    let body = serde_yaml::to_string(file).unwrap_or_default();
    let mut out = String::new();
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_ignores_line_endings_and_trailing_whitespace() {
        let a = "description: x\nup:\n  - drop_index: { db: a, collection: b, name: c }\n";
        let b = "description: x  \r\nup:\r\n  - drop_index: { db: a, collection: b, name: c }\t\r\n\r\n\n";
        assert_eq!(checksum(a), checksum(b));
        assert_ne!(checksum(a), checksum(&a.replace("name: c", "name: d")));
    }

    #[test]
    fn file_names() {
        assert_eq!(
            parse_file_name("20250902000000_promptforge_baseline.yaml"),
            Some(("20250902000000".into(), "promptforge_baseline".into()))
        );
        assert_eq!(parse_file_name("2025_x.yaml"), None);
        assert_eq!(parse_file_name("20250902000000.yaml"), None);
    }

    #[test]
    fn parse_errors_have_positions() {
        let e = parse(
            Path::new("m/20250902000000_x.yaml"),
            "up:\n  - create_indx: { db: a }\n",
        )
        .unwrap_err();
        assert!(
            e.starts_with(
                "m/20250902000000_x.yaml:2:5: error: up[0]: unknown value `create_indx`; did you mean `create_index`? expected one of: create_collection"
            ),
            "{e}"
        );
    }
}

#[cfg(test)]
mod value_tests {
    use super::*;
    use bson::Bson;

    #[test]
    fn integers_are_int32_when_they_fit() {
        let m = parse(
            Path::new("20250902000000_x.yaml"),
            "up:\n  - backfill: { db: a, collection: b, field: n, value: 0 }\n  - backfill: { db: a, collection: b, field: l, value: { $numberLong: '7' } }\n  - backfill: { db: a, collection: b, field: d, value: 0.5 }\n  - backfill: { db: a, collection: b, field: t, value: { $date: '2025-09-02T00:00:00Z' } }\n",
        )
        .unwrap();
        let values: Vec<&Bson> = m
            .file
            .up
            .iter()
            .map(|op| match op {
                Operation::Backfill { value, .. } => value,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(values[0], &Bson::Int32(0));
        assert_eq!(values[1], &Bson::Int64(7));
        assert_eq!(values[2], &Bson::Double(0.5));
        assert!(matches!(values[3], Bson::DateTime(_)));
    }
}
