//! LINE tokens: `GET/POST /line_tokens` of monitor-api.zh-TW.txt, plus update and delete.
//! A token is a Messaging API channel access token (LINE Notify ended in 2025, ENDPOINTS.md)
//! with an optional `target_id` (push to that user or group; without one, broadcast). On add
//! LINE checks it (`GET /v2/bot/info`): refused → 422 and nothing stored; LINE unreachable →
//! stored with `verified: false` and checked again before its first message. Stored sealed;
//! answered as `token_hint` (`AbCdEf1234567890...`, the document's form).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, EntityTrait as _, QueryFilter as _,
    QueryOrder as _,
};
use uuid::Uuid;

use super::{ChannelService, notification_types};
use crate::{
    auth::secret::digest,
    db::{self, entities::line_token},
    delivery::line::Verify,
    domain::validate::{Errors, name},
    error::{AppError, AppResult},
};

/// Longest token, characters (LINE's long-lived tokens are 172).
pub const MAX_TOKEN: usize = 1000;

/// Fields of a token to add or change (`None` keeps / defaults).
#[derive(Debug, Clone, Default)]
pub struct LineTokenInput {
    /// The channel access token (required on add).
    pub token: Option<String>,
    /// Display name, 1–100 characters (required on add).
    pub name: Option<String>,
    /// User or group id to push to; blank = broadcast.
    pub target_id: Option<String>,
    /// `alerts`, `system_status`, `daily_reports` (default `["alerts"]`).
    pub notification_types: Option<Vec<String>>,
    /// Default true.
    pub active: Option<bool>,
}

/// The masked form: the first 16 characters (at most half the token) and `...`.
pub fn hint(token: &str) -> String {
    let n = token.chars().count().div_ceil(2).min(16);
    format!("{}...", token.chars().take(n).collect::<String>())
}

fn check_token(errs: &mut Errors, value: &str) -> String {
    let v = value.trim();
    if v.is_empty() {
        errs.add("token", "must not be blank");
    } else if v.chars().count() > MAX_TOKEN {
        errs.add("token", format!("must be at most {MAX_TOKEN} characters"));
    } else if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=-_.~".contains(&b))
    {
        errs.add("token", "may hold only letters, digits and + / = - _ . ~");
    }
    v.to_owned()
}

fn check_target(errs: &mut Errors, value: Option<&str>) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    if v.len() > 100 || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
        errs.add(
            "target_id",
            "must be a LINE user, group or room id (letters and digits, at most 100)",
        );
    }
    Some(v.to_owned())
}

impl ChannelService {
    /// The caller's tokens, oldest first.
    ///
    /// # Errors
    /// `INTERNAL`.
    pub async fn line_tokens(&self, account_id: Uuid) -> AppResult<Vec<line_token::Model>> {
        Ok(line_token::Entity::find()
            .filter(line_token::Column::AccountId.eq(account_id))
            .order_by_asc(line_token::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// One of the caller's tokens.
    ///
    /// # Errors
    /// `NOT_FOUND` (missing or another account's).
    pub async fn line_token(&self, account_id: Uuid, id: i32) -> AppResult<line_token::Model> {
        let q =
            line_token::Entity::find_by_id(id).filter(line_token::Column::AccountId.eq(account_id));
        db::one_or(&self.db, q, || {
            AppError::not_found("LINE Token 不存在或無權限訪問")
        })
        .await
    }

    async fn check_with_line(&self, token: &str) -> AppResult<bool> {
        match self.line.verify(token).await {
            Verify::Valid { .. } => Ok(true),
            Verify::Invalid(e) => Err(AppError::field(
                "token",
                format!("LINE refused the token ({e})"),
            )),
            Verify::Unreachable(e) => {
                tracing::warn!("LINE token stored unverified: {e}");
                Ok(false)
            }
        }
    }

    async fn token_taken(
        &self,
        account_id: Uuid,
        token_digest: &str,
        target: Option<&str>,
        except: Option<i32>,
    ) -> AppResult<()> {
        let same = line_token::Entity::find()
            .filter(line_token::Column::AccountId.eq(account_id))
            .filter(line_token::Column::TokenDigest.eq(token_digest))
            .all(&self.db)
            .await?
            .into_iter()
            .any(|t| Some(t.id) != except && t.target_id.as_deref() == target);
        if same {
            return Err(AppError::Conflict {
                reason: "TOKEN_EXISTS",
                message: "this token (and target) is already stored".into(),
            });
        }
        Ok(())
    }

    /// Adds a token after LINE checked it.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` naming the field (a refused token included; nothing stored);
    /// `CONFLICT` `TOKEN_EXISTS`.
    pub async fn add_line_token(
        &self,
        account_id: Uuid,
        input: LineTokenInput,
    ) -> AppResult<line_token::Model> {
        let mut errs = Errors::default();
        let token = match input.token.as_deref() {
            Some(t) => check_token(&mut errs, t),
            None => {
                errs.add("token", "is required");
                String::new()
            }
        };
        let label = match input.name.as_deref() {
            Some(n) => name(&mut errs, "name", n, 100),
            None => {
                errs.add("name", "is required");
                String::new()
            }
        };
        let target = check_target(&mut errs, input.target_id.as_deref());
        let types = notification_types(
            &mut errs,
            "notification_types",
            input.notification_types.as_deref(),
        );
        errs.finish()?;
        let token_digest = digest(&token);
        self.token_taken(account_id, &token_digest, target.as_deref(), None)
            .await?;
        let verified = self.check_with_line(&token).await?;
        let now = Utc::now();
        Ok(line_token::ActiveModel {
            account_id: Set(account_id),
            name: Set(label),
            token_sealed: Set(self.secrets.seal(&token)),
            token_hint: Set(hint(&token)),
            token_digest: Set(token_digest),
            target_id: Set(target),
            notification_types: Set(types),
            active: Set(input.active.unwrap_or(true)),
            verified: Set(verified),
            created_at: Set(now),
            updated_at: Set(now),
            last_used: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await?)
    }

    /// Changes a token's fields; a new token is checked with LINE like on add.
    ///
    /// # Errors
    /// `NOT_FOUND`; `BAD_USER_INPUT`; `CONFLICT` `TOKEN_EXISTS`.
    pub async fn update_line_token(
        &self,
        account_id: Uuid,
        id: i32,
        input: LineTokenInput,
    ) -> AppResult<line_token::Model> {
        let old = self.line_token(account_id, id).await?;
        let mut errs = Errors::default();
        let token = input.token.as_deref().map(|t| check_token(&mut errs, t));
        let label = input
            .name
            .as_deref()
            .map(|n| name(&mut errs, "name", n, 100));
        let target = input
            .target_id
            .as_deref()
            .map(|t| check_target(&mut errs, Some(t)));
        let types = input
            .notification_types
            .as_deref()
            .map(|t| notification_types(&mut errs, "notification_types", Some(t)));
        errs.finish()?;
        let new_digest = token.as_deref().map(digest);
        let digest_now = new_digest
            .clone()
            .unwrap_or_else(|| old.token_digest.clone());
        let target_now = target.clone().unwrap_or_else(|| old.target_id.clone());
        if new_digest.is_some() || target.is_some() {
            self.token_taken(account_id, &digest_now, target_now.as_deref(), Some(id))
                .await?;
        }
        let mut row: line_token::ActiveModel = old.into();
        if let Some(t) = &token {
            row.verified = Set(self.check_with_line(t).await?);
            row.token_sealed = Set(self.secrets.seal(t));
            row.token_hint = Set(hint(t));
            row.token_digest = Set(digest_now);
        }
        if let Some(l) = label {
            row.name = Set(l);
        }
        if target.is_some() {
            row.target_id = Set(target_now);
        }
        if let Some(t) = types {
            row.notification_types = Set(t);
        }
        if let Some(a) = input.active {
            row.active = Set(a);
        }
        row.updated_at = Set(Utc::now());
        Ok(row.update(&self.db).await?)
    }

    /// Deletes a token; its pending deliveries fail as removed. Answers its id.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn delete_line_token(&self, account_id: Uuid, id: i32) -> AppResult<i32> {
        self.line_token(account_id, id).await?;
        line_token::Entity::delete_by_id(id).exec(&self.db).await?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::hint;

    #[test]
    fn hint_is_the_documents_mask() {
        assert_eq!(
            hint("AbCdEf1234567890GhIjKl1234567890"),
            "AbCdEf1234567890..."
        );
        assert_eq!(hint("abcd"), "ab...");
    }
}
