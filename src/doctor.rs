//! `doctor`'s decisions, over plain data: the replica set's members as `replSetGetStatus`
//! reports them, which of the actions mongrate uses the user holds on each database, and which
//! of the facts gathered are problems (exit 2) rather than information.

use crate::preflight::{Access, Finding, ServerFacts, allows};

use bson::{Bson, Document};
use serde::Serialize;

/// The actions mongrate's commands use on a project database.
pub const PROJECT_ACTIONS: [&str; 9] = [
    "find",
    "insert",
    "update",
    "remove",
    "createCollection",
    "createIndex",
    "dropIndex",
    "dropCollection",
    "collMod",
];

/// The actions mongrate writes its state with (changelog, lock, checkpoints).
pub const STATE_ACTIONS: [&str; 4] = ["find", "insert", "update", "remove"];

/// One member of a replica set.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Member {
    pub host: String,
    /// `PRIMARY`, `SECONDARY`, `ARBITER`, `(not reachable/healthy)`, ... as the server says.
    pub state: String,
    pub healthy: bool,
    /// Seconds behind the primary (secondaries whose optime is known).
    pub lag_seconds: Option<f64>,
}

/// The members of a `replSetGetStatus` reply.
pub fn members_of(status: &Document) -> Vec<Member> {
    let Ok(members) = status.get_array("members") else {
        return Vec::new();
    };
    let members: Vec<&Document> = members.iter().filter_map(Bson::as_document).collect();
    let optime = |m: &Document| {
        m.get_datetime("optimeDate")
            .ok()
            .map(|d| d.timestamp_millis())
    };
    let primary = members
        .iter()
        .find(|m| m.get_str("stateStr") == Ok("PRIMARY"))
        .and_then(|m| optime(m));
    members
        .iter()
        .map(|m| {
            let state = m.get_str("stateStr").unwrap_or("UNKNOWN").to_string();
            let healthy = match m.get("health") {
                Some(Bson::Double(h)) => *h >= 1.0,
                Some(Bson::Int32(h)) => *h >= 1,
                Some(Bson::Int64(h)) => *h >= 1,
                _ => false,
            };
            let lag_seconds = (state == "SECONDARY")
                .then(|| Some((primary? - optime(m)?).max(0) as f64 / 1000.0))
                .flatten();
            Member {
                host: m.get_str("name").unwrap_or("?").to_string(),
                state,
                healthy,
                lag_seconds,
            }
        })
        .collect()
}

/// What the state database holds, as `doctor` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct StateInfo {
    pub database: String,
    /// Changelog entries of this project (`None`: not readable by this user).
    pub changelog_entries: Option<u64>,
    /// Who holds the migration lock (`None`: free, or not readable).
    pub lock_holder: Option<String>,
    /// When the holder's lease ends (RFC 3339).
    pub lock_expires_at: Option<String>,
    /// Why the state could not be read, if it could not.
    pub unreadable: Option<String>,
}

/// Which of `actions` the user holds on `db` (all of them without access control).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Grants {
    pub database: String,
    /// What mongrate needs this database for: `project` or `state`.
    pub role: &'static str,
    pub granted: Vec<String>,
    pub missing: Vec<String>,
}

pub fn grants(access: &Access, db: &str, role: &'static str, actions: &[&str]) -> Grants {
    let (granted, missing): (Vec<&str>, Vec<&str>) = actions.iter().partition(|a| match access {
        Access::Unrestricted => true,
        // Any collection the database may hold: its non-system collections.
        Access::Privileges { privileges, .. } => allows(privileges, a, db, "any_collection"),
    });
    Grants {
        database: db.to_string(),
        role,
        granted: granted.into_iter().map(str::to_string).collect(),
        missing: missing.into_iter().map(str::to_string).collect(),
    }
}

/// Everything `doctor` gathered that decides its exit code.
pub struct Facts<'a> {
    pub server: &'a ServerFacts,
    /// `None` when the user may not run `replSetGetStatus`, or on a standalone server.
    pub members: Option<&'a [Member]>,
    pub grants: &'a [Grants],
    /// Errors of the schema files (0: valid; `None`: no schemas folder).
    pub schema_errors: Option<usize>,
    /// What preflight says of the plan (empty when there is no plan, or it is empty).
    pub preflight: &'a [Finding],
    /// Lag above this is a problem.
    pub max_lag_seconds: f64,
}

/// The problems among the facts, each a sentence saying what to do.
pub fn problems(f: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(fcv) = f.server.fcv
        && fcv < f.server.version
    {
        out.push(format!(
            "the feature compatibility version is {fcv}, below the server's {}: options of {} are refused until it is raised (setFeatureCompatibilityVersion)",
            f.server.version, f.server.version
        ));
    }
    for m in f.members.unwrap_or_default() {
        if !m.healthy {
            out.push(format!(
                "member {} is {}: index builds wait for it (commit quorum) and majority writes may stall",
                m.host, m.state
            ));
        } else if let Some(lag) = m.lag_seconds
            && lag > f.max_lag_seconds
        {
            out.push(format!(
                "member {} is {lag:.0}s behind the primary: backfills pause while it catches up (--max-lag)",
                m.host
            ));
        }
    }
    for g in f.grants {
        if !g.missing.is_empty() {
            out.push(format!(
                "the user lacks {} on {} ({} database)",
                g.missing.join(", "),
                g.database,
                g.role
            ));
        }
    }
    match f.schema_errors {
        Some(n) if n > 0 => out.push(format!(
            "the schema files have {}: see `mongrate validate`",
            crate::progress::count(n as u64, "error")
        )),
        _ => {}
    }
    for finding in f.preflight {
        out.push(format!("the plan cannot run: {finding}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::{Privilege, Resource, Topology, Version};
    use bson::{DateTime, doc};

    fn status() -> Document {
        let at = |ms: i64| DateTime::from_millis(1_700_000_000_000 + ms);
        doc! { "members": [
            { "name": "a:1", "stateStr": "PRIMARY", "health": 1.0, "optimeDate": at(20_000) },
            { "name": "b:2", "stateStr": "SECONDARY", "health": 1.0, "optimeDate": at(5_000) },
            { "name": "c:3", "stateStr": "(not reachable/healthy)", "health": 0.0, "optimeDate": at(0) },
        ] }
    }

    fn facts() -> ServerFacts {
        ServerFacts {
            version: Version::new(6, 0),
            release: "6.0.5".into(),
            search: None,
            fcv: Some(Version::new(6, 0)),
            topology: Topology::ReplicaSet,
            access: Access::Unrestricted,
        }
    }

    #[test]
    fn members_say_their_state_health_and_lag() {
        let m = members_of(&status());
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].lag_seconds, None, "the primary lags nobody");
        assert_eq!(m[1].lag_seconds, Some(15.0));
        assert!(!m[2].healthy);
        assert_eq!(m[2].lag_seconds, None);
    }

    #[test]
    fn a_member_down_a_lagging_one_and_a_low_fcv_are_problems() {
        let members = members_of(&status());
        let mut server = facts();
        server.fcv = Some(Version::new(5, 0));
        let p = problems(&Facts {
            server: &server,
            members: Some(&members),
            grants: &[],
            schema_errors: Some(0),
            preflight: &[],
            max_lag_seconds: 10.0,
        });
        assert_eq!(p.len(), 3, "{p:#?}");
        assert!(p[0].starts_with("the feature compatibility version is 5.0"));
        assert!(p[1].starts_with("member b:2 is 15s behind"));
        assert!(p[2].starts_with("member c:3 is (not reachable/healthy)"));
    }

    #[test]
    fn grants_name_what_a_read_write_user_lacks() {
        let access = Access::Privileges {
            users: vec!["app@admin".into()],
            roles: vec!["readWrite@shop".into()],
            privileges: vec![Privilege {
                resource: Resource::Namespace {
                    db: "shop".into(),
                    collection: String::new(),
                },
                actions: [
                    "find",
                    "insert",
                    "update",
                    "remove",
                    "createCollection",
                    "createIndex",
                    "dropIndex",
                    "dropCollection",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            }],
        };
        let g = grants(&access, "shop", "project", &PROJECT_ACTIONS);
        assert_eq!(g.missing, ["collMod"]);
        let state = grants(&access, "mongrate", "state", &STATE_ACTIONS);
        assert_eq!(state.granted, Vec::<String>::new());
        let server = facts();
        let p = problems(&Facts {
            server: &server,
            members: None,
            grants: &[g, state],
            schema_errors: None,
            preflight: &[],
            max_lag_seconds: 10.0,
        });
        assert_eq!(
            p,
            [
                "the user lacks collMod on shop (project database)",
                "the user lacks find, insert, update, remove on mongrate (state database)"
            ]
        );
        let open = grants(&Access::Unrestricted, "shop", "project", &PROJECT_ACTIONS);
        assert!(open.missing.is_empty());
    }
}
