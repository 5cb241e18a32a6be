//! `plates`: a licence plate read in a detection session.

use sea_orm::entity::prelude::*;

/// A plate row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plates")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// Session it was read in.
    pub session_id: i32,
    /// Vehicle it was read on (`None`: read on the whole image).
    pub vehicle_id: Option<i32>,
    /// 1-based position within its vehicle (or the session).
    pub plate_index: i32,
    /// Normalised text (A–Z, 0–9).
    pub text: String,
    /// Text as read.
    pub raw_text: String,
    /// OCR confidence, 0–1.
    pub confidence: f64,
    /// JSON `[{"text", "confidence"}]`, best first.
    pub candidates: Json,
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
    /// Region code (`B`), when the text starts with a known one.
    pub region_code: Option<String>,
    /// `Regular`, `Commercial`, `Government`, `Diplomatic`, `Special Zone`, `Unknown`.
    pub plate_type: String,
    /// Text colour (`Black`, `White` …).
    pub text_color: Option<String>,
    /// Background colour.
    pub background_color: Option<String>,
    /// `whitelist`, `blacklist` or `unclassified`.
    pub status: String,
    /// How `status` matched the list: `exact` or `fuzzy` (at detection time); null when
    /// on no list. List changes apply exact matches.
    pub list_match: Option<String>,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
