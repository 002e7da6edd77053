//! Single sign-on with an OpenID Connect provider: discovery, the authorization-code flow with
//! PKCE, ID-token validation, and validation of the provider's JWT access tokens for programs.
//!
//! The provider's signing keys (JWKS) are cached and fetched again when a token names a key
//! id the cache does not hold (key rotation), at most once per `jwks_min_refresh`.

use crate::domain::roles::Role;
use crate::domain::tokens::random_secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet,
    CoreProviderMetadata,
};
use openidconnect::reqwest;
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    JsonWebTokenType, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse,
};

use serde_json::Value;
use std::str::FromStr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Largest document accepted from the provider (discovery, JWKS, token response).
const MAX_PROVIDER_BODY: usize = 512 * 1024;

/// A mapping from an identity-provider group to a tenant role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMapping {
    /// The group name as it appears in the groups claim.
    pub group: String,
    /// The tenant's slug.
    pub tenant_slug: String,
    /// The role members of the group get.
    pub role: Role,
}

/// Parses `group=tenant-slug:role` entries separated by `,` or `;`.
pub fn parse_group_map(s: &str) -> Result<Vec<GroupMapping>, String> {
    s.split([',', ';'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (group, rest) = e
                .split_once('=')
                .ok_or_else(|| format!("group mapping `{e}` is not `group=tenant-slug:role`"))?;
            let (slug, role) = rest
                .split_once(':')
                .ok_or_else(|| format!("group mapping `{e}` is not `group=tenant-slug:role`"))?;
            let role: Role = role
                .trim()
                .parse()
                .map_err(|err| format!("group mapping `{e}`: {err}"))?;
            if group.trim().is_empty() || slug.trim().is_empty() {
                return Err(format!("group mapping `{e}` has an empty group or tenant"));
            }
            Ok(GroupMapping {
                group: group.trim().into(),
                tenant_slug: slug.trim().into(),
                role,
            })
        })
        .collect()
}

/// Resolved single sign-on settings.
#[derive(Clone)]
pub struct OidcSettings {
    /// Issuer URL exactly as the provider names itself.
    pub issuer: String,
    /// Consortia's client id at the provider.
    pub client_id: String,
    /// Client secret (confidential client); none for a public client.
    pub client_secret: Option<String>,
    /// Where the provider sends the browser back: `<public url>/auth/callback`.
    pub redirect_url: String,
    /// Scopes requested at login.
    pub scopes: Vec<String>,
    /// Claim holding the e-mail address.
    pub claim_email: String,
    /// Claim holding the display name.
    pub claim_name: String,
    /// Claim holding the list of groups.
    pub claim_groups: String,
    /// Groups that grant tenant roles.
    pub group_map: Vec<GroupMapping>,
    /// The `aud` a bearer access token must carry to be accepted by the API. Unset: the
    /// provider's access tokens are not accepted (only Consortia's own API tokens).
    pub api_audience: Option<String>,
    /// Link a person to an existing user by an e-mail the provider has not marked verified.
    pub trust_unverified_email: bool,
    /// Least time between two JWKS fetches caused by unknown key ids.
    pub jwks_min_refresh: Duration,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| ".."))
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("api_audience", &self.api_audience)
            .finish_non_exhaustive()
    }
}

/// Why single sign-on failed. Messages never contain codes, tokens or secrets.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered nonsense.
    #[error("the identity provider is not reachable or answered unexpectedly: {0}")]
    Unavailable(String),
    /// The provider refused the request (e.g. a used or unknown authorization code).
    #[error("the identity provider refused the request: {0}")]
    Refused(String),
    /// A token failed validation.
    #[error("the token is not acceptable: {0}")]
    InvalidToken(String),
}

/// An authenticated person or program, as the provider vouches for them.
#[derive(Debug, Clone)]
pub struct ExternalIdentity {
    /// The issuer (`iss`).
    pub issuer: String,
    /// The subject (`sub`), unique within the issuer.
    pub subject: String,
    /// E-mail, when the provider gave one.
    pub email: Option<String>,
    /// Whether the provider says the e-mail is verified.
    pub email_verified: bool,
    /// Display name, when given.
    pub name: Option<String>,
    /// Groups, when given.
    pub groups: Vec<String>,
    /// Expiry of the token (`exp`).
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// What `/auth/login` sends the browser to, and what the callback needs back.
pub struct LoginStart {
    /// The provider's authorization URL.
    pub url: String,
    /// The `state` parameter.
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier.
    pub pkce_verifier: String,
}

/// The outcome of a successful callback.
pub struct LoginDone {
    /// Who signed in.
    pub identity: ExternalIdentity,
    /// The raw ID token (kept sealed for the provider's end-session endpoint).
    pub id_token: String,
}

#[derive(Clone)]
struct Discovered {
    metadata: CoreProviderMetadata,
    end_session_endpoint: Option<String>,
}

/// The live connection to the identity provider.
pub struct Oidc {
    /// The settings.
    pub settings: OidcSettings,
    http: reqwest::Client,
    discovered: RwLock<Option<Discovered>>,
    last_jwks_fetch: Mutex<Option<Instant>>,
    /// How often the JWKS was fetched (for tests and metrics).
    pub jwks_fetches: std::sync::atomic::AtomicU64,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HttpError(String);

async fn read_limited(mut res: reqwest::Response) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| HttpError(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_PROVIDER_BODY {
            return Err(HttpError(format!(
                "the identity provider's answer is larger than {MAX_PROVIDER_BODY} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl Oidc {
    /// A client for `settings`; the provider is discovered on first use.
    pub fn new(settings: OidcSettings) -> anyhow::Result<Oidc> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| anyhow::anyhow!("could not build the HTTP client: {e}"))?;
        Ok(Oidc {
            settings,
            http,
            discovered: RwLock::new(None),
            last_jwks_fetch: Mutex::new(None),
            jwks_fetches: Default::default(),
        })
    }

    async fn get_json(&self, url: &str) -> Result<Vec<u8>, OidcError> {
        let res = self
            .http
            .get(url)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| OidcError::Unavailable(format!("GET {url}: {}", e.without_url())))?;
        if !res.status().is_success() {
            return Err(OidcError::Unavailable(format!(
                "GET {url} answered {}",
                res.status()
            )));
        }
        read_limited(res)
            .await
            .map_err(|e| OidcError::Unavailable(format!("GET {url}: {e}")))
    }

    async fn fetch_jwks(
        &self,
        metadata: &CoreProviderMetadata,
    ) -> Result<CoreJsonWebKeySet, OidcError> {
        let url = metadata.jwks_uri().url().to_string();
        let body = self.get_json(&url).await?;
        self.jwks_fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *self
            .last_jwks_fetch
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        serde_json::from_slice(&body)
            .map_err(|e| OidcError::Unavailable(format!("the JWKS at {url} is not valid: {e}")))
    }

    /// Discovers the provider (once; again after a failure).
    async fn provider(&self) -> Result<Discovered, OidcError> {
        if let Some(d) = self
            .discovered
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Ok(d);
        }
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
        let body = self.get_json(&url).await?;
        let raw: Value = serde_json::from_slice(&body)
            .map_err(|e| OidcError::Unavailable(format!("discovery document is not JSON: {e}")))?;
        let metadata: CoreProviderMetadata = serde_json::from_value(raw.clone())
            .map_err(|e| OidcError::Unavailable(format!("discovery document is not valid: {e}")))?;
        if metadata.issuer().as_str().trim_end_matches('/') != self.settings.issuer {
            return Err(OidcError::Unavailable(format!(
                "the discovery document names issuer `{}`, not the configured `{}`",
                metadata.issuer().as_str(),
                self.settings.issuer
            )));
        }
        let jwks = self.fetch_jwks(&metadata).await?;
        let d = Discovered {
            metadata: metadata.set_jwks(jwks),
            end_session_endpoint: raw
                .get("end_session_endpoint")
                .and_then(Value::as_str)
                .map(String::from),
        };
        *self.discovered.write().unwrap_or_else(|e| e.into_inner()) = Some(d.clone());
        Ok(d)
    }

    /// Discovers the provider now (at start-up), so a misconfiguration shows in the log early.
    pub async fn warm_up(&self) -> Result<(), OidcError> {
        self.provider().await.map(|_| ())
    }

    /// Fetches the JWKS again after a token named an unknown key, unless that happened within
    /// `jwks_min_refresh`. Returns whether the keys changed.
    async fn refresh_jwks(&self) -> Result<bool, OidcError> {
        {
            // Check and record the attempt at once, so concurrent tokens with unknown key
            // ids (or a provider that is down) cause one fetch per interval, not one each.
            let mut last = self
                .last_jwks_fetch
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < self.settings.jwks_min_refresh) {
                return Ok(false);
            }
            *last = Some(Instant::now());
        }
        let d = self.provider().await?;
        let jwks = self.fetch_jwks(&d.metadata).await?;
        let changed =
            serde_json::to_value(&jwks).ok() != serde_json::to_value(d.metadata.jwks()).ok();
        let mut guard = self.discovered.write().unwrap_or_else(|e| e.into_inner());
        if let Some(cur) = guard.as_mut() {
            cur.metadata = cur.metadata.clone().set_jwks(jwks);
        }
        Ok(changed)
    }

    fn client(
        &self,
        d: &Discovered,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        OidcError,
    > {
        let redirect = RedirectUrl::new(self.settings.redirect_url.clone())
            .map_err(|e| OidcError::Unavailable(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            d.metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a login: the authorization URL with PKCE (S256), `state` and `nonce`.
    pub async fn begin(&self) -> Result<LoginStart, OidcError> {
        let d = self.provider().await?;
        let client = self.client(&d)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = random_secret();
        let nonce = random_secret();
        let (s2, n2) = (state.clone(), nonce.clone());
        let mut req = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(s2),
                move || Nonce::new(n2),
            )
            .set_pkce_challenge(challenge);
        for s in &self.settings.scopes {
            if s != "openid" {
                req = req.add_scope(Scope::new(s.clone()));
            }
        }
        let (url, _, _) = req.url();
        Ok(LoginStart {
            url: url.to_string(),
            state,
            nonce,
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Finishes a login: exchanges the code (with the PKCE verifier) and validates the ID token
    /// (signature, issuer, audience, expiry, nonce).
    pub async fn finish(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<LoginDone, OidcError> {
        let d = self.provider().await?;
        let client = self.client(&d)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| {
                OidcError::Unavailable(format!("the provider has no token endpoint: {e}"))
            })?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(r) => OidcError::Refused(format!(
                    "{}{}",
                    r.error(),
                    r.error_description()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                )),
                openidconnect::RequestTokenError::Parse(e, _) => {
                    OidcError::Unavailable(format!("the token response is not valid: {e}"))
                }
                other => OidcError::Unavailable(format!("token request failed: {other}")),
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::InvalidToken("the provider returned no ID token".into()))?
            .clone();
        let expected = nonce.to_string();
        let verify = |d: &Discovered| -> Result<(), ClaimsVerificationError> {
            let client = self
                .client(d)
                .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
            let verifier = client.id_token_verifier();
            let exp = expected.clone();
            id_token
                .claims(&verifier, move |n: Option<&Nonce>| match n {
                    Some(n)
                        if n.secret().len() == exp.len()
                            && subtle_eq(n.secret().as_bytes(), exp.as_bytes()) =>
                    {
                        Ok(())
                    }
                    Some(_) => Err("the nonce does not match the one this login sent".into()),
                    None => Err("the ID token carries no nonce".into()),
                })
                .map(|_| ())
        };
        let jwt = id_token.to_string();
        self.verify_with_refresh(d, verify).await?;
        let identity = self.identity_from(&jwt)?;
        Ok(LoginDone {
            identity,
            id_token: jwt,
        })
    }

    /// Runs `verify` and, when the token's key is unknown, fetches the JWKS again and retries.
    async fn verify_with_refresh(
        &self,
        d: Discovered,
        verify: impl Fn(&Discovered) -> Result<(), ClaimsVerificationError>,
    ) -> Result<(), OidcError> {
        match verify(&d) {
            Ok(()) => Ok(()),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                self.refresh_jwks().await?;
                let d = self.provider().await?;
                verify(&d).map_err(describe)
            }
            Err(e) => Err(describe(e)),
        }
    }

    /// Validates a bearer JWT access token from the provider: signature (keys from the JWKS),
    /// issuer, `aud` containing the API audience, expiry.
    /// ID tokens are not access tokens: a token with a `nonce` (which only ID tokens carry)
    /// is refused, and the audience is the API's own, never the console's client id.
    pub async fn verify_access_token(&self, jwt: &str) -> Result<ExternalIdentity, OidcError> {
        let Some(audience) = self.settings.api_audience.clone() else {
            return Err(OidcError::InvalidToken(
                "this server accepts no identity-provider access tokens (set --oidc-api-audience)"
                    .into(),
            ));
        };
        let token = CoreIdToken::from_str(jwt)
            .map_err(|e| OidcError::InvalidToken(format!("not a signed JWT: {e}")))?;
        let d = self.provider().await?;
        let verify = |d: &Discovered| -> Result<(), ClaimsVerificationError> {
            // The issuer exactly as the provider names itself (some end in `/`).
            let verifier = CoreIdTokenVerifier::new_public_client(
                ClientId::new(audience.clone()),
                d.metadata.issuer().clone(),
                d.metadata.jwks().clone(),
            )
            .set_allowed_jose_types([
                JsonWebTokenType::new("at+jwt".into())
                    .normalize()
                    .expect("a valid media type"),
                JsonWebTokenType::new("JWT".into())
                    .normalize()
                    .expect("a valid media type"),
            ])
            // Access tokens may name resource servers besides this API.
            .set_other_audience_verifier_fn(|_| true);
            token
                .claims(&verifier, |_: Option<&Nonce>| Ok(()))
                .map(|_| ())
        };
        self.verify_with_refresh(d, verify).await?;
        let payload = jwt
            .split('.')
            .nth(1)
            .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .unwrap_or_default();
        if payload.get("nonce").is_some() {
            return Err(OidcError::InvalidToken(
                "this is an ID token, not an access token".into(),
            ));
        }
        self.identity_from(jwt)
    }

    /// Reads the (already verified) payload for the configured claims.
    fn identity_from(&self, jwt: &str) -> Result<ExternalIdentity, OidcError> {
        let payload = jwt
            .split('.')
            .nth(1)
            .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .ok_or_else(|| OidcError::InvalidToken("the payload is not JSON".into()))?;
        let s = &self.settings;
        let text = |name: &str| payload.get(name).and_then(Value::as_str).map(String::from);
        let subject = text("sub")
            .filter(|v| !v.is_empty() && v.len() <= 255)
            .ok_or_else(|| OidcError::InvalidToken("no usable `sub` claim".into()))?;
        let groups = match payload.get(&s.claim_groups) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            Some(Value::String(g)) => vec![g.clone()],
            _ => Vec::new(),
        };
        let exp = payload.get("exp").and_then(Value::as_i64).unwrap_or(0);
        Ok(ExternalIdentity {
            issuer: s.issuer.clone(),
            subject,
            email: text(&s.claim_email).map(|e| e.to_lowercase()),
            email_verified: payload
                .get("email_verified")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            name: text(&s.claim_name),
            groups,
            expires_at: chrono::DateTime::from_timestamp(exp, 0).unwrap_or_default(),
        })
    }

    /// The provider's end-session URL for `id_token` (RP-initiated logout), when it has one.
    pub async fn end_session_url(
        &self,
        id_token: Option<&str>,
        post_logout: &str,
    ) -> Option<String> {
        let d = self.provider().await.ok()?;
        let mut url = openidconnect::url::Url::parse(d.end_session_endpoint.as_deref()?).ok()?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(t) = id_token {
                q.append_pair("id_token_hint", t);
            }
            q.append_pair("client_id", &self.settings.client_id);
            q.append_pair("post_logout_redirect_uri", post_logout);
        }
        Some(url.to_string())
    }
}

/// Constant-time equality of two equal-length byte strings.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn describe(e: ClaimsVerificationError) -> OidcError {
    let msg = match e {
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        ) => "it is signed by a key the provider does not publish".to_string(),
        ClaimsVerificationError::SignatureVerification(s) => format!("bad signature: {s}"),
        ClaimsVerificationError::Expired(m) => format!("expired: {m}"),
        ClaimsVerificationError::InvalidAudience(m) => format!("wrong audience: {m}"),
        ClaimsVerificationError::InvalidIssuer(m) => format!("wrong issuer: {m}"),
        ClaimsVerificationError::InvalidNonce(m) => format!("wrong nonce: {m}"),
        other => other.to_string(),
    };
    OidcError::InvalidToken(msg)
}

/// Shared handle.
pub type SharedOidc = Arc<Oidc>;
