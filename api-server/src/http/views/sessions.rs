//! What the sign-in endpoints answer: the browser's session (with its CSRF token), the
//! person's sessions, logging out, and how this server lets people sign in.

use crate::db::entities::session;
use crate::http::views::UserView;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The current browser session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// The signed-in user.
    pub user: UserView,
    /// The session.
    pub session: SessionView,
    /// Send this in the `X-CSRF-Token` header with every cookie-authenticated request that
    /// changes state.
    pub csrf_token: String,
}

/// A browser session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Session id.
    pub id: Uuid,
    /// `oidc` (single sign-on) or `token` (local login with an API token).
    pub method: String,
    /// Browser that started it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Started.
    pub created_at: DateTime<Utc>,
    /// Last used (to the minute).
    pub last_seen_at: DateTime<Utc>,
    /// Ends at the latest.
    pub expires_at: DateTime<Utc>,
    /// Whether this is the session of the request.
    pub current: bool,
}

pub(crate) fn view(s: &session::Model, current: Option<Uuid>) -> SessionView {
    SessionView {
        id: s.id,
        method: s.method.clone(),
        user_agent: s.user_agent.clone(),
        created_at: s.created_at,
        last_seen_at: s.last_seen_at,
        expires_at: s.expires_at,
        current: current == Some(s.id),
    }
}

/// Where the browser should go to end the provider's session too.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedOut {
    /// The provider's end-session URL, when it has one and the session came from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session_url: Option<String>,
}

/// How this server lets people sign in.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthConfig {
    /// Whether single sign-on is configured (then `/auth/login` works).
    pub sso: bool,
    /// The identity provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The local login (an API token exchanged at `/auth/token`) is always available.
    pub local_login: bool,
}
