//! The committed `crds/*.yaml` is exactly what `consortia-operator crd` prints.

use std::process::Command;

#[test]
fn committed_crds_are_current() {
    let out = Command::new(env!("CARGO_BIN_EXE_consortia-operator"))
        .arg("crd")
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../crds");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let committed: String = files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(
        printed, committed,
        "crds/ is stale: run `cargo run -p consortia-operator -- crd > crds/chains.consortia.dev.yaml`"
    );
}
