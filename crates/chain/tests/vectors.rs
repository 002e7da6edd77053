//! The receipt format's test vectors (`tests/vectors/`, described in `RECEIPTS.md`): genesis
//! files, plain and anchored receipts, and tampered copies, each with the verdict every
//! verifier must reach.
//!
//! `every_vector_gets_its_verdict` checks the committed files against this crate's verifier;
//! `the_committed_vectors_are_current` fails when they differ from what `generate` makes now;
//! `cargo test -p consortia-chain --test vectors -- --ignored write_vectors` rewrites them.

mod common;
mod vectorgen;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use consortia_chain::genesis::Genesis;
use consortia_chain::verdict;
use serde_json::Value;
use vectorgen::{DIR, MANIFEST, generate, h};

fn committed() -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(Path::new(DIR), Path::new(DIR), &mut out);
    out
}

#[test]
#[ignore = "writes tests/vectors; run after changing the format or the generator"]
fn write_vectors() {
    let _ = std::fs::remove_dir_all(DIR);
    for (rel, bytes) in generate() {
        let p = PathBuf::from(DIR).join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

#[test]
fn the_committed_vectors_are_current() {
    let want = generate();
    let have = committed();
    let stale: Vec<&String> = want
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(v))
        .map(|(k, _)| k)
        .chain(have.keys().filter(|k| !want.contains_key(*k)))
        .collect();
    assert!(
        stale.is_empty(),
        "tests/vectors is stale ({stale:?}); regenerate with \
         `cargo test -p consortia-chain --test vectors -- --ignored write_vectors`"
    );
}

#[test]
fn every_vector_gets_its_verdict() {
    let files = committed();
    let manifest: Value = serde_json::from_slice(&files[MANIFEST]).unwrap();
    let load = |file: &str| -> Option<Genesis> {
        serde_json::from_slice::<Genesis>(&files[file])
            .ok()
            .filter(|g| g.validate().is_ok())
    };
    for gv in manifest["genesis"].as_array().unwrap() {
        let file = gv["file"].as_str().unwrap();
        match (load(file), gv["valid"].as_bool().unwrap()) {
            (Some(g), true) => {
                assert_eq!(h(g.hash()), gv["hash"], "{file}");
                assert_eq!(h(g.validators_hash()), gv["validators_hash"], "{file}");
            }
            (None, false) => {}
            (g, _) => panic!("{file}: loaded {}", g.is_some()),
        }
    }
    let cases = manifest["cases"].as_array().unwrap();
    assert!(cases.len() > 40, "{}", cases.len());
    let mut wrong = Vec::new();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let g = load(c["genesis"].as_str().unwrap()).unwrap();
        let got = verdict::check(&g, &files[c["receipt"].as_str().unwrap()]).to_json();
        let want = &c["verdict"];
        let same = if want["valid"] == true {
            &got == want
        } else {
            got["valid"] == false && got["code"] == want["code"]
        };
        if !same {
            wrong.push(format!("{name}: expected {want}, got {got}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The specification's table of checks (RECEIPTS.md §11) and the vectors name the same
/// codes: every code the specification gives is exercised by a vector, and no vector expects
/// a code the specification does not give.
#[test]
fn the_specification_and_the_vectors_name_the_same_codes() {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/RECEIPTS.md")).unwrap();
    let section = spec
        .split("## 11. Verification")
        .nth(1)
        .and_then(|s| s.split("## 12.").next())
        .unwrap();
    let mut specified: std::collections::BTreeSet<String> = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| #"))
        .filter_map(|l| l.trim_end_matches('|').rsplit('|').next())
        .map(|c| c.trim().trim_matches('`').to_string())
        .filter(|c| !c.is_empty() && !c.starts_with('-'))
        .collect();
    specified.insert(verdict::MALFORMED.into());
    let files = committed();
    let manifest: Value = serde_json::from_slice(&files[MANIFEST]).unwrap();
    let used: std::collections::BTreeSet<String> = manifest["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["verdict"]["code"].as_str().map(String::from))
        .collect();
    assert_eq!(specified, used);
}
