//! Views: one report per command — what it found or did, as plain data. Each derives
//! `Serialize` and `JsonSchema` (its `--format json` document, and the JSON Schema in
//! `docs/json/`, generated from it) and renders itself as text for people. Commands hand a
//! report to the one emitter (`commands::emit`), which picks JSON or text; nothing else
//! decides between them. Pure: no I/O.

pub mod apply;
pub mod backfill;
pub mod check;
pub mod docs;
pub mod doctor;
pub mod lint;
pub mod migrate;
pub mod plan;
pub mod project;
pub mod pull;
pub mod validate;

pub use crate::render::Style;
use serde::Serialize;

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
pub const FORMAT_VERSION: u32 = 2;

/// How text is written: colours, `--quiet`, and GitHub annotations (`--format github`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    pub style: Style,
    pub quiet: bool,
    pub github: bool,
}

/// Where a piece of text goes: the result on standard output, notes on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

/// Text for people, in the order it is written, each part to its stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    pub parts: Vec<(Stream, String)>,
}

impl Text {
    /// Add to standard output.
    pub fn out(&mut self, text: impl Into<String>) {
        self.push(Stream::Out, text.into());
    }

    /// Add to standard error.
    pub fn err(&mut self, text: impl Into<String>) {
        self.push(Stream::Err, text.into());
    }

    /// Add a line (a newline is added) to standard output.
    pub fn outln(&mut self, line: impl AsRef<str>) {
        self.push(Stream::Out, format!("{}\n", line.as_ref()));
    }

    /// Add a line (a newline is added) to standard error.
    pub fn errln(&mut self, line: impl AsRef<str>) {
        self.push(Stream::Err, format!("{}\n", line.as_ref()));
    }

    fn push(&mut self, stream: Stream, text: String) {
        if text.is_empty() {
            return;
        }
        match self.parts.last_mut() {
            Some((s, t)) if *s == stream => t.push_str(&text),
            _ => self.parts.push((stream, text)),
        }
    }

    /// Everything, both streams, as one string (for tests and snapshots).
    pub fn all(&self) -> String {
        let mut out = String::new();
        for (stream, text) in &self.parts {
            let tag = match stream {
                Stream::Out => "",
                Stream::Err => "[stderr] ",
            };
            for line in text.lines() {
                out.push_str(tag);
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

/// A command's report.
pub trait View: Serialize {
    /// The command it reports on, as JSON names it (`plan`, `migrate up`).
    fn command(&self) -> &'static str;
    /// The text a person reads.
    fn text(&self, options: &TextOptions) -> Text;
    /// The process's exit code.
    fn exit_code(&self) -> i32;
}

/// The `error` of a failed run's JSON document.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ErrorView {
    /// What went wrong and what to do (no secret: passwords are never printed).
    pub message: String,
    /// `usage`, `config`, `schemas`, `migration_files`, `refused` (nothing was changed),
    /// `lock_held`, `lock_lost`, `unreachable`, `invalid_uri`, `auth`, `interrupted`, `error`.
    pub kind: ErrorKind,
}

/// The kinds of error a script can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Usage,
    Config,
    Schemas,
    MigrationFiles,
    Refused,
    LockHeld,
    LockLost,
    Unreachable,
    InvalidUri,
    Auth,
    Interrupted,
    Error,
}

/// A failed run's report: the command, and the error.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    #[serde(skip)]
    pub command: &'static str,
    pub error: ErrorView,
}

impl View for Failure {
    fn command(&self) -> &'static str {
        self.command
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        t.errln(format!("error: {}", self.error.message));
        t
    }

    fn exit_code(&self) -> i32 {
        exit::ERROR
    }
}

/// `n` and its noun (`1 step`, `3 steps`).
pub(crate) fn count(n: usize, noun: &str) -> String {
    crate::progress::count(n as u64, noun)
}
