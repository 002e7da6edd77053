//! Chains and their nodes, their sealed key material, tenants' service accounts on them, and
//! evidence deposits with their receipts.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Alliances {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Chains {
    Table,
    Id,
    AllianceId,
    Name,
    ResourceName,
    Engine,
    Consensus,
    Version,
    Runtime,
    NodesPerMember,
    ChainId,
    GenesisHash,
    CreatedByTenant,
    CreatedByUser,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ChainNodes {
    Table,
    Id,
    ChainId,
    Name,
    TenantId,
    Member,
    Role,
    PublicKey,
    P2pPort,
    ApiPort,
}

#[derive(DeriveIden)]
enum ChainMaterials {
    Table,
    ChainId,
    Sealed,
}

#[derive(DeriveIden)]
enum ChainAccounts {
    Table,
    ChainId,
    TenantId,
    Account,
    SealedKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deposits {
    Table,
    Id,
    TenantId,
    HashAlg,
    ContentHash,
    Metadata,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DepositReceipts {
    Table,
    DepositId,
    ChainId,
    TxHash,
    Height,
    CommittedAt,
    Receipt,
}

pub(super) fn uuid(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().to_owned()
}

pub(super) fn text(col: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).not_null().to_owned()
}

pub(super) fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

pub(super) fn cascade(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Chains::Table)
                .col(uuid(Chains::Id).primary_key())
                .col(uuid(Chains::AllianceId))
                .col(text(Chains::Name, 64))
                .col(text(Chains::ResourceName, 63).unique_key())
                .col(text(Chains::Engine, 16))
                .col(text(Chains::Consensus, 16))
                .col(ColumnDef::new(Chains::Version).string_len(64).null())
                .col(text(Chains::Runtime, 16))
                .col(ColumnDef::new(Chains::NodesPerMember).integer().not_null())
                .col(text(Chains::ChainId, 64))
                .col(text(Chains::GenesisHash, 64))
                .col(uuid(Chains::CreatedByTenant))
                .col(ColumnDef::new(Chains::CreatedByUser).uuid().null())
                .col(ts(Chains::CreatedAt))
                .foreign_key(&mut cascade(
                    "fk_chains_alliance",
                    (Chains::Table, Chains::AllianceId),
                    (Alliances::Table, Alliances::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_chains_alliance_name")
                .table(Chains::Table)
                .col(Chains::AllianceId)
                .col(Chains::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ChainNodes::Table)
                .col(uuid(ChainNodes::Id).primary_key())
                .col(uuid(ChainNodes::ChainId))
                .col(text(ChainNodes::Name, 128))
                .col(uuid(ChainNodes::TenantId))
                .col(text(ChainNodes::Member, 64))
                .col(text(ChainNodes::Role, 16))
                .col(text(ChainNodes::PublicKey, 64))
                .col(ColumnDef::new(ChainNodes::P2pPort).integer().not_null())
                .col(ColumnDef::new(ChainNodes::ApiPort).integer().not_null())
                .foreign_key(&mut cascade(
                    "fk_chain_nodes_chain",
                    (ChainNodes::Table, ChainNodes::ChainId),
                    (Chains::Table, Chains::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ChainMaterials::Table)
                .col(uuid(ChainMaterials::ChainId).primary_key())
                .col(ColumnDef::new(ChainMaterials::Sealed).binary().not_null())
                .foreign_key(&mut cascade(
                    "fk_chain_materials_chain",
                    (ChainMaterials::Table, ChainMaterials::ChainId),
                    (Chains::Table, Chains::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ChainAccounts::Table)
                .col(uuid(ChainAccounts::ChainId))
                .col(uuid(ChainAccounts::TenantId))
                .col(text(ChainAccounts::Account, 64))
                .col(ColumnDef::new(ChainAccounts::SealedKey).binary().not_null())
                .col(ts(ChainAccounts::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(ChainAccounts::ChainId)
                        .col(ChainAccounts::TenantId),
                )
                .foreign_key(&mut cascade(
                    "fk_chain_accounts_chain",
                    (ChainAccounts::Table, ChainAccounts::ChainId),
                    (Chains::Table, Chains::Id),
                ))
                .foreign_key(&mut cascade(
                    "fk_chain_accounts_tenant",
                    (ChainAccounts::Table, ChainAccounts::TenantId),
                    (Tenants::Table, Tenants::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Deposits::Table)
                .col(uuid(Deposits::Id).primary_key())
                .col(uuid(Deposits::TenantId))
                .col(text(Deposits::HashAlg, 16))
                .col(text(Deposits::ContentHash, 128))
                .col(ColumnDef::new(Deposits::Metadata).text().not_null())
                .col(ColumnDef::new(Deposits::CreatedBy).uuid().null())
                .col(ts(Deposits::CreatedAt))
                .foreign_key(&mut cascade(
                    "fk_deposits_tenant",
                    (Deposits::Table, Deposits::TenantId),
                    (Tenants::Table, Tenants::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_deposits_tenant_hash")
                .table(Deposits::Table)
                .col(Deposits::TenantId)
                .col(Deposits::ContentHash)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DepositReceipts::Table)
                .col(uuid(DepositReceipts::DepositId))
                .col(uuid(DepositReceipts::ChainId))
                .col(text(DepositReceipts::TxHash, 64))
                .col(
                    ColumnDef::new(DepositReceipts::Height)
                        .big_integer()
                        .not_null(),
                )
                .col(ts(DepositReceipts::CommittedAt))
                .col(ColumnDef::new(DepositReceipts::Receipt).text().not_null())
                .primary_key(
                    Index::create()
                        .col(DepositReceipts::DepositId)
                        .col(DepositReceipts::ChainId),
                )
                .foreign_key(&mut cascade(
                    "fk_deposit_receipts_deposit",
                    (DepositReceipts::Table, DepositReceipts::DepositId),
                    (Deposits::Table, Deposits::Id),
                ))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            DepositReceipts::Table.into_iden(),
            Deposits::Table.into_iden(),
            ChainAccounts::Table.into_iden(),
            ChainMaterials::Table.into_iden(),
            ChainNodes::Table.into_iden(),
            Chains::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
