//! One real node facing a faulty validator. The test holds the keys of validators 1–3 of a
//! four-validator chain and speaks the peer protocol itself over authenticated links, as any
//! validator may, so it can send what a Byzantine validator would: a block whose mempool
//! transaction carries tampered signatures, a lying status, floods of proposals. Node 0 is a
//! real `consortia-node` process; what it does is read from its votes, its API and its memory.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use consortia_bft::tendermint::{Proposal, SignedProposal, SignedVote, Vote};
use consortia_bft::{Hash, VoteKind, proposal_sign_bytes, vote_sign_bytes};
use consortia_node::block::Block;
use consortia_node::client::Client;
use consortia_node::config::NodeConfig;
use consortia_node::driver::Wire;
use consortia_node::genesis::{Genesis, Params};
use consortia_node::ledger::Ledger;
use consortia_node::net::{Inbound, NetConfig, Network, PeerAddr};
use consortia_node::node::{MAX_FRAME, NodeWire};
use consortia_node::testnet::{TestnetSpec, generate};
use consortia_node::tx::{HashAlg, Op, SignedTx, Tx};
use ed25519_dalek::{Signer, SigningKey};
use tokio::sync::mpsc;

const BIN: &str = env!("CARGO_BIN_EXE_consortia-node");
const CHAIN: &str = "hostile";

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A validator the test plays: its key and its links to node 0.
struct Peer {
    key: SigningKey,
    net: Network<NodeWire>,
    rx: mpsc::Receiver<Inbound<NodeWire>>,
}

struct Hostile {
    dir: tempfile::TempDir,
    genesis: Genesis,
    node: Proc,
    api: Client,
    node_key: [u8; 32],
    /// Validators 1, 2 and 3 (index `i` plays validator `i + 1`).
    peers: Vec<Peer>,
    account: SigningKey,
    /// The chain as the test's validators see it; builds their blocks.
    replica: Ledger,
}

/// A four-validator chain with one account (`acct-0`) whose validator 0 runs as a process and
/// whose validators 1–3 are the test's.
async fn setup(params: Params) -> Hostile {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &TestnetSpec {
            validators: 4,
            chain_id: CHAIN.into(),
            base_port: None,
            accounts: 1,
            params,
        },
    )
    .unwrap();
    let home = |i: usize| dir.path().join(format!("node{i}"));
    let genesis = Genesis::load(&home(0).join("genesis.json")).unwrap();
    let node_cfg = NodeConfig::load(&home(0)).unwrap();
    let node_key = consortia_node::keys::load(&home(0).join("node_key.json"))
        .unwrap()
        .verifying_key()
        .to_bytes();
    let log = std::fs::File::create(dir.path().join("node0.log")).unwrap();
    let node = Proc(
        Command::new(BIN)
            .args(["run", "--home"])
            .arg(home(0))
            .env("CONSORTIA_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let mut peers = Vec::new();
    for i in 1..=3 {
        let cfg = NodeConfig::load(&home(i)).unwrap();
        let key = consortia_node::keys::load(&home(i).join("node_key.json")).unwrap();
        let (net, rx) = Network::<NodeWire>::start(NetConfig {
            listen: cfg.p2p_listen.parse().unwrap(),
            chain_id: CHAIN.into(),
            genesis_hash: genesis.hash(),
            key: key.clone(),
            validators: genesis.validators.clone(),
            peers: vec![PeerAddr {
                public_key: node_key,
                address: node_cfg.p2p_listen.clone(),
            }],
            max_frame: MAX_FRAME,
        })
        .await
        .unwrap();
        peers.push(Peer { key, net, rx });
    }
    // Both links of every pair are up once node 0's status arrives and ours can leave.
    let deadline = Instant::now() + Duration::from_secs(30);
    for p in &mut peers {
        loop {
            assert!(Instant::now() < deadline, "node 0 never linked to the test");
            if p.net.peers()[0].outbound
                && let Ok(Some(_)) =
                    tokio::time::timeout(Duration::from_millis(200), p.rx.recv()).await
            {
                break;
            }
        }
    }
    let api = Client::new(&format!("http://{}", node_cfg.api_listen)).unwrap();
    let account = consortia_node::keys::load(&dir.path().join("accounts/acct-0.json")).unwrap();
    let replica = Ledger::open(&dir.path().join("replica.redb"), genesis.clone()).unwrap();
    Hostile {
        dir,
        genesis,
        node,
        api,
        node_key,
        peers,
        account,
        replica,
    }
}

impl Hostile {
    fn peer(&self, validator: u32) -> &Peer {
        &self.peers[validator as usize - 1]
    }

    /// Sends `m` to node 0 from `validator`'s link.
    fn send(&self, validator: u32, m: &NodeWire) {
        self.peer(validator).net.send_to(&self.node_key, m);
    }

    fn signed_proposal(&self, validator: u32, round: u32, block: &Block) -> SignedProposal {
        let h = block.header.height;
        let value = block.hash();
        SignedProposal {
            proposal: Proposal {
                height: h,
                round,
                value,
                valid_round: None,
            },
            proposer: validator,
            signature: self
                .peer(validator)
                .key
                .sign(&proposal_sign_bytes(CHAIN, h, round, None, &value))
                .to_bytes(),
        }
    }

    /// `validator` proposes `block` at `round` (of the block's height).
    fn propose(&self, validator: u32, round: u32, block: &Block) {
        let proposal = self.signed_proposal(validator, round, block);
        self.send(
            validator,
            &Wire::Proposal {
                proposal,
                block: block.clone(),
            },
        );
    }

    fn vote(&self, validator: u32, kind: VoteKind, height: u64, round: u32, value: Option<Hash>) {
        let signature = self
            .peer(validator)
            .key
            .sign(&vote_sign_bytes(CHAIN, kind, height, round, value.as_ref()))
            .to_bytes();
        self.send(
            validator,
            &Wire::Vote(SignedVote {
                vote: Vote {
                    kind,
                    height,
                    round,
                    value,
                },
                validator,
                signature,
            }),
        );
    }

    /// The value of node 0's vote of `kind` at (`height`, `round`), as it reaches validator 1.
    async fn node_vote(&mut self, kind: VoteKind, height: u64, round: u32) -> Option<Hash> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "node 0 sent no {kind:?} at height {height} round {round}; its log: {}",
                self.dir.path().join("node0.log").display()
            );
            if let Ok(Some(m)) = tokio::time::timeout(left, self.peers[0].rx.recv()).await
                && let Wire::Vote(v) = m.message
                && v.validator == 0
                && (v.vote.kind, v.vote.height, v.vote.round) == (kind, height, round)
            {
                return v.vote.value;
            }
        }
    }

    async fn height(&self) -> u64 {
        self.api
            .status()
            .await
            .ok()
            .and_then(|s| s["height"].as_u64())
            .unwrap_or(0)
    }

    async fn wait_height(&self, h: u64, within: Duration) {
        let deadline = Instant::now() + within;
        while self.height().await < h {
            assert!(
                Instant::now() < deadline,
                "node 0 did not reach height {h}; its log: {}",
                self.dir.path().join("node0.log").display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn deposit(&self, nonce: u64, metadata: usize) -> SignedTx {
        let mut content = vec![0u8; 32];
        content[..8].copy_from_slice(&nonce.to_be_bytes());
        Tx {
            chain_id: CHAIN.into(),
            account: "acct-0".into(),
            nonce,
            expiry_height: 1_000_000,
            op: Op::Deposit {
                hash_alg: HashAlg::Sha256,
                content_hash: content,
                metadata: "m".repeat(metadata),
                external_id: None,
            },
        }
        .sign(&[&self.account])
    }
}

/// A proposer puts a transaction node 0 holds in its mempool into a block, with one signature
/// byte flipped. The transaction hash does not cover signatures, so a node that trusted its
/// mempool by transaction hash took the block as valid (and a receipt of it would never
/// verify). Node 0 must prevote nil for it, then prevote and commit the genuine transaction
/// when an honest proposer offers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mempool_transaction_with_tampered_signatures_invalidates_the_block() {
    let mut h = setup(Params {
        propose_timeout_ms: 20_000,
        ..Params::default()
    })
    .await;
    let tx = h.deposit(1, 16);
    let tx_hash = h.api.submit(&tx).await.unwrap();
    let mut tampered = tx.clone();
    tampered.signatures[0].signature[10] ^= 0x40;
    assert_eq!(tampered.hash(), tx.hash());

    // Round 0 of height 1 is validator 1's.
    let (bad, _) = h
        .replica
        .build(vec![tampered], 0, 1, consortia_node::now_ms());
    assert_eq!(bad.txs.len(), 1);
    h.propose(1, 0, &bad);
    assert_eq!(
        h.node_vote(VoteKind::Prevote, 1, 0).await,
        None,
        "node 0 prevoted for a block whose transaction signature does not verify"
    );

    // Round 1 is validator 2's: the genuine transaction. Validator 3 is there too, so more
    // than a third of the power is at round 1 and node 0 moves there.
    let (good, _) = h
        .replica
        .build(vec![tx.clone()], 1, 2, consortia_node::now_ms());
    h.propose(2, 1, &good);
    h.vote(3, VoteKind::Prevote, 1, 1, Some(good.hash()));
    assert_eq!(
        h.node_vote(VoteKind::Prevote, 1, 1).await,
        Some(good.hash())
    );
    for v in 1..=3 {
        h.vote(v, VoteKind::Precommit, 1, 1, Some(good.hash()));
    }
    h.wait_height(1, Duration::from_secs(30)).await;
    let receipt = h.api.receipt(&tx_hash).await.unwrap();
    assert_eq!(receipt.tx, tx);
    consortia_node::receipt::verify_receipt(&h.genesis, &receipt).unwrap();
    let _ = &h.node;
}
