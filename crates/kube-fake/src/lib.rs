//! A small in-memory Kubernetes API server behind kube's tower-test mock service: enough of
//! the real semantics (create conflicts, resourceVersion preconditions, server-side apply
//! and merge patches, the status subresource, finalizers holding deletion, label selectors)
//! to drive a controller or a client, and a log of every request so tests can count writes
//! and read what was sent.
//!
//! Shared by the operator's and the API server's tests, so both run against one set of
//! semantics. It is test code: a request it cannot make sense of (a body that is not JSON, a
//! create without a name) panics, which fails the test that sent it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};

/// One request the fake answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub method: Method,
    pub path: String,
    /// The raw query string (`fieldManager=…&force=true`, `labelSelector=…`).
    pub query: String,
    /// The `content-type` header: tells a merge patch from a server-side apply.
    pub content_type: String,
    /// The JSON body (`null` when there was none).
    pub body: Value,
}

impl Logged {
    /// Anything but a read.
    pub fn is_write(&self) -> bool {
        self.method != Method::GET
    }
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    log: Vec<Logged>,
    rv: u64,
    /// (method, path fragment, status): the next matching request fails with that status.
    failures: Vec<(Method, String, u16)>,
}

/// The fake API server; clones share one store.
#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

fn status(code: u16, reason: &str, message: &str) -> Response<Body> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    });
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

fn ok(code: StatusCode, v: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(v).unwrap()))
        .unwrap()
}

/// RFC 7386 merge (also used, without deletions, as the fake's server-side apply).
fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

fn labels_match(obj: &Value, selector: &str) -> bool {
    selector.split(',').filter(|s| !s.is_empty()).all(|term| {
        let (k, v) = term.split_once('=').unwrap_or((term, ""));
        obj["metadata"]["labels"][k].as_str() == Some(v)
    })
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| {
            v.replace("%3D", "=")
                .replace("%2C", ",")
                .replace("%2F", "/")
                .replace("+", " ")
        })
    })
}

impl FakeApi {
    /// A kube client whose every request this fake answers.
    pub fn client(&self) -> kube::Client {
        let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let me = self.clone();
        tokio::spawn(async move {
            while let Some((req, send)) = handle.next_request().await {
                let resp = me.handle(req).await;
                send.send_response(resp);
            }
        });
        kube::Client::new(svc, "default")
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// Forgets the requests answered so far.
    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    /// The requests that were not reads.
    pub fn writes(&self) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(Logged::is_write)
            .collect()
    }

    /// Makes the next request with `method` whose path contains `fragment` fail.
    pub fn fail_next(&self, method: Method, fragment: &str, code: u16) {
        self.state
            .lock()
            .unwrap()
            .failures
            .push((method, fragment.to_string(), code));
    }

    /// The stored object at `path` (e.g. `/api/v1/namespaces/NS/secrets/NAME`).
    pub fn get(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(path).cloned()
    }

    /// Paths of every stored object, sorted.
    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().objects.keys().cloned().collect()
    }

    /// Stores an object directly (as another client would have), with a fresh resourceVersion.
    pub fn put(&self, path: &str, mut obj: Value) {
        let mut st = self.state.lock().unwrap();
        st.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(st.rv.to_string());
        if obj["metadata"]["uid"].is_null() {
            obj["metadata"]["uid"] = json!(format!("uid-{}", st.rv));
        }
        st.objects.insert(path.to_string(), obj);
    }

    /// Changes a stored object in place.
    pub fn edit(&self, path: &str, f: impl FnOnce(&mut Value)) {
        let mut st = self.state.lock().unwrap();
        st.rv += 1;
        let rv = st.rv;
        let obj = st.objects.get_mut(path).expect("object to edit exists");
        f(obj);
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
    }

    /// Drops a stored object (as if another client had deleted it, finalizers or not).
    pub fn remove(&self, path: &str) {
        self.state.lock().unwrap().objects.remove(path);
    }

    async fn handle(&self, req: Request<Body>) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or("").to_string();
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = req.into_body().collect_bytes().await.unwrap();
        let body: Value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).expect("request bodies are JSON")
        };
        let mut st = self.state.lock().unwrap();
        st.log.push(Logged {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            content_type: content_type.clone(),
            body: body.clone(),
        });
        if let Some(i) = st
            .failures
            .iter()
            .position(|(m, frag, _)| *m == method && path.contains(frag.as_str()))
        {
            let (_, _, code) = st.failures.remove(i);
            let reason = match code {
                404 => "NotFound",
                409 => "AlreadyExists",
                _ => "InternalError",
            };
            return status(code, reason, "injected failure");
        }
        let (object_path, subresource) = match path.strip_suffix("/status") {
            Some(p) if st.objects.contains_key(p) => (p.to_string(), Some("status")),
            _ => (path.clone(), None),
        };
        match method {
            Method::GET => {
                if let Some(obj) = st.objects.get(&object_path) {
                    return ok(StatusCode::OK, obj);
                }
                // A list: the direct children of this collection.
                let selector = query_param(&query, "labelSelector").unwrap_or_default();
                let prefix = format!("{path}/");
                let items: Vec<Value> = st
                    .objects
                    .iter()
                    .filter(|(k, _)| k.starts_with(&prefix) && !k[prefix.len()..].contains('/'))
                    .filter(|(_, v)| labels_match(v, &selector))
                    .map(|(_, v)| v.clone())
                    .collect();
                if items.is_empty() && is_object_path(&path) {
                    return status(404, "NotFound", &format!("{path} not found"));
                }
                let rv = st.rv.to_string();
                ok(
                    StatusCode::OK,
                    &json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": rv}, "items": items}),
                )
            }
            Method::POST => {
                let name = body["metadata"]["name"].as_str().unwrap().to_string();
                let full = format!("{path}/{name}");
                if st.objects.contains_key(&full) {
                    return status(409, "AlreadyExists", &format!("{full} already exists"));
                }
                st.rv += 1;
                let mut obj = body;
                obj["metadata"]["resourceVersion"] = json!(st.rv.to_string());
                obj["metadata"]["uid"] = json!(format!("uid-{}", st.rv));
                obj["metadata"]["generation"] = json!(1);
                st.objects.insert(full, obj.clone());
                ok(StatusCode::CREATED, &obj)
            }
            Method::PUT => {
                let Some(existing) = st.objects.get(&object_path) else {
                    return status(404, "NotFound", "not found");
                };
                if body["metadata"]["resourceVersion"] != existing["metadata"]["resourceVersion"] {
                    return status(409, "Conflict", "the object has been modified");
                }
                st.rv += 1;
                let mut obj = body;
                obj["metadata"]["resourceVersion"] = json!(st.rv.to_string());
                st.objects.insert(object_path, obj.clone());
                ok(StatusCode::OK, &obj)
            }
            Method::PATCH => {
                let apply = content_type.starts_with("application/apply-patch");
                let existing = st.objects.get(&object_path).cloned();
                if !apply && existing.is_none() {
                    return status(404, "NotFound", "not found");
                }
                if let (Some(want), Some(have)) = (
                    body["metadata"]["resourceVersion"].as_str(),
                    existing.as_ref(),
                ) && have["metadata"]["resourceVersion"].as_str() != Some(want)
                {
                    return status(409, "Conflict", "the object has been modified");
                }
                let mut obj = existing.clone().unwrap_or_else(
                    || json!({"metadata": {"uid": format!("uid-{}", st.rv + 1), "generation": 1}}),
                );
                let mut patch = body.clone();
                // `get_mut`, not indexing: `patch["metadata"]` would insert a null, which the
                // merge below reads as "delete the object's metadata".
                if let Some(map) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
                    map.remove("resourceVersion");
                }
                if subresource == Some("status") {
                    merge(&mut obj["status"], &patch["status"]);
                } else {
                    let old_spec = obj["spec"].clone();
                    if apply {
                        // Apply replaces the fields the manager sets; lists as a whole.
                        let mut p = patch.clone();
                        if let Some(m) = p.as_object_mut() {
                            m.remove("status");
                        }
                        merge(&mut obj, &p);
                    } else {
                        merge(&mut obj, &patch);
                    }
                    if existing.is_some() && obj["spec"] != old_spec {
                        let g = obj["metadata"]["generation"].as_i64().unwrap_or(1);
                        obj["metadata"]["generation"] = json!(g + 1);
                    }
                }
                st.rv += 1;
                obj["metadata"]["resourceVersion"] = json!(st.rv.to_string());
                let released = obj["metadata"]["deletionTimestamp"].is_string()
                    && obj["metadata"]["finalizers"]
                        .as_array()
                        .is_none_or(|f| f.is_empty());
                if released {
                    st.objects.remove(&object_path);
                } else {
                    st.objects.insert(object_path, obj.clone());
                }
                ok(StatusCode::OK, &obj)
            }
            Method::DELETE => {
                let Some(mut obj) = st.objects.get(&object_path).cloned() else {
                    return status(404, "NotFound", &format!("{object_path} not found"));
                };
                let held = obj["metadata"]["finalizers"]
                    .as_array()
                    .is_some_and(|f| !f.is_empty());
                if held {
                    st.rv += 1;
                    obj["metadata"]["deletionTimestamp"] = json!("2026-11-28T00:00:00Z");
                    let g = obj["metadata"]["generation"].as_i64().unwrap_or(1);
                    obj["metadata"]["generation"] = json!(g + 1);
                    obj["metadata"]["resourceVersion"] = json!(st.rv.to_string());
                    st.objects.insert(object_path, obj.clone());
                } else {
                    st.objects.remove(&object_path);
                }
                ok(StatusCode::OK, &obj)
            }
            _ => status(405, "MethodNotAllowed", "not supported by the fake"),
        }
    }
}

/// Whether a path names one object (…/namespaces/NS/PLURAL/NAME) rather than a collection.
fn is_object_path(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.iter().position(|p| *p == "namespaces") {
        Some(i) => parts.len() > i + 3,
        None => false,
    }
}
