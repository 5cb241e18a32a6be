//! GraphQL of a device's attribute detections (devices-api-v1.zh-TW.txt `attribute`,
//! level_02): a tracked person the people model saw fallen, stored once per track while
//! the month's attribute quota lasts.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use crate::db::entities::device_attribute;

/// One attribute detection of a device.
pub struct AttributeDetection {
    /// The row.
    pub row: device_attribute::Model,
    /// The device UUID.
    pub device_id: uuid::Uuid,
}

#[Object]
impl AttributeDetection {
    /// Id.
    async fn id(&self) -> i32 {
        self.row.id
    }
    /// The device.
    async fn device_id(&self) -> ID {
        ID(self.device_id.to_string())
    }
    /// The device's camera id (monitor group).
    async fn camera_id(&self) -> i32 {
        self.row.camera_id
    }
    /// The track (unique per camera worker).
    async fn track_id(&self) -> i64 {
        self.row.track_id
    }
    /// Attribute name: `posture`.
    async fn attribute(&self) -> &str {
        &self.row.attribute
    }
    /// Value: `fall`.
    async fn value(&self) -> &str {
        &self.row.value
    }
    /// Detection confidence, 0–1.
    async fn confidence(&self) -> f64 {
        self.row.confidence
    }
    /// bbox `[x1, y1, x2, y2]`, source pixels.
    async fn bbox(&self) -> Vec<f64> {
        self.row
            .bbox
            .as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
            .unwrap_or_default()
    }
    /// When the frame was grabbed.
    async fn frame_captured_at(&self) -> DateTime<Utc> {
        self.row.frame_captured_at
    }
    /// When it was stored.
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
}
