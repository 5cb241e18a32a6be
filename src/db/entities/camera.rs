//! `cameras` (monitor-api.zh-TW.txt "全面的攝影機配置與監控 API"; the devices group shows the
//! same rows by `uuid`).

use sea_orm::entity::prelude::*;

/// A camera row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
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
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
