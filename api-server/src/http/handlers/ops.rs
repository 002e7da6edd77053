//! Health, readiness, metrics and the OpenAPI document.

use crate::app::AppState;
use crate::db;
use actix_web::{HttpResponse, web};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "healthz",
    responses((status = 200, description = "Alive", content_type = "text/plain", body = String)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "readyz",
    responses((status = 200, description = "Ready", content_type = "text/plain", body = String),
        (status = 503, description = "The database is not reachable", content_type = "text/plain", body = String)))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if db::ping(&state.db).await {
        HttpResponse::Ok().content_type("text/plain").body("ready")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database not reachable")
    }
}

/// Prometheus metrics in the text exposition format, served by the metrics listener only
/// (`http::configure_metrics`), not by the API's.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.encode())
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", operation_id = "openapiDocument",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> HttpResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| {
        crate::http::openapi::document()
            .to_json()
            .unwrap_or_default()
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.as_str())
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        GET "/healthz" => healthz,
        GET "/readyz" => readyz,
        GET "/api/v1/openapi.json" => openapi_json,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, readyz, openapi_json))]
pub struct Doc;
