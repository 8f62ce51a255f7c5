//! `doctor`: the server, the user, the state database and the project, and the problems.

use super::{Text, TextOptions, View, exit};
use crate::doctor::{Grants, Member, StateInfo};
use crate::preflight::{Finding, Topology};
use serde::Serialize;
use std::fmt::Write;

/// `mongrate doctor`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DoctorReport {
    pub server: ServerInfo,
    pub user: UserInfo,
    pub state: StateInfo,
    pub project: ProjectInfo,
    /// Each problem found, as a sentence saying what it means (exit 2 when there are any).
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ServerInfo {
    /// The connection string, password hidden.
    pub uri: String,
    pub version: String,
    /// `null` when the user may not read it (`getParameter` needs `clusterMonitor`).
    pub feature_compatibility_version: Option<String>,
    pub topology: Topology,
    /// A replica set's members (`null`: a standalone server, or the user may not run
    /// `replSetGetStatus`).
    pub members: Option<Vec<Member>>,
    /// `maxNumActiveUserIndexBuilds` (`null` when not readable).
    pub max_index_builds: Option<i64>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UserInfo {
    /// Whether the server checks who connects (false: every action is allowed).
    pub access_control: bool,
    /// `user@db` of the authenticated users.
    pub users: Vec<String>,
    /// `role@db` of their roles.
    pub roles: Vec<String>,
    /// Per project database and the state database: the actions mongrate uses, granted or not.
    pub grants: Vec<Grants>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ProjectInfo {
    /// The schemas folder.
    pub schemas: String,
    /// Whether the folder exists.
    pub found: bool,
    /// Errors of the schema files (`null` without a folder).
    pub errors: Option<usize>,
    pub collections: Option<usize>,
    /// Steps `apply` would run (`null` when the files are not valid).
    pub plan_steps: Option<usize>,
    /// Steps of that plan that cannot run for this user on this server.
    pub preflight: Vec<Finding>,
}

fn or_unknown(v: Option<String>, why: &str) -> String {
    v.unwrap_or_else(|| format!("unknown ({why})"))
}

impl View for DoctorReport {
    fn command(&self) -> &'static str {
        "doctor"
    }

    fn text(&self, o: &TextOptions) -> Text {
        let s = &self.server;
        let mut out = String::new();
        let _ = writeln!(out, "{}", o.style.paint("1", "Server"));
        let _ = writeln!(out, "  {}", s.uri);
        let _ = writeln!(
            out,
            "  MongoDB {}, feature compatibility version {}, {}",
            s.version,
            or_unknown(
                s.feature_compatibility_version.clone(),
                "needs clusterMonitor"
            ),
            s.topology
        );
        match &s.members {
            Some(members) => {
                for m in members {
                    let lag = m
                        .lag_seconds
                        .map(|l| format!(", {l:.0}s behind"))
                        .unwrap_or_default();
                    let mark = if m.healthy { "ok" } else { "!!" };
                    let _ = writeln!(out, "  {mark} {} {}{lag}", m.host, m.state);
                }
            }
            None if s.topology == Topology::ReplicaSet => {
                let _ = writeln!(
                    out,
                    "  members: unknown (replSetGetStatus needs clusterMonitor)"
                );
            }
            None => {}
        }
        let _ = writeln!(
            out,
            "  index builds at once: {}",
            or_unknown(
                s.max_index_builds.map(|n| n.to_string()),
                "needs clusterMonitor"
            )
        );
        let u = &self.user;
        let _ = writeln!(out, "\n{}", o.style.paint("1", "User"));
        if u.access_control {
            let _ = writeln!(
                out,
                "  {} with roles {}",
                u.users.join(", "),
                u.roles.join(", ")
            );
        } else {
            let _ = writeln!(out, "  no access control: every action is allowed");
        }
        for g in &u.grants {
            let _ = writeln!(
                out,
                "  {} ({}): {}",
                g.database,
                g.role,
                if g.missing.is_empty() {
                    "every action mongrate uses".to_string()
                } else {
                    format!("lacks {}", g.missing.join(", "))
                }
            );
        }
        let st = &self.state;
        let _ = writeln!(out, "\n{}", o.style.paint("1", "State"));
        match &st.unreadable {
            Some(why) => {
                let _ = writeln!(out, "  {}: not readable: {why}", st.database);
            }
            None => {
                let _ = writeln!(
                    out,
                    "  {}: {} in the changelog; lock {}",
                    st.database,
                    crate::progress::count(st.changelog_entries.unwrap_or(0), "entry"),
                    match (&st.lock_holder, &st.lock_expires_at) {
                        (Some(h), Some(at)) => format!("held by {h} until {at}"),
                        (Some(h), None) => format!("held by {h}"),
                        _ => "free".to_string(),
                    }
                );
            }
        }
        let p = &self.project;
        let _ = writeln!(out, "\n{}", o.style.paint("1", "Project"));
        if !p.found {
            let _ = writeln!(out, "  no schemas folder at `{}`", p.schemas);
        } else {
            let _ = writeln!(
                out,
                "  `{}`: {}, {}; {}",
                p.schemas,
                crate::progress::count(p.collections.unwrap_or(0) as u64, "collection"),
                crate::progress::count(p.errors.unwrap_or(0) as u64, "error"),
                match p.plan_steps {
                    Some(0) => "in sync with the server".to_string(),
                    Some(n) => format!(
                        "`apply` would run {}",
                        crate::progress::count(n as u64, "step")
                    ),
                    None => "not planned (fix the files first)".to_string(),
                }
            );
        }
        let _ = writeln!(out);
        if self.problems.is_empty() {
            let _ = writeln!(out, "No problems found.");
        } else {
            let _ = writeln!(
                out,
                "{}",
                o.style.paint(
                    "33",
                    &format!(
                        "{}:",
                        crate::progress::count(self.problems.len() as u64, "problem")
                    )
                )
            );
            for p in &self.problems {
                let _ = writeln!(out, "  ! {p}");
            }
        }
        let mut t = Text::default();
        t.out(out);
        t
    }

    fn exit_code(&self) -> i32 {
        if self.problems.is_empty() {
            exit::OK
        } else {
            exit::DIFFERENCES
        }
    }
}
