//! Benchmark: `mongrate pull` of one large collection against the floor of a client-side scan.
//!
//! Generates N documents (default 1,000,000) with mixed types, nulls, missing fields, nested
//! objects, arrays of objects and a map with dynamic keys. Then, on the same server in the same
//! run, each as a separate process under `/usr/bin/time` (wall time and peak RSS):
//!   (a) the floor: a plain driver `find()` streaming every document (this binary, `--floor`);
//!   (a') the same `find()` reading raw BSON, the fastest a client can (`--floor-raw`);
//!   (b) `mongrate pull --full-scan` (release binary);
//!   (c) `mongrate pull` with the default `$sample` of 1,000;
//!   (d) `mongrate pull --full-scan` of a collection N/10 large, to show memory stays flat.
//!
//! Run: `scripts/bench_pull.sh [N]` (needs MONGODB_URI or starts a local mongod). With
//! `BENCH_KEEP=1` the generated collections are kept, and the next run reuses them.

use bson::{Bson, DateTime, Document, doc};
use futures_util::TryStreamExt;
use std::process::Command;
use std::time::Instant;

const DB: &str = "mongrate_bench_pull";

fn document(k: usize) -> Document {
    let mut d = doc! { "n": k as i64, "email": format!("user{k}@example.com") };
    // A field of mixed types: string 80%, int 15%, null 5%.
    d.insert(
        "code",
        match k % 20 {
            0 => Bson::Null,
            1..=3 => Bson::Int32(k as i32),
            _ => Bson::String(format!("c{}", k % 97)),
        },
    );
    // Optional (70%), low-cardinality.
    if k % 10 < 7 {
        d.insert("status", ["new", "active", "closed"][k % 3]);
    }
    d.insert(
        "profile",
        doc! {
            "name": format!("Name {k}"),
            "age": (k % 90) as i32,
            "address": { "city": (["Oslo", "Lima", "Pune", "Kobe"][k % 4]), "zip": format!("{:05}", k % 99_999) },
        },
    );
    d.insert(
        "items",
        (0..(k % 4))
            .map(|i| {
                Bson::Document(
                    doc! { "sku": format!("s{i}"), "qty": (i + 1) as i32, "price": 9.5 * i as f64 },
                )
            })
            .collect::<Vec<_>>(),
    );
    // A map whose keys are data (dates).
    let mut daily = Document::new();
    for day in 0..(k % 5) {
        daily.insert(
            format!("2026-01-{:02}", (k + day) % 28 + 1),
            (k % 13) as i32,
        );
    }
    d.insert("daily", daily);
    d.insert(
        "created_at",
        DateTime::from_millis(1_700_000_000_000 + k as i64),
    );
    d
}

async fn fill(coll: &mongodb::Collection<Document>, n: usize) {
    // Kept from a run with BENCH_KEEP=1: the same documents, not generated again.
    if coll.estimated_document_count().await.unwrap() == n as u64 {
        return;
    }
    coll.drop().await.unwrap();
    let mut i = 0;
    while i < n {
        let batch: Vec<Document> = (i..(i + 10_000).min(n)).map(document).collect();
        i += batch.len();
        coll.insert_many(batch).await.unwrap();
    }
}

/// Run a program under /usr/bin/time: (seconds, peak RSS in KiB, stdout).
fn timed(program: &str, args: &[&str]) -> (f64, u64, String) {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%e %M", program])
        .args(args)
        .output()
        .expect("/usr/bin/time runs the program");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{program} {args:?} failed: {stderr}");
    let last = stderr.lines().last().unwrap_or_default().to_string();
    let mut parts = last.split_whitespace();
    let secs: f64 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN);
    let rss: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (secs, rss, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The floor: stream every document of `DB.coll` with a plain `find()`, touching each; `raw`:
/// as the server's bytes (`RawDocumentBuf`), the fastest a client can read them.
async fn floor(uri: &str, coll: &str, raw: bool) {
    let client = mongodb::Client::with_uri_str(uri).await.unwrap();
    let (n, keys) = if raw {
        stream(&client, coll, |d: &bson::RawDocumentBuf| d.iter().count()).await
    } else {
        stream(&client, coll, |d: &Document| d.len()).await
    };
    println!("{n} {keys}");
}

/// Documents read and keys touched.
async fn stream<T>(client: &mongodb::Client, coll: &str, keys: impl Fn(&T) -> usize) -> (u64, u64)
where
    T: serde::de::DeserializeOwned + Send + Sync + Unpin,
{
    let mut cursor = client
        .database(DB)
        .collection::<T>(coll)
        .find(doc! {})
        .batch_size(1000)
        .await
        .unwrap();
    let (mut n, mut k) = (0u64, 0u64);
    while let Some(d) = cursor.try_next().await.unwrap() {
        n += 1;
        k += keys(&d) as u64;
    }
    (n, k)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let uri = std::env::var("MONGODB_URI").expect("set MONGODB_URI (scripts/bench_pull.sh does)");
    if let Some(i) = args.iter().position(|a| a == "--floor") {
        floor(&uri, &args[i + 1], false).await;
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--floor-raw") {
        floor(&uri, &args[i + 1], true).await;
        return;
    }
    let n: usize = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let bin = format!("{}/target/release/mongrate", env!("CARGO_MANIFEST_DIR"));
    let me = std::env::current_exe().unwrap();
    let me = me.to_str().unwrap();
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    let db = client.database(DB);
    let t = Instant::now();
    fill(&db.collection("big"), n).await;
    fill(&db.collection("small"), n / 10).await;
    println!(
        "generated {n} + {} documents in {:.1}s",
        n / 10,
        t.elapsed().as_secs_f64()
    );
    let pull = |coll: &str, extra: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let target = format!("{DB}.{coll}");
        let mut args = vec![
            "pull",
            "--quiet",
            "--uri",
            &uri,
            "--schemas",
            dir.path().to_str().unwrap(),
            &target,
        ];
        args.extend_from_slice(extra);
        let (secs, rss, _) = timed(&bin, &args);
        let file = std::fs::read_to_string(dir.path().join(DB).join(format!("{coll}.yaml")))
            .expect("pull wrote the file");
        (secs, rss, file)
    };

    // Warm the cache once so that neither side pays for the first read from disk.
    timed(me, &["--floor", "big"]);
    let (floor_s, floor_rss, out) = timed(me, &["--floor", "big"]);
    println!(
        "(a) floor: driver find() streaming {n} docs      {floor_s:>8.2}s  peak RSS {:>6.1} MiB  ({})",
        mib(floor_rss),
        out.trim()
    );
    let (raw_s, raw_rss, out) = timed(me, &["--floor-raw", "big"]);
    println!(
        "(a') floor: the same find() as raw BSON             {raw_s:>8.2}s  peak RSS {:>6.1} MiB  ({})",
        mib(raw_rss),
        out.trim()
    );
    let (full_s, full_rss, file) = pull("big", &["--full-scan"]);
    println!(
        "(b) mongrate pull --full-scan                     {full_s:>8.2}s  peak RSS {:>6.1} MiB",
        mib(full_rss)
    );
    println!(
        "    ratio (b)/(a)                                {:>8.2}     (b)/(a') {:.2}",
        full_s / floor_s,
        full_s / raw_s
    );
    let (sample_s, sample_rss, sampled) = pull("big", &[]);
    println!(
        "(c) mongrate pull (--sample 1000)                 {sample_s:>8.2}s  peak RSS {:>6.1} MiB",
        mib(sample_rss)
    );
    let (small_s, small_rss, _) = pull("small", &["--full-scan"]);
    println!(
        "(d) mongrate pull --full-scan, {} docs         {small_s:>8.2}s  peak RSS {:>6.1} MiB",
        n / 10,
        mib(small_rss)
    );
    // What the two pulls said about the mixed field and the map, side by side.
    for (label, text) in [("full scan", &file), ("sample", &sampled)] {
        for key in ["code:", "daily:"] {
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with(key))
                .unwrap_or_default();
            println!("    {label:>9}: {}", line.trim());
        }
    }
    if std::env::var_os("BENCH_KEEP").is_none() {
        db.drop().await.unwrap();
    }
}
