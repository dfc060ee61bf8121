//! Encryption at rest for access tokens and app secrets: XChaCha20-Poly1305 with a 256-bit key
//! from `SWITCHBOARD_SECRET_KEY` (64 hex characters) or a key file. Stored values look like
//! `enc:v1:<hex of nonce and ciphertext>`; the plaintext never reaches the database, the logs or
//! a browser. Whole files sealed by other means (a linked device's session) take a key derived
//! from this one for their purpose ([`SecretKey::derive`]).

use std::path::Path;

use anyhow::{bail, Context};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

const PREFIX: &str = "enc:v1:";
const NONCE_LEN: usize = 24;

/// The key that seals stored secrets.
#[derive(Clone)]
pub struct SecretKey(Key);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// Parses 64 hex characters (what `openssl rand -hex 32` prints).
    pub fn from_hex(text: &str) -> anyhow::Result<SecretKey> {
        let bytes = hex::decode(text.trim()).context("the secret key must be 64 hex characters")?;
        if bytes.len() != 32 {
            bail!("the secret key must be 64 hex characters (32 bytes), not {}", text.trim().len());
        }
        Ok(SecretKey(*Key::from_slice(&bytes)))
    }

    /// Reads a key file holding 64 hex characters.
    pub fn from_file(path: &Path) -> anyhow::Result<SecretKey> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading the secret key file {}", path.display()))?;
        Self::from_hex(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Reads the key file, creating it with a fresh random key if it does not exist (demo).
    pub fn load_or_create(path: &Path) -> anyhow::Result<SecretKey> {
        if !path.exists() {
            let key = XChaCha20Poly1305::generate_key(&mut OsRng);
            std::fs::write(path, hex::encode(key)).with_context(|| format!("writing {}", path.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            }
        }
        Self::from_file(path)
    }

    /// Seals a secret for storage.
    pub fn seal(&self, plaintext: &str) -> String {
        let cipher = XChaCha20Poly1305::new(&self.0);
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher.encrypt(&nonce, plaintext.as_bytes()).expect("encryption of a string cannot fail");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{PREFIX}{}", hex::encode(bytes))
    }

    /// A key for one purpose (e.g. one number's session file): HMAC-SHA256 of `purpose` under the
    /// secret key, so a key handed to another cipher opens nothing else.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(b"switchboard derived key v1\0");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Opens a stored secret; a value sealed with another key, or not sealed, is an error.
    pub fn open(&self, stored: &str) -> anyhow::Result<String> {
        let hex_part = stored.strip_prefix(PREFIX).context("a stored secret is not encrypted")?;
        let bytes = hex::decode(hex_part).context("a stored secret is damaged")?;
        if bytes.len() <= NONCE_LEN {
            bail!("a stored secret is damaged");
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = XChaCha20Poly1305::new(&self.0)
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| anyhow::anyhow!("a stored secret cannot be opened with this key (was the key changed?)"))?;
        String::from_utf8(plain).context("a stored secret is not text")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_their_key_only_and_hide_the_plaintext() {
        let key = SecretKey::from_hex(&"ab".repeat(32)).unwrap();
        let sealed = key.seal("EAAG-secret-token");
        assert!(sealed.starts_with("enc:v1:") && !sealed.contains("EAAG"));
        assert_ne!(sealed, key.seal("EAAG-secret-token"), "a fresh nonce each time");
        assert_eq!(key.open(&sealed).unwrap(), "EAAG-secret-token");
        let other = SecretKey::from_hex(&"cd".repeat(32)).unwrap();
        assert!(other.open(&sealed).unwrap_err().to_string().contains("key"));
        assert!(key.open("EAAG-plain").is_err());
        assert!(SecretKey::from_hex("abcd").is_err());
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_by_secret_and_are_stable() {
        let key = SecretKey::from_hex(&"ab".repeat(32)).unwrap();
        let other = SecretKey::from_hex(&"cd".repeat(32)).unwrap();
        let a = key.derive("linked session n1");
        assert_eq!(a, key.derive("linked session n1"), "the same purpose gives the same key after a restart");
        assert_ne!(a, key.derive("linked session n2"));
        assert_ne!(a, other.derive("linked session n1"));
        assert_ne!(&a[..], &"ab".repeat(16).into_bytes()[..32], "not the secret key itself");
    }
}
