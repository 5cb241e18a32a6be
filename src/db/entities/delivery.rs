//! `deliveries`: the transactional outbox. One row per cause (a notification, a camera
//! status change, a daily report, a verification mail) and channel target, written in the
//! transaction that stores the cause; the delivery workers send it with retries.

use sea_orm::entity::prelude::*;

/// A delivery row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// The notification it carries (alerts), else `None`.
    pub notification_id: Option<i32>,
    /// `alerts`, `system_status`, `daily_reports` or `verification`.
    pub kind: String,
    /// `email`, `line` or `webhook`.
    pub channel: String,
    /// The recipient, LINE token or webhook endpoint id (by `channel`).
    pub target_id: i32,
    /// The message ([`crate::delivery::Message`] as JSON), fixed when queued.
    pub payload: Json,
    /// Unique per cause and target: queuing the same thing twice is a no-op.
    pub dedup_key: String,
    /// Sent with every attempt (`X-Line-Retry-Key`, `Message-ID`, `webhook-id`) so a
    /// repeated attempt is recognised by the receiver.
    pub idempotency_key: Uuid,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// Attempts started.
    pub attempts: i32,
    /// When it is next due (while pending; also the lease of an attempt in flight).
    pub next_attempt_at: DateTimeUtc,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// Queued at.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Sent at.
    pub sent_at: Option<DateTimeUtc>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
