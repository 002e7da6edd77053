//! A chain as the runtimes receive it: its engine, consensus, key material and nodes.

use std::collections::BTreeMap;

use consortia_crds::Engine;
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
