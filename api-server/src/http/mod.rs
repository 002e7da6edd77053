//! The HTTP edge: routes, extractor settings, middleware, OpenAPI.

pub mod audit;
pub mod auth;
pub mod console;
pub mod handlers;
pub mod observe;
pub mod openapi;
pub mod problem;
pub mod views;

use crate::app::AppState;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use handlers::{
    alliances, audit_events, catalog, chains, deposits, installations, invitations, live, me,
    members, ops, pki, proposals, sso, templates, tenants, tokens,
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

    /// Registers one route.
    pub fn add(&mut self, method: Method, path: &str, route: actix_web::Route) {
        self.seen.push((method, path.to_owned()));
        if let Some(cfg) = self.cfg.as_deref_mut() {
            cfg.route(path, route);
        }
    }
}

/// Registers `METHOD "path" => handler` lines on a [`Routes`].
macro_rules! routes {
    ($r:ident; $($m:ident $path:literal => $h:path),* $(,)?) => {
        $( $r.add(
            actix_web::http::Method::$m,
            $path,
            actix_web::web::method(actix_web::http::Method::$m).to($h),
        ); )*
    };
}
pub(crate) use routes;

/// Every route of the API.
pub fn register(r: &mut Routes<'_>) {
    ops::routes(r);
    openapi::routes(r);
    me::routes(r);
    tenants::routes(r);
    members::routes(r);
    tokens::routes(r);
    audit_events::routes(r);
    alliances::routes(r);
    proposals::routes(r);
    invitations::routes(r);
    chains::routes(r);
    installations::routes(r);
    deposits::routes(r);
    live::routes(r);
    pki::routes(r);
    sso::routes(r);
    templates::routes(r);
    catalog::routes(r);
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

/// What no route takes: the web console when it is served (its files, and its client
/// routes), else a 404 problem.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(resp) = req
        .app_data::<web::Data<console::Console>>()
        .and_then(|c| c.respond(&req))
    {
        return Ok(resp);
    }
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

/// The metrics listener's app: `GET /metrics` and nothing else. It runs on its own address
/// (`--metrics-listen`) so the public listener, and the Ingress in front of it, never serve
/// the metrics (they carry every tenant's series).
pub fn configure_metrics(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(state))
            .route("/metrics", web::get().to(handlers::ops::metrics));
    }
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
