//! One module per command: turn arguments into options, call the core, print the outcome.
//! This layer (with `main.rs`) is the only code that prints, always through [`out`].

pub mod apply;
pub mod backfill;
pub mod check;
pub mod config;
pub mod diff;
pub mod engine;
pub mod fleet;
pub mod lint;
pub mod migrate;
pub mod migrate_fleet;
pub mod out;
pub mod plan;
pub mod project;
pub mod pull;
pub mod seed;
pub mod validate;
pub mod validator;
pub mod views;

use crate::cli::{Cli, Command, Format, GlobalArgs};
use crate::spec::{self, Loaded};
use anyhow::{Context, Result};
use mongodb::Client;
use out::errln;
use serde::Serialize;
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

/// Exit codes shared by all commands (README: "Exit codes").
pub mod exit {
    /// Success; in sync; nothing pending.
    pub const OK: i32 = 0;
    /// An error of any kind, usage errors included.
    pub const ERROR: i32 = 1;
    /// Differences or pending work (check, diff, plan --exit-code, migrate verify,
    /// migrate status --exit-code).
    pub const DIFFERENCES: i32 = 2;
}

/// The version of every `--format json` document's shape.
pub const FORMAT_VERSION: u32 = 1;

/// A usage mistake that clap cannot see (e.g. a bad `DB.COLLECTION`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A problem with `mongrate.yaml` or the settings it gives.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The schema files have errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SpecInvalid(pub String);

/// A change was refused before anything was done.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The run was interrupted by the user (Ctrl-C); what it says is how to go on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);

/// The server stopped answering during a run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServerStopped(pub String);

/// The `kind` of an error in JSON output: a fixed set of names scripts can match on.
pub fn error_kind(e: &anyhow::Error) -> &'static str {
    use crate::db::ConnectError;
    for cause in e.chain() {
        if cause.is::<UsageError>() {
            return "usage";
        }
        if cause.is::<ConfigError>() {
            return "config";
        }
        if cause.is::<SpecInvalid>() || cause.is::<spec::LoadError>() {
            return "schemas";
        }
        if cause.is::<crate::migrate::MigrationError>() {
            return "migration_files";
        }
        if cause.is::<Refused>()
            || cause.is::<crate::migrate::plan::RunPlanError>()
            || cause.is::<crate::migrate::plan::ResolveError>()
        {
            return "refused";
        }
        if cause.is::<crate::db::lock::LockError>() {
            return "lock_held";
        }
        if cause.is::<crate::db::lock::LockLost>() || cause.is::<crate::db::changelog::Fenced>() {
            return "lock_lost";
        }
        if cause.is::<ServerStopped>() {
            return "unreachable";
        }
        if cause.is::<Interrupted>() {
            return "interrupted";
        }
        if let Some(c) = cause.downcast_ref::<ConnectError>() {
            return match c {
                ConnectError::InvalidUri { .. } => "invalid_uri",
                ConnectError::Auth { .. } => "auth",
                ConnectError::Unreachable { .. } | ConnectError::Refused { .. } => "unreachable",
                ConnectError::WrongReplicaSet { .. } => "unreachable",
            };
        }
    }
    "error"
}

/// Print an error the way the output format asks; returns the exit code (always 1).
pub fn report_error(e: &anyhow::Error, format: Format, command: &str) -> i32 {
    let message = crate::yaml::tidy(&format!("{e:#}"));
    match format {
        Format::Json => print_json(
            command,
            &serde_json::json!({ "error": { "message": out::scrub(&message), "kind": error_kind(e) } }),
        ),
        Format::Text | Format::Github => errln!("error: {message}"),
    }
    exit::ERROR
}

/// Print one JSON document: `{ "format_version": 1, "command": ..., <body> }`.
pub fn print_json(command: &str, body: &impl Serialize) {
    let mut doc = serde_json::json!({ "format_version": FORMAT_VERSION, "command": command });
    if let (Some(map), Ok(serde_json::Value::Object(fields))) =
        (doc.as_object_mut(), serde_json::to_value(body))
    {
        map.extend(fields);
    }
    out::outln!(
        "{}",
        serde_json::to_string_pretty(&doc).unwrap_or_else(|_| doc.to_string())
    );
}

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

/// Every setting in effect for one run: the command line, mongrate.yaml, the environment
/// variables and the defaults, resolved once (see [`config::resolve`]). Commands read only this.
#[derive(Debug, Clone)]
pub struct Settings {
    pub format: Format,
    pub quiet: bool,
    /// The connection string given with `--uri`, if one was.
    pub uri_arg: Option<String>,
    /// `--server-timeout`, if given (it then wins over the URI's own timeout).
    pub server_timeout_arg: Option<u64>,
    /// The connection string in effect, and where it came from (for messages).
    pub uri: String,
    pub uri_source: String,
    pub schemas: std::path::PathBuf,
    pub migrations: std::path::PathBuf,
    pub state_db: String,
    /// Seconds (see `db::ConnectOptions` for how the URI's own timeout counts).
    pub server_timeout: u64,
    pub retry_for: u64,
    pub commit_quorum: Option<String>,
    /// The project's folder (where mongrate.yaml is, else the working directory).
    pub project_root: std::path::PathBuf,
    /// The project's name (`project:` in mongrate.yaml), which keys its migration history.
    pub project: Option<String>,
    /// `--databases`, unparsed.
    pub databases: Option<String>,
    pub parallel: u16,
    pub canary: u16,
    pub on_error: crate::fleet::OnError,
    pub max_failures: Option<u32>,
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
        format: global.format,
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
    })
}

/// Run the parsed command line with the settings it gave; returns the process exit code.
pub fn run(cli: Cli, given: &crate::cli::SettingArgs) -> Result<i32> {
    let global = &resolve(&cli.global, given)?;
    match cli.command {
        Command::Validate(args) => validate::run(global, &args),
        Command::Validator(args) => validator::run(global, &args),
        Command::Seed(args) => seed::run(global, &args),
        Command::Plan(args) => plan::run(global, &args),
        Command::Apply(args) => apply::run(global, &args),
        Command::Check(args) => check::run(global, &args),
        Command::Diff(args) => diff::run(global, &args),
        Command::Migrate(args) => migrate::run(global, &args),
        Command::Backfill(args) => backfill::run(global, &args),
        Command::Pull(args) => pull::run(global, &args),
        Command::Lint(args) => lint::run(global, &args),
        Command::Init(args) => project::init(global, &args),
        Command::SchemaJson(args) => project::schema_json(global, &args),
        Command::Completions(args) => project::completions(global, &args),
        Command::Man => project::man(global),
    }
}

/// The migrations of `dir`; what they probably do not mean is printed as warnings (stderr).
pub fn load_migrations(dir: &Path) -> Result<Vec<crate::migrate::Migration>> {
    let (migrations, warnings) = crate::migrate::load_dir_with_warnings(dir)
        .with_context(|| format!("reading migrations in `{}`", dir.display()))?;
    for w in warnings {
        errln!("{w}");
    }
    Ok(migrations)
}

/// Load the schemas root and fail (listing every error) if it has errors; the state database
/// cannot be one of its databases.
pub fn load_valid_spec(root: &Path, state_db: &str) -> Result<Loaded> {
    let loaded = spec::load_dir(root)?;
    if loaded.has_errors() {
        let lines: Vec<String> = loaded.errors().map(|d| d.to_string()).collect();
        return Err(SpecInvalid(format!(
            "the schemas in `{}` have {}; fix them (see `mongrate validate`):\n{}",
            root.display(),
            crate::progress::count(lines.len() as u64, "error"),
            lines.join("\n")
        ))
        .into());
    }
    if loaded.spec.databases.contains_key(state_db) {
        return Err(SpecInvalid(format!(
            "`{}` declares the database `{state_db}`, which holds mongrate's own state (changelog, lock, checkpoints) and is never a target; rename the folder, or choose another state database with --state-db or `state_db` in mongrate.yaml",
            root.join(state_db).display()
        ))
        .into());
    }
    Ok(loaded)
}

/// [`load_valid_spec`], refusing a folder that declares no collection: a command pointed at
/// the wrong folder (a CI job in the wrong directory) must not report success.
pub fn load_declared_spec(root: &Path, state_db: &str) -> Result<Loaded> {
    let loaded = load_valid_spec(root, state_db)?;
    if loaded
        .spec
        .databases
        .values()
        .all(|d| d.collections.is_empty())
    {
        return Err(SpecInvalid(nothing_declared(root)).into());
    }
    Ok(loaded)
}

/// The message for a schemas folder that declares no collection.
pub fn nothing_declared(root: &Path) -> String {
    format!(
        "`{}` declares no collection: is it the right folder (--schemas, or `schemas:` in mongrate.yaml)? Collections are declared in `<database>/<collection>.yaml` files there; `mongrate pull` writes them from a server",
        root.display()
    )
}

/// Split `DB.COLLECTION`.
pub fn split_target(target: &str) -> Result<(&str, &str)> {
    target
        .split_once('.')
        .filter(|(d, c)| !d.is_empty() && !c.is_empty())
        .ok_or_else(|| {
            UsageError(format!(
                "`{target}`: expected <database>.<collection>, e.g. workflowai.contacts"
            ))
            .into()
        })
}

/// A tokio runtime for the commands that talk to a server.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// A connected server for one command: its runtime, its client, and a watchdog that fails the
/// run when the server stops answering. The client is shut down when this is dropped.
pub struct Server {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    timeout: Duration,
    /// How long a replica set may go without a primary (`--retry-for`).
    election: Duration,
    shown_uri: String,
}

impl Server {
    /// Connect (failing within the server timeout).
    pub fn connect(global: &Settings) -> Result<Self> {
        let rt = runtime()?;
        let connected = rt.block_on(crate::db::connect(&engine::connect_options(global)))?;
        Ok(Self {
            rt,
            client: Some(connected.client),
            timeout: connected.server_timeout,
            election: Duration::from_secs(global.retry_for),
            shown_uri: crate::db::redact_uri(&global.uri),
        })
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("connected until dropped")
    }

    /// Run `work`; fail it if the server stops answering pings for the server timeout.
    pub fn run<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let client = self.client();
        let timeout = self.timeout;
        let shown = &self.shown_uri;
        self.rt.block_on(async {
            tokio::select! {
                r = work => r,
                why = watchdog(client, timeout, self.election) => {
                    let during = out::activity()
                        .map(|a| format!(" during {a}"))
                        .unwrap_or_default();
                    Err(ServerStopped(format!(
                        "the server at {shown} stopped answering{during}: {why}; the step that was running may or may not have completed on the server (every step is idempotent: run the command again once the server is back)"
                    ))
                    .into())
                }
            }
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Bounded: a frozen server must not hold the process at exit.
            self.rt.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(2), crate::db::disconnect(client))
                    .await;
            });
        }
    }
}

/// Resolves when the server has not answered a ping for `timeout`, with the reason. While
/// some member of a replica set still answers (an election: no primary for a while), the
/// primary may stay silent for up to `election` (`--retry-for`) before the run is failed.
async fn watchdog(client: &Client, timeout: Duration, election: Duration) -> String {
    let every = (timeout / 3).max(Duration::from_millis(500));
    let mut last_ok = Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let why = match crate::db::ping(client, timeout).await {
            Ok(()) => {
                last_ok = Instant::now();
                continue;
            }
            Err(why) => why,
        };
        if last_ok.elapsed() < timeout {
            continue;
        }
        let electing = crate::db::ping_any(client, every).await.is_ok();
        if electing && last_ok.elapsed() < election.max(timeout) {
            continue;
        }
        return if electing {
            format!(
                "no primary for {}s, though other members answer (--retry-for {}): {why}",
                last_ok.elapsed().as_secs(),
                election.as_secs()
            )
        } else {
            format!(
                "no answer for {}s (--server-timeout {}): {why}",
                last_ok.elapsed().as_secs(),
                timeout.as_secs()
            )
        };
    }
}
