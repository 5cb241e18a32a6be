//! The allow/deny lists: plate status, list entries and the result of a list sync.

use async_graphql::{Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{db::entities::plate_list_entry, domain::alpr as domain};

/// Allow/deny status of a plate.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PlateStatus {
    /// On the allow list.
    #[graphql(name = "whitelist")]
    Whitelist,
    /// On the deny list.
    #[graphql(name = "blacklist")]
    Blacklist,
    /// On no list.
    #[graphql(name = "unclassified")]
    Unclassified,
}

impl PlateStatus {
    pub(super) fn of(s: &str) -> Self {
        match s {
            domain::WHITELIST => Self::Whitelist,
            domain::BLACKLIST => Self::Blacklist,
            _ => Self::Unclassified,
        }
    }
}

/// An allow/deny list entry.
pub struct PlateListEntry(pub plate_list_entry::Model);

#[Object]
impl PlateListEntry {
    /// Id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// Normalised plate text.
    async fn plate_text(&self) -> &str {
        &self.0.plate_text
    }
    /// `whitelist` or `blacklist`.
    async fn status(&self) -> PlateStatus {
        PlateStatus::of(&self.0.status_type)
    }
    /// Plates read later match it within a weighted edit distance of one.
    async fn fuzzy(&self) -> bool {
        self.0.fuzzy
    }
    /// When it was listed.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Counts after re-applying the lists.
#[derive(SimpleObject)]
pub struct SyncResult {
    /// Plates whitelisted.
    pub whitelist: u64,
    /// Plates blacklisted.
    pub blacklist: u64,
    /// Plates on no list.
    pub unclassified: u64,
    /// All plates.
    pub total: u64,
}
