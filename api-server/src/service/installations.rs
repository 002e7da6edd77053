//! Marketplace templates installed on chains, and chains created from a template.
//!
//! Installing checks that the template supports the chain's engine and that the parameters
//! satisfy the version's JSON Schema (every error by JSON pointer), records the installation
//! and counts it on the template. On a native chain the installation is then anchored on the
//! chain itself: the installing tenant's service account deposits the package's SHA-256 with
//! the template, version and a digest of the parameters as metadata, so the chain proves what
//! was installed and when, and the receipt verifies offline like any deposit's.
//!
//! Onto a running chain this happens within the request (`installed`, nothing stored when
//! the chain cannot take it). A chain created from a template records the installation with
//! the chain (`installing`) and anchors it once the chain has made its first block; a server
//! that stops first resumes it at start ([`Installations::resume`]).
//!
//! Installations are chain data: members of the alliance see them; the template's publisher
//! sees only its install count.

use crate::clock::Clock;
use crate::db::entities::{chain, template, template_installation, template_version};
use crate::domain::error::{Error, Result};
use crate::domain::roles::Action;
use crate::domain::templates::InstallStatus;
use crate::domain::templates::{
    self as marketplace, Rendered, TemplateChoice, check_install_parameters,
};
use crate::runtime::{Phase, Runtime};
use crate::service::access::Caller;
use crate::service::alliances::{Alliances, ensure_open};
use crate::service::signer::Signer;
use crate::service::templates::Templates;
use crate::store;
use crate::store::installations::Anchor;
use chrono::{DateTime, Utc};
use consortia_chain::tx::{HashAlg, Op};
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How long an installation waits for a new chain's first block.
const FIRST_BLOCK_WAIT: Duration = Duration::from_secs(120);

/// An installation with its template's slug.
pub type Installation = (template_installation::Model, String);

/// A checked choice: the template, the version and its manifest.
pub struct Resolved {
    /// The template.
    pub template: template::Model,
    /// The published version.
    pub version: template_version::Model,
    /// The parameters, as given.
    pub parameters: Value,
    /// The config artifacts rendered with the parameters, and genesis parameters.
    pub rendered: Rendered,
}

fn anchor_of(r: &consortia_chain::receipt::Receipt) -> anyhow::Result<Anchor> {
    Ok(Anchor {
        tx_hash: hex::encode(r.tx_hash),
        height: r.height as i64,
        receipt: serde_json::to_value(r)?,
    })
}

fn install_external_id(installation: Uuid) -> String {
    format!("install-{}", installation.simple())
}

/// The installations use cases.
#[derive(Clone)]
pub struct Installations {
    db: DatabaseConnection,
    alliances: Alliances,
    templates: Templates,
    signer: Arc<Signer>,
    runtime: Arc<dyn Runtime>,
    clock: Arc<dyn Clock>,
    tasks: tokio::runtime::Handle,
}

impl Installations {
    /// Over `db`; anchors through `signer` on chains `runtime` runs; background completions
    /// run on `tasks` (a runtime that outlives the HTTP server).
    pub fn new(
        db: DatabaseConnection,
        alliances: Alliances,
        templates: Templates,
        signer: Arc<Signer>,
        runtime: Arc<dyn Runtime>,
        clock: Arc<dyn Clock>,
        tasks: tokio::runtime::Handle,
    ) -> Installations {
        Installations {
            db,
            alliances,
            templates,
            signer,
            runtime,
            clock,
            tasks,
        }
    }

    /// A chain's installations, oldest first.
    pub async fn of_chain(&self, chain: Uuid) -> Result<Vec<Installation>> {
        Ok(store::installations::of_chain(&self.db, chain).await?)
    }

    /// A chain's installations, oldest first (members of the alliance).
    pub async fn list(
        &self,
        who: &Caller,
        alliance: Uuid,
        chain: Uuid,
    ) -> Result<Vec<Installation>> {
        let c = self
            .alliances
            .authorize_chain_view(who, alliance, chain)
            .await?;
        self.of_chain(c.id).await
    }

    /// Resolves a template choice for a chain of `engine`: a published, not deprecated
    /// version that supports the engine, with parameters its schema accepts. Pointers are
    /// under `at`.
    pub async fn resolve(
        &self,
        engine: &str,
        slug: &str,
        version: Option<&str>,
        parameters: &Map<String, Value>,
        at: &str,
    ) -> Result<Resolved> {
        let (template, version, manifest) = self
            .templates
            .installable(slug, version)
            .await
            .map_err(|e| e.under(at))?;
        let here = if at.is_empty() { "/slug" } else { at };
        if !manifest.engines.iter().any(|e| e == engine) {
            return Err(Error::field(
                here,
                format!(
                    "`{slug}` {} supports {}; the chain runs {engine}",
                    version.version,
                    manifest.engines.join(" and ")
                ),
            ));
        }
        let parameters = Value::Object(parameters.clone());
        check_install_parameters(&manifest, &parameters, &format!("{at}/parameters"))?;
        let package = store::templates::package(&self.db, version.id)
            .await?
            .ok_or_else(|| Error::Internal(format!("no package for {slug} {}", version.version)))?;
        // A package is read with today's checks: one stored before a rule was added may fail
        // them, which makes the version uninstallable (the publisher ships a new one), not a
        // server error.
        let rendered = marketplace::read_package(&package, usize::MAX / 8)
            .map_err(|problems| {
                let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
                Error::field(
                    here,
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
                    Error::field(
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

    /// Installs a template onto a running chain of the alliance (developers of a member and
    /// up): claimed first (the unique index settles concurrent installs of the same
    /// template), then anchored on a native chain; nothing stays when the chain cannot take
    /// it.
    pub async fn install(
        &self,
        who: &Caller,
        alliance: Uuid,
        chain_id: Uuid,
        tenant: Uuid,
        choice: &TemplateChoice,
    ) -> Result<Installation> {
        let (a, _) = self
            .alliances
            .authorize_member_action(who, alliance, tenant, Action::WriteWorkloads)
            .await?;
        ensure_open(&a)?;
        let chain = self
            .alliances
            .authorize_chain_view(who, alliance, chain_id)
            .await?;
        let r = self
            .resolve(
                &chain.engine,
                &choice.slug,
                choice.version.as_deref(),
                &choice.parameters,
                "",
            )
            .await?;
        let now = self.clock.now();
        let native = chain.engine == "native";
        let mut row = new_row(
            chain_id,
            &r,
            tenant,
            Some(who.user.id),
            if native {
                InstallStatus::Installing
            } else {
                InstallStatus::Recorded
            },
            now,
        );
        if !native {
            row.message = Some(format!(
                "recorded; the {} engine does not anchor installations on chain",
                chain.engine
            ));
        }
        let txn = self.db.begin().await?;
        // Write first (see `Governance::vote`): on SQLite a transaction that reads before it
        // writes cannot wait for a concurrent writer and fails instead. A failed installation
        // gives way to a new one.
        store::installations::delete_failed(&txn, chain_id, r.template.id).await?;
        if let Err(e) = store::installations::insert(&txn, row.clone()).await {
            return Err(if store::is_unique_violation(&e) {
                Error::Conflict(format!(
                    "`{}` is already installed on chain {chain_id}",
                    choice.slug
                ))
            } else {
                e.into()
            });
        }
        txn.commit().await?;
        if native {
            match self
                .anchor(&chain, &row, &choice.slug, &r.version.package_sha256)
                .await
            {
                Ok(a) => {
                    row = store::installations::mark_installed(&self.db, row, a, self.clock.now())
                        .await?
                }
                Err(e) => {
                    // Nothing stays behind: the claim and its count are taken back.
                    let txn = self.db.begin().await?;
                    store::installations::forget(&txn, &row).await?;
                    txn.commit().await?;
                    return Err(Error::Unavailable(format!(
                        "chain {chain_id} could not anchor the installation: {e:#}"
                    )));
                }
            }
        }
        store::alliances::event(
            &self.db,
            alliance,
            "template_installed",
            (Some(tenant), Some(who.user.id)),
            serde_json::json!({"chain_id": chain_id, "template": choice.slug, "version": row.version}),
            now,
        )
        .await?;
        who.created(row.id);
        who.noted_tenant(tenant);
        Ok((row, choice.slug.clone()))
    }

    /// Anchors an installation on a native chain: one deposit of the package's digest by
    /// the tenant's service account, answered once committed.
    async fn anchor(
        &self,
        chain: &chain::Model,
        row: &template_installation::Model,
        slug: &str,
        package_sha256: &str,
    ) -> anyhow::Result<Anchor> {
        let metadata = serde_json::json!({
            "kind": "consortia.template-install",
            "template": slug,
            "version": row.version,
            "installation": row.id,
            "parameters_sha256": hex::encode(Sha256::digest(row.parameters.to_string())),
            "config_sha256": hex::encode(Sha256::digest(row.config.to_string())),
        })
        .to_string();
        let op = Op::Deposit {
            hash_alg: HashAlg::Sha256,
            content_hash: hex::decode(package_sha256)?,
            metadata,
            external_id: Some(install_external_id(row.id)),
        };
        let receipts = self
            .signer
            .commit(chain.id, row.tenant_id, vec![op])
            .await?;
        let r = receipts
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no receipt"))?;
        anchor_of(&r)
    }

    /// The installation's anchor if the chain already holds it: a server stopped after the
    /// chain committed the anchor but before the row said so. Found through the chain's
    /// index of deposits by content hash (the package digest): a deposit by the tenant's
    /// service account whose external id names this installation.
    async fn anchored_before(
        &self,
        row: &template_installation::Model,
        package_sha256: &str,
    ) -> anyhow::Result<Option<Anchor>> {
        // The account as recorded: ids of accounts made by older versions differ.
        let Some(account) = store::chains::account(&self.db, row.chain_id, row.tenant_id)
            .await?
            .map(|a| a.account)
        else {
            return Ok(None);
        };
        let endpoint =
            crate::service::signer::running_endpoint(self.runtime.as_ref(), row.chain_id).await?;
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
                return anchor_of(&r).map(Some);
            }
        }
        Ok(None)
    }

    /// Finishes, in the background, an installation left `installing`.
    pub fn complete_later(&self, installation: Uuid) {
        let this = self.clone();
        self.tasks
            .spawn(async move { this.complete(installation).await });
    }

    /// Finishes an installation left `installing` (recorded with a new chain, or by a server
    /// that stopped mid-install): waits for the chain's first block, anchors it unless the
    /// chain already holds its anchor, and stores the outcome (`installed` or `failed`).
    pub async fn complete(&self, installation: Uuid) {
        if let Err(e) = self.try_complete(installation).await {
            tracing::warn!(%installation, error = %format!("{e:#}"), "template installation failed");
            let now = self.clock.now();
            // A failed installation does not count; a new install of the template replaces it.
            if let Ok(Some(row)) = store::installations::get(&self.db, installation).await
                && row.status == InstallStatus::Installing
            {
                let _ = store::installations::uncount(&self.db, row.template_id).await;
            }
            let _ =
                store::installations::mark_failed(&self.db, installation, &format!("{e:#}"), now)
                    .await;
        }
    }

    async fn try_complete(&self, installation: Uuid) -> anyhow::Result<()> {
        let Some(row) = store::installations::get(&self.db, installation).await? else {
            return Ok(()); // the chain was deleted meanwhile
        };
        let deadline = tokio::time::Instant::now() + FIRST_BLOCK_WAIT;
        loop {
            let Some(chain) = store::chains::get(&self.db, row.chain_id).await? else {
                return Ok(());
            };
            let report = self.runtime.report(chain.id).await;
            if matches!(report.phase, Phase::Running | Phase::Degraded)
                && report.height.unwrap_or(0) >= 1
            {
                let (slug, package) = self.template_of(&row).await?;
                let a = match self.anchored_before(&row, &package).await? {
                    Some(a) => a,
                    None => self.anchor(&chain, &row, &slug, &package).await?,
                };
                store::installations::mark_installed(&self.db, row, a, self.clock.now()).await?;
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
        &self,
        row: &template_installation::Model,
    ) -> anyhow::Result<(String, String)> {
        let t = store::templates::get(&self.db, row.template_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the template is gone"))?;
        let v = store::templates::version_by_id(&self.db, row.template_version_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the template version is gone"))?;
        Ok((t.slug, v.package_sha256))
    }

    /// Resumes, in the background, the installations a stopped server left `installing`;
    /// how many.
    pub async fn resume(&self) -> Result<usize> {
        let pending = store::installations::installing(&self.db).await?;
        for p in &pending {
            self.complete_later(p.id);
        }
        Ok(pending.len())
    }
}

/// A new installation row (not yet stored).
pub fn new_row(
    chain: Uuid,
    r: &Resolved,
    tenant: Uuid,
    created_by: Option<Uuid>,
    status: InstallStatus,
    now: DateTime<Utc>,
) -> template_installation::Model {
    template_installation::Model {
        id: Uuid::new_v4(),
        chain_id: chain,
        template_id: r.template.id,
        template_version_id: r.version.id,
        version: r.version.version.clone(),
        tenant_id: tenant,
        parameters: r.parameters.clone(),
        config: serde_json::json!(r.rendered.configs),
        status,
        message: None,
        tx_hash: None,
        height: None,
        receipt: None,
        created_by,
        created_at: now,
        updated_at: now,
    }
}
