//! Access and refresh JWTs (RFC 7519), HS256 via `jsonwebtoken`.

use std::path::Path;

use anyhow::Context as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a token is for; an access token is refused where a refresh token is expected and
/// the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// Short-lived bearer credential.
    Access,
    /// Long-lived, single-use credential for a new pair.
    Refresh,
}

/// Claims of both kinds of token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Account UUID.
    pub sub: Uuid,
    /// Token id (for refresh tokens: the `refresh_tokens` row).
    pub jti: Uuid,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issuer: always `visionflow`.
    pub iss: String,
    /// Kind.
    pub typ: TokenKind,
}

const ISSUER: &str = "visionflow";

/// Signs and verifies tokens with one HMAC key.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    /// Keys from the configured secret, or from `<data_dir>/jwt.key`, created with a random
    /// 256-bit secret (mode 0600) on first start.
    ///
    /// # Errors
    /// The key file cannot be read or written, or the configured secret is shorter than
    /// 32 bytes.
    pub fn load(configured: Option<&SecretString>, data_dir: &Path) -> anyhow::Result<Self> {
        let secret = match configured {
            Some(s) => {
                anyhow::ensure!(
                    s.expose_secret().len() >= 32,
                    "auth.jwt_secret must be at least 32 bytes"
                );
                s.expose_secret().as_bytes().to_vec()
            }
            None => {
                let path = data_dir.join("jwt.key");
                if path.exists() {
                    let s = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    s.trim().as_bytes().to_vec()
                } else {
                    let s = super::secret::random_token(64);
                    super::secret::write_private(&path, &s)?;
                    s.into_bytes()
                }
            }
        };
        Ok(Self {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
        })
    }

    /// Signs a token for `sub` valid for `ttl_secs` seconds.
    ///
    /// # Errors
    /// Serialisation failure (does not happen with these claims).
    pub fn issue(
        &self,
        kind: TokenKind,
        sub: Uuid,
        jti: Uuid,
        ttl_secs: u64,
    ) -> anyhow::Result<(String, Claims)> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub,
            jti,
            iat: now,
            exp: now + i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2),
            iss: ISSUER.into(),
            typ: kind,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// Verifies signature, algorithm (HS256 only), issuer, expiry (no leeway) and kind.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "sub", "iss"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .ok()
            .map(|d| d.claims)
            .filter(|c| c.typ == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> JwtKeys {
        JwtKeys::load(Some(&SecretString::from(secret)), Path::new("/nonexistent")).expect("keys")
    }

    #[test]
    fn round_trip_and_kind_check() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let sub = Uuid::new_v4();
        let (t, _) = k
            .issue(TokenKind::Access, sub, Uuid::new_v4(), 60)
            .expect("issue");
        assert_eq!(k.verify(&t, TokenKind::Access).expect("valid").sub, sub);
        assert!(k.verify(&t, TokenKind::Refresh).is_none());
    }

    #[test]
    fn forged_expired_and_short_keys_fail() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let other = keys("ffffffffffffffffffffffffffffffff");
        let (t, _) = other
            .issue(TokenKind::Access, Uuid::new_v4(), Uuid::new_v4(), 60)
            .expect("issue");
        assert!(k.verify(&t, TokenKind::Access).is_none(), "forged");
        let (t, _) = k
            .issue(TokenKind::Access, Uuid::new_v4(), Uuid::new_v4(), 0)
            .expect("issue");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(k.verify(&t, TokenKind::Access).is_none(), "expired");
        assert!(k.verify("not.a.jwt", TokenKind::Access).is_none());
        assert!(JwtKeys::load(Some(&SecretString::from("short")), Path::new("/x")).is_err());
    }
}
