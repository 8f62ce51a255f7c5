//! `mongrate.yaml`: project settings, found in the current folder or the nearest parent (as
//! cargo finds `Cargo.toml`), or named with `--config`. Every global option can be set there;
//! `environments` name per-environment settings chosen with `--env` or `MONGRATE_ENV`, each
//! taking its URI from an environment variable (`uri_env`) so that no password is written down.
//!
//! Precedence, for each setting: the command-line flag, then the chosen environment's value,
//! then an environment variable (`MONGODB_URI` for the URI), then the file's top level, then
//! the default. Relative paths in the file are relative to the file's folder.

use anyhow::{Result, anyhow, bail};
use indexmap::IndexMap;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const CONFIG_FILE: &str = "mongrate.yaml";

/// Settings that the top level and each environment may give.
#[derive(Debug, Default, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The connection string (better: `uri_env`, so the password stays out of the file).
    pub uri: Option<String>,
    /// The environment variable holding the connection string.
    pub uri_env: Option<String>,
    /// Folder of schema files.
    pub schemas: Option<PathBuf>,
    /// Folder of migration files.
    pub migrations: Option<PathBuf>,
    /// Database holding mongrate's changelog, lock and checkpoints.
    pub state_db: Option<String>,
    /// Seconds to wait for a server that does not answer.
    pub server_timeout: Option<u64>,
    /// Seconds to keep retrying a step an election or a network error interrupted.
    pub retry_for: Option<u64>,
    /// Commit quorum of index builds: `votingMembers`, `majority`, a number, or a tag name.
    pub commit_quorum: Option<String>,
}

/// mongrate.yaml: the project settings, and named `environments` with their own.
#[derive(Debug, Default, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The project's name (letters, digits, `_`, `-`, `.`): its migration history is kept under
    /// it in the state database, apart from other projects' on the same server.
    pub project: Option<String>,
    pub uri: Option<String>,
    pub uri_env: Option<String>,
    pub schemas: Option<PathBuf>,
    pub migrations: Option<PathBuf>,
    pub state_db: Option<String>,
    pub server_timeout: Option<u64>,
    pub retry_for: Option<u64>,
    pub commit_quorum: Option<String>,
    /// Named environments (`dev`, `staging`, `prod`, ...).
    #[serde(default)]
    pub environments: IndexMap<String, Settings>,
}

impl ConfigFile {
    /// The top-level settings.
    pub fn settings(&self) -> Settings {
        Settings {
            uri: self.uri.clone(),
            uri_env: self.uri_env.clone(),
            schemas: self.schemas.clone(),
            migrations: self.migrations.clone(),
            state_db: self.state_db.clone(),
            server_timeout: self.server_timeout,
            retry_for: self.retry_for,
            commit_quorum: self.commit_quorum.clone(),
        }
    }
}

/// Every setting resolved, with where the URI came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub uri: String,
    pub uri_source: String,
    pub schemas: PathBuf,
    pub migrations: PathBuf,
    pub state_db: String,
    pub server_timeout: u64,
    pub retry_for: u64,
    pub commit_quorum: Option<String>,
    /// The project's name (`project:`), which keys its migration history.
    pub project: Option<String>,
    /// Every connection string seen (used or not), so their secrets are never printed.
    pub all_uris: Vec<String>,
    /// The project's folder: where mongrate.yaml is, else the working directory.
    pub project_root: PathBuf,
}

/// What the command line said.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub config: Option<PathBuf>,
    pub env: Option<String>,
    pub uri: Option<String>,
    pub schemas: Option<PathBuf>,
    pub migrations: Option<PathBuf>,
    pub state_db: Option<String>,
    pub server_timeout: Option<u64>,
    pub retry_for: Option<u64>,
    pub commit_quorum: Option<String>,
}

/// The nearest `mongrate.yaml` from `start` upwards; one that is not a file (a folder) is an
/// error, not skipped.
pub fn find(start: &Path) -> Result<Option<PathBuf>> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(CONFIG_FILE);
        if candidate.is_file() {
            return Ok(Some(candidate));
        }
        if candidate.exists() {
            bail!(
                "`{}` is a folder, not a settings file: remove or rename it (or name the settings file with --config)",
                candidate.display()
            );
        }
        dir = d.parent();
    }
    Ok(None)
}

/// Read and parse a config file (errors name it, with line and column).
pub fn load(path: &Path) -> Result<ConfigFile> {
    let text = crate::spec::read_text(path)
        .map_err(|why| anyhow!("cannot read `{}`: {why}", path.display()))?;
    crate::yaml::from_str(&text)
        .map_err(|e| anyhow!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message))
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Resolve every setting from the flags, the environment and the config file.
pub fn resolve(flags: &Flags) -> Result<Resolved> {
    let cwd = std::env::current_dir().ok();
    // Paths under the working directory are shown (and used) relative to it.
    let relative = |p: PathBuf| -> PathBuf {
        cwd.as_ref()
            .and_then(|c| p.strip_prefix(c).ok().map(Path::to_path_buf))
            .unwrap_or(p)
    };
    let path = match &flags.config {
        Some(p) if p.is_dir() => bail!("--config `{}` is a folder, not a file", p.display()),
        Some(p) if !p.is_file() => bail!("--config `{}`: no such file", p.display()),
        Some(p) => Some(p.clone()),
        None => match cwd.as_deref() {
            Some(c) => find(c)?.map(relative),
            None => None,
        },
    };
    let file = match &path {
        Some(p) => load(p)?,
        None => ConfigFile::default(),
    };
    let base = path
        .as_ref()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let shown = path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| CONFIG_FILE.to_string());
    let env_name = flags.env.clone().or_else(|| var("MONGRATE_ENV"));
    let env = match &env_name {
        None => Settings::default(),
        Some(name) => match file.environments.get(name) {
            Some(s) => s.clone(),
            None if path.is_none() => bail!(
                "environment `{name}` (--env or MONGRATE_ENV) needs a `{CONFIG_FILE}` naming it under `environments:`; none was found here or in a parent folder"
            ),
            None => bail!(
                "{shown}: no environment `{name}`; it names: {}",
                if file.environments.is_empty() {
                    "none".to_string()
                } else {
                    file.environments
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        },
    };
    let top = &file.settings();
    let from_env_var = |s: &Settings, whose: &str| -> Result<Option<(String, String)>> {
        match &s.uri_env {
            None => Ok(None),
            Some(v) => match var(v) {
                Some(uri) => Ok(Some((uri, format!("${v} (named by {shown}{whose})")))),
                None => bail!(
                    "{shown}{whose} takes the URI from the environment variable `{v}`, which is not set"
                ),
            },
        }
    };
    let env_label = env_name
        .as_ref()
        .map(|n| format!(", environment `{n}`"))
        .unwrap_or_default();
    let mut all_uris: Vec<String> = Vec::new();
    for u in [
        flags.uri.clone(),
        var("MONGODB_URI"),
        env.uri.clone(),
        top.uri.clone(),
    ]
    .into_iter()
    .flatten()
    {
        all_uris.push(u);
    }
    for s in [&env, top] {
        if let Some(v) = s.uri_env.as_ref().and_then(|v| var(v)) {
            all_uris.push(v);
        }
    }
    let (uri, uri_source) = if let Some(u) = flags.uri.clone().filter(|u| !u.is_empty()) {
        (u, "--uri".to_string())
    } else if let Some(u) = env.uri.clone() {
        (u, format!("{shown}{env_label}"))
    } else if let Some(found) = from_env_var(&env, &env_label)? {
        found
    } else if let Some(u) = var("MONGODB_URI") {
        (u, "$MONGODB_URI".to_string())
    } else if let Some(u) = top.uri.clone() {
        (u, shown.clone())
    } else if let Some(found) = from_env_var(top, "")? {
        found
    } else {
        (
            "mongodb://localhost:27017".to_string(),
            "the default".to_string(),
        )
    };
    let path_of =
        |flag: &Option<PathBuf>, key: fn(&Settings) -> &Option<PathBuf>, default: &str| {
            flag.clone()
                .or_else(|| key(&env).as_ref().map(|p| base.join(p)))
                .or_else(|| key(top).as_ref().map(|p| base.join(p)))
                .unwrap_or_else(|| {
                    if path.is_some() {
                        base.join(default)
                    } else {
                        PathBuf::from(default)
                    }
                })
        };
    let schemas = path_of(&flags.schemas, |s| &s.schemas, "schemas");
    let migrations = path_of(&flags.migrations, |s| &s.migrations, "migrations");
    let state_db = flags
        .state_db
        .clone()
        .or(env.state_db.clone())
        .or(top.state_db.clone())
        .unwrap_or_else(|| "mongrate".to_string());
    if let Some(why) = crate::names::database_problem(&state_db) {
        bail!("state database `{state_db}`: {why}");
    }
    let server_timeout = flags
        .server_timeout
        .or(env.server_timeout)
        .or(top.server_timeout)
        .unwrap_or(10);
    if server_timeout == 0 {
        bail!("the server timeout must be at least 1 second");
    }
    let retry_for = flags
        .retry_for
        .or(env.retry_for)
        .or(top.retry_for)
        .unwrap_or(60);
    let commit_quorum = flags
        .commit_quorum
        .clone()
        .or(env.commit_quorum.clone())
        .or(top.commit_quorum.clone());
    if let Some(q) = &commit_quorum
        && let Err(why) = crate::resilience::parse_commit_quorum(q)
    {
        bail!("commit quorum `{q}`: {why}");
    }
    if let Some(p) = &file.project
        && let Some(why) = project_problem(p)
    {
        bail!("{shown}: project `{p}`: {why}");
    }
    Ok(Resolved {
        project: file.project.clone(),
        uri,
        uri_source,
        schemas: tidy(schemas),
        migrations: tidy(migrations),
        state_db,
        server_timeout,
        retry_for,
        commit_quorum,
        all_uris,
        project_root: tidy(base),
    })
}

/// What is wrong with a project name, if anything: it keys changelog entries and lock names.
pub fn project_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 64 {
        return Some("a project name has 1 to 64 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Some("use letters, digits, `_`, `-` and `.`, starting with a letter or digit");
    }
    None
}

/// A project name made from a folder name (for `init`): unusable characters become `_`.
pub fn project_name_from(folder: &str) -> String {
    let mut name: String = folder
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    name = name.trim_start_matches(['_', '-', '.']).to_string();
    if name.is_empty() {
        "project".to_string()
    } else {
        name
    }
}

/// `./schemas` → `schemas` (paths are printed in messages).
fn tidy(p: PathBuf) -> PathBuf {
    p.strip_prefix(".").map(Path::to_path_buf).unwrap_or(p)
}
