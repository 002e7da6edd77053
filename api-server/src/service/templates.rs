//! The marketplace's use cases: partners upload template packages and submit versions for
//! review, the platform reviewer approves or rejects, partners deprecate; everyone signed in
//! browses the catalog and finds installable versions.
//!
//! A slug is the publisher's own until a version is published, which claims it in the
//! catalog (`templates.listed_slug`, unique): another publisher's draft of the same slug is
//! never a conflict nor a hint that it exists.

use crate::clock::Clock;
use crate::db::entities::{template, template_event, template_version};
use crate::domain::error::{Error, Result};
use crate::domain::pagination::{self, PageRequest};
use crate::domain::roles::Action;
use crate::domain::templates::{
    self as marketplace, Decision, Manifest, Package, VersionStatus, newest_first,
};
use crate::domain::tenants::TenantKind;
use crate::service::access::{Access, Caller};
use crate::store;
use crate::store::templates::{Content, Listing};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use uuid::Uuid;

/// Most versions of one template that are not published (drafts, rejected, in review).
const MAX_UNPUBLISHED: u64 = 20;

/// Longest reason a reviewer or publisher may give.
const MAX_REASON: usize = 2000;

/// A template and its versions, newest first.
pub type Detail = (template::Model, Vec<template_version::Model>);

/// A stored upload.
pub struct Stored {
    /// The template (made on its first upload).
    pub template: template::Model,
    /// The version.
    pub version: template_version::Model,
    /// Whether it replaced a draft or rejected version of the same number.
    pub replaced: bool,
}

/// What the catalog is asked for.
#[derive(Debug, Default)]
pub struct CatalogQuery<'a> {
    /// Words to find in the name, summary, slug or publisher.
    pub words: Option<&'a str>,
    /// Only templates supporting this engine.
    pub engine: Option<&'a str>,
    /// Only this category.
    pub category: Option<&'a str>,
    /// `installs` (default) or `recent`.
    pub sort: Option<&'a str>,
}

/// A catalog entry: the template, its latest published version and its publisher's name.
pub struct Entry {
    /// The template.
    pub template: template::Model,
    /// Its latest published version.
    pub latest_version: String,
    /// The publisher as the manifest names it.
    pub publisher: String,
}

fn manifest_of(v: &template_version::Model) -> Result<Manifest> {
    Manifest::deserialize(&v.manifest).map_err(|e| Error::Internal(e.to_string()))
}

fn listing(m: &Manifest) -> Listing<'_> {
    Listing {
        name: &m.name,
        summary: &m.summary,
        category: &m.category,
        engines: m.engines.join(","),
    }
}

/// A reason as given: trimmed, none when blank, at most [`MAX_REASON`] characters.
fn reason(r: Option<&str>) -> Result<Option<String>> {
    let r = r.map(str::trim).filter(|r| !r.is_empty());
    if r.is_some_and(|r| r.len() > MAX_REASON) {
        return Err(Error::field(
            "/reason",
            format!("at most {MAX_REASON} characters"),
        ));
    }
    Ok(r.map(String::from))
}

/// A conflict when another publisher's template holds `slug` in the catalog (which anyone
/// can see, so saying so reveals nothing).
async fn refuse_listed_elsewhere(
    db: &impl ConnectionTrait,
    publisher: Uuid,
    slug: &str,
) -> Result<()> {
    match store::templates::listed(db, slug).await? {
        Some(t) if t.publisher_tenant_id != publisher => Err(Error::Conflict(format!(
            "the catalog already has a template `{slug}` by another publisher: choose another slug"
        ))),
        _ => Ok(()),
    }
}

/// A move of a version's status, as the template's history records it.
struct Step<'a> {
    /// Where it must be.
    from: &'a [VersionStatus],
    /// Where it goes.
    to: VersionStatus,
    /// The reason given.
    why: Option<String>,
    /// The reviewer deciding, if one is.
    reviewer: Option<Uuid>,
    /// The history's word for it.
    action: &'static str,
    /// Who did it.
    actor: Uuid,
}

/// The marketplace use cases.
#[derive(Clone)]
pub struct Templates {
    db: DatabaseConnection,
    access: Access,
    clock: Arc<dyn Clock>,
    max_package_bytes: usize,
}

impl Templates {
    /// Over `db`, authorizing through `access`; packages up to `max_package_bytes`.
    pub fn new(
        db: DatabaseConnection,
        access: Access,
        clock: Arc<dyn Clock>,
        max_package_bytes: usize,
    ) -> Templates {
        Templates {
            db,
            access,
            clock,
            max_package_bytes,
        }
    }

    /// The largest package accepted.
    pub fn max_package_bytes(&self) -> usize {
        self.max_package_bytes
    }

    /// Refuses a caller who may not publish for `tenant`: developers and up of a partner.
    pub async fn may_publish(&self, who: &Caller, tenant: Uuid) -> Result<()> {
        let (_, t) = self
            .access
            .tenant_for(who, tenant, Action::WriteWorkloads)
            .await?;
        if t.kind != TenantKind::Partner {
            return Err(Error::Forbidden(
                "only partner tenants publish templates".into(),
            ));
        }
        Ok(())
    }

    /// Checks a package and stores it as a draft version of the publisher's template (made
    /// on its first upload); a draft or rejected version of the same number is replaced.
    pub async fn upload(&self, who: &Caller, tenant: Uuid, bytes: Vec<u8>) -> Result<Stored> {
        self.may_publish(who, tenant).await?;
        let max = self.max_package_bytes;
        // Unpacking and checking is CPU work: off the async workers.
        let pkg = tokio::task::spawn_blocking(move || marketplace::read_package(&bytes, max))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(|p| marketplace::invalid("the template package is not valid", p))?;
        let txn = self.db.begin().await?;
        let stored = self
            .store_version(&txn, tenant, &pkg, Some(who.user.id), false)
            .await?;
        txn.commit().await?;
        who.created(stored.template.id);
        Ok(stored)
    }

    /// Stores a checked package as a version of its template: a draft for uploads, published
    /// at once for built-ins.
    async fn store_version(
        &self,
        db: &impl ConnectionTrait,
        publisher: Uuid,
        pkg: &Package,
        actor: Option<Uuid>,
        builtin: bool,
    ) -> Result<Stored> {
        let m = &pkg.manifest;
        let now = self.clock.now();
        refuse_listed_elsewhere(db, publisher, &m.slug).await?;
        let t = match store::templates::own(db, publisher, &m.slug).await? {
            Some(t) => t,
            None => {
                let id = Uuid::now_v7();
                let l = listing(m);
                let row = template::Model {
                    id,
                    publisher_tenant_id: publisher,
                    slug: m.slug.clone(),
                    // Built-ins are published at once; uploads claim the catalog's name when
                    // their first version is approved.
                    listed_slug: if builtin {
                        m.slug.clone()
                    } else {
                        marketplace::unlisted_slug(id)
                    },
                    name: l.name.into(),
                    summary: l.summary.into(),
                    category: l.category.into(),
                    engines: l.engines,
                    builtin,
                    installs: 0,
                    created_at: now,
                    updated_at: now,
                };
                store::templates::insert(db, row).await?
            }
        };
        // What is stored and served is rebuilt from exactly the files that were checked, so
        // no byte of an upload that the checker did not see (a second gzip member, trailing
        // data) ever reaches a reviewer or a customer.
        let package = marketplace::build_package(&pkg.manifest_text, &pkg.files);
        let content = Content {
            manifest: serde_json::to_value(m).map_err(|e| Error::Internal(e.to_string()))?,
            sha256: hex::encode(Sha256::digest(&package)),
            package,
            created_by: actor,
        };
        let (version, replaced) = match store::templates::version(db, t.id, &m.version).await? {
            Some(p) if p.status.is_replaceable() => {
                // Only while it is still a draft or rejected: a submit and approval that
                // commit in between make this a conflict, never a change to a published one.
                let v = store::templates::replace_draft(db, p.id, content, now)
                    .await?
                    .ok_or_else(|| {
                        Error::Conflict(format!(
                            "version {} of `{}` changed meanwhile (submitted or reviewed); upload a new version",
                            p.version, m.slug
                        ))
                    })?;
                (v, true)
            }
            Some(p) => {
                return Err(Error::Conflict(format!(
                    "version {} of `{}` is {}: a version under review or published cannot change; upload a new version",
                    p.version, m.slug, p.status
                )));
            }
            None => {
                if store::templates::unpublished_count(db, t.id).await? >= MAX_UNPUBLISHED {
                    return Err(Error::Conflict(format!(
                        "`{}` already has {MAX_UNPUBLISHED} versions that are not published: submit, fix or replace one of them",
                        m.slug
                    )));
                }
                let status = if builtin {
                    VersionStatus::Published
                } else {
                    VersionStatus::Draft
                };
                let v =
                    store::templates::insert_version(db, t.id, &m.version, content, status, now)
                        .await?;
                (v, false)
            }
        };
        let action = if replaced { "replaced" } else { "uploaded" };
        store::templates::record(db, t.id, &m.version, action, actor, None, now).await?;
        Ok(Stored {
            template: t,
            version,
            replaced,
        })
    }

    /// A publisher's templates with every version (members of the publishing tenant).
    pub async fn own(&self, who: &Caller, tenant: Uuid) -> Result<Vec<Detail>> {
        self.access.role_in(who, tenant, Action::Read).await?;
        let mut items = Vec::new();
        for t in store::templates::of_publisher(&self.db, tenant).await? {
            let versions = self.versions(t.id).await?;
            items.push((t, versions));
        }
        Ok(items)
    }

    async fn versions(&self, template: Uuid) -> Result<Vec<template_version::Model>> {
        let mut v = store::templates::versions(&self.db, template).await?;
        newest_first(&mut v, |x| &x.version);
        Ok(v)
    }

    /// The template and version named, for a caller of the publishing tenant with `action`
    /// (others are told it does not exist).
    async fn publisher_version(
        &self,
        who: &Caller,
        id: Uuid,
        version: &str,
        action: Action,
    ) -> Result<(template::Model, template_version::Model)> {
        let not_found = || Error::NotFound(format!("template {id} version {version} not found"));
        let t = store::templates::get(&self.db, id)
            .await?
            .ok_or_else(not_found)?;
        self.access
            .role_in(who, t.publisher_tenant_id, action)
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => not_found(),
                other => other,
            })?;
        let v = store::templates::version(&self.db, t.id, version)
            .await?
            .ok_or_else(not_found)?;
        Ok((t, v))
    }

    /// Moves a version from one of `step.from` to `step.to` and records it in the
    /// template's history, or says why not.
    async fn transition(
        &self,
        db: &impl ConnectionTrait,
        v: &template_version::Model,
        step: Step<'_>,
    ) -> Result<()> {
        if !step.from.contains(&v.status) {
            return Err(Error::Conflict(format!(
                "version {} is {}; this needs it to be {}",
                v.version,
                v.status,
                step.from
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )));
        }
        let now = self.clock.now();
        let moved = store::templates::transition(
            db,
            v.id,
            step.from,
            step.to,
            step.why.clone(),
            step.reviewer,
            now,
        )
        .await?;
        if !moved {
            return Err(Error::Conflict(format!(
                "version {} changed meanwhile; read it again",
                v.version
            )));
        }
        store::templates::record(
            db,
            v.template_id,
            &v.version,
            step.action,
            Some(step.actor),
            step.why,
            now,
        )
        .await?;
        Ok(())
    }

    async fn reread(&self, id: Uuid) -> Result<template_version::Model> {
        store::templates::version_by_id(&self.db, id)
            .await?
            .ok_or_else(|| Error::NotFound("version not found".into()))
    }

    /// Submits a draft (or rejected) version for review (developers and up).
    pub async fn submit(
        &self,
        who: &Caller,
        id: Uuid,
        version: &str,
    ) -> Result<template_version::Model> {
        let (t, v) = self
            .publisher_version(who, id, version, Action::WriteWorkloads)
            .await?;
        let txn = self.db.begin().await?;
        refuse_listed_elsewhere(&txn, t.publisher_tenant_id, &t.slug).await?;
        let step = Step {
            from: &[VersionStatus::Draft, VersionStatus::Rejected],
            to: VersionStatus::InReview,
            why: None,
            reviewer: None,
            action: "submitted",
            actor: who.user.id,
        };
        self.transition(&txn, &v, step).await?;
        txn.commit().await?;
        self.reread(v.id).await
    }

    /// The platform reviewer approves (publishes: the template takes its slug in the
    /// catalog) or rejects (with a reason for the partner) a version under review.
    pub async fn review(
        &self,
        who: &Caller,
        id: Uuid,
        version: &str,
        decision: Decision,
        why: Option<&str>,
    ) -> Result<template_version::Model> {
        who.require_platform_admin()?;
        let why = reason(why)?;
        if decision == Decision::Reject && why.is_none() {
            return Err(Error::field(
                "/reason",
                "a rejection needs a reason the partner can act on",
            ));
        }
        let not_found = || Error::NotFound(format!("template {id} version {version} not found"));
        let t = store::templates::get(&self.db, id)
            .await?
            .ok_or_else(not_found)?;
        let v = store::templates::version(&self.db, t.id, version)
            .await?
            .ok_or_else(not_found)?;
        let txn = self.db.begin().await?;
        let (to, action) = match decision {
            Decision::Approve => (VersionStatus::Published, "approved"),
            Decision::Reject => (VersionStatus::Rejected, "rejected"),
        };
        let step = Step {
            from: &[VersionStatus::InReview],
            to,
            why,
            reviewer: Some(who.user.id),
            action,
            actor: who.user.id,
        };
        self.transition(&txn, &v, step).await?;
        let now = self.clock.now();
        if decision == Decision::Approve {
            refuse_listed_elsewhere(&txn, t.publisher_tenant_id, &t.slug).await?;
            let m = manifest_of(&v)?;
            // Two approvals of one slug from different publishers racing: the catalog's
            // unique name decides, and the later one is a conflict.
            store::templates::publish(&txn, &t, listing(&m), now)
                .await
                .map_err(|e| {
                    if store::is_unique_violation(&e) {
                        Error::Conflict(format!(
                            "another publisher's `{}` was published meanwhile",
                            t.slug
                        ))
                    } else {
                        e.into()
                    }
                })?;
        }
        txn.commit().await?;
        self.reread(v.id).await
    }

    /// The publisher deprecates a published version (admins): it stays in the catalog,
    /// marked, and takes no new installs.
    pub async fn deprecate(
        &self,
        who: &Caller,
        id: Uuid,
        version: &str,
        why: Option<&str>,
    ) -> Result<template_version::Model> {
        let why = reason(why)?;
        let (_, v) = self
            .publisher_version(who, id, version, Action::ManageMembers)
            .await?;
        let txn = self.db.begin().await?;
        let step = Step {
            from: &[VersionStatus::Published],
            to: VersionStatus::Deprecated,
            why,
            reviewer: None,
            action: "deprecated",
            actor: who.user.id,
        };
        self.transition(&txn, &v, step).await?;
        txn.commit().await?;
        self.reread(v.id).await
    }

    /// A template's publishing history, oldest first (the publisher's members and the
    /// platform reviewer).
    pub async fn history(&self, who: &Caller, id: Uuid) -> Result<Vec<template_event::Model>> {
        let not_found = || Error::NotFound(format!("template {id} not found"));
        let t = store::templates::get(&self.db, id)
            .await?
            .ok_or_else(not_found)?;
        if !who.is_platform_admin() {
            self.access
                .role_in(who, t.publisher_tenant_id, Action::Read)
                .await
                .map_err(|_| not_found())?;
        }
        Ok(store::templates::history(&self.db, id).await?)
    }

    /// Versions waiting for review, oldest submission first (the platform reviewer).
    pub async fn review_queue(
        &self,
        who: &Caller,
    ) -> Result<Vec<(template::Model, template_version::Model)>> {
        who.require_platform_admin()?;
        let mut items = Vec::new();
        for v in store::templates::in_review(&self.db).await? {
            if let Some(t) = store::templates::get(&self.db, v.template_id).await? {
                items.push((t, v));
            }
        }
        Ok(items)
    }

    async fn public_versions(&self, t: &template::Model) -> Result<Vec<template_version::Model>> {
        Ok(self
            .versions(t.id)
            .await?
            .into_iter()
            .filter(|v| v.status.is_public())
            .collect())
    }

    /// A page of the catalog: published templates matching `q`.
    pub async fn catalog(
        &self,
        q: &CatalogQuery<'_>,
        page: &PageRequest,
    ) -> Result<(Vec<Entry>, Option<String>)> {
        if let Some(e) = q.engine
            && consortia_crds::Engine::parse(e).is_none()
        {
            return Err(Error::Malformed(format!(
                "`engine` must be one of {}",
                marketplace::engine_names()
            )));
        }
        if let Some(c) = q.category
            && !marketplace::CATEGORIES.contains(&c)
        {
            return Err(Error::Malformed(format!(
                "`category` must be one of {}",
                marketplace::CATEGORIES.join(", ")
            )));
        }
        let sort = q.sort.unwrap_or("installs");
        if !["installs", "recent"].contains(&sort) {
            return Err(Error::Malformed("`sort` is `installs` or `recent`".into()));
        }
        if q.words.is_some_and(|s| s.len() > 200) {
            return Err(Error::Malformed("`q` is at most 200 characters".into()));
        }
        let words: Vec<String> = q
            .words
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let mut items = Vec::new();
        for t in store::templates::all(&self.db).await? {
            if q.engine
                .is_some_and(|e| !t.engines.split(',').any(|x| x == e))
                || q.category.is_some_and(|c| c != t.category)
            {
                continue;
            }
            let Some(latest) = self
                .public_versions(&t)
                .await?
                .into_iter()
                .find(|v| v.status == VersionStatus::Published)
            else {
                continue;
            };
            let m = manifest_of(&latest)?;
            let hay = format!("{} {} {} {}", t.slug, t.name, t.summary, m.publisher).to_lowercase();
            if !words.iter().all(|w| hay.contains(w)) {
                continue;
            }
            items.push(Entry {
                template: t,
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
        Ok(pagination::finish(items, page, |i| i.template.slug.clone()))
    }

    /// A catalog template by its slug with its published and deprecated versions, newest
    /// first.
    pub async fn catalog_template(&self, slug: &str) -> Result<Detail> {
        let not_found = || Error::NotFound(format!("no published template `{slug}`"));
        let t = store::templates::listed(&self.db, slug)
            .await?
            .ok_or_else(not_found)?;
        let versions = self.public_versions(&t).await?;
        if versions.is_empty() {
            return Err(not_found());
        }
        Ok((t, versions))
    }

    /// A published version of a catalog template that may be installed: `want`, or the
    /// latest published one. Deprecated versions stay in the catalog but take no new
    /// installs.
    pub async fn installable(
        &self,
        slug: &str,
        want: Option<&str>,
    ) -> Result<(template::Model, template_version::Model, Manifest)> {
        let (t, versions) = self.catalog_template(slug).await?;
        let v = match want {
            Some(want) => {
                let v = versions.iter().find(|v| v.version == want).ok_or_else(|| {
                    Error::field(
                        "/version",
                        format!("`{slug}` has no published version {want}"),
                    )
                })?;
                if v.status != VersionStatus::Published {
                    return Err(Error::field(
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
                .find(|v| v.status == VersionStatus::Published)
                .ok_or_else(|| {
                    Error::field(
                        "/version",
                        format!("every version of `{slug}` is deprecated"),
                    )
                })?,
        };
        let m = manifest_of(v)?;
        Ok((t, v.clone(), m))
    }

    /// A version's package: anyone signed in for published and deprecated versions; the
    /// publisher's members and the reviewer for the others.
    pub async fn package(
        &self,
        who: &Caller,
        id: Uuid,
        version: &str,
    ) -> Result<(template::Model, template_version::Model, Vec<u8>)> {
        let not_found = || Error::NotFound(format!("template {id} version {version} not found"));
        let t = store::templates::get(&self.db, id)
            .await?
            .ok_or_else(not_found)?;
        let v = store::templates::version(&self.db, t.id, version)
            .await?
            .ok_or_else(not_found)?;
        if !v.status.is_public() && !who.is_platform_admin() {
            self.access
                .role_in(who, t.publisher_tenant_id, Action::Read)
                .await
                .map_err(|_| not_found())?;
        }
        let bytes = store::templates::package(&self.db, v.id)
            .await?
            .ok_or_else(not_found)?;
        Ok((t, v, bytes))
    }

    /// Loads built-in template packages as published versions of the platform publisher
    /// (made when missing); returns how many versions were added. One transaction per
    /// template: one that cannot load (say, a partner published its slug first) is logged
    /// and does not keep the others out.
    pub async fn load_builtins(&self, publisher_slug: &str, packages: &[Vec<u8>]) -> Result<usize> {
        let publisher = match store::tenants::by_slug(&self.db, publisher_slug).await? {
            Some(t) => t.id,
            None => {
                store::tenants::insert(
                    &self.db,
                    store::tenants::NewTenant {
                        slug: publisher_slug,
                        name: "Consortia",
                        kind: TenantKind::Partner,
                    },
                )
                .await?
                .id
            }
        };
        let mut added = 0;
        for bytes in packages {
            let pkg = marketplace::read_package(bytes, marketplace::DEFAULT_MAX_PACKAGE_BYTES)
                .map_err(|p| Error::Internal(format!("a built-in template is not valid: {p:?}")))?;
            let m = &pkg.manifest;
            let txn = self.db.begin().await?;
            let exists = match store::templates::own(&txn, publisher, &m.slug).await? {
                Some(t) => store::templates::version(&txn, t.id, &m.version)
                    .await?
                    .is_some(),
                None => false,
            };
            if exists {
                continue;
            }
            match self.store_version(&txn, publisher, &pkg, None, true).await {
                Ok(stored) => {
                    let now = self.clock.now();
                    store::templates::record(
                        &txn,
                        stored.template.id,
                        &m.version,
                        "approved",
                        None,
                        Some("built in".into()),
                        now,
                    )
                    .await?;
                    txn.commit().await?;
                    added += 1;
                }
                Err(e) => {
                    tracing::warn!(template = %m.slug, error = %e, "a built-in template could not be loaded");
                }
            }
        }
        Ok(added)
    }
}
