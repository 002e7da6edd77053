//! API tokens: a caller's own, and a tenant's (for its admins, including tokens of the
//! tenant's service accounts). A secret is shown once, when minted.

use crate::clock::Clock;
use crate::db::entities::api_token;
use crate::domain::error::{Error, Result};
use crate::domain::pagination::PageRequest;
use crate::domain::roles::Action;
use crate::domain::tenants::UserKind;
use crate::domain::tokens::{self, CreateTenantToken, CreateToken, TokenKey};
use crate::service::access::{Access, Caller};
use crate::store;
use crate::store::tokens::{NewToken, Owner};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use uuid::Uuid;

/// A token just minted: its row and its bearer secret (never stored, never shown again).
pub struct Minted {
    /// The stored row.
    pub row: api_token::Model,
    /// `cst_...`.
    pub bearer: String,
}

fn token_not_found(id: Uuid) -> Error {
    Error::not_found("token", id)
}

/// The tokens use cases.
#[derive(Clone)]
pub struct Tokens {
    db: DatabaseConnection,
    access: Access,
    key: TokenKey,
    clock: Arc<dyn Clock>,
}

impl Tokens {
    /// Over `db`, hashing under `key`.
    pub fn new(
        db: DatabaseConnection,
        access: Access,
        key: TokenKey,
        clock: Arc<dyn Clock>,
    ) -> Tokens {
        Tokens {
            db,
            access,
            key,
            clock,
        }
    }

    async fn mint(
        &self,
        who: &Caller,
        user_id: Uuid,
        tenant_id: Option<Uuid>,
        name: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Minted> {
        let minted = tokens::mint(&self.key);
        let row = store::tokens::insert(
            &self.db,
            NewToken {
                id: minted.id,
                user_id,
                tenant_id,
                name,
                secret_hash: &minted.secret_hash,
                created_by: who.user.id,
                expires_at,
            },
        )
        .await?;
        who.created(row.id);
        Ok(Minted {
            row,
            bearer: minted.bearer,
        })
    }

    /// Mints a token for the caller.
    pub async fn create_own(&self, who: &Caller, req: &CreateToken) -> Result<Minted> {
        tokens::check_new(&req.name, req.expires_at, self.clock.now())?;
        tokens::check_within(req.expires_at, who.not_after)?;
        // A tenant-scoped token can only mint tokens for the same tenant: no escalation.
        let tenant = match (who.token_tenant, req.tenant_id) {
            (Some(scope), None) => Some(scope),
            (_, t) => t,
        };
        if let Some(t) = tenant {
            self.access.role_in(who, t, Action::Read).await?;
        }
        self.mint(who, who.user.id, tenant, &req.name, req.expires_at)
            .await
    }

    /// A page of the caller's own tokens (within its credential's scope).
    pub async fn list_own(
        &self,
        who: &Caller,
        page: &PageRequest,
    ) -> Result<Vec<api_token::Model>> {
        let rows = store::tokens::list(&self.db, Owner::User(who.user.id), page).await?;
        Ok(rows
            .into_iter()
            .filter(|t| who.token_tenant.is_none() || t.tenant_id == who.token_tenant)
            .collect())
    }

    /// Revokes one of the caller's own tokens.
    pub async fn revoke_own(&self, who: &Caller, id: Uuid) -> Result<()> {
        let t = store::tokens::get_owned(&self.db, Owner::User(who.user.id), id)
            .await?
            .filter(|t| who.token_tenant.is_none() || t.tenant_id == who.token_tenant)
            .ok_or_else(|| token_not_found(id))?;
        self.revoke(t).await
    }

    /// A page of the tokens scoped to a tenant (admins).
    pub async fn list_tenant(
        &self,
        who: &Caller,
        tenant: Uuid,
        page: &PageRequest,
    ) -> Result<Vec<api_token::Model>> {
        self.access
            .role_in(who, tenant, Action::ManageTokens)
            .await?;
        Ok(store::tokens::list(&self.db, Owner::Tenant(tenant), page).await?)
    }

    /// Mints a tenant-scoped token for the caller or a service account of the tenant (admins).
    pub async fn create_tenant(
        &self,
        who: &Caller,
        tenant: Uuid,
        req: &CreateTenantToken,
    ) -> Result<Minted> {
        let minter_role = self
            .access
            .role_in(who, tenant, Action::ManageTokens)
            .await?;
        tokens::check_new(&req.name, req.expires_at, self.clock.now())?;
        tokens::check_within(req.expires_at, who.not_after)?;
        let user_id = match req.user_id {
            None => who.user.id,
            Some(u) if u == who.user.id => u,
            Some(u) => {
                let membership = store::users::membership(&self.db, tenant, u)
                    .await?
                    .ok_or_else(|| {
                        Error::NotFound(format!("user {u} is not a member of this tenant"))
                    })?;
                let user = store::users::get(&self.db, u)
                    .await?
                    .ok_or_else(|| Error::not_found("user", u))?;
                if user.kind != UserKind::Service {
                    return Err(Error::field(
                        "/user_id",
                        "tokens for people are created by those people; name a service account",
                    ));
                }
                if membership.role > minter_role {
                    return Err(Error::Forbidden(format!(
                        "the service account is {} and you act as {minter_role}: a token never \
                         carries more than whoever mints it holds",
                        membership.role
                    )));
                }
                u
            }
        };
        self.mint(who, user_id, Some(tenant), &req.name, req.expires_at)
            .await
    }

    /// Revokes a token scoped to the tenant (admins).
    pub async fn revoke_tenant(&self, who: &Caller, tenant: Uuid, id: Uuid) -> Result<()> {
        self.access
            .role_in(who, tenant, Action::ManageTokens)
            .await?;
        let t = store::tokens::get_owned(&self.db, Owner::Tenant(tenant), id)
            .await?
            .ok_or_else(|| token_not_found(id))?;
        self.revoke(t).await
    }

    async fn revoke(&self, t: api_token::Model) -> Result<()> {
        let id = t.id;
        store::tokens::revoke(&self.db, t).await?;
        // After the write, so a concurrent request cannot re-cache the unrevoked row.
        self.access.forget_token(id);
        Ok(())
    }
}
