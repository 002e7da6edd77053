//! Tenants, the kinds of users in them, and the requests that change either.

use crate::domain::error::{Error, Result, check};
use crate::domain::roles::Role;
use crate::domain::validation;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Tenant kind.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum TenantKind {
    /// A cloud customer that runs chains.
    #[sea_orm(string_value = "customer")]
    Customer,
    /// A partner that publishes marketplace templates.
    #[sea_orm(string_value = "partner")]
    Partner,
}

/// Kind of user.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    ToSchema,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum UserKind {
    /// A person, identified by e-mail.
    #[default]
    #[sea_orm(string_value = "human")]
    Human,
    /// A service account for programs (CI, scripts); gets tokens from tenant admins.
    #[sea_orm(string_value = "service")]
    Service,
}

/// The first owner of a new tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerSpec {
    /// E-mail of the owner; an existing user with it is reused.
    pub email: String,
    /// Display name, used when the user is new.
    pub display_name: String,
}

/// Body of `POST /api/v1/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// DNS-label slug: 3–40 of a-z, 0-9, '-'; unique.
    pub slug: String,
    /// Display name, 1–100 characters.
    pub name: String,
    /// `customer` or `partner`.
    pub kind: TenantKind,
    /// Optional first owner.
    pub owner: Option<OwnerSpec>,
}

impl CreateTenant {
    /// Field problems, first one wins.
    pub fn check(&self) -> Result<()> {
        check("/slug", validation::slug("slug", &self.slug))?;
        check("/name", validation::display_name("name", &self.name))?;
        if let Some(o) = &self.owner {
            check("/owner/email", validation::email("owner.email", &o.email))?;
            check(
                "/owner/display_name",
                validation::display_name("owner.display_name", &o.display_name),
            )?;
        }
        Ok(())
    }
}

/// Body of `PATCH /api/v1/tenants/{tenant_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    /// New display name.
    pub name: Option<String>,
}

impl UpdateTenant {
    /// Field problems.
    pub fn check(&self) -> Result<()> {
        match &self.name {
            Some(name) => check("/name", validation::display_name("name", name)),
            None => Ok(()),
        }
    }
}

/// Body of `POST /api/v1/tenants/{tenant_id}/members`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// `human` (default) or `service`.
    #[serde(default)]
    pub kind: UserKind,
    /// E-mail of a person (required for `human`, refused for `service`).
    pub email: Option<String>,
    /// Display name (used when the user is new).
    pub display_name: String,
    /// Role in the tenant.
    pub role: Role,
}

impl AddMember {
    /// Field problems; the e-mail to look the person up by (none for a service account).
    pub fn check(&self) -> Result<Option<&str>> {
        check(
            "/display_name",
            validation::display_name("display_name", &self.display_name),
        )?;
        match (self.kind, self.email.as_deref()) {
            (UserKind::Human, Some(e)) => {
                check("/email", validation::email("email", e))?;
                Ok(Some(e))
            }
            (UserKind::Human, None) => Err(Error::field(
                "/email",
                "email is required for a human member",
            )),
            (UserKind::Service, Some(_)) => Err(Error::field(
                "/email",
                "service accounts have no e-mail; leave it out",
            )),
            (UserKind::Service, None) => Ok(None),
        }
    }
}

/// Body of `PATCH /api/v1/tenants/{tenant_id}/members/{user_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    /// The new role.
    pub role: Role,
}

/// Body of `POST /api/v1/tenants/{tenant_id}/invites`: a single-use link into the tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvite {
    /// The role the person gets.
    pub role: Role,
    /// When set, only a person whose verified e-mail is this can use the link.
    pub email: Option<String>,
    /// Hours the link stays valid, 1–720 (default 168).
    pub expires_in_hours: Option<u32>,
}

/// How long an invitation link stays valid when the request does not say.
pub const DEFAULT_INVITE_HOURS: u32 = 168;

impl NewInvite {
    /// Field problems; how long the link lives.
    pub fn check(&self) -> Result<Duration> {
        if let Some(e) = self.email.as_deref() {
            check("/email", validation::email("email", e))?;
        }
        let hours = self.expires_in_hours.unwrap_or(DEFAULT_INVITE_HOURS);
        if !(1..=720).contains(&hours) {
            return Err(Error::field(
                "/expires_in_hours",
                "expires_in_hours must be between 1 and 720",
            ));
        }
        Ok(Duration::hours(i64::from(hours)))
    }
}

/// Where a tenant invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteStatus {
    /// Usable.
    Pending,
    /// Redeemed by someone.
    Used,
    /// Withdrawn by an admin.
    Revoked,
    /// Past its time.
    Expired,
}

impl InviteStatus {
    /// The status of an invitation with these facts at `now`.
    pub fn of(
        used: bool,
        revoked: bool,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> InviteStatus {
        if used {
            InviteStatus::Used
        } else if revoked {
            InviteStatus::Revoked
        } else if expires_at <= now {
            InviteStatus::Expired
        } else {
            InviteStatus::Pending
        }
    }

    /// The API's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            InviteStatus::Pending => "pending",
            InviteStatus::Used => "used",
            InviteStatus::Revoked => "revoked",
            InviteStatus::Expired => "expired",
        }
    }
}
