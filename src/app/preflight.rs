//! Preflight for the commands that change a server (`apply`, `migrate up|down`, `backfill`):
//! read what the server and the connected user have, decide with [`crate::preflight`], and
//! refuse before the first change when a step could not run.

use super::{Refused, Server, Settings};
use crate::ops::Operation;
use crate::preflight::{self, Finding, RunNeeds, ServerFacts};
use anyhow::{Context, Result};

/// What the server says about itself and the connected user.
pub fn facts(server: &Server) -> Result<ServerFacts> {
    server
        .run(crate::db::preflight::facts(server.client()))
        .context("preflight")
}

/// Every step of `ops` (and what the run itself writes) that cannot run on this server.
pub fn findings<'a>(
    server: &Server,
    ops: impl IntoIterator<Item = &'a Operation>,
    run: &RunNeeds,
) -> Result<Vec<Finding>> {
    Ok(preflight::check(ops, run, &facts(server)?))
}

/// Refuse `what` (e.g. "apply") when preflight found anything, unless `--skip-preflight`.
pub fn refuse(findings: &[Finding], settings: &Settings, what: &str) -> Result<()> {
    if findings.is_empty() || settings.skip_preflight {
        return Ok(());
    }
    let lines: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
    Err(Refused(format!(
        "refusing to {what}; nothing was changed: {} cannot run as the connected user on {}:\n  {}\n  grant what is named and run again (--skip-preflight starts anyway, and the run may then stop partway)",
        crate::progress::count(findings.len() as u64, "step"),
        settings.shown_uri(),
        lines.join("\n  ")
    ))
    .into())
}
