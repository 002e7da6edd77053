//! Prometheus metrics of a node.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: String,
}

pub struct Metrics {
    registry: Registry,
    pub height: Gauge,
    pub committed_txs: Counter,
    pub mempool_size: Gauge,
    pub round: Gauge,
    pub round_changes: Counter,
    pub sync_blocks: Counter,
    pub peers_connected: Gauge,
    pub rejected: Family<Reason, Counter>,
    /// Observers only: blocks refused from an upstream, by reason.
    pub refused_blocks: Family<Reason, Counter>,
    /// Observers only: the height the upstream reported last.
    pub upstream_height: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("consortia_node");
        let m = Metrics {
            height: Gauge::default(),
            committed_txs: Counter::default(),
            mempool_size: Gauge::default(),
            round: Gauge::default(),
            round_changes: Counter::default(),
            sync_blocks: Counter::default(),
            peers_connected: Gauge::default(),
            rejected: Family::default(),
            refused_blocks: Family::default(),
            upstream_height: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("height", "Committed block height", m.height.clone());
        registry.register(
            "committed_transactions",
            "Transactions committed in blocks",
            m.committed_txs.clone(),
        );
        registry.register(
            "mempool_transactions",
            "Transactions waiting in the mempool",
            m.mempool_size.clone(),
        );
        registry.register(
            "consensus_round",
            "Consensus round of the current height",
            m.round.clone(),
        );
        registry.register(
            "consensus_round_changes",
            "Rounds that ended without a decision (view changes)",
            m.round_changes.clone(),
        );
        registry.register(
            "sync_blocks",
            "Blocks obtained by block sync",
            m.sync_blocks.clone(),
        );
        registry.register(
            "peers_connected",
            "Peers with an authenticated link to us",
            m.peers_connected.clone(),
        );
        registry.register(
            "admission_rejections",
            "Transactions refused at admission, by reason",
            m.rejected.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// An observer's metrics: the common ones plus what following an upstream shows.
    pub fn observer() -> Self {
        let mut m = Metrics::default();
        m.registry.register(
            "observer_refused_blocks",
            "Blocks refused from an upstream (bad certificate, wrong height or parent, invalid), by reason",
            m.refused_blocks.clone(),
        );
        m.registry.register(
            "observer_upstream_height",
            "Height last reported by the upstream being followed",
            m.upstream_height.clone(),
        );
        m
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
