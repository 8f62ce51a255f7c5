//! `migrate ...`: versioned migrations. Every run is over histories — the shared one (the
//! migrations without `databases:`), and in a fleet each database's — through the one loop of
//! [`super::targets`].

pub mod generate;
pub mod history;
pub mod run;

use super::{Server, Settings, UsageError, targets};
use crate::db::migrations::RunOptions;
use crate::fleet::Unit;
use crate::migrate::Migration;
use anyhow::Result;
use std::time::Duration;

/// The lock's settings (`--lock-lease`, `--lock-timeout`), in seconds.
#[derive(Debug, Clone, Copy)]
pub struct LockRequest {
    pub lease: u64,
    pub timeout: u64,
}

/// How a run takes its lock and runs its steps.
pub fn run_options(settings: &Settings, lock: LockRequest) -> RunOptions {
    RunOptions {
        state_db: settings.state_db.clone(),
        project: settings.project.clone(),
        scope: None,
        lock_lease: Duration::from_secs(lock.lease.max(3)),
        lock_timeout: Duration::from_secs(lock.timeout),
        step: settings.step_options(),
    }
}

/// The options of one history.
pub fn scoped(opts: &RunOptions, unit: &Unit) -> RunOptions {
    RunOptions {
        scope: unit.scope.clone(),
        ..opts.clone()
    }
}

/// The histories a run covers, and whether it is a fleet run: a migration with `databases:`,
/// or `--databases`, makes one (the histories are then read against the server's databases);
/// otherwise the one shared history.
pub fn histories(
    server: &Server,
    settings: &Settings,
    migrations: &[Migration],
) -> Result<(Vec<Unit>, bool)> {
    let selection = targets::selection(settings)?;
    if !crate::fleet::is_fleet_run(migrations, selection.as_ref()) {
        let shared = Unit {
            scope: None,
            migrations: migrations.to_vec(),
        };
        return Ok((vec![shared], false));
    }
    let on_server = server.run(crate::db::inspect::server_databases(
        server.client(),
        &settings.state_db,
    ))?;
    let units = crate::fleet::migration_units(
        migrations,
        &on_server,
        selection.as_ref(),
        &settings.state_db,
    );
    Ok((units, true))
}

/// A migration's name: letters, digits and `_`.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 100
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(UsageError(format!(
            "migration name {}: use letters, digits and `_` only (at most 100), e.g. add_email_index",
            crate::yaml::show(name)
        ))
        .into());
    }
    Ok(())
}
