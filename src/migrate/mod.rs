//! Versioned migrations: `migrations/<UTC timestamp>_<name>.yaml` files with `up` and `down`
//! lists of [`Operation`]s, their checksums, replaying them on the model (for `generate` and
//! `verify`), and the runner (`up`/`down`) with its changelog and lease lock.

pub mod replay;
pub mod runner;

use crate::ops::Operation;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// One migration file, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationFile {
    #[serde(default)]
    pub description: String,
    /// Written as `- create_index: { ... }` (one-key maps), not YAML tags.
    #[serde(default, with = "serde_yaml::with::singleton_map_recursive")]
    pub up: Vec<Operation>,
    #[serde(default, with = "serde_yaml::with::singleton_map_recursive")]
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

/// Problems reading a migrations folder; each names the file (and line:column when known).
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
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
    let file: MigrationFile = if text.trim().is_empty() {
        MigrationFile {
            description: String::new(),
            up: vec![],
            down: vec![],
        }
    } else {
        // Pass 1, for shape and positions; pass 2 (below) for BSON value types.
        serde_yaml::from_str::<MigrationFile>(text).map_err(|e| {
            let (line, column, message) = crate::spec::yaml_error(&e);
            format!("{}:{line}:{column}: error: {message}", path.display())
        })?;
        typed_values(text).map_err(|e| format!("{}: error: {e}", path.display()))?
    };
    for (list, ops) in [("up", &file.up), ("down", &file.down)] {
        for (i, op) in ops.iter().enumerate() {
            if list == "up" && matches!(op, Operation::Irreversible { .. }) {
                return Err(format!(
                    "{}: up[{i}]: `irreversible` belongs in `down`",
                    path.display()
                ));
            }
        }
    }
    Ok(Migration {
        version,
        name,
        path: path.to_path_buf(),
        checksum: checksum(text),
        file,
    })
}

/// Values in migration files follow MongoDB Extended JSON (relaxed): an integer is an int32 when
/// it fits (int64 otherwise), a number with a point a double, and `{ $numberLong: "5" }`,
/// `{ $date: "2025-09-02T00:00:00Z" }`, `{ $oid: "..." }` mean what they say.
fn typed_values(text: &str) -> Result<MigrationFile, String> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let json =
        serde_json::to_value(&yaml).map_err(|e| format!("not representable as JSON: {e}"))?;
    let bson =
        bson::Bson::try_from(json).map_err(|e| format!("invalid Extended JSON value: {e}"))?;
    bson::from_bson::<MigrationFile>(bson).map_err(|e| e.to_string())
}

/// Read every migration under `dir`, ordered by file name (a missing folder is empty).
pub fn load_dir(dir: &Path) -> Result<Vec<Migration>, MigrationError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let io = |path: &Path, source| MigrationError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml") | Some("yml")
            )
        })
        .collect();
    paths.sort();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        match parse(&path, &text) {
            Ok(m) => {
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
        Ok(out)
    } else {
        Err(MigrationError::Invalid(errors))
    }
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
                "m/20250902000000_x.yaml:2:5: error: up[0]: unknown variant `create_indx`"
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
