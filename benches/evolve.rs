//! Benchmark: the migrate phase of a declared evolution against the floor of one server-side
//! `updateMany` with the same pipeline, with and without application writers.
//!
//! Generates N documents (default 1,000,000) with `email` (to be renamed `mail`) and `created`
//! (a date as a string, 0.1 % of them not a date). Then, on the same server in the same run:
//!   (a) floor: `updateMany({ email: { $exists: true } }, [{ $set: { mail: "$email" } },
//!       { $unset: "email" }])`, one command;
//!   (b) `mongrate apply` of the schema declaring `mail: { renamed_from: email }` (release
//!       binary, separate process under /usr/bin/time: wall time and peak RSS), which expands
//!       the validator and runs the migrate phase in batches, each a transaction with its
//!       checkpoint;
//!   (c) and (d): the same two while 8 writers (4 in the old shape, 4 in the new) insert and
//!       update, their p99 latency compared with the same writers on an idle server;
//!   (e) `mongrate apply` of a retype (`created` string → date by `$toDate`): the 0.1 %
//!       unconvertible values are listed, not converted;
//!   (f) the rename on N/10 documents, to show memory stays flat.
//!
//! Run: `scripts/bench_evolve.sh [N]` (needs MONGODB_URI or starts a local mongod).

use bson::{Document, doc};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const DB: &str = "mongrate_bench_evolve";

async fn fill(coll: &mongodb::Collection<Document>, n: usize) {
    coll.drop().await.unwrap();
    let mut i = 0;
    while i < n {
        let batch: Vec<Document> = (i..(i + 10_000).min(n))
            .map(|k| {
                let created = if k % 1000 == 999 {
                    format!("not a date {k}")
                } else {
                    format!("2024-{:02}-{:02}", k % 12 + 1, k % 28 + 1)
                };
                doc! { "_id": k as i64, "name": format!("user {k}"), "email": format!("u{k}@example.com"), "created": created }
            })
            .collect();
        i += batch.len();
        coll.insert_many(batch).await.unwrap();
    }
}

fn schema(dir: &std::path::Path, coll: &str, fields: &str) {
    let d = dir.join(DB);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join(format!("{coll}.yaml")),
        format!("collection: {coll}\nfields:\n  _id: {{ type: long }}\n  name: {{ type: string }}\n{fields}"),
    )
    .unwrap();
}

/// Run the release binary under /usr/bin/time: (seconds, peak RSS in KiB, stderr).
fn timed(bin: &str, uri: &str, schemas: &std::path::Path) -> (f64, u64, String) {
    let out = Command::new("/usr/bin/time")
        .args([
            "-f", "%e %M", bin, "apply", "--yes", "--quiet", "--uri", uri,
        ])
        .args(["--state-db", "mongrate_bench_evolve_state", "--schemas"])
        .arg(schemas)
        .output()
        .expect("/usr/bin/time runs mongrate");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "mongrate apply failed: {stderr}");
    let last = stderr.lines().last().unwrap_or_default().to_string();
    let mut parts = last.split_whitespace();
    let secs = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let kib = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (secs, kib, stderr)
}

/// 8 writers (4 old shape, 4 new) on `coll` until stopped; each operation's latency.
fn writers(
    coll: &mongodb::Collection<Document>,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<(Vec<Duration>, u64)>> {
    (0..8)
        .map(|w: i64| {
            let coll = coll.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let (mut lat, mut refused) = (Vec::new(), 0u64);
                let mut k = 0i64;
                let old = w < 4;
                while !stop.load(Ordering::Relaxed) {
                    k += 1;
                    let t = Instant::now();
                    let r = if k % 2 == 0 {
                        let id = 100_000_000 * (w + 1) + k;
                        let d = if old {
                            doc! { "_id": id, "name": "w", "email": "w@x.io", "created": "2024-01-01" }
                        } else {
                            doc! { "_id": id, "name": "w", "mail": "w@x.io", "created": "2024-01-01" }
                        };
                        coll.insert_one(d).await.map(|_| ())
                    } else {
                        let id = (k * 8 + w) % 10_000;
                        let u = if old {
                            doc! { "$set": { "email": format!("w{w}-{k}") } }
                        } else {
                            doc! { "$set": { "mail": format!("w{w}-{k}") }, "$unset": { "email": "" } }
                        };
                        coll.update_one(doc! { "_id": id }, u).await.map(|_| ())
                    };
                    lat.push(t.elapsed());
                    if r.is_err() {
                        refused += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                (lat, refused)
            })
        })
        .collect()
}

async fn stop_writers(
    stop: &Arc<AtomicBool>,
    handles: Vec<tokio::task::JoinHandle<(Vec<Duration>, u64)>>,
) -> (f64, f64, usize, u64) {
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut refused = 0;
    for h in handles {
        let (l, r) = h.await.unwrap();
        all.extend(l);
        refused += r;
    }
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    (pct(0.5), pct(0.99), all.len(), refused)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let uri = std::env::var("MONGODB_URI").expect("set MONGODB_URI (scripts/bench_evolve.sh does)");
    let bin = format!("{}/target/release/mongrate", env!("CARGO_MANIFEST_DIR"));
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    client.database(DB).drop().await.unwrap();
    client
        .database("mongrate_bench_evolve_state")
        .drop()
        .await
        .unwrap();
    let db = client.database(DB);
    let rename = "  mail: { type: string, renamed_from: email, contract_after: 0s }\n  created: { type: string }\n";
    let pipeline = vec![
        doc! { "$set": { "mail": "$email" } },
        doc! { "$unset": "email" },
    ];
    let floor = db.collection::<Document>("floor");
    let tool = db.collection::<Document>("tool");

    // (a) and (b): no writers.
    let t = Instant::now();
    fill(&floor, n).await;
    fill(&tool, n).await;
    println!(
        "generated 2 x {n} documents in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    floor
        .update_many(doc! { "email": { "$exists": true } }, pipeline.clone())
        .await
        .unwrap();
    let floor_s = t.elapsed().as_secs_f64();
    let dir = tempfile::tempdir().unwrap();
    schema(dir.path(), "tool", rename);
    let (tool_s, tool_kib, _) = timed(&bin, &uri, dir.path());
    let left = tool
        .count_documents(doc! { "email": { "$exists": true } })
        .await
        .unwrap();
    assert_eq!(left, 0, "the migrate phase left documents in the old shape");
    println!(
        "idle:    floor updateMany {floor_s:.2}s | mongrate apply (migrate phase) {tool_s:.2}s, {:.1} MiB peak | ratio {:.2}x",
        tool_kib as f64 / 1024.0,
        tool_s / floor_s
    );

    // The writers alone, on an idle server: their latency without any migration.
    let stop = Arc::new(AtomicBool::new(false));
    let idle = writers(&floor, &stop);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (idle_p50, idle_p99, idle_ops, _) = stop_writers(&stop, idle).await;

    // (c) and (d): with writers.
    fill(&floor, n).await;
    fill(&tool, n).await;
    client
        .database("mongrate_bench_evolve_state")
        .drop()
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let handles = writers(&floor, &stop);
    let t = Instant::now();
    floor
        .update_many(doc! { "email": { "$exists": true } }, pipeline.clone())
        .await
        .unwrap();
    let floor_w = t.elapsed().as_secs_f64();
    let (f50, f99, fops, frefused) = stop_writers(&stop, handles).await;
    // Expand first (writers of the new shape need the widened validator), as a deploy would.
    let stop = Arc::new(AtomicBool::new(false));
    let handles = writers(&tool, &stop);
    let (tool_w, tool_w_kib, _) = timed(&bin, &uri, dir.path());
    let (t50, t99, tops, trefused) = stop_writers(&stop, handles).await;
    // The old application is gone: catch up what it wrote during the run.
    let (catch_s, _, _) = timed(&bin, &uri, dir.path());
    let left = tool
        .count_documents(doc! { "email": { "$exists": true } })
        .await
        .unwrap();
    println!(
        "writers: floor updateMany {floor_w:.2}s | mongrate apply {tool_w:.2}s ({:.1} MiB) + catch-up {catch_s:.2}s | ratio {:.2}x | old shape left {left}",
        tool_w_kib as f64 / 1024.0,
        tool_w / floor_w
    );
    println!(
        "writer latency ms (p50 / p99, ops, refused): idle {idle_p50:.2} / {idle_p99:.2} ({idle_ops}) | during floor {f50:.2} / {f99:.2} ({fops}, {frefused}) | during mongrate {t50:.2} / {t99:.2} ({tops}, {trefused})"
    );

    // (e) The retype with 0.1 % unconvertible values.
    let retype = "  mail: { type: string }\n  email: { type: string }\n  created: { type: date, convert: { $toDate: \"$$value\" }, contract_after: 0s }\n";
    fill(&tool, n).await;
    let rdir = tempfile::tempdir().unwrap();
    schema(rdir.path(), "tool", retype);
    let (retype_s, retype_kib, stderr) = timed(&bin, &uri, rdir.path());
    let strings = tool
        .count_documents(doc! { "created": { "$type": "string" } })
        .await
        .unwrap();
    // What the run said: "<label>: 1,000 documents could not be changed and are left ...".
    let listed = stderr
        .lines()
        .find(|l| l.contains("could not be changed"))
        .and_then(|l| l.split(" could not be changed").next())
        .and_then(|l| l.rsplit(": ").next())
        .unwrap_or("nothing")
        .to_string();
    println!(
        "retype:  mongrate apply ($toDate) {retype_s:.2}s, {:.1} MiB | unconvertible left as strings {strings} (expected {}), listed {listed}",
        retype_kib as f64 / 1024.0,
        n / 1000
    );

    // (f) Memory at N/10.
    let small = db.collection::<Document>("small");
    fill(&small, n / 10).await;
    let sdir = tempfile::tempdir().unwrap();
    schema(sdir.path(), "small", rename);
    let (small_s, small_kib, _) = timed(&bin, &uri, sdir.path());
    println!(
        "memory:  {} documents {:.1} MiB ({small_s:.2}s) vs {n} documents {:.1} MiB",
        n / 10,
        small_kib as f64 / 1024.0,
        tool_kib as f64 / 1024.0
    );
    client.database(DB).drop().await.ok();
    client
        .database("mongrate_bench_evolve_state")
        .drop()
        .await
        .ok();
}
