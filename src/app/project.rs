//! The project around the schemas: `init`, the editor schemas (`schema-json`), shell
//! completions and the manual page.

use super::config::{CONFIG_FILE, ConfigFile};
use super::{Refused, Settings};
use crate::views::project::{CompletionsReport, InitReport, ManReport, SchemaJsonReport};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Where `init` puts the editor schemas, relative to the project.
pub const EDITOR_DIR: &str = ".mongrate";

/// Which file format's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaKind {
    Collection,
    Database,
    Migration,
    Config,
}

const KINDS: [SchemaKind; 4] = [
    SchemaKind::Collection,
    SchemaKind::Database,
    SchemaKind::Migration,
    SchemaKind::Config,
];

fn kind_name(k: SchemaKind) -> &'static str {
    match k {
        SchemaKind::Collection => "collection",
        SchemaKind::Database => "database",
        SchemaKind::Migration => "migration",
        SchemaKind::Config => "config",
    }
}

/// The JSON Schema of one file format, generated from the types the loader reads it with.
pub fn editor_schema(kind: SchemaKind) -> serde_json::Value {
    let mut schema = match kind {
        SchemaKind::Collection => schemars::schema_for!(crate::spec::raw::CollectionFile),
        SchemaKind::Database => schemars::schema_for!(crate::spec::raw::DatabaseFile),
        SchemaKind::Migration => schemars::schema_for!(crate::migrate::MigrationFile),
        SchemaKind::Config => schemars::schema_for!(ConfigFile),
    }
    .to_value();
    let title = match kind {
        SchemaKind::Collection => "mongrate collection file (schemas/<database>/<collection>.yaml)",
        SchemaKind::Database => "mongrate database defaults (schemas/<database>/_database.yaml)",
        SchemaKind::Migration => {
            "mongrate migration file (migrations/<YYYYMMDDHHMMSS>_<name>.yaml)"
        }
        SchemaKind::Config => "mongrate project settings (mongrate.yaml)",
    };
    if let Some(o) = schema.as_object_mut() {
        o.insert("title".into(), title.into());
    }
    schema
}

/// The `# yaml-language-server: $schema=...` line for a file at `file` in a project at `root`:
/// the path from the file's folder to `<root>/.mongrate/<kind>.schema.json`, relative, wherever
/// the file is (a schemas folder outside the project included).
pub fn schema_header(kind: SchemaKind, file: &Path, root: &Path) -> String {
    let target = root
        .join(EDITOR_DIR)
        .join(format!("{}.schema.json", kind_name(kind)));
    let from = file.parent().unwrap_or(Path::new(""));
    let path = match (std::path::absolute(from), std::path::absolute(&target)) {
        (Ok(from), Ok(to)) => relative_path(&from, &to),
        _ => target,
    };
    format!(
        "# yaml-language-server: $schema={}",
        path.to_string_lossy().replace('\\', "/")
    )
}

/// `to` as seen from the folder `from` (both absolute).
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    use std::path::Component;
    fn clean(p: &Path) -> Vec<Component<'_>> {
        let mut out: Vec<Component> = Vec::new();
        for c in p.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                    out.pop();
                }
                c => out.push(c),
            }
        }
        out
    }
    let (from, to) = (clean(from), clean(to));
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c);
    }
    out
}

fn write_schemas(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    let mut written = Vec::new();
    for k in KINDS {
        let path = dir.join(format!("{}.schema.json", kind_name(k)));
        let text = serde_json::to_string_pretty(&editor_schema(k))? + "\n";
        std::fs::write(&path, text).with_context(|| format!("writing `{}`", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// `mongrate schema-json [KIND] [--write DIR]`.
pub fn schema_json(kind: Option<SchemaKind>, write: Option<&Path>) -> Result<SchemaJsonReport> {
    if let Some(dir) = write {
        let written = write_schemas(dir)?;
        return Ok(SchemaJsonReport::Written {
            written: written.iter().map(|p| p.display().to_string()).collect(),
        });
    }
    let kinds: Vec<SchemaKind> = kind.map(|k| vec![k]).unwrap_or(KINDS.to_vec());
    Ok(SchemaJsonReport::Schemas {
        schemas: kinds
            .iter()
            .map(|k| (kind_name(*k).to_string(), editor_schema(*k)))
            .collect(),
        one: kind.map(editor_schema),
    })
}

/// `mongrate completions SHELL`, for the command line `cli`.
pub fn completions(shell: clap_complete::Shell, mut cli: clap::Command) -> CompletionsReport {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cli, "mongrate", &mut buf);
    CompletionsReport {
        script: String::from_utf8_lossy(&buf).to_string(),
    }
}

/// `mongrate man`, for the command line `cli`.
pub fn man(cli: clap::Command) -> Result<ManReport> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cli).render(&mut buf)?;
    Ok(ManReport {
        roff: String::from_utf8_lossy(&buf).to_string(),
    })
}

/// `mongrate init`: mongrate.yaml, the schemas and migrations folders, the editor schemas.
pub fn init(settings: &Settings, force: bool) -> Result<InitReport> {
    let root = std::env::current_dir().context("reading the current folder")?;
    let config = root.join(CONFIG_FILE);
    let schemas_readme = root.join("schemas").join("README.md");
    let migrations_readme = root.join("migrations").join("README.md");
    let targets = [&config, &schemas_readme, &migrations_readme];
    let existing: Vec<String> = targets
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string())
        .collect();
    if !existing.is_empty() && !force {
        return Err(Refused(format!(
            "refusing to overwrite {}; nothing was written (pass --force to overwrite)",
            existing.join(", ")
        ))
        .into());
    }
    let mut written: Vec<PathBuf> = Vec::new();
    let mut write = |path: &Path, text: &str| -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating `{}`", dir.display()))?;
        }
        std::fs::write(path, text).with_context(|| format!("writing `{}`", path.display()))?;
        written.push(path.to_path_buf());
        Ok(())
    };
    write(&config, &config_text(settings, &root, &config))?;
    write(&schemas_readme, SCHEMAS_README)?;
    write(&migrations_readme, MIGRATIONS_README)?;
    written.extend(write_schemas(&root.join(EDITOR_DIR))?);
    Ok(InitReport {
        written: written
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string())
            .collect(),
    })
}

const SCHEMAS_README: &str = "# schemas\n\nOne folder per database, one YAML file per collection: `schemas/<database>/<collection>.yaml`\n(fields, indexes, options, validation), and an optional `schemas/<database>/_database.yaml` with\ndefaults for the database. `mongrate pull` writes them from an existing server;\n`mongrate validate` checks them; `mongrate plan` / `apply` / `check` compare them with a server.\n";

const MIGRATIONS_README: &str = "# migrations\n\nVersioned migrations, applied in file-name order: `<YYYYMMDDHHMMSS>_<name>.yaml` (UTC), each with\n`up` and `down` lists of operations. `mongrate migrate generate NAME` writes one from the change\nin `schemas/`; `mongrate migrate new NAME` an empty one for hand-written data steps.\n";

/// The mongrate.yaml `init` writes: the project named after its folder, the URI as given
/// (flag or MONGODB_URI) without its password.
fn config_text(settings: &Settings, root: &Path, config: &Path) -> String {
    let given = settings
        .uri_arg
        .clone()
        .or_else(|| std::env::var("MONGODB_URI").ok().filter(|u| !u.is_empty()));
    let uri_line = match &given {
        Some(u) => format!(
            "uri: {}   # without its password: set MONGODB_URI (it wins over this line), or use uri_env",
            crate::pull::emit::scalar(&crate::redact::without_secrets(u))
        ),
        None => "uri: mongodb://localhost:27017   # or uri_env: NAME_OF_A_VARIABLE holding the URI"
            .into(),
    };
    let project = super::config::project_name_from(
        &root
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
    );
    format!(
        "{}\n# mongrate's settings for this project; found from here and from any sub-folder.\n# Never write a password here: take the URI from the environment with `uri_env: VARIABLE`\n# (or set MONGODB_URI). Environments are chosen with --env NAME or MONGRATE_ENV, e.g.\n#   environments:\n#     prod: {{ uri_env: PROD_MONGODB_URI }}\nproject: {}   # keys this project's migration history on the server, apart from other projects'\n{uri_line}\nschemas: schemas\nmigrations: migrations\nstate_db: mongrate\nserver_timeout: 10\n",
        schema_header(SchemaKind::Config, config, root),
        crate::pull::emit::scalar(&project)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_header_points_at_the_project_from_anywhere() {
        let line = |file: &str, root: &str| {
            schema_header(SchemaKind::Collection, Path::new(file), Path::new(root))
                .trim_start_matches("# yaml-language-server: $schema=")
                .to_string()
        };
        assert_eq!(
            line("/p/schemas/db/c.yaml", "/p"),
            "../../.mongrate/collection.schema.json"
        );
        assert_eq!(
            line("/elsewhere/s/db/c.yaml", "/p"),
            "../../../p/.mongrate/collection.schema.json"
        );
        assert_eq!(
            line("/p/./schemas/../s/db/c.yaml", "/p"),
            "../../.mongrate/collection.schema.json"
        );
        assert_eq!(
            line("/p/mongrate.yaml", "/p"),
            ".mongrate/collection.schema.json"
        );
    }
}
