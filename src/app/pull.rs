//! `pull`: schema files from what a server holds, database by database.

use super::targets::{self, Labels, Mode, Shared, Sink};
use super::{Server, Settings, Ui, UsageError};
use crate::db;
use crate::db::sample::Examine;
use crate::fleet::Outcome;
use crate::model::{Collection, CollectionKind};
use crate::pull::{self, DeclInput, infer};
use crate::views::pull::{FileReport, FileStatus, PullReport};
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Mutex;

/// What `pull` is asked.
#[derive(Debug, Clone, Default)]
pub struct PullRequest {
    /// Databases, or `<database>.<collection>` (none: every database of the server's).
    pub targets: Vec<String>,
    /// Overwrite files that say something else.
    pub force: bool,
    /// Overwrite them, keeping their hand-written parts.
    pub merge: bool,
    /// Write validators as they are on the server.
    pub with_validators: bool,
    /// Documents examined per collection (0: none).
    pub sample: u64,
    /// Examine every document.
    pub full_scan: bool,
    pub max_depth: usize,
    pub required_threshold: f64,
    pub enums: bool,
}

/// `mongrate pull`.
pub fn pull(settings: &Settings, request: &PullRequest, ui: &mut dyn Ui) -> Result<PullReport> {
    if !(0.0..=1.0).contains(&request.required_threshold) || request.required_threshold == 0.0 {
        return Err(UsageError(
            "--required-threshold is a share above 0, up to 1 (e.g. 0.95)".into(),
        )
        .into());
    }
    let wanted = wanted(settings, &request.targets)?;
    let server = Server::connect(settings)?;
    let client = server.client();
    let databases: Vec<String> = if wanted.is_empty() {
        server.run(db::inspect::user_databases(
            client,
            std::slice::from_ref(&settings.state_db),
        ))?
    } else {
        let mut d: Vec<String> = wanted.iter().map(|(d, _)| d.clone()).collect();
        d.sort();
        d.dedup();
        d
    };
    let puller = Puller {
        settings,
        request,
        wanted: &wanted,
        client,
        options: infer::Options {
            max_depth: request.max_depth,
            required_threshold: request.required_threshold,
            enums: request.enums,
            sampled: !request.full_scan,
            ..Default::default()
        },
        files: Mutex::new(Vec::new()),
    };
    let shared = Shared::new(ui.progress());
    let labels = Labels {
        label: "pull",
        noun: "file",
    };
    let done = server.run(targets::each(
        &databases,
        Mode::Together,
        labels,
        &shared,
        |name| {
            let (puller, shared) = (&puller, &shared);
            async move { puller.database(&name, Mode::Together.sink(shared)).await }
        },
    ))?;
    let files = puller.files.into_inner().expect("not poisoned");
    Ok(PullReport::of(done.databases, files))
}

/// The targets: databases, with optional collection filters.
fn wanted(settings: &Settings, targets: &[String]) -> Result<Vec<(String, Option<String>)>> {
    let mut wanted = Vec::new();
    for t in targets {
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
        if d == &settings.state_db || ["admin", "local", "config"].contains(&d.as_str()) {
            return Err(UsageError(format!(
                "`{d}` is not a database of yours to pull (it is MongoDB's or mongrate's own)"
            ))
            .into());
        }
    }
    Ok(wanted)
}

/// One pull run.
struct Puller<'a> {
    settings: &'a Settings,
    request: &'a PullRequest,
    wanted: &'a [(String, Option<String>)],
    client: &'a mongodb::Client,
    options: infer::Options,
    files: Mutex<Vec<FileReport>>,
}

impl Puller<'_> {
    /// Every collection of database `name` (or those named): its file.
    async fn database(&self, name: &str, mut sink: Sink<'_>) -> Result<(Outcome, usize)> {
        let mut schema = db::inspect::inspect(
            self.client,
            &db::inspect::Scope::Databases(vec![name.to_string()]),
        )
        .await
        .with_context(|| format!("reading {name}"))?;
        db::search::read_all(self.client, &mut schema).await?;
        let Some(database) = schema.databases.get(name) else {
            return Ok((Outcome::InSync, 0));
        };
        let filter: Vec<&String> = self
            .wanted
            .iter()
            .filter(|(d, _)| d == name)
            .filter_map(|(_, c)| c.as_ref())
            .collect();
        let mut reports = Vec::new();
        for c in database.collections.values() {
            if !filter.is_empty() && !filter.contains(&&c.name) {
                continue;
            }
            reports.push(self.collection(name, c, &mut sink).await?);
        }
        for f in filter {
            if !database.collections.contains_key(f) {
                reports.push(FileReport {
                    database: name.to_string(),
                    collection: f.clone(),
                    path: String::new(),
                    status: FileStatus::Skipped,
                    examined: 0,
                    notes: vec!["no such collection on the server".into()],
                    diff: None,
                });
            }
        }
        let n = |s: FileStatus| reports.iter().filter(|r| r.status == s).count();
        let outcome = match (n(FileStatus::Written), n(FileStatus::Differs)) {
            (0, 0) => (Outcome::InSync, 0),
            (0, differs) => (Outcome::Drift, differs),
            (written, _) => (Outcome::Changed, written),
        };
        self.files.lock().expect("not poisoned").extend(reports);
        Ok(outcome)
    }

    /// One collection's file: inferred, checked against the server, written unless it would
    /// clobber a file that says something else.
    async fn collection(
        &self,
        db_name: &str,
        c: &Collection,
        sink: &mut Sink<'_>,
    ) -> Result<FileReport> {
        let path = self.settings.schemas.join(db_name).join(file_name(&c.name));
        let mut report = FileReport {
            database: db_name.to_string(),
            collection: c.name.clone(),
            path: path.display().to_string(),
            status: FileStatus::Skipped,
            examined: 0,
            notes: Vec::new(),
            diff: None,
        };
        let inferred = self.inferred(db_name, c, &mut report, sink).await?;
        let input = DeclInput {
            inferred,
            with_validators: self.request.with_validators,
            header: header(&path, &self.settings.project_root),
        };
        let (decl, text, differences) = declaration(db_name, &path, c, input);
        report.notes.extend(decl.notes.iter().cloned());
        for d in &differences {
            report
                .notes
                .push(format!("not said exactly, `check` will report it: {d}"));
        }
        self.settle(&path, db_name, &decl, text, &mut report)?;
        Ok(report)
    }

    /// Fields from the documents, where no validator says them.
    async fn inferred(
        &self,
        db_name: &str,
        c: &Collection,
        report: &mut FileReport,
        sink: &mut Sink<'_>,
    ) -> Result<Option<Vec<(String, pull::FieldDecl)>>> {
        let examine = if self.request.full_scan {
            Examine::All
        } else if self.request.sample > 0 {
            Examine::Sample(self.request.sample)
        } else {
            return Ok(None);
        };
        if c.validator.is_some() || c.kind == CollectionKind::View {
            return Ok(None);
        }
        let mut profile = infer::Profile::new(self.options.clone());
        match db::sample::profile(self.client, db_name, &c.name, examine, &mut profile, sink).await
        {
            Ok(()) => {
                report.examined = profile.documents();
                // A collection smaller than the sample was examined whole.
                if let Examine::Sample(n) = examine
                    && profile.documents() < n
                {
                    profile.set_sampled(false);
                }
                Ok((profile.documents() > 0).then(|| profile.fields()))
            }
            Err(e) if db::sample::is_unauthorized(&e) => {
                report
                    .notes
                    .push("its documents cannot be read by this user: no fields inferred".into());
                Ok(None)
            }
            Err(e) => Err(e.context(format!("reading the documents of {db_name}.{}", c.name))),
        }
    }

    /// Write the file, unless it already says this, or says something else (then the diff is
    /// kept for the report) and neither --force nor --merge was given.
    fn settle(
        &self,
        path: &Path,
        db_name: &str,
        decl: &pull::CollectionDecl,
        mut text: String,
        report: &mut FileReport,
    ) -> Result<()> {
        if let Ok(old) = std::fs::read_to_string(path) {
            if self.request.merge && old != text {
                match merged(db_name, path, &old, decl) {
                    Ok(t) => text = t,
                    Err(why) => report.notes.push(format!("not merged: {why}")),
                }
            }
            if old == text {
                report.status = FileStatus::Unchanged;
                return Ok(());
            }
            if !(self.request.force || self.request.merge) {
                report.status = FileStatus::Differs;
                report.diff = Some(
                    similar::TextDiff::from_lines(old.as_str(), text.as_str())
                        .unified_diff()
                        .context_radius(2)
                        .header(&path.display().to_string(), "pulled")
                        .to_string(),
                );
                return Ok(());
            }
        }
        write_file(path, &text)?;
        report.status = FileStatus::Written;
        Ok(())
    }
}

/// The declaration of a collection, its text, and what the text does not say exactly (the
/// file must say what the server holds: when the fields do not regenerate a validator, the
/// validator is kept as written).
fn declaration(
    db_name: &str,
    path: &Path,
    c: &Collection,
    input: DeclInput,
) -> (pull::CollectionDecl, String, Vec<String>) {
    let mut decl = pull::collection_decl(c, input);
    let mut text = pull::render(&decl);
    let mut differences = pull::round_trip(db_name, path, &text, c);
    if !differences.is_empty()
        && let Some(v) = &c.validator
        && decl.validator.is_none()
    {
        decl.validator = Some(v.document());
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
    (decl, text, differences)
}

/// The header every pulled file starts with.
fn header(file: &Path, root: &Path) -> Vec<String> {
    let schema = super::project::schema_header(super::project::SchemaKind::Collection, file, root);
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
