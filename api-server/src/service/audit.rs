//! The audit log: one event per state-changing request, read by tenant admins.

use crate::db::entities::audit_event;
use crate::domain::error::{Error, Result};
use crate::domain::pagination::PageRequest;
use crate::domain::roles::Action;
use crate::service::access::{Access, Caller};
use crate::store;
pub use crate::store::audit::NewEvent;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

/// The audit use cases.
#[derive(Clone)]
pub struct Audit {
    db: DatabaseConnection,
    access: Access,
}

impl Audit {
    /// Over `db`, authorizing through `access`.
    pub fn new(db: DatabaseConnection, access: Access) -> Audit {
        Audit { db, access }
    }

    /// Records one event.
    pub async fn record(&self, e: NewEvent) -> Result<()> {
        Ok(store::audit::record(&self.db, e).await?)
    }

    /// A page of a tenant's events (its admins), or of every event (the platform
    /// administrator, when no tenant is named), newest first.
    pub async fn list(
        &self,
        who: &Caller,
        tenant: Option<Uuid>,
        page: &PageRequest,
    ) -> Result<Vec<audit_event::Model>> {
        let tenant = match tenant.or(who.token_tenant) {
            Some(t) => {
                self.access.role_in(who, t, Action::ReadAudit).await?;
                Some(t)
            }
            None if who.is_platform_admin() => None,
            None => {
                return Err(Error::Malformed(
                    "tenant_id is required: name the tenant whose events to list".into(),
                ));
            }
        };
        Ok(store::audit::list(&self.db, tenant, page).await?)
    }
}
