//! The audit note a request carries, and the outcome classes of audit events.

use actix_web::{HttpMessage, HttpRequest};
use uuid::Uuid;

/// What handlers and the authenticator learned about a request, for its audit event.
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    /// Authenticated user.
    pub actor_user_id: Option<Uuid>,
    /// Token used.
    pub actor_token_id: Option<Uuid>,
    /// Tenant acted in, set once the actor is known to belong to it.
    pub tenant_id: Option<Uuid>,
    /// Id of a resource the request created.
    pub created: Option<String>,
}

impl AuditNote {
    /// Applies `f` to the request's note, creating it when absent.
    pub fn update(req: &HttpRequest, f: impl FnOnce(&mut AuditNote)) {
        let mut ext = req.extensions_mut();
        if ext.get::<AuditNote>().is_none() {
            ext.insert(AuditNote::default());
        }
        if let Some(n) = ext.get_mut::<AuditNote>() {
            f(n);
        }
    }
}

/// Outcome class of a finished request.
pub fn outcome(status: u16) -> &'static str {
    match status {
        200..=399 => "success",
        401 | 403 | 404 => "denied",
        400..=499 => "invalid",
        _ => "failed",
    }
}

/// Whether a method changes state (and so is audited).
pub fn is_mutating(method: &actix_web::http::Method) -> bool {
    !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS")
}
