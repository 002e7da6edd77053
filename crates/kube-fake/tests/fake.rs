//! The fake's own semantics, where its users rely on them without exercising them every time.

use consortia_kube_fake::FakeApi;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::json;

const PATH: &str = "/api/v1/namespaces/ns/configmaps/one";

fn config_map(name: &str, app: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns", "labels": {"app": app},
                     "finalizers": ["example.com/hold"]},
        "data": {"k": "v"},
    })
}

#[tokio::test]
async fn a_merge_patch_without_metadata_keeps_the_metadata() {
    let api = FakeApi::default();
    api.put(PATH, config_map("one", "a"));
    let cms: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
    cms.patch(
        "one",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "w"}})),
    )
    .await
    .unwrap();
    let held = api.get(PATH).unwrap();
    assert_eq!(held["data"]["k"], "w");
    assert_eq!(held["metadata"]["labels"]["app"], "a");
    assert_eq!(held["metadata"]["finalizers"], json!(["example.com/hold"]));
}

#[tokio::test]
async fn finalizers_hold_a_deletion_until_they_are_removed() {
    let api = FakeApi::default();
    api.put(PATH, config_map("one", "a"));
    let cms: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
    cms.delete("one", &DeleteParams::default()).await.unwrap();
    assert!(api.get(PATH).unwrap()["metadata"]["deletionTimestamp"].is_string());
    let release = json!({"metadata": {"finalizers": []}});
    cms.patch("one", &PatchParams::default(), &Patch::Merge(release))
        .await
        .unwrap();
    assert_eq!(api.get(PATH), None);
    let err = cms
        .delete("one", &DeleteParams::default())
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 404));
}

#[tokio::test]
async fn lists_filter_by_label_selector_and_requests_are_logged() {
    let api = FakeApi::default();
    api.put(PATH, config_map("one", "a"));
    api.put(
        "/api/v1/namespaces/ns/configmaps/two",
        config_map("two", "b"),
    );
    let cms: Api<ConfigMap> = Api::namespaced(api.client(), "ns");
    let listed = cms
        .list(&ListParams::default().labels("app=b"))
        .await
        .unwrap();
    let names: Vec<_> = listed
        .items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    assert_eq!(names, ["two"]);
    let log = api.requests();
    assert_eq!(log.len(), 1);
    assert!(
        log[0].query.contains("labelSelector=app%3Db"),
        "{:?}",
        log[0]
    );
    assert!(api.writes().is_empty());
}
