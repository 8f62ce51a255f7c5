//! Reading documents for `pull`'s inference: a deterministic sample of N documents (on a
//! secondary when the deployment has one) or a full scan, streamed into a [`Profile`] one batch
//! at a time, so memory stays flat however large the collection.
//!
//! The sample is the N documents whose `_id` hashes lowest (`$toHashedIndexKey`, the hash of
//! hashed indexes): the same data always gives the same sample, so pulling twice from an
//! unchanged server writes the same files, and a changed collection changes the sample only
//! where documents came or went. It reads every `_id` key (an index scan, about 2 s per
//! million documents here), where `$sample` would be faster but random.

use super::describe_driver_error;
use crate::progress::{Reporter, Unit};
use crate::pull::infer::Profile;
use anyhow::{Result, anyhow};
use bson::{Document, RawDocumentBuf, doc};
use futures_util::TryStreamExt;
use mongodb::Client;
use mongodb::options::{ReadPreference, SelectionCriteria};

/// Which documents to read.
#[derive(Debug, Clone, Copy)]
pub enum Examine {
    /// A random sample of at most this many.
    Sample(u64),
    /// Every document.
    All,
}

/// Stream `db.collection`'s documents (as `examine` says) into `profile`.
pub async fn profile(
    client: &Client,
    db: &str,
    collection: &str,
    examine: Examine,
    profile: &mut Profile,
    reporter: &mut dyn Reporter,
) -> Result<()> {
    let coll = client.database(db).collection::<Document>(collection);
    let secondary = SelectionCriteria::ReadPreference(ReadPreference::SecondaryPreferred {
        options: Default::default(),
    });
    let total = coll
        .estimated_document_count()
        .await
        .map_err(|e| anyhow!(describe_driver_error(&e)))?;
    let expected = match examine {
        Examine::Sample(n) => n.min(total),
        Examine::All => total,
    };
    reporter.begin(&format!("{db}.{collection}"), Unit::Documents, expected, 0);
    let started = std::time::Instant::now();
    let mut n = 0u64;
    match examine {
        Examine::Sample(size) => {
            let ids = sample_ids(&coll, size, &secondary).await?;
            for chunk in ids.chunks(1000) {
                let mut batch: Vec<Document> = coll
                    .find(doc! { "_id": { "$in": chunk } })
                    .selection_criteria(secondary.clone())
                    .await
                    .map_err(|e| anyhow!(describe_driver_error(&e)))?
                    .try_collect()
                    .await
                    .map_err(|e| anyhow!(describe_driver_error(&e)))?;
                // In the sample's (hash) order, whatever order the server answered in.
                let key = |id: &bson::Bson| bson::to_vec(&doc! { "k": id }).unwrap_or_default();
                let order: std::collections::HashMap<Vec<u8>, usize> = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, id)| (key(id), i))
                    .collect();
                batch.sort_by_cached_key(|d| {
                    d.get("_id")
                        .and_then(|id| order.get(&key(id)).copied())
                        .unwrap_or(usize::MAX)
                });
                for d in &batch {
                    profile.add(d);
                }
                n += batch.len() as u64;
                reporter.advance(n);
            }
        }
        Examine::All => n = scan(&coll, secondary, profile, reporter).await?,
    }
    reporter.advance(n);
    reporter.end(
        &format!("{} examined", crate::progress::count(n, "document")),
        started.elapsed(),
    );
    Ok(())
}

/// Every document into `profile`, in two stages that overlap: this task reads batches from the
/// server as the server's bytes (no decoding into documents) while a blocking thread profiles
/// the batch before; a few batches may wait between them, so memory stays flat. Returns how
/// many documents were read.
async fn scan(
    coll: &mongodb::Collection<Document>,
    read: SelectionCriteria,
    profile: &mut Profile,
    reporter: &mut dyn Reporter,
) -> Result<u64> {
    const BATCH: usize = 1000;
    let mut cursor = coll
        .clone_with_type::<RawDocumentBuf>()
        .find(doc! {})
        .selection_criteria(read)
        .batch_size(BATCH as u32)
        .await
        .map_err(|e| anyhow!(describe_driver_error(&e)))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<RawDocumentBuf>>(4);
    let mut owned = std::mem::take(profile);
    let worker = tokio::task::spawn_blocking(move || {
        while let Some(batch) = rx.blocking_recv() {
            for d in &batch {
                owned.add_raw(d);
            }
        }
        owned
    });
    let mut n = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    let read = loop {
        match cursor.try_next().await {
            Ok(Some(d)) => batch.push(d),
            Ok(None) => break Ok(()),
            Err(e) => break Err(anyhow!(describe_driver_error(&e))),
        }
        if batch.len() == BATCH {
            n += BATCH as u64;
            if tx
                .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                .await
                .is_err()
            {
                break Ok(());
            }
            reporter.advance(n);
        }
    };
    n += batch.len() as u64;
    if !batch.is_empty() {
        let _ = tx.send(batch).await;
    }
    drop(tx);
    *profile = worker
        .await
        .map_err(|e| anyhow!("profiling the documents stopped: {e}"))?;
    read.map(|()| n)
}

/// The `_id`s of the `size` documents whose `_id` hashes lowest, in hash order: over the `_id`
/// index where there is one (only the keys are read), over the documents where there is none
/// (a time-series collection).
async fn sample_ids(
    coll: &mongodb::Collection<Document>,
    size: u64,
    read: &SelectionCriteria,
) -> Result<Vec<bson::Bson>> {
    let pipeline = vec![
        doc! { "$project": { "_id": 1, "h": { "$toHashedIndexKey": "$_id" } } },
        doc! { "$sort": { "h": 1, "_id": 1 } },
        doc! { "$limit": size as i64 },
    ];
    let over_index = coll
        .aggregate(pipeline.clone())
        .hint(mongodb::options::Hint::Keys(doc! { "_id": 1 }))
        .selection_criteria(read.clone())
        .allow_disk_use(true)
        .await;
    let cursor = match over_index {
        Ok(c) => c,
        Err(_) => coll
            .aggregate(pipeline)
            .selection_criteria(read.clone())
            .allow_disk_use(true)
            .await
            .map_err(|e| anyhow!(describe_driver_error(&e)))?,
    };
    let docs: Vec<Document> = cursor
        .try_collect()
        .await
        .map_err(|e| anyhow!(describe_driver_error(&e)))?;
    Ok(docs
        .into_iter()
        .filter_map(|mut d| d.remove("_id"))
        .collect())
}

/// Is this error "not authorized"?
pub fn is_unauthorized(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}");
    text.contains("code 13,") || text.contains("Unauthorized") || text.contains("not authorized")
}
