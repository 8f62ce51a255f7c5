//! Command-line definitions (clap derive) only; behaviour lives in `commands`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Keep MongoDB databases in line with schemas declared in YAML.
///
/// Schemas live in `<schemas>/<database>/<collection>.yaml`. mongrate checks them, generates
/// `$jsonSchema` validators from them, and loads seed data.
#[derive(Debug, Parser)]
#[command(name = "mongrate", version, about, long_about = None)]
#[command(
    after_help = "Examples:\n  mongrate validate --schemas schemas\n  mongrate validator workflowai.contacts\n  mongrate seed fixtures/valid --drop"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// MongoDB connection string (password never printed).
    #[arg(
        long,
        global = true,
        env = "MONGODB_URI",
        default_value = "mongodb://localhost:27017",
        hide_env_values = true
    )]
    pub uri: String,
    /// Folder with one sub-folder per database and one YAML file per collection.
    #[arg(long, global = true, default_value = "schemas")]
    pub schemas: PathBuf,
    /// Output format: `text` for people, `json` for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print only errors and results, no progress.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Seconds to wait for a reachable server before failing.
    #[arg(long, global = true, default_value_t = 10)]
    pub server_timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every spec file (no server needed). Exit 0 when valid, 1 on any error.
    ///
    /// Every problem is listed as `file:line:column: error: message`; warnings (e.g. an index on
    /// an undeclared field) are listed too but do not fail.
    ///
    /// Example: mongrate validate --schemas schemas
    Validate,
    /// Print the `$jsonSchema` validator generated for one collection.
    ///
    /// Text output is indented relaxed Extended JSON, as `db.createCollection(name, { validator })`
    /// takes it; `--format json` prints compact canonical Extended JSON.
    ///
    /// Example: mongrate validator workflowai.contacts
    Validator(ValidatorArgs),
    /// Load `DIR/<database>/<collection>.json` arrays of Extended JSON documents into the server.
    ///
    /// For local development and tests. Documents are inserted as they are; a document the
    /// server's validator refuses stops the load with the server's message.
    ///
    /// Example: mongrate seed fixtures/valid --drop
    Seed(SeedArgs),
}

#[derive(Debug, Args)]
pub struct ValidatorArgs {
    /// The collection, as `<database>.<collection>`.
    pub target: String,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Folder holding `<database>/<collection>.json` files.
    pub dir: PathBuf,
    /// Drop each target collection before loading it.
    #[arg(long)]
    pub drop: bool,
}
