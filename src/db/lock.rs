//! The lease lock: one document in `<state db>.locks`, taken atomically, with an expiry computed
//! from the server's clock, renewed in the background while a run lasts, and released at the end.
//!
//! Fencing: every time the lock changes hands its `token` grows by one (the document is never
//! deleted, so the count never restarts). A run carries its token on every changelog write,
//! and those writes only apply where no newer token has written (see `changelog`). Before each
//! step a run checks its lease by its own clock (time since the last renewal the server
//! confirmed, counting time the machine was paused or asleep), and by the server (the lock still
//! names this run and token) when no renewal confirmed it within the last third of the lease —
//! a confirmed renewal proves the lock is this run's until at least two thirds of a lease later
//! by the server's clock, so reading it again before every step would only cost a round trip.
//! A run paused past its lease — a GC pause, a frozen VM, a sleeping laptop — therefore stops
//! with "lost the lock" instead of carrying on over a newer run's work. (A lock broken by hand,
//! `migrate unlock --yes`, is noticed at the next renewal, within a third of the lease.)
//!
//! A second runner waits for the lock (up to a timeout) and then fails naming the owner. A lock
//! whose owner ran on this host and whose process is gone (crashed, killed) is taken over at once;
//! a lock from another host is taken once expired.

use super::{describe_driver_error, is_duplicate_key};
use anyhow::{Result, anyhow};
use bson::{Bson, DateTime, Document, doc};
use mongodb::{Client, Collection};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const LOCK_ID: &str = "migrate";

pub use crate::migrate::changelog::lock_id;

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

/// The host name (from the kernel, /etc/hostname or $HOSTNAME).
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

/// A clock that keeps counting while the process is stopped and while the machine sleeps (Linux
/// CLOCK_BOOTTIME), so a lease check after a pause sees how long the pause was.
fn clock() -> Duration {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec into the pointer we pass, which lives here.
        if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) } == 0 {
            return Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
        }
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// The lock document as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockState {
    /// `None` once released.
    pub owner: Option<Owner>,
    pub acquired_at: Option<DateTime>,
    pub expires_at: DateTime,
    /// Grows by one each time the lock changes hands.
    #[serde(default)]
    pub token: i64,
}

/// What the lock collection holds.
#[derive(Debug, Clone)]
pub enum LockRead {
    /// No lock document, or a released one.
    Free {
        token: i64,
    },
    Held(LockState),
    /// A document mongrate cannot read (written by hand?), shown as found.
    Unreadable(String),
}

/// The lock collection: majority writes, majority reads from the primary (never a stale
/// secondary's view of who holds the lock).
fn locks(client: &Client, state_db: &str) -> Collection<Document> {
    super::state_collection(client, state_db, "locks")
}

/// Read the lock.
pub async fn read(client: &Client, state_db: &str, project: Option<&str>) -> Result<LockRead> {
    read_id(client, state_db, &lock_id(project, None)).await
}

/// Read the lock with `_id` `id` (see [`lock_id`]).
pub async fn read_id(client: &Client, state_db: &str, id: &str) -> Result<LockRead> {
    let doc = locks(client, state_db)
        .find_one(doc! { "_id": id })
        .await
        .map_err(|e| anyhow!(describe_driver_error(&e)))?;
    Ok(match doc {
        None => LockRead::Free { token: 0 },
        Some(d) => match bson::from_document::<LockState>(d.clone()) {
            Ok(s) if s.owner.is_none() => LockRead::Free { token: s.token },
            Ok(s) => LockRead::Held(s),
            Err(_) => {
                let shown = crate::extjson::to_relaxed_compact(&d);
                LockRead::Unreadable(crate::yaml::show(&shown))
            }
        },
    })
}

/// Break the lock whoever holds it (`migrate unlock`): mark it released and advance the token,
/// so a holder that is in fact still alive is fenced off.
pub async fn break_lock(client: &Client, state_db: &str, project: Option<&str>) -> Result<bool> {
    break_lock_id(client, state_db, &lock_id(project, None)).await
}

/// [`break_lock`] of the lock with `_id` `id`.
pub async fn break_lock_id(client: &Client, state_db: &str, id: &str) -> Result<bool> {
    let r = locks(client, state_db)
        .update_one(
            doc! { "_id": id },
            vec![doc! { "$replaceWith": {
                "_id": id,
                "owner": Bson::Null,
                "acquired_at": Bson::Null,
                "expires_at": DateTime::from_millis(0),
                "released_at": "$$NOW",
                "token": { "$toLong": { "$add": [{ "$cond": [{ "$isNumber": "$token" }, "$token", 0] }, 1] } },
            } }],
        )
        .await
        .map_err(|e| anyhow!(describe_driver_error(&e)))?;
    Ok(r.modified_count > 0)
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
    #[error(
        "the migration lock document cannot be read: {0}; if no run is in progress, replace it with `mongrate migrate unlock`"
    )]
    Unreadable(String),
    #[error("taking the migration lock: {0}")]
    Server(String),
}

/// The run no longer holds the lock: it must stop and write nothing more.
#[derive(Debug, thiserror::Error)]
#[error(
    "lost the migration lock: {0}. This run stopped and recorded nothing more; the run that holds the lock now (see `mongrate migrate status`) carries on from the changelog"
)]
pub struct LockLost(pub String);

/// A held lock. Call [`LeaseLock::release`] at the end (also after an error).
pub struct LeaseLock {
    coll: Collection<Document>,
    state_db: String,
    /// The lock document's `_id` (see [`lock_id`]).
    id: String,
    owner: Owner,
    token: i64,
    lease: Duration,
    /// `clock()` in milliseconds when the last renewal the server confirmed was sent.
    confirmed: Arc<AtomicU64>,
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
        Self::acquire_id(client, state_db, LOCK_ID, lease, wait).await
    }

    /// Take the lock with `_id` `id` (see [`lock_id`]), waiting up to `wait` for its holder.
    pub async fn acquire_id(
        client: &Client,
        state_db: &str,
        id: &str,
        lease: Duration,
        wait: Duration,
    ) -> Result<Self, LockError> {
        let coll = locks(client, state_db);
        let owner = Owner::me();
        let lease_ms = lease.as_millis() as i64;
        let owner_doc = bson::to_document(&owner).map_err(|e| LockError::Server(e.to_string()))?;
        let take = |filter: Document, upsert: bool| {
            take_lock(&coll, filter, owner_doc.clone(), lease_ms, upsert)
        };
        let start = Instant::now();
        let mut took_over_from = None;
        let token = loop {
            let sent = clock();
            // An election under way: wait for the new primary (within the wait).
            let transient = |e: &mongodb::error::Error| {
                super::retry::is_transient(e) && start.elapsed() < wait.max(Duration::from_secs(30))
            };
            // An upsert's filter may not use $expr/$$NOW: compare with the server's clock instead.
            let now = match server_now(client).await {
                Ok(now) => now,
                Err(e) if transient(&e) => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    continue;
                }
                Err(e) => return Err(LockError::Server(describe_driver_error(&e))),
            };
            let taken = take(doc! { "_id": id, "expires_at": { "$lt": now } }, true).await;
            match taken {
                Ok(Some(d)) => break (token_of(&d), sent),
                Ok(None) => {}
                Err(e) if is_duplicate_key(&e) => {}
                Err(e) if transient(&e) => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    continue;
                }
                Err(e) => return Err(LockError::Server(describe_driver_error(&e))),
            }
            // Held. A dead process of this host cannot renew: take it over now.
            match read_id(client, state_db, id)
                .await
                .map_err(|e| LockError::Server(e.to_string()))?
            {
                LockRead::Held(state) => {
                    let holder = state.owner.clone().expect("held locks have an owner");
                    if holder.host == owner.host
                        && holder.pid != owner.pid
                        && !process_alive(holder.pid)
                    {
                        let sent = clock();
                        let r = take(
                            doc! { "_id": id, "owner.id": &holder.id, "token": state.token },
                            false,
                        )
                        .await
                        .map_err(|e| LockError::Server(describe_driver_error(&e)))?;
                        if let Some(d) = r {
                            took_over_from = Some(holder);
                            break (token_of(&d), sent);
                        }
                        continue;
                    }
                    if start.elapsed() >= wait {
                        return Err(LockError::Held {
                            owner: holder,
                            expires_at: state.expires_at,
                            waited_s: start.elapsed().as_secs(),
                        });
                    }
                }
                LockRead::Unreadable(shown) => {
                    if start.elapsed() >= wait {
                        return Err(LockError::Unreadable(shown));
                    }
                }
                // Released meanwhile: try again at once.
                LockRead::Free { .. } => continue,
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let (token, mut sent) = token;
        // A take can wait on the lock document behind a transaction a killed holder left open
        // (its last batch, until the server aborts it: a minute by default). The lease the take
        // gave is fresh, but only a renewal sent now can prove it: without one, that wait would
        // count against the lease and the run would stop as if it had lost the lock.
        if clock().saturating_sub(sent) >= lease / 3 {
            let again = clock();
            match extend(&coll, id, &owner.id, token, lease_ms).await {
                Ok(true) => sent = again,
                Ok(false) => {
                    return Err(LockError::Server(
                        "the lock was taken over while this run waited to take it; run again"
                            .into(),
                    ));
                }
                Err(e) => return Err(LockError::Server(describe_driver_error(&e))),
            }
        }
        let confirmed = Arc::new(AtomicU64::new(sent.as_millis() as u64));
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew(
            coll.clone(),
            id.to_string(),
            owner.id.clone(),
            token,
            lease,
            confirmed.clone(),
            lost.clone(),
        ));
        Ok(Self {
            coll,
            state_db: state_db.to_string(),
            id: id.to_string(),
            owner,
            token,
            lease,
            confirmed,
            lost,
            renewer,
            took_over_from,
        })
    }

    /// What a data job's batches check in their transaction: the lock still this run's.
    pub fn fence(&self) -> super::job::Fence {
        super::job::Fence {
            state_db: self.state_db.clone(),
            lock_id: self.id.clone(),
            owner_id: self.owner.id.clone(),
            token: self.token,
        }
    }

    /// The fencing token every write of this run carries.
    pub fn token(&self) -> i64 {
        self.token
    }

    /// The state database the lock (and the changelog) live in.
    pub fn state_db(&self) -> &str {
        &self.state_db
    }

    /// Is the lease still ours, by this run's clock and by the server? Call before every step.
    pub async fn ensure(&self) -> Result<(), LockLost> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(LockLost(
                "a renewal found it taken by another run, or could not reach the server within the lease".into(),
            ));
        }
        let age =
            clock().saturating_sub(Duration::from_millis(self.confirmed.load(Ordering::SeqCst)));
        // Renewals come every third of the lease; keep a quarter of it as a safety margin.
        if age > self.lease * 3 / 4 {
            return Err(LockLost(format!(
                "its lease was last confirmed {:.1}s ago, past its {}s lease (was this process paused, or the machine asleep?)",
                age.as_secs_f64(),
                self.lease.as_secs()
            )));
        }
        // Confirmed by a renewal within the last third of the lease: the server's expiry is
        // at least two thirds of a lease away, and no other run can have taken it.
        if age < self.lease / 3 {
            return Ok(());
        }
        // During an election the read waits for the new primary, as long as the lease is
        // still safely ours by this run's clock.
        let still_mine = loop {
            match self
                .coll
                .find_one(doc! { "_id": &self.id, "owner.id": &self.owner.id, "token": self.token })
                .projection(doc! { "_id": 1 })
                .await
            {
                Ok(found) => break found,
                Err(e) => {
                    let age = clock().saturating_sub(Duration::from_millis(
                        self.confirmed.load(Ordering::SeqCst),
                    ));
                    if !super::retry::is_transient(&e) || age > self.lease * 3 / 4 {
                        return Err(LockLost(format!(
                            "cannot confirm it with the server ({})",
                            describe_driver_error(&e)
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        };
        if still_mine.is_none() {
            return Err(LockLost(format!(
                "another run took it over (this run's token {} is no longer current)",
                self.token
            )));
        }
        Ok(())
    }

    /// Stop renewing and release the lock if it is still ours (a newer holder's lock is left as
    /// it is).
    pub async fn release(self) -> Result<()> {
        self.renewer.abort();
        // An election may be under way: try for a while (the lease expires on its own anyway).
        let until = Instant::now() + self.lease;
        loop {
            let r = self
                .coll
                .update_one(
                    doc! { "_id": &self.id, "owner.id": &self.owner.id, "token": self.token },
                    doc! { "$set": {
                        "owner": Bson::Null,
                        "acquired_at": Bson::Null,
                        "expires_at": DateTime::from_millis(0),
                        "released_at": DateTime::now(),
                    } },
                )
                .await;
            match r {
                Ok(_) => return Ok(()),
                Err(e) if super::retry::is_transient(&e) && Instant::now() < until => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => {
                    return Err(anyhow!(
                        "releasing the migration lock: {} (it expires on its own {}s after its last renewal)",
                        describe_driver_error(&e),
                        self.lease.as_secs()
                    ));
                }
            }
        }
    }
}

/// The token of a lock document, whatever number type it was stored as.
fn token_of(d: &Document) -> i64 {
    match d.get("token") {
        Some(Bson::Int32(i)) => i64::from(*i),
        Some(Bson::Int64(i)) => *i,
        Some(Bson::Double(f)) => *f as i64,
        _ => 0,
    }
}

/// Take the lock where `filter` matches, advancing its token; the lock document after.
async fn take_lock(
    coll: &Collection<Document>,
    filter: Document,
    owner: Document,
    lease_ms: i64,
    upsert: bool,
) -> mongodb::error::Result<Option<Document>> {
    coll.find_one_and_update(
        filter,
        vec![doc! { "$set": {
            "owner": owner,
            "acquired_at": "$$NOW",
            "expires_at": { "$add": ["$$NOW", lease_ms] },
            "token": { "$toLong": { "$add": [{ "$ifNull": ["$token", 0] }, 1] } },
        } }],
    )
    .upsert(upsert)
    .return_document(mongodb::options::ReturnDocument::After)
    .await
}

async fn renew(
    coll: Collection<Document>,
    lock: String,
    id: String,
    token: i64,
    lease: Duration,
    confirmed: Arc<AtomicU64>,
    lost: Arc<AtomicBool>,
) {
    let lease_ms = lease.as_millis() as i64;
    loop {
        tokio::time::sleep(lease / 3).await;
        let sent = clock();
        match extend(&coll, &lock, &id, token, lease_ms).await {
            Ok(true) => {
                confirmed.store(sent.as_millis() as u64, Ordering::SeqCst);
            }
            Ok(false) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(_) => {
                let age =
                    clock().saturating_sub(Duration::from_millis(confirmed.load(Ordering::SeqCst)));
                if age >= lease {
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
            }
        }
    }
}

/// Push the lease of lock `lock` to a full `lease_ms` from the server's now, if run `id` with
/// `token` still holds it (`false`: it does not).
async fn extend(
    coll: &Collection<Document>,
    lock: &str,
    id: &str,
    token: i64,
    lease_ms: i64,
) -> mongodb::error::Result<bool> {
    let r = coll
        .update_one(
            doc! { "_id": lock, "owner.id": id, "token": token },
            vec![doc! { "$set": { "expires_at": { "$add": ["$$NOW", Bson::Int64(lease_ms)] } } }],
        )
        .await?;
    Ok(r.matched_count == 1)
}

/// The server's clock (`hello.localTime`), so that expiry never depends on this host's clock.
async fn server_now(client: &Client) -> mongodb::error::Result<DateTime> {
    let hello = client
        .database("admin")
        .run_command(doc! { "hello": 1 })
        .await?;
    Ok(hello
        .get_datetime("localTime")
        .copied()
        .unwrap_or_else(|_| DateTime::now()))
}
