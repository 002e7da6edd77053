//! GoQuorum material checked by implementations we did not write: PyPI's `eth-keys`
//! derives every address and enode id from the node keys, and `rlp` computes the QBFT
//! `extraData` the genesis must carry (the known-good vector for these fixed keys) and
//! decodes ours (`tests/quorum_check.py`, run with the pinned test tools' Python).

use consortia_engines::quorum::{self, NodeKey, Params, Peer, checksum_address};
use serde_json::json;
use std::path::{Path, PathBuf};

fn test_python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var_os("CONSORTIA_TEST_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| root.join(".venv-test/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run ./scripts/test once (it installs the pinned test tools, eth-keys \
         and rlp among them), or set CONSORTIA_TEST_PYTHON",
        python.display()
    );
    python
}

/// Fixed keys: Keccak-256 of "validator-N", so the vector is the same on every machine.
fn fixed_key(n: usize) -> NodeKey {
    NodeKey::from_hex(&hex::encode(quorum::keccak256(
        format!("validator-{n}").as_bytes(),
    )))
    .unwrap()
}

fn check(keys: &[NodeKey], params: &Params) {
    let hosts: Vec<String> = (0..keys.len())
        .map(|i| format!("validator-{i}.trade-p2p.consortia.svc.cluster.local"))
        .collect();
    let peers: Vec<Peer<'_>> = keys
        .iter()
        .zip(&hosts)
        .map(|(key, host)| Peer {
            key,
            host,
            port: 30303,
        })
        .collect();
    let validators: Vec<_> = keys.iter().map(NodeKey::address).collect();
    let alloc: Vec<_> = validators
        .iter()
        .enumerate()
        .map(|(i, a)| (*a, 10u128.pow(24) * (i as u128 + 1)))
        .collect();
    let genesis = quorum::genesis(params, &validators, &alloc).unwrap();
    let material = json!({
        "params": {
            "chain_id": params.chain_id,
            "block_period_seconds": params.block_period_seconds,
            "empty_block_period_seconds": params.empty_block_period_seconds,
            "epoch_length": params.epoch_length,
            "request_timeout_seconds": params.request_timeout_seconds,
            "gas_limit": params.gas_limit,
        },
        "nodes": keys.iter().zip(&hosts).map(|(k, host)| json!({
            "nodekey": k.secret_hex(),
            "address": checksum_address(&k.address()),
            "enode_id": k.enode_id(),
            "enode_url": k.enode_url(host, 30303),
            "host": host,
            "port": 30303,
        })).collect::<Vec<_>>(),
        "alloc": alloc.iter().map(|(a, wei)| json!({
            "address": format!("0x{}", hex::encode(a)),
            "wei": wei.to_string(),
        })).collect::<Vec<_>>(),
        "genesis": genesis,
        "static_nodes": quorum::static_nodes(&peers),
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("material.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&material).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/quorum_check.py");
    let out = std::process::Command::new(test_python())
        .arg(&script)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok",
        "eth-keys/rlp disagree:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn fixed_keys_match_eth_keys_and_the_rlp_vector() {
    let keys: Vec<NodeKey> = (0..4).map(fixed_key).collect();
    check(&keys, &Params::default());
}

#[test]
fn generated_keys_and_other_settings_match_too() {
    // Seven validators (more than 55 bytes of addresses: the long RLP list form) and
    // settings away from the defaults.
    let keys: Vec<NodeKey> = (0..7).map(|_| NodeKey::generate()).collect();
    let params = Params {
        chain_id: 4_242_424_242,
        block_period_seconds: 5,
        empty_block_period_seconds: 300,
        epoch_length: 100,
        request_timeout_seconds: 30,
        gas_limit: 0xffff_ffff_ffff,
    };
    check(&keys, &params);
}
