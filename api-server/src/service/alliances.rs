//! Who sees an alliance and who acts for one of its members: the access rules every
//! alliance-scoped route (alliances, their chains, installations) shares.

use crate::db::entities::{alliance, alliance_member, chain};
use crate::domain::error::{Error, Result};
use crate::domain::roles::{Action, Role};
use crate::service::access::{Access, Caller};
use crate::store;
use crate::store::alliances as db;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

/// The 404 of an alliance the caller may not see (or that does not exist).
pub fn alliance_not_found(id: Uuid) -> Error {
    Error::not_found("alliance", id)
}

/// The 404 of a chain the caller may not see (or that does not exist).
pub fn chain_not_found(id: Uuid) -> Error {
    Error::not_found("chain", id)
}

/// Refuses a change to a closed alliance (409).
pub fn ensure_open(a: &alliance::Model) -> Result<()> {
    if a.status == crate::domain::governance::AllianceStatus::Closed {
        Err(Error::Conflict(format!("alliance {} is closed", a.id)))
    } else {
        Ok(())
    }
}

/// Alliance access over the store.
#[derive(Clone)]
pub struct Alliances {
    db: DatabaseConnection,
    access: Access,
}

impl Alliances {
    /// Over `db`, authorizing through `access`.
    pub fn new(db: DatabaseConnection, access: Access) -> Alliances {
        Alliances { db, access }
    }

    /// Member tenants of an alliance through which the caller sees it.
    async fn viewer_tenants(
        &self,
        who: &Caller,
        members: &[alliance_member::Model],
    ) -> Result<Vec<Uuid>> {
        if who.is_platform_admin() {
            return Ok(members.iter().map(|m| m.tenant_id).collect());
        }
        let mine = db::user_tenants(&self.db, who.user.id).await?;
        Ok(members
            .iter()
            .map(|m| m.tenant_id)
            .filter(|t| mine.iter().any(|x| x.tenant_id == *t))
            .filter(|t| who.token_tenant.is_none_or(|tt| tt == *t))
            .collect())
    }

    /// The alliance and its members, if the caller may see it (else 404).
    pub async fn authorize_view(
        &self,
        who: &Caller,
        id: Uuid,
    ) -> Result<(alliance::Model, Vec<alliance_member::Model>)> {
        let a = db::get(&self.db, id)
            .await?
            .ok_or_else(|| alliance_not_found(id))?;
        let members = db::members(&self.db, id).await?;
        let through = self.viewer_tenants(who, &members).await?;
        let Some(t) = through.first() else {
            return Err(alliance_not_found(id));
        };
        who.noted_tenant_if_none(*t);
        Ok((a, members))
    }

    /// The alliance, with the caller acting for member tenant `tenant` with at least the
    /// role `action` needs. Not a member (or not the caller's tenant): 404; role too low: 403.
    pub async fn authorize_member_action(
        &self,
        who: &Caller,
        id: Uuid,
        tenant: Uuid,
        action: Action,
    ) -> Result<(alliance::Model, Role)> {
        let a = db::get(&self.db, id)
            .await?
            .ok_or_else(|| alliance_not_found(id))?;
        if db::member(&self.db, id, tenant).await?.is_none() {
            return Err(alliance_not_found(id));
        }
        let role = self
            .access
            .role_in(who, tenant, action)
            .await
            .map_err(|e| e.not_found_as(|| alliance_not_found(id)))?;
        Ok((a, role))
    }

    /// The chain, if it belongs to the alliance and the caller may see the alliance (else 404).
    pub async fn authorize_chain_view(
        &self,
        who: &Caller,
        alliance: Uuid,
        id: Uuid,
    ) -> Result<chain::Model> {
        self.authorize_view(who, alliance)
            .await
            .map_err(|e| e.not_found_as(|| chain_not_found(id)))?;
        store::chains::get(&self.db, id)
            .await?
            .filter(|c| c.alliance_id == alliance)
            .ok_or_else(|| chain_not_found(id))
    }
}
