//! sea-orm entities: one module per table. Rows only; rules live in `domain`.

pub mod api_token;
pub mod audit_event;
pub mod identity;
pub mod membership;
pub mod tenant;
pub mod user;
