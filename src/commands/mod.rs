//! One module per command: turn arguments into options, call the core, print the outcome.
//! This layer (with `main.rs`) is the only code that prints.

pub mod apply;
pub mod backfill;
pub mod check;
pub mod diff;
pub mod engine;
pub mod migrate;
pub mod plan;
pub mod seed;
pub mod validate;
pub mod validator;

use crate::cli::{Cli, Command};
use crate::spec::{self, Loaded};
use anyhow::{Context, Result, bail};
use std::path::Path;

/// Exit codes shared by all commands.
pub mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    pub const DIFFERENCES: i32 = 2;
}

/// `./mongrate.yaml`: project defaults for the connection and the schemas folder.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    uri: Option<String>,
    schemas: Option<std::path::PathBuf>,
}

const CONFIG_FILE: &str = "mongrate.yaml";

/// Fill `uri` and `schemas`: flag (or MONGODB_URI), then ./mongrate.yaml, then the defaults.
fn resolve(global: &mut crate::cli::GlobalArgs) -> Result<()> {
    let path = Path::new(CONFIG_FILE);
    let config: ConfigFile = if path.is_file() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading `{CONFIG_FILE}`"))?;
        if text.trim().is_empty() {
            ConfigFile::default()
        } else {
            serde_yaml::from_str(&text).map_err(|e| {
                let (line, column, message) = spec::yaml_error(&e);
                anyhow::anyhow!("{CONFIG_FILE}:{line}:{column}: {message} (keys: uri, schemas)")
            })?
        }
    } else {
        ConfigFile::default()
    };
    global.uri = global
        .uri_arg
        .clone()
        .filter(|u| !u.is_empty())
        .or(config.uri)
        .unwrap_or_else(|| "mongodb://localhost:27017".into());
    global.schemas = global
        .schemas_arg
        .clone()
        .or(config.schemas)
        .unwrap_or_else(|| "schemas".into());
    Ok(())
}

/// Run the parsed command line; returns the process exit code.
pub fn run(mut cli: Cli) -> Result<i32> {
    resolve(&mut cli.global)?;
    match cli.command {
        Command::Validate => validate::run(&cli.global),
        Command::Validator(args) => validator::run(&cli.global, &args),
        Command::Seed(args) => seed::run(&cli.global, &args),
        Command::Plan(args) => plan::run(&cli.global, &args),
        Command::Apply(args) => apply::run(&cli.global, &args),
        Command::Check(args) => check::run(&cli.global, &args),
        Command::Diff(args) => diff::run(&cli.global, &args),
        Command::Migrate(args) => migrate::run(&cli.global, &args),
        Command::Backfill(args) => backfill::run(&cli.global, &args),
    }
}

/// Load the schemas root and fail (listing every error) if it has errors.
pub fn load_valid_spec(root: &Path) -> Result<Loaded> {
    let loaded = spec::load_dir(root)?;
    if loaded.has_errors() {
        let lines: Vec<String> = loaded.errors().map(|d| d.to_string()).collect();
        bail!(
            "the schemas in `{}` have {} error(s); fix them (see `mongrate validate`):\n{}",
            root.display(),
            lines.len(),
            lines.join("\n")
        );
    }
    Ok(loaded)
}

/// A tokio runtime for the commands that talk to a server.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
