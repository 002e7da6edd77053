//! Alliances, their members, governance proposals and votes, invitations, event feed.

use super::columns::{fk, int, string, ts, ts_null, uuid, uuid_pk};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Alliances {
    Table,
    Id,
    Name,
    Description,
    Status,
    ThresholdPercentage,
    Comparator,
    ProposalDurationHours,
    FounderTenantId,
    CreatedAt,
    UpdatedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum AllianceMembers {
    Table,
    Id,
    AllianceId,
    TenantId,
    OrgName,
    OrgId,
    JoinedAt,
}

#[derive(DeriveIden)]
enum Proposals {
    Table,
    Id,
    AllianceId,
    Kind,
    Payload,
    Description,
    Status,
    ProposerTenantId,
    ProposerUserId,
    Eligible,
    ThresholdPercentage,
    Comparator,
    YesCount,
    NoCount,
    Version,
    CreatedAt,
    ExpiresAt,
    DecidedAt,
}

#[derive(DeriveIden)]
enum Votes {
    Table,
    Id,
    ProposalId,
    TenantId,
    UserId,
    Approve,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    AllianceId,
    ProposalId,
    TenantId,
    Status,
    CreatedAt,
    ExpiresAt,
    RespondedAt,
    RespondedBy,
}

#[derive(DeriveIden)]
enum AllianceEvents {
    Table,
    Id,
    AllianceId,
    Kind,
    ActorTenantId,
    ActorUserId,
    Data,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alliances::Table)
                .col(uuid_pk(Alliances::Id))
                .col(string(Alliances::Name, 100))
                .col(string(Alliances::Description, 2000))
                .col(string(Alliances::Status, 16))
                .col(int(Alliances::ThresholdPercentage))
                .col(string(Alliances::Comparator, 32))
                .col(int(Alliances::ProposalDurationHours))
                .col(uuid(Alliances::FounderTenantId))
                .col(ts(Alliances::CreatedAt))
                .col(ts(Alliances::UpdatedAt))
                .col(ts_null(Alliances::ClosedAt))
                .foreign_key(&mut fk(
                    "fk_alliances_founder",
                    (Alliances::Table, Alliances::FounderTenantId),
                    (Tenants::Table, Tenants::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AllianceMembers::Table)
                .col(uuid_pk(AllianceMembers::Id))
                .col(uuid(AllianceMembers::AllianceId))
                .col(uuid(AllianceMembers::TenantId))
                .col(string(AllianceMembers::OrgName, 100))
                .col(string(AllianceMembers::OrgId, 64))
                .col(ts(AllianceMembers::JoinedAt))
                .foreign_key(&mut fk(
                    "fk_alliance_members_alliance",
                    (AllianceMembers::Table, AllianceMembers::AllianceId),
                    (Alliances::Table, Alliances::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_alliance_members_tenant",
                    (AllianceMembers::Table, AllianceMembers::TenantId),
                    (Tenants::Table, Tenants::Id),
                ))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ux_alliance_members_tenant", AllianceMembers::TenantId),
            ("ux_alliance_members_org", AllianceMembers::OrgId),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(AllianceMembers::Table)
                    .col(AllianceMembers::AllianceId)
                    .col(col)
                    .unique()
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(Proposals::Table)
                .col(uuid_pk(Proposals::Id))
                .col(uuid(Proposals::AllianceId))
                .col(string(Proposals::Kind, 32))
                .col(ColumnDef::new(Proposals::Payload).text().not_null())
                .col(string(Proposals::Description, 2000))
                .col(string(Proposals::Status, 16))
                .col(uuid(Proposals::ProposerTenantId))
                .col(uuid(Proposals::ProposerUserId))
                .col(ColumnDef::new(Proposals::Eligible).text().not_null())
                .col(int(Proposals::ThresholdPercentage))
                .col(string(Proposals::Comparator, 32))
                .col(int(Proposals::YesCount))
                .col(int(Proposals::NoCount))
                .col(int(Proposals::Version))
                .col(ts(Proposals::CreatedAt))
                .col(ts(Proposals::ExpiresAt))
                .col(ts_null(Proposals::DecidedAt))
                .foreign_key(&mut fk(
                    "fk_proposals_alliance",
                    (Proposals::Table, Proposals::AllianceId),
                    (Alliances::Table, Alliances::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_proposals_alliance")
                .table(Proposals::Table)
                .col(Proposals::AllianceId)
                .col(Proposals::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Votes::Table)
                .col(uuid_pk(Votes::Id))
                .col(uuid(Votes::ProposalId))
                .col(uuid(Votes::TenantId))
                .col(uuid(Votes::UserId))
                .col(ColumnDef::new(Votes::Approve).boolean().not_null())
                .col(ts(Votes::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_votes_proposal",
                    (Votes::Table, Votes::ProposalId),
                    (Proposals::Table, Proposals::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_votes_once")
                .table(Votes::Table)
                .col(Votes::ProposalId)
                .col(Votes::TenantId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Invitations::Table)
                .col(uuid_pk(Invitations::Id))
                .col(uuid(Invitations::AllianceId))
                .col(uuid(Invitations::ProposalId))
                .col(uuid(Invitations::TenantId))
                .col(string(Invitations::Status, 16))
                .col(ts(Invitations::CreatedAt))
                .col(ts(Invitations::ExpiresAt))
                .col(ts_null(Invitations::RespondedAt))
                .col(ColumnDef::new(Invitations::RespondedBy).uuid().null())
                .foreign_key(&mut fk(
                    "fk_invitations_alliance",
                    (Invitations::Table, Invitations::AllianceId),
                    (Alliances::Table, Alliances::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_invitations_tenant",
                    (Invitations::Table, Invitations::TenantId),
                    (Tenants::Table, Tenants::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_invitations_tenant")
                .table(Invitations::Table)
                .col(Invitations::TenantId)
                .col(Invitations::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AllianceEvents::Table)
                .col(uuid_pk(AllianceEvents::Id))
                .col(uuid(AllianceEvents::AllianceId))
                .col(string(AllianceEvents::Kind, 48))
                .col(ColumnDef::new(AllianceEvents::ActorTenantId).uuid().null())
                .col(ColumnDef::new(AllianceEvents::ActorUserId).uuid().null())
                .col(ColumnDef::new(AllianceEvents::Data).text().not_null())
                .col(ts(AllianceEvents::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_alliance_events_alliance",
                    (AllianceEvents::Table, AllianceEvents::AllianceId),
                    (Alliances::Table, Alliances::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_alliance_events_alliance")
                .table(AllianceEvents::Table)
                .col(AllianceEvents::AllianceId)
                .col(AllianceEvents::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AllianceEvents::Table.into_iden(),
            Invitations::Table.into_iden(),
            Votes::Table.into_iden(),
            Proposals::Table.into_iden(),
            AllianceMembers::Table.into_iden(),
            Alliances::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
