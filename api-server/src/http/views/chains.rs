//! A chain as the API shows it: its nodes, what its runtime reports, and its installations.

use crate::app::AppState;
use crate::db::entities::{chain, template_installation};
use crate::http::problem::ApiResult;
use crate::runtime::{NodeReport, Phase};
use crate::service::chains::{Status, Viewer};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// A node of a chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodeView {
    pub name: String,
    /// The member tenant whose node it is.
    pub tenant_id: Uuid,
    pub member: String,
    pub role: String,
    /// Hex ed25519 public key (the genesis names it).
    pub public_key: String,
    #[schema(value_type = String)]
    pub state: crate::runtime::NodeState,
    pub restarts: u32,
    pub height: Option<u64>,
    /// Base URL of the node's REST API: shown to the chain's creating tenant only, because a
    /// node serves every tenant's deposit metadata to whoever reaches it.
    pub endpoint: Option<String>,
}

/// A chain with what its runtime reports.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainView {
    pub id: Uuid,
    pub alliance_id: Uuid,
    pub name: String,
    pub engine: String,
    pub consensus: String,
    pub version: Option<String>,
    /// `local` or `kubernetes`.
    pub runtime: String,
    pub nodes_per_member: u32,
    /// The chain id in its genesis.
    pub chain_id: String,
    /// Hex hash of the genesis: receipts verify against it.
    pub genesis_hash: String,
    #[schema(value_type = String)]
    #[serde(serialize_with = "Phase::serialize_api")]
    pub phase: Phase,
    pub height: Option<u64>,
    pub message: Option<String>,
    pub nodes: Vec<NodeView>,
    /// REST API endpoints of the chain's nodes: for the chain's creating tenant only (empty
    /// for other members), since a node answers reads about every tenant's deposits.
    pub endpoints: Vec<String>,
    /// Marketplace templates installed on the chain.
    pub installations: Vec<InstallationView>,
    /// The member tenant that asked for the chain (directly, or by a `create_chain` proposal).
    pub created_by_tenant_id: Uuid,
    pub created_at: DateTime<Utc>,
}

pub fn view(c: chain::Model, s: Status) -> ChainView {
    let Status {
        nodes,
        report,
        endpoints_shown,
        endpoints,
        installations,
    } = s;
    let find = |name: &str| -> Option<&NodeReport> { report.nodes.iter().find(|n| n.name == name) };
    ChainView {
        id: c.id,
        alliance_id: c.alliance_id,
        name: c.name,
        engine: c.engine,
        consensus: c.consensus,
        version: c.version,
        runtime: c.runtime,
        nodes_per_member: c.nodes_per_member as u32,
        chain_id: c.chain_id,
        genesis_hash: c.genesis_hash,
        phase: report.phase,
        height: report.height,
        message: report.message.clone(),
        nodes: nodes
            .into_iter()
            .map(|n| {
                let r = find(&n.name);
                NodeView {
                    state: r.map_or(crate::runtime::NodeState::Stopped, |r| r.state),
                    restarts: r.map_or(0, |r| r.restarts),
                    height: r.and_then(|r| r.height),
                    endpoint: r
                        .and_then(|r| r.endpoint.clone())
                        .filter(|_| endpoints_shown),
                    name: n.name,
                    tenant_id: n.tenant_id,
                    member: n.member,
                    role: n.role,
                    public_key: n.public_key,
                }
            })
            .collect(),
        endpoints,
        installations: installation_views(installations),
        created_by_tenant_id: c.created_by_tenant,
        created_at: c.created_at,
    }
}

/// A chain's view, with what `viewer` sees of its endpoints.
pub async fn render(state: &AppState, viewer: &Viewer, c: chain::Model) -> ApiResult<ChainView> {
    let s = state.chains.status(viewer, &c).await?;
    Ok(view(c, s))
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
    pub status: crate::domain::templates::InstallStatus,
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

pub fn installation_view(i: template_installation::Model, slug: &str) -> InstallationView {
    InstallationView {
        id: i.id,
        chain_id: i.chain_id,
        template_id: i.template_id,
        slug: slug.to_string(),
        version: i.version,
        tenant_id: i.tenant_id,
        created_by: i.created_by,
        parameters: i.parameters,
        config: i.config,
        status: i.status,
        message: i.message,
        tx_hash: i.tx_hash,
        height: i.height.map(|h| h as u64),
        receipt: i.receipt,
        created_at: i.created_at,
        updated_at: i.updated_at,
    }
}

/// Views of installations with their slugs.
pub fn installation_views(
    rows: Vec<(template_installation::Model, String)>,
) -> Vec<InstallationView> {
    rows.into_iter()
        .map(|(i, slug)| installation_view(i, &slug))
        .collect()
}
