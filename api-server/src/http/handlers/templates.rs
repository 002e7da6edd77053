//! `/api/v1/tenants/{id}/templates`, `/api/v1/templates` and `/api/v1/template-reviews`:
//! publishing marketplace templates over HTTP — upload, submit, review, deprecate, history,
//! packages. The catalog is in [`super::catalog`]; the use cases in
//! [`crate::service::templates`].

use crate::app::AppState;
use crate::domain::templates::Decision;
use crate::http::problem::{ApiError, ApiResult};
use crate::http::views::templates::{
    History, HistoryEntry, ReviewQueue, TemplateList, Uploaded, VersionView, detail, uploaded,
    version_view,
};
use crate::service::access::Caller;
use crate::service::templates::Stored;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Reads the request body up to `max` bytes.
async fn read_body(mut payload: web::Payload, max: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > max {
            return Err(ApiError::PayloadTooLarge(format!(
                "the package is larger than the {max}-byte limit (CONSORTIA_TEMPLATE_MAX_BYTES)"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Uploads a template package (tar.gz of `consortia-template.yaml` and its artifacts) as a new
/// draft version; creates the template on its first upload. Partner tenants only (developers
/// and up). A draft or rejected version may be uploaded again; others are immutable.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/templates", operation_id = "uploadTemplate", tag = "marketplace",
    params(("tenant_id" = Uuid, Path, description = "Publishing tenant")),
    request_body(content = Vec<u8>, content_type = "application/gzip", description = "The package"),
    responses((status = 201, body = Uploaded), (status = 200, description = "A draft replaced", body = Uploaded),
        (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem),
        (status = 409, body = crate::http::problem::Problem), (status = 413, body = crate::http::problem::Problem),
        (status = 415, body = crate::http::problem::Problem), (status = 422, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn upload(
    state: web::Data<AppState>,
    who: Caller,
    req: HttpRequest,
    path: web::Path<Uuid>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let tenant = path.into_inner();
    state.templates.may_publish(&who, tenant).await?;
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ![
        "application/gzip",
        "application/x-gzip",
        "application/octet-stream",
    ]
    .iter()
    .any(|m| ct.starts_with(m))
    {
        return Err(ApiError::UnsupportedMediaType(
            "send the package (tar.gz) with `Content-Type: application/gzip`".into(),
        ));
    }
    let bytes = read_body(payload, state.templates.max_package_bytes()).await?;
    let Stored {
        template,
        version,
        replaced,
    } = state.templates.upload(&who, tenant, bytes).await?;
    let body = uploaded(state.runtime.kind(), &template, &version)?;
    Ok(if replaced {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::Created().json(body)
    })
}

/// A partner's templates with every version's status and install counts.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/templates", operation_id = "listOwnTemplates", tag = "marketplace",
    params(("tenant_id" = Uuid, Path, description = "Publishing tenant")),
    responses((status = 200, body = TemplateList), (status = 404, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn list_own(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let items = state
        .templates
        .own(&who, path.into_inner())
        .await?
        .iter()
        .map(|(t, versions)| detail(state.runtime.kind(), t, versions))
        .collect::<ApiResult<_>>()?;
    Ok(HttpResponse::Ok().json(TemplateList { items }))
}

/// Submits a draft (or rejected) version for review.
#[utoipa::path(post, path = "/api/v1/templates/{template_id}/versions/{version}/submit", operation_id = "submitTemplate", tag = "marketplace",
    params(("template_id" = Uuid, Path, description = "Template id"), ("version" = String, Path, description = "Version")),
    responses((status = 200, body = VersionView), (status = 404, body = crate::http::problem::Problem),
        (status = 409, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn submit(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, String)>,
) -> ApiResult<HttpResponse> {
    let (id, version) = path.into_inner();
    let v = state.templates.submit(&who, id, &version).await?;
    Ok(HttpResponse::Ok().json(version_view(&v)?))
}

/// A review decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Review {
    /// `approve` (publish) or `reject`.
    pub decision: Decision,
    /// Why (required to reject; shown to the partner).
    pub reason: Option<String>,
}

/// The platform reviewer approves (publishes) or rejects a version under review.
#[utoipa::path(post, path = "/api/v1/templates/{template_id}/versions/{version}/review", operation_id = "reviewTemplate", tag = "marketplace",
    params(("template_id" = Uuid, Path, description = "Template id"), ("version" = String, Path, description = "Version")),
    request_body = Review,
    responses((status = 200, body = VersionView), (status = 403, body = crate::http::problem::Problem),
        (status = 404, body = crate::http::problem::Problem), (status = 409, body = crate::http::problem::Problem),
        (status = 422, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn review(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, String)>,
    body: web::Json<Review>,
) -> ApiResult<HttpResponse> {
    let (id, version) = path.into_inner();
    let v = state
        .templates
        .review(&who, id, &version, body.decision, body.reason.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(version_view(&v)?))
}

/// Why a version is deprecated.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deprecation {
    /// Shown in the catalog.
    pub reason: Option<String>,
}

/// The publisher deprecates a published version (it stays visible, marked deprecated).
#[utoipa::path(post, path = "/api/v1/templates/{template_id}/versions/{version}/deprecate", operation_id = "deprecateTemplate", tag = "marketplace",
    params(("template_id" = Uuid, Path, description = "Template id"), ("version" = String, Path, description = "Version")),
    request_body = Deprecation,
    responses((status = 200, body = VersionView), (status = 403, body = crate::http::problem::Problem),
        (status = 404, body = crate::http::problem::Problem), (status = 409, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn deprecate(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, String)>,
    body: web::Json<Deprecation>,
) -> ApiResult<HttpResponse> {
    let (id, version) = path.into_inner();
    let v = state
        .templates
        .deprecate(&who, id, &version, body.reason.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(version_view(&v)?))
}

/// The publishing history (publisher's members and the platform reviewer).
#[utoipa::path(get, path = "/api/v1/templates/{template_id}/history", operation_id = "templateHistory", tag = "marketplace",
    params(("template_id" = Uuid, Path, description = "Template id")),
    responses((status = 200, body = History), (status = 404, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn history(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let items = state
        .templates
        .history(&who, path.into_inner())
        .await?
        .into_iter()
        .map(|e| HistoryEntry {
            version: e.version,
            action: e.action,
            actor_user_id: e.actor_user_id,
            detail: e.detail,
            at: e.created_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(History { items }))
}

/// The review queue (platform reviewer).
#[utoipa::path(get, path = "/api/v1/template-reviews", operation_id = "templateReviewQueue", tag = "marketplace",
    responses((status = 200, body = ReviewQueue), (status = 403, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn review_queue(state: web::Data<AppState>, who: Caller) -> ApiResult<HttpResponse> {
    let items = state
        .templates
        .review_queue(&who)
        .await?
        .iter()
        .map(|(t, v)| uploaded(state.runtime.kind(), t, v))
        .collect::<ApiResult<_>>()?;
    Ok(HttpResponse::Ok().json(ReviewQueue { items }))
}

/// Downloads a version's package: anyone signed in for published versions; the publisher's
/// members and the reviewer for the others.
#[utoipa::path(get, path = "/api/v1/templates/{template_id}/versions/{version}/package", operation_id = "getTemplatePackage", tag = "marketplace",
    params(("template_id" = Uuid, Path, description = "Template id"), ("version" = String, Path, description = "Version")),
    responses((status = 200, content_type = "application/gzip", body = Vec<u8>), (status = 404, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn package(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, String)>,
) -> ApiResult<HttpResponse> {
    let (id, version) = path.into_inner();
    let (t, v, bytes) = state.templates.package(&who, id, &version).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/gzip")
        .insert_header(crate::http::views::attachment(&format!(
            "{}-{}.tar.gz",
            t.slug, v.version
        )))
        .body(bytes))
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        POST "/api/v1/tenants/{tenant_id}/templates" => upload,
        GET "/api/v1/tenants/{tenant_id}/templates" => list_own,
        POST "/api/v1/templates/{template_id}/versions/{version}/submit" => submit,
        POST "/api/v1/templates/{template_id}/versions/{version}/review" => review,
        POST "/api/v1/templates/{template_id}/versions/{version}/deprecate" => deprecate,
        GET "/api/v1/templates/{template_id}/versions/{version}/package" => package,
        GET "/api/v1/templates/{template_id}/history" => history,
        GET "/api/v1/template-reviews" => review_queue,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    upload,
    list_own,
    submit,
    review,
    deprecate,
    package,
    history,
    review_queue
))]
pub struct Doc;
