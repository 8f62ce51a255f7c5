//! Benchmark: `mongrate backfill` against the physical floor, and `check --data`.
//!
//! Generates N documents (default 1,000,000) missing three defaulted fields — `status`, `tags`
//! (an array default) and `meta.source` (nested) — into two identical collections. Then, on the
//! same server in the same run:
//!   (a) the floor: one server-side `updateMany` per field with `$exists: false`;
//!   (b) `mongrate backfill` (release binary, separate process) on the other copy;
//! and reports both times, their ratio, mongrate's peak RSS (also for N/10 documents, to show
//! memory does not grow with the collection), and the time of `check --data` on the result.
//!
//! Run: `scripts/bench_backfill.sh [N]` (needs MONGODB_URI or starts a local mongod).

use bson::{Document, doc};
use std::process::Command;
use std::time::Instant;

const SCHEMA: &str = "fields:\n  n: { type: int, required: true }\n  status: { type: string, required: true, enum: [new, done], default: new }\n  tags: { type: array, items: { type: string }, default: [] }\n  meta:\n    type: object\n    fields:\n      source: { type: string, default: web }\n      weight: { type: int }\n";

async fn fill(coll: &mongodb::Collection<Document>, n: usize) {
    coll.drop().await.unwrap();
    let mut i = 0;
    while i < n {
        let batch: Vec<Document> = (i..(i + 10_000).min(n))
            .map(|k| {
                if k % 2 == 0 {
                    doc! { "n": k as i32, "meta": { "weight": (k % 7) as i32 } }
                } else {
                    doc! { "n": k as i32 }
                }
            })
            .collect();
        i += batch.len();
        coll.insert_many(batch).await.unwrap();
    }
}

/// Run the release binary under /usr/bin/time: (seconds, peak RSS in KiB).
fn timed(bin: &str, uri: &str, schemas: &std::path::Path, args: &[&str]) -> (f64, u64) {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%e %M", bin, "--quiet", "--uri", uri, "--schemas"])
        .arg(schemas)
        .args(args)
        .output()
        .expect("/usr/bin/time runs mongrate");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default().to_string();
    let mut parts = last.split_whitespace();
    let secs: f64 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN);
    let rss: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    assert!(
        matches!(out.status.code(), Some(0) | Some(2)),
        "mongrate {args:?} failed: {stderr}"
    );
    (secs, rss)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let uri =
        std::env::var("MONGODB_URI").expect("set MONGODB_URI (scripts/bench_backfill.sh does)");
    let bin = format!("{}/target/release/mongrate", env!("CARGO_MANIFEST_DIR"));
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    let db = client.database("mongrate_bench");
    let schemas = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(schemas.path().join("mongrate_bench")).unwrap();
    for name in ["tool", "small"] {
        std::fs::write(
            schemas
                .path()
                .join("mongrate_bench")
                .join(format!("{name}.yaml")),
            SCHEMA,
        )
        .unwrap();
    }
    let (floor, tool, small) = (
        db.collection::<Document>("floor"),
        db.collection::<Document>("tool"),
        db.collection::<Document>("small"),
    );
    let t = Instant::now();
    fill(&floor, n).await;
    fill(&tool, n).await;
    fill(&small, n / 10).await;
    println!(
        "generated 2 x {n} + {} documents in {:.1}s",
        n / 10,
        t.elapsed().as_secs_f64()
    );

    // (a) The floor: one updateMany per field.
    let t = Instant::now();
    let mut modified = 0;
    for (filter, update) in [
        (
            doc! { "status": { "$exists": false } },
            doc! { "$set": { "status": "new" } },
        ),
        (
            doc! { "tags": { "$exists": false } },
            doc! { "$set": { "tags": [] } },
        ),
        (
            doc! { "meta.source": { "$exists": false } },
            doc! { "$set": { "meta.source": "web" } },
        ),
    ] {
        modified += floor
            .update_many(filter, update)
            .await
            .unwrap()
            .modified_count;
    }
    let floor_s = t.elapsed().as_secs_f64();
    println!(
        "(a) floor: 3 x updateMany($exists: false)        {floor_s:>8.2}s  ({modified} field writes)"
    );

    // (b) mongrate backfill, same server, same data.
    let batch = std::env::var("BENCH_BATCH").unwrap_or_else(|_| "5000".into());
    let (tool_s, tool_rss) = timed(
        &bin,
        &uri,
        schemas.path(),
        &["backfill", "mongrate_bench.tool", "--batch-size", &batch],
    );
    let (_, small_rss) = timed(
        &bin,
        &uri,
        schemas.path(),
        &["backfill", "mongrate_bench.small", "--batch-size", "5000"],
    );
    println!(
        "(b) mongrate backfill (batch {batch:>5})             {tool_s:>8.2}s  peak RSS {:.1} MiB",
        tool_rss as f64 / 1024.0
    );
    println!(
        "    ratio (b)/(a)                               {:>8.2}",
        tool_s / floor_s
    );
    println!(
        "    peak RSS for {} docs: {:.1} MiB; for {n}: {:.1} MiB",
        n / 10,
        small_rss as f64 / 1024.0,
        tool_rss as f64 / 1024.0
    );
    // Same result in both collections.
    for c in [&floor, &tool] {
        let left = c.count_documents(doc! { "$or": [{ "status": { "$exists": false } }, { "tags": { "$exists": false } }, { "meta.source": { "$exists": false } }] }).await.unwrap();
        assert_eq!(left, 0, "documents still lacking a default");
    }
    // check --data on the backfilled collection (every document examined on the server).
    let (audit_s, audit_rss) = timed(&bin, &uri, schemas.path(), &["check", "--data"]);
    println!(
        "check --data over {} documents                {audit_s:>8.2}s  peak RSS {:.1} MiB",
        n + n / 10,
        audit_rss as f64 / 1024.0
    );
    db.drop().await.unwrap();
}
