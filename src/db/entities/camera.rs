//! `cameras` (monitor-api.zh-TW.txt "全面的攝影機配置與監控 API"; the devices group shows the
//! same rows by `uuid`).

use sea_orm::entity::prelude::*;

/// A camera row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cameras")]
pub struct Model {
    /// Integer id, as the monitor document shows.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// UUID for the devices group.
    pub uuid: Uuid,
    /// Owner.
    pub account_id: Uuid,
    /// Name (1–100 characters).
    pub name: String,
    /// `rtsp://` or `rtsps://` URL; may hold credentials, which are never answered.
    pub stream_url: String,
    /// Whether frames are analysed.
    pub recognition: bool,
    /// Where it is.
    pub location: Option<String>,
    /// Detector set (`yolo_v11_detect` = the default models) or an installed model name.
    pub model_name: String,
    /// `connecting`, `online` or `offline`.
    pub status: String,
    /// Frame width once known, pixels.
    pub width: Option<i32>,
    /// Frame height once known, pixels.
    pub height: Option<i32>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change of its settings.
    pub updated_at: DateTimeUtc,
    /// Last time a frame arrived (stored on status changes).
    pub last_active: Option<DateTimeUtc>,
    /// Device description (≤ 500 characters).
    pub description: Option<String>,
    /// Sealed RTSP credentials (`crypto::SecretBox`): JSON `{"username","password"}` or
    /// `{"token"}`. Write-only.
    pub rtsp_auth: Option<String>,
    /// `ip_camera`, `rtsp_source` or `usb_camera`.
    pub device_type: String,
    /// `level_01` or `level_02`.
    pub plan: String,
    /// Tags (JSON array of strings; null = none).
    pub tags: Option<Json>,
    /// `UTC+H`, `UTC-H` or `UTC+H:MM`.
    pub utc_offset: String,
    /// Analysis schedule (the document's `Schedule` object); null = manual start/stop.
    pub schedule: Option<Json>,
    /// `active`, `paused` or `archived`.
    pub device_status: String,
    /// `online`, `offline` or `unknown` (the RTSP probe's verdict).
    pub online_status: String,
    /// Last successful probe.
    pub last_heartbeat_at: Option<DateTimeUtc>,
    /// Consecutive failed automatic probes.
    pub probe_failures: i32,
    /// WGS84 latitude, degrees.
    pub latitude: Option<f64>,
    /// WGS84 longitude, degrees.
    pub longitude: Option<f64>,
    /// `manual`, `address`, `device` or `ip`.
    pub geo_source: Option<String>,
    /// Monthly analysis seconds set for this device (with `has_individual_limit`; null
    /// there = unlimited).
    pub quota_seconds: Option<i64>,
    /// Whether `quota_seconds` overrides the plan's.
    pub has_individual_limit: bool,
    /// Frames analysed, all time.
    pub total_analysis_count: i64,
    /// Seconds spent analysing them, all time.
    pub total_processing_time_seconds: f64,
    /// Registered through the devices group: metered against its plan and auto-probed.
    pub is_device: bool,
    /// Soft delete time; a deleted camera is gone from every group.
    pub deleted_at: Option<DateTimeUtc>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Cameras not soft-deleted: every query of a group starts here.
pub fn live_rows() -> Select<Entity> {
    Entity::find().filter(Column::DeletedAt.is_null())
}
