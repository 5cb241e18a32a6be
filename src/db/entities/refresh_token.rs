//! `refresh_tokens`: issued refresh tokens, stored as SHA-256 of the token, rotated on use.

use sea_orm::entity::prelude::*;

/// A refresh-token row. `id` is the token's `jti`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    /// The JWT's `jti`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owner.
    pub account_id: Uuid,
    /// Rotation family: every token descended from one login. Reuse of a used token
    /// revokes the whole family.
    pub family_id: Uuid,
    /// Hex SHA-256 of the token string.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// Expiry.
    pub expires_at: DateTimeUtc,
    /// Issue time.
    pub created_at: DateTimeUtc,
    /// When it was exchanged for a new pair (then it is spent).
    pub used_at: Option<DateTimeUtc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTimeUtc>,
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
