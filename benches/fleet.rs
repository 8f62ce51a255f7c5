//! Benchmark: a fleet of N empty tenant databases (default 200) made from one template — the
//! `chatbase_db` seed schemas — against the floor of a sequential client issuing the same
//! commands, on the same server in the same run.
//!
//!   (a) floor: this program, one driver client, every tenant's `create` and `createIndexes`
//!       commands (taken from mongrate's own plan for one tenant) one after another;
//!   (a2) the same with each new collection's indexes in one `createIndexes`, as mongrate sends
//!       them, and the server's CPU time for it (from `/proc`, when the server is local): that
//!       work divided by the cores is a bound no client can beat on this machine;
//!   (b) `mongrate apply --yes --databases <the N names>` (release binary, default --parallel);
//!   (b2) with `PARALLEL=1,2,4,8`: `apply` at each `--parallel`, its time against the server-bound
//!       minimum of that run (the server's CPU seconds during it / cores);
//!   (c) `mongrate check` of the N tenants (the template covers them on the server), with the
//!       server's command counter before and after: the catalog of all N is one `$listCatalog`.
//!
//! Run: `scripts/bench_fleet.sh [N]` (needs MONGODB_URI or starts a local mongod).

use bson::{Document, doc};
use mongrate::ops::Operation;
use std::process::Command;
use std::time::Instant;

const PREFIX: &str = "mongrate_bench_tenant";

fn names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{PREFIX}_{i:04}")).collect()
}

/// The template folder `<tmp>/<PREFIX>_*` holding the chatbase_db seed's collection files.
fn template() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let to = root.path().join(format!("{PREFIX}_*"));
    std::fs::create_dir_all(&to).unwrap();
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/chatbase_db");
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
    root
}

/// The operations that make one empty tenant, from mongrate's own planner.
fn tenant_ops(root: &std::path::Path) -> Vec<Operation> {
    let loaded = mongrate::spec::load_dir(root).unwrap();
    assert!(!loaded.has_errors());
    let one = mongrate::fleet::Selection::parse(&format!("{PREFIX}_0001")).unwrap();
    let spec = mongrate::fleet::expand(&loaded.spec, &[], Some(&one), "mongrate").unwrap();
    let mut desired = mongrate::spec::to_model(&spec);
    mongrate::normalize::schema(&mut desired, mongrate::normalize::Side::Spec);
    let changes = mongrate::diff::diff(&mongrate::model::Schema::default(), &desired);
    let plan = mongrate::plan::plan(&changes, &mongrate::plan::PlanOptions::default());
    plan.steps.into_iter().map(|s| s.op).collect()
}

/// The raw command of an operation on an empty database.
fn command(op: &Operation) -> Document {
    match op {
        Operation::CreateCollection {
            collection,
            options,
            ..
        } => {
            let mut c = doc! { "create": collection };
            c.extend(options.clone());
            c
        }
        Operation::CreateIndex {
            collection, index, ..
        } => doc! { "createIndexes": collection, "indexes": [index.clone()] },
        other => panic!("an empty tenant needs no {}", other.summary()),
    }
}

/// Drop the tenants, and wait until the server has closed their files (a checkpoint removes
/// dropped tables; idle handles close after 30 s with scripts/mongod.py): thousands of
/// collections created twice would otherwise exceed the machine's open-file limit.
async fn drop_all(client: &mongodb::Client, names: &[String]) {
    for n in names {
        client.database(n).drop().await.unwrap();
    }
    let started = Instant::now();
    loop {
        client
            .database("admin")
            .run_command(doc! { "fsync": 1 })
            .await
            .ok();
        let open = files_open(client).await;
        if open < 2_000 || started.elapsed().as_secs() > 180 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
}

async fn files_open(client: &mongodb::Client) -> i64 {
    let s = client
        .database("admin")
        .run_command(doc! { "serverStatus": 1 })
        .await
        .unwrap();
    s.get_document("wiredTiger")
        .and_then(|w| w.get_document("connection"))
        .ok()
        .and_then(|c| match c.get("files currently open") {
            Some(bson::Bson::Int32(n)) => Some(i64::from(*n)),
            Some(bson::Bson::Int64(n)) => Some(*n),
            _ => None,
        })
        .unwrap_or(0)
}

async fn commands_run(client: &mongodb::Client) -> i64 {
    let s = client
        .database("admin")
        .run_command(doc! { "serverStatus": 1 })
        .await
        .unwrap();
    let c = s.get_document("opcounters").unwrap();
    c.get_i64("command")
        .or_else(|_| c.get_i32("command").map(i64::from))
        .unwrap()
}

/// CPU seconds the server process has used, when it runs on this machine (`/proc`).
async fn server_cpu(client: &mongodb::Client) -> Option<f64> {
    let s = client
        .database("admin")
        .run_command(doc! { "serverStatus": 1 })
        .await
        .ok()?;
    let pid = match s.get("pid")? {
        bson::Bson::Int64(p) => *p,
        bson::Bson::Int32(p) => i64::from(*p),
        _ => return None,
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn cpu_text(cpu: Option<f64>) -> String {
    cpu.map_or_else(|| "n/a (server not local)".into(), |c| format!("{c:.1}s"))
}

fn run(bin: &str, args: &[&str]) -> (f64, String) {
    let t = Instant::now();
    let out = Command::new(bin).args(args).output().unwrap();
    let secs = t.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (secs, text)
}

#[tokio::main]
async fn main() {
    let uri = std::env::var("MONGODB_URI").expect("set MONGODB_URI (scripts/bench_fleet.sh does)");
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let bin = format!("{}/target/release/mongrate", env!("CARGO_MANIFEST_DIR"));
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    let tenants = names(n);
    let root = template();
    let schemas = root.path().to_str().unwrap();
    let ops = tenant_ops(root.path());
    println!(
        "{n} tenants x {} commands ({} collections, {} indexes)",
        ops.len(),
        ops.iter()
            .filter(|o| matches!(o, Operation::CreateCollection { .. }))
            .count(),
        ops.iter()
            .filter(|o| matches!(o, Operation::CreateIndex { .. }))
            .count()
    );

    // (a) the floor: sequential, the same commands (after clearing an earlier run's tenants).
    let earlier: Vec<String> = client
        .list_database_names()
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.starts_with(PREFIX))
        .collect();
    drop_all(&client, &earlier).await;
    let t = Instant::now();
    for name in &tenants {
        let db = client.database(name);
        for op in &ops {
            db.run_command(command(op)).await.unwrap();
        }
    }
    let floor = t.elapsed().as_secs_f64();
    println!("(a) floor: sequential client, one command a step  {floor:>7.2}s");

    // (a2) the same, with each collection's indexes in one createIndexes (as mongrate sends
    // builds on a collection it has just created).
    drop_all(&client, &tenants).await;
    let cpu_before = server_cpu(&client).await;
    let t = Instant::now();
    for name in &tenants {
        let db = client.database(name);
        let mut i = 0;
        while i < ops.len() {
            let mut j = i + 1;
            if let Operation::CreateIndex { collection, .. } = &ops[i] {
                while matches!(&ops.get(j), Some(Operation::CreateIndex { collection: c, .. }) if c == collection)
                {
                    j += 1;
                }
                let indexes: Vec<bson::Bson> = ops[i..j]
                    .iter()
                    .filter_map(|o| match o {
                        Operation::CreateIndex { index, .. } => Some(index.clone().into()),
                        _ => None,
                    })
                    .collect();
                db.run_command(doc! { "createIndexes": collection, "indexes": indexes })
                    .await
                    .unwrap();
            } else {
                db.run_command(command(&ops[i])).await.unwrap();
            }
            i = j;
        }
    }
    let floor_batched = t.elapsed().as_secs_f64();
    let floor_cpu = server_cpu(&client)
        .await
        .zip(cpu_before)
        .map(|(a, b)| a - b);
    println!(
        "(a2) floor: sequential, indexes batched as mongrate {floor_batched:>6.2}s   server CPU {}",
        cpu_text(floor_cpu)
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    if let Some(c) = floor_cpu {
        println!(
            "     the server's own work, spread over {cores} core(s), takes at least {:.2}s: (b)/(a2) cannot go below {:.2} here",
            c / cores,
            c / cores / floor_batched
        );
    }

    // (b) mongrate apply of the fleet.
    drop_all(&client, &tenants).await;
    let list = tenants.join(",");
    let before = commands_run(&client).await;
    let cpu_before = server_cpu(&client).await;
    let (apply, out) = run(
        &bin,
        &[
            "apply",
            "--yes",
            "--quiet",
            "--uri",
            &uri,
            "--schemas",
            schemas,
            "--databases",
            &list,
        ],
    );
    let apply_commands = commands_run(&client).await - before - 1;
    let apply_cpu = server_cpu(&client)
        .await
        .zip(cpu_before)
        .map(|(a, b)| a - b);
    println!(
        "(b) mongrate apply --databases <{n} names>        {apply:>7.2}s   ratio (b)/(a) {:.2}, (b)/(a2) {:.2}   server commands {apply_commands}   server CPU {}   [{}]",
        apply / floor,
        apply / floor_batched,
        cpu_text(apply_cpu),
        out.trim()
    );

    // (b2) `--parallel` swept (PARALLEL="1,2,4,8"): each run's time against the server-bound
    // minimum of that run (its server CPU seconds / cores), to pick the default from.
    if let Ok(values) = std::env::var("PARALLEL") {
        for p in values
            .split(',')
            .filter_map(|v| v.trim().parse::<u16>().ok())
        {
            drop_all(&client, &tenants).await;
            let cpu_before = server_cpu(&client).await;
            let p_text = p.to_string();
            let (secs, _) = run(
                &bin,
                &[
                    "apply",
                    "--yes",
                    "--quiet",
                    "--uri",
                    &uri,
                    "--schemas",
                    schemas,
                    "--databases",
                    &list,
                    "--parallel",
                    &p_text,
                ],
            );
            let cpu = server_cpu(&client)
                .await
                .zip(cpu_before)
                .map(|(a, b)| a - b);
            let bound = cpu.map(|c| c / cores);
            println!(
                "(b2) apply --parallel {p:<3}                          {secs:>7.2}s   server CPU {}   server-bound minimum {}   ratio {}",
                cpu_text(cpu),
                bound.map_or("n/a".into(), |b| format!("{b:.2}s")),
                bound.map_or("n/a".into(), |b| format!("{:.2}", secs / b)),
            );
        }
    }

    // (c) mongrate check of the fleet: wall time, and the commands the server ran for it.
    let mut best = f64::MAX;
    let mut commands = 0;
    for _ in 0..5 {
        let before = commands_run(&client).await;
        let (secs, _) = run(&bin, &["check", "--uri", &uri, "--schemas", schemas]);
        commands = commands_run(&client).await - before - 1;
        best = best.min(secs);
    }
    println!(
        "(c) mongrate check of {n} tenants (best of 5)       {best:>7.3}s   server commands during it: {commands}"
    );
    drop_all(&client, &tenants).await;
}
