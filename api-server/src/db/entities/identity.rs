//! `identities`: an external identity (OIDC issuer + subject) linked to a user.

use sea_orm::entity::prelude::*;

/// An identity row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub issuer: String,
    pub subject: String,
    pub created_at: DateTimeUtc,
}

/// Identities are looked up by (issuer, subject); no relation needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
