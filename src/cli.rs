//! Command-line definitions (clap derive) only; behaviour lives in `commands`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Keep MongoDB databases in line with schemas declared in YAML.
///
/// Schemas live in `<schemas>/<database>/<collection>.yaml`. mongrate checks them, generates
/// `$jsonSchema` validators, compares them with a live server, and applies the difference.
#[derive(Debug, Parser)]
#[command(name = "mongrate", version, about, long_about = None)]
#[command(
    after_help = "Examples:\n  mongrate validate --schemas schemas\n  mongrate plan\n  mongrate apply --yes\n  mongrate check --format json\n  mongrate validator workflowai.contacts"
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
    /// Compare the schemas with the server and print the plan that would converge it.
    ///
    /// Steps are grouped by database and collection: `+` creates, `~` changes in place, `-`
    /// removes; each has a reason. Validator changes show as a unified diff, with the number of
    /// existing documents that would fail the new one; new unique indexes show duplicate keys.
    /// Objects no schema declares are listed as notices and left alone (see --prune).
    ///
    /// Example: mongrate plan --schemas schemas --exit-code
    Plan(PlanArgs),
    /// Plan, confirm, and execute the plan step by step.
    ///
    /// Asks for confirmation on a terminal (`--yes` skips it; without a terminal `--yes` is
    /// required). Refuses to start when existing data would make a step fail (duplicate keys) or
    /// leave invalid documents behind (unless --allow-violations). Stops at the first failing
    /// step and reports what was applied; re-running finishes the job, as every step is idempotent.
    ///
    /// Example: mongrate apply --schemas schemas --yes
    Apply(ApplyArgs),
    /// Drift report for CI: exit 0 when the server matches the schemas, 2 when it drifted.
    ///
    /// Drift is any step `plan` would run, and any collection or index that no schema declares
    /// and no `ignore_*` list covers.
    ///
    /// Example: mongrate check --schemas schemas --format json
    Check(CheckArgs),
    /// Compare two schema folders, no server needed: exit 0 when the same, 2 when they differ.
    ///
    /// Prints the plan that would take a server in state A to state B.
    ///
    /// Example: mongrate diff fixtures/promptforge_live/schemas schemas
    Diff(DiffArgs),
}

/// Options shared by the commands that compare with a server.
#[derive(Debug, Args, Clone)]
pub struct EngineArgs {
    /// Also plan drops of collections and indexes that no schema declares.
    #[arg(long)]
    pub prune: bool,
    /// Run destructive steps (drops of undeclared objects); without it they are shown as skipped.
    #[arg(long)]
    pub allow_destructive: bool,
    /// Read every database on the server, not only those the schemas name (others are unmanaged).
    #[arg(long)]
    pub all_databases: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Exit with 2 when the plan has steps (for scripts).
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    pub yes: bool,
    /// Go through planning and checks, but execute nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Set validators even when existing documents fail them (they stay invalid until fixed).
    #[arg(long)]
    pub allow_violations: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Read every database on the server, not only those the schemas name.
    #[arg(long)]
    pub all_databases: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The schemas folder taken as the current state.
    pub from: std::path::PathBuf,
    /// The schemas folder taken as the desired state.
    pub to: std::path::PathBuf,
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
