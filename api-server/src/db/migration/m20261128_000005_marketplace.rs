//! Marketplace: templates, their versions (packages) and their review history.

use super::columns::{ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Templates {
    Table,
    Id,
    PublisherTenantId,
    Slug,
    Name,
    Summary,
    Category,
    Engines,
    Builtin,
    Installs,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TemplateVersions {
    Table,
    Id,
    TemplateId,
    Version,
    Manifest,
    PackageBytes,
    PackageSha256,
    Status,
    Reason,
    CreatedBy,
    CreatedAt,
    SubmittedAt,
    ReviewedAt,
    ReviewedBy,
}

/// Packages apart from their versions, so listing versions never reads the blobs.
#[derive(DeriveIden)]
enum TemplatePackages {
    Table,
    VersionId,
    Package,
}

#[derive(DeriveIden)]
enum TemplateEvents {
    Table,
    Id,
    TemplateId,
    Version,
    Action,
    ActorUserId,
    Detail,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Templates::Table)
                .col(
                    ColumnDef::new(Templates::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Templates::PublisherTenantId)
                        .uuid()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Templates::Slug)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Templates::Name).string_len(100).not_null())
                .col(
                    ColumnDef::new(Templates::Summary)
                        .string_len(200)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Templates::Category)
                        .string_len(32)
                        .not_null(),
                )
                .col(ColumnDef::new(Templates::Engines).string_len(64).not_null())
                .col(ColumnDef::new(Templates::Builtin).boolean().not_null())
                .col(ColumnDef::new(Templates::Installs).big_integer().not_null())
                .col(ts(Templates::CreatedAt))
                .col(ts(Templates::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_templates_tenant")
                        .from(Templates::Table, Templates::PublisherTenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TemplateVersions::Table)
                .col(
                    ColumnDef::new(TemplateVersions::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(TemplateVersions::TemplateId)
                        .uuid()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(TemplateVersions::Version)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(TemplateVersions::Manifest).text().not_null())
                .col(
                    ColumnDef::new(TemplateVersions::PackageBytes)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(TemplateVersions::PackageSha256)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(TemplateVersions::Status)
                        .string_len(16)
                        .not_null(),
                )
                .col(ColumnDef::new(TemplateVersions::Reason).text().null())
                .col(ColumnDef::new(TemplateVersions::CreatedBy).uuid().null())
                .col(ts(TemplateVersions::CreatedAt))
                .col(ts_null(TemplateVersions::SubmittedAt))
                .col(ts_null(TemplateVersions::ReviewedAt))
                .col(ColumnDef::new(TemplateVersions::ReviewedBy).uuid().null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_template_versions_template")
                        .from(TemplateVersions::Table, TemplateVersions::TemplateId)
                        .to(Templates::Table, Templates::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_template_versions_template_version")
                .table(TemplateVersions::Table)
                .col(TemplateVersions::TemplateId)
                .col(TemplateVersions::Version)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TemplatePackages::Table)
                .col(
                    ColumnDef::new(TemplatePackages::VersionId)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(TemplatePackages::Package).blob().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_template_packages_version")
                        .from(TemplatePackages::Table, TemplatePackages::VersionId)
                        .to(TemplateVersions::Table, TemplateVersions::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TemplateEvents::Table)
                .col(
                    ColumnDef::new(TemplateEvents::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(TemplateEvents::TemplateId).uuid().not_null())
                .col(
                    ColumnDef::new(TemplateEvents::Version)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(TemplateEvents::Action)
                        .string_len(16)
                        .not_null(),
                )
                .col(ColumnDef::new(TemplateEvents::ActorUserId).uuid().null())
                .col(ColumnDef::new(TemplateEvents::Detail).text().null())
                .col(ts(TemplateEvents::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_template_events_template")
                        .from(TemplateEvents::Table, TemplateEvents::TemplateId)
                        .to(Templates::Table, Templates::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_template_events_template")
                .table(TemplateEvents::Table)
                .col(TemplateEvents::TemplateId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            TemplateEvents::Table.into_iden(),
            TemplatePackages::Table.into_iden(),
            TemplateVersions::Table.into_iden(),
            Templates::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
