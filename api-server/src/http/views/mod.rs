//! Response bodies and shared query types.

pub mod alliances;
pub mod chains;
pub mod pki;
pub mod sessions;
pub mod templates;

use crate::db::entities::{api_token, audit_event, membership, tenant, user};
use crate::domain::pagination::{self, PageRequest};
use crate::domain::roles::Role;
use crate::domain::tenants::{TenantKind, UserKind};
use crate::domain::tokens;
use crate::http::problem::ApiError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A page of results and the cursor of the next page (absent on the last page).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    /// Results, in the list's stable order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent when this is the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `limit` and `cursor`, accepted by every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// Validates into a page request.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        page_request(self.limit, self.cursor.as_deref())
    }
}

/// Validates `limit` and `cursor` into a page request, for queries that take more than
/// [`PageQuery`]'s two fields.
pub fn page_request(limit: Option<u64>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    PageRequest::parse(limit, cursor).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Builds a page from fetched rows.
pub fn page<R, T: ToSchema>(
    rows: Vec<R>,
    req: &PageRequest,
    key: impl Fn(&R) -> String,
    view: impl Fn(R) -> T,
) -> Page<T> {
    let (rows, next_cursor) = pagination::finish(rows, req, key);
    Page {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }
}

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    /// Tenant id.
    pub id: Uuid,
    /// DNS-label slug, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Customer or partner.
    pub kind: TenantKind,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<tenant::Model> for TenantView {
    fn from(t: tenant::Model) -> Self {
        TenantView {
            id: t.id,
            slug: t.slug,
            name: t.name,
            kind: t.kind,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// User id.
    pub id: Uuid,
    /// E-mail; absent for service accounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Display name.
    pub display_name: String,
    /// A person or a service account.
    pub kind: UserKind,
    /// Whether the user administers the whole platform.
    pub is_platform_admin: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<user::Model> for UserView {
    fn from(u: user::Model) -> Self {
        UserView {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            kind: u.kind,
            is_platform_admin: u.is_platform_admin,
            created_at: u.created_at,
        }
    }
}

/// A member of a tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    /// The member's user.
    pub user: UserView,
    /// Role in the tenant.
    pub role: Role,
    /// When the user joined the tenant.
    pub joined_at: DateTime<Utc>,
}

impl From<(membership::Model, user::Model)> for MemberView {
    fn from((m, u): (membership::Model, user::Model)) -> Self {
        MemberView {
            user: u.into(),
            role: m.role,
            joined_at: m.created_at,
        }
    }
}

/// An API token, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Token id.
    pub id: Uuid,
    /// Non-secret prefix to recognise the token by, e.g. `cst_0193a1b2`.
    pub prefix: String,
    /// Label.
    pub name: String,
    /// Whose roles the token acts with.
    pub user_id: Uuid,
    /// When set, the token acts only inside this tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<Uuid>,
    /// Who created it.
    pub created_by: Uuid,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Revocation time, if revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<api_token::Model> for TokenView {
    fn from(t: api_token::Model) -> Self {
        TokenView {
            id: t.id,
            prefix: tokens::display_prefix(t.id),
            name: t.name,
            user_id: t.user_id,
            tenant_id: t.tenant_id,
            created_by: t.created_by,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A newly created token: the only response that ever carries its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The token's record.
    #[serde(flatten)]
    pub token: TokenView,
    /// The bearer secret. Shown once; store it now, it cannot be retrieved again.
    pub secret: String,
}

/// An audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    /// Event id (increasing).
    pub id: i64,
    /// When the request finished.
    pub time: DateTime<Utc>,
    /// The request's id.
    pub request_id: String,
    /// Acting user, when authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_user_id: Option<Uuid>,
    /// Token used, when authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_token_id: Option<Uuid>,
    /// Tenant acted in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<Uuid>,
    /// `METHOD /route/{template}`.
    pub action: String,
    /// Path acted on (plus created id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `success`, `denied`, `invalid` or `failed`.
    pub outcome: String,
    /// HTTP status.
    pub status: i32,
}

impl From<audit_event::Model> for AuditEventView {
    fn from(e: audit_event::Model) -> Self {
        AuditEventView {
            id: e.id,
            time: e.time,
            request_id: e.request_id,
            actor_user_id: e.actor_user_id,
            actor_token_id: e.actor_token_id,
            tenant_id: e.tenant_id,
            action: e.action,
            target: e.target,
            outcome: e.outcome,
            status: e.status,
        }
    }
}

/// A `Content-Disposition` header offering a download named `file_name`. The name may come
/// from input (a certificate's common name): the quoted `filename` keeps only letters,
/// digits, `.`, `-` and `_` (others become `_`), and `filename*` (RFC 6266, 8187) carries
/// the exact name percent-encoded, so no character can end the header or add a parameter.
pub fn attachment(file_name: &str) -> (&'static str, String) {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let plain: String = file_name
        .chars()
        .map(|c| if safe(c) { c } else { '_' })
        .collect();
    let mut exact = String::new();
    for b in file_name.bytes() {
        if safe(char::from(b)) {
            exact.push(char::from(b));
        } else {
            exact.push_str(&format!("%{b:02X}"));
        }
    }
    (
        "Content-Disposition",
        format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{exact}"),
    )
}
