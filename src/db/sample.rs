//! Reading documents for `pull`'s inference: a `$sample` of N documents (on a secondary when
//! the deployment has one) or a full scan, streamed into a [`Profile`] one batch at a time, so
//! memory stays flat however large the collection.

use super::describe_driver_error;
use crate::progress::{Reporter, Unit};
use crate::pull::infer::Profile;
use anyhow::{Result, anyhow};
use bson::{Document, doc};
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
    let mut cursor = match examine {
        Examine::Sample(n) => {
            coll.aggregate(vec![doc! { "$sample": { "size": n as i64 } }])
                .selection_criteria(secondary)
                .allow_disk_use(true)
                .batch_size(1000)
                .await
        }
        Examine::All => {
            coll.find(doc! {})
                .selection_criteria(secondary)
                .batch_size(1000)
                .await
        }
    }
    .map_err(|e| anyhow!(describe_driver_error(&e)))?;
    let expected = match examine {
        Examine::Sample(n) => n.min(total),
        Examine::All => total,
    };
    reporter.begin(&format!("{db}.{collection}"), Unit::Documents, expected, 0);
    let started = std::time::Instant::now();
    let mut n = 0u64;
    while let Some(d) = cursor
        .try_next()
        .await
        .map_err(|e| anyhow!(describe_driver_error(&e)))?
    {
        profile.add(&d);
        n += 1;
        if n.is_multiple_of(1000) {
            reporter.advance(n);
        }
    }
    reporter.advance(n);
    reporter.end(&format!("{n} document(s) examined"), started.elapsed());
    Ok(())
}

/// Is this error "not authorized"?
pub fn is_unauthorized(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}");
    text.contains("code 13,") || text.contains("Unauthorized") || text.contains("not authorized")
}
