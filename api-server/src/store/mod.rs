//! Database access. Every function that touches a tenant's rows takes the tenant id and
//! filters by it, so a handler cannot reach another tenant's data by accident.

pub mod alliances;
pub mod audit;
pub mod chains;
pub mod idempotency;
pub mod installations;
pub mod pki;
pub mod sessions;
pub mod templates;
pub mod tenants;
pub mod tokens;
pub mod users;

use crate::domain::pagination::PageRequest;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Whether an error is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
        || matches!(e, DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s))
            if s.to_string().contains("UNIQUE constraint failed"))
}

impl From<DbErr> for crate::domain::error::Error {
    fn from(e: DbErr) -> Self {
        use crate::domain::error::Error;
        match e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                Error::Unavailable("the database is not reachable; try again shortly".into())
            }
            other => Error::Internal(other.to_string()),
        }
    }
}

/// One page of a query ordered by a UUID key (v7 ids: creation order): the rows after the
/// cursor, ascending, one more than the page so the caller learns whether another follows.
pub fn page_by_id<E, C>(q: sea_orm::Select<E>, key: C, page: &PageRequest) -> sea_orm::Select<E>
where
    E: sea_orm::EntityTrait,
    C: sea_orm::ColumnTrait,
{
    page_by_key(q, key, page, sea_orm::Order::Asc)
}

/// Like [`page_by_id`], newest (greatest id) first: `after` names the last row of the
/// previous page, so the next page holds smaller ids.
pub fn page_by_id_desc<E, C>(
    q: sea_orm::Select<E>,
    key: C,
    page: &PageRequest,
) -> sea_orm::Select<E>
where
    E: sea_orm::EntityTrait,
    C: sea_orm::ColumnTrait,
{
    page_by_key(q, key, page, sea_orm::Order::Desc)
}

fn page_by_key<E, C>(
    q: sea_orm::Select<E>,
    key: C,
    page: &PageRequest,
    order: sea_orm::Order,
) -> sea_orm::Select<E>
where
    E: sea_orm::EntityTrait,
    C: sea_orm::ColumnTrait,
{
    use sea_orm::{QueryFilter, QueryOrder, QuerySelect};
    let after = page
        .after
        .as_deref()
        .and_then(|a| uuid::Uuid::try_parse(a).ok());
    let q = match (after, &order) {
        (Some(after), sea_orm::Order::Desc) => q.filter(key.lt(after)),
        (Some(after), _) => q.filter(key.gt(after)),
        (None, _) => q,
    };
    q.order_by(key, order).limit(page.fetch())
}
