//! Database access. Every function that touches a tenant's rows takes the tenant id and
//! filters by it, so a handler cannot reach another tenant's data by accident.

pub mod alliances;
pub mod audit;
pub mod chains;
pub mod sessions;
pub mod tenants;
pub mod tokens;
pub mod users;

use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Whether an error is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
        || matches!(e, DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s))
            if s.to_string().contains("UNIQUE constraint failed"))
}
