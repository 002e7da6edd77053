//! The consensus driver over real TCP links, with a toy application: four validators commit,
//! one is stopped and the rest go on, and when it comes back it catches up by block sync.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use consortia_bft::{CommitCertificate, Hash, Validator, ValidatorSet};
use consortia_node::driver::{App, ConsensusStatus, Driver, DriverParams};
use consortia_node::net::{NetConfig, Network, PeerAddr};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, watch};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Block {
    height: u64,
    prev: Hash,
    proposer: u32,
    round: u32,
}

type Chain = Arc<Mutex<Vec<(Block, CommitCertificate)>>>;
struct Toy {
    chain: Chain,
}

impl App for Toy {
    type Block = Block;
    type Gossip = u8;
    fn block_hash(b: &Block) -> Hash {
        Sha256::digest(serde_json::to_vec(b).unwrap()).into()
    }
    fn block_height(b: &Block) -> u64 {
        b.height
    }
    fn block_round(b: &Block) -> u32 {
        b.round
    }
    fn height(&self) -> u64 {
        self.chain.lock().unwrap().len() as u64
    }
    fn build(&mut self, height: u64, round: u32, proposer: u32) -> Block {
        let prev = self
            .chain
            .lock()
            .unwrap()
            .last()
            .map(|(b, _)| Self::block_hash(b))
            .unwrap_or([0; 32]);
        Block {
            height,
            prev,
            proposer,
            round,
        }
    }
    fn validate(&mut self, b: &Block) -> Result<(), String> {
        let prev = self
            .chain
            .lock()
            .unwrap()
            .last()
            .map(|(b, _)| Self::block_hash(b))
            .unwrap_or([0; 32]);
        if b.height != self.height() + 1 || b.prev != prev {
            return Err("bad link".into());
        }
        Ok(())
    }
    fn commit(&mut self, b: Block, c: CommitCertificate) -> Result<(), String> {
        self.chain.lock().unwrap().push((b, c));
        Ok(())
    }
    fn committed(&self, h: u64) -> Option<(Block, CommitCertificate)> {
        self.chain.lock().unwrap().get(h as usize - 1).cloned()
    }
    fn has_pending(&self) -> bool {
        true
    }
    fn on_gossip(&mut self, _: [u8; 32], _: u8) {}
    fn take_gossip(&mut self) -> Vec<u8> {
        vec![]
    }
}

struct NodeRun {
    stop: watch::Sender<bool>,
    status: watch::Receiver<ConsensusStatus>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(
    i: usize,
    keys: &[SigningKey],
    vs: &ValidatorSet,
    ports: &[u16],
    chain: Chain,
    dir: &std::path::Path,
) -> NodeRun {
    let peers = (0..keys.len())
        .filter(|j| *j != i)
        .map(|j| PeerAddr {
            public_key: keys[j].verifying_key().to_bytes(),
            address: format!("127.0.0.1:{}", ports[j]),
        })
        .collect();
    let cfg = NetConfig {
        listen: format!("127.0.0.1:{}", ports[i]).parse().unwrap(),
        chain_id: "toy".into(),
        genesis_hash: [7; 32],
        key: keys[i].clone(),
        validators: vs.clone(),
        peers,
        max_frame: 1 << 20,
    };
    let (net, rx) = Network::start(cfg).await.unwrap();
    let mut params = DriverParams {
        tick: Duration::from_millis(100),
        commit_delay: Duration::from_millis(20),
        ..Default::default()
    };
    params.timeouts.propose_ms = 400;
    let (d, h) = Driver::new(
        "toy".into(),
        vs.clone(),
        Some(keys[i].clone()),
        Toy { chain },
        net,
        rx,
        params,
        dir.join(format!("wal{i}.json")),
        Arc::new(Notify::new()),
    );
    let (stop, srx) = watch::channel(false);
    let task = tokio::spawn(d.run(srx));
    NodeRun {
        stop,
        status: h.status,
        task,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_commit_and_a_restarted_node_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<SigningKey> = (0..4)
        .map(|i| SigningKey::from_bytes(&[i as u8 + 1; 32]))
        .collect();
    let vs = ValidatorSet::new(
        keys.iter()
            .map(|k| Validator {
                name: String::new(),
                public_key: k.verifying_key().to_bytes(),
                power: 1,
            })
            .collect(),
    )
    .unwrap();
    let ports = consortia_ports::free_ports(4).unwrap();
    let chains: Vec<Chain> = (0..4).map(|_| Chain::default()).collect();
    let mut nodes = Vec::new();
    for (i, chain) in chains.iter().enumerate() {
        nodes.push(start(i, &keys, &vs, &ports, chain.clone(), dir.path()).await);
    }
    let wait = |chains: Vec<Chain>, idx: Vec<usize>, h: usize| async move {
        for _ in 0..600 {
            if idx.iter().all(|i| chains[*i].lock().unwrap().len() >= h) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no progress to {h}: {:?}",
            chains
                .iter()
                .map(|c| c.lock().unwrap().len())
                .collect::<Vec<_>>()
        );
    };
    wait(chains.clone(), vec![0, 1, 2, 3], 10).await;
    // Stop node 3; the other three (a quorum) go on.
    let n3 = nodes.pop().unwrap();
    n3.stop.send(true).unwrap();
    n3.task.await.unwrap().unwrap();
    let h = chains[0].lock().unwrap().len();
    wait(chains.clone(), vec![0, 1, 2], h + 15).await;
    // Restart it: it catches up by sync and joins consensus again.
    nodes.push(start(3, &keys, &vs, &ports, chains[3].clone(), dir.path()).await);
    let h = chains[0].lock().unwrap().len();
    wait(chains.clone(), vec![0, 1, 2, 3], h + 5).await;
    let reference = chains[0].lock().unwrap().clone();
    for c in &chains {
        for (i, (b, cert)) in c.lock().unwrap().iter().enumerate() {
            if i < reference.len() {
                assert_eq!(b, &reference[i].0);
            }
            consortia_bft::verify_certificate("toy", &vs, b.height, &Toy::block_hash(b), cert)
                .unwrap();
        }
    }
    let st = nodes[3].status.borrow().clone();
    assert!(st.sync_blocks > 0 || st.height > 0);
    eprintln!(
        "heights {:?} status3 {:?}",
        chains
            .iter()
            .map(|c| c.lock().unwrap().len())
            .collect::<Vec<_>>(),
        st
    );
}
