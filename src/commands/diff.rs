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
    let mut plan = plan::plan(&changes, &PlanOptions::default());
    // Two folders, no server: the reasons speak of them.
    let (old, new) = (
        format!("in `{}`", args.from.display()),
        format!("in `{}`", args.to.display()),
    );
    plan.speak_of(&old, &new);
    match global.format {
        Format::Json => print_json("diff", &render::plan_view(&plan)),
        Format::Text | Format::Github if plan.is_empty() => stdout(&format!(
            "No changes: `{}` and `{}` declare the same collections, indexes and validators.\n",
            args.from.display(),
            args.to.display()
        )),
        Format::Text | Format::Github => stdout(&format!(
            "From `{}` to `{}`:\n{}",
            args.from.display(),
            args.to.display(),
            render::plan_text(&plan, engine::style())
        )),
    }
    Ok(if plan.is_empty() {
        exit::OK
    } else {
        exit::DIFFERENCES
    })
}
