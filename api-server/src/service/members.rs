//! Members of a tenant: who belongs, with which role, and the invitation links that let a
//! person join. Admins manage members; only owners grant or take away the owner role; a
//! tenant always keeps one owner.
//!
//! A person joins by their own consent: an admin who names by e-mail someone they do not
//! already share a tenant with gets an invitation link bound to that address, whether or
//! not the address has an account here, so adding a member never tells whether a person
//! exists nor shows their profile. Only the platform administrator (who sees every user
//! anyway) adds people directly.

use crate::clock::Clock;
use crate::db::entities::{membership, tenant_invite, user};
use crate::domain::error::{Error, Result};
use crate::domain::pagination::PageRequest;
use crate::domain::roles::{self, Action, MembershipRefusal, Role};
use crate::domain::tenants::{AddMember, NewInvite};
use crate::domain::tokens::{self, TokenKey};
use crate::service::access::{Access, Caller};
use crate::store;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};
use std::sync::Arc;
use uuid::Uuid;

fn refusal(r: MembershipRefusal) -> Error {
    match r {
        MembershipRefusal::LastOwner => Error::Conflict(r.to_string()),
        _ => Error::Forbidden(r.to_string()),
    }
}

/// Whether the caller, as its credential lets it act, already shares a tenant with `user`
/// (and so may see their name in that tenant's member list anyway).
async fn knows(db: &impl ConnectionTrait, who: &Caller, user: Uuid) -> Result<bool> {
    let theirs = store::users::tenant_ids(db, user).await?;
    let mine = match who.token_tenant {
        Some(t) => vec![t],
        None => store::users::tenant_ids(db, who.user.id).await?,
    };
    Ok(theirs.iter().any(|t| mine.contains(t)))
}

fn member_not_found(user: Uuid) -> Error {
    Error::NotFound(format!("user {user} is not a member of this tenant"))
}

/// A member: the membership and its user.
pub type Member = (membership::Model, user::Model);

/// A new invitation with its secret, shown once.
#[derive(Debug)]
pub struct Invited {
    /// The stored invitation.
    pub invite: tenant_invite::Model,
    /// The single-use token.
    pub token: String,
    /// The link to send: signing in through it redeems the token.
    pub url: String,
}

/// What adding a member did.
#[derive(Debug)]
pub enum Added {
    /// The person or service account is a member now.
    Member(Member),
    /// The person was sent (rather: the caller was given) an invitation link to accept.
    Invited(Invited),
}

/// The members use cases.
#[derive(Clone)]
pub struct Members {
    db: DatabaseConnection,
    access: Access,
    token_key: TokenKey,
    clock: Arc<dyn Clock>,
    public_url: String,
}

impl Members {
    /// Over `db`, authorizing through `access`; invitation tokens are hashed under
    /// `token_key` and their links point at `public_url`.
    pub fn new(
        db: DatabaseConnection,
        access: Access,
        token_key: TokenKey,
        clock: Arc<dyn Clock>,
        public_url: String,
    ) -> Members {
        Members {
            db,
            access,
            token_key,
            clock,
            public_url,
        }
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

    /// Adds a new service account, or a person by e-mail: directly when the caller is the
    /// platform administrator or already shares a tenant with that person, otherwise by an
    /// invitation link bound to the address (the same answer whether or not it has an
    /// account).
    pub async fn add(&self, who: &Caller, tenant: Uuid, req: &AddMember) -> Result<Added> {
        let actor = self.access.role_in(who, tenant, Action::Read).await?;
        roles::check_membership_change(actor, None, Some(req.role), 0).map_err(refusal)?;
        let email = req.check()?;
        let txn = self.db.begin().await?;
        let existing = match email {
            Some(e) => store::users::by_email(&txn, e).await?,
            None => None,
        };
        // Directly only where it reveals nothing: the platform administrator, or a person
        // the caller already shares a tenant with.
        let direct = who.is_platform_admin()
            || match &existing {
                Some(u) => knows(&txn, who, u.id).await?,
                None => false,
            };
        let user = match (email, existing) {
            (None, _) => self.new_user(&txn, None, req).await?,
            (Some(_), Some(u)) if direct => u,
            (Some(e), None) if direct => self.new_user(&txn, Some(e), req).await?,
            (Some(e), _) => {
                drop(txn);
                let invite = NewInvite {
                    role: req.role,
                    email: Some(e.to_string()),
                    expires_in_hours: None,
                };
                return Ok(Added::Invited(self.invite(who, tenant, &invite).await?));
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
        Ok(Added::Member((m, user)))
    }

    async fn new_user(
        &self,
        txn: &DatabaseTransaction,
        email: Option<&str>,
        req: &AddMember,
    ) -> Result<user::Model> {
        Ok(store::users::insert(
            txn,
            store::users::NewUser {
                email,
                display_name: &req.display_name,
                kind: req.kind,
                is_platform_admin: false,
            },
        )
        .await?)
    }

    /// Makes a single-use invitation link into the tenant (admins; owners for `owner`).
    pub async fn invite(&self, who: &Caller, tenant: Uuid, req: &NewInvite) -> Result<Invited> {
        let actor = self.access.role_in(who, tenant, Action::Read).await?;
        roles::check_membership_change(actor, None, Some(req.role), 0).map_err(refusal)?;
        let lifetime = req.check()?;
        let token = tokens::invite_token();
        let now = self.clock.now();
        let invite = tenant_invite::Model {
            id: Uuid::now_v7(),
            tenant_id: tenant,
            role: req.role.as_str().into(),
            email: req.email.as_deref().map(str::to_lowercase),
            token_hash: self.token_key.hash(&token),
            created_by: who.user.id,
            created_at: now,
            expires_at: now + lifetime,
            used_at: None,
            used_by: None,
            revoked_at: None,
        };
        store::sessions::insert_invite(&self.db, invite.clone()).await?;
        who.created(invite.id);
        let url = format!(
            "{}/auth/login?invite={token}",
            self.public_url.trim_end_matches('/')
        );
        Ok(Invited { invite, token, url })
    }

    /// A page of the tenant's invitations, newest first (admins).
    pub async fn invites(
        &self,
        who: &Caller,
        tenant: Uuid,
        page: &PageRequest,
    ) -> Result<Vec<tenant_invite::Model>> {
        self.access
            .role_in(who, tenant, Action::ManageMembers)
            .await?;
        Ok(store::sessions::invites(&self.db, tenant, page).await?)
    }

    /// Revokes an unused invitation (admins).
    pub async fn revoke_invite(&self, who: &Caller, tenant: Uuid, id: Uuid) -> Result<()> {
        self.access
            .role_in(who, tenant, Action::ManageMembers)
            .await?;
        if !store::sessions::revoke_invite(&self.db, tenant, id, self.clock.now()).await? {
            return Err(Error::NotFound(format!(
                "no unused invitation {id} in this tenant"
            )));
        }
        Ok(())
    }

    /// Now, by the service's clock (what invitation states are judged against).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
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
