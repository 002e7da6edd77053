//! The PKI's vocabulary: certificate profiles, key algorithms, revocation reasons, and the
//! requests that issue, revoke and renew certificates. Pure: the signing is in
//! `consortia_pki`, the keeping in `store::pki`, the use cases in `service::pki`.

use crate::domain::status::status_enum;
use consortia_pki::{KeyAlg, PkiError, Profile, Reason};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::error::Error;

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
    pub fn pki(self) -> Profile {
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

    pub fn parse(s: &str) -> Option<ProfileName> {
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
    pub fn pki(self) -> KeyAlg {
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
    pub fn pki(self) -> Reason {
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

    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    pub fn parse(s: &str) -> Option<ReasonName> {
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

status_enum! {
    /// Whether a certificate is still good: `valid`, or `revoked` (final).
    CertStatus {
        /// Good until it expires.
        Valid = "valid",
        /// Revoked: on its CA's CRL.
        Revoked = "revoked",
    }
}

/// A refusal of `consortia_pki` as the caller's mistake on a field (or a bug).
pub fn refusal(e: PkiError) -> Error {
    match e {
        PkiError::MalformedCsr | PkiError::BadCsrSignature | PkiError::CaRequested(_) => {
            Error::field("/csr", e.to_string())
        }
        PkiError::BadSan(_) => Error::field("/sans", e.to_string()),
        PkiError::OutlivesIssuer { .. } | PkiError::BadValidity => {
            Error::field("/validity_days", e.to_string())
        }
        PkiError::BadCommonName => Error::field("/common_name", e.to_string()),
        other => Error::Internal(other.to_string()),
    }
}

impl IssueCertificate {
    /// Field problems that need no CA to find.
    pub fn check(&self) -> Result<(), Error> {
        if self
            .common_name
            .as_deref()
            .is_some_and(|c| c.is_empty() || c.chars().count() > 64)
        {
            return Err(Error::field(
                "/common_name",
                "common_name must be 1-64 characters",
            ));
        }
        if self.sans.len() > 50 {
            return Err(Error::field(
                "/sans",
                "at most 50 subject alternative names",
            ));
        }
        if self.csr.is_some() && self.managed {
            return Err(Error::field(
                "/managed",
                "a managed identity's key is generated here; leave out csr",
            ));
        }
        if self.csr.is_none() && self.common_name.is_none() {
            return Err(Error::field(
                "/common_name",
                "common_name is required without a CSR",
            ));
        }
        Ok(())
    }
}
