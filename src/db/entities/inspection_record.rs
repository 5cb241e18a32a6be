//! `inspection_records`: one inspected image (inspection-api.zh-CN.md): `figId` is `id`,
//! `num` the defect (instance) count, `dice` the best instance's confidence (0 when none).

use sea_orm::entity::prelude::*;

/// An inspection record row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "inspection_records")]
pub struct Model {
    /// Id (the document's `figId`).
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// Uploaded file name.
    pub name: String,
    /// JSON array of the instances' class names, best first.
    pub labels: Json,
    /// The best instance's class (`""` when none): the document's `label`.
    pub label: String,
    /// Defect (instance) count.
    pub num: i32,
    /// Best confidence, 0–1 (0 when none).
    pub dice: f64,
    /// Inference time of this image, seconds.
    pub processing_time: f64,
    /// Model name.
    pub model: String,
    /// Image width, pixels.
    pub width: i32,
    /// Image height, pixels.
    pub height: i32,
    /// Result image (masks and boxes drawn), relative to the data dir.
    pub result_path: Option<String>,
    /// When it was inspected.
    pub created_at: DateTimeUtc,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
