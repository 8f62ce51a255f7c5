//! Progress of long work, as events: the one [`Reporter`] trait that `apply`, `migrate` and
//! `backfill` report through. Core code never prints; the command layer draws a bar on a
//! terminal and writes plain lines otherwise.

use std::time::Duration;

/// What a piece of work counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Steps,
    Documents,
}

/// Receives progress events. Every method has a default that ignores the event.
pub trait Reporter {
    /// Something the user should know (e.g. a lock taken over from a dead run).
    fn note(&mut self, _message: &str) {}
    /// Work labelled `label` starts: `total` units, of which `done` were done by an earlier,
    /// interrupted run (rates and ETAs count only this run's work).
    fn begin(&mut self, _label: &str, _unit: Unit, _total: u64, _done: u64) {}
    /// The step now running.
    fn working_on(&mut self, _what: &str) {}
    /// `done` units are done (absolute, including earlier runs' work).
    fn advance(&mut self, _done: u64) {}
    /// A step finished in `elapsed`.
    fn step_done(&mut self, _what: &str, _elapsed: Duration) {}
    /// The work labelled in `begin` finished.
    fn end(&mut self, _summary: &str, _elapsed: Duration) {}
}

/// A reporter that reports nothing.
pub struct Silent;
impl Reporter for Silent {}
