//! `mongrate pull`: schema files from what a server holds.

use super::out::{Progress, errln, outln};
use super::{Server, UsageError, exit, print_json};
use crate::cli::{Format, PullArgs};
use crate::db;
use crate::db::sample::Examine;
use crate::model::{Collection, CollectionKind};
use crate::pull::{self, DeclInput, infer};
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::Path;

/// What happened to one collection's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum FileStatus {
    /// New, or overwritten (--force / --merge).
    Written,
    /// The file already says this.
    Unchanged,
    /// The file says something else; left alone (the diff was shown).
    Differs,
    /// Not pulled (e.g. not readable).
    Skipped,
}

#[derive(Debug, Serialize)]
struct FileReport {
    database: String,
    collection: String,
    path: String,
    status: FileStatus,
    /// Documents examined to infer fields (0 when none were).
    examined: u64,
    notes: Vec<String>,
}

/// The header every pulled file starts with.
fn header(file: &Path, root: &Path) -> Vec<String> {
    let schema = super::project::schema_header(crate::cli::SchemaKind::Collection, file, root);
    vec![
        schema.trim_start_matches("# ").to_string(),
        format!(
            "Pulled by mongrate {} from the server; review it (fields with a comment were inferred from the documents).",
            env!("CARGO_PKG_VERSION")
        ),
    ]
}

/// A file name for a collection (its name, unless it holds a character a file name cannot).
fn file_name(collection: &str) -> String {
    let safe: String = collection
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.').to_string();
    format!("{}.yaml", if safe.is_empty() { "_" } else { &safe })
}

pub fn run(global: &super::Settings, args: &PullArgs) -> Result<i32> {
    if !(0.0..=1.0).contains(&args.required_threshold) || args.required_threshold == 0.0 {
        return Err(UsageError(
            "--required-threshold is a share above 0, up to 1 (e.g. 0.95)".into(),
        )
        .into());
    }
    // Targets: databases, with optional collection filters.
    let mut wanted: Vec<(String, Option<String>)> = Vec::new();
    for t in &args.targets {
        match t.split_once('.') {
            Some((d, c)) if !d.is_empty() && !c.is_empty() => {
                wanted.push((d.to_string(), Some(c.to_string())))
            }
            None if !t.is_empty() => wanted.push((t.clone(), None)),
            _ => {
                return Err(UsageError(format!(
                    "`{t}`: expected a database or <database>.<collection>"
                ))
                .into());
            }
        }
    }
    for (d, _) in &wanted {
        if d == &global.state_db || ["admin", "local", "config"].contains(&d.as_str()) {
            return Err(UsageError(format!(
                "`{d}` is not a database of yours to pull (it is MongoDB's or mongrate's own)"
            ))
            .into());
        }
    }
    let json = global.format == Format::Json;
    let mut progress = Progress::new(global.quiet || json);
    let server = Server::connect(global)?;
    let client = server.client();
    let databases: Vec<String> = if wanted.is_empty() {
        server.run(db::inspect::user_databases(
            client,
            std::slice::from_ref(&global.state_db),
        ))?
    } else {
        let mut d: Vec<String> = wanted.iter().map(|(d, _)| d.clone()).collect();
        d.sort();
        d.dedup();
        d
    };
    let options = infer::Options {
        max_depth: args.max_depth,
        required_threshold: args.required_threshold,
        enums: args.enums,
        sampled: !args.full_scan,
        ..Default::default()
    };
    let examine = if args.full_scan {
        Some(Examine::All)
    } else if args.sample > 0 {
        Some(Examine::Sample(args.sample))
    } else {
        None
    };
    let mut reports = Vec::new();
    for name in &databases {
        let schema = server
            .run(db::inspect::inspect(
                client,
                &db::inspect::Scope::Databases(vec![name.clone()]),
            ))
            .with_context(|| format!("reading {name}"))?;
        let Some(database) = schema.databases.get(name) else {
            continue;
        };
        let filter: Vec<&String> = wanted
            .iter()
            .filter(|(d, _)| d == name)
            .filter_map(|(_, c)| c.as_ref())
            .collect();
        for c in database.collections.values() {
            if !filter.is_empty() && !filter.contains(&&c.name) {
                continue;
            }
            let path = global.schemas.join(name).join(file_name(&c.name));
            reports.push(pull_collection(
                global,
                args,
                &server,
                name,
                c,
                &path,
                examine,
                &options,
                &mut progress,
            )?);
        }
        for f in filter {
            if !database.collections.contains_key(f) {
                reports.push(FileReport {
                    database: name.clone(),
                    collection: f.clone(),
                    path: String::new(),
                    status: FileStatus::Skipped,
                    examined: 0,
                    notes: vec!["no such collection on the server".into()],
                });
            }
        }
    }
    let count = |s: FileStatus| reports.iter().filter(|r| r.status == s).count();
    if json {
        print_json(
            "pull",
            &serde_json::json!({
                "databases": databases,
                "files": reports,
                "written": count(FileStatus::Written),
                "unchanged": count(FileStatus::Unchanged),
                "differs": count(FileStatus::Differs),
                "skipped": count(FileStatus::Skipped),
            }),
        );
    } else {
        for r in &reports {
            let what = match r.status {
                FileStatus::Written => "wrote",
                FileStatus::Unchanged => "unchanged",
                FileStatus::Differs => {
                    "differs (left alone; --force to write, --merge to keep hand-written parts)"
                }
                FileStatus::Skipped => "skipped",
            };
            outln!("{:<10} {}.{}  {}", what, r.database, r.collection, r.path);
            for n in &r.notes {
                outln!("           note: {n}");
            }
        }
        outln!(
            "Pulled {}: {} written, {} unchanged, {} differ, {} skipped.",
            crate::progress::count(reports.len() as u64, "collection"),
            count(FileStatus::Written),
            count(FileStatus::Unchanged),
            count(FileStatus::Differs),
            count(FileStatus::Skipped)
        );
        if count(FileStatus::Written) > 0 {
            errln!(
                "Next: review the files, then `mongrate check` (clean right after a pull) and `mongrate migrate generate baseline`."
            );
        }
    }
    Ok(exit::OK)
}

#[allow(clippy::too_many_arguments)]
fn pull_collection(
    global: &super::Settings,
    args: &PullArgs,
    server: &Server,
    db_name: &str,
    c: &Collection,
    path: &Path,
    examine: Option<Examine>,
    options: &infer::Options,
    progress: &mut Progress,
) -> Result<FileReport> {
    let mut report = FileReport {
        database: db_name.to_string(),
        collection: c.name.clone(),
        path: path.display().to_string(),
        status: FileStatus::Skipped,
        examined: 0,
        notes: Vec::new(),
    };
    // Fields from the documents, where no validator says them.
    let mut inferred = None;
    if c.validator.is_none()
        && c.kind != CollectionKind::View
        && let Some(how) = examine
    {
        let mut profile = infer::Profile::new(options.clone());
        match server.run(db::sample::profile(
            server.client(),
            db_name,
            &c.name,
            how,
            &mut profile,
            progress,
        )) {
            Ok(()) => {
                report.examined = profile.documents();
                // A collection smaller than the sample was examined whole.
                if let Examine::Sample(n) = how
                    && profile.documents() < n
                {
                    profile.set_sampled(false);
                }
                if profile.documents() > 0 {
                    inferred = Some(profile.fields());
                }
            }
            Err(e) if db::sample::is_unauthorized(&e) => report
                .notes
                .push("its documents cannot be read by this user: no fields inferred".into()),
            Err(e) => {
                return Err(e.context(format!("reading the documents of {db_name}.{}", c.name)));
            }
        }
    }
    let input = DeclInput {
        inferred,
        with_validators: args.with_validators,
        header: header(path, &global.project_root),
    };
    let mut decl = pull::collection_decl(c, input.clone());
    let mut text = pull::render(&decl);
    // The file must say exactly what the server holds.
    let mut differences = pull::round_trip(db_name, path, &text, c);
    if !differences.is_empty()
        && let Some(v) = &c.validator
        && decl.validator.is_none()
    {
        decl.validator = Some(v.document.clone());
        decl.fields.clear();
        decl.title = None;
        decl.description = None;
        decl.validation.deny_additional = false;
        decl.notes.push(
            "its validator is kept as written (`validator:`): fields did not regenerate it exactly"
                .into(),
        );
        text = pull::render(&decl);
        differences = pull::round_trip(db_name, path, &text, c);
    }
    report.notes.extend(decl.notes.iter().cloned());
    for d in &differences {
        report
            .notes
            .push(format!("not said exactly, `check` will report it: {d}"));
    }
    // Never clobber.
    let existing = std::fs::read_to_string(path).ok();
    if let Some(old) = &existing {
        if args.merge && *old != text {
            match merged(db_name, path, old, &decl) {
                Ok(t) => text = t,
                Err(why) => report.notes.push(format!("not merged: {why}")),
            }
        }
        if *old == text {
            report.status = FileStatus::Unchanged;
            return Ok(report);
        }
        if !(args.force || args.merge) {
            report.status = FileStatus::Differs;
            if global.format != Format::Json {
                let diff = similar::TextDiff::from_lines(old.as_str(), text.as_str())
                    .unified_diff()
                    .context_radius(2)
                    .header(&path.display().to_string(), "pulled")
                    .to_string();
                super::out::stdout(&diff);
            }
            return Ok(report);
        }
    }
    write_file(path, &text)?;
    report.status = FileStatus::Written;
    Ok(report)
}

/// `--merge`: the pulled declaration, keeping the hand-written parts of the old file.
fn merged(
    db_name: &str,
    path: &Path,
    old: &str,
    decl: &pull::CollectionDecl,
) -> Result<String, String> {
    let loaded = crate::spec::check_sources(&[crate::spec::DatabaseSource {
        name: db_name.to_string(),
        database_file: None,
        collection_files: vec![(path.to_path_buf(), old.to_string())],
        unreadable: Vec::new(),
        problems: Vec::new(),
    }]);
    if loaded.has_errors() {
        return Err("the existing file has errors (see `mongrate validate`)".into());
    }
    let Some(spec) = loaded
        .spec
        .databases
        .get(db_name)
        .and_then(|d| d.collections.values().next())
    else {
        return Err("the existing file declares no collection".into());
    };
    let mut old_fields: Vec<(String, pull::FieldDecl)> = spec
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), pull::field_decl_of(v)))
        .collect();
    // In the order the file writes them (the checked spec keeps them by name).
    if let Ok(raw) = crate::yaml::from_str::<crate::yaml::Value>(old) {
        pull::order_as_written(&mut old_fields, raw.get("fields"));
    }
    let mut decl = decl.clone();
    pull::merge(&mut decl.fields, &old_fields);
    if decl.description.is_none() {
        decl.description = spec.description.clone();
    }
    if decl.title.is_none() {
        decl.title = spec.title.clone();
    }
    Ok(pull::render(&decl))
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing `{}`", path.display()))
}
