//! Where chains run. The API server records a chain and its key material, then hands a
//! [`ChainPlan`] to a [`Runtime`]:
//!
//! - [`local`]: `consortia-node` processes on this machine, supervised (the embedded default);
//! - [`kubernetes`]: a `Chain` custom resource and its key Secret; the operator does the rest.
//!
//! Both take the chain's keys, genesis and node names from `consortia-engines`, so a chain
//! means the same thing wherever it runs. Runtimes are idempotent: `ensure` on a chain that
//! already runs adopts it; `remove` of a chain that is gone succeeds.

pub mod kubernetes;
pub mod local;

use std::collections::HashSet;

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::domain::chains::{ChainPlan, NodePlan};
pub use consortia_crds::{Engine, Phase};

/// The ports one node listens on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodePorts {
    pub p2p: u16,
    pub api: u16,
}

/// Where a chain's new nodes listen: the runtime's answer to [`Runtime::place`]. Ports taken on
/// this machine stay held for the chain until the placement is dropped (once its nodes are
/// recorded, or their creation failed), so no other chain is placed on them meanwhile.
pub struct Placement {
    /// One entry per node, in the order asked for.
    pub nodes: Vec<NodePorts>,
    /// Ports taken on this machine (none when the nodes run elsewhere, as on Kubernetes).
    held: Vec<u16>,
    release: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Placement {
    /// Nodes that listen on fixed ports of their own hosts (pods): nothing is held here.
    pub fn fixed(nodes: Vec<NodePorts>) -> Placement {
        Placement {
            nodes,
            held: Vec::new(),
            release: None,
        }
    }

    /// Nodes on ports of this machine, held until `release` runs when the placement is dropped.
    pub fn held(
        nodes: Vec<NodePorts>,
        release: impl FnOnce() + Send + Sync + 'static,
    ) -> Placement {
        let held = nodes.iter().flat_map(|n| [n.p2p, n.api]).collect();
        Placement {
            nodes,
            held,
            release: Some(Box::new(release)),
        }
    }

    /// The ports taken on this machine.
    pub fn held_ports(&self) -> &[u16] {
        &self.held
    }
}

impl Drop for Placement {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
    }
}

impl std::fmt::Debug for Placement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Placement")
            .field("nodes", &self.nodes)
            .field("held", &self.held)
            .finish_non_exhaustive()
    }
}

/// State of one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    Starting,
    Running,
    /// Exited; the supervisor restarts it after a backoff.
    Restarting,
    Stopped,
}

/// What a runtime reports of one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct NodeReport {
    pub name: String,
    pub member: String,
    pub state: NodeState,
    /// Times the node was restarted after exiting.
    pub restarts: u32,
    /// Latest height the node reported.
    pub height: Option<u64>,
    /// Base URL of the node's REST API.
    pub endpoint: Option<String>,
}

/// What a runtime reports of a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChainReport {
    /// In the API's spelling (`running`).
    #[serde(serialize_with = "Phase::serialize_api")]
    #[schema(value_type = String)]
    pub phase: Phase,
    pub height: Option<u64>,
    pub genesis_hash: Option<String>,
    pub message: Option<String>,
    pub nodes: Vec<NodeReport>,
}

/// A runtime could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The chain cannot run here at all (e.g. Fabric on the local runtime).
    #[error("{0}")]
    Unsupported(String),
    /// Something the runtime needs is missing (e.g. the node binary); try again once fixed.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

/// Whether a runtime can run `engine`: every runtime runs native chains only for now, and
/// refuses the others with these words.
pub fn native_only(engine: Engine) -> Result<(), RuntimeError> {
    match engine {
        Engine::Native => Ok(()),
        other => Err(RuntimeError::Unsupported(format!(
            "{other} chains cannot run yet: the local and the Kubernetes runtime run native chains only"
        ))),
    }
}

/// Where chains run.
#[async_trait::async_trait]
pub trait Runtime: Send + Sync {
    /// `local` or `kubernetes`.
    fn kind(&self) -> &'static str;
    /// Whether this runtime can run `engine`; the error says what would.
    fn supports(&self, engine: Engine) -> Result<(), RuntimeError>;
    /// Where `count` new nodes of `chain` will listen, none on a port of `avoid` (the ports
    /// recorded for other chains' nodes, some of which may be down right now).
    async fn place(
        &self,
        chain: Uuid,
        count: usize,
        avoid: &HashSet<u16>,
    ) -> Result<Placement, RuntimeError>;
    /// Starts the chain, or adopts it when it already runs. Idempotent.
    async fn ensure(&self, plan: ChainPlan) -> Result<(), RuntimeError>;
    /// The chain's state; `Stopped` for a chain this runtime does not run.
    async fn report(&self, chain: Uuid) -> ChainReport;
    /// Base URLs of the REST APIs of the chain's running nodes (for submitting transactions).
    async fn endpoints(&self, chain: Uuid) -> Vec<String>;
    /// Stops the chain and removes it; its data stays when `keep_data`. Idempotent.
    async fn remove(&self, chain: Uuid, name: &str, keep_data: bool) -> Result<(), RuntimeError>;
    /// The API server is stopping.
    async fn shutdown(&self);
}
