//! `mongrate seed DIR`: load fixture documents into the server.

use super::out::{Critical, outln};
use super::{Server, exit, print_json};
use crate::cli::{Format, SeedArgs};
use crate::db;
use anyhow::Result;

pub fn run(global: &super::Settings, args: &SeedArgs) -> Result<i32> {
    let files = db::seed::read_seed_dir(&args.dir)?;
    let server = Server::connect(global)?;
    let reports = {
        let _changing = Critical::enter();
        server.run(db::seed::seed(server.client(), &files, args.drop))?
    };
    let total: usize = reports.iter().map(|r| r.inserted).sum();
    match global.format {
        Format::Json => print_json(
            "seed",
            &serde_json::json!({ "inserted": total, "collections": reports }),
        ),
        Format::Text | Format::Github => {
            if !global.quiet {
                for r in &reports {
                    outln!("{:>6}  {}.{}", r.inserted, r.database, r.collection);
                }
            }
            outln!(
                "seeded {} into {} at {}",
                crate::progress::count(total as u64, "document"),
                crate::progress::count(reports.len() as u64, "collection"),
                db::redact_uri(&global.uri)
            );
        }
    }
    Ok(exit::OK)
}
