//! What every request handler shares: the services, wired once at start-up.

use crate::clock::Clock;
use crate::domain::tokens::TokenKey;
use crate::metrics::Metrics;
use crate::service::access::cache::AuthCache;
use crate::service::access::{Access, SessionSettings};
use crate::service::alliances::Alliances;
use crate::service::audit::Audit;
use crate::service::chains::{Chains, ChainsDeps};
use crate::service::deposits::Deposits;
use crate::service::governance::Governance;
use crate::service::installations::Installations;
use crate::service::members::Members;
use crate::service::pki::Pki;
use crate::service::signin::{SignIn, SignInDeps};
use crate::service::templates::Templates;
use crate::service::tenants::Tenants;
use crate::service::tokens::Tokens;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;

/// The parts the server is built from: connections, keys, settings.
pub struct Infra {
    /// Database pool.
    pub db: DatabaseConnection,
    /// Key that token secrets are hashed under.
    pub token_key: TokenKey,
    /// How long a verified token's record is cached per process.
    pub auth_cache_ttl: Duration,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// The key-encryption key CA keys and node keys are sealed under.
    pub kek: Arc<consortia_pki::seal::Kek>,
    /// The server's public base URL (CRL distribution points point here).
    pub public_url: String,
    /// Single sign-on, when configured.
    pub sso: Option<Arc<crate::oidc::Oidc>>,
    /// Browser session lifetimes.
    pub sessions: SessionSettings,
    /// Largest marketplace template package accepted (bytes).
    pub template_max_bytes: usize,
    /// Where chains run (local processes or Kubernetes).
    pub runtime: Arc<dyn crate::runtime::Runtime>,
    /// The runtime that outlives the HTTP server: work a request starts but must not end
    /// with it (installing a template once a new chain is up) runs here, not on the actix
    /// worker's runtime, which is dropped when the HTTP server stops.
    pub tasks: tokio::runtime::Handle,
}

/// Shared application state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// Database pool (start-up jobs and readiness; handlers go through services).
    pub db: DatabaseConnection,
    /// Key that token secrets are hashed under.
    pub token_key: TokenKey,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Where "now" comes from (proposal and invitation expiry).
    pub clock: Arc<dyn Clock>,
    /// The key-encryption key CA keys are sealed under.
    pub kek: Arc<consortia_pki::seal::Kek>,
    /// The server's public base URL (CRL distribution points point here).
    pub public_url: String,
    /// Single sign-on, when configured.
    pub sso: Option<Arc<crate::oidc::Oidc>>,
    /// Browser session lifetimes.
    pub sessions: SessionSettings,
    /// Where chains run (local processes or Kubernetes).
    pub runtime: Arc<dyn crate::runtime::Runtime>,
    /// Tenants' service accounts on chains (evidence deposits).
    pub signer: Arc<crate::service::signer::Signer>,
    /// See [`Infra::tasks`].
    pub tasks: tokio::runtime::Handle,
    /// Authentication and authorization.
    pub access: Access,
    /// Tenants.
    pub tenants: Tenants,
    /// Members of tenants.
    pub members: Members,
    /// The marketplace.
    pub templates: Templates,
    /// Signing in and browser sessions.
    pub signin: SignIn,
    /// Templates installed on chains.
    pub installations: Installations,
    /// Chains of alliances.
    pub chains: Chains,
    /// The evidence-deposit service.
    pub deposits: Deposits,
    /// Alliances' certificate authorities and certificates.
    pub pki: Pki,
    /// Who sees an alliance and acts for its members.
    pub alliances: Alliances,
    /// Alliances' founding, membership, proposals, votes and invitations.
    pub governance: Governance,
    /// API tokens.
    pub tokens: Tokens,
    /// The audit log.
    pub audit: Audit,
    /// The live feed (server-sent events).
    pub live: crate::service::live::Live,
    /// CRLs signed by this server, while current.
    pub crls: Arc<crate::service::crls::CrlCache>,
}

impl AppState {
    /// Wires the services over `infra`.
    pub fn new(infra: Infra) -> AppState {
        let Infra {
            db,
            token_key,
            auth_cache_ttl,
            clock,
            kek,
            public_url,
            sso,
            sessions,
            template_max_bytes,
            runtime,
            tasks,
        } = infra;
        let access = Access::new(
            db.clone(),
            token_key.clone(),
            Arc::new(AuthCache::new(auth_cache_ttl)),
            clock.clone(),
            sessions,
        );
        let metrics = Arc::new(Metrics::default());
        let crls: Arc<crate::service::crls::CrlCache> = Arc::new(Default::default());
        let alliances = Alliances::new(db.clone(), access.clone());
        let templates = Templates::new(
            db.clone(),
            access.clone(),
            clock.clone(),
            template_max_bytes,
        );
        let signer = Arc::new(crate::service::signer::Signer::new(
            db.clone(),
            kek.clone(),
            clock.clone(),
            runtime.clone(),
            tasks.clone(),
        ));
        let installations = Installations::new(
            db.clone(),
            alliances.clone(),
            templates.clone(),
            signer.clone(),
            runtime.clone(),
            clock.clone(),
            tasks.clone(),
        );
        AppState {
            tenants: Tenants::new(db.clone(), access.clone()),
            members: Members::new(
                db.clone(),
                access.clone(),
                token_key.clone(),
                clock.clone(),
                public_url.clone(),
            ),
            alliances: alliances.clone(),
            governance: Governance::new(
                db.clone(),
                access.clone(),
                alliances.clone(),
                kek.clone(),
                clock.clone(),
            ),
            signin: SignIn::new(SignInDeps {
                db: db.clone(),
                token_key: token_key.clone(),
                kek: kek.clone(),
                clock: clock.clone(),
                sso: sso.clone(),
                settings: sessions,
                public_url: public_url.clone(),
            }),
            deposits: Deposits::new(db.clone(), access.clone(), signer.clone(), clock.clone()),
            chains: Chains::new(ChainsDeps {
                db: db.clone(),
                access: access.clone(),
                alliances: alliances.clone(),
                templates: templates.clone(),
                installations: installations.clone(),
                signer: signer.clone(),
                runtime: runtime.clone(),
                kek: kek.clone(),
                clock: clock.clone(),
            }),
            templates,
            installations,
            tokens: Tokens::new(db.clone(), access.clone(), token_key.clone(), clock.clone()),
            audit: Audit::new(db.clone(), access.clone(), clock.clone()),
            live: crate::service::live::Live::new(
                db.clone(),
                access.clone(),
                runtime.clone(),
                clock.clone(),
                tasks.clone(),
            ),
            signer,
            pki: Pki::new(
                db.clone(),
                access.clone(),
                kek.clone(),
                clock.clone(),
                metrics.clone(),
                crls.clone(),
                public_url.clone(),
            ),
            metrics,
            crls,
            db,
            token_key,
            clock,
            kek,
            public_url,
            sso,
            sessions,
            runtime,
            tasks,
            access,
        }
    }

    /// Configures single sign-on after start (tests start an identity provider first).
    pub fn set_sso(&mut self, sso: Option<Arc<crate::oidc::Oidc>>) {
        self.sso = sso;
        self.rebuild_signin();
    }

    /// Changes session lifetimes and limits after start.
    pub fn set_sessions(&mut self, sessions: SessionSettings) {
        self.sessions = sessions;
        self.rebuild_signin();
    }

    fn rebuild_signin(&mut self) {
        self.signin = SignIn::new(SignInDeps {
            db: self.db.clone(),
            token_key: self.token_key.clone(),
            kek: self.kek.clone(),
            clock: self.clock.clone(),
            sso: self.sso.clone(),
            settings: self.sessions,
            public_url: self.public_url.clone(),
        });
    }
}
