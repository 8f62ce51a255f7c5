//! What `plan`, `apply` and `check` share: load the schemas, read the server, diff, plan.

use super::{Server, load_declared_spec};
use crate::cli::EngineArgs;
use crate::db::{self, ConnectOptions};
use crate::normalize::{self, Side};
use crate::plan::{Plan, PlanOptions};
use crate::spec;
use anyhow::{Context, Result};
use std::time::Duration;

/// The connection options from the global arguments.
pub fn connect_options(global: &super::Settings) -> ConnectOptions {
    ConnectOptions {
        uri: global.uri.clone(),
        source: global.uri_source.clone(),
        server_selection_timeout: Duration::from_secs(global.server_timeout),
        timeout_from_flag: global.server_timeout_arg.is_some(),
    }
}

/// How steps run: the retry window, the commit quorum of index builds, and how often a build's
/// progress is read (as often as progress lines are written, at most every second).
pub fn step_options(global: &super::Settings) -> crate::db::step::StepOptions {
    crate::db::step::StepOptions {
        retry_for: Duration::from_secs(global.retry_for),
        // Checked when the settings were resolved.
        commit_quorum: global
            .commit_quorum
            .as_deref()
            .and_then(|q| crate::resilience::parse_commit_quorum(q).ok()),
        poll_every: super::out::line_every().min(Duration::from_secs(1)),
    }
}

/// What `plan`, `apply` and `check` computed.
pub struct Computed {
    pub plan: Plan,
    pub server: Server,
    /// The schemas with every template expanded to the databases it covers.
    pub spec: spec::SchemaSpec,
    /// A run over a fleet: the schemas hold a template, or `--databases` was given.
    pub fleet: bool,
}

/// Load, connect, expand templates, inspect, diff and plan; with `data_checks`, also count
/// violators and duplicates.
pub fn compute(
    global: &super::Settings,
    engine: &EngineArgs,
    data_checks: bool,
) -> Result<Computed> {
    let loaded = load_declared_spec(&global.schemas, &global.state_db)?;
    super::fleet::selection(global)?;
    let server = Server::connect(global)?;
    let written = loaded.spec;
    let (spec, fleet) = server.run(super::fleet::expand(
        server.client(),
        global,
        written.clone(),
    ))?;
    // The templates are lowered once, then copied to each database they cover.
    let mut desired = spec::to_model(&written);
    normalize::schema(&mut desired, Side::Spec);
    if fleet {
        desired = crate::fleet::expand_model(&desired, &written, &spec);
    }
    let plan = server
        .run(db::plan_against_server(
            server.client(),
            &desired,
            &PlanOptions {
                prune: engine.prune,
                allow_destructive: engine.allow_destructive,
                retire: crate::plan::Retire {
                    enabled: true,
                    now: db::retire::now(),
                    ..Default::default()
                },
            },
            engine.all_databases,
            data_checks,
            &global.state_db,
        ))
        .with_context(|| format!("planning against {}", db::redact_uri(&global.uri)))?;
    Ok(Computed {
        plan,
        server,
        spec,
        fleet,
    })
}

/// Colours for stdout: on a terminal, unless `NO_COLOR` is set.
pub fn style() -> crate::render::Style {
    use std::io::IsTerminal;
    crate::render::Style {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}
