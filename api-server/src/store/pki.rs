//! The alliance PKI: every alliance has a root CA (controlled by the founding tenant); every
//! member has an organisation CA and a TLS CA under it. CA keys are sealed with the KEK,
//! bound to their row by associated data, and never leave the server.

use crate::db::entities::{ca, certificate};
use crate::domain::pagination::PageRequest;
use crate::domain::pki::CertStatus;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use consortia_pki::seal::Kek;
use consortia_pki::{Ca, KeyAlg, Subject};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

pub const ROOT_DAYS: u32 = 3650;
pub const MEMBER_CA_DAYS: u32 = 1825;

#[derive(Debug, thiserror::Error)]
pub enum PkiStoreError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("{0}")]
    Pki(#[from] consortia_pki::PkiError),
    #[error("sealed key: {0}")]
    Seal(#[from] consortia_pki::seal::SealError),
    #[error("stored CA is corrupt: {0}")]
    Corrupt(String),
}

fn alg_name(a: KeyAlg) -> &'static str {
    match a {
        KeyAlg::EcdsaP256 => "ecdsa_p256",
        KeyAlg::EcdsaP384 => "ecdsa_p384",
        KeyAlg::Ed25519 => "ed25519",
    }
}

fn alg_of(s: &str) -> Result<KeyAlg, PkiStoreError> {
    match s {
        "ecdsa_p256" => Ok(KeyAlg::EcdsaP256),
        "ecdsa_p384" => Ok(KeyAlg::EcdsaP384),
        "ed25519" => Ok(KeyAlg::Ed25519),
        other => Err(PkiStoreError::Corrupt(format!("unknown algorithm {other}"))),
    }
}

/// Associated data a CA key is sealed with: it cannot be moved onto another CA row.
fn ca_aad(id: Uuid) -> Vec<u8> {
    format!("consortia/ca-key/{id}").into_bytes()
}

/// Associated data of a server-managed leaf key.
pub fn cert_aad(id: Uuid) -> Vec<u8> {
    format!("consortia/cert-key/{id}").into_bytes()
}

pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, PkiStoreError> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD
        .decode(body.trim())
        .map_err(|e| PkiStoreError::Corrupt(e.to_string()))
}

/// Unseals and loads a CA for signing.
pub fn load(kek: &Kek, row: &ca::Model) -> Result<Ca, PkiStoreError> {
    let sealed = STANDARD
        .decode(&row.sealed_key)
        .map_err(|e| PkiStoreError::Corrupt(e.to_string()))?;
    let key = kek.open(&sealed, &ca_aad(row.id))?;
    Ok(Ca::load(
        pem_to_der(&row.cert_pem)?,
        key,
        alg_of(&row.alg)?,
    )?)
}

async fn store_ca(
    conn: &impl ConnectionTrait,
    kek: &Kek,
    ca: &Ca,
    meta: (Uuid, Uuid, &str, Option<Uuid>, &str),
    now: DateTime<Utc>,
) -> Result<ca::Model, PkiStoreError> {
    let (alliance, tenant, kind, parent, name) = meta;
    let id = Uuid::now_v7();
    let sealed = kek.seal(ca.key_der(), &ca_aad(id));
    let not_after = DateTime::<Utc>::from_timestamp(ca.not_after.unix_timestamp(), 0)
        .ok_or_else(|| PkiStoreError::Corrupt("CA expiry out of range".into()))?;
    Ok(ca::ActiveModel {
        id: Set(id),
        alliance_id: Set(alliance),
        tenant_id: Set(tenant),
        kind: Set(kind.into()),
        parent_id: Set(parent),
        name: Set(name.chars().take(100).collect()),
        alg: Set(alg_name(ca.alg()).into()),
        cert_pem: Set(ca.cert_pem.clone()),
        sealed_key: Set(STANDARD.encode(sealed)),
        kek_id: Set(kek.id()),
        not_after: Set(not_after),
        crl_number: Set(0),
        created_at: Set(now),
    }
    .insert(conn)
    .await?)
}

/// The root CA of a new alliance, controlled by its founder.
pub async fn create_root(
    conn: &impl ConnectionTrait,
    kek: &Kek,
    alliance: Uuid,
    alliance_name: &str,
    founder: Uuid,
    now: DateTime<Utc>,
) -> Result<ca::Model, PkiStoreError> {
    let name = format!("{alliance_name} Root CA");
    let root = Ca::new_root(
        KeyAlg::EcdsaP256,
        Subject {
            common_name: name.chars().take(64).collect(),
            organization: Some(alliance_name.chars().take(64).collect()),
            organizational_unit: None,
        },
        ROOT_DAYS,
    )?;
    store_ca(
        conn,
        kek,
        &root,
        (alliance, founder, "root", None, &name),
        now,
    )
    .await
}

/// A member's organisation CA and TLS CA, under the alliance root.
pub async fn create_member_cas(
    conn: &impl ConnectionTrait,
    kek: &Kek,
    alliance: Uuid,
    tenant: Uuid,
    org_name: &str,
    org_id: &str,
    now: DateTime<Utc>,
) -> Result<(), PkiStoreError> {
    let root_row = ca::Entity::find()
        .filter(ca::Column::AllianceId.eq(alliance))
        .filter(ca::Column::Kind.eq("root"))
        .one(conn)
        .await?
        .ok_or_else(|| PkiStoreError::Corrupt("alliance has no root CA".into()))?;
    let root = load(kek, &root_row)?;
    for (kind, cn) in [
        ("org", format!("{org_id} CA")),
        ("tls", format!("{org_id} TLS CA")),
    ] {
        let c = root.new_intermediate(
            KeyAlg::EcdsaP256,
            Subject {
                common_name: cn.chars().take(64).collect(),
                organization: Some(org_name.chars().take(64).collect()),
                organizational_unit: None,
            },
            MEMBER_CA_DAYS,
            0,
        )?;
        store_ca(
            conn,
            kek,
            &c,
            (alliance, tenant, kind, Some(root_row.id), &cn),
            now,
        )
        .await?;
    }
    Ok(())
}

pub async fn cas_of(conn: &impl ConnectionTrait, alliance: Uuid) -> Result<Vec<ca::Model>, DbErr> {
    ca::Entity::find()
        .filter(ca::Column::AllianceId.eq(alliance))
        .order_by_asc(ca::Column::Id)
        .all(conn)
        .await
}

pub async fn ca(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<ca::Model>, DbErr> {
    ca::Entity::find_by_id(id).one(conn).await
}

pub async fn certificate(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<certificate::Model>, DbErr> {
    certificate::Entity::find_by_id(id).one(conn).await
}

/// The chain of a CA, itself first, up to the root.
pub async fn chain(conn: &impl ConnectionTrait, row: &ca::Model) -> Result<Vec<ca::Model>, DbErr> {
    let mut out = vec![row.clone()];
    let mut parent = row.parent_id;
    while let Some(p) = parent {
        let Some(r) = ca::Entity::find_by_id(p).one(conn).await? else {
            break;
        };
        parent = r.parent_id;
        out.push(r);
    }
    Ok(out)
}

/// Revoked certificates of a CA, for its CRL.
/// How many certificates a CA revoked (revocation is final: the count changes with the list).
pub async fn revoked_count(conn: &impl ConnectionTrait, ca: Uuid) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    certificate::Entity::find()
        .filter(certificate::Column::CaId.eq(ca))
        .filter(certificate::Column::Status.eq(CertStatus::Revoked))
        .count(conn)
        .await
}

pub async fn revoked(
    conn: &impl ConnectionTrait,
    ca: Uuid,
) -> Result<Vec<certificate::Model>, DbErr> {
    certificate::Entity::find()
        .filter(certificate::Column::CaId.eq(ca))
        .filter(certificate::Column::Status.eq(CertStatus::Revoked))
        .all(conn)
        .await
}

/// Re-seals every CA key and every server-managed identity key from `old` to `new`, in one
/// transaction: either all keys move or none. Returns (CA keys, other keys: managed
/// identities, chains' key material, tenants' chain accounts) re-sealed.
pub async fn rewrap(
    db: &sea_orm::DatabaseConnection,
    old: &Kek,
    new: &Kek,
) -> Result<(usize, usize), PkiStoreError> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await?;
    let mut n_cas = 0;
    for row in ca::Entity::find().all(&txn).await? {
        let blob = STANDARD
            .decode(&row.sealed_key)
            .map_err(|e| PkiStoreError::Corrupt(e.to_string()))?;
        let moved = new.rewrap(old, &blob, &ca_aad(row.id))?;
        let mut am: ca::ActiveModel = row.into();
        am.sealed_key = Set(STANDARD.encode(moved));
        am.kek_id = Set(new.id());
        am.update(&txn).await?;
        n_cas += 1;
    }
    let mut n_certs = 0;
    for row in certificate::Entity::find()
        .filter(certificate::Column::SealedKey.is_not_null())
        .all(&txn)
        .await?
    {
        let blob = STANDARD
            .decode(row.sealed_key.as_deref().unwrap_or_default())
            .map_err(|e| PkiStoreError::Corrupt(e.to_string()))?;
        let moved = new.rewrap(old, &blob, &cert_aad(row.id))?;
        let mut am: certificate::ActiveModel = row.into();
        am.sealed_key = Set(Some(STANDARD.encode(moved)));
        am.update(&txn).await?;
        n_certs += 1;
    }
    // Chains' keys and tenants' service-account keys move in the same transaction.
    use crate::db::entities::{chain_account, chain_material};
    for row in chain_material::Entity::find().all(&txn).await? {
        let moved = new.rewrap(old, &row.sealed, row.chain_id.as_bytes())?;
        let mut am: chain_material::ActiveModel = row.into();
        am.sealed = Set(moved);
        am.update(&txn).await?;
        n_certs += 1;
    }
    for row in chain_account::Entity::find().all(&txn).await? {
        let aad = [
            row.chain_id.as_bytes().as_slice(),
            row.tenant_id.as_bytes().as_slice(),
        ]
        .concat();
        let moved = new.rewrap(old, &row.sealed_key, &aad)?;
        let mut am: chain_account::ActiveModel = row.into();
        am.sealed_key = Set(moved);
        am.update(&txn).await?;
        n_certs += 1;
    }
    txn.commit().await?;
    Ok((n_cas, n_certs))
}

/// Takes the number of a CA's next CRL: one greater than any it issued (or announced) before,
/// also when several servers sign at once (the increment is one atomic statement).
pub async fn next_crl_number(db: &sea_orm::DatabaseConnection, ca_id: Uuid) -> Result<u64, DbErr> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await?;
    ca::Entity::update_many()
        .col_expr(
            ca::Column::CrlNumber,
            sea_orm::sea_query::ExprTrait::add(
                sea_orm::sea_query::Expr::col(ca::Column::CrlNumber),
                1,
            ),
        )
        .filter(ca::Column::Id.eq(ca_id))
        .exec(&txn)
        .await?;
    let number = ca::Entity::find_by_id(ca_id)
        .one(&txn)
        .await?
        .map(|c| c.crl_number)
        .ok_or_else(|| DbErr::RecordNotFound(format!("CA {ca_id}")))?;
    txn.commit().await?;
    // Numbers up to `crl_number + 1` were served before CRLs were numbered on issue.
    Ok(number as u64 + 1)
}

/// Inserts a certificate.
pub async fn insert_certificate(
    conn: &impl ConnectionTrait,
    row: certificate::Model,
) -> Result<certificate::Model, DbErr> {
    certificate::ActiveModel::from(row).insert(conn).await
}

/// Every valid certificate.
pub async fn valid_certificates(
    conn: &impl ConnectionTrait,
) -> Result<Vec<certificate::Model>, DbErr> {
    certificate::Entity::find()
        .filter(certificate::Column::Status.eq(CertStatus::Valid))
        .all(conn)
        .await
}

/// Valid certificates whose key the server keeps, expiring by `before`.
pub async fn managed_expiring(
    conn: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<Vec<certificate::Model>, DbErr> {
    certificate::Entity::find()
        .filter(certificate::Column::Status.eq(CertStatus::Valid))
        .filter(certificate::Column::SealedKey.is_not_null())
        .filter(certificate::Column::NotAfter.lte(before))
        .all(conn)
        .await
}

/// The certificate that renewed `id`, if any.
pub async fn successor(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<certificate::Model>, DbErr> {
    certificate::Entity::find()
        .filter(certificate::Column::RenewedFrom.eq(id))
        .one(conn)
        .await
}

/// A member's TLS CA in an alliance.
pub async fn tls_ca(
    conn: &impl ConnectionTrait,
    alliance: Uuid,
    tenant: Uuid,
) -> Result<Option<ca::Model>, DbErr> {
    ca::Entity::find()
        .filter(ca::Column::AllianceId.eq(alliance))
        .filter(ca::Column::TenantId.eq(tenant))
        .filter(ca::Column::Kind.eq("tls"))
        .one(conn)
        .await
}

/// Which certificates of an alliance a list shows.
#[derive(Debug, Default)]
pub struct CertFilter<'a> {
    /// Only this CA's.
    pub ca: Option<Uuid>,
    /// `valid` or `revoked`.
    pub status: Option<&'a str>,
    /// Only this profile.
    pub profile: Option<&'a str>,
    /// Only those expiring by then.
    pub expiring_by: Option<DateTime<Utc>>,
}

/// A page of an alliance's certificates, by id.
pub async fn certificates(
    conn: &impl ConnectionTrait,
    alliance: Uuid,
    f: &CertFilter<'_>,
    page: &PageRequest,
) -> Result<Vec<certificate::Model>, DbErr> {
    let mut q = certificate::Entity::find().filter(certificate::Column::AllianceId.eq(alliance));
    if let Some(ca) = f.ca {
        q = q.filter(certificate::Column::CaId.eq(ca));
    }
    if let Some(s) = f.status {
        q = q.filter(certificate::Column::Status.eq(s));
    }
    if let Some(p) = f.profile {
        q = q.filter(certificate::Column::Profile.eq(p));
    }
    if let Some(by) = f.expiring_by {
        q = q.filter(certificate::Column::NotAfter.lte(by));
    }
    if let Some(after) = page.after.as_deref().and_then(|a| Uuid::try_parse(a).ok()) {
        q = q.filter(certificate::Column::Id.gt(after));
    }
    q.order_by_asc(certificate::Column::Id)
        .limit(page.fetch())
        .all(conn)
        .await
}

/// Revokes a valid certificate and moves its CA's CRL number on; false when it was not
/// valid (already revoked, or revoked meanwhile).
pub async fn revoke(
    conn: &impl ConnectionTrait,
    cert: &certificate::Model,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let r = certificate::Entity::update_many()
        .col_expr(
            certificate::Column::Status,
            sea_orm::sea_query::Expr::value(CertStatus::Revoked.as_str()),
        )
        .col_expr(
            certificate::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .col_expr(
            certificate::Column::Reason,
            sea_orm::sea_query::Expr::value(reason),
        )
        .filter(certificate::Column::Id.eq(cert.id))
        .filter(certificate::Column::Status.eq(CertStatus::Valid))
        .exec(conn)
        .await?;
    if r.rows_affected == 0 {
        return Ok(false);
    }
    ca::Entity::update_many()
        .col_expr(
            ca::Column::CrlNumber,
            sea_orm::sea_query::ExprTrait::add(
                sea_orm::sea_query::Expr::col(ca::Column::CrlNumber),
                1,
            ),
        )
        .filter(ca::Column::Id.eq(cert.ca_id))
        .exec(conn)
        .await?;
    Ok(true)
}

impl From<PkiStoreError> for crate::domain::error::Error {
    fn from(e: PkiStoreError) -> Self {
        match e {
            PkiStoreError::Db(d) => d.into(),
            other => crate::domain::error::Error::Internal(other.to_string()),
        }
    }
}
