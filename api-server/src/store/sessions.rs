//! Browser sessions, pending logins, external identities and tenant invitations.

use crate::db::entities::{identity, login_request, membership, session, tenant_invite, user};
use crate::domain::pagination::PageRequest;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

/// Records a pending login.
pub async fn insert_login(
    db: &impl ConnectionTrait,
    row: login_request::Model,
) -> Result<(), DbErr> {
    login_request::ActiveModel::from(row).insert(db).await?;
    // Logins abandoned at the provider are swept as new ones begin.
    login_request::Entity::delete_many()
        .filter(login_request::Column::ExpiresAt.lt(Utc::now()))
        .exec(db)
        .await?;
    Ok(())
}

/// How many sign-ins are in progress (pending and not expired).
pub async fn pending_logins(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    login_request::Entity::find()
        .filter(login_request::Column::ExpiresAt.gt(now))
        .count(db)
        .await
}

/// Takes (reads and deletes) the pending login with this state hash: a state works once,
/// also when two callbacks race.
pub async fn take_login(
    db: &impl ConnectionTrait,
    state_hash: &str,
) -> Result<Option<login_request::Model>, DbErr> {
    let Some(row) = login_request::Entity::find()
        .filter(login_request::Column::StateHash.eq(state_hash))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let gone = login_request::Entity::delete_by_id(row.id).exec(db).await?;
    Ok((gone.rows_affected == 1).then_some(row))
}

/// The user linked to an external identity.
pub async fn user_by_identity(
    db: &impl ConnectionTrait,
    issuer: &str,
    subject: &str,
) -> Result<Option<user::Model>, DbErr> {
    let Some(i) = identity::Entity::find()
        .filter(identity::Column::Issuer.eq(issuer))
        .filter(identity::Column::Subject.eq(subject))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    user::Entity::find_by_id(i.user_id).one(db).await
}

/// Links an external identity to a user.
pub async fn link_identity(
    db: &impl ConnectionTrait,
    user: Uuid,
    issuer: &str,
    subject: &str,
) -> Result<(), DbErr> {
    identity::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        issuer: Set(issuer.into()),
        subject: Set(subject.into()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// How many tenants a user belongs to.
pub async fn membership_count(db: &impl ConnectionTrait, user: Uuid) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    membership::Entity::find()
        .filter(membership::Column::UserId.eq(user))
        .count(db)
        .await
}

/// Inserts a session.
pub async fn insert_session(db: &impl ConnectionTrait, row: session::Model) -> Result<(), DbErr> {
    session::ActiveModel::from(row).insert(db).await.map(|_| ())
}

/// A session by id, whatever its state.
pub async fn session(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<session::Model>, DbErr> {
    session::Entity::find_by_id(id).one(db).await
}

/// A session with its user, by the keyed hash of the cookie's secret.
pub async fn session_by_hash(
    db: &impl ConnectionTrait,
    secret_hash: &str,
) -> Result<Option<(session::Model, user::Model)>, DbErr> {
    let Some(s) = session::Entity::find()
        .filter(session::Column::SecretHash.eq(secret_hash))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(user::Entity::find_by_id(s.user_id)
        .one(db)
        .await?
        .map(|u| (s, u)))
}

/// Notes that a session was used.
pub async fn touch_session(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// A page of a user's live sessions, newest first.
pub async fn sessions_of(
    db: &impl ConnectionTrait,
    user: Uuid,
    now: DateTime<Utc>,
    page: &PageRequest,
) -> Result<Vec<session::Model>, DbErr> {
    let q = session::Entity::find()
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now));
    super::page_by_id_desc(q, session::Column::Id, page)
        .all(db)
        .await
}

/// Ends a user's session; false when the user has no such live session.
pub async fn revoke_session(
    db: &impl ConnectionTrait,
    user: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let r = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Inserts a tenant invitation.
pub async fn insert_invite(
    db: &impl ConnectionTrait,
    row: tenant_invite::Model,
) -> Result<(), DbErr> {
    tenant_invite::ActiveModel::from(row)
        .insert(db)
        .await
        .map(|_| ())
}

/// A page of a tenant's invitations, newest first.
pub async fn invites(
    db: &impl ConnectionTrait,
    tenant: Uuid,
    page: &PageRequest,
) -> Result<Vec<tenant_invite::Model>, DbErr> {
    let q = tenant_invite::Entity::find().filter(tenant_invite::Column::TenantId.eq(tenant));
    super::page_by_id_desc(q, tenant_invite::Column::Id, page)
        .all(db)
        .await
}

/// An invitation by token hash.
pub async fn invite_by_hash(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<tenant_invite::Model>, DbErr> {
    tenant_invite::Entity::find()
        .filter(tenant_invite::Column::TokenHash.eq(token_hash))
        .one(db)
        .await
}

/// Marks an invitation used, only if it is still usable; false otherwise (a race lost).
pub async fn redeem_invite(
    db: &impl ConnectionTrait,
    id: Uuid,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let r = tenant_invite::Entity::update_many()
        .col_expr(tenant_invite::Column::UsedAt, Expr::value(now))
        .col_expr(tenant_invite::Column::UsedBy, Expr::value(user))
        .filter(tenant_invite::Column::Id.eq(id))
        .filter(tenant_invite::Column::UsedAt.is_null())
        .filter(tenant_invite::Column::RevokedAt.is_null())
        .filter(tenant_invite::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Revokes an unused invitation of a tenant; false when there is none.
pub async fn revoke_invite(
    db: &impl ConnectionTrait,
    tenant: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let r = tenant_invite::Entity::update_many()
        .col_expr(tenant_invite::Column::RevokedAt, Expr::value(now))
        .filter(tenant_invite::Column::Id.eq(id))
        .filter(tenant_invite::Column::TenantId.eq(tenant))
        .filter(tenant_invite::Column::UsedAt.is_null())
        .filter(tenant_invite::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Whether the user already has an identity at `issuer`.
pub async fn has_identity_at(
    db: &impl ConnectionTrait,
    user: Uuid,
    issuer: &str,
) -> Result<bool, DbErr> {
    Ok(identity::Entity::find()
        .filter(identity::Column::UserId.eq(user))
        .filter(identity::Column::Issuer.eq(issuer))
        .one(db)
        .await?
        .is_some())
}

/// Shortens a session's life.
pub async fn cap_session(
    db: &impl ConnectionTrait,
    id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::ExpiresAt, Expr::value(expires_at))
        .filter(session::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}
