//! GoQuorum with QBFT consensus: what a network needs before its first block — each
//! validator's secp256k1 node key with its address and enode id, the genesis (chain id,
//! QBFT settings, gas limit, pre-funded accounts, and the `extraData` naming the first
//! validators), and the static node list peers dial.
//!
//! Checked by implementations we did not write: `tests/quorum_independent.rs` has PyPI's
//! `eth-keys` derive every address and enode id from the keys and `rlp` encode the
//! `extraData` it expects, byte for byte.

use k256::SecretKey;
use k256::elliptic_curve::sec1::ToSec1Point;
use serde_json::{Map, Value, json};
use tiny_keccak::{Hasher, Keccak};

/// Why material cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QuorumError {
    /// A node key that is not 32 bytes of hex, or not a valid secp256k1 scalar.
    #[error("node key: {0}")]
    Key(String),
    /// A setting out of range (the field is named).
    #[error("{field}: {detail}")]
    Invalid { field: &'static str, detail: String },
}

/// A 20-byte account or validator address.
pub type Address = [u8; 20];

/// Keccak-256, as Ethereum uses it.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut k = Keccak::v256();
    k.update(data);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    out
}

/// The EIP-55 mixed-case form of an address (`0x…`).
pub fn checksum_address(a: &Address) -> String {
    let lower = hex::encode(a);
    let hash = keccak256(lower.as_bytes());
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, c) in lower.chars().enumerate() {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
        out.push(if c.is_ascii_alphabetic() && nibble >= 8 {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    out
}

/// A node's secp256k1 key: its identity on the P2P network (enode id) and, for a
/// validator, the address that signs blocks.
#[derive(Clone)]
pub struct NodeKey {
    secret: SecretKey,
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret: only who it is.
        write!(f, "NodeKey({})", checksum_address(&self.address()))
    }
}

impl NodeKey {
    /// A new random key.
    pub fn generate() -> NodeKey {
        loop {
            let bytes: [u8; 32] = rand::random();
            // Zero and values at or above the group order are not keys (odds ~2^-128).
            if let Ok(secret) = SecretKey::from_slice(&bytes) {
                return NodeKey { secret };
            }
        }
    }

    /// A key from the 64 hex digits of a geth `nodekey` file (an optional `0x` and
    /// surrounding whitespace are accepted).
    pub fn from_hex(s: &str) -> Result<NodeKey, QuorumError> {
        let s = s.trim();
        let s = s.strip_prefix("0x").unwrap_or(s);
        let bytes = hex::decode(s).map_err(|e| QuorumError::Key(e.to_string()))?;
        if bytes.len() != 32 {
            return Err(QuorumError::Key(format!(
                "{} bytes, expected 32",
                bytes.len()
            )));
        }
        let secret = SecretKey::from_slice(&bytes)
            .map_err(|_| QuorumError::Key("not a valid secp256k1 secret key".into()))?;
        Ok(NodeKey { secret })
    }

    /// The `nodekey` file's contents: 64 lower-case hex digits, no prefix. A secret.
    pub fn secret_hex(&self) -> String {
        hex::encode(self.secret.to_bytes())
    }

    /// The uncompressed public key without its `04` prefix (64 bytes).
    pub fn public_key(&self) -> [u8; 64] {
        let point = self.secret.public_key().to_sec1_point(false);
        let mut out = [0u8; 64];
        out.copy_from_slice(&point.as_bytes()[1..65]);
        out
    }

    /// The enode id: the public key in hex (128 digits).
    pub fn enode_id(&self) -> String {
        hex::encode(self.public_key())
    }

    /// The address: the last 20 bytes of the Keccak-256 of the public key.
    pub fn address(&self) -> Address {
        let hash = keccak256(&self.public_key());
        let mut a = [0u8; 20];
        a.copy_from_slice(&hash[12..]);
        a
    }

    /// `enode://<id>@<host>:<port>?discport=0` (discovery off: peers come from the list).
    pub fn enode_url(&self, host: &str, port: u16) -> String {
        format!("enode://{}@{host}:{port}?discport=0", self.enode_id())
    }
}

/// Recursive-length-prefix encoding (the Ethereum yellow paper, appendix B), as far as
/// genesis material needs it.
pub mod rlp {
    /// An item to encode.
    pub enum Item<'a> {
        Bytes(&'a [u8]),
        List(Vec<Item<'a>>),
    }

    fn length_prefix(len: usize, short: u8, long: u8, out: &mut Vec<u8>) {
        if len <= 55 {
            out.push(short + len as u8);
        } else {
            let be = len.to_be_bytes();
            let skip = be.iter().take_while(|b| **b == 0).count();
            out.push(long + (be.len() - skip) as u8);
            out.extend_from_slice(&be[skip..]);
        }
    }

    /// The encoding of `item`.
    pub fn encode(item: &Item<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        match item {
            Item::Bytes([b]) if *b < 0x80 => out.push(*b),
            Item::Bytes(b) => {
                length_prefix(b.len(), 0x80, 0xb7, &mut out);
                out.extend_from_slice(b);
            }
            Item::List(items) => {
                let payload: Vec<u8> = items.iter().flat_map(encode).collect();
                length_prefix(payload.len(), 0xc0, 0xf7, &mut out);
                out.extend_from_slice(&payload);
            }
        }
        out
    }
}

/// QBFT `extraData` of the genesis: RLP of `[32-byte vanity, [validator addresses], vote
/// (none: empty list), round 0, committed seals (none)]`. Validators go in address order,
/// the order QBFT keeps its validator set in.
pub fn extra_data(validators: &[Address]) -> Vec<u8> {
    use rlp::Item;
    let mut sorted = validators.to_vec();
    sorted.sort();
    let vanity = [0u8; 32];
    rlp::encode(&Item::List(vec![
        Item::Bytes(&vanity),
        Item::List(sorted.iter().map(|a| Item::Bytes(a)).collect()),
        Item::List(Vec::new()),
        Item::Bytes(&[]),
        Item::List(Vec::new()),
    ]))
}

/// The QBFT and chain settings of a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// EIP-155 chain id (transactions signed for another chain are refused).
    pub chain_id: u64,
    /// Seconds between blocks.
    pub block_period_seconds: u64,
    /// Seconds between blocks when no transaction waits (QBFT's empty-block period).
    pub empty_block_period_seconds: u64,
    /// Blocks after which pending validator votes are dropped.
    pub epoch_length: u64,
    /// Seconds a round waits for a proposal before moving to the next.
    pub request_timeout_seconds: u64,
    /// Gas limit of each block.
    pub gas_limit: u64,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            chain_id: 1337,
            block_period_seconds: 1,
            empty_block_period_seconds: 60,
            epoch_length: 30_000,
            request_timeout_seconds: 10,
            gas_limit: 0x2fef_d800,
        }
    }
}

impl Params {
    /// Refuses settings no network can run with.
    pub fn check(&self) -> Result<(), QuorumError> {
        let invalid = |field, detail: &str| {
            Err(QuorumError::Invalid {
                field,
                detail: detail.into(),
            })
        };
        if self.chain_id == 0 {
            return invalid("chain_id", "must be positive");
        }
        if !(1..=60).contains(&self.block_period_seconds) {
            return invalid("block_period_seconds", "must be 1 to 60");
        }
        if self.empty_block_period_seconds < self.block_period_seconds {
            return invalid(
                "empty_block_period_seconds",
                "must be at least the block period",
            );
        }
        if self.epoch_length == 0 {
            return invalid("epoch_length", "must be positive");
        }
        if !(1..=600).contains(&self.request_timeout_seconds) {
            return invalid("request_timeout_seconds", "must be 1 to 600");
        }
        if self.gas_limit < 21_000 {
            return invalid("gas_limit", "must hold at least one transfer (21000)");
        }
        Ok(())
    }
}

/// The mix hash that marks an Istanbul-family (IBFT, QBFT) block.
pub const ISTANBUL_MIX_HASH: &str =
    "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365";

/// The network's `genesis.json`: every fork at block 0, QBFT from block 0 with `params`,
/// `validators` in `extraData`, and `alloc` pre-funded (wei).
pub fn genesis(
    params: &Params,
    validators: &[Address],
    alloc: &[(Address, u128)],
) -> Result<Value, QuorumError> {
    params.check()?;
    if validators.is_empty() {
        return Err(QuorumError::Invalid {
            field: "validators",
            detail: "at least one is needed".into(),
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = validators.iter().find(|v| !seen.insert(**v)) {
        return Err(QuorumError::Invalid {
            field: "validators",
            detail: format!("{} appears twice", checksum_address(dup)),
        });
    }
    let mut accounts = Map::new();
    for (a, wei) in alloc {
        accounts.insert(
            checksum_address(a),
            json!({ "balance": format!("0x{wei:x}") }),
        );
    }
    let config = json!({
        "chainId": params.chain_id,
        "homesteadBlock": 0,
        "eip150Block": 0,
        "eip155Block": 0,
        "eip158Block": 0,
        "byzantiumBlock": 0,
        "constantinopleBlock": 0,
        "petersburgBlock": 0,
        "istanbulBlock": 0,
        "berlinBlock": 0,
        "londonBlock": 0,
        "isQuorum": true,
        "txnSizeLimit": 64,
        "qbft": {
            "blockperiodseconds": params.block_period_seconds,
            "emptyblockperiodseconds": params.empty_block_period_seconds,
            "epochlength": params.epoch_length,
            "requesttimeoutseconds": params.request_timeout_seconds,
            "policy": 0,
            "ceil2Nby3Block": 0
        }
    });
    Ok(json!({
        "config": config,
        "nonce": "0x0",
        "timestamp": "0x0",
        "extraData": format!("0x{}", hex::encode(extra_data(validators))),
        "gasLimit": format!("0x{:x}", params.gas_limit),
        "difficulty": "0x1",
        "mixHash": ISTANBUL_MIX_HASH,
        "coinbase": "0x0000000000000000000000000000000000000000",
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x0000000000000000000000000000000000000000000000000000000000000000",
        "alloc": accounts,
    }))
}

/// A node of the network and where peers reach it.
pub struct Peer<'a> {
    pub key: &'a NodeKey,
    /// Host name peers dial (the headless Service's per-pod DNS name on Kubernetes).
    pub host: &'a str,
    pub port: u16,
}

/// `static-nodes.json` (also `permissioned-nodes.json`): every node's enode URL.
pub fn static_nodes(peers: &[Peer<'_>]) -> Value {
    Value::Array(
        peers
            .iter()
            .map(|p| Value::String(p.key.enode_url(p.host, p.port)))
            .collect(),
    )
}

/// The genesis file's name in material files.
pub const GENESIS_FILE: &str = "genesis.json";

/// Keys and genesis of one GoQuorum network, generated once and kept for its whole life
/// (the operator keeps [`Material::to_files`] in the chain's keys Secret, so a restart or a
/// reconcile never makes new ones).
#[derive(Debug, Clone)]
pub struct Material {
    pub params: Params,
    /// Validator node keys by node name (their addresses are the genesis validators).
    pub validators: std::collections::BTreeMap<String, NodeKey>,
    /// Member accounts by member name: pre-funded in the genesis, the keys contracts are
    /// deployed from.
    pub accounts: std::collections::BTreeMap<String, NodeKey>,
    /// Wei each member account starts with.
    pub balance_wei: u128,
    pub genesis: Value,
}

fn key_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Material {
    /// Fresh keys for `validators` (node names) and `members` (account names), and the
    /// genesis naming them.
    pub fn generate(
        params: Params,
        validators: &[String],
        members: &[String],
        balance_wei: u128,
    ) -> Result<Material, QuorumError> {
        let mut next = NodeKey::generate;
        Material::generate_with(params, validators, members, balance_wei, &mut next)
    }

    /// As `generate`, with keys from `next_key` (validators, then accounts, in the order
    /// given): deterministic material for tests.
    pub fn generate_with(
        params: Params,
        validators: &[String],
        members: &[String],
        balance_wei: u128,
        next_key: &mut dyn FnMut() -> NodeKey,
    ) -> Result<Material, QuorumError> {
        for (field, names) in [("validators", validators), ("members", members)] {
            if let Some(bad) = names.iter().find(|n| !key_name_ok(n)) {
                return Err(QuorumError::Invalid {
                    field,
                    detail: format!("`{bad}` is not a name (lower-case letters, digits, -)"),
                });
            }
        }
        let validators: std::collections::BTreeMap<_, _> =
            validators.iter().map(|n| (n.clone(), next_key())).collect();
        let accounts: std::collections::BTreeMap<_, _> =
            members.iter().map(|n| (n.clone(), next_key())).collect();
        let genesis = Self::genesis_for(&params, &validators, &accounts, balance_wei)?;
        Ok(Material {
            params,
            validators,
            accounts,
            balance_wei,
            genesis,
        })
    }

    fn genesis_for(
        params: &Params,
        validators: &std::collections::BTreeMap<String, NodeKey>,
        accounts: &std::collections::BTreeMap<String, NodeKey>,
        balance_wei: u128,
    ) -> Result<Value, QuorumError> {
        let addresses: Vec<Address> = validators.values().map(NodeKey::address).collect();
        let alloc: Vec<(Address, u128)> = accounts
            .values()
            .map(|k| (k.address(), balance_wei))
            .collect();
        genesis(params, &addresses, &alloc)
    }

    /// The material as named files: `genesis.json`, `<node>.nodekey` for each validator and
    /// `<member>.account.key` for each member account (hex secrets, as geth reads them).
    pub fn to_files(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        let mut files = std::collections::BTreeMap::new();
        files.insert(
            GENESIS_FILE.to_string(),
            serde_json::to_vec_pretty(&self.genesis).expect("a genesis serialises"),
        );
        for (name, key) in &self.validators {
            files.insert(format!("{name}.nodekey"), key.secret_hex().into_bytes());
        }
        for (name, key) in &self.accounts {
            files.insert(format!("{name}.account.key"), key.secret_hex().into_bytes());
        }
        files
    }

    /// Reads material written by `to_files`, checking that it is whole: the genesis names
    /// exactly these validators, funds exactly these accounts, and is the genesis the keys
    /// and its own settings make (so a file changed by hand is refused, not half used).
    pub fn from_files(
        files: &std::collections::BTreeMap<String, Vec<u8>>,
    ) -> Result<Material, QuorumError> {
        let invalid = |field, detail: String| QuorumError::Invalid { field, detail };
        let genesis: Value = files
            .get(GENESIS_FILE)
            .ok_or_else(|| invalid("genesis", format!("{GENESIS_FILE} is missing")))
            .and_then(|b| {
                serde_json::from_slice(b).map_err(|e| invalid("genesis", e.to_string()))
            })?;
        let mut validators = std::collections::BTreeMap::new();
        let mut accounts = std::collections::BTreeMap::new();
        for (file, bytes) in files {
            let text = std::str::from_utf8(bytes).map_err(|e| QuorumError::Key(e.to_string()))?;
            if let Some(name) = file.strip_suffix(".nodekey") {
                validators.insert(name.to_string(), NodeKey::from_hex(text)?);
            } else if let Some(name) = file.strip_suffix(".account.key") {
                accounts.insert(name.to_string(), NodeKey::from_hex(text)?);
            }
        }
        let config = &genesis["config"];
        let qbft = &config["qbft"];
        let number = |v: &Value, field| v.as_u64().ok_or_else(|| invalid(field, "missing".into()));
        let params = Params {
            chain_id: number(&config["chainId"], "chain_id")?,
            block_period_seconds: number(&qbft["blockperiodseconds"], "block_period_seconds")?,
            empty_block_period_seconds: number(
                &qbft["emptyblockperiodseconds"],
                "empty_block_period_seconds",
            )?,
            epoch_length: number(&qbft["epochlength"], "epoch_length")?,
            request_timeout_seconds: number(
                &qbft["requesttimeoutseconds"],
                "request_timeout_seconds",
            )?,
            gas_limit: genesis["gasLimit"]
                .as_str()
                .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
                .ok_or_else(|| invalid("gas_limit", "missing".into()))?,
        };
        let balance_wei = genesis["alloc"]
            .as_object()
            .and_then(|a| a.values().next())
            .and_then(|v| v["balance"].as_str())
            .and_then(|s| u128::from_str_radix(s.trim_start_matches("0x"), 16).ok())
            .unwrap_or(0);
        let expected = Self::genesis_for(&params, &validators, &accounts, balance_wei)?;
        if expected != genesis {
            return Err(invalid(
                "genesis",
                "does not match the keys and settings beside it (changed by hand, or a key is missing)"
                    .into(),
            ));
        }
        Ok(Material {
            params,
            validators,
            accounts,
            balance_wei,
            genesis,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_round_trips_through_files_and_refuses_mismatches() {
        let names = |p: &str, n: usize| (0..n).map(|i| format!("{p}-{i}")).collect::<Vec<_>>();
        let m = Material::generate(
            Params::default(),
            &names("validator", 4),
            &names("member", 2),
            10u128.pow(24),
        )
        .unwrap();
        let files = m.to_files();
        assert_eq!(files.len(), 1 + 4 + 2);
        let back = Material::from_files(&files).unwrap();
        assert_eq!(back.genesis, m.genesis);
        assert_eq!(back.params, m.params);
        assert_eq!(
            back.validators["validator-2"].address(),
            m.validators["validator-2"].address()
        );
        // A validator key missing or replaced, or a genesis whose validators or funded
        // accounts were edited by hand: refused. (Its settings are read from the genesis
        // itself: the operator compares them with the Chain's spec.)
        let mut missing = files.clone();
        missing.remove("validator-3.nodekey");
        assert!(Material::from_files(&missing).is_err());
        let mut replaced = files.clone();
        replaced.insert(
            "validator-0.nodekey".into(),
            NodeKey::generate().secret_hex().into_bytes(),
        );
        assert!(Material::from_files(&replaced).is_err());
        let mut edited = files.clone();
        let mut g = m.genesis.clone();
        // Funds for an account nobody holds a key to.
        g["alloc"]["0x0000000000000000000000000000000000000001"] = json!({"balance": "0x1"});
        edited.insert(GENESIS_FILE.into(), serde_json::to_vec(&g).unwrap());
        assert!(Material::from_files(&edited).is_err());
        let mut garbage = files;
        garbage.insert("member-0.account.key".into(), b"nope".to_vec());
        assert!(Material::from_files(&garbage).is_err());
        // Names that cannot be file or pod names are refused up front.
        assert!(matches!(
            Material::generate(Params::default(), &["Bad Name".into()], &[], 0),
            Err(QuorumError::Invalid {
                field: "validators",
                ..
            })
        ));
    }

    #[test]
    fn a_known_key_has_its_known_address() {
        // The secret key 1: its public key is the curve's generator, whose address is
        // well known.
        let k = NodeKey::from_hex(&format!("{:064x}", 1)).unwrap();
        assert_eq!(
            checksum_address(&k.address()),
            "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
        );
        assert!(k.enode_id().starts_with("79be667ef9dcbbac55a06295ce870b07"));
        assert!(!format!("{k:?}").contains(&k.secret_hex()));
    }

    #[test]
    fn bad_keys_are_refused() {
        for bad in [
            "",
            "zz",
            &"00".repeat(32),
            &"ff".repeat(32),
            &"01".repeat(31),
        ] {
            assert!(NodeKey::from_hex(bad).is_err(), "{bad}");
        }
        let k = NodeKey::generate();
        assert_eq!(
            NodeKey::from_hex(&k.secret_hex()).unwrap().address(),
            k.address()
        );
    }

    #[test]
    fn rlp_matches_the_yellow_paper_examples() {
        use rlp::{Item, encode};
        assert_eq!(encode(&Item::Bytes(b"dog")), b"\x83dog");
        assert_eq!(
            encode(&Item::List(vec![Item::Bytes(b"cat"), Item::Bytes(b"dog")])),
            b"\xc8\x83cat\x83dog"
        );
        assert_eq!(encode(&Item::Bytes(&[])), [0x80]);
        assert_eq!(encode(&Item::List(vec![])), [0xc0]);
        assert_eq!(encode(&Item::Bytes(&[0x0f])), [0x0f]);
        let long = [b'a'; 56];
        let e = encode(&Item::Bytes(&long));
        assert_eq!(&e[..2], &[0xb8, 56]);
    }

    #[test]
    fn extra_data_ends_with_no_vote_round_zero_and_no_seals() {
        let v = [[1u8; 20], [0u8; 20]];
        let e = extra_data(&v);
        assert!(e.ends_with(&[0xc0, 0x80, 0xc0]));
        // Sorted: the zero address first.
        let at = e.windows(21).position(|w| w[0] == 0x94).unwrap();
        assert_eq!(&e[at + 1..at + 21], &[0u8; 20]);
    }

    #[test]
    fn bad_settings_name_their_field() {
        let base = Params::default;
        for (p, field) in [
            (
                Params {
                    chain_id: 0,
                    ..base()
                },
                "chain_id",
            ),
            (
                Params {
                    block_period_seconds: 0,
                    ..base()
                },
                "block_period_seconds",
            ),
            (
                Params {
                    empty_block_period_seconds: 0,
                    ..base()
                },
                "empty_block_period_seconds",
            ),
            (
                Params {
                    request_timeout_seconds: 0,
                    ..base()
                },
                "request_timeout_seconds",
            ),
            (
                Params {
                    epoch_length: 0,
                    ..base()
                },
                "epoch_length",
            ),
            (
                Params {
                    gas_limit: 1,
                    ..base()
                },
                "gas_limit",
            ),
        ] {
            match genesis(&p, &[[1; 20]], &[]) {
                Err(QuorumError::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(matches!(
            genesis(&Params::default(), &[], &[]),
            Err(QuorumError::Invalid {
                field: "validators",
                ..
            })
        ));
        assert!(matches!(
            genesis(&Params::default(), &[[1; 20], [1; 20]], &[]),
            Err(QuorumError::Invalid {
                field: "validators",
                ..
            })
        ));
    }
}
