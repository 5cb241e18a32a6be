//! GraphQL of the accounts domain: register, login, refreshToken, logout, me, API keys,
//! and the `accountEvents` subscription.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt as _};

use super::{parse_uuid, principal, state};
use crate::{
    db::entities::{account, api_key},
    domain::accounts::{NewAccount, TokenPair},
    error::{AppError, AppResult},
    events::{AccountEventKind as DomainKind, Event},
};

/// A VisionFlow account.
pub struct Account(account::Model);

/// An account (visible to itself only).
#[Object]
impl Account {
    /// Account UUID (the documents' `account_uuid`).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Username as registered.
    async fn username(&self) -> &str {
        &self.0.username
    }

    /// E-mail address.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// Registration time (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The account's API keys, newest first.
    async fn api_keys(&self, ctx: &Context<'_>) -> AppResult<Vec<ApiKey>> {
        let keys = state(ctx)?.accounts.api_keys(self.0.id).await?;
        Ok(keys.into_iter().map(ApiKey).collect())
    }
}

/// An API key (the secret itself is shown once, at creation).
pub struct ApiKey(api_key::Model);

/// An API key's metadata.
#[Object]
impl ApiKey {
    /// Key id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The device (UUID) the key is bound to.
    async fn device_id(&self) -> Option<ID> {
        self.0.device_id.map(|d| ID(d.to_string()))
    }

    /// Name given by the owner.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// First characters of the key, to recognise it.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }

    /// Granted scopes (`*` = all).
    async fn scopes(&self) -> Vec<String> {
        serde_json::from_value(self.0.scopes.clone()).unwrap_or_default()
    }

    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Last authenticated use (precision: one minute).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    /// Expiry, if any.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }

    /// Revocation time, if revoked.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    /// Whether the key authenticates now (not revoked, not expired).
    async fn active(&self) -> bool {
        self.0.revoked_at.is_none() && self.0.expires_at.is_none_or(|e| e > Utc::now())
    }
}

/// A new key: `key` is the secret, shown only in this answer.
#[derive(SimpleObject)]
pub struct CreatedApiKey {
    /// The secret, to send as `X-API-Key` (or `Authorization: Bearer`).
    key: String,
    /// Its metadata.
    api_key: ApiKey,
}

/// Tokens issued by `login` and `refreshToken`.
pub struct AuthPayload(TokenPair);

/// An access + refresh token pair.
#[Object]
impl AuthPayload {
    /// JWT access token for `Authorization: Bearer`.
    async fn access_token(&self) -> &str {
        &self.0.access_token
    }

    /// Single-use JWT refresh token for `refreshToken`.
    async fn refresh_token(&self) -> &str {
        &self.0.refresh_token
    }

    /// Always `Bearer`.
    async fn token_type(&self) -> &'static str {
        "Bearer"
    }

    /// Access-token lifetime, seconds.
    async fn expires_in(&self) -> u64 {
        self.0.expires_in
    }

    /// The account the tokens belong to.
    async fn account(&self, ctx: &Context<'_>) -> AppResult<Account> {
        Ok(Account(
            state(ctx)?.accounts.account(self.0.account_id).await?,
        ))
    }
}

/// Registration data.
#[derive(InputObject)]
pub struct RegisterInput {
    /// 3–32 letters, digits, `_`, `.` or `-`.
    username: String,
    /// E-mail address.
    email: String,
    /// 8–128 characters.
    password: String,
}

/// Login data.
#[derive(InputObject)]
pub struct LoginInput {
    /// Username or e-mail.
    username: String,
    /// Password.
    password: String,
}

/// A new API key's settings.
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// Name, 1–100 characters.
    name: String,
    /// Scopes (default `["*"]`), e.g. `device:read`, `parking:write`.
    scopes: Option<Vec<String>>,
    /// Days until it expires (1–3650); never when absent.
    expires_in_days: Option<i32>,
    /// Bind the key to one device (UUID): it reaches only that device.
    device_id: Option<ID>,
}

/// Account queries.
#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The authenticated account.
    async fn me(&self, ctx: &Context<'_>) -> AppResult<Account> {
        let p = principal(ctx)?;
        Ok(Account(state(ctx)?.accounts.account(p.account_id).await?))
    }

    /// The authenticated account's API keys, newest first.
    async fn api_keys(&self, ctx: &Context<'_>) -> AppResult<Vec<ApiKey>> {
        let p = principal(ctx)?;
        let keys = state(ctx)?.accounts.api_keys(p.account_id).await?;
        Ok(keys.into_iter().map(ApiKey).collect())
    }
}

/// Account mutations.
#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account. Errors: `BAD_USER_INPUT` (per-field), `CONFLICT`
    /// (`USERNAME_TAKEN`, `EMAIL_TAKEN`).
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> AppResult<Account> {
        let account = state(ctx)?
            .accounts
            .register(NewAccount {
                username: input.username,
                email: input.email,
                password: input.password,
            })
            .await?;
        Ok(Account(account))
    }

    /// Logs in with username (or e-mail) and password. Errors: `UNAUTHENTICATED`
    /// (`INVALID_CREDENTIALS`).
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> AppResult<AuthPayload> {
        let pair = state(ctx)?
            .accounts
            .login(&input.username, input.password)
            .await?;
        Ok(AuthPayload(pair))
    }

    /// Exchanges a refresh token for a new pair; the old refresh token is spent. Errors:
    /// `UNAUTHENTICATED` (`INVALID_TOKEN`).
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> AppResult<AuthPayload> {
        Ok(AuthPayload(
            state(ctx)?.accounts.refresh(&refresh_token).await?,
        ))
    }

    /// Revokes a refresh token and every token rotated from the same login. True when the
    /// token was known.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<bool> {
        state(ctx)?.accounts.logout(&refresh_token).await
    }

    /// Creates an API key; the answer is the only time the key is shown.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> AppResult<CreatedApiKey> {
        let p = principal(ctx)?;
        let created = state(ctx)?
            .accounts
            .create_api_key(
                p,
                &input.name,
                input.scopes.unwrap_or_default(),
                input.expires_in_days,
                input
                    .device_id
                    .as_ref()
                    .map(|d| parse_uuid("deviceId", d))
                    .transpose()?,
            )
            .await?;
        Ok(CreatedApiKey {
            key: created.key,
            api_key: ApiKey(created.row),
        })
    }

    /// Revokes one of the account's API keys (idempotent). Errors: `NOT_FOUND`.
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> AppResult<ApiKey> {
        let p = principal(ctx)?;
        let id = parse_uuid("id", &id)?;
        Ok(ApiKey(state(ctx)?.accounts.revoke_api_key(p, id).await?))
    }
}

/// Kinds of account event.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AccountEventKind {
    /// A login issued tokens.
    LoggedIn,
    /// An API key was created.
    ApiKeyCreated,
    /// An API key was revoked.
    ApiKeyRevoked,
}

/// Something that happened to the subscriber's account.
#[derive(SimpleObject, Debug)]
pub struct AccountEvent {
    /// What happened.
    kind: AccountEventKind,
    /// The API key concerned, if any.
    api_key_id: Option<ID>,
    /// When (UTC).
    occurred_at: DateTime<Utc>,
}

/// Account subscriptions.
#[derive(Default)]
pub struct AccountSubscription;

#[Subscription]
impl AccountSubscription {
    /// Events of the authenticated account: logins and API-key changes.
    async fn account_events(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = AccountEvent> + use<>, AppError> {
        let me = principal(ctx)?.account_id;
        let events = state(ctx)?.bus.subscribe();
        Ok(events.filter_map(move |event| async move {
            match event {
                Event::Account {
                    account_id,
                    kind,
                    api_key_id,
                    at,
                } if account_id == me => Some(AccountEvent {
                    kind: match kind {
                        DomainKind::LoggedIn => AccountEventKind::LoggedIn,
                        DomainKind::ApiKeyCreated => AccountEventKind::ApiKeyCreated,
                        DomainKind::ApiKeyRevoked => AccountEventKind::ApiKeyRevoked,
                    },
                    api_key_id: api_key_id.map(|id| ID(id.to_string())),
                    occurred_at: at,
                }),
                _ => None,
            }
        }))
    }
}
