//! Users and their memberships in tenants.

use crate::db::entities::{membership, tenant, user};
use crate::domain::pagination::PageRequest;
use crate::domain::roles::Role;
use crate::domain::tenants::UserKind;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

/// Fields of a new user.
pub struct NewUser<'a> {
    /// E-mail (people) or none (service accounts).
    pub email: Option<&'a str>,
    /// Display name.
    pub display_name: &'a str,
    /// A person or a service account.
    pub kind: UserKind,
    /// Platform administrator flag.
    pub is_platform_admin: bool,
}

/// Inserts a user.
pub async fn insert(db: &impl ConnectionTrait, u: NewUser<'_>) -> Result<user::Model, DbErr> {
    user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(u.email.map(str::to_lowercase)),
        display_name: Set(u.display_name.into()),
        kind: Set(u.kind),
        is_platform_admin: Set(u.is_platform_admin),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
}

/// One user by id.
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

/// A person by e-mail (case-insensitive: e-mails are stored lower-case).
pub async fn by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email.to_lowercase()))
        .one(db)
        .await
}

/// Whether any platform administrator exists.
pub async fn platform_admin_exists(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::IsPlatformAdmin.eq(true))
        .count(db)
        .await?
        > 0)
}

/// The user's membership in one tenant.
pub async fn membership(
    db: &impl ConnectionTrait,
    tenant: Uuid,
    user: Uuid,
) -> Result<Option<membership::Model>, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::TenantId.eq(tenant))
        .filter(membership::Column::UserId.eq(user))
        .one(db)
        .await
}

/// The user's membership in one tenant, with the tenant (one query).
pub async fn membership_with_tenant(
    db: &impl ConnectionTrait,
    tenant: Uuid,
    user: Uuid,
) -> Result<Option<(membership::Model, tenant::Model)>, DbErr> {
    Ok(membership::Entity::find()
        .filter(membership::Column::TenantId.eq(tenant))
        .filter(membership::Column::UserId.eq(user))
        .find_also_related(tenant::Entity)
        .one(db)
        .await?
        .and_then(|(m, t)| t.map(|t| (m, t))))
}

/// Every membership of a user with its tenant, in tenant creation order.
pub async fn memberships_of(
    db: &impl ConnectionTrait,
    user: Uuid,
) -> Result<Vec<(membership::Model, Option<tenant::Model>)>, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::UserId.eq(user))
        .find_also_related(tenant::Entity)
        .order_by_asc(membership::Column::TenantId)
        .all(db)
        .await
}

/// Adds a membership.
pub async fn add_member(
    db: &impl ConnectionTrait,
    tenant: Uuid,
    user: Uuid,
    role: Role,
) -> Result<membership::Model, DbErr> {
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant),
        user_id: Set(user),
        role: Set(role),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
}

/// A page of a tenant's members with their users, ordered by user id.
pub async fn members(
    db: &impl ConnectionTrait,
    tenant: Uuid,
    page: &PageRequest,
) -> Result<Vec<(membership::Model, Option<user::Model>)>, DbErr> {
    let mut q = membership::Entity::find().filter(membership::Column::TenantId.eq(tenant));
    if let Some(after) = page.after.as_deref().and_then(|a| Uuid::try_parse(a).ok()) {
        q = q.filter(membership::Column::UserId.gt(after));
    }
    q.find_also_related(user::Entity)
        .order_by_asc(membership::Column::UserId)
        .limit(page.fetch())
        .all(db)
        .await
}

/// How many owners a tenant has.
/// Locks a tenant's memberships for the rest of the transaction: a no-op write to the
/// tenant's row (a row lock on PostgreSQL, the write lock on SQLite), taken before reading
/// them. Without it two owners demoting each other under READ COMMITTED each count two
/// owners, and the tenant is left with none.
pub async fn lock_memberships(db: &impl ConnectionTrait, tenant: Uuid) -> Result<(), DbErr> {
    use crate::db::entities::tenant;
    use sea_orm::sea_query::Expr;
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::UpdatedAt,
            Expr::col(tenant::Column::UpdatedAt),
        )
        .filter(tenant::Column::Id.eq(tenant))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn owner_count(db: &impl ConnectionTrait, tenant: Uuid) -> Result<u64, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::TenantId.eq(tenant))
        .filter(membership::Column::Role.eq(Role::Owner))
        .count(db)
        .await
}

/// Changes a member's role.
pub async fn set_role(
    db: &impl ConnectionTrait,
    m: membership::Model,
    role: Role,
) -> Result<membership::Model, DbErr> {
    let mut am: membership::ActiveModel = m.into();
    am.role = Set(role);
    am.update(db).await
}

/// Removes a membership (tenant-scoped).
pub async fn remove_member(
    db: &impl ConnectionTrait,
    tenant: Uuid,
    user: Uuid,
) -> Result<u64, DbErr> {
    Ok(membership::Entity::delete_many()
        .filter(membership::Column::TenantId.eq(tenant))
        .filter(membership::Column::UserId.eq(user))
        .exec(db)
        .await?
        .rows_affected)
}

/// Ids of the tenants a user belongs to (used to check token scope quickly).
pub async fn tenant_ids(db: &impl ConnectionTrait, user: Uuid) -> Result<Vec<Uuid>, DbErr> {
    membership::Entity::find()
        .select_only()
        .column(membership::Column::TenantId)
        .filter(membership::Column::UserId.eq(user))
        .into_tuple()
        .all(db)
        .await
}
