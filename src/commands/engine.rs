//! What `plan`, `apply` and `check` share: load the schemas, read the server, diff, plan.

use super::load_valid_spec;
use crate::cli::{EngineArgs, GlobalArgs};
use crate::db::{self, ConnectOptions};
use crate::normalize::{self, Side};
use crate::plan::{Plan, PlanOptions};
use crate::spec;
use anyhow::{Context, Result};
use mongodb::Client;
use std::time::Duration;

/// The connection options from the global arguments.
pub fn connect_options(global: &GlobalArgs) -> ConnectOptions {
    ConnectOptions {
        uri: global.uri.clone(),
        server_selection_timeout: Duration::from_secs(global.server_timeout),
    }
}

/// Load, inspect, diff and plan; with `data_checks`, also count violators and duplicates.
pub async fn compute(
    global: &GlobalArgs,
    engine: &EngineArgs,
    data_checks: bool,
) -> Result<(Plan, Client)> {
    let loaded = load_valid_spec(&global.schemas)?;
    let mut desired = spec::to_model(&loaded.spec);
    normalize::schema(&mut desired, Side::Spec);
    let client = db::connect(&connect_options(global)).await?;
    let plan = db::plan_against_server(
        &client,
        &desired,
        &PlanOptions {
            prune: engine.prune,
            allow_destructive: engine.allow_destructive,
        },
        engine.all_databases,
        data_checks,
    )
    .await
    .with_context(|| format!("planning against {}", db::redact_uri(&global.uri)))?;
    Ok((plan, client))
}

/// Colours for stdout: on a terminal, unless `NO_COLOR` is set.
pub fn style() -> crate::render::Style {
    use std::io::IsTerminal;
    crate::render::Style {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}
