//! The live feed: what changes on screen without a reload — entries of alliances' event
//! feeds, invitations, and chains' phase and height — pushed to each subscriber filtered by
//! what it may read, exactly as the REST routes would filter it.
//!
//! One hub per server reads the changes (alliance events from the database, so events
//! written by every replica are seen; chain reports from the runtime) while anyone listens,
//! and broadcasts them in process; each subscription keeps only what its caller may see,
//! re-reads its caller's tenants and alliances as they change, and ends when its credential
//! is revoked or expires. The database is the source, not a notification channel, because
//! SQLite has none and because an event is never lost to a missed notification: the hub
//! re-reads a window of recent events and remembers which it has sent.

use crate::clock::Clock;
use crate::db::entities::alliance_event;
use crate::domain::error::{Error, Result};
use crate::domain::roles::Action;
use crate::runtime::{Phase, Runtime};
use crate::service::access::{Access, Caller, TenantScope};
use crate::store;
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::DatabaseConnection;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;
use uuid::Uuid;

/// How often the hub reads new alliance events.
pub const EVENT_TICK: Duration = Duration::from_millis(500);
/// How often the hub reads the chains' reports (every this many event ticks).
const CHAIN_EVERY: u32 = 4;
/// How far back each read of alliance events reaches: an event whose transaction commits
/// this long after it was written is still seen.
const LOOKBACK: chrono::Duration = chrono::Duration::seconds(30);
/// Most events one read takes (the rest come on the next tick).
const EVENT_BATCH: u64 = 500;
/// Changes a slow subscriber may fall behind by before it is told to read everything again.
const BUFFER: usize = 1024;
/// How often a subscription re-reads its caller's tenants and alliances and re-checks its
/// credential.
pub const RECHECK: Duration = Duration::from_secs(10);
/// Longest silence on a subscription before a keep-alive.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// A chain's phase, height and message, as its runtime reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainPulse {
    pub chain_id: Uuid,
    pub alliance_id: Uuid,
    pub phase: Phase,
    pub height: Option<u64>,
    pub message: Option<String>,
    /// Nodes running, of all the chain's nodes.
    pub nodes_running: u32,
    pub nodes: u32,
}

/// One change the hub saw.
#[derive(Debug)]
pub enum Change {
    /// An entry was appended to an alliance's event feed.
    Event(alliance_event::Model),
    /// A chain's report changed.
    Chain(ChainPulse),
}

/// What a subscriber receives.
#[derive(Debug)]
pub enum Delivery {
    /// A change in an alliance the caller's tenant belongs to: an entry of its event feed,
    /// or one of its chains' report.
    Member(Arc<Change>),
    /// An invitation addressed to one of the caller's tenants changed (`kind` is the
    /// alliance event's: `invitation_sent`, `invitation_rejected`, `invitation_expired`);
    /// the alliance's other events stay private to its members.
    Invitation {
        kind: String,
        alliance_id: Uuid,
        invitation_id: Option<Uuid>,
        tenant_id: Uuid,
        at: DateTime<Utc>,
    },
    /// The subscriber fell behind and missed changes: read everything again.
    Resync,
    /// Nothing happened for a while.
    KeepAlive,
}

/// The live-feed use case.
#[derive(Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    access: Access,
    runtime: Arc<dyn Runtime>,
    clock: Arc<dyn Clock>,
    tasks: tokio::runtime::Handle,
    tx: broadcast::Sender<Arc<Change>>,
    running: AtomicBool,
    /// True once the server is stopping: every subscription ends, so that open streams do
    /// not hold a graceful shutdown for its whole timeout.
    closed: tokio::sync::watch::Sender<bool>,
}

impl Live {
    /// Over `db` and `runtime`; the hub runs on `tasks` once someone subscribes.
    pub fn new(
        db: DatabaseConnection,
        access: Access,
        runtime: Arc<dyn Runtime>,
        clock: Arc<dyn Clock>,
        tasks: tokio::runtime::Handle,
    ) -> Live {
        let (tx, _) = broadcast::channel(BUFFER);
        Live {
            inner: Arc::new(Inner {
                db,
                access,
                runtime,
                clock,
                tasks,
                tx,
                running: AtomicBool::new(false),
                closed: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    /// Ends every subscription, now and to come (the server is stopping).
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
    }

    /// Subscribes `who` to what it may read: `tenant`'s alliances and chains (read access
    /// needed), or every tenant's it belongs to as its credential acts (everything, for the
    /// platform administrator).
    pub async fn subscribe(&self, who: &Caller, tenant: Option<Uuid>) -> Result<Subscription> {
        let rx = self.inner.tx.subscribe();
        let closed = self.inner.closed.subscribe();
        if *closed.borrow() {
            return Err(Error::Unavailable("the server is stopping".into()));
        }
        if !self.inner.running.swap(true, Ordering::SeqCst) {
            self.inner.tasks.spawn(hub(Arc::downgrade(&self.inner)));
        }
        let mut sub = Subscription {
            live: self.clone(),
            who: who.clone(),
            asked: tenant,
            rx,
            closed,
            // Databases keep microseconds (PostgreSQL) or less: an event written in the same
            // instant as the subscription must not read back as older than it.
            from: self.inner.clock.now().trunc_subsecs(3),
            tenants: None,
            alliances: None,
            checked: Instant::now(),
            last_sent: Instant::now(),
        };
        // The request was authenticated a moment ago: only the scope is read.
        sub.read_scope().await?;
        Ok(sub)
    }
}

/// One subscriber's view of the feed.
pub struct Subscription {
    live: Live,
    who: Caller,
    asked: Option<Uuid>,
    rx: broadcast::Receiver<Arc<Change>>,
    closed: tokio::sync::watch::Receiver<bool>,
    /// Events written before the subscription are not its news.
    from: DateTime<Utc>,
    /// The caller's tenants (`None`: every tenant).
    tenants: Option<HashSet<Uuid>>,
    /// Their alliances (`None`: every alliance).
    alliances: Option<HashSet<Uuid>>,
    checked: Instant,
    last_sent: Instant,
}

impl Subscription {
    /// The next change the caller may see, a keep-alive after [`KEEP_ALIVE`] of silence, or
    /// `None` when the feed ends (the credential was revoked or expired, or the caller lost
    /// access to the tenant it asked for, or the server is stopping: [`Live::close`]).
    pub async fn next(&mut self) -> Option<Delivery> {
        loop {
            if self.checked.elapsed() >= RECHECK && self.recheck().await.is_err() {
                return None;
            }
            let wake = (self.checked + RECHECK).min(self.last_sent + KEEP_ALIVE);
            let got = tokio::select! {
                got = tokio::time::timeout_at(wake, self.rx.recv()) => got,
                _ = self.closed.wait_for(|c| *c) => return None,
            };
            let delivery = match got {
                Err(_) if self.last_sent.elapsed() >= KEEP_ALIVE => Some(Delivery::KeepAlive),
                Err(_) => None,
                Ok(Ok(change)) => {
                    // A tenant of the caller founded or joined an alliance: read its
                    // alliances again now, not at the next recheck, or the first events
                    // of its new alliance would be missed.
                    if self.opens_alliance(&change) && self.recheck().await.is_err() {
                        return None;
                    }
                    self.visible(change)
                }
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => Some(Delivery::Resync),
                Ok(Err(broadcast::error::RecvError::Closed)) => return None,
            };
            if let Some(d) = delivery {
                self.last_sent = Instant::now();
                return Some(d);
            }
        }
    }

    /// Whether `change` may add an alliance to the caller's: a founding or a joining, in an
    /// alliance it does not know yet.
    fn opens_alliance(&self, change: &Change) -> bool {
        match (change, &self.alliances) {
            (Change::Event(e), Some(known)) => {
                matches!(e.kind.as_str(), "alliance_created" | "member_joined")
                    && !known.contains(&e.alliance_id)
            }
            _ => false,
        }
    }

    /// What of `change` the caller may see.
    fn visible(&self, change: Arc<Change>) -> Option<Delivery> {
        let member_of = |a: &Uuid| self.alliances.as_ref().is_none_or(|s| s.contains(a));
        match &*change {
            Change::Event(e) if e.created_at < self.from => None,
            Change::Event(e) if member_of(&e.alliance_id) => Some(Delivery::Member(change)),
            Change::Event(e) if e.kind.starts_with("invitation_") => {
                let tenant = e.data.get("tenant_id")?.as_str()?.parse::<Uuid>().ok()?;
                if !self.tenants.as_ref()?.contains(&tenant) {
                    return None;
                }
                Some(Delivery::Invitation {
                    kind: e.kind.clone(),
                    alliance_id: e.alliance_id,
                    invitation_id: e
                        .data
                        .get("invitation_id")
                        .and_then(|v| v.as_str())
                        .and_then(|v| v.parse().ok()),
                    tenant_id: tenant,
                    at: e.created_at,
                })
            }
            Change::Event(_) => None,
            Change::Chain(c) if member_of(&c.alliance_id) => Some(Delivery::Member(change)),
            Change::Chain(_) => None,
        }
    }

    /// Re-checks the credential, then re-reads the caller's tenants and their alliances.
    async fn recheck(&mut self) -> Result<()> {
        if !self.live.inner.access.still_valid(&self.who).await? {
            return Err(Error::Unauthenticated(
                "the credential was revoked or expired".into(),
            ));
        }
        self.read_scope().await
    }

    /// Reads the caller's tenants and their alliances (the credential was just checked, or
    /// is checked by [`Subscription::recheck`]).
    async fn read_scope(&mut self) -> Result<()> {
        let inner = &self.live.inner;
        let scope = inner
            .access
            .scope(&self.who, self.asked, Action::Read)
            .await?;
        match scope {
            TenantScope::All => {
                self.tenants = None;
                self.alliances = None;
            }
            TenantScope::Only(tenants) => {
                let alliances = store::alliances::ids_of_tenants(&inner.db, &tenants).await?;
                self.alliances = Some(alliances.into_iter().collect());
                self.tenants = Some(tenants.into_iter().collect());
            }
        }
        self.checked = Instant::now();
        Ok(())
    }
}

/// Reads changes while anyone listens; stops when the feed is dropped or no one listens.
async fn hub(inner: Weak<Inner>) {
    let mut sent: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    let mut chains: HashMap<Uuid, ChainPulse> = HashMap::new();
    let mut tick: u32 = 0;
    loop {
        tokio::time::sleep(EVENT_TICK).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if inner.tx.receiver_count() == 0 {
            inner.running.store(false, Ordering::SeqCst);
            // A subscriber that came between the count and the store restarts the hub.
            if inner.tx.receiver_count() == 0 || inner.running.swap(true, Ordering::SeqCst) {
                return;
            }
        }
        if let Err(e) = read_events(&inner, &mut sent).await {
            tracing::warn!(error = %e, "live feed: could not read alliance events");
        }
        if tick.is_multiple_of(CHAIN_EVERY)
            && let Err(e) = read_chains(&inner, &mut chains).await
        {
            tracing::warn!(error = %e, "live feed: could not read chains");
        }
        tick = tick.wrapping_add(1);
    }
}

async fn read_events(inner: &Inner, sent: &mut HashMap<Uuid, DateTime<Utc>>) -> Result<()> {
    let since = inner.clock.now() - LOOKBACK;
    let rows = store::alliances::events_since(&inner.db, since, EVENT_BATCH).await?;
    sent.retain(|_, at| *at >= since);
    for e in rows {
        if sent.insert(e.id, e.created_at).is_none() {
            let _ = inner.tx.send(Arc::new(Change::Event(e)));
        }
    }
    Ok(())
}

async fn read_chains(inner: &Inner, last: &mut HashMap<Uuid, ChainPulse>) -> Result<()> {
    let rows = store::chains::all(&inner.db).await?;
    let ids: HashSet<Uuid> = rows.iter().map(|c| c.id).collect();
    last.retain(|id, _| ids.contains(id));
    for c in rows {
        let report = inner.runtime.report(c.id).await;
        let pulse = ChainPulse {
            chain_id: c.id,
            alliance_id: c.alliance_id,
            phase: report.phase,
            height: report.height,
            message: report.message.clone(),
            nodes_running: report
                .nodes
                .iter()
                .filter(|n| n.state == crate::runtime::NodeState::Running)
                .count() as u32,
            nodes: report.nodes.len() as u32,
        };
        if last.get(&c.id) != Some(&pulse) {
            last.insert(c.id, pulse.clone());
            let _ = inner.tx.send(Arc::new(Change::Chain(pulse)));
        }
    }
    Ok(())
}
