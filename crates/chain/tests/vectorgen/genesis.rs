//! Genesis files: valid ones with the hashes a verifier must compute, and refused ones.

use crate::common::key;
use consortia_bft::{Validator, ValidatorSet};

use crate::common::Net;
use serde_json::{Value, json};

use super::{Vectors, h, pretty};

pub fn add(v: &mut Vectors, net: &Net) {
    let g = &net.genesis;
    // Genesis files.
    v.genesis(
        "genesis.json",
        pretty(g),
        "four validators of power 1, 2, 3 and 4 (a quorum holds 7 of 10), two accounts, some parameters not the defaults",
    );
    let mut other = g.clone();
    other.validators = ValidatorSet::new(
        (0..4)
            .map(|i| Validator {
                name: format!("validator-{i}"),
                public_key: key(110 + i).verifying_key().to_bytes(),
                power: u64::from(i) + 1,
            })
            .collect(),
    )
    .unwrap();
    v.genesis(
        "other-validators.json",
        pretty(&other),
        "the same chain id with other validator keys",
    );
    let minimal = json!({"chain_id": "minimal", "genesis_time_ms": 0,
        "validators": [{"public_key": h(key(100).verifying_key().to_bytes()), "power": 1}]});
    v.genesis(
        "defaults.json",
        pretty(&minimal),
        "every optional field left out: no validator name, no accounts, default parameters (all in the hash)",
    );
    let mut upper = serde_json::to_value(g).unwrap();
    let k = upper["validators"][0]["public_key"]
        .as_str()
        .unwrap()
        .to_ascii_uppercase();
    upper["validators"][0]["public_key"] = Value::from(k);
    v.genesis(
        "uppercase-hex.json",
        pretty(&upper),
        "refused: a validator key in uppercase hex",
    );
    let mut unknown = serde_json::to_value(g).unwrap();
    unknown["validators"][1]["weight"] = Value::from(2);
    v.genesis(
        "unknown-field.json",
        pretty(&unknown),
        "refused: a validator object with an unknown field",
    );
    let mut zero = serde_json::to_value(g).unwrap();
    zero["validators"][2]["power"] = Value::from(0);
    v.genesis(
        "zero-power.json",
        pretty(&zero),
        "refused: a validator with no voting power",
    );
}
