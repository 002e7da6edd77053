//! Golden files: for each `tests/golden/<case>.chain.yaml`, the objects the operator applies
//! are exactly `tests/golden/<case>.objects.yaml` (keys are made from fixed seeds so the
//! files are stable). `scripts/check-k8s.py` validates both against the Kubernetes schemas.
//!
//! After an intended change: `UPDATE_GOLDEN=1 cargo test -p consortia-operator --test golden`.

use std::path::{Path, PathBuf};

use consortia_chain::genesis::Params;
use consortia_crds::Chain;
use consortia_engines::native::Material;
use consortia_operator::resources::{self, Settings};
use consortia_operator::status;
use ed25519_dalek::SigningKey;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn render(chain_file: &Path) -> String {
    let mut chain: Chain =
        serde_yaml::from_str(&std::fs::read_to_string(chain_file).unwrap()).unwrap();
    chain.metadata.uid = Some("00000000-0000-4000-8000-000000000001".into());
    let (layout, _) = status::spec_layout(&chain).expect("golden specs are valid");
    let mut seed = 0u8;
    let mut next_key = || {
        seed += 1;
        SigningKey::from_bytes(&[seed; 32])
    };
    let material = Material::generate_with(
        &resources::chain_id(&chain),
        &layout,
        Params::default(),
        1_800_000_000_000,
        &mut next_key,
    )
    .unwrap();
    let settings = Settings {
        node_image: "ghcr.io/consortia-dev/consortia-node:0.1.0".into(),
    };
    let mut out = format!(
        "# Generated from {} by tests/golden.rs; do not edit.\n",
        chain_file.file_name().unwrap().to_string_lossy()
    );
    for obj in resources::desired(&chain, &material, &settings).to_values() {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&obj).unwrap());
    }
    out
}

#[test]
fn desired_objects_match_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".chain.yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 3, "golden cases missing");
    let mut stale = Vec::new();
    for case in &cases {
        let want_path = PathBuf::from(
            case.to_string_lossy()
                .replace(".chain.yaml", ".objects.yaml"),
        );
        let got = render(case);
        if update {
            std::fs::write(&want_path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&want_path).unwrap_or_default();
        if got != want {
            let line = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .map_or(0, |i| i + 1);
            stale.push(format!(
                "{} (first difference at line {line})",
                want_path.display()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "golden files differ: {stale:?}; if the change is intended run `UPDATE_GOLDEN=1 cargo test -p consortia-operator --test golden` and review the diff"
    );
}

#[test]
fn golden_objects_show_the_promised_shape() {
    let text = render(&golden_dir().join("everything.chain.yaml"));
    let docs: Vec<serde_json::Value> = text
        .split("\n---\n")
        .skip(1)
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "ConfigMap",
            "Service",
            "Service",
            "StatefulSet",
            "StatefulSet",
            "StatefulSet",
            "StatefulSet",
            "PodDisruptionBudget",
            "NetworkPolicy"
        ]
    );
    // 7 validators tolerate 2 faults: the budget never lets more than 2 go, and counts
    // validators only.
    assert_eq!(docs[8]["spec"]["maxUnavailable"], 2);
    assert_eq!(
        docs[8]["spec"]["selector"]["matchLabels"]["consortia.dev/role"],
        "validator"
    );
    // Observers: their own StatefulSet, no keys, following the validators' headless Service.
    let observers = &docs[7];
    assert_eq!(observers["metadata"]["name"], "ledger-bank-a-obs");
    assert_eq!(observers["spec"]["replicas"], 2);
    let pod = &observers["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"].as_array().unwrap().len(),
        1,
        "observers mount no keys"
    );
    let args: Vec<&str> = pod["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.windows(2)
            .any(|w| w == ["--observe", "http://ledger-peers.prod.svc:26657"]),
        "{args:?}"
    );
    assert_eq!(
        docs[2]["spec"]["selector"]["consortia.dev/role"], "validator",
        "peers: validators only"
    );
    // Each member's pods mount only that member's keys.
    let bank_b = &docs[5];
    assert_eq!(bank_b["metadata"]["name"], "ledger-bank-b");
    let items = &bank_b["spec"]["template"]["spec"]["volumes"][1]["secret"]["items"];
    assert_eq!(
        items,
        &serde_json::json!([
            {"key": "ledger-bank-b-0.json", "path": "ledger-bank-b-0.json"},
            {"key": "ledger-bank-b-1.json", "path": "ledger-bank-b-1.json"},
        ])
    );
    assert_eq!(
        bank_b["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/consortia-dev/consortia-node:0.2.0"
    );
    // Peer traffic only from the chain's own pods.
    let np = &docs[9]["spec"]["ingress"][0];
    assert_eq!(
        np["from"][0]["podSelector"]["matchLabels"]["consortia.dev/chain"],
        "ledger"
    );
    assert_eq!(np["ports"][0]["port"], 26656);
    // Every object is owned by the Chain.
    for d in &docs {
        assert_eq!(
            d["metadata"]["ownerReferences"][0]["name"], "ledger",
            "{}",
            d["kind"]
        );
    }
}
