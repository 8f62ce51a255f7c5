//! `migrate status`, `baseline`, `verify`, `resolve` and `unlock`: reading and correcting the
//! histories.

use super::generate::generate_error;
use super::{LockRequest, histories, run_options, scoped};
use crate::app::targets::{self, Labels, Mode, Shared};
use crate::app::{Refused, Server, Settings, Ui, UsageError, load};
use crate::db;
use crate::db::lock::LockRead;
use crate::db::migrations::RunOptions;
use crate::fleet::{Outcome, Unit};
use crate::migrate::{self, Migration};
use crate::views::migrate::{
    BaselineHistory, BaselineReport, Problem, ProblemKind, ResolutionView, ResolveReport,
    StatusLine, StatusReport, UnlockReport, VerifyReport,
};
use crate::views::{Text, TextOptions};
use anyhow::{Context, Result};
use std::sync::Mutex;

/// `mongrate migrate status [--exit-code]`.
pub fn status(settings: &Settings, exit_code: bool, ui: &mut dyn Ui) -> Result<StatusReport> {
    let migrations = load::migrations(&settings.migrations, ui)?;
    targets::selection(settings)?;
    let server = Server::connect(settings)?;
    let (units, fleet) = histories(&server, settings, &migrations)?;
    let lines: Mutex<Vec<StatusLine>> = Mutex::new(Vec::new());
    let unclaimed = Mutex::new(0);
    let names = Labels {
        label: "migrate status",
        noun: "pending migration",
    };
    let client = server.client();
    let (lines_ref, unclaimed_ref) = (&lines, &unclaimed);
    let done = each_history(&server, &units, names, ui, |label, unit| async move {
        let history =
            db::changelog::History::new(settings.project.as_deref(), unit.scope.as_deref());
        let (rows, left) =
            db::migrations::status(client, &settings.state_db, &history, &unit.migrations).await?;
        *unclaimed_ref.lock().expect("not poisoned") += left;
        let pending = rows.iter().filter(|r| r.status.is_pending_work()).count();
        lines_ref
            .lock()
            .expect("not poisoned")
            .extend(rows.into_iter().map(|row| StatusLine {
                database: label.clone(),
                row,
            }));
        Ok(if pending == 0 {
            (Outcome::InSync, 0)
        } else {
            (Outcome::Drift, pending)
        })
    })?;
    // A state database the user may not read has no records to show.
    let evolutions = server
        .run(db::job::records(client, &settings.state_db))
        .unwrap_or_default();
    Ok(StatusReport {
        evolutions,
        migrations: lines.into_inner().expect("not poisoned"),
        pending: done.databases.iter().map(|d| d.steps).sum(),
        databases: done.databases,
        unclaimed: unclaimed.into_inner().expect("not poisoned"),
        fleet,
        project: settings.project.clone().unwrap_or_default(),
        exit_code_on_pending: exit_code,
    })
}

/// Run `work` on every history, one after another (`migrate status`, `baseline`): its label
/// and unit in, its outcome and count out.
fn each_history<'a, F, Fut>(
    server: &Server,
    units: &'a [Unit],
    labels: Labels<'_>,
    ui: &mut dyn Ui,
    work: F,
) -> Result<crate::fleet::Report>
where
    F: Fn(String, &'a Unit) -> Fut,
    Fut: std::future::Future<Output = Result<(Outcome, usize)>>,
{
    let names: Vec<String> = units.iter().map(|u| u.label().to_string()).collect();
    let shared = Shared::new(ui.progress());
    let work = &work;
    server.run(targets::each(
        &names,
        Mode::Together,
        labels,
        &shared,
        |label| async move {
            let unit = units
                .iter()
                .find(|u| u.label() == label)
                .ok_or_else(|| anyhow::anyhow!("no history named {label}"))?;
            work(label, unit).await
        },
    ))
}

/// `mongrate migrate baseline [--to VERSION]`: for the shared history, or per database of a
/// fleet.
pub fn baseline(
    settings: &Settings,
    to: Option<&str>,
    lock: LockRequest,
    ui: &mut dyn Ui,
) -> Result<BaselineReport> {
    let migrations = load::migrations(&settings.migrations, ui)?;
    if let Some(v) = to
        && !migrations.iter().any(|m| m.version == v)
    {
        return Err(UsageError(format!(
            "--to {v}: no migration has this version (see `mongrate migrate status`)"
        ))
        .into());
    }
    targets::selection(settings)?;
    let server = Server::connect(settings)?;
    let (units, _) = histories(&server, settings, &migrations)?;
    let opts = run_options(settings, lock);
    let _changing = ui.changing();
    let recorded: Mutex<Vec<(String, Vec<String>)>> = Mutex::new(Vec::new());
    let names = Labels {
        label: "migrate baseline",
        noun: "migration",
    };
    let client = server.client();
    let (recorded_ref, opts_ref) = (&recorded, &opts);
    let done = each_history(&server, &units, names, ui, |label, unit| async move {
        let versions =
            db::migrations::baseline(client, &scoped(opts_ref, unit), &unit.migrations, to)
                .await
                .map_err(|e| e.context(format!("baseline of {label}")))?;
        let n = versions.len();
        recorded_ref
            .lock()
            .expect("not poisoned")
            .push((label, versions));
        Ok(if n == 0 {
            (Outcome::InSync, 0)
        } else {
            (Outcome::Changed, n)
        })
    })?;
    let recorded = recorded.into_inner().expect("not poisoned");
    Ok(BaselineReport {
        databases: done
            .databases
            .into_iter()
            .map(|report| BaselineHistory {
                recorded: recorded
                    .iter()
                    .find(|(l, _)| *l == report.database)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
                report,
            })
            .collect(),
    })
}

/// `mongrate migrate verify [--offline]`: the migrations produce the schemas, and (unless
/// offline) every applied file is unchanged and present.
pub fn verify(settings: &Settings, offline: bool, ui: &mut dyn Ui) -> Result<VerifyReport> {
    let migrations = load::migrations(&settings.migrations, ui)?;
    let (_, mut plan, warnings) =
        migrate::generate::chain(&migrations, &load::desired_model(settings)?, &[])
            .map_err(|e| generate_error(e, settings))?;
    plan.speak_of("after the migrations", "in the schemas");
    let mut problems: Vec<Problem> = Vec::new();
    let mut problem = |kind, message| problems.push(Problem { kind, message });
    for s in &plan.steps {
        problem(
            ProblemKind::SchemaDrift,
            format!(
                "the migrations do not produce the schemas: `{}` is still needed ({}); write the missing migration with `mongrate migrate generate NAME`",
                s.op.summary(),
                s.reason
            ),
        );
    }
    for n in &plan.notices {
        problem(
            ProblemKind::SchemaDrift,
            format!("{}.{}: {}", n.db, n.collection, n.message),
        );
    }
    for w in warnings {
        problem(ProblemKind::NotReplayable, w);
    }
    if !offline {
        problems.extend(
            applied_problems(settings, &migrations).context(
                "`migrate verify` reads the changelog to check applied files; pass --offline to skip that",
            )?,
        );
    }
    Ok(VerifyReport {
        ok: problems.is_empty(),
        offline,
        migrations: migrations.len(),
        problems,
        migrations_dir: settings.migrations.display().to_string(),
        schemas: settings.schemas.display().to_string(),
    })
}

/// Applied files that changed or are gone, in every history.
fn applied_problems(settings: &Settings, migrations: &[Migration]) -> Result<Vec<Problem>> {
    let server = Server::connect(settings)?;
    let (units, _) = histories(&server, settings, migrations)?;
    let mut problems = Vec::new();
    for unit in &units {
        let history =
            db::changelog::History::new(settings.project.as_deref(), unit.scope.as_deref());
        let entries = server.run(db::migrations::entries(
            server.client(),
            &settings.state_db,
            &history,
            &unit.migrations,
        ))?;
        let whose = unit
            .scope
            .as_deref()
            .map(|d| format!("{d}: "))
            .unwrap_or_default();
        for m in migrate::plan::checksum_mismatches(&unit.migrations, &entries) {
            problems.push(Problem {
                kind: ProblemKind::ChecksumChanged,
                message: format!("{whose}{m}"),
            });
        }
        for e in entries
            .iter()
            .filter(|e| e.status == db::changelog::Status::Applied)
            .filter(|e| !unit.migrations.iter().any(|m| m.version == e.version))
        {
            problems.push(Problem {
                kind: ProblemKind::MissingFile,
                message: format!(
                    "{whose}{} {} is applied but its file is missing from `{}`",
                    e.version,
                    e.name,
                    settings.migrations.display()
                ),
            });
        }
    }
    Ok(problems)
}

/// What `migrate resolve` is asked.
#[derive(Debug, Clone)]
pub struct ResolveRequest {
    pub version: String,
    pub to: migrate::plan::Resolve,
    /// Why, in the person's words.
    pub note: Option<String>,
    pub lock: LockRequest,
}

/// `mongrate migrate resolve VERSION --rolled-back|--applied`: in one history (the shared one,
/// or the one database `--databases` names).
pub fn resolve(
    settings: &Settings,
    request: &ResolveRequest,
    ui: &mut dyn Ui,
) -> Result<ResolveReport> {
    let migrations = load::migrations(&settings.migrations, ui)?;
    let scope = one_history(settings)?;
    let migrations: Vec<Migration> = match &scope {
        None => migrations
            .into_iter()
            .filter(|m| m.file.databases.is_none())
            .collect(),
        Some(db) => migrations
            .iter()
            .filter(|m| m.runs_in(db))
            .map(|m| m.in_database(db))
            .collect(),
    };
    let opts = RunOptions {
        scope: scope.clone(),
        ..run_options(settings, request.lock)
    };
    let server = Server::connect(settings)?;
    let _changing = ui.changing();
    let r = server.run(db::migrations::resolve(
        server.client(),
        &opts,
        &migrations,
        &request.version,
        request.to,
        request.note.clone(),
    ))?;
    Ok(ResolveReport {
        version: request.version.clone(),
        database: scope.unwrap_or_else(|| crate::fleet::SHARED.to_string()),
        resolution: ResolutionView {
            marked: r.marked,
            at: r.at.try_to_rfc3339_string().unwrap_or_default(),
            by: r.by,
            pid: r.pid,
            tool_version: r.tool_version,
            was: r.was,
            was_direction: r.was_direction,
            was_steps_done: r.was_steps_done,
            was_error: r.was_error,
            note: r.note,
        },
    })
}

/// The one history `--databases` names (no pattern, no list), or the shared one.
fn one_history(settings: &Settings) -> Result<Option<String>> {
    let Some(selection) = targets::selection(settings)? else {
        return Ok(None);
    };
    let names: Vec<&str> = selection.literals().collect();
    match names.as_slice() {
        [one]
            if settings
                .databases
                .as_deref()
                .is_some_and(|d| !d.contains(',')) =>
        {
            Ok(Some(one.to_string()))
        }
        _ => Err(UsageError(
            "migrate resolve works on one history: give one database name with --databases (no pattern, no list)".into(),
        )
        .into()),
    }
}

/// `mongrate migrate unlock [--yes]`: break the lock of a dead run.
pub fn unlock(settings: &Settings, yes: bool, ui: &mut dyn Ui) -> Result<UnlockReport> {
    let server = Server::connect(settings)?;
    let project = settings.project.as_deref();
    let state = server.run(db::lock::read(server.client(), &settings.state_db, project))?;
    let shown = match &state {
        LockRead::Free { .. } => {
            return Ok(UnlockReport {
                held: false,
                broken: false,
                owner: None,
            });
        }
        LockRead::Held(s) => {
            let owner = s.owner.clone().expect("held locks have an owner");
            let me = db::lock::hostname();
            if owner.host == me && db::lock::process_alive(owner.pid) {
                return Err(Refused(format!(
                    "the lock is held by {owner}, which is still running on this host; stop it instead of breaking its lock"
                ))
                .into());
            }
            format!("{owner} until {} (server time)", s.expires_at)
        }
        LockRead::Unreadable(doc) => format!("an unreadable lock document {doc}"),
    };
    ui.show(&|_: &TextOptions| {
        let mut t = Text::default();
        t.errln(format!("The lock is held by {shown}."));
        t
    });
    let broken = yes
        || ui.confirm(
            "Break it? Only if that run is dead.",
            "refusing to break the lock without confirmation: stdin is not a terminal; pass --yes",
        )?;
    if broken {
        server.run(db::lock::break_lock(
            server.client(),
            &settings.state_db,
            project,
        ))?;
    }
    Ok(UnlockReport {
        held: true,
        broken,
        owner: Some(shown),
    })
}
