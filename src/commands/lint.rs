//! `mongrate lint`: classify the changes between two versions of the schemas (two folders, or
//! a git revision and the working tree), for review in CI.

use super::out::{errln, stdout};
use super::{UsageError, exit, load_valid_spec, print_json};
use crate::cli::{Format, LintArgs};
use crate::lint::{self, Finding, RULES, Severity};
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Serialize)]
struct LintJson<'a> {
    /// What was compared.
    old: String,
    new: String,
    fail_on: Severity,
    findings: &'a [Finding],
    /// Unacknowledged findings at or above `fail_on` (exit 2 when > 0).
    failing: usize,
}

#[derive(Serialize)]
struct RuleJson {
    rule: &'static str,
    severity: Severity,
    advice: &'static str,
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("running git (is it installed?)")?;
    if !out.status.success() {
        return Err(UsageError(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
        .into());
    }
    Ok(out.stdout)
}

/// The schemas folder `dir` as it is at revision `rev`, written into `into`.
fn checkout_at(dir: &Path, rev: &str, into: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(UsageError(format!("`{}` is not a folder", dir.display())).into());
    }
    let known = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(true);
    if !known {
        let shallow = git(dir, &["rev-parse", "--is-shallow-repository"])
            .map(|o| String::from_utf8_lossy(&o).trim() == "true")
            .unwrap_or(false);
        return Err(UsageError(format!(
            "--base {rev}: git knows no revision `{rev}` here{}",
            if shallow {
                ". This clone is shallow (CI checkouts often are: GitHub's actions/checkout fetches one commit): fetch the history first — `fetch-depth: 0` in actions/checkout, or `git fetch origin <branch>`"
            } else {
                ": check the name (a branch, a tag, `origin/main`), or fetch it first (`git fetch origin <branch>`)"
            }
        ))
        .into());
    }
    let listing = git(dir, &["ls-tree", "-r", "--name-only", rev, "--", "."])?;
    for name in String::from_utf8_lossy(&listing).lines() {
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        let text = git(dir, &["show", &format!("{rev}:./{name}")])?;
        let to = into.join(name);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&to, text)?;
    }
    Ok(())
}

pub fn run(global: &super::Settings, args: &LintArgs) -> Result<i32> {
    if args.rules {
        let rules: Vec<RuleJson> = RULES
            .iter()
            .map(|(rule, severity, advice)| RuleJson {
                rule,
                severity: *severity,
                advice,
            })
            .collect();
        if global.format == Format::Json {
            print_json("lint", &serde_json::json!({ "rules": rules }));
        } else {
            let mut text = String::new();
            for r in &rules {
                text.push_str(&format!(
                    "{:<28} {:<9} {}\n",
                    r.rule,
                    r.severity.as_str(),
                    r.advice
                ));
            }
            stdout(&text);
        }
        return Ok(exit::OK);
    }
    let tmp;
    let (old_dir, new_dir, old_label): (PathBuf, PathBuf, String) = match (&args.old, &args.base) {
        (Some(old), _) => {
            let new = args.new.clone().unwrap_or_else(|| global.schemas.clone());
            (old.clone(), new, old.display().to_string())
        }
        (None, Some(rev)) => {
            tmp = tempfile::tempdir()?;
            checkout_at(&global.schemas, rev, tmp.path())?;
            (
                tmp.path().to_path_buf(),
                global.schemas.clone(),
                format!("{}@{rev}", global.schemas.display()),
            )
        }
        (None, None) => {
            return Err(UsageError(
                "give the schemas to compare: OLD_SCHEMAS [NEW_SCHEMAS], or --base REV (a git revision)".into(),
            )
            .into());
        }
    };
    let old = load_valid_spec(&old_dir, &global.state_db)
        .context("reading the old schemas")?
        .spec;
    let new = load_valid_spec(&new_dir, &global.state_db)
        .context("reading the new schemas")?
        .spec;
    let mut findings = lint::lint(&old, &new);
    // Lines: each finding's place in its file (the new file; the old one for a removal, shown
    // at the path it had).
    for f in &mut findings {
        let real = if f.file.starts_with(&old_dir) {
            let rel = f.file.strip_prefix(&old_dir).unwrap_or(&f.file);
            let shown = global.schemas.join(rel);
            let text = std::fs::read_to_string(&f.file).unwrap_or_default();
            f.file = shown;
            text
        } else {
            std::fs::read_to_string(&f.file).unwrap_or_default()
        };
        let index = crate::spec::pos::PosIndex::build_for(&real, [f.yaml_path.as_slice()]);
        f.line = index.key(&f.yaml_path).line;
    }
    if args.server || global.uri_arg.is_some() {
        let server = super::Server::connect(global)?;
        // A template's findings are counted in every database on the server it covers.
        let mut templates: Vec<String> = findings
            .iter()
            .map(|f| f.database.clone())
            .filter(|d| crate::fleet::is_template(d))
            .collect();
        templates.sort();
        templates.dedup();
        let mut targets = std::collections::BTreeMap::new();
        if !templates.is_empty() {
            let selection = super::fleet::selection(global)?;
            let on_server = server.run(crate::db::inspect::server_databases(
                server.client(),
                &global.state_db,
            ))?;
            for t in templates {
                let spec = if new.databases.contains_key(&t) {
                    &new
                } else {
                    &old
                };
                let expanded =
                    crate::fleet::expand(spec, &on_server, selection.as_ref(), &global.state_db)
                        .map_err(UsageError)?;
                let covered: Vec<String> = expanded
                    .databases
                    .keys()
                    .filter(|n| crate::fleet::matches(&t, n) && !spec.databases.contains_key(*n))
                    .cloned()
                    .collect();
                targets.insert(t, covered);
            }
        }
        server.run(crate::db::lint::inform(
            server.client(),
            &global.state_db,
            &old,
            &new,
            &mut findings,
            &targets,
        ))?;
    }
    findings.sort_by(|a, b| {
        (b.severity, &a.database, &a.collection, a.line).cmp(&(
            a.severity,
            &b.database,
            &b.collection,
            b.line,
        ))
    });
    let failing = lint::failing(&findings, args.fail_on);
    match global.format {
        Format::Json => print_json(
            "lint",
            &LintJson {
                old: old_label,
                new: new_dir.display().to_string(),
                fail_on: args.fail_on,
                findings: &findings,
                failing,
            },
        ),
        Format::Github => {
            let mut text = String::new();
            for f in findings.iter().filter(|f| f.severity > Severity::Safe) {
                let level = match (f.severity, &f.allowed) {
                    (_, Some(_)) => "notice",
                    (Severity::Breaking, None) => "error",
                    _ => "warning",
                };
                text.push_str(&format!(
                    "::{level} file={},line={},title={} ({})::{}{}{} — {}\n",
                    escape_property(&f.file.display().to_string()),
                    f.line.max(1),
                    escape_property(f.rule),
                    f.severity.as_str(),
                    escape_data(&f.message),
                    f.evidence
                        .as_ref()
                        .map(|e| escape_data(&format!("; {e}")))
                        .unwrap_or_default(),
                    f.allowed
                        .as_ref()
                        .map(|r| escape_data(&format!(" (acknowledged: {r})")))
                        .unwrap_or_default(),
                    escape_data(f.advice)
                ));
            }
            stdout(&text);
        }
        Format::Text => {
            let mut text = String::new();
            for f in &findings {
                text.push_str(&format!(
                    "{}:{}: {} {}: {}{}\n",
                    f.file.display(),
                    f.line,
                    f.severity.as_str(),
                    f.rule,
                    f.message,
                    f.allowed
                        .as_ref()
                        .map(|r| format!(" (acknowledged: {r})"))
                        .unwrap_or_default()
                ));
                if let Some(e) = &f.evidence {
                    text.push_str(&format!("    data: {e}\n"));
                }
                if f.severity > Severity::Safe && f.allowed.is_none() {
                    text.push_str(&format!("    {}\n", f.advice));
                }
            }
            let count = |s| findings.iter().filter(|f| f.severity == s).count();
            text.push_str(&format!(
                "{}: {} breaking, {} risky, {} safe; {failing} at or above {} not acknowledged.\n",
                crate::progress::count(findings.len() as u64, "change"),
                count(Severity::Breaking),
                count(Severity::Risky),
                count(Severity::Safe),
                args.fail_on.as_str()
            ));
            stdout(&text);
        }
    }
    if failing > 0 && global.format != Format::Json && global.quiet {
        errln!(
            "{} at or above {}",
            crate::progress::count(failing as u64, "change"),
            args.fail_on.as_str()
        );
    }
    Ok(if failing > 0 {
        exit::DIFFERENCES
    } else {
        exit::OK
    })
}

/// GitHub workflow command escaping: the message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub workflow command escaping: a property (file, title).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
