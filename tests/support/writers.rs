//! Application writers for evolution tests: each owns its `_id`s, inserts and updates them in
//! the old shape (`email`) or the new (`mail`, the old path removed in the same update), and
//! remembers the last value it wrote per `_id`; refusals by the validator are counted.

use bson::{Document, doc};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Writers that each own a range of `_id`s: insert new ones and update their own, in the old
/// shape (`email`) or the new (`mail`, the old path removed in the same update). Each remembers
/// the last value it wrote per `_id`; every refused write is counted.
pub struct Writers {
    stop: Arc<AtomicBool>,
    rejected: Arc<AtomicU64>,
    handles: Vec<tokio::task::JoinHandle<HashMap<i32, String>>>,
}

pub fn start_writers(
    coll: &mongodb::Collection<Document>,
    old: bool,
    first: i32,
    n: i32,
) -> Writers {
    let stop = Arc::new(AtomicBool::new(false));
    let rejected = Arc::new(AtomicU64::new(0));
    let handles = (0..n)
        .map(|w| {
            let coll = coll.clone();
            let stop = stop.clone();
            let rejected = rejected.clone();
            // Each writer: its own block of 1,000,000 ids for inserts, and updates of the
            // seeded ids ≡ its number (mod 8).
            let base = first + w;
            tokio::spawn(async move {
                let mut last: HashMap<i32, String> = HashMap::new();
                let mut k = 0i32;
                while !stop.load(Ordering::Relaxed) {
                    k += 1;
                    let value = format!("w{base}-{k}");
                    let result = if k % 2 == 0 {
                        let id = 1_000_000 * (base + 1) + k;
                        let d = if old {
                            doc! { "_id": id, "name": "new", "email": &value }
                        } else {
                            doc! { "_id": id, "name": "new", "mail": &value }
                        };
                        coll.insert_one(d).await.map(|_| id)
                    } else {
                        let id = (k * 8 + base) % 4000;
                        let u = if old {
                            doc! { "$set": { "email": &value } }
                        } else {
                            doc! { "$set": { "mail": &value }, "$unset": { "email": "" } }
                        };
                        coll.update_one(doc! { "_id": id }, u).await.map(|_| id)
                    };
                    match result {
                        Ok(id) => {
                            last.insert(id, value);
                        }
                        // Refused by the validator (an election's interruption is retried
                        // by the driver, or is not a refusal).
                        Err(e) if e.to_string().contains("Document failed validation") => {
                            rejected.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {}
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                last
            })
        })
        .collect();
    Writers {
        stop,
        rejected,
        handles,
    }
}

impl Writers {
    pub async fn stop(self) -> (HashMap<i32, String>, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let mut last = HashMap::new();
        for h in self.handles {
            last.extend(h.await.unwrap());
        }
        (last, self.rejected.load(Ordering::Relaxed))
    }
}
