//! `line_tokens`: LINE Messaging API channel access tokens (monitor-api.zh-TW.txt "LINE
//! 即時通知整合"; LINE Notify ended in 2025, ENDPOINTS.md). The token is stored sealed
//! (XChaCha20-Poly1305, [`crate::crypto::SecretBox`]) and answered only as `token_hint`.

use sea_orm::entity::prelude::*;

/// A LINE token row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "line_tokens")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// Display name.
    pub name: String,
    /// The sealed token (`v1.` + base64 of nonce ‖ ciphertext).
    pub token_sealed: String,
    /// Masked form answered to clients (`AbCdEf1234567890...`).
    pub token_hint: String,
    /// SHA-256 hex of the token (finds duplicates without opening it).
    pub token_digest: String,
    /// User or group id to push to; `None` broadcasts to every friend of the bot.
    pub target_id: Option<String>,
    /// JSON array of `alerts`, `system_status`, `daily_reports`.
    pub notification_types: Json,
    /// Whether it receives anything.
    pub active: bool,
    /// Whether LINE accepted it (`GET /v2/bot/info`).
    pub verified: bool,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Last message sent with it.
    pub last_used: Option<DateTimeUtc>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
