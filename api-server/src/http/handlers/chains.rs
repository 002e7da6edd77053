//! `/api/v1/alliances/{alliance_id}/chains`: chains of an alliance over HTTP. The use cases
//! are in [`crate::service::chains`]; this module reads requests and renders views.

use crate::app::AppState;
use crate::http::problem::{ApiResult, Problem};
use crate::http::views::chains::render;
pub use crate::http::views::chains::{ChainView, NodeView};
use crate::http::views::{Page, PageQuery, page_request};
use crate::service::access::Caller;
use actix_web::{HttpResponse, web};
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

/// A page of chains as the caller sees them.
async fn page_of(
    state: &AppState,
    who: &Caller,
    rows: Vec<crate::db::entities::chain::Model>,
    next_cursor: Option<String>,
) -> ApiResult<HttpResponse> {
    let viewer = state.chains.viewer(who).await?;
    let mut items = Vec::with_capacity(rows.len());
    for c in rows {
        items.push(render(state, &viewer, c).await?);
    }
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
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
    page_of(&state, &who, rows, next_cursor).await
}

/// Query of `GET /api/v1/chains`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AllChainsQuery {
    /// Only chains of alliances this tenant belongs to (default: every tenant of the caller,
    /// as its credential acts; every chain for the platform administrator).
    pub tenant_id: Option<Uuid>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// Lists the chains of every alliance the caller's tenants belong to (in id order), with
/// their phase, height and nodes: one request for "my chains" across alliances.
#[utoipa::path(get, path = "/api/v1/chains", operation_id = "listAllChains", tag = "chains",
    params(AllChainsQuery),
    responses((status = 200, body = Page<ChainView>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_all(
    state: web::Data<AppState>,
    who: Caller,
    q: web::Query<AllChainsQuery>,
) -> ApiResult<HttpResponse> {
    let req = page_request(q.limit, q.cursor.as_deref())?;
    let (rows, next_cursor) = state.chains.list_for(&who, q.tenant_id, &req).await?;
    page_of(&state, &who, rows, next_cursor).await
}

/// An engine, and whether this server's runtime can run it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EngineView {
    #[schema(value_type = String)]
    pub engine: consortia_crds::Engine,
    /// Whether `POST …/chains` accepts it here.
    pub available: bool,
    /// Why not, when it is not: what it would take.
    pub reason: Option<String>,
    /// `local` or `kubernetes`.
    pub runtime: String,
}

/// The engines this server's runtime runs, and for the others why not: what a chain
/// creation form shows before anyone submits.
#[utoipa::path(get, path = "/api/v1/engines", operation_id = "listEngines", tag = "chains",
    responses((status = 200, body = Vec<EngineView>), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn engines(state: web::Data<AppState>, _who: Caller) -> ApiResult<HttpResponse> {
    let runtime = state.chains.runtime_kind().to_string();
    let items: Vec<EngineView> = state
        .chains
        .engines()
        .into_iter()
        .map(|(engine, reason)| EngineView {
            engine,
            available: reason.is_none(),
            reason,
            runtime: runtime.clone(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(items))
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
        GET "/api/v1/chains" => list_all,
        GET "/api/v1/engines" => engines,
        GET "/api/v1/alliances/{alliance_id}/chains/{chain_id}" => get,
        GET "/api/v1/alliances/{alliance_id}/chains/{chain_id}/genesis" => genesis,
        DELETE "/api/v1/alliances/{alliance_id}/chains/{chain_id}" => delete,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, list_all, engines, get, genesis, delete))]
pub struct Doc;
