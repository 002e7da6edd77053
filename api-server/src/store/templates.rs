//! Marketplace templates, their versions, packages and history: every query the marketplace
//! makes.

use crate::db::entities::{template, template_event, template_package, template_version};
use crate::domain::templates::VersionStatus;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

/// A template by id.
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<template::Model>, DbErr> {
    template::Entity::find_by_id(id).one(db).await
}

/// A publisher's own template of this slug.
pub async fn own(
    db: &impl ConnectionTrait,
    publisher: Uuid,
    slug: &str,
) -> Result<Option<template::Model>, DbErr> {
    template::Entity::find()
        .filter(template::Column::PublisherTenantId.eq(publisher))
        .filter(template::Column::Slug.eq(slug))
        .one(db)
        .await
}

/// The template that holds `slug` in the catalog.
pub async fn listed(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<template::Model>, DbErr> {
    template::Entity::find()
        .filter(template::Column::ListedSlug.eq(slug))
        .one(db)
        .await
}

/// A publisher's templates, by slug.
pub async fn of_publisher(
    db: &impl ConnectionTrait,
    publisher: Uuid,
) -> Result<Vec<template::Model>, DbErr> {
    template::Entity::find()
        .filter(template::Column::PublisherTenantId.eq(publisher))
        .order_by_asc(template::Column::Slug)
        .all(db)
        .await
}

/// Every template.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<template::Model>, DbErr> {
    template::Entity::find().all(db).await
}

/// What a template is shown as: from the manifest of its latest upload or publication.
pub struct Listing<'a> {
    /// Display name.
    pub name: &'a str,
    /// One sentence.
    pub summary: &'a str,
    /// Category.
    pub category: &'a str,
    /// Engines, comma-separated.
    pub engines: String,
}

/// Inserts a template.
pub async fn insert(
    db: &impl ConnectionTrait,
    row: template::Model,
) -> Result<template::Model, DbErr> {
    template::ActiveModel::from(row).insert(db).await
}

/// Puts a template in the catalog under its slug (a unique-constraint error when another
/// template holds that name) and shows it as `listing`.
pub async fn publish(
    db: &impl ConnectionTrait,
    t: &template::Model,
    listing: Listing<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut am: template::ActiveModel = t.clone().into();
    am.listed_slug = Set(t.slug.clone());
    am.name = Set(listing.name.into());
    am.summary = Set(listing.summary.into());
    am.category = Set(listing.category.into());
    am.engines = Set(listing.engines);
    am.updated_at = Set(now);
    am.update(db).await.map(|_| ())
}

/// Every version of a template, in no particular order.
pub async fn versions(
    db: &impl ConnectionTrait,
    template: Uuid,
) -> Result<Vec<template_version::Model>, DbErr> {
    template_version::Entity::find()
        .filter(template_version::Column::TemplateId.eq(template))
        .all(db)
        .await
}

/// A template's version by its number.
pub async fn version(
    db: &impl ConnectionTrait,
    template: Uuid,
    version: &str,
) -> Result<Option<template_version::Model>, DbErr> {
    template_version::Entity::find()
        .filter(template_version::Column::TemplateId.eq(template))
        .filter(template_version::Column::Version.eq(version))
        .one(db)
        .await
}

/// A version by id.
pub async fn version_by_id(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<template_version::Model>, DbErr> {
    template_version::Entity::find_by_id(id).one(db).await
}

/// How many versions of a template are not published (drafts, rejected, in review).
pub async fn unpublished_count(db: &impl ConnectionTrait, template: Uuid) -> Result<u64, DbErr> {
    template_version::Entity::find()
        .filter(template_version::Column::TemplateId.eq(template))
        .filter(template_version::Column::Status.is_in([
            VersionStatus::Draft,
            VersionStatus::Rejected,
            VersionStatus::InReview,
        ]))
        .count(db)
        .await
}

/// A version's content: its manifest, the package rebuilt from the checked files, and who
/// uploaded it.
pub struct Content {
    /// The checked manifest as JSON.
    pub manifest: serde_json::Value,
    /// The package bytes.
    pub package: Vec<u8>,
    /// Their SHA-256, hex.
    pub sha256: String,
    /// Who uploaded it (none for built-ins).
    pub created_by: Option<Uuid>,
}

/// Inserts a version with `status` and its package.
pub async fn insert_version(
    db: &impl ConnectionTrait,
    template: Uuid,
    version: &str,
    content: Content,
    status: VersionStatus,
    now: DateTime<Utc>,
) -> Result<template_version::Model, DbErr> {
    let id = Uuid::now_v7();
    let v = template_version::ActiveModel {
        id: Set(id),
        template_id: Set(template),
        version: Set(version.into()),
        manifest: Set(content.manifest),
        package_bytes: Set(content.package.len() as i64),
        package_sha256: Set(content.sha256),
        status: Set(status),
        reason: Set(None),
        created_by: Set(content.created_by),
        created_at: Set(now),
        submitted_at: Set(None),
        reviewed_at: Set((status == VersionStatus::Published).then_some(now)),
        reviewed_by: Set(None),
    }
    .insert(db)
    .await?;
    template_package::ActiveModel {
        version_id: Set(id),
        package: Set(content.package),
    }
    .insert(db)
    .await?;
    Ok(v)
}

/// Replaces a draft or rejected version's content, making it a fresh draft; `None` when it
/// is neither any more (submitted or reviewed meanwhile).
pub async fn replace_draft(
    db: &impl ConnectionTrait,
    id: Uuid,
    content: Content,
    now: DateTime<Utc>,
) -> Result<Option<template_version::Model>, DbErr> {
    let r = template_version::Entity::update_many()
        .col_expr(
            template_version::Column::Manifest,
            Expr::value(content.manifest),
        )
        .col_expr(
            template_version::Column::PackageBytes,
            Expr::value(content.package.len() as i64),
        )
        .col_expr(
            template_version::Column::PackageSha256,
            Expr::value(content.sha256),
        )
        .col_expr(
            template_version::Column::Status,
            Expr::value(VersionStatus::Draft.as_str()),
        )
        .col_expr(
            template_version::Column::Reason,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            template_version::Column::CreatedBy,
            Expr::value(content.created_by),
        )
        .col_expr(template_version::Column::CreatedAt, Expr::value(now))
        .col_expr(
            template_version::Column::SubmittedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            template_version::Column::ReviewedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            template_version::Column::ReviewedBy,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(template_version::Column::Id.eq(id))
        .filter(
            template_version::Column::Status.is_in([VersionStatus::Draft, VersionStatus::Rejected]),
        )
        .exec(db)
        .await?;
    if r.rows_affected != 1 {
        return Ok(None);
    }
    template_package::Entity::update_many()
        .col_expr(
            template_package::Column::Package,
            Expr::value(content.package),
        )
        .filter(template_package::Column::VersionId.eq(id))
        .exec(db)
        .await?;
    version_by_id(db, id).await
}

/// Moves a version to `to` only if its status is still one of `from`; false when it is not
/// (a race lost). Submission stamps `submitted_at`; a reviewer stamps the review.
pub async fn transition(
    db: &impl ConnectionTrait,
    id: Uuid,
    from: &[VersionStatus],
    to: VersionStatus,
    reason: Option<String>,
    reviewer: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut q = template_version::Entity::update_many()
        .col_expr(template_version::Column::Status, Expr::value(to.as_str()))
        .col_expr(template_version::Column::Reason, Expr::value(reason))
        .filter(template_version::Column::Id.eq(id))
        .filter(template_version::Column::Status.is_in(from.iter().copied()));
    if to == VersionStatus::InReview {
        q = q.col_expr(template_version::Column::SubmittedAt, Expr::value(now));
    }
    if reviewer.is_some() {
        q = q
            .col_expr(template_version::Column::ReviewedAt, Expr::value(now))
            .col_expr(template_version::Column::ReviewedBy, Expr::value(reviewer));
    }
    Ok(q.exec(db).await?.rows_affected == 1)
}

/// Versions waiting for review, oldest submission first.
pub async fn in_review(db: &impl ConnectionTrait) -> Result<Vec<template_version::Model>, DbErr> {
    template_version::Entity::find()
        .filter(template_version::Column::Status.eq(VersionStatus::InReview))
        .order_by_asc(template_version::Column::SubmittedAt)
        .all(db)
        .await
}

/// A version's package bytes.
pub async fn package(db: &impl ConnectionTrait, version: Uuid) -> Result<Option<Vec<u8>>, DbErr> {
    Ok(template_package::Entity::find_by_id(version)
        .one(db)
        .await?
        .map(|p| p.package))
}

/// Records a step in a template's history.
pub async fn record(
    db: &impl ConnectionTrait,
    template: Uuid,
    version: &str,
    action: &str,
    actor: Option<Uuid>,
    detail: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    template_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        template_id: Set(template),
        version: Set(version.into()),
        action: Set(action.into()),
        actor_user_id: Set(actor),
        detail: Set(detail),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// A template's history, oldest first.
pub async fn history(
    db: &impl ConnectionTrait,
    template: Uuid,
) -> Result<Vec<template_event::Model>, DbErr> {
    template_event::Entity::find()
        .filter(template_event::Column::TemplateId.eq(template))
        .order_by_asc(template_event::Column::CreatedAt)
        .order_by_asc(template_event::Column::Id)
        .all(db)
        .await
}
