//! `zones`: polygon detection zones of a camera (monitor-api.zh-TW.txt "智能檢測區域",
//! the document's "rectangles"; the devices group's scenes).

use sea_orm::entity::prelude::*;

/// A zone row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "zones")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// Camera.
    pub camera_id: i32,
    /// Name.
    pub name: String,
    /// JSON `[{"x": f64, "y": f64}, …]`: polygon vertices in camera pixels, at least 3.
    pub coordinates: Json,
    /// Seconds an object must stay inside before an alert.
    pub alert_duration: i32,
    /// Whether alerts of this zone are delivered (e-mail, LINE, webhooks).
    pub notification_enabled: bool,
    /// JSON `["person", "vehicle", …]`; empty = every class.
    pub detection_classes: Json,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Soft delete time (with its device); zones are only reached through their camera.
    pub deleted_at: Option<DateTimeUtc>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
