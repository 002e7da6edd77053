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
    if printed != committed {
        let first = printed
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(printed.lines().count().min(committed.lines().count()));
        panic!(
            "crds/ is stale (first difference at line {}): run `cargo run -p consortia-operator -- crd > crds/chains.consortia.dev.yaml && cp crds/*.yaml charts/consortia/crds/`",
            first + 1
        );
    }
    // The chart ships the same CRDs.
    let chart = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../charts/consortia/crds/chains.consortia.dev.yaml"
    );
    assert!(
        std::fs::read_to_string(chart).unwrap() == printed,
        "charts/consortia/crds/ is stale: run `cp crds/*.yaml charts/consortia/crds/`"
    );
}
