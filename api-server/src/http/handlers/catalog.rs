//! `/api/v1/catalog`: published templates for everyone signed in — search, a template's page
//! and install-parameter checks. The use cases are in [`crate::service::templates`].

use crate::app::AppState;
use crate::domain::templates::{Manifest, check_install_parameters};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::views::templates::{
    Catalog, CatalogEntry, ParametersOk, TemplateDetail, detail, template_view,
};
use crate::service::access::Caller;
use crate::service::templates::CatalogQuery as Filter;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

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
    Ok(HttpResponse::Ok().json(detail(state.runtime.kind(), &t, &versions)?))
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

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        GET "/api/v1/catalog" => catalog,
        GET "/api/v1/catalog/{slug}" => catalog_get,
        POST "/api/v1/catalog/{slug}/parameters/check" => check_parameters,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(catalog, catalog_get, check_parameters))]
pub struct Doc;
