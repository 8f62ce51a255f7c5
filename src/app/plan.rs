//! `plan` and `diff`.

use super::engine::{self, EngineRequest};
use super::{Settings, Ui, load};
use crate::plan::PlanOptions;
use crate::views::plan::{DiffReport, PlanReport};
use anyhow::{Context, Result};
use std::path::Path;

/// What `plan` is asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanRequest {
    pub engine: EngineRequest,
    /// Exit 2 when there are steps.
    pub exit_code: bool,
}

/// `mongrate plan`: what `apply` would do, per database.
pub fn plan(settings: &Settings, request: PlanRequest, ui: &mut dyn Ui) -> Result<PlanReport> {
    let computed = engine::compute(settings, request.engine, true, ui)?;
    let parts = computed.plan.by_database();
    let databases = engine::drift_reports(&computed.databases(), &parts, |_| 0);
    Ok(PlanReport {
        plan: crate::render::plan_view(&computed.plan),
        databases,
        source: computed.plan,
        exit_code_on_steps: request.exit_code,
    })
}

/// `mongrate diff FROM TO`: the plan from one schemas folder to another, without a server.
pub fn diff(settings: &Settings, from: &Path, to: &Path) -> Result<DiffReport> {
    let model = |dir: &Path| -> Result<crate::model::Schema> {
        let loaded = load::valid_spec(dir, &settings.state_db)
            .with_context(|| format!("loading `{}`", dir.display()))?;
        let mut model = crate::spec::to_model(&loaded.spec);
        crate::normalize::schema(&mut model, crate::normalize::Side::Spec);
        Ok(model)
    };
    let changes = crate::diff::diff(&model(from)?, &model(to)?);
    let mut plan = crate::plan::plan(&changes, &PlanOptions::default());
    // Two folders, no server: the reasons speak of them.
    plan.speak_of(
        &format!("in `{}`", from.display()),
        &format!("in `{}`", to.display()),
    );
    Ok(DiffReport {
        plan: crate::render::plan_view(&plan),
        source: plan,
        from: from.display().to_string(),
        to: to.display().to_string(),
    })
}
