//! Leader election with a `coordination.k8s.io/v1` Lease, so two or more replicas can run
//! and exactly one reconciles.
//!
//! A replica holds the Lease while it renews it within `leaseDurationSeconds`; another may
//! take it only once it has expired. Every write carries the `resourceVersion` that was read,
//! so of two replicas racing for an expired Lease exactly one wins (the other gets 409).
//! A leader that cannot renew in time stops reconciling before the Lease can pass to another
//! replica: `renew_deadline` < lease duration.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ObjectMeta, PostParams};

/// Settings of the election.
#[derive(Clone, Debug)]
pub struct LeaseSettings {
    pub name: String,
    pub identity: String,
    /// How long a Lease lasts without renewal.
    pub duration: Duration,
    /// How often the holder renews (and a candidate retries).
    pub retry: Duration,
}

impl LeaseSettings {
    pub fn new(name: impl Into<String>, identity: impl Into<String>) -> LeaseSettings {
        LeaseSettings {
            name: name.into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
            retry: Duration::from_secs(3),
        }
    }
}

/// One replica's view of the Lease.
pub struct LeaseLock {
    api: Api<Lease>,
    settings: LeaseSettings,
}

fn micro_now() -> MicroTime {
    MicroTime(Timestamp::now())
}

impl LeaseLock {
    pub fn new(api: Api<Lease>, settings: LeaseSettings) -> LeaseLock {
        LeaseLock { api, settings }
    }

    pub fn settings(&self) -> &LeaseSettings {
        &self.settings
    }

    /// Takes or renews the Lease; `Ok(true)` while this replica holds it.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let s = &self.settings;
        let pp = PostParams {
            field_manager: Some(crate::resources::MANAGER.to_string()),
            ..PostParams::default()
        };
        let Some(lease) = self.api.get_opt(&s.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(s.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(0, micro_now())),
            };
            return match self.api.create(&pp, &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().filter(|h| !h.is_empty());
        let transitions = spec.lease_transitions.unwrap_or(0);
        let new_spec = if holder == Some(s.identity.as_str()) {
            LeaseSpec {
                renew_time: Some(micro_now()),
                lease_duration_seconds: Some(s.duration.as_secs() as i32),
                ..spec
            }
        } else if holder.is_none() || expired(&spec) {
            self.spec(transitions + 1, micro_now())
        } else {
            return Ok(false);
        };
        let updated = Lease {
            metadata: lease.metadata.clone(),
            spec: Some(new_spec),
        };
        match self.api.replace(&s.name, &pp, &updated).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the Lease up (on shutdown) so another replica need not wait for it to expire.
    pub async fn release(&self) -> Result<(), kube::Error> {
        let Some(lease) = self.api.get_opt(&self.settings.name).await? else {
            return Ok(());
        };
        let spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return Ok(());
        }
        let released = Lease {
            metadata: lease.metadata.clone(),
            spec: Some(LeaseSpec {
                holder_identity: None,
                lease_duration_seconds: Some(1),
                renew_time: Some(micro_now()),
                ..spec
            }),
        };
        match self
            .api
            .replace(&self.settings.name, &PostParams::default(), &released)
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn spec(&self, transitions: i32, now: MicroTime) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.settings.identity.clone()),
            lease_duration_seconds: Some(self.settings.duration.as_secs().max(1) as i32),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }
}

/// Whether a Lease's holder let it lapse.
fn expired(spec: &LeaseSpec) -> bool {
    let Some(renewed) = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) else {
        return true;
    };
    let duration = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(15)));
    match renewed.0.checked_add(duration) {
        Ok(until) => until < Timestamp::now(),
        Err(_) => true,
    }
}

/// Keeps the Lease: waits until this replica holds it, then renews it until `stop` fires or a
/// renewal fails for longer than is safe, and tells `leading` as it changes.
pub async fn run(
    lock: LeaseLock,
    leading: tokio::sync::watch::Sender<bool>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let retry = lock.settings().retry;
    // Stop leading well before the Lease could expire for the others.
    let renew_deadline = lock.settings().duration.saturating_sub(retry).max(retry);
    let mut last_renewal: Option<tokio::time::Instant> = None;
    loop {
        match lock.try_acquire_or_renew().await {
            Ok(true) => {
                last_renewal = Some(tokio::time::Instant::now());
                if !*leading.borrow() {
                    tracing::info!(identity = %lock.settings().identity, "became the leader");
                    let _ = leading.send(true);
                }
            }
            Ok(false) => {
                if *leading.borrow() {
                    tracing::warn!("lost the leader Lease to another replica");
                    let _ = leading.send(false);
                }
                last_renewal = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not renew the leader Lease");
                if *leading.borrow() && last_renewal.is_none_or(|t| t.elapsed() >= renew_deadline) {
                    tracing::warn!("stepping down: the Lease may have passed to another replica");
                    let _ = leading.send(false);
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(retry) => {}
            _ = stop.changed() => break,
        }
    }
    if *leading.borrow() {
        let _ = lock.release().await;
        let _ = leading.send(false);
    }
}
