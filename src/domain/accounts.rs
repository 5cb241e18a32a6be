//! Accounts: registration, login, refresh-token rotation, API keys.
//!
//! Source: monitor-api.zh-TW.txt ("使用者註冊", "使用者登入", `POST /token/refresh`) and the
//! auth decision of `../shared/spec/ENDPOINTS.md`. Validation happens here, at the boundary,
//! before anything is written; every multi-row write runs in one transaction and events are
//! published after it commits.

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseConnection,
    EntityTrait as _, QueryFilter as _, QueryOrder as _, SqlErr, TransactionTrait as _,
    sea_query::Expr,
};
use unicode_normalization::UnicodeNormalization as _;
use uuid::Uuid;

use crate::{
    auth::{
        API_KEY_PREFIX, Credential, Principal, SCOPES,
        jwt::{JwtKeys, TokenKind},
        password::PasswordHasher,
        secret,
    },
    config::AuthSettings,
    db::entities::{account, api_key, refresh_token},
    error::{AppError, AppResult},
    events::{AccountEventKind, Event, EventBus},
};

/// Registration input, as received.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// 3–32 letters, digits, `_`, `.` or `-` (any script), NFKC-normalised.
    pub username: String,
    /// An e-mail address.
    pub email: String,
    /// 8–128 characters.
    pub password: String,
}

/// A freshly issued access + refresh token pair.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// JWT access token.
    pub access_token: String,
    /// JWT refresh token (single use).
    pub refresh_token: String,
    /// Access-token lifetime, seconds.
    pub expires_in: u64,
    /// The account.
    pub account_id: Uuid,
}

/// A new API key; `key` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    /// The secret key (`vf_…`).
    pub key: String,
    /// The stored row.
    pub row: api_key::Model,
}

/// The accounts service.
#[derive(Clone)]
pub struct AccountService {
    db: DatabaseConnection,
    hasher: PasswordHasher,
    keys: JwtKeys,
    settings: AuthSettings,
    bus: Arc<dyn EventBus>,
    failures: Arc<LoginThrottle>,
}

/// Failed logins per login name within a sliding window; a name with too many recent
/// failures is refused (`RATE_LIMITED`) until the oldest one ages out, whatever the
/// password. In memory, per process: it slows online guessing, it is not an audit log.
#[derive(Default)]
pub struct LoginThrottle {
    recent: std::sync::Mutex<
        std::collections::HashMap<String, std::collections::VecDeque<std::time::Instant>>,
    >,
}

/// Failed logins allowed per name within [`LOGIN_WINDOW`].
pub const LOGIN_MAX_FAILURES: usize = 5;
/// The sliding window of [`LoginThrottle`].
pub const LOGIN_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl LoginThrottle {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<String, std::collections::VecDeque<std::time::Instant>>,
    > {
        self.recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Seconds until `name` may try again, if it is throttled now.
    fn retry_after(&self, name: &str) -> Option<u64> {
        let now = std::time::Instant::now();
        let mut map = self.lock();
        let q = map.get_mut(name)?;
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= LOGIN_WINDOW)
        {
            q.pop_front();
        }
        if q.len() < LOGIN_MAX_FAILURES {
            return None;
        }
        let oldest = *q.front()?;
        Some((LOGIN_WINDOW - now.duration_since(oldest)).as_secs().max(1))
    }

    fn fail(&self, name: &str) {
        let now = std::time::Instant::now();
        let mut map = self.lock();
        if map.len() > 100_000 {
            // Bound memory under a spray of names: forget names with no recent failure.
            map.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < LOGIN_WINDOW)
            });
        }
        let q = map.entry(name.to_owned()).or_default();
        q.push_back(now);
        while q.len() > LOGIN_MAX_FAILURES {
            q.pop_front();
        }
    }

    fn succeed(&self, name: &str) {
        self.lock().remove(name);
    }
}

/// Longest username, characters.
pub const USERNAME_MAX: usize = 32;
/// Longest password, characters (longer ones only cost hashing time).
pub const PASSWORD_MAX: usize = 128;

impl AccountService {
    /// Builds the service.
    pub fn new(
        db: DatabaseConnection,
        hasher: PasswordHasher,
        keys: JwtKeys,
        settings: AuthSettings,
        bus: Arc<dyn EventBus>,
    ) -> Self {
        Self {
            db,
            hasher,
            keys,
            settings,
            bus,
            failures: Arc::default(),
        }
    }

    /// The JWT keys (for verifying access tokens).
    pub fn keys(&self) -> &JwtKeys {
        &self.keys
    }

    /// Creates an account.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` with per-field messages; `CONFLICT` (`USERNAME_TAKEN`,
    /// `EMAIL_TAKEN`) when the username or e-mail is registered already (compared
    /// case-insensitively).
    #[tracing::instrument(skip_all, fields(username = %input.username))]
    pub async fn register(&self, input: NewAccount) -> AppResult<account::Model> {
        let mut errors = BTreeMap::new();
        let username = check(&mut errors, "username", validate_username(&input.username));
        let email = check(&mut errors, "email", validate_email(&input.email));
        check(&mut errors, "password", validate_password(&input.password));
        AppError::fields(errors)?;
        let (username, email) = (username.unwrap_or_default(), email.unwrap_or_default());
        let username_key = username.to_lowercase();
        let email_key = email.to_lowercase();

        if account::Entity::find()
            .filter(account::Column::UsernameKey.eq(&username_key))
            .one(&self.db)
            .await?
            .is_some()
        {
            return Err(username_taken());
        }
        if account::Entity::find()
            .filter(account::Column::EmailKey.eq(&email_key))
            .one(&self.db)
            .await?
            .is_some()
        {
            return Err(email_taken());
        }
        let hash = self.hasher.hash(input.password).await?;
        let now = Utc::now();
        let row = account::ActiveModel {
            id: Set(Uuid::new_v4()),
            username: Set(username),
            username_key: Set(username_key),
            email: Set(email),
            email_key: Set(email_key),
            password_hash: Set(hash),
            created_at: Set(now),
            updated_at: Set(now),
        };
        match row.insert(&self.db).await {
            Ok(model) => Ok(model),
            // Two registrations raced past the checks above: the unique index decides.
            Err(e) => match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(msg)) if msg.contains("email") => {
                    Err(email_taken())
                }
                Some(SqlErr::UniqueConstraintViolation(_)) => Err(username_taken()),
                _ => Err(e.into()),
            },
        }
    }

    /// Checks a username (or e-mail) and password and issues a token pair.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` (`INVALID_CREDENTIALS`) for an unknown user or a wrong password,
    /// in the same time either way; `RATE_LIMITED` (with `retryAfter`, seconds) after
    /// [`LOGIN_MAX_FAILURES`] failures for the same name within [`LOGIN_WINDOW`];
    /// `BAD_USER_INPUT` for empty fields.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, username: &str, password: String) -> AppResult<TokenPair> {
        if username.trim().is_empty() {
            return Err(AppError::field("username", "this field may not be blank"));
        }
        if password.is_empty() {
            return Err(AppError::field("password", "this field may not be blank"));
        }
        let key = username.trim().nfkc().collect::<String>().to_lowercase();
        if let Some(retry_after) = self.failures.retry_after(&key) {
            return Err(AppError::RateLimited { retry_after });
        }
        let column = if key.contains('@') {
            account::Column::EmailKey
        } else {
            account::Column::UsernameKey
        };
        let found = if key.chars().count() > 254 {
            None
        } else {
            account::Entity::find()
                .filter(column.eq(&key))
                .one(&self.db)
                .await?
        };
        let ok = self
            .hasher
            .verify(password, found.as_ref().map(|a| a.password_hash.clone()))
            .await?;
        let account = match (ok, found) {
            (true, Some(a)) => a,
            _ => {
                self.failures.fail(&key);
                return Err(AppError::Unauthenticated {
                    reason: "INVALID_CREDENTIALS",
                    message: "Invalid username or password".into(),
                });
            }
        };
        self.failures.succeed(&key);
        let pair = self
            .issue_pair(&self.db, account.id, Uuid::new_v4())
            .await?;
        self.publish(account.id, AccountEventKind::LoggedIn, None);
        Ok(pair)
    }

    /// Exchanges a refresh token for a new pair. The presented token is spent; presenting a
    /// spent token again revokes its whole family (theft detection, RFC 6819 §5.2.2.3).
    ///
    /// # Errors
    /// `UNAUTHENTICATED` (`INVALID_TOKEN`) for a malformed, forged, expired, spent or
    /// revoked token.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, token: &str) -> AppResult<TokenPair> {
        let claims = self
            .keys
            .verify(token, TokenKind::Refresh)
            .ok_or_else(AppError::invalid_token)?;
        let row = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(secret::digest(token)))
            .one(&self.db)
            .await?
            .filter(|r| r.id == claims.jti && r.account_id == claims.sub)
            .ok_or_else(AppError::invalid_token)?;
        let now = Utc::now();
        if row.revoked_at.is_some() || row.expires_at <= now {
            return Err(AppError::invalid_token());
        }
        if row.used_at.is_some() {
            tracing::warn!(family = %row.family_id, "refresh token reused; revoking its family");
            revoke_family(&self.db, row.family_id, now).await?;
            return Err(AppError::invalid_token());
        }
        // One transaction: spend the old token, store the new one. Dropping `txn` on an
        // error path rolls both back.
        let txn = self.db.begin().await?;
        // The conditions make a concurrent second use of the same token lose.
        let spent = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(row.id))
            .filter(refresh_token::Column::UsedAt.is_null())
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        if spent.rows_affected != 1 {
            return Err(AppError::invalid_token());
        }
        let pair = self.issue_pair(&txn, row.account_id, row.family_id).await?;
        txn.commit().await?;
        Ok(pair)
    }

    /// Revokes the family of a refresh token (logout). Unknown tokens are ignored.
    ///
    /// # Errors
    /// Internal database failures only.
    pub async fn logout(&self, token: &str) -> AppResult<bool> {
        let Some(row) = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(secret::digest(token)))
            .one(&self.db)
            .await?
        else {
            return Ok(false);
        };
        revoke_family(&self.db, row.family_id, Utc::now()).await?;
        Ok(true)
    }

    async fn issue_pair(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        account_id: Uuid,
        family_id: Uuid,
    ) -> AppResult<TokenPair> {
        let (access_token, _) = self.keys.issue(
            TokenKind::Access,
            account_id,
            Uuid::new_v4(),
            self.settings.access_token_ttl_secs,
        )?;
        let jti = Uuid::new_v4();
        let (refresh, claims) = self.keys.issue(
            TokenKind::Refresh,
            account_id,
            jti,
            self.settings.refresh_token_ttl_secs,
        )?;
        let now = Utc::now();
        refresh_token::ActiveModel {
            id: Set(jti),
            account_id: Set(account_id),
            family_id: Set(family_id),
            token_hash: Set(secret::digest(&refresh)),
            expires_at: Set(DateTime::from_timestamp(claims.exp, 0).unwrap_or(now)),
            created_at: Set(now),
            used_at: Set(None),
            revoked_at: Set(None),
        }
        .insert(db)
        .await?;
        Ok(TokenPair {
            access_token,
            refresh_token: refresh,
            expires_in: self.settings.access_token_ttl_secs,
            account_id,
        })
    }

    /// One account.
    ///
    /// # Errors
    /// `NOT_FOUND` when it does not exist (e.g. deleted while a token was still valid).
    pub async fn account(&self, id: Uuid) -> AppResult<account::Model> {
        account::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::not_found("Account not found"))
    }

    /// Creates an API key for the principal's account.
    ///
    /// `scopes`: members of [`SCOPES`]; empty means `["*"]`. `expires_in_days`: 1–3650 or
    /// none. `device_id`: bind the key to one of the account's devices (it then reaches only
    /// that device's `device:*` / `scene:*` operations).
    ///
    /// # Errors
    /// `FORBIDDEN` when an API key without `apikeys:write` asks; `BAD_USER_INPUT` for a
    /// blank or overlong name, an unknown scope or an out-of-range expiry.
    pub async fn create_api_key(
        &self,
        principal: &Principal,
        name: &str,
        scopes: Vec<String>,
        expires_in_days: Option<i32>,
        device_id: Option<Uuid>,
    ) -> AppResult<CreatedApiKey> {
        principal.require_scope("apikeys:write")?;
        let mut errors = BTreeMap::new();
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            errors.insert(
                "name".to_owned(),
                vec!["must be 1–100 characters without control characters".to_owned()],
            );
        }
        let unknown: Vec<_> = scopes
            .iter()
            .filter(|s| !SCOPES.contains(&s.as_str()))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            errors.insert(
                "scopes".to_owned(),
                vec![format!(
                    "unknown scopes {unknown:?}; known: {}",
                    SCOPES.join(", ")
                )],
            );
        }
        if expires_in_days.is_some_and(|d| !(1..=3650).contains(&d)) {
            errors.insert(
                "expiresInDays".to_owned(),
                vec!["must be between 1 and 3650".to_owned()],
            );
        }
        if let Some(d) = device_id {
            let owned = crate::db::entities::camera::live_rows()
                .filter(crate::db::entities::camera::Column::Uuid.eq(d))
                .filter(crate::db::entities::camera::Column::AccountId.eq(principal.account_id))
                .one(&self.db)
                .await?
                .is_some();
            if !owned {
                errors.insert("deviceId".to_owned(), vec!["no such device".to_owned()]);
            }
        }
        AppError::fields(errors)?;
        let mut scopes = if scopes.is_empty() {
            vec!["*".to_owned()]
        } else {
            scopes
        };
        scopes.sort();
        scopes.dedup();
        let key = format!("{API_KEY_PREFIX}{}", secret::random_token(43));
        let now = Utc::now();
        let row = api_key::ActiveModel {
            id: Set(Uuid::new_v4()),
            account_id: Set(principal.account_id),
            name: Set(name.to_owned()),
            prefix: Set(key.chars().take(10).collect()),
            key_hash: Set(secret::digest(&key)),
            scopes: Set(serde_json::json!(scopes)),
            created_at: Set(now),
            last_used_at: Set(None),
            expires_at: Set(expires_in_days.map(|d| now + Duration::days(i64::from(d)))),
            revoked_at: Set(None),
            device_id: Set(device_id),
        }
        .insert(&self.db)
        .await?;
        self.publish(
            principal.account_id,
            AccountEventKind::ApiKeyCreated,
            Some(row.id),
        );
        Ok(CreatedApiKey { key, row })
    }

    /// Revokes one of the principal's API keys (idempotent).
    ///
    /// # Errors
    /// `NOT_FOUND` for a key of another account or none; `FORBIDDEN` as for creation.
    pub async fn revoke_api_key(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> AppResult<api_key::Model> {
        principal.require_scope("apikeys:write")?;
        let row = api_key::Entity::find_by_id(id)
            .filter(api_key::Column::AccountId.eq(principal.account_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::NotFound {
                reason: Some("API_KEY_NOT_FOUND"),
                message: "API key not found".into(),
            })?;
        if row.revoked_at.is_some() {
            return Ok(row);
        }
        let mut active: api_key::ActiveModel = row.into();
        active.revoked_at = Set(Some(Utc::now()));
        let row = active.update(&self.db).await?;
        self.publish(
            principal.account_id,
            AccountEventKind::ApiKeyRevoked,
            Some(row.id),
        );
        Ok(row)
    }

    /// The account's API keys, newest first (revoked ones included, marked).
    ///
    /// # Errors
    /// Internal database failures only.
    pub async fn api_keys(&self, account_id: Uuid) -> AppResult<Vec<api_key::Model>> {
        Ok(api_key::Entity::find()
            .filter(api_key::Column::AccountId.eq(account_id))
            .order_by_desc(api_key::Column::CreatedAt)
            .all(&self.db)
            .await?)
    }

    /// Resolves an API key to its principal; `None` for unknown, revoked or expired keys.
    ///
    /// # Errors
    /// Internal database failures only.
    pub async fn verify_api_key(&self, key: &str) -> AppResult<Option<Principal>> {
        if !key.starts_with(API_KEY_PREFIX) || key.len() > 128 {
            return Ok(None);
        }
        let Some(row) = api_key::Entity::find()
            .filter(api_key::Column::KeyHash.eq(secret::digest(key)))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let now = Utc::now();
        if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
            return Ok(None);
        }
        if row
            .last_used_at
            .is_none_or(|t| now - t > Duration::seconds(60))
        {
            api_key::Entity::update_many()
                .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
                .filter(api_key::Column::Id.eq(row.id))
                .exec(&self.db)
                .await?;
        }
        let scopes = serde_json::from_value::<Vec<String>>(row.scopes).unwrap_or_default();
        Ok(Some(Principal {
            account_id: row.account_id,
            credential: Credential::ApiKey {
                id: row.id,
                scopes,
                device_id: row.device_id,
            },
        }))
    }

    fn publish(&self, account_id: Uuid, kind: AccountEventKind, api_key_id: Option<Uuid>) {
        self.bus.publish(Event::Account {
            account_id,
            kind,
            api_key_id,
            at: Utc::now(),
        });
    }
}

async fn revoke_family(
    db: &impl sea_orm::ConnectionTrait,
    family_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

fn username_taken() -> AppError {
    AppError::Conflict {
        reason: "USERNAME_TAKEN",
        message: "Username already exists".into(),
    }
}

fn email_taken() -> AppError {
    AppError::Conflict {
        reason: "EMAIL_TAKEN",
        message: "Email already registered".into(),
    }
}

fn check<T>(
    errors: &mut BTreeMap<String, Vec<String>>,
    field: &str,
    result: Result<T, String>,
) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(msg) => {
            errors.insert(field.to_owned(), vec![msg]);
            None
        }
    }
}

/// Normalises and checks a username: NFKC, 3–32 characters, letters and digits of any
/// script plus `_`, `.`, `-`; no spaces, controls, or invisible format characters.
///
/// # Errors
/// A message saying what is wrong.
pub fn validate_username(raw: &str) -> Result<String, String> {
    let name: String = raw.nfkc().collect();
    let len = name.chars().count();
    if len == 0 {
        return Err("this field may not be blank".into());
    }
    if !(3..=USERNAME_MAX).contains(&len) {
        return Err(format!("must be 3–{USERNAME_MAX} characters long"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "may contain only letters, digits, '_', '.' and '-' (found {:?})",
            c.escape_unicode().to_string()
        ));
    }
    Ok(name)
}

/// Checks an e-mail address: at most 254 bytes, one `@`, a non-empty local part of at
/// most 64 bytes, a dotted domain of letters, digits and hyphens (IDN as Unicode letters),
/// no whitespace or control characters.
///
/// # Errors
/// A message saying what is wrong.
pub fn validate_email(raw: &str) -> Result<String, String> {
    let email = raw.trim();
    if email.is_empty() {
        return Err("this field may not be blank".into());
    }
    let invalid = || Err("must be a valid e-mail address".to_owned());
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid();
    }
    let Some((local, domain)) = email.split_once('@') else {
        return invalid();
    };
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return invalid();
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
    {
        return invalid();
    }
    Ok(email.to_owned())
}

/// Checks a password: 8–128 characters, no control characters.
///
/// # Errors
/// A message saying what is wrong.
pub fn validate_password(raw: &str) -> Result<(), String> {
    let len = raw.chars().count();
    if len == 0 {
        return Err("this field may not be blank".into());
    }
    if !(8..=PASSWORD_MAX).contains(&len) {
        return Err(format!("must be 8–{PASSWORD_MAX} characters long"));
    }
    if raw.chars().any(char::is_control) {
        return Err("may not contain control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(validate_username("john_doe").as_deref(), Ok("john_doe"));
        assert_eq!(validate_username("王小明").as_deref(), Ok("王小明"));
        // Full-width letters fold to ASCII under NFKC.
        assert_eq!(validate_username("ｊｏｈｎ").as_deref(), Ok("john"));
        assert!(validate_username("ab").is_err());
        assert!(validate_username(&"a".repeat(33)).is_err());
        assert!(validate_username("john doe").is_err());
        assert!(
            validate_username("john\u{200b}doe").is_err(),
            "zero-width space"
        );
        assert!(validate_username("bad\u{0}name").is_err());
        assert!(validate_username("").is_err());
        assert!(validate_username("🙂🙂🙂").is_err());
    }

    #[test]
    fn emails() {
        assert!(validate_email("john@example.com").is_ok());
        assert!(validate_email("用户@例子.广告").is_ok());
        for bad in [
            "",
            "john",
            "john@",
            "@x.com",
            "a@b",
            "a@b..com",
            "a b@c.com",
            "a@-b.com",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        assert!(validate_email(&format!("{}@x.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn passwords() {
        assert!(validate_password("secure_password_123").is_ok());
        assert!(validate_password("short").is_err());
        assert!(validate_password(&"x".repeat(129)).is_err());
        assert!(validate_password("pass\nword1").is_err());
        assert!(validate_password("密碼密碼密碼密碼").is_ok());
    }
}
