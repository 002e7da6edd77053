//! `certificates`: a certificate issued by one of the CAs.

use sea_orm::entity::prelude::*;

/// A certificate issued by one of the CAs.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certificates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub ca_id: Uuid,
    pub alliance_id: Uuid,
    pub tenant_id: Uuid,
    /// Lowercase hex.
    pub serial: String,
    pub profile: String,
    pub common_name: String,
    /// The subject alternative names, a JSON array of strings.
    #[sea_orm(column_type = "JsonBinary")]
    pub sans: Json,
    pub cert_pem: String,
    pub not_before: DateTimeUtc,
    pub not_after: DateTimeUtc,
    /// `valid` or `revoked`.
    pub status: crate::domain::pki::CertStatus,
    pub revoked_at: Option<DateTimeUtc>,
    pub reason: Option<String>,
    /// Sealed private key of a server-managed identity (base64), never returned after issuance.
    pub sealed_key: Option<String>,
    pub renewed_from: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

/// Related rows are loaded by id in the store.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
