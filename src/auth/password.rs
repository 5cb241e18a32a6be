//! Argon2id password hashing (RFC 9106; OWASP parameters by default), run off the async
//! runtime with `spawn_blocking`.

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash},
};

use crate::error::{AppError, AppResult};

/// Hashes and verifies passwords with fixed Argon2id parameters.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A hash of a random password, verified when a username is unknown so that a failed
    /// login takes the same time whether or not the account exists.
    dummy_hash: String,
}

impl PasswordHasher {
    /// Builds a hasher with `memory_kib` KiB and `iterations` passes, parallelism 1.
    ///
    /// # Errors
    /// Parameters outside Argon2's limits.
    pub fn new(memory_kib: u32, iterations: u32) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let mut hasher = Self {
            params,
            dummy_hash: String::new(),
        };
        hasher.dummy_hash = hasher.hash_blocking(&crate::auth::secret::random_token(16))?;
        Ok(hasher)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash_blocking(&self, password: &str) -> anyhow::Result<String> {
        self.argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
    }

    /// Hashes a password into a PHC string (`$argon2id$v=19$m=…`).
    ///
    /// # Errors
    /// Internal: the blocking task failed.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.hash_blocking(&password))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::internal)
    }

    /// Verifies a password against a PHC string; `None` verifies against a dummy hash and
    /// returns false (constant work for unknown users).
    ///
    /// # Errors
    /// Internal: the blocking task failed.
    pub async fn verify(&self, password: String, phc: Option<String>) -> AppResult<bool> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let known = phc.is_some();
            let phc = phc.unwrap_or_else(|| this.dummy_hash.clone());
            let ok = PasswordHash::new(&phc)
                .map(|parsed| {
                    this.argon2()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            known && ok
        })
        .await
        .map_err(AppError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let h = PasswordHasher::new(1024, 1).expect("params");
        let a = h.hash("correct horse".into()).await.expect("hash");
        let b = h.hash("correct horse".into()).await.expect("hash");
        assert!(a.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "salts differ");
        assert!(
            h.verify("correct horse".into(), Some(a.clone()))
                .await
                .expect("v")
        );
        assert!(!h.verify("wrong".into(), Some(a)).await.expect("v"));
        assert!(!h.verify("anything".into(), None).await.expect("v"));
    }
}
