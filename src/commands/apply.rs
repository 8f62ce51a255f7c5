//! `mongrate apply`: plan, confirm, execute with progress.

use super::out::{Critical, Progress, confirm, errln, stdout};
use super::{Refused, engine, exit, print_json};
use crate::cli::{ApplyArgs, Format};
use crate::db::apply::apply_plan;
use crate::db::rollout::RolloutStep;
use crate::fleet::{DatabaseReport, Outcome};
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
    /// Per database: `in_sync`, `changed`, `failed` (with its error) or `skipped`.
    databases: Vec<DatabaseReport>,
    /// Why a run over many databases stopped starting them, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<String>,
}

pub fn run(global: &super::Settings, args: &ApplyArgs) -> Result<i32> {
    let engine::Computed {
        mut plan,
        server,
        spec,
        fleet,
    } = engine::compute(global, &args.engine, true)?;
    if fleet && !args.rollout {
        return run_fleet(global, args, &plan, &server, &spec);
    }
    let databases = |plan: &crate::plan::Plan, applied: bool| -> Vec<DatabaseReport> {
        spec.databases
            .keys()
            .map(|db| {
                let steps = plan.for_database(db).runnable().count();
                DatabaseReport {
                    database: db.clone(),
                    outcome: if applied && steps > 0 {
                        Outcome::Changed
                    } else {
                        Outcome::InSync
                    },
                    steps,
                    error: None,
                    elapsed_ms: 0,
                }
            })
            .collect()
    };
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
                    databases: databases(plan, result == "applied"),
                    stopped: None,
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
    refuse(plan.refusals(args.allow_violations, &staged))?;
    if args.dry_run {
        finish(&plan, "dry_run", 0, Vec::new());
        if !json {
            errln!(
                "Dry run: {} would run; nothing was changed.",
                crate::progress::count(runnable as u64, "step")
            );
        }
        return Ok(exit::OK);
    }
    let target = db::redact_uri(&global.uri);
    if !args.yes
        && !confirm_apply(
            &plan,
            &format!(
                "Apply {} to {target}?",
                crate::progress::count(runnable as u64, "step")
            ),
        )?
    {
        finish(&plan, "not_confirmed", 0, Vec::new());
        errln!("Not applied.");
        return Ok(exit::ERROR);
    }
    let _changing = Critical::enter();
    let mut progress = Progress::new(global.quiet || json);
    let applied = server.run(async {
        apply_plan(
            server.client(),
            &plan,
            &global.state_db,
            &super::engine::step_options(global),
            &mut progress,
        )
            .await?
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
        errln!(
            "Applied {} to {target}.",
            crate::progress::count(applied as u64, "step")
        );
    }
    if staged.is_empty() {
        finish(&plan, "applied", applied, Vec::new());
        return Ok(exit::OK);
    }
    let rollout = server.run(db::rollout::finish(
        server.client(),
        &spec,
        &staged,
        &super::engine::step_options(global),
        &mut progress,
    ))?;
    if !json {
        for s in &rollout.steps {
            errln!(
                "rollout {}.{}: backfill modified {}; {}",
                s.database,
                s.collection,
                crate::progress::count(s.backfilled, "document"),
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
        "{}rollout stopped: documents still fail in {}; their validators stay at `warn` (writes are logged, not refused). Fix the documents above, then run `mongrate apply --rollout` again",
        render::audit_text(&rollout.remaining),
        crate::progress::count(rollout.remaining.len() as u64, "collection")
    ))
    .into())
}

/// `apply` over many databases: each database's part of the plan runs on its own, at most
/// `--parallel` at once; a refused or failed database is reported and, with `--on-error
/// continue` (the default), does not stop the others. One report at the end.
fn run_fleet(
    global: &super::Settings,
    args: &ApplyArgs,
    plan: &crate::plan::Plan,
    server: &super::Server,
    spec: &crate::spec::SchemaSpec,
) -> Result<i32> {
    let started = std::time::Instant::now();
    let json = global.format == Format::Json;
    let names: Vec<String> = spec.databases.keys().cloned().collect();
    let parts: std::collections::BTreeMap<&str, crate::plan::Plan> = names
        .iter()
        .map(|d| (d.as_str(), plan.for_database(d)))
        .collect();
    let changing = parts
        .values()
        .filter(|p| p.runnable().next().is_some())
        .count();
    let runnable = plan.runnable().count();
    if !json {
        if changing <= 3 {
            stdout(&render::plan_text(plan, engine::style()));
        } else {
            stdout(&format!(
                "Plan: {} in {changing} of {} (`mongrate plan --databases NAME` shows one).\n",
                crate::progress::count(runnable as u64, "step"),
                crate::progress::count(names.len() as u64, "database")
            ));
        }
    }
    let policy = super::fleet::policy(global);
    let emit = |result: &'static str, report: &crate::fleet::Report| {
        if json {
            print_json(
                "apply",
                &ApplyJson {
                    plan: render::plan_view(plan),
                    result,
                    applied: report
                        .databases
                        .iter()
                        .filter(|d| d.outcome == Outcome::Changed)
                        .map(|d| d.steps)
                        .sum(),
                    rollout: Vec::new(),
                    databases: report.databases.clone(),
                    stopped: report.stopped.clone(),
                },
            );
        }
    };
    let pending = |outcome_if_changing: Outcome| crate::fleet::Report {
        databases: parts
            .iter()
            .map(|(db, p)| {
                let steps = p.runnable().count();
                DatabaseReport {
                    database: db.to_string(),
                    outcome: if steps == 0 {
                        Outcome::InSync
                    } else {
                        outcome_if_changing
                    },
                    steps,
                    error: None,
                    elapsed_ms: 0,
                }
            })
            .collect(),
        stopped: None,
    };
    if runnable == 0 {
        let report = pending(Outcome::InSync);
        emit("nothing_to_apply", &report);
        if !json {
            super::fleet::print_report(&report, started.elapsed(), global.quiet, "step");
        }
        return Ok(exit::OK);
    }
    // With --on-error stop, refuse before anything runs, as for one database.
    if policy.on_error == crate::fleet::OnError::Stop {
        refuse(plan.refusals(args.allow_violations, &[]))?;
    }
    if args.dry_run {
        let report = pending(Outcome::Drift);
        emit("dry_run", &report);
        if !json {
            errln!(
                "Dry run: {} in {} would run; nothing was changed.",
                crate::progress::count(runnable as u64, "step"),
                crate::progress::count(changing as u64, "database")
            );
        }
        return Ok(exit::OK);
    }
    let target = db::redact_uri(&global.uri);
    if !args.yes
        && !confirm_apply(
            plan,
            &format!(
                "Apply {} in {} on {target}?",
                crate::progress::count(runnable as u64, "step"),
                crate::progress::count(changing as u64, "database")
            ),
        )?
    {
        emit("not_confirmed", &pending(Outcome::Drift));
        errln!("Not applied.");
        return Ok(exit::ERROR);
    }
    let _changing = Critical::enter();
    let mut progress = Progress::new(global.quiet || json);
    let options = super::engine::step_options(global);
    let client = server.client();
    let report = server.run(async {
        Ok(db::apply::apply_each(
            client,
            plan,
            &names,
            db::apply::EachOptions {
                policy,
                allow_violations: args.allow_violations,
                state_db: &global.state_db,
            },
            &options,
            &mut progress,
        )
        .await)
    })?;
    let result = if report.exit_code() == exit::OK {
        "applied"
    } else {
        "failed"
    };
    emit(result, &report);
    if !json {
        super::fleet::print_report(&report, started.elapsed(), global.quiet, "step");
    }
    Ok(report.exit_code())
}

/// Ask before applying, naming every collection and index the plan drops (and how many
/// documents each holds), in the question and in the refusal without a terminal.
fn confirm_apply(plan: &crate::plan::Plan, question: &str) -> Result<bool> {
    let drops: Vec<String> = plan
        .runnable()
        .filter(|s| s.op.destroys())
        .map(|s| render::drop_words(&s.op, s.documents))
        .collect();
    let sentence = render::drops_sentence(&drops);
    confirm(
        &format!("{question}{sentence}"),
        &format!(
            "refusing to apply without confirmation: stdin is not a terminal; pass --yes{}",
            if drops.is_empty() {
                String::new()
            } else {
                format!(" (the plan drops: {})", drops.join(", "))
            }
        ),
    )
}

/// Refuse before anything runs when the plan has refusals: never a half-applied change.
fn refuse(refusals: Vec<String>) -> Result<()> {
    if refusals.is_empty() {
        return Ok(());
    }
    Err(Refused(format!(
        "refusing to apply; nothing was changed:\n  {}",
        refusals.join("\n  ")
    ))
    .into())
}
