//! The application layer: one use case per command. Each takes the resolved [`Settings`] and a
//! request, reads files, talks to the server through `db`, decides through the core, and
//! returns its report (`crate::views`). It never prints: what a person sees while it runs — a
//! warning, a preview before a question, the question, progress — goes through the [`Ui`] the
//! command gives it. Every server run is over a list of targets ([`targets`]): one database
//! is a fleet of one.

pub mod apply;
pub mod backfill;
pub mod check;
pub mod config;
pub mod doctor;
pub mod engine;
pub mod errors;
pub mod lint;
pub mod load;
pub mod migrate;
pub mod plan;
pub mod preflight;
pub mod project;
pub mod pull;
pub mod seed;
pub mod server;
pub mod settings;
pub mod targets;
pub mod validate;

pub use errors::{
    ConfigError, Interrupted, Refused, ServerStopped, SpecInvalid, UsageError, error_kind,
};
pub use server::Server;
pub use settings::Settings;

use crate::progress::Reporter;
use crate::views::{Text, TextOptions};

/// What a use case shows a person while it runs. The command layer implements it for the
/// terminal (text, or JSON where only the final report is written).
pub trait Ui {
    /// Where progress of long work goes.
    fn progress(&mut self) -> &mut dyn Reporter;
    /// A warning about the input (a file, a template): always shown, on standard error.
    fn warn(&mut self, message: &str);
    /// Text for a person reading along (a plan before its question, a note), written with
    /// the terminal's options: shown in text mode, left out where only the report is written.
    fn show(&mut self, text: &dyn Fn(&TextOptions) -> Text);
    /// Ask; `Ok(false)` unless the answer is yes. Without a terminal, fail with `refusal`
    /// (which names the flag that skips the question).
    fn confirm(&mut self, question: &str, refusal: &str) -> anyhow::Result<bool>;
    /// Held while the run changes the server: the output closing must not stop it.
    fn changing(&self) -> Changing;
}

/// A guard held while a run changes the server (see [`Ui::changing`]).
pub struct Changing(#[allow(dead_code)] Option<Box<dyn std::any::Any>>);

impl Changing {
    /// A guard that keeps `inner` alive until it is dropped.
    pub fn holding(inner: Box<dyn std::any::Any>) -> Self {
        Self(Some(inner))
    }

    /// Nothing to hold.
    pub fn none() -> Self {
        Self(None)
    }
}

/// A [`Ui`] that shows nothing, asks nothing (every question is refused) and reports no
/// progress: for use cases run by tests and benchmarks.
#[derive(Default)]
pub struct Silent {
    progress: crate::progress::Silent,
    /// The warnings it was given.
    pub warnings: Vec<String>,
}

impl Ui for Silent {
    fn progress(&mut self) -> &mut dyn Reporter {
        &mut self.progress
    }
    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_string());
    }
    fn show(&mut self, _: &dyn Fn(&TextOptions) -> Text) {}
    fn confirm(&mut self, _: &str, refusal: &str) -> anyhow::Result<bool> {
        Err(Refused(refusal.to_string()).into())
    }
    fn changing(&self) -> Changing {
        Changing::none()
    }
}
