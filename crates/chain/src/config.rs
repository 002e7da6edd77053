//! A node's configuration file (`config.json` in its home directory): the contract between
//! whoever lays out a chain (`consortia-engines`, the operator, `consortia-node testnet`) and
//! the node that reads it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use consortia_bft::hexser;
use serde::{Deserialize, Serialize};

/// A peer to dial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerAddr {
    #[serde(with = "hexser::array")]
    pub public_key: [u8; 32],
    pub address: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub moniker: String,
    /// Address for peer links (validators only; an observer opens no peer listener and may
    /// leave it out).
    #[serde(default)]
    pub p2p_listen: String,
    /// Address of the REST API.
    pub api_listen: String,
    /// The other validators (ignored by an observer, which may leave it out).
    #[serde(default)]
    pub peers: Vec<PeerAddr>,
    /// Data directory, relative to the home directory unless absolute.
    #[serde(default = "default_data")]
    pub data_dir: PathBuf,
}

fn default_data() -> PathBuf {
    PathBuf::from("data")
}

impl NodeConfig {
    /// Reads `home/config.json`.
    pub fn load(home: &Path) -> Result<NodeConfig> {
        NodeConfig::load_file(&home.join("config.json"))
    }

    /// Reads a configuration file at an explicit path.
    pub fn load_file(path: &Path) -> Result<NodeConfig> {
        let b = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&b)
            .with_context(|| format!("{} is not a node config", path.display()))
    }

    /// The data directory, resolved against the home directory.
    pub fn data_path(&self, home: &Path) -> PathBuf {
        if self.data_dir.is_absolute() {
            self.data_dir.clone()
        } else {
            home.join(&self.data_dir)
        }
    }
}
