//! The project around the schemas: `init`, the editor schemas (`schema-json`), shell
//! completions and the manual page.

use super::config::{CONFIG_FILE, ConfigFile};
use super::out::{errln, outln, stdout};
use super::{Refused, exit, print_json};
use crate::cli::{Cli, CompletionsArgs, Format, InitArgs, SchemaJsonArgs, SchemaKind};
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::path::{Path, PathBuf};

/// Where `init` puts the editor schemas, relative to the project.
pub const EDITOR_DIR: &str = ".mongrate";

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

pub fn schema_json(global: &super::Settings, args: &SchemaJsonArgs) -> Result<i32> {
    let kinds: Vec<SchemaKind> = args.kind.map(|k| vec![k]).unwrap_or(KINDS.to_vec());
    if let Some(dir) = &args.write {
        let written = write_schemas(dir)?;
        match global.format {
            Format::Json => print_json(
                "schema-json",
                &serde_json::json!({ "written": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>() }),
            ),
            Format::Text | Format::Github => {
                for p in written {
                    outln!("{}", p.display());
                }
            }
        }
        return Ok(exit::OK);
    }
    let schemas: serde_json::Map<String, serde_json::Value> = kinds
        .iter()
        .map(|k| (kind_name(*k).to_string(), editor_schema(*k)))
        .collect();
    match (global.format, args.kind) {
        (Format::Json, _) => print_json("schema-json", &serde_json::json!({ "schemas": schemas })),
        (Format::Text | Format::Github, Some(k)) => {
            outln!("{}", serde_json::to_string_pretty(&editor_schema(k))?)
        }
        (Format::Text | Format::Github, None) => {
            outln!("{}", serde_json::to_string_pretty(&schemas)?)
        }
    }
    Ok(exit::OK)
}

pub fn completions(global: &super::Settings, args: &CompletionsArgs) -> Result<i32> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "mongrate", &mut buf);
    let text = String::from_utf8_lossy(&buf).to_string();
    match global.format {
        Format::Json => print_json("completions", &serde_json::json!({ "script": text })),
        Format::Text | Format::Github => stdout(&text),
    }
    Ok(exit::OK)
}

pub fn man(global: &super::Settings) -> Result<i32> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).to_string();
    match global.format {
        Format::Json => print_json("man", &serde_json::json!({ "roff": text })),
        Format::Text | Format::Github => stdout(&text),
    }
    Ok(exit::OK)
}

pub fn init(global: &super::Settings, args: &InitArgs) -> Result<i32> {
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
    if !existing.is_empty() && !args.force {
        return Err(Refused(format!(
            "refusing to overwrite {}; nothing was written (pass --force to overwrite)",
            existing.join(", ")
        ))
        .into());
    }
    // The URI as given (flag or MONGODB_URI), without its password.
    let given = global
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
    let text = format!(
        "{}\n# mongrate's settings for this project; found from here and from any sub-folder.\n# Never write a password here: take the URI from the environment with `uri_env: VARIABLE`\n# (or set MONGODB_URI). Environments are chosen with --env NAME or MONGRATE_ENV, e.g.\n#   environments:\n#     prod: {{ uri_env: PROD_MONGODB_URI }}\nproject: {}   # keys this project's migration history on the server, apart from other projects'\n{uri_line}\nschemas: schemas\nmigrations: migrations\nstate_db: mongrate\nserver_timeout: 10\n",
        schema_header(SchemaKind::Config, &config, &root),
        crate::pull::emit::scalar(&project)
    );
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
    write(&config, &text)?;
    write(
        &schemas_readme,
        "# schemas\n\nOne folder per database, one YAML file per collection: `schemas/<database>/<collection>.yaml`\n(fields, indexes, options, validation), and an optional `schemas/<database>/_database.yaml` with\ndefaults for the database. `mongrate pull` writes them from an existing server;\n`mongrate validate` checks them; `mongrate plan` / `apply` / `check` compare them with a server.\n",
    )?;
    write(
        &migrations_readme,
        "# migrations\n\nVersioned migrations, applied in file-name order: `<YYYYMMDDHHMMSS>_<name>.yaml` (UTC), each with\n`up` and `down` lists of operations. `mongrate migrate generate NAME` writes one from the change\nin `schemas/`; `mongrate migrate new NAME` an empty one for hand-written data steps.\n",
    )?;
    let schema_files = write_schemas(&root.join(EDITOR_DIR))?;
    written.extend(schema_files);
    let shown: Vec<String> = written
        .iter()
        .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string())
        .collect();
    match global.format {
        Format::Json => print_json("init", &serde_json::json!({ "written": shown })),
        Format::Text | Format::Github => {
            for p in &shown {
                outln!("wrote {p}");
            }
            errln!(
                "Next: `mongrate pull` writes schemas/ from your server (then `mongrate check`)."
            );
        }
    }
    Ok(exit::OK)
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
