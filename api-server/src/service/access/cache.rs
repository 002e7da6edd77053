//! A short-lived cache of authenticated tokens, so reads do not pay a database round trip
//! to authenticate.
//!
//! The secret is still checked against the cached hash on every request. Revocations made
//! through this process drop the entry at once; on other replicas an entry lives at most
//! the TTL (default 5 s, `CONSORTIA_AUTH_CACHE_TTL`; 0 turns the cache off). For scale: the
//! Kubernetes API server caches webhook token reviews for 2 minutes.

use super::Authenticated;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Most entries kept; when full the cache starts over (cheap and bounded).
const MAX_ENTRIES: usize = 10_000;

/// Token id → what authenticating it read from the database, with the time it was read.
pub struct AuthCache {
    ttl: Duration,
    entries: RwLock<HashMap<Uuid, (Instant, Authenticated)>>,
}

impl AuthCache {
    /// A cache whose entries live `ttl`; a zero TTL caches nothing.
    pub fn new(ttl: Duration) -> Self {
        AuthCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// A fresh cached entry, if any.
    pub fn get(&self, id: Uuid) -> Option<Authenticated> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().ok()?;
        let (at, a) = entries.get(&id)?;
        (at.elapsed() < self.ttl).then(|| a.clone())
    }

    /// Remembers a token read from the database.
    pub fn put(&self, a: Authenticated) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(a.token.id, (Instant::now(), a));
        }
    }

    /// Forgets one token (after revocation).
    pub fn forget(&self, id: Uuid) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(&id);
        }
    }

    /// Forgets everything (after changes that touch many tokens).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::entities::{api_token, user};
    use chrono::Utc;

    fn rows() -> Authenticated {
        let now = Utc::now();
        let u = user::Model {
            id: Uuid::now_v7(),
            email: None,
            display_name: "u".into(),
            kind: crate::domain::tenants::UserKind::Human,
            is_platform_admin: false,
            created_at: now,
        };
        let t = api_token::Model {
            id: Uuid::now_v7(),
            user_id: u.id,
            tenant_id: None,
            name: "t".into(),
            secret_hash: "h".into(),
            created_by: u.id,
            created_at: now,
            expires_at: None,
            revoked_at: None,
        };
        Authenticated {
            token: t,
            user: u,
            role_cap: None,
        }
    }

    #[test]
    fn entries_expire_and_can_be_forgotten() {
        // Long enough that a stalled test thread does not see the entry expire early.
        let cache = AuthCache::new(Duration::from_millis(1000));
        let a = rows();
        let id = a.token.id;
        cache.put(a.clone());
        assert!(cache.get(id).is_some());
        cache.forget(id);
        assert!(cache.get(id).is_none());
        cache.put(a);
        std::thread::sleep(Duration::from_millis(1100));
        assert!(cache.get(id).is_none(), "stale entries are not served");
    }

    #[test]
    fn zero_ttl_caches_nothing() {
        let cache = AuthCache::new(Duration::ZERO);
        let a = rows();
        let id = a.token.id;
        cache.put(a);
        assert!(cache.get(id).is_none());
    }
}
