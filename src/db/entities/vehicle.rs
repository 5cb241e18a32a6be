//! `vehicles`: a vehicle found in a detection session.

use sea_orm::entity::prelude::*;

/// A vehicle row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "vehicles")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// Session it was found in.
    pub session_id: Option<i32>,
    /// 1-based position in the session.
    pub vehicle_index: i32,
    /// Class name (`car`, `truck` …).
    pub class: String,
    /// Detector confidence, 0–1.
    pub confidence: f64,
    /// bbox x1, source pixels.
    pub x1: f64,
    /// bbox y1.
    pub y1: f64,
    /// bbox x2.
    pub x2: f64,
    /// bbox y2.
    pub y2: f64,
    /// Stored crop, relative to the data dir.
    pub crop_path: Option<String>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Registry: the plate the client submitted (parking group), as given.
    pub license_plate: Option<String>,
    /// Registry: brand.
    pub brand: Option<String>,
    /// Registry: model.
    pub model: Option<String>,
    /// Registry: year.
    pub year: Option<String>,
    /// Registry: parking lot.
    pub parking_lot_id: Option<i32>,
    /// Registry: when the photo was taken.
    pub captured_at: Option<DateTimeUtc>,
    /// Registry: the uploaded photo, relative to the data dir.
    pub image_path: Option<String>,
    /// Registry: whether a plate read from the photo equals the submitted plate.
    pub is_identified: bool,
    /// Registry: recogniser confidence, 0–1.
    pub confidence_score: Option<f64>,
    /// Registry: the plate text read from the photo (normalised).
    pub recognized_plate: Option<String>,
    /// Registry: last change.
    pub updated_at: Option<DateTimeUtc>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
