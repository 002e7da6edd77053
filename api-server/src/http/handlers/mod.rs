//! Request handlers, one module per resource. Each reads: parse, authorize, act, answer.

pub mod alliances;
pub mod audit_events;
pub mod catalog;
pub mod chains;
pub mod deposits;
pub mod installations;
pub mod invitations;
pub mod live;
pub mod me;
pub mod members;
pub mod ops;
pub mod pki;
pub mod proposals;
pub mod sso;
pub mod templates;
pub mod tenants;
pub mod tokens;

use crate::http::problem::ApiError;

/// Turns a field check's message into a validation error at `pointer`.
pub fn check(pointer: &str, r: Result<(), String>) -> Result<(), ApiError> {
    r.map_err(|m| ApiError::field(pointer, m))
}

/// Splits a request body into its `tenant_id` and the rest, read as `T` (which refuses unknown
/// fields). Bodies that are "the acting tenant plus a reusable part" deserialize through this:
/// serde's `flatten` would silently drop unknown fields.
pub(crate) fn tenant_and<T: serde::de::DeserializeOwned>(
    mut body: serde_json::Map<String, serde_json::Value>,
) -> Result<(uuid::Uuid, T), String> {
    let tenant = body
        .remove("tenant_id")
        .ok_or_else(|| "missing field `tenant_id`".to_string())?;
    let tenant = serde_json::from_value(tenant).map_err(|e| format!("tenant_id: {e}"))?;
    let rest =
        serde_json::from_value(serde_json::Value::Object(body)).map_err(|e| e.to_string())?;
    Ok((tenant, rest))
}
