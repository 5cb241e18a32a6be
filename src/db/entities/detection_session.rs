//! `detection_sessions`: one processed image or frame and its stored artifacts.

use sea_orm::entity::prelude::*;

/// A detection-session row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "detection_sessions")]
pub struct Model {
    /// Id (the document's `session_id`).
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// Gate, if given.
    pub location_id: Option<i32>,
    /// File name the client sent.
    pub source_filename: String,
    /// Stored original, relative to the data dir (`outputs/uploaded/…`).
    pub original_path: String,
    /// Stored annotated image, relative to the data dir.
    pub annotated_path: String,
    /// Source width, pixels.
    pub width: i32,
    /// Source height, pixels.
    pub height: i32,
    /// Wall time of inference, milliseconds.
    pub processing_ms: f64,
    /// Models that produced it.
    pub model: String,
    /// Free-form notes.
    pub notes: Option<String>,
    /// The camera whose frames produced it (null for uploads).
    pub camera_id: Option<i32>,
    /// When it was processed.
    pub created_at: DateTimeUtc,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
