//! Certificate authorities and certificates of an alliance.
//!
//! Members see the alliance's CAs and certificates; only admins of the tenant that controls a
//! CA (the founder for the root, the member for its organisation and TLS CAs) issue, renew and
//! revoke under it. CRLs are public, as relying parties fetch them without credentials.
//! Private keys are never returned, except a key generated at issuance, once. Keys the server
//! keeps (managed identities) are sealed under the KEK and renewed by [`Pki::renew_due`].

use crate::clock::Clock;
use crate::db::entities::{ca, certificate};
use crate::domain::error::{Error, Result};
use crate::domain::pagination::PageRequest;
use crate::domain::pki::CertStatus;
use crate::domain::pki::{IssueCertificate, ProfileName, ReasonName, RenewCertificate, refusal};
use crate::domain::roles::Action;
use crate::metrics::{CertLabels, Metrics};
use crate::service::access::{Access, Caller};
use crate::service::crls::{CRL_VALID_HOURS, CrlCache, SignedCrl};
use crate::store;
use crate::store::pki::{self, CertFilter};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use consortia_pki::seal::Kek;
use consortia_pki::{KeyAlg, LeafRequest, PkiError, Revoked, Subject};
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

/// A CA with what relying parties need beside it.
pub struct CaInfo {
    /// The CA.
    pub ca: ca::Model,
    /// It and its issuers up to the root, PEM, leaf-most first.
    pub chain_pem: String,
    /// Where its CRL is published.
    pub crl_url: String,
}

/// A newly issued certificate with what is shown only now.
pub struct Issued {
    /// The stored certificate.
    pub certificate: certificate::Model,
    /// A key generated here (PKCS#8 PEM): this once, never again.
    pub private_key_pem: Option<String>,
    /// The issuing CA's chain, PEM.
    pub chain_pem: String,
    /// A Fabric MSP directory (tar.gz) with the generated key, when asked for.
    pub msp_bundle: Option<Vec<u8>>,
}

/// Which certificates a list shows, as asked.
#[derive(Debug, Default)]
pub struct CertQuery<'a> {
    /// `valid` or `revoked`.
    pub status: Option<&'a str>,
    /// Only those expiring within this many days (1–3650).
    pub expiring_within_days: Option<u32>,
    /// Only this profile.
    pub profile: Option<&'a str>,
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

fn to_chrono(t: time::OffsetDateTime) -> Result<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(t.unix_timestamp(), 0)
        .ok_or_else(|| Error::Internal("time out of range".into()))
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

fn chain_pem(chain: &[ca::Model]) -> String {
    chain
        .iter()
        .map(|c| c.cert_pem.as_str())
        .collect::<Vec<_>>()
        .join("")
}

fn labels(c: &certificate::Model) -> CertLabels {
    CertLabels {
        alliance_id: c.alliance_id.to_string(),
        tenant_id: c.tenant_id.to_string(),
        ca_id: c.ca_id.to_string(),
        certificate_id: c.id.to_string(),
        serial: c.serial.clone(),
    }
}

/// The PKI use cases.
#[derive(Clone)]
pub struct Pki {
    db: DatabaseConnection,
    access: Access,
    kek: Arc<Kek>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    crls: Arc<CrlCache>,
    public_url: String,
}

impl Pki {
    /// Over `db`, authorizing through `access`; CA keys are sealed under `kek`; expiries go
    /// on `metrics`, signed CRLs in `crls`, and CRL links point at `public_url`.
    pub fn new(
        db: DatabaseConnection,
        access: Access,
        kek: Arc<Kek>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        crls: Arc<CrlCache>,
        public_url: String,
    ) -> Pki {
        Pki {
            db,
            access,
            kek,
            clock,
            metrics,
            crls,
            public_url,
        }
    }

    /// Where a CA's CRL is published: absolute, so relying parties can fetch it.
    fn crl_url(&self, ca: Uuid) -> String {
        format!(
            "{}/api/v1/cas/{ca}/crl",
            self.public_url.trim_end_matches('/')
        )
    }

    fn now_time(&self) -> Option<time::OffsetDateTime> {
        time::OffsetDateTime::from_unix_timestamp(self.clock.now().timestamp()).ok()
    }

    /// Puts a valid certificate's expiry on the gauge (or takes a revoked one off).
    fn track(&self, c: &certificate::Model) {
        let g = &self.metrics.certificate_expiry;
        if c.status == CertStatus::Valid {
            g.get_or_create(&labels(c)).set(c.not_after.timestamp());
        } else {
            g.remove(&labels(c));
        }
    }

    /// Fills the expiry gauge from the database (at start-up); how many certificates.
    pub async fn load_gauges(&self) -> Result<usize> {
        let rows = pki::valid_certificates(&self.db).await?;
        for c in &rows {
            self.track(c);
        }
        Ok(rows.len())
    }

    /// Whether the caller sees alliance `id` (a user of a member tenant, as its credential
    /// acts, or the platform admin).
    async fn sees_alliance(&self, who: &Caller, id: Uuid) -> Result<bool> {
        if who.is_platform_admin() {
            return Ok(true);
        }
        let members = store::alliances::members(&self.db, id).await?;
        let mine = store::alliances::user_tenants(&self.db, who.user.id).await?;
        Ok(members.iter().any(|m| {
            mine.iter().any(|x| x.tenant_id == m.tenant_id)
                && who.token_tenant.is_none_or(|t| t == m.tenant_id)
        }))
    }

    async fn authorize_alliance(&self, who: &Caller, id: Uuid) -> Result<()> {
        if store::alliances::get(&self.db, id).await?.is_none()
            || !self.sees_alliance(who, id).await?
        {
            return Err(Error::NotFound(format!("alliance {id} not found")));
        }
        Ok(())
    }

    async fn authorize_ca_view(&self, who: &Caller, id: Uuid) -> Result<ca::Model> {
        let nf = || Error::NotFound(format!("certificate authority {id} not found"));
        let c = pki::ca(&self.db, id).await?.ok_or_else(nf)?;
        if !self.sees_alliance(who, c.alliance_id).await? {
            return Err(nf());
        }
        Ok(c)
    }

    async fn authorize_cert_view(&self, who: &Caller, id: Uuid) -> Result<certificate::Model> {
        let nf = || Error::NotFound(format!("certificate {id} not found"));
        let c = pki::certificate(&self.db, id).await?.ok_or_else(nf)?;
        if !self.sees_alliance(who, c.alliance_id).await? {
            return Err(nf());
        }
        Ok(c)
    }

    /// The CA, if the caller is an admin of the tenant that controls it (403 for other
    /// members).
    async fn controlled_ca(&self, who: &Caller, id: Uuid) -> Result<ca::Model> {
        let c = self.authorize_ca_view(who, id).await?;
        match self
            .access
            .role_in(who, c.tenant_id, Action::ManageMembers)
            .await
        {
            Ok(_) => Ok(c),
            Err(Error::NotFound(_)) => Err(Error::Forbidden(format!(
                "only admins of the tenant that controls certificate authority {id} act on it"
            ))),
            Err(e) => Err(e),
        }
    }

    async fn info(&self, c: ca::Model) -> Result<CaInfo> {
        let chain = pki::chain(&self.db, &c).await?;
        Ok(CaInfo {
            chain_pem: chain_pem(&chain),
            crl_url: self.crl_url(c.id),
            ca: c,
        })
    }

    /// An alliance's certificate authorities (members).
    pub async fn cas(&self, who: &Caller, alliance: Uuid) -> Result<Vec<CaInfo>> {
        self.authorize_alliance(who, alliance).await?;
        let mut out = Vec::new();
        for c in pki::cas_of(&self.db, alliance).await? {
            out.push(self.info(c).await?);
        }
        Ok(out)
    }

    /// One certificate authority with its chain (members).
    pub async fn ca(&self, who: &Caller, id: Uuid) -> Result<CaInfo> {
        let c = self.authorize_ca_view(who, id).await?;
        self.info(c).await
    }

    /// The CA's current CRL (public), valid for a day: signed again, with a greater CRL
    /// number, when its revocations change or an hour after it was signed.
    pub async fn crl(&self, id: Uuid) -> Result<SignedCrl> {
        let c = pki::ca(&self.db, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("certificate authority {id} not found")))?;
        let count = pki::revoked_count(&self.db, id).await? as usize;
        let now = self.clock.now();
        if let Some(signed) = self.crls.current(id, count, now) {
            return Ok(signed);
        }
        let revoked = pki::revoked(&self.db, id).await?;
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
        let signer = pki::load(&self.kek, &c)?;
        let number = pki::next_crl_number(&self.db, id).await?;
        let this_update =
            time::OffsetDateTime::from_unix_timestamp(now.timestamp()).map_err(internal)?;
        let crl = signer
            .crl_at(&list, number, this_update, CRL_VALID_HOURS)
            .map_err(internal)?;
        let signed = SignedCrl {
            revoked: revoked.len(),
            number,
            signed_at: now,
            der: crl.der,
            pem: crl.pem,
        };
        self.crls.keep(id, signed.clone());
        Ok(signed)
    }

    async fn insert(&self, n: NewCert<'_>) -> Result<certificate::Model> {
        let id = n
            .sealed_key
            .as_ref()
            .map_or_else(Uuid::now_v7, |(id, _)| *id);
        let row = certificate::Model {
            id,
            ca_id: n.ca.id,
            alliance_id: n.ca.alliance_id,
            tenant_id: n.ca.tenant_id,
            serial: n.issued.serial.clone(),
            profile: serde_json::to_value(n.profile)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            common_name: n.common_name.chars().take(64).collect(),
            sans: serde_json::json!(n.sans),
            cert_pem: n.issued.pem.clone(),
            not_before: to_chrono(n.issued.not_before)?,
            not_after: to_chrono(n.issued.not_after)?,
            status: CertStatus::Valid,
            revoked_at: None,
            reason: None,
            sealed_key: n.sealed_key.map(|(_, k)| STANDARD.encode(k)),
            renewed_from: n.renewed_from,
            created_by: n.by,
            created_at: self.clock.now(),
        };
        let row = pki::insert_certificate(&self.db, row).await?;
        self.track(&row);
        Ok(row)
    }

    /// The MSP bundle of a certificate issued by `issuer`, with `key_pem` when the caller
    /// holds it.
    async fn msp_for(
        &self,
        issuer: &ca::Model,
        tenant: Uuid,
        cert_pem: &str,
        key_pem: Option<&str>,
    ) -> Result<Vec<u8>> {
        let chain = pki::chain(&self.db, issuer).await?;
        let root = chain
            .last()
            .ok_or_else(|| Error::Internal("empty chain".into()))?;
        let tls = pki::tls_ca(&self.db, issuer.alliance_id, tenant).await?;
        consortia_pki::msp::bundle(&consortia_pki::msp::MspInputs {
            root_pem: &root.cert_pem,
            org_ca_pem: &issuer.cert_pem,
            sign_cert_pem: cert_pem,
            key_pem,
            tls_ca_pem: tls
                .as_ref()
                .map_or(root.cert_pem.as_str(), |t| t.cert_pem.as_str()),
        })
        .map_err(internal)
    }

    /// An identity's Fabric MSP directory as tar.gz (members); `keystore/` is left for the
    /// holder's key.
    pub async fn msp(&self, who: &Caller, id: Uuid) -> Result<(certificate::Model, Vec<u8>)> {
        let c = self.authorize_cert_view(who, id).await?;
        let issuer = pki::ca(&self.db, c.ca_id)
            .await?
            .ok_or_else(|| Error::Internal("issuer missing".into()))?;
        let tgz = self
            .msp_for(&issuer, c.tenant_id, &c.cert_pem, None)
            .await?;
        Ok((c, tgz))
    }

    /// Issues a certificate under a CA (admins of the tenant that controls it): from a CSR,
    /// or with a key generated here and returned once.
    pub async fn issue(&self, who: &Caller, ca_id: Uuid, req: &IssueCertificate) -> Result<Issued> {
        let c = self.controlled_ca(who, ca_id).await?;
        req.check()?;
        let signer = pki::load(&self.kek, &c)?;
        let leaf = LeafRequest {
            profile: req.profile.pki(),
            subject: Subject {
                common_name: req.common_name.clone().unwrap_or_default(),
                organization: None,
                organizational_unit: None,
            },
            sans: req.sans.clone(),
            validity_days: req.validity_days,
            crl_url: Some(self.crl_url(c.id)),
            not_before: self.now_time(),
        };
        let issued = match &req.csr {
            Some(csr) => signer.issue_csr(csr, &leaf),
            None => signer.issue_generated(&leaf, req.key_alg.pki()),
        }
        .map_err(refusal)?;
        let (_, x) = x509_parser::parse_x509_certificate(&issued.der).map_err(internal)?;
        let cn = x
            .subject()
            .iter_common_name()
            .next()
            .and_then(|c| c.as_str().ok())
            .unwrap_or_default()
            .to_string();
        let key_pem = issued.key_pem.clone();
        let id = Uuid::now_v7();
        let sealed = match (&key_pem, req.managed) {
            (Some(k), true) => Some((id, self.kek.seal(k.as_bytes(), &pki::cert_aad(id)))),
            _ => None,
        };
        let row = self
            .insert(NewCert {
                ca: &c,
                issued,
                profile: req.profile,
                common_name: cn,
                sans: req.sans.clone(),
                sealed_key: sealed,
                renewed_from: None,
                by: who.user.id,
            })
            .await?;
        who.created(row.id);
        let chain = pki::chain(&self.db, &c).await?;
        let msp_bundle = if req.msp_bundle {
            Some(
                self.msp_for(&c, c.tenant_id, &row.cert_pem, key_pem.as_deref())
                    .await?,
            )
        } else {
            None
        };
        Ok(Issued {
            certificate: row,
            private_key_pem: key_pem,
            chain_pem: chain_pem(&chain),
            msp_bundle,
        })
    }

    async fn list(
        &self,
        alliance: Uuid,
        ca: Option<Uuid>,
        q: &CertQuery<'_>,
        page: &PageRequest,
    ) -> Result<Vec<certificate::Model>> {
        if q.status.is_some_and(|s| !["valid", "revoked"].contains(&s)) {
            return Err(Error::Malformed("status is valid or revoked".into()));
        }
        if q.profile.is_some_and(|p| ProfileName::parse(p).is_none()) {
            return Err(Error::Malformed("unknown profile".into()));
        }
        let expiring_by = match q.expiring_within_days {
            Some(d) if !(1..=3650).contains(&d) => {
                return Err(Error::Malformed("expiring_within_days is 1-3650".into()));
            }
            Some(d) => Some(self.clock.now() + Duration::days(i64::from(d))),
            None => None,
        };
        let f = CertFilter {
            ca,
            status: q.status,
            profile: q.profile,
            expiring_by,
        };
        Ok(pki::certificates(&self.db, alliance, &f, page).await?)
    }

    /// Certificates issued by a CA, filtered (members).
    pub async fn ca_certificates(
        &self,
        who: &Caller,
        ca: Uuid,
        q: &CertQuery<'_>,
        page: &PageRequest,
    ) -> Result<Vec<certificate::Model>> {
        let c = self.authorize_ca_view(who, ca).await?;
        self.list(c.alliance_id, Some(c.id), q, page).await
    }

    /// Every certificate of an alliance, filtered (members).
    pub async fn alliance_certificates(
        &self,
        who: &Caller,
        alliance: Uuid,
        q: &CertQuery<'_>,
        page: &PageRequest,
    ) -> Result<Vec<certificate::Model>> {
        self.authorize_alliance(who, alliance).await?;
        self.list(alliance, None, q, page).await
    }

    /// One certificate (members).
    pub async fn certificate(&self, who: &Caller, id: Uuid) -> Result<certificate::Model> {
        self.authorize_cert_view(who, id).await
    }

    /// Revokes a certificate with an RFC 5280 reason (admins of the issuing CA's tenant);
    /// it appears on the CA's next CRL.
    pub async fn revoke(
        &self,
        who: &Caller,
        id: Uuid,
        reason: ReasonName,
    ) -> Result<certificate::Model> {
        let cert = self.authorize_cert_view(who, id).await?;
        self.controlled_ca(who, cert.ca_id).await?;
        let txn = self.db.begin().await?;
        if !pki::revoke(&txn, &cert, &reason.as_str(), self.clock.now()).await? {
            return Err(Error::Conflict(format!(
                "certificate {} is already revoked",
                cert.id
            )));
        }
        txn.commit().await?;
        let cert = pki::certificate(&self.db, cert.id)
            .await?
            .ok_or_else(|| Error::Internal("certificate vanished".into()))?;
        self.track(&cert);
        Ok(cert)
    }

    /// Re-issues a certificate (admins of the issuing CA's tenant): with the same key
    /// (default), or a new one from a CSR or generated here. The old certificate stays
    /// valid until it expires or is revoked.
    pub async fn renew(&self, who: &Caller, id: Uuid, req: &RenewCertificate) -> Result<Issued> {
        let old = self.authorize_cert_view(who, id).await?;
        let c = self.controlled_ca(who, old.ca_id).await?;
        if old.status != CertStatus::Valid {
            return Err(Error::Conflict(format!(
                "certificate {} is revoked; issue a new one",
                old.id
            )));
        }
        if req.csr.is_some() && !req.rekey {
            return Err(Error::field("/csr", "a CSR brings a new key: set rekey"));
        }
        let days = req
            .validity_days
            .unwrap_or_else(|| ((old.not_after - old.not_before).num_days().max(1)) as u32);
        let (leaf, profile, sans) = self.again(&old, &c, days)?;
        let signer = pki::load(&self.kek, &c)?;
        let old_der = pki::pem_to_der(&old.cert_pem)?;
        let issued = if !req.rekey {
            let (_, x) = x509_parser::parse_x509_certificate(&old_der).map_err(internal)?;
            let spki = consortia_pki::rcgen::SubjectPublicKeyInfo::from_der(x.public_key().raw)
                .map_err(internal)?;
            signer.issue_for_key(&leaf, &spki)
        } else if let Some(csr) = &req.csr {
            signer.issue_csr(csr, &leaf)
        } else {
            signer.issue_generated(&leaf, KeyAlg::EcdsaP256)
        }
        .map_err(refusal)?;
        let key_pem = issued.key_pem.clone();
        let id = Uuid::now_v7();
        let sealed = match (&key_pem, old.sealed_key.is_some()) {
            (Some(k), true) => Some((id, self.kek.seal(k.as_bytes(), &pki::cert_aad(id)))),
            (None, true) => {
                // Same key: carry the sealed key over to the new record.
                let plain = self.open_key(&old)?;
                Some((id, self.kek.seal(&plain, &pki::cert_aad(id))))
            }
            _ => None,
        };
        let row = self
            .insert(NewCert {
                ca: &c,
                issued,
                profile,
                common_name: old.common_name.clone(),
                sans,
                sealed_key: sealed,
                renewed_from: Some(old.id),
                by: who.user.id,
            })
            .await?;
        who.created(row.id);
        let chain = pki::chain(&self.db, &c).await?;
        Ok(Issued {
            certificate: row,
            private_key_pem: key_pem,
            chain_pem: chain_pem(&chain),
            msp_bundle: None,
        })
    }

    /// The request that issues `old` again under `c` for `days`: same profile, subject and
    /// names; with the profile and names it was read from.
    fn again(
        &self,
        old: &certificate::Model,
        c: &ca::Model,
        days: u32,
    ) -> Result<(LeafRequest, ProfileName, Vec<String>)> {
        let profile = ProfileName::parse(&old.profile)
            .ok_or_else(|| Error::Internal("stored profile unknown".into()))?;
        let sans = Vec::<String>::deserialize(&old.sans).unwrap_or_default();
        let leaf = LeafRequest {
            profile: profile.pki(),
            subject: Subject {
                common_name: old.common_name.clone(),
                organization: None,
                organizational_unit: None,
            },
            sans: sans.clone(),
            validity_days: days,
            crl_url: Some(self.crl_url(c.id)),
            not_before: self.now_time(),
        };
        Ok((leaf, profile, sans))
    }

    /// The sealed key of a managed certificate, opened.
    fn open_key(&self, c: &certificate::Model) -> Result<Vec<u8>> {
        let blob = STANDARD
            .decode(c.sealed_key.as_deref().unwrap_or_default())
            .map_err(internal)?;
        self.kek.open(&blob, &pki::cert_aad(c.id)).map_err(internal)
    }

    /// Renews every server-managed certificate (its key is sealed here) that expires within
    /// `window_days` and has not been renewed yet, with the same key. Each renewal is
    /// audited as a system action. Returns how many were renewed.
    pub async fn renew_due(&self, window_days: u32) -> Result<usize> {
        let now = self.clock.now();
        let window = Duration::days(i64::from(window_days));
        let mut renewed = 0;
        for old in pki::managed_expiring(&self.db, now + window).await? {
            // Renew when less than the window or a third of the lifetime is left, whichever
            // is shorter: a short-lived certificate is not renewed again straight away.
            let lifetime = old.not_after - old.not_before;
            if old.not_after - now > window.min(lifetime / 3) {
                continue;
            }
            if pki::successor(&self.db, old.id).await?.is_some() {
                continue;
            }
            let Some(c) = pki::ca(&self.db, old.ca_id).await? else {
                continue;
            };
            let days = (lifetime.num_days().max(1)) as u32;
            let (leaf, profile, sans) = self.again(&old, &c, days)?;
            let key_pem = self.open_key(&old)?;
            let key = consortia_pki::rcgen::KeyPair::from_pem(&String::from_utf8_lossy(&key_pem))
                .map_err(internal)?;
            let signer = pki::load(&self.kek, &c)?;
            let issued = match signer.issue_for_key(&leaf, &key) {
                Ok(i) => i,
                Err(PkiError::OutlivesIssuer { .. }) => {
                    // The CA itself ends sooner: renew up to its end.
                    let left = (c.not_after - now).num_days().max(1) as u32;
                    signer
                        .issue_for_key(
                            &LeafRequest {
                                validity_days: left,
                                ..leaf
                            },
                            &key,
                        )
                        .map_err(internal)?
                }
                Err(e) => return Err(internal(e)),
            };
            let id = Uuid::now_v7();
            let row = self
                .insert(NewCert {
                    ca: &c,
                    issued,
                    profile,
                    common_name: old.common_name.clone(),
                    sans,
                    sealed_key: Some((id, self.kek.seal(&key_pem, &pki::cert_aad(id)))),
                    renewed_from: Some(old.id),
                    by: old.created_by,
                })
                .await?;
            store::audit::record(
                &self.db,
                store::audit::NewEvent {
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
}
