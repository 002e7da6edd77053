//! Why a transaction is refused. The messages go to API clients as the rejection reason.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("transaction is for chain {got:?}, this chain is {expected:?}")]
    WrongChainId { expected: String, got: String },
    #[error("transaction is {size} bytes encoded; the limit is {max}")]
    TooLarge { size: usize, max: usize },
    #[error(
        "account id {0:?} is invalid: 3-64 characters of a-z 0-9 . _ -, starting with a letter or digit"
    )]
    BadAccountId(String),
    #[error("nonce must be at least 1")]
    ZeroNonce,
    #[error("transaction carries no signature")]
    Unsigned,
    #[error("key {0} signs twice")]
    DuplicateSigner(String),
    #[error("signature by {0} does not verify")]
    BadSignature(String),
    #[error("{0} is not a valid ed25519 public key")]
    BadKey(String),
    #[error("a key must have weight of at least 1")]
    ZeroWeight,
    #[error("threshold must be at least 1")]
    ZeroThreshold,
    #[error("an account needs at least one key")]
    NoKeys,
    #[error("an account holds at most {max} keys")]
    TooManyKeys { max: usize },
    #[error("key {0} is listed twice")]
    DuplicateKey(String),
    #[error(
        "threshold {threshold} exceeds the total key weight {total}: the account could never sign"
    )]
    Unreachable { threshold: u32, total: u64 },
    #[error("content hash has {got} bytes; the algorithm produces {expected}")]
    BadHashLength { expected: usize, got: usize },
    #[error("metadata is {size} bytes; the limit is {max}")]
    MetadataTooLarge { size: usize, max: usize },
    #[error("external id must be 1-128 bytes")]
    BadExternalId,
    #[error("account {0:?} does not exist")]
    UnknownAccount(String),
    #[error("account {0:?} already exists")]
    AccountExists(String),
    #[error("signing keys hold weight {have}; the account's threshold is {need}")]
    InsufficientWeight { have: u64, need: u32 },
    #[error("key {0} is not one of the account's keys")]
    NotAccountKey(String),
    #[error("account has no recovery key")]
    NoRecoveryKey,
    #[error("recover must be signed by the account's recovery key alone")]
    NotRecoveryKey,
    #[error("nonce {got} is stale: the account's next nonce is {expected}")]
    StaleNonce { expected: u64, got: u64 },
    #[error("nonce {got} is out of order: the account's next nonce is {expected}")]
    NonceGap { expected: u64, got: u64 },
    #[error("nonce {got} is too far ahead of the account's next nonce {expected}")]
    NonceTooFar { expected: u64, got: u64 },
    #[error("transaction expired at height {expiry}; the chain is at {height}")]
    Expired { expiry: u64, height: u64 },
    #[error("key {0} is already on the account")]
    KeyExists(String),
    #[error(
        "removing the key or raising the threshold would leave weight {total} below threshold {threshold}"
    )]
    WouldLockOut { threshold: u32, total: u64 },
    #[error("transaction is already known")]
    Duplicate,
    #[error("another transaction with nonce {0} is already pending for this account")]
    NonceTaken(u64),
    #[error("the mempool is full")]
    MempoolFull,
}

impl TxError {
    /// A stable machine-readable code (snake case of the variant).
    pub fn code(&self) -> &'static str {
        match self {
            TxError::WrongChainId { .. } => "wrong_chain_id",
            TxError::TooLarge { .. } => "too_large",
            TxError::BadAccountId(..) => "bad_account_id",
            TxError::ZeroNonce => "zero_nonce",
            TxError::Unsigned => "unsigned",
            TxError::DuplicateSigner(..) => "duplicate_signer",
            TxError::BadSignature(..) => "bad_signature",
            TxError::BadKey(..) => "bad_key",
            TxError::ZeroWeight => "zero_weight",
            TxError::ZeroThreshold => "zero_threshold",
            TxError::NoKeys => "no_keys",
            TxError::TooManyKeys { .. } => "too_many_keys",
            TxError::DuplicateKey(..) => "duplicate_key",
            TxError::Unreachable { .. } => "unreachable",
            TxError::BadHashLength { .. } => "bad_hash_length",
            TxError::MetadataTooLarge { .. } => "metadata_too_large",
            TxError::BadExternalId => "bad_external_id",
            TxError::UnknownAccount(..) => "unknown_account",
            TxError::AccountExists(..) => "account_exists",
            TxError::InsufficientWeight { .. } => "insufficient_weight",
            TxError::NotAccountKey(..) => "not_account_key",
            TxError::NoRecoveryKey => "no_recovery_key",
            TxError::NotRecoveryKey => "not_recovery_key",
            TxError::StaleNonce { .. } => "stale_nonce",
            TxError::NonceGap { .. } => "nonce_gap",
            TxError::NonceTooFar { .. } => "nonce_too_far",
            TxError::Expired { .. } => "expired",
            TxError::KeyExists(..) => "key_exists",
            TxError::WouldLockOut { .. } => "would_lock_out",
            TxError::Duplicate => "duplicate",
            TxError::NonceTaken(..) => "nonce_taken",
            TxError::MempoolFull => "mempool_full",
        }
    }
}
