//! Certificate authorities for Consortia: root and intermediate CAs, leaf certificates by
//! profile (from a PKCS#10 CSR or a key generated here), revocation lists, and CA keys sealed
//! at rest. X.509 encoding is rcgen's; parsing and CSR signature checks are x509-parser's.
//!
//! Rules every certificate here follows: random 128-bit (positive) serial numbers; subject and
//! authority key identifiers; a leaf never outlives its issuer (asking for that is an error,
//! not a silent cut); leaf profiles never carry `CA:TRUE`, and a CSR asking for it is refused;
//! subject alternative names are DNS names or IP addresses only.

pub mod msp;
pub mod seal;

/// The X.509 generator this crate builds on (for its public-key types).
pub use rcgen;

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams,
    CertificateSigningRequestParams, CrlDistributionPoint, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData,
    RevocationReason, RevokedCertParams, SanType, SerialNumber, SignatureAlgorithm,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Key algorithms a CA or a generated leaf key may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyAlg {
    #[default]
    EcdsaP256,
    EcdsaP384,
    Ed25519,
}

impl KeyAlg {
    fn rcgen(self) -> &'static SignatureAlgorithm {
        match self {
            KeyAlg::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlg::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyAlg::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

/// What a leaf certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// A chain node: TLS server and client.
    Node,
    TlsServer,
    TlsClient,
    /// Fabric identities: the OU in the subject is the NodeOU.
    Admin,
    Client,
    Orderer,
    Peer,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Node => "node",
            Profile::TlsServer => "tls-server",
            Profile::TlsClient => "tls-client",
            Profile::Admin => "admin",
            Profile::Client => "client",
            Profile::Orderer => "orderer",
            Profile::Peer => "peer",
        }
    }

    fn usages(self) -> (Vec<KeyUsagePurpose>, Vec<ExtendedKeyUsagePurpose>) {
        use ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
        use KeyUsagePurpose::{DigitalSignature, KeyAgreement, KeyEncipherment};
        match self {
            Profile::Node => (
                vec![DigitalSignature, KeyEncipherment, KeyAgreement],
                vec![ServerAuth, ClientAuth],
            ),
            Profile::TlsServer => (
                vec![DigitalSignature, KeyEncipherment, KeyAgreement],
                vec![ServerAuth],
            ),
            Profile::TlsClient => (vec![DigitalSignature, KeyAgreement], vec![ClientAuth]),
            Profile::Admin | Profile::Client | Profile::Orderer | Profile::Peer => {
                (vec![DigitalSignature], vec![ClientAuth])
            }
        }
    }

    /// The Fabric NodeOU written as the subject's OU, for identity profiles.
    pub fn node_ou(self) -> Option<&'static str> {
        match self {
            Profile::Admin => Some("admin"),
            Profile::Client => Some("client"),
            Profile::Orderer => Some("orderer"),
            Profile::Peer => Some("peer"),
            _ => None,
        }
    }
}

/// The longest validity any certificate gets (100 years): longer requests are refused
/// before any date arithmetic, so no input can overflow a date.
pub const MAX_VALIDITY_DAYS: u32 = 36_525;

/// A validity length in days as a duration, refused outside 1..=[`MAX_VALIDITY_DAYS`].
fn validity(days: u32) -> Result<Duration, PkiError> {
    if !(1..=MAX_VALIDITY_DAYS).contains(&days) {
        return Err(PkiError::BadValidity);
    }
    Ok(Duration::days(i64::from(days)))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PkiError {
    #[error("the CSR is not a valid PKCS#10 request")]
    MalformedCsr,
    #[error("the CSR's self-signature does not verify")]
    BadCsrSignature,
    #[error("the CSR asks for a CA certificate, which the {0} profile never issues")]
    CaRequested(&'static str),
    #[error("subject alternative name {0:?} is neither a DNS name nor an IP address")]
    BadSan(String),
    #[error("the certificate would be valid until {requested}, after its issuer ({issuer})")]
    OutlivesIssuer { requested: String, issuer: String },
    #[error("validity must be 1 to {MAX_VALIDITY_DAYS} days")]
    BadValidity,
    #[error("common name must be 1-64 characters")]
    BadCommonName,
    #[error("a CA key or certificate could not be read: {0}")]
    BadCa(String),
    #[error("certificate generation failed: {0}")]
    Generation(String),
}

impl From<rcgen::Error> for PkiError {
    fn from(e: rcgen::Error) -> Self {
        PkiError::Generation(e.to_string())
    }
}

/// Who a certificate is for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub common_name: String,
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub organizational_unit: Option<String>,
}

impl Subject {
    fn dn(&self) -> Result<DistinguishedName, PkiError> {
        if self.common_name.is_empty() || self.common_name.chars().count() > 64 {
            return Err(PkiError::BadCommonName);
        }
        let mut dn = DistinguishedName::new();
        if let Some(o) = &self.organization {
            dn.push(DnType::OrganizationName, o.as_str());
        }
        if let Some(ou) = &self.organizational_unit {
            dn.push(DnType::OrganizationalUnitName, ou.as_str());
        }
        dn.push(DnType::CommonName, self.common_name.as_str());
        Ok(dn)
    }
}

/// A leaf certificate to issue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafRequest {
    pub profile: Profile,
    pub subject: Subject,
    /// DNS names and IP addresses.
    #[serde(default)]
    pub sans: Vec<String>,
    pub validity_days: u32,
    /// Where the issuing CA's CRL is published.
    #[serde(default)]
    pub crl_url: Option<String>,
    /// Start of validity (default: now). Lets a caller with its own clock issue consistently.
    #[serde(default, skip)]
    pub not_before: Option<OffsetDateTime>,
}

/// An issued certificate.
#[derive(Clone, Debug)]
pub struct Issued {
    pub der: Vec<u8>,
    pub pem: String,
    /// Lowercase hex of the serial number.
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The private key (PKCS#8 PEM), only when it was generated here. Shown once.
    pub key_pem: Option<String>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("subject", &self.subject)
            .field("not_after", &self.not_after)
            .field("key", &"<sealed>")
            .finish()
    }
}

/// A certificate authority: its certificate and its signing key.
pub struct Ca {
    pub cert_der: Vec<u8>,
    pub cert_pem: String,
    pub subject: Subject,
    pub not_after: OffsetDateTime,
    key_der: Vec<u8>,
    alg: KeyAlg,
    issuer: Issuer<'static, KeyPair>,
}

/// 128 random bits as a positive DER integer.
fn random_serial() -> SerialNumber {
    let mut b: [u8; 16] = rand::random();
    b[0] &= 0x7f;
    if b[0] == 0 {
        b[0] = 1;
    }
    SerialNumber::from_slice(&b)
}

fn sans(names: &[String]) -> Result<Vec<SanType>, PkiError> {
    names
        .iter()
        .map(|n| {
            if let Ok(ip) = n.parse::<IpAddr>() {
                return Ok(SanType::IpAddress(ip));
            }
            if valid_dns(n) {
                return n
                    .as_str()
                    .try_into()
                    .map(SanType::DnsName)
                    .map_err(|_| PkiError::BadSan(n.clone()));
            }
            Err(PkiError::BadSan(n.clone()))
        })
        .collect()
}

/// RFC 1123 host names, with an optional leading `*.` wildcard label.
fn valid_dns(n: &str) -> bool {
    let n = n.strip_prefix("*.").unwrap_or(n);
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn hex_serial(s: &SerialNumber) -> String {
    hex::encode(s.to_bytes())
}

impl Ca {
    fn from_parts(cert_der: Vec<u8>, key_der: Vec<u8>, alg: KeyAlg) -> Result<Ca, PkiError> {
        let (_, x) = x509_parser::parse_x509_certificate(&cert_der)
            .map_err(|e| PkiError::BadCa(e.to_string()))?;
        let subject = Subject {
            common_name: x
                .subject()
                .iter_common_name()
                .next()
                .and_then(|c| c.as_str().ok())
                .unwrap_or_default()
                .to_string(),
            organization: x
                .subject()
                .iter_organization()
                .next()
                .and_then(|c| c.as_str().ok())
                .map(String::from),
            organizational_unit: None,
        };
        let not_after = x.validity().not_after.to_datetime();
        let key =
            KeyPair::try_from(key_der.as_slice()).map_err(|e| PkiError::BadCa(e.to_string()))?;
        if key.algorithm() != alg.rcgen() {
            return Err(PkiError::BadCa(
                "the key is not of the stated algorithm".into(),
            ));
        }
        let issuer = Issuer::from_ca_cert_der(&cert_der.clone().into(), key)
            .map_err(|e| PkiError::BadCa(e.to_string()))?;
        let cert_pem = pem_encode("CERTIFICATE", &cert_der);
        Ok(Ca {
            cert_der,
            cert_pem,
            subject,
            not_after,
            key_der,
            alg,
            issuer,
        })
    }

    fn ca_params(
        subject: &Subject,
        days: u32,
        path_len: Option<u8>,
    ) -> Result<CertificateParams, PkiError> {
        let lifetime = validity(days)?;
        let mut p = CertificateParams::default();
        p.distinguished_name = subject.dn()?;
        p.is_ca = IsCa::Ca(match path_len {
            Some(n) => BasicConstraints::Constrained(n),
            None => BasicConstraints::Unconstrained,
        });
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        p.serial_number = Some(random_serial());
        p.not_before = OffsetDateTime::now_utc() - Duration::minutes(5);
        p.not_after = OffsetDateTime::now_utc() + lifetime;
        p.key_identifier_method = KeyIdMethod::Sha256;
        p.use_authority_key_identifier_extension = true;
        Ok(p)
    }

    /// A self-signed root CA.
    pub fn new_root(alg: KeyAlg, subject: Subject, days: u32) -> Result<Ca, PkiError> {
        let key = KeyPair::generate_for(alg.rcgen())?;
        let mut p = Self::ca_params(&subject, days, None)?;
        p.use_authority_key_identifier_extension = false;
        let cert = p.self_signed(&key)?;
        Ca::from_parts(cert.der().to_vec(), key.serialize_der(), alg)
    }

    /// An intermediate CA under this one (`path_len` 0: it issues leaves only).
    pub fn new_intermediate(
        &self,
        alg: KeyAlg,
        subject: Subject,
        days: u32,
        path_len: u8,
    ) -> Result<Ca, PkiError> {
        let key = KeyPair::generate_for(alg.rcgen())?;
        let p = Self::ca_params(&subject, days, Some(path_len))?;
        self.check_lifetime(p.not_after)?;
        let cert = p.signed_by(&key, &self.issuer)?;
        Ca::from_parts(cert.der().to_vec(), key.serialize_der(), alg)
    }

    fn check_lifetime(&self, not_after: OffsetDateTime) -> Result<(), PkiError> {
        if not_after > self.not_after {
            return Err(PkiError::OutlivesIssuer {
                requested: not_after.to_string(),
                issuer: self.not_after.to_string(),
            });
        }
        Ok(())
    }

    fn leaf_params(
        &self,
        req: &LeafRequest,
        dn: DistinguishedName,
    ) -> Result<CertificateParams, PkiError> {
        let lifetime = validity(req.validity_days)?;
        let mut p = CertificateParams::default();
        p.distinguished_name = dn;
        p.subject_alt_names = sans(&req.sans)?;
        p.is_ca = IsCa::ExplicitNoCa;
        let (ku, eku) = req.profile.usages();
        p.key_usages = ku;
        p.extended_key_usages = eku;
        p.serial_number = Some(random_serial());
        let start = req.not_before.unwrap_or_else(OffsetDateTime::now_utc);
        p.not_before = start - Duration::minutes(5);
        p.not_after = start.checked_add(lifetime).ok_or(PkiError::BadValidity)?;
        self.check_lifetime(p.not_after)?;
        p.key_identifier_method = KeyIdMethod::Sha256;
        p.use_authority_key_identifier_extension = true;
        if let Some(url) = &req.crl_url {
            p.crl_distribution_points = vec![CrlDistributionPoint {
                uris: vec![url.clone()],
            }];
        }
        Ok(p)
    }

    fn subject_for(req: &LeafRequest) -> Subject {
        let mut s = req.subject.clone();
        if let Some(ou) = req.profile.node_ou() {
            s.organizational_unit = Some(ou.to_string());
        }
        s
    }

    fn finish(p: &CertificateParams, cert: rcgen::Certificate, key_pem: Option<String>) -> Issued {
        Issued {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            serial: p.serial_number.as_ref().map(hex_serial).unwrap_or_default(),
            not_before: p.not_before,
            not_after: p.not_after,
            key_pem,
        }
    }

    /// Issues a leaf with a key generated here (returned once, in `key_pem`).
    pub fn issue_generated(&self, req: &LeafRequest, alg: KeyAlg) -> Result<Issued, PkiError> {
        let p = self.leaf_params(req, Self::subject_for(req).dn()?)?;
        let key = KeyPair::generate_for(alg.rcgen())?;
        let cert = p.signed_by(&key, &self.issuer)?;
        Ok(Self::finish(&p, cert, Some(key.serialize_pem())))
    }

    /// Issues a leaf for an existing public key (benchmarks and renewals with the same key).
    pub fn issue_for_key(
        &self,
        req: &LeafRequest,
        key: &impl PublicKeyData,
    ) -> Result<Issued, PkiError> {
        let p = self.leaf_params(req, Self::subject_for(req).dn()?)?;
        let cert = p.signed_by(key, &self.issuer)?;
        Ok(Self::finish(&p, cert, None))
    }

    /// Issues a leaf for a PKCS#10 CSR (PEM). The CSR's self-signature must verify; its
    /// subject is used unless `req.subject.common_name` is set; its SANs are added to
    /// `req.sans`; any CA request is refused. Everything else comes from the profile.
    pub fn issue_csr(&self, csr_pem: &str, req: &LeafRequest) -> Result<Issued, PkiError> {
        let csr = CertificateSigningRequestParams::from_pem(csr_pem).map_err(|e| match e {
            rcgen::Error::InvalidCertificationRequestSignature => PkiError::BadCsrSignature,
            _ => PkiError::MalformedCsr,
        })?;
        if matches!(csr.params.is_ca, IsCa::Ca(_)) {
            return Err(PkiError::CaRequested(req.profile.as_str()));
        }
        let mut req = req.clone();
        for s in &csr.params.subject_alt_names {
            match s {
                SanType::DnsName(d) => req.sans.push(d.as_str().to_string()),
                SanType::IpAddress(ip) => req.sans.push(ip.to_string()),
                other => return Err(PkiError::BadSan(format!("{other:?}"))),
            }
        }
        let dn = if req.subject.common_name.is_empty() {
            let mut dn = csr.params.distinguished_name.clone();
            if let Some(ou) = req.profile.node_ou() {
                dn.push(DnType::OrganizationalUnitName, ou);
            }
            dn
        } else {
            Self::subject_for(&req).dn()?
        };
        let p = self.leaf_params(&req, dn)?;
        let cert = p.signed_by(&csr.public_key, &self.issuer)?;
        Ok(Self::finish(&p, cert, None))
    }

    /// A signed v2 CRL listing `revoked`, valid for `next_update_hours` from now.
    pub fn crl(
        &self,
        revoked: &[Revoked],
        crl_number: u64,
        next_update_hours: u32,
    ) -> Result<Crl, PkiError> {
        self.crl_at(
            revoked,
            crl_number,
            OffsetDateTime::now_utc(),
            next_update_hours,
        )
    }

    /// A signed v2 CRL listing `revoked` issued at `now` (its thisUpdate), valid for
    /// `next_update_hours`. Each CRL a CA issues needs a greater `crl_number` (RFC 5280).
    pub fn crl_at(
        &self,
        revoked: &[Revoked],
        crl_number: u64,
        now: OffsetDateTime,
        next_update_hours: u32,
    ) -> Result<Crl, PkiError> {
        let params = CertificateRevocationListParams {
            this_update: now,
            next_update: now + Duration::hours(i64::from(next_update_hours.max(1))),
            crl_number: SerialNumber::from(crl_number),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|r| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&r.serial),
                    revocation_time: r.time,
                    reason_code: Some(r.reason.rcgen()),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer)?;
        Ok(Crl {
            der: crl.der().to_vec(),
            pem: crl.pem()?,
        })
    }

    /// The CA's private key as PKCS#8 DER, for sealing. Never log or return it.
    pub fn key_der(&self) -> &[u8] {
        &self.key_der
    }

    pub fn alg(&self) -> KeyAlg {
        self.alg
    }

    /// Rebuilds a CA from its certificate and its (unsealed) PKCS#8 key.
    pub fn load(cert_der: Vec<u8>, key_der: Vec<u8>, alg: KeyAlg) -> Result<Ca, PkiError> {
        Ca::from_parts(cert_der, key_der, alg)
    }
}

/// RFC 5280 reason codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
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

impl Reason {
    fn rcgen(self) -> RevocationReason {
        match self {
            Reason::Unspecified => RevocationReason::Unspecified,
            Reason::KeyCompromise => RevocationReason::KeyCompromise,
            Reason::CaCompromise => RevocationReason::CaCompromise,
            Reason::AffiliationChanged => RevocationReason::AffiliationChanged,
            Reason::Superseded => RevocationReason::Superseded,
            Reason::CessationOfOperation => RevocationReason::CessationOfOperation,
            Reason::CertificateHold => RevocationReason::CertificateHold,
            Reason::PrivilegeWithdrawn => RevocationReason::PrivilegeWithdrawn,
            Reason::AaCompromise => RevocationReason::AaCompromise,
        }
    }
}

/// A revoked certificate, for a CRL.
#[derive(Clone, Debug)]
pub struct Revoked {
    pub serial: Vec<u8>,
    pub time: OffsetDateTime,
    pub reason: Reason,
}

/// A signed CRL.
#[derive(Clone, Debug)]
pub struct Crl {
    pub der: Vec<u8>,
    pub pem: String,
}

fn pem_encode(tag: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {tag}-----\n");
    for chunk in b.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {tag}-----\n"));
    out
}
