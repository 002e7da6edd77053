//! Serde helpers for byte strings: lowercase hex in human-readable formats (JSON; uppercase is
//! refused), raw bytes in binary formats (the node's wire protocol), so neither pays for the
//! other's encoding.

use std::fmt;

use serde::Serializer;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a hex string or a byte string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        // One spelling per value: what is signed or hashed is the bytes, so an uppercase
        // copy would be a second text for the same receipt (or key, or transaction).
        if let Some(c) = v.chars().find(|c| c.is_ascii_uppercase()) {
            return Err(E::custom(format!("expected lowercase hex, found {c:?}")));
        }
        hex::decode(v).map_err(|e| E::custom(format!("expected hex: {e}")))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(out)
    }
}

/// Lower-case hex, by table: `hex::encode` goes through a char iterator and costs several
/// times more, which shows when every block page and receipt is mostly hashes and
/// signatures.
pub fn encode(v: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(v.len() * 2);
    for b in v {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
    String::from_utf8(out).expect("hex digits are ASCII")
}

fn serialize_bytes<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        s.serialize_str(&encode(v))
    } else {
        s.serialize_bytes(v)
    }
}

fn deserialize_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    if d.is_human_readable() {
        d.deserialize_str(BytesVisitor)
    } else {
        d.deserialize_bytes(BytesVisitor)
    }
}

/// `[u8; N]`.
pub mod array {
    use serde::{Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        super::serialize_bytes(v, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let v = super::deserialize_bytes(d)?;
        <[u8; N]>::try_from(v.as_slice())
            .map_err(|_| D::Error::custom(format!("expected {N} bytes, found {}", v.len())))
    }
}

/// `Option<[u8; N]>`, null when absent.
pub mod option_array {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(
        v: &Option<[u8; N]>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct W<'a, const M: usize>(#[serde(with = "super::array")] &'a [u8; M]);
        match v {
            Some(v) => s.serialize_some(&W(v)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<Option<[u8; N]>, D::Error> {
        #[derive(Deserialize)]
        struct W<const M: usize>(#[serde(with = "super::array")] [u8; M]);
        Ok(Option::<W<N>>::deserialize(d)?.map(|w| w.0))
    }
}

/// `Vec<u8>`.
pub mod bytes {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        super::serialize_bytes(v, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        super::deserialize_bytes(d)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct T {
        #[serde(with = "super::array")]
        a: [u8; 4],
        #[serde(with = "super::option_array")]
        b: Option<[u8; 2]>,
        #[serde(with = "super::option_array")]
        c: Option<[u8; 2]>,
        #[serde(with = "super::bytes")]
        d: Vec<u8>,
    }

    #[test]
    fn encode_matches_the_hex_crate_for_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(super::encode(&all), hex::encode(&all));
        assert_eq!(super::encode(&[]), "");
    }

    #[test]
    fn json_is_hex_and_round_trips() {
        let t = T {
            a: [1, 2, 3, 0xff],
            b: Some([9, 10]),
            c: None,
            d: vec![0xab],
        };
        let j = serde_json::to_string(&t).unwrap();
        assert_eq!(j, r#"{"a":"010203ff","b":"090a","c":null,"d":"ab"}"#);
        assert_eq!(serde_json::from_str::<T>(&j).unwrap(), t);
        let wrong_len = r#"{"a":"0102","b":null,"c":null,"d":""}"#;
        let e = serde_json::from_str::<T>(wrong_len)
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected 4 bytes"), "{e}");
        assert!(serde_json::from_str::<T>(r#"{"a":"zz","b":null,"c":null,"d":""}"#).is_err());
    }

    /// Hex has one spelling: an uppercase digit anywhere, in any kind of field, is refused.
    #[test]
    fn uppercase_hex_is_refused() {
        for bad in [
            r#"{"a":"010203FF","b":null,"c":null,"d":""}"#,
            r#"{"a":"010203fF","b":null,"c":null,"d":""}"#,
            r#"{"a":"010203ff","b":"0A0b","c":null,"d":""}"#,
            r#"{"a":"010203ff","b":null,"c":null,"d":"AB"}"#,
        ] {
            let e = serde_json::from_str::<T>(bad).unwrap_err().to_string();
            assert!(e.contains("expected lowercase hex"), "{bad}: {e}");
        }
    }
}
