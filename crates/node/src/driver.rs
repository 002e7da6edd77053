//! The consensus driver: runs the Tendermint state machine of `consortia-bft` for a node.
//!
//! It owns the state machine and is the only writer of the chain: it feeds it network
//! messages, proposal verdicts and timeouts, carries out its effects (persist before
//! broadcast, schedule timeouts, build a block when we propose, commit on decide), gossips
//! (our own messages and the evidence we hold, every tick), and catches up from peers by block
//! sync when they report a greater height. What a block is and how it is executed is the
//! [`App`]'s business.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use consortia_bft::tendermint::{
    Effect, Message, MessageError, Persisted, ROUND_WINDOW, SignedProposal, SignedVote, Step,
    Tendermint, Timeout, Timeouts,
};
use consortia_bft::{CommitCertificate, Hash, ValidatorSet, verify_certificate};
use ed25519_dalek::SigningKey;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, watch};

use crate::net::{Inbound, Network};

/// How long a sync request may go unanswered before another peer is asked.
const SYNC_TIMEOUT: Duration = Duration::from_secs(2);
/// Most messages buffered for the next height.
const MAX_FUTURE: usize = 4096;

/// What the driver needs from the ledger.
pub trait App: Send + 'static {
    type Block: Clone + Serialize + DeserializeOwned + Send + Sync + 'static;
    /// Application gossip (transactions) carried over the same links.
    type Gossip: Clone + Serialize + DeserializeOwned + Send + Sync + 'static;

    fn block_hash(block: &Self::Block) -> Hash;
    fn block_height(block: &Self::Block) -> u64;
    /// The round the block names as the one it was first proposed in.
    fn block_round(block: &Self::Block) -> u32;
    /// The committed height (0 before the first block).
    fn height(&self) -> u64;
    /// Builds the block to propose at `height` (the next one).
    fn build(&mut self, height: u64, round: u32, proposer: u32) -> Self::Block;
    /// Whether `block` is a valid next block (executes it; may cache the outcome for commit).
    fn validate(&mut self, block: &Self::Block) -> Result<(), String>;
    /// Makes a decided block durable with its certificate.
    fn commit(&mut self, block: Self::Block, cert: CommitCertificate) -> Result<(), String>;
    /// A committed block with its certificate, for peers that sync from us.
    fn committed(&self, height: u64) -> Option<(Self::Block, CommitCertificate)>;
    /// Whether there is something to put in a block (otherwise the proposer waits a while).
    fn has_pending(&self) -> bool;
    /// Application gossip from a peer.
    fn on_gossip(&mut self, from: [u8; 32], gossip: Self::Gossip);
    /// Application gossip to send now (called every gossip interval).
    fn take_gossip(&mut self) -> Vec<Self::Gossip>;
}

/// Messages between nodes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Wire<B, G> {
    Proposal { proposal: SignedProposal, block: B },
    Vote(SignedVote),
    Status { height: u64, round: u32 },
    SyncRequest { from: u64, max: u32 },
    SyncBlocks(Vec<(B, CommitCertificate)>),
    Gossip(G),
}

/// Tunables of the driver.
#[derive(Clone, Debug)]
pub struct DriverParams {
    pub timeouts: Timeouts,
    /// How often to re-send our consensus messages and our status.
    pub tick: Duration,
    /// Pause after a commit before the next height starts (lets transactions accumulate).
    pub commit_delay: Duration,
    /// How long a proposer with nothing to propose waits before proposing an empty block.
    pub empty_block_after: Duration,
    /// How often application gossip is flushed.
    pub gossip_interval: Duration,
    /// Blocks per sync response.
    pub sync_batch: u32,
    /// Bytes (wire encoding) of blocks per sync response past its first block: a reply must
    /// fit a peer frame, and a single block always does.
    pub sync_bytes: usize,
    /// Bytes of peers' blocks held at one height past which a block is taken only for the
    /// current round (at most two there, from its proposer); others come back with gossip.
    pub held_bytes: usize,
    /// Bytes of messages buffered for the next height (besides at most 4,096 messages).
    pub future_bytes: usize,
}

impl Default for DriverParams {
    fn default() -> Self {
        DriverParams {
            timeouts: Timeouts::default(),
            tick: Duration::from_millis(500),
            commit_delay: Duration::from_millis(0),
            empty_block_after: Duration::from_millis(1000),
            gossip_interval: Duration::from_millis(5),
            sync_batch: 16,
            sync_bytes: 48 << 20,
            held_bytes: 32 << 20,
            future_bytes: 32 << 20,
        }
    }
}

/// What the driver publishes for the status endpoint and metrics.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ConsensusStatus {
    pub height: u64,
    pub round: u32,
    pub step: String,
    pub validator_index: Option<u32>,
    pub syncing: bool,
    pub best_peer_height: u64,
    pub rounds_beyond_zero: u64,
    pub sync_blocks: u64,
}

/// A running driver's outputs.
pub struct DriverHandle {
    pub status: watch::Receiver<ConsensusStatus>,
    /// Notified after each commit.
    pub committed: Arc<Notify>,
}

type AppWire<A> = Wire<<A as App>::Block, <A as App>::Gossip>;

pub struct Driver<A: App> {
    chain_id: String,
    validators: ValidatorSet,
    app: A,
    sm: Tendermint,
    net: Network<Wire<A::Block, A::Gossip>>,
    inbound: mpsc::Receiver<Inbound<Wire<A::Block, A::Gossip>>>,
    params: DriverParams,
    wal: PathBuf,
    timers: BinaryHeap<Reverse<(Instant, u64, TimeoutKey)>>,
    timer_seq: u64,
    blocks: HashMap<Hash, A::Block>,
    /// Wire bytes of the peers' blocks in `blocks`.
    held_bytes: usize,
    future: Vec<(AppWire<A>, [u8; 32])>,
    /// Wire bytes of the messages in `future`.
    future_bytes: usize,
    pending_request: Option<(u64, u32, Instant)>,
    start_next_at: Option<Instant>,
    peer_heights: HashMap<[u8; 32], u64>,
    /// The peer asked for blocks, and when.
    sync_inflight: Option<([u8; 32], Instant)>,
    /// Sync requests each peer left unanswered or answered with nothing usable since it last
    /// delivered.
    sync_strikes: HashMap<[u8; 32], u32>,
    status_tx: watch::Sender<ConsensusStatus>,
    committed: Arc<Notify>,
    app_wakeup: Arc<Notify>,
    stats: ConsensusStatus,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct TimeoutKey {
    height: u64,
    round: u32,
    step: u8,
}

impl From<Timeout> for TimeoutKey {
    fn from(t: Timeout) -> Self {
        TimeoutKey {
            height: t.height,
            round: t.round,
            step: t.step as u8,
        }
    }
}

impl TimeoutKey {
    fn timeout(self) -> Timeout {
        Timeout {
            height: self.height,
            round: self.round,
            step: match self.step {
                0 => Step::Propose,
                1 => Step::Prevote,
                _ => Step::Precommit,
            },
        }
    }
}

/// Reads the persisted consensus state, if any.
pub fn load_wal(path: &std::path::Path) -> std::io::Result<Option<Persisted>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes the consensus state durably: temp file, fsync, rename, fsync of the directory.
pub fn store_wal(path: &std::path::Path, p: &Persisted) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec(p).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl<A: App> Driver<A> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        chain_id: String,
        validators: ValidatorSet,
        key: Option<SigningKey>,
        app: A,
        net: Network<Wire<A::Block, A::Gossip>>,
        inbound: mpsc::Receiver<Inbound<Wire<A::Block, A::Gossip>>>,
        params: DriverParams,
        wal: PathBuf,
        app_wakeup: Arc<Notify>,
    ) -> (Self, DriverHandle) {
        let sm = Tendermint::new(chain_id.clone(), validators.clone(), key, params.timeouts);
        let (status_tx, status) = watch::channel(ConsensusStatus::default());
        let committed = Arc::new(Notify::new());
        let d = Driver {
            chain_id,
            validators,
            app,
            sm,
            net,
            inbound,
            params,
            wal,
            timers: BinaryHeap::new(),
            timer_seq: 0,
            blocks: HashMap::new(),
            held_bytes: 0,
            future: Vec::new(),
            future_bytes: 0,
            pending_request: None,
            start_next_at: None,
            peer_heights: HashMap::new(),
            sync_inflight: None,
            sync_strikes: HashMap::new(),
            status_tx,
            committed: committed.clone(),
            app_wakeup,
            stats: ConsensusStatus::default(),
        };
        (d, DriverHandle { status, committed })
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> std::io::Result<()> {
        let persisted = load_wal(&self.wal)?;
        let next = self.app.height() + 1;
        let fx = self.sm.restore(next, persisted);
        self.apply(fx)?;
        let mut tick = tokio::time::interval(self.params.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut gossip = tokio::time::interval(self.params.gossip_interval);
        gossip.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let wakeup = self.app_wakeup.clone();
        loop {
            self.publish_status();
            let next_timer = self
                .timers
                .peek()
                .map(|Reverse((at, _, _))| *at)
                .into_iter()
                .chain(self.start_next_at)
                .chain(
                    self.pending_request
                        .map(|(_, _, since)| since + self.params.empty_block_after),
                )
                .min()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                biased;
                _ = shutdown.changed() => {
                    if *shutdown.borrow() { return Ok(()); }
                }
                m = self.inbound.recv() => {
                    let Some(m) = m else { return Ok(()) };
                    self.on_wire(m.from, m.message)?;
                    // Drain what else is queued before looking at timers again.
                    while let Ok(m) = self.inbound.try_recv() {
                        self.on_wire(m.from, m.message)?;
                    }
                }
                _ = tokio::time::sleep_until(next_timer.into()) => {
                    self.on_time()?;
                }
                _ = wakeup.notified(), if self.pending_request.is_some() => {
                    self.try_propose(false)?;
                }
                _ = gossip.tick() => {
                    for g in self.app.take_gossip() {
                        self.net.broadcast(&Wire::Gossip(g));
                    }
                }
                _ = tick.tick() => self.on_tick(),
            }
        }
    }

    fn publish_status(&mut self) {
        self.stats.height = self.app.height();
        self.stats.round = self.sm.round();
        self.stats.step = format!("{:?}", self.sm.step()).to_lowercase();
        self.stats.validator_index = self.sm.validator_index();
        self.stats.best_peer_height = self.peer_heights.values().copied().max().unwrap_or(0);
        self.stats.syncing = self.stats.best_peer_height > self.stats.height + 1;
        let s = self.stats.clone();
        self.status_tx.send_if_modified(|old| {
            let changed = old.height != s.height
                || old.sync_blocks != s.sync_blocks
                || old.rounds_beyond_zero != s.rounds_beyond_zero
                || old.round != s.round
                || old.step != s.step
                || old.syncing != s.syncing
                || old.best_peer_height != s.best_peer_height;
            if changed {
                *old = s;
            }
            changed
        });
    }

    fn on_time(&mut self) -> std::io::Result<()> {
        let now = Instant::now();
        if self.start_next_at.is_some_and(|t| t <= now) {
            self.start_next_at = None;
            self.start_height()?;
        }
        if self
            .pending_request
            .is_some_and(|(_, _, since)| since + self.params.empty_block_after <= now)
        {
            self.try_propose(true)?;
        }
        while self
            .timers
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= now)
        {
            let Some(Reverse((_, _, key))) = self.timers.pop() else {
                break;
            };
            let fx = self.sm.on_timeout(key.timeout());
            if fx.iter().any(|e| matches!(e, Effect::Broadcast(_))) && key.step == 2 {
                self.stats.rounds_beyond_zero += 1;
            }
            self.apply(fx)?;
        }
        Ok(())
    }

    fn start_height(&mut self) -> std::io::Result<()> {
        let next = self.app.height() + 1;
        if self.sm.height() >= next && !self.sm.is_decided() {
            return Ok(());
        }
        self.blocks.clear();
        self.held_bytes = 0;
        self.timers.clear();
        self.pending_request = None;
        let fx = self.sm.start_height(next);
        self.apply(fx)?;
        let buffered = std::mem::take(&mut self.future);
        self.future_bytes = 0;
        for (w, from) in buffered {
            self.on_wire(from, w)?;
        }
        Ok(())
    }

    fn try_propose(&mut self, force: bool) -> std::io::Result<()> {
        let Some((height, round, _)) = self.pending_request else {
            return Ok(());
        };
        if !force && !self.app.has_pending() {
            return Ok(());
        }
        self.pending_request = None;
        if height != self.sm.height() || round != self.sm.round() || self.sm.is_decided() {
            return Ok(());
        }
        let proposer = self.validators.proposer(height, round) as u32;
        let block = self.app.build(height, round, proposer);
        let hash = A::block_hash(&block);
        self.blocks.insert(hash, block);
        let fx = self.sm.on_value(height, round, hash);
        self.apply(fx)
    }

    fn apply(&mut self, effects: Vec<Effect>) -> std::io::Result<()> {
        for e in effects {
            match e {
                Effect::Persist(p) => store_wal(&self.wal, &p)?,
                Effect::Broadcast(m) => {
                    if let Some(w) = self.wire_for(m) {
                        self.net.broadcast(&w);
                    }
                }
                Effect::ScheduleTimeout { timeout, after_ms } => {
                    self.timer_seq += 1;
                    self.timers.push(Reverse((
                        Instant::now() + Duration::from_millis(after_ms),
                        self.timer_seq,
                        timeout.into(),
                    )));
                }
                Effect::RequestValue { height, round } => {
                    self.pending_request = Some((height, round, Instant::now()));
                    self.try_propose(false)?;
                }
                Effect::Decide {
                    height,
                    value,
                    certificate,
                    ..
                } => {
                    let Some(block) = self.blocks.get(&value).cloned() else {
                        // Decided without the body (cannot happen: validity implies we hold
                        // it); sync will bring it.
                        tracing::warn!(height, "decided a block we do not hold");
                        continue;
                    };
                    self.app
                        .commit(block, certificate)
                        .map_err(std::io::Error::other)?;
                    self.committed.notify_waiters();
                    self.after_commit();
                }
            }
        }
        Ok(())
    }

    fn after_commit(&mut self) {
        self.timers.clear();
        self.pending_request = None;
        if self.params.commit_delay.is_zero() {
            self.start_next_at = Some(Instant::now());
        } else {
            self.start_next_at = Some(Instant::now() + self.params.commit_delay);
        }
        let status = Wire::Status {
            height: self.app.height(),
            round: 0,
        };
        self.net.broadcast(&status);
    }

    fn wire_for(&self, m: Message) -> Option<Wire<A::Block, A::Gossip>> {
        match m {
            Message::Vote(v) => Some(Wire::Vote(v)),
            Message::Proposal(p) => {
                let block = self.blocks.get(&p.proposal.value)?.clone();
                Some(Wire::Proposal { proposal: p, block })
            }
        }
    }

    fn on_tick(&mut self) {
        if !self.sm.is_decided() {
            for m in self.sm.gossip_messages() {
                if let Some(w) = self.wire_for(m) {
                    self.net.broadcast(&w);
                }
            }
        }
        self.net.broadcast(&Wire::Status {
            height: self.app.height(),
            round: self.sm.round(),
        });
        self.maybe_sync();
    }

    fn maybe_sync(&mut self) {
        let ours = self.app.height();
        if let Some((peer, since)) = self.sync_inflight {
            if since.elapsed() < SYNC_TIMEOUT {
                return;
            }
            self.strike(peer);
            self.sync_inflight = None;
        }
        // Heights come in unsigned status messages, so a claim is trusted only as far as the
        // peer delivers: among the peers ahead of us, ask the one that failed us least, then
        // the one claiming most. A liar is asked once, then again only after every other
        // peer ahead failed as often.
        let strikes = &self.sync_strikes;
        let pick = self
            .peer_heights
            .iter()
            .filter(|(_, h)| **h > ours)
            .min_by_key(|(p, h)| (strikes.get(*p).copied().unwrap_or(0), Reverse(**h), **p))
            .map(|(p, _)| *p);
        if let Some(peer) = pick {
            self.sync_inflight = Some((peer, Instant::now()));
            self.net.send_to(
                &peer,
                &Wire::SyncRequest {
                    from: ours + 1,
                    max: self.params.sync_batch,
                },
            );
        }
    }

    fn on_wire(&mut self, from: [u8; 32], w: Wire<A::Block, A::Gossip>) -> std::io::Result<()> {
        match w {
            Wire::Proposal { proposal, block } => {
                if A::block_hash(&block) != proposal.proposal.value
                    || A::block_height(&block) != proposal.proposal.height
                {
                    tracing::debug!("proposal whose block does not match its value");
                    return Ok(());
                }
                let height = proposal.proposal.height;
                if height == self.sm.height() + 1
                    || (height == self.sm.height() && self.sm.is_decided())
                {
                    // Kept only when its proposer signed it: a forgery would take the room.
                    match self.sm.check_proposal_origin(&proposal) {
                        Ok(()) => self.buffer(Wire::Proposal { proposal, block }, from),
                        Err(e) => self.on_reject(e),
                    }
                    return Ok(());
                }
                if height != self.sm.height() {
                    return Ok(());
                }
                // Who signed it and whether it is new, before its block costs anything.
                if let Err(e) = self.sm.check_proposal(&proposal) {
                    self.on_reject(e);
                    return Ok(());
                }
                let round = proposal.proposal.round;
                let hash = proposal.proposal.value;
                // A block names the round it was first proposed in: this one for a fresh
                // proposal, at most the valid round of a re-proposal. Otherwise it would put
                // its content on another round's proposer.
                let named = A::block_round(&block);
                let named_right = match proposal.proposal.valid_round {
                    None => named == round,
                    Some(vr) => named <= vr,
                };
                let valid = if !named_right {
                    tracing::warn!(height, round, named, "proposed block names another round");
                    false
                } else if self.blocks.contains_key(&hash) {
                    true
                } else if round > self.sm.round().saturating_add(ROUND_WINDOW) {
                    // Beyond the window it only counts towards the round skip; its block is
                    // looked at when gossip brings it back within reach.
                    false
                } else {
                    let size = crate::net::encoded_len(&block);
                    if round != self.sm.round()
                        && self.held_bytes.saturating_add(size) > self.params.held_bytes
                    {
                        tracing::debug!(height, round, "no room for another round's block");
                        return Ok(());
                    }
                    match self.app.validate(&block) {
                        Ok(()) => {
                            self.held_bytes = self.held_bytes.saturating_add(size);
                            self.blocks.insert(hash, block);
                            true
                        }
                        Err(why) => {
                            tracing::warn!(height, %why, "invalid proposal");
                            false
                        }
                    }
                };
                match self.sm.on_proposal(proposal, valid) {
                    Ok(fx) => self.apply(fx)?,
                    Err(e) => self.on_reject(e),
                }
            }
            Wire::Vote(v) => {
                let h = v.vote.height;
                match self.sm.on_vote(v.clone()) {
                    Ok(fx) => self.apply(fx)?,
                    Err(MessageError::FutureHeight(_)) => self.buffer(Wire::Vote(v), from),
                    Err(MessageError::PastHeight(_)) if h == self.sm.height() => {
                        // Decided here, next height not started yet (commit delay).
                        self.buffer(Wire::Vote(v), from)
                    }
                    Err(e) => self.on_reject(e),
                }
            }
            Wire::Status { height, .. } => {
                self.peer_heights.insert(from, height);
                if height > self.app.height() && self.sync_inflight.is_none() {
                    self.maybe_sync();
                }
            }
            Wire::SyncRequest { from: start, max } => {
                let max = max.min(self.params.sync_batch);
                let mut blocks = Vec::new();
                let mut bytes = 0usize;
                for h in start..start.saturating_add(u64::from(max)) {
                    let Some(b) = self.app.committed(h) else {
                        break;
                    };
                    // Whole blocks within the budget, and always the first: a reply that
                    // outgrew the frame limit would be refused, and the peer would never
                    // catch up.
                    let size = crate::net::encoded_len(&b);
                    if !blocks.is_empty() && bytes.saturating_add(size) > self.params.sync_bytes {
                        break;
                    }
                    bytes = bytes.saturating_add(size);
                    blocks.push(b);
                }
                if !blocks.is_empty() {
                    self.net.send_to(&from, &Wire::SyncBlocks(blocks));
                }
            }
            Wire::SyncBlocks(blocks) => {
                let asked = self.sync_inflight.is_some_and(|(p, _)| p == from);
                if asked {
                    self.sync_inflight = None;
                }
                let mut progressed = false;
                for (block, cert) in blocks {
                    let height = A::block_height(&block);
                    if height != self.app.height() + 1 {
                        continue;
                    }
                    let hash = A::block_hash(&block);
                    if let Err(e) =
                        verify_certificate(&self.chain_id, &self.validators, height, &hash, &cert)
                    {
                        tracing::warn!(height, error = %e, "sync block with a bad certificate");
                        break;
                    }
                    // Decided in the round it was proposed in or later.
                    if A::block_round(&block) > cert.round {
                        tracing::warn!(height, "sync block certified before its round");
                        break;
                    }
                    if let Err(why) = self.app.validate(&block) {
                        tracing::error!(height, %why, "certified block fails validation: state diverged");
                        break;
                    }
                    self.app
                        .commit(block, cert)
                        .map_err(std::io::Error::other)?;
                    self.stats.sync_blocks += 1;
                    progressed = true;
                }
                if progressed {
                    self.sync_strikes.remove(&from);
                    self.committed.notify_waiters();
                    self.start_height()?;
                    self.maybe_sync();
                } else if asked {
                    self.strike(from);
                    self.maybe_sync();
                }
            }
            Wire::Gossip(g) => self.app.on_gossip(from, g),
        }
        Ok(())
    }

    /// Keeps a message for the next height, within the count and byte bounds (what does not
    /// fit is dropped: gossip repeats it once that height runs).
    fn buffer(&mut self, w: Wire<A::Block, A::Gossip>, from: [u8; 32]) {
        let size = crate::net::encoded_len(&w);
        if self.future.len() < MAX_FUTURE
            && self.future_bytes.saturating_add(size) <= self.params.future_bytes
        {
            self.future_bytes += size;
            self.future.push((w, from));
        }
    }

    fn strike(&mut self, peer: [u8; 32]) {
        let s = self.sync_strikes.entry(peer).or_default();
        *s = s.saturating_add(1);
    }

    fn on_reject(&mut self, e: MessageError) {
        match e {
            MessageError::Duplicate | MessageError::PastHeight(_) => {}
            MessageError::FarFutureHeight(_) => self.maybe_sync(),
            other => tracing::debug!(error = %other, "consensus message refused"),
        }
    }
}
