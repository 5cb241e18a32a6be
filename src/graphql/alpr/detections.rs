//! Detections (processed images), their flattened vehicle/plate entries, and the
//! history filter and detection-update inputs.

use async_graphql::{Context, InputObject, Object};
use chrono::{DateTime, Utc};

use super::{
    Location, Plate, Vehicle, display_time,
    loaders::{LocationId, SessionPlates, SessionVehicles},
};
use crate::{
    db::entities::{detection_session, plate, vehicle},
    domain::alpr::DetectionFilter,
    error::AppResult,
    graphql::{
        cameras::types::{Camera, CameraId},
        loader::load,
        url,
    },
};

/// One processed image or frame (the document's detection "session").
pub struct Detection(pub detection_session::Model);

#[Object]
impl Detection {
    /// Session id (`session_id`).
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// When it was processed.
    async fn detected_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// `2025-06-07 12:34:56` (UTC).
    async fn detected_time(&self) -> String {
        display_time(self.0.created_at)
    }
    /// `2025-06-07_12-34-56` (UTC), the document's `timestamp` of `POST /detect/image`.
    async fn timestamp(&self) -> String {
        self.0.created_at.format("%Y-%m-%d_%H-%M-%S").to_string()
    }
    /// File name the client uploaded.
    async fn source_filename(&self) -> &str {
        &self.0.source_filename
    }
    /// Stored original, relative to the data dir (`outputs/uploaded/…`).
    async fn original_path(&self) -> &str {
        &self.0.original_path
    }
    /// URL of the stored original (`/outputs/uploaded/…`).
    async fn original_url(&self) -> String {
        url(&self.0.original_path)
    }
    /// Annotated image (boxes and plate text drawn), relative to the data dir.
    async fn annotated_path(&self) -> &str {
        &self.0.annotated_path
    }
    /// URL of the annotated image.
    async fn annotated_url(&self) -> String {
        url(&self.0.annotated_path)
    }
    /// Source width, pixels.
    async fn width(&self) -> i32 {
        self.0.width
    }
    /// Source height, pixels.
    async fn height(&self) -> i32 {
        self.0.height
    }
    /// `1920x1080`.
    async fn image_resolution(&self) -> String {
        format!("{}x{}", self.0.width, self.0.height)
    }
    /// Inference wall time, seconds (3 decimals).
    async fn processing_time(&self) -> f64 {
        (self.0.processing_ms).round() / 1000.0
    }
    /// `1.234s`.
    async fn processing_time_label(&self) -> String {
        format!("{:.3}s", self.0.processing_ms / 1000.0)
    }
    /// `1234.57ms`.
    async fn processing_ms_label(&self) -> String {
        format!("{:.2}ms", self.0.processing_ms)
    }
    /// Models that produced it.
    async fn model(&self) -> &str {
        &self.0.model
    }
    /// Operator notes.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The plate camera whose frames produced it (null for uploads, or when the camera
    /// was deleted).
    async fn camera(&self, ctx: &Context<'_>) -> AppResult<Option<Camera>> {
        let Some(id) = self.0.camera_id else {
            return Ok(None);
        };
        Ok(load(ctx, CameraId(id))
            .await?
            .filter(|c| c.account_id == self.0.account_id && c.deleted_at.is_none())
            .map(Camera))
    }
    /// The gate, if any.
    async fn location(&self, ctx: &Context<'_>) -> AppResult<Option<Location>> {
        match self.0.location_id {
            Some(id) => Ok(load(ctx, LocationId(id)).await?.map(Location)),
            None => Ok(None),
        }
    }
    /// Vehicles found, by index.
    async fn vehicles(&self, ctx: &Context<'_>) -> AppResult<Vec<Vehicle>> {
        Ok(load(ctx, SessionVehicles(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Vehicle)
            .collect())
    }
    /// Plates read, best first.
    async fn plates(&self, ctx: &Context<'_>) -> AppResult<Vec<Plate>> {
        Ok(load(ctx, SessionPlates(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Plate)
            .collect())
    }
    /// Vehicle/plate pairs, flattened as alpr-api.en.md's `GET /api/detection/latest`:
    /// each plate with its vehicle, then each vehicle without a plate.
    async fn entries(&self, ctx: &Context<'_>) -> AppResult<Vec<DetectionEntry>> {
        let vehicles = load(ctx, SessionVehicles(self.0.id))
            .await?
            .unwrap_or_default();
        let plates = load(ctx, SessionPlates(self.0.id))
            .await?
            .unwrap_or_default();
        let mut out = Vec::new();
        for p in &plates {
            let v = p
                .vehicle_id
                .and_then(|id| vehicles.iter().find(|v| v.id == id));
            out.push(DetectionEntry {
                id: match v {
                    Some(v) => format!("{}_v{}_p{}", self.0.id, v.vehicle_index, p.plate_index),
                    None => format!("{}_p{}", self.0.id, p.plate_index),
                },
                entity_type: if v.is_some() {
                    "vehicle_with_plate"
                } else {
                    "plate_only"
                }
                .into(),
                vehicle_index: v.map(|v| v.vehicle_index),
                plate_index: Some(p.plate_index),
                vehicle: v.cloned(),
                plate: Some(p.clone()),
                session: self.0.clone(),
            });
        }
        for v in &vehicles {
            if !plates.iter().any(|p| p.vehicle_id == Some(v.id)) {
                out.push(DetectionEntry {
                    id: format!("{}_v{}", self.0.id, v.vehicle_index),
                    entity_type: "vehicle_only".into(),
                    vehicle_index: Some(v.vehicle_index),
                    plate_index: None,
                    vehicle: Some(v.clone()),
                    plate: None,
                    session: self.0.clone(),
                });
            }
        }
        Ok(out)
    }
}

/// One vehicle/plate pair of a detection.
pub struct DetectionEntry {
    id: String,
    entity_type: String,
    vehicle_index: Option<i32>,
    plate_index: Option<i32>,
    vehicle: Option<vehicle::Model>,
    plate: Option<plate::Model>,
    session: detection_session::Model,
}

#[Object]
impl DetectionEntry {
    /// `42_v1_p1` (session, vehicle index, plate index).
    async fn id(&self) -> &str {
        &self.id
    }
    /// `vehicle_with_plate`, `plate_only` or `vehicle_only`.
    async fn entity_type(&self) -> &str {
        &self.entity_type
    }
    /// 1-based vehicle index.
    async fn vehicle_index(&self) -> Option<i32> {
        self.vehicle_index
    }
    /// 1-based plate index within the vehicle.
    async fn plate_index(&self) -> Option<i32> {
        self.plate_index
    }
    /// The vehicle.
    async fn vehicle(&self) -> Option<Vehicle> {
        self.vehicle.clone().map(Vehicle)
    }
    /// The plate.
    async fn plate(&self) -> Option<Plate> {
        self.plate.clone().map(Plate)
    }
    /// The detection it belongs to.
    async fn detection(&self) -> Detection {
        Detection(self.session.clone())
    }
}

/// Filters of the detection history.
#[derive(InputObject, Default)]
pub struct DetectionFilterInput {
    /// Vehicle class, case-insensitive (`car`).
    pub vehicle_type: Option<String>,
    /// Plate type (`Regular`), case-insensitive.
    pub plate_type: Option<String>,
    /// Plate text contains this (both normalised: `b 12` finds `B1234XYZ`).
    pub search: Option<String>,
    /// Location name.
    pub location: Option<String>,
    /// Detected at or after.
    pub from: Option<DateTime<Utc>>,
    /// Detected before.
    pub to: Option<DateTime<Utc>>,
    /// Only what this camera read.
    pub camera_id: Option<i32>,
}

impl From<DetectionFilterInput> for DetectionFilter {
    fn from(f: DetectionFilterInput) -> Self {
        Self {
            vehicle_type: f.vehicle_type,
            plate_type: f.plate_type,
            search: f.search,
            location: f.location,
            from: f.from,
            to: f.to,
            camera_id: f.camera_id,
        }
    }
}

/// Detection changes.
#[derive(InputObject, Default)]
pub struct DetectionUpdate {
    /// Location name (created as an Entry gate when new).
    pub location: Option<String>,
    /// Notes.
    pub notes: Option<String>,
}
