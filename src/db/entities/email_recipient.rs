//! `email_recipients`: where an account's alerts go by e-mail (monitor-api.zh-TW.txt
//! "電子郵件通知配置"). Only `active` and `verified` recipients receive them.

use sea_orm::entity::prelude::*;

/// An e-mail recipient row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "email_recipients")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// Address, lower-cased (unique per account).
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// JSON array of `alerts`, `system_status`, `daily_reports`.
    pub notification_types: Json,
    /// Whether it receives anything.
    pub active: bool,
    /// Whether the verification link was followed.
    pub verified: bool,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Last mail sent to it.
    pub last_notification: Option<DateTimeUtc>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
