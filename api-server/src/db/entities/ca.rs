//! `cas`: a certificate authority of an alliance: its root, or a member's organisation or TLS CA.

use sea_orm::entity::prelude::*;

/// A certificate authority of an alliance: its root, or a member's organisation or TLS CA.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cas")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub alliance_id: Uuid,
    /// The tenant that controls it (the founder for the root, the member for its CAs).
    pub tenant_id: Uuid,
    /// `root`, `org` or `tls`.
    pub kind: String,
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub alg: String,
    pub cert_pem: String,
    /// The private key, sealed (base64), never returned by any API.
    pub sealed_key: String,
    pub kek_id: String,
    pub not_after: DateTimeUtc,
    pub crl_number: i64,
    pub created_at: DateTimeUtc,
}

/// Related rows are loaded by id in the store.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
