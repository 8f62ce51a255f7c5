//! `mongrate diff A B`: compare two schema folders without a server.

use super::out::stdout;
use super::{engine, exit, load_valid_spec, print_json};
use crate::cli::{DiffArgs, Format};
use crate::normalize::{self, Side};
use crate::plan::PlanOptions;
use crate::{diff, plan, render, spec};
use anyhow::{Context, Result};

pub fn run(global: &super::Settings, args: &DiffArgs) -> Result<i32> {
    let load = |dir: &std::path::Path| -> Result<crate::model::Schema> {
        let loaded = load_valid_spec(dir, &global.state_db)
            .with_context(|| format!("loading `{}`", dir.display()))?;
        let mut model = spec::to_model(&loaded.spec);
        normalize::schema(&mut model, Side::Spec);
        Ok(model)
    };
    let (from, to) = (load(&args.from)?, load(&args.to)?);
    let changes = diff::diff(&from, &to);
    let plan = plan::plan(&changes, &PlanOptions::default());
    match global.format {
        Format::Json => print_json("diff", &render::plan_view(&plan)),
        Format::Text | Format::Github => stdout(&render::plan_text(&plan, engine::style())),
    }
    Ok(if plan.is_empty() {
        exit::OK
    } else {
        exit::DIFFERENCES
    })
}
