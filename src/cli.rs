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
    after_help = "Each command's --help lists its own options first, then the server, project and fleet options it takes. A setting given before the command (`mongrate --uri URI plan`, `mongrate migrate --state-db DB up`) is passed to the command when it takes it, like a value of mongrate.yaml.\n\nExamples:\n  mongrate validate --schemas schemas\n  mongrate plan\n  mongrate apply --yes\n  mongrate check --format json\n  mongrate validator workflowai.contacts"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands (shown under "Global options").
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Environment of mongrate.yaml to use (`environments: { NAME: ... }`) [env: MONGRATE_ENV].
    #[arg(
        long = "env",
        value_name = "NAME",
        global = true,
        help_heading = "Global options"
    )]
    pub env: Option<String>,
    /// The config file [default: mongrate.yaml in the current folder or the nearest parent].
    #[arg(
        long = "config",
        value_name = "FILE",
        global = true,
        help_heading = "Global options"
    )]
    pub config: Option<PathBuf>,
    /// Output format: `text` for people, `json` for scripts (one JSON document on stdout, errors
    /// included; see docs/json.md).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text, help_heading = "Global options")]
    pub format: Format,
    /// Print only errors and results, no progress.
    #[arg(long, short, global = true, help_heading = "Global options")]
    pub quiet: bool,
}

/// The server, for the commands that talk to one.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Server options")]
pub struct ServerArgs {
    /// MongoDB connection string (its password is never printed). Default: the chosen
    /// environment's URI, then $MONGODB_URI, then `uri`/`uri_env` in mongrate.yaml, then
    /// mongodb://localhost:27017.
    #[arg(long, value_name = "URI")]
    pub uri: Option<String>,
    /// Seconds to wait for a server that does not answer: to connect, and for any operation
    /// while the server stops answering pings (a long index build that the server is working
    /// on is not cut). A refused connection, or a replica set of another name than the URI's,
    /// fails at once [default: the URI's `serverSelectionTimeoutMS`, then `server_timeout` in
    /// mongrate.yaml, then 10].
    #[arg(long, value_name = "SECONDS")]
    pub server_timeout: Option<u64>,
    /// Database holding mongrate's changelog, lock and checkpoints; never planned, applied,
    /// pruned or checked [default: `state_db` in mongrate.yaml, then `mongrate`].
    #[arg(long, value_name = "DB")]
    pub state_db: Option<String>,
}

/// Riding out elections, for the commands that change a server.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Server options")]
pub struct RetryArgs {
    /// Seconds to keep retrying a step that an election (or a network error) interrupted: mongrate
    /// waits for the new primary, checks what the server holds (the step may have completed),
    /// and runs it again only if needed. 0: stop at the first interruption [default:
    /// `retry_for` in mongrate.yaml, then 60].
    #[arg(long, value_name = "SECONDS")]
    pub retry_for: Option<u64>,
    /// Dangerous: start even when preflight finds steps that cannot run — a privilege the user
    /// lacks, a feature the server's version or feature compatibility version lacks, a topology
    /// a step needs. The run may then stop partway, with the steps before the refused one
    /// applied. Without it such a run is refused before its first change.
    #[arg(long)]
    pub skip_preflight: bool,
}

/// Index builds, for the commands that build indexes.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Server options")]
pub struct QuorumArgs {
    /// Commit quorum of index builds (`createIndexes`): `votingMembers` (the server's default),
    /// `majority`, a number of data-bearing members, or a replica set tag name [default:
    /// `commit_quorum` in mongrate.yaml, then the server's].
    #[arg(long, value_name = "QUORUM")]
    pub commit_quorum: Option<String>,
}

/// The schemas folder.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Project options")]
pub struct SchemasArgs {
    /// Folder with one sub-folder per database and one YAML file per collection [default:
    /// `schemas` in mongrate.yaml, then ./schemas].
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
}

/// The migrations folder.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Project options")]
pub struct MigrationsArgs {
    /// Folder of `<YYYYMMDDHHMMSS>_<name>.yaml` migration files [default: `migrations` in
    /// mongrate.yaml, then ./migrations].
    #[arg(long, value_name = "DIR", visible_alias = "dir")]
    pub migrations: Option<PathBuf>,
}

/// Narrowing a run to some databases.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Fleet options")]
pub struct SelectArgs {
    /// Only these databases: comma-separated names or patterns (`tenant_*,billing`). A name
    /// that a template folder (`schemas/tenant_*/`) matches but that is not on the server yet
    /// is created from the template by `apply`.
    #[arg(long, value_name = "PATTERNS")]
    pub databases: Option<String>,
}

/// How a run over many databases proceeds.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Fleet options")]
pub struct FleetArgs {
    /// How many databases are worked on at once (a primary builds at most 3 indexes at once;
    /// more waits on the server) [default: 4].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: Option<u16>,
    /// Run the first K databases on their own, and stop without touching the rest if any of
    /// them fails.
    #[arg(long, value_name = "K")]
    pub canary: Option<u16>,
    /// `continue` reports a failed database and carries on with the others; `stop` starts no
    /// further database after the first failure [default: continue].
    #[arg(long = "on-error", value_enum)]
    pub on_error: Option<crate::fleet::OnError>,
    /// Start no further database once this many have failed.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_failures: Option<u32>,
}

/// How data steps run (`update_many`, `rename_field`, `evolve_field` in migrations and the
/// migrate phase of declared evolutions): an operation's own `batch_size` and
/// `max_docs_per_sec` win.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Data steps")]
pub struct JobArgs {
    /// Documents per batch of a data step [default: 1000].
    #[arg(long = "batch-size", id = "job_batch_size", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: Option<u64>,
    /// Slow data steps down to at most this many documents per second.
    #[arg(
        long = "max-docs-per-sec",
        id = "job_max_docs_per_sec",
        value_name = "N"
    )]
    pub max_docs_per_sec: Option<u64>,
    /// On a replica set, pause a data step between batches while the slowest secondary is
    /// more than this many seconds behind (0: never pause) [default: 10].
    #[arg(long = "max-lag", id = "job_max_lag", value_name = "SECONDS")]
    pub max_lag: Option<u64>,
}

/// Every setting a command line can give, whichever command it was given to (`None`: not
/// given). Read from the parsed command line by argument id, so each command declares only the
/// groups that apply to it.
#[derive(Debug, Clone, Default)]
pub struct SettingArgs {
    pub uri: Option<String>,
    pub server_timeout: Option<u64>,
    pub state_db: Option<String>,
    pub retry_for: Option<u64>,
    pub commit_quorum: Option<String>,
    pub schemas: Option<PathBuf>,
    pub migrations: Option<PathBuf>,
    pub databases: Option<String>,
    pub parallel: Option<u16>,
    pub canary: Option<u16>,
    pub on_error: Option<crate::fleet::OnError>,
    pub max_failures: Option<u32>,
    pub skip_preflight: bool,
    pub job_batch_size: Option<u64>,
    pub job_max_docs_per_sec: Option<u64>,
    pub job_max_lag: Option<u64>,
}

impl SettingArgs {
    /// The settings the innermost command of `matches` was given.
    pub fn from_matches(matches: &clap::ArgMatches) -> Self {
        let mut leaf = matches;
        while let Some((_, sub)) = leaf.subcommand() {
            leaf = sub;
        }
        fn get<T: Clone + Send + Sync + 'static>(m: &clap::ArgMatches, id: &str) -> Option<T> {
            m.try_get_one::<T>(id).ok().flatten().cloned()
        }
        Self {
            uri: get(leaf, "uri"),
            server_timeout: get(leaf, "server_timeout"),
            state_db: get(leaf, "state_db"),
            retry_for: get(leaf, "retry_for"),
            commit_quorum: get(leaf, "commit_quorum"),
            schemas: get(leaf, "schemas"),
            migrations: get(leaf, "migrations"),
            databases: get(leaf, "databases"),
            parallel: get(leaf, "parallel"),
            canary: get(leaf, "canary"),
            on_error: get(leaf, "on_error"),
            max_failures: get(leaf, "max_failures"),
            skip_preflight: get(leaf, "skip_preflight").unwrap_or(false),
            job_batch_size: get(leaf, "job_batch_size"),
            job_max_docs_per_sec: get(leaf, "job_max_docs_per_sec"),
            job_max_lag: get(leaf, "job_max_lag"),
        }
    }
}

/// The long options that are settings (they take one value): given before the command
/// (`mongrate --uri X plan`, `mongrate migrate --state-db S up`), they are moved to the
/// command that runs, and dropped for one they do not apply to — like mongrate.yaml's values.
const SETTINGS: &[&str] = &[
    "uri",
    "server-timeout",
    "state-db",
    "retry-for",
    "commit-quorum",
    "schemas",
    "migrations",
    "dir",
    "databases",
    "parallel",
    "canary",
    "on-error",
    "max-failures",
];

/// The command line with settings given before the command moved after it (see
/// [`SETTINGS`]): `mongrate --uri X migrate --dir D up` → `mongrate migrate up --uri X
/// --dir D`. A setting the command does not take is dropped; everything else is left for
/// clap to judge.
pub fn hoist(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let root = Cli::command();
    let mut cmd = &root;
    let mut out: Vec<std::ffi::OsString> = args.iter().take(1).cloned().collect();
    let mut moved: Vec<(String, std::ffi::OsString)> = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let Some(word) = args[i].to_str() else {
            break;
        };
        if let Some(sub) = cmd.find_subcommand(word) {
            out.push(args[i].clone());
            cmd = sub;
            i += 1;
            if cmd.get_subcommands().next().is_none() {
                break;
            }
            continue;
        }
        if word == "--" {
            break;
        }
        let Some(long) = word.strip_prefix("--") else {
            if word.starts_with('-') && word.len() > 1 {
                // A short flag (`-q`): global, takes no value.
                out.push(args[i].clone());
                i += 1;
                continue;
            }
            break;
        };
        let (name, inline) = match long.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (long, None),
        };
        let missing_value = inline.is_none() && i + 1 >= args.len();
        if !SETTINGS.contains(&name) || missing_value {
            // Not a setting (a global option such as --format, or a typo for clap to report).
            out.push(args[i].clone());
            let takes_value = cmd
                .get_arguments()
                .chain(root.get_arguments())
                .find(|a| a.get_long() == Some(name))
                .is_some_and(|a| a.get_action().takes_values());
            if takes_value && inline.is_none() && i + 1 < args.len() {
                out.push(args[i + 1].clone());
                i += 1;
            }
            i += 1;
            continue;
        }
        match inline {
            Some(v) => moved.push((name.to_string(), v.into())),
            None => {
                moved.push((name.to_string(), args[i + 1].clone()));
                i += 1;
            }
        }
        i += 1;
    }
    out.extend(args[i..].iter().cloned());
    let accepts = |name: &str| {
        cmd.get_arguments().any(|a| {
            a.get_long() == Some(name)
                || a.get_visible_aliases()
                    .is_some_and(|aliases| aliases.contains(&name))
        })
    };
    // After the command's own arguments, before a `--` that ends options.
    let at = out.iter().position(|a| a == "--").unwrap_or(out.len());
    let tail = out.split_off(at);
    // Given after the command too: that one wins.
    let after: Vec<String> = out
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .filter_map(|a| a.strip_prefix("--"))
        .map(|a| a.split('=').next().unwrap_or(a).to_string())
        .collect();
    for (name, value) in moved {
        if accepts(&name) && !after.contains(&name) {
            out.push(format!("--{name}").into());
            out.push(value);
        }
    }
    out.extend(tail);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// GitHub Actions annotations (`::warning file=…,line=…::…`), for `lint`; other commands
    /// print text.
    Github,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify every change between two versions of the schemas as safe, risky or breaking.
    ///
    /// No server needed: OLD and NEW are schemas folders, or `--base REV` compares the schemas
    /// folder at a git revision with the working tree. Each change gets a rule id, a severity,
    /// a reason and what to do instead; `lint: { allow: [{ rule, reason }] }` in a schema file
    /// acknowledges a deliberate change. Exit 2 when a change at or above --fail-on is not
    /// acknowledged. `--format github` writes annotations for a pull request.
    ///
    /// Example: mongrate lint --base origin/main --format github
    Lint(LintArgs),
    /// Check every spec file (no server needed). Exit 0 when valid, 1 on any error.
    ///
    /// Every problem is listed as `file:line:column: error: message`; warnings (e.g. an index on
    /// an undeclared field) are listed too but do not fail. Given files (a pre-commit hook's),
    /// only those are checked and reported.
    ///
    /// Example: mongrate validate --schemas schemas
    /// Example (pre-commit): mongrate validate schemas/shop/orders.yaml migrations/20260101000000_x.yaml
    Validate(ValidateArgs),
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
    /// and no `ignore_*` list covers. With --data, also any document that fails its schema.
    ///
    /// Example: mongrate check --schemas schemas --data --format json
    Check(CheckArgs),
    /// One report of the server, the connected user, the state database and the project:
    /// exit 0 when nothing is wrong, 2 when something is (each problem says what it means).
    ///
    /// The server: version, feature compatibility version, topology, each replica set member's
    /// state and lag, how many index builds run at once. The user: roles, and per project
    /// database and the state database the actions mongrate uses, granted or not. The state
    /// database: changelog entries, who holds the migration lock. The project: the schema files'
    /// errors, what `apply` would do, and what preflight says of it. Facts the user may not read
    /// (they need `clusterMonitor`) are shown as unknown, not as problems.
    ///
    /// Example: mongrate doctor --format json
    Doctor(DoctorArgs),
    /// Compare two schema folders, no server needed: exit 0 when the same, 2 when they differ.
    ///
    /// Prints the plan that would take a server in state A to state B.
    ///
    /// Example: mongrate diff fixtures/promptforge_live/schemas schemas
    Diff(DiffArgs),
    /// Versioned migrations: files in `migrations/`, a changelog and a lease lock in the state
    /// database.
    ///
    /// Example: mongrate migrate generate add_email_index && mongrate migrate up
    Migrate(MigrateArgs),
    /// Write schema files from what a server holds, so that mongrate can adopt an existing
    /// database.
    ///
    /// For each collection, `<schemas>/<db>/<collection>.yaml` with its options, indexes and
    /// validator exactly as the server holds them (a `$jsonSchema` as fields where fields can say
    /// it exactly, else as written under `validator:`), views, and — where no validator says
    /// them — fields inferred from a sample of the documents (a union of the types seen, each
    /// field with a comment of what was seen). A pulled file holds no data: the only values it
    /// may name are repeated, harmless enum candidates. Every file is read back and compared with the
    /// server before it is written: `check` right after `pull` is clean. An existing file is
    /// never overwritten: pull shows the diff; --force writes, --merge keeps what a person wrote.
    ///
    /// Example: mongrate pull promptforge --full-scan
    Pull(PullArgs),
    /// Start a project here: mongrate.yaml, schemas/, migrations/, and the editor schemas in
    /// .mongrate/ (so editors complete and check keys as you type). Then run `mongrate pull`.
    ///
    /// The URI (from --uri or MONGODB_URI) is written without its password. Existing files are
    /// left alone unless --force.
    ///
    /// Example: mongrate init --uri mongodb://localhost:27017
    Init(InitArgs),
    /// Print (or --write) the JSON Schemas of mongrate's files, for editors: collection files,
    /// `_database.yaml`, migration files and mongrate.yaml. Generated from the types the loader
    /// reads them with.
    ///
    /// Example: mongrate schema-json --write .mongrate
    SchemaJson(SchemaJsonArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    ///
    /// Example: mongrate completions bash > ~/.local/share/bash-completion/completions/mongrate
    Completions(CompletionsArgs),
    /// Print the manual page (roff).
    ///
    /// Example: mongrate man > /usr/local/share/man/man1/mongrate.1
    Man,
    /// Fill fields that documents lack with the defaults the schemas declare.
    ///
    /// Works in batches by `_id` range, with a checkpoint in the state database so an interrupted
    /// run resumes; a field set meanwhile by someone else is left alone; a parent that exists but
    /// is not an object (or is null) is counted as blocked, never overwritten. Without targets,
    /// every collection with defaults.
    ///
    /// Example: mongrate backfill promptforge.users --dry-run
    Backfill(BackfillArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,
    /// The connection string to write into mongrate.yaml, without its password (default:
    /// $MONGODB_URI, else mongodb://localhost:27017).
    #[arg(long, value_name = "URI")]
    pub uri: Option<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Check only these files (for a pre-commit hook): collection files, `_database.yaml`
    /// files and migration files, each with its folder around it (defaults, duplicates).
    /// Without files, the whole schemas folder.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub schemas: SchemasArgs,
}

pub use crate::app::project::SchemaKind;

#[derive(Debug, Args)]
pub struct SchemaJsonArgs {
    /// One format (default: all four, as one JSON object).
    pub kind: Option<SchemaKind>,
    /// Write `<kind>.schema.json` files into this folder instead of printing.
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Databases (`DB`) or collections (`DB.COLLECTION`); default: every database but admin,
    /// local, config and the state database.
    pub targets: Vec<String>,
    /// Every database but admin, local, config and the state database (the default).
    #[arg(long, conflicts_with = "targets")]
    pub all: bool,
    /// Infer fields from a sample of this many documents per collection (0: none). The sample
    /// is deterministic (the documents whose `_id` hashes lowest): the same data gives the
    /// same files.
    #[arg(long, default_value_t = 1000)]
    pub sample: u64,
    /// Infer fields from every document (slower; exact).
    #[arg(long)]
    pub full_scan: bool,
    /// A field present in at least this share (0 to 1) of the examined documents is required.
    #[arg(long, default_value_t = 1.0)]
    pub required_threshold: f64,
    /// Deeper paths are declared as `object`/`array` without their contents.
    #[arg(long, default_value_t = 8)]
    pub max_depth: usize,
    /// Declare the enum candidates as `enum`: string fields with at most 10 distinct values,
    /// each held by 3 documents or more and none shaped like a secret or personal data (no
    /// other document value is ever written into a file).
    #[arg(long)]
    pub enums: bool,
    /// Turn validation on with the inferred fields, for collections without a validator (the
    /// fields accept every examined document; with --full-scan, every document).
    #[arg(long)]
    pub with_validators: bool,
    /// Overwrite files that differ.
    #[arg(long)]
    pub force: bool,
    /// Update files that differ, keeping their descriptions, defaults, constraints and fields
    /// the data no longer shows.
    #[arg(long, conflicts_with = "force")]
    pub merge: bool,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub schemas: SchemasArgs,
}

#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Collections as `<database>.<collection>` (default: all with defaults).
    pub targets: Vec<String>,
    /// Count, per collection and field, what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Documents per batch.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Slow down to at most this many documents per second (scanned).
    #[arg(long)]
    pub max_docs_per_sec: Option<u64>,
    /// On a replica set, pause between batches while the slowest secondary is more than this
    /// many seconds behind the primary (0: never pause).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub max_lag: u64,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    #[command(flatten)]
    pub schemas: SchemasArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(subcommand)]
    pub command: MigrateCommand,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Write the migration that takes the state the existing migrations produce to the schemas.
    ///
    /// No server needed: the existing migrations' schema steps are replayed on the model, diffed
    /// against the schemas (drops of what the schemas no longer declare included), and written
    /// with `down` as the reverse steps in reverse order (`irreversible` where there is none).
    ///
    /// Example: mongrate migrate generate add_contacts_email_index
    Generate {
        /// Name of the migration (letters, digits, `_`).
        name: String,
        /// Only these databases (repeatable); default: all the schemas name.
        #[arg(long = "database", id = "only_database")]
        databases: Vec<String>,
        #[command(flatten)]
        schemas: SchemasArgs,
        #[command(flatten)]
        migrations: MigrationsArgs,
    },
    /// Write an empty migration, for hand-written data steps.
    ///
    /// Example: mongrate migrate new rename_team_visibility
    New {
        /// Name of the migration (letters, digits, `_`).
        name: String,
        #[command(flatten)]
        migrations: MigrationsArgs,
    },
    /// Apply pending migrations in order, resuming an interrupted one at its unfinished step.
    ///
    /// Takes the lease lock (waiting up to --lock-timeout for another run), refuses if an applied
    /// file changed, records every step in the changelog.
    ///
    /// Example: mongrate migrate up --to 20250910000000
    Up {
        /// Stop after this version.
        #[arg(long)]
        to: Option<String>,
        /// List the migrations and steps that would run (and where an interrupted run would
        /// resume); take no lock, write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        lock: LockArgs,
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        retry: RetryArgs,
        #[command(flatten)]
        job: JobArgs,
        #[command(flatten)]
        quorum: QuorumArgs,
        #[command(flatten)]
        migrations: MigrationsArgs,
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Roll back applied migrations, newest first (default: the last one).
    ///
    /// Refuses a migration with an irreversible step (or no `down`) unless --force. Asks for
    /// confirmation on a terminal; without one, --yes is required.
    ///
    /// Example: mongrate migrate down --to 20250902000000 --yes
    Down {
        /// Roll back this many migrations.
        #[arg(long, conflicts_with = "to")]
        steps: Option<usize>,
        /// Roll back every migration after this version (`0`: all).
        #[arg(long)]
        to: Option<String>,
        /// Skip irreversible steps instead of refusing.
        #[arg(long)]
        force: bool,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
        /// List the migrations and steps that would be rolled back; take no lock, write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        lock: LockArgs,
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        retry: RetryArgs,
        #[command(flatten)]
        job: JobArgs,
        #[command(flatten)]
        quorum: QuorumArgs,
        #[command(flatten)]
        migrations: MigrationsArgs,
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Show every migration: version, name, status, applied at, steps.
    ///
    /// Example: mongrate migrate status --exit-code --format json
    Status {
        /// Exit with 2 when any migration is pending, running, failed, changed or missing.
        #[arg(long)]
        exit_code: bool,
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        migrations: MigrationsArgs,
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Fail (exit 2) when the migrations, replayed, do not produce exactly the schemas, or when
    /// an applied file changed or went missing (read from the changelog: a server that cannot
    /// be read is an error, exit 1, unless --offline).
    ///
    /// Example: mongrate migrate verify --offline
    Verify {
        /// Do not read the changelog (no server needed).
        #[arg(long)]
        offline: bool,
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        schemas: SchemasArgs,
        #[command(flatten)]
        migrations: MigrationsArgs,
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Record migrations as applied without running them: every migration up to --to (all
    /// without it) that has no changelog entry. For a database adopted mid-history, or a new
    /// tenant that already holds what those migrations make; `migrate up` then runs only the
    /// later ones. With fleet migrations (`databases:`), per matching database.
    ///
    /// Example: mongrate migrate baseline --to 20260101000000 --databases 'tenant_*'
    Baseline {
        /// The last version to record (inclusive).
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        #[command(flatten)]
        lock: LockArgs,
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        migrations: MigrationsArgs,
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Say how a failed or interrupted migration ended, after dealing with it by hand.
    ///
    /// `--rolled-back`: its effects were undone (or its file deleted): `up` runs it again from
    /// its first step, and a deleted file no longer shows as missing. `--applied`: it was
    /// finished by hand: `up` skips it (its file must exist; its checksum is recorded). Only a
    /// failed or interrupted run can be resolved: a pending, applied or rolled-back migration is
    /// refused, as that would make the changelog lie. Runs under the migration lock; who, when,
    /// why (--note) and the entry's previous state are recorded in the changelog.
    ///
    /// Example: mongrate migrate resolve 20260101000000 --rolled-back --note "index dropped by hand"
    Resolve {
        /// The migration's version (`YYYYMMDDHHMMSS`).
        version: String,
        /// Its effects were undone: mark it rolled back.
        #[arg(long, conflicts_with = "applied", required_unless_present = "applied")]
        rolled_back: bool,
        /// It was finished by hand: mark it applied.
        #[arg(long)]
        applied: bool,
        /// Why, recorded with the resolution.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        #[command(flatten)]
        lock: LockArgs,
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        migrations: MigrationsArgs,
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Break the lock of a run that died (asks for confirmation unless --yes).
    ///
    /// Example: mongrate migrate unlock --yes
    Unlock {
        #[arg(long, short)]
        yes: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Args, Clone)]
pub struct LockArgs {
    /// Seconds to wait for another run's lock before failing.
    #[arg(long, default_value_t = 60)]
    pub lock_timeout: u64,
    /// Seconds a lock lasts without renewal (renewed every third of it while running).
    #[arg(long, default_value_t = 30)]
    pub lock_lease: u64,
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
    /// Fail (exit 1) when the schemas declare search indexes and the server has no search
    /// (without it they are reported once as not supported: no drift, no failure).
    #[arg(long)]
    pub require_search: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Exit with 2 when the plan has steps (for scripts).
    #[arg(long)]
    pub exit_code: bool,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub schemas: SchemasArgs,
    #[command(flatten)]
    pub select: SelectArgs,
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
    #[arg(long, conflicts_with = "rollout")]
    pub allow_violations: bool,
    /// Staged rollout of validators that existing documents fail: set them with
    /// `validationAction: warn`, backfill the defaults, recount, and tighten to the declared
    /// action only when no document fails any more; otherwise stop and show what is left.
    #[arg(long)]
    pub rollout: bool,
    /// With --rollout: before a staged validator switches from `warn` to its declared action,
    /// watch live writes for this long (`90s`, `10m`, `1h`; a change stream) and check each
    /// document written against it; the switch waits while more are invalid than
    /// --max-invalid.
    #[arg(long, value_name = "DURATION", requires = "rollout", value_parser = crate::canary::parse_duration)]
    pub watch: Option<std::time::Duration>,
    /// With --watch: how many invalid writes the switch tolerates, as a count or a share of
    /// the writes watched (`0`, `10`, `1%`).
    #[arg(long, value_name = "N|P%", default_value = "0", requires = "watch", value_parser = crate::canary::Threshold::parse)]
    pub max_invalid: crate::canary::Threshold,
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    #[command(flatten)]
    pub quorum: QuorumArgs,
    #[command(flatten)]
    pub schemas: SchemasArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The schemas before the change (a folder).
    #[arg(value_name = "OLD_SCHEMAS", conflicts_with = "base")]
    pub old: Option<std::path::PathBuf>,
    /// The schemas after the change (a folder; default: --schemas).
    #[arg(value_name = "NEW_SCHEMAS", requires = "old")]
    pub new: Option<std::path::PathBuf>,
    /// Compare the schemas folder as it is at this git revision (e.g. `origin/main`) with the
    /// working tree.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Exit 2 when an unacknowledged change is at least this severe.
    #[arg(long, value_enum, default_value_t = crate::lint::Severity::Risky)]
    pub fail_on: crate::lint::Severity,
    /// List every rule with its severity and advice, and exit.
    #[arg(long)]
    pub rules: bool,
    /// Inform the findings with the server's data (read-only): documents a tightened schema
    /// refuses, documents a TTL deletes at once, use and size of indexes to drop, duplicates
    /// under a new unique index. Implied by --uri.
    #[arg(long)]
    pub server: bool,
    #[command(flatten)]
    pub connection: ServerArgs,
    #[command(flatten)]
    pub schemas: SchemasArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Read every database on the server, not only those the schemas name.
    #[arg(long)]
    pub all_databases: bool,
    /// Also count the documents that fail each collection's schema, and why (per rule and
    /// field, with up to five `_id`s), computed on the server.
    #[arg(long)]
    pub data: bool,
    /// With --data: examine a random sample of this many documents per collection.
    #[arg(long, requires = "data")]
    pub sample: Option<u64>,
    /// Fail (exit 1) when the schemas declare search indexes and the server has no search
    /// (without it they are reported once as not supported: no drift, no failure).
    #[arg(long)]
    pub require_search: bool,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub schemas: SchemasArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// A secondary further behind the primary than this many seconds is a problem.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub max_lag: u64,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub schemas: SchemasArgs,
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
    #[command(flatten)]
    pub schemas: SchemasArgs,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Folder holding `<database>/<collection>.json` files.
    pub dir: PathBuf,
    /// Drop each target collection before loading it.
    #[arg(long)]
    pub drop: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hoisted(line: &str) -> String {
        let args: Vec<std::ffi::OsString> = line.split(' ').map(Into::into).collect();
        hoist(args)
            .iter()
            .map(|a| a.to_string_lossy().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn settings_before_the_command_go_to_the_command_that_takes_them() {
        assert_eq!(
            hoisted("mongrate --uri U --schemas S plan --exit-code"),
            "mongrate plan --exit-code --uri U --schemas S"
        );
        assert_eq!(
            hoisted("mongrate --format json migrate --state-db S --dir D up"),
            "mongrate --format json migrate up --state-db S --dir D"
        );
        assert_eq!(
            hoisted("mongrate -q --uri=U lint a b"),
            "mongrate -q lint a b --uri U"
        );
        // A setting the command does not take is dropped, as a value of mongrate.yaml would be.
        assert_eq!(
            hoisted("mongrate --uri U --parallel 3 validate"),
            "mongrate validate"
        );
        // After the command, nothing moves: clap judges it.
        assert_eq!(
            hoisted("mongrate validate --parallel 3"),
            "mongrate validate --parallel 3"
        );
        // A missing value is left for clap to report.
        assert_eq!(hoisted("mongrate --uri"), "mongrate --uri");
        // Given after the command as well: that one wins.
        assert_eq!(
            hoisted("mongrate --uri A plan --uri B"),
            "mongrate plan --uri B"
        );
    }
}
