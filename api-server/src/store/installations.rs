//! Template installations on chains, and each template's install count.

use crate::db::entities::{template, template_installation};
use crate::domain::templates::InstallStatus;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, Set,
};
use std::collections::HashMap;
use uuid::Uuid;

/// An installation by id.
pub async fn get(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<template_installation::Model>, DbErr> {
    template_installation::Entity::find_by_id(id).one(db).await
}

/// A chain's installations, oldest first, with each one's template slug.
pub async fn of_chain(
    db: &impl ConnectionTrait,
    chain: Uuid,
) -> Result<Vec<(template_installation::Model, String)>, DbErr> {
    let rows = template_installation::Entity::find()
        .filter(template_installation::Column::ChainId.eq(chain))
        .order_by_asc(template_installation::Column::CreatedAt)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new()); // most chains: no second query
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.template_id).collect();
    let slugs: HashMap<Uuid, String> = template::Entity::find()
        .filter(template::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.slug))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let slug = slugs.get(&r.template_id).cloned().unwrap_or_default();
            (r, slug)
        })
        .collect())
}

/// Installations a stopped server left `installing`.
pub async fn installing(
    db: &impl ConnectionTrait,
) -> Result<Vec<template_installation::Model>, DbErr> {
    template_installation::Entity::find()
        .filter(template_installation::Column::Status.eq(InstallStatus::Installing))
        .all(db)
        .await
}

/// Stores an installation and counts it on its template (a unique-constraint error when the
/// template is installed on the chain already).
pub async fn insert(
    db: &impl ConnectionTrait,
    row: template_installation::Model,
) -> Result<(), DbErr> {
    let template = row.template_id;
    template_installation::ActiveModel::from(row)
        .insert(db)
        .await?;
    count(db, template, 1).await
}

/// Moves a template's install count by `by`.
async fn count(db: &impl ConnectionTrait, template: Uuid, by: i64) -> Result<(), DbErr> {
    template::Entity::update_many()
        .col_expr(
            template::Column::Installs,
            Expr::col(template::Column::Installs).add(by),
        )
        .filter(template::Column::Id.eq(template))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes back the count of an installation that was never made.
pub async fn uncount(db: &impl ConnectionTrait, template: Uuid) -> Result<(), DbErr> {
    count(db, template, -1).await
}

/// Deletes a chain's failed installation of a template (a new install replaces it).
pub async fn delete_failed(
    db: &impl ConnectionTrait,
    chain: Uuid,
    template: Uuid,
) -> Result<(), DbErr> {
    template_installation::Entity::delete_many()
        .filter(template_installation::Column::ChainId.eq(chain))
        .filter(template_installation::Column::TemplateId.eq(template))
        .filter(template_installation::Column::Status.eq(InstallStatus::Failed))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes an installation and takes back its count.
pub async fn forget(
    db: &impl ConnectionTrait,
    row: &template_installation::Model,
) -> Result<(), DbErr> {
    template_installation::Entity::delete_by_id(row.id)
        .exec(db)
        .await?;
    uncount(db, row.template_id).await
}

/// What an anchoring transaction proves, as stored.
pub struct Anchor {
    /// Transaction hash, hex.
    pub tx_hash: String,
    /// Block height.
    pub height: i64,
    /// The receipt.
    pub receipt: serde_json::Value,
}

/// Records an installation's anchor: `installed`, with the transaction and its receipt.
pub async fn mark_installed(
    db: &impl ConnectionTrait,
    row: template_installation::Model,
    a: Anchor,
    now: DateTime<Utc>,
) -> Result<template_installation::Model, DbErr> {
    let mut active: template_installation::ActiveModel = row.into();
    active.status = Set(InstallStatus::Installed);
    active.message = Set(None);
    active.tx_hash = Set(Some(a.tx_hash));
    active.height = Set(Some(a.height));
    active.receipt = Set(Some(a.receipt));
    active.updated_at = Set(now);
    active.update(db).await
}

/// Marks an installation still `installing` as `failed`, saying why.
pub async fn mark_failed(
    db: &impl ConnectionTrait,
    id: Uuid,
    why: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    template_installation::Entity::update_many()
        .col_expr(
            template_installation::Column::Status,
            Expr::value(InstallStatus::Failed.as_str()),
        )
        .col_expr(template_installation::Column::Message, Expr::value(why))
        .col_expr(template_installation::Column::UpdatedAt, Expr::value(now))
        .filter(template_installation::Column::Id.eq(id))
        .filter(template_installation::Column::Status.eq(InstallStatus::Installing))
        .exec(db)
        .await?;
    Ok(())
}
