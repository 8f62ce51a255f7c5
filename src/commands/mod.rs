//! One module per command: turn the arguments into a request, call the command's use case
//! (`crate::app`), hand its report to the emitter, return the exit code. This layer (with
//! `main.rs`) is the only code that prints, always through [`out`], and [`emit`] the only
//! code that chooses between JSON and text.

pub mod apply;
pub mod backfill;
pub mod check;
pub mod diff;
pub mod doctor;
pub mod emit;
pub mod lint;
pub mod migrate;
pub mod out;
pub mod plan;
pub mod project;
pub mod pull;
pub mod seed;
pub mod validate;
pub mod validator;

use crate::app::{ConfigError, Settings, config};
use crate::cli::{Cli, Command, GlobalArgs};
pub use crate::views::exit;
use anyhow::Result;
pub use emit::{Emitter, print_json, usage_error};

/// The name a command goes by in JSON output (`plan`, `migrate up`, ...).
pub fn command_name(cmd: &Command) -> &'static str {
    use crate::cli::MigrateCommand as M;
    match cmd {
        Command::Validate(_) => "validate",
        Command::Validator(_) => "validator",
        Command::Seed(_) => "seed",
        Command::Plan(_) => "plan",
        Command::Apply(_) => "apply",
        Command::Check(_) => "check",
        Command::Doctor(_) => "doctor",
        Command::Diff(_) => "diff",
        Command::Backfill(_) => "backfill",
        Command::Pull(_) => "pull",
        Command::Lint(_) => "lint",
        Command::Init(_) => "init",
        Command::SchemaJson(_) => "schema-json",
        Command::Completions(_) => "completions",
        Command::Man => "man",
        Command::Migrate(m) => match m.command {
            M::Generate { .. } => "migrate generate",
            M::New { .. } => "migrate new",
            M::Up { .. } => "migrate up",
            M::Down { .. } => "migrate down",
            M::Status { .. } => "migrate status",
            M::Verify { .. } => "migrate verify",
            M::Baseline { .. } => "migrate baseline",
            M::Unlock { .. } => "migrate unlock",
            M::Resolve { .. } => "migrate resolve",
        },
    }
}

/// Resolve the settings from the global options, the command's settings, mongrate.yaml and
/// the environment.
pub fn resolve(global: &GlobalArgs, given: &crate::cli::SettingArgs) -> Result<Settings> {
    let flags = config::Flags {
        config: global.config.clone(),
        env: global.env.clone(),
        uri: given.uri.clone(),
        schemas: given.schemas.clone(),
        migrations: given.migrations.clone(),
        state_db: given.state_db.clone(),
        server_timeout: given.server_timeout,
        retry_for: given.retry_for,
        commit_quorum: given.commit_quorum.clone(),
    };
    // Secrets are registered before anything can fail, so no message can show them.
    let mut uris: Vec<String> = [given.uri.clone(), std::env::var("MONGODB_URI").ok()]
        .into_iter()
        .flatten()
        .collect();
    let resolved = config::resolve(&flags);
    if let Ok(r) = &resolved {
        uris.extend(r.all_uris.iter().cloned());
    }
    for uri in &uris {
        out::add_secrets(crate::redact::secrets(uri));
    }
    let r = resolved.map_err(|e| ConfigError(format!("{e:#}")))?;
    Ok(Settings {
        quiet: global.quiet,
        uri_arg: given.uri.clone(),
        server_timeout_arg: given.server_timeout,
        uri: r.uri,
        uri_source: r.uri_source,
        schemas: r.schemas,
        migrations: r.migrations,
        state_db: r.state_db,
        server_timeout: r.server_timeout,
        retry_for: r.retry_for,
        commit_quorum: r.commit_quorum,
        project_root: r.project_root,
        project: r.project,
        databases: given.databases.clone(),
        parallel: given.parallel.unwrap_or(4),
        canary: given.canary.unwrap_or(0),
        on_error: given.on_error.unwrap_or(crate::fleet::OnError::Continue),
        max_failures: given.max_failures,
        skip_preflight: given.skip_preflight,
        progress_every: out::line_every(),
        job_batch_size: given.job_batch_size.map(|n| n as usize),
        job_max_docs_per_sec: given.job_max_docs_per_sec,
        job_max_lag: given.job_max_lag,
    })
}

/// Run the parsed command line with the settings it gave; returns the process exit code.
pub fn run(cli: Cli, given: &crate::cli::SettingArgs) -> i32 {
    let emit = Emitter {
        format: cli.global.format,
        quiet: cli.global.quiet,
    };
    let command = command_name(&cli.command);
    let settings = match resolve(&cli.global, given) {
        Ok(s) => s,
        Err(e) => return emit.error(&e, command),
    };
    let s = &settings;
    let done = match cli.command {
        Command::Validate(args) => validate::run(s, &args, &emit),
        Command::Validator(args) => validator::run(s, &args, &emit),
        Command::Seed(args) => seed::run(s, &args, &emit),
        Command::Plan(args) => plan::run(s, &args, &emit),
        Command::Apply(args) => apply::run(s, &args, &emit),
        Command::Check(args) => check::run(s, &args, &emit),
        Command::Doctor(args) => doctor::run(s, &args, &emit),
        Command::Diff(args) => diff::run(s, &args, &emit),
        Command::Migrate(args) => migrate::run(s, &args, &emit),
        Command::Backfill(args) => backfill::run(s, &args, &emit),
        Command::Pull(args) => pull::run(s, &args, &emit),
        Command::Lint(args) => lint::run(s, &args, &emit),
        Command::Init(args) => project::init(s, &args, &emit),
        Command::SchemaJson(args) => project::schema_json(&args, &emit),
        Command::Completions(args) => project::completions(&args, &emit),
        Command::Man => project::man(&emit),
    };
    done.unwrap_or_else(|e| emit.error(&e, command))
}
