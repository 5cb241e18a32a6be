//! `notifications`: alerts raised by a zone or posted by a client (monitor-api.zh-TW.txt
//! "智能警報與通知系統"). `delivery` is the outbox state: `pending` (to be sent to the
//! owner's recipients), `none` (notifications off for its zone), later `sent` / `failed`.

use sea_orm::entity::prelude::*;

/// A notification row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// Camera.
    pub camera_id: i32,
    /// Zone that raised it (`None` when posted by a client or the zone was deleted).
    pub zone_id: Option<i32>,
    /// Track that dwelt in the zone.
    pub track_id: Option<i64>,
    /// Zone name at the time.
    pub region_name: Option<String>,
    /// Class (`person`, `car` …).
    pub detection_type: String,
    /// Detection confidence, 0–1.
    pub confidence: Option<f64>,
    /// Message.
    pub message: String,
    /// Snapshot, relative to the data dir (`outputs/alerts/…`), served by `/showimage/…`.
    pub image_path: Option<String>,
    /// JSON: `bounding_box` {x, y, width, height} in pixels, posture, dwell seconds, …
    pub metadata: Option<Json>,
    /// `unread` or `read`.
    pub status: String,
    /// Outbox state: `pending`, `none`, `sent`, `failed`.
    pub delivery: String,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Later alerts of the same zone folded into this one outside a device's peak slots.
    pub coalesced_count: i32,
    /// A level_02 device's VLM summary of the snapshot.
    pub vlm_summary: Option<String>,
    /// The VLM's structured reading of the snapshot (a JSON object).
    pub vlm_structured_result: Option<Json>,
    /// The model that answered.
    pub vlm_model: Option<String>,
    /// Tokens the VLM call reported (`usage.total_tokens`).
    pub vlm_tokens: Option<i64>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
