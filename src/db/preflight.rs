//! Read what preflight decides over: the server's version, feature compatibility version and
//! topology, and the connected user's privileges (`connectionStatus { showPrivileges: true }`).
//! Three commands any authenticated user may run, and `getParameter` where permitted.

use super::describe_driver_error;
use crate::preflight::{ServerFacts, Version, access_of, topology_of};
use anyhow::{Context, Result, anyhow};
use bson::{Document, doc};
use mongodb::Client;

/// What the server says about itself and the connected user.
pub async fn facts(client: &Client) -> Result<ServerFacts> {
    let admin = client.database("admin");
    let run = |cmd: Document, what: &'static str| {
        let admin = admin.clone();
        async move {
            admin
                .run_command(cmd)
                .await
                .map_err(|e| anyhow!(describe_driver_error(&e)))
                .with_context(|| format!("reading {what}"))
        }
    };
    let build = run(doc! { "buildInfo": 1 }, "the server's version (buildInfo)").await?;
    let hello = run(doc! { "hello": 1 }, "the server's topology (hello)").await?;
    let status = run(
        doc! { "connectionStatus": 1, "showPrivileges": true },
        "the user's privileges (connectionStatus)",
    )
    .await?;
    // Needs clusterMonitor (or root): unknown for an application user.
    let fcv = admin
        .run_command(doc! { "getParameter": 1, "featureCompatibilityVersion": 1 })
        .await
        .ok()
        .and_then(|r| {
            r.get_document("featureCompatibilityVersion")
                .ok()
                .and_then(|f| f.get_str("version").ok())
                .and_then(Version::parse)
        });
    let release = build
        .get_str("version")
        .context("the server's buildInfo has no version")?;
    Ok(ServerFacts {
        version: Version::parse(release)
            .with_context(|| format!("the server's version `{release}` is not major.minor"))?,
        release: release.to_string(),
        fcv,
        topology: topology_of(&hello),
        access: access_of(&status),
        search: Some(has_search(client).await),
    })
}

/// Does the server know `$listSearchIndexes` (asked of a collection that need not exist)?
async fn has_search(client: &Client) -> bool {
    match client
        .database("admin")
        .run_command(doc! { "aggregate": "mongrate_probe", "pipeline": [{ "$listSearchIndexes": {} }], "cursor": {} })
        .await
    {
        Ok(_) => true,
        Err(e) => !super::search::unsupported(&e),
    }
}
