//! `mongrate seed DIR`: load fixture documents into the server.

use super::{exit, runtime};
use crate::cli::{Format, GlobalArgs, SeedArgs};
use crate::db::{self, ConnectOptions};
use anyhow::Result;
use std::time::Duration;

pub fn run(global: &GlobalArgs, args: &SeedArgs) -> Result<i32> {
    let files = db::seed::read_seed_dir(&args.dir)?;
    let opts = ConnectOptions {
        uri: global.uri.clone(),
        server_selection_timeout: Duration::from_secs(global.server_timeout),
    };
    let reports = runtime()?.block_on(async {
        let client = db::connect(&opts).await?;
        db::seed::seed(&client, &files, args.drop).await
    })?;
    match global.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&reports)?),
        Format::Text => {
            let total: usize = reports.iter().map(|r| r.inserted).sum();
            if !global.quiet {
                for r in &reports {
                    println!("{:>6}  {}.{}", r.inserted, r.database, r.collection);
                }
            }
            println!(
                "seeded {total} document(s) into {} collection(s) at {}",
                reports.len(),
                db::redact_uri(&global.uri)
            );
        }
    }
    Ok(exit::OK)
}
