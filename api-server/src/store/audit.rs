//! Audit event rows.

use crate::db::entities::audit_event;
use crate::domain::audit::AuditQuery;
use crate::domain::pagination::PageRequest;
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, NotSet, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Request id.
    pub request_id: String,
    /// Acting user, when authenticated.
    pub actor_user_id: Option<Uuid>,
    /// Token used, when authenticated.
    pub actor_token_id: Option<Uuid>,
    /// Tenant acted in, once the actor was known to belong to it.
    pub tenant_id: Option<Uuid>,
    /// `METHOD /route/{pattern}`.
    pub action: String,
    /// Path acted on, plus a created id when there is one.
    pub target: Option<String>,
    /// `success`, `denied`, `invalid` or `failed`.
    pub outcome: &'static str,
    /// HTTP status.
    pub status: u16,
}

/// Inserts an event.
pub async fn record(db: &impl ConnectionTrait, e: NewEvent) -> Result<(), DbErr> {
    audit_event::ActiveModel {
        id: NotSet,
        time: Set(Utc::now()),
        request_id: Set(e.request_id),
        actor_user_id: Set(e.actor_user_id),
        actor_token_id: Set(e.actor_token_id),
        tenant_id: Set(e.tenant_id),
        action: Set(e.action),
        target: Set(e.target),
        outcome: Set(e.outcome.into()),
        status: Set(i32::from(e.status)),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// A page of events, newest first; `tenant` None means all (platform administrator).
pub async fn list(
    db: &impl ConnectionTrait,
    tenant: Option<Uuid>,
    f: &AuditQuery,
    page: &PageRequest,
) -> Result<Vec<audit_event::Model>, DbErr> {
    let mut q = audit_event::Entity::find();
    if let Some(t) = tenant {
        q = q.filter(audit_event::Column::TenantId.eq(t));
    }
    if let Some(o) = f.outcome {
        q = q.filter(audit_event::Column::Outcome.eq(o.as_str()));
    }
    if let Some(u) = f.actor_user_id {
        q = q.filter(audit_event::Column::ActorUserId.eq(u));
    }
    if let Some(a) = f.action.as_deref().filter(|a| !a.is_empty()) {
        // Matched as typed: `%` and `_` are escaped, case is ignored.
        let escaped: String = a
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        q = q.filter(
            Expr::expr(Func::lower(Expr::col(audit_event::Column::Action)))
                .like(LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        );
    }
    if let Some(t) = f.since {
        q = q.filter(audit_event::Column::Time.gte(t));
    }
    if let Some(t) = f.until {
        q = q.filter(audit_event::Column::Time.lt(t));
    }
    if let Some(after) = page.after.as_deref().and_then(|a| a.parse::<i64>().ok()) {
        q = q.filter(audit_event::Column::Id.lt(after));
    }
    q.order_by_desc(audit_event::Column::Id)
        .limit(page.fetch())
        .all(db)
        .await
}
