//! The container images' Dockerfiles (they cannot be built here: no Docker engine). Checks
//! what a review would: multi-stage, a minimal non-root final stage, the right package and
//! binary, and a build context that leaves out build output.

use std::path::Path;

fn check(dir: &str, package: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(dir).join("Dockerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert!(froms.len() >= 2, "{dir}: multi-stage build expected");
    assert!(
        froms.last().unwrap().contains("distroless") && froms.last().unwrap().contains("nonroot"),
        "{dir}: the final stage should be distroless nonroot"
    );
    let last_stage = text.rsplit("\nFROM ").next().unwrap();
    assert!(
        last_stage.lines().any(|l| l.trim() == "USER 65532:65532"),
        "{dir}: the final stage must run as the non-root user"
    );
    assert!(
        text.contains(&format!("-p {package} --bin {package}")),
        "{dir}: builds the wrong package"
    );
    assert!(
        text.contains("--locked"),
        "{dir}: builds must use Cargo.lock"
    );
    let manifest = std::fs::read_to_string(root.join(dir).join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains(&format!("name = \"{package}\"")),
        "{dir}: {package} is not this directory's package"
    );
    let ignore = std::fs::read_to_string(root.join(dir).join("Dockerfile.dockerignore")).unwrap();
    for entry in ["target/", "**/node_modules/", ".git/"] {
        assert!(
            ignore.lines().any(|l| l == entry),
            "{dir}: context should leave out {entry}"
        );
    }
}

#[test]
fn api_server_image() {
    check("api-server", "consortia-api");
    // The web console is built in its own stage and served from the image.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("api-server/Dockerfile")).unwrap();
    assert!(
        text.contains("AS console") && text.contains("npm ci") && text.contains("npm run build")
    );
    assert!(text.contains("COPY --from=console /src/dashboard/dist /usr/share/consortia/console"));
    assert!(text.contains("ENV CONSORTIA_CONSOLE_DIR=/usr/share/consortia/console"));
}

#[test]
fn operator_image() {
    check("operator", "consortia-operator");
}

#[test]
fn node_image() {
    check("crates/node", "consortia-node");
}
