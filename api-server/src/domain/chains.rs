//! A chain as the runtimes receive it: its engine, consensus, key material and nodes.

use std::collections::BTreeMap;

use consortia_crds::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One node of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePlan {
    /// Node name, `{chain}-{member}-{i}` (the genesis validator name).
    pub name: String,
    /// The member organisation's label in node names (a DNS label).
    pub member: String,
    /// Ports on this machine (local runtime; ignored on Kubernetes).
    pub p2p_port: u16,
    pub api_port: u16,
}

/// Everything a runtime needs to run a chain.
#[derive(Clone)]
pub struct ChainPlan {
    pub id: Uuid,
    /// Resource name: a DNS label, unique on this platform (`ch-…`).
    pub name: String,
    pub engine: Engine,
    pub version: Option<String>,
    /// The consensus protocol the user chose (one of [`Engine::consensus`]).
    pub consensus: String,
    /// The material files (`genesis.json`, `layout.json`, node and client keys) unsealed, in
    /// memory only: a runtime passes keys to nodes without writing them in the clear.
    pub material: BTreeMap<String, Vec<u8>>,
    pub nodes: Vec<NodePlan>,
}

impl std::fmt::Debug for ChainPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainPlan")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("engine", &self.engine)
            .field("consensus", &self.consensus)
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

/// What a chain is to be: the body of `POST …/chains` (less the acting tenant) and the action
/// of a `create_chain` proposal.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    /// 1–64 letters, digits, spaces, `.`, `_` or `-`; unique in the alliance.
    pub name: String,
    /// `native`, `fabric` or `quorum` (default: the template's, else required).
    #[serde(default)]
    pub engine: Option<String>,
    /// Consensus: native `bft` (default); fabric `etcdraft` or `bft`; quorum `qbft` or `raft`.
    /// Default: the template's, else the engine's first.
    #[serde(default)]
    pub consensus: Option<String>,
    /// Engine version; the runtime's default when omitted.
    #[serde(default)]
    pub version: Option<String>,
    /// Validators each member tenant runs, 1–16 (default: the template's, else 1).
    #[serde(default)]
    pub nodes_per_member: Option<u32>,
    /// A marketplace template to install on the chain once it runs; its chain defaults
    /// fill what the request leaves out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<crate::domain::templates::TemplateChoice>,
}
