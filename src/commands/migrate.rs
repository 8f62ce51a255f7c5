//! `mongrate migrate ...`: versioned migrations.

use super::Emitter;
use crate::app::Settings;
use crate::app::migrate::history::{self, ResolveRequest};
use crate::app::migrate::run::RunRequest;
use crate::app::migrate::{LockRequest, generate, run as runs};
use crate::cli::{LockArgs, MigrateArgs, MigrateCommand};
use crate::migrate::plan::Request;
use crate::migrate::plan::{DownTarget, Resolve};
use anyhow::Result;

pub fn run(settings: &Settings, args: &MigrateArgs, emit: &Emitter) -> Result<i32> {
    let s = settings;
    let mut ui = emit.ui();
    let ui = &mut ui;
    match &args.command {
        MigrateCommand::Generate {
            name, databases, ..
        } => Ok(emit.report(&generate::generate(s, name, databases, ui)?)),
        MigrateCommand::New { name, .. } => Ok(emit.report(&generate::new(s, name, ui)?)),
        MigrateCommand::Up {
            to, dry_run, lock, ..
        } => {
            let request = RunRequest {
                request: Request::Up { to: to.clone() },
                dry_run: *dry_run,
                yes: true,
                lock: lock_request(lock),
            };
            Ok(emit.report(&runs::run(s, &request, ui)?))
        }
        MigrateCommand::Down { .. } => Ok(emit.report(&runs::run(s, &down(&args.command), ui)?)),
        MigrateCommand::Status { exit_code, .. } => {
            Ok(emit.report(&history::status(s, *exit_code, ui)?))
        }
        MigrateCommand::Baseline { to, lock, .. } => {
            let report = history::baseline(s, to.as_deref(), lock_request(lock), ui)?;
            Ok(emit.report(&report))
        }
        MigrateCommand::Verify { offline, .. } => {
            Ok(emit.report(&history::verify(s, *offline, ui)?))
        }
        MigrateCommand::Unlock { yes, .. } => Ok(emit.report(&history::unlock(s, *yes, ui)?)),
        MigrateCommand::Resolve { .. } => {
            Ok(emit.report(&history::resolve(s, &resolve(&args.command), ui)?))
        }
    }
}

fn lock_request(lock: &LockArgs) -> LockRequest {
    LockRequest {
        lease: lock.lock_lease,
        timeout: lock.lock_timeout,
    }
}

/// `migrate down`'s request: the last migration, `--steps N`, or `--to VERSION`.
fn down(command: &MigrateCommand) -> RunRequest {
    let MigrateCommand::Down {
        steps,
        to,
        force,
        yes,
        dry_run,
        lock,
        ..
    } = command
    else {
        unreachable!("called for migrate down")
    };
    let target = match (steps, to) {
        (_, Some(v)) => DownTarget::To(v.clone()),
        (Some(n), None) => DownTarget::Steps(*n),
        (None, None) => DownTarget::Steps(1),
    };
    RunRequest {
        request: Request::Down {
            target,
            force: *force,
        },
        dry_run: *dry_run,
        yes: *yes,
        lock: lock_request(lock),
    }
}

/// `migrate resolve`'s request.
fn resolve(command: &MigrateCommand) -> ResolveRequest {
    let MigrateCommand::Resolve {
        version,
        applied,
        note,
        lock,
        ..
    } = command
    else {
        unreachable!("called for migrate resolve")
    };
    ResolveRequest {
        version: version.clone(),
        to: if *applied {
            Resolve::Applied
        } else {
            Resolve::RolledBack
        },
        note: note.clone(),
        lock: lock_request(lock),
    }
}
