//! [`Server`]: a connected server for one run — its runtime, its client, and a watchdog that
//! fails the run when the server stops answering.

use super::{ServerStopped, Settings};
use anyhow::{Context, Result};
use mongodb::Client;
use std::future::Future;
use std::time::{Duration, Instant};

/// A tokio runtime for the use cases that talk to a server.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// A connected server; the client is shut down when this is dropped.
pub struct Server {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    timeout: Duration,
    /// How long a replica set may go without a primary (`--retry-for`).
    election: Duration,
    shown_uri: String,
}

impl Server {
    /// Connect (failing within the server timeout).
    pub fn connect(settings: &Settings) -> Result<Self> {
        let rt = runtime()?;
        let connected = rt.block_on(crate::db::connect(&settings.connect_options()))?;
        Ok(Self {
            rt,
            client: Some(connected.client),
            timeout: connected.server_timeout,
            election: Duration::from_secs(settings.retry_for),
            shown_uri: settings.shown_uri(),
        })
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("connected until dropped")
    }

    /// Run `work`; fail it if the server stops answering pings for the server timeout.
    pub fn run<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let client = self.client();
        let timeout = self.timeout;
        let shown = &self.shown_uri;
        self.rt.block_on(async {
            tokio::select! {
                r = work => r,
                why = watchdog(client, timeout, self.election) => {
                    let during = crate::progress::activity()
                        .map(|a| format!(" during {a}"))
                        .unwrap_or_default();
                    Err(ServerStopped(format!(
                        "the server at {shown} stopped answering{during}: {why}; the step that was running may or may not have completed on the server (every step is idempotent: run the command again once the server is back)"
                    ))
                    .into())
                }
            }
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Bounded: a frozen server must not hold the process at exit.
            self.rt.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(2), crate::db::disconnect(client))
                    .await;
            });
        }
    }
}

/// Resolves when the server has not answered a ping for `timeout`, with the reason. While
/// some member of a replica set still answers (an election: no primary for a while), the
/// primary may stay silent for up to `election` (`--retry-for`) before the run is failed.
async fn watchdog(client: &Client, timeout: Duration, election: Duration) -> String {
    let every = (timeout / 3).max(Duration::from_millis(500));
    let mut last_ok = Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let why = match crate::db::ping(client, timeout).await {
            Ok(()) => {
                last_ok = Instant::now();
                continue;
            }
            Err(why) => why,
        };
        if last_ok.elapsed() < timeout {
            continue;
        }
        let electing = crate::db::ping_any(client, every).await.is_ok();
        if electing && last_ok.elapsed() < election.max(timeout) {
            continue;
        }
        return if electing {
            format!(
                "no primary for {}s, though other members answer (--retry-for {}): {why}",
                last_ok.elapsed().as_secs(),
                election.as_secs()
            )
        } else {
            format!(
                "no answer for {}s (--server-timeout {}): {why}",
                last_ok.elapsed().as_secs(),
                timeout.as_secs()
            )
        };
    }
}
