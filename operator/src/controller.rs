//! The Chain controller: one reconcile turns a Chain into its key Secret (made once) and its
//! desired objects (server-side applied under one field manager), then writes its status.
//!
//! A pass over an unchanged Chain issues no write: each desired object is compared with
//! what the API server holds (every field we set must be there with our value) and applied
//! only when it differs, and the status is patched only when it changed.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use consortia_chain::genesis::Params;
use consortia_crds::contract::{CHAIN_LABEL, CLIENT_PORT, client_service_name, keys_secret_name};
use consortia_crds::{Chain, RetainPolicy};
use consortia_engines::native::Material;
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::probe::Probe;
use crate::resources::{self, MANAGER, ROLE_LABEL, Role, Settings, contains};
use crate::status::{self, Observed, Refusal, Verdict};

/// Finalizer that holds a Chain until its data has been kept or removed per `retainPolicy`.
pub const FINALIZER: &str = "consortia.dev/cleanup";
/// How often a running chain's status is refreshed.
pub const RESYNC: Duration = Duration::from_secs(30);
/// How often a chain that is still starting or changing is looked at.
pub const RESYNC_BUSY: Duration = Duration::from_secs(5);

/// What every reconcile needs.
pub struct Context {
    pub client: kube::Client,
    pub settings: Settings,
    pub probe: Arc<dyn Probe>,
    pub metrics: Arc<Metrics>,
    /// The clock of condition transition times (fixed in tests).
    pub now: fn() -> Time,
}

/// The current time at the API server's precision (seconds).
pub fn now() -> Time {
    let t = k8s_openapi::jiff::Timestamp::now();
    Time(k8s_openapi::jiff::Timestamp::from_second(t.as_second()).unwrap_or(t))
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("the Chain has no namespace")]
    NoNamespace,
    #[error("generating the chain's keys: {0}")]
    Material(#[from] consortia_engines::native::Error),
}

impl Error {
    /// A short label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Kube(kube::Error::Api(s)) if s.code == 409 => "conflict",
            Error::Kube(_) => "api",
            Error::NoNamespace => "invalid",
            Error::Material(_) => "material",
        }
    }
}

/// The controller's entry point: reconciles and records metrics.
pub async fn reconcile(chain: Arc<Chain>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_chain(&chain, &ctx).await;
    ctx.metrics.record(
        result.as_ref().map(|_| ()).map_err(Error::kind),
        started.elapsed(),
    );
    result
}

/// After a failed reconcile: log it and try again soon (the controller adds no backoff of
/// its own, so keep this gentle on the API server).
pub fn error_policy(chain: Arc<Chain>, err: &Error, _ctx: Arc<Context>) -> Action {
    warn!(chain = %chain.name_any(), namespace = ?chain.namespace(), error = %err, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(5))
}

async fn reconcile_chain(chain: &Chain, ctx: &Context) -> Result<Action, Error> {
    let ns = chain.namespace().ok_or(Error::NoNamespace)?;
    let name = chain.name_any();
    let chains: Api<Chain> = Api::namespaced(ctx.client.clone(), &ns);
    if chain.metadata.deletion_timestamp.is_some() {
        return cleanup(chain, ctx, &chains, &ns).await;
    }
    if !chain.finalizers().iter().any(|f| f == FINALIZER) {
        let mut finalizers = chain.finalizers().to_vec();
        finalizers.push(FINALIZER.to_string());
        set_finalizers(&chains, chain, finalizers).await?;
    }
    let now = (ctx.now)();
    let spec = status::spec_layout(chain);
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let secret_name = keys_secret_name(&name);
    let material = match secrets.get_opt(&secret_name).await? {
        Some(secret) => match Material::from_files(&secret_files(&secret)) {
            Ok(m) => m,
            Err(e) => {
                let refusal = Refusal {
                    reason: "KeyMaterialInvalid",
                    message: format!(
                        "Secret {secret_name} does not hold this chain's keys ({e}); the operator never regenerates keys: restore the Secret or delete it to start a new chain"
                    ),
                };
                write_status(chain, &chains, &Verdict::Refused(refusal), None, &now).await?;
                return Ok(Action::requeue(RESYNC));
            }
        },
        None => match &spec {
            Err(refusal) => {
                write_status(
                    chain,
                    &chains,
                    &Verdict::Refused(refusal.clone()),
                    None,
                    &now,
                )
                .await?;
                return Ok(Action::await_change());
            }
            Ok((layout, _)) => create_material(chain, &secrets, layout).await?,
        },
    };
    let verdict = match spec {
        Ok((layout, warning)) if layout == material.layout => Verdict::Accepted { warning },
        Ok(_) => Verdict::ChangeRefused(Refusal {
            reason: "ValidatorSetChangeUnsupported",
            message: format!(
                "the chain's validators are fixed by its genesis ({}); changing them needs reconfiguration, which native chains do not support yet: restore spec.members",
                describe_layout(&material)
            ),
        }),
        Err(refusal) => Verdict::ChangeRefused(refusal),
    };
    let desired = resources::desired(chain, &material, &ctx.settings);
    let client = ctx.client.clone();
    ensure(
        &Api::namespaced(client.clone(), &ns),
        &desired.service_account,
    )
    .await?;
    ensure(&Api::namespaced(client.clone(), &ns), &desired.config_map).await?;
    ensure(
        &Api::namespaced(client.clone(), &ns),
        &desired.peers_service,
    )
    .await?;
    ensure(
        &Api::namespaced(client.clone(), &ns),
        &desired.client_service,
    )
    .await?;
    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let mut sets = Vec::new();
    for sts in &desired.stateful_sets {
        sets.push(ensure(&sts_api, sts).await?);
    }
    ensure(&Api::namespaced(client.clone(), &ns), &desired.pdb).await?;
    ensure(&Api::namespaced(client, &ns), &desired.network_policy).await?;

    let client_host = format!("{}.{ns}.svc", client_service_name(&name));
    let probed = ctx
        .probe
        .status(&format!("http://{client_host}:{CLIENT_PORT}"))
        .await;
    let mut observed = Observed {
        fault_tolerance: material.layout.fault_tolerance() as u32,
        endpoints: vec![format!("{client_host}:{CLIENT_PORT}")],
        block_height: probed.as_ref().map(|p| p.height),
        genesis_hash: probed.map(|p| p.genesis_hash),
        ..Observed::default()
    };
    prune_observer_sets(&sts_api, chain, &desired.stateful_sets).await?;
    for sts in &sets {
        let want = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0) as u32;
        let st = sts.status.clone().unwrap_or_default();
        let ready = (st.ready_replicas.unwrap_or(0).max(0) as u32).min(want);
        observed.total_nodes += want;
        observed.ready_nodes += ready;
        if sts.labels().get(ROLE_LABEL).map(String::as_str) == Some(Role::Validator.label()) {
            observed.validators_down += want - ready;
        }
        observed.rolling |= st.observed_generation < sts.metadata.generation
            || st.updated_replicas.unwrap_or(0) < want as i32
            || st.update_revision != st.current_revision;
    }
    let s = write_status(chain, &chains, &verdict, Some(&observed), &now).await?;
    let steady = s.phase == Some(consortia_crds::Phase::Running) && !observed.rolling;
    Ok(Action::requeue(if steady { RESYNC } else { RESYNC_BUSY }))
}

/// Removes observer StatefulSets of this Chain that the spec no longer asks for (a member's
/// `observers` set to 0). Their volumes stay until the Chain is deleted.
async fn prune_observer_sets(
    api: &Api<StatefulSet>,
    chain: &Chain,
    desired: &[StatefulSet],
) -> Result<(), Error> {
    let selector = format!(
        "{CHAIN_LABEL}={},{ROLE_LABEL}={}",
        chain.name_any(),
        Role::Observer.label()
    );
    for sts in api.list(&ListParams::default().labels(&selector)).await? {
        let wanted = desired.iter().any(|d| d.metadata.name == sts.metadata.name);
        if !wanted && owned_by(&sts, chain) {
            info!(statefulset = %sts.name_any(), "removing observers no longer in the spec");
            delete_if_present(api, &sts.name_any()).await?;
        }
    }
    Ok(())
}

fn describe_layout(m: &Material) -> String {
    let mut per_member: BTreeMap<&str, u32> = BTreeMap::new();
    for n in m.layout.nodes() {
        *per_member.entry(n.member.as_str()).or_default() += 1;
    }
    per_member
        .iter()
        .map(|(member, count)| format!("{member}: {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn secret_files(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

/// Generates the chain's keys and genesis and stores them in an immutable Secret. Creation
/// (not apply) decides races: when two operators both generate, the second one's create
/// fails and it takes the Secret the first one made.
async fn create_material(
    chain: &Chain,
    secrets: &Api<Secret>,
    layout: &consortia_engines::native::Layout,
) -> Result<Material, Error> {
    let name = chain.name_any();
    let secret_name = keys_secret_name(&name);
    let genesis_ms = k8s_openapi::jiff::Timestamp::now().as_millisecond().max(0) as u64;
    let material = Material::generate(
        &resources::chain_id(chain),
        layout,
        Params::default(),
        genesis_ms,
    )?;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(secret_name.clone()),
            namespace: chain.namespace(),
            labels: Some(resources::keys_secret_labels(&name)),
            annotations: Some(BTreeMap::from([(
                "consortia.dev/genesis-hash".to_string(),
                material.genesis_hash(),
            )])),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_string()),
        immutable: Some(true),
        data: Some(
            material
                .to_files()
                .into_iter()
                .map(|(k, v)| (k, ByteString(v)))
                .collect(),
        ),
        ..Secret::default()
    };
    let pp = PostParams {
        field_manager: Some(MANAGER.to_string()),
        ..PostParams::default()
    };
    match secrets.create(&pp, &secret).await {
        Ok(_) => {
            info!(chain = %name, genesis = %material.genesis_hash(), "generated the chain's keys and genesis");
            Ok(material)
        }
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let existing = secrets.get(&secret_name).await?;
            Ok(Material::from_files(&secret_files(&existing))?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Applies `obj` unless the API server already holds every field of it with our values.
async fn ensure<K>(api: &Api<K>, obj: &K) -> Result<K, Error>
where
    K: Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + Debug,
{
    let name = obj.meta().name.clone().unwrap_or_default();
    let desired = serde_json::to_value(obj).expect("objects serialise");
    if let Some(existing) = api.get_opt(&name).await? {
        let held = serde_json::to_value(&existing).expect("objects serialise");
        if contains(&held, &desired) {
            return Ok(existing);
        }
    }
    Ok(api
        .patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(obj),
        )
        .await?)
}

async fn write_status(
    chain: &Chain,
    chains: &Api<Chain>,
    verdict: &Verdict,
    observed: Option<&Observed>,
    now: &Time,
) -> Result<consortia_crds::ChainStatus, Error> {
    let new = status::compute(chain, verdict, observed, now);
    if chain.status.as_ref() != Some(&new) {
        let (api_version, kind) = resources::chain_type_meta();
        chains
            .patch_status(
                &chain.name_any(),
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(json!({"apiVersion": api_version, "kind": kind, "status": new})),
            )
            .await?;
    }
    Ok(new)
}

/// Deletion: keep or remove the data per `retainPolicy`, then release the finalizer. Safe to
/// repeat, and fine for a Chain that never finished provisioning (nothing to find is not an
/// error).
async fn cleanup(
    chain: &Chain,
    ctx: &Context,
    chains: &Api<Chain>,
    ns: &str,
) -> Result<Action, Error> {
    if !chain.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let name = chain.name_any();
    if chain.spec.retain_policy == RetainPolicy::Delete {
        let by_chain = ListParams::default().labels(&format!("{CHAIN_LABEL}={name}"));
        // Workloads first, so no pod re-creates a volume while it is being removed.
        let sts_api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), ns);
        for sts in sts_api.list(&by_chain).await? {
            if owned_by(&sts, chain) {
                delete_if_present(&sts_api, &sts.name_any()).await?;
            }
        }
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), ns);
        for pvc in pvcs.list(&by_chain).await? {
            delete_if_present(&pvcs, &pvc.name_any()).await?;
        }
        let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
        delete_if_present(&secrets, &keys_secret_name(&name)).await?;
        info!(chain = %name, "deleted the chain's volumes and keys (retainPolicy: Delete)");
    } else {
        info!(chain = %name, "kept the chain's volumes and keys (retainPolicy: Retain)");
    }
    let finalizers = chain
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    match set_finalizers(chains, chain, finalizers).await {
        // Already released by an earlier pass: the Chain is gone.
        Err(Error::Kube(kube::Error::Api(s))) if s.code == 404 => {}
        r => r?,
    }
    Ok(Action::await_change())
}

/// Replaces the Chain's finalizers, only if nobody changed the Chain since it was read.
async fn set_finalizers(
    chains: &Api<Chain>,
    chain: &Chain,
    finalizers: Vec<String>,
) -> Result<(), Error> {
    chains
        .patch(
            &chain.name_any(),
            &PatchParams {
                field_manager: Some(MANAGER.to_string()),
                ..PatchParams::default()
            },
            &Patch::Merge(json!({"metadata": {
                "finalizers": finalizers,
                "resourceVersion": chain.resource_version(),
            }})),
        )
        .await?;
    Ok(())
}

fn owned_by<K: Resource>(obj: &K, chain: &Chain) -> bool {
    let uid = chain.uid();
    obj.owner_references()
        .iter()
        .any(|o| Some(&o.uid) == uid.as_ref())
}

async fn delete_if_present<K>(api: &Api<K>, name: &str) -> Result<(), Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}
