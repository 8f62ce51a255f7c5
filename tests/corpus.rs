//! The hostile-input corpus: broken and malicious spec files, migration files, `mongrate.yaml`
//! files, connection strings and command lines, each run through the real binary.
//!
//! Every case in `tests/corpus/*.yaml` says which files to write (in a fresh folder that is the
//! working directory), the command line, the exit code, and fragments that stderr (or stdout)
//! must contain — for file problems, the `file:line:column`. Every case also asserts that
//! nothing panicked and that no secret it names appears in any output.
//! Cases that need no server run without one; none of these commands reaches a server.

mod support;

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// Relative path → content.
    #[serde(default)]
    files: BTreeMap<String, String>,
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    exit: i32,
    /// Fragments stderr must contain (`{dir}` is the case's folder).
    #[serde(default)]
    stderr: Vec<String>,
    /// Fragments stdout must contain.
    #[serde(default)]
    stdout: Vec<String>,
    /// Text that must appear in no output (a password, a token).
    #[serde(default)]
    secrets: Vec<String>,
}

fn cases() -> Vec<(String, Case)> {
    let dir = support::repo().join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/corpus")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let cases: Vec<Case> =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let group = f.file_stem().unwrap().to_string_lossy().to_string();
        out.extend(cases.into_iter().map(|c| (group.clone(), c)));
    }
    out
}

#[test]
fn every_hostile_input_is_refused_precisely_without_a_panic_or_a_secret() {
    let cases = cases();
    assert!(cases.len() >= 100, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for (group, case) in &cases {
        let tmp = tempfile::tempdir().unwrap();
        for (path, content) in &case.files {
            let p = tmp.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, content).unwrap();
        }
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("mongrate"));
        cmd.current_dir(tmp.path())
            .args(&case.args)
            .env_remove("MONGODB_URI")
            .env_remove("MONGRATE_ENV")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null());
        for (k, v) in &case.env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let dir = tmp.path().display().to_string();
        let mut problems = Vec::new();
        if out.status.code() != Some(case.exit) {
            problems.push(format!(
                "exit {:?}, expected {}",
                out.status.code(),
                case.exit
            ));
        }
        for want in &case.stderr {
            let want = want.replace("{dir}", &dir);
            if !stderr.contains(&want) {
                problems.push(format!("stderr lacks {want:?}"));
            }
        }
        for want in &case.stdout {
            if !stdout.contains(want.as_str()) {
                problems.push(format!("stdout lacks {want:?}"));
            }
        }
        for text in [&stdout, &stderr] {
            if text.contains("panicked") || text.contains("internal error") {
                problems.push("a panic".into());
            }
            if text.contains("struct ") || text.contains("enum ") && text.contains("expected enum")
            {
                problems.push("a Rust type name in a message".into());
            }
            for s in &case.secrets {
                if text.contains(s.as_str()) {
                    problems.push(format!("the secret {s:?} was printed"));
                }
            }
            if text.lines().any(|l| l.chars().count() > 2000) {
                problems.push("a line over 2000 characters".into());
            }
            if text.contains('\0') {
                problems.push("a raw NUL byte printed".into());
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "[{group}] {}: {}\n  stdout: {}\n  stderr: {}",
                case.name,
                problems.join("; "),
                stdout.trim(),
                stderr.trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
