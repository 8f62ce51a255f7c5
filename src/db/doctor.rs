//! What `doctor` reads beyond preflight's facts: the replica set's members, the index build
//! limit, and the state database (changelog entries, lock holder). Each is read where the user
//! may, and left unknown where not.

use crate::doctor::{Member, StateInfo, members_of};
use bson::{Bson, doc};
use mongodb::Client;

/// The members (`None`: a standalone server, or no right to run `replSetGetStatus`).
pub async fn members(client: &Client) -> Option<Vec<Member>> {
    let status = client
        .database("admin")
        .run_command(doc! { "replSetGetStatus": 1 })
        .await
        .ok()?;
    Some(members_of(&status))
}

/// `maxNumActiveUserIndexBuilds` (`None`: not readable by this user).
pub async fn max_index_builds(client: &Client) -> Option<i64> {
    let r = client
        .database("admin")
        .run_command(doc! { "getParameter": 1, "maxNumActiveUserIndexBuilds": 1 })
        .await
        .ok()?;
    match r.get("maxNumActiveUserIndexBuilds") {
        Some(Bson::Int32(n)) => Some(i64::from(*n)),
        Some(Bson::Int64(n)) => Some(*n),
        _ => None,
    }
}

/// The state database's changelog entries of `project` and the lock's holder.
pub async fn state(client: &Client, state_db: &str, project: Option<&str>) -> StateInfo {
    let mut info = StateInfo {
        database: state_db.to_string(),
        ..Default::default()
    };
    let filter = match project {
        Some(p) => doc! { "project": p },
        None => doc! { "project": { "$exists": false } },
    };
    match super::state_collection::<bson::Document>(client, state_db, "changelog")
        .count_documents(filter)
        .await
    {
        Ok(n) => info.changelog_entries = Some(n),
        Err(e) => info.unreadable = Some(super::describe_driver_error(&e)),
    }
    match super::lock::read(client, state_db, project).await {
        Ok(super::lock::LockRead::Held(s)) => {
            info.lock_holder = s.owner.map(|o| format!("{} pid {}", o.host, o.pid));
            info.lock_expires_at = s.expires_at.try_to_rfc3339_string().ok();
        }
        Ok(super::lock::LockRead::Unreadable(shown)) => {
            info.lock_holder = Some(format!("unreadable lock document: {shown}"));
        }
        Ok(super::lock::LockRead::Free { .. }) => {}
        Err(e) => {
            info.unreadable.get_or_insert(format!("{e:#}"));
        }
    }
    info
}
