//! `mongrate migrate ...`: versioned migrations.

use super::{engine, exit, load_valid_spec, runtime};
use crate::cli::{Format, GlobalArgs, LockArgs, MigrateArgs, MigrateCommand};
use crate::db::changelog::Direction;
use crate::migrate::runner::{self, DownTarget, MigrateReporter, RunOptions};
use crate::migrate::{self, Migration, MigrationFile, replay};
use crate::normalize::{self, Side};
use crate::ops::Operation;
use crate::plan::PlanOptions;
use crate::{db, diff, plan, spec};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

pub fn run(global: &GlobalArgs, args: &MigrateArgs) -> Result<i32> {
    match &args.command {
        MigrateCommand::Generate { name, databases } => generate(global, args, name, databases),
        MigrateCommand::New { name } => new(args, name),
        MigrateCommand::Up { to, lock } => up(global, args, to.as_deref(), lock),
        MigrateCommand::Down {
            steps,
            to,
            force,
            lock,
        } => {
            let target = match (steps, to) {
                (_, Some(v)) => DownTarget::To(v.clone()),
                (Some(n), None) => DownTarget::Steps(*n),
                (None, None) => DownTarget::Steps(1),
            };
            down(global, args, &target, *force, lock)
        }
        MigrateCommand::Status => status(global, args),
        MigrateCommand::Verify { offline } => verify(global, args, *offline),
        MigrateCommand::Unlock { yes } => unlock(global, args, *yes),
    }
}

fn load(dir: &Path) -> Result<Vec<Migration>> {
    migrate::load_dir(dir).with_context(|| format!("reading migrations in `{}`", dir.display()))
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("migration name `{name}`: use letters, digits and `_` only, e.g. add_email_index");
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
    match existing.last() {
        Some(last) if last.version >= now => {
            let n: u64 = last.version.parse().unwrap_or(0);
            format!("{:014}", n + 1)
        }
        _ => now,
    }
}

/// The schema the migrations produce, and the desired one, both normalised.
fn replayed_and_desired(
    global: &GlobalArgs,
    migrations: &[Migration],
    only: &[String],
) -> Result<(crate::model::Schema, crate::model::Schema, Vec<String>)> {
    let (mut current, warnings) = replay::replay(migrations);
    normalize::schema(&mut current, Side::Server);
    let loaded = load_valid_spec(&global.schemas)?;
    let mut desired = spec::to_model(&loaded.spec);
    normalize::schema(&mut desired, Side::Spec);
    if !only.is_empty() {
        for name in only {
            if !desired.databases.contains_key(name) {
                bail!(
                    "--database {name}: the schemas in `{}` declare no such database",
                    global.schemas.display()
                );
            }
        }
        desired.databases.retain(|k, _| only.contains(k));
        current.databases.retain(|k, _| only.contains(k));
    } else {
        // Databases the schemas do not name are not theirs to judge.
        current
            .databases
            .retain(|k, _| desired.databases.contains_key(k));
    }
    Ok((current, desired, warnings))
}

/// What the migrations still lack to produce the schemas: the replayed schema and the plan from
/// it to the schemas, drops of undeclared objects included (the chain must match exactly).
/// Warnings about steps that cannot be replayed are printed.
fn chain_plan(
    global: &GlobalArgs,
    migrations: &[Migration],
    only: &[String],
) -> Result<(crate::model::Schema, crate::plan::Plan)> {
    let (current, desired, warnings) = replayed_and_desired(global, migrations, only)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let changes = diff::diff(&current, &desired);
    let plan = plan::plan(
        &changes,
        &PlanOptions {
            prune: true,
            allow_destructive: true,
        },
    );
    Ok((current, plan))
}

fn generate(global: &GlobalArgs, args: &MigrateArgs, name: &str, only: &[String]) -> Result<i32> {
    check_name(name)?;
    let migrations = load(&args.dir)?;
    let (current, plan) = chain_plan(global, &migrations, only)?;
    for n in &plan.notices {
        eprintln!(
            "warning: {}.{}: {} (not expressible as a migration step)",
            n.db, n.collection, n.message
        );
    }
    if plan.steps.is_empty() {
        eprintln!(
            "Nothing to generate: the migrations already produce the schemas in `{}`.",
            global.schemas.display()
        );
        return Ok(exit::OK);
    }
    let up: Vec<Operation> = plan.steps.iter().map(|s| s.op.clone()).collect();
    let mut down: Vec<Operation> = Vec::new();
    for s in plan.steps.iter().rev() {
        match (&s.reverse, &s.op) {
            (Some(r), _) => down.push(r.clone()),
            // A dropped collection comes back empty, with its options and indexes.
            (None, Operation::DropCollection { db, collection }) => {
                match current
                    .databases
                    .get(db)
                    .and_then(|d| d.collections.get(collection))
                {
                    Some(c) => {
                        let mut options = c.to_create_command();
                        options.remove("create");
                        down.push(Operation::CreateCollection {
                            db: db.clone(),
                            collection: collection.clone(),
                            options,
                        });
                        for i in &c.indexes {
                            down.push(Operation::CreateIndex {
                                db: db.clone(),
                                collection: collection.clone(),
                                index: i.to_create_spec(),
                            });
                        }
                    }
                    None => down.push(Operation::Irreversible {
                        reason: format!("`{}` has no reverse", s.op.summary()),
                    }),
                }
            }
            (None, op) => down.push(Operation::Irreversible {
                reason: format!("`{}` has no reverse", op.summary()),
            }),
        }
    }
    let file = MigrationFile {
        description: format!("{name} (generated from `{}`)", global.schemas.display()),
        up,
        down,
    };
    let version = next_version(&migrations);
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating `{}`", args.dir.display()))?;
    let path = args.dir.join(format!("{version}_{name}.yaml"));
    let header = format!(
        "Generated by mongrate {}: review it before applying.\n`down` undoes `up` in reverse order; `irreversible` marks a step that cannot be undone.",
        env!("CARGO_PKG_VERSION")
    );
    std::fs::write(&path, migrate::render_file(&file, &header))
        .with_context(|| format!("writing `{}`", path.display()))?;
    let destructive = plan.steps.iter().filter(|s| s.destructive).count();
    println!("{}", path.display());
    eprintln!(
        "Wrote {} up step(s){}.",
        plan.steps.len(),
        if destructive > 0 {
            format!(", {destructive} of them destructive (drops)")
        } else {
            String::new()
        }
    );
    Ok(exit::OK)
}

fn new(args: &MigrateArgs, name: &str) -> Result<i32> {
    check_name(name)?;
    let migrations = load(&args.dir)?;
    let version = next_version(&migrations);
    std::fs::create_dir_all(&args.dir)?;
    let path = args.dir.join(format!("{version}_{name}.yaml"));
    let text = format!(
        "# Hand-written migration. Every step must be idempotent (running it twice = once).\n# Operations: create_collection, drop_collection, create_index, drop_index, modify_index,\n# make_index_unique, set_validator, backfill, update_many, rename_field, command.\ndescription: {name}\nup: []\ndown: []\n"
    );
    std::fs::write(&path, text)?;
    println!("{}", path.display());
    Ok(exit::OK)
}

fn run_options(args: &MigrateArgs, lock: &LockArgs) -> RunOptions {
    RunOptions {
        state_db: args.state_db.clone(),
        lock_lease: Duration::from_secs(lock.lock_lease.max(3)),
        lock_timeout: Duration::from_secs(lock.lock_timeout),
    }
}

/// A bar per migration, with the running step (hidden off a terminal or with --quiet).
struct Bars {
    bar: Option<ProgressBar>,
    visible: bool,
    quiet: bool,
}

impl MigrateReporter for Bars {
    fn note(&mut self, message: &str) {
        eprintln!("note: {message}");
    }
    fn migration_started(
        &mut self,
        m: &Migration,
        direction: Direction,
        from: usize,
        total: usize,
    ) {
        if !self.quiet {
            let verb = if direction == Direction::Up {
                "up"
            } else {
                "down"
            };
            let resume = if from > 0 {
                format!(" (resuming at step {})", from + 1)
            } else {
                String::new()
            };
            eprintln!("{verb} {}_{}{resume}", m.version, m.name);
        }
        let bar = ProgressBar::new(total as u64);
        bar.set_position(from as u64);
        if !self.visible {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        bar.set_style(
            ProgressStyle::with_template("  {bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        self.bar = Some(bar);
    }
    fn step_started(&mut self, _i: usize, op: &Operation) {
        if let Some(b) = &self.bar {
            b.set_message(op.summary());
        }
    }
    fn step_done(&mut self, _i: usize) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }
    fn migration_done(&mut self, _m: &Migration, _d: Direction, elapsed: Duration) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if !self.quiet {
            eprintln!("  done in {:.2}s", elapsed.as_secs_f64());
        }
    }
}

fn bars(global: &GlobalArgs) -> Bars {
    Bars {
        bar: None,
        visible: !global.quiet && std::io::stderr().is_terminal(),
        quiet: global.quiet,
    }
}

fn up(global: &GlobalArgs, args: &MigrateArgs, to: Option<&str>, lock: &LockArgs) -> Result<i32> {
    let migrations = load(&args.dir)?;
    let opts = run_options(args, lock);
    let mut reporter = bars(global);
    let report = runtime()?.block_on(async {
        let client = db::connect(&engine::connect_options(global)).await?;
        runner::up(&client, &migrations, to, &opts, &mut reporter).await
    })?;
    print_run_report(
        global,
        &report,
        "Nothing to do: every migration is applied.",
        "Applied",
    )
}

fn down(
    global: &GlobalArgs,
    args: &MigrateArgs,
    target: &DownTarget,
    force: bool,
    lock: &LockArgs,
) -> Result<i32> {
    let migrations = load(&args.dir)?;
    let opts = run_options(args, lock);
    let mut reporter = bars(global);
    let report = runtime()?.block_on(async {
        let client = db::connect(&engine::connect_options(global)).await?;
        runner::down(&client, &migrations, target, force, &opts, &mut reporter).await
    })?;
    print_run_report(global, &report, "Nothing to roll back.", "Rolled back")
}

/// What `up` / `down` did: JSON, or one line of text.
fn print_run_report(
    global: &GlobalArgs,
    report: &runner::RunReport,
    nothing: &str,
    verb: &str,
) -> Result<i32> {
    match global.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(report)?),
        Format::Text if report.done.is_empty() => println!("{nothing}"),
        Format::Text => println!("{verb} {} migration(s).", report.done.len()),
    }
    Ok(exit::OK)
}

fn status(global: &GlobalArgs, args: &MigrateArgs) -> Result<i32> {
    let migrations = load(&args.dir)?;
    let rows = runtime()?.block_on(async {
        let client = db::connect(&engine::connect_options(global)).await?;
        runner::status(&client, &migrations, &args.state_db).await
    })?;
    match global.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Format::Text => {
            println!(
                "{:<16} {:<44} {:<22} {:<22} STEPS",
                "VERSION", "NAME", "STATUS", "APPLIED AT"
            );
            for r in &rows {
                println!(
                    "{:<16} {:<44} {:<22} {:<22} {}",
                    r.version,
                    r.name,
                    r.status,
                    r.applied_at.as_deref().unwrap_or("-"),
                    r.steps
                );
                if let Some(e) = &r.error {
                    println!("{:<16} error: {e}", "");
                }
            }
        }
    }
    Ok(exit::OK)
}

fn verify(global: &GlobalArgs, args: &MigrateArgs, offline: bool) -> Result<i32> {
    let migrations = load(&args.dir)?;
    let (_, plan) = chain_plan(global, &migrations, &[])?;
    let mut problems: Vec<String> = Vec::new();
    for s in &plan.steps {
        problems.push(format!(
            "the migrations do not produce the schemas: `{}` is still needed ({})",
            s.op.summary(),
            s.reason
        ));
    }
    for n in &plan.notices {
        problems.push(format!("{}.{}: {}", n.db, n.collection, n.message));
    }
    if !plan.steps.is_empty() {
        problems.push("write the missing migration with `mongrate migrate generate NAME`".into());
    }
    if !offline {
        let checked = runtime()?.block_on(async {
            let client = db::connect(&engine::connect_options(global)).await?;
            let entries = crate::db::changelog::Changelog::new(&client, &args.state_db)
                .entries()
                .await?;
            anyhow::Ok(entries)
        });
        match checked {
            Ok(entries) => {
                problems.extend(runner::checksum_mismatches(&migrations, &entries));
                for e in entries
                    .iter()
                    .filter(|e| e.status == crate::db::changelog::Status::Applied)
                {
                    if !migrations.iter().any(|m| m.version == e.version) {
                        problems.push(format!(
                            "{} {} is applied but its file is missing from `{}`",
                            e.version,
                            e.name,
                            args.dir.display()
                        ));
                    }
                }
            }
            Err(e) => eprintln!("note: changelog not checked ({e:#}); use --offline to skip it"),
        }
    }
    if problems.is_empty() {
        println!(
            "ok: {} migration(s) in `{}` produce the schemas in `{}`",
            migrations.len(),
            args.dir.display(),
            global.schemas.display()
        );
        Ok(exit::OK)
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        Ok(exit::DIFFERENCES)
    }
}

fn unlock(global: &GlobalArgs, args: &MigrateArgs, yes: bool) -> Result<i32> {
    runtime()?.block_on(async {
        let client = db::connect(&engine::connect_options(global)).await?;
        let Some(state) = crate::db::lock::read(&client, &args.state_db).await? else {
            println!("No lock is held.");
            return Ok(exit::OK);
        };
        let me = crate::db::lock::hostname();
        if state.owner.host == me && crate::db::lock::process_alive(state.owner.pid) {
            bail!("the lock is held by {}, which is still running on this host; stop it instead of breaking its lock", state.owner);
        }
        eprintln!("The lock is held by {} until {} (server time).", state.owner, state.expires_at);
        if !yes {
            if !std::io::stdin().is_terminal() {
                bail!("refusing to break the lock without confirmation: stdin is not a terminal; pass --yes");
            }
            eprint!("Break it? Only if that run is dead. [y/N] ");
            std::io::stderr().flush().ok();
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                eprintln!("Left as it is.");
                return Ok(exit::ERROR);
            }
        }
        crate::db::lock::break_lock(&client, &args.state_db).await?;
        println!("Lock broken. The next `migrate up` resumes the interrupted migration.");
        Ok(exit::OK)
    })
}
