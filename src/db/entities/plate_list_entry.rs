//! `plate_list_entries`: the allow/deny list (alpr-api.en.md, "Plate Status").

use sea_orm::entity::prelude::*;

/// A list-entry row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plate_list_entries")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// Normalised plate text, unique per account.
    pub plate_text: String,
    /// `whitelist` or `blacklist`.
    pub status_type: String,
    /// Near misses count (weighted edit distance ≤ 1, see `domain::alpr::fuzzy`).
    pub fuzzy: bool,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
