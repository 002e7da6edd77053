//! `/api/v1/alliances/{id}/cas`, `/api/v1/cas` and `/api/v1/certificates`: the alliance PKI
//! over HTTP. The use cases are in [`crate::service::pki`]; this module reads requests and
//! renders views.

use crate::app::AppState;
use crate::db::entities::certificate;
use crate::domain::pki::{IssueCertificate, RenewCertificate, RevokeCertificate};
use crate::http::problem::{ApiError, ApiResult, Problem};
use crate::http::views::pki::{
    CaView, CertificateView, IssuedView, ca_view, cert_view, issued_view,
};
use crate::http::views::{Page, page, page_request};
use crate::service::access::Caller;
use crate::service::pki::CertQuery as Filter;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

/// An identity's Fabric MSP directory as tar.gz: CA certificates, its certificate, NodeOUs
/// `config.yaml`; `keystore/` is left for the holder's key (members).
#[utoipa::path(get, path = "/api/v1/certificates/{certificate_id}/msp", operation_id = "getMspBundle", tag = "pki",
    params(("certificate_id" = Uuid, Path, description = "Certificate id")),
    responses((status = 200, description = "tar.gz of msp/"), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn msp(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (c, tgz) = state.pki.msp(&who, path.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/gzip")
        .insert_header(crate::http::views::attachment(&format!(
            "{}-msp.tar.gz",
            c.common_name
        )))
        .body(tgz))
}

/// Lists an alliance's certificate authorities (members).
#[utoipa::path(get, path = "/api/v1/alliances/{alliance_id}/cas", operation_id = "listCas", tag = "pki",
    params(("alliance_id" = Uuid, Path, description = "Alliance id")),
    responses((status = 200, body = Vec<CaView>), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_cas(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cas = state.pki.cas(&who, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(cas.into_iter().map(ca_view).collect::<Vec<_>>()))
}

/// One certificate authority with its chain (members).
#[utoipa::path(get, path = "/api/v1/cas/{ca_id}", operation_id = "getCa", tag = "pki",
    params(("ca_id" = Uuid, Path, description = "CA id")),
    responses((status = 200, body = CaView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_ca(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ca_view(state.pki.ca(&who, path.into_inner()).await?)))
}

/// `format` of a CRL.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CrlQuery {
    /// `pem` (default) or `der`.
    pub format: Option<String>,
}

/// The CA's current CRL (public), valid for a day. It is signed again, with a greater CRL
/// number, when the CA's revocations change or an hour after it was signed; requests in
/// between get the same CRL.
#[utoipa::path(get, path = "/api/v1/cas/{ca_id}/crl", operation_id = "getCrl", tag = "pki",
    params(("ca_id" = Uuid, Path, description = "CA id"), CrlQuery),
    responses((status = 200, description = "The CRL (PEM, or DER with format=der)"), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn crl(
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    q: web::Query<CrlQuery>,
) -> ApiResult<HttpResponse> {
    let der = match q.format.as_deref() {
        None | Some("pem") => false,
        Some("der") => true,
        Some(_) => return Err(ApiError::BadRequest("format is pem or der".into())),
    };
    let signed = state.pki.crl(path.into_inner()).await?;
    Ok(if der {
        HttpResponse::Ok()
            .content_type("application/pkix-crl")
            .body(signed.der)
    } else {
        HttpResponse::Ok()
            .content_type("application/x-pem-file")
            .body(signed.pem)
    })
}

/// Issues a certificate under a CA (admins of the tenant that controls it): from a CSR, or
/// with a key generated here and returned once.
#[utoipa::path(post, path = "/api/v1/cas/{ca_id}/certificates", operation_id = "issueCertificate", tag = "pki", request_body = IssueCertificate,
    params(("ca_id" = Uuid, Path, description = "CA id")),
    responses((status = 201, body = IssuedView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn issue(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    body: web::Json<IssueCertificate>,
) -> ApiResult<HttpResponse> {
    let issued = state.pki.issue(&who, path.into_inner(), &body).await?;
    Ok(HttpResponse::Created().json(issued_view(issued)))
}

/// Filters of certificate lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CertQuery {
    /// `valid` or `revoked`.
    pub status: Option<String>,
    /// Only certificates that expire within this many days (1–3650).
    pub expiring_within_days: Option<u32>,
    pub profile: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

impl CertQuery {
    fn filter(&self) -> Filter<'_> {
        Filter {
            status: self.status.as_deref(),
            expiring_within_days: self.expiring_within_days,
            profile: self.profile.as_deref(),
        }
    }

    fn page(&self) -> ApiResult<crate::domain::pagination::PageRequest> {
        page_request(self.limit, self.cursor.as_deref())
    }
}

fn cert_page(
    rows: Vec<certificate::Model>,
    req: &crate::domain::pagination::PageRequest,
) -> Page<CertificateView> {
    page(rows, req, |c| c.id.to_string(), cert_view)
}

/// Certificates issued by a CA, filtered (members).
#[utoipa::path(get, path = "/api/v1/cas/{ca_id}/certificates", operation_id = "listCaCertificates", tag = "pki",
    params(("ca_id" = Uuid, Path, description = "CA id"), CertQuery),
    responses((status = 200, body = crate::http::views::Page<CertificateView>), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_ca_certificates(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    q: web::Query<CertQuery>,
) -> ApiResult<HttpResponse> {
    let req = q.page()?;
    let rows = state
        .pki
        .ca_certificates(&who, path.into_inner(), &q.filter(), &req)
        .await?;
    Ok(HttpResponse::Ok().json(cert_page(rows, &req)))
}

/// Every certificate of an alliance, filtered — e.g. those expiring within N days (members).
#[utoipa::path(get, path = "/api/v1/alliances/{alliance_id}/certificates", operation_id = "listAllianceCertificates", tag = "pki",
    params(("alliance_id" = Uuid, Path, description = "Alliance id"), CertQuery),
    responses((status = 200, body = crate::http::views::Page<CertificateView>), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_alliance_certificates(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    q: web::Query<CertQuery>,
) -> ApiResult<HttpResponse> {
    let req = q.page()?;
    let rows = state
        .pki
        .alliance_certificates(&who, path.into_inner(), &q.filter(), &req)
        .await?;
    Ok(HttpResponse::Ok().json(cert_page(rows, &req)))
}

/// One certificate (members).
#[utoipa::path(get, path = "/api/v1/certificates/{certificate_id}", operation_id = "getCertificate", tag = "pki",
    params(("certificate_id" = Uuid, Path, description = "Certificate id")),
    responses((status = 200, body = CertificateView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_certificate(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let c = state.pki.certificate(&who, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(cert_view(c)))
}

/// Revokes a certificate with an RFC 5280 reason (admins of the issuing CA's tenant). It
/// appears on the CA's next CRL.
#[utoipa::path(post, path = "/api/v1/certificates/{certificate_id}/revoke", operation_id = "revokeCertificate", tag = "pki", request_body = RevokeCertificate,
    params(("certificate_id" = Uuid, Path, description = "Certificate id")),
    responses((status = 200, body = CertificateView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    body: web::Json<RevokeCertificate>,
) -> ApiResult<HttpResponse> {
    let c = state
        .pki
        .revoke(&who, path.into_inner(), body.reason)
        .await?;
    Ok(HttpResponse::Ok().json(cert_view(c)))
}

/// Re-issues a certificate (admins of the issuing CA's tenant): with the same key (default),
/// or a new one from a CSR or generated here. The old certificate stays valid until it
/// expires or is revoked, so a renewal never breaks a running network.
#[utoipa::path(post, path = "/api/v1/certificates/{certificate_id}/renew", operation_id = "renewCertificate", tag = "pki", request_body = RenewCertificate,
    params(("certificate_id" = Uuid, Path, description = "Certificate id")),
    responses((status = 201, body = IssuedView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn renew(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    body: web::Json<RenewCertificate>,
) -> ApiResult<HttpResponse> {
    let issued = state.pki.renew(&who, path.into_inner(), &body).await?;
    Ok(HttpResponse::Created().json(issued_view(issued)))
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        GET "/api/v1/alliances/{alliance_id}/cas" => list_cas,
        GET "/api/v1/alliances/{alliance_id}/certificates" => list_alliance_certificates,
        GET "/api/v1/cas/{ca_id}" => get_ca,
        GET "/api/v1/cas/{ca_id}/crl" => crl,
        POST "/api/v1/cas/{ca_id}/certificates" => issue,
        GET "/api/v1/cas/{ca_id}/certificates" => list_ca_certificates,
        GET "/api/v1/certificates/{certificate_id}" => get_certificate,
        GET "/api/v1/certificates/{certificate_id}/msp" => msp,
        POST "/api/v1/certificates/{certificate_id}/revoke" => revoke,
        POST "/api/v1/certificates/{certificate_id}/renew" => renew,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_cas,
    list_alliance_certificates,
    get_ca,
    crl,
    issue,
    list_ca_certificates,
    get_certificate,
    msp,
    revoke,
    renew
))]
pub struct Doc;
