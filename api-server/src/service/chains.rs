//! Chains of an alliance, created by an admin of a member tenant (or by an approved
//! `create_chain` proposal), run by the server's runtime (local processes or Kubernetes).
//!
//! Every member tenant of the alliance runs `nodes_per_member` validators. Keys and genesis
//! come from `consortia-engines` and are sealed under the KEK; the runtime receives them in
//! memory. Users of a member tenant see the chain; everyone else is told it does not exist.

use crate::clock::Clock;
use crate::db::entities::{chain, chain_node, proposal};
use crate::domain::chains::ChainSpec;
use crate::domain::error::{Error, Result, check};
use crate::domain::roles::Action;
use crate::domain::templates::InstallStatus;
use crate::runtime::{ChainReport, Engine, Placement, Runtime, RuntimeError};
use crate::service::access::{Access, Caller};
use crate::service::alliances::{Alliances, chain_not_found};
use crate::service::installations::{Installations, Resolved};
use crate::service::signer::Signer;
use crate::service::templates::Templates;
use crate::store::alliances as alliance_db;
use crate::store::chains as db;
use consortia_engines::native::{self, Material};
use consortia_pki::seal::Kek;
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// Most validators each member may run.
pub const MAX_NODES_PER_MEMBER: u32 = 16;

fn check_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.chars().count())
        && name.trim() == name
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " ._-".contains(c));
    check(
        "/name",
        ok.then_some(()).ok_or_else(|| {
            "name must be 1-64 letters, digits, spaces, '.', '_' or '-' (no leading or trailing space)".to_string()
        }),
    )
}

fn consensus_for(engine: Engine, asked: Option<&str>) -> Result<String> {
    let allowed = engine.consensus();
    match asked {
        None => Ok(allowed[0].to_string()),
        Some(c) if allowed.contains(&c) => Ok(c.to_string()),
        Some(c) => Err(Error::field(
            "/consensus",
            format!(
                "consensus {c:?} does not suit the {} engine: use one of {allowed:?}",
                engine.as_str()
            ),
        )),
    }
}

/// A member's label in node names: its org id as a DNS label, unique in the chain.
fn member_labels(org_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for org in org_ids {
        let mut label: String = org
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        label.truncate(20);
        let label = label.trim_matches('-').to_string();
        let base = if label.is_empty() {
            "org".to_string()
        } else {
            label
        };
        let mut candidate = base.clone();
        let mut n = 2;
        while out.contains(&candidate) {
            candidate = format!("{base}{n}");
            n += 1;
        }
        out.push(candidate);
    }
    out
}

fn runtime_error(e: RuntimeError) -> Error {
    match e {
        RuntimeError::Unsupported(m) => Error::field("/engine", m),
        RuntimeError::Unavailable(m) => Error::Unavailable(m),
        RuntimeError::Failed(e) => Error::Internal(format!("runtime: {e:#}")),
    }
}

/// Who asked for a chain: a member admin's request, or an approved `create_chain` proposal.
pub struct Actor {
    pub tenant: Uuid,
    pub user: Option<Uuid>,
    pub proposal: Option<Uuid>,
}

/// A chain request that passed every check, ready to provision.
pub struct CheckedChain {
    alliance_id: Uuid,
    spec: ChainSpec,
    engine: Engine,
    consensus: String,
    nodes_per_member: u32,
    template: Option<Resolved>,
    members: Vec<crate::db::entities::alliance_member::Model>,
}

/// What the runtime says of a chain, and what the caller may see of it.
pub struct Status {
    /// Its nodes as recorded.
    pub nodes: Vec<chain_node::Model>,
    /// The runtime's report.
    pub report: ChainReport,
    /// Whether the caller sees the nodes' endpoints.
    pub endpoints_shown: bool,
    /// The nodes' endpoints (empty unless shown).
    pub endpoints: Vec<String>,
    /// The chain's installations with their slugs.
    pub installations: Vec<crate::service::installations::Installation>,
}

/// Whose chains' raw node endpoints a caller sees: nodes do not check tenants (their
/// `/v1/blocks` and `/v1/deposits/{hash}` show every tenant's deposit metadata), so only
/// the creating tenant's users (and the platform administrator) get them. Read once per
/// request.
pub enum Viewer {
    /// The platform administrator.
    Every,
    /// Users of these tenants.
    CreatedBy(Vec<Uuid>),
}

impl Viewer {
    fn shows(&self, c: &chain::Model) -> bool {
        match self {
            Viewer::Every => true,
            Viewer::CreatedBy(tenants) => tenants.contains(&c.created_by_tenant),
        }
    }
}

/// The chains use cases.
#[derive(Clone)]
pub struct Chains {
    db: DatabaseConnection,
    access: Access,
    alliances: Alliances,
    templates: Templates,
    installations: Installations,
    signer: Arc<Signer>,
    runtime: Arc<dyn Runtime>,
    kek: Arc<Kek>,
    clock: Arc<dyn Clock>,
}

/// What a [`Chains`] service is built from.
pub struct ChainsDeps {
    /// Database pool.
    pub db: DatabaseConnection,
    /// Authorization.
    pub access: Access,
    /// Who sees an alliance and acts for it.
    pub alliances: Alliances,
    /// The catalog (a template's chain defaults).
    pub templates: Templates,
    /// Installations of a chain made from a template.
    pub installations: Installations,
    /// Tenants' accounts on chains (forgotten with the chain).
    pub signer: Arc<Signer>,
    /// Where chains run.
    pub runtime: Arc<dyn Runtime>,
    /// What chain material is sealed under.
    pub kek: Arc<Kek>,
    /// Now.
    pub clock: Arc<dyn Clock>,
}

impl Chains {
    /// From its parts.
    pub fn new(d: ChainsDeps) -> Chains {
        Chains {
            db: d.db,
            access: d.access,
            alliances: d.alliances,
            templates: d.templates,
            installations: d.installations,
            signer: d.signer,
            runtime: d.runtime,
            kek: d.kek,
            clock: d.clock,
        }
    }

    /// The runtime's kind (`local` or `kubernetes`).
    pub fn runtime_kind(&self) -> &'static str {
        self.runtime.kind()
    }

    /// Every engine and, when this runtime cannot run it, why.
    pub fn engines(&self) -> Vec<(Engine, Option<String>)> {
        Engine::ALL
            .into_iter()
            .map(|e| (e, self.runtime.supports(e).err().map(|r| r.to_string())))
            .collect()
    }

    /// Whose endpoints the caller sees.
    pub async fn viewer(&self, who: &Caller) -> Result<Viewer> {
        Ok(if who.is_platform_admin() {
            Viewer::Every
        } else {
            Viewer::CreatedBy(self.access.own_tenants(who).await?)
        })
    }

    /// A chain's nodes, the runtime's report, and what `viewer` sees of its endpoints.
    pub async fn status(&self, viewer: &Viewer, c: &chain::Model) -> Result<Status> {
        let nodes = db::nodes(&self.db, c.id).await?;
        let report = self.runtime.report(c.id).await;
        let endpoints_shown = viewer.shows(c);
        let endpoints = if endpoints_shown {
            self.runtime.endpoints(c.id).await
        } else {
            Vec::new()
        };
        Ok(Status {
            nodes,
            report,
            endpoints_shown,
            endpoints,
            installations: self.installations.of_chain(c.id).await?,
        })
    }

    /// Creates a chain for an alliance (admins of a member tenant).
    pub async fn create(
        &self,
        who: &Caller,
        alliance_id: Uuid,
        tenant: Uuid,
        spec: &ChainSpec,
    ) -> Result<chain::Model> {
        let (alliance, _) = self
            .alliances
            .authorize_member_action(who, alliance_id, tenant, Action::ManageMembers)
            .await?;
        let checked = self.check_request(&alliance, spec, "").await?;
        let actor = Actor {
            tenant,
            user: Some(who.user.id),
            proposal: None,
        };
        let row = self.provision(checked, actor).await?;
        who.created(row.id);
        who.noted_tenant(tenant);
        Ok(row)
    }

    /// A page of the alliance's chains, in id order (members).
    pub async fn list(
        &self,
        who: &Caller,
        alliance_id: Uuid,
        page: &crate::domain::pagination::PageRequest,
    ) -> Result<(Vec<chain::Model>, Option<String>)> {
        self.alliances.authorize_view(who, alliance_id).await?;
        let rows = db::in_alliance(&self.db, alliance_id, page).await?;
        Ok(crate::domain::pagination::finish(rows, page, |c| {
            c.id.to_string()
        }))
    }

    /// A page of the chains of every alliance the caller's tenants belong to (or `tenant`'s,
    /// read access needed; every chain for the platform administrator), in id order.
    pub async fn list_for(
        &self,
        who: &Caller,
        tenant: Option<Uuid>,
        page: &crate::domain::pagination::PageRequest,
    ) -> Result<(Vec<chain::Model>, Option<String>)> {
        let scope = self.access.scope(who, tenant, Action::Read).await?;
        let rows = db::of_tenants(&self.db, scope.as_filter(), page).await?;
        Ok(crate::domain::pagination::finish(rows, page, |c| {
            c.id.to_string()
        }))
    }

    /// A chain's genesis file (members).
    pub async fn genesis(&self, who: &Caller, alliance_id: Uuid, id: Uuid) -> Result<Vec<u8>> {
        let c = self
            .alliances
            .authorize_chain_view(who, alliance_id, id)
            .await?;
        let files = db::material(&self.db, &self.kek, c.id)
            .await
            .map_err(|e| Error::Internal(format!("{e:#}")))?;
        files
            .get(native::GENESIS_FILE)
            .cloned()
            .ok_or_else(|| Error::Internal("the chain has no genesis".into()))
    }

    /// Deletes a chain its creating tenant alone uses (its admins); a shared one is the
    /// alliance's to delete, by a `delete_chain` proposal.
    pub async fn delete(
        &self,
        who: &Caller,
        alliance_id: Uuid,
        id: Uuid,
        tenant: Uuid,
        keep_data: bool,
    ) -> Result<()> {
        self.alliances
            .authorize_member_action(who, alliance_id, tenant, Action::ManageMembers)
            .await
            .map_err(|e| e.not_found_as(|| chain_not_found(id)))?;
        let c = db::get(&self.db, id)
            .await?
            .filter(|c| c.alliance_id == alliance_id)
            .ok_or_else(|| chain_not_found(id))?;
        if c.created_by_tenant != tenant {
            return Err(Error::Forbidden(format!(
                "chain {id} was created by another member: propose delete_chain so the alliance \
                 decides"
            )));
        }
        let shared = db::shared_by(&self.db, &c).await?;
        if !shared.is_empty() {
            return Err(Error::Conflict(format!(
                "chain {id} is shared ({}): propose delete_chain so the alliance decides",
                shared.join("; ")
            )));
        }
        let actor = Actor {
            tenant,
            user: Some(who.user.id),
            proposal: None,
        };
        self.remove(&c, keep_data, actor).await?;
        who.noted_tenant(tenant);
        Ok(())
    }

    /// Where the runtime places `count` new nodes of chain `id`: on the local runtime, never on a
    /// port recorded for another chain's node (a node waiting to be restarted has its ports
    /// unbound) nor on one held for a chain still being created.
    async fn place_nodes(&self, id: Uuid, count: usize) -> Result<Placement> {
        loop {
            let avoid = db::recorded_ports(&self.db).await?;
            let placement = self
                .runtime
                .place(id, count, &avoid)
                .await
                .map_err(runtime_error)?;
            // A creation that recorded its ports and released its placement between the read
            // above and this placement: place again.
            let recorded = db::recorded_ports(&self.db).await?;
            if placement.held_ports().iter().any(|p| recorded.contains(p)) {
                continue;
            }
            return Ok(placement);
        }
    }

    /// Checks a chain request against the alliance as it is now: open, name, engine, consensus,
    /// node counts, the runtime, and the template with its parameters. Pointers are under `at`.
    pub async fn check_request(
        &self,
        alliance: &crate::db::entities::alliance::Model,
        spec: &ChainSpec,
        at: &str,
    ) -> Result<CheckedChain> {
        crate::service::alliances::ensure_open(alliance)?;
        self.check_request_against(alliance.id, spec)
            .await
            .map_err(|e| e.under(at))
    }

    async fn check_request_against(
        &self,
        alliance_id: Uuid,
        spec: &ChainSpec,
    ) -> Result<CheckedChain> {
        check_name(&spec.name)?;
        // The template's chain defaults fill what the request leaves out.
        let defaults = match &spec.template {
            Some(t) => Some(
                self.templates
                    .installable(&t.slug, t.version.as_deref())
                    .await
                    .map_err(|e| e.under("/template"))?
                    .2
                    .chain,
            ),
            None => None,
        };
        let engine_name = match (&spec.engine, &defaults) {
            (Some(e), _) => e.clone(),
            (None, Some(d)) => d.engine.clone(),
            (None, None) => {
                return Err(Error::field(
                    "/engine",
                    "engine is required (native, fabric or quorum) unless a template gives it",
                ));
            }
        };
        let engine = Engine::parse(&engine_name).ok_or_else(|| {
            Error::field(
                "/engine",
                format!("unknown engine {engine_name:?}: use native, fabric or quorum"),
            )
        })?;
        let nodes_per_member = spec
            .nodes_per_member
            .or(defaults.as_ref().map(|d| d.nodes_per_member))
            .unwrap_or(1);
        let asked_consensus = spec.consensus.clone().or_else(|| {
            defaults
                .as_ref()
                .filter(|d| d.engine == engine_name)
                .map(|d| d.consensus.clone())
        });
        let consensus = consensus_for(engine, asked_consensus.as_deref())?;
        if let Some(v) = &spec.version {
            let ok = (1..=64).contains(&v.len())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            check(
                "/version",
                ok.then_some(()).ok_or_else(|| {
                    "version must be 1-64 letters, digits, '.', '_' or '-'".to_string()
                }),
            )?;
        }
        if !(1..=MAX_NODES_PER_MEMBER).contains(&nodes_per_member) {
            return Err(Error::field(
                "/nodes_per_member",
                format!("nodes_per_member must be between 1 and {MAX_NODES_PER_MEMBER}"),
            ));
        }
        self.runtime.supports(engine).map_err(runtime_error)?;
        let template = match &spec.template {
            Some(t) => Some(
                self.installations
                    .resolve(
                        engine.as_str(),
                        &t.slug,
                        t.version.as_deref(),
                        &t.parameters,
                        "/template",
                    )
                    .await?,
            ),
            None => None,
        };
        let members = alliance_db::members(&self.db, alliance_id).await?;
        let total = members.len() * nodes_per_member as usize;
        if total > native::MAX_VALIDATORS {
            return Err(Error::field(
                "/nodes_per_member",
                format!(
                    "{} members x {} nodes is {total} validators, more than the {} a chain may have",
                    members.len(),
                    nodes_per_member,
                    native::MAX_VALIDATORS
                ),
            ));
        }
        if db::by_name(&self.db, alliance_id, &spec.name)
            .await?
            .is_some()
        {
            return Err(Error::Conflict(format!(
                "alliance {alliance_id} already has a chain named {:?}",
                spec.name
            )));
        }

        Ok(CheckedChain {
            alliance_id,
            spec: spec.clone(),
            engine,
            consensus,
            nodes_per_member,
            template,
            members,
        })
    }

    /// Records a checked chain (keys and genesis sealed) and hands it to the runtime; if the
    /// runtime refuses, nothing stays behind.
    pub async fn provision(&self, checked: CheckedChain, actor: Actor) -> Result<chain::Model> {
        let CheckedChain {
            alliance_id,
            spec,
            engine,
            consensus,
            nodes_per_member,
            template,
            members,
        } = checked;
        let total = members.len() * nodes_per_member as usize;
        let id = Uuid::new_v4();
        let resource_name = format!("ch-{}", &id.simple().to_string()[..12]);
        let labels = member_labels(&members.iter().map(|m| m.org_id.clone()).collect::<Vec<_>>());
        let counts: Vec<(&str, u32)> = labels
            .iter()
            .map(|l| (l.as_str(), nodes_per_member))
            .collect();
        let layout = native::layout_for(&resource_name, &counts)
            .map_err(|e| Error::field("/nodes_per_member", e.to_string()))?;
        let genesis_ms = self.clock.now().timestamp_millis().max(0) as u64;
        // A template's genesis parameters shape the chain (block size, metadata limits...).
        let params = template
            .as_ref()
            .and_then(|t| t.rendered.genesis_params.clone())
            .filter(|_| engine == Engine::Native)
            .unwrap_or_default();
        let material = Material::generate(&resource_name, &layout, params, genesis_ms)
            .map_err(|e| Error::Internal(format!("generating chain material: {e}")))?;
        let files = material.to_files();
        // Held until the chain's nodes are recorded (the end of this function).
        let placement = self.place_nodes(id, total).await?;
        let now = self.clock.now();
        let tenant_of = |label: &str| {
            labels
                .iter()
                .position(|l| l == label)
                .map(|i| members[i].tenant_id)
                .expect("every node's member is a member")
        };
        let node_rows: Vec<chain_node::Model> = layout
            .nodes()
            .iter()
            .zip(&placement.nodes)
            .map(|(n, ports)| chain_node::Model {
                id: Uuid::new_v4(),
                chain_id: id,
                name: n.name.clone(),
                tenant_id: tenant_of(&n.member),
                member: n.member.clone(),
                role: "validator".into(),
                public_key: hex::encode(material.node_keys[&n.name].verifying_key().to_bytes()),
                p2p_port: i32::from(ports.p2p),
                api_port: i32::from(ports.api),
            })
            .collect();
        let row = chain::Model {
            id,
            alliance_id,
            name: spec.name.clone(),
            resource_name: resource_name.clone(),
            engine: engine.as_str().into(),
            consensus,
            version: spec.version.clone(),
            runtime: self.runtime.kind().into(),
            nodes_per_member: nodes_per_member as i32,
            chain_id: material.genesis.chain_id.clone(),
            genesis_hash: material.genesis_hash(),
            created_by_tenant: actor.tenant,
            created_by_user: actor.user,
            created_at: now,
        };
        let plan = db::chain_plan_of(&row, &node_rows, files.clone())
            .map_err(|e| Error::Internal(format!("{e:#}")))?;
        let sealed = db::seal_material(&self.kek, id, &files);
        let installation = template.as_ref().map(|t| {
            let mut i = crate::service::installations::new_row(
                id,
                t,
                actor.tenant,
                actor.user,
                InstallStatus::Installing,
                now,
            );
            if engine != Engine::Native {
                i.status = InstallStatus::Recorded;
                i.message = Some(format!(
                    "recorded; the {} engine does not anchor installations on chain",
                    engine.as_str()
                ));
            } else {
                i.message = Some("waiting for the chain's first block".into());
            }
            i
        });
        let txn = self.db.begin().await?;
        db::insert(&txn, row.clone(), node_rows, sealed).await?;
        if let Some(i) = &installation {
            crate::store::installations::insert(&txn, i.clone()).await?;
        }
        alliance_db::event(
            &txn,
            alliance_id,
            "chain_created",
            (Some(actor.tenant), actor.user),
            serde_json::json!({"chain_id": id, "name": spec.name, "engine": engine.as_str(), "nodes": total,
                "template": spec.template.as_ref().map(|t| &t.slug), "proposal_id": actor.proposal}),
            now,
        )
        .await?;
        txn.commit().await?;
        if let Err(e) = self.runtime.ensure(plan).await {
            // Nothing half-made stays behind: the chain is forgotten again.
            let _ = self.runtime.remove(id, &row.resource_name, false).await;
            db::delete(&self.db, id).await?;
            if let Some(i) = &installation {
                crate::store::installations::uncount(&self.db, i.template_id).await?;
            }
            return Err(runtime_error(e));
        }
        if let Some(i) = installation.filter(|i| i.status == InstallStatus::Installing) {
            self.installations.complete_later(i.id);
        }
        Ok(row)
    }

    /// Stops a chain's nodes, forgets its watchers and deletes its rows, recording
    /// `chain_deleted` (naming the proposal that decided it, if one did).
    pub async fn remove(&self, c: &chain::Model, keep_data: bool, actor: Actor) -> Result<()> {
        self.runtime
            .remove(c.id, &c.resource_name, keep_data)
            .await
            .map_err(runtime_error)?;
        self.signer.drop_chain(c.id);
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        db::delete(&txn, c.id).await?;
        alliance_db::event(
            &txn,
            c.alliance_id,
            "chain_deleted",
            (Some(actor.tenant), actor.user),
            serde_json::json!({"chain_id": c.id, "name": c.name, "keep_data": keep_data,
                "proposal_id": actor.proposal}),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Carries out what an approved proposal does outside the database: creating or deleting a
    /// chain. Other kinds were carried out inside the deciding vote's transaction.
    pub async fn carry_out_proposal(&self, p: &proposal::Model) -> Result<()> {
        match p.kind.as_str() {
            "create_chain" => self.create_proposed_chain(p).await,
            "delete_chain" => self.delete_proposed_chain(p).await,
            _ => Ok(()),
        }
    }

    /// Deletes the chain of an approved `delete_chain` proposal; nothing when it is gone already.
    async fn delete_proposed_chain(&self, p: &proposal::Model) -> Result<()> {
        #[derive(Deserialize)]
        struct Payload {
            chain_id: Uuid,
            #[serde(default)]
            keep_data: bool,
        }
        let what = Payload::deserialize(&p.payload)
            .map_err(|e| Error::Internal(format!("delete_chain payload: {e}")))?;
        let Some(c) = db::get(&self.db, what.chain_id)
            .await?
            .filter(|c| c.alliance_id == p.alliance_id)
        else {
            return Ok(());
        };
        let actor = Actor {
            tenant: p.proposer_tenant_id,
            user: Some(p.proposer_user_id),
            proposal: Some(p.id),
        };
        self.remove(&c, what.keep_data, actor).await
    }

    /// Creates the chain of an approved `create_chain` proposal, as the proposer's. If the
    /// alliance changed so that it can no longer be made (its name was taken meanwhile, the
    /// members now need too many validators...), the alliance's history says why
    /// (`chain_creation_failed`) and nothing is made.
    async fn create_proposed_chain(&self, p: &proposal::Model) -> Result<()> {
        let spec = ChainSpec::deserialize(&p.payload)
            .map_err(|e| Error::Internal(format!("create_chain payload: {e}")))?;
        let actor = Actor {
            tenant: p.proposer_tenant_id,
            user: Some(p.proposer_user_id),
            proposal: Some(p.id),
        };
        let alliance = alliance_db::get(&self.db, p.alliance_id)
            .await?
            .ok_or_else(|| Error::Internal(format!("alliance {} is gone", p.alliance_id)))?;
        let made = match self.check_request(&alliance, &spec, "").await {
            Ok(checked) => self.provision(checked, actor).await,
            Err(e) => Err(e),
        };
        if let Err(e) = made {
            tracing::warn!(proposal = %p.id, error = ?e, "an approved chain could not be created");
            alliance_db::event(
                &self.db,
                p.alliance_id,
                "chain_creation_failed",
                (None, None),
                json!({"proposal_id": p.id, "name": spec.name, "reason": e.to_string(),
                    "errors": match &e { Error::Invalid { errors, .. } => json!(errors), _ => json!([]) }}),
                self.clock.now(),
            )
            .await?;
        }
        Ok(())
    }

    /// Carries out approved chain proposals that a stopped server never got to (it stopped
    /// between the deciding vote's commit and the chain's creation or deletion): `create_chain`
    /// proposals whose alliance feed has neither `chain_created` nor `chain_creation_failed`
    /// naming them, and `delete_chain` proposals whose chain still exists. Runs at start,
    /// before requests are served. Returns how many it carried out.
    pub async fn resume_proposals(&self) -> anyhow::Result<usize> {
        let mut n = 0;
        for p in alliance_db::approved_proposals(&self.db, "delete_chain").await? {
            let chain = p.payload["chain_id"]
                .as_str()
                .and_then(|id| Uuid::try_parse(id).ok());
            let Some(chain) = chain else { continue };
            if db::get(&self.db, chain).await?.is_none() {
                continue;
            }
            match self.delete_proposed_chain(&p).await {
                Ok(()) => n += 1,
                Err(e) => {
                    tracing::error!(proposal = %p.id, error = ?e, "could not carry out an approved chain deletion")
                }
            }
        }
        let approved = alliance_db::approved_proposals(&self.db, "create_chain").await?;
        if approved.is_empty() {
            return Ok(n);
        }
        let settled = alliance_db::settled_chain_proposals(&self.db).await?;
        for p in approved {
            if settled.contains(&p.id.to_string()) {
                continue;
            }
            match self.create_proposed_chain(&p).await {
                Ok(()) => n += 1,
                Err(e) => {
                    tracing::error!(proposal = %p.id, error = ?e, "could not carry out an approved chain proposal")
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_labels_are_dns_labels_and_unique() {
        let l = member_labels(&[
            "Org1MSP".into(),
            "org1msp".into(),
            "A.B-C".into(),
            "...".into(),
        ]);
        assert_eq!(l, ["org1msp", "org1msp2", "a-b-c", "org"]);
    }
}
