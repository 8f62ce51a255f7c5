//! The one place that decides between JSON and text: a report is written as one JSON
//! document (`--format json`) or as text for people (`text`, `github`), and a run's [`Ui`] —
//! warnings, previews, questions, progress — is made for the format here.

use super::out::{self, Critical, Progress, errln, stderr, stdout};
use crate::app::{Changing, Ui};
use crate::cli::Format;
use crate::progress::Reporter;
use crate::views::{ErrorView, FORMAT_VERSION, Failure, Stream, Text, TextOptions, View};
use serde::Serialize;

/// How the run writes: its format and `--quiet`.
#[derive(Debug, Clone, Copy)]
pub struct Emitter {
    pub format: Format,
    pub quiet: bool,
}

impl Emitter {
    /// Write `report`; returns the exit code.
    pub fn report<V: View>(&self, report: &V) -> i32 {
        match self.format {
            Format::Json => print_json(report.command(), report),
            Format::Text | Format::Github => print_text(&report.text(&self.text_options())),
        }
        report.exit_code()
    }

    /// Write a failed run's error; returns the exit code (1).
    pub fn error(&self, e: &anyhow::Error, command: &'static str) -> i32 {
        let message = crate::yaml::tidy(&format!("{e:#}"));
        self.report(&Failure {
            command,
            error: ErrorView {
                message: out::scrub(&message),
                kind: crate::app::error_kind(e),
            },
        })
    }

    /// The terminal side of a run: shows previews and asks in text formats; in JSON only the
    /// report is written (warnings still go to stderr).
    pub fn ui(&self) -> Terminal {
        Terminal {
            options: self.text_options(),
            json: self.format == Format::Json,
            progress: Progress::new(self.quiet || self.format == Format::Json),
        }
    }

    fn text_options(&self) -> TextOptions {
        use std::io::IsTerminal;
        TextOptions {
            style: crate::render::Style {
                color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            },
            quiet: self.quiet,
            github: self.format == Format::Github,
        }
    }
}

/// A command line clap refused (or `--help`/`--version`, which clap reports the same way):
/// one JSON error document when the raw arguments ask for JSON, so that even a usage error
/// parses; clap's own text otherwise. Returns the exit code.
pub fn usage_error(args: &[std::ffi::OsString], e: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    let text = e.render().to_string();
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        stdout(&text);
        return crate::views::exit::OK;
    }
    let json = args
        .windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--format=json");
    if json {
        let message = text.lines().next().unwrap_or_default();
        let message = message.trim_start_matches("error: ");
        let body = serde_json::json!({ "error": { "message": message, "kind": "usage" } });
        print_json("", &body);
    } else {
        stderr(&text);
    }
    crate::views::exit::ERROR
}

/// Print one JSON document: `{ "format_version": 2, "command": ..., <body> }`.
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

/// Write text, each part to its stream.
pub fn print_text(text: &Text) {
    for (stream, part) in &text.parts {
        match stream {
            Stream::Out => stdout(part),
            Stream::Err => stderr(part),
        }
    }
}

/// The terminal's [`Ui`].
pub struct Terminal {
    options: TextOptions,
    json: bool,
    progress: Progress,
}

impl Ui for Terminal {
    fn progress(&mut self) -> &mut dyn Reporter {
        &mut self.progress
    }

    fn warn(&mut self, message: &str) {
        errln!("{message}");
    }

    fn show(&mut self, text: &dyn Fn(&TextOptions) -> Text) {
        if !self.json {
            print_text(&text(&self.options));
        }
    }

    fn confirm(&mut self, question: &str, refusal: &str) -> anyhow::Result<bool> {
        out::confirm(question, refusal)
    }

    fn changing(&self) -> Changing {
        Changing::holding(Box::new(Critical::enter()))
    }
}
