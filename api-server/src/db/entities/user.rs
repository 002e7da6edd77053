//! `users`: a person or a service account.

use sea_orm::entity::prelude::*;

/// A user row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique when present; service accounts have none.
    #[sea_orm(unique)]
    pub email: Option<String>,
    pub display_name: String,
    pub kind: crate::domain::tenants::UserKind,
    pub is_platform_admin: bool,
    pub created_at: DateTimeUtc,
}

/// Users relate to tokens, memberships and identities; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
