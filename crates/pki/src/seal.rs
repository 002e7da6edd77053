//! Keys sealed at rest: AES-256-GCM under a 256-bit key-encryption key (KEK).
//!
//! Format of a sealed blob: `version (1) ‖ kek id (8) ‖ nonce (12) ‖ ciphertext+tag`. The KEK id
//! (8 bytes of an AES-GCM tag the KEK computes over a fixed label) says which KEK sealed
//! a blob, so a re-wrap can tell old from new. Associated data binds a blob to what it is
//! (e.g. the CA id), so a sealed key cannot be swapped onto another record.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

const VERSION: u8 = 1;

/// A key-encryption key. Debug never shows it.
#[derive(Clone)]
pub struct Kek {
    key: [u8; 32],
    id: [u8; 8],
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kek({})", hex::encode(self.id))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the key-encryption key must be 64 hex digits (32 bytes)")]
    BadKek,
    #[error("sealed data is malformed")]
    Malformed,
    #[error("sealed with another key-encryption key ({0})")]
    OtherKek(String),
    #[error("sealed data does not authenticate (tampered, or sealed for another record)")]
    Tampered,
}

impl Kek {
    pub fn from_bytes(key: [u8; 32]) -> Kek {
        // The id is a keyed digest of a fixed label, not a hash of the key itself.
        let cipher = Aes256Gcm::new(&key.into());
        let tag = cipher
            .encrypt(
                Nonce::from_slice(&[0u8; 12]),
                Payload {
                    msg: b"",
                    aad: b"consortia/kek-id",
                },
            )
            .unwrap_or_default();
        let mut id = [0u8; 8];
        id.copy_from_slice(&tag[..8]);
        Kek { key, id }
    }

    pub fn from_hex(s: &str) -> Result<Kek, SealError> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut key).map_err(|_| SealError::BadKek)?;
        Ok(Kek::from_bytes(key))
    }

    pub fn generate() -> Kek {
        Kek::from_bytes(rand::random())
    }

    pub fn id(&self) -> String {
        hex::encode(self.id)
    }

    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let cipher = Aes256Gcm::new(&self.key.into());
        let nonce: [u8; 12] = rand::random();
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + 8 + 12 + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 1 + 8 + 12 + 16 || sealed[0] != VERSION {
            return Err(SealError::Malformed);
        }
        if sealed[1..9] != self.id {
            return Err(SealError::OtherKek(hex::encode(&sealed[1..9])));
        }
        let cipher = Aes256Gcm::new(&self.key.into());
        cipher
            .decrypt(
                Nonce::from_slice(&sealed[9..21]),
                Payload {
                    msg: &sealed[21..],
                    aad,
                },
            )
            .map_err(|_| SealError::Tampered)
    }

    /// Re-seals a blob sealed under `old` under this KEK.
    pub fn rewrap(&self, old: &Kek, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let plain = old.open(sealed, aad)?;
        Ok(self.seal(&plain, aad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_tamper_rewrap() {
        let k = Kek::generate();
        let s = k.seal(b"ca key", b"ca-1");
        assert_eq!(k.open(&s, b"ca-1").unwrap(), b"ca key");
        assert_eq!(k.open(&s, b"ca-2"), Err(SealError::Tampered));
        for i in 9..s.len() {
            let mut t = s.clone();
            t[i] ^= 1;
            assert_eq!(k.open(&t, b"ca-1"), Err(SealError::Tampered), "byte {i}");
        }
        let other = Kek::generate();
        assert!(matches!(
            other.open(&s, b"ca-1"),
            Err(SealError::OtherKek(_))
        ));
        let moved = other.rewrap(&k, &s, b"ca-1").unwrap();
        assert_eq!(other.open(&moved, b"ca-1").unwrap(), b"ca key");
        assert!(k.open(&moved, b"ca-1").is_err());
        assert!(!format!("{k:?}").contains(&hex::encode(k.key)));
        assert_eq!(Kek::from_hex("zz").unwrap_err(), SealError::BadKek);
        assert_eq!(k.open(&s[..10], b"ca-1"), Err(SealError::Malformed));
    }
}
