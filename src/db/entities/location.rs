//! `locations`: gates where images are taken (alpr-api.en.md, "Location Management").

use sea_orm::entity::prelude::*;

/// A location row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "locations")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// Name, unique per account (`Gate 1`).
    pub name: String,
    /// `Entry` or `Exit`.
    pub location_type: String,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
