//! Locations (gates): the type enum, the object with its recent detections, and the input.

use async_graphql::{Context, Enum, InputObject, Object};
use chrono::{DateTime, Utc};

use super::{Detection, display_time};
use crate::{
    db::entities::location, domain::alpr::DetectionFilter, error::AppResult, graphql::state,
};

/// A gate type.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum LocationType {
    /// Vehicles come in.
    #[graphql(name = "Entry")]
    Entry,
    /// Vehicles leave.
    #[graphql(name = "Exit")]
    Exit,
}

/// A gate.
pub struct Location(pub location::Model);

#[Object]
impl Location {
    /// Id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// Name (`Gate 1`).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Entry or Exit.
    #[graphql(name = "type")]
    async fn location_type(&self) -> LocationType {
        if self.0.location_type == "Exit" {
            LocationType::Exit
        } else {
            LocationType::Entry
        }
    }
    /// `Gate 1 (Entry)`.
    async fn label(&self) -> String {
        format!("{} ({})", self.0.name, self.0.location_type)
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// `2025-06-07 12:00:00` (UTC).
    async fn timestamp(&self) -> String {
        display_time(self.0.created_at)
    }
    /// Its most recent detections, newest first.
    async fn recent_detections(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, validator(minimum = 1, maximum = 100))] limit: u64,
    ) -> AppResult<Vec<Detection>> {
        let filter = DetectionFilter {
            location: Some(self.0.name.clone()),
            ..Default::default()
        };
        let (rows, _) = state(ctx)?
            .alpr
            .sessions(self.0.account_id, &filter, 0, limit)
            .await?;
        Ok(rows.into_iter().map(Detection).collect())
    }
}

/// A new or changed location.
#[derive(InputObject)]
pub struct LocationInput {
    /// Name, unique per account.
    pub name: Option<String>,
    /// `Entry` or `Exit`.
    #[graphql(name = "type")]
    pub location_type: Option<String>,
}
