//! The errors a run can end with, and the `kind` each is reported as.

use crate::views::ErrorKind;

/// A usage mistake that clap cannot see (e.g. a bad `DB.COLLECTION`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A problem with `mongrate.yaml` or the settings it gives.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The schema files have errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SpecInvalid(pub String);

/// A change was refused before anything was done.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The run was interrupted by the user (Ctrl-C); what it says is how to go on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);

/// The server stopped answering during a run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServerStopped(pub String);

/// The `kind` of an error: a fixed set of names scripts can match on.
pub fn error_kind(e: &anyhow::Error) -> ErrorKind {
    use crate::db::ConnectError;
    for cause in e.chain() {
        if cause.is::<UsageError>() {
            return ErrorKind::Usage;
        }
        if cause.is::<ConfigError>() {
            return ErrorKind::Config;
        }
        if cause.is::<SpecInvalid>() || cause.is::<crate::spec::LoadError>() {
            return ErrorKind::Schemas;
        }
        if cause.is::<crate::migrate::MigrationError>() {
            return ErrorKind::MigrationFiles;
        }
        if cause.is::<Refused>()
            || cause.is::<crate::migrate::plan::RunPlanError>()
            || cause.is::<crate::migrate::plan::ResolveError>()
        {
            return ErrorKind::Refused;
        }
        if cause.is::<crate::db::lock::LockError>() {
            return ErrorKind::LockHeld;
        }
        if cause.is::<crate::db::lock::LockLost>() || cause.is::<crate::db::changelog::Fenced>() {
            return ErrorKind::LockLost;
        }
        if cause.is::<ServerStopped>() {
            return ErrorKind::Unreachable;
        }
        if cause.is::<Interrupted>() {
            return ErrorKind::Interrupted;
        }
        if let Some(c) = cause.downcast_ref::<ConnectError>() {
            return match c {
                ConnectError::InvalidUri { .. } => ErrorKind::InvalidUri,
                ConnectError::Auth { .. } => ErrorKind::Auth,
                ConnectError::Unreachable { .. }
                | ConnectError::Refused { .. }
                | ConnectError::WrongReplicaSet { .. } => ErrorKind::Unreachable,
            };
        }
    }
    ErrorKind::Error
}
