//! `device_attributes`: a level_02 device's attribute detections (devices-api-v1.zh-TW.txt
//! "enabledCapabilities" `attribute`, "scene-analysis-attributes"): one row per tracked
//! person and attribute value (`posture` = `fall`), written only while the month's
//! attribute quota lasts.

use sea_orm::entity::prelude::*;

/// An attribute detection.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "device_attributes")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// The device's camera row.
    pub camera_id: i32,
    /// The track (per camera worker).
    pub track_id: i64,
    /// Attribute name (`posture`).
    pub attribute: String,
    /// Value (`fall`).
    pub value: String,
    /// Detection confidence, 0–1.
    pub confidence: f64,
    /// bbox `[x1, y1, x2, y2]`, source pixels.
    pub bbox: Json,
    /// When the frame was grabbed.
    pub frame_captured_at: DateTimeUtc,
    /// When it was stored.
    pub created_at: DateTimeUtc,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
