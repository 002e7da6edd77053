//! Idempotency keys of deposit requests.

use crate::db::entities::idempotency_key;
use crate::domain::deposits::KeyState;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

/// What claiming a key found.
pub enum Claim {
    /// The key is new: this request owns it.
    New,
    /// The key was used before.
    Existing(idempotency_key::Model),
}

/// Claims a key for a request (inserting it pending), or returns what holds it. A key past
/// its expiry is deleted and claimed afresh (the sweep deletes the others, see
/// [`sweep_expired`], so a request costs no extra write for it).
pub async fn claim(db: &impl ConnectionTrait, row: idempotency_key::Model) -> Result<Claim, DbErr> {
    let (tenant, key, now) = (row.tenant_id, row.key.clone(), row.created_at);
    match idempotency_key::ActiveModel::from(row.clone())
        .insert(db)
        .await
    {
        Ok(_) => return Ok(Claim::New),
        Err(e) if super::is_unique_violation(&e) => {}
        Err(e) => return Err(e),
    }
    let Some(held) = idempotency_key::Entity::find_by_id((tenant, key.clone()))
        .one(db)
        .await?
    else {
        // Deleted meanwhile: claim it now.
        return Box::pin(claim(db, row)).await;
    };
    if held.expires_at > now {
        return Ok(Claim::Existing(held));
    }
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::TenantId.eq(tenant))
        .filter(idempotency_key::Column::Key.eq(key))
        .filter(idempotency_key::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    match idempotency_key::ActiveModel::from(row).insert(db).await {
        Ok(_) => Ok(Claim::New),
        Err(e) if super::is_unique_violation(&e) => Ok(Claim::Existing(held)),
        Err(e) => Err(e),
    }
}

/// Deletes every expired key; run by the background sweep.
pub async fn sweep_expired(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}

/// Takes over a pending key whose last attempt's lease ran out; false when another attempt
/// holds it (or it is done).
pub async fn take_over(
    db: &impl ConnectionTrait,
    tenant: Uuid,
    key: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let r = idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::LockedUntil, Expr::value(until))
        .filter(idempotency_key::Column::TenantId.eq(tenant))
        .filter(idempotency_key::Column::Key.eq(key))
        .filter(idempotency_key::Column::State.eq(KeyState::Pending))
        .filter(idempotency_key::Column::LockedUntil.lte(now))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Ends an attempt's lease early (it failed): a retry may take over at once.
pub async fn unlock(
    db: &impl ConnectionTrait,
    tenant: Uuid,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::LockedUntil, Expr::value(now))
        .filter(idempotency_key::Column::TenantId.eq(tenant))
        .filter(idempotency_key::Column::Key.eq(key))
        .filter(idempotency_key::Column::State.eq(KeyState::Pending))
        .exec(db)
        .await?;
    Ok(())
}

/// Records a key's answer (in the transaction that records the deposits).
pub async fn complete(
    db: &impl ConnectionTrait,
    tenant: Uuid,
    key: &str,
    response: String,
) -> Result<(), DbErr> {
    idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::State,
            Expr::value(KeyState::Done.as_str()),
        )
        .col_expr(idempotency_key::Column::Response, Expr::value(response))
        .filter(idempotency_key::Column::TenantId.eq(tenant))
        .filter(idempotency_key::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

/// Drops a key (an internal one, once its deposits are recorded).
pub async fn drop_key(db: &impl ConnectionTrait, tenant: Uuid, key: &str) -> Result<(), DbErr> {
    idempotency_key::Entity::delete_by_id((tenant, key.to_string()))
        .exec(db)
        .await?;
    Ok(())
}

/// Pending keys no attempt holds: requests that stopped (a crash, a timeout) between the
/// chain and the database.
pub async fn abandoned(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Vec<idempotency_key::Model>, DbErr> {
    idempotency_key::Entity::find()
        .filter(idempotency_key::Column::State.eq(KeyState::Pending))
        .filter(idempotency_key::Column::LockedUntil.lte(now))
        .filter(idempotency_key::Column::ExpiresAt.gt(now))
        .all(db)
        .await
}
