//! Marketplace templates installed on chains.

use super::m20261128_000006_chains::{cascade, text, ts, uuid};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Chains {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Templates {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum TemplateInstallations {
    Table,
    Id,
    ChainId,
    TemplateId,
    TemplateVersionId,
    Version,
    TenantId,
    Parameters,
    Config,
    Status,
    Message,
    TxHash,
    Height,
    Receipt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(TemplateInstallations::Table)
                .col(uuid(TemplateInstallations::Id).primary_key())
                .col(uuid(TemplateInstallations::ChainId))
                .col(uuid(TemplateInstallations::TemplateId))
                .col(uuid(TemplateInstallations::TemplateVersionId))
                .col(text(TemplateInstallations::Version, 64))
                .col(uuid(TemplateInstallations::TenantId))
                .col(
                    ColumnDef::new(TemplateInstallations::Parameters)
                        .text()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(TemplateInstallations::Config)
                        .text()
                        .not_null(),
                )
                .col(text(TemplateInstallations::Status, 16))
                .col(ColumnDef::new(TemplateInstallations::Message).text().null())
                .col(
                    ColumnDef::new(TemplateInstallations::TxHash)
                        .string_len(64)
                        .null(),
                )
                .col(
                    ColumnDef::new(TemplateInstallations::Height)
                        .big_integer()
                        .null(),
                )
                .col(ColumnDef::new(TemplateInstallations::Receipt).text().null())
                .col(
                    ColumnDef::new(TemplateInstallations::CreatedBy)
                        .uuid()
                        .null(),
                )
                .col(ts(TemplateInstallations::CreatedAt))
                .col(ts(TemplateInstallations::UpdatedAt))
                .foreign_key(&mut cascade(
                    "fk_template_installations_chain",
                    (TemplateInstallations::Table, TemplateInstallations::ChainId),
                    (Chains::Table, Chains::Id),
                ))
                .foreign_key(
                    &mut ForeignKey::create()
                        .name("fk_template_installations_template")
                        .from(
                            TemplateInstallations::Table,
                            TemplateInstallations::TemplateId,
                        )
                        .to(Templates::Table, Templates::Id)
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_template_installations_chain_template")
                .table(TemplateInstallations::Table)
                .col(TemplateInstallations::ChainId)
                .col(TemplateInstallations::TemplateId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_template_installations_template")
                .table(TemplateInstallations::Table)
                .col(TemplateInstallations::TemplateId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(TemplateInstallations::Table).to_owned())
            .await
    }
}
