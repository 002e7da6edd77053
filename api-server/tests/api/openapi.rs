//! The OpenAPI document: committed copy current, every route documented, valid for an
//! independent validator, operation ids unique.

use consortia_api::http::openapi::{document, pretty_json};
use consortia_api::http::{Routes, register};
use std::path::Path;

#[test]
fn committed_openapi_json_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == pretty_json(),
        "api-server/openapi.json is stale: run `cargo run -p consortia-api -- openapi > api-server/openapi.json`"
    );
}

#[test]
fn every_registered_route_is_documented() {
    let mut r = Routes::recording();
    register(&mut r);
    let doc = serde_json::to_value(document()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in &r.seen {
        let op = paths
            .get(path)
            .and_then(|p| p.get(method.as_str().to_lowercase()));
        assert!(
            op.is_some(),
            "{method} {path} is registered but missing from the OpenAPI document"
        );
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        r.seen.len(),
        "the document lists an operation that is not registered"
    );
}

/// The Python interpreter of the test tools' virtual environment (`scripts/test` makes it).
fn test_python() -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = std::env::var_os("CONSORTIA_TEST_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| root.join(".venv-test/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run ./scripts/test once (it installs the pinned test tools, \
         openapi-spec-validator among them), or set CONSORTIA_TEST_PYTHON",
        python.display()
    );
    python
}

#[test]
fn the_document_passes_an_independent_validator() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, pretty_json()).unwrap();
    let out = std::process::Command::new(test_python())
        .args(["-m", "openapi_spec_validator", "--errors", "all"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn operation_ids_are_present_and_unique_and_errors_are_problems() {
    let doc = serde_json::to_value(document()).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            if let Some(other) = seen.insert(id.clone(), format!("{method} {path}")) {
                panic!("operationId `{id}` is used by {other} and {method} {path}");
            }
            for (status, r) in op["responses"].as_object().unwrap() {
                assert!(
                    r["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has no description"
                );
                if (status.starts_with('4') || status.starts_with('5'))
                    && let Some(content) = r["content"].as_object()
                {
                    assert!(
                        content.keys().all(|k| k == "application/problem+json"),
                        "{method} {path} {status} is documented as {:?}, not problem+json",
                        content.keys().collect::<Vec<_>>()
                    );
                }
            }
        }
    }
}
