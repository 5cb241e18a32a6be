//! Secrets at rest and signed links: [`SecretBox`] seals stored credentials (LINE channel
//! tokens, webhook secrets, later RTSP passwords) with XChaCha20-Poly1305 (RustCrypto's
//! `chacha20poly1305`, a random 192-bit nonce per value) and signs e-mail verification links
//! with HMAC-SHA256 under a key derived from the same master key.
//!
//! The master key is 32 bytes: `secrets.key` (base64, e.g. `VISIONFLOW_SECRETS__KEY`) or,
//! when unset, `<data_dir>/secret.key`, created once with mode 0600. Losing it makes the
//! sealed values unreadable (they must be entered again); it never leaves the process.

use std::path::Path;

use anyhow::Context as _;
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use chacha20poly1305::{Key, KeyInit as _, XChaCha20Poly1305, XNonce, aead::Aead as _};
use hmac::{Hmac, Mac as _};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;

const PREFIX: &str = "v1.";

/// Seals and opens stored secrets; signs and checks short messages.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    mac_key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <Hmac<Sha256>>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

impl SecretBox {
    /// A box over a 32-byte master key.
    pub fn new(master: &[u8; 32]) -> Self {
        // Separate keys for sealing and signing, derived by HMAC (one master key to keep).
        let seal = hmac(master, &[b"visionflow seal v1"]);
        let mac_key = hmac(master, &[b"visionflow sign v1"]);
        Self {
            cipher: XChaCha20Poly1305::new(&Key::from(seal)),
            mac_key,
        }
    }

    /// The configured key (base64 of 32 bytes), else `<data_dir>/secret.key` (created
    /// with a random key when missing).
    ///
    /// # Errors
    /// A configured key that is not base64 of 32 bytes; the key file cannot be read or
    /// created.
    pub fn load(configured: Option<&SecretString>, data_dir: &Path) -> anyhow::Result<Self> {
        let decode = |s: &str, what: &str| -> anyhow::Result<[u8; 32]> {
            let bytes = B64
                .decode(s.trim())
                .with_context(|| format!("{what} is not base64"))?;
            bytes
                .try_into()
                .map_err(|_| anyhow::anyhow!("{what} must be 32 bytes (base64)"))
        };
        let key = match configured {
            Some(s) => decode(s.expose_secret(), "secrets.key")?,
            None => {
                let path = data_dir.join("secret.key");
                if path.exists() {
                    let s = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    decode(&s, &path.display().to_string())?
                } else {
                    let mut k = [0u8; 32];
                    rand::fill(&mut k[..]);
                    crate::auth::secret::write_private(&path, &B64.encode(k))?;
                    k
                }
            }
        };
        Ok(Self::new(&key))
    }

    /// Seals `plain`: `v1.` + base64(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::fill(&mut nonce[..]);
        let ct = self
            .cipher
            .encrypt(&XNonce::from(nonce), plain.as_bytes())
            .expect("XChaCha20-Poly1305 encrypts any length we store");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// Opens a value [`SecretBox::seal`] produced.
    ///
    /// # Errors
    /// Not a sealed value, sealed under another key, or tampered with.
    pub fn open(&self, sealed: &str) -> anyhow::Result<String> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|b| b.len() > 24)
            .context("not a sealed value")?;
        let (nonce, ct) = raw.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().context("nonce")?;
        let plain = self
            .cipher
            .decrypt(&XNonce::from(nonce), ct)
            .map_err(|_| anyhow::anyhow!("sealed value does not open (other key or altered)"))?;
        String::from_utf8(plain).context("sealed value is not UTF-8")
    }

    /// HMAC-SHA256 of `msg` under the signing key, base64url without padding.
    pub fn sign(&self, msg: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(hmac(&self.mac_key, &[msg.as_bytes()]))
    }

    /// Whether `sig` is [`SecretBox::sign`] of `msg` (constant-time comparison).
    pub fn verify(&self, msg: &str, sig: &str) -> bool {
        let Ok(given) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        let mut m = <Hmac<Sha256>>::new_from_slice(&self.mac_key).expect("any key length");
        m.update(msg.as_bytes());
        m.verify_slice(&given).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_opens_and_detects_tampering() {
        let b = SecretBox::new(&[7; 32]);
        let s = b.seal("AbCdEf1234567890GhIjKl1234567890");
        assert!(s.starts_with("v1."));
        assert!(!s.contains("AbCdEf"));
        assert_ne!(s, b.seal("AbCdEf1234567890GhIjKl1234567890"), "fresh nonce");
        assert_eq!(
            b.open(&s).expect("test value"),
            "AbCdEf1234567890GhIjKl1234567890"
        );
        let mut raw = B64.decode(&s[3..]).expect("test value");
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(b.open(&format!("v1.{}", B64.encode(raw))).is_err());
        assert!(SecretBox::new(&[8; 32]).open(&s).is_err(), "other key");
    }

    #[test]
    fn signatures_verify_only_for_their_message() {
        let b = SecretBox::new(&[1; 32]);
        let sig = b.sign("recipient:3:a@example.com");
        assert!(b.verify("recipient:3:a@example.com", &sig));
        assert!(!b.verify("recipient:4:a@example.com", &sig));
        assert!(!SecretBox::new(&[2; 32]).verify("recipient:3:a@example.com", &sig));
    }

    #[test]
    fn key_file_is_created_once() {
        let dir = tempfile::tempdir().expect("test value");
        let a = SecretBox::load(None, dir.path()).expect("test value");
        let s = a.seal("x");
        let b = SecretBox::load(None, dir.path()).expect("test value");
        assert_eq!(b.open(&s).expect("test value"), "x");
        let bad = SecretString::from("c2hvcnQ=");
        assert!(SecretBox::load(Some(&bad), dir.path()).is_err());
    }
}
