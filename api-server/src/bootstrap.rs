//! First start: the platform administrator and a one-time bootstrap token.

use crate::domain::tokens::{self, TokenKey};
use crate::store;
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, TransactionTrait};
use std::io::Write;
use std::path::{Path, PathBuf};

/// File name of the bootstrap token inside the data directory.
pub const TOKEN_FILE: &str = "bootstrap-token";

/// What bootstrapping did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Created the administrator; the token is in this file.
    Created(PathBuf),
    /// The database was bootstrapped before; nothing done.
    AlreadyDone,
}

/// Creates the platform administrator and writes its token, exactly once per database.
///
/// Inserting row 1 of `bootstrap` inside the same transaction makes this safe when
/// several replicas start at once: only one insert succeeds.
pub async fn run(
    db: &DatabaseConnection,
    key: &TokenKey,
    data_dir: &Path,
) -> Result<Outcome, BootstrapError> {
    let txn = db.begin().await?;
    let backend = txn.get_database_backend();
    let claimed = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DatabaseBackend::Postgres => {
                    "INSERT INTO bootstrap (id, created_at) VALUES (1, $1) ON CONFLICT DO NOTHING"
                }
                _ => "INSERT OR IGNORE INTO bootstrap (id, created_at) VALUES (1, ?)",
            },
            [Utc::now().into()],
        ))
        .await?
        .rows_affected()
        == 1;
    if !claimed {
        return Ok(Outcome::AlreadyDone);
    }
    let admin = store::users::insert(
        &txn,
        store::users::NewUser {
            email: None,
            display_name: "Platform administrator",
            kind: crate::domain::tenants::UserKind::Human,
            is_platform_admin: true,
        },
    )
    .await?;
    let minted = tokens::mint(key);
    store::tokens::insert(
        &txn,
        store::tokens::NewToken {
            id: minted.id,
            user_id: admin.id,
            tenant_id: None,
            name: "bootstrap",
            secret_hash: &minted.secret_hash,
            created_by: admin.id,
            expires_at: None,
        },
    )
    .await?;
    let path = data_dir.join(TOKEN_FILE);
    write_secret(&path, minted.bearer.as_bytes())
        .map_err(|e| BootstrapError::Write(path.clone(), e))?;
    txn.commit().await?;
    Ok(Outcome::Created(path))
}

/// Writes a file readable by its owner only (mode 0600), replacing any old one.
pub fn write_secret(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(contents)?;
    f.sync_all()
}

/// Loads the token key from `file`, or from / into `<data dir>/token-key` when no file is named.
pub fn load_token_key(file: Option<&Path>, data_dir: &Path) -> Result<TokenKey, BootstrapError> {
    let path = file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| data_dir.join("token-key"));
    match std::fs::read_to_string(&path) {
        Ok(s) => TokenKey::from_hex(&s).map_err(|m| BootstrapError::Key(path, m)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && file.is_none() => {
            let key = TokenKey::generate();
            write_secret(&path, key.to_hex().as_bytes())
                .map_err(|e| BootstrapError::Write(path, e))?;
            Ok(key)
        }
        Err(e) => Err(BootstrapError::Read(path, e)),
    }
}

/// Loads the key-encryption key: `CONSORTIA_KEK` (hex) if set, else `file`, else
/// `<data dir>/kek` (created, mode 0600, when absent).
pub fn load_kek(
    file: Option<&Path>,
    data_dir: &Path,
) -> Result<consortia_pki::seal::Kek, BootstrapError> {
    if let Ok(hex) = std::env::var("CONSORTIA_KEK") {
        return consortia_pki::seal::Kek::from_hex(&hex)
            .map_err(|e| BootstrapError::Key(PathBuf::from("$CONSORTIA_KEK"), e.to_string()));
    }
    let path = file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| data_dir.join("kek"));
    match std::fs::read_to_string(&path) {
        Ok(s) => consortia_pki::seal::Kek::from_hex(&s)
            .map_err(|e| BootstrapError::Key(path, e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && file.is_none() => {
            let key: [u8; 32] = rand::random();
            write_secret(&path, hex::encode(key).as_bytes())
                .map_err(|e| BootstrapError::Write(path, e))?;
            Ok(consortia_pki::seal::Kek::from_bytes(key))
        }
        Err(e) => Err(BootstrapError::Read(path, e)),
    }
}

/// Why start-up could not prepare credentials.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// Database failure.
    #[error("database error during bootstrap: {0}")]
    Db(#[from] DbErr),
    /// A secret file could not be written.
    #[error("could not write {0}: {1}")]
    Write(PathBuf, std::io::Error),
    /// A key file could not be read.
    #[error("could not read key file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// A key file holds something else.
    #[error("key file {0} is not valid: {1}")]
    Key(PathBuf, String),
}
