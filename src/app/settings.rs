//! [`Settings`]: every setting in effect for one run, resolved once.

use std::path::PathBuf;
use std::time::Duration;

/// Every setting in effect for one run: the command line, mongrate.yaml, the environment
/// variables and the defaults, resolved once (by the command layer). Use cases read only this.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--quiet`: no progress, fewer lines.
    pub quiet: bool,
    /// The connection string given with `--uri`, if one was.
    pub uri_arg: Option<String>,
    /// `--server-timeout`, if given (it then wins over the URI's own timeout).
    pub server_timeout_arg: Option<u64>,
    /// The connection string in effect, and where it came from (for messages).
    pub uri: String,
    pub uri_source: String,
    pub schemas: PathBuf,
    pub migrations: PathBuf,
    pub state_db: String,
    /// Seconds (see `db::ConnectOptions` for how the URI's own timeout counts).
    pub server_timeout: u64,
    pub retry_for: u64,
    pub commit_quorum: Option<String>,
    /// The project's folder (where mongrate.yaml is, else the working directory).
    pub project_root: PathBuf,
    /// The project's name (`project:` in mongrate.yaml), which keys its migration history.
    pub project: Option<String>,
    /// `--databases`, unparsed.
    pub databases: Option<String>,
    pub parallel: u16,
    pub canary: u16,
    pub on_error: crate::fleet::OnError,
    pub max_failures: Option<u32>,
    /// `--skip-preflight`: run even when preflight says a step cannot run.
    pub skip_preflight: bool,
    /// How often long work logs a line when not on a terminal.
    pub progress_every: Duration,
    /// Data steps: documents per batch, documents a second, seconds of replication lag.
    pub job_batch_size: Option<usize>,
    pub job_max_docs_per_sec: Option<u64>,
    pub job_max_lag: Option<u64>,
}

impl Settings {
    /// The connection options.
    pub fn connect_options(&self) -> crate::db::ConnectOptions {
        crate::db::ConnectOptions {
            uri: self.uri.clone(),
            source: self.uri_source.clone(),
            server_selection_timeout: Duration::from_secs(self.server_timeout),
            timeout_from_flag: self.server_timeout_arg.is_some(),
        }
    }

    /// How steps run: the retry window, the commit quorum of index builds, and how often a
    /// build's progress is read (as often as progress lines are written, at most every second).
    pub fn step_options(&self) -> crate::db::step::StepOptions {
        crate::db::step::StepOptions {
            retry_for: Duration::from_secs(self.retry_for),
            // Checked when the settings were resolved.
            commit_quorum: self
                .commit_quorum
                .as_deref()
                .and_then(|q| crate::resilience::parse_commit_quorum(q).ok()),
            poll_every: self.progress_every.min(Duration::from_secs(1)),
            look_for_running_builds: true,
            job: self.job_options(),
        }
    }

    /// How data steps run (the state database keeps their checkpoints and evolution records).
    pub fn job_options(&self) -> crate::db::job::Options {
        let d = crate::db::job::Options::default();
        crate::db::job::Options {
            batch_size: self.job_batch_size.unwrap_or(d.batch_size),
            max_docs_per_sec: self.job_max_docs_per_sec,
            max_lag: match self.job_max_lag {
                Some(0) => None,
                Some(s) => Some(Duration::from_secs(s)),
                None => d.max_lag,
            },
            retry_for: Duration::from_secs(self.retry_for),
            state_db: Some(self.state_db.clone()),
            ..d
        }
    }

    /// The connection string without its password, for messages.
    pub fn shown_uri(&self) -> String {
        crate::db::redact_uri(&self.uri)
    }
}
