//! Atlas Search and Vector Search indexes: read with `$listSearchIndexes`, changed with
//! `createSearchIndexes` / `updateSearchIndex` / `dropSearchIndex` (the commands are
//! `Operation::search_command`), a build watched until the index is queryable. A server without
//! search (a plain `mongod`: code 40324 for the stage, 59 for the commands; Atlas' own refusals
//! 31082 / 6047401) is told apart, so that declared search indexes are reported as not
//! supported there rather than as drift.

use super::retry::driver_error;
use super::server_code;
use crate::model::{Schema, SearchIndex};
use crate::ops::{Done, Operation};
use anyhow::{Result, anyhow, bail};
use bson::{Document, doc};
use futures_util::TryStreamExt;
use mongodb::Client;
use std::time::{Duration, Instant};

/// The codes a server without search answers with.
const UNSUPPORTED: [i32; 4] = [40324, 59, 31082, 6047401];
const NAMESPACE_NOT_FOUND: i32 = 26;
const INDEX_NOT_FOUND: i32 = 27;
const INDEX_ALREADY_EXISTS: i32 = 68;
/// How long a build may take to become queryable before the step gives up watching.
const WATCH_FOR: Duration = Duration::from_secs(3600);

/// Is this the answer of a server without search?
pub fn unsupported(e: &mongodb::error::Error) -> bool {
    server_code(e).is_some_and(|c| UNSUPPORTED.contains(&c))
}

/// The search indexes of `db.collection`, as the server defines them now.
async fn list(
    client: &Client,
    db: &str,
    collection: &str,
    name: Option<&str>,
) -> mongodb::error::Result<Vec<Document>> {
    let stage = match name {
        Some(n) => doc! { "$listSearchIndexes": { "name": n } },
        None => doc! { "$listSearchIndexes": {} },
    };
    client
        .database(db)
        .collection::<Document>(collection)
        .aggregate(vec![stage])
        .await?
        .try_collect()
        .await
}

/// Fill the search indexes of every collection of `schema` (for `pull`); on a server without
/// search, mark `schema.no_search` after the first refusal.
pub async fn read_all(client: &Client, schema: &mut Schema) -> Result<()> {
    for (db, d) in schema.databases.iter_mut() {
        for (name, c) in d.collections.iter_mut() {
            if c.kind != crate::model::CollectionKind::Collection {
                continue;
            }
            match list(client, db, name, None).await {
                Ok(listed) => {
                    c.search_indexes = listed.iter().filter_map(SearchIndex::from_listed).collect();
                }
                Err(e) if unsupported(&e) => {
                    schema.no_search = true;
                    return Ok(());
                }
                // A user who may not list them (or a collection gone meanwhile): none said.
                Err(_) => {}
            }
        }
    }
    Ok(())
}

/// Fill `current`'s search indexes for the collections `desired` declares some in; on a server
/// without search, mark `current.no_search` instead (one refusal is enough to know).
pub async fn read(client: &Client, current: &mut Schema, desired: &Schema) -> Result<()> {
    for (db, d) in &desired.databases {
        for (name, c) in &d.collections {
            if c.search_indexes.is_empty() {
                continue;
            }
            // Asked even of a collection still to be created: the answer says whether the
            // server has search at all.
            let listed = match list(client, db, name, None).await {
                Ok(docs) => docs,
                Err(e) if unsupported(&e) => {
                    current.no_search = true;
                    return Ok(());
                }
                Err(e) if server_code(&e) == Some(NAMESPACE_NOT_FOUND) => Vec::new(),
                Err(e) => {
                    return Err(
                        driver_error(e).context(format!("$listSearchIndexes on {db}.{name}"))
                    );
                }
            };
            if let Some(have) = current
                .databases
                .get_mut(db)
                .and_then(|d| d.collections.get_mut(name))
            {
                have.search_indexes = listed.iter().filter_map(SearchIndex::from_listed).collect();
            }
        }
    }
    Ok(())
}

/// Run a search index step; a create or an update is watched until the index is queryable.
pub async fn execute(client: &Client, op: &Operation) -> Result<Done> {
    let Some(cmd) = op.search_command() else {
        bail!("{}: not a search index step", op.summary());
    };
    let (db, collection) = (op.db(), op.collection());
    let done = match client.database(db).run_command(cmd).await {
        Ok(_) => Done::Changed,
        Err(e)
            if matches!(op, Operation::DropSearchIndex { .. })
                && server_code(&e) == Some(INDEX_NOT_FOUND) =>
        {
            return Ok(Done::AlreadyThere);
        }
        Err(e)
            if matches!(op, Operation::CreateSearchIndex { .. })
                && server_code(&e) == Some(INDEX_ALREADY_EXISTS) =>
        {
            Done::AlreadyThere
        }
        Err(e) if unsupported(&e) => bail!(
            "{}: this server does not support search indexes (they need MongoDB Atlas, or a deployment with mongot)",
            op.summary()
        ),
        Err(e) => return Err(driver_error(e)),
    };
    let name = match op {
        Operation::CreateSearchIndex { index, .. } => {
            index.get_str("name").unwrap_or("default").to_string()
        }
        Operation::UpdateSearchIndex { name, .. } => name.clone(),
        _ => return Ok(done),
    };
    let started = Instant::now();
    loop {
        let listed = list(client, db, collection, Some(&name))
            .await
            .map_err(driver_error)?;
        match listed.first() {
            Some(d)
                if d.get_bool("queryable") == Ok(true) && d.get_str("status") != Ok("PENDING") =>
            {
                return Ok(done);
            }
            Some(d) if d.get_str("status") == Ok("FAILED") => {
                return Err(anyhow!(
                    "{}: the search index build failed: {}",
                    op.summary(),
                    d.get_str("message").unwrap_or("no message")
                ));
            }
            _ if started.elapsed() > WATCH_FOR => bail!(
                "{}: the search index is not queryable after {} min; it is still building on the server (run again to keep watching)",
                op.summary(),
                WATCH_FOR.as_secs() / 60
            ),
            _ => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}
