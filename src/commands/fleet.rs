//! Runs over many databases: templates expanded against the server, `--databases`, and the
//! parallel, contained run of `apply` with one report (see `crate::fleet` for the decisions).

use super::UsageError;
use super::out::{errln, stdout};
use crate::fleet::{self, Policy, Report, Selection};
use crate::spec::SchemaSpec;
use anyhow::Result;
use std::time::Duration;

/// `--databases`, parsed.
pub fn selection(global: &super::Settings) -> Result<Option<Selection>> {
    global
        .databases
        .as_deref()
        .map(|s| Selection::parse(s).map_err(|e| UsageError(e).into()))
        .transpose()
}

/// `--parallel`, `--canary`, `--on-error`, `--max-failures`.
pub fn policy(global: &super::Settings) -> Policy {
    Policy {
        parallel: usize::from(global.parallel),
        canary: usize::from(global.canary),
        on_error: global.on_error,
        max_failures: global.max_failures.map(|m| m as usize),
    }
}

/// The schemas with templates expanded against the server's databases, narrowed by
/// `--databases`; and whether this is a fleet run (a template, or `--databases`).
pub async fn expand(
    client: &mongodb::Client,
    global: &super::Settings,
    spec: SchemaSpec,
) -> Result<(SchemaSpec, bool)> {
    let selection = selection(global)?;
    let templated = spec.databases.keys().any(|d| fleet::is_template(d));
    if !templated && selection.is_none() {
        return Ok((spec, false));
    }
    let on_server = if templated {
        crate::db::inspect::server_databases(client, &global.state_db).await?
    } else {
        Vec::new()
    };
    let expanded = fleet::expand(&spec, &on_server, selection.as_ref(), &global.state_db)
        .map_err(UsageError)?;
    // A template that covers nothing checks nothing: say so, rather than pass in silence.
    for t in spec.databases.keys().filter(|d| fleet::is_template(d)) {
        let covered = expanded
            .databases
            .keys()
            .any(|n| fleet::matches(t, n) && !spec.databases.contains_key(n));
        if !covered {
            errln!(
                "warning: the template `{t}` covers no database on the server (none matches it{}): nothing of it was read",
                if selection.is_some() {
                    " among --databases"
                } else {
                    ""
                }
            );
        }
    }
    Ok((expanded, true))
}

/// Print the report's text summary (stdout), unless quiet (then only a failure, on stderr).
pub fn print_report(report: &Report, elapsed: Duration, quiet: bool, noun: &str) {
    if !quiet {
        stdout(&report.text(elapsed, noun));
    } else if report.exit_code() == 1 {
        errln!("{}", report.text(elapsed, noun).trim_end());
    }
}
