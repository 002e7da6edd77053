//! Members of a tenant: who belongs, with which role. Admins manage members; only owners
//! grant or take away the owner role; a tenant always keeps one owner.

use crate::db::entities::{membership, user};
use crate::domain::error::{Error, Result};
use crate::domain::pagination::PageRequest;
use crate::domain::roles::{self, Action, MembershipRefusal, Role};
use crate::domain::tenants::AddMember;
use crate::service::access::{Access, Caller};
use crate::store;
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

fn refusal(r: MembershipRefusal) -> Error {
    match r {
        MembershipRefusal::LastOwner => Error::Conflict(r.to_string()),
        _ => Error::Forbidden(r.to_string()),
    }
}

fn member_not_found(user: Uuid) -> Error {
    Error::NotFound(format!("user {user} is not a member of this tenant"))
}

/// A member: the membership and its user.
pub type Member = (membership::Model, user::Model);

/// The members use cases.
#[derive(Clone)]
pub struct Members {
    db: DatabaseConnection,
    access: Access,
}

impl Members {
    /// Over `db`, authorizing through `access`.
    pub fn new(db: DatabaseConnection, access: Access) -> Members {
        Members { db, access }
    }

    /// A page of a tenant's members (viewers and up), ordered by user id.
    pub async fn list(
        &self,
        who: &Caller,
        tenant: Uuid,
        page: &PageRequest,
    ) -> Result<Vec<Member>> {
        self.access.role_in(who, tenant, Action::Read).await?;
        store::users::members(&self.db, tenant, page)
            .await?
            .into_iter()
            .map(|(m, u)| {
                u.map(|u| (m, u))
                    .ok_or_else(|| Error::Internal("membership without user".into()))
            })
            .collect()
    }

    /// Adds a person (found by e-mail or made) or a new service account to a tenant.
    pub async fn add(&self, who: &Caller, tenant: Uuid, req: &AddMember) -> Result<Member> {
        let actor = self.access.role_in(who, tenant, Action::Read).await?;
        roles::check_membership_change(actor, None, Some(req.role), 0).map_err(refusal)?;
        let email = req.check()?;
        let txn = self.db.begin().await?;
        let existing = match email {
            Some(e) => store::users::by_email(&txn, e).await?,
            None => None,
        };
        let user = match existing {
            Some(u) => u,
            None => {
                store::users::insert(
                    &txn,
                    store::users::NewUser {
                        email,
                        display_name: &req.display_name,
                        kind: req.kind,
                        is_platform_admin: false,
                    },
                )
                .await?
            }
        };
        if store::users::membership(&txn, tenant, user.id)
            .await?
            .is_some()
        {
            return Err(Error::Conflict(format!(
                "user {} is already a member; change their role instead",
                user.id
            )));
        }
        let m = store::users::add_member(&txn, tenant, user.id, req.role).await?;
        txn.commit().await?;
        who.created(user.id);
        Ok((m, user))
    }

    /// One member (viewers and up).
    pub async fn get(&self, who: &Caller, tenant: Uuid, user_id: Uuid) -> Result<Member> {
        self.access.role_in(who, tenant, Action::Read).await?;
        let m = store::users::membership(&self.db, tenant, user_id)
            .await?
            .ok_or_else(|| member_not_found(user_id))?;
        Ok((m, self.user(user_id).await?))
    }

    /// Changes a member's role.
    pub async fn change_role(
        &self,
        who: &Caller,
        tenant: Uuid,
        user_id: Uuid,
        to: Role,
    ) -> Result<Member> {
        let actor = self.access.role_in(who, tenant, Action::Read).await?;
        let txn = self.db.begin().await?;
        store::users::lock_memberships(&txn, tenant).await?;
        let m = store::users::membership(&txn, tenant, user_id)
            .await?
            .ok_or_else(|| member_not_found(user_id))?;
        let owners = store::users::owner_count(&txn, tenant).await?;
        roles::check_membership_change(actor, Some(m.role), Some(to), owners).map_err(refusal)?;
        let m = store::users::set_role(&txn, m, to).await?;
        txn.commit().await?;
        // Tokens this member minted for others are capped by its role, read when cached.
        self.access.forget_all_tokens();
        Ok((m, self.user(user_id).await?))
    }

    /// Removes a member and revokes their tokens scoped to the tenant.
    pub async fn remove(&self, who: &Caller, tenant: Uuid, user_id: Uuid) -> Result<()> {
        let actor = self.access.role_in(who, tenant, Action::Read).await?;
        let txn = self.db.begin().await?;
        store::users::lock_memberships(&txn, tenant).await?;
        let m = store::users::membership(&txn, tenant, user_id)
            .await?
            .ok_or_else(|| member_not_found(user_id))?;
        let owners = store::users::owner_count(&txn, tenant).await?;
        roles::check_membership_change(actor, Some(m.role), None, owners).map_err(refusal)?;
        store::users::remove_member(&txn, tenant, user_id).await?;
        store::tokens::revoke_for_member(&txn, tenant, user_id).await?;
        txn.commit().await?;
        self.access.forget_all_tokens();
        Ok(())
    }

    async fn user(&self, id: Uuid) -> Result<user::Model> {
        store::users::get(&self.db, id)
            .await?
            .ok_or_else(|| member_not_found(id))
    }
}
