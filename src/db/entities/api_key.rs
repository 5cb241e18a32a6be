//! `api_keys`: named, scoped, revocable API keys, stored as SHA-256 of the key.

use sea_orm::entity::prelude::*;

/// An API-key row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    /// Key id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owner.
    pub account_id: Uuid,
    /// Name given by the owner.
    pub name: String,
    /// First characters of the key (`vf_AbCd`), for recognising it in lists.
    pub prefix: String,
    /// Hex SHA-256 of the whole key.
    #[sea_orm(unique)]
    pub key_hash: String,
    /// JSON array of scope strings.
    pub scopes: Json,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last authenticated use (updated at most once a minute).
    pub last_used_at: Option<DateTimeUtc>,
    /// Optional expiry.
    pub expires_at: Option<DateTimeUtc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTimeUtc>,
    /// The device (UUID) the key is bound to: it reaches only that device's `device:*` and
    /// `scene:*` operations, and is revoked when the device is deleted.
    pub device_id: Option<Uuid>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Owner.
    #[sea_orm(
        belongs_to = "super::account::Entity",
        from = "Column::AccountId",
        to = "super::account::Column::Id",
        on_delete = "Cascade"
    )]
    Account,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
