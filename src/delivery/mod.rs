//! Alert delivery that loses nothing: a transactional outbox (`deliveries`, written by
//! [`outbox`] in the transaction that stores its cause) worked off by [`Deliveries`]'
//! workers — e-mail through an SMTP relay ([`email`], `lettre`), the LINE Messaging API
//! ([`line`]) and Standard Webhooks ([`webhook`]) — with exponential backoff, `Retry-After`,
//! a lease per attempt (a crashed node's attempt is taken over, never lost) and an
//! idempotency key per delivery that every attempt repeats (`X-Line-Retry-Key`,
//! `Message-ID`, `webhook-id`), so a retry after an unanswered attempt is not a duplicate.
//!
//! Sources: monitor-api.zh-TW.txt ("電子郵件通知配置", "LINE 即時通知整合"), ENDPOINTS.md
//! (LINE Notify's end), ../shared/live.md (the Messaging API's calls and errors).

pub mod email;
pub mod line;
pub mod outbox;
pub mod settings;
pub mod webhook;

mod dispatcher;
mod reports;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tokio::task::JoinHandle;

use crate::{crypto::SecretBox, events::EventBus, storage::ArtifactStore};

/// What a channel can be subscribed to (monitor-api.zh-TW.txt `notification_types`, and
/// the devices document's `quota_warning` / `quota_exceeded` webhooks).
pub const NOTIFICATION_TYPES: &[&str] = &[
    "alerts",
    "system_status",
    "daily_reports",
    "quota_warning",
    "quota_exceeded",
];

/// The kind of the mail that verifies a recipient (not subscribable).
pub const VERIFICATION: &str = "verification";

/// A message to deliver, fixed when it is queued (`deliveries.payload`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Message {
    /// `alerts`, `system_status`, `daily_reports` or `verification`.
    pub kind: String,
    /// Mail subject / first line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// Camera id.
    pub camera_id: Option<i32>,
    /// Camera name.
    pub camera_name: Option<String>,
    /// Zone name.
    pub zone: Option<String>,
    /// Detected class.
    pub class: Option<String>,
    /// Confidence, 0–1.
    pub confidence: Option<f64>,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Snapshot, relative to the data dir (`outputs/alerts/…`).
    pub image_path: Option<String>,
    /// The webhook body's `data`.
    pub data: Json,
}

impl Message {
    /// The Standard Webhooks event type of a kind.
    pub fn event_type(&self) -> &'static str {
        match self.kind.as_str() {
            "alerts" => "alert.raised",
            "system_status" => "camera.status_changed",
            "daily_reports" => "report.daily",
            "quota_warning" => "device.quota_warning",
            "quota_exceeded" => "device.quota_exceeded",
            _ => "notification",
        }
    }
}

/// Why an attempt did not deliver.
#[derive(Debug)]
pub enum SendError {
    /// Worth another attempt (time-out, refused connection, 429, 5xx); `after` is the
    /// receiver's `Retry-After`.
    Retry {
        /// What happened.
        error: String,
        /// The receiver's wish, seconds.
        after: Option<f64>,
    },
    /// Another attempt cannot succeed (rejected token, 4xx, removed target).
    Permanent(String),
}

impl SendError {
    /// A retryable error.
    pub fn retry(error: impl Into<String>) -> Self {
        Self::Retry {
            error: error.into(),
            after: None,
        }
    }
}

/// `Retry-After` in seconds, when given as a number.
pub(crate) fn retry_after(h: &reqwest::header::HeaderMap) -> Option<f64> {
    h.get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
}

/// What the workers share.
pub(crate) struct Inner {
    pub db: sea_orm::DatabaseConnection,
    pub bus: Arc<dyn EventBus>,
    pub settings: settings::DeliverySettings,
    pub mailer: Option<email::Mailer>,
    pub line: line::LineClient,
    pub webhooks: webhook::WebhookClient,
    pub secrets: SecretBox,
    pub store: ArtifactStore,
    pub public_base: String,
    pub report_offset: chrono::FixedOffset,
}

/// The delivery workers: one dispatcher (up to `delivery.concurrency` attempts in flight)
/// and the daily-report scheduler. Started by `AppState::start_workers`, stopped before
/// the server.
pub struct Deliveries {
    inner: Arc<Inner>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// What building [`Deliveries`] needs.
pub struct DeliveryParts {
    /// Database.
    pub db: sea_orm::DatabaseConnection,
    /// Events (`deliveryFailed`; wake-ups).
    pub bus: Arc<dyn EventBus>,
    /// File store (snapshots).
    pub store: ArtifactStore,
    /// Sealed credentials.
    pub secrets: SecretBox,
    /// Base of links.
    pub public_base: String,
}

impl Deliveries {
    /// Builds the workers (not started).
    ///
    /// # Errors
    /// Invalid settings (ranges, SMTP host, offset).
    pub fn new(
        parts: DeliveryParts,
        settings: &settings::DeliverySettings,
        smtp: &settings::SmtpSettings,
        line_settings: &settings::LineSettings,
    ) -> anyhow::Result<Self> {
        settings.check(smtp, line_settings)?;
        let report_offset = settings.utc_offset.parse().map_err(|_| {
            anyhow::anyhow!(
                "delivery.utc_offset {:?} is not an offset like +08:00",
                settings.utc_offset
            )
        })?;
        let inner = Arc::new(Inner {
            db: parts.db,
            bus: parts.bus,
            settings: settings.clone(),
            mailer: email::Mailer::from_settings(smtp)?,
            line: line::LineClient::new(line_settings)?,
            webhooks: webhook::WebhookClient::new(settings.webhook_timeout_secs)?,
            secrets: parts.secrets,
            store: parts.store,
            public_base: parts.public_base,
            report_offset,
        });
        Ok(Self {
            inner,
            stop: tokio::sync::watch::channel(false).0,
            tasks: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Whether e-mail can be sent (an SMTP host is configured).
    pub fn mail_enabled(&self) -> bool {
        self.inner.mailer.is_some()
    }

    /// The LINE client (token checks on add).
    pub fn line(&self) -> &line::LineClient {
        &self.inner.line
    }

    /// Queues the daily report of the local day `day` for every subscribed account now (the
    /// scheduler does this at `delivery.daily_report_hour`); answers the deliveries queued,
    /// 0 when that day's reports were queued before.
    ///
    /// # Errors
    /// Database failures.
    pub async fn queue_daily_reports(&self, day: chrono::NaiveDate) -> anyhow::Result<u64> {
        Ok(reports::queue_reports(&self.inner, day).await?)
    }

    /// Starts the dispatcher and the report scheduler. Call once, inside the runtime.
    pub fn start(&self) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if !tasks.is_empty() {
            return;
        }
        tasks.push(tokio::spawn(dispatcher::run(
            self.inner.clone(),
            self.stop.subscribe(),
        )));
        tasks.push(tokio::spawn(reports::run(
            self.inner.clone(),
            self.stop.subscribe(),
        )));
    }

    /// Stops taking new deliveries and waits up to `grace` for attempts in flight; what is
    /// left stays `pending` and is taken over after its lease (by this node's next start or
    /// another node).
    pub async fn shutdown(&self, grace: Duration) {
        let _ = self.stop.send(true);
        let tasks: Vec<_> =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            let abort = t.abort_handle();
            if tokio::time::timeout(grace, t).await.is_err() {
                abort.abort();
            }
        }
    }

    /// Stops every worker at once, attempts in flight included, as a crash would (tests).
    pub fn abort(&self) {
        let _ = self.stop.send(true);
        for t in std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner())) {
            t.abort();
        }
    }
}

impl Drop for Deliveries {
    fn drop(&mut self) {
        self.abort();
    }
}
