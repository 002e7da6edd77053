//! Certificate authorities and certificates.

use super::columns::ts;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Alliances {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Cas {
    Table,
    Id,
    AllianceId,
    TenantId,
    Kind,
    ParentId,
    Name,
    Alg,
    CertPem,
    SealedKey,
    KekId,
    NotAfter,
    CrlNumber,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    Id,
    CaId,
    AllianceId,
    TenantId,
    Serial,
    Profile,
    CommonName,
    Sans,
    CertPem,
    NotBefore,
    NotAfter,
    Status,
    RevokedAt,
    Reason,
    SealedKey,
    RenewedFrom,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Cas::Table)
                .col(ColumnDef::new(Cas::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Cas::AllianceId).uuid().not_null())
                .col(ColumnDef::new(Cas::TenantId).uuid().not_null())
                .col(ColumnDef::new(Cas::Kind).string_len(16).not_null())
                .col(ColumnDef::new(Cas::ParentId).uuid().null())
                .col(ColumnDef::new(Cas::Name).string_len(100).not_null())
                .col(ColumnDef::new(Cas::Alg).string_len(16).not_null())
                .col(ColumnDef::new(Cas::CertPem).text().not_null())
                .col(ColumnDef::new(Cas::SealedKey).text().not_null())
                .col(ColumnDef::new(Cas::KekId).string_len(16).not_null())
                .col(ts(Cas::NotAfter))
                .col(ColumnDef::new(Cas::CrlNumber).big_integer().not_null())
                .col(ts(Cas::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_cas_alliance")
                        .from(Cas::Table, Cas::AllianceId)
                        .to(Alliances::Table, Alliances::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_cas_alliance")
                .table(Cas::Table)
                .col(Cas::AllianceId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Certificates::Table)
                .col(
                    ColumnDef::new(Certificates::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Certificates::CaId).uuid().not_null())
                .col(ColumnDef::new(Certificates::AllianceId).uuid().not_null())
                .col(ColumnDef::new(Certificates::TenantId).uuid().not_null())
                .col(
                    ColumnDef::new(Certificates::Serial)
                        .string_len(40)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Certificates::Profile)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Certificates::CommonName)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(Certificates::Sans).text().not_null())
                .col(ColumnDef::new(Certificates::CertPem).text().not_null())
                .col(ts(Certificates::NotBefore))
                .col(ts(Certificates::NotAfter))
                .col(
                    ColumnDef::new(Certificates::Status)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Certificates::RevokedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(ColumnDef::new(Certificates::Reason).string_len(32).null())
                .col(ColumnDef::new(Certificates::SealedKey).text().null())
                .col(ColumnDef::new(Certificates::RenewedFrom).uuid().null())
                .col(ColumnDef::new(Certificates::CreatedBy).uuid().not_null())
                .col(ts(Certificates::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_certificates_ca")
                        .from(Certificates::Table, Certificates::CaId)
                        .to(Cas::Table, Cas::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_certificates_serial")
                .table(Certificates::Table)
                .col(Certificates::CaId)
                .col(Certificates::Serial)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_certificates_expiry")
                .table(Certificates::Table)
                .col(Certificates::AllianceId)
                .col(Certificates::NotAfter)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Certificates::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Cas::Table).to_owned())
            .await
    }
}
