//! Tenant roles and what each may do.

use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// A member's role inside one tenant, from least to most privileged.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Role {
    /// Reads everything in the tenant.
    #[sea_orm(string_value = "viewer")]
    Viewer,
    /// Also creates and changes workloads (chains, deposits, installations).
    #[sea_orm(string_value = "developer")]
    Developer,
    /// Also manages members, tokens and reads the audit log.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// Everything in the tenant, including its settings and other owners.
    #[sea_orm(string_value = "owner")]
    Owner,
}

impl Role {
    /// The stored / wire name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Developer => "developer",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "developer" => Ok(Role::Developer),
            "admin" => Ok(Role::Admin),
            "owner" => Ok(Role::Owner),
            other => Err(format!(
                "unknown role `{other}`: expected owner, admin, developer or viewer"
            )),
        }
    }
}

/// Something a caller wants to do inside a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the tenant and anything in it.
    Read,
    /// Create or change workloads.
    WriteWorkloads,
    /// Add, change or remove members (not owners).
    ManageMembers,
    /// Create or revoke tokens scoped to the tenant.
    ManageTokens,
    /// Read the tenant's audit events.
    ReadAudit,
    /// Change the tenant itself, or grant and take away the owner role.
    ManageTenant,
}

impl Action {
    /// The least role that may perform the action.
    pub fn required_role(self) -> Role {
        match self {
            Action::Read => Role::Viewer,
            Action::WriteWorkloads => Role::Developer,
            Action::ManageMembers | Action::ManageTokens | Action::ReadAudit => Role::Admin,
            Action::ManageTenant => Role::Owner,
        }
    }
}

/// Whether a member with `role` may perform `action`.
pub fn allows(role: Role, action: Action) -> bool {
    role >= action.required_role()
}

/// Why a change to a membership is refused, if it is.
///
/// `actor` is the acting member's role; `from` is the member's current role (None when adding),
/// `to` the new role (None when removing); `owners` counts the tenant's owners today.
pub fn check_membership_change(
    actor: Role,
    from: Option<Role>,
    to: Option<Role>,
    owners: u64,
) -> Result<(), MembershipRefusal> {
    if !allows(actor, Action::ManageMembers) {
        return Err(MembershipRefusal::Forbidden);
    }
    let touches_owner = from == Some(Role::Owner) || to == Some(Role::Owner);
    if touches_owner && !allows(actor, Action::ManageTenant) {
        return Err(MembershipRefusal::OwnerOnly);
    }
    if from == Some(Role::Owner) && to != Some(Role::Owner) && owners <= 1 {
        return Err(MembershipRefusal::LastOwner);
    }
    Ok(())
}

/// A refused membership change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MembershipRefusal {
    /// The actor may not manage members at all.
    #[error("managing members needs the admin or owner role")]
    Forbidden,
    /// Only owners grant or take away the owner role.
    #[error("only an owner can grant or take away the owner role")]
    OwnerOnly,
    /// A tenant always keeps at least one owner.
    #[error("a tenant must keep at least one owner: make another member owner first")]
    LastOwner,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_round_trip() {
        let all = [Role::Viewer, Role::Developer, Role::Admin, Role::Owner];
        for w in all.windows(2) {
            assert!(w[0] < w[1]);
        }
        for r in all {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().unwrap_err().contains("unknown role"));
    }

    #[test]
    fn permission_matrix() {
        use Action::*;
        let table = [
            (Role::Viewer, vec![Read]),
            (Role::Developer, vec![Read, WriteWorkloads]),
            (
                Role::Admin,
                vec![Read, WriteWorkloads, ManageMembers, ManageTokens, ReadAudit],
            ),
            (
                Role::Owner,
                vec![
                    Read,
                    WriteWorkloads,
                    ManageMembers,
                    ManageTokens,
                    ReadAudit,
                    ManageTenant,
                ],
            ),
        ];
        let actions = [
            Read,
            WriteWorkloads,
            ManageMembers,
            ManageTokens,
            ReadAudit,
            ManageTenant,
        ];
        for (role, allowed) in table {
            for a in actions {
                assert_eq!(allows(role, a), allowed.contains(&a), "{role} {a:?}");
            }
        }
    }

    #[test]
    fn membership_changes() {
        use MembershipRefusal::*;
        use Role::*;
        assert_eq!(
            check_membership_change(Developer, None, Some(Viewer), 1),
            Err(Forbidden)
        );
        assert_eq!(check_membership_change(Admin, None, Some(Admin), 1), Ok(()));
        assert_eq!(
            check_membership_change(Admin, None, Some(Owner), 1),
            Err(OwnerOnly)
        );
        assert_eq!(
            check_membership_change(Admin, Some(Owner), Some(Viewer), 2),
            Err(OwnerOnly)
        );
        assert_eq!(
            check_membership_change(Owner, Some(Owner), Some(Admin), 1),
            Err(LastOwner)
        );
        assert_eq!(
            check_membership_change(Owner, Some(Owner), None, 1),
            Err(LastOwner)
        );
        assert_eq!(check_membership_change(Owner, Some(Owner), None, 2), Ok(()));
        assert_eq!(check_membership_change(Owner, None, Some(Owner), 1), Ok(()));
    }
}
