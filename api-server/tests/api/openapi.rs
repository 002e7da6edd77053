//! The OpenAPI document: committed copy current, every route documented.

use consortia_api::http::openapi::{ApiDoc, pretty_json};
use consortia_api::http::{Routes, register};
use utoipa::OpenApi;

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
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
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
