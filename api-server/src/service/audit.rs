//! The audit log: one event per state-changing request, read by tenant admins.

use crate::clock::Clock;
use crate::db::entities::audit_event;
use crate::domain::audit::AuditQuery;
use crate::domain::error::{Error, Result};
use crate::domain::pagination::PageRequest;
use crate::domain::roles::Action;
use crate::service::access::{Access, Caller};
use crate::store;
pub use crate::store::audit::NewEvent;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// How many audit events of unauthenticated requests one server writes in a burst; the
/// budget refills at [`ANONYMOUS_PER_SECOND`]. Anyone can send such requests, so without a
/// bound anyone could fill the database; past it they are counted, not written.
pub const ANONYMOUS_BURST: u32 = 600;
/// Refill rate of the anonymous budget, events per second.
pub const ANONYMOUS_PER_SECOND: u32 = 10;

/// A token bucket over the app clock.
#[derive(Debug)]
pub struct Budget {
    tokens: f64,
    at: DateTime<Utc>,
}

impl Budget {
    /// A full bucket.
    pub fn full(now: DateTime<Utc>) -> Budget {
        Budget {
            tokens: f64::from(ANONYMOUS_BURST),
            at: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: DateTime<Utc>) -> bool {
        let elapsed = (now - self.at).num_milliseconds().max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * f64::from(ANONYMOUS_PER_SECOND))
            .min(f64::from(ANONYMOUS_BURST));
        self.at = now.max(self.at);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The audit use cases.
#[derive(Clone)]
pub struct Audit {
    db: DatabaseConnection,
    access: Access,
    clock: Arc<dyn Clock>,
    anonymous: Arc<Mutex<Budget>>,
}

impl Audit {
    /// Over `db`, authorizing through `access`.
    pub fn new(db: DatabaseConnection, access: Access, clock: Arc<dyn Clock>) -> Audit {
        let anonymous = Arc::new(Mutex::new(Budget::full(clock.now())));
        Audit {
            db,
            access,
            clock,
            anonymous,
        }
    }

    /// Records one event; false when it was not written because it came from an
    /// unauthenticated request over the anonymous budget.
    pub async fn record(&self, e: NewEvent) -> Result<bool> {
        if e.actor_user_id.is_none()
            && e.actor_token_id.is_none()
            && !self.anonymous.lock().unwrap().take(self.clock.now())
        {
            return Ok(false);
        }
        store::audit::record(&self.db, e).await?;
        Ok(true)
    }

    /// A page of a tenant's events (its admins), or of every event (the platform
    /// administrator, when no tenant is named), newest first.
    pub async fn list(
        &self,
        who: &Caller,
        tenant: Option<Uuid>,
        filter: &AuditQuery,
        page: &PageRequest,
    ) -> Result<Vec<audit_event::Model>> {
        filter.check()?;
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
        Ok(store::audit::list(&self.db, tenant, filter, page).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anonymous_budget_bursts_then_refills_at_its_rate() {
        let t0 = Utc::now();
        let mut b = Budget::full(t0);
        for _ in 0..ANONYMOUS_BURST {
            assert!(b.take(t0));
        }
        assert!(!b.take(t0), "over the burst");
        assert!(!b.take(t0 + chrono::Duration::milliseconds(50)));
        assert!(
            b.take(t0 + chrono::Duration::milliseconds(100)),
            "one refilled"
        );
        let later = t0 + chrono::Duration::hours(1);
        let taken = (0..ANONYMOUS_BURST * 2).filter(|_| b.take(later)).count();
        assert_eq!(taken as u32, ANONYMOUS_BURST, "never above the burst");
    }
}
