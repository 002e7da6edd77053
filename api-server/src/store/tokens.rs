//! API token rows.

use crate::db::entities::{api_token, user};
use crate::domain::pagination::PageRequest;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set,
};
use uuid::Uuid;

/// Fields of a new token row.
pub struct NewToken<'a> {
    /// Id minted with the secret.
    pub id: Uuid,
    /// Whose roles the token acts with.
    pub user_id: Uuid,
    /// Optional tenant scope.
    pub tenant_id: Option<Uuid>,
    /// Label.
    pub name: &'a str,
    /// HMAC of the secret.
    pub secret_hash: &'a str,
    /// Who created it.
    pub created_by: Uuid,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A token by id, whatever its state.
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<api_token::Model>, DbErr> {
    api_token::Entity::find_by_id(id).one(db).await
}

/// Inserts a token.
pub async fn insert(db: &impl ConnectionTrait, t: NewToken<'_>) -> Result<api_token::Model, DbErr> {
    api_token::ActiveModel {
        id: Set(t.id),
        user_id: Set(t.user_id),
        tenant_id: Set(t.tenant_id),
        name: Set(t.name.into()),
        secret_hash: Set(t.secret_hash.into()),
        created_by: Set(t.created_by),
        created_at: Set(Utc::now()),
        expires_at: Set(t.expires_at),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
}

/// A token with its user, for authentication.
pub async fn with_user(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<(api_token::Model, user::Model)>, DbErr> {
    Ok(api_token::Entity::find_by_id(id)
        .find_also_related(user::Entity)
        .one(db)
        .await?
        .and_then(|(t, u)| u.map(|u| (t, u))))
}

/// Whose tokens a listing shows.
pub enum Owner {
    /// One user's own tokens.
    User(Uuid),
    /// Tokens scoped to one tenant.
    Tenant(Uuid),
}

/// A page of tokens, newest last (id order).
pub async fn list(
    db: &impl ConnectionTrait,
    owner: Owner,
    page: &PageRequest,
) -> Result<Vec<api_token::Model>, DbErr> {
    let mut q = api_token::Entity::find();
    q = match owner {
        Owner::User(u) => q.filter(api_token::Column::UserId.eq(u)),
        Owner::Tenant(t) => q.filter(api_token::Column::TenantId.eq(t)),
    };
    super::page_by_id(q, api_token::Column::Id, page)
        .all(db)
        .await
}

/// One token, if it belongs to `owner`.
pub async fn get_owned(
    db: &impl ConnectionTrait,
    owner: Owner,
    id: Uuid,
) -> Result<Option<api_token::Model>, DbErr> {
    let q = api_token::Entity::find_by_id(id);
    let q = match owner {
        Owner::User(u) => q.filter(api_token::Column::UserId.eq(u)),
        Owner::Tenant(t) => q.filter(api_token::Column::TenantId.eq(t)),
    };
    q.one(db).await
}

/// Marks a token revoked (idempotent: the first revocation time stays).
pub async fn revoke(
    db: &impl ConnectionTrait,
    t: api_token::Model,
) -> Result<api_token::Model, DbErr> {
    if t.revoked_at.is_some() {
        return Ok(t);
    }
    let mut am: api_token::ActiveModel = t.into();
    am.revoked_at = Set(Some(Utc::now()));
    am.update(db).await
}

/// Revokes every live token of `user` scoped to `tenant` (when the member leaves).
pub async fn revoke_for_member(
    db: &impl ConnectionTrait,
    tenant: Uuid,
    user: Uuid,
) -> Result<u64, DbErr> {
    let ids: Vec<Uuid> = api_token::Entity::find()
        .select_only()
        .column(api_token::Column::Id)
        .filter(api_token::Column::TenantId.eq(tenant))
        .filter(api_token::Column::UserId.eq(user))
        .filter(api_token::Column::RevokedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let res = api_token::Entity::update_many()
        .col_expr(
            api_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(api_token::Column::Id.is_in(ids))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
