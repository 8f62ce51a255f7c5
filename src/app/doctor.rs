//! `doctor`: one report of the server, the connected user, the state database and the project,
//! and the problems among them.

use super::engine::{self, EngineRequest};
use super::{Server, Settings, Ui};
use crate::doctor::{self, Facts, PROJECT_ACTIONS, STATE_ACTIONS};
use crate::views::doctor::{DoctorReport, ProjectInfo, ServerInfo, UserInfo};
use anyhow::Result;

/// What `doctor` is asked.
#[derive(Debug, Clone, Copy)]
pub struct DoctorRequest {
    /// A secondary further behind than this many seconds is a problem.
    pub max_lag: u64,
}

/// `mongrate doctor`.
pub fn doctor(
    settings: &Settings,
    request: DoctorRequest,
    ui: &mut dyn Ui,
) -> Result<DoctorReport> {
    // The project first: valid files are planned against the server (with preflight), and
    // that run's connection serves the rest.
    let has_schemas = settings.schemas.is_dir();
    let validated = has_schemas
        .then(|| super::validate::validate(settings, &[]))
        .transpose()?;
    let valid = validated.as_ref().is_some_and(|v| v.valid);
    let (server, plan) = if valid {
        let computed = engine::compute(settings, EngineRequest::default(), true, ui)?;
        let databases = computed.databases();
        (computed.server, Some((computed.plan, databases)))
    } else {
        (Server::connect(settings)?, None)
    };
    let facts = super::preflight::facts(&server)?;
    let client = server.client();
    let (members, max_index_builds, state) = server.run(async {
        Ok((
            crate::db::doctor::members(client).await,
            crate::db::doctor::max_index_builds(client).await,
            crate::db::doctor::state(client, &settings.state_db, settings.project.as_deref()).await,
        ))
    })?;
    let databases: Vec<String> = plan.as_ref().map(|(_, d)| d.clone()).unwrap_or_default();
    let mut grants: Vec<doctor::Grants> = databases
        .iter()
        .map(|db| doctor::grants(&facts.access, db, "project", &PROJECT_ACTIONS))
        .collect();
    grants.push(doctor::grants(
        &facts.access,
        &settings.state_db,
        "state",
        &STATE_ACTIONS,
    ));
    let preflight = plan
        .as_ref()
        .map(|(p, _)| p.preflight.clone())
        .unwrap_or_default();
    let problems = doctor::problems(&Facts {
        server: &facts,
        members: members.as_deref(),
        grants: &grants,
        schema_errors: validated.as_ref().map(|v| v.errors),
        preflight: &preflight,
        max_lag_seconds: request.max_lag as f64,
    });
    let (users, roles) = match &facts.access {
        crate::preflight::Access::Unrestricted => (Vec::new(), Vec::new()),
        crate::preflight::Access::Privileges { users, roles, .. } => (users.clone(), roles.clone()),
    };
    Ok(DoctorReport {
        server: ServerInfo {
            uri: settings.shown_uri(),
            version: facts.release.clone(),
            feature_compatibility_version: facts.fcv.map(|v| v.to_string()),
            topology: facts.topology,
            members,
            max_index_builds,
        },
        user: UserInfo {
            access_control: !matches!(facts.access, crate::preflight::Access::Unrestricted),
            users,
            roles,
            grants,
        },
        state,
        project: ProjectInfo {
            schemas: settings.schemas.display().to_string(),
            found: has_schemas,
            errors: validated.as_ref().map(|v| v.errors),
            collections: validated.as_ref().map(|v| v.collections),
            plan_steps: plan.as_ref().map(|(p, _)| p.runnable().count()),
            preflight,
        },
        problems,
    })
}
