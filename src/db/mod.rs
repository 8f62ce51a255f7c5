//! The only code that talks to the MongoDB driver: connecting (with redacted, actionable
//! errors) and loading seed data.

pub mod apply;
pub mod audit;
pub mod backfill;
pub mod changelog;
pub mod execute;
pub mod inspect;
pub mod lock;
pub mod safety;
pub mod seed;

use anyhow::{Context, Result};
use mongodb::{Client, options::ClientOptions};
use std::time::Duration;

/// How to reach the server.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub uri: String,
    /// How long to wait for a usable server before giving up.
    pub server_selection_timeout: Duration,
}

/// `mongodb://user:secret@host` → `mongodb://user:****@host`: never print a password.
pub fn redact_uri(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://") else {
        return uri.to_string();
    };
    let rest = &uri[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') {
                format!("{user}:****")
            } else {
                user.to_string()
            };
            format!("{}{}@{}", &uri[..scheme_end + 3], masked, &rest[at + 1..])
        }
        None => uri.to_string(),
    }
}

/// Connect and make sure a server answers (`ping`), so later steps fail for their own reasons.
pub async fn connect(opts: &ConnectOptions) -> Result<Client> {
    let shown = redact_uri(&opts.uri);
    let mut options = ClientOptions::parse(&opts.uri)
        .await
        .with_context(|| format!("invalid MongoDB URI `{shown}`"))?;
    options.server_selection_timeout = Some(opts.server_selection_timeout);
    options.connect_timeout = Some(opts.server_selection_timeout);
    options.app_name = Some(format!("mongrate {}", env!("CARGO_PKG_VERSION")));
    let client = Client::with_options(options)
        .with_context(|| format!("cannot configure a client for `{shown}`"))?;
    if let Err(e) = client
        .database("admin")
        .run_command(bson::doc! { "ping": 1 })
        .await
    {
        let why = describe_driver_error(&e);
        if is_auth_error(&e) {
            let detail = why.trim_start_matches("authentication failed: ");
            anyhow::bail!(
                "authentication failed at {shown} ({detail}); check the user name, password and authSource in the URI (--uri or MONGODB_URI)"
            );
        }
        anyhow::bail!(
            "cannot reach MongoDB at {shown} within {}s; is the server running? (set --uri or MONGODB_URI; start a local one with `python3 scripts/mongod.py start`): {why}",
            opts.server_selection_timeout.as_secs()
        );
    }
    Ok(client)
}

/// Did the server refuse our credentials (rather than not answer)?
fn is_auth_error(e: &mongodb::error::Error) -> bool {
    use mongodb::error::ErrorKind;
    match e.kind.as_ref() {
        ErrorKind::Authentication { .. } => true,
        ErrorKind::Command(c) => c.code == 18,
        _ => false,
    }
}

/// One line for a driver error: the server's code and message when the server refused.
pub fn describe_driver_error(e: &mongodb::error::Error) -> String {
    use mongodb::error::ErrorKind;
    match e.kind.as_ref() {
        ErrorKind::Command(c) => format!(
            "server refused: {} (code {}, {})",
            c.message, c.code, c.code_name
        ),
        ErrorKind::Write(mongodb::error::WriteFailure::WriteError(w)) => {
            format!("write refused: {} (code {})", w.message, w.code)
        }
        ErrorKind::ServerSelection { message, .. } => {
            let first = message.lines().next().unwrap_or(message);
            format!("no server available: {first}")
        }
        ErrorKind::Authentication { message, .. } => format!("authentication failed: {message}"),
        _ => e.to_string(),
    }
}

/// Read the server (databases of `desired`, or all with `all_databases`), diff it against the
/// already-normalised `desired` model, and plan; with `data_checks`, count violators and
/// duplicates. The one path `plan`, `apply`, `check` and the tests share.
pub async fn plan_against_server(
    client: &Client,
    desired: &crate::model::Schema,
    options: &crate::plan::PlanOptions,
    all_databases: bool,
    data_checks: bool,
) -> Result<crate::plan::Plan> {
    let scope = if all_databases {
        inspect::Scope::All
    } else {
        inspect::Scope::Databases(desired.databases.keys().cloned().collect())
    };
    let mut current = inspect::inspect(client, &scope).await?;
    crate::normalize::schema(&mut current, crate::normalize::Side::Server);
    let changes = crate::diff::diff(&current, desired);
    let mut plan = crate::plan::plan(&changes, options);
    if data_checks {
        safety::run_checks(client, &mut plan).await?;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::redact_uri;

    #[test]
    fn passwords_never_shown() {
        assert_eq!(
            redact_uri("mongodb://alice:s3cret@db.example:27017/app?authSource=admin"),
            "mongodb://alice:****@db.example:27017/app?authSource=admin"
        );
        assert_eq!(
            redact_uri("mongodb+srv://bob:p%40ss@cluster0.example"),
            "mongodb+srv://bob:****@cluster0.example"
        );
        assert_eq!(
            redact_uri("mongodb://localhost:27017"),
            "mongodb://localhost:27017"
        );
    }
}
