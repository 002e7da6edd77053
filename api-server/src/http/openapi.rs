//! The OpenAPI document: each handler module documents its own operations; this module
//! merges them and adds, once for every operation, the error responses that follow from its
//! shape (credentials, body, path and query parameters), all as `application/problem+json`.

use crate::http::handlers::{
    alliances, audit_events, catalog, chains, deposits, installations, invitations, live, me,
    members, ops, pki, proposals, sso, templates, tenants, tokens,
};
use crate::http::problem::{PROBLEM_JSON, problem_response};
use actix_web::HttpResponse;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Required};
use utoipa::{Modify, OpenApi};

/// Adds the bearer-token security scheme.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A Consortia API token (`cst_...`), or a JWT access token from the configured identity provider"))
                    .build(),
            ),
        );
    }
}

/// The document's frame: title, tags, security scheme.
#[derive(OpenApi)]
#[openapi(
    info(title = "Consortia API", description = "Multi-tenant Blockchain-as-a-Service control plane. Errors are RFC 9457 `application/problem+json`."),
    components(schemas(crate::http::problem::Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "me", description = "The caller"),
        (name = "tenants", description = "Customer and partner organisations"),
        (name = "members", description = "Users in a tenant and their roles"),
        (name = "tokens", description = "API tokens"),
        (name = "audit", description = "Audit log"),
        (name = "pki", description = "Certificate authorities and certificates of alliances"),
        (name = "alliances", description = "Alliances (consortia), their governance votes and invitations"),
        (name = "chains", description = "Chains of alliances and their nodes, run by the server's runtime"),
        (name = "deposits", description = "Evidence deposits: content hashes recorded on chains, with offline-verifiable receipts"),
        (name = "live", description = "Server-sent events: what changes, as it changes"),
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "marketplace", description = "Solution templates: publishing, review and the catalog"),
        (name = "auth", description = "Sign-in (OIDC single sign-on and local login) and browser sessions"),
    )
)]
struct Frame;

/// This OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", operation_id = "openapiDocument",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> HttpResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| document().to_json().unwrap_or_default());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.as_str())
}

/// The document's own route.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        GET "/api/v1/openapi.json" => openapi_json,
    );
}

/// The document's own operation.
#[derive(OpenApi)]
#[openapi(paths(openapi_json))]
struct Own;

/// The whole API document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Frame::openapi();
    for part in [
        ops::Doc::openapi(),
        Own::openapi(),
        me::Doc::openapi(),
        tenants::Doc::openapi(),
        members::Doc::openapi(),
        tokens::Doc::openapi(),
        audit_events::Doc::openapi(),
        alliances::Doc::openapi(),
        proposals::Doc::openapi(),
        invitations::Doc::openapi(),
        chains::Doc::openapi(),
        installations::Doc::openapi(),
        deposits::Doc::openapi(),
        live::Doc::openapi(),
        pki::Doc::openapi(),
        sso::Doc::openapi(),
        templates::Doc::openapi(),
        catalog::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        // The operations endpoints touch nothing that can fail that way.
        let api = path.starts_with("/api/") || path.starts_with("/auth/");
        for (op, changes) in [
            (&mut item.get, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, true),
            (&mut item.patch, true),
        ] {
            if let Some(op) = op {
                complete(op, api, changes);
            }
        }
    }
    doc
}

/// The error responses an operation's shape implies, and a description for every response.
fn complete(op: &mut Operation, api: bool, changes: bool) {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |kind: ParameterIn| {
        params
            .iter()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == kind))
    };
    let (path_params, query_params) = (has(ParameterIn::Path), has(ParameterIn::Query));
    let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let json_body = op.request_body.as_ref().is_some_and(|b| {
        matches!(b, RefOr::T(b) if b.content.contains_key("application/json")
            && !matches!(b.required, Some(Required::False)))
    });
    let mut implied: Vec<(&str, &str)> = Vec::new();
    if api {
        implied.push((
            "500",
            "An unexpected error; quote the request id when reporting it",
        ));
        implied.push((
            "503",
            "A dependency (the database) is not reachable; try again shortly",
        ));
    }
    if authenticated {
        implied.push((
            "401",
            "No valid credentials: send a live API token or sign in",
        ));
        if changes {
            implied.push((
                "403",
                "Signed in with a browser session but without the session's `X-CSRF-Token` header",
            ));
        }
    }
    if path_params {
        implied.push(("400", "A path segment is not valid (ids are UUIDs)"));
        implied.push((
            "404",
            "No such resource for this caller (also another tenant's)",
        ));
    }
    if query_params {
        implied.push(("400", "The query string is not valid"));
    }
    if json_body {
        implied.push((
            "400",
            "The body is not valid JSON or has unknown or wrongly typed fields",
        ));
        implied.push(("413", "The body is larger than the limit"));
        implied.push(("415", "The body is not sent as `application/json`"));
        implied.push((
            "422",
            "A field is not acceptable; `errors` points at each one",
        ));
    }
    for (status, description) in implied {
        match op.responses.responses.get_mut(status) {
            None => {
                op.responses
                    .responses
                    .insert(status.to_string(), RefOr::T(problem_response(description)));
            }
            // A route's own 403 (its roles) also covers the CSRF refusal.
            Some(RefOr::T(r)) if status == "403" => {
                r.description = format!(
                    "{}; or, signed in with a browser session, the `X-CSRF-Token` header is missing",
                    r.description
                );
            }
            Some(_) => {}
        }
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(r) = response else { continue };
        // Problem bodies are served as problem+json; say so.
        if let Some(content) = r.content.shift_remove("application/json") {
            let is_problem = matches!(&content, RefOr::T(c)
                if matches!(&c.schema, Some(RefOr::Ref(s)) if s.ref_location.ends_with("/Problem")));
            let key = if is_problem {
                PROBLEM_JSON
            } else {
                "application/json"
            };
            r.content.insert(key.to_string(), content);
        }
        if r.description.is_empty() {
            r.description = reason(status).to_string();
        }
    }
}

/// The standard reason phrase of a status, as a response's fallback description.
fn reason(status: &str) -> &'static str {
    status
        .parse::<u16>()
        .ok()
        .and_then(|s| actix_web::http::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Response")
}

/// The document as committed in `api-server/openapi.json`.
pub fn pretty_json() -> String {
    let mut s = document().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
