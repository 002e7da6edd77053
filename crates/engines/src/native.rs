//! The native chain (`consortia-node`): the validator layout, the key and genesis material
//! generated once per chain, and each node's configuration.
//!
//! Material is kept as a set of named files (`genesis.json`, `<node>.json` key files and
//! `client.json`), which is how the operator stores it in a Secret and the local runtime on
//! disk. `Material::from_files` checks that such a set is whole and consistent, so a chain
//! is never started from keys that do not match its genesis.

use std::collections::BTreeMap;
use std::path::PathBuf;

use consortia_bft::{Validator, ValidatorSet};
use consortia_chain::config::NodeConfig;
use consortia_chain::config::PeerAddr;
use consortia_chain::genesis::{Genesis, GenesisAccount, Params};
use consortia_chain::keys;
use consortia_chain::tx::WeightedKey;
use ed25519_dalek::SigningKey;

/// Port of the peer-to-peer links.
pub const P2P_PORT: u16 = 26656;
/// Port of the REST API (clients, status, metrics).
pub const API_PORT: u16 = 26657;
/// The genesis account whose key the platform holds to sign transactions (deposits,
/// account creation for tenants' service accounts).
pub const CLIENT_ACCOUNT: &str = "client";
/// File name of the genesis in a material set.
pub const GENESIS_FILE: &str = "genesis.json";
/// File name of the layout (which member runs which validator) in a material set.
pub const LAYOUT_FILE: &str = "layout.json";
/// File name of the client account's key in a material set.
pub const CLIENT_KEY_FILE: &str = "client.json";
/// The most validators a chain may have.
pub const MAX_VALIDATORS: usize = 100;

/// A problem with the shape of a network or with its stored material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("a chain needs at least one validator")]
    NoValidators,
    #[error("{0} validators is more than the {MAX_VALIDATORS} a chain may have")]
    TooManyValidators(usize),
    #[error("node name {0:?} appears twice")]
    DuplicateNode(String),
    #[error("chain id {0:?} is not 1-64 letters, digits, '.', '_' or '-'")]
    ChainId(String),
    #[error("the material has no {0}")]
    Missing(String),
    #[error("{0} is not valid: {1}")]
    Invalid(String, String),
    #[error("the key of {0} is not the key the genesis names for it")]
    KeyMismatch(String),
}

/// One validator node and the member organisation that runs it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Node {
    pub member: String,
    pub name: String,
}

/// The validators of a network, in genesis order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    nodes: Vec<Node>,
}

impl Layout {
    pub fn new(nodes: Vec<Node>) -> Result<Layout, Error> {
        if nodes.is_empty() {
            return Err(Error::NoValidators);
        }
        if nodes.len() > MAX_VALIDATORS {
            return Err(Error::TooManyValidators(nodes.len()));
        }
        let mut seen = std::collections::HashSet::new();
        for n in &nodes {
            if !seen.insert(n.name.as_str()) {
                return Err(Error::DuplicateNode(n.name.clone()));
            }
        }
        Ok(Layout { nodes })
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Validators that may fail (crash or lie) without stopping the chain: n = 3f + 1.
    pub fn fault_tolerance(&self) -> usize {
        (self.nodes.len() - 1) / 3
    }

    /// A warning when the count is not of the form 3f + 1: the extra validators add load
    /// without tolerating one more fault.
    pub fn warning(&self) -> Option<String> {
        let n = self.nodes.len();
        let f = self.fault_tolerance();
        (n != 3 * f + 1).then(|| {
            format!(
                "{n} validators tolerate {f} faulty, as {} would; use 3f+1 validators (1, 4, 7, 10, ...)",
                3 * f + 1
            )
        })
    }
}

/// Name of validator `ordinal` of `member` in chain `chain`: `{chain}-{member}-{ordinal}`.
/// On Kubernetes it is also the pod's name (StatefulSet `{chain}-{member}`), so both
/// runtimes name a chain's nodes the same way.
pub fn node_name(chain: &str, member: &str, ordinal: u32) -> String {
    format!("{chain}-{member}-{ordinal}")
}

/// The layout of a chain whose members run the given numbers of validators, members in the
/// order given.
pub fn layout_for(chain: &str, members: &[(&str, u32)]) -> Result<Layout, Error> {
    Layout::new(
        members
            .iter()
            .flat_map(|(member, count)| {
                (0..*count).map(move |i| Node {
                    member: member.to_string(),
                    name: node_name(chain, member, i),
                })
            })
            .collect(),
    )
}

/// Keys and genesis of one native chain, generated once and kept for its whole life.
pub struct Material {
    pub genesis: Genesis,
    /// Which member runs which validator, in genesis order.
    pub layout: Layout,
    /// Validator keys by node name.
    pub node_keys: BTreeMap<String, SigningKey>,
    /// Key of the `client` genesis account.
    pub client_key: SigningKey,
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Material")
            .field("chain_id", &self.genesis.chain_id)
            .field("nodes", &self.node_keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Material {
    /// Fresh keys for every validator and for the client account, and the genesis naming them.
    pub fn generate(
        chain_id: &str,
        layout: &Layout,
        params: Params,
        genesis_time_ms: u64,
    ) -> Result<Material, Error> {
        Material::generate_with(
            chain_id,
            layout,
            params,
            genesis_time_ms,
            &mut keys::generate,
        )
    }

    /// As `generate`, with keys from `next_key` (validators in layout order, then the
    /// client): deterministic material for golden tests.
    pub fn generate_with(
        chain_id: &str,
        layout: &Layout,
        params: Params,
        genesis_time_ms: u64,
        next_key: &mut dyn FnMut() -> SigningKey,
    ) -> Result<Material, Error> {
        if !consortia_chain::genesis::check_chain_id(chain_id) {
            return Err(Error::ChainId(chain_id.to_string()));
        }
        let node_keys: BTreeMap<String, SigningKey> = layout
            .nodes
            .iter()
            .map(|n| (n.name.clone(), next_key()))
            .collect();
        let validators = ValidatorSet::new(
            layout
                .nodes
                .iter()
                .map(|n| Validator {
                    name: n.name.clone(),
                    public_key: node_keys[&n.name].verifying_key().to_bytes(),
                    power: 1,
                })
                .collect(),
        )
        .map_err(|e| Error::Invalid("the validator set".into(), e.to_string()))?;
        let client_key = next_key();
        let genesis = Genesis {
            chain_id: chain_id.to_string(),
            genesis_time_ms,
            validators,
            accounts: vec![GenesisAccount {
                id: CLIENT_ACCOUNT.to_string(),
                keys: vec![WeightedKey {
                    public_key: client_key.verifying_key().to_bytes(),
                    weight: 1,
                }],
                threshold: 1,
                recovery_key: None,
            }],
            params,
        };
        genesis
            .validate()
            .map_err(|e| Error::Invalid(GENESIS_FILE.into(), e.to_string()))?;
        Ok(Material {
            genesis,
            layout: layout.clone(),
            node_keys,
            client_key,
        })
    }

    /// The genesis as the nodes read it.
    pub fn genesis_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(&self.genesis).expect("a genesis serialises")
    }

    /// Hex of the genesis hash (what nodes report and receipts are checked against).
    pub fn genesis_hash(&self) -> String {
        hex::encode(self.genesis.hash())
    }

    /// Validator names in genesis order.
    pub fn validator_names(&self) -> Vec<String> {
        self.genesis
            .validators
            .iter()
            .map(|v| v.name.clone())
            .collect()
    }

    /// The material as named files: `genesis.json`, `<node>.json`, `client.json`.
    pub fn to_files(&self) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        files.insert(GENESIS_FILE.to_string(), self.genesis_json());
        files.insert(
            LAYOUT_FILE.to_string(),
            serde_json::to_vec_pretty(&self.layout.nodes).expect("a layout serialises"),
        );
        for (name, key) in &self.node_keys {
            files.insert(key_file_name(name), keys::to_json(key));
        }
        files.insert(CLIENT_KEY_FILE.to_string(), keys::to_json(&self.client_key));
        files
    }

    /// Reads material written by `to_files`, checking that it is whole: a valid genesis, a
    /// key for every validator that matches the genesis, and the client account's key.
    pub fn from_files(files: &BTreeMap<String, Vec<u8>>) -> Result<Material, Error> {
        let get = |name: &str| files.get(name).ok_or_else(|| Error::Missing(name.into()));
        let genesis: Genesis = serde_json::from_slice(get(GENESIS_FILE)?)
            .map_err(|e| Error::Invalid(GENESIS_FILE.into(), e.to_string()))?;
        genesis
            .validate()
            .map_err(|e| Error::Invalid(GENESIS_FILE.into(), e.to_string()))?;
        let nodes: Vec<Node> = serde_json::from_slice(get(LAYOUT_FILE)?)
            .map_err(|e| Error::Invalid(LAYOUT_FILE.into(), e.to_string()))?;
        let layout = Layout::new(nodes)?;
        let layout_names = layout.nodes.iter().map(|n| n.name.as_str());
        if !layout_names.eq(genesis.validators.iter().map(|v| v.name.as_str())) {
            return Err(Error::Invalid(
                LAYOUT_FILE.into(),
                "it does not name the genesis validators in order".into(),
            ));
        }
        let mut node_keys = BTreeMap::new();
        for v in genesis.validators.iter() {
            let file = key_file_name(&v.name);
            let key = keys::from_json(get(&file)?)
                .map_err(|e| Error::Invalid(file.clone(), format!("{e:#}")))?;
            if key.verifying_key().to_bytes() != v.public_key {
                return Err(Error::KeyMismatch(v.name.clone()));
            }
            node_keys.insert(v.name.clone(), key);
        }
        let client_key = keys::from_json(get(CLIENT_KEY_FILE)?)
            .map_err(|e| Error::Invalid(CLIENT_KEY_FILE.into(), format!("{e:#}")))?;
        let client_holds_account = genesis.accounts.iter().any(|a| {
            a.id == CLIENT_ACCOUNT
                && a.keys
                    .iter()
                    .any(|k| k.public_key == client_key.verifying_key().to_bytes())
        });
        if !client_holds_account {
            return Err(Error::KeyMismatch(CLIENT_ACCOUNT.into()));
        }
        Ok(Material {
            genesis,
            layout,
            node_keys,
            client_key,
        })
    }
}

/// File name of a node's key in a material set.
pub fn key_file_name(node: &str) -> String {
    format!("{node}.json")
}

/// Where a node listens and how it reaches the others.
pub struct Addressing<'a> {
    /// Host part of the listen addresses (`0.0.0.0` in a pod, `127.0.0.1` locally).
    pub listen_host: &'a str,
    /// The p2p and API ports of a node, by name.
    pub ports: &'a dyn Fn(&str) -> (u16, u16),
    /// The `host:port` at which the other validators reach a node's p2p port.
    pub peer_address: &'a dyn Fn(&str) -> String,
    /// The node's data directory.
    pub data_dir: PathBuf,
}

/// The configuration of one validator: it dials every other validator of the genesis.
pub fn node_config(genesis: &Genesis, node: &str, a: &Addressing<'_>) -> Result<NodeConfig, Error> {
    let vals = &genesis.validators;
    if !vals.iter().any(|v| v.name == node) {
        return Err(Error::Missing(format!("validator {node}")));
    }
    let (p2p, api) = (a.ports)(node);
    Ok(NodeConfig {
        moniker: node.to_string(),
        p2p_listen: format!("{}:{p2p}", a.listen_host),
        api_listen: format!("{}:{api}", a.listen_host),
        peers: vals
            .iter()
            .filter(|v| v.name != node)
            .map(|v| PeerAddr {
                public_key: v.public_key,
                address: (a.peer_address)(&v.name),
            })
            .collect(),
        data_dir: a.data_dir.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(n: usize) -> Layout {
        Layout::new(
            (0..n)
                .map(|i| Node {
                    member: format!("org{}", i % 2),
                    name: format!("c-org{}-{}", i % 2, i / 2),
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn layout_rules() {
        assert_eq!(Layout::new(vec![]), Err(Error::NoValidators));
        let dup = vec![
            Node {
                member: "a".into(),
                name: "x".into(),
            };
            2
        ];
        assert_eq!(Layout::new(dup), Err(Error::DuplicateNode("x".into())));
        assert_eq!(layout(4).fault_tolerance(), 1);
        assert!(layout(4).warning().is_none());
        assert!(layout(1).warning().is_none());
        let w = layout(5).warning().unwrap();
        assert!(w.contains("5 validators tolerate 1"), "{w}");
    }

    #[test]
    fn material_round_trips_through_files_and_refuses_mismatches() {
        let m = Material::generate("ns.chain", &layout(4), Params::default(), 1).unwrap();
        let files = m.to_files();
        assert_eq!(files.len(), 7);
        let back = Material::from_files(&files).unwrap();
        assert_eq!(back.genesis_hash(), m.genesis_hash());
        assert_eq!(back.validator_names(), m.validator_names());
        assert_eq!(back.layout, m.layout);
        let mut reordered = files.clone();
        let mut nodes = m.layout.nodes().to_vec();
        nodes.swap(0, 1);
        reordered.insert(LAYOUT_FILE.into(), serde_json::to_vec(&nodes).unwrap());
        assert!(matches!(
            Material::from_files(&reordered),
            Err(Error::Invalid(f, _)) if f == LAYOUT_FILE
        ));

        let mut missing = files.clone();
        missing.remove("c-org1-0.json");
        assert_eq!(
            Material::from_files(&missing).unwrap_err(),
            Error::Missing("c-org1-0.json".into())
        );
        let mut swapped = files.clone();
        let other = files["c-org0-0.json"].clone();
        swapped.insert("c-org1-0.json".into(), other);
        assert_eq!(
            Material::from_files(&swapped).unwrap_err(),
            Error::KeyMismatch("c-org1-0".into())
        );
        let mut bad_client = files;
        bad_client.insert(CLIENT_KEY_FILE.into(), keys::to_json(&keys::generate()));
        assert_eq!(
            Material::from_files(&bad_client).unwrap_err(),
            Error::KeyMismatch(CLIENT_ACCOUNT.into())
        );
        assert!(matches!(
            Material::generate("bad id!", &layout(1), Params::default(), 1),
            Err(Error::ChainId(_))
        ));
    }

    #[test]
    fn node_config_dials_every_other_validator() {
        let m = Material::generate("c", &layout(4), Params::default(), 1).unwrap();
        let ports = |_: &str| (P2P_PORT, API_PORT);
        let addr = |n: &str| format!("{n}.peers:{P2P_PORT}");
        let a = Addressing {
            listen_host: "0.0.0.0",
            ports: &ports,
            peer_address: &addr,
            data_dir: "/data".into(),
        };
        let cfg = node_config(&m.genesis, "c-org0-0", &a).unwrap();
        assert_eq!(cfg.p2p_listen, "0.0.0.0:26656");
        assert_eq!(cfg.peers.len(), 3);
        assert!(
            cfg.peers
                .iter()
                .all(|p| !p.address.starts_with("c-org0-0."))
        );
        assert_eq!(
            node_config(&m.genesis, "nobody", &a).unwrap_err(),
            Error::Missing("validator nobody".into())
        );
    }
}
