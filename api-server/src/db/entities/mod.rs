//! sea-orm entities: one module per table. Rows only; rules live in `domain`.

pub mod alliance;
pub mod alliance_event;
pub mod alliance_member;
pub mod api_token;
pub mod audit_event;
pub mod ca;
pub mod certificate;
pub mod identity;
pub mod invitation;
pub mod login_request;
pub mod membership;
pub mod proposal;
pub mod session;
pub mod template;
pub mod template_event;
pub mod template_package;
pub mod template_version;
pub mod tenant;
pub mod tenant_invite;
pub mod user;
pub mod vote;
