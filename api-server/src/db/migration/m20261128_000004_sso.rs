//! Single sign-on: pending logins, browser sessions, tenant invitations for people.

use super::columns::{ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum LoginRequests {
    Table,
    Id,
    StateHash,
    BrowserHash,
    Sealed,
    ReturnTo,
    InviteHash,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    SecretHash,
    Method,
    Issuer,
    Subject,
    SealedIdToken,
    UserAgent,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum TenantInvites {
    Table,
    Id,
    TenantId,
    Role,
    Email,
    TokenHash,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    UsedBy,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(LoginRequests::Table)
                .col(
                    ColumnDef::new(LoginRequests::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(LoginRequests::StateHash)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(LoginRequests::BrowserHash)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(LoginRequests::Sealed).text().not_null())
                .col(ColumnDef::new(LoginRequests::ReturnTo).text().not_null())
                .col(
                    ColumnDef::new(LoginRequests::InviteHash)
                        .string_len(64)
                        .null(),
                )
                .col(ts(LoginRequests::CreatedAt))
                .col(ts(LoginRequests::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(ColumnDef::new(Sessions::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Sessions::UserId).uuid().not_null())
                .col(
                    ColumnDef::new(Sessions::SecretHash)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Sessions::Method).string_len(16).not_null())
                .col(ColumnDef::new(Sessions::Issuer).text().null())
                .col(ColumnDef::new(Sessions::Subject).text().null())
                .col(ColumnDef::new(Sessions::SealedIdToken).text().null())
                .col(ColumnDef::new(Sessions::UserAgent).string_len(200).null())
                .col(ts(Sessions::CreatedAt))
                .col(ts(Sessions::LastSeenAt))
                .col(ts(Sessions::ExpiresAt))
                .col(ts_null(Sessions::RevokedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_sessions_user")
                        .from(Sessions::Table, Sessions::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_sessions_user")
                .table(Sessions::Table)
                .col(Sessions::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TenantInvites::Table)
                .col(
                    ColumnDef::new(TenantInvites::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(TenantInvites::TenantId).uuid().not_null())
                .col(
                    ColumnDef::new(TenantInvites::Role)
                        .string_len(16)
                        .not_null(),
                )
                .col(ColumnDef::new(TenantInvites::Email).string_len(254).null())
                .col(
                    ColumnDef::new(TenantInvites::TokenHash)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(TenantInvites::CreatedBy).uuid().not_null())
                .col(ts(TenantInvites::CreatedAt))
                .col(ts(TenantInvites::ExpiresAt))
                .col(ts_null(TenantInvites::UsedAt))
                .col(ColumnDef::new(TenantInvites::UsedBy).uuid().null())
                .col(ts_null(TenantInvites::RevokedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_tenant_invites_tenant")
                        .from(TenantInvites::Table, TenantInvites::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_tenant_invites_tenant")
                .table(TenantInvites::Table)
                .col(TenantInvites::TenantId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            TenantInvites::Table.into_iden(),
            Sessions::Table.into_iden(),
            LoginRequests::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
