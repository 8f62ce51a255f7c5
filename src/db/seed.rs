//! `mongrate seed DIR`: load `DIR/<database>/<collection>.json` arrays into the server.

use crate::extjson;
pub use crate::views::project::SeedReport;
use anyhow::{Context, Result, bail};
use bson::Document;
use mongodb::Client;
use std::path::{Path, PathBuf};

/// One file to load.
#[derive(Debug)]
pub struct SeedFile {
    pub database: String,
    pub collection: String,
    pub path: PathBuf,
    pub documents: Vec<Document>,
}

/// Read every seed file under `dir` (fails on the first unreadable or malformed file, naming it).
pub fn read_seed_dir(dir: &Path) -> Result<Vec<SeedFile>> {
    if !dir.is_dir() {
        bail!("seed folder `{}` does not exist", dir.display());
    }
    let mut out = Vec::new();
    let mut dbs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read `{}`", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dbs.sort();
    for db in dbs {
        let database = db
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&db)
            .with_context(|| format!("cannot read `{}`", db.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            let documents = extjson::parse_documents(&text).with_context(|| {
                format!(
                    "`{}` is not an array of Extended JSON documents",
                    path.display()
                )
            })?;
            let collection = path
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            out.push(SeedFile {
                database: database.clone(),
                collection,
                path,
                documents,
            });
        }
    }
    if out.is_empty() {
        bail!(
            "no `<database>/<collection>.json` files under `{}`",
            dir.display()
        );
    }
    Ok(out)
}

/// Insert every file's documents; with `drop`, drop each target collection first.
/// Documents are inserted unordered; a document the server refuses stops the run with its error.
pub async fn seed(client: &Client, files: &[SeedFile], drop: bool) -> Result<Vec<SeedReport>> {
    let mut reports = Vec::new();
    for file in files {
        let coll = client
            .database(&file.database)
            .collection::<Document>(&file.collection);
        if drop {
            coll.drop()
                .await
                .map_err(|e| anyhow::anyhow!(super::describe_driver_error(&e)))
                .with_context(|| format!("dropping {}.{}", file.database, file.collection))?;
        }
        let mut inserted = 0;
        if !file.documents.is_empty() {
            let result = coll
                .insert_many(file.documents.clone())
                .await
                .map_err(|e| anyhow::anyhow!(super::describe_driver_error(&e)))
                .with_context(|| {
                    format!(
                        "loading `{}` into {}.{} (use --drop to replace existing documents)",
                        file.path.display(),
                        file.database,
                        file.collection
                    )
                })?;
            inserted = result.inserted_ids.len();
        }
        reports.push(SeedReport {
            database: file.database.clone(),
            collection: file.collection.clone(),
            inserted,
        });
    }
    Ok(reports)
}
