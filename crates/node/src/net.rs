//! Peer-to-peer transport: authenticated TCP links between validators.
//!
//! Every node dials every peer named in its configuration and accepts the peers' dials; a
//! link carries frames one way, from dialer to listener, so each pair of validators has two
//! links and no tie-breaking is needed.
//!
//! Handshake, on every new link:
//! 1. listener → dialer: `Challenge { chain_id, genesis_hash, listener_key, nonce }` (32 random
//!    bytes);
//! 2. the dialer checks the chain, the genesis hash and that `listener_key` is the key it meant
//!    to reach, then answers `Auth { dialer_key, signature }`, the signature being the dialer's
//!    ed25519 signature over `HANDSHAKE_DOMAIN ‖ genesis_hash ‖ nonce ‖ listener_key ‖
//!    dialer_key`;
//! 3. the listener accepts only a `dialer_key` of a validator in the genesis set (not its own)
//!    with a valid signature over its fresh nonce, and answers `Welcome`.
//!
//! A node outside the validator set therefore cannot open a link, and a captured handshake
//! cannot be replayed (the nonce is fresh). Frames after the handshake are not encrypted;
//! their integrity rests on the signatures every consensus message, transaction and block
//! certificate already carries. Frames are `u32` big-endian length + postcard encoding.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consortia_bft::{Hash, ValidatorSet, hexser};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const HANDSHAKE_DOMAIN: &[u8] = b"consortia/p2p-handshake/v1\0";
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
const PROTOCOL_VERSION: u16 = 1;
/// Frames queued per peer before new ones are dropped (gossip repeats what matters).
const PEER_QUEUE: usize = 8192;

pub use consortia_chain::config::PeerAddr;

/// Settings of the transport.
pub struct NetConfig {
    pub listen: SocketAddr,
    pub chain_id: String,
    pub genesis_hash: Hash,
    pub key: SigningKey,
    pub validators: ValidatorSet,
    pub peers: Vec<PeerAddr>,
    pub max_frame: usize,
}

/// A message received from an authenticated peer.
#[derive(Debug)]
pub struct Inbound<M> {
    pub from: [u8; 32],
    pub message: M,
}

/// What the status endpoint shows about a peer.
#[derive(Clone, Debug, Serialize)]
pub struct PeerStatus {
    #[serde(with = "hexser::array")]
    pub public_key: [u8; 32],
    pub address: String,
    /// Our link to it is up.
    pub outbound: bool,
    /// Its link to us is up.
    pub inbound: bool,
    pub dropped_frames: u64,
}

#[derive(Serialize, Deserialize)]
struct Challenge {
    version: u16,
    chain_id: String,
    #[serde(with = "hexser::array")]
    genesis_hash: Hash,
    #[serde(with = "hexser::array")]
    listener_key: [u8; 32],
    #[serde(with = "hexser::array")]
    nonce: [u8; 32],
}

#[derive(Serialize, Deserialize)]
struct Auth {
    #[serde(with = "hexser::array")]
    dialer_key: [u8; 32],
    #[serde(with = "hexser::array")]
    signature: [u8; 64],
}

#[derive(Serialize, Deserialize)]
enum Verdict {
    Welcome,
    Refused(String),
}

fn handshake_bytes(
    genesis: &Hash,
    nonce: &[u8; 32],
    listener: &[u8; 32],
    dialer: &[u8; 32],
) -> Vec<u8> {
    let mut m = Vec::with_capacity(HANDSHAKE_DOMAIN.len() + 128);
    m.extend_from_slice(HANDSHAKE_DOMAIN);
    m.extend_from_slice(genesis);
    m.extend_from_slice(nonce);
    m.extend_from_slice(listener);
    m.extend_from_slice(dialer);
    m
}

#[derive(Default)]
struct PeerState {
    outbound: bool,
    inbound: bool,
    dropped: u64,
}

type Frame = Arc<Vec<u8>>;
type PeerQueues = HashMap<[u8; 32], mpsc::Sender<Frame>>;

/// Stops the listener, the dialers and every link when the last handle goes.
struct Tasks(Vec<tokio::task::AbortHandle>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Handle to send messages; cheap to clone. The transport stops when the last clone is
/// dropped.
pub struct Network<M> {
    _tasks: Arc<Tasks>,
    senders: Arc<PeerQueues>,
    peers: Arc<Vec<PeerAddr>>,
    state: Arc<Mutex<HashMap<[u8; 32], PeerState>>>,
    local_addr: SocketAddr,
    _m: std::marker::PhantomData<fn(M)>,
}

impl<M> Clone for Network<M> {
    fn clone(&self) -> Self {
        Network {
            _tasks: self._tasks.clone(),
            senders: self.senders.clone(),
            peers: self.peers.clone(),
            state: self.state.clone(),
            local_addr: self.local_addr,
            _m: std::marker::PhantomData,
        }
    }
}

/// Encodes one frame body.
pub fn encode<M: Serialize>(m: &M) -> Vec<u8> {
    postcard::to_allocvec(m).expect("in-memory postcard encoding cannot fail")
}

/// The length of [`encode`]'s output, without building it.
pub fn encoded_len<M: Serialize>(m: &M) -> usize {
    postcard::serialize_with_flavor(m, postcard::ser_flavors::Size::default()).unwrap_or(usize::MAX)
}

impl<M: Serialize + DeserializeOwned + Send + 'static> Network<M> {
    /// Binds the listener and starts the dialers. Inbound messages arrive on the receiver.
    pub async fn start(cfg: NetConfig) -> std::io::Result<(Self, mpsc::Receiver<Inbound<M>>)> {
        let listener = TcpListener::bind(cfg.listen).await?;
        let local_addr = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(16_384);
        let cfg = Arc::new(cfg);
        let state: Arc<Mutex<HashMap<[u8; 32], PeerState>>> = Arc::default();
        let mut senders = HashMap::new();
        let mut tasks = Vec::new();
        for peer in &cfg.peers {
            let (ptx, prx) = mpsc::channel(PEER_QUEUE);
            senders.insert(peer.public_key, ptx);
            tasks.push(
                tokio::spawn(dial_loop(cfg.clone(), peer.clone(), prx, state.clone()))
                    .abort_handle(),
            );
        }
        tasks.push(
            tokio::spawn(accept_loop(listener, cfg.clone(), tx, state.clone())).abort_handle(),
        );
        Ok((
            Network {
                _tasks: Arc::new(Tasks(tasks)),
                senders: Arc::new(senders),
                peers: Arc::new(cfg.peers.clone()),
                state,
                local_addr,
                _m: std::marker::PhantomData,
            },
            rx,
        ))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Sends to every peer; a peer whose queue is full misses this message.
    pub fn broadcast(&self, m: &M) {
        let frame = Arc::new(encode(m));
        for (key, s) in self.senders.iter() {
            self.push(key, s, frame.clone());
        }
    }

    /// Sends to one peer (ignored when it is not a configured peer).
    pub fn send_to(&self, peer: &[u8; 32], m: &M) {
        if let Some(s) = self.senders.get(peer) {
            self.push(peer, s, Arc::new(encode(m)));
        }
    }

    fn push(&self, key: &[u8; 32], s: &mpsc::Sender<Arc<Vec<u8>>>, frame: Arc<Vec<u8>>) {
        if s.try_send(frame).is_err()
            && let Ok(mut st) = self.state.lock()
        {
            st.entry(*key).or_default().dropped += 1;
        }
    }

    pub fn peers(&self) -> Vec<PeerStatus> {
        let st = self.state.lock().map(|s| {
            self.peers
                .iter()
                .map(|p| {
                    let e = s.get(&p.public_key);
                    PeerStatus {
                        public_key: p.public_key,
                        address: p.address.clone(),
                        outbound: e.is_some_and(|e| e.outbound),
                        inbound: e.is_some_and(|e| e.inbound),
                        dropped_frames: e.map_or(0, |e| e.dropped),
                    }
                })
                .collect()
        });
        st.unwrap_or_default()
    }
}

fn set_state(
    state: &Mutex<HashMap<[u8; 32], PeerState>>,
    key: [u8; 32],
    f: impl FnOnce(&mut PeerState),
) {
    if let Ok(mut s) = state.lock() {
        f(s.entry(key).or_default());
    }
}

async fn read_frame(s: &mut (impl AsyncReadExt + Unpin), max: usize) -> std::io::Result<Vec<u8>> {
    let len = s.read_u32().await? as usize;
    if len > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds the limit of {max}"),
        ));
    }
    let mut buf = vec![0u8; len];
    s.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame(s: &mut (impl AsyncWriteExt + Unpin), body: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(body.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame too large"))?;
    s.write_u32(len).await?;
    s.write_all(body).await
}

fn invalid(msg: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.into())
}

async fn accept_loop<M: DeserializeOwned + Send + 'static>(
    listener: TcpListener,
    cfg: Arc<NetConfig>,
    tx: mpsc::Sender<Inbound<M>>,
    state: Arc<Mutex<HashMap<[u8; 32], PeerState>>>,
) {
    // Links live in this set: aborting the accept loop drops it, which aborts them.
    let mut links = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(_) = links.join_next(), if !links.is_empty() => continue,
        };
        let Ok((stream, addr)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let cfg = cfg.clone();
        let tx = tx.clone();
        let state = state.clone();
        links.spawn(async move {
            match serve_link(stream, &cfg, tx, &state).await {
                Ok(()) => {}
                Err(e) => tracing::debug!(%addr, error = %e, "inbound link closed"),
            }
        });
    }
}

async fn serve_link<M: DeserializeOwned>(
    mut stream: TcpStream,
    cfg: &NetConfig,
    tx: mpsc::Sender<Inbound<M>>,
    state: &Mutex<HashMap<[u8; 32], PeerState>>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let own = cfg.key.verifying_key().to_bytes();
    let nonce: [u8; 32] = rand::random();
    let dialer = tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
        let challenge = Challenge {
            version: PROTOCOL_VERSION,
            chain_id: cfg.chain_id.clone(),
            genesis_hash: cfg.genesis_hash,
            listener_key: own,
            nonce,
        };
        write_frame(&mut stream, &encode(&challenge)).await?;
        let auth: Auth = postcard::from_bytes(&read_frame(&mut stream, 1024).await?)
            .map_err(|e| invalid(format!("bad auth frame: {e}")))?;
        let refuse = |why: &str| Verdict::Refused(why.to_string());
        let verdict = if auth.dialer_key == own {
            refuse("a node cannot link to itself")
        } else if cfg.validators.index_of(&auth.dialer_key).is_none() {
            refuse("key is not in the validator set")
        } else if VerifyingKey::from_bytes(&auth.dialer_key)
            .and_then(|k| {
                k.verify_strict(
                    &handshake_bytes(&cfg.genesis_hash, &nonce, &own, &auth.dialer_key),
                    &Signature::from_bytes(&auth.signature),
                )
            })
            .is_err()
        {
            refuse("handshake signature does not verify")
        } else {
            Verdict::Welcome
        };
        write_frame(&mut stream, &encode(&verdict)).await?;
        match verdict {
            Verdict::Welcome => Ok(auth.dialer_key),
            Verdict::Refused(why) => Err(invalid(format!("refused peer: {why}"))),
        }
    })
    .await
    .map_err(|_| invalid("handshake timed out"))??;
    set_state(state, dialer, |s| s.inbound = true);
    let mut reader = tokio::io::BufReader::with_capacity(1 << 16, stream);
    let result = async {
        loop {
            let frame = read_frame(&mut reader, cfg.max_frame).await?;
            let message: M = postcard::from_bytes(&frame)
                .map_err(|e| invalid(format!("undecodable frame: {e}")))?;
            if tx
                .send(Inbound {
                    from: dialer,
                    message,
                })
                .await
                .is_err()
            {
                return Ok(());
            }
        }
    }
    .await;
    set_state(state, dialer, |s| s.inbound = false);
    result
}

async fn dial_loop(
    cfg: Arc<NetConfig>,
    peer: PeerAddr,
    mut rx: mpsc::Receiver<Arc<Vec<u8>>>,
    state: Arc<Mutex<HashMap<[u8; 32], PeerState>>>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match dial(&cfg, &peer).await {
            Ok(stream) => {
                backoff = Duration::from_millis(100);
                set_state(&state, peer.public_key, |s| s.outbound = true);
                let r = pump(stream, &mut rx).await;
                set_state(&state, peer.public_key, |s| s.outbound = false);
                match r {
                    Ok(()) => return, // the node is shutting down
                    Err(e) => {
                        tracing::debug!(peer = %peer.address, error = %e, "outbound link lost")
                    }
                }
            }
            Err(e) => tracing::debug!(peer = %peer.address, error = %e, "dial failed"),
        }
        // Drop what queued up while the link was down: it is stale, and gossip repeats.
        while rx.try_recv().is_ok() {}
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

async fn dial(cfg: &NetConfig, peer: &PeerAddr) -> std::io::Result<TcpStream> {
    let mut stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(&peer.address))
        .await
        .map_err(|_| invalid("connect timed out"))??;
    stream.set_nodelay(true)?;
    let own = cfg.key.verifying_key().to_bytes();
    tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
        let c: Challenge = postcard::from_bytes(&read_frame(&mut stream, 1024).await?)
            .map_err(|e| invalid(format!("bad challenge frame: {e}")))?;
        if c.version != PROTOCOL_VERSION {
            return Err(invalid(format!("peer speaks protocol {}", c.version)));
        }
        if c.chain_id != cfg.chain_id || c.genesis_hash != cfg.genesis_hash {
            return Err(invalid("peer is on another chain"));
        }
        if c.listener_key != peer.public_key {
            return Err(invalid("peer presented another key than configured"));
        }
        let signature = cfg
            .key
            .sign(&handshake_bytes(
                &cfg.genesis_hash,
                &c.nonce,
                &c.listener_key,
                &own,
            ))
            .to_bytes();
        let auth = Auth {
            dialer_key: own,
            signature,
        };
        write_frame(&mut stream, &encode(&auth)).await?;
        let v: Verdict = postcard::from_bytes(&read_frame(&mut stream, 1024).await?)
            .map_err(|e| invalid(format!("bad verdict frame: {e}")))?;
        match v {
            Verdict::Welcome => Ok(()),
            Verdict::Refused(why) => Err(invalid(format!("peer refused us: {why}"))),
        }
    })
    .await
    .map_err(|_| invalid("handshake timed out"))??;
    Ok(stream)
}

async fn pump(stream: TcpStream, rx: &mut mpsc::Receiver<Arc<Vec<u8>>>) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 16, stream);
    loop {
        let Some(frame) = rx.recv().await else {
            return Ok(());
        };
        write_frame(&mut w, &frame).await?;
        // Batch whatever else is queued into the same flush.
        while let Ok(frame) = rx.try_recv() {
            write_frame(&mut w, &frame).await?;
        }
        w.flush().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consortia_bft::Validator;

    fn key(i: u8) -> SigningKey {
        SigningKey::from_bytes(&[i; 32])
    }

    fn vset(keys: &[&SigningKey]) -> ValidatorSet {
        ValidatorSet::new(
            keys.iter()
                .map(|k| Validator {
                    name: String::new(),
                    public_key: k.verifying_key().to_bytes(),
                    power: 1,
                })
                .collect(),
        )
        .unwrap()
    }

    fn cfg(k: &SigningKey, vs: &ValidatorSet, peers: Vec<PeerAddr>, genesis: Hash) -> NetConfig {
        NetConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            chain_id: "t".into(),
            genesis_hash: genesis,
            key: k.clone(),
            validators: vs.clone(),
            peers,
            max_frame: 1 << 20,
        }
    }

    #[tokio::test]
    async fn validators_link_and_outsiders_are_refused() {
        let (a, b, outsider) = (key(1), key(2), key(3));
        let vs = vset(&[&a, &b]);
        let (na, mut ra) = Network::<String>::start(cfg(&a, &vs, vec![], [0; 32]))
            .await
            .unwrap();
        let peer_a = PeerAddr {
            public_key: a.verifying_key().to_bytes(),
            address: na.local_addr().to_string(),
        };
        // A validator of the set: its messages arrive, tagged with its key.
        let (nb, _rb) = Network::<String>::start(cfg(&b, &vs, vec![peer_a.clone()], [0; 32]))
            .await
            .unwrap();
        let got = loop {
            nb.broadcast(&"hello".to_string());
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(200), ra.recv()).await {
                break m;
            }
        };
        assert_eq!(got.message, "hello");
        assert_eq!(got.from, b.verifying_key().to_bytes());
        // A key outside the set is refused at the handshake: nothing it sends arrives.
        let (no, _ro) =
            Network::<String>::start(cfg(&outsider, &vs, vec![peer_a.clone()], [0; 32]))
                .await
                .unwrap();
        // Same validator set and key but another genesis: refused by the dialer's own check.
        let (ng, _rg) = Network::<String>::start(cfg(&b, &vs, vec![peer_a], [1; 32]))
            .await
            .unwrap();
        for _ in 0..10 {
            no.broadcast(&"inject".to_string());
            ng.broadcast(&"inject".to_string());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        while let Ok(m) = ra.try_recv() {
            assert_eq!(
                m.message, "hello",
                "an unauthenticated peer got a message through"
            );
        }
        assert!(!no.peers()[0].outbound);
        assert!(!ng.peers()[0].outbound);
    }

    #[tokio::test]
    async fn forged_handshake_is_refused() {
        // A dialer claiming a validator's key without holding it.
        let (a, b) = (key(1), key(2));
        let vs = vset(&[&a, &b]);
        let (na, mut ra) = Network::<String>::start(cfg(&a, &vs, vec![], [0; 32]))
            .await
            .unwrap();
        let mut s = TcpStream::connect(na.local_addr()).await.unwrap();
        let c: Challenge = postcard::from_bytes(&read_frame(&mut s, 1024).await.unwrap()).unwrap();
        let forged = Auth {
            dialer_key: b.verifying_key().to_bytes(),
            signature: key(9)
                .sign(&handshake_bytes(
                    &c.genesis_hash,
                    &c.nonce,
                    &c.listener_key,
                    &b.verifying_key().to_bytes(),
                ))
                .to_bytes(),
        };
        write_frame(&mut s, &encode(&forged)).await.unwrap();
        let v: Verdict = postcard::from_bytes(&read_frame(&mut s, 1024).await.unwrap()).unwrap();
        assert!(matches!(v, Verdict::Refused(ref why) if why.contains("signature")));
        let _ = write_frame(&mut s, &encode(&"inject".to_string())).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(ra.try_recv().is_err());
    }
}
