//! One real node facing a faulty validator. The test holds the keys of validators 1–3 of a
//! four-validator chain and speaks the peer protocol itself over authenticated links, as any
//! validator may, so it can send what a Byzantine validator would: a block whose mempool
//! transaction carries tampered signatures, a lying status, floods of proposals. Node 0 is a
//! real `consortia-node` process; what it does is read from its votes, its API and its memory.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use consortia_bft::tendermint::{Proposal, SignedProposal, SignedVote, Vote};
use consortia_bft::{
    CommitCertificate, CommitSig, Hash, VoteKind, proposal_sign_bytes, vote_sign_bytes,
};
use consortia_node::block::{Block, Header};
use consortia_node::client::Client;
use consortia_node::config::NodeConfig;
use consortia_node::driver::Wire;
use consortia_node::genesis::{Genesis, Params};
use consortia_node::ledger::Ledger;
use consortia_node::limits::MAX_FRAME;
use consortia_node::net::{Inbound, NetConfig, Network, PeerAddr};
use consortia_node::shared::NodeWire;
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

    /// Sends `Status { height }` to node 0 from `validator`'s link.
    fn status(&self, validator: u32, height: u64) {
        self.send(validator, &Wire::Status { height, round: 0 });
    }

    /// `blocks` blocks of the given deposits each, committed on the replica with certificates
    /// of validators 1–3 (a quorum): the chain as the test's validators made it.
    fn certified_chain(&mut self, blocks: usize) -> Vec<(Block, CommitCertificate)> {
        let mut out = Vec::new();
        for i in 0..blocks {
            let nonce = i as u64 + 1;
            let proposer = self.genesis.validators.proposer(nonce, 0) as u32;
            let (block, refused) = self.replica.build(
                vec![self.deposit(nonce, 16)],
                0,
                proposer,
                consortia_node::now_ms(),
            );
            assert!(refused.is_empty());
            let hash = block.hash();
            let h = block.header.height;
            let msg = vote_sign_bytes(CHAIN, VoteKind::Precommit, h, 0, Some(&hash));
            let cert = CommitCertificate {
                height: h,
                round: 0,
                block_hash: hash,
                signatures: (1..=3)
                    .map(|v| CommitSig {
                        validator: v,
                        signature: self.peer(v).key.sign(&msg).to_bytes(),
                    })
                    .collect(),
            };
            self.replica
                .validate(&block, &Default::default(), consortia_node::now_ms())
                .unwrap();
            self.replica.commit(block.clone(), cert.clone()).unwrap();
            out.push((block, cert));
        }
        out
    }

    /// Node 0's resident memory.
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.node.0.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kb * 1024
    }

    /// Sends validators 2 and 3's prevotes for `round` of height 1 over validator 1's link, and
    /// waits until node 0 is at that round: everything sent before on that link was handled.
    async fn flush(&self, round: u32) {
        for v in [2, 3] {
            let signature = self
                .peer(v)
                .key
                .sign(&vote_sign_bytes(CHAIN, VoteKind::Prevote, 1, round, None))
                .to_bytes();
            self.send(
                1,
                &Wire::Vote(SignedVote {
                    vote: Vote {
                        kind: VoteKind::Prevote,
                        height: 1,
                        round,
                        value: None,
                    },
                    validator: v,
                    signature,
                }),
            );
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = self
                .api
                .status()
                .await
                .ok()
                .and_then(|s| s["round"].as_u64())
                .unwrap_or(0);
            if r >= u64::from(round) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node 0 never reached round {round}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `frames` from validator 1 four at a time, each group followed by a [`flush`]
    /// (rounds from 70 up): a steady flood node 0 keeps up with, so its resident memory shows
    /// what it keeps rather than what is waiting in its queues.
    ///
    /// [`flush`]: Hostile::flush
    async fn send_paced(&self, frames: &[NodeWire]) {
        for (i, group) in frames.chunks(4).enumerate() {
            for f in group {
                self.send(1, f);
            }
            self.flush(70 + i as u32).await;
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

/// A fresh proposal's block is proposed in that round: a block whose header claims another
/// round (and that round's proposer) would put its content on another validator's name.
/// Node 0 prevotes nil for it, and for the honest next proposal's block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposed_block_naming_another_round_is_refused() {
    let mut h = setup(Params {
        propose_timeout_ms: 20_000,
        ..Params::default()
    })
    .await;
    let now = consortia_node::now_ms();
    // Validator 1 proposes at round 0 a block claiming round 2, validator 3's.
    let (misnamed, _) = h.replica.build(vec![], 2, 3, now);
    h.propose(1, 0, &misnamed);
    assert_eq!(
        h.node_vote(VoteKind::Prevote, 1, 0).await,
        None,
        "node 0 prevoted for a block that names another round and proposer"
    );
    let (good, _) = h.replica.build(vec![], 1, 2, now);
    h.propose(2, 1, &good);
    h.vote(3, VoteKind::Prevote, 1, 1, Some(good.hash()));
    assert_eq!(
        h.node_vote(VoteKind::Prevote, 1, 1).await,
        Some(good.hash())
    );
}

/// Heights are claimed in unsigned status messages. One validator claims a height far beyond
/// the chain and never answers sync requests; another holds the real chain and answers. Node
/// 0, forty blocks (several sync replies) behind, must catch up from the one that delivers
/// instead of waiting on the liar forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_lying_about_its_height_does_not_starve_sync() {
    let mut h = setup(Params::default()).await;
    let chain = h.certified_chain(40);
    // The liar speaks first.
    h.status(2, 1_000_000);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last_status = Instant::now() - Duration::from_secs(1);
    while h.height().await < 40 {
        assert!(
            Instant::now() < deadline,
            "node 0 stayed at height {}: it kept asking the liar",
            h.height().await
        );
        if last_status.elapsed() > Duration::from_millis(250) {
            h.status(2, 1_000_000);
            h.status(1, 40);
            last_status = Instant::now();
        }
        // Validator 1 answers sync requests from its chain; the liar (2) and 3 never do.
        while let Ok(m) = h.peers[0].rx.try_recv() {
            if let Wire::SyncRequest { from, max } = m.message {
                let start = (from as usize - 1).min(chain.len());
                let end = (start + max as usize).min(chain.len());
                if start < end {
                    h.send(1, &Wire::SyncBlocks(chain[start..end].to_vec()));
                }
            }
        }
        for p in &mut h.peers[1..] {
            while p.rx.try_recv().is_ok() {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// 1 MiB blocks of nearly 8 KiB deposits, for the floods below.
fn flood_params() -> Params {
    Params {
        max_block_bytes: 1 << 20,
        max_metadata_bytes: 8_000,
        propose_timeout_ms: 600_000,
        ..Params::default()
    }
}

/// Deposits filling most of a 1 MiB block.
fn flood_txs(h: &Hostile) -> Vec<SignedTx> {
    (1..=120).map(|n| h.deposit(n, 7_900)).collect()
}

const FLOOD_GROWTH: u64 = 24 << 20;

/// Proposals of the current height are checked (signer, proposer, signature) before their
/// block is validated or kept, and what is kept for other rounds than the current one is
/// bounded. The hostile validator sends 1 MiB valid blocks: two per round in every round it
/// proposes within the window node 0 keeps, and as many forged in validators 2 and 3's
/// names; node 0 used to validate and hold every one of them (some 70 MiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_are_checked_before_their_blocks_and_held_within_a_budget() {
    let mut h = setup(flood_params()).await;
    let txs = flood_txs(&h);
    let now = consortia_node::now_ms();
    let mut frames = Vec::new();
    for round in 0..=64u32 {
        let proposer = (1 + round) % 4;
        if proposer == 0 {
            continue;
        }
        for t in 0..2 {
            let (block, _) = h.replica.build(txs.clone(), round, proposer, now + t);
            assert_eq!(block.txs.len(), txs.len());
            // Validator 1 signs every one: its own proposals, and forgeries in 2 and 3's names.
            let mut proposal = h.signed_proposal(1, round, &block);
            proposal.proposer = proposer;
            frames.push(Wire::Proposal { proposal, block });
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = h.rss();
    h.send_paced(&frames).await;
    let grown = h.rss().saturating_sub(before);
    eprintln!("node 0 grew by {} KiB", grown >> 10);
    assert!(
        grown < FLOOD_GROWTH,
        "node 0 grew by {} MiB holding {} proposals' blocks",
        grown >> 20,
        frames.len()
    );
}

/// Messages for the next height wait in a buffer bounded by bytes as well as count. The
/// hostile validator sends, for height 2, a 1 MiB block in each of 64 rounds it proposes
/// there, properly signed; node 0 used to keep them all (4,096 such messages could hold
/// 4,096 frames of up to 96 MiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_height_buffer_is_bounded_by_bytes() {
    let h = setup(flood_params()).await;
    let txs = flood_txs(&h);
    let mut frames = Vec::new();
    for k in 0..64u32 {
        // Validator 1 proposes height 2 at rounds 3, 7, 11, …
        let round = 3 + 4 * k;
        let block = Block {
            header: Header {
                chain_id: CHAIN.into(),
                height: 2,
                time_ms: consortia_node::now_ms(),
                prev_hash: [1; 32],
                tx_root: [2; 32],
                tx_count: txs.len() as u32,
                state_root: [3; 32],
                validators_hash: [4; 32],
                proposer: 1,
                round,
            },
            txs: txs.clone(),
        };
        let proposal = h.signed_proposal(1, round, &block);
        frames.push(Wire::Proposal { proposal, block });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = h.rss();
    h.send_paced(&frames).await;
    let grown = h.rss().saturating_sub(before);
    eprintln!("node 0 grew by {} KiB", grown >> 10);
    assert!(
        grown < FLOOD_GROWTH,
        "node 0 grew by {} MiB buffering {} next-height proposals",
        grown >> 20,
        frames.len()
    );
}
