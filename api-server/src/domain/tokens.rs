//! API token format and keyed hashing.
//!
//! A token reads `cst_<32 hex id>_<43 char secret>`. The id finds the row; the secret is
//! checked against an HMAC-SHA256 of it under the server's token key, so a stolen database
//! copy does not yield working tokens and checking costs microseconds (no bcrypt per request).

use crate::domain::error;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;

const PREFIX: &str = "cst_";
const SECRET_BYTES: usize = 32;

/// The key under which token secrets are hashed (32 random bytes).
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        TokenKey(bytes)
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        TokenKey(k)
    }

    /// Parses the key from its file/env form: 64 hex characters.
    pub fn from_hex(s: &str) -> Result<Self, String> {
        let bytes = hex::decode(s.trim()).map_err(|e| format!("token key is not hex: {e}"))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "token key must be 32 bytes (64 hex characters)".to_string())?;
        Ok(TokenKey(arr))
    }

    /// The key's file/env form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }

    /// The stored form of a secret: hex HMAC-SHA256.
    pub fn hash(&self, secret: &str) -> String {
        let mut mac = self.mac();
        mac.update(secret.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Constant-time check of a presented secret against its stored hash.
    pub fn verify(&self, secret: &str, stored_hash: &str) -> bool {
        let Ok(expected) = hex::decode(stored_hash) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(secret.as_bytes());
        mac.verify_slice(&expected).is_ok()
    }
}

/// A newly minted token: its id, the full bearer string (shown once) and the secret's hash.
pub struct MintedToken {
    /// Row id of the token.
    pub id: Uuid,
    /// The bearer string to hand to the caller exactly once.
    pub bearer: String,
    /// What the database stores.
    pub secret_hash: String,
}

/// Mints a new token under `key`.
pub fn mint(key: &TokenKey) -> MintedToken {
    let id = Uuid::now_v7();
    let secret = random_secret();
    let bearer = format!("{PREFIX}{}_{secret}", id.simple());
    MintedToken {
        id,
        secret_hash: key.hash(&secret),
        bearer,
    }
}

/// 32 random bytes, base64url: token secrets, invitation tokens, sign-in states and nonces,
/// session secrets.
pub fn random_secret() -> String {
    let mut raw = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// A fresh single-use invitation token (`inv_` and a [`random_secret`]); only its hash under
/// the token key is stored.
pub fn invite_token() -> String {
    format!("inv_{}", random_secret())
}

/// A bearer string split into its parts; says nothing about validity.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedToken<'a> {
    /// Row id named by the token.
    pub id: Uuid,
    /// The secret part.
    pub secret: &'a str,
}

/// Splits `cst_<id>_<secret>`; None when the string is not of that shape.
pub fn parse(bearer: &str) -> Option<ParsedToken<'_>> {
    let rest = bearer.strip_prefix(PREFIX)?;
    if rest.len() != 32 + 1 + 43 || rest.as_bytes()[32] != b'_' {
        return None;
    }
    let (id_hex, secret) = (&rest[..32], &rest[33..]);
    let id = Uuid::try_parse(id_hex).ok()?;
    if !secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    Some(ParsedToken { id, secret })
}

/// The short, non-secret form shown in listings: `cst_<first 8 of id>`.
pub fn display_prefix(id: Uuid) -> String {
    format!("{PREFIX}{}", &id.simple().to_string()[..8])
}

/// Longest lifetime a token may be given.
pub const MAX_LIFETIME_DAYS: i64 = 3650;

/// Body of `POST /api/v1/tokens`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Label, 1–100 characters.
    pub name: String,
    /// Limit the token to this tenant (you must be a member).
    pub tenant_id: Option<Uuid>,
    /// Expiry time (RFC 3339), in the future and within ten years; none means no expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Body of `POST /api/v1/tenants/{tenant_id}/tokens`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantToken {
    /// Label, 1–100 characters.
    pub name: String,
    /// A service-account member to mint for; yourself when absent.
    pub user_id: Option<Uuid>,
    /// Expiry time (RFC 3339); none means no expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Checks a new token's label and expiry; `now` is the app's clock (expiry is judged by the
/// same clock when the token is used).
pub fn check_new(
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> error::Result<()> {
    error::check(
        "/name",
        crate::domain::validation::display_name("name", name),
    )?;
    if let Some(t) = expires_at {
        if t <= now {
            return Err(error::Error::field(
                "/expires_at",
                "expires_at must be in the future",
            ));
        }
        if t > now + chrono::Duration::days(MAX_LIFETIME_DAYS) {
            return Err(error::Error::field(
                "/expires_at",
                "expires_at must be within ten years",
            ));
        }
    }
    Ok(())
}

/// A token minted with an expiring credential expires no later than it: `limit` is the
/// credential's own expiry.
pub fn check_within(
    expires_at: Option<DateTime<Utc>>,
    limit: Option<DateTime<Utc>>,
) -> error::Result<()> {
    match (expires_at, limit) {
        (_, None) => Ok(()),
        // At the database's precision (microseconds): a client may echo the limit back.
        (Some(t), Some(limit)) if t.timestamp_micros() <= limit.timestamp_micros() => Ok(()),
        (_, Some(limit)) => Err(error::Error::field(
            "/expires_at",
            format!(
                "the credential you are using expires at {}; a token it mints must expire no \
                 later: set expires_at to that time or earlier",
                limit.to_rfc3339()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_and_verify() {
        let key = TokenKey::generate();
        let t = mint(&key);
        let p = parse(&t.bearer).expect("minted token parses");
        assert_eq!(p.id, t.id);
        assert!(key.verify(p.secret, &t.secret_hash));
        assert!(
            !TokenKey::generate().verify(p.secret, &t.secret_hash),
            "another key must fail"
        );
        assert!(!key.verify("x", &t.secret_hash));
        assert!(!key.verify(p.secret, "not-hex"));
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        let t = mint(&TokenKey::generate()).bearer;
        assert!(parse(&t[1..]).is_none());
        assert!(parse(&format!("{t}x")).is_none());
        assert!(parse(&t.replacen('_', "-", 2)).is_none());
        assert!(parse("").is_none());
        let non_hex_id = format!("cst_{}{}", "z".repeat(32), &t[36..]);
        assert!(parse(&non_hex_id).is_none());
        let mut bad = t.clone().into_bytes();
        let last = bad.len() - 1;
        bad[last] = b'!';
        assert!(parse(std::str::from_utf8(&bad).unwrap()).is_none());
    }

    #[test]
    fn key_hex_round_trip() {
        let k = TokenKey::generate();
        let back = TokenKey::from_hex(&k.to_hex()).unwrap();
        assert_eq!(k.hash("s"), back.hash("s"));
        assert!(TokenKey::from_hex("abcd").is_err());
        assert!(TokenKey::from_hex("zz").is_err());
        assert_eq!(format!("{k:?}"), "TokenKey(..)");
    }
}
