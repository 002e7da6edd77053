//! Key files: an ed25519 key pair as JSON, written owner-only (0600).

use std::path::Path;

use anyhow::{Context, Result, bail};
use consortia_bft::hexser;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    #[serde(with = "hexser::array")]
    pub public_key: [u8; 32],
    #[serde(with = "hexser::array")]
    pub secret_key: [u8; 32],
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("public_key", &hex::encode(self.public_key))
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// A fresh key from the operating system's randomness.
pub fn generate() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

pub fn to_file(key: &SigningKey) -> KeyFile {
    KeyFile {
        public_key: key.verifying_key().to_bytes(),
        secret_key: key.to_bytes(),
    }
}

/// Writes a key file readable by its owner only; refuses to overwrite an existing one.
pub fn save(path: &Path, key: &SigningKey) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating key file {}", path.display()))?;
    f.write_all(&serde_json::to_vec_pretty(&to_file(key))?)?;
    f.sync_all()?;
    Ok(())
}

pub fn load(path: &Path) -> Result<SigningKey> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading key file {}", path.display()))?;
    from_json(&bytes).with_context(|| format!("{} is not a usable key file", path.display()))
}

/// A key file's JSON text (what `save` writes).
pub fn to_json(key: &SigningKey) -> Vec<u8> {
    serde_json::to_vec_pretty(&to_file(key)).expect("a key file serialises")
}

/// Parses a key file's JSON text and checks that its public key belongs to its secret key.
pub fn from_json(bytes: &[u8]) -> Result<SigningKey> {
    let kf: KeyFile = serde_json::from_slice(bytes).context("not a key file")?;
    let key = SigningKey::from_bytes(&kf.secret_key);
    if key.verifying_key().to_bytes() != kf.public_key {
        bail!("the public key does not match the secret key");
    }
    Ok(key)
}

/// Parses a 64-hex-digit ed25519 public key.
pub fn parse_public(s: &str) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut out)
        .with_context(|| format!("{s:?} is not a 32-byte hex public key"))?;
    ed25519_dalek::VerifyingKey::from_bytes(&out)
        .with_context(|| format!("{s:?} is not a valid ed25519 public key"))?;
    Ok(out)
}
