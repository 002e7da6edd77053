//! Chain rows: chains, their nodes, sealed key material and tenants' service accounts;
//! evidence deposits and their receipts.

use std::collections::{BTreeMap, HashMap};

use crate::db::entities::{
    alliance_event, chain, chain_account, chain_block, chain_material, chain_node, deposit,
    deposit_receipt, template_installation,
};
use crate::domain::chains::{ChainPlan, NodePlan};
use crate::domain::pagination::PageRequest;
use chrono::{DateTime, Utc};
use consortia_crds::Engine;
use consortia_pki::seal::Kek;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<chain::Model>, DbErr> {
    chain::Entity::find_by_id(id).one(db).await
}

/// A page of an alliance's chains, oldest first.
pub async fn in_alliance(
    db: &impl ConnectionTrait,
    alliance: Uuid,
    page: &PageRequest,
) -> Result<Vec<chain::Model>, DbErr> {
    let q = chain::Entity::find().filter(chain::Column::AllianceId.eq(alliance));
    super::page_by_id(q, chain::Column::Id, page).all(db).await
}

/// A page of the chains of alliances any of `tenants` belongs to (every chain for `None`),
/// oldest first.
pub async fn of_tenants(
    db: &impl ConnectionTrait,
    tenants: Option<&[Uuid]>,
    page: &PageRequest,
) -> Result<Vec<chain::Model>, DbErr> {
    let mut q = chain::Entity::find();
    if let Some(tenants) = tenants {
        let alliances = sea_orm::QueryTrait::into_query(super::alliances::of_tenants(tenants));
        q = q.filter(chain::Column::AllianceId.in_subquery(alliances));
    }
    super::page_by_id(q, chain::Column::Id, page).all(db).await
}

/// Every chain, for the live feed's phase and height watch.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<chain::Model>, DbErr> {
    chain::Entity::find().all(db).await
}

pub async fn all_on(db: &impl ConnectionTrait, runtime: &str) -> Result<Vec<chain::Model>, DbErr> {
    chain::Entity::find()
        .filter(chain::Column::Runtime.eq(runtime))
        .all(db)
        .await
}

pub async fn by_name(
    db: &impl ConnectionTrait,
    alliance: Uuid,
    name: &str,
) -> Result<Option<chain::Model>, DbErr> {
    chain::Entity::find()
        .filter(chain::Column::AllianceId.eq(alliance))
        .filter(chain::Column::Name.eq(name))
        .one(db)
        .await
}

/// Every port recorded for a node (of any chain).
pub async fn recorded_ports(
    db: &impl ConnectionTrait,
) -> Result<std::collections::HashSet<u16>, DbErr> {
    use sea_orm::QuerySelect;
    let rows: Vec<(i32, i32)> = chain_node::Entity::find()
        .select_only()
        .column(chain_node::Column::P2pPort)
        .column(chain_node::Column::ApiPort)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .flat_map(|(a, b)| [a, b])
        .filter_map(|p| u16::try_from(p).ok())
        .collect())
}

pub async fn nodes(
    db: &impl ConnectionTrait,
    chain: Uuid,
) -> Result<Vec<chain_node::Model>, DbErr> {
    chain_node::Entity::find()
        .filter(chain_node::Column::ChainId.eq(chain))
        .order_by_asc(chain_node::Column::Name)
        .all(db)
        .await
}

pub async fn insert(
    db: &impl ConnectionTrait,
    c: chain::Model,
    nodes: Vec<chain_node::Model>,
    sealed: Vec<u8>,
) -> Result<(), DbErr> {
    let id = c.id;
    chain::ActiveModel::from(c).insert(db).await?;
    for n in nodes {
        chain_node::ActiveModel::from(n).insert(db).await?;
    }
    chain_material::ActiveModel {
        chain_id: Set(id),
        sealed: Set(sealed),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Why a chain is shared beyond its creating tenant, one reason per line of evidence: the
/// alliance voted it into being, other tenants hold service accounts on it (they deposited),
/// or other tenants installed templates on it. Empty: the creator alone uses it.
pub async fn shared_by(db: &impl ConnectionTrait, c: &chain::Model) -> Result<Vec<String>, DbErr> {
    let mut why = Vec::new();
    let voted = alliance_event::Entity::find()
        .filter(alliance_event::Column::AllianceId.eq(c.alliance_id))
        .filter(alliance_event::Column::Kind.eq("chain_created"))
        .all(db)
        .await?
        .into_iter()
        .map(|e| e.data)
        .any(|d| d["chain_id"] == c.id.to_string() && !d["proposal_id"].is_null());
    if voted {
        why.push("the alliance voted it into being".to_string());
    }
    let depositors = chain_account::Entity::find()
        .filter(chain_account::Column::ChainId.eq(c.id))
        .filter(chain_account::Column::TenantId.ne(c.created_by_tenant))
        .count(db)
        .await?;
    if depositors > 0 {
        why.push(format!("{depositors} other member(s) deposited on it"));
    }
    let installers = template_installation::Entity::find()
        .filter(template_installation::Column::ChainId.eq(c.id))
        .filter(template_installation::Column::TenantId.ne(c.created_by_tenant))
        .count(db)
        .await?;
    if installers > 0 {
        why.push(format!("{installers} installation(s) by other members"));
    }
    Ok(why)
}

/// Deletes a chain with its nodes, material and accounts (receipts of deposits stay: they
/// verify offline without the chain).
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    chain_account::Entity::delete_many()
        .filter(chain_account::Column::ChainId.eq(id))
        .exec(db)
        .await?;
    chain_material::Entity::delete_by_id(id).exec(db).await?;
    chain_node::Entity::delete_many()
        .filter(chain_node::Column::ChainId.eq(id))
        .exec(db)
        .await?;
    chain::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Seals the material files (all JSON text) under the KEK, bound to the chain id.
pub fn seal_material(kek: &Kek, chain: Uuid, files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let text: BTreeMap<&str, &str> = files
        .iter()
        .map(|(k, v)| {
            (
                k.as_str(),
                std::str::from_utf8(v).expect("material files are JSON text"),
            )
        })
        .collect();
    kek.seal(
        &serde_json::to_vec(&text).expect("strings serialise"),
        chain.as_bytes(),
    )
}

/// The material of a chain, unsealed.
pub async fn material(
    db: &impl ConnectionTrait,
    kek: &Kek,
    chain: Uuid,
) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let row = chain_material::Entity::find_by_id(chain)
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("chain {chain} has no key material"))?;
    let plain = kek
        .open(&row.sealed, chain.as_bytes())
        .map_err(|e| anyhow::anyhow!("unsealing the keys of chain {chain}: {e}"))?;
    let text: BTreeMap<String, String> = serde_json::from_slice(&plain)?;
    Ok(text.into_iter().map(|(k, v)| (k, v.into_bytes())).collect())
}

/// The plan a runtime needs to run (or adopt) a recorded chain.
pub async fn chain_plan(
    db: &impl ConnectionTrait,
    kek: &Kek,
    c: &chain::Model,
) -> anyhow::Result<ChainPlan> {
    let nodes = nodes(db, c.id).await?;
    chain_plan_of(c, &nodes, material(db, kek, c.id).await?)
}

/// A chain's plan from its rows and unsealed material.
pub fn chain_plan_of(
    c: &chain::Model,
    nodes: &[chain_node::Model],
    material: BTreeMap<String, Vec<u8>>,
) -> anyhow::Result<ChainPlan> {
    Ok(ChainPlan {
        id: c.id,
        name: c.resource_name.clone(),
        engine: Engine::parse(&c.engine)
            .ok_or_else(|| anyhow::anyhow!("unknown engine {}", c.engine))?,
        version: c.version.clone(),
        consensus: c.consensus.clone(),
        material,
        nodes: nodes
            .iter()
            .map(|n| NodePlan {
                name: n.name.clone(),
                member: n.member.clone(),
                p2p_port: n.p2p_port as u16,
                api_port: n.api_port as u16,
            })
            .collect(),
    })
}

/// Associated data a service account key is sealed with: it cannot move to another
/// (chain, tenant) row.
pub fn account_aad(chain: Uuid, tenant: Uuid) -> Vec<u8> {
    [chain.as_bytes().as_slice(), tenant.as_bytes().as_slice()].concat()
}

pub async fn account(
    db: &impl ConnectionTrait,
    chain: Uuid,
    tenant: Uuid,
) -> Result<Option<chain_account::Model>, DbErr> {
    chain_account::Entity::find_by_id((chain, tenant))
        .one(db)
        .await
}

pub async fn insert_account(
    db: &impl ConnectionTrait,
    a: chain_account::Model,
) -> Result<(), DbErr> {
    chain_account::ActiveModel::from(a).insert(db).await?;
    Ok(())
}

/// Stores deposits with their receipts, many rows per statement, and the seals of the blocks
/// that hold them (a block already stored is left as it is).
pub async fn insert_deposits(
    db: &impl ConnectionTrait,
    rows: Vec<(deposit::Model, Vec<deposit_receipt::Model>)>,
    blocks: Vec<chain_block::Model>,
) -> Result<(), DbErr> {
    // Well under SQLite's limit of bound parameters per statement.
    const CHUNK: usize = 500;
    for chunk in blocks.chunks(CHUNK) {
        chain_block::Entity::insert_many(chunk.iter().cloned().map(chain_block::ActiveModel::from))
            .on_conflict(
                OnConflict::columns([chain_block::Column::ChainId, chain_block::Column::Height])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    let (deposits, receipts): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
    for chunk in deposits.chunks(CHUNK) {
        deposit::Entity::insert_many(chunk.iter().cloned().map(deposit::ActiveModel::from))
            .exec(db)
            .await?;
    }
    let receipts: Vec<deposit_receipt::Model> = receipts.into_iter().flatten().collect();
    for chunk in receipts.chunks(CHUNK) {
        deposit_receipt::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(deposit_receipt::ActiveModel::from),
        )
        .exec(db)
        .await?;
    }
    Ok(())
}

/// The seals (JSON) of these blocks, by (chain, height).
pub async fn seals(
    db: &impl ConnectionTrait,
    blocks: &[(Uuid, i64)],
) -> Result<HashMap<(Uuid, i64), String>, DbErr> {
    let mut out = HashMap::new();
    let mut by_chain: BTreeMap<Uuid, Vec<i64>> = BTreeMap::new();
    for (c, h) in blocks {
        by_chain.entry(*c).or_default().push(*h);
    }
    for (chain, heights) in by_chain {
        for chunk in heights.chunks(500) {
            for b in chain_block::Entity::find()
                .filter(chain_block::Column::ChainId.eq(chain))
                .filter(chain_block::Column::Height.is_in(chunk.to_vec()))
                .all(db)
                .await?
            {
                out.insert((b.chain_id, b.height), b.seal);
            }
        }
    }
    Ok(out)
}

pub async fn deposit(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<deposit::Model>, DbErr> {
    deposit::Entity::find_by_id(id).one(db).await
}

pub async fn receipts(
    db: &impl ConnectionTrait,
    deposit: Uuid,
) -> Result<Vec<deposit_receipt::Model>, DbErr> {
    deposit_receipt::Entity::find()
        .filter(deposit_receipt::Column::DepositId.eq(deposit))
        .order_by_asc(deposit_receipt::Column::ChainId)
        .all(db)
        .await
}

/// The receipts of these deposits, by deposit then chain.
pub async fn receipts_of(
    db: &impl ConnectionTrait,
    deposits: &[Uuid],
) -> Result<Vec<deposit_receipt::Model>, DbErr> {
    if deposits.is_empty() {
        return Ok(Vec::new());
    }
    deposit_receipt::Entity::find()
        .filter(deposit_receipt::Column::DepositId.is_in(deposits.iter().copied()))
        .order_by_asc(deposit_receipt::Column::DepositId)
        .order_by_asc(deposit_receipt::Column::ChainId)
        .all(db)
        .await
}

/// What a listing of deposits is narrowed to.
#[derive(Debug, Default)]
pub struct DepositFilter {
    /// Deposited by one of these tenants.
    pub tenants: Vec<Uuid>,
    /// With a receipt on this chain.
    pub chain: Option<Uuid>,
    /// Deposited at or after.
    pub since: Option<DateTime<Utc>>,
    /// Deposited before.
    pub until: Option<DateTime<Utc>>,
}

/// A page of deposits matching `f`, newest first.
pub async fn deposits(
    db: &impl ConnectionTrait,
    f: &DepositFilter,
    page: &PageRequest,
) -> Result<Vec<deposit::Model>, DbErr> {
    let mut q = deposit::Entity::find().filter(deposit::Column::TenantId.is_in(f.tenants.clone()));
    if let Some(c) = f.chain {
        let on_chain = deposit_receipt::Entity::find()
            .select_only()
            .column(deposit_receipt::Column::DepositId)
            .filter(deposit_receipt::Column::ChainId.eq(c));
        q = q.filter(deposit::Column::Id.in_subquery(sea_orm::QueryTrait::into_query(on_chain)));
    }
    if let Some(t) = f.since {
        q = q.filter(deposit::Column::CreatedAt.gte(t));
    }
    if let Some(t) = f.until {
        q = q.filter(deposit::Column::CreatedAt.lt(t));
    }
    super::page_by_id_desc(q, deposit::Column::Id, page)
        .all(db)
        .await
}

/// A page of the deposits of a content hash by these tenants, oldest first.
pub async fn deposits_of_hash(
    db: &impl ConnectionTrait,
    tenants: &[Uuid],
    content_hash: &str,
    page: &PageRequest,
) -> Result<Vec<deposit::Model>, DbErr> {
    let q = deposit::Entity::find()
        .filter(deposit::Column::TenantId.is_in(tenants.to_vec()))
        .filter(deposit::Column::ContentHash.eq(content_hash));
    super::page_by_id(q, deposit::Column::Id, page)
        .all(db)
        .await
}
