//! `mongrate migrate ...`: versioned migrations.

use super::load_migrations as load;
use super::out::{Critical, Progress, confirm, errln, outln};
use super::views::{RunJson, RunMigrationJson, StatusJson};
use super::{Refused, Server, UsageError, exit, load_declared_spec, print_json};
use crate::cli::{Format, LockArgs, MigrateArgs, MigrateCommand};
use crate::db::changelog::Direction;
use crate::db::lock::LockRead;
use crate::db::migrations::{Request, RunOptions};
use crate::migrate::plan::{DownTarget, MigrationState, RunPlan};
use crate::migrate::runner::RanMigration;
use crate::migrate::{self, Migration};
use crate::normalize::{self, Side};
use crate::{db, spec};
use anyhow::{Context, Result};
use serde::Serialize;
use std::time::Duration;

pub fn run(global: &super::Settings, args: &MigrateArgs) -> Result<i32> {
    match &args.command {
        MigrateCommand::Generate {
            name, databases, ..
        } => generate(global, name, databases),
        MigrateCommand::New { name, .. } => new(global, name),
        MigrateCommand::Up {
            to, dry_run, lock, ..
        } => {
            let request = Request::Up { to: to.clone() };
            run_migrations(global, &request, *dry_run, true, lock)
        }
        MigrateCommand::Down {
            steps,
            to,
            force,
            yes,
            dry_run,
            lock,
            ..
        } => {
            let target = match (steps, to) {
                (_, Some(v)) => DownTarget::To(v.clone()),
                (Some(n), None) => DownTarget::Steps(*n),
                (None, None) => DownTarget::Steps(1),
            };
            let request = Request::Down {
                target,
                force: *force,
            };
            run_migrations(global, &request, *dry_run, *yes, lock)
        }
        MigrateCommand::Status { exit_code, .. } => status(global, *exit_code),
        MigrateCommand::Baseline { to, lock, .. } => {
            super::migrate_fleet::baseline(global, to.as_deref(), &run_options(global, lock))
        }
        MigrateCommand::Verify { offline, .. } => verify(global, *offline),
        MigrateCommand::Unlock { yes, .. } => unlock(global, *yes),
        MigrateCommand::Resolve {
            version,
            rolled_back: _,
            applied,
            note,
            lock,
            ..
        } => resolve(
            global,
            version,
            if *applied {
                crate::migrate::plan::Resolve::Applied
            } else {
                crate::migrate::plan::Resolve::RolledBack
            },
            note.clone(),
            lock,
        ),
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 100
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(UsageError(format!(
            "migration name {}: use letters, digits and `_` only (at most 100), e.g. add_email_index",
            crate::yaml::show(name)
        ))
        .into());
    }
    Ok(())
}

/// `YYYYMMDDHHMMSS` now (UTC), or one second after the newest existing version.
fn next_version(existing: &[Migration]) -> String {
    let now = bson::DateTime::now()
        .try_to_rfc3339_string()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect::<String>();
    migrate::generate::next_version(existing, now)
}

/// The schemas as a normalised model (what the migrations must produce).
fn desired_model(global: &super::Settings) -> Result<crate::model::Schema> {
    let loaded = load_declared_spec(&global.schemas, &global.state_db)?;
    let mut desired = spec::to_model(&loaded.spec);
    normalize::schema(&mut desired, Side::Spec);
    Ok(desired)
}

/// A refusal of `generate` as the command reports it (a usage error: exit 1, kind `usage`).
fn generate_error(e: migrate::generate::GenerateError, global: &super::Settings) -> anyhow::Error {
    match e {
        migrate::generate::GenerateError::UnknownDatabase(name) => UsageError(format!(
            "--database {name}: the schemas in `{}` declare no such database",
            global.schemas.display()
        ))
        .into(),
        other => UsageError(other.to_string()).into(),
    }
}

/// `migrate generate` / `migrate new` in JSON.
#[derive(Serialize, Default)]
struct WrittenJson {
    /// The file written, or null when there was nothing to generate.
    path: Option<String>,
    up_steps: usize,
    down_steps: usize,
    /// `up` steps that drop a collection or an index.
    destructive_steps: usize,
    /// `down` steps that drop a collection or an index.
    destructive_down_steps: usize,
    /// The first migration of the chain: its `down` never drops what it adopts.
    baseline: bool,
    warnings: Vec<String>,
}

/// `migrate generate` over several files: the aggregate, and each file.
#[derive(Serialize, Default)]
struct GeneratedJson {
    #[serde(flatten)]
    total: WrittenJson,
    /// Every file written (one per template, and one for the plain databases, when the
    /// changes concern both).
    files: Vec<WrittenJson>,
}

fn generate(global: &super::Settings, name: &str, only: &[String]) -> Result<i32> {
    check_name(name)?;
    let dir = &global.migrations;
    let desired = desired_model(global)?;
    let description = format!("{name} (generated from `{}`)", global.schemas.display());
    let mut migrations = load(dir)?;
    // A template's migration holds that template alone: changes that concern plain databases
    // and templates are written as one file for the plain ones and one per template.
    let groups: Vec<(String, Vec<String>)> =
        match migrate::generate::generate(&migrations, &desired, only, description.clone()) {
            Err(migrate::generate::GenerateError::MixedTemplate(_)) if only.is_empty() => {
                migrate::generate::file_groups(&desired, name)
            }
            Err(e) => return Err(generate_error(e, global)),
            Ok(_) => vec![(name.to_string(), only.to_vec())],
        };
    let json = global.format == Format::Json;
    let mut out = GeneratedJson::default();
    for (file_name, group) in groups {
        let generated =
            migrate::generate::generate(&migrations, &desired, &group, description.clone())
                .map_err(|e| generate_error(e, global))?;
        if !json {
            for w in &generated.warnings {
                errln!("warning: {w}");
            }
        }
        out.total
            .warnings
            .extend(generated.warnings.iter().cloned());
        let Some(written) = write_generated(global, &migrations, &file_name, generated)? else {
            continue;
        };
        out.total
            .path
            .get_or_insert_with(|| written.path.clone().unwrap_or_default());
        out.total.up_steps += written.up_steps;
        out.total.down_steps += written.down_steps;
        out.total.destructive_steps += written.destructive_steps;
        out.total.destructive_down_steps += written.destructive_down_steps;
        out.total.baseline |= written.baseline;
        out.files.push(written);
        migrations = load(dir)?;
    }
    if json {
        print_json("migrate generate", &out);
    } else if out.files.is_empty() {
        errln!(
            "Nothing to generate: the migrations already produce the schemas in `{}`.",
            global.schemas.display()
        );
    }
    Ok(exit::OK)
}

/// Write one generated migration (`None`: nothing to write), saying what it holds.
fn write_generated(
    global: &super::Settings,
    migrations: &[Migration],
    name: &str,
    generated: migrate::generate::Generated,
) -> Result<Option<WrittenJson>> {
    let Some(file) = generated.file else {
        return Ok(None);
    };
    let dir = &global.migrations;
    let version = next_version(migrations);
    std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    let path = dir.join(format!("{version}_{name}.yaml"));
    let header = format!(
        "{}\nGenerated by mongrate {}: review it before applying.\n{}",
        super::project::schema_header(
            crate::cli::SchemaKind::Migration,
            &path,
            &global.project_root
        )
        .trim_start_matches("# "),
        env!("CARGO_PKG_VERSION"),
        if generated.baseline {
            "A baseline: the first migration of these databases, which adopts what a server may\nalready hold (every step is already true there). `down` never drops what it adopts: each\nadopted collection is `irreversible`, so `migrate down` refuses, and `--force` skips those steps."
        } else {
            "`down` undoes `up` in reverse order; `irreversible` marks a step that cannot be undone."
        }
    );
    std::fs::write(&path, migrate::render_file(&file, &header))
        .with_context(|| format!("writing `{}`", path.display()))?;
    if global.format != Format::Json {
        outln!("{}", path.display());
        let drops = |n: usize| {
            if n > 0 {
                format!(" ({n} drop{})", if n == 1 { "" } else { "s" })
            } else {
                " (no drops)".to_string()
            }
        };
        errln!(
            "Wrote {}{} and {}{}.",
            crate::progress::count(file.up.len() as u64, "up step"),
            drops(generated.destructive),
            crate::progress::count(file.down.len() as u64, "down step"),
            drops(generated.destructive_down),
        );
        if generated.baseline {
            errln!(
                "This is a baseline: on a server that already holds these collections every step is already true, and its `down` never drops them."
            );
        }
    }
    Ok(Some(WrittenJson {
        path: Some(path.display().to_string()),
        up_steps: file.up.len(),
        down_steps: file.down.len(),
        destructive_steps: generated.destructive,
        destructive_down_steps: generated.destructive_down,
        baseline: generated.baseline,
        warnings: generated.warnings,
    }))
}

fn new(global: &super::Settings, name: &str) -> Result<i32> {
    check_name(name)?;
    let dir = &global.migrations;
    let migrations = load(dir)?;
    let version = next_version(&migrations);
    std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    let path = dir.join(format!("{version}_{name}.yaml"));
    let text = format!(
        "{}\n# Hand-written migration. Every step must be idempotent (running it twice = once).\n# Operations: create_collection, drop_collection, modify_collection, create_index, drop_index,\n# modify_index, make_index_unique, set_validator, backfill, update_many, rename_field, command.\ndescription: {name}\nup: []\ndown: []\n",
        super::project::schema_header(
            crate::cli::SchemaKind::Migration,
            &path,
            &global.project_root
        )
    );
    std::fs::write(&path, text).with_context(|| format!("writing `{}`", path.display()))?;
    match global.format {
        Format::Json => print_json(
            "migrate new",
            &WrittenJson {
                path: Some(path.display().to_string()),
                ..Default::default()
            },
        ),
        Format::Text | Format::Github => outln!("{}", path.display()),
    }
    Ok(exit::OK)
}

fn run_options(global: &super::Settings, lock: &LockArgs) -> RunOptions {
    RunOptions {
        state_db: global.state_db.clone(),
        project: global.project.clone(),
        scope: None,
        lock_lease: Duration::from_secs(lock.lock_lease.max(3)),
        lock_timeout: Duration::from_secs(lock.lock_timeout),
        step: super::engine::step_options(global),
    }
}

/// The drops among `version`'s steps from `from` on, in `direction`.
fn destructive_steps(
    migrations: &[Migration],
    version: &str,
    direction: Direction,
    from: usize,
) -> usize {
    migrations
        .iter()
        .find(|m| m.version == version)
        .map(|m| match direction {
            Direction::Up => &m.file.up,
            Direction::Down => &m.file.down,
        })
        .map(|ops| ops.iter().skip(from).filter(|o| o.destroys()).count())
        .unwrap_or(0)
}

fn planned_json(plan: &RunPlan, migrations: &[Migration]) -> Vec<RunMigrationJson> {
    plan.migrations
        .iter()
        .map(|p| RunMigrationJson {
            version: p.version.clone(),
            name: p.name.clone(),
            from_step: p.from_step,
            steps_total: p.steps_total,
            steps_run: 0,
            steps_already_there: 0,
            destructive_steps: destructive_steps(
                migrations,
                &p.version,
                plan.direction,
                p.from_step,
            ),
        })
        .collect()
}

fn ran_json(
    ran: &[RanMigration],
    migrations: &[Migration],
    direction: Direction,
) -> Vec<RunMigrationJson> {
    ran.iter()
        .map(|r| RunMigrationJson {
            version: r.version.clone(),
            name: r.name.clone(),
            from_step: r.from_step,
            steps_total: r.steps_total,
            steps_run: r.steps_run,
            steps_already_there: r.steps_already_there,
            destructive_steps: destructive_steps(migrations, &r.version, direction, r.from_step),
        })
        .collect()
}

/// The steps a run would take, for people; each drop says how many documents its collection
/// holds (`sizes`, in the order of `plan.operations`).
fn plan_text(plan: &RunPlan, migrations: &[Migration], sizes: &[Option<u64>]) -> String {
    let mut sizes = sizes.iter();
    let mut out = String::new();
    for p in &plan.migrations {
        let m = &migrations[p.index];
        let steps = match plan.direction {
            Direction::Up => &m.file.up,
            Direction::Down => &m.file.down,
        };
        let resume = if p.from_step > 0 {
            format!(
                " (resuming at step {} of {})",
                p.from_step + 1,
                p.steps_total
            )
        } else {
            String::new()
        };
        out.push_str(&format!("{}_{}{resume}\n", m.version, m.name));
        for (i, op) in steps.iter().enumerate().skip(p.from_step) {
            let size = sizes.next().copied().flatten();
            let drop = match (op, size) {
                (crate::ops::Operation::DropCollection { .. }, Some(n)) => {
                    format!("  (destroys {})", crate::render::documents(n))
                }
                (crate::ops::Operation::DropIndex { .. }, Some(n)) => {
                    format!("  (an index over {})", crate::render::documents(n))
                }
                _ => String::new(),
            };
            out.push_str(&format!("  {:>3}. {}{drop}\n", i + 1, op.summary()));
        }
    }
    out
}

fn run_migrations(
    global: &super::Settings,
    request: &Request,
    dry_run: bool,
    yes: bool,
    lock: &LockArgs,
) -> Result<i32> {
    let migrations = load(&global.migrations)?;
    let opts = run_options(global, lock);
    let selection = super::fleet::selection(global)?;
    if crate::fleet::is_fleet_run(&migrations, selection.as_ref()) {
        return super::migrate_fleet::run(global, request, dry_run, yes, &opts, &migrations);
    }
    let json = global.format == Format::Json;
    let direction = match request {
        Request::Up { .. } => Direction::Up,
        Request::Down { .. } => Direction::Down,
    };
    let (verb, command) = match direction {
        Direction::Up => ("apply", "migrate up"),
        Direction::Down => ("roll back", "migrate down"),
    };
    let server = Server::connect(global)?;
    let _committed = (!dry_run && (yes || direction == Direction::Up)).then(Critical::enter);
    if dry_run || (direction == Direction::Down && !yes) {
        let plan = server.run(db::migrations::dry_run(
            server.client(),
            &global.state_db,
            &opts.history(),
            &migrations,
            request,
        ))?;
        let ops = plan.operations(&migrations);
        let sizes = server.run(async { Ok(db::drop_sizes(server.client(), &ops).await) })?;
        let drops: Vec<String> = ops
            .iter()
            .zip(&sizes)
            .filter(|(o, _)| o.destroys())
            .map(|(o, n)| crate::render::drop_words(o, *n))
            .collect();
        let steps: usize = plan
            .migrations
            .iter()
            .map(|p| p.steps_total - p.from_step)
            .sum();
        if dry_run {
            if json {
                print_json(
                    command,
                    &RunJson {
                        direction,
                        dry_run: true,
                        migrations: planned_json(&plan, &migrations),
                        took_over_from: None,
                        databases: Vec::new(),
                        stopped: None,
                    },
                );
            } else {
                outln!(
                    "Dry run: `{command}` would {verb} {}, {}{}; nothing was changed.",
                    crate::progress::count(plan.migrations.len() as u64, "migration"),
                    crate::progress::count(steps as u64, "step"),
                    if drops.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " ({} that drop: {})",
                            crate::progress::count(drops.len() as u64, "step"),
                            drops.join(", ")
                        )
                    }
                );
                super::out::stdout(&plan_text(&plan, &migrations, &sizes));
            }
            return Ok(exit::OK);
        }
        if plan.migrations.is_empty() {
            if json {
                print_json(
                    command,
                    &RunJson {
                        direction,
                        dry_run: false,
                        migrations: Vec::new(),
                        took_over_from: None,
                        databases: Vec::new(),
                        stopped: None,
                    },
                );
            } else {
                outln!("Nothing to roll back.");
            }
            return Ok(exit::OK);
        }
        let names: Vec<String> = plan
            .migrations
            .iter()
            .map(|p| format!("{}_{}", p.version, p.name))
            .collect();
        if !confirm(
            &format!(
                "Roll back {} ({}) on {}: {}?{}",
                crate::progress::count(names.len() as u64, "migration"),
                crate::progress::count(steps as u64, "step"),
                db::redact_uri(&global.uri),
                names.join(", "),
                crate::render::drops_sentence(&drops)
            ),
            &format!(
                "refusing to roll back without confirmation: stdin is not a terminal; pass --yes (see what would run with --dry-run){}",
                if drops.is_empty() {
                    String::new()
                } else {
                    format!("; the rollback drops {}", drops.join(", "))
                }
            ),
        )? {
            return Err(Refused("not rolled back: not confirmed".into()).into());
        }
    }
    let _changing = Critical::enter();
    let mut progress = Progress::new(global.quiet || json);
    let outcome = server.run(db::migrations::run(
        server.client(),
        &opts,
        &migrations,
        request,
        &mut progress,
    ))?;
    if json {
        print_json(
            command,
            &RunJson {
                direction,
                dry_run: false,
                migrations: ran_json(&outcome.ran, &migrations, direction),
                took_over_from: outcome.took_over_from.clone(),
                databases: Vec::new(),
                stopped: None,
            },
        );
    } else if outcome.ran.is_empty() {
        outln!(
            "{}",
            match direction {
                Direction::Up => "Nothing to do: every migration is applied.",
                Direction::Down => "Nothing to roll back.",
            }
        );
    } else {
        outln!(
            "{} {}.",
            match direction {
                Direction::Up => "Applied",
                Direction::Down => "Rolled back",
            },
            crate::progress::count(outcome.ran.len() as u64, "migration")
        );
        let run: usize = outcome.ran.iter().map(|r| r.steps_run).sum();
        let there: usize = outcome.ran.iter().map(|r| r.steps_already_there).sum();
        if there > 0 {
            outln!(
                "{} of the {} run already held on the server (already there, or already gone): nothing changed for them.",
                there,
                crate::progress::count(run as u64, "step")
            );
        }
    }
    Ok(exit::OK)
}

fn status(global: &super::Settings, exit_code: bool) -> Result<i32> {
    let migrations = load(&global.migrations)?;
    let selection = super::fleet::selection(global)?;
    if crate::fleet::is_fleet_run(&migrations, selection.as_ref()) {
        return super::migrate_fleet::status(global, exit_code, &migrations);
    }
    let server = Server::connect(global)?;
    let history = crate::db::changelog::History::new(global.project.as_deref(), None);
    let (rows, unclaimed) = server.run(db::migrations::status(
        server.client(),
        &global.state_db,
        &history,
        &migrations,
    ))?;
    let pending = rows.iter().filter(|r| r.status.is_pending_work()).count();
    match global.format {
        Format::Json => print_json(
            "migrate status",
            &StatusJson {
                migrations: &rows,
                pending,
                databases: Vec::new(),
                unclaimed,
            },
        ),
        Format::Text | Format::Github => {
            let mut text = format!(
                "{:<16} {:<44} {:<18} {:<24} STEPS\n",
                "VERSION", "NAME", "STATUS", "APPLIED AT"
            );
            for r in &rows {
                let status = match (r.status, r.direction) {
                    (MigrationState::Running | MigrationState::Failed, Some(d)) => format!(
                        "{} ({})",
                        state_word(r.status),
                        match d {
                            Direction::Up => "up",
                            Direction::Down => "down",
                        }
                    ),
                    _ => state_word(r.status).to_string(),
                };
                text.push_str(&format!(
                    "{:<16} {:<44} {:<18} {:<24} {}/{}\n",
                    r.version,
                    r.name,
                    status,
                    r.applied_at.as_deref().unwrap_or("-"),
                    r.steps_done,
                    r.steps_total
                ));
                if let Some(e) = &r.error {
                    text.push_str(&format!("{:<16} error: {e}\n", ""));
                }
            }
            text.push_str(&format!(
                "{}, {pending} not applied as their files say.\n",
                crate::progress::count(rows.len() as u64, "migration")
            ));
            if unclaimed > 0 {
                text.push_str(&format!(
                    "{} of no project (written before projects) match no file of project `{}`: another project's; left alone.\n",
                    crate::progress::count(unclaimed as u64, "changelog entry"),
                    global.project.as_deref().unwrap_or_default()
                ));
            }
            super::out::stdout(&text);
        }
    }
    Ok(if exit_code && pending > 0 {
        exit::DIFFERENCES
    } else {
        exit::OK
    })
}

fn state_word(s: MigrationState) -> &'static str {
    match s {
        MigrationState::Pending => "pending",
        MigrationState::Applied => "applied",
        MigrationState::Running => "running",
        MigrationState::Failed => "failed",
        MigrationState::ChecksumMismatch => "checksum mismatch",
        MigrationState::Missing => "missing",
    }
}

/// One problem `migrate verify` found.
#[derive(Serialize)]
struct Problem {
    /// `schema_drift`, `not_replayable`, `checksum_changed` or `missing_file`.
    kind: &'static str,
    message: String,
}

fn verify(global: &super::Settings, offline: bool) -> Result<i32> {
    let migrations = load(&global.migrations)?;
    let (_, mut plan, warnings) =
        migrate::generate::chain(&migrations, &desired_model(global)?, &[])
            .map_err(|e| generate_error(e, global))?;
    plan.speak_of("after the migrations", "in the schemas");
    let mut problems: Vec<Problem> = Vec::new();
    for s in &plan.steps {
        problems.push(Problem {
            kind: "schema_drift",
            message: format!(
                "the migrations do not produce the schemas: `{}` is still needed ({}); write the missing migration with `mongrate migrate generate NAME`",
                s.op.summary(),
                s.reason
            ),
        });
    }
    for n in &plan.notices {
        problems.push(Problem {
            kind: "schema_drift",
            message: format!("{}.{}: {}", n.db, n.collection, n.message),
        });
    }
    for w in warnings {
        problems.push(Problem {
            kind: "not_replayable",
            message: w,
        });
    }
    if !offline {
        let server = Server::connect(global).context(
            "`migrate verify` reads the changelog to check applied files; pass --offline to skip that",
        )?;
        // Each history: the shared one, and in a fleet each database's.
        let selection = super::fleet::selection(global)?;
        let histories: Vec<(Option<String>, Vec<Migration>)> =
            if crate::fleet::is_fleet_run(&migrations, selection.as_ref()) {
                super::migrate_fleet::units(&server, global, &migrations)?
                    .into_iter()
                    .map(|u| (u.scope, u.migrations))
                    .collect()
            } else {
                vec![(None, migrations.clone())]
            };
        for (scope, migrations) in &histories {
            let history =
                crate::db::changelog::History::new(global.project.as_deref(), scope.as_deref());
            let entries = server
                .run(db::migrations::entries(
                    server.client(),
                    &global.state_db,
                    &history,
                    migrations,
                ))
                .context(
                    "`migrate verify` reads the changelog to check applied files; pass --offline to skip that",
                )?;
            let whose = scope
                .as_deref()
                .map(|d| format!("{d}: "))
                .unwrap_or_default();
            for m in migrate::plan::checksum_mismatches(migrations, &entries) {
                problems.push(Problem {
                    kind: "checksum_changed",
                    message: format!("{whose}{m}"),
                });
            }
            for e in entries
                .iter()
                .filter(|e| e.status == crate::db::changelog::Status::Applied)
            {
                if !migrations.iter().any(|m| m.version == e.version) {
                    problems.push(Problem {
                        kind: "missing_file",
                        message: format!(
                            "{whose}{} {} is applied but its file is missing from `{}`",
                            e.version,
                            e.name,
                            global.migrations.display()
                        ),
                    });
                }
            }
        }
    }
    let ok = problems.is_empty();
    match global.format {
        Format::Json => print_json(
            "migrate verify",
            &serde_json::json!({
                "ok": ok,
                "offline": offline,
                "migrations": migrations.len(),
                "problems": problems,
            }),
        ),
        Format::Text | Format::Github if ok => outln!(
            "ok: {} in `{}` produce the schemas in `{}`",
            crate::progress::count(migrations.len() as u64, "migration"),
            global.migrations.display(),
            global.schemas.display()
        ),
        Format::Text | Format::Github => {
            for p in &problems {
                errln!("{}", p.message);
            }
        }
    }
    Ok(if ok { exit::OK } else { exit::DIFFERENCES })
}

/// `migrate resolve` in JSON.
#[derive(Serialize)]
struct ResolveJson {
    version: String,
    /// The history: `(shared)` or a database of a fleet.
    database: String,
    resolution: ResolutionJson,
}

/// A resolution as the changelog records it, with its time as RFC 3339.
#[derive(Serialize)]
struct ResolutionJson {
    marked: crate::db::changelog::Status,
    at: String,
    by: String,
    pid: u32,
    tool_version: String,
    was: crate::db::changelog::Status,
    was_direction: Direction,
    was_steps_done: u32,
    was_error: Option<String>,
    note: Option<String>,
}

fn resolve(
    global: &super::Settings,
    version: &str,
    to: crate::migrate::plan::Resolve,
    note: Option<String>,
    lock: &LockArgs,
) -> Result<i32> {
    let migrations = load(&global.migrations)?;
    // One history: the shared one, or the one database `--databases` names.
    let scope = match super::fleet::selection(global)? {
        None => None,
        Some(s) => {
            let names: Vec<&str> = s.literals().collect();
            match names.as_slice() {
                [one]
                    if global
                        .databases
                        .as_deref()
                        .is_some_and(|d| !d.contains(',')) =>
                {
                    Some(one.to_string())
                }
                _ => {
                    return Err(UsageError(
                        "migrate resolve works on one history: give one database name with --databases (no pattern, no list)".into(),
                    )
                    .into());
                }
            }
        }
    };
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
        ..run_options(global, lock)
    };
    let server = Server::connect(global)?;
    let _changing = Critical::enter();
    let resolution = server.run(db::migrations::resolve(
        server.client(),
        &opts,
        &migrations,
        version,
        to,
        note,
    ))?;
    let label = scope.unwrap_or_else(|| crate::fleet::SHARED.to_string());
    if global.format == Format::Json {
        print_json(
            "migrate resolve",
            &ResolveJson {
                version: version.to_string(),
                database: label,
                resolution: ResolutionJson {
                    marked: resolution.marked,
                    at: resolution.at.try_to_rfc3339_string().unwrap_or_default(),
                    by: resolution.by,
                    pid: resolution.pid,
                    tool_version: resolution.tool_version,
                    was: resolution.was,
                    was_direction: resolution.was_direction,
                    was_steps_done: resolution.was_steps_done,
                    was_error: resolution.was_error,
                    note: resolution.note,
                },
            },
        );
    } else {
        outln!(
            "{version} marked {} (it was {} during `{}` after {}), by {} — recorded in the changelog.",
            match to {
                crate::migrate::plan::Resolve::Applied => "applied: `migrate up` skips it",
                crate::migrate::plan::Resolve::RolledBack =>
                    "rolled back: `migrate up` runs it again from its first step",
            },
            match resolution.was {
                crate::db::changelog::Status::Failed => "failed",
                _ => "interrupted",
            },
            match resolution.was_direction {
                Direction::Up => "up",
                Direction::Down => "down",
            },
            crate::progress::count(u64::from(resolution.was_steps_done), "step"),
            resolution.by
        );
    }
    Ok(exit::OK)
}

fn unlock(global: &super::Settings, yes: bool) -> Result<i32> {
    let server = Server::connect(global)?;
    let project = global.project.as_deref();
    let state = server.run(db::lock::read(server.client(), &global.state_db, project))?;
    let json = global.format == Format::Json;
    let report = |held: bool, broken: bool, owner: Option<String>| {
        if json {
            print_json(
                "migrate unlock",
                &serde_json::json!({ "held": held, "broken": broken, "owner": owner }),
            );
        }
    };
    let shown = match &state {
        LockRead::Free { .. } => {
            report(false, false, None);
            if !json {
                outln!("No lock is held.");
            }
            return Ok(exit::OK);
        }
        LockRead::Held(s) => {
            let owner = s.owner.clone().expect("held locks have an owner");
            let me = crate::db::lock::hostname();
            if owner.host == me && crate::db::lock::process_alive(owner.pid) {
                return Err(Refused(format!(
                    "the lock is held by {owner}, which is still running on this host; stop it instead of breaking its lock"
                ))
                .into());
            }
            format!("{owner} until {} (server time)", s.expires_at)
        }
        LockRead::Unreadable(doc) => format!("an unreadable lock document {doc}"),
    };
    if !json {
        errln!("The lock is held by {shown}.");
    }
    if !yes
        && !confirm(
            "Break it? Only if that run is dead.",
            "refusing to break the lock without confirmation: stdin is not a terminal; pass --yes",
        )?
    {
        errln!("Left as it is.");
        return Ok(exit::ERROR);
    }
    server.run(db::lock::break_lock(
        server.client(),
        &global.state_db,
        project,
    ))?;
    report(true, true, Some(shown));
    if !json {
        outln!(
            "Lock broken. A run that still held it is fenced off; the next `migrate up` resumes the interrupted migration."
        );
    }
    Ok(exit::OK)
}
