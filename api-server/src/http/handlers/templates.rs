//! `/api/v1/tenants/{id}/templates`, `/api/v1/templates`, `/api/v1/template-reviews` and
//! `/api/v1/catalog`: the marketplace over HTTP. The use cases are in
//! [`crate::service::templates`]; this module reads requests and renders views.

use crate::app::AppState;
use crate::db::entities::{template, template_version};
use crate::domain::templates::{Decision, Manifest, VersionStatus, check_install_parameters};
use crate::http::problem::{ApiError, ApiResult};
use crate::service::access::Caller;
use crate::service::templates::{CatalogQuery as Filter, Stored};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A template as its publisher and the catalog see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    /// Template id.
    pub id: Uuid,
    /// The publisher's name for it; once a version is published, the catalog's (unique).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// One sentence.
    pub summary: String,
    /// Category.
    pub category: String,
    /// Engines supported.
    pub engines: Vec<String>,
    /// The publishing tenant.
    pub publisher_tenant_id: Uuid,
    /// Shipped with Consortia.
    pub builtin: bool,
    /// How many times it was installed.
    pub installs: i64,
    /// When a runtime this server lacks is needed (Fabric and GoQuorum need Kubernetes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last published or changed.
    pub updated_at: DateTime<Utc>,
}

fn requires(engines: &[String], runtime: &str) -> Option<String> {
    if runtime == "kubernetes" || engines.iter().any(|e| e == "native") {
        None
    } else {
        Some("the Kubernetes runtime (Fabric and GoQuorum chains run only on Kubernetes)".into())
    }
}

fn template_view(t: &template::Model, runtime: &str) -> TemplateView {
    let engines: Vec<String> = t.engines.split(',').map(String::from).collect();
    TemplateView {
        id: t.id,
        slug: t.slug.clone(),
        name: t.name.clone(),
        summary: t.summary.clone(),
        category: t.category.clone(),
        requires: requires(&engines, runtime),
        engines,
        publisher_tenant_id: t.publisher_tenant_id,
        builtin: t.builtin,
        installs: t.installs,
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

/// A version of a template.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    /// Semantic version.
    pub version: String,
    /// Where the version stands.
    pub status: VersionStatus,
    /// Why it was rejected or deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// SHA-256 of the package.
    pub package_sha256: String,
    /// Package size in bytes.
    pub package_bytes: usize,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
    /// Submitted for review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
    /// Reviewed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewed_at: Option<DateTime<Utc>>,
    /// The manifest (description, chain defaults, parameters schema, artifacts).
    pub manifest: Manifest,
}

fn version_view(v: &template_version::Model) -> Result<VersionView, ApiError> {
    Ok(VersionView {
        version: v.version.clone(),
        status: v.status,
        reason: v.reason.clone(),
        package_sha256: v.package_sha256.clone(),
        package_bytes: v.package_bytes as usize,
        created_at: v.created_at,
        submitted_at: v.submitted_at,
        reviewed_at: v.reviewed_at,
        manifest: serde_json::from_str(&v.manifest)
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    })
}

/// A template with its versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateDetail {
    /// The template.
    pub template: TemplateView,
    /// Its versions, newest first (the catalog shows published and deprecated ones only).
    pub versions: Vec<VersionView>,
}

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

/// An uploaded version.
#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    /// The template.
    pub template: TemplateView,
    /// The version (a draft until submitted and approved).
    pub version: VersionView,
}

fn uploaded(
    state: &AppState,
    t: &template::Model,
    v: &template_version::Model,
) -> ApiResult<Uploaded> {
    Ok(Uploaded {
        template: template_view(t, state.runtime.kind()),
        version: version_view(v)?,
    })
}

fn detail(
    state: &AppState,
    t: &template::Model,
    versions: &[template_version::Model],
) -> ApiResult<TemplateDetail> {
    Ok(TemplateDetail {
        template: template_view(t, state.runtime.kind()),
        versions: versions
            .iter()
            .map(version_view)
            .collect::<Result<_, _>>()?,
    })
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
    let body = uploaded(&state, &template, &version)?;
    Ok(if replaced {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::Created().json(body)
    })
}

/// Templates published by a tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    /// Each template with its versions.
    pub items: Vec<TemplateDetail>,
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
        .map(|(t, versions)| detail(&state, t, versions))
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

/// One step in a template's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// Version concerned.
    pub version: String,
    /// `uploaded`, `replaced`, `submitted`, `approved`, `rejected` or `deprecated`.
    pub action: String,
    /// Who did it (absent for built-ins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_user_id: Option<Uuid>,
    /// Reason given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A template's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    /// Oldest first.
    pub items: Vec<HistoryEntry>,
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

/// Versions waiting for review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewQueue {
    /// Oldest submission first.
    pub items: Vec<Uploaded>,
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
        .map(|(t, v)| uploaded(&state, t, v))
        .collect::<ApiResult<_>>()?;
    Ok(HttpResponse::Ok().json(ReviewQueue { items }))
}

/// Catalog search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CatalogQuery {
    /// Words to find in the name, summary, slug or publisher.
    pub q: Option<String>,
    /// Only templates supporting this engine.
    pub engine: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// `installs` (default) or `recent`.
    pub sort: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u64>,
    /// `next_cursor` from the previous page (same filters and sort).
    pub cursor: Option<String>,
}

/// A catalog entry: the template and its latest published version.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogEntry {
    /// The template.
    pub template: TemplateView,
    /// Latest published version.
    pub latest_version: String,
    /// Publisher's name as the manifest gives it.
    pub publisher: String,
}

/// The catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct Catalog {
    /// Matching templates, a page at a time.
    pub items: Vec<CatalogEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Lists and searches published templates (every signed-in caller).
#[utoipa::path(get, path = "/api/v1/catalog", operation_id = "listCatalog", tag = "marketplace", params(CatalogQuery),
    responses((status = 200, body = Catalog), (status = 400, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn catalog(
    state: web::Data<AppState>,
    _who: Caller,
    q: web::Query<CatalogQuery>,
) -> ApiResult<HttpResponse> {
    let page = crate::domain::pagination::PageRequest::parse(q.limit, q.cursor.as_deref())
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let filter = Filter {
        words: q.q.as_deref(),
        engine: q.engine.as_deref(),
        category: q.category.as_deref(),
        sort: q.sort.as_deref(),
    };
    let (entries, next_cursor) = state.templates.catalog(&filter, &page).await?;
    let items = entries
        .into_iter()
        .map(|e| CatalogEntry {
            template: template_view(&e.template, state.runtime.kind()),
            latest_version: e.latest_version,
            publisher: e.publisher,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Catalog { items, next_cursor }))
}

/// A template's catalog page in one call: the template, its published versions with their
/// manifests (description Markdown, chain defaults, parameters schema, artifacts).
#[utoipa::path(get, path = "/api/v1/catalog/{slug}", operation_id = "getCatalogTemplate", tag = "marketplace",
    params(("slug" = String, Path, description = "Template slug")),
    responses((status = 200, body = TemplateDetail), (status = 404, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn catalog_get(
    state: web::Data<AppState>,
    _who: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (t, versions) = state.templates.catalog_template(&path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(detail(&state, &t, &versions)?))
}

/// Parameters to check against a version's schema.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParametersCheck {
    /// Version (default: the latest published).
    pub version: Option<String>,
    /// The parameters (an object).
    #[schema(value_type = Object)]
    pub parameters: serde_json::Map<String, serde_json::Value>,
}

/// The parameters are acceptable.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParametersOk {
    /// Always true (failures are 422 with every error by JSON pointer).
    pub valid: bool,
    /// The version checked against.
    pub version: String,
}

/// Checks install parameters against a published version's schema; every error is reported
/// with its JSON pointer (422).
#[utoipa::path(post, path = "/api/v1/catalog/{slug}/parameters/check", operation_id = "checkTemplateParameters", tag = "marketplace",
    params(("slug" = String, Path, description = "Template slug")), request_body = ParametersCheck,
    responses((status = 200, body = ParametersOk), (status = 404, body = crate::http::problem::Problem),
        (status = 422, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn check_parameters(
    state: web::Data<AppState>,
    _who: Caller,
    path: web::Path<String>,
    body: web::Json<ParametersCheck>,
) -> ApiResult<HttpResponse> {
    let slug = path.into_inner();
    let (_, v, m): (_, _, Manifest) = state
        .templates
        .installable(&slug, body.version.as_deref())
        .await?;
    check_install_parameters(
        &m,
        &serde_json::Value::Object(body.parameters.clone()),
        "/parameters",
    )?;
    Ok(HttpResponse::Ok().json(ParametersOk {
        valid: true,
        version: v.version.clone(),
    }))
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

#[cfg(test)]
mod tests {
    use super::requires;

    #[test]
    fn only_a_local_runtime_lacks_what_fabric_and_quorum_need() {
        let quorum = vec!["quorum".to_string()];
        let both = vec!["native".to_string(), "fabric".to_string()];
        assert!(requires(&quorum, "local").is_some());
        assert_eq!(requires(&quorum, "kubernetes"), None);
        assert_eq!(
            requires(&both, "local"),
            None,
            "the native engine runs anywhere"
        );
    }
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
        GET "/api/v1/catalog" => catalog,
        GET "/api/v1/catalog/{slug}" => catalog_get,
        POST "/api/v1/catalog/{slug}/parameters/check" => check_parameters,
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
    review_queue,
    catalog,
    catalog_get,
    check_parameters
))]
pub struct Doc;
