//! `mongrate apply`: plan, confirm, execute with progress.

use super::out::{Critical, Progress, confirm, errln, stdout};
use super::{Refused, engine, exit, load_valid_spec, print_json};
use crate::cli::{ApplyArgs, Format, GlobalArgs};
use crate::db::apply::apply_steps;
use crate::db::rollout::RolloutStep;
use crate::{db, render};
use anyhow::Result;
use serde::Serialize;

/// `apply --format json`.
#[derive(Serialize)]
struct ApplyJson {
    #[serde(flatten)]
    plan: render::PlanJson,
    /// `applied`, `nothing_to_apply`, `dry_run` or `not_confirmed`.
    result: &'static str,
    /// Steps executed.
    applied: usize,
    /// With --rollout: per staged collection, the backfill and whether it was tightened.
    rollout: Vec<RolloutStep>,
}

pub fn run(global: &GlobalArgs, args: &ApplyArgs) -> Result<i32> {
    let (mut plan, server) = engine::compute(global, &args.engine, true)?;
    // With --yes the user has decided: a closed stdout (`| head`) must not stop the change.
    let _committed = (args.yes && !args.dry_run).then(Critical::enter);
    let json = global.format == Format::Json;
    let finish = |plan: &crate::plan::Plan, result, applied, rollout: Vec<RolloutStep>| {
        if json {
            print_json(
                "apply",
                &ApplyJson {
                    plan: render::plan_view(plan),
                    result,
                    applied,
                    rollout,
                },
            );
        }
    };
    if !json {
        stdout(&render::plan_text(&plan, engine::style()));
    }
    let runnable = plan.runnable().count();
    if runnable == 0 {
        finish(&plan, "nothing_to_apply", 0, Vec::new());
        if !json {
            errln!("Nothing to apply.");
        }
        return Ok(exit::OK);
    }
    // Staged rollout: validators with violators go in at `warn` first.
    let staged = if args.rollout {
        plan.stage_rollout()
    } else {
        Vec::new()
    };
    for t in &staged {
        errln!(
            "rollout {}.{}: existing documents fail the new validator; it goes in with validationAction warn, then backfill, recount, tighten",
            t.db,
            t.collection
        );
    }
    // Refuse before anything runs: never a half-applied change.
    let refusals = plan.refusals(args.allow_violations, &staged);
    if !refusals.is_empty() {
        return Err(Refused(format!(
            "refusing to apply; nothing was changed:\n  {}",
            refusals.join("\n  ")
        ))
        .into());
    }
    if args.dry_run {
        finish(&plan, "dry_run", 0, Vec::new());
        if !json {
            errln!("Dry run: {runnable} step(s) would run; nothing was changed.");
        }
        return Ok(exit::OK);
    }
    let target = db::redact_uri(&global.uri);
    if !args.yes
        && !confirm(
            &format!("Apply {runnable} step(s) to {target}?"),
            "refusing to apply without confirmation: stdin is not a terminal; pass --yes",
        )?
    {
        finish(&plan, "not_confirmed", 0, Vec::new());
        errln!("Not applied.");
        return Ok(exit::ERROR);
    }
    let _changing = Critical::enter();
    let mut progress = Progress::new(global.quiet || json);
    let applied = server.run(async {
        apply_steps(
            server.client(),
            &plan.steps,
            &super::engine::step_options(global),
            &mut progress,
        )
            .await
            .map_err(|e| {
                let mut msg = format!(
                    "step {} of {} failed at {target}: {}\n  {}\n",
                    e.failed_index, e.total, e.summary, e.message
                );
                msg.push_str(&format!("  applied ({}):", e.applied.len()));
                for s in &e.applied {
                    msg.push_str(&format!("\n    {s}"));
                }
                msg.push_str(&format!("\n  not applied ({}):", e.not_applied.len()));
                for s in &e.not_applied {
                    msg.push_str(&format!("\n    {s}"));
                }
                msg.push_str("\n  fix the cause and run `mongrate apply` again: applied steps are not repeated in the new plan");
                anyhow::anyhow!(msg)
            })
    })?;
    if !json {
        errln!("Applied {applied} step(s) to {target}.");
    }
    if staged.is_empty() {
        finish(&plan, "applied", applied, Vec::new());
        return Ok(exit::OK);
    }
    let loaded = load_valid_spec(&global.schemas, &global.state_db)?;
    let rollout = server.run(db::rollout::finish(
        server.client(),
        &loaded.spec,
        &staged,
        &super::engine::step_options(global),
        &mut progress,
    ))?;
    if !json {
        for s in &rollout.steps {
            errln!(
                "rollout {}.{}: backfill modified {} document(s); {}",
                s.database,
                s.collection,
                s.backfilled,
                if s.tightened {
                    format!(
                        "no document fails any more; validator tightened to {}",
                        s.action.as_str()
                    )
                } else {
                    "documents still fail; the validator stays at warn".to_string()
                }
            );
        }
    }
    if rollout.remaining.is_empty() {
        finish(&plan, "applied", applied, rollout.steps);
        return Ok(exit::OK);
    }
    Err(Refused(format!(
        "{}rollout stopped: documents still fail in {} collection(s); their validators stay at `warn` (writes are logged, not refused). Fix the documents above, then run `mongrate apply --rollout` again",
        render::audit_text(&rollout.remaining),
        rollout.remaining.len()
    ))
    .into())
}
