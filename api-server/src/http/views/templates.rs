//! What the marketplace endpoints answer: templates and their versions, uploads, history,
//! the review queue and the catalog.

use crate::db::entities::{template, template_version};
use crate::domain::templates::{Manifest, VersionStatus};
use crate::http::problem::{ApiError, ApiResult};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

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

pub(crate) fn requires(engines: &[String], runtime: &str) -> Option<String> {
    if runtime == "kubernetes" || engines.iter().any(|e| e == "native") {
        None
    } else {
        Some("the Kubernetes runtime (Fabric and GoQuorum chains run only on Kubernetes)".into())
    }
}

pub(crate) fn template_view(t: &template::Model, runtime: &str) -> TemplateView {
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
    /// Where the version stands.
    pub status: VersionStatus,
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

pub(crate) fn version_view(v: &template_version::Model) -> Result<VersionView, ApiError> {
    Ok(VersionView {
        version: v.version.clone(),
        status: v.status,
        reason: v.reason.clone(),
        package_sha256: v.package_sha256.clone(),
        package_bytes: v.package_bytes as usize,
        created_at: v.created_at,
        submitted_at: v.submitted_at,
        reviewed_at: v.reviewed_at,
        manifest: serde_json::from_value(v.manifest.clone())
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

/// An uploaded version.
#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    /// The template.
    pub template: TemplateView,
    /// The version (a draft until submitted and approved).
    pub version: VersionView,
}

pub(crate) fn uploaded(
    runtime: &str,
    t: &template::Model,
    v: &template_version::Model,
) -> ApiResult<Uploaded> {
    Ok(Uploaded {
        template: template_view(t, runtime),
        version: version_view(v)?,
    })
}

pub(crate) fn detail(
    runtime: &str,
    t: &template::Model,
    versions: &[template_version::Model],
) -> ApiResult<TemplateDetail> {
    Ok(TemplateDetail {
        template: template_view(t, runtime),
        versions: versions
            .iter()
            .map(version_view)
            .collect::<Result<_, _>>()?,
    })
}

/// Templates published by a tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    /// Each template with its versions.
    pub items: Vec<TemplateDetail>,
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

/// Versions waiting for review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewQueue {
    /// Oldest submission first.
    pub items: Vec<Uploaded>,
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

/// The parameters are acceptable.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParametersOk {
    /// Always true (failures are 422 with every error by JSON pointer).
    pub valid: bool,
    /// The version checked against.
    pub version: String,
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
