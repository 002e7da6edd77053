//! Idempotency keys of deposit requests.

use crate::db::entities::idempotency_key;
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

/// Claims a key for a request (inserting it pending), or returns what holds it. Keys past
/// their expiry are swept first, so an old key can be used again.
pub async fn claim(db: &impl ConnectionTrait, row: idempotency_key::Model) -> Result<Claim, DbErr> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ExpiresAt.lt(row.created_at))
        .exec(db)
        .await?;
    let (tenant, key) = (row.tenant_id, row.key.clone());
    match idempotency_key::ActiveModel::from(row).insert(db).await {
        Ok(_) => Ok(Claim::New),
        Err(e) if super::is_unique_violation(&e) => {
            let held = idempotency_key::Entity::find_by_id((tenant, key))
                .one(db)
                .await?
                .ok_or(e)?;
            Ok(Claim::Existing(held))
        }
        Err(e) => Err(e),
    }
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
        .filter(idempotency_key::Column::State.eq("pending"))
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
        .filter(idempotency_key::Column::State.eq("pending"))
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
        .col_expr(idempotency_key::Column::State, Expr::value("done"))
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
        .filter(idempotency_key::Column::State.eq("pending"))
        .filter(idempotency_key::Column::LockedUntil.lte(now))
        .filter(idempotency_key::Column::ExpiresAt.gt(now))
        .all(db)
        .await
}
