//! Signing in: single sign-on (OIDC authorization code with PKCE), the local login (an API
//! token exchanged for a browser session), and the sessions a person holds. Who gets in by
//! single sign-on: a linked identity, a user with the same verified e-mail, an invitation
//! link, or a group mapping; anyone else is told they belong nowhere and nothing is stored.

use crate::clock::Clock;
use crate::db::entities::{login_request, session, tenant_invite, user};
use crate::domain::error::{Error, Result};
use crate::domain::pagination::PageRequest;
use crate::domain::roles::Role;
use crate::domain::tokens::{self, TokenKey};
use crate::oidc::{ExternalIdentity, Oidc, OidcError};
use crate::service::access::{Authenticated, Caller, SessionSettings};
use crate::store;
use chrono::{Duration, Utc};
use consortia_pki::seal::Kek;
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

/// How long a sign-in may take, from `/auth/login` to the callback.
pub const LOGIN_TTL_SECS: i64 = 600;
const NOT_A_MEMBER: &str = "you signed in, but you are not a member of any tenant: ask a tenant administrator for an invitation link";

/// Sealed part of a pending login.
#[derive(Serialize, Deserialize)]
struct PendingSecrets {
    nonce: String,
    pkce_verifier: String,
}

fn oidc_error(e: OidcError) -> Error {
    match e {
        OidcError::Unavailable(_) => Error::Unavailable(e.to_string()),
        OidcError::Refused(_) | OidcError::InvalidToken(_) => {
            Error::Unauthenticated(format!("sign-in refused: {e}"))
        }
    }
}

fn check_return_to(r: Option<&str>) -> Result<String> {
    let r = r.unwrap_or("/");
    let ok = r.starts_with('/')
        && !r.starts_with("//")
        && !r.contains('\\')
        && r.len() <= 512
        && !r.chars().any(char::is_control);
    if ok {
        Ok(r.to_string())
    } else {
        Err(Error::Malformed(
            "`return_to` must be a path on this site, starting with a single `/`".into(),
        ))
    }
}

/// A sign-in begun: where to send the browser, and the secret the browser keeps (in a
/// cookie) to prove at the callback that it started this sign-in.
pub struct Begun {
    /// The identity provider's authorization URL.
    pub url: String,
    /// The browser's secret.
    pub browser: String,
}

/// What the identity provider sent back.
pub struct Callback<'a> {
    /// The authorization code.
    pub code: Option<&'a str>,
    /// The `state` sent at login.
    pub state: Option<&'a str>,
    /// An error code, when the provider refused.
    pub error: Option<&'a str>,
    /// The provider's explanation of `error`.
    pub error_description: Option<&'a str>,
}

/// A session started: its secret (the cookie's value, shown once) and its row.
pub struct Started {
    /// The session secret.
    pub secret: String,
    /// The session.
    pub session: session::Model,
    /// Who it is for.
    pub user: user::Model,
    /// Where the browser goes next.
    pub return_to: String,
}

/// How a session was started.
enum Origin<'a> {
    /// Single sign-on.
    Oidc {
        identity: &'a ExternalIdentity,
        id_token: &'a str,
    },
    /// The local login: an API token exchanged for a session, which ends with the token.
    Token(Uuid),
}

/// The sign-in use cases.
#[derive(Clone)]
pub struct SignIn {
    db: DatabaseConnection,
    token_key: TokenKey,
    kek: Arc<Kek>,
    clock: Arc<dyn Clock>,
    sso: Option<Arc<Oidc>>,
    settings: SessionSettings,
    public_url: String,
}

/// A refused token, said for a person at the sign-in form rather than for a client that
/// forgot its header.
pub fn token_refused(e: Error) -> Error {
    match e {
        Error::Unauthenticated(_) => Error::Unauthenticated(
            "this API token is not valid: it is unknown, expired or revoked (on a new \
             installation the platform administrator's token is in the data directory's \
             `bootstrap-token` file)"
                .into(),
        ),
        other => other,
    }
}

/// What a [`SignIn`] service is built from.
pub struct SignInDeps {
    /// Database pool.
    pub db: DatabaseConnection,
    /// What secrets are hashed under.
    pub token_key: TokenKey,
    /// What pending logins' secrets and ID tokens are sealed under.
    pub kek: Arc<Kek>,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// The identity provider, when single sign-on is configured.
    pub sso: Option<Arc<Oidc>>,
    /// Session lifetimes and limits.
    pub settings: SessionSettings,
    /// The server's public base URL.
    pub public_url: String,
}

impl SignIn {
    /// From its parts.
    pub fn new(d: SignInDeps) -> SignIn {
        SignIn {
            db: d.db,
            token_key: d.token_key,
            kek: d.kek,
            clock: d.clock,
            sso: d.sso,
            settings: d.settings,
            public_url: d.public_url,
        }
    }

    /// The identity provider's issuer, when single sign-on is configured.
    pub fn issuer(&self) -> Option<String> {
        self.sso.as_ref().map(|s| s.settings.issuer.clone())
    }

    fn oidc(&self) -> Result<&Oidc> {
        self.sso.as_deref().ok_or_else(|| {
            Error::NotFound(
                "single sign-on is not configured on this server (set CONSORTIA_OIDC_ISSUER); \
                 use an API token, e.g. the bootstrap administrator's"
                    .into(),
            )
        })
    }

    /// A usable invitation with this token, or a clear refusal.
    async fn usable_invite(&self, token: &str) -> Result<tenant_invite::Model> {
        let refused = || {
            Error::Malformed(
                "this invitation link is not valid: it was used, revoked, has expired, or never existed"
                    .into(),
            )
        };
        if token.is_empty() || token.len() > 100 {
            return Err(refused());
        }
        let inv = store::sessions::invite_by_hash(&self.db, &self.token_key.hash(token))
            .await?
            .ok_or_else(refused)?;
        if inv.used_at.is_some() || inv.revoked_at.is_some() || inv.expires_at <= self.clock.now() {
            return Err(refused());
        }
        Ok(inv)
    }

    /// Begins a sign-in (authorization code with PKCE S256, `state` and `nonce`): records it
    /// (at most `max_pending_logins` at once), sealing its secrets.
    pub async fn begin(&self, return_to: Option<&str>, invite: Option<&str>) -> Result<Begun> {
        let oidc = self.oidc()?;
        let return_to = check_return_to(return_to)?;
        let invite_hash = match invite {
            Some(t) => Some(self.usable_invite(t).await?.token_hash),
            None => None,
        };
        if store::sessions::pending_logins(&self.db, Utc::now()).await?
            >= self.settings.max_pending_logins
        {
            return Err(Error::Unavailable(
                "too many sign-ins are in progress; try again in a minute".into(),
            ));
        }
        let start = oidc.begin().await.map_err(oidc_error)?;
        let browser = tokens::random_secret();
        let id = Uuid::now_v7();
        let secrets = serde_json::to_vec(&PendingSecrets {
            nonce: start.nonce,
            pkce_verifier: start.pkce_verifier,
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        let now = Utc::now();
        store::sessions::insert_login(
            &self.db,
            login_request::Model {
                id,
                state_hash: self.token_key.hash(&start.state),
                browser_hash: self.token_key.hash(&browser),
                sealed: hex::encode(self.kek.seal(&secrets, id.as_bytes())),
                return_to,
                invite_hash,
                created_at: now,
                expires_at: now + Duration::seconds(LOGIN_TTL_SECS),
            },
        )
        .await?;
        Ok(Begun {
            url: start.url,
            browser,
        })
    }

    /// Finishes a sign-in: checks the `state` and the browser that began it, exchanges the
    /// code, validates the ID token (signature, issuer, audience, expiry, nonce), admits the
    /// person and starts a session.
    pub async fn finish(
        &self,
        q: &Callback<'_>,
        browser: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<Started> {
        let oidc = self.oidc()?;
        if let Some(err) = q.error {
            let clip = |s: &str| s.chars().take(200).collect::<String>();
            return Err(Error::Unauthenticated(format!(
                "the identity provider refused the sign-in: {}{}",
                clip(err),
                q.error_description
                    .map(|d| format!(" ({})", clip(d)))
                    .unwrap_or_default()
            )));
        }
        let st = q
            .state
            .filter(|s| !s.is_empty() && s.len() <= 200)
            .ok_or_else(|| Error::Malformed("the `state` parameter is missing".into()))?;
        let code = q
            .code
            .filter(|s| !s.is_empty() && s.len() <= 2048)
            .ok_or_else(|| Error::Malformed("the `code` parameter is missing".into()))?;
        let pending = store::sessions::take_login(&self.db, &self.token_key.hash(st))
            .await?
            .ok_or_else(|| {
                Error::Malformed(
                    "unknown or already used login `state`: start again at /auth/login".into(),
                )
            })?;
        if pending.expires_at <= Utc::now() {
            return Err(Error::Malformed(
                "this login took too long: start again at /auth/login".into(),
            ));
        }
        let browser_ok = browser.is_some_and(|b| self.token_key.verify(b, &pending.browser_hash));
        if !browser_ok {
            return Err(Error::Malformed(
                "this login was not started in this browser: start again at /auth/login".into(),
            ));
        }
        let secrets: PendingSecrets = self
            .kek
            .open(
                &hex::decode(&pending.sealed).map_err(|e| Error::Internal(e.to_string()))?,
                pending.id.as_bytes(),
            )
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| Error::Internal("a pending login could not be unsealed".into()))?;
        let done = oidc
            .finish(code, &secrets.pkce_verifier, &secrets.nonce)
            .await
            .map_err(oidc_error)?;
        let user = self
            .admit(&done.identity, pending.invite_hash.as_deref())
            .await?;
        let origin = Origin::Oidc {
            identity: &done.identity,
            id_token: &done.id_token,
        };
        let (secret, session) = self.start_session(user.id, origin, user_agent).await?;
        tracing::info!(user_id = %user.id, "signed in with single sign-on");
        Ok(Started {
            secret,
            session,
            user,
            return_to: pending.return_to,
        })
    }

    async fn start_session(
        &self,
        user: Uuid,
        origin: Origin<'_>,
        user_agent: Option<&str>,
    ) -> Result<(String, session::Model)> {
        let secret = tokens::random_secret();
        let id = Uuid::now_v7();
        let now = self.clock.now();
        let (method, identity, id_token, origin_token_id) = match origin {
            Origin::Oidc { identity, id_token } => ("oidc", Some(identity), Some(id_token), None),
            Origin::Token(token) => ("token", None, None, Some(token)),
        };
        let row = session::Model {
            id,
            user_id: user,
            secret_hash: self.token_key.hash(&secret),
            method: method.into(),
            issuer: identity.map(|i| i.issuer.clone()),
            subject: identity.map(|i| i.subject.clone()),
            sealed_id_token: id_token
                .map(|t| hex::encode(self.kek.seal(t.as_bytes(), id.as_bytes()))),
            user_agent: user_agent.map(|s| s.chars().take(200).collect()),
            created_at: now,
            last_seen_at: now,
            expires_at: now + Duration::from_std(self.settings.ttl).unwrap_or_default(),
            revoked_at: None,
            origin_token_id,
        };
        store::sessions::insert_session(&self.db, row.clone()).await?;
        Ok((secret, row))
    }

    /// The local login: a valid, unscoped API token exchanged for a browser session that
    /// never outlives the token.
    pub async fn token_session(
        &self,
        authenticated: Authenticated,
        user_agent: Option<&str>,
    ) -> Result<Started> {
        let Authenticated { token, user, .. } = authenticated;
        if token.tenant_id.is_some() {
            return Err(Error::Malformed(
                "a tenant-scoped token cannot start a console session: use a personal token".into(),
            ));
        }
        let (secret, mut session) = self
            .start_session(user.id, Origin::Token(token.id), user_agent)
            .await?;
        if let Some(exp) = token.expires_at
            && exp < session.expires_at
        {
            store::sessions::cap_session(&self.db, session.id, exp).await?;
            session.expires_at = exp;
        }
        Ok(Started {
            secret,
            session,
            user,
            return_to: "/".into(),
        })
    }

    /// Ends a session, and names the provider's end-session URL when it came from single
    /// sign-on and the provider has one.
    pub async fn logout(&self, s: &session::Model) -> Result<Option<String>> {
        store::sessions::revoke_session(&self.db, s.user_id, s.id, self.clock.now()).await?;
        Ok(match (self.sso.as_deref(), s.sealed_id_token.as_deref()) {
            (Some(oidc), Some(sealed)) if s.method == "oidc" => {
                let id_token = hex::decode(sealed)
                    .ok()
                    .and_then(|b| self.kek.open(&b, s.id.as_bytes()).ok())
                    .and_then(|b| String::from_utf8(b).ok());
                let back = format!("{}/", self.public_url.trim_end_matches('/'));
                oidc.end_session_url(id_token.as_deref(), &back).await
            }
            _ => None,
        })
    }

    /// A page of the caller's live sessions, newest first (personal credentials only:
    /// sessions span every tenant of the user).
    pub async fn sessions(&self, who: &Caller, page: &PageRequest) -> Result<Vec<session::Model>> {
        refuse_scoped(who)?;
        Ok(store::sessions::sessions_of(&self.db, who.user.id, self.clock.now(), page).await?)
    }

    /// Ends one of the caller's sessions (another person's is not found).
    pub async fn revoke(&self, who: &Caller, id: Uuid) -> Result<()> {
        refuse_scoped(who)?;
        if !store::sessions::revoke_session(&self.db, who.user.id, id, self.clock.now()).await? {
            return Err(Error::NotFound(format!("session {id} not found")));
        }
        Ok(())
    }

    /// Who gets in: a linked identity, a user with the same verified e-mail, an invitation, or a
    /// group mapping. Nothing is written unless the person ends up in at least one tenant (or
    /// is the platform administrator).
    async fn admit(
        &self,
        who: &ExternalIdentity,
        invite_hash: Option<&str>,
    ) -> Result<user::Model> {
        let settings = &self.oidc()?.settings;
        let txn = self.db.begin().await?;
        let now = self.clock.now();
        let mut user = store::sessions::user_by_identity(&txn, &who.issuer, &who.subject).await?;
        let mut link = false;
        // Linking by e-mail: only when the provider vouches for the address (`email_verified`
        // speaks of the `email` claim, so only when that is the claim used), never onto the
        // platform administrator, and never onto a user already linked to another subject of
        // this provider (a recycled mailbox must not inherit someone's account).
        let verified = who.email_verified && settings.claim_email == "email";
        if user.is_none()
            && let Some(email) = who.email.as_deref()
            && (verified || settings.trust_unverified_email)
            && let Some(candidate) = store::users::by_email(&txn, email).await?
            && !candidate.is_platform_admin
            && !store::sessions::has_identity_at(&txn, candidate.id, &who.issuer).await?
        {
            user = Some(candidate);
            link = true;
        }
        // Tenants the person joins now: the invitation first, then group mappings.
        let mut grants: Vec<(Uuid, Role)> = Vec::new();
        let mut invite = None;
        if let Some(h) = invite_hash {
            let inv = store::sessions::invite_by_hash(&txn, h)
                .await?
                .ok_or_else(|| Error::Malformed("the invitation no longer exists".into()))?;
            if let Some(required) = inv.email.as_deref()
                && !(who.email_verified && who.email.as_deref() == Some(required))
            {
                return Err(Error::Forbidden(
                    "this invitation is for another e-mail address (or yours is not verified by the identity provider)"
                        .into(),
                ));
            }
            grants.push((inv.tenant_id, inv.role.parse().map_err(Error::Internal)?));
            invite = Some(inv);
        }
        for m in &settings.group_map {
            if who.groups.iter().any(|g| g == &m.group) {
                match store::tenants::by_slug(&txn, &m.tenant_slug).await? {
                    Some(t) => grants.push((t.id, m.role)),
                    None => {
                        tracing::warn!(tenant = %m.tenant_slug, "group mapping names a tenant that does not exist")
                    }
                }
            }
        }
        let user = match user {
            Some(u) => u,
            None if grants.is_empty() => return Err(Error::Forbidden(NOT_A_MEMBER.into())),
            None => {
                let email_free = match who.email.as_deref() {
                    Some(e) => store::users::by_email(&txn, e).await?.is_none(),
                    None => false,
                };
                let name = who
                    .name
                    .clone()
                    .or_else(|| who.email.clone())
                    .unwrap_or_else(|| who.subject.clone());
                link = true;
                store::users::insert(
                    &txn,
                    store::users::NewUser {
                        email: who.email.as_deref().filter(|_| email_free),
                        display_name: &name.chars().take(100).collect::<String>(),
                        kind: crate::domain::tenants::UserKind::Human,
                        is_platform_admin: false,
                    },
                )
                .await?
            }
        };
        if link {
            store::sessions::link_identity(&txn, user.id, &who.issuer, &who.subject).await?;
        }
        if let Some(inv) = invite
            && !store::sessions::redeem_invite(&txn, inv.id, user.id, now).await?
        {
            return Err(Error::Malformed(
                "this invitation link was used, revoked or has expired".into(),
            ));
        }
        for (tenant, role) in grants {
            if store::users::membership(&txn, tenant, user.id)
                .await?
                .is_none()
            {
                store::users::add_member(&txn, tenant, user.id, role).await?;
            }
        }
        if !user.is_platform_admin && store::sessions::membership_count(&txn, user.id).await? == 0 {
            return Err(Error::Forbidden(NOT_A_MEMBER.into()));
        }
        txn.commit().await?;
        Ok(user)
    }
}

/// Console sessions span every tenant of the user: a token scoped to one tenant may not
/// see or end them.
fn refuse_scoped(who: &Caller) -> Result<()> {
    if who.token_tenant.is_some() {
        Err(Error::Forbidden(
            "a tenant-scoped token cannot manage console sessions: use a personal token".into(),
        ))
    } else {
        Ok(())
    }
}
