//! Benchmark: `migrate up` of N migrations (default 200) of one `create_index` each, against
//! the floor and against migrate-mongo, on the same server in the same run. Whole processes,
//! medians of R rounds (default 3), each round on a fresh database.
//!
//!   (a) floor: this program, one driver client: per migration its `createIndexes` and one
//!       majority-acknowledged changelog insert, one after another (what any tool that records
//!       each migration must at least do); timed from the client's creation;
//!   (b) `mongrate migrate up` (release binary), with the server's operation counters read
//!       before and after: round trips and writes per migration;
//!       (`MONGRATE_BIN` times another build instead, e.g. an earlier commit's);
//!   (c) migrate-mongo (`migrate-mongo up`), when `MIGRATE_MONGO` names its executable
//!       (`scripts/bench_migrate.sh` installs it from npm).
//!
//! Run: `scripts/bench_migrate.sh [N] [R]` (needs MONGODB_URI or starts a local mongod).

use bson::{Document, doc};
use mongodb::options::WriteConcern;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const DB: &str = "mongrate_bench_migrate";
const COLLECTIONS: usize = 10;

fn collection(i: usize) -> String {
    format!("c{}", i % COLLECTIONS)
}

/// Migration `i`'s index: a field of its own, so every index is new.
fn index(i: usize) -> (String, String) {
    (format!("f{i}"), format!("f{i}_1"))
}

async fn fresh(client: &mongodb::Client) {
    client.database(DB).drop().await.unwrap();
    for c in 0..COLLECTIONS {
        client
            .database(DB)
            .create_collection(format!("c{c}"))
            .await
            .unwrap();
    }
}

/// The counters of `serverStatus` that count client operations.
async fn counters(client: &mongodb::Client) -> Document {
    let s = client
        .database("admin")
        .run_command(doc! { "serverStatus": 1 })
        .await
        .unwrap();
    s.get_document("opcounters").unwrap().clone()
}

fn delta(before: &Document, after: &Document, key: &str) -> i64 {
    let n = |d: &Document| {
        d.get_i64(key)
            .or_else(|_| d.get_i32(key).map(i64::from))
            .unwrap_or(0)
    };
    n(after) - n(before)
}

async fn floor(uri: &str, n: usize) -> Duration {
    let started = Instant::now();
    let client = mongodb::Client::with_uri_str(uri).await.unwrap();
    let db = client.database(DB);
    let changelog = client
        .database(&format!("{DB}_floor_state"))
        .collection::<Document>("changelog");
    let majority = WriteConcern::majority();
    for i in 0..n {
        let (field, name) = index(i);
        db.run_command(doc! {
            "createIndexes": collection(i),
            "indexes": [{ "key": { &field: 1 }, "name": &name }],
        })
        .await
        .unwrap();
        changelog
            .insert_one(
                doc! { "_id": format!("{i:05}"), "status": "applied", "at": bson::DateTime::now() },
            )
            .write_concern(majority.clone())
            .await
            .unwrap();
    }
    started.elapsed()
}

/// Migration `i`'s version: 2025-01-01, `i` seconds after midnight.
fn version(i: usize) -> String {
    format!("20250101{:02}{:02}{:02}", i / 3600, (i / 60) % 60, i % 60)
}

fn write_mongrate_files(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let (field, name) = index(i);
        std::fs::write(
            dir.join(format!("{}_index_{i}.yaml", version(i))),
            format!(
                "up:\n- create_index:\n    db: {DB}\n    collection: {}\n    index:\n      key:\n        {field}: 1\n      name: {name}\ndown:\n- drop_index:\n    db: {DB}\n    collection: {}\n    name: {name}\n",
                collection(i),
                collection(i)
            ),
        )
        .unwrap();
    }
}

fn write_migrate_mongo_project(dir: &Path, uri: &str, n: usize) {
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    std::fs::write(
        dir.join("migrate-mongo-config.js"),
        format!(
            "module.exports = {{ mongodb: {{ url: {uri:?}, databaseName: {DB:?}, options: {{}} }}, migrationsDir: 'migrations', changelogCollectionName: 'changelog_mm', migrationFileExtension: '.js', useFileHash: false, moduleSystem: 'commonjs' }};\n"
        ),
    )
    .unwrap();
    for i in 0..n {
        let (field, name) = index(i);
        std::fs::write(
            migrations.join(format!("{}-index_{i}.js", version(i))),
            format!(
                "module.exports = {{\n  async up(db) {{ await db.collection('{}').createIndex({{ {field}: 1 }}, {{ name: '{name}' }}); }},\n  async down(db) {{ await db.collection('{}').dropIndex('{name}'); }}\n}};\n",
                collection(i),
                collection(i)
            ),
        )
        .unwrap();
    }
}

fn timed(cmd: &mut Command) -> Duration {
    let started = Instant::now();
    let out = cmd.output().unwrap();
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(200);
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let uri = std::env::var("MONGODB_URI").expect("MONGODB_URI");
    // MONGRATE_BIN: another build to time (e.g. an earlier commit's), in place of this one.
    let bin = std::env::var_os("MONGRATE_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/mongrate"));
    let migrate_mongo = std::env::var("MIGRATE_MONGO").ok();
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    write_mongrate_files(&work.path().join("migrations"), n);
    std::fs::create_dir_all(work.path().join("schemas")).unwrap();
    write_migrate_mongo_project(&work.path().join("mm"), &uri, n);
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    let mut per_migration = None;
    for round in 0..rounds {
        fresh(&client).await;
        client
            .database(&format!("{DB}_floor_state"))
            .drop()
            .await
            .unwrap();
        a.push(floor(&uri, n).await);

        fresh(&client).await;
        let state = format!("{DB}_state");
        client.database(&state).drop().await.unwrap();
        let before = counters(&client).await;
        b.push(timed(
            Command::new(&bin)
                .current_dir(work.path())
                .env_remove("MONGODB_URI")
                .args([
                    "migrate",
                    "up",
                    "--quiet",
                    "--uri",
                    &uri,
                    "--state-db",
                    &state,
                ]),
        ));
        let after = counters(&client).await;
        // The two serverStatus reads are commands of their own.
        per_migration = Some(
            ["query", "insert", "update", "delete", "getmore", "command"]
                .map(|k| {
                    let d = delta(&before, &after, k) - i64::from(k == "command");
                    (k, d as f64 / n as f64)
                })
                .to_vec(),
        );

        if let Some(mm) = &migrate_mongo {
            fresh(&client).await;
            c.push(timed(
                Command::new(mm)
                    .arg("up")
                    .current_dir(work.path().join("mm")),
            ));
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    let (fa, fb) = (median(a.clone()), median(b.clone()));
    println!("migrate up, {n} migrations of one create_index each, medians of {rounds} rounds:");
    println!(
        "  (a) floor (createIndexes + 1 majority insert each)  {:>8.2} s",
        fa.as_secs_f64()
    );
    println!(
        "  (b) mongrate migrate up                             {:>8.2} s  {:.2}x the floor",
        fb.as_secs_f64(),
        fb.as_secs_f64() / fa.as_secs_f64()
    );
    if !c.is_empty() {
        let fc = median(c);
        println!(
            "  (c) migrate-mongo up                                {:>8.2} s  {:.2}x the floor; mongrate {:.2}x its time",
            fc.as_secs_f64(),
            fc.as_secs_f64() / fa.as_secs_f64(),
            fb.as_secs_f64() / fc.as_secs_f64()
        );
    }
    if let Some(per) = per_migration {
        let text: Vec<String> = per.iter().map(|(k, v)| format!("{k} {v:.2}")).collect();
        println!(
            "  mongrate's server operations per migration (opcounters): {}",
            text.join(", ")
        );
    }
    client.database(DB).drop().await.ok();
    client.database(&format!("{DB}_state")).drop().await.ok();
    client
        .database(&format!("{DB}_floor_state"))
        .drop()
        .await
        .ok();
}
