//! The ALPR domain (alpr-api.en.md, "Galaxy ALPR REST API"): image in → vehicles and plates
//! stored with their artifacts, allow/deny lists, locations (gates), history and statistics.
//!
//! [`AlprService::detect`] validates the upload (decode with limits) before anything is
//! stored, runs the models on the inference threads, writes the artifacts, then stores the
//! session, vehicles and plates in one transaction (the files are removed again when that
//! fails) and publishes `DetectionCreated` / `PlateListHit` after the commit. Every row
//! belongs to an account; another account's id answers `NOT_FOUND`.

pub mod artifacts;
pub mod camera;
pub mod fuzzy;
pub mod regions;
pub mod stats;

mod detect;
mod history;
mod lists;
mod locations;
mod vehicles;

pub use self::{
    detect::{Artifacts, Prepared, StoredDetection},
    history::DetectionFilter,
    lists::{SyncCounts, list_status},
    locations::location_type,
    vehicles::{DeleteOutcome, PlateChanges},
};

use std::sync::Arc;

use sea_orm::{
    ColumnTrait as _, Condition, DatabaseConnection, EntityTrait as _, PaginatorTrait as _,
    QueryFilter as _,
};
use uuid::Uuid;
use visionflow_models::alpr::normalize_plate;

use crate::{
    db::entities::{detection_session, plate, vehicle},
    error::{AppError, AppResult},
    events::EventBus,
    inference::InferenceService,
    storage::ArtifactStore,
};

/// Plate list membership.
pub const WHITELIST: &str = "whitelist";
/// Plate list membership.
pub const BLACKLIST: &str = "blacklist";
/// Not on any list.
pub const UNCLASSIFIED: &str = "unclassified";
/// Location types (alpr-api.en.md `/api/locations/types`).
pub const LOCATION_TYPES: [&str; 2] = ["Entry", "Exit"];

/// The ALPR service.
#[derive(Clone)]
pub struct AlprService {
    db: DatabaseConnection,
    inference: Arc<InferenceService>,
    store: ArtifactStore,
    bus: Arc<dyn EventBus>,
}

fn not_found(what: &str, id: impl std::fmt::Display) -> AppError {
    AppError::NotFound {
        reason: None,
        message: format!("{what} {id} not found"),
    }
}

fn plate_text(field: &str, raw: &str) -> AppResult<String> {
    let text = normalize_plate(raw);
    if !(1..=16).contains(&text.len()) {
        return Err(AppError::field(
            field,
            "must hold 1–16 letters or digits after normalising",
        ));
    }
    Ok(text)
}

impl AlprService {
    /// The service over a database, the inference threads and the data dir.
    pub fn new(
        db: DatabaseConnection,
        inference: Arc<InferenceService>,
        store: ArtifactStore,
        bus: Arc<dyn EventBus>,
    ) -> Self {
        Self {
            db,
            inference,
            store,
            bus,
        }
    }

    /// The artifact store (for `/outputs/…`).
    pub fn store(&self) -> &ArtifactStore {
        &self.store
    }

    /// Whether a stored artifact (`outputs/…`, relative to the data dir) belongs to the
    /// account: the original or annotated image of one of its detections, or the crop or
    /// registry photo of one of its vehicles or plates.
    ///
    /// # Errors
    /// Database failures.
    pub async fn owns_artifact(&self, account_id: Uuid, rel: &str) -> AppResult<bool> {
        use detection_session::Column as S;
        let sessions = detection_session::Entity::find()
            .filter(S::AccountId.eq(account_id))
            .filter(
                Condition::any()
                    .add(S::OriginalPath.eq(rel))
                    .add(S::AnnotatedPath.eq(rel)),
            )
            .count(&self.db)
            .await
            .map_err(AppError::internal)?;
        if sessions > 0 {
            return Ok(true);
        }
        let vehicles = vehicle::Entity::find()
            .filter(vehicle::Column::AccountId.eq(account_id))
            .filter(
                Condition::any()
                    .add(vehicle::Column::CropPath.eq(rel))
                    .add(vehicle::Column::ImagePath.eq(rel)),
            )
            .count(&self.db)
            .await
            .map_err(AppError::internal)?;
        if vehicles > 0 {
            return Ok(true);
        }
        let plates = plate::Entity::find()
            .filter(plate::Column::AccountId.eq(account_id))
            .filter(plate::Column::CropPath.eq(rel))
            .count(&self.db)
            .await
            .map_err(AppError::internal)?;
        Ok(plates > 0)
    }

    /// Database access for the statistics and the DataLoaders.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }
}

/// The trimmed text of an optional filter, `None` when absent or blank.
pub(crate) fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|s| !s.is_empty())
}
