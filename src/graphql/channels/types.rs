//! GraphQL types of the notification channels and the outbox, and their DataLoader key.

use std::collections::HashMap;

use async_graphql::{InputObject, Object, SimpleObject, dataloader::Loader};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};

use super::super::loader::{AppLoader, LoadErr};
use crate::{
    db::entities::{delivery, email_recipient, line_token, webhook_endpoint},
    domain::channels::{
        line_tokens::LineTokenInput as DomainLine, recipients::RecipientInput, stored_types,
        webhooks::WebhookInput,
    },
};

/// Key: the deliveries of a notification.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct NotificationDeliveries(pub i32);

impl Loader<NotificationDeliveries> for AppLoader {
    type Value = Vec<delivery::Model>;
    type Error = LoadErr;

    async fn load(
        &self,
        keys: &[NotificationDeliveries],
    ) -> Result<HashMap<NotificationDeliveries, Self::Value>, Self::Error> {
        let rows = delivery::Entity::find()
            .filter(delivery::Column::NotificationId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(delivery::Column::Id)
            .all(&self.db)
            .await?;
        let mut out: HashMap<_, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for r in rows {
            if let Some(n) = r.notification_id {
                out.entry(NotificationDeliveries(n)).or_default().push(r);
            }
        }
        Ok(out)
    }
}

/// An e-mail recipient (monitor-api.zh-TW.txt "獲取郵件接收者").
pub struct EmailRecipient(pub email_recipient::Model);

#[Object]
impl EmailRecipient {
    /// Id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// Owner's account UUID.
    async fn account_uuid(&self) -> String {
        self.0.account_id.to_string()
    }
    /// Address (lower-cased).
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Display name.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// `alerts`, `system_status`, `daily_reports`.
    async fn notification_types(&self) -> Vec<String> {
        stored_types(&self.0.notification_types)
    }
    /// Whether it receives anything.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Whether its verification link was followed (only verified recipients get mail).
    async fn verified(&self) -> bool {
        self.0.verified
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last change.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Last mail sent to it.
    async fn last_notification(&self) -> Option<DateTime<Utc>> {
        self.0.last_notification
    }
}

/// A recipient just added or changed, and whether a verification mail was queued.
#[derive(SimpleObject)]
pub struct EmailRecipientPayload {
    /// The recipient.
    pub recipient: EmailRecipient,
    /// A verification mail was queued (false without an SMTP relay, or when the address
    /// did not change).
    pub verification_sent: bool,
}

/// A recipient to add or change (omitted fields are kept; defaults on add:
/// `notificationTypes: ["alerts"]`, `active: true`).
#[derive(InputObject, Default)]
pub struct EmailRecipientInput {
    /// Address, at most 254 characters.
    pub email: Option<String>,
    /// Display name, 1–100 characters.
    pub name: Option<String>,
    /// `alerts`, `system_status`, `daily_reports`.
    pub notification_types: Option<Vec<String>>,
    /// Whether it receives anything.
    pub active: Option<bool>,
}

impl From<EmailRecipientInput> for RecipientInput {
    fn from(i: EmailRecipientInput) -> Self {
        Self {
            email: i.email,
            name: i.name,
            notification_types: i.notification_types,
            active: i.active,
        }
    }
}

/// A LINE Messaging API channel access token (monitor-api.zh-TW.txt "獲取 LINE Tokens").
pub struct LineToken(pub line_token::Model);

#[Object]
impl LineToken {
    /// Id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// Owner's account UUID.
    async fn account_uuid(&self) -> String {
        self.0.account_id.to_string()
    }
    /// The token, masked (`AbCdEf1234567890...`); the whole token is never answered.
    async fn token(&self) -> &str {
        &self.0.token_hint
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// User or group pushed to; null = broadcast to every friend of the bot.
    async fn target_id(&self) -> Option<&str> {
        self.0.target_id.as_deref()
    }
    /// `alerts`, `system_status`, `daily_reports`.
    async fn notification_types(&self) -> Vec<String> {
        stored_types(&self.0.notification_types)
    }
    /// Whether it receives anything.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Whether LINE accepted it (`GET /v2/bot/info`); false while LINE was unreachable.
    async fn verified(&self) -> bool {
        self.0.verified
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last message sent with it.
    async fn last_used(&self) -> Option<DateTime<Utc>> {
        self.0.last_used
    }
}

/// A LINE token to add or change (omitted fields are kept; defaults on add:
/// `notificationTypes: ["alerts"]`, `active: true`, no target = broadcast).
#[derive(InputObject, Default)]
pub struct LineTokenInput {
    /// Channel access token, 1–1000 characters (checked with LINE).
    pub token: Option<String>,
    /// Display name, 1–100 characters.
    pub name: Option<String>,
    /// User, group or room id to push to; empty = broadcast.
    pub target_id: Option<String>,
    /// `alerts`, `system_status`, `daily_reports`.
    pub notification_types: Option<Vec<String>>,
    /// Whether it receives anything.
    pub active: Option<bool>,
}

impl From<LineTokenInput> for DomainLine {
    fn from(i: LineTokenInput) -> Self {
        Self {
            token: i.token,
            name: i.name,
            target_id: i.target_id,
            notification_types: i.notification_types,
            active: i.active,
        }
    }
}

/// A webhook endpoint (Standard Webhooks signing).
pub struct WebhookEndpoint(pub webhook_endpoint::Model);

#[Object]
impl WebhookEndpoint {
    /// Id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// URL events are POSTed to.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// Free text.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// `alerts` (`alert.raised`), `system_status` (`camera.status_changed`),
    /// `daily_reports` (`report.daily`).
    async fn event_types(&self) -> Vec<String> {
        stored_types(&self.0.event_types)
    }
    /// Whether it receives anything.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last delivery to it.
    async fn last_used(&self) -> Option<DateTime<Utc>> {
        self.0.last_used
    }
}

/// A new endpoint and its signing secret (`whsec_…`, answered only here).
#[derive(SimpleObject)]
pub struct CreatedWebhookEndpoint {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// Key of `webhook-signature` (HMAC-SHA256 over `<id>.<timestamp>.<body>`).
    pub secret: String,
}

/// An endpoint to add or change (omitted fields are kept).
#[derive(InputObject, Default)]
pub struct WebhookEndpointInput {
    /// `http://` or `https://` URL.
    pub url: Option<String>,
    /// Free text, at most 200 characters.
    pub description: Option<String>,
    /// Notification types (default `["alerts"]`).
    pub event_types: Option<Vec<String>>,
    /// Whether it receives anything.
    pub active: Option<bool>,
}

impl From<WebhookEndpointInput> for WebhookInput {
    fn from(i: WebhookEndpointInput) -> Self {
        Self {
            url: i.url,
            description: i.description,
            event_types: i.event_types,
            active: i.active,
        }
    }
}

/// One message to one channel target, from the outbox.
pub struct Delivery(pub delivery::Model);

#[Object]
impl Delivery {
    /// Id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// The notification it carries (alerts).
    async fn notification_id(&self) -> Option<i32> {
        self.0.notification_id
    }
    /// `alerts`, `system_status`, `daily_reports` or `verification`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// `email`, `line` or `webhook`.
    async fn channel(&self) -> &str {
        &self.0.channel
    }
    /// The recipient, LINE token or webhook endpoint id.
    async fn target_id(&self) -> i32 {
        self.0.target_id
    }
    /// `pending`, `sent` or `failed`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// Attempts started.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The last attempt's error.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When the next attempt is due (pending only).
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == "pending").then_some(self.0.next_attempt_at)
    }
    /// Sent with every attempt (`X-Line-Retry-Key`, `Message-ID`, `webhook-id`).
    async fn idempotency_key(&self) -> String {
        self.0.idempotency_key.to_string()
    }
    /// Queued at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Sent at.
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
}

/// A delivery that failed for good (`deliveryFailed`).
#[derive(SimpleObject, Clone)]
pub struct DeliveryFailure {
    /// The delivery.
    pub delivery_id: i32,
    /// Its notification, if any.
    pub notification_id: Option<i32>,
    /// `email`, `line` or `webhook`.
    pub channel: String,
    /// The last error.
    pub error: String,
}
