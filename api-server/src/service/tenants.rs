//! Tenants: creating them (platform administrator), listing and renaming them, and the
//! caller's own memberships.

use crate::db::entities::{membership, tenant};
use crate::domain::error::{Error, Result};
use crate::domain::pagination::PageRequest;
use crate::domain::roles::{Action, Role};
use crate::domain::tenants::{CreateTenant, TenantKind, UpdateTenant, UserKind};
use crate::service::access::{Access, Caller};
use crate::store;
use crate::store::tenants::Visible;
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

/// The tenants use cases.
#[derive(Clone)]
pub struct Tenants {
    db: DatabaseConnection,
    access: Access,
}

impl Tenants {
    /// Over `db`, authorizing through `access`.
    pub fn new(db: DatabaseConnection, access: Access) -> Tenants {
        Tenants { db, access }
    }

    /// Creates a tenant and, when named, its first owner (a user found by e-mail or made).
    pub async fn create(&self, who: &Caller, req: &CreateTenant) -> Result<tenant::Model> {
        who.require_platform_admin()?;
        req.check()?;
        let txn = self.db.begin().await?;
        let tenant = store::tenants::insert(
            &txn,
            store::tenants::NewTenant {
                slug: &req.slug,
                name: &req.name,
                kind: req.kind,
            },
        )
        .await
        .map_err(|e| {
            if store::is_unique_violation(&e) {
                Error::Conflict(format!("a tenant with slug `{}` already exists", req.slug))
            } else {
                e.into()
            }
        })?;
        if let Some(o) = &req.owner {
            let user = match store::users::by_email(&txn, &o.email).await? {
                Some(u) => u,
                None => {
                    store::users::insert(
                        &txn,
                        store::users::NewUser {
                            email: Some(&o.email),
                            display_name: &o.display_name,
                            kind: UserKind::Human,
                            is_platform_admin: false,
                        },
                    )
                    .await?
                }
            };
            store::users::add_member(&txn, tenant.id, user.id, Role::Owner).await?;
        }
        txn.commit().await?;
        who.created(tenant.id);
        who.noted_tenant(tenant.id);
        Ok(tenant)
    }

    /// A page of the tenants the caller can see (all, for the platform administrator).
    pub async fn list(
        &self,
        who: &Caller,
        kind: Option<TenantKind>,
        page: &PageRequest,
    ) -> Result<Vec<tenant::Model>> {
        let visible = match who.token_tenant {
            Some(t) => Visible::One {
                tenant: t,
                user: (!who.user.is_platform_admin).then_some(who.user.id),
            },
            None if who.user.is_platform_admin => Visible::All,
            None => Visible::MemberOf(who.user.id),
        };
        Ok(store::tenants::list(&self.db, visible, kind, page).await?)
    }

    /// One tenant the caller belongs to.
    pub async fn get(&self, who: &Caller, id: Uuid) -> Result<tenant::Model> {
        let (_, t) = self.access.tenant_for(who, id, Action::Read).await?;
        Ok(t)
    }

    /// Changes a tenant's display name (owners).
    pub async fn update(
        &self,
        who: &Caller,
        id: Uuid,
        req: &UpdateTenant,
    ) -> Result<tenant::Model> {
        let (_, t) = self
            .access
            .tenant_for(who, id, Action::ManageTenant)
            .await?;
        req.check()?;
        match &req.name {
            Some(name) => Ok(store::tenants::rename(&self.db, t, name).await?),
            None => Ok(t),
        }
    }

    /// The caller's memberships with their tenants, within its credential's scope.
    pub async fn memberships_of(
        &self,
        who: &Caller,
    ) -> Result<Vec<(membership::Model, tenant::Model)>> {
        Ok(store::users::memberships_of(&self.db, who.user.id)
            .await?
            .into_iter()
            .filter(|(m, _)| who.in_scope(m.tenant_id))
            .filter_map(|(m, t)| t.map(|t| (m, t)))
            .collect())
    }
}
