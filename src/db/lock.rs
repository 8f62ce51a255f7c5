//! The lease lock: one document in `<state db>.locks`, taken atomically, with an expiry computed
//! from the server's clock, renewed in the background while a run lasts, and released at the end.
//!
//! A second runner waits for it (up to a timeout) and then fails naming the owner. A lock whose
//! owner ran on this host and whose process is gone (crashed, killed) is taken over at once
//! instead of waiting for the lease to expire; a lock from another host is taken once expired.

use super::describe_driver_error;
use anyhow::{Result, anyhow};
use bson::{Bson, DateTime, Document, doc};
use mongodb::{Client, Collection};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const LOCK_ID: &str = "migrate";

/// Who holds the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    /// Random, per run.
    pub id: String,
    pub tool_version: String,
}

impl Owner {
    pub fn me() -> Self {
        Self {
            host: hostname(),
            pid: std::process::id(),
            id: bson::oid::ObjectId::new().to_hex(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {} (run {}, mongrate {})",
            self.pid, self.host, self.id, self.tool_version
        )
    }
}

/// The host name (from /etc/hostname or $HOSTNAME).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Is process `pid` on this host a running mongrate?
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmd) => String::from_utf8_lossy(&cmd).contains("mongrate"),
        Err(_) => false,
    }
}

/// The lock document as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockState {
    pub owner: Owner,
    pub acquired_at: DateTime,
    pub expires_at: DateTime,
}

fn locks(client: &Client, state_db: &str) -> Collection<Document> {
    client.database(state_db).collection("locks")
}

/// Read the lock, if anyone holds (or held) it.
pub async fn read(client: &Client, state_db: &str) -> Result<Option<LockState>> {
    let doc = locks(client, state_db)
        .find_one(doc! { "_id": LOCK_ID })
        .await
        .map_err(|e| anyhow!(describe_driver_error(&e)))?;
    Ok(doc.and_then(|d| bson::from_document(d).ok()))
}

/// Remove the lock whoever holds it (`migrate unlock`).
pub async fn break_lock(client: &Client, state_db: &str) -> Result<bool> {
    let r = locks(client, state_db)
        .delete_one(doc! { "_id": LOCK_ID })
        .await
        .map_err(|e| anyhow!(describe_driver_error(&e)))?;
    Ok(r.deleted_count > 0)
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another migration run holds the lock: {owner}, until {expires_at} (server time); waited {waited_s}s (--lock-timeout). If that process is dead, run `mongrate migrate unlock`"
    )]
    Held {
        owner: Owner,
        expires_at: DateTime,
        waited_s: u64,
    },
    #[error("taking the migration lock: {0}")]
    Server(String),
}

/// A held lock. Call [`LeaseLock::release`] at the end (also after an error).
pub struct LeaseLock {
    coll: Collection<Document>,
    state_db: String,
    owner: Owner,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
    /// Set when the lock was taken over from a dead process of this host.
    pub took_over_from: Option<Owner>,
}

impl LeaseLock {
    /// Take the lock, waiting up to `wait` for its holder.
    pub async fn acquire(
        client: &Client,
        state_db: &str,
        lease: Duration,
        wait: Duration,
    ) -> Result<Self, LockError> {
        let coll = locks(client, state_db);
        let owner = Owner::me();
        let lease_ms = lease.as_millis() as i64;
        let owner_doc = bson::to_document(&owner).map_err(|e| LockError::Server(e.to_string()))?;
        let start = Instant::now();
        let mut took_over_from = None;
        loop {
            // An upsert's filter may not use $expr/$$NOW: compare with the server's clock instead.
            let now = server_now(client).await.map_err(LockError::Server)?;
            let taken = coll
                .update_one(
                    doc! { "_id": LOCK_ID, "expires_at": { "$lt": now } },
                    vec![doc! { "$set": {
                        "owner": owner_doc.clone(),
                        "acquired_at": "$$NOW",
                        "expires_at": { "$add": ["$$NOW", lease_ms] },
                    } }],
                )
                .upsert(true)
                .await;
            match taken {
                Ok(_) => break,
                Err(e) if is_duplicate_key(&e) => {}
                Err(e) => return Err(LockError::Server(describe_driver_error(&e))),
            }
            // Held. A dead process of this host cannot renew: take it over now.
            let state = read(client, state_db)
                .await
                .map_err(|e| LockError::Server(e.to_string()))?;
            if let Some(state) = state {
                if state.owner.host == owner.host
                    && state.owner.pid != owner.pid
                    && !process_alive(state.owner.pid)
                {
                    let r = coll
                        .update_one(
                            doc! { "_id": LOCK_ID, "owner.id": &state.owner.id },
                            vec![doc! { "$set": {
                                "owner": owner_doc.clone(),
                                "acquired_at": "$$NOW",
                                "expires_at": { "$add": ["$$NOW", lease_ms] },
                            } }],
                        )
                        .await
                        .map_err(|e| LockError::Server(describe_driver_error(&e)))?;
                    if r.modified_count == 1 {
                        took_over_from = Some(state.owner);
                        break;
                    }
                    continue;
                }
                if start.elapsed() >= wait {
                    return Err(LockError::Held {
                        owner: state.owner,
                        expires_at: state.expires_at,
                        waited_s: start.elapsed().as_secs(),
                    });
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew(coll.clone(), owner.id.clone(), lease, lost.clone()));
        Ok(Self {
            coll,
            state_db: state_db.to_string(),
            owner,
            lost,
            renewer,
            took_over_from,
        })
    }

    /// True once a renewal found the lock taken by someone else, or could not renew in time.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// The state database the lock (and the changelog) live in.
    pub fn state_db(&self) -> &str {
        &self.state_db
    }

    /// Stop renewing and delete the lock (if it is still ours).
    pub async fn release(self) -> Result<()> {
        self.renewer.abort();
        self.coll
            .delete_one(doc! { "_id": LOCK_ID, "owner.id": &self.owner.id })
            .await
            .map_err(|e| {
                anyhow!(
                    "releasing the migration lock: {}",
                    describe_driver_error(&e)
                )
            })?;
        Ok(())
    }
}

async fn renew(coll: Collection<Document>, id: String, lease: Duration, lost: Arc<AtomicBool>) {
    let lease_ms = lease.as_millis() as i64;
    let mut last_ok = Instant::now();
    loop {
        tokio::time::sleep(lease / 3).await;
        let r = coll
            .update_one(
                doc! { "_id": LOCK_ID, "owner.id": &id },
                vec![
                    doc! { "$set": { "expires_at": { "$add": ["$$NOW", Bson::Int64(lease_ms)] } } },
                ],
            )
            .await;
        match r {
            Ok(r) if r.matched_count == 1 => last_ok = Instant::now(),
            Ok(_) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(_) if last_ok.elapsed() >= lease => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(_) => {}
        }
    }
}

/// The server's clock (`hello.localTime`), so that expiry never depends on this host's clock.
async fn server_now(client: &Client) -> Result<DateTime, String> {
    let hello = client
        .database("admin")
        .run_command(doc! { "hello": 1 })
        .await
        .map_err(|e| describe_driver_error(&e))?;
    hello
        .get_datetime("localTime")
        .copied()
        .map_err(|_| "the server's hello reply has no localTime".to_string())
}

fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        ErrorKind::Command(c) => c.code == 11000,
        _ => e.to_string().contains("E11000"),
    }
}
