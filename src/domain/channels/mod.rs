//! Notification channels of an account (monitor-api.zh-TW.txt "電子郵件通知配置", "LINE
//! 即時通知整合"; webhooks for every group): e-mail recipients (verified by a mailed link),
//! LINE Messaging API tokens (checked with LINE on add, stored sealed, answered masked) and
//! Standard Webhooks endpoints. What they receive is chosen by `notification_types`
//! (`alerts`, `system_status`, `daily_reports`); sending is [`crate::delivery`]'s.

pub mod deliveries;
pub mod line_tokens;
pub mod recipients;
pub mod webhooks;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    crypto::SecretBox,
    delivery::{NOTIFICATION_TYPES, line::LineClient},
    domain::validate::Errors,
    events::EventBus,
};

/// Recipients, LINE tokens and webhook endpoints.
#[derive(Clone)]
pub struct ChannelService {
    db: DatabaseConnection,
    secrets: SecretBox,
    line: LineClient,
    mail_enabled: bool,
    bus: Arc<dyn EventBus>,
    webhook_hosts: Vec<String>,
}

impl ChannelService {
    /// A service over the database; `mail_enabled` when an SMTP relay is configured.
    pub fn new(
        db: DatabaseConnection,
        secrets: SecretBox,
        line: LineClient,
        mail_enabled: bool,
        bus: Arc<dyn EventBus>,
    ) -> Self {
        Self {
            db,
            secrets,
            line,
            mail_enabled,
            bus,
            webhook_hosts: Vec::new(),
        }
    }

    /// Limits webhook URLs to these hosts (`delivery.webhook_allowed_hosts`; empty = any).
    #[must_use]
    pub fn with_webhook_hosts(mut self, hosts: Vec<String>) -> Self {
        self.webhook_hosts = hosts;
        self
    }

    /// The sealing box (media checks signed snapshot links with it).
    pub fn secrets(&self) -> &SecretBox {
        &self.secrets
    }
}

/// Validates a list of notification types (default `["alerts"]` when `None`; duplicates
/// dropped, order kept) into the stored JSON array.
pub fn notification_types(
    errs: &mut Errors,
    field: &str,
    value: Option<&[String]>,
) -> serde_json::Value {
    let Some(list) = value else {
        return serde_json::json!(["alerts"]);
    };
    let mut out: Vec<String> = Vec::new();
    for t in list {
        let t = t.trim();
        if !NOTIFICATION_TYPES.contains(&t) {
            errs.add(
                field,
                format!(
                    "unknown type {t:?}; expected one of {}",
                    NOTIFICATION_TYPES.join(", ")
                ),
            );
        } else if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    serde_json::json!(out)
}

/// The stored types as strings.
pub fn stored_types(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
