//! `…/chains/{chain_id}/installations`: marketplace templates installed on chains, over
//! HTTP. The use cases are in [`crate::service::installations`].

use crate::app::AppState;
use crate::http::problem::{ApiResult, Problem};
use crate::service::access::Caller;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::domain::templates::TemplateChoice;

/// Body of `POST …/chains/{chain_id}/installations`: the acting tenant and the template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(try_from = "Map<String, Value>")]
pub struct InstallTemplate {
    /// The member tenant installing (a developer of it or more).
    pub tenant_id: Uuid,
    #[serde(flatten)]
    pub template: TemplateChoice,
}

impl TryFrom<Map<String, Value>> for InstallTemplate {
    type Error = String;

    fn try_from(m: Map<String, Value>) -> Result<Self, String> {
        let (tenant_id, template) = super::tenant_and(m)?;
        Ok(InstallTemplate {
            tenant_id,
            template,
        })
    }
}

pub use crate::http::views::chains::{InstallationView, installation_view, installation_views};

/// Installs a template onto a running chain of the alliance.
#[utoipa::path(post, path = "/api/v1/alliances/{alliance_id}/chains/{chain_id}/installations", operation_id = "installTemplate", tag = "chains",
    params(("alliance_id" = Uuid, Path), ("chain_id" = Uuid, Path)), request_body = InstallTemplate,
    responses((status = 201, body = InstallationView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn install(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<InstallTemplate>,
) -> ApiResult<HttpResponse> {
    let (alliance_id, chain_id) = path.into_inner();
    let (row, slug) = state
        .installations
        .install(&who, alliance_id, chain_id, body.tenant_id, &body.template)
        .await?;
    Ok(HttpResponse::Created().json(installation_view(row, &slug)))
}

/// Templates installed on a chain.
#[utoipa::path(get, path = "/api/v1/alliances/{alliance_id}/chains/{chain_id}/installations", operation_id = "listInstallations", tag = "chains",
    params(("alliance_id" = Uuid, Path), ("chain_id" = Uuid, Path)),
    responses((status = 200, body = Vec<InstallationView>), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (alliance_id, chain_id) = path.into_inner();
    let rows = state
        .installations
        .list(&who, alliance_id, chain_id)
        .await?;
    Ok(HttpResponse::Ok().json(installation_views(rows)))
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        POST "/api/v1/alliances/{alliance_id}/chains/{chain_id}/installations" => install,
        GET "/api/v1/alliances/{alliance_id}/chains/{chain_id}/installations" => list,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(install, list))]
pub struct Doc;
