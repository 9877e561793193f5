//! Secrets at rest: every stored token is sealed with AES-256-GCM under the
//! operator's key (`READINESS_ENCRYPTION_KEY`, or the file named by
//! `READINESS_ENCRYPTION_KEY_FILE`). While a key is rotated that setting lists several
//! keys, newest first: the newest seals, every one opens.
//!
//! A sealed value is text: `rd1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`.
//! - The key id (the first 8 hex digits of a hash of the key) says which key sealed
//!   it, so a server given the wrong key says so instead of failing one call at a
//!   time, and `readiness rotate-key` can tell what it has already re-sealed.
//! - Each value is bound to what it belongs to (the workspace, as associated data):
//!   a sealed token copied onto another workspace's row does not open.
//! - The nonce is 96 random bits per seal; the few thousand seals an install base
//!   makes are far below the 2^32 at which random nonces would start to risk a repeat.
//!
//! Secrets in memory are [`Secret`]s, whose `Debug` prints `***`: the settings' tokens
//! and signing secret, and the tokens opened here.

use std::fmt;
use std::path::Path;

use aes_gcm::{
    Aes256Gcm, Key, Nonce,
    aead::{Aead, KeyInit, Payload},
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// A string that must never be logged.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "<unset>" } else { "***" })
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

const PREFIX: &str = "rd1";
const NONCE_BYTES: usize = 12;

/// The operator's keys: one 256-bit key, or several, newest first, while a new key is
/// rolled out. The newest seals; any of them opens what it sealed (the key id in a
/// sealed value says which). `Debug` shows only their ids.
#[derive(Clone)]
pub struct EncryptionKey {
    /// Newest first; never empty.
    keys: Vec<OneKey>,
}

#[derive(Clone)]
struct OneKey {
    cipher: Aes256Gcm,
    id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the encryption key must be the base64 of exactly 32 random bytes (make one with `openssl rand -base64 32`)"
    )]
    Malformed,
    #[error("cannot read the key file {0}: {1}")]
    File(String, String),
    #[error("the same key is listed twice (key {0})")]
    Repeated(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("not a sealed value")]
    Malformed,
    /// Sealed under another key: the operator's key is not the one it was sealed with.
    #[error("sealed with key {0}, not with this key")]
    OtherKey(String),
    /// The key id matches but the value does not open: tampered, or moved to another row.
    #[error("the sealed value does not open (tampered, or not this row's)")]
    Tampered,
}

impl EncryptionKey {
    /// From the base64 text of 32 bytes (surrounding whitespace allowed), or several
    /// such keys separated by commas or line breaks, newest first.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let mut keys: Vec<OneKey> = Vec::new();
        for part in text.split([',', '\n']).map(str::trim) {
            if part.is_empty() {
                continue;
            }
            let bytes = STANDARD.decode(part).map_err(|_| KeyError::Malformed)?;
            let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed)?;
            let key = OneKey::from_bytes(&bytes);
            if keys.iter().any(|k| k.id == key.id) {
                return Err(KeyError::Repeated(key.id));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(KeyError::Malformed);
        }
        Ok(Self { keys })
    }

    /// From a file holding the base64 text (like a mounted Kubernetes secret).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| KeyError::File(path.display().to_string(), e.to_string()))?;
        Self::from_base64(&text)
    }

    /// The id of the newest key, the one that seals: safe to print and store.
    pub fn id(&self) -> &str {
        &self.newest().id
    }

    /// The ids of every key, newest first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Whether one of these keys is the key `id`, so opens what it sealed.
    pub fn opens(&self, id: &str) -> bool {
        self.keys.iter().any(|k| k.id == id)
    }

    fn newest(&self) -> &OneKey {
        &self.keys[0]
    }

    /// Seals `plain` with the newest key, bound to `owner` (the row it belongs to).
    pub fn seal(&self, plain: &str, owner: &str) -> String {
        self.newest().seal(plain, owner)
    }

    /// Opens a value sealed by [`Self::seal`] with any of these keys for the same
    /// `owner`.
    pub fn open(&self, sealed: &str, owner: &str) -> Result<Secret, OpenError> {
        let key_id = sealed_key_id(sealed).ok_or(OpenError::Malformed)?;
        match self.keys.iter().find(|k| k.id == key_id) {
            Some(key) => key.open(sealed, owner),
            None => Err(OpenError::OtherKey(key_id.to_string())),
        }
    }
}

impl OneKey {
    fn from_bytes(bytes: &[u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"readiness key id\0")
            .chain_update(bytes)
            .finalize();
        Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)),
            id: hex::encode(&digest[..4]),
        }
    }

    fn seal(&self, plain: &str, owner: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        // The OS random source failing is not something to carry on from.
        getrandom::fill(&mut nonce).expect("the operating system's random source failed");
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: owner.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a short value cannot fail");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}:{}:{}", self.id, URL_SAFE_NO_PAD.encode(bytes))
    }

    fn open(&self, sealed: &str, owner: &str) -> Result<Secret, OpenError> {
        let body = sealed.rsplit(':').next().ok_or(OpenError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| OpenError::Malformed)?;
        if bytes.len() < NONCE_BYTES {
            return Err(OpenError::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Tampered)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| OpenError::Tampered)
    }
}

/// The id of the key that sealed `sealed`, if it is a sealed value at all.
pub fn sealed_key_id(sealed: &str) -> Option<&str> {
    let mut parts = sealed.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(PREFIX), Some(id), Some(_), None) if !id.is_empty() => Some(id),
        _ => None,
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionKey({})", self.ids().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key(byte: u8) -> EncryptionKey {
        EncryptionKey::from_base64(&STANDARD.encode([byte; 32])).unwrap()
    }

    #[test]
    fn a_sealed_token_opens_with_its_key_and_owner_only() {
        let (a, b) = (key(1), key(2));
        let sealed = a.seal("xoxb-123-secret", "T0001");
        assert!(!sealed.contains("xoxb"), "{sealed}");
        assert_eq!(
            a.open(&sealed, "T0001").unwrap().expose(),
            "xoxb-123-secret"
        );
        assert_eq!(a.open(&sealed, "T0002"), Err(OpenError::Tampered));
        assert_eq!(
            b.open(&sealed, "T0001"),
            Err(OpenError::OtherKey(a.id().to_string()))
        );
        // Two seals of one value differ (fresh nonces), and both open.
        let again = a.seal("xoxb-123-secret", "T0001");
        assert_ne!(sealed, again);
        assert!(a.open(&again, "T0001").is_ok());
    }

    #[test]
    fn a_flipped_byte_is_refused() {
        let a = key(7);
        let sealed = a.seal("xoxb-1", "T1");
        let (head, body) = sealed.rsplit_once(':').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{head}:{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(a.open(&tampered, "T1"), Err(OpenError::Tampered));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(EncryptionKey::from_base64("").is_err());
        assert!(EncryptionKey::from_base64("not base64!").is_err());
        assert!(EncryptionKey::from_base64(&STANDARD.encode([0u8; 16])).is_err());
        let padded = format!("  {}\n", STANDARD.encode([9u8; 32]));
        assert_eq!(
            EncryptionKey::from_base64(&padded).unwrap().id(),
            key(9).id()
        );
        assert_ne!(key(1).id(), key(2).id());
        assert_eq!(
            format!("{:?}", key(1)),
            format!("EncryptionKey({})", key(1).id())
        );
    }

    #[test]
    fn with_several_keys_the_newest_seals_and_every_one_opens() {
        let (old, new) = (key(1), key(2));
        let sealed_old = old.seal("xoxb-old", "T1");
        let both = EncryptionKey::from_base64(&format!(
            "{}, {}",
            STANDARD.encode([2u8; 32]),
            STANDARD.encode([1u8; 32])
        ))
        .unwrap();
        assert_eq!(both.id(), new.id());
        assert_eq!(both.ids(), vec![new.id(), old.id()]);
        assert!(both.opens(old.id()) && both.opens(new.id()) && !both.opens(key(3).id()));
        // What the old key sealed still opens; new seals are the newest key's.
        assert_eq!(both.open(&sealed_old, "T1").unwrap().expose(), "xoxb-old");
        let sealed_new = both.seal("xoxb-new", "T1");
        assert_eq!(sealed_key_id(&sealed_new), Some(new.id()));
        assert_eq!(new.open(&sealed_new, "T1").unwrap().expose(), "xoxb-new");
        assert_eq!(
            old.open(&sealed_new, "T1"),
            Err(OpenError::OtherKey(new.id().to_string()))
        );
        // Still bound to its row, whichever key opens it.
        assert_eq!(both.open(&sealed_old, "T2"), Err(OpenError::Tampered));
        // One per line, as in a mounted file, reads the same.
        let lines = EncryptionKey::from_base64(&format!(
            "{}\n{}\n",
            STANDARD.encode([2u8; 32]),
            STANDARD.encode([1u8; 32])
        ))
        .unwrap();
        assert_eq!(lines.ids(), both.ids());
        assert_eq!(
            format!("{both:?}"),
            format!("EncryptionKey({}, {})", new.id(), old.id())
        );
        // A key listed twice, or an empty list, is refused.
        let twice = format!("{0},{0}", STANDARD.encode([1u8; 32]));
        assert_eq!(
            EncryptionKey::from_base64(&twice).unwrap_err(),
            KeyError::Repeated(old.id().to_string())
        );
        assert!(EncryptionKey::from_base64(" , ").is_err());
    }

    proptest! {
        #[test]
        fn any_text_round_trips_and_junk_never_panics(plain in ".{0,200}", junk in ".{0,200}") {
            let k = key(3);
            let sealed = k.seal(&plain, "T9");
            let opened = k.open(&sealed, "T9").unwrap();
            prop_assert_eq!(opened.expose(), plain.as_str());
            let _ = k.open(&junk, "T9");
            let _ = k.open(&format!("rd1:{}:{junk}", k.id()), "T9");
        }
    }
}
