//! `mongrate doctor`: the server, the user, the state and the project in one report.

use super::Emitter;
use crate::app::{Settings, doctor};
use crate::cli::DoctorArgs;
use anyhow::Result;

pub fn run(settings: &Settings, args: &DoctorArgs, emit: &Emitter) -> Result<i32> {
    let request = doctor::DoctorRequest {
        max_lag: args.max_lag,
    };
    let report = doctor::doctor(settings, request, &mut emit.ui())?;
    Ok(emit.report(&report))
}
