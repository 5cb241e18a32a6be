//! `parking_records`: one occupancy reading of a lot (parking-vehicle-api.zh-TW.txt,
//! "停車記錄 API"); unique per lot and `last_update`.

use sea_orm::entity::prelude::*;

/// A parking-record row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "parking_records")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// The lot.
    pub parking_lot_id: i32,
    /// Regular spaces in use.
    pub regular_occupied: Option<i32>,
    /// Regular spaces.
    pub regular_total: Option<i32>,
    /// Regular spaces free (may be negative).
    pub regular_available: Option<i32>,
    /// Monthly-rent spaces in use.
    pub monthly_occupied: Option<i32>,
    /// Monthly-rent spaces.
    pub monthly_total: Option<i32>,
    /// Monthly-rent spaces free (may be negative).
    pub monthly_available: Option<i32>,
    /// When the source updated the figures.
    pub last_update: DateTimeUtc,
    /// When the crawler collected them (the batch `timestamp`).
    pub collected_at: DateTimeUtc,
    /// When VisionFlow stored them.
    pub created_at: DateTimeUtc,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
