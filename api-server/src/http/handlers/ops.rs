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
        (status = 503, description = "The database is not reachable", body = crate::http::problem::Problem)))]
pub async fn readyz(state: web::Data<AppState>) -> crate::http::problem::ApiResult<HttpResponse> {
    if db::ping(&state.db).await {
        Ok(HttpResponse::Ok().content_type("text/plain").body("ready"))
    } else {
        Err(crate::http::problem::ApiError::Unavailable(
            "the database is not reachable".into(),
        ))
    }
}

/// Prometheus metrics in the text exposition format, served by the metrics listener only
/// (`http::configure_metrics`), not by the API's.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.encode())
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        GET "/healthz" => healthz,
        GET "/readyz" => readyz,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, readyz))]
pub struct Doc;
