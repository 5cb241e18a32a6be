//! `device_usage`: a device's usage in one UTC month (devices-api-v1.zh-TW.txt "設備配額").

use sea_orm::entity::prelude::*;

/// A usage row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "device_usage")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The device's camera row.
    pub camera_id: i32,
    /// UTC month, `YYYY-MM`.
    pub period: String,
    /// Seconds of analysis.
    pub analysis_seconds: f64,
    /// Alerts raised.
    pub alerts: i64,
    /// Attribute detections published.
    pub attributes: i64,
    /// VLM tokens spent.
    pub vlm_tokens: i64,
    /// Features that fired `quota_warning` this period (JSON array of `analysis`, `alert`,
    /// `attribute`, `vlm`).
    pub warned: Json,
    /// Features that fired `quota_exceeded` this period.
    pub exceeded: Json,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
