//! Run one [`Operation`] against the server, idempotently: "already exists" and "not found"
//! answers that mean the operation's goal already holds count as success.

use super::retry::driver_error;
use super::server_code;
use crate::ops::{Done, Operation};
use anyhow::{Result, bail};
use bson::{Document, doc};
use mongodb::Client;

/// Server error codes with a meaning for idempotency.
mod code {
    pub const NAMESPACE_NOT_FOUND: i32 = 26;
    pub const INDEX_NOT_FOUND: i32 = 27;
    pub const NAMESPACE_EXISTS: i32 = 48;
}

/// Run `cmd`; a refusal with one of `ok_codes` means its goal already holds.
async fn run(client: &Client, db: &str, cmd: Document, ok_codes: &[i32]) -> Result<Done> {
    match client.database(db).run_command(cmd).await {
        Ok(_) => Ok(Done::Changed),
        Err(e) if server_code(&e).is_some_and(|c| ok_codes.contains(&c)) => Ok(Done::AlreadyThere),
        Err(e) => Err(driver_error(e)),
    }
}

/// Nothing was modified: the goal already held.
fn modified(n: u64) -> Done {
    if n == 0 {
        Done::AlreadyThere
    } else {
        Done::Changed
    }
}

/// Execute `op`. Errors carry the server's code and message; an interruption (an election, a
/// network error) is a [`super::retry::Interrupted`].
pub async fn execute(client: &Client, op: &Operation) -> Result<Done> {
    execute_with(client, op, &super::retry::StepOptions::default()).await
}

/// [`execute`], with the commit quorum for index builds and the retry window of backfills.
pub async fn execute_with(
    client: &Client,
    op: &Operation,
    opts: &super::retry::StepOptions,
) -> Result<Done> {
    match op {
        Operation::CreateCollection {
            db,
            collection,
            options,
        } => {
            let mut cmd = doc! { "create": collection };
            cmd.extend(options.clone());
            run(client, db, cmd, &[code::NAMESPACE_EXISTS]).await
        }
        Operation::DropCollection { db, collection } => {
            run(
                client,
                db,
                doc! { "drop": collection },
                &[code::NAMESPACE_NOT_FOUND],
            )
            .await
        }
        Operation::ModifyCollection {
            db,
            collection,
            options,
        } => {
            let mut cmd = doc! { "collMod": collection };
            cmd.extend(options.clone());
            run(client, db, cmd, &[]).await
        }
        Operation::CreateIndex {
            db,
            collection,
            index,
        } => {
            let mut cmd = doc! { "createIndexes": collection, "indexes": [index.clone()] };
            if let Some(q) = &opts.commit_quorum {
                cmd.insert("commitQuorum", q.clone());
            }
            create_indexes(client, db, cmd).await
        }
        Operation::DropIndex {
            db,
            collection,
            name,
        } => {
            run(
                client,
                db,
                doc! { "dropIndexes": collection, "index": name },
                &[code::INDEX_NOT_FOUND, code::NAMESPACE_NOT_FOUND],
            )
            .await
        }
        Operation::ModifyIndex {
            db,
            collection,
            name,
            expire_after,
            hidden,
        } => {
            let mut index = doc! { "name": name };
            if let Some(s) = expire_after {
                index.insert("expireAfterSeconds", *s);
            }
            if let Some(h) = hidden {
                index.insert("hidden", *h);
            }
            run(
                client,
                db,
                doc! { "collMod": collection, "index": index },
                &[],
            )
            .await
        }
        Operation::MakeIndexUnique {
            db,
            collection,
            name,
        } => {
            if index_is_unique(client, db, collection, name).await? {
                return Ok(Done::AlreadyThere);
            }
            run(
                client,
                db,
                doc! { "collMod": collection, "index": { "name": name, "prepareUnique": true } },
                &[],
            )
            .await?;
            run(
                client,
                db,
                doc! { "collMod": collection, "index": { "name": name, "unique": true } },
                &[],
            )
            .await
        }
        Operation::Backfill {
            db,
            collection,
            field,
            value,
        } => {
            // The same engine as `mongrate backfill`, for one field, without a checkpoint (a
            // migration step is resumable on its own).
            let value = match value {
                bson::Bson::String(s) if s == "$$NOW" => crate::spec::DefaultValue::Now,
                other => crate::spec::DefaultValue::Value(other.clone()),
            };
            let target = super::backfill::Target {
                db: db.clone(),
                collection: collection.clone(),
                defaults: vec![crate::backfill::FieldDefault {
                    path: field.clone(),
                    value,
                }],
            };
            // In a migration, each batch is fenced by the run's lock like a data job's.
            let opts = super::backfill::Options {
                retry_for: opts.retry_for,
                fence: opts.job.fence.clone(),
                ..Default::default()
            };
            let report =
                super::backfill::run(client, &target, &opts, &mut crate::progress::Silent).await?;
            Ok(modified(report.modified))
        }
        Operation::UpdateMany { .. }
        | Operation::RenameField { .. }
        | Operation::EvolveField { .. }
        | Operation::ContractField { .. } => {
            super::job::execute(client, op, &opts.job, &mut crate::progress::Silent).await
        }
        Operation::ShardCollection { .. } | Operation::RefineShardKey { .. } => {
            let Some(cmd) = op.admin_command() else {
                bail!("{}: not a valid shard key", op.summary());
            };
            if !super::inspect::is_mongos(client).await {
                bail!(
                    "{}: the server is not a sharded cluster; connect through a mongos to shard a collection",
                    op.summary()
                );
            }
            // Already sharded on this very key (a retry, a resumed run): nothing to do.
            if let Some(current) =
                super::inspect::shard_key_of(client, op.db(), op.collection()).await?
                && cmd.get_document("key").ok() == Some(&current.key_document())
            {
                return Ok(Done::AlreadyThere);
            }
            run(client, "admin", cmd, &[]).await
        }
        Operation::CreateSearchIndex { .. }
        | Operation::UpdateSearchIndex { .. }
        | Operation::DropSearchIndex { .. } => super::search::execute(client, op).await,
        Operation::Command { db, command } => run(client, db, command.clone(), &[]).await,
        Operation::Irreversible { reason } => bail!("this step cannot be undone: {reason}"),
        Operation::SetValidator {
            db,
            collection,
            validator,
            level,
            action,
        } => {
            run(
                client,
                db,
                doc! {
                    "collMod": collection,
                    "validator": validator.clone().unwrap_or_default(),
                    "validationLevel": level.as_str(),
                    "validationAction": action.as_str(),
                },
                &[],
            )
            .await
        }
    }
}

/// `createIndexes`: an index already there with this definition is left alone, and said so.
async fn create_indexes(client: &Client, db: &str, cmd: Document) -> Result<Done> {
    let reply = client
        .database(db)
        .run_command(cmd)
        .await
        .map_err(driver_error)?;
    let n = |k: &str| match reply.get(k) {
        Some(bson::Bson::Int32(n)) => Some(i64::from(*n)),
        Some(bson::Bson::Int64(n)) => Some(*n),
        _ => None,
    };
    Ok(match (n("numIndexesBefore"), n("numIndexesAfter")) {
        (Some(a), Some(b)) if a == b => Done::AlreadyThere,
        _ => Done::Changed,
    })
}

async fn index_is_unique(client: &Client, db: &str, coll: &str, name: &str) -> Result<bool> {
    let reply = client
        .database(db)
        .run_command(doc! { "listIndexes": coll })
        .await;
    let reply = reply.map_err(driver_error)?;
    Ok(reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_document())
                .any(|d| d.get_str("name") == Ok(name) && d.get_bool("unique").unwrap_or(false))
        })
        .unwrap_or(false))
}
