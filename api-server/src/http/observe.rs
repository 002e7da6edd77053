//! One middleware for every request: request id, tracing span, metrics and audit.

use crate::app::AppState;
use crate::domain::audit::{Trail, outcome};
use crate::http::audit;
use crate::http::problem::REQUEST_ID;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use std::time::Instant;
use tracing::Instrument;

/// Header carrying the request id in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Accepts a caller's id when it is short and plain; otherwise makes one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|s| {
            !s.is_empty()
                && s.len() <= 128
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// The middleware function (use with `actix_web::middleware::from_fn`).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().clone();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let trail = Trail::default();
    req.extensions_mut().insert(trail.clone());
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %req.path(), route = tracing::field::Empty, status = tracing::field::Empty);
    let mut res = REQUEST_ID
        .scope(id.clone(), next.call(req))
        .instrument(span.clone())
        .await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let status = res.status().as_u16();
    span.record("route", route.as_str());
    span.record("status", status);
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    if let Some(state) = state {
        state.metrics.observe(
            &route,
            method.as_str(),
            status,
            started.elapsed().as_secs_f64(),
        );
        if (audit::is_mutating(&method)
            && (route.starts_with("/api/") || route.starts_with("/auth/")))
            || route == "/auth/callback"
        {
            let note = trail.snapshot();
            let path = res.request().path().to_owned();
            let target = match note.created {
                Some(c) => format!("{path}/{c}"),
                None => path,
            };
            let event = crate::service::audit::NewEvent {
                request_id: id,
                actor_user_id: note.actor_user_id,
                actor_token_id: note.actor_token_id,
                tenant_id: note.tenant_id,
                action: format!("{method} {route}"),
                target: Some(target.chars().take(256).collect()),
                outcome: outcome(status),
                status,
            };
            match state.audit.record(event).instrument(span.clone()).await {
                Ok(true) => {}
                Ok(false) => {
                    state.metrics.anonymous_audit_dropped.inc();
                }
                Err(e) => {
                    tracing::error!(parent: &span, error = %e, "could not record audit event")
                }
            }
        }
    }
    span.in_scope(|| tracing::info!(elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "served"));
    Ok(res)
}
