//! `/api/v1/deposits`: the evidence-deposit service over HTTP. The use cases are in
//! [`crate::service::deposits`]; this module reads requests (and the `Idempotency-Key`
//! header) and answers.

use crate::app::AppState;
use crate::http::problem::{ApiError, ApiResult, Problem};
use crate::http::views::{Page, PageQuery, page_request};
use crate::service::access::Caller;
use crate::service::deposits::Answer;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

pub use crate::domain::deposits::{
    CreateDeposit, CreateDeposits, DepositBatch, DepositItem, DepositQuery, DepositView, MAX_BATCH,
    MAX_CHAINS, MAX_METADATA_BYTES, ReceiptView, Verification, VerifyDeposit,
};

/// Query of `POST /api/v1/deposits/batch`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BatchQuery {
    /// `summary` (default: chain, transaction, height and time per receipt) or `full`
    /// (the receipts themselves).
    pub receipts: Option<String>,
}

/// The `Idempotency-Key` header: 1-255 visible ASCII characters.
fn idempotency_key(req: &HttpRequest) -> ApiResult<Option<String>> {
    let Some(v) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = v.to_str().unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(ApiError::BadRequest(
            "Idempotency-Key must be 1-255 visible ASCII characters".into(),
        ));
    }
    Ok(Some(key.to_string()))
}

fn created(a: Answer) -> HttpResponse {
    let mut r = HttpResponse::Created();
    if a.replayed {
        r.insert_header(("Idempotent-Replayed", "true"));
    }
    r.content_type("application/json").body(a.body)
}

/// Records a content hash on each named chain and answers with a receipt per chain.
#[utoipa::path(post, path = "/api/v1/deposits", operation_id = "createDeposit", tag = "deposits", request_body = CreateDeposit,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters: a retry with the same key and request gets the first answer (`Idempotent-Replayed: true`) and never deposits twice; kept 24 hours")),
    responses((status = 201, body = DepositView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "A request with this Idempotency-Key is in progress", body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    who: Caller,
    req: HttpRequest,
    body: web::Json<CreateDeposit>,
) -> ApiResult<HttpResponse> {
    let key = idempotency_key(&req)?;
    Ok(created(state.deposits.single(&who, key, &body).await?))
}

/// Records up to 1000 content hashes on each named chain in one go (one transaction batch
/// per chain, one database transaction); answers with every deposit and its receipts.
#[utoipa::path(post, path = "/api/v1/deposits/batch", operation_id = "createDepositBatch", tag = "deposits", request_body = CreateDeposits,
    params(BatchQuery, ("Idempotency-Key" = Option<String>, Header, description = "As for `POST /api/v1/deposits`")),
    responses((status = 201, body = DepositBatch), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "A request with this Idempotency-Key is in progress", body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_batch(
    state: web::Data<AppState>,
    who: Caller,
    req: HttpRequest,
    q: web::Query<BatchQuery>,
    body: web::Json<CreateDeposits>,
) -> ApiResult<HttpResponse> {
    let key = idempotency_key(&req)?;
    let answer = state
        .deposits
        .batch(&who, key, q.receipts.as_deref(), &body)
        .await?;
    Ok(created(answer))
}

/// A deposit with its receipts.
#[utoipa::path(get, path = "/api/v1/deposits/{deposit_id}", operation_id = "getDeposit", tag = "deposits",
    params(("deposit_id" = Uuid, Path)),
    responses((status = 200, body = DepositView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.deposits.get(&who, path.into_inner()).await?))
}

/// The caller's tenants' deposits (or one tenant's), newest first, optionally of one chain
/// and within a time window; each with its receipts' chain, transaction, height and time
/// (read `GET /api/v1/deposits/{id}` for the receipts themselves).
#[utoipa::path(get, path = "/api/v1/deposits", operation_id = "listDeposits", tag = "deposits", params(DepositQuery),
    responses((status = 200, body = Page<DepositView>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: Caller,
    q: web::Query<DepositQuery>,
) -> ApiResult<HttpResponse> {
    let req = page_request(q.limit, q.cursor.as_deref())?;
    let (items, next_cursor) = state.deposits.list(&who, &q, &req).await?;
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// Where and when a content hash was deposited, among the caller's tenants' deposits.
#[utoipa::path(post, path = "/api/v1/deposits/verify", operation_id = "verifyDeposit", tag = "deposits", request_body = VerifyDeposit, params(PageQuery),
    responses((status = 200, body = Verification), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn verify(
    state: web::Data<AppState>,
    who: Caller,
    q: web::Query<PageQuery>,
    body: web::Json<VerifyDeposit>,
) -> ApiResult<HttpResponse> {
    let req = q.page()?;
    Ok(HttpResponse::Ok().json(state.deposits.verify(&who, &body, &req).await?))
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        POST "/api/v1/deposits" => create,
        GET "/api/v1/deposits" => list,
        POST "/api/v1/deposits/batch" => create_batch,
        POST "/api/v1/deposits/verify" => verify,
        GET "/api/v1/deposits/{deposit_id}" => get,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, create_batch, list, get, verify))]
pub struct Doc;
