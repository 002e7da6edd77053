//! Certificate authorities and certificates of an alliance.
//!
//! Members see the alliance's CAs and certificates; only admins of the tenant that controls a
//! CA (the founder for the root, the member for its organisation and TLS CAs) issue, renew and
//! revoke under it. CRLs are public, as relying parties fetch them without credentials.
//! Private keys are never returned, except a key generated at issuance, once.

use crate::app::AppState;
use crate::db::entities::{alliance_member, ca, certificate};
use crate::domain::roles::Action;
use crate::http::problem::{ApiError, ApiResult, Problem};
use crate::service::access::Caller;
use crate::service::crls::{CRL_VALID_HOURS, SignedCrl};
use crate::store::alliances as adb;
use crate::store::pki::{self, PkiStoreError};
use actix_web::{HttpResponse, web};
use base64::Engine;
use chrono::{DateTime, Utc};
use consortia_pki::{KeyAlg, LeafRequest, PkiError, Profile, Reason, Revoked, Subject};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

impl From<PkiStoreError> for ApiError {
    fn from(e: PkiStoreError) -> Self {
        match e {
            PkiStoreError::Db(d) => d.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

fn pki_refusal(e: PkiError) -> ApiError {
    match e {
        PkiError::MalformedCsr | PkiError::BadCsrSignature | PkiError::CaRequested(_) => {
            ApiError::field("/csr", e.to_string())
        }
        PkiError::BadSan(_) => ApiError::field("/sans", e.to_string()),
        PkiError::OutlivesIssuer { .. } | PkiError::BadValidity => {
            ApiError::field("/validity_days", e.to_string())
        }
        PkiError::BadCommonName => ApiError::field("/common_name", e.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// Certificate profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProfileName {
    Node,
    TlsServer,
    TlsClient,
    Admin,
    Client,
    Orderer,
    Peer,
}

impl ProfileName {
    fn pki(self) -> Profile {
        match self {
            ProfileName::Node => Profile::Node,
            ProfileName::TlsServer => Profile::TlsServer,
            ProfileName::TlsClient => Profile::TlsClient,
            ProfileName::Admin => Profile::Admin,
            ProfileName::Client => Profile::Client,
            ProfileName::Orderer => Profile::Orderer,
            ProfileName::Peer => Profile::Peer,
        }
    }

    fn parse(s: &str) -> Option<ProfileName> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

/// Algorithm of a key generated at issuance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum KeyAlgName {
    #[default]
    EcdsaP256,
    EcdsaP384,
    Ed25519,
}

impl KeyAlgName {
    fn pki(self) -> KeyAlg {
        match self {
            KeyAlgName::EcdsaP256 => KeyAlg::EcdsaP256,
            KeyAlgName::EcdsaP384 => KeyAlg::EcdsaP384,
            KeyAlgName::Ed25519 => KeyAlg::Ed25519,
        }
    }
}

/// RFC 5280 revocation reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonName {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    PrivilegeWithdrawn,
    AaCompromise,
}

impl ReasonName {
    fn pki(self) -> Reason {
        match self {
            ReasonName::Unspecified => Reason::Unspecified,
            ReasonName::KeyCompromise => Reason::KeyCompromise,
            ReasonName::CaCompromise => Reason::CaCompromise,
            ReasonName::AffiliationChanged => Reason::AffiliationChanged,
            ReasonName::Superseded => Reason::Superseded,
            ReasonName::CessationOfOperation => Reason::CessationOfOperation,
            ReasonName::CertificateHold => Reason::CertificateHold,
            ReasonName::PrivilegeWithdrawn => Reason::PrivilegeWithdrawn,
            ReasonName::AaCompromise => Reason::AaCompromise,
        }
    }

    fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    fn parse(s: &str) -> Option<ReasonName> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

/// Body of `POST /api/v1/cas/{ca_id}/certificates`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCertificate {
    pub profile: ProfileName,
    /// Subject common name; taken from the CSR when omitted there.
    #[serde(default)]
    pub common_name: Option<String>,
    /// DNS names and IP addresses.
    #[serde(default)]
    pub sans: Vec<String>,
    /// 1 day up to the issuer's remaining lifetime.
    pub validity_days: u32,
    /// A PKCS#10 request (PEM). Without it the server generates the key and returns it once.
    #[serde(default)]
    pub csr: Option<String>,
    /// Algorithm of a generated key.
    #[serde(default)]
    pub key_alg: KeyAlgName,
    /// Keep the generated key (sealed) so the server can renew the identity itself.
    #[serde(default)]
    pub managed: bool,
    /// Also return a Fabric MSP bundle (tar.gz, base64) with the generated key in `keystore/`.
    #[serde(default)]
    pub msp_bundle: bool,
}

/// Body of `POST /api/v1/certificates/{certificate_id}/revoke`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeCertificate {
    pub reason: ReasonName,
}

/// Body of `POST /api/v1/certificates/{certificate_id}/renew`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewCertificate {
    /// A new key: from `csr`, or generated here (returned once). False keeps the public key.
    #[serde(default)]
    pub rekey: bool,
    #[serde(default)]
    pub csr: Option<String>,
    /// Default: the old certificate's validity length.
    #[serde(default)]
    pub validity_days: Option<u32>,
}

/// A certificate authority.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaView {
    pub id: Uuid,
    pub alliance_id: Uuid,
    /// The tenant that controls it.
    pub tenant_id: Uuid,
    /// `root`, `org` or `tls`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub alg: String,
    pub not_after: DateTime<Utc>,
    pub cert_pem: String,
    /// This CA and its issuers up to the root, PEM, leaf-most first.
    pub chain_pem: String,
    /// Where its CRL is published (relative to the API).
    pub crl_url: String,
}

/// A certificate.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    pub id: Uuid,
    pub ca_id: Uuid,
    pub alliance_id: Uuid,
    pub tenant_id: Uuid,
    pub serial: String,
    pub profile: String,
    pub common_name: String,
    pub sans: Vec<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// `valid` or `revoked`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The server keeps this identity's key (sealed) and renews it.
    pub managed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewed_from: Option<Uuid>,
    pub cert_pem: String,
}

/// A newly issued certificate, with its generated key (only here, only once).
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedView {
    pub certificate: CertificateView,
    /// PKCS#8 PEM of a key generated by the server. Not retrievable later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key_pem: Option<String>,
    /// The issuing CA's chain, PEM.
    pub chain_pem: String,
    /// Fabric MSP directory as tar.gz, base64 (when asked for), with the generated key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msp_bundle_base64: Option<String>,
}

fn cert_labels(c: &certificate::Model) -> crate::metrics::CertLabels {
    crate::metrics::CertLabels {
        alliance_id: c.alliance_id.to_string(),
        tenant_id: c.tenant_id.to_string(),
        ca_id: c.ca_id.to_string(),
        certificate_id: c.id.to_string(),
        serial: c.serial.clone(),
    }
}

/// Puts a valid certificate's expiry on the gauge (or takes a revoked one off).
pub fn track(state: &AppState, c: &certificate::Model) {
    let g = &state.metrics.certificate_expiry;
    if c.status == "valid" {
        g.get_or_create(&cert_labels(c))
            .set(c.not_after.timestamp());
    } else {
        g.remove(&cert_labels(c));
    }
}

/// Fills the expiry gauge from the database (at start-up).
pub async fn load_gauges(state: &AppState) -> Result<usize, ApiError> {
    let rows = certificate::Entity::find()
        .filter(certificate::Column::Status.eq("valid"))
        .all(&state.db)
        .await?;
    for c in &rows {
        track(state, c);
    }
    Ok(rows.len())
}

/// Renews every server-managed certificate (its key is sealed here) that expires within
/// `window_days` and has not been renewed yet, with the same key. Each renewal is audited
/// as a system action. Returns how many were renewed.
pub async fn renew_due(state: &AppState, window_days: u32) -> Result<usize, ApiError> {
    let now = state.clock.now();
    let due = certificate::Entity::find()
        .filter(certificate::Column::Status.eq("valid"))
        .filter(certificate::Column::SealedKey.is_not_null())
        .filter(
            certificate::Column::NotAfter.lte(now + chrono::Duration::days(i64::from(window_days))),
        )
        .all(&state.db)
        .await?;
    let mut renewed = 0;
    for old in due {
        // Renew when less than the window or a third of the lifetime is left, whichever is
        // shorter: a short-lived certificate is not renewed again straight away.
        let lifetime = old.not_after - old.not_before;
        let before = chrono::Duration::days(i64::from(window_days)).min(lifetime / 3);
        if old.not_after - now > before {
            continue;
        }
        let successor = certificate::Entity::find()
            .filter(certificate::Column::RenewedFrom.eq(old.id))
            .one(&state.db)
            .await?;
        if successor.is_some() {
            continue;
        }
        let Some(c) = pki::ca(&state.db, old.ca_id).await? else {
            continue;
        };
        let profile = ProfileName::parse(&old.profile)
            .ok_or_else(|| ApiError::Internal("stored profile unknown".into()))?;
        let days = ((old.not_after - old.not_before).num_days().max(1)) as u32;
        let sans: Vec<String> = serde_json::from_str(&old.sans).unwrap_or_default();
        let req = LeafRequest {
            profile: profile.pki(),
            subject: Subject {
                common_name: old.common_name.clone(),
                organization: None,
                organizational_unit: None,
            },
            sans: sans.clone(),
            validity_days: days,
            crl_url: Some(crl_url(state, c.id)),
            not_before: time::OffsetDateTime::from_unix_timestamp(state.clock.now().timestamp())
                .ok(),
        };
        let blob = base64::engine::general_purpose::STANDARD
            .decode(old.sealed_key.as_deref().unwrap_or_default())
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let key_pem = state
            .kek
            .open(&blob, &pki::cert_aad(old.id))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let key = consortia_pki::rcgen::KeyPair::from_pem(&String::from_utf8_lossy(&key_pem))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let signer = pki::load(&state.kek, &c)?;
        let issued = match signer.issue_for_key(&req, &key) {
            Ok(i) => i,
            Err(PkiError::OutlivesIssuer { .. }) => {
                // The CA itself ends sooner: renew up to its end.
                let left = (c.not_after - now).num_days().max(1) as u32;
                signer
                    .issue_for_key(
                        &LeafRequest {
                            validity_days: left,
                            ..req
                        },
                        &key,
                    )
                    .map_err(|e| ApiError::Internal(e.to_string()))?
            }
            Err(e) => return Err(ApiError::Internal(e.to_string())),
        };
        let id = Uuid::now_v7();
        let row = insert_cert(
            state,
            NewCert {
                ca: &c,
                issued,
                profile,
                common_name: old.common_name.clone(),
                sans,
                sealed_key: Some((id, state.kek.seal(&key_pem, &pki::cert_aad(id)))),
                renewed_from: Some(old.id),
                by: old.created_by,
            },
        )
        .await?;
        track(state, &row);
        crate::store::audit::record(
            &state.db,
            crate::store::audit::NewEvent {
                request_id: format!("renewal-job-{}", Uuid::now_v7()),
                actor_user_id: None,
                actor_token_id: None,
                tenant_id: Some(row.tenant_id),
                action: "SYSTEM pki.renew".into(),
                target: Some(format!("/api/v1/certificates/{} -> {}", old.id, row.id)),
                outcome: "success",
                status: 201,
            },
        )
        .await?;
        tracing::info!(old = %old.id, new = %row.id, not_after = %row.not_after, "renewed a managed certificate");
        renewed += 1;
    }
    Ok(renewed)
}

fn cert_view(c: certificate::Model) -> CertificateView {
    CertificateView {
        sans: serde_json::from_str(&c.sans).unwrap_or_default(),
        managed: c.sealed_key.is_some(),
        id: c.id,
        ca_id: c.ca_id,
        alliance_id: c.alliance_id,
        tenant_id: c.tenant_id,
        serial: c.serial,
        profile: c.profile,
        common_name: c.common_name,
        not_before: c.not_before,
        not_after: c.not_after,
        status: c.status,
        revoked_at: c.revoked_at,
        reason: c.reason,
        renewed_from: c.renewed_from,
        cert_pem: c.cert_pem,
    }
}

async fn ca_view(state: &AppState, c: ca::Model) -> Result<CaView, ApiError> {
    let chain = pki::chain(&state.db, &c).await?;
    Ok(CaView {
        chain_pem: chain
            .iter()
            .map(|c| c.cert_pem.as_str())
            .collect::<Vec<_>>()
            .join(""),
        crl_url: crl_url(state, c.id),
        id: c.id,
        alliance_id: c.alliance_id,
        tenant_id: c.tenant_id,
        kind: c.kind,
        parent_id: c.parent_id,
        name: c.name,
        alg: c.alg,
        not_after: c.not_after,
        cert_pem: c.cert_pem,
    })
}

/// Where a CA's CRL is published: absolute, so relying parties can fetch it.
fn crl_url(state: &AppState, ca: Uuid) -> String {
    format!(
        "{}/api/v1/cas/{ca}/crl",
        state.public_url.trim_end_matches('/')
    )
}

/// Whether the caller sees alliance `id` (a user of a member tenant, or the platform admin).
async fn sees_alliance(state: &AppState, who: &Caller, id: Uuid) -> Result<bool, ApiError> {
    if who.is_platform_admin() {
        return Ok(true);
    }
    let members: Vec<alliance_member::Model> = adb::members(&state.db, id).await?;
    let mine = adb::user_tenants(&state.db, who.user.id).await?;
    Ok(members.iter().any(|m| {
        mine.iter().any(|x| x.tenant_id == m.tenant_id)
            && who.token_tenant.is_none_or(|t| t == m.tenant_id)
    }))
}

async fn authorize_ca_view(
    state: &AppState,
    who: &Caller,
    id: Uuid,
) -> Result<ca::Model, ApiError> {
    let nf = || ApiError::NotFound(format!("certificate authority {id} not found"));
    let c = pki::ca(&state.db, id).await?.ok_or_else(nf)?;
    if !sees_alliance(state, who, c.alliance_id).await? {
        return Err(nf());
    }
    Ok(c)
}

/// The CA, if the caller is an admin of the tenant that controls it (403 for other members).
async fn controlled_ca(state: &AppState, who: &Caller, id: Uuid) -> Result<ca::Model, ApiError> {
    let c = authorize_ca_view(state, who, id).await?;
    match state
        .access
        .role_in(who, c.tenant_id, Action::ManageMembers)
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => Ok(c),
        Err(ApiError::NotFound(_)) => Err(ApiError::Forbidden(format!(
            "only admins of the tenant that controls certificate authority {id} act on it"
        ))),
        Err(e) => Err(e),
    }
}

/// The MSP bundle of a certificate issued by `issuer`, with `key_pem` when the caller holds it.
async fn msp_for(
    state: &AppState,
    issuer: &ca::Model,
    tenant: Uuid,
    cert_pem: &str,
    key_pem: Option<&str>,
) -> Result<Vec<u8>, ApiError> {
    let chain = pki::chain(&state.db, issuer).await?;
    let root = chain
        .last()
        .ok_or_else(|| ApiError::Internal("empty chain".into()))?;
    let tls = ca::Entity::find()
        .filter(ca::Column::AllianceId.eq(issuer.alliance_id))
        .filter(ca::Column::TenantId.eq(tenant))
        .filter(ca::Column::Kind.eq("tls"))
        .one(&state.db)
        .await?;
    consortia_pki::msp::bundle(&consortia_pki::msp::MspInputs {
        root_pem: &root.cert_pem,
        org_ca_pem: &issuer.cert_pem,
        sign_cert_pem: cert_pem,
        key_pem,
        tls_ca_pem: tls
            .as_ref()
            .map_or(root.cert_pem.as_str(), |t| t.cert_pem.as_str()),
    })
    .map_err(|e| ApiError::Internal(e.to_string()))
}

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
    let c = authorize_cert_view(&state, &who, path.into_inner()).await?;
    let issuer = pki::ca(&state.db, c.ca_id)
        .await?
        .ok_or_else(|| ApiError::Internal("issuer missing".into()))?;
    let tgz = msp_for(&state, &issuer, c.tenant_id, &c.cert_pem, None).await?;
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
    let id = path.into_inner();
    if adb::get(&state.db, id).await?.is_none() || !sees_alliance(&state, &who, id).await? {
        return Err(ApiError::NotFound(format!("alliance {id} not found")));
    }
    let mut out = Vec::new();
    for c in pki::cas_of(&state.db, id).await? {
        out.push(ca_view(&state, c).await?);
    }
    Ok(HttpResponse::Ok().json(out))
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
    let c = authorize_ca_view(&state, &who, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ca_view(&state, c).await?))
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
    let id = path.into_inner();
    let der = match q.format.as_deref() {
        None | Some("pem") => false,
        Some("der") => true,
        Some(_) => return Err(ApiError::BadRequest("format is pem or der".into())),
    };
    let c = pki::ca(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("certificate authority {id} not found")))?;
    let count = pki::revoked_count(&state.db, id).await? as usize;
    let now = state.clock.now();
    let signed = match state.crls.current(id, count, now) {
        Some(signed) => signed,
        None => {
            let revoked = pki::revoked(&state.db, id).await?;
            let list: Vec<Revoked> = revoked
                .iter()
                .filter_map(|r| {
                    Some(Revoked {
                        serial: hex::decode(&r.serial).ok()?,
                        time: time::OffsetDateTime::from_unix_timestamp(r.revoked_at?.timestamp())
                            .ok()?,
                        reason: r
                            .reason
                            .as_deref()
                            .and_then(ReasonName::parse)
                            .unwrap_or(ReasonName::Unspecified)
                            .pki(),
                    })
                })
                .collect();
            let signer = pki::load(&state.kek, &c)?;
            let number = pki::next_crl_number(&state.db, id).await?;
            let this_update = time::OffsetDateTime::from_unix_timestamp(now.timestamp())
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let crl = signer
                .crl_at(&list, number, this_update, CRL_VALID_HOURS)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let signed = SignedCrl {
                revoked: revoked.len(),
                number,
                signed_at: now,
                der: crl.der,
                pem: crl.pem,
            };
            state.crls.keep(id, signed.clone());
            signed
        }
    };
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

struct NewCert<'a> {
    ca: &'a ca::Model,
    issued: consortia_pki::Issued,
    profile: ProfileName,
    common_name: String,
    sans: Vec<String>,
    sealed_key: Option<(Uuid, Vec<u8>)>,
    renewed_from: Option<Uuid>,
    by: Uuid,
}

fn to_chrono(t: time::OffsetDateTime) -> Result<DateTime<Utc>, ApiError> {
    DateTime::<Utc>::from_timestamp(t.unix_timestamp(), 0)
        .ok_or_else(|| ApiError::Internal("time out of range".into()))
}

async fn insert_cert(state: &AppState, n: NewCert<'_>) -> Result<certificate::Model, ApiError> {
    let id = n
        .sealed_key
        .as_ref()
        .map_or_else(Uuid::now_v7, |(id, _)| *id);
    let m = certificate::ActiveModel {
        id: Set(id),
        ca_id: Set(n.ca.id),
        alliance_id: Set(n.ca.alliance_id),
        tenant_id: Set(n.ca.tenant_id),
        serial: Set(n.issued.serial.clone()),
        profile: Set(serde_json::to_value(n.profile)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()),
        common_name: Set(n.common_name.chars().take(64).collect()),
        sans: Set(serde_json::to_string(&n.sans).unwrap_or_else(|_| "[]".into())),
        cert_pem: Set(n.issued.pem.clone()),
        not_before: Set(to_chrono(n.issued.not_before)?),
        not_after: Set(to_chrono(n.issued.not_after)?),
        status: Set("valid".into()),
        revoked_at: Set(None),
        reason: Set(None),
        sealed_key: Set(n
            .sealed_key
            .map(|(_, k)| base64::engine::general_purpose::STANDARD.encode(k))),
        renewed_from: Set(n.renewed_from),
        created_by: Set(n.by),
        created_at: Set(state.clock.now()),
    };
    Ok(m.insert(&state.db).await?)
}

fn check_issue_fields(common_name: Option<&str>, sans: &[String]) -> Result<(), ApiError> {
    if common_name.is_some_and(|c| c.is_empty() || c.chars().count() > 64) {
        return Err(ApiError::field(
            "/common_name",
            "common_name must be 1-64 characters",
        ));
    }
    if sans.len() > 50 {
        return Err(ApiError::field(
            "/sans",
            "at most 50 subject alternative names",
        ));
    }
    Ok(())
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
    let c = controlled_ca(&state, &who, path.into_inner()).await?;
    check_issue_fields(body.common_name.as_deref(), &body.sans)?;
    if body.csr.is_some() && body.managed {
        return Err(ApiError::field(
            "/managed",
            "a managed identity's key is generated here; leave out csr",
        ));
    }
    if body.csr.is_none() && body.common_name.is_none() {
        return Err(ApiError::field(
            "/common_name",
            "common_name is required without a CSR",
        ));
    }
    let signer = pki::load(&state.kek, &c)?;
    let req = LeafRequest {
        profile: body.profile.pki(),
        subject: Subject {
            common_name: body.common_name.clone().unwrap_or_default(),
            organization: None,
            organizational_unit: None,
        },
        sans: body.sans.clone(),
        validity_days: body.validity_days,
        crl_url: Some(crl_url(&state, c.id)),
        not_before: time::OffsetDateTime::from_unix_timestamp(state.clock.now().timestamp()).ok(),
    };
    let issued = match &body.csr {
        Some(csr) => signer.issue_csr(csr, &req),
        None => signer.issue_generated(&req, body.key_alg.pki()),
    }
    .map_err(pki_refusal)?;
    let (_, x) = x509_parser::parse_x509_certificate(&issued.der)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let cn = x
        .subject()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let key_pem = issued.key_pem.clone();
    let id = Uuid::now_v7();
    let sealed = match (&key_pem, body.managed) {
        (Some(k), true) => Some((id, state.kek.seal(k.as_bytes(), &pki::cert_aad(id)))),
        _ => None,
    };
    let row = insert_cert(
        &state,
        NewCert {
            ca: &c,
            issued,
            profile: body.profile,
            common_name: cn,
            sans: body.sans.clone(),
            sealed_key: sealed,
            renewed_from: None,
            by: who.user.id,
        },
    )
    .await?;
    who.created(row.id);
    track(&state, &row);
    let chain = pki::chain(&state.db, &c).await?;
    let msp_bundle_base64 = if body.msp_bundle {
        let tgz = msp_for(&state, &c, c.tenant_id, &row.cert_pem, key_pem.as_deref()).await?;
        Some(base64::engine::general_purpose::STANDARD.encode(tgz))
    } else {
        None
    };
    Ok(HttpResponse::Created().json(IssuedView {
        certificate: cert_view(row),
        private_key_pem: key_pem,
        chain_pem: chain
            .iter()
            .map(|c| c.cert_pem.as_str())
            .collect::<Vec<_>>()
            .join(""),
        msp_bundle_base64,
    }))
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

async fn list_certs(
    state: &AppState,
    alliance: Uuid,
    ca: Option<Uuid>,
    q: &CertQuery,
) -> Result<crate::http::views::Page<CertificateView>, ApiError> {
    let page_req = crate::http::views::PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .page()?;
    let mut f = certificate::Entity::find().filter(certificate::Column::AllianceId.eq(alliance));
    if let Some(ca) = ca {
        f = f.filter(certificate::Column::CaId.eq(ca));
    }
    if let Some(s) = q.status.as_deref() {
        if !["valid", "revoked"].contains(&s) {
            return Err(ApiError::BadRequest("status is valid or revoked".into()));
        }
        f = f.filter(certificate::Column::Status.eq(s));
    }
    if let Some(p) = q.profile.as_deref() {
        if ProfileName::parse(p).is_none() {
            return Err(ApiError::BadRequest("unknown profile".into()));
        }
        f = f.filter(certificate::Column::Profile.eq(p));
    }
    if let Some(d) = q.expiring_within_days {
        if !(1..=3650).contains(&d) {
            return Err(ApiError::BadRequest(
                "expiring_within_days is 1-3650".into(),
            ));
        }
        f = f.filter(
            certificate::Column::NotAfter
                .lte(state.clock.now() + chrono::Duration::days(i64::from(d))),
        );
    }
    if let Some(after) = page_req
        .after
        .as_deref()
        .and_then(|a| Uuid::try_parse(a).ok())
    {
        f = f.filter(certificate::Column::Id.gt(after));
    }
    let rows = f
        .order_by_asc(certificate::Column::Id)
        .limit(page_req.fetch())
        .all(&state.db)
        .await?;
    Ok(crate::http::views::page(
        rows,
        &page_req,
        |c| c.id.to_string(),
        cert_view,
    ))
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
    let c = authorize_ca_view(&state, &who, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(list_certs(&state, c.alliance_id, Some(c.id), &q).await?))
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
    let id = path.into_inner();
    if adb::get(&state.db, id).await?.is_none() || !sees_alliance(&state, &who, id).await? {
        return Err(ApiError::NotFound(format!("alliance {id} not found")));
    }
    Ok(HttpResponse::Ok().json(list_certs(&state, id, None, &q).await?))
}

async fn authorize_cert_view(
    state: &AppState,
    who: &Caller,
    id: Uuid,
) -> Result<certificate::Model, ApiError> {
    let nf = || ApiError::NotFound(format!("certificate {id} not found"));
    let c = pki::certificate(&state.db, id).await?.ok_or_else(nf)?;
    if !sees_alliance(state, who, c.alliance_id).await? {
        return Err(nf());
    }
    Ok(c)
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
    let c = authorize_cert_view(&state, &who, path.into_inner()).await?;
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
    let cert = authorize_cert_view(&state, &who, path.into_inner()).await?;
    let c = controlled_ca(&state, &who, cert.ca_id).await?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let r = certificate::Entity::update_many()
        .col_expr(
            certificate::Column::Status,
            sea_orm::sea_query::Expr::value("revoked"),
        )
        .col_expr(
            certificate::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .col_expr(
            certificate::Column::Reason,
            sea_orm::sea_query::Expr::value(body.reason.as_str()),
        )
        .filter(certificate::Column::Id.eq(cert.id))
        .filter(certificate::Column::Status.eq("valid"))
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(ApiError::Conflict(format!(
            "certificate {} is already revoked",
            cert.id
        )));
    }
    ca::Entity::update_many()
        .col_expr(
            ca::Column::CrlNumber,
            sea_orm::sea_query::ExprTrait::add(
                sea_orm::sea_query::Expr::col(ca::Column::CrlNumber),
                1,
            ),
        )
        .filter(ca::Column::Id.eq(c.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    let cert = pki::certificate(&state.db, cert.id)
        .await?
        .ok_or_else(|| ApiError::Internal("certificate vanished".into()))?;
    track(&state, &cert);
    Ok(HttpResponse::Ok().json(cert_view(cert)))
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
    let old = authorize_cert_view(&state, &who, path.into_inner()).await?;
    let c = controlled_ca(&state, &who, old.ca_id).await?;
    if old.status != "valid" {
        return Err(ApiError::Conflict(format!(
            "certificate {} is revoked; issue a new one",
            old.id
        )));
    }
    if body.csr.is_some() && !body.rekey {
        return Err(ApiError::field("/csr", "a CSR brings a new key: set rekey"));
    }
    let profile = ProfileName::parse(&old.profile)
        .ok_or_else(|| ApiError::Internal("stored profile unknown".into()))?;
    let days = body
        .validity_days
        .unwrap_or_else(|| ((old.not_after - old.not_before).num_days().max(1)) as u32);
    let sans: Vec<String> = serde_json::from_str(&old.sans).unwrap_or_default();
    let req = LeafRequest {
        profile: profile.pki(),
        subject: Subject {
            common_name: old.common_name.clone(),
            organization: None,
            organizational_unit: None,
        },
        sans: sans.clone(),
        validity_days: days,
        crl_url: Some(crl_url(&state, c.id)),
        not_before: time::OffsetDateTime::from_unix_timestamp(state.clock.now().timestamp()).ok(),
    };
    let signer = pki::load(&state.kek, &c)?;
    let old_der = pki::pem_to_der(&old.cert_pem)?;
    let issued = if !body.rekey {
        let (_, x) = x509_parser::parse_x509_certificate(&old_der)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let spki = rcgen_spki(x.public_key().raw)?;
        signer.issue_for_key(&req, &spki)
    } else if let Some(csr) = &body.csr {
        signer.issue_csr(csr, &req)
    } else {
        signer.issue_generated(&req, KeyAlg::EcdsaP256)
    }
    .map_err(pki_refusal)?;
    let key_pem = issued.key_pem.clone();
    let id = Uuid::now_v7();
    let sealed = match (&key_pem, old.sealed_key.is_some()) {
        (Some(k), true) => Some((id, state.kek.seal(k.as_bytes(), &pki::cert_aad(id)))),
        (None, true) => {
            // Same key: carry the sealed key over to the new record.
            let blob = base64::engine::general_purpose::STANDARD
                .decode(old.sealed_key.as_deref().unwrap_or_default())
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let plain = state
                .kek
                .open(&blob, &pki::cert_aad(old.id))
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            Some((id, state.kek.seal(&plain, &pki::cert_aad(id))))
        }
        _ => None,
    };
    let row = insert_cert(
        &state,
        NewCert {
            ca: &c,
            issued,
            profile,
            common_name: old.common_name.clone(),
            sans,
            sealed_key: sealed,
            renewed_from: Some(old.id),
            by: who.user.id,
        },
    )
    .await?;
    who.created(row.id);
    track(&state, &row);
    let chain = pki::chain(&state.db, &c).await?;
    Ok(HttpResponse::Created().json(IssuedView {
        certificate: cert_view(row),
        private_key_pem: key_pem,
        chain_pem: chain
            .iter()
            .map(|c| c.cert_pem.as_str())
            .collect::<Vec<_>>()
            .join(""),
        msp_bundle_base64: None,
    }))
}

fn rcgen_spki(der: &[u8]) -> Result<impl consortia_pki::rcgen::PublicKeyData, ApiError> {
    consortia_pki::rcgen::SubjectPublicKeyInfo::from_der(der)
        .map_err(|e| ApiError::Internal(e.to_string()))
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
