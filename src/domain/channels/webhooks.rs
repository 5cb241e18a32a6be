//! Webhook endpoints (GraphQL only): URLs an account's events go to, signed the Standard
//! Webhooks way with a secret VisionFlow generates (`whsec_…`, answered once on creation,
//! stored sealed). `event_types` are the notification types.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, EntityTrait as _, QueryFilter as _,
    QueryOrder as _,
};
use uuid::Uuid;

use super::{ChannelService, notification_types};
use crate::{
    db::{self, entities::webhook_endpoint},
    delivery::webhook,
    domain::validate::{Errors, optional_text},
    error::{AppError, AppResult},
};

/// Fields of an endpoint to add or change (`None` keeps / defaults).
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    /// `http://` or `https://` URL (required on add), at most 2048 bytes.
    pub url: Option<String>,
    /// Free text, at most 200 characters.
    pub description: Option<String>,
    /// Notification types (default `["alerts"]`).
    pub event_types: Option<Vec<String>>,
    /// Default true.
    pub active: Option<bool>,
}

fn check_url(errs: &mut Errors, value: &str, allowed: &[String]) -> String {
    let v = value.trim();
    let host = url::Url::parse(v)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && v.len() <= 2048)
        .and_then(|u| u.host_str().map(str::to_owned));
    match host {
        None => errs.add(
            "url",
            "must be an http:// or https:// URL with a host, of at most 2048 bytes",
        ),
        Some(h) if !allowed.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(&h)) => {
            errs.add("url", format!("host {h} is not allowed here"));
        }
        Some(_) => {}
    }
    v.to_owned()
}

impl ChannelService {
    /// The caller's endpoints, oldest first.
    ///
    /// # Errors
    /// `INTERNAL`.
    pub async fn webhooks(&self, account_id: Uuid) -> AppResult<Vec<webhook_endpoint::Model>> {
        Ok(webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::AccountId.eq(account_id))
            .order_by_asc(webhook_endpoint::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// One of the caller's endpoints.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn webhook(&self, account_id: Uuid, id: i32) -> AppResult<webhook_endpoint::Model> {
        let q = webhook_endpoint::Entity::find_by_id(id)
            .filter(webhook_endpoint::Column::AccountId.eq(account_id));
        db::one_or(&self.db, q, || {
            AppError::not_found("webhook endpoint not found")
        })
        .await
    }

    /// Adds an endpoint; answers it and its signing secret (shown only here).
    ///
    /// # Errors
    /// `BAD_USER_INPUT` naming the field.
    pub async fn add_webhook(
        &self,
        account_id: Uuid,
        input: WebhookInput,
    ) -> AppResult<(webhook_endpoint::Model, String)> {
        let mut errs = Errors::default();
        let url = match input.url.as_deref() {
            Some(u) => check_url(&mut errs, u, &self.webhook_hosts),
            None => {
                errs.add("url", "is required");
                String::new()
            }
        };
        let description =
            optional_text(&mut errs, "description", input.description.as_deref(), 200);
        let types = notification_types(&mut errs, "event_types", input.event_types.as_deref());
        errs.finish()?;
        let secret = webhook::new_secret();
        let now = Utc::now();
        let row = webhook_endpoint::ActiveModel {
            account_id: Set(account_id),
            url: Set(url),
            description: Set(description),
            event_types: Set(types),
            secret_sealed: Set(self.secrets.seal(&secret)),
            active: Set(input.active.unwrap_or(true)),
            created_at: Set(now),
            updated_at: Set(now),
            last_used: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok((row, secret))
    }

    /// Changes an endpoint.
    ///
    /// # Errors
    /// `NOT_FOUND`; `BAD_USER_INPUT`.
    pub async fn update_webhook(
        &self,
        account_id: Uuid,
        id: i32,
        input: WebhookInput,
    ) -> AppResult<webhook_endpoint::Model> {
        let old = self.webhook(account_id, id).await?;
        let mut errs = Errors::default();
        let url = input
            .url
            .as_deref()
            .map(|u| check_url(&mut errs, u, &self.webhook_hosts));
        let description =
            optional_text(&mut errs, "description", input.description.as_deref(), 200);
        let types = input
            .event_types
            .as_deref()
            .map(|t| notification_types(&mut errs, "event_types", Some(t)));
        errs.finish()?;
        let mut row: webhook_endpoint::ActiveModel = old.into();
        if let Some(u) = url {
            row.url = Set(u);
        }
        if input.description.is_some() {
            row.description = Set(description);
        }
        if let Some(t) = types {
            row.event_types = Set(t);
        }
        if let Some(a) = input.active {
            row.active = Set(a);
        }
        row.updated_at = Set(Utc::now());
        Ok(row.update(&self.db).await?)
    }

    /// Deletes an endpoint. Answers its id.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn delete_webhook(&self, account_id: Uuid, id: i32) -> AppResult<i32> {
        self.webhook(account_id, id).await?;
        webhook_endpoint::Entity::delete_by_id(id)
            .exec(&self.db)
            .await?;
        Ok(id)
    }
}
