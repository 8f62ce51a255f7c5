//! mongrate keeps MongoDB databases in line with schemas declared in YAML.
//!
//! Architecture (ARCHITECTURE.md has the whole map, the invariants and where things go):
//!
//! ```text
//! schemas/*.yaml ─spec─▶ checked spec ─spec::to_model─▶ model::Schema ─┐
//!                                                                      ├─normalize─▶ diff ─▶ plan ─▶ render
//! server ─db::inspect─▶ model::Schema ─────────────────────────────────┘                │
//!                                                        db::apply / db::execute ◀──────┘
//! migrations/*.yaml ─migrate─▶ ops::Operation lists ─▶ migrate::runner (changelog + lease lock)
//! ```
//!
//! Pure core (no I/O, no printing): [`yaml`] (the reader of every file), [`spec`] (checks with
//! file:line:column, and `spec::jsonschema`, the validator a spec generates), [`names`],
//! [`model`], [`catalog`] (server documents decoded into the model), [`normalize`], [`diff`],
//! [`plan`], [`preflight`] (will each step run for this user and server), [`ops`], [`render`], [`backfill`] and [`audit`] (the expressions of backfill and
//! `check --data`), [`migrate`] (files, checks, checksums, the changelog's records, the run plan,
//! replay, the runner over a `Backend` trait), [`resilience`] (elections and index builds, as
//! decisions), [`rules`] (the lint rules' table), [`redact`], [`progress`]. [`extjson`]
//! converts Extended JSON.
//!
//! I/O: [`db`] is the only code that talks to the driver (connect, inspect, execute, safety
//! checks, backfill batches, audits, fenced changelog and lease lock, migrations, rollout,
//! seed). [`cli`] and [`commands`] parse arguments and are the only code that prints.

pub mod app;
pub mod audit;
pub mod backfill;
pub mod canary;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod db;
pub mod diff;
pub mod doctor;
pub mod evolve;
pub mod extjson;
pub mod fleet;
pub mod job;

pub mod lint;
pub mod migrate;
pub mod model;
pub mod names;
pub mod normalize;
pub mod ops;
pub mod plan;
pub mod preflight;
pub mod progress;
pub mod pull;
pub mod redact;
pub mod render;
pub mod resilience;
pub mod rules;
pub mod shard;
pub mod spec;
pub mod views;
pub mod yaml;

/// The rules of the module layout, checked on the source: the core never touches the driver,
/// and no module depends on itself through others.
#[cfg(test)]
mod architecture {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// The `.rs` files under `dir`, at any depth.
    fn rs_files(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
        }
        files
    }

    /// Every module of `src/` (`db` and `commands` by file, the rest by top-level module) and
    /// the modules it refers to, tests left out.
    fn graph() -> BTreeMap<String, BTreeSet<String>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let files = rs_files(&root);
        let node = |parts: &[&str]| -> String {
            match parts {
                [top @ ("db" | "commands"), sub, ..] => format!("{top}::{sub}"),
                [top, ..] => top.to_string(),
                [] => String::new(),
            }
        };
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in files {
            let rel = f.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<&str> = rel.iter().map(|p| p.to_str().unwrap()).collect();
            if parts.last() == Some(&"mod") {
                parts.pop();
            }
            if parts == ["lib"] || parts == ["main"] {
                continue;
            }
            let me = node(&parts);
            let text = std::fs::read_to_string(&f).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let deps = graph.entry(me.clone()).or_default();
            let words: Vec<&str> = code
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .collect();
            for w in words {
                let target = if let Some(rest) = w.strip_prefix("crate::") {
                    let path: Vec<&str> = rest.split("::").collect();
                    node(&path)
                } else if let Some(rest) = w.strip_prefix("super::")
                    && matches!(parts.as_slice(), ["db" | "commands", _])
                {
                    let sub = rest.split("::").next().unwrap_or_default();
                    if root.join(parts[0]).join(format!("{sub}.rs")).exists() {
                        format!("{}::{sub}", parts[0])
                    } else {
                        continue;
                    }
                } else {
                    continue;
                };
                if !target.is_empty() && target != me {
                    deps.insert(target);
                }
            }
        }
        graph
    }

    /// Only the application layer (`app`) and `db` itself touch the driver: not the core,
    /// not the views, not the commands (which call a use case and print its report).
    #[test]
    fn only_the_application_layer_touches_the_driver() {
        let graph = graph();
        let offenders: Vec<(&String, &BTreeSet<String>)> = graph
            .iter()
            .filter(|(m, _)| !m.starts_with("db") && *m != "app")
            .filter(|(_, deps)| deps.iter().any(|d| d == "db" || d.starts_with("db::")))
            .collect();
        assert!(offenders.is_empty(), "modules importing db: {offenders:?}");
    }

    /// The layers point one way: cli → commands → app → core and db. Nothing below the
    /// commands knows them, and the core knows neither the application layer nor its views'
    /// printing (`views` is data the core may build; `commands` print it).
    #[test]
    fn the_layers_point_one_way() {
        let graph = graph();
        let mut offenders = Vec::new();
        for (m, deps) in &graph {
            let upper: &[&str] = if m.starts_with("commands") || m == "cli" {
                &[]
            } else if m == "app" {
                &["commands", "cli"]
            } else {
                &["commands", "cli", "app"]
            };
            for d in deps {
                let top = d.split("::").next().unwrap_or_default();
                if upper.contains(&top) {
                    offenders.push(format!("{m} -> {d}"));
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "imports against the layers: {offenders:#?}"
        );
    }

    #[test]
    fn command_functions_are_short() {
        let long = longer_than("src/commands", 60);
        assert!(
            long.is_empty(),
            "functions over 60 lines in commands/: {long:#?}"
        );
    }

    /// The choice between JSON and text is made in one place, the emitter.
    #[test]
    fn only_the_emitter_chooses_json_or_text() {
        let mut offenders = Vec::new();
        for f in rs_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")) {
            if f.ends_with("commands/emit.rs") || f.ends_with("cli.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (i, line) in code.lines().enumerate() {
                if line.contains("Format::Json")
                    || line.contains("Format::Text")
                    || line.contains("if json")
                {
                    offenders.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "JSON or text chosen outside the emitter: {offenders:#?}"
        );
    }

    /// The functions of the `.rs` files under `dir` (tests left out) longer than `limit`
    /// lines, from their `fn` line to their closing brace.
    fn longer_than(dir: &str, limit: usize) -> Vec<String> {
        let files = rs_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir));
        let mut long = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let lines: Vec<&str> = code.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let t = line.trim_start();
                let t = t
                    .strip_prefix("pub(crate) ")
                    .or(t.strip_prefix("pub(super) "));
                let t = t
                    .or(line.trim_start().strip_prefix("pub "))
                    .unwrap_or(line.trim_start());
                let t = t.strip_prefix("async ").unwrap_or(t);
                let Some(name) = t.strip_prefix("fn ") else {
                    continue;
                };
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let (mut depth, mut started) = (0i32, false);
                for (j, l) in lines.iter().enumerate().skip(i) {
                    depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                    started |= l.contains('{');
                    if !started && l.trim_end().ends_with(';') {
                        break;
                    }
                    if started && depth <= 0 {
                        if j - i + 1 > limit {
                            long.push(format!("{}: {name} ({} lines)", f.display(), j - i + 1));
                        }
                        break;
                    }
                }
            }
        }
        long
    }

    #[test]
    fn spec_functions_are_short() {
        let long = longer_than("src/spec", 80);
        assert!(
            long.is_empty(),
            "functions over 80 lines in spec/: {long:#?}"
        );
    }

    #[test]
    fn no_module_depends_on_itself_through_others() {
        let graph = graph();
        // A depth-first search for a path back to where it started.
        fn back(
            graph: &BTreeMap<String, BTreeSet<String>>,
            start: &str,
            at: &str,
            seen: &mut BTreeSet<String>,
            path: &mut Vec<String>,
        ) -> bool {
            for next in graph.get(at).into_iter().flatten() {
                if next == start {
                    return true;
                }
                if seen.insert(next.clone()) {
                    path.push(next.clone());
                    if back(graph, start, next, seen, path) {
                        return true;
                    }
                    path.pop();
                }
            }
            false
        }
        for m in graph.keys() {
            let mut path = vec![m.clone()];
            assert!(
                !back(&graph, m, m, &mut BTreeSet::new(), &mut path),
                "an import cycle: {} -> {m}",
                path.join(" -> ")
            );
        }
    }
}
