//! Database connection and migrations. SQLite by default, PostgreSQL when configured.

pub mod entities;
pub mod migration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
};
use sea_orm_migration::MigratorTrait;
use std::path::Path;
use std::time::Duration;

/// Which database a URL names, for logs and errors (never logs the URL: it may hold a password).
pub fn describe(url: &str) -> &'static str {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        "postgresql"
    } else if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "unknown"
    }
}

/// The SQLite URL for a data directory: the file is created when missing.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("consortia.db").display()
    )
}

/// Opens a pool to `url` with settings fit for the backend.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let kind = describe(url);
    if kind == "unknown" {
        return Err(DbErr::Custom(
            "DATABASE_URL must start with postgres://, postgresql:// or sqlite:".into(),
        ));
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(if kind == "sqlite" { 8 } else { 16 })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        // Ping only connections idle long enough to have been dropped by the server or a
        // proxy; pinging on every checkout doubles the round trips of every request.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false)
        // SQLite's default page cache (2 MiB) is smaller than one batch of deposits with its
        // index pages: the writer then spills pages to the WAL in the middle of the
        // transaction. 32 MiB per connection is a ceiling, not an allocation.
        .map_sqlx_sqlite_opts(|o| o.pragma("cache_size", "-32768"));
    let db = Database::connect(opts).await?;
    if db.get_database_backend() == DatabaseBackend::Sqlite {
        // WAL lets readers run beside the single writer; the setting persists in the file.
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    migration::Migrator::up(db, None).await
}

/// Whether the database answers (readiness).
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}
