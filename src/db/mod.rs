//! The only code that talks to the MongoDB driver: connecting (with redacted, actionable
//! errors), inspecting, executing, data checks, backfill, the changelog and lease lock,
//! migrations, seed data.

pub mod apply;
pub mod audit;
pub mod backfill;
pub mod canary;
pub mod changelog;
pub mod doctor;
pub mod execute;
pub mod inspect;
pub mod job;
pub mod lint;
pub mod lock;
pub mod migrations;
pub mod preflight;
pub mod retire;
pub mod retry;
pub mod rollout;
pub mod safety;
pub mod sample;
pub mod search;
pub mod seed;
pub mod step;

pub use crate::redact::redact_uri;

use anyhow::Result;
use mongodb::{Client, options::ClientOptions};
use std::time::Duration;

/// A collection of the state database (changelog, locks, retirement records): majority writes
/// and majority reads from the primary, so no run acts on a stale secondary's view of its state.
pub fn state_collection<T: Send + Sync>(
    client: &Client,
    state_db: &str,
    name: &str,
) -> mongodb::Collection<T> {
    use mongodb::options::{
        CollectionOptions, ReadConcern, ReadPreference, SelectionCriteria, WriteConcern,
    };
    let options = CollectionOptions::builder()
        .write_concern(WriteConcern::majority())
        .read_concern(ReadConcern::majority())
        .selection_criteria(SelectionCriteria::ReadPreference(ReadPreference::Primary))
        .build();
    client
        .database(state_db)
        .collection_with_options(name, options)
}

/// How to reach the server.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub uri: String,
    /// Where the URI came from (`--uri`, `MONGODB_URI`, `mongrate.yaml`, ...), for messages.
    pub source: String,
    /// How long to wait for a usable server before giving up (`--server-timeout`,
    /// `server_timeout` in mongrate.yaml, or the default).
    pub server_selection_timeout: Duration,
    /// The timeout was given with `--server-timeout`: it wins over the URI's
    /// `serverSelectionTimeoutMS` (which otherwise wins over mongrate.yaml and the default).
    pub timeout_from_flag: bool,
}

/// A connected client, and the server timeout in effect (see [`ConnectOptions`]).
pub struct Connected {
    pub client: Client,
    pub server_timeout: Duration,
}

/// Why no usable connection could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("invalid MongoDB URI `{uri}` (from {origin}): {reason}")]
    InvalidUri {
        uri: String,
        origin: String,
        reason: String,
    },
    #[error(
        "authentication failed at {uri} ({reason}); check the user name, password and authSource in the URI (from {origin})"
    )]
    Auth {
        uri: String,
        origin: String,
        reason: String,
    },
    #[error(
        "cannot reach MongoDB at {uri} within {} (the URI is from {origin}): {reason}. Check that the server is running and reachable from here, or point --uri or MONGODB_URI at the right one",
        crate::progress::human_duration(*.waited)
    )]
    Unreachable {
        uri: String,
        origin: String,
        waited: Duration,
        reason: String,
    },
    #[error(
        "cannot reach MongoDB at {uri} (the URI is from {origin}): connection refused by {hosts}: nothing listens there. Is the server running, and are the host and port right?"
    )]
    Refused {
        uri: String,
        origin: String,
        hosts: String,
    },
    #[error(
        "cannot reach MongoDB at {uri} (the URI is from {origin}): the URI asks for replicaSet={asked}, but {host} {actual}. Fix replicaSet= in the URI"
    )]
    WrongReplicaSet {
        uri: String,
        origin: String,
        asked: String,
        host: String,
        /// What the member says it is, in words.
        actual: String,
    },
}

/// The server-selection timeout in effect: the flag, else the URI's
/// `serverSelectionTimeoutMS`, else mongrate.yaml's or the default.
pub fn effective_timeout(
    flag_or_setting: Duration,
    from_flag: bool,
    from_uri: Option<Duration>,
) -> Duration {
    match (from_flag, from_uri) {
        (false, Some(uri)) if !uri.is_zero() => uri,
        _ => flag_or_setting,
    }
}

/// Connect and make sure a server answers (`ping`), so later steps fail for their own reasons.
/// A server that refuses the connection, or a replica set of another name, fails at once
/// instead of after the whole timeout.
pub async fn connect(opts: &ConnectOptions) -> Result<Connected, ConnectError> {
    let shown = redact_uri(&opts.uri);
    let mut options =
        ClientOptions::parse(&opts.uri)
            .await
            .map_err(|e| ConnectError::InvalidUri {
                uri: shown.clone(),
                origin: opts.source.clone(),
                reason: describe_driver_error(&e),
            })?;
    let timeout = effective_timeout(
        opts.server_selection_timeout,
        opts.timeout_from_flag,
        options.server_selection_timeout,
    );
    options.server_selection_timeout = Some(timeout);
    if opts.timeout_from_flag || options.connect_timeout.is_none() {
        options.connect_timeout = Some(timeout);
    }
    options.app_name = Some(format!("mongrate {}", env!("CARGO_PKG_VERSION")));
    let probe_options = options.clone();
    let client = Client::with_options(options).map_err(|e| ConnectError::InvalidUri {
        uri: shown.clone(),
        origin: opts.source.clone(),
        reason: describe_driver_error(&e),
    })?;
    let admin = client.database("admin");
    let ping = admin.run_command(bson::doc! { "ping": 1 });
    let answered = tokio::select! {
        r = ping => r,
        why = diagnose(&probe_options, timeout) => {
            let refused = |hosts: String| ConnectError::Refused {
                uri: shown.clone(),
                origin: opts.source.clone(),
                hosts,
            };
            let wrong = |asked: String, host: String, actual: String| ConnectError::WrongReplicaSet {
                uri: shown.clone(),
                origin: opts.source.clone(),
                asked,
                host,
                actual,
            };
            return Err(match why {
                Diagnosis::Refused(hosts) => refused(hosts),
                Diagnosis::WrongSet { asked, host, actual } => wrong(asked, host, actual),
            });
        }
    };
    if let Err(e) = answered {
        let reason = describe_driver_error(&e);
        if is_auth_error(&e) {
            return Err(ConnectError::Auth {
                uri: shown,
                origin: opts.source.clone(),
                reason: reason
                    .trim_start_matches("authentication failed: ")
                    .to_string(),
            });
        }
        return Err(ConnectError::Unreachable {
            uri: shown,
            origin: opts.source.clone(),
            waited: timeout,
            reason,
        });
    }
    Ok(Connected {
        client,
        server_timeout: timeout,
    })
}

/// Why a connection cannot work, found faster than the driver's server selection gives up.
enum Diagnosis {
    /// Every host refused the TCP connection (`host:port, ...`).
    Refused(String),
    /// A member answered with another replica set name (or none).
    WrongSet {
        asked: String,
        host: String,
        actual: String,
    },
}

/// Look for a reason the connection cannot work while the driver tries: every host refusing
/// TCP connections, or a member of another replica set than the URI names. Never resolves
/// when it finds none (the driver's own answer, or its timeout, then decides).
async fn diagnose(options: &ClientOptions, timeout: Duration) -> Diagnosis {
    use mongodb::options::ServerAddress;
    let hosts: Vec<(String, u16)> = options
        .hosts
        .iter()
        .filter_map(|h| match h {
            ServerAddress::Tcp { host, port } => Some((host.clone(), port.unwrap_or(27017))),
            _ => None,
        })
        .collect();
    let step = timeout.min(Duration::from_secs(3));
    let mut accepting = Vec::new();
    let mut refused = Vec::new();
    if hosts.len() == options.hosts.len() {
        for (host, port) in &hosts {
            match tokio::time::timeout(step, tokio::net::TcpStream::connect((host.as_str(), *port)))
                .await
            {
                Ok(Ok(_)) => accepting.push((host.clone(), *port)),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    refused.push(format!("{host}:{port}"))
                }
                _ => {}
            }
        }
        if !hosts.is_empty() && refused.len() == hosts.len() {
            return Diagnosis::Refused(refused.join(", "));
        }
    }
    if let (Some(asked), Some((host, port))) = (&options.repl_set_name, accepting.first())
        && let Some(actual) = set_name_of(options, host, *port, step).await
        && actual.as_deref() != Some(asked.as_str())
    {
        return Diagnosis::WrongSet {
            asked: asked.clone(),
            host: format!("{host}:{port}"),
            actual: match actual {
                Some(name) => format!("is a member of replica set `{name}`"),
                None => {
                    "is not a member of any replica set (remove replicaSet= to connect to it alone)"
                        .into()
                }
            },
        };
    }
    std::future::pending().await
}

/// The replica set name `host:port` reports in `hello` (`Some(None)`: none), on a direct
/// connection without credentials; `None` when it does not answer in time.
async fn set_name_of(
    options: &ClientOptions,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Option<Option<String>> {
    let mut direct = options.clone();
    direct.hosts = vec![mongodb::options::ServerAddress::Tcp {
        host: host.to_string(),
        port: Some(port),
    }];
    direct.repl_set_name = None;
    direct.direct_connection = Some(true);
    direct.credential = None;
    direct.server_selection_timeout = Some(timeout);
    let client = Client::with_options(direct).ok()?;
    let hello = tokio::time::timeout(
        timeout,
        client
            .database("admin")
            .run_command(bson::doc! { "hello": 1 }),
    )
    .await;
    let answer = match hello {
        Ok(Ok(doc)) => Some(doc.get_str("setName").ok().map(str::to_string)),
        _ => None,
    };
    client.shutdown().immediate(true).await;
    answer
}

/// Close the client's connections and stop its background tasks (before the runtime goes).
pub async fn disconnect(client: Client) {
    client.shutdown().immediate(true).await;
}

/// Ping the server within `timeout`: `Err` with a reason when it does not answer.
pub async fn ping(client: &Client, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(
        timeout,
        client
            .database("admin")
            .run_command(bson::doc! { "ping": 1 }),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(describe_driver_error(&e)),
        Err(_) => Err(format!("no reply within {}s", timeout.as_secs())),
    }
}

/// Ping any member of the deployment (a secondary will do) within `timeout`: during an
/// election there is no primary for a while, but the deployment is not stopped.
pub async fn ping_any(client: &Client, timeout: Duration) -> Result<(), String> {
    use mongodb::options::{ReadPreference, SelectionCriteria};
    let nearest = SelectionCriteria::ReadPreference(ReadPreference::Nearest {
        options: Default::default(),
    });
    match tokio::time::timeout(
        timeout,
        client
            .database("admin")
            .run_command(bson::doc! { "ping": 1 })
            .selection_criteria(nearest),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(describe_driver_error(&e)),
        Err(_) => Err(format!("no reply within {}s", timeout.as_secs())),
    }
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

/// The server's error code of a refused command or write (`None`: no answer from a server,
/// e.g. a network error).
pub(crate) fn server_code(e: &mongodb::error::Error) -> Option<i32> {
    use mongodb::error::{ErrorKind, WriteFailure};
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => Some(w.code),
        ErrorKind::Command(c) => Some(c.code),
        _ => None,
    }
}

/// A duplicate key error (E11000)?
pub(crate) fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    server_code(e) == Some(11000)
}

/// The driver's server-selection message without its topology dump: the timeout sentence, then
/// each member's address and why it did not answer (`localhost:27017: Connection refused`).
fn server_selection_summary(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    let Some((head, topology)) = first.split_once(" Topology: ") else {
        return first.to_string();
    };
    let mut members = Vec::new();
    for part in topology.split("Address: ").skip(1) {
        let address = part.split(',').next().unwrap_or_default().trim();
        let why = part
            .split_once("Error: ")
            .map(|(_, e)| {
                let e = e.split(", labels:").next().unwrap_or(e);
                let e = e.trim_start_matches("Kind: ");
                e.trim_start_matches("I/O error: ")
                    .trim_end_matches([' ', '}', ']', ','])
            })
            .map(str::to_string)
            .unwrap_or_else(|| {
                let kind = part.split_once("Type: ").map_or("", |(_, t)| t);
                let kind = kind.split([',', ' ', '}']).next().unwrap_or_default();
                format!("answers as {kind}")
            });
        members.push(format!("{address}: {why}"));
    }
    if members.is_empty() {
        head.trim().to_string()
    } else {
        format!("{} ({})", head.trim(), members.join("; "))
    }
}

/// One line for a driver error: the server's code and message when the server refused, the
/// driver's own words otherwise (never its debug dump).
pub fn describe_driver_error(e: &mongodb::error::Error) -> String {
    use mongodb::error::ErrorKind;
    let text = match e.kind.as_ref() {
        ErrorKind::Command(c) => format!(
            "server refused: {} (code {}, {})",
            c.message, c.code, c.code_name
        ),
        ErrorKind::Write(mongodb::error::WriteFailure::WriteError(w)) => {
            format!("write refused: {} (code {})", w.message, w.code)
        }
        ErrorKind::Write(mongodb::error::WriteFailure::WriteConcernError(w)) => format!(
            "write not acknowledged as asked: {} (code {})",
            w.message, w.code
        ),
        ErrorKind::ServerSelection { message, .. } => {
            format!("no server available: {}", server_selection_summary(message))
        }
        ErrorKind::Authentication { message, .. } => format!("authentication failed: {message}"),
        ErrorKind::InvalidArgument { message, .. } => message.clone(),
        ErrorKind::DnsResolve { message, .. } => format!("DNS lookup failed: {message}"),
        ErrorKind::Io(io) => format!("network error: {io}"),
        ErrorKind::InvalidTlsConfig { message, .. } => format!("TLS setup failed: {message}"),
        ErrorKind::ConnectionPoolCleared { message, .. } => format!("connection lost: {message}"),
        other => other.to_string(),
    };
    text.lines().next().unwrap_or_default().to_string()
}

/// For each index build on an existing collection, the documents it reads; for each drop, the
/// documents of its collection (those a collection drop destroys). Estimated counts:
/// collection metadata, no scan. A count that cannot be read is left out.
async fn build_sizes(
    client: &Client,
    current: &crate::model::Schema,
    plan: &mut crate::plan::Plan,
) {
    use crate::ops::Operation;
    let mut known: std::collections::BTreeMap<(String, String), Option<u64>> = Default::default();
    for step in plan.steps.iter_mut() {
        let (Operation::CreateIndex { db, collection, .. }
        | Operation::DropIndex { db, collection, .. }
        | Operation::DropCollection { db, collection }) = &step.op
        else {
            continue;
        };
        let exists = current
            .databases
            .get(db)
            .is_some_and(|d| d.collections.contains_key(collection));
        if !exists {
            continue;
        }
        let key = (db.clone(), collection.clone());
        if !known.contains_key(&key) {
            let n = client
                .database(db)
                .collection::<bson::Document>(collection)
                .estimated_document_count()
                .await
                .ok();
            known.insert(key.clone(), n);
        }
        step.documents = known[&key];
    }
}

/// The documents each destructive operation of `ops` destroys (a collection drop: the
/// collection's estimated count) or concerns (an index drop: the documents it indexes), each
/// data step would touch now, and each contract finds in the old shape, in order; `None` where
/// the collection is not there or cannot be counted.
pub async fn drop_sizes(client: &Client, ops: &[&crate::ops::Operation]) -> Vec<Option<u64>> {
    let mut out = Vec::new();
    for op in ops {
        // A data step: the documents it would touch now; a contract: those in the old shape.
        if let Some(Ok(job)) = crate::job::of(op) {
            out.push(job::dry_run(client, &job).await.ok());
            continue;
        }
        if let crate::ops::Operation::ContractField {
            db,
            collection,
            field,
            from,
            types,
            ..
        } = op
        {
            let old = crate::evolve::old_shape(field, from.as_deref(), types);
            out.push(
                client
                    .database(db)
                    .collection::<bson::Document>(collection)
                    .count_documents(old)
                    .await
                    .ok(),
            );
            continue;
        }
        out.push(if op.destroys() {
            client
                .database(op.db())
                .collection::<bson::Document>(op.collection())
                .estimated_document_count()
                .await
                .ok()
        } else {
            None
        });
    }
    out
}

/// Read the server (databases of `desired`, or all with `all_databases`), diff it against the
/// already-normalised `desired` model, and plan (the data checks a step needs are run
/// apart, by [`safety::run_checks`]). The one path `plan`, `apply`, `check` and the tests share.
pub async fn plan_against_server(
    client: &Client,
    desired: &crate::model::Schema,
    options: &crate::plan::PlanOptions,
    all_databases: bool,
    state_db: &str,
) -> Result<crate::plan::Plan> {
    let scope = if all_databases {
        inspect::Scope::All {
            except: vec![state_db.to_string()],
        }
    } else {
        inspect::Scope::Databases(desired.databases.keys().cloned().collect())
    };
    let mut current = inspect::inspect(client, &scope).await?;
    search::read(client, &mut current, desired).await?;
    crate::normalize::schema(&mut current, crate::normalize::Side::Server);
    // Declared evolutions: where each stands decides the validator and indexes compared with.
    let evolutions = crate::evolve::declared(desired);
    let mut states = Vec::new();
    let shaped;
    let desired = if evolutions.is_empty() {
        desired
    } else {
        let facts = job::facts(client, state_db, &evolutions).await?;
        let now = bson::DateTime::now().timestamp_millis();
        states = evolutions
            .iter()
            .zip(&facts)
            .map(|(e, f)| crate::evolve::decide(e, f, now))
            .collect();
        let mut d = desired.clone();
        crate::evolve::shape_desired(&mut d, &current, &states);
        shaped = d;
        &shaped
    };
    let changes = crate::diff::diff(&current, desired);
    // Retirement records are read only when some collection retires indexes in two phases.
    let retiring = options.retire.enabled
        && desired
            .databases
            .values()
            .flat_map(|d| d.collections.values())
            .any(|c| c.retire_after.is_some());
    let mut plan = if retiring {
        let dbs: Vec<String> = desired.databases.keys().cloned().collect();
        let mut options = options.clone();
        options.retire.hidden_at = retire::read(client, state_db, &dbs).await?;
        crate::plan::plan(&changes, &options)
    } else {
        crate::plan::plan(&changes, options)
    };
    crate::plan::add_evolution_steps(&mut plan, &mut states);
    plan.evolutions = states;
    build_sizes(client, &current, &mut plan).await;
    if current.no_search {
        plan.search_unsupported = desired
            .databases
            .values()
            .flat_map(|d| d.collections.values())
            .map(|c| c.search_indexes.len())
            .sum();
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::server_selection_summary;

    #[test]
    fn server_selection_keeps_each_member_and_its_reason_not_the_dump() {
        let m = "Server selection timeout: No available servers. Topology: { Type: Unknown, Servers: [ { Address: localhost:27017, Type: Unknown, Error: Kind: I/O error: Connection refused (os error 111), labels: {\"SystemOverloadedError\", \"RetryableError\"}, source: None, server response: None } ] }";
        assert_eq!(
            server_selection_summary(m),
            "Server selection timeout: No available servers. (localhost:27017: Connection refused (os error 111))"
        );
        let two = "Server selection timeout: None of the available servers suitable for criteria Predicate. Topology: { Type: ReplicaSetNoPrimary, Set Name: rs0, Servers: [ { Address: a:1, Type: RsSecondary }, { Address: b:2, Type: Unknown, Error: Kind: I/O error: timed out, labels: {} } ] }";
        assert_eq!(
            server_selection_summary(two),
            "Server selection timeout: None of the available servers suitable for criteria Predicate. (a:1: answers as RsSecondary; b:2: timed out)"
        );
        assert_eq!(server_selection_summary("plain words"), "plain words");
    }
}
