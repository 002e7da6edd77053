//! `/api/v1/alliances/{alliance_id}/chains`: chains of an alliance over HTTP. The use cases
//! are in [`crate::service::chains`]; this module reads requests and renders views.

use crate::app::AppState;
use crate::db::entities::chain;
use crate::http::problem::{ApiResult, Problem};
use crate::http::views::{Page, PageQuery};
use crate::runtime::{NodeReport, Phase};
use crate::service::access::Caller;
use crate::service::chains::{Status, Viewer};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

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

fn view(c: chain::Model, s: Status) -> ChainView {
    let Status {
        nodes,
        report,
        endpoints_shown,
        endpoints,
        installations,
    } = s;
    let find = |name: &str| -> Option<&NodeReport> { report.nodes.iter().find(|n| n.name == name) };
    ChainView {
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
                    endpoint: r
                        .and_then(|r| r.endpoint.clone())
                        .filter(|_| endpoints_shown),
                    name: n.name,
                    tenant_id: n.tenant_id,
                    member: n.member,
                    role: n.role,
                    public_key: n.public_key,
                }
            })
            .collect(),
        endpoints,
        installations: super::installations::views(installations),
        created_by_tenant_id: c.created_by_tenant,
        created_at: c.created_at,
    }
}

async fn render(state: &AppState, viewer: &Viewer, c: chain::Model) -> ApiResult<ChainView> {
    let s = state.chains.status(viewer, &c).await?;
    Ok(view(c, s))
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
    let row = state
        .chains
        .create(&who, path.into_inner(), body.tenant_id, &body.chain)
        .await?;
    let viewer = state.chains.viewer(&who).await?;
    Ok(HttpResponse::Created().json(render(&state, &viewer, row).await?))
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
    let (rows, next_cursor) = state.chains.list(&who, path.into_inner(), &req).await?;
    let viewer = state.chains.viewer(&who).await?;
    let mut items = Vec::with_capacity(rows.len());
    for c in rows {
        items.push(render(&state, &viewer, c).await?);
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
    let viewer = state.chains.viewer(&who).await?;
    Ok(HttpResponse::Ok().json(render(&state, &viewer, c).await?))
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
    let genesis = state.chains.genesis(&who, alliance_id, id).await?;
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
        .chains
        .delete(&who, alliance_id, id, q.tenant_id, q.keep_data)
        .await?;
    Ok(HttpResponse::NoContent().finish())
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
