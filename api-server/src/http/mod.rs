//! The HTTP edge: routes, extractor settings, middleware, OpenAPI.

pub mod audit;
pub mod auth;
pub mod auth_cache;
pub mod handlers;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod problem;
pub mod views;

use crate::state::AppState;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use handlers::{
    alliances, audit_events, chains, deposits, installations, me, members, ops, pki, sso,
    templates, tenants, tokens,
};
use problem::ApiError;

/// Largest JSON body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Registers routes and remembers them, so a test can compare them with the OpenAPI document.
pub struct Routes<'a> {
    cfg: Option<&'a mut web::ServiceConfig>,
    /// (method, path template) of every registered route.
    pub seen: Vec<(Method, String)>,
}

impl<'a> Routes<'a> {
    /// Registers into an actix service config.
    pub fn new(cfg: &'a mut web::ServiceConfig) -> Self {
        Routes {
            cfg: Some(cfg),
            seen: Vec::new(),
        }
    }

    /// Only records (for tests).
    pub fn recording() -> Routes<'static> {
        Routes {
            cfg: None,
            seen: Vec::new(),
        }
    }

    fn add(&mut self, method: Method, path: &str, route: actix_web::Route) {
        self.seen.push((method, path.to_owned()));
        if let Some(cfg) = self.cfg.as_deref_mut() {
            cfg.route(path, route);
        }
    }
}

macro_rules! routes {
    ($r:ident; $($m:ident $path:literal => $h:path),* $(,)?) => {
        $( $r.add(Method::$m, $path, web::method(Method::$m).to($h)); )*
    };
}

/// Every route of the API.
pub fn register(r: &mut Routes<'_>) {
    routes!(r;
        GET "/healthz" => ops::healthz,
        GET "/readyz" => ops::readyz,
        GET "/metrics" => ops::metrics,
        GET "/api/v1/openapi.json" => ops::openapi_json,
        GET "/api/v1/me" => me::get_me,
        POST "/api/v1/tenants" => tenants::create,
        GET "/api/v1/tenants" => tenants::list,
        GET "/api/v1/tenants/{tenant_id}" => tenants::get,
        PATCH "/api/v1/tenants/{tenant_id}" => tenants::update,
        GET "/api/v1/tenants/{tenant_id}/members" => members::list,
        POST "/api/v1/tenants/{tenant_id}/members" => members::add,
        GET "/api/v1/tenants/{tenant_id}/members/{user_id}" => members::get,
        PATCH "/api/v1/tenants/{tenant_id}/members/{user_id}" => members::change_role,
        DELETE "/api/v1/tenants/{tenant_id}/members/{user_id}" => members::remove,
        POST "/api/v1/tokens" => tokens::create_own,
        GET "/api/v1/tokens" => tokens::list_own,
        DELETE "/api/v1/tokens/{token_id}" => tokens::revoke_own,
        GET "/api/v1/tenants/{tenant_id}/tokens" => tokens::list_tenant,
        POST "/api/v1/tenants/{tenant_id}/tokens" => tokens::create_tenant,
        DELETE "/api/v1/tenants/{tenant_id}/tokens/{token_id}" => tokens::revoke_tenant,
        GET "/api/v1/audit-events" => audit_events::list,
        POST "/api/v1/alliances" => alliances::create,
        GET "/api/v1/alliances" => alliances::list,
        GET "/api/v1/alliances/{alliance_id}" => alliances::get,
        POST "/api/v1/alliances/{alliance_id}/leave" => alliances::leave,
        GET "/api/v1/alliances/{alliance_id}/events" => alliances::events,
        POST "/api/v1/alliances/{alliance_id}/proposals" => alliances::propose,
        GET "/api/v1/alliances/{alliance_id}/proposals" => alliances::list_proposals,
        GET "/api/v1/alliances/{alliance_id}/proposals/{proposal_id}" => alliances::get_proposal,
        POST "/api/v1/alliances/{alliance_id}/proposals/{proposal_id}/votes" => alliances::vote,
        POST "/api/v1/alliances/{alliance_id}/chains" => chains::create,
        GET "/api/v1/alliances/{alliance_id}/chains" => chains::list,
        GET "/api/v1/alliances/{alliance_id}/chains/{chain_id}" => chains::get,
        GET "/api/v1/alliances/{alliance_id}/chains/{chain_id}/genesis" => chains::genesis,
        DELETE "/api/v1/alliances/{alliance_id}/chains/{chain_id}" => chains::delete,
        POST "/api/v1/alliances/{alliance_id}/chains/{chain_id}/installations" => installations::install,
        GET "/api/v1/alliances/{alliance_id}/chains/{chain_id}/installations" => installations::list,
        POST "/api/v1/deposits" => deposits::create,
        POST "/api/v1/deposits/batch" => deposits::create_batch,
        POST "/api/v1/deposits/verify" => deposits::verify,
        GET "/api/v1/deposits/{deposit_id}" => deposits::get,
        GET "/api/v1/invitations" => alliances::list_invitations,
        GET "/api/v1/invitations/{invitation_id}" => alliances::get_invitation,
        POST "/api/v1/invitations/{invitation_id}/accept" => alliances::accept_invitation,
        POST "/api/v1/invitations/{invitation_id}/reject" => alliances::reject_invitation,
        GET "/api/v1/alliances/{alliance_id}/cas" => pki::list_cas,
        GET "/api/v1/alliances/{alliance_id}/certificates" => pki::list_alliance_certificates,
        GET "/api/v1/cas/{ca_id}" => pki::get_ca,
        GET "/api/v1/cas/{ca_id}/crl" => pki::crl,
        POST "/api/v1/cas/{ca_id}/certificates" => pki::issue,
        GET "/api/v1/cas/{ca_id}/certificates" => pki::list_ca_certificates,
        GET "/api/v1/certificates/{certificate_id}" => pki::get_certificate,
        GET "/api/v1/certificates/{certificate_id}/msp" => pki::msp,
        POST "/api/v1/certificates/{certificate_id}/revoke" => pki::revoke,
        POST "/api/v1/certificates/{certificate_id}/renew" => pki::renew,
        GET "/auth/config" => sso::config,
        GET "/auth/login" => sso::login,
        GET "/auth/callback" => sso::callback,
        GET "/auth/session" => sso::current,
        POST "/auth/logout" => sso::logout,
        POST "/auth/token" => sso::token_login,
        GET "/api/v1/sessions" => sso::list_sessions,
        DELETE "/api/v1/sessions/{session_id}" => sso::revoke_session,
        POST "/api/v1/tenants/{tenant_id}/invites" => sso::create_invite,
        GET "/api/v1/tenants/{tenant_id}/invites" => sso::list_invites,
        DELETE "/api/v1/tenants/{tenant_id}/invites/{invite_id}" => sso::revoke_invite,
        POST "/api/v1/tenants/{tenant_id}/templates" => templates::upload,
        GET "/api/v1/tenants/{tenant_id}/templates" => templates::list_own,
        POST "/api/v1/templates/{template_id}/versions/{version}/submit" => templates::submit,
        POST "/api/v1/templates/{template_id}/versions/{version}/review" => templates::review,
        POST "/api/v1/templates/{template_id}/versions/{version}/deprecate" => templates::deprecate,
        GET "/api/v1/templates/{template_id}/versions/{version}/package" => templates::package,
        GET "/api/v1/templates/{template_id}/history" => templates::history,
        GET "/api/v1/template-reviews" => templates::review_queue,
        GET "/api/v1/catalog" => templates::catalog,
        GET "/api/v1/catalog/{slug}" => templates::catalog_get,
        POST "/api/v1/catalog/{slug}/parameters/check" => templates::check_parameters,
    );
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::PayloadTooLarge(
            format!("the request body is larger than the {limit}-byte limit"),
        ),
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
            "send the body as JSON with `Content-Type: application/json`".into(),
        ),
        JsonPayloadError::Deserialize(d) => {
            ApiError::BadRequest(format!("the JSON body is not acceptable: {d}"))
        }
        other => ApiError::BadRequest(format!("the request body could not be read: {other}")),
    };
    e.into()
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!(
        "a path segment is not valid (ids are UUIDs): {err}"
    ))
    .into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!("the query string is not valid: {err}")).into()
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

/// Everything an actix `App` needs: state, extractor settings, routes, docs.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(state))
            .app_data(
                web::JsonConfig::default()
                    .limit(BODY_LIMIT)
                    .error_handler(json_error),
            )
            .app_data(web::PathConfig::default().error_handler(path_error))
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .app_data(web::PayloadConfig::default().limit(BODY_LIMIT));
        register(&mut Routes::new(cfg));
        cfg.service(
            utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                .config(utoipa_swagger_ui::Config::new(["/api/v1/openapi.json"])),
        );
        cfg.route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header(("Location", "/docs/"))
                    .finish()
            }),
        );
        cfg.default_service(web::to(not_found));
    }
}
