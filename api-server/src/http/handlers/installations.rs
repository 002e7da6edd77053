//! Marketplace templates installed on chains: `…/chains/{chain_id}/installations`, and chains
//! created from a template (`POST …/chains` with `template`).
//!
//! Installing checks that the template supports the chain's engine and that the parameters
//! satisfy the version's JSON Schema (every error by JSON pointer), records the installation
//! and counts it on the template. On a native chain the installation is then anchored on the
//! chain itself: the installing tenant's service account deposits the package's SHA-256 with
//! the template, version and a digest of the parameters as metadata, so the chain proves what
//! was installed and when, and the receipt verifies offline like any deposit's.
//!
//! Onto a running chain this happens within the request (201 `installed`, nothing stored when
//! the chain cannot take it). A chain created from a template records the installation with
//! the chain (`installing`) and anchors it once the chain has made its first block; a server
//! that stops first resumes it at start.
//!
//! Installations are chain data: members of the alliance see them; the template's publisher
//! sees only its install count.

use crate::app::AppState;
use crate::db::entities::{chain, template, template_installation, template_version};
use crate::domain::roles::Action;
use crate::domain::templates::check_install_parameters;
use crate::domain::templates::{self as marketplace, Rendered};
use crate::http::problem::{ApiError, ApiResult, Problem};
use crate::runtime::Phase;
use crate::service::access::Caller;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use consortia_chain::tx::{HashAlg, Op};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;
use utoipa::ToSchema;
use uuid::Uuid;

/// How long an installation waits for a new chain's first block.
const FIRST_BLOCK_WAIT: Duration = Duration::from_secs(120);

pub use crate::domain::templates::TemplateChoice;

/// Body of `POST …/chains/{chain_id}/installations`: the acting tenant and the template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(try_from = "Map<String, Value>")]
pub struct InstallTemplate {
    /// The member tenant installing (a developer of it or more).
    pub tenant_id: Uuid,
    #[serde(flatten)]
    pub template: TemplateChoice,
}

impl TryFrom<Map<String, Value>> for InstallTemplate {
    type Error = String;

    fn try_from(m: Map<String, Value>) -> Result<Self, String> {
        let (tenant_id, template) = super::tenant_and(m)?;
        Ok(InstallTemplate {
            tenant_id,
            template,
        })
    }
}

/// A template installed on a chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstallationView {
    pub id: Uuid,
    pub chain_id: Uuid,
    pub template_id: Uuid,
    /// The template's slug.
    pub slug: String,
    pub version: String,
    /// The member tenant that installed it.
    pub tenant_id: Uuid,
    /// Who installed it.
    pub created_by: Option<Uuid>,
    #[schema(value_type = Object)]
    pub parameters: Value,
    /// The template's JSON config artifacts with the parameters (and the schema's defaults)
    /// written where the template says, by path: the configuration of the installed service.
    #[schema(value_type = Object)]
    pub config: Value,
    /// `installing` (waiting for the chain), `installed`, `recorded` (engines that do not
    /// anchor installations on chain) or `failed`.
    pub status: String,
    /// Why it failed, or what it waits for.
    pub message: Option<String>,
    /// The transaction that anchored the installation on the chain.
    pub tx_hash: Option<String>,
    pub height: Option<u64>,
    /// Its receipt (`consortia-node verify-receipt` checks it against the genesis).
    #[schema(value_type = Object)]
    pub receipt: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn installation_view(i: template_installation::Model, slug: &str) -> InstallationView {
    InstallationView {
        id: i.id,
        chain_id: i.chain_id,
        template_id: i.template_id,
        slug: slug.to_string(),
        version: i.version,
        tenant_id: i.tenant_id,
        created_by: i.created_by,
        parameters: serde_json::from_str(&i.parameters).unwrap_or(Value::Null),
        config: serde_json::from_str(&i.config).unwrap_or(Value::Null),
        status: i.status,
        message: i.message,
        tx_hash: i.tx_hash,
        height: i.height.map(|h| h as u64),
        receipt: i.receipt.and_then(|r| serde_json::from_str(&r).ok()),
        created_at: i.created_at,
        updated_at: i.updated_at,
    }
}

/// The installations of a chain, oldest first, as views.
pub(crate) async fn of_chain(
    db: &impl ConnectionTrait,
    chain: Uuid,
) -> ApiResult<Vec<InstallationView>> {
    let rows = template_installation::Entity::find()
        .filter(template_installation::Column::ChainId.eq(chain))
        .order_by_asc(template_installation::Column::CreatedAt)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new()); // most chains: no second query
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.template_id).collect();
    let slugs: std::collections::HashMap<Uuid, String> = template::Entity::find()
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
            installation_view(r, &slug)
        })
        .collect())
}

/// A checked choice: the template, the version and its manifest.
pub(crate) struct Resolved {
    pub template: template::Model,
    pub version: template_version::Model,
    pub parameters: Value,
    /// The config artifacts rendered with the parameters, and genesis parameters.
    pub rendered: Rendered,
}

/// Resolves a template choice for a chain of `engine`: a published, not deprecated version
/// that supports the engine, with parameters its schema accepts. Pointers are under `at`.
pub(crate) async fn resolve(
    state: &AppState,
    engine: &str,
    slug: &str,
    version: Option<&str>,
    parameters: &Map<String, Value>,
    at: &str,
) -> ApiResult<Resolved> {
    let (template, version, manifest) = state
        .templates
        .installable(slug, version)
        .await
        .map_err(|e| ApiError::from(e).under(at))?;
    if !manifest.engines.iter().any(|e| e == engine) {
        return Err(ApiError::field(
            if at.is_empty() { "/slug" } else { at },
            format!(
                "`{slug}` {} supports {}; the chain runs {engine}",
                version.version,
                manifest.engines.join(" and ")
            ),
        ));
    }
    let parameters = Value::Object(parameters.clone());
    check_install_parameters(&manifest, &parameters, &format!("{at}/parameters"))?;
    let package = crate::store::templates::package(&state.db, version.id)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("no package for {slug} {}", version.version)))?;
    // A package is read with today's checks: one stored before a rule was added may fail
    // them, which makes the version uninstallable (the publisher ships a new one), not a 500.
    let rendered = marketplace::read_package(&package, usize::MAX / 8)
        .map_err(|problems| {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            ApiError::field(
                if at.is_empty() { "/slug" } else { at },
                format!(
                    "`{slug}` {} no longer passes the template checks ({}); its publisher \
                     needs to publish a new version",
                    version.version,
                    list.join("; ")
                ),
            )
        })
        .and_then(|pkg| {
            marketplace::render(&pkg, &parameters).map_err(|e| {
                ApiError::field(
                    &format!("{at}/parameters"),
                    format!("the parameters do not fit `{slug}`'s configuration: {e}"),
                )
            })
        })?;
    Ok(Resolved {
        template,
        version,
        parameters,
        rendered,
    })
}

/// A new installation row (not yet stored).
pub(crate) fn new_row(
    chain: Uuid,
    r: &Resolved,
    tenant: Uuid,
    created_by: Option<Uuid>,
    status: &str,
    now: DateTime<Utc>,
) -> template_installation::Model {
    template_installation::Model {
        id: Uuid::new_v4(),
        chain_id: chain,
        template_id: r.template.id,
        template_version_id: r.version.id,
        version: r.version.version.clone(),
        tenant_id: tenant,
        parameters: r.parameters.to_string(),
        config: serde_json::to_string(&r.rendered.configs).expect("JSON values serialise"),
        status: status.into(),
        message: None,
        tx_hash: None,
        height: None,
        receipt: None,
        created_by,
        created_at: now,
        updated_at: now,
    }
}

/// Stores an installation and counts it on its template.
pub(crate) async fn store(
    db: &impl ConnectionTrait,
    row: template_installation::Model,
) -> Result<(), sea_orm::DbErr> {
    template_installation::ActiveModel::from(row.clone())
        .insert(db)
        .await?;
    template::Entity::update_many()
        .col_expr(
            template::Column::Installs,
            Expr::col(template::Column::Installs).add(1),
        )
        .filter(template::Column::Id.eq(row.template_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes back the count of an installation that was never made (its chain failed to start).
pub(crate) async fn uncount(
    db: &impl ConnectionTrait,
    template: Uuid,
) -> Result<(), sea_orm::DbErr> {
    template::Entity::update_many()
        .col_expr(
            template::Column::Installs,
            Expr::col(template::Column::Installs).sub(1),
        )
        .filter(template::Column::Id.eq(template))
        .exec(db)
        .await?;
    Ok(())
}

/// What an anchoring transaction proves.
struct Anchored {
    tx_hash: String,
    height: i64,
    receipt: String,
}

impl Anchored {
    fn of(r: &consortia_chain::receipt::Receipt) -> anyhow::Result<Anchored> {
        Ok(Anchored {
            tx_hash: hex::encode(r.tx_hash),
            height: r.height as i64,
            receipt: serde_json::to_string(r)?,
        })
    }
}

/// Anchors an installation on a native chain: one deposit of the package's digest by the
/// tenant's service account, answered once committed.
async fn anchor(
    state: &AppState,
    chain: &chain::Model,
    row: &template_installation::Model,
    slug: &str,
    package_sha256: &str,
) -> anyhow::Result<Anchored> {
    let metadata = serde_json::json!({
        "kind": "consortia.template-install",
        "template": slug,
        "version": row.version,
        "installation": row.id,
        "parameters_sha256": hex::encode(Sha256::digest(row.parameters.as_bytes())),
        "config_sha256": hex::encode(Sha256::digest(row.config.as_bytes())),
    })
    .to_string();
    let op = Op::Deposit {
        hash_alg: HashAlg::Sha256,
        content_hash: hex::decode(package_sha256)?,
        metadata,
        external_id: Some(install_external_id(row.id)),
    };
    let receipts = state
        .signer
        .commit(chain.id, row.tenant_id, vec![op])
        .await?;
    let r = receipts
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no receipt"))?;
    Anchored::of(&r)
}

/// The installation's anchor if the chain already holds it: a server stopped after the
/// chain committed the anchor but before the row said so. Found through the chain's index of
/// deposits by content hash (the package digest): a deposit by the tenant's service account
/// whose external id names this installation.
async fn anchored_before(
    state: &AppState,
    row: &template_installation::Model,
    package_sha256: &str,
) -> anyhow::Result<Option<Anchored>> {
    // The account as recorded: ids of accounts made by older versions differ.
    let Some(account) = crate::store::chains::account(&state.db, row.chain_id, row.tenant_id)
        .await?
        .map(|a| a.account)
    else {
        return Ok(None);
    };
    let endpoint =
        crate::service::signer::running_endpoint(state.runtime.as_ref(), row.chain_id).await?;
    let client = consortia_chain::client::Client::new(&endpoint)?;
    let found = client.deposits(package_sha256).await?;
    let external_id = install_external_id(row.id);
    for d in found["deposits"].as_array().into_iter().flatten() {
        let Some(tx_hash) = d["tx_hash"].as_str() else {
            continue;
        };
        let r = client.receipt(tx_hash).await?;
        let ours = r.tx.tx.account == account
            && matches!(&r.tx.tx.op, Op::Deposit { external_id: Some(x), .. } if *x == external_id);
        if ours {
            return Anchored::of(&r).map(Some);
        }
    }
    Ok(None)
}

fn install_external_id(installation: Uuid) -> String {
    format!("install-{}", installation.simple())
}

/// Records an installation's anchor: `installed`, with the transaction and its receipt.
async fn mark_installed(
    db: &impl ConnectionTrait,
    row: template_installation::Model,
    a: Anchored,
    now: DateTime<Utc>,
) -> Result<template_installation::Model, sea_orm::DbErr> {
    let mut active: template_installation::ActiveModel = row.into();
    active.status = Set("installed".into());
    active.message = Set(None);
    active.tx_hash = Set(Some(a.tx_hash));
    active.height = Set(Some(a.height));
    active.receipt = Set(Some(a.receipt));
    active.updated_at = Set(now);
    active.update(db).await
}

/// Finishes an installation left `installing` (recorded with a new chain, or by a server that
/// stopped mid-install): waits for the chain's first block, anchors it unless the chain
/// already holds its anchor, and stores the outcome (`installed` or `failed`).
pub(crate) async fn complete(state: AppState, installation: Uuid) {
    if let Err(e) = try_complete(&state, installation).await {
        tracing::warn!(%installation, error = %format!("{e:#}"), "template installation failed");
        let now = state.clock.now();
        // A failed installation does not count; a new install of the template replaces it.
        if let Ok(Some(row)) = template_installation::Entity::find_by_id(installation)
            .one(&state.db)
            .await
            && row.status == "installing"
        {
            let _ = uncount(&state.db, row.template_id).await;
        }
        let _ = template_installation::Entity::update_many()
            .col_expr(template_installation::Column::Status, Expr::value("failed"))
            .col_expr(
                template_installation::Column::Message,
                Expr::value(format!("{e:#}")),
            )
            .col_expr(template_installation::Column::UpdatedAt, Expr::value(now))
            .filter(template_installation::Column::Id.eq(installation))
            .filter(template_installation::Column::Status.eq("installing"))
            .exec(&state.db)
            .await;
    }
}

async fn try_complete(state: &AppState, installation: Uuid) -> anyhow::Result<()> {
    let Some(row) = template_installation::Entity::find_by_id(installation)
        .one(&state.db)
        .await?
    else {
        return Ok(()); // the chain was deleted meanwhile
    };
    let deadline = tokio::time::Instant::now() + FIRST_BLOCK_WAIT;
    loop {
        let Some(chain) = crate::store::chains::get(&state.db, row.chain_id).await? else {
            return Ok(());
        };
        let report = state.runtime.report(chain.id).await;
        if matches!(report.phase, Phase::Running | Phase::Degraded)
            && report.height.unwrap_or(0) >= 1
        {
            let (slug, package) = template_of(state, &row).await?;
            let a = match anchored_before(state, &row, &package).await? {
                Some(a) => a,
                None => anchor(state, &chain, &row, &slug, &package).await?,
            };
            mark_installed(&state.db, row, a, state.clock.now()).await?;
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "the chain made no block within {} s: {}",
                FIRST_BLOCK_WAIT.as_secs(),
                report.message.unwrap_or_else(|| "no report".into())
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn template_of(
    state: &AppState,
    row: &template_installation::Model,
) -> anyhow::Result<(String, String)> {
    let t = template::Entity::find_by_id(row.template_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the template is gone"))?;
    let v = template_version::Entity::find_by_id(row.template_version_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the template version is gone"))?;
    Ok((t.slug, v.package_sha256))
}

/// Resumes installations a stopped server left `installing`. Returns how many.
pub async fn resume(state: &AppState) -> anyhow::Result<usize> {
    let pending = template_installation::Entity::find()
        .filter(template_installation::Column::Status.eq("installing"))
        .all(&state.db)
        .await?;
    for p in &pending {
        state.tasks.spawn(complete(state.clone(), p.id));
    }
    Ok(pending.len())
}

/// Installs a template onto a running chain of the alliance.
#[utoipa::path(post, path = "/api/v1/alliances/{alliance_id}/chains/{chain_id}/installations", operation_id = "installTemplate", tag = "chains",
    params(("alliance_id" = Uuid, Path), ("chain_id" = Uuid, Path)), request_body = InstallTemplate,
    responses((status = 201, body = InstallationView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn install(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<InstallTemplate>,
) -> ApiResult<HttpResponse> {
    let (alliance_id, chain_id) = path.into_inner();
    let (alliance, _) = state
        .alliances
        .authorize_member_action(&who, alliance_id, body.tenant_id, Action::WriteWorkloads)
        .await?;
    crate::service::alliances::ensure_open(&alliance)?;
    let chain = state
        .alliances
        .authorize_chain_view(&who, alliance_id, chain_id)
        .await?;
    let r = resolve(
        &state,
        &chain.engine,
        &body.template.slug,
        body.template.version.as_deref(),
        &body.template.parameters,
        "",
    )
    .await?;
    let conflict = || {
        ApiError::Conflict(format!(
            "`{}` is already installed on chain {chain_id}",
            body.template.slug
        ))
    };
    // Claim the installation first (the unique index settles concurrent installs of the
    // same template), then anchor it: two racing requests never both write to the chain.
    // A failed installation gives way to a new one.
    let now = state.clock.now();
    let native = chain.engine == "native";
    let mut row = new_row(
        chain_id,
        &r,
        body.tenant_id,
        Some(who.user.id),
        if native { "installing" } else { "recorded" },
        now,
    );
    if !native {
        row.message = Some(format!(
            "recorded; the {} engine does not anchor installations on chain",
            chain.engine
        ));
    }
    let txn = state.db.begin().await?;
    // Write first (see `alliances::vote`): on SQLite a transaction that reads before it writes
    // cannot wait for a concurrent writer and fails instead.
    template_installation::Entity::delete_many()
        .filter(template_installation::Column::ChainId.eq(chain_id))
        .filter(template_installation::Column::TemplateId.eq(r.template.id))
        .filter(template_installation::Column::Status.eq("failed"))
        .exec(&txn)
        .await?;
    if let Err(e) = store(&txn, row.clone()).await {
        return Err(if crate::store::is_unique_violation(&e) {
            conflict()
        } else {
            e.into()
        });
    }
    txn.commit().await?;
    if native {
        match anchor(
            &state,
            &chain,
            &row,
            &body.template.slug,
            &r.version.package_sha256,
        )
        .await
        {
            Ok(a) => row = mark_installed(&state.db, row, a, state.clock.now()).await?,
            Err(e) => {
                // Nothing stays behind: the claim and its count are taken back.
                let txn = state.db.begin().await?;
                template_installation::Entity::delete_by_id(row.id)
                    .exec(&txn)
                    .await?;
                uncount(&txn, row.template_id).await?;
                txn.commit().await?;
                return Err(ApiError::Unavailable(format!(
                    "chain {chain_id} could not anchor the installation: {e:#}"
                )));
            }
        }
    }
    crate::store::alliances::event(
        &state.db,
        alliance_id,
        "template_installed",
        (Some(body.tenant_id), Some(who.user.id)),
        serde_json::json!({"chain_id": chain_id, "template": body.template.slug, "version": row.version}),
        now,
    )
    .await?;
    who.created(row.id);
    who.noted_tenant(body.tenant_id);
    Ok(HttpResponse::Created().json(installation_view(row, &body.template.slug)))
}

/// Templates installed on a chain.
#[utoipa::path(get, path = "/api/v1/alliances/{alliance_id}/chains/{chain_id}/installations", operation_id = "listInstallations", tag = "chains",
    params(("alliance_id" = Uuid, Path), ("chain_id" = Uuid, Path)),
    responses((status = 200, body = Vec<InstallationView>), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (alliance_id, chain_id) = path.into_inner();
    let chain = state
        .alliances
        .authorize_chain_view(&who, alliance_id, chain_id)
        .await?;
    Ok(HttpResponse::Ok().json(of_chain(&state.db, chain.id).await?))
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        POST "/api/v1/alliances/{alliance_id}/chains/{chain_id}/installations" => install,
        GET "/api/v1/alliances/{alliance_id}/chains/{chain_id}/installations" => list,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(install, list))]
pub struct Doc;
