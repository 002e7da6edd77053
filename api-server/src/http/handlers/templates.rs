//! The marketplace: partners upload template packages and submit versions for review, the
//! platform reviewer approves or rejects, partners deprecate; every tenant browses the catalog
//! and checks install parameters against a version's schema.

use crate::app::AppState;
use crate::db::entities::{template, template_event, template_package, template_version, tenant};
use crate::domain::roles::Action;
use crate::domain::templates::{self as marketplace, Manifest, Problem};
use crate::http::problem::{ApiError, ApiResult, FieldError};
use crate::service::access::Caller;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Most versions of one template that are not published (drafts, rejected, in review).
const MAX_UNPUBLISHED: u64 = 20;

/// Slug of the tenant that publishes the built-in templates.
pub const PLATFORM_PUBLISHER: &str = "consortia";

fn problems(detail: &str, list: Vec<Problem>) -> ApiError {
    ApiError::Validation {
        detail: format!(
            "{detail}: {}",
            list.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
                .chars()
                .take(2000)
                .collect::<String>()
        ),
        errors: list
            .into_iter()
            .map(|p| FieldError {
                pointer: p.pointer,
                detail: p.detail,
            })
            .collect(),
    }
}

/// A template as its publisher and the catalog see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    /// Template id.
    pub id: Uuid,
    /// The publisher's name for it; once a version is published, the catalog's (unique).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// One sentence.
    pub summary: String,
    /// Category.
    pub category: String,
    /// Engines supported.
    pub engines: Vec<String>,
    /// The publishing tenant.
    pub publisher_tenant_id: Uuid,
    /// Shipped with Consortia.
    pub builtin: bool,
    /// How many times it was installed.
    pub installs: i64,
    /// When a runtime this server lacks is needed (Fabric and GoQuorum need Kubernetes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last published or changed.
    pub updated_at: DateTime<Utc>,
}

fn requires(engines: &[String], runtime: &str) -> Option<String> {
    if runtime == "kubernetes" || engines.iter().any(|e| e == "native") {
        None
    } else {
        Some("the Kubernetes runtime (Fabric and GoQuorum chains run only on Kubernetes)".into())
    }
}

fn template_view(t: &template::Model, runtime: &str) -> TemplateView {
    let engines: Vec<String> = t.engines.split(',').map(String::from).collect();
    TemplateView {
        id: t.id,
        slug: t.slug.clone(),
        name: t.name.clone(),
        summary: t.summary.clone(),
        category: t.category.clone(),
        requires: requires(&engines, runtime),
        engines,
        publisher_tenant_id: t.publisher_tenant_id,
        builtin: t.builtin,
        installs: t.installs,
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

/// A version of a template.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    /// Semantic version.
    pub version: String,
    /// `draft`, `in_review`, `published`, `rejected` or `deprecated`.
    pub status: String,
    /// Why it was rejected or deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// SHA-256 of the package.
    pub package_sha256: String,
    /// Package size in bytes.
    pub package_bytes: usize,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
    /// Submitted for review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
    /// Reviewed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewed_at: Option<DateTime<Utc>>,
    /// The manifest (description, chain defaults, parameters schema, artifacts).
    pub manifest: Manifest,
}

fn version_view(v: &template_version::Model) -> Result<VersionView, ApiError> {
    Ok(VersionView {
        version: v.version.clone(),
        status: v.status.clone(),
        reason: v.reason.clone(),
        package_sha256: v.package_sha256.clone(),
        package_bytes: v.package_bytes as usize,
        created_at: v.created_at,
        submitted_at: v.submitted_at,
        reviewed_at: v.reviewed_at,
        manifest: serde_json::from_str(&v.manifest)
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    })
}

/// A template with its versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateDetail {
    /// The template.
    pub template: TemplateView,
    /// Its versions, newest first (the catalog shows published and deprecated ones only).
    pub versions: Vec<VersionView>,
}

async fn event(
    db: &impl ConnectionTrait,
    template: Uuid,
    version: &str,
    action: &str,
    actor: Option<Uuid>,
    detail: Option<String>,
) -> Result<(), ApiError> {
    template_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        template_id: Set(template),
        version: Set(version.into()),
        action: Set(action.into()),
        actor_user_id: Set(actor),
        detail: Set(detail),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

async fn versions_of(
    db: &impl ConnectionTrait,
    template: Uuid,
) -> Result<Vec<template_version::Model>, ApiError> {
    let mut v = template_version::Entity::find()
        .filter(template_version::Column::TemplateId.eq(template))
        .all(db)
        .await?;
    v.sort_by_key(|x| std::cmp::Reverse(semver_of(&x.version)));
    Ok(v)
}

fn semver_of(v: &str) -> semver::Version {
    semver::Version::parse(v).unwrap_or(semver::Version::new(0, 0, 0))
}

/// A conflict when another publisher's template holds `slug` in the catalog.
async fn refuse_listed_elsewhere(
    db: &impl ConnectionTrait,
    publisher: Uuid,
    slug: &str,
) -> Result<(), ApiError> {
    let listed = template::Entity::find()
        .filter(template::Column::ListedSlug.eq(slug))
        .one(db)
        .await?;
    match listed {
        Some(t) if t.publisher_tenant_id != publisher => Err(ApiError::Conflict(format!(
            "the catalog already has a template `{slug}` by another publisher: choose another slug"
        ))),
        _ => Ok(()),
    }
}

/// Stores a checked package as a version of its template (created when new). `status` is
/// `draft` for uploads, `published` for built-ins.
async fn store_version(
    db: &impl ConnectionTrait,
    publisher: Uuid,
    pkg: &marketplace::Package,
    status: &str,
    actor: Option<Uuid>,
    builtin: bool,
) -> Result<(template::Model, template_version::Model, bool), ApiError> {
    let m = &pkg.manifest;
    let now = Utc::now();
    // The publisher's own template of this slug. Another publisher's counts only once it is
    // in the catalog (public anyway): a draft elsewhere is neither a conflict nor a hint.
    refuse_listed_elsewhere(db, publisher, &m.slug).await?;
    let existing = template::Entity::find()
        .filter(template::Column::PublisherTenantId.eq(publisher))
        .filter(template::Column::Slug.eq(&m.slug))
        .one(db)
        .await?;
    let t = match existing {
        Some(t) => t,
        None => {
            let id = Uuid::now_v7();
            template::ActiveModel {
                id: Set(id),
                publisher_tenant_id: Set(publisher),
                slug: Set(m.slug.clone()),
                // Built-ins are published at once; uploads claim the catalog's name when
                // their first version is approved.
                listed_slug: Set(if builtin {
                    m.slug.clone()
                } else {
                    crate::domain::templates::unlisted_slug(id)
                }),
                name: Set(m.name.clone()),
                summary: Set(m.summary.clone()),
                category: Set(m.category.clone()),
                engines: Set(m.engines.join(",")),
                builtin: Set(builtin),
                installs: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?
        }
    };
    let manifest = serde_json::to_string(m).map_err(|e| ApiError::Internal(e.to_string()))?;
    // What is stored and served is rebuilt from exactly the files that were checked, so no
    // byte of an upload that the checker did not see (a second gzip member, trailing data)
    // ever reaches a reviewer or a customer.
    let bytes = marketplace::build_package(&pkg.manifest_text, &pkg.files);
    let sha = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as i64;
    let prior = template_version::Entity::find()
        .filter(template_version::Column::TemplateId.eq(t.id))
        .filter(template_version::Column::Version.eq(&m.version))
        .one(db)
        .await?;
    let (v, replaced) = match prior {
        Some(p) if p.status == "draft" || p.status == "rejected" => {
            // Only while it is still a draft or rejected: a submit and approval that commit
            // in between make this a conflict, never a change to a published version.
            let r = template_version::Entity::update_many()
                .col_expr(template_version::Column::Manifest, Expr::value(manifest))
                .col_expr(template_version::Column::PackageBytes, Expr::value(size))
                .col_expr(template_version::Column::PackageSha256, Expr::value(sha))
                .col_expr(template_version::Column::Status, Expr::value("draft"))
                .col_expr(
                    template_version::Column::Reason,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(template_version::Column::CreatedBy, Expr::value(actor))
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
                .filter(template_version::Column::Id.eq(p.id))
                .filter(template_version::Column::Status.is_in(["draft", "rejected"]))
                .exec(db)
                .await?;
            if r.rows_affected != 1 {
                return Err(ApiError::Conflict(format!(
                    "version {} of `{}` changed meanwhile (submitted or reviewed); upload a new version",
                    p.version, m.slug
                )));
            }
            template_package::Entity::update_many()
                .col_expr(template_package::Column::Package, Expr::value(bytes))
                .filter(template_package::Column::VersionId.eq(p.id))
                .exec(db)
                .await?;
            let v = template_version::Entity::find_by_id(p.id)
                .one(db)
                .await?
                .ok_or_else(|| ApiError::Internal("a replaced version vanished".into()))?;
            (v, true)
        }
        Some(p) => {
            return Err(ApiError::Conflict(format!(
                "version {} of `{}` is {}: a version under review or published cannot change; upload a new version",
                p.version, m.slug, p.status
            )));
        }
        None => {
            let unpublished = template_version::Entity::find()
                .filter(template_version::Column::TemplateId.eq(t.id))
                .filter(template_version::Column::Status.is_in(["draft", "rejected", "in_review"]))
                .count(db)
                .await?;
            if unpublished >= MAX_UNPUBLISHED {
                return Err(ApiError::Conflict(format!(
                    "`{}` already has {MAX_UNPUBLISHED} versions that are not published: submit, fix or replace one of them",
                    m.slug
                )));
            }
            let id = Uuid::now_v7();
            let v = template_version::ActiveModel {
                id: Set(id),
                template_id: Set(t.id),
                version: Set(m.version.clone()),
                manifest: Set(manifest),
                package_bytes: Set(size),
                package_sha256: Set(sha),
                status: Set(status.into()),
                reason: Set(None),
                created_by: Set(actor),
                created_at: Set(now),
                submitted_at: Set(None),
                reviewed_at: Set((status == "published").then_some(now)),
                reviewed_by: Set(None),
            }
            .insert(db)
            .await?;
            template_package::ActiveModel {
                version_id: Set(id),
                package: Set(bytes),
            }
            .insert(db)
            .await?;
            (v, false)
        }
    };
    let action = if replaced { "replaced" } else { "uploaded" };
    event(db, t.id, &m.version, action, actor, None).await?;
    Ok((t, v, replaced))
}

/// Reads the request body up to `max` bytes.
async fn read_body(mut payload: web::Payload, max: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > max {
            return Err(ApiError::PayloadTooLarge(format!(
                "the package is larger than the {max}-byte limit (CONSORTIA_TEMPLATE_MAX_BYTES)"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An uploaded version.
#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    /// The template.
    pub template: TemplateView,
    /// The version (a draft until submitted and approved).
    pub version: VersionView,
}

/// Uploads a template package (tar.gz of `consortia-template.yaml` and its artifacts) as a new
/// draft version; creates the template on its first upload. Partner tenants only (developers
/// and up). A draft or rejected version may be uploaded again; others are immutable.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/templates", operation_id = "uploadTemplate", tag = "marketplace",
    params(("tenant_id" = Uuid, Path, description = "Publishing tenant")),
    request_body(content = Vec<u8>, content_type = "application/gzip", description = "The package"),
    responses((status = 201, body = Uploaded), (status = 200, description = "A draft replaced", body = Uploaded),
        (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem),
        (status = 409, body = crate::http::problem::Problem), (status = 413, body = crate::http::problem::Problem),
        (status = 415, body = crate::http::problem::Problem), (status = 422, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn upload(
    state: web::Data<AppState>,
    who: Caller,
    req: HttpRequest,
    path: web::Path<Uuid>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let tenant = path.into_inner();
    let (_, t) = state
        .access
        .tenant_for(&who, tenant, Action::WriteWorkloads)
        .await?;
    if t.kind != crate::domain::tenants::TenantKind::Partner {
        return Err(ApiError::Forbidden(
            "only partner tenants publish templates".into(),
        ));
    }
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ![
        "application/gzip",
        "application/x-gzip",
        "application/octet-stream",
    ]
    .iter()
    .any(|m| ct.starts_with(m))
    {
        return Err(ApiError::UnsupportedMediaType(
            "send the package (tar.gz) with `Content-Type: application/gzip`".into(),
        ));
    }
    let bytes = read_body(payload, state.template_max_bytes).await?;
    let max = state.template_max_bytes;
    // Unpacking and checking is CPU work: off the HTTP workers.
    let pkg = web::block(move || marketplace::read_package(&bytes, max))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|p| problems("the template package is not valid", p))?;
    let txn = state.db.begin().await?;
    let (t, v, replaced) =
        store_version(&txn, tenant, &pkg, "draft", Some(who.user.id), false).await?;
    txn.commit().await?;
    who.created(t.id);
    let body = Uploaded {
        template: template_view(&t, state.runtime.kind()),
        version: version_view(&v)?,
    };
    Ok(if replaced {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::Created().json(body)
    })
}

/// Templates published by a tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    /// Each template with its versions.
    pub items: Vec<TemplateDetail>,
}

/// A partner's templates with every version's status and install counts.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/templates", operation_id = "listOwnTemplates", tag = "marketplace",
    params(("tenant_id" = Uuid, Path, description = "Publishing tenant")),
    responses((status = 200, body = TemplateList), (status = 404, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn list_own(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let tenant = path.into_inner();
    state.access.role_in(&who, tenant, Action::Read).await?;
    let mut items = Vec::new();
    for t in template::Entity::find()
        .filter(template::Column::PublisherTenantId.eq(tenant))
        .order_by_asc(template::Column::Slug)
        .all(&state.db)
        .await?
    {
        let versions = versions_of(&state.db, t.id)
            .await?
            .iter()
            .map(version_view)
            .collect::<Result<_, _>>()?;
        items.push(TemplateDetail {
            template: template_view(&t, state.runtime.kind()),
            versions,
        });
    }
    Ok(HttpResponse::Ok().json(TemplateList { items }))
}

/// The template and version named in the path, for a caller of the publishing tenant with
/// `action` (others get 404).
async fn publisher_version(
    state: &AppState,
    who: &Caller,
    template_id: Uuid,
    version: &str,
    action: Action,
) -> Result<(template::Model, template_version::Model), ApiError> {
    let not_found = || {
        ApiError::NotFound(format!(
            "template {template_id} version {version} not found"
        ))
    };
    let t = template::Entity::find_by_id(template_id)
        .one(&state.db)
        .await?
        .ok_or_else(not_found)?;
    state
        .access
        .role_in(who, t.publisher_tenant_id, action)
        .await
        .map_err(ApiError::from)
        .map_err(|e| match e {
            ApiError::NotFound(_) => not_found(),
            other => other,
        })?;
    let v = find_version(&state.db, t.id, version)
        .await?
        .ok_or_else(not_found)?;
    Ok((t, v))
}

/// A template's version by its number.
async fn find_version(
    db: &impl ConnectionTrait,
    template: Uuid,
    version: &str,
) -> Result<Option<template_version::Model>, ApiError> {
    Ok(template_version::Entity::find()
        .filter(template_version::Column::TemplateId.eq(template))
        .filter(template_version::Column::Version.eq(version))
        .one(db)
        .await?)
}

/// Moves a version from `from` to `to`, only if its status is still one of `from` (a race
/// lost is a conflict).
async fn transition(
    db: &impl ConnectionTrait,
    v: &template_version::Model,
    from: &[&str],
    to: &str,
    reason: Option<String>,
    reviewer: Option<Uuid>,
) -> Result<(), ApiError> {
    if !from.contains(&v.status.as_str()) {
        return Err(ApiError::Conflict(format!(
            "version {} is {}; this needs it to be {}",
            v.version,
            v.status,
            from.join(" or ")
        )));
    }
    let now = Utc::now();
    let mut q = template_version::Entity::update_many()
        .col_expr(template_version::Column::Status, Expr::value(to))
        .col_expr(template_version::Column::Reason, Expr::value(reason))
        .filter(template_version::Column::Id.eq(v.id))
        .filter(template_version::Column::Status.is_in(from.iter().copied()));
    if to == "in_review" {
        q = q.col_expr(template_version::Column::SubmittedAt, Expr::value(now));
    }
    if reviewer.is_some() {
        q = q
            .col_expr(template_version::Column::ReviewedAt, Expr::value(now))
            .col_expr(template_version::Column::ReviewedBy, Expr::value(reviewer));
    }
    if q.exec(db).await?.rows_affected != 1 {
        return Err(ApiError::Conflict(format!(
            "version {} changed meanwhile; read it again",
            v.version
        )));
    }
    Ok(())
}

/// Submits a draft (or rejected) version for review.
#[utoipa::path(post, path = "/api/v1/templates/{template_id}/versions/{version}/submit", operation_id = "submitTemplate", tag = "marketplace",
    params(("template_id" = Uuid, Path, description = "Template id"), ("version" = String, Path, description = "Version")),
    responses((status = 200, body = VersionView), (status = 404, body = crate::http::problem::Problem),
        (status = 409, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn submit(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, String)>,
) -> ApiResult<HttpResponse> {
    let (id, version) = path.into_inner();
    let (t, v) = publisher_version(&state, &who, id, &version, Action::WriteWorkloads).await?;
    let txn = state.db.begin().await?;
    refuse_listed_elsewhere(&txn, t.publisher_tenant_id, &t.slug).await?;
    transition(&txn, &v, &["draft", "rejected"], "in_review", None, None).await?;
    event(&txn, t.id, &version, "submitted", Some(who.user.id), None).await?;
    txn.commit().await?;
    answer_version(&state, v.id).await
}

async fn answer_version(state: &AppState, id: Uuid) -> ApiResult<HttpResponse> {
    let v = template_version::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound("version not found".into()))?;
    Ok(HttpResponse::Ok().json(version_view(&v)?))
}

/// A review decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Review {
    /// `approve` (publish) or `reject`.
    pub decision: Decision,
    /// Why (required to reject; shown to the partner).
    pub reason: Option<String>,
}

/// Review outcomes.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Publish the version.
    Approve,
    /// Send it back with a reason.
    Reject,
}

/// The platform reviewer approves (publishes) or rejects a version under review.
#[utoipa::path(post, path = "/api/v1/templates/{template_id}/versions/{version}/review", operation_id = "reviewTemplate", tag = "marketplace",
    params(("template_id" = Uuid, Path, description = "Template id"), ("version" = String, Path, description = "Version")),
    request_body = Review,
    responses((status = 200, body = VersionView), (status = 403, body = crate::http::problem::Problem),
        (status = 404, body = crate::http::problem::Problem), (status = 409, body = crate::http::problem::Problem),
        (status = 422, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn review(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, String)>,
    body: web::Json<Review>,
) -> ApiResult<HttpResponse> {
    who.require_platform_admin()?;
    let (id, version) = path.into_inner();
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.len() > 2000) {
        return Err(ApiError::field("/reason", "at most 2000 characters"));
    }
    if body.decision == Decision::Reject && reason.is_none() {
        return Err(ApiError::field(
            "/reason",
            "a rejection needs a reason the partner can act on",
        ));
    }
    let not_found = || ApiError::NotFound(format!("template {id} version {version} not found"));
    let t = template::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(not_found)?;
    let v = find_version(&state.db, t.id, &version)
        .await?
        .ok_or_else(not_found)?;
    let txn = state.db.begin().await?;
    let (to, action) = match body.decision {
        Decision::Approve => ("published", "approved"),
        Decision::Reject => ("rejected", "rejected"),
    };
    transition(
        &txn,
        &v,
        &["in_review"],
        to,
        reason.map(String::from),
        Some(who.user.id),
    )
    .await?;
    if body.decision == Decision::Approve {
        refuse_listed_elsewhere(&txn, t.publisher_tenant_id, &t.slug).await?;
        let m: Manifest =
            serde_json::from_str(&v.manifest).map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut am: template::ActiveModel = t.clone().into();
        am.listed_slug = Set(t.slug.clone());
        am.name = Set(m.name);
        am.summary = Set(m.summary);
        am.category = Set(m.category);
        am.engines = Set(m.engines.join(","));
        am.updated_at = Set(Utc::now());
        // Two approvals of the same slug from different publishers racing: the catalog's
        // unique name decides, and the later one is a conflict.
        am.update(&txn).await.map_err(|e| {
            if crate::store::is_unique_violation(&e) {
                ApiError::Conflict(format!(
                    "another publisher's `{}` was published meanwhile",
                    t.slug
                ))
            } else {
                e.into()
            }
        })?;
    }
    event(
        &txn,
        t.id,
        &version,
        action,
        Some(who.user.id),
        reason.map(String::from),
    )
    .await?;
    txn.commit().await?;
    answer_version(&state, v.id).await
}

/// Why a version is deprecated.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deprecation {
    /// Shown in the catalog.
    pub reason: Option<String>,
}

/// The publisher deprecates a published version (it stays visible, marked deprecated).
#[utoipa::path(post, path = "/api/v1/templates/{template_id}/versions/{version}/deprecate", operation_id = "deprecateTemplate", tag = "marketplace",
    params(("template_id" = Uuid, Path, description = "Template id"), ("version" = String, Path, description = "Version")),
    request_body = Deprecation,
    responses((status = 200, body = VersionView), (status = 403, body = crate::http::problem::Problem),
        (status = 404, body = crate::http::problem::Problem), (status = 409, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn deprecate(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, String)>,
    body: web::Json<Deprecation>,
) -> ApiResult<HttpResponse> {
    let (id, version) = path.into_inner();
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.len() > 2000) {
        return Err(ApiError::field("/reason", "at most 2000 characters"));
    }
    let (t, v) = publisher_version(&state, &who, id, &version, Action::ManageMembers).await?;
    let txn = state.db.begin().await?;
    transition(
        &txn,
        &v,
        &["published"],
        "deprecated",
        reason.map(String::from),
        None,
    )
    .await?;
    event(
        &txn,
        t.id,
        &version,
        "deprecated",
        Some(who.user.id),
        reason.map(String::from),
    )
    .await?;
    txn.commit().await?;
    answer_version(&state, v.id).await
}

/// One step in a template's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// Version concerned.
    pub version: String,
    /// `uploaded`, `replaced`, `submitted`, `approved`, `rejected` or `deprecated`.
    pub action: String,
    /// Who did it (absent for built-ins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_user_id: Option<Uuid>,
    /// Reason given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A template's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    /// Oldest first.
    pub items: Vec<HistoryEntry>,
}

/// The publishing history (publisher's members and the platform reviewer).
#[utoipa::path(get, path = "/api/v1/templates/{template_id}/history", operation_id = "templateHistory", tag = "marketplace",
    params(("template_id" = Uuid, Path, description = "Template id")),
    responses((status = 200, body = History), (status = 404, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn history(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let not_found = || ApiError::NotFound(format!("template {id} not found"));
    let t = template::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(not_found)?;
    if !who.is_platform_admin() {
        state
            .access
            .role_in(&who, t.publisher_tenant_id, Action::Read)
            .await
            .map_err(|_| not_found())?;
    }
    let items = template_event::Entity::find()
        .filter(template_event::Column::TemplateId.eq(id))
        .order_by_asc(template_event::Column::CreatedAt)
        .order_by_asc(template_event::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|e| HistoryEntry {
            version: e.version,
            action: e.action,
            actor_user_id: e.actor_user_id,
            detail: e.detail,
            at: e.created_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(History { items }))
}

/// Versions waiting for review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewQueue {
    /// Oldest submission first.
    pub items: Vec<Uploaded>,
}

/// The review queue (platform reviewer).
#[utoipa::path(get, path = "/api/v1/template-reviews", operation_id = "templateReviewQueue", tag = "marketplace",
    responses((status = 200, body = ReviewQueue), (status = 403, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn review_queue(state: web::Data<AppState>, who: Caller) -> ApiResult<HttpResponse> {
    who.require_platform_admin()?;
    let mut items = Vec::new();
    for v in template_version::Entity::find()
        .filter(template_version::Column::Status.eq("in_review"))
        .order_by_asc(template_version::Column::SubmittedAt)
        .all(&state.db)
        .await?
    {
        if let Some(t) = template::Entity::find_by_id(v.template_id)
            .one(&state.db)
            .await?
        {
            items.push(Uploaded {
                template: template_view(&t, state.runtime.kind()),
                version: version_view(&v)?,
            });
        }
    }
    Ok(HttpResponse::Ok().json(ReviewQueue { items }))
}

/// Catalog search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CatalogQuery {
    /// Words to find in the name, summary, slug or publisher.
    pub q: Option<String>,
    /// Only templates supporting this engine.
    pub engine: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// `installs` (default) or `recent`.
    pub sort: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u64>,
    /// `next_cursor` from the previous page (same filters and sort).
    pub cursor: Option<String>,
}

/// A catalog entry: the template and its latest published version.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogEntry {
    /// The template.
    pub template: TemplateView,
    /// Latest published version.
    pub latest_version: String,
    /// Publisher's name as the manifest gives it.
    pub publisher: String,
}

/// The catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct Catalog {
    /// Matching templates, a page at a time.
    pub items: Vec<CatalogEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

async fn published(
    state: &AppState,
    t: &template::Model,
) -> Result<Vec<template_version::Model>, ApiError> {
    Ok(versions_of(&state.db, t.id)
        .await?
        .into_iter()
        .filter(|v| v.status == "published" || v.status == "deprecated")
        .collect())
}

/// Lists and searches published templates (every signed-in caller).
#[utoipa::path(get, path = "/api/v1/catalog", operation_id = "listCatalog", tag = "marketplace", params(CatalogQuery),
    responses((status = 200, body = Catalog), (status = 400, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn catalog(
    state: web::Data<AppState>,
    _who: Caller,
    q: web::Query<CatalogQuery>,
) -> ApiResult<HttpResponse> {
    if let Some(e) = q.engine.as_deref()
        && consortia_crds::Engine::parse(e).is_none()
    {
        return Err(ApiError::BadRequest(format!(
            "`engine` must be one of {}",
            marketplace::engine_names()
        )));
    }
    if let Some(c) = q.category.as_deref()
        && !marketplace::CATEGORIES.contains(&c)
    {
        return Err(ApiError::BadRequest(format!(
            "`category` must be one of {}",
            marketplace::CATEGORIES.join(", ")
        )));
    }
    let page = crate::domain::pagination::PageRequest::parse(q.limit, q.cursor.as_deref())
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let sort = q.sort.as_deref().unwrap_or("installs");
    if !["installs", "recent"].contains(&sort) {
        return Err(ApiError::BadRequest(
            "`sort` is `installs` or `recent`".into(),
        ));
    }
    if q.q.as_deref().is_some_and(|s| s.len() > 200) {
        return Err(ApiError::BadRequest("`q` is at most 200 characters".into()));
    }
    let words: Vec<String> =
        q.q.as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
    let mut items = Vec::new();
    for t in template::Entity::find().all(&state.db).await? {
        if q.engine
            .as_deref()
            .is_some_and(|e| !t.engines.split(',').any(|x| x == e))
            || q.category.as_deref().is_some_and(|c| c != t.category)
        {
            continue;
        }
        let Some(latest) = published(&state, &t)
            .await?
            .into_iter()
            .find(|v| v.status == "published")
        else {
            continue;
        };
        let m: Manifest = serde_json::from_str(&latest.manifest)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let hay = format!("{} {} {} {}", t.slug, t.name, t.summary, m.publisher).to_lowercase();
        if !words.iter().all(|w| hay.contains(w)) {
            continue;
        }
        items.push(CatalogEntry {
            template: template_view(&t, state.runtime.kind()),
            latest_version: latest.version,
            publisher: m.publisher,
        });
    }
    match sort {
        "recent" => items.sort_by_key(|i| std::cmp::Reverse(i.template.updated_at)),
        _ => items.sort_by(|a, b| {
            b.template
                .installs
                .cmp(&a.template.installs)
                .then_with(|| a.template.slug.cmp(&b.template.slug))
        }),
    }
    // The page after the previous page's last template (by slug, in this order).
    if let Some(after) = page.after.as_deref() {
        let at = items
            .iter()
            .position(|i| i.template.slug == after)
            .map_or(items.len(), |i| i + 1);
        items.drain(..at);
    }
    items.truncate(page.fetch() as usize);
    let (items, next_cursor) =
        crate::domain::pagination::finish(items, &page, |i| i.template.slug.clone());
    Ok(HttpResponse::Ok().json(Catalog { items, next_cursor }))
}

async fn catalog_template(
    state: &AppState,
    slug: &str,
) -> Result<(template::Model, Vec<template_version::Model>), ApiError> {
    let not_found = || ApiError::NotFound(format!("no published template `{slug}`"));
    let t = template::Entity::find()
        .filter(template::Column::ListedSlug.eq(slug))
        .one(&state.db)
        .await?
        .ok_or_else(not_found)?;
    let versions = published(state, &t).await?;
    if versions.is_empty() {
        return Err(not_found());
    }
    Ok((t, versions))
}

/// A template's catalog page in one call: the template, its published versions with their
/// manifests (description Markdown, chain defaults, parameters schema, artifacts).
#[utoipa::path(get, path = "/api/v1/catalog/{slug}", operation_id = "getCatalogTemplate", tag = "marketplace",
    params(("slug" = String, Path, description = "Template slug")),
    responses((status = 200, body = TemplateDetail), (status = 404, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn catalog_get(
    state: web::Data<AppState>,
    _who: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (t, versions) = catalog_template(&state, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(TemplateDetail {
        template: template_view(&t, state.runtime.kind()),
        versions: versions
            .iter()
            .map(version_view)
            .collect::<Result<_, _>>()?,
    }))
}

/// Parameters to check against a version's schema.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParametersCheck {
    /// Version (default: the latest published).
    pub version: Option<String>,
    /// The parameters (an object).
    #[schema(value_type = Object)]
    pub parameters: serde_json::Map<String, serde_json::Value>,
}

/// The parameters are acceptable.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParametersOk {
    /// Always true (failures are 422 with every error by JSON pointer).
    pub valid: bool,
    /// The version checked against.
    pub version: String,
}

/// A published version of a catalog template that may be installed: `want`, or the latest
/// published one. Deprecated versions stay in the catalog but take no new installs.
pub(crate) async fn installable(
    state: &AppState,
    slug: &str,
    want: Option<&str>,
) -> ApiResult<(template::Model, template_version::Model, Manifest)> {
    let (t, versions) = catalog_template(state, slug).await?;
    let v = match want {
        Some(want) => {
            let v = versions.iter().find(|v| v.version == want).ok_or_else(|| {
                ApiError::field(
                    "/version",
                    format!("`{slug}` has no published version {want}"),
                )
            })?;
            if v.status != "published" {
                return Err(ApiError::field(
                    "/version",
                    format!(
                        "`{slug}` {want} is deprecated{}: choose a newer version",
                        v.reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ),
                ));
            }
            v
        }
        None => versions
            .iter()
            .find(|v| v.status == "published")
            .ok_or_else(|| {
                ApiError::field(
                    "/version",
                    format!("every version of `{slug}` is deprecated"),
                )
            })?,
    };
    let m: Manifest =
        serde_json::from_str(&v.manifest).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((t, v.clone(), m))
}

/// Checks install parameters against a manifest's schema: 422 with every error by JSON
/// pointer, each under `at`.
pub(crate) fn check_install_parameters(
    m: &Manifest,
    parameters: &serde_json::Value,
    at: &str,
) -> ApiResult<()> {
    marketplace::check_parameters(&m.parameters, parameters).map_err(|p| {
        let p = p
            .into_iter()
            .map(|p| Problem {
                pointer: format!("{at}{}", p.pointer),
                detail: p.detail,
            })
            .collect();
        problems("the parameters do not satisfy the template's schema", p)
    })
}

/// Checks install parameters against a published version's schema; every error is reported
/// with its JSON pointer (422).
#[utoipa::path(post, path = "/api/v1/catalog/{slug}/parameters/check", operation_id = "checkTemplateParameters", tag = "marketplace",
    params(("slug" = String, Path, description = "Template slug")), request_body = ParametersCheck,
    responses((status = 200, body = ParametersOk), (status = 404, body = crate::http::problem::Problem),
        (status = 422, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn check_parameters(
    state: web::Data<AppState>,
    _who: Caller,
    path: web::Path<String>,
    body: web::Json<ParametersCheck>,
) -> ApiResult<HttpResponse> {
    let slug = path.into_inner();
    let (_, v, m) = installable(&state, &slug, body.version.as_deref()).await?;
    check_install_parameters(
        &m,
        &serde_json::Value::Object(body.parameters.clone()),
        "/parameters",
    )?;
    Ok(HttpResponse::Ok().json(ParametersOk {
        valid: true,
        version: v.version.clone(),
    }))
}

/// Downloads a version's package: anyone signed in for published versions; the publisher's
/// members and the reviewer for the others.
#[utoipa::path(get, path = "/api/v1/templates/{template_id}/versions/{version}/package", operation_id = "getTemplatePackage", tag = "marketplace",
    params(("template_id" = Uuid, Path, description = "Template id"), ("version" = String, Path, description = "Version")),
    responses((status = 200, content_type = "application/gzip", body = Vec<u8>), (status = 404, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn package(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, String)>,
) -> ApiResult<HttpResponse> {
    let (id, version) = path.into_inner();
    let not_found = || ApiError::NotFound(format!("template {id} version {version} not found"));
    let t = template::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(not_found)?;
    let v = find_version(&state.db, t.id, &version)
        .await?
        .ok_or_else(not_found)?;
    let public = v.status == "published" || v.status == "deprecated";
    if !public && !who.is_platform_admin() {
        state
            .access
            .role_in(&who, t.publisher_tenant_id, Action::Read)
            .await
            .map_err(|_| not_found())?;
    }
    Ok(HttpResponse::Ok()
        .content_type("application/gzip")
        .insert_header(crate::http::views::attachment(&format!(
            "{}-{}.tar.gz",
            t.slug, v.version
        )))
        .body(
            template_package::Entity::find_by_id(v.id)
                .one(&state.db)
                .await?
                .ok_or_else(not_found)?
                .package,
        ))
}

/// A shipped file: its path in the template and its bytes.
type ShippedFile = (&'static str, &'static [u8]);

/// The built-in templates, shipped in the binary.
fn builtin_dirs() -> Vec<(&'static str, Vec<ShippedFile>)> {
    macro_rules! file {
        ($dir:literal, $path:literal) => {
            (
                $path,
                include_bytes!(concat!("../../../templates/", $dir, "/", $path)) as &[u8],
            )
        };
    }
    vec![
        (
            "evidence-deposit",
            vec![
                file!("evidence-deposit", "consortia-template.yaml"),
                file!("evidence-deposit", "config/deposit-service.json"),
                file!("evidence-deposit", "schema/evidence-metadata.schema.json"),
            ],
        ),
        (
            "product-traceability",
            vec![
                file!("product-traceability", "consortia-template.yaml"),
                file!("product-traceability", "config/traceability-service.json"),
                file!("product-traceability", "schema/trace-event.schema.json"),
            ],
        ),
        (
            "quorum-qbft-network",
            vec![
                file!("quorum-qbft-network", "consortia-template.yaml"),
                file!("quorum-qbft-network", "config/genesis.fragment.json"),
                file!("quorum-qbft-network", "config/node-settings.json"),
            ],
        ),
        (
            "fabric-supply-chain",
            vec![
                file!("fabric-supply-chain", "consortia-template.yaml"),
                file!("fabric-supply-chain", "config/configtx-profile.yaml"),
                file!("fabric-supply-chain", "contracts/chaincode-definition.json"),
            ],
        ),
    ]
}

/// The built-in templates as packages (checked like any upload).
pub fn builtin_packages() -> Vec<Vec<u8>> {
    builtin_dirs()
        .into_iter()
        .map(|(_, files)| {
            let mut manifest = String::new();
            let mut rest = std::collections::BTreeMap::new();
            for (p, b) in files {
                if p == marketplace::MANIFEST {
                    manifest = String::from_utf8_lossy(b).into_owned();
                } else {
                    rest.insert(p.to_string(), b.to_vec());
                }
            }
            marketplace::build_package(&manifest, &rest)
        })
        .collect()
}

/// Loads the built-in templates at start: publishes each one whose version is not there yet,
/// under the `consortia` partner tenant (created when absent). Returns how many were added.
pub async fn load_builtins(state: &AppState) -> Result<usize, ApiError> {
    let publisher = match tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(PLATFORM_PUBLISHER))
        .one(&state.db)
        .await?
    {
        Some(t) => t.id,
        None => {
            crate::store::tenants::insert(
                &state.db,
                crate::store::tenants::NewTenant {
                    slug: PLATFORM_PUBLISHER,
                    name: "Consortia",
                    kind: crate::domain::tenants::TenantKind::Partner,
                },
            )
            .await?
            .id
        }
    };
    let mut added = 0;
    // One transaction per template: one that cannot load (say, its slug was taken by a
    // partner first) does not keep the others out.
    for bytes in builtin_packages() {
        let txn = state.db.begin().await?;
        let pkg = marketplace::read_package(&bytes, marketplace::DEFAULT_MAX_PACKAGE_BYTES)
            .map_err(|p| ApiError::Internal(format!("a built-in template is not valid: {p:?}")))?;
        let exists = match template::Entity::find()
            .filter(template::Column::PublisherTenantId.eq(publisher))
            .filter(template::Column::Slug.eq(&pkg.manifest.slug))
            .one(&txn)
            .await?
        {
            Some(t) => template_version::Entity::find()
                .filter(template_version::Column::TemplateId.eq(t.id))
                .filter(template_version::Column::Version.eq(&pkg.manifest.version))
                .one(&txn)
                .await?
                .is_some(),
            None => false,
        };
        if exists {
            continue;
        }
        match store_version(&txn, publisher, &pkg, "published", None, true).await {
            Ok((t, _, _)) => {
                event(
                    &txn,
                    t.id,
                    &pkg.manifest.version,
                    "approved",
                    None,
                    Some("built in".into()),
                )
                .await?;
                txn.commit().await?;
                added += 1;
            }
            Err(e) => {
                tracing::warn!(template = %pkg.manifest.slug, error = %e, "a built-in template could not be loaded");
            }
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::requires;

    #[test]
    fn only_a_local_runtime_lacks_what_fabric_and_quorum_need() {
        let quorum = vec!["quorum".to_string()];
        let both = vec!["native".to_string(), "fabric".to_string()];
        assert!(requires(&quorum, "local").is_some());
        assert_eq!(requires(&quorum, "kubernetes"), None);
        assert_eq!(
            requires(&both, "local"),
            None,
            "the native engine runs anywhere"
        );
    }
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        POST "/api/v1/tenants/{tenant_id}/templates" => upload,
        GET "/api/v1/tenants/{tenant_id}/templates" => list_own,
        POST "/api/v1/templates/{template_id}/versions/{version}/submit" => submit,
        POST "/api/v1/templates/{template_id}/versions/{version}/review" => review,
        POST "/api/v1/templates/{template_id}/versions/{version}/deprecate" => deprecate,
        GET "/api/v1/templates/{template_id}/versions/{version}/package" => package,
        GET "/api/v1/templates/{template_id}/history" => history,
        GET "/api/v1/template-reviews" => review_queue,
        GET "/api/v1/catalog" => catalog,
        GET "/api/v1/catalog/{slug}" => catalog_get,
        POST "/api/v1/catalog/{slug}/parameters/check" => check_parameters,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    upload,
    list_own,
    submit,
    review,
    deprecate,
    package,
    history,
    review_queue,
    catalog,
    catalog_get,
    check_parameters
))]
pub struct Doc;
