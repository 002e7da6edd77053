//! Signed CRLs, kept while current: a CRL is signed when a CA's revocations change or the
//! last one is an hour old, each with a new CRL number, instead of on every request (which
//! re-signed the same number with a new thisUpdate, against RFC 5280, and let anonymous
//! callers make the server sign at will).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// How long a CRL stays valid (its nextUpdate), in hours.
pub const CRL_VALID_HOURS: u32 = 24;

/// A CRL older than this is signed again (well before its nextUpdate).
pub fn resign_after() -> Duration {
    Duration::hours(1)
}

/// One signed CRL and what it covers.
#[derive(Clone, Debug)]
pub struct SignedCrl {
    /// How many certificates it lists as revoked (revocation is final, so a change in this
    /// count is a change in the list).
    pub revoked: usize,
    pub number: u64,
    pub signed_at: DateTime<Utc>,
    pub der: Vec<u8>,
    pub pem: String,
}

/// The latest CRL signed for each CA by this server.
#[derive(Default)]
pub struct CrlCache {
    signed: Mutex<HashMap<Uuid, SignedCrl>>,
}

impl CrlCache {
    /// The CA's cached CRL if it still lists exactly `revoked` certificates and is fresh.
    pub fn current(&self, ca: Uuid, revoked: usize, now: DateTime<Utc>) -> Option<SignedCrl> {
        let signed = self.signed.lock().unwrap();
        signed
            .get(&ca)
            .filter(|c| c.revoked == revoked && now - c.signed_at < resign_after())
            .cloned()
    }

    /// Keeps a newly signed CRL (unless a newer one was kept meanwhile).
    pub fn keep(&self, ca: Uuid, crl: SignedCrl) {
        let mut signed = self.signed.lock().unwrap();
        if signed.get(&ca).is_none_or(|old| old.number < crl.number) {
            signed.insert(ca, crl);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crl(revoked: usize, number: u64, signed_at: DateTime<Utc>) -> SignedCrl {
        SignedCrl {
            revoked,
            number,
            signed_at,
            der: vec![],
            pem: String::new(),
        }
    }

    #[test]
    fn a_crl_is_current_until_revocations_change_or_it_ages() {
        let cache = CrlCache::default();
        let ca = Uuid::now_v7();
        let t0 = Utc::now();
        assert!(cache.current(ca, 0, t0).is_none());
        cache.keep(ca, crl(0, 5, t0));
        assert_eq!(cache.current(ca, 0, t0).unwrap().number, 5);
        assert!(cache.current(ca, 1, t0).is_none(), "a new revocation");
        assert!(cache.current(ca, 0, t0 + resign_after()).is_none(), "aged");
        cache.keep(ca, crl(0, 4, t0));
        assert_eq!(
            cache.current(ca, 0, t0).unwrap().number,
            5,
            "older kept out"
        );
    }
}
