//! Reading a chain's own view of itself: height and genesis hash from the nodes' `/status`
//! endpoint (`/v1/status`), through the client Service.

use std::time::Duration;

use serde::Deserialize;

/// What a node reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeStatus {
    pub height: u64,
    pub genesis_hash: String,
}

/// A way to ask a chain for its status; `None` when it cannot be reached (yet).
#[async_trait::async_trait]
pub trait Probe: Send + Sync {
    async fn status(&self, base_url: &str) -> Option<NodeStatus>;
}

/// Asks over HTTP with a short timeout, so an unreachable chain never stalls a reconcile.
pub struct HttpProbe {
    client: reqwest::Client,
}

impl HttpProbe {
    pub fn new() -> anyhow::Result<HttpProbe> {
        Ok(HttpProbe {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }
}

#[derive(Deserialize)]
struct StatusBody {
    height: u64,
    genesis_hash: String,
}

#[async_trait::async_trait]
impl Probe for HttpProbe {
    async fn status(&self, base_url: &str) -> Option<NodeStatus> {
        let resp = self
            .client
            .get(format!("{base_url}/v1/status"))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let body: StatusBody = resp.json().await.ok()?;
        Some(NodeStatus {
            height: body.height,
            genesis_hash: body.genesis_hash,
        })
    }
}

/// A probe that never reaches anything (the operator running outside the cluster).
pub struct NoProbe;

#[async_trait::async_trait]
impl Probe for NoProbe {
    async fn status(&self, _base_url: &str) -> Option<NodeStatus> {
        None
    }
}
