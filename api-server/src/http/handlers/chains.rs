//! `/api/v1/alliances/{alliance_id}/chains`: chains of an alliance, created by an admin of a
//! member tenant, run by the server's runtime (local processes or Kubernetes).
//!
//! Every member tenant of the alliance runs `nodes_per_member` validators. Keys and genesis
//! come from `consortia-engines` and are sealed under the KEK; the runtime receives them in
//! memory. Users of a member tenant see the chain; everyone else gets 404.

use super::check;
use crate::app::AppState;
use crate::db::entities::{chain, chain_node};
use crate::domain::roles::Action;
use crate::http::problem::{ApiError, ApiResult, Problem};
use crate::http::views::{Page, PageQuery};
use crate::runtime::{ChainReport, Engine, NodeReport, Phase, Placement, RuntimeError};
use crate::service::access::Caller;
use crate::service::alliances::chain_not_found;
use crate::store::alliances as alliance_db;
use crate::store::chains as db;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use consortia_engines::native::{self, Material};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Most validators each member may run.
pub const MAX_NODES_PER_MEMBER: u32 = 16;

/// Body of `POST /api/v1/alliances/{alliance_id}/chains`: the acting tenant and the chain.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct CreateChain {
    /// The member tenant acting (the caller must be one of its admins).
    pub tenant_id: Uuid,
    #[serde(flatten)]
    pub chain: ChainSpec,
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for CreateChain {
    type Error = String;

    fn try_from(m: serde_json::Map<String, serde_json::Value>) -> Result<Self, String> {
        let (tenant_id, chain) = super::tenant_and(m)?;
        Ok(CreateChain { tenant_id, chain })
    }
}

pub use crate::domain::chains::ChainSpec;

/// A node of a chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodeView {
    pub name: String,
    /// The member tenant whose node it is.
    pub tenant_id: Uuid,
    pub member: String,
    pub role: String,
    /// Hex ed25519 public key (the genesis names it).
    pub public_key: String,
    #[schema(value_type = String)]
    pub state: crate::runtime::NodeState,
    pub restarts: u32,
    pub height: Option<u64>,
    /// Base URL of the node's REST API: shown to the chain's creating tenant only, because a
    /// node serves every tenant's deposit metadata to whoever reaches it.
    pub endpoint: Option<String>,
}

/// A chain with what its runtime reports.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainView {
    pub id: Uuid,
    pub alliance_id: Uuid,
    pub name: String,
    pub engine: String,
    pub consensus: String,
    pub version: Option<String>,
    /// `local` or `kubernetes`.
    pub runtime: String,
    pub nodes_per_member: u32,
    /// The chain id in its genesis.
    pub chain_id: String,
    /// Hex hash of the genesis: receipts verify against it.
    pub genesis_hash: String,
    #[schema(value_type = String)]
    #[serde(serialize_with = "Phase::serialize_api")]
    pub phase: Phase,
    pub height: Option<u64>,
    pub message: Option<String>,
    pub nodes: Vec<NodeView>,
    /// REST API endpoints of the chain's nodes: for the chain's creating tenant only (empty
    /// for other members), since a node answers reads about every tenant's deposits.
    pub endpoints: Vec<String>,
    /// Marketplace templates installed on the chain.
    pub installations: Vec<super::installations::InstallationView>,
    /// The member tenant that asked for the chain (directly, or by a `create_chain` proposal).
    pub created_by_tenant_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Query of `DELETE …/chains/{chain_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    /// The member tenant acting (an admin of it).
    pub tenant_id: Uuid,
    /// Keep the nodes' data (blocks, state) on disk or in volumes.
    #[serde(default)]
    pub keep_data: bool,
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&name.chars().count())
        && name.trim() == name
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " ._-".contains(c));
    check(
        "/name",
        ok.then_some(()).ok_or_else(|| {
            "name must be 1-64 letters, digits, spaces, '.', '_' or '-' (no leading or trailing space)".to_string()
        }),
    )
}

fn consensus_for(engine: Engine, asked: Option<&str>) -> Result<String, ApiError> {
    let allowed = engine.consensus();
    match asked {
        None => Ok(allowed[0].to_string()),
        Some(c) if allowed.contains(&c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::field(
            "/consensus",
            format!(
                "consensus {c:?} does not suit the {} engine: use one of {allowed:?}",
                engine.as_str()
            ),
        )),
    }
}

/// A member's label in node names: its org id as a DNS label, unique in the chain.
fn member_labels(org_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for org in org_ids {
        let mut label: String = org
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        label.truncate(20);
        let label = label.trim_matches('-').to_string();
        let base = if label.is_empty() {
            "org".to_string()
        } else {
            label
        };
        let mut candidate = base.clone();
        let mut n = 2;
        while out.contains(&candidate) {
            candidate = format!("{base}{n}");
            n += 1;
        }
        out.push(candidate);
    }
    out
}

/// Where the runtime places `count` new nodes of chain `id`: on the local runtime, never on a
/// port recorded for another chain's node (a node waiting to be restarted has its ports
/// unbound) nor on one held for a chain still being created.
async fn place_nodes(state: &AppState, id: Uuid, count: usize) -> ApiResult<Placement> {
    loop {
        let avoid = db::recorded_ports(&state.db).await?;
        let placement = state
            .runtime
            .place(id, count, &avoid)
            .await
            .map_err(runtime_error)?;
        // A creation that recorded its ports and released its placement between the read
        // above and this placement: place again.
        let recorded = db::recorded_ports(&state.db).await?;
        if placement.held_ports().iter().any(|p| recorded.contains(p)) {
            continue;
        }
        return Ok(placement);
    }
}

fn runtime_error(e: RuntimeError) -> ApiError {
    match e {
        RuntimeError::Unsupported(m) => ApiError::field("/engine", m),
        RuntimeError::Unavailable(m) => ApiError::Unavailable(m),
        RuntimeError::Failed(e) => ApiError::Internal(format!("runtime: {e:#}")),
    }
}

/// Whose chains' raw node endpoints a caller sees: nodes do not check tenants (their
/// `/v1/blocks` and `/v1/deposits/{hash}` show every tenant's deposit metadata), so only
/// the creating tenant's users (and the platform administrator) get them. Read once per
/// request.
enum EndpointsFor {
    Every,
    CreatedBy(Vec<Uuid>),
}

impl EndpointsFor {
    async fn of(state: &AppState, who: &Caller) -> ApiResult<EndpointsFor> {
        Ok(if who.is_platform_admin() {
            EndpointsFor::Every
        } else {
            EndpointsFor::CreatedBy(state.access.own_tenants(who).await?)
        })
    }

    fn shows(&self, c: &chain::Model) -> bool {
        match self {
            EndpointsFor::Every => true,
            EndpointsFor::CreatedBy(tenants) => tenants.contains(&c.created_by_tenant),
        }
    }
}

async fn view(state: &AppState, viewer: &EndpointsFor, c: chain::Model) -> ApiResult<ChainView> {
    let nodes = db::nodes(&state.db, c.id).await?;
    let report: ChainReport = state.runtime.report(c.id).await;
    let shown = viewer.shows(&c);
    let endpoints = if shown {
        state.runtime.endpoints(c.id).await
    } else {
        Vec::new()
    };
    let find = |name: &str| -> Option<&NodeReport> { report.nodes.iter().find(|n| n.name == name) };
    Ok(ChainView {
        id: c.id,
        alliance_id: c.alliance_id,
        name: c.name,
        engine: c.engine,
        consensus: c.consensus,
        version: c.version,
        runtime: c.runtime,
        nodes_per_member: c.nodes_per_member as u32,
        chain_id: c.chain_id,
        genesis_hash: c.genesis_hash,
        phase: report.phase,
        height: report.height,
        message: report.message.clone(),
        nodes: nodes
            .into_iter()
            .map(|n| {
                let r = find(&n.name);
                NodeView {
                    state: r.map_or(crate::runtime::NodeState::Stopped, |r| r.state),
                    restarts: r.map_or(0, |r| r.restarts),
                    height: r.and_then(|r| r.height),
                    endpoint: r.and_then(|r| r.endpoint.clone()).filter(|_| shown),
                    name: n.name,
                    tenant_id: n.tenant_id,
                    member: n.member,
                    role: n.role,
                    public_key: n.public_key,
                }
            })
            .collect(),
        endpoints,
        installations: super::installations::views(state.installations.of_chain(c.id).await?),
        created_by_tenant_id: c.created_by_tenant,
        created_at: c.created_at,
    })
}

/// Creates a chain: every member tenant runs `nodes_per_member` validators.
#[utoipa::path(post, path = "/api/v1/alliances/{alliance_id}/chains", operation_id = "createChain", tag = "chains",
    params(("alliance_id" = Uuid, Path)), request_body = CreateChain,
    responses((status = 201, body = ChainView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    body: web::Json<CreateChain>,
) -> ApiResult<HttpResponse> {
    let alliance_id = path.into_inner();
    let (alliance, _) = state
        .alliances
        .authorize_member_action(&who, alliance_id, body.tenant_id, Action::ManageMembers)
        .await?;
    let checked = check_request(&state, &alliance, &body.chain, "").await?;
    let actor = Actor {
        tenant: body.tenant_id,
        user: Some(who.user.id),
        proposal: None,
    };
    let row = provision(&state, checked, actor).await?;
    who.created(row.id);
    who.noted_tenant(body.tenant_id);
    Ok(HttpResponse::Created()
        .json(view(&state, &EndpointsFor::of(&state, &who).await?, row).await?))
}

/// Who asked for a chain: a member admin's request, or an approved `create_chain` proposal.
pub(crate) struct Actor {
    pub tenant: Uuid,
    pub user: Option<Uuid>,
    pub proposal: Option<Uuid>,
}

/// A chain request that passed every check, ready to provision.
pub(crate) struct CheckedChain {
    alliance_id: Uuid,
    spec: ChainSpec,
    engine: Engine,
    consensus: String,
    nodes_per_member: u32,
    template: Option<crate::service::installations::Resolved>,
    members: Vec<crate::db::entities::alliance_member::Model>,
}

/// Checks a chain request against the alliance as it is now: open, name, engine, consensus,
/// node counts, the runtime, and the template with its parameters. Pointers are under `at`.
pub(crate) async fn check_request(
    state: &AppState,
    alliance: &crate::db::entities::alliance::Model,
    spec: &ChainSpec,
    at: &str,
) -> ApiResult<CheckedChain> {
    crate::service::alliances::ensure_open(alliance)?;
    check_request_against(state, alliance.id, spec)
        .await
        .map_err(|e| e.under(at))
}

async fn check_request_against(
    state: &AppState,
    alliance_id: Uuid,
    spec: &ChainSpec,
) -> ApiResult<CheckedChain> {
    check_name(&spec.name)?;
    // The template's chain defaults fill what the request leaves out.
    let defaults = match &spec.template {
        Some(t) => Some(
            state
                .templates
                .installable(&t.slug, t.version.as_deref())
                .await
                .map_err(|e| ApiError::from(e).under("/template"))?
                .2
                .chain,
        ),
        None => None,
    };
    let engine_name = match (&spec.engine, &defaults) {
        (Some(e), _) => e.clone(),
        (None, Some(d)) => d.engine.clone(),
        (None, None) => {
            return Err(ApiError::field(
                "/engine",
                "engine is required (native, fabric or quorum) unless a template gives it",
            ));
        }
    };
    let engine = Engine::parse(&engine_name).ok_or_else(|| {
        ApiError::field(
            "/engine",
            format!("unknown engine {engine_name:?}: use native, fabric or quorum"),
        )
    })?;
    let nodes_per_member = spec
        .nodes_per_member
        .or(defaults.as_ref().map(|d| d.nodes_per_member))
        .unwrap_or(1);
    let asked_consensus = spec.consensus.clone().or_else(|| {
        defaults
            .as_ref()
            .filter(|d| d.engine == engine_name)
            .map(|d| d.consensus.clone())
    });
    let consensus = consensus_for(engine, asked_consensus.as_deref())?;
    if let Some(v) = &spec.version {
        let ok = (1..=64).contains(&v.len())
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        check(
            "/version",
            ok.then_some(())
                .ok_or_else(|| "version must be 1-64 letters, digits, '.', '_' or '-'".to_string()),
        )?;
    }
    if !(1..=MAX_NODES_PER_MEMBER).contains(&nodes_per_member) {
        return Err(ApiError::field(
            "/nodes_per_member",
            format!("nodes_per_member must be between 1 and {MAX_NODES_PER_MEMBER}"),
        ));
    }
    state.runtime.supports(engine).map_err(runtime_error)?;
    let template = match &spec.template {
        Some(t) => Some(
            state
                .installations
                .resolve(
                    engine.as_str(),
                    &t.slug,
                    t.version.as_deref(),
                    &t.parameters,
                    "/template",
                )
                .await?,
        ),
        None => None,
    };
    let members = alliance_db::members(&state.db, alliance_id).await?;
    let total = members.len() * nodes_per_member as usize;
    if total > native::MAX_VALIDATORS {
        return Err(ApiError::field(
            "/nodes_per_member",
            format!(
                "{} members x {} nodes is {total} validators, more than the {} a chain may have",
                members.len(),
                nodes_per_member,
                native::MAX_VALIDATORS
            ),
        ));
    }
    if db::by_name(&state.db, alliance_id, &spec.name)
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict(format!(
            "alliance {alliance_id} already has a chain named {:?}",
            spec.name
        )));
    }

    Ok(CheckedChain {
        alliance_id,
        spec: spec.clone(),
        engine,
        consensus,
        nodes_per_member,
        template,
        members,
    })
}

/// Records a checked chain (keys and genesis sealed) and hands it to the runtime; if the
/// runtime refuses, nothing stays behind.
pub(crate) async fn provision(
    state: &AppState,
    checked: CheckedChain,
    actor: Actor,
) -> ApiResult<chain::Model> {
    let CheckedChain {
        alliance_id,
        spec,
        engine,
        consensus,
        nodes_per_member,
        template,
        members,
    } = checked;
    let total = members.len() * nodes_per_member as usize;
    let id = Uuid::new_v4();
    let resource_name = format!("ch-{}", &id.simple().to_string()[..12]);
    let labels = member_labels(&members.iter().map(|m| m.org_id.clone()).collect::<Vec<_>>());
    let counts: Vec<(&str, u32)> = labels
        .iter()
        .map(|l| (l.as_str(), nodes_per_member))
        .collect();
    let layout = native::layout_for(&resource_name, &counts)
        .map_err(|e| ApiError::field("/nodes_per_member", e.to_string()))?;
    let genesis_ms = state.clock.now().timestamp_millis().max(0) as u64;
    // A template's genesis parameters shape the chain (block size, metadata limits...).
    let params = template
        .as_ref()
        .and_then(|t| t.rendered.genesis_params.clone())
        .filter(|_| engine == Engine::Native)
        .unwrap_or_default();
    let material = Material::generate(&resource_name, &layout, params, genesis_ms)
        .map_err(|e| ApiError::Internal(format!("generating chain material: {e}")))?;
    let files = material.to_files();
    // Held until the chain's nodes are recorded (the end of this function).
    let placement = place_nodes(state, id, total).await?;
    let now = state.clock.now();
    let tenant_of = |label: &str| {
        labels
            .iter()
            .position(|l| l == label)
            .map(|i| members[i].tenant_id)
            .expect("every node's member is a member")
    };
    let node_rows: Vec<chain_node::Model> = layout
        .nodes()
        .iter()
        .zip(&placement.nodes)
        .map(|(n, ports)| chain_node::Model {
            id: Uuid::new_v4(),
            chain_id: id,
            name: n.name.clone(),
            tenant_id: tenant_of(&n.member),
            member: n.member.clone(),
            role: "validator".into(),
            public_key: hex::encode(material.node_keys[&n.name].verifying_key().to_bytes()),
            p2p_port: i32::from(ports.p2p),
            api_port: i32::from(ports.api),
        })
        .collect();
    let row = chain::Model {
        id,
        alliance_id,
        name: spec.name.clone(),
        resource_name: resource_name.clone(),
        engine: engine.as_str().into(),
        consensus,
        version: spec.version.clone(),
        runtime: state.runtime.kind().into(),
        nodes_per_member: nodes_per_member as i32,
        chain_id: material.genesis.chain_id.clone(),
        genesis_hash: material.genesis_hash(),
        created_by_tenant: actor.tenant,
        created_by_user: actor.user,
        created_at: now,
    };
    let plan = db::chain_plan_of(&row, &node_rows, files.clone())
        .map_err(|e| ApiError::Internal(format!("{e:#}")))?;
    let sealed = db::seal_material(&state.kek, id, &files);
    let installation = template.as_ref().map(|t| {
        let mut i = crate::service::installations::new_row(
            id,
            t,
            actor.tenant,
            actor.user,
            "installing",
            now,
        );
        if engine != Engine::Native {
            i.status = "recorded".into();
            i.message = Some(format!(
                "recorded; the {} engine does not anchor installations on chain",
                engine.as_str()
            ));
        } else {
            i.message = Some("waiting for the chain's first block".into());
        }
        i
    });
    let txn = state.db.begin().await?;
    db::insert(&txn, row.clone(), node_rows, sealed).await?;
    if let Some(i) = &installation {
        crate::store::installations::insert(&txn, i.clone()).await?;
    }
    alliance_db::event(
        &txn,
        alliance_id,
        "chain_created",
        (Some(actor.tenant), actor.user),
        serde_json::json!({"chain_id": id, "name": spec.name, "engine": engine.as_str(), "nodes": total,
            "template": spec.template.as_ref().map(|t| &t.slug), "proposal_id": actor.proposal}),
        now,
    )
    .await?;
    txn.commit().await?;
    if let Err(e) = state.runtime.ensure(plan).await {
        // Nothing half-made stays behind: the chain is forgotten again.
        let _ = state.runtime.remove(id, &row.resource_name, false).await;
        db::delete(&state.db, id).await?;
        if let Some(i) = &installation {
            crate::store::installations::uncount(&state.db, i.template_id).await?;
        }
        return Err(runtime_error(e));
    }
    if let Some(i) = installation.filter(|i| i.status == "installing") {
        state.installations.complete_later(i.id);
    }
    Ok(row)
}

/// Lists the alliance's chains a page at a time (in id order).
#[utoipa::path(get, path = "/api/v1/alliances/{alliance_id}/chains", operation_id = "listChains", tag = "chains",
    params(("alliance_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Page<ChainView>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let req = q.page()?;
    let alliance_id = path.into_inner();
    state.alliances.authorize_view(&who, alliance_id).await?;
    let rows = db::in_alliance(&state.db, alliance_id, &req).await?;
    let (rows, next_cursor) = crate::domain::pagination::finish(rows, &req, |c| c.id.to_string());
    let viewer = EndpointsFor::of(&state, &who).await?;
    let mut items = Vec::with_capacity(rows.len());
    for c in rows {
        items.push(view(&state, &viewer, c).await?);
    }
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// A chain with its nodes, phase and height.
#[utoipa::path(get, path = "/api/v1/alliances/{alliance_id}/chains/{chain_id}", operation_id = "getChain", tag = "chains",
    params(("alliance_id" = Uuid, Path), ("chain_id" = Uuid, Path)),
    responses((status = 200, body = ChainView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (alliance_id, id) = path.into_inner();
    let c = state
        .alliances
        .authorize_chain_view(&who, alliance_id, id)
        .await?;
    Ok(HttpResponse::Ok().json(view(&state, &EndpointsFor::of(&state, &who).await?, c).await?))
}

/// The chain's genesis file: what receipts verify against offline
/// (`consortia-node verify-receipt --genesis genesis.json receipt.json`).
#[utoipa::path(get, path = "/api/v1/alliances/{alliance_id}/chains/{chain_id}/genesis", operation_id = "getChainGenesis", tag = "chains",
    params(("alliance_id" = Uuid, Path), ("chain_id" = Uuid, Path)),
    responses((status = 200, body = Object), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn genesis(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (alliance_id, id) = path.into_inner();
    let c = state
        .alliances
        .authorize_chain_view(&who, alliance_id, id)
        .await?;
    let files = db::material(&state.db, &state.kek, c.id)
        .await
        .map_err(|e| ApiError::Internal(format!("{e:#}")))?;
    let genesis = files
        .get(native::GENESIS_FILE)
        .cloned()
        .ok_or_else(|| ApiError::Internal("the chain has no genesis".into()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(genesis))
}

/// Stops and removes a chain (its data stays when `keep_data=true`). Deposits' receipts stay.
/// Only the tenant that created the chain deletes it this way, and only while no one else
/// uses it; a chain the alliance shares (voted into being, or holding other members'
/// deposits or installations) is deleted by an approved `delete_chain` proposal.
#[utoipa::path(delete, path = "/api/v1/alliances/{alliance_id}/chains/{chain_id}", operation_id = "deleteChain", tag = "chains",
    params(("alliance_id" = Uuid, Path), ("chain_id" = Uuid, Path), DeleteQuery),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
    q: web::Query<DeleteQuery>,
) -> ApiResult<HttpResponse> {
    let (alliance_id, id) = path.into_inner();
    state
        .alliances
        .authorize_member_action(&who, alliance_id, q.tenant_id, Action::ManageMembers)
        .await
        .map_err(|e| e.not_found_as(|| chain_not_found(id)))?;
    let c = db::get(&state.db, id)
        .await?
        .filter(|c| c.alliance_id == alliance_id)
        .ok_or_else(|| ApiError::from(chain_not_found(id)))?;
    if c.created_by_tenant != q.tenant_id {
        return Err(ApiError::Forbidden(format!(
            "chain {id} was created by another member: propose delete_chain so the alliance \
             decides"
        )));
    }
    let shared = db::shared_by(&state.db, &c).await?;
    if !shared.is_empty() {
        return Err(ApiError::Conflict(format!(
            "chain {id} is shared ({}): propose delete_chain so the alliance decides",
            shared.join("; ")
        )));
    }
    let actor = Actor {
        tenant: q.tenant_id,
        user: Some(who.user.id),
        proposal: None,
    };
    remove(&state, &c, q.keep_data, actor).await?;
    who.noted_tenant(q.tenant_id);
    Ok(HttpResponse::NoContent().finish())
}

/// Stops a chain's nodes, forgets its watchers and deletes its rows, recording
/// `chain_deleted` (naming the proposal that decided it, if one did).
pub(crate) async fn remove(
    state: &AppState,
    c: &chain::Model,
    keep_data: bool,
    actor: Actor,
) -> ApiResult<()> {
    state
        .runtime
        .remove(c.id, &c.resource_name, keep_data)
        .await
        .map_err(runtime_error)?;
    state.signer.drop_chain(c.id);
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    db::delete(&txn, c.id).await?;
    alliance_db::event(
        &txn,
        c.alliance_id,
        "chain_deleted",
        (Some(actor.tenant), actor.user),
        serde_json::json!({"chain_id": c.id, "name": c.name, "keep_data": keep_data,
            "proposal_id": actor.proposal}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_labels_are_dns_labels_and_unique() {
        let l = member_labels(&[
            "Org1MSP".into(),
            "org1msp".into(),
            "A.B-C".into(),
            "...".into(),
        ]);
        assert_eq!(l, ["org1msp", "org1msp2", "a-b-c", "org"]);
    }
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        POST "/api/v1/alliances/{alliance_id}/chains" => create,
        GET "/api/v1/alliances/{alliance_id}/chains" => list,
        GET "/api/v1/alliances/{alliance_id}/chains/{chain_id}" => get,
        GET "/api/v1/alliances/{alliance_id}/chains/{chain_id}/genesis" => genesis,
        DELETE "/api/v1/alliances/{alliance_id}/chains/{chain_id}" => delete,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, genesis, delete))]
pub struct Doc;
