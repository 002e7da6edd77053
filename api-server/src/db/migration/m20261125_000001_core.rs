//! Tenants, users, identities, memberships, API tokens, audit events, bootstrap marker.

use super::columns::{fk, ts, uuid_pk};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Slug,
    Name,
    Kind,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    DisplayName,
    Kind,
    IsPlatformAdmin,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Identities {
    Table,
    Id,
    UserId,
    Issuer,
    Subject,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    TenantId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    TenantId,
    Name,
    SecretHash,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    Time,
    RequestId,
    ActorUserId,
    ActorTokenId,
    TenantId,
    Action,
    Target,
    Outcome,
    Status,
}

#[derive(DeriveIden)]
enum Bootstrap {
    Table,
    Id,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Tenants::Table)
                .col(uuid_pk(Tenants::Id))
                .col(
                    ColumnDef::new(Tenants::Slug)
                        .string_len(40)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Tenants::Name).string_len(100).not_null())
                .col(ColumnDef::new(Tenants::Kind).string_len(16).not_null())
                .col(ts(Tenants::CreatedAt))
                .col(ts(Tenants::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(uuid_pk(Users::Id))
                .col(
                    ColumnDef::new(Users::Email)
                        .string_len(254)
                        .null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(Users::DisplayName)
                        .string_len(100)
                        .not_null(),
                )
                .col(ColumnDef::new(Users::Kind).string_len(16).not_null())
                .col(
                    ColumnDef::new(Users::IsPlatformAdmin)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(ts(Users::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Identities::Table)
                .col(uuid_pk(Identities::Id))
                .col(ColumnDef::new(Identities::UserId).uuid().not_null())
                .col(
                    ColumnDef::new(Identities::Issuer)
                        .string_len(512)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Identities::Subject)
                        .string_len(255)
                        .not_null(),
                )
                .col(ts(Identities::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_identities_user",
                    (Identities::Table, Identities::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_identities_issuer_subject")
                .table(Identities::Table)
                .col(Identities::Issuer)
                .col(Identities::Subject)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Memberships::Table)
                .col(uuid_pk(Memberships::Id))
                .col(ColumnDef::new(Memberships::TenantId).uuid().not_null())
                .col(ColumnDef::new(Memberships::UserId).uuid().not_null())
                .col(ColumnDef::new(Memberships::Role).string_len(16).not_null())
                .col(ts(Memberships::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_memberships_tenant",
                    (Memberships::Table, Memberships::TenantId),
                    (Tenants::Table, Tenants::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_memberships_user",
                    (Memberships::Table, Memberships::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_memberships_tenant_user")
                .table(Memberships::Table)
                .col(Memberships::TenantId)
                .col(Memberships::UserId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_memberships_user")
                .table(Memberships::Table)
                .col(Memberships::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .col(uuid_pk(ApiTokens::Id))
                .col(ColumnDef::new(ApiTokens::UserId).uuid().not_null())
                .col(ColumnDef::new(ApiTokens::TenantId).uuid().null())
                .col(ColumnDef::new(ApiTokens::Name).string_len(100).not_null())
                .col(
                    ColumnDef::new(ApiTokens::SecretHash)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(ApiTokens::CreatedBy).uuid().not_null())
                .col(ts(ApiTokens::CreatedAt))
                .col(
                    ColumnDef::new(ApiTokens::ExpiresAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(ApiTokens::RevokedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .foreign_key(&mut fk(
                    "fk_api_tokens_user",
                    (ApiTokens::Table, ApiTokens::UserId),
                    (Users::Table, Users::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_api_tokens_tenant",
                    (ApiTokens::Table, ApiTokens::TenantId),
                    (Tenants::Table, Tenants::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_api_tokens_user")
                .table(ApiTokens::Table)
                .col(ApiTokens::UserId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_api_tokens_tenant")
                .table(ApiTokens::Table)
                .col(ApiTokens::TenantId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuditEvents::Table)
                .col(
                    ColumnDef::new(AuditEvents::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ts(AuditEvents::Time))
                .col(
                    ColumnDef::new(AuditEvents::RequestId)
                        .string_len(128)
                        .not_null(),
                )
                .col(ColumnDef::new(AuditEvents::ActorUserId).uuid().null())
                .col(ColumnDef::new(AuditEvents::ActorTokenId).uuid().null())
                .col(ColumnDef::new(AuditEvents::TenantId).uuid().null())
                .col(
                    ColumnDef::new(AuditEvents::Action)
                        .string_len(128)
                        .not_null(),
                )
                .col(ColumnDef::new(AuditEvents::Target).string_len(256).null())
                .col(
                    ColumnDef::new(AuditEvents::Outcome)
                        .string_len(16)
                        .not_null(),
                )
                .col(ColumnDef::new(AuditEvents::Status).integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_events_tenant_id")
                .table(AuditEvents::Table)
                .col(AuditEvents::TenantId)
                .col(AuditEvents::Id)
                .to_owned(),
        )
        .await?;
        // A single-row table: inserting row 1 is how exactly one process bootstraps.
        m.create_table(
            Table::create()
                .table(Bootstrap::Table)
                .col(
                    ColumnDef::new(Bootstrap::Id)
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ts(Bootstrap::CreatedAt))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Bootstrap::Table.into_iden(),
            AuditEvents::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Memberships::Table.into_iden(),
            Identities::Table.into_iden(),
            Users::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
