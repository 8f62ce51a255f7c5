//! `migrate up/down/status/baseline` over a fleet: the shared history (migrations without
//! `databases:`) first, then each database a fleet migration covers, each with its own
//! changelog entries and lock in the state database (keyed by database), at most `--parallel`
//! at once, failures contained, one report.

use super::out::{Critical, Progress, errln, outln, stdout};
use super::{Refused, Server, exit, print_json};
use crate::cli::Format;
use crate::db;
use crate::db::changelog::Direction;
use crate::db::migrations::{Request, RunOptions};
use crate::fleet::{self, DatabaseReport, Outcome, Report, Unit};
use crate::migrate::Migration;
use anyhow::Result;
use serde::Serialize;
use std::time::Instant;

/// The histories this run covers, read against the server's databases.
pub(super) fn units(
    server: &Server,
    global: &super::Settings,
    migrations: &[Migration],
) -> Result<Vec<Unit>> {
    let selection = super::fleet::selection(global)?;
    let on_server = server.run(db::inspect::server_databases(
        server.client(),
        &global.state_db,
    ))?;
    Ok(fleet::migration_units(
        migrations,
        &on_server,
        selection.as_ref(),
        &global.state_db,
    ))
}

fn scoped(opts: &RunOptions, unit: &Unit) -> RunOptions {
    RunOptions {
        scope: unit.scope.clone(),
        ..opts.clone()
    }
}

pub fn run(
    global: &super::Settings,
    request: &Request,
    dry_run: bool,
    yes: bool,
    opts: &RunOptions,
    migrations: &[Migration],
) -> Result<i32> {
    let started = Instant::now();
    let json = global.format == Format::Json;
    let direction = match request {
        Request::Up { .. } => Direction::Up,
        Request::Down { .. } => Direction::Down,
    };
    let command = match direction {
        Direction::Up => "migrate up",
        Direction::Down => "migrate down",
    };
    let server = Server::connect(global)?;
    let units = units(&server, global, migrations)?;
    let emit = |report: &Report| {
        if json {
            print_json(
                command,
                &super::views::RunJson {
                    direction,
                    dry_run,
                    migrations: Vec::new(),
                    took_over_from: None,
                    databases: report.databases.clone(),
                    stopped: report.stopped.clone(),
                },
            );
        } else {
            super::fleet::print_report(report, started.elapsed(), global.quiet, "migration");
        }
    };
    if dry_run {
        let client = server.client();
        let report = server.run(async {
            let mut report = Report::default();
            for u in &units {
                let t = Instant::now();
                let line = match db::migrations::dry_run(
                    client,
                    &opts.state_db,
                    &scoped(opts, u).history(),
                    &u.migrations,
                    request,
                )
                .await
                {
                    Ok(plan) => DatabaseReport {
                        database: u.label().to_string(),
                        outcome: if plan.migrations.is_empty() {
                            Outcome::InSync
                        } else {
                            Outcome::Drift
                        },
                        steps: plan.migrations.len(),
                        error: None,
                        elapsed_ms: t.elapsed().as_millis() as u64,
                    },
                    Err(e) => DatabaseReport {
                        database: u.label().to_string(),
                        outcome: Outcome::Failed,
                        steps: 0,
                        error: Some(fleet::first_line(&format!("{e:#}"))),
                        elapsed_ms: t.elapsed().as_millis() as u64,
                    },
                };
                report.databases.push(line);
            }
            anyhow::Ok(report)
        })?;
        emit(&report);
        if !json {
            errln!("Dry run: nothing was changed.");
        }
        // A dry run reports; only a history that cannot be read is an error.
        return Ok(if report.counts().failed > 0 {
            exit::ERROR
        } else {
            exit::OK
        });
    }
    if direction == Direction::Down && !yes {
        // Name what the rollback would drop, and in how many histories.
        let client = server.client();
        let drops = server.run(async {
            let mut drops: std::collections::BTreeMap<String, usize> = Default::default();
            for u in &units {
                if let Ok(plan) = db::migrations::dry_run(
                    client,
                    &opts.state_db,
                    &scoped(opts, u).history(),
                    &u.migrations,
                    request,
                )
                .await
                {
                    for op in plan.operations(&u.migrations) {
                        if op.destroys() {
                            let mut shown = op.clone();
                            shown.set_db("<db>");
                            *drops.entry(shown.summary()).or_default() += 1;
                        }
                    }
                }
            }
            anyhow::Ok(drops)
        })?;
        let drops: Vec<String> = drops
            .into_iter()
            .map(|(op, n)| format!("{op} in {}", crate::progress::count(n as u64, "history")))
            .collect();
        return Err(Refused(format!(
            "refusing to roll back {} without --yes (see what would run with --dry-run){}",
            crate::progress::count(units.len() as u64, "history"),
            if drops.is_empty() {
                String::new()
            } else {
                format!("; the rollback drops: {}", drops.join(", "))
            }
        ))
        .into());
    }
    let _changing = Critical::enter();
    let mut progress = Progress::new(global.quiet || json);
    let client = server.client();
    let policy = super::fleet::policy(global);
    let run_one = |label: String| {
        let unit = units.iter().find(|u| u.label() == label);
        async move {
            let Some(unit) = unit else {
                anyhow::bail!("no history named {label}");
            };
            let outcome = db::migrations::run(
                client,
                &scoped(opts, unit),
                &unit.migrations,
                request,
                &mut crate::progress::Silent,
            )
            .await?;
            Ok(if outcome.ran.is_empty() {
                (Outcome::InSync, 0)
            } else {
                (Outcome::Changed, outcome.ran.len())
            })
        }
    };
    let labels: Vec<String> = units.iter().map(|u| u.label().to_string()).collect();
    let report = server.run(async {
        // The shared history runs first and alone: the databases' migrations may rely on it.
        let (shared, rest): (Vec<String>, Vec<String>) =
            labels.into_iter().partition(|l| l == fleet::SHARED);
        let mut report = Report::default();
        if !shared.is_empty() {
            report = crate::fleet::run_each(
                &shared,
                policy,
                command,
                "migration",
                &mut progress,
                run_one,
            )
            .await;
            if report.exit_code() == exit::ERROR {
                report.stopped =
                    Some("the shared history failed: no database's migrations were started".into());
                report.databases.extend(rest.iter().map(|d| DatabaseReport {
                    database: d.clone(),
                    outcome: Outcome::Skipped,
                    steps: 0,
                    error: None,
                    elapsed_ms: 0,
                }));
                return anyhow::Ok(report);
            }
        }
        let more =
            crate::fleet::run_each(&rest, policy, command, "migration", &mut progress, run_one)
                .await;
        report.databases.extend(more.databases);
        report.stopped = more.stopped;
        anyhow::Ok(report)
    })?;
    emit(&report);
    Ok(report.exit_code())
}

pub fn status(global: &super::Settings, exit_code: bool, migrations: &[Migration]) -> Result<i32> {
    let server = Server::connect(global)?;
    let units = units(&server, global, migrations)?;
    let client = server.client();
    let (histories, unclaimed) = server.run(async {
        let mut out = Vec::new();
        let mut unclaimed = 0;
        for u in &units {
            let history =
                db::changelog::History::new(global.project.as_deref(), u.scope.as_deref());
            let (rows, left) =
                db::migrations::status(client, &global.state_db, &history, &u.migrations).await?;
            unclaimed += left;
            out.push(super::views::HistoryJson {
                database: u.label().to_string(),
                pending: rows.iter().filter(|r| r.status.is_pending_work()).count(),
                migrations: rows,
            });
        }
        anyhow::Ok((out, unclaimed))
    })?;
    let pending: usize = histories.iter().map(|h| h.pending).sum();
    match global.format {
        Format::Json => print_json(
            "migrate status",
            &super::views::StatusJson {
                migrations: &[],
                pending,
                databases: histories,
                unclaimed,
            },
        ),
        Format::Text | Format::Github => {
            let mut text = format!(
                "{:<40} {:>9} {:>9} LAST APPLIED\n",
                "DATABASE", "APPLIED", "PENDING"
            );
            for h in &histories {
                let applied = h.migrations.len() - h.pending;
                let last = h
                    .migrations
                    .iter()
                    .rev()
                    .find(|r| !r.status.is_pending_work())
                    .map(|r| r.version.as_str())
                    .unwrap_or("-");
                text.push_str(&format!(
                    "{:<40} {:>9} {:>9} {last}\n",
                    h.database, applied, h.pending
                ));
                for r in h.migrations.iter().filter(|r| r.error.is_some()) {
                    text.push_str(&format!(
                        "{:<40} {} error: {}\n",
                        "",
                        r.version,
                        r.error.as_deref().unwrap_or_default()
                    ));
                }
            }
            text.push_str(&format!(
                "{}, {} not applied as their files say.\n",
                crate::progress::count(histories.len() as u64, "history"),
                crate::progress::count(pending as u64, "migration")
            ));
            stdout(&text);
        }
    }
    Ok(if exit_code && pending > 0 {
        exit::DIFFERENCES
    } else {
        exit::OK
    })
}

/// `migrate baseline --format json`.
#[derive(Serialize)]
struct BaselineJson {
    /// Per history: the versions recorded as applied.
    databases: Vec<BaselineHistory>,
}

#[derive(Serialize)]
struct BaselineHistory {
    database: String,
    recorded: Vec<String>,
}

/// `migrate baseline`: for the shared history, or per database of a fleet.
pub fn baseline(global: &super::Settings, to: Option<&str>, opts: &RunOptions) -> Result<i32> {
    let migrations = super::load_migrations(&global.migrations)?;
    if let Some(v) = to
        && !migrations.iter().any(|m| m.version == v)
    {
        return Err(super::UsageError(format!(
            "--to {v}: no migration has this version (see `mongrate migrate status`)"
        ))
        .into());
    }
    let selection = super::fleet::selection(global)?;
    let server = Server::connect(global)?;
    let units = if fleet::is_fleet_run(&migrations, selection.as_ref()) {
        units(&server, global, &migrations)?
    } else {
        vec![Unit {
            scope: None,
            migrations: migrations.clone(),
        }]
    };
    let _changing = Critical::enter();
    let client = server.client();
    let done = server.run(async {
        let mut out = Vec::new();
        for u in &units {
            let recorded = db::migrations::baseline(client, &scoped(opts, u), &u.migrations, to)
                .await
                .map_err(|e| e.context(format!("baseline of {}", u.label())))?;
            out.push(BaselineHistory {
                database: u.label().to_string(),
                recorded,
            });
        }
        anyhow::Ok(out)
    })?;
    if global.format == Format::Json {
        print_json("migrate baseline", &BaselineJson { databases: done });
    } else {
        for h in &done {
            outln!(
                "{}: recorded {} as applied without running them{}",
                h.database,
                crate::progress::count(h.recorded.len() as u64, "migration"),
                h.recorded
                    .last()
                    .map(|v| format!(" (up to {v})"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(exit::OK)
}
