//! Preflight: can every step of a run run, for this user on this server? Decided before the
//! first write, over plain data — what the server said about itself and the connected user
//! ([`ServerFacts`], read by `db::preflight`) and the operations the run will send — so that a
//! plan never stops halfway on a refused `collMod` after its index builds ran.
//!
//! Three kinds of finding: a privilege action the user lacks on a namespace (matched as the
//! server matches resources), a feature the server's version or feature compatibility version
//! (FCV) does not have, and a topology a step needs (a sharded cluster for sharding steps).
//! Each names the step, what is missing, and what would grant it.

use crate::ops::Operation;
use bson::Document;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;

/// A server version (or FCV) as `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// `"6.0.5"` or `"5.0"` (the FCV's form).
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().unwrap_or("0").parse().ok()?;
        Some(Self { major, minor })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Topology {
    Standalone,
    ReplicaSet,
    Sharded,
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Standalone => "a standalone server",
            Self::ReplicaSet => "a replica set",
            Self::Sharded => "a sharded cluster",
        })
    }
}

/// What a privilege applies to, as `connectionStatus` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// `{ db, collection }`; an empty `db` is every database, an empty `collection` every
    /// collection but the `system.` ones.
    Namespace { db: String, collection: String },
    /// `{ cluster: true }`.
    Cluster,
    /// `{ anyResource: true }`: everything, system collections included.
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Privilege {
    pub resource: Resource,
    pub actions: BTreeSet<String>,
}

/// What the connected user may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Access {
    /// No user is authenticated and the server answered anyway: access control is off.
    Unrestricted,
    Privileges {
        /// `user@db` of each authenticated user.
        users: Vec<String>,
        /// `role@db` of each role they hold, inherited ones included.
        roles: Vec<String>,
        privileges: Vec<Privilege>,
    },
}

/// What the server said about itself and the connected user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ServerFacts {
    pub version: Version,
    /// The version as the server writes it (`6.0.5`).
    pub release: String,
    /// `None` when the user may not read it (`getParameter` needs `clusterMonitor`).
    pub fcv: Option<Version>,
    pub topology: Topology,
    pub access: Access,
    /// Whether the server has search (`$listSearchIndexes` known); `None`: not asked.
    #[serde(skip)]
    #[schemars(skip)]
    pub search: Option<bool>,
}

impl ServerFacts {
    /// The version features are decided by: the FCV where known, else the binary's.
    fn effective(&self) -> Version {
        self.fcv.map_or(self.version, |f| f.min(self.version))
    }
}

/// One privilege action a step needs on a namespace (`collection` empty: the database).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    pub action: &'static str,
    pub db: String,
    pub collection: String,
}

/// A feature a step uses that came with a server version (and its FCV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    pub name: &'static str,
    pub since: Version,
}

/// Features of collection and index options, by option name.
const OPTION_FEATURES: &[(&str, &str, Version)] = &[
    ("timeseries", "time-series collections", Version::new(5, 0)),
    (
        "clusteredIndex",
        "clustered collections",
        Version::new(5, 3),
    ),
    (
        "changeStreamPreAndPostImages",
        "change stream pre- and post-images",
        Version::new(6, 0),
    ),
    (
        "encryptedFields",
        "Queryable Encryption",
        Version::new(7, 0),
    ),
    ("hidden", "hidden indexes", Version::new(4, 4)),
    ("prepareUnique", "prepareUnique", Version::new(6, 0)),
];

/// The privilege actions `op` needs (its database and collection filled in).
pub fn needs(op: &Operation) -> Vec<Need> {
    let need = |action: &'static str| Need {
        action,
        db: op.db().to_string(),
        collection: op.collection().to_string(),
    };
    match op {
        Operation::CreateCollection { .. } => vec![need("createCollection")],
        Operation::DropCollection { .. } => vec![need("dropCollection")],
        Operation::CreateIndex { .. } => vec![need("createIndex")],
        Operation::DropIndex { .. } => vec![need("dropIndex")],
        Operation::ModifyCollection { .. }
        | Operation::ModifyIndex { .. }
        | Operation::MakeIndexUnique { .. }
        | Operation::SetValidator { .. } => vec![need("collMod")],
        Operation::Backfill { .. }
        | Operation::UpdateMany { .. }
        | Operation::RenameField { .. }
        | Operation::EvolveField { .. } => vec![need("find"), need("update")],
        Operation::ContractField { .. } => vec![need("find")],
        Operation::ShardCollection { .. } => vec![need("enableSharding")],
        Operation::RefineShardKey { .. } => vec![need("refineCollectionShardKey")],
        Operation::CreateSearchIndex { .. } => vec![need("createSearchIndexes")],
        Operation::UpdateSearchIndex { .. } => vec![need("updateSearchIndex")],
        Operation::DropSearchIndex { .. } => vec![need("dropSearchIndex")],
        Operation::Command { .. } | Operation::Irreversible { .. } => Vec::new(),
    }
}

/// The version features `op` uses.
pub fn features(op: &Operation) -> Vec<Feature> {
    let of_options = |d: &Document| -> Vec<Feature> {
        OPTION_FEATURES
            .iter()
            .filter(|(key, _, _)| d.contains_key(*key))
            .map(|(_, name, since)| Feature {
                name,
                since: *since,
            })
            .collect()
    };
    match op {
        Operation::CreateCollection { options, .. }
        | Operation::ModifyCollection { options, .. } => of_options(options),
        Operation::CreateIndex { index, .. } => of_options(index),
        Operation::ModifyIndex {
            hidden: Some(_), ..
        } => of_options(&bson::doc! { "hidden": true }),
        Operation::MakeIndexUnique { .. } => of_options(&bson::doc! { "prepareUnique": true }),
        _ => Vec::new(),
    }
}

/// The topology `op` needs, if any.
fn topology_needed(op: &Operation) -> Option<Topology> {
    matches!(
        op,
        Operation::ShardCollection { .. } | Operation::RefineShardKey { .. }
    )
    .then_some(Topology::Sharded)
}

/// Does `privileges` allow `action` on `db.collection` (`collection` empty: the database)?
pub fn allows(privileges: &[Privilege], action: &str, db: &str, collection: &str) -> bool {
    privileges.iter().any(|p| {
        p.actions.contains(action)
            && match &p.resource {
                Resource::Any => true,
                Resource::Cluster => false,
                Resource::Namespace {
                    db: d,
                    collection: c,
                } => {
                    (d.is_empty() || d == db)
                        && if collection.is_empty() {
                            c.is_empty()
                        } else {
                            c == collection || (c.is_empty() && !collection.starts_with("system."))
                        }
                }
            }
    })
}

/// A built-in role that grants `action` on database `db`, as advice.
pub fn grant(action: &str, db: &str) -> String {
    match action {
        "find" | "insert" | "update" | "remove" => format!("the built-in role readWrite on {db}"),
        "createCollection" | "createIndex" | "dropIndex" | "dropCollection" => {
            format!("the built-in role readWrite (or dbAdmin) on {db}")
        }
        "collMod" => format!("the built-in role dbAdmin (or dbOwner) on {db}"),
        "enableSharding" | "refineCollectionShardKey" => {
            "the built-in role clusterManager".to_string()
        }
        "createSearchIndexes" | "updateSearchIndex" | "dropSearchIndex" => {
            format!("the built-in role readWrite (or dbAdmin) on {db}")
        }
        _ => format!("a role with the `{action}` action on {db}"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The user lacks a privilege action.
    Privilege,
    /// The server's version or FCV lacks a feature.
    Version,
    /// The topology lacks what a step relies on.
    Topology,
}

/// One reason a run would fail partway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Finding {
    pub kind: FindingKind,
    /// The step, as plans write it (`create_index shop.orders email_1`), or what the run
    /// itself needs (`the state database mongrate`).
    pub step: String,
    /// What is missing: `collMod on shop.orders`, `prepareUnique (6.0; this server's FCV is 5.0)`.
    pub missing: String,
    /// What would grant it.
    pub remedy: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: needs {}; {}", self.step, self.missing, self.remedy)
    }
}

/// What the run itself writes besides its steps: the state database's collections (the
/// changelog and lock of `migrate`, backfill checkpoints, retirement records).
#[derive(Debug, Clone, Default)]
pub struct RunNeeds {
    /// `(state database, why)`: written with find/insert/update/remove.
    pub state_db: Option<(String, &'static str)>,
    /// `(database, collection)` whose documents are read before any change (counting the
    /// documents a new validator or unique index would refuse).
    pub reads: Vec<(String, String)>,
}

/// Every finding for running `ops` with `facts`; empty when every step can run.
pub fn check<'a>(
    ops: impl IntoIterator<Item = &'a Operation>,
    run: &RunNeeds,
    facts: &ServerFacts,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let (Some((state, why)), Access::Privileges { privileges, .. }) =
        (&run.state_db, &facts.access)
    {
        let missing: Vec<&str> = ["find", "insert", "update", "remove"]
            .into_iter()
            .filter(|a| !allows(privileges, a, state, "changelog"))
            .collect();
        if !missing.is_empty() {
            findings.push(Finding {
                kind: FindingKind::Privilege,
                step: format!("the state database {state} ({why})"),
                missing: format!("{} on {state}", missing.join(", ")),
                remedy: format!(
                    "grant {}, or point `state_db` at a database the user may write",
                    grant("update", state)
                ),
            });
        }
    }
    if let Access::Privileges { privileges, .. } = &facts.access {
        let mut reads: Vec<&(String, String)> = run.reads.iter().collect();
        reads.sort();
        reads.dedup();
        for (db, collection) in reads {
            if !allows(privileges, "find", db, collection) {
                findings.push(Finding {
                    kind: FindingKind::Privilege,
                    step: format!("checking the documents of {db}.{collection} before a new validator or unique index"),
                    missing: format!("find on {db}.{collection}"),
                    remedy: format!("grant {}", grant("find", db)),
                });
            }
        }
    }
    let effective = facts.effective();
    let mut seen = BTreeSet::new();
    for op in ops {
        let step = op.summary();
        if let Access::Privileges { privileges, .. } = &facts.access {
            let missing: Vec<Need> = needs(op)
                .into_iter()
                .filter(|n| !allows(privileges, n.action, &n.db, &n.collection))
                .collect();
            if !missing.is_empty() {
                let actions: Vec<&str> = missing.iter().map(|n| n.action).collect();
                let ns = format!("{}.{}", op.db(), op.collection());
                findings.push(Finding {
                    kind: FindingKind::Privilege,
                    step: step.clone(),
                    missing: format!("{} on {ns}", actions.join(", ")),
                    remedy: format!("grant {}", grant(actions[0], op.db())),
                });
            }
        }
        for feature in features(op) {
            if effective >= feature.since {
                continue;
            }
            let (missing, remedy) = match facts.fcv {
                Some(fcv) if fcv < feature.since && facts.version >= feature.since => (
                    format!(
                        "{} (MongoDB {}; this server's feature compatibility version is {fcv})",
                        feature.name, feature.since
                    ),
                    format!(
                        "raise it with `db.adminCommand({{ setFeatureCompatibilityVersion: \"{}\", confirm: true }})` once no downgrade is planned",
                        facts.version
                    ),
                ),
                _ => (
                    format!(
                        "{} (MongoDB {}; this server is {})",
                        feature.name, feature.since, facts.version
                    ),
                    format!("upgrade the server to {} or later", feature.since),
                ),
            };
            if seen.insert((step.clone(), missing.clone())) {
                findings.push(Finding {
                    kind: FindingKind::Version,
                    step: step.clone(),
                    missing,
                    remedy,
                });
            }
        }
        if facts.search == Some(false)
            && matches!(
                op,
                Operation::CreateSearchIndex { .. }
                    | Operation::UpdateSearchIndex { .. }
                    | Operation::DropSearchIndex { .. }
            )
        {
            findings.push(Finding {
                kind: FindingKind::Topology,
                step: step.clone(),
                missing: "a deployment with search (this server has no Atlas Search)".to_string(),
                remedy: "run it on MongoDB Atlas or a deployment with mongot, or remove the step"
                    .to_string(),
            });
        }
        if let Some(needed) = topology_needed(op)
            && needed != facts.topology
        {
            findings.push(Finding {
                kind: FindingKind::Topology,
                step: step.clone(),
                missing: format!("{needed} (this is {})", facts.topology),
                remedy: format!(
                    "the server is not {needed}: connect through a mongos, or remove the shard key from the schemas"
                ),
            });
        }
    }
    findings
}

// Decoding the server's answers (read by `db::preflight`).

/// Standalone, replica set member or mongos, from a `hello` reply.
pub fn topology_of(hello: &Document) -> Topology {
    if hello.get_str("msg") == Ok("isdbgrid") {
        Topology::Sharded
    } else if hello.contains_key("setName") {
        Topology::ReplicaSet
    } else {
        Topology::Standalone
    }
}

/// The user's access from a `connectionStatus { showPrivileges: true }` reply. No
/// authenticated user on a server that answered mongrate's reads: access control is off.
pub fn access_of(status: &Document) -> Access {
    let info = status.get_document("authInfo").ok();
    let list = |key: &str, name: &str| -> Vec<String> {
        info.and_then(|i| i.get_array(key).ok())
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_document())
                    .map(|u| {
                        format!(
                            "{}@{}",
                            u.get_str(name).unwrap_or("?"),
                            u.get_str("db").unwrap_or("?")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let users = list("authenticatedUsers", "user");
    if users.is_empty() {
        return Access::Unrestricted;
    }
    let privileges = info
        .and_then(|i| i.get_array("authenticatedUserPrivileges").ok())
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_document())
                .filter_map(privilege_of)
                .collect()
        })
        .unwrap_or_default();
    Access::Privileges {
        users,
        roles: list("authenticatedUserRoles", "role"),
        privileges,
    }
}

fn privilege_of(p: &Document) -> Option<Privilege> {
    let r = p.get_document("resource").ok()?;
    let resource = if r.get_bool("anyResource") == Ok(true) {
        Resource::Any
    } else if r.get_bool("cluster") == Ok(true) {
        Resource::Cluster
    } else {
        Resource::Namespace {
            db: r.get_str("db").ok()?.to_string(),
            collection: r.get_str("collection").ok()?.to_string(),
        }
    };
    Some(Privilege {
        resource,
        actions: p
            .get_array("actions")
            .ok()?
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ValidationAction, ValidationLevel};
    use crate::ops::Operation;
    use bson::doc;

    fn privilege(db: &str, collection: &str, actions: &[&str]) -> Privilege {
        Privilege {
            resource: Resource::Namespace {
                db: db.into(),
                collection: collection.into(),
            },
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }

    const READ_WRITE: &[&str] = &[
        "collStats",
        "createCollection",
        "createIndex",
        "dropCollection",
        "dropIndex",
        "find",
        "insert",
        "listCollections",
        "listIndexes",
        "remove",
        "update",
    ];

    fn facts(privileges: Vec<Privilege>) -> ServerFacts {
        ServerFacts {
            version: Version::new(6, 0),
            release: "6.0.5".into(),
            search: None,
            fcv: Some(Version::new(6, 0)),
            topology: Topology::ReplicaSet,
            access: Access::Privileges {
                users: vec!["app@admin".into()],
                roles: vec![],
                privileges,
            },
        }
    }

    fn plan_ops() -> Vec<Operation> {
        vec![
            Operation::CreateIndex {
                db: "shop".into(),
                collection: "orders".into(),
                index: doc! { "key": { "email": 1 }, "name": "email_1" },
            },
            Operation::SetValidator {
                db: "shop".into(),
                collection: "orders".into(),
                validator: Some(doc! { "$jsonSchema": { "bsonType": "object" } }),
                level: ValidationLevel::Strict,
                action: ValidationAction::Error,
            },
        ]
    }

    #[test]
    fn read_write_may_build_indexes_but_not_change_a_validator() {
        let f = check(
            &plan_ops(),
            &RunNeeds::default(),
            &facts(vec![privilege("shop", "", READ_WRITE)]),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, FindingKind::Privilege);
        assert!(
            f[0].step.starts_with("set_validator shop.orders"),
            "{}",
            f[0]
        );
        assert_eq!(f[0].missing, "collMod on shop.orders");
        assert!(f[0].remedy.contains("dbAdmin"), "{}", f[0]);
    }

    #[test]
    fn read_alone_is_refused_every_step_and_the_state_database() {
        let run = RunNeeds {
            state_db: Some(("mongrate".into(), "the migration changelog and lock")),
            reads: vec![("shop".into(), "orders".into())],
        };
        let f = check(
            &plan_ops(),
            &run,
            &facts(vec![privilege("", "", &["find", "listCollections"])]),
        );
        let said: Vec<String> = f.iter().map(|x| x.to_string()).collect();
        assert_eq!(f.len(), 3, "{said:#?}");
        assert_eq!(f[0].missing, "insert, update, remove on mongrate");
        assert!(f[1].missing.starts_with("createIndex on shop.orders"));
        assert!(f[2].missing.starts_with("collMod on shop.orders"));
        // dbAdmin may change the validator but not read the documents it first counts.
        let db_admin = facts(vec![privilege(
            "shop",
            "",
            &["collMod", "createIndex", "listCollections"],
        )]);
        let f = check(&plan_ops(), &run, &db_admin);
        let missing: Vec<&str> = f.iter().map(|x| x.missing.as_str()).collect();
        assert_eq!(
            missing,
            [
                "find, insert, update, remove on mongrate",
                "find on shop.orders"
            ]
        );
    }

    #[test]
    fn no_access_control_and_a_root_user_allow_everything() {
        let mut open = facts(vec![]);
        open.access = Access::Unrestricted;
        assert!(check(&plan_ops(), &RunNeeds::default(), &open).is_empty());
        let root = facts(vec![Privilege {
            resource: Resource::Any,
            actions: ["collMod", "createIndex"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }]);
        assert!(check(&plan_ops(), &RunNeeds::default(), &root).is_empty());
    }

    #[test]
    fn resources_match_as_the_server_matches_them() {
        let p = [
            privilege("shop", "orders", &["collMod"]),
            privilege("", "audit", &["find"]),
            privilege("crm", "", &["update"]),
        ];
        assert!(allows(&p, "collMod", "shop", "orders"));
        assert!(!allows(&p, "collMod", "shop", "users"));
        assert!(allows(&p, "find", "any_db", "audit"));
        assert!(allows(&p, "update", "crm", "people"));
        // A database-wide privilege leaves system collections out, and is not the database.
        assert!(!allows(&p, "update", "crm", "system.views"));
        assert!(!allows(&p, "collMod", "shop", ""));
        let cluster = [Privilege {
            resource: Resource::Cluster,
            actions: ["find".to_string()].into(),
        }];
        assert!(!allows(&cluster, "find", "shop", "orders"));
    }

    #[test]
    fn an_fcv_below_a_feature_is_named_with_how_to_raise_it() {
        let op = Operation::MakeIndexUnique {
            db: "shop".into(),
            collection: "orders".into(),
            name: "email_1".into(),
        };
        let mut f = facts(vec![privilege("", "", &["collMod"])]);
        f.fcv = Some(Version::new(5, 0));
        let found = check([&op], &RunNeeds::default(), &f);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, FindingKind::Version);
        assert!(
            found[0]
                .missing
                .contains("feature compatibility version is 5.0")
        );
        assert!(
            found[0]
                .remedy
                .contains("setFeatureCompatibilityVersion: \"6.0\"")
        );
        // An older binary: upgrade, not FCV.
        f.version = Version::new(5, 0);
        let found = check([&op], &RunNeeds::default(), &f);
        assert!(found[0].remedy.starts_with("upgrade the server to 6.0"));
        // Unknown FCV: the binary decides.
        f.version = Version::new(6, 0);
        f.fcv = None;
        assert!(check([&op], &RunNeeds::default(), &f).is_empty());
    }

    #[test]
    fn time_series_and_pre_images_need_their_versions() {
        let op = Operation::CreateCollection {
            db: "iot".into(),
            collection: "readings".into(),
            options: doc! { "timeseries": { "timeField": "at" }, "changeStreamPreAndPostImages": { "enabled": true } },
        };
        let mut f = facts(vec![privilege("", "", &["createCollection"])]);
        f.version = Version::new(4, 4);
        f.fcv = Some(Version::new(4, 4));
        let found = check([&op], &RunNeeds::default(), &f);
        let missing: Vec<&str> = found.iter().map(|x| x.missing.as_str()).collect();
        assert_eq!(found.len(), 2, "{missing:?}");
        assert!(missing[0].starts_with("time-series collections (MongoDB 5.0"));
        assert!(missing[1].starts_with("change stream pre- and post-images (MongoDB 6.0"));
    }

    #[test]
    fn sharding_steps_need_a_sharded_cluster() {
        let op = Operation::ShardCollection {
            db: "shop".into(),
            collection: "orders".into(),
            key: doc! { "tenant": 1 },
            unique: false,
            initial_chunks: None,
            simple_collation: false,
        };
        let mut f = facts(vec![]);
        f.access = Access::Unrestricted;
        let found = check([&op], &RunNeeds::default(), &f);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].missing,
            "a sharded cluster (this is a replica set)"
        );
        f.topology = Topology::Sharded;
        assert!(check([&op], &RunNeeds::default(), &f).is_empty());
    }

    #[test]
    fn versions_parse_as_servers_write_them() {
        assert_eq!(Version::parse("6.0.5"), Some(Version::new(6, 0)));
        assert_eq!(Version::parse("5.0"), Some(Version::new(5, 0)));
        assert_eq!(Version::parse("7"), Some(Version::new(7, 0)));
        assert_eq!(Version::parse("x"), None);
    }

    #[test]
    fn a_connection_status_reply_becomes_privileges() {
        let reply = doc! { "authInfo": {
            "authenticatedUsers": [{ "user": "app", "db": "admin" }],
            "authenticatedUserRoles": [{ "role": "readWrite", "db": "shop" }],
            "authenticatedUserPrivileges": [
                { "resource": { "db": "shop", "collection": "" }, "actions": ["find", "update"] },
                { "resource": { "cluster": true }, "actions": ["listDatabases"] },
                { "resource": { "anyResource": true }, "actions": ["collMod"] },
                { "resource": { "db": "shop", "system_buckets": "x" }, "actions": ["find"] },
            ],
        }, "ok": 1 };
        let Access::Privileges {
            users,
            roles,
            privileges,
        } = access_of(&reply)
        else {
            panic!("a user is authenticated")
        };
        assert_eq!(users, ["app@admin"]);
        assert_eq!(roles, ["readWrite@shop"]);
        assert_eq!(
            privileges.len(),
            3,
            "the bucket resource is not a namespace"
        );
        assert!(allows(&privileges, "update", "shop", "orders"));
        assert!(allows(&privileges, "collMod", "crm", "x"));
        let open =
            doc! { "authInfo": { "authenticatedUsers": [], "authenticatedUserPrivileges": [] } };
        assert_eq!(access_of(&open), Access::Unrestricted);
    }

    #[test]
    fn hello_says_the_topology() {
        assert_eq!(topology_of(&doc! { "msg": "isdbgrid" }), Topology::Sharded);
        assert_eq!(
            topology_of(&doc! { "setName": "rs0" }),
            Topology::ReplicaSet
        );
        assert_eq!(
            topology_of(&doc! { "isWritablePrimary": true }),
            Topology::Standalone
        );
    }
}
