//! A running node: ledger + mempool + consensus driver + transport + REST API.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use consortia_bft::{CommitCertificate, Hash};
use ed25519_dalek::SigningKey;
use tokio::sync::{Notify, mpsc, watch};

use crate::admission::admit;
use crate::api::serve_api;
use crate::block::{Block, tx_leaf};
use crate::config::NodeConfig;
use crate::driver::{App, ConsensusStatus, Driver, DriverParams};
use crate::genesis::Genesis;
use crate::ledger::Ledger;
use crate::limits::MAX_FRAME;
use crate::mempool::Mempool;
use crate::metrics::Metrics;
use crate::net::{NetConfig, Network};
use crate::shared::{Consensus, NodeWire, Role, Shared};
use crate::tx::SignedTx;

/// Transactions per gossip message.
const GOSSIP_CHUNK: usize = 2000;

struct NodeApp {
    ledger: Ledger,
    shared: Arc<Shared>,
    height_tx: watch::Sender<u64>,
    gossip_in: mpsc::Sender<Vec<SignedTx>>,
}

impl App for NodeApp {
    type Block = Block;
    type Gossip = Vec<SignedTx>;

    fn block_hash(block: &Block) -> Hash {
        block.hash()
    }

    fn block_height(block: &Block) -> u64 {
        block.header.height
    }

    fn block_round(block: &Block) -> u32 {
        block.header.round
    }

    fn height(&self) -> u64 {
        self.ledger.height()
    }

    fn build(&mut self, _height: u64, round: u32, proposer: u32) -> Block {
        let max = self.ledger.genesis.params.max_block_txs as usize;
        let candidates = {
            let mp = self
                .shared
                .mempool
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            mp.reap(max, |a| self.ledger.next_nonce(a))
        };
        let (block, refused) = self
            .ledger
            .build(candidates, round, proposer, crate::now_ms());
        if !refused.is_empty() {
            let hashes: Vec<Hash> = refused.iter().map(|(h, _)| *h).collect();
            self.shared
                .mempool
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&hashes);
        }
        block
    }

    fn validate(&mut self, block: &Block) -> Result<(), String> {
        // Only a transaction identical to the mempool's, signatures included, skips the
        // signature check; the ledger keys what is verified by the hash of the signed bytes.
        let verified: HashSet<Hash> = {
            let mp = self
                .shared
                .mempool
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            block
                .txs
                .iter()
                .filter(|t| mp.holds(&t.hash(), t))
                .map(tx_leaf)
                .collect()
        };
        self.ledger.validate(block, &verified, crate::now_ms())
    }

    fn commit(&mut self, block: Block, cert: CommitCertificate) -> Result<(), String> {
        let included: Vec<Hash> = block.txs.iter().map(|t| t.hash()).collect();
        let touched: Vec<(String, u64)> = block
            .txs
            .iter()
            .map(|t| (t.tx.account.clone(), t.tx.nonce))
            .collect();
        let n = block.txs.len() as u64;
        let height = block.header.height;
        self.ledger
            .commit(block, cert)
            .map_err(|e| format!("{e:#}"))?;
        let mut mp = self
            .shared
            .mempool
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        mp.remove_committed(&included, touched.into_iter());
        let m = &self.shared.metrics;
        m.mempool_size.set(mp.len() as i64);
        m.committed_txs.inc_by(n);
        m.height.set(height as i64);
        drop(mp);
        let _ = self.height_tx.send(height);
        tracing::debug!(height, txs = n, "committed");
        Ok(())
    }

    fn committed(&self, height: u64) -> Option<(Block, CommitCertificate)> {
        self.shared
            .store
            .block(height)
            .ok()
            .flatten()
            .map(|cb| (cb.block, cb.certificate))
    }

    fn has_pending(&self) -> bool {
        !self
            .shared
            .mempool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    fn on_gossip(&mut self, _from: [u8; 32], gossip: Vec<SignedTx>) {
        // Admission (signature verification) runs off the consensus task.
        let _ = self.gossip_in.try_send(gossip);
    }

    fn take_gossip(&mut self) -> Vec<Vec<SignedTx>> {
        let out = self
            .shared
            .mempool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take_outbox();
        out.chunks(GOSSIP_CHUNK)
            .map(|c| c.iter().map(|t| (**t).clone()).collect())
            .collect()
    }
}

/// Where a node finds its files: `home/{config.json,genesis.json,node_key.json}` unless a
/// path is given (in a Kubernetes pod the config and genesis come from a ConfigMap and the key
/// from a Secret, mounted read-only, while the data lives on the node's volume).
#[derive(Clone, Debug, Default)]
pub struct RunPaths {
    pub home: PathBuf,
    pub config: Option<PathBuf>,
    pub genesis: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Upstream REST API base URLs: when given, the node is an observer (no key, no consensus).
    pub observe: Vec<String>,
}

/// Runs a validator, or an observer when `paths.observe` names upstreams, until
/// SIGINT/SIGTERM.
pub async fn run(paths: &RunPaths) -> Result<()> {
    let home = paths.home.as_path();
    if !paths.observe.is_empty() && paths.key.is_some() {
        anyhow::bail!(
            "--key was given with --observe: an observer holds no key and signs nothing; \
             remove --key to run an observer, or --observe to run a validator"
        );
    }
    let cfg = match &paths.config {
        Some(p) => NodeConfig::load_file(p)?,
        None => NodeConfig::load(home)?,
    };
    let genesis = Genesis::load(
        &paths
            .genesis
            .clone()
            .unwrap_or_else(|| home.join("genesis.json")),
    )?;
    let data = cfg.data_path(home);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let task = if paths.observe.is_empty() {
        let key = crate::keys::load(
            &paths
                .key
                .clone()
                .unwrap_or_else(|| home.join("node_key.json")),
        )?;
        let handle = start(&cfg, genesis, key, &data, shutdown_rx).await?;
        tracing::info!(
            chain_id = %handle.shared.genesis.chain_id,
            api = %handle.api_addr,
            p2p = %handle.p2p_addr,
            height = handle.shared.store.height().unwrap_or(0),
            "node running"
        );
        tokio::spawn(async move {
            let _ = handle.driver.await;
        })
    } else {
        let handle =
            crate::observer::start(&cfg, genesis, paths.observe.clone(), &data, shutdown_rx)
                .await?;
        tracing::info!(
            chain_id = %handle.shared.genesis.chain_id,
            api = %handle.api_addr,
            upstreams = ?paths.observe,
            height = handle.shared.store.height().unwrap_or(0),
            "observer running"
        );
        handle.follower
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    let _ = shutdown_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    Ok(())
}

/// A started validator (used by `run` and by tests).
pub struct Handle {
    pub shared: Arc<Shared>,
    pub api_addr: std::net::SocketAddr,
    pub p2p_addr: std::net::SocketAddr,
    pub driver: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts a consensus node: opens the ledger, the peer transport, the driver and the API.
pub async fn start(
    cfg: &NodeConfig,
    genesis: Genesis,
    key: SigningKey,
    data: &Path,
    shutdown: watch::Receiver<bool>,
) -> Result<Handle> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let ledger = Ledger::open(&data.join("chain.redb"), genesis.clone())?;
    let is_validator = genesis
        .validators
        .index_of(&key.verifying_key().to_bytes())
        .is_some();
    if cfg.p2p_listen.is_empty() {
        anyhow::bail!(
            "the node config has no p2p_listen: a validator needs an address for peer links \
             (an observer, started with --observe, does not)"
        );
    }
    let net_cfg = NetConfig {
        listen: cfg
            .p2p_listen
            .parse()
            .with_context(|| format!("p2p_listen {:?} is not an address", cfg.p2p_listen))?,
        chain_id: genesis.chain_id.clone(),
        genesis_hash: ledger.genesis_hash,
        key: key.clone(),
        validators: genesis.validators.clone(),
        peers: cfg.peers.clone(),
        max_frame: MAX_FRAME,
    };
    let (net, inbound) = Network::<NodeWire>::start(net_cfg)
        .await
        .with_context(|| format!("listening for peers on {}", cfg.p2p_listen))?;
    let p2p_addr = net.local_addr();
    let params = &genesis.params;
    let max_block = usize::try_from(params.max_block_bytes).unwrap_or(usize::MAX);
    let driver_params = DriverParams {
        timeouts: params.timeouts(),
        tick: Duration::from_millis(500),
        commit_delay: Duration::from_millis(params.commit_delay_ms),
        empty_block_after: Duration::from_millis(params.empty_block_ms),
        gossip_interval: Duration::from_millis(5),
        sync_batch: 16,
        // Half a frame: a reply of several blocks stays well inside the frame limit, and a
        // lone block of the largest size (two thirds of a frame) still goes alone.
        sync_bytes: MAX_FRAME / 2,
        // Two blocks of other rounds (one early proposal of the next round, one late of the
        // last), and a block plus votes for the next height.
        held_bytes: max_block.saturating_mul(2),
        future_bytes: max_block.saturating_mul(2).saturating_add(1 << 20),
    };
    let wakeup = Arc::new(Notify::new());
    let (height_tx, height_rx) = watch::channel(ledger.height());
    let (gossip_tx, mut gossip_rx) = mpsc::channel::<Vec<SignedTx>>(1024);
    // The driver's status channel exists only once the driver does; build it first.
    let store = ledger.store().clone();
    let genesis_hash = ledger.genesis_hash;
    let mempool = Mutex::new(Mempool::new(params.mempool_max_txs as usize));
    let (status_tx, status_rx) = watch::channel(ConsensusStatus::default());
    let shared = Arc::new(Shared {
        genesis: genesis.clone(),
        genesis_hash,
        store,
        mempool,
        wakeup: wakeup.clone(),
        height: height_rx,
        metrics: Metrics::default(),
        role: Role::Validator(Consensus {
            public_key: key.verifying_key().to_bytes(),
            status: status_rx,
            net: net.clone(),
        }),
    });
    shared.metrics.height.set(ledger.height() as i64);
    let app = NodeApp {
        ledger,
        shared: shared.clone(),
        height_tx,
        gossip_in: gossip_tx,
    };
    let (driver, dh) = Driver::new(
        genesis.chain_id.clone(),
        genesis.validators.clone(),
        is_validator.then_some(key),
        app,
        net,
        inbound,
        driver_params,
        data.join("consensus-state.json"),
        wakeup,
    );
    // Mirror the driver's status into the shared receiver and the metrics.
    {
        let mut src = dh.status.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut last_round_changes = 0;
            let mut last_sync = 0;
            while src.changed().await.is_ok() {
                let s = src.borrow_and_update().clone();
                shared.metrics.round.set(i64::from(s.round));
                if s.rounds_beyond_zero > last_round_changes {
                    shared
                        .metrics
                        .round_changes
                        .inc_by(s.rounds_beyond_zero - last_round_changes);
                    last_round_changes = s.rounds_beyond_zero;
                }
                if s.sync_blocks > last_sync {
                    shared.metrics.sync_blocks.inc_by(s.sync_blocks - last_sync);
                    last_sync = s.sync_blocks;
                }
                if let Role::Validator(c) = &shared.role {
                    let connected = c
                        .net
                        .peers()
                        .iter()
                        .filter(|p| p.inbound && p.outbound)
                        .count();
                    shared.metrics.peers_connected.set(connected as i64);
                }
                if status_tx.send(s).is_err() {
                    return;
                }
            }
        });
    }
    // Admission of gossiped transactions, off the consensus task.
    {
        let shared = shared.clone();
        tokio::spawn(async move {
            while let Some(txs) = gossip_rx.recv().await {
                let s = shared.clone();
                let _ = tokio::task::spawn_blocking(move || admit(&s, txs, false)).await;
            }
        });
    }
    let api_addr = serve_api(&cfg.api_listen, shared.clone(), shutdown.clone()).await?;
    let driver = tokio::spawn(driver.run(shutdown));
    Ok(Handle {
        shared,
        api_addr,
        p2p_addr,
        driver,
    })
}
