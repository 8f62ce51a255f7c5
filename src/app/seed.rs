//! `seed DIR`: load fixture documents into the server.

use super::{Server, Settings, Ui};
use crate::db;
use crate::views::project::SeededReport;
use anyhow::Result;
use std::path::Path;

/// `mongrate seed DIR [--drop]`.
pub fn seed(settings: &Settings, dir: &Path, drop: bool, ui: &mut dyn Ui) -> Result<SeededReport> {
    let files = db::seed::read_seed_dir(dir)?;
    let server = Server::connect(settings)?;
    let collections = {
        let _changing = ui.changing();
        server.run(db::seed::seed(server.client(), &files, drop))?
    };
    Ok(SeededReport {
        inserted: collections.iter().map(|r| r.inserted).sum(),
        collections,
        target: settings.shown_uri(),
    })
}
