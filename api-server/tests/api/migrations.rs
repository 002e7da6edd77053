//! Upgrading a database with rows in it: the JSON columns (migration 12) keep every value
//! on PostgreSQL (`text` → `jsonb`) and SQLite (unchanged `text`), and read back as JSON.

use crate::support::fresh_postgres;
use consortia_api::db::entities::idempotency_key as k;
use consortia_api::db::migration::Migrator;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, Statement};
use sea_orm_migration::MigratorTrait;
use serde_json::json;

/// A fresh, empty database of each kind available: SQLite always, PostgreSQL when
/// `DATABASE_URL` names one.
/// Each comes with the PostgreSQL database to drop afterwards (server URL, name).
async fn databases(dir: &std::path::Path) -> Vec<(DatabaseConnection, Option<(String, String)>)> {
    let mut out = vec![(
        consortia_api::db::connect(&consortia_api::db::sqlite_url(dir))
            .await
            .unwrap(),
        None,
    )];
    if std::env::var("DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        let (url, cleanup) = fresh_postgres().await;
        out.push((
            consortia_api::db::connect(&url).await.unwrap(),
            Some(cleanup),
        ));
    }
    out
}

#[tokio::test]
async fn json_columns_keep_their_values_across_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    for (db, drop) in databases(dir.path()).await {
        let backend = db.get_database_backend();
        Migrator::up(&db, Some(11)).await.unwrap();
        let tenant = uuid::Uuid::now_v7();
        let id = uuid::Uuid::now_v7();
        // SQLite holds UUIDs as 16-byte blobs (as the driver writes them).
        let (now, tenant_sql) = match backend {
            DatabaseBackend::Postgres => ("now()", format!("'{tenant}'")),
            _ => (
                "'2026-12-07 10:00:00+00:00'",
                format!("X'{}'", tenant.simple()),
            ),
        };
        db.execute_unprepared(&format!(
            "INSERT INTO idempotency_keys (tenant_id, key, request_sha256, request, deposit_ids, \
             state, response, locked_until, created_at, expires_at) VALUES ({tenant_sql}, 'k1', \
             'abc', '{{\"user\":null,\"intent\":{{\"chains\":[],\"merkle\":true}}}}', '[\"{id}\"]', \
             'pending', NULL, {now}, {now}, {now})"
        ))
        .await
        .unwrap();

        // Exactly migration 12, so that one step down undoes it.
        Migrator::up(&db, Some(1)).await.unwrap();
        let row = k::Entity::find().one(&db).await.unwrap().unwrap();
        assert_eq!(
            row.request,
            json!({"user": null, "intent": {"chains": [], "merkle": true}}),
            "{backend:?}"
        );
        assert_eq!(row.deposit_ids, json!([id]), "{backend:?}");
        if backend == DatabaseBackend::Postgres {
            let kind = db
                .query_one_raw(Statement::from_string(
                    backend,
                    "SELECT data_type FROM information_schema.columns \
                     WHERE table_name = 'idempotency_keys' AND column_name = 'deposit_ids'",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<String>("", "data_type")
                .unwrap();
            assert_eq!(kind, "jsonb");
        }

        // And back down: the values are text again.
        Migrator::down(&db, Some(1)).await.unwrap();
        let text = db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT deposit_ids FROM idempotency_keys",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<String>("", "deposit_ids")
            .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            json!([id])
        );
        db.close().await.unwrap();
        if let Some((admin_url, name)) = drop {
            let admin = consortia_api::db::connect(&admin_url).await.unwrap();
            admin
                .execute_unprepared(&format!("DROP DATABASE {name}"))
                .await
                .unwrap();
        }
    }
}
