//! Chains on Kubernetes: the API server writes a chain's key Secret and its `Chain` resource,
//! and the Consortia operator does the rest (it reuses the Secret instead of generating
//! keys, runs the nodes, reports status, and on deletion keeps or removes the data per
//! `spec.retainPolicy`). This runtime only reads and writes those objects.

mod objects;

use std::collections::HashSet;

use anyhow::anyhow;
use consortia_crds::{Chain, RetainPolicy};
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use tracing::{info, warn};
use uuid::Uuid;

use consortia_crds::contract::{CHAIN_ID_LABEL, CHAIN_LABEL, client_endpoint, keys_secret_name};
use objects::{FIELD_MANAGER, chain_report, chain_resource, keys_secret};

use super::{ChainPlan, ChainReport, Engine, NodePorts, Placement, Runtime, RuntimeError};

/// Runs chains through the Consortia operator, in one namespace.
pub struct KubernetesRuntime {
    client: Client,
    namespace: String,
}

/// A Kubernetes API error with what was being done, for a [`RuntimeError::Failed`].
fn api_error(e: kube::Error, doing: String) -> RuntimeError {
    RuntimeError::Failed(anyhow::Error::new(e).context(doing))
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

impl KubernetesRuntime {
    /// A runtime that keeps chains in `namespace` through `client`.
    pub fn new(client: Client, namespace: impl Into<String>) -> KubernetesRuntime {
        KubernetesRuntime {
            client,
            namespace: namespace.into(),
        }
    }

    /// Connects with the in-cluster service account or the local kubeconfig; chains go to
    /// `namespace`, else to the client's default namespace (the pod's own, in a cluster).
    pub async fn connect(namespace: Option<String>) -> anyhow::Result<KubernetesRuntime> {
        let client = Client::try_default().await.map_err(|e| {
            anyhow!(e).context(
                "connecting to Kubernetes (in-cluster service account or kubeconfig) for the kubernetes runtime",
            )
        })?;
        let namespace = namespace.unwrap_or_else(|| client.default_namespace().to_string());
        Ok(KubernetesRuntime::new(client, namespace))
    }

    /// The namespace chains are created in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn chains(&self) -> Api<Chain> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Creates the key Secret, or accepts the one that exists when it holds this genesis.
    async fn ensure_keys(&self, plan: &ChainPlan) -> Result<(), RuntimeError> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let name = keys_secret_name(&plan.name);
        let ns = &self.namespace;
        let read = |e| api_error(e, format!("reading Secret {ns}/{name}"));
        let existing = match secrets.get_opt(&name).await.map_err(read)? {
            Some(secret) => secret,
            None => {
                let pp = PostParams {
                    field_manager: Some(FIELD_MANAGER.to_string()),
                    ..PostParams::default()
                };
                match secrets.create(&pp, &keys_secret(plan, ns)).await {
                    Ok(_) => {
                        info!(chain = %plan.id, name = %plan.name, namespace = %ns, "created the chain's key Secret");
                        return Ok(());
                    }
                    // Someone created it since we looked: judge theirs like any other.
                    Err(e) if is_status(&e, 409) => secrets.get(&name).await.map_err(read)?,
                    Err(e) => {
                        return Err(api_error(e, format!("creating Secret {ns}/{name}")));
                    }
                }
            }
        };
        if objects::holds_genesis(&existing, plan) {
            return Ok(());
        }
        Err(RuntimeError::Failed(anyhow!(
            "Secret {ns}/{name} already exists and does not hold this chain's genesis, so the operator would run another chain's keys; \
             if it is left over from an earlier chain, delete it (its keys are lost) and try again"
        )))
    }

    /// Applies the Chain unless it already is as planned.
    async fn ensure_chain(&self, plan: &ChainPlan) -> Result<(), RuntimeError> {
        let chains = self.chains();
        let ns = &self.namespace;
        let want = chain_resource(plan, ns);
        let held = chains
            .get_opt(&plan.name)
            .await
            .map_err(|e| api_error(e, format!("reading Chain {ns}/{}", plan.name)))?;
        if let Some(held) = held {
            if held.metadata.deletion_timestamp.is_some() {
                return Err(RuntimeError::Failed(anyhow!(
                    "Chain {ns}/{} is being deleted; try again once it is gone",
                    plan.name
                )));
            }
            if objects::up_to_date(&held, &want) {
                return Ok(());
            }
        }
        chains
            .patch(
                &plan.name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&want),
            )
            .await
            .map_err(|e| api_error(e, format!("applying Chain {ns}/{}", plan.name)))?;
        info!(chain = %plan.id, name = %plan.name, namespace = %ns, "applied the Chain");
        Ok(())
    }

    /// The Chain of `chain`, found by its id label.
    async fn find(&self, chain: Uuid) -> Result<Option<Chain>, kube::Error> {
        let lp = ListParams::default().labels(&format!("{CHAIN_ID_LABEL}={chain}"));
        Ok(self.chains().list(&lp).await?.items.into_iter().next())
    }
}

#[async_trait::async_trait]
impl Runtime for KubernetesRuntime {
    fn kind(&self) -> &'static str {
        "kubernetes"
    }

    fn supports(&self, engine: Engine) -> Result<(), RuntimeError> {
        super::native_only(engine)
    }

    /// Every node is a pod listening on the engine's own ports: nothing is taken here.
    async fn place(
        &self,
        _chain: Uuid,
        count: usize,
        _avoid: &HashSet<u16>,
    ) -> Result<Placement, RuntimeError> {
        let ports = NodePorts {
            p2p: consortia_engines::native::P2P_PORT,
            api: consortia_engines::native::API_PORT,
        };
        Ok(Placement::fixed(vec![ports; count]))
    }

    async fn ensure(&self, plan: ChainPlan) -> Result<(), RuntimeError> {
        self.supports(plan.engine)?;
        if !plan
            .material
            .contains_key(consortia_engines::native::GENESIS_FILE)
        {
            return Err(RuntimeError::Failed(anyhow!(
                "the plan of chain {} has no {}",
                plan.name,
                consortia_engines::native::GENESIS_FILE
            )));
        }
        self.ensure_keys(&plan).await?;
        self.ensure_chain(&plan).await
    }

    async fn report(&self, chain: Uuid) -> ChainReport {
        let found = match self.find(chain).await {
            Ok(Some(found)) => found,
            Ok(None) => return objects::stopped(None),
            Err(e) => {
                warn!(chain = %chain, error = %e, "could not read the Chain");
                return ChainReport {
                    phase: super::Phase::Failed,
                    ..objects::stopped(Some(format!(
                        "could not read the chain from the Kubernetes API ({e}); the chain itself may be fine"
                    )))
                };
            }
        };
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let lp = ListParams::default().labels(&format!("{CHAIN_LABEL}={}", found.name_any()));
        match pods.list(&lp).await {
            Ok(pods) => chain_report(&found, &pods.items),
            Err(e) => {
                warn!(chain = %chain, error = %e, "could not list the chain's pods");
                let report = chain_report(&found, &[]);
                let note = format!("could not list the chain's nodes ({e})");
                ChainReport {
                    message: Some(match report.message {
                        Some(m) => format!("{m}; {note}"),
                        None => note,
                    }),
                    ..report
                }
            }
        }
    }

    async fn endpoints(&self, chain: Uuid) -> Vec<String> {
        match self.find(chain).await {
            Ok(Some(found)) => vec![client_endpoint(&found.name_any(), &self.namespace)],
            Ok(None) => Vec::new(),
            Err(e) => {
                warn!(chain = %chain, error = %e, "could not read the Chain");
                Vec::new()
            }
        }
    }

    async fn remove(&self, chain: Uuid, name: &str, keep_data: bool) -> Result<(), RuntimeError> {
        let chains = self.chains();
        let ns = &self.namespace;
        let policy = if keep_data {
            RetainPolicy::Retain
        } else {
            RetainPolicy::Delete
        };
        // The operator's finalizer reads the policy when it cleans up, so set it first.
        let pp = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..PatchParams::default()
        };
        let patch = json!({"spec": {"retainPolicy": policy}});
        match chains.patch(name, &pp, &Patch::Merge(&patch)).await {
            Ok(_) => {}
            Err(e) if is_status(&e, 404) => return Ok(()),
            Err(e) => {
                return Err(api_error(
                    e,
                    format!("setting retainPolicy of Chain {ns}/{name}"),
                ));
            }
        }
        match chains.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if is_status(&e, 404) => {}
            Err(e) => return Err(api_error(e, format!("deleting Chain {ns}/{name}"))),
        }
        info!(chain = %chain, name, namespace = %ns, retain_policy = ?policy, "deleted the Chain; the operator cleans up");
        Ok(())
    }

    async fn shutdown(&self) {}
}
