//! Tenant rows.

use crate::db::entities::{membership, tenant};
use crate::domain::pagination::PageRequest;
use crate::domain::tenants::TenantKind;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set,
};
use uuid::Uuid;

/// Fields of a new tenant.
pub struct NewTenant<'a> {
    /// DNS-label slug.
    pub slug: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Customer or partner.
    pub kind: TenantKind,
}

/// Inserts a tenant.
pub async fn insert(db: &impl ConnectionTrait, t: NewTenant<'_>) -> Result<tenant::Model, DbErr> {
    let now = Utc::now();
    tenant::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(t.slug.into()),
        name: Set(t.name.into()),
        kind: Set(t.kind),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// One tenant by id (callers check access first).
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<tenant::Model>, DbErr> {
    tenant::Entity::find_by_id(id).one(db).await
}

/// Which tenants a listing may show.
pub enum Visible {
    /// Every tenant (platform administrator).
    All,
    /// Tenants where this user is a member.
    MemberOf(Uuid),
    /// Exactly one tenant (a tenant-scoped token), if the user is a member of it.
    One { tenant: Uuid, user: Option<Uuid> },
}

/// A page of tenants ordered by id (creation order).
pub async fn list(
    db: &impl ConnectionTrait,
    visible: Visible,
    kind: Option<TenantKind>,
    page: &PageRequest,
) -> Result<Vec<tenant::Model>, DbErr> {
    let mut q = tenant::Entity::find();
    match visible {
        Visible::All => {}
        Visible::MemberOf(user) => {
            let ids = membership::Entity::find()
                .select_only()
                .column(membership::Column::TenantId)
                .filter(membership::Column::UserId.eq(user));
            q = q.filter(tenant::Column::Id.in_subquery(sea_orm::QueryTrait::into_query(ids)));
        }
        Visible::One { tenant, user } => {
            q = q.filter(tenant::Column::Id.eq(tenant));
            if let Some(user) = user {
                let ids = membership::Entity::find()
                    .select_only()
                    .column(membership::Column::TenantId)
                    .filter(membership::Column::UserId.eq(user));
                q = q.filter(tenant::Column::Id.in_subquery(sea_orm::QueryTrait::into_query(ids)));
            }
        }
    }
    if let Some(kind) = kind {
        q = q.filter(tenant::Column::Kind.eq(kind));
    }
    super::page_by_id(q, tenant::Column::Id, page).all(db).await
}

/// Renames a tenant.
pub async fn rename(
    db: &impl ConnectionTrait,
    t: tenant::Model,
    name: &str,
) -> Result<tenant::Model, DbErr> {
    let mut am: tenant::ActiveModel = t.into();
    am.name = Set(name.into());
    am.updated_at = Set(Utc::now());
    am.update(db).await
}

/// A tenant by slug.
pub async fn by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<tenant::Model>, DbErr> {
    tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(db)
        .await
}
