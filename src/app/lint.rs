//! `lint`: classify the changes between two versions of the schemas (two folders, or a git
//! revision and the working tree), for review in CI; with a server, count what each concerns.

use super::{Server, Settings, UsageError, load, targets};
use crate::lint::{self, Finding, RULES, Severity};
use crate::views::lint::{LintReport, Rule, RulesReport};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What `lint` compares.
#[derive(Debug, Clone)]
pub struct LintRequest {
    /// The old schemas folder (else `base`).
    pub old: Option<PathBuf>,
    /// The new schemas folder (default: the project's schemas).
    pub new: Option<PathBuf>,
    /// A git revision of the project's schemas to compare the working tree with.
    pub base: Option<String>,
    pub fail_on: Severity,
    /// Count on the server what each finding concerns.
    pub server: bool,
}

/// `mongrate lint --rules`.
pub fn rules() -> RulesReport {
    RulesReport {
        rules: RULES
            .iter()
            .map(|(rule, severity, advice)| Rule {
                rule,
                severity: *severity,
                advice,
            })
            .collect(),
    }
}

/// `mongrate lint`.
pub fn lint(settings: &Settings, request: &LintRequest) -> Result<LintReport> {
    let tmp;
    let (old_dir, new_dir, old_label): (PathBuf, PathBuf, String) = match (
        &request.old,
        &request.base,
    ) {
        (Some(old), _) => {
            let new = request
                .new
                .clone()
                .unwrap_or_else(|| settings.schemas.clone());
            (old.clone(), new, old.display().to_string())
        }
        (None, Some(rev)) => {
            tmp = tempfile::tempdir()?;
            checkout_at(&settings.schemas, rev, tmp.path())?;
            (
                tmp.path().to_path_buf(),
                settings.schemas.clone(),
                format!("{}@{rev}", settings.schemas.display()),
            )
        }
        (None, None) => {
            return Err(UsageError(
                    "give the schemas to compare: OLD_SCHEMAS [NEW_SCHEMAS], or --base REV (a git revision)".into(),
                )
                .into());
        }
    };
    let old = load::valid_spec(&old_dir, &settings.state_db)
        .context("reading the old schemas")?
        .spec;
    let new = load::valid_spec(&new_dir, &settings.state_db)
        .context("reading the new schemas")?
        .spec;
    let mut findings = lint::lint(&old, &new);
    place(&mut findings, &old_dir, &settings.schemas);
    if request.server || settings.uri_arg.is_some() {
        inform(settings, &old, &new, &mut findings)?;
        lint::escalate(&mut findings);
    }
    findings.sort_by(|a, b| {
        (b.severity, &a.database, &a.collection, a.line).cmp(&(
            a.severity,
            &b.database,
            &b.collection,
            b.line,
        ))
    });
    Ok(LintReport {
        old: old_label,
        new: new_dir.display().to_string(),
        fail_on: request.fail_on,
        failing: lint::failing(&findings, request.fail_on),
        findings,
    })
}

/// Each finding's place in its file (the new file; the old one for a removal, shown at the
/// path it had).
fn place(findings: &mut [Finding], old_dir: &Path, schemas: &Path) {
    for f in findings {
        let real = if f.file.starts_with(old_dir) {
            let rel = f.file.strip_prefix(old_dir).unwrap_or(&f.file);
            let shown = schemas.join(rel);
            let text = std::fs::read_to_string(&f.file).unwrap_or_default();
            f.file = shown;
            text
        } else {
            std::fs::read_to_string(&f.file).unwrap_or_default()
        };
        let index = crate::spec::pos::PosIndex::build_for(&real, [f.yaml_path.as_slice()]);
        f.line = index.key(&f.yaml_path).line;
    }
}

/// Count on the server what each finding concerns; a template's findings in every database
/// on the server it covers.
fn inform(
    settings: &Settings,
    old: &crate::spec::SchemaSpec,
    new: &crate::spec::SchemaSpec,
    findings: &mut [Finding],
) -> Result<()> {
    let server = Server::connect(settings)?;
    let mut templates: Vec<String> = findings
        .iter()
        .map(|f| f.database.clone())
        .filter(|d| crate::fleet::is_template(d))
        .collect();
    templates.sort();
    templates.dedup();
    let mut covered_by = BTreeMap::new();
    if !templates.is_empty() {
        let selection = targets::selection(settings)?;
        let on_server = server.run(crate::db::inspect::server_databases(
            server.client(),
            &settings.state_db,
        ))?;
        for t in templates {
            let spec = if new.databases.contains_key(&t) {
                new
            } else {
                old
            };
            let expanded =
                crate::fleet::expand(spec, &on_server, selection.as_ref(), &settings.state_db)
                    .map_err(UsageError)?;
            let covered: Vec<String> = expanded
                .databases
                .keys()
                .filter(|n| crate::fleet::matches(&t, n) && !spec.databases.contains_key(*n))
                .cloned()
                .collect();
            covered_by.insert(t, covered);
        }
    }
    server.run(crate::db::lint::inform(
        server.client(),
        &settings.state_db,
        old,
        new,
        findings,
        &covered_by,
    ))
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
