//! Run: `cargo run --release --manifest-path scripts/yaml_spike/Cargo.toml` (outside CI).
//! Spike: mongrate's YAML reader (yaml-rust2 events + own serde Deserializer) against
//! serde-saphyr, on the repository's schema files and on mistakes and hostile inputs.
use mongrate::spec::raw::CollectionFile;
use std::time::Instant;

fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { files(&p, out) } else if p.extension().is_some_and(|x| x == "yaml") && !p.ends_with("_database.yaml") { out.push(p) }
    }
}

fn main() {
    let mut paths = Vec::new();
    files(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas")), &mut paths);
    files(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/promptforge_live/schemas")), &mut paths);
    let texts: Vec<String> = paths.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    println!("corpus: {} collection files, {} KB", texts.len(), bytes / 1024);
    // Both accept the same files?
    let mut disagree = 0;
    for (p, t) in paths.iter().zip(&texts) {
        let a = mongrate::yaml::from_str::<CollectionFile>(t).is_ok();
        let b = serde_saphyr::from_str::<CollectionFile>(t);
        if a != b.is_ok() { disagree += 1; println!("  disagree on {}: ours ok={a}, saphyr {:?}", p.display(), b.err().map(|e| e.to_string().lines().next().unwrap_or_default().to_string())); }
    }
    println!("files read differently: {disagree}");
    for round in 0..3 {
        let n = 50;
        let t = Instant::now();
        for _ in 0..n { for s in &texts { let _ = mongrate::yaml::from_str::<CollectionFile>(s); } }
        let ours = t.elapsed().as_secs_f64() * 1000.0 / n as f64;
        let t = Instant::now();
        for _ in 0..n { for s in &texts { let _ = serde_saphyr::from_str::<CollectionFile>(s); } }
        let theirs = t.elapsed().as_secs_f64() * 1000.0 / n as f64;
        println!("round {round}: whole corpus: mongrate::yaml {ours:.2} ms, serde-saphyr {theirs:.2} ms");
    }
    let big: String = {
        let mut s = String::from("name: big\nfields:\n");
        for i in 0..20000 { s += &format!("  f{i}: {{ type: string, max_length: {i} }}\n"); }
        s
    };
    let t = Instant::now(); let a = mongrate::yaml::from_str::<CollectionFile>(&big).is_ok(); let ours = t.elapsed();
    let t = Instant::now(); let b = serde_saphyr::from_str::<CollectionFile>(&big).is_ok(); let theirs = t.elapsed();
    println!("20,000 fields ({} KB): mongrate::yaml {ours:?} ok={a}, serde-saphyr {theirs:?} ok={b}", big.len()/1024);
    let cases: Vec<(&str, String)> = vec![
        ("unknown key (typo)", "collection: a\nfields:\n  x: { type: string }\nindexs: []\n".into()),
        ("unknown field key", "collection: a\nfields:\n  x: { type: string, max_lenght: 3 }\n".into()),
        ("wrong type", "collection: a\nfields:\n  x: { type: string, max_length: lots }\n".into()),
        ("duplicate key", "collection: a\nfields:\n  x: { type: string }\n  x: { type: int }\n".into()),
        ("bad indentation", "collection: a\nfields:\n  x:\n type: string\n".into()),
        ("tab", "collection: a\nfields:\n\tx: { type: string }\n".into()),
        ("alias bomb", {
            let mut items = vec!["&a0 [x, x, x, x, x, x, x, x, x, x]".to_string()];
            for i in 1..12 { items.push(format!("&a{i} [{}]", vec![format!("*a{}", i - 1); 10].join(", "))); }
            format!("collection: a\nfields:\n  x:\n    type: string\n    enum: [{}]\n", items.join(", "))
        }),
        ("depth 10,000", format!("collection: a\nfields:\n  x: {{ type: string, enum: {}{} }}\n", "[".repeat(10000), "]".repeat(10000))),
    ];
    for (what, text) in &cases {
        let t = Instant::now();
        let a = mongrate::yaml::from_str::<CollectionFile>(text).err().map(|e| format!("{}:{}: {}", e.line, e.column, e.message));
        let ta = t.elapsed();
        let t = Instant::now();
        let b = std::panic::catch_unwind(|| serde_saphyr::from_str::<CollectionFile>(text).err().map(|e| e.to_string()));
        let tb = t.elapsed();
        println!("\n## {what}\n  mongrate::yaml ({ta:?}): {}\n  serde-saphyr  ({tb:?}): {}", a.unwrap_or("accepted".into()),
            match b { Ok(Some(m)) => m.replace('\n', " | "), Ok(None) => "accepted".into(), Err(_) => "PANIC".into() });
    }
}
