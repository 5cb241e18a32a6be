//! `webhook_endpoints`: URLs an account's events are POSTed to, signed the Standard
//! Webhooks way (<https://www.standardwebhooks.com/>) with the endpoint's sealed secret.

use sea_orm::entity::prelude::*;

/// A webhook endpoint row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Owner.
    pub account_id: Uuid,
    /// `http://` or `https://` URL.
    pub url: String,
    /// Free text.
    pub description: Option<String>,
    /// JSON array of `alerts`, `system_status`, `daily_reports`.
    pub event_types: Json,
    /// The sealed signing secret (`whsec_…`).
    pub secret_sealed: String,
    /// Whether it receives anything.
    pub active: bool,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Last delivery to it.
    pub last_used: Option<DateTimeUtc>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
