//! Generation of a local network: keys, genesis and one home directory per node.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use consortia_bft::{Validator, ValidatorSet};
use ed25519_dalek::SigningKey;
use serde::Serialize;

use crate::config::NodeConfig;
use crate::genesis::{Genesis, GenesisAccount, Params};
use crate::keys;
use crate::net::PeerAddr;
use crate::tx::WeightedKey;

pub struct TestnetSpec {
    pub validators: usize,
    pub chain_id: String,
    /// First port; each node takes two (p2p, api). `None`: free ports picked by the OS.
    pub base_port: Option<u16>,
    /// Client accounts `acct-0 …` with one key each, key files under `accounts/`.
    pub accounts: usize,
    pub params: Params,
}

#[derive(Serialize)]
pub struct TestnetNode {
    pub home: PathBuf,
    pub public_key: String,
    pub p2p: String,
    pub api: String,
}

#[derive(Serialize)]
pub struct TestnetSummary {
    pub chain_id: String,
    pub genesis: PathBuf,
    pub genesis_hash: String,
    pub nodes: Vec<TestnetNode>,
    pub accounts: Vec<String>,
}

/// Writes `dir/genesis.json`, `dir/node{i}/{genesis.json,node_key.json,config.json}` and
/// `dir/accounts/{id}.json`. Refuses a directory that already holds a testnet.
pub fn generate(dir: &Path, spec: &TestnetSpec) -> Result<TestnetSummary> {
    if spec.validators == 0 || spec.validators > 100 {
        bail!("--validators must be between 1 and 100");
    }
    if dir.join("genesis.json").exists() {
        bail!(
            "{} already holds a network (genesis.json exists)",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let keys: Vec<SigningKey> = (0..spec.validators).map(|_| keys::generate()).collect();
    let validators = ValidatorSet::new(
        keys.iter()
            .enumerate()
            .map(|(i, k)| Validator {
                name: format!("node{i}"),
                public_key: k.verifying_key().to_bytes(),
                power: 1,
            })
            .collect(),
    )?;
    let account_keys: Vec<(String, SigningKey)> = (0..spec.accounts)
        .map(|i| (format!("acct-{i}"), keys::generate()))
        .collect();
    let genesis = Genesis {
        chain_id: spec.chain_id.clone(),
        genesis_time_ms: crate::now_ms(),
        validators,
        accounts: account_keys
            .iter()
            .map(|(id, k)| GenesisAccount {
                id: id.clone(),
                keys: vec![WeightedKey {
                    public_key: k.verifying_key().to_bytes(),
                    weight: 1,
                }],
                threshold: 1,
                recovery_key: None,
            })
            .collect(),
        params: spec.params.clone(),
    };
    genesis.validate()?;
    let mut ports = Vec::new();
    let free = match spec.base_port {
        Some(_) => Vec::new(),
        None => consortia_ports::free_ports(2 * spec.validators)?,
    };
    for i in 0..spec.validators {
        let (p2p, api) = match spec.base_port {
            Some(b) => {
                let p = u32::from(b) + 2 * i as u32;
                if p + 1 > u32::from(u16::MAX) {
                    bail!("--base-port leaves no room for {} nodes", spec.validators);
                }
                (p as u16, p as u16 + 1)
            }
            None => (free[2 * i], free[2 * i + 1]),
        };
        ports.push((p2p, api));
    }
    let genesis_json = serde_json::to_vec_pretty(&genesis)?;
    std::fs::write(dir.join("genesis.json"), &genesis_json)?;
    let mut nodes = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let home = dir.join(format!("node{i}"));
        std::fs::create_dir_all(&home)?;
        std::fs::write(home.join("genesis.json"), &genesis_json)?;
        keys::save(&home.join("node_key.json"), key)?;
        let cfg = NodeConfig {
            moniker: format!("node{i}"),
            p2p_listen: format!("127.0.0.1:{}", ports[i].0),
            api_listen: format!("127.0.0.1:{}", ports[i].1),
            peers: keys
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(j, k)| PeerAddr {
                    public_key: k.verifying_key().to_bytes(),
                    address: format!("127.0.0.1:{}", ports[j].0),
                })
                .collect(),
            data_dir: PathBuf::from("data"),
        };
        std::fs::write(home.join("config.json"), serde_json::to_vec_pretty(&cfg)?)?;
        nodes.push(TestnetNode {
            home,
            public_key: hex::encode(key.verifying_key().to_bytes()),
            p2p: cfg.p2p_listen,
            api: format!("http://{}", cfg.api_listen),
        });
    }
    if !account_keys.is_empty() {
        let adir = dir.join("accounts");
        std::fs::create_dir_all(&adir)?;
        for (id, k) in &account_keys {
            keys::save(&adir.join(format!("{id}.json")), k)?;
        }
    }
    Ok(TestnetSummary {
        chain_id: genesis.chain_id.clone(),
        genesis: dir.join("genesis.json"),
        genesis_hash: hex::encode(genesis.hash()),
        nodes,
        accounts: account_keys.into_iter().map(|(id, _)| id).collect(),
    })
}
