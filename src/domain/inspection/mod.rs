//! The inspection group's service (inspection-api.zh-CN.md; ENDPOINTS.md "inspection"):
//! batch segmentation of uploaded images with the configured YOLO-seg model ([`inspect`]),
//! the data service over the stored records ([`records`]) and the AI analysis through an
//! OpenAI-compatible chat endpoint ([`ai`]).

pub mod ai;
pub mod inspect;
pub mod records;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    config::{AiSettings, InspectionSettings},
    events::EventBus,
    inference::InferenceService,
    storage::ArtifactStore,
};

/// Inspections and their records.
#[derive(Clone)]
pub struct InspectionService {
    db: DatabaseConnection,
    inference: Arc<InferenceService>,
    store: ArtifactStore,
    bus: Arc<dyn EventBus>,
    model: String,
    tz: chrono_tz::Tz,
    max_images: usize,
    batch_size: usize,
    ai: crate::ai::ChatClient,
}

impl InspectionService {
    /// A service over the database and the inference threads.
    ///
    /// # Errors
    /// Invalid `inspection.*` or `ai.*` settings.
    pub fn new(
        db: DatabaseConnection,
        inference: Arc<InferenceService>,
        store: ArtifactStore,
        bus: Arc<dyn EventBus>,
        settings: &InspectionSettings,
        ai: &AiSettings,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            db,
            inference,
            store,
            bus,
            model: settings.model.clone(),
            tz: settings.tz()?,
            max_images: settings.max_images,
            batch_size: settings.batch_size,
            ai: crate::ai::ChatClient::new(ai, "ai")?,
        })
    }

    /// The records' time zone.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.tz
    }

    /// The file store (result images).
    pub fn store(&self) -> &ArtifactStore {
        &self.store
    }
}
