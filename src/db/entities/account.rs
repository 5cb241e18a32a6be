//! `accounts`: one user of VisionFlow.

use sea_orm::entity::prelude::*;

/// An account row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    /// Account UUID (the documents' `account_uuid`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Username as registered (NFKC-normalised).
    pub username: String,
    /// Case-folded username; unique.
    #[sea_orm(unique)]
    pub username_key: String,
    /// E-mail as registered.
    pub email: String,
    /// Lower-cased e-mail; unique.
    #[sea_orm(unique)]
    pub email_key: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Refresh tokens of the account.
    #[sea_orm(has_many = "super::refresh_token::Entity")]
    RefreshTokens,
    /// API keys of the account.
    #[sea_orm(has_many = "super::api_key::Entity")]
    ApiKeys,
}

impl ActiveModelBehavior for ActiveModel {}
