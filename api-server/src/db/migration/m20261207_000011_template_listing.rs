//! A template's slug is its publisher's own until a version of it is published: two
//! publishers may hold drafts with the same slug, and only publication claims it in the
//! catalog. Before, the first upload claimed the slug for everyone, so an upload told
//! whether another publisher was preparing a template of that name.
//!
//! `templates.slug` (unique) becomes `listed_slug`: the catalog's name once published, and
//! `~` with the template id until then. A new `slug` holds the publisher's name for it,
//! unique per publisher. Existing rows keep the slug they claimed under the old rule.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Templates {
    Table,
    Slug,
}

const INDEX: &str = "idx_templates_publisher_slug";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Plain SQL that PostgreSQL and SQLite (3.25+) both run as written, in one batch on
        // one connection (SQLite has no transactional migration here, and a second pooled
        // connection may not see the renamed column yet). The rename keeps the unique
        // constraint with the column.
        m.get_connection()
            .execute_unprepared(&format!(
                "ALTER TABLE templates RENAME COLUMN slug TO listed_slug; \
                 ALTER TABLE templates ADD COLUMN slug varchar(64) NOT NULL DEFAULT ''; \
                 UPDATE templates SET slug = listed_slug; \
                 CREATE UNIQUE INDEX {INDEX} ON templates (publisher_tenant_id, slug);"
            ))
            .await
            .map(|_| ())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name(INDEX).table(Templates::Table).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Templates::Table)
                .drop_column(Templates::Slug)
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared("ALTER TABLE templates RENAME COLUMN listed_slug TO slug")
            .await
            .map(|_| ())
    }
}
