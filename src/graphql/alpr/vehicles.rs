//! Vehicles and plates read on them, plate candidates, their update inputs, and the
//! result of a vehicle or plate delete.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    Detection, PlateRegion, PlateStatus, display_time,
    loaders::{SessionId, VehicleId, VehiclePlates},
};
use crate::{
    db::entities::{plate, vehicle},
    domain::alpr::{self as domain, regions},
    error::AppResult,
    graphql::{
        loader::load,
        parking::{ParkingLot, ParkingLotId},
        url,
    },
};

/// A detected vehicle.
pub struct Vehicle(pub vehicle::Model);

#[Object]
impl Vehicle {
    /// Id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// 1-based index in its detection.
    async fn index(&self) -> i32 {
        self.0.vehicle_index
    }
    /// Class (`car`, `truck`, `motorcycle`, `bus` …).
    async fn vehicle_class(&self) -> &str {
        &self.0.class
    }
    /// Detector confidence, 0–1.
    async fn confidence(&self) -> f64 {
        self.0.confidence
    }
    /// `[x1, y1, x2, y2]`, source pixels.
    async fn bbox(&self) -> Vec<f64> {
        vec![self.0.x1, self.0.y1, self.0.x2, self.0.y2]
    }
    /// Crop, relative to the data dir.
    async fn image_path(&self) -> Option<&str> {
        self.0.crop_path.as_deref()
    }
    /// URL of the crop.
    async fn image_url(&self) -> Option<String> {
        self.0.crop_path.as_deref().map(url)
    }
    /// When it was detected.
    async fn detected_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// `2025-06-07 12:34:56` (UTC).
    async fn detected_time(&self) -> String {
        display_time(self.0.created_at)
    }
    /// Its detection.
    async fn detection(&self, ctx: &Context<'_>) -> AppResult<Option<Detection>> {
        match self.0.session_id {
            Some(id) => Ok(load(ctx, SessionId(id)).await?.map(Detection)),
            None => Ok(None),
        }
    }
    /// Registry (parking group): the plate the client submitted.
    async fn license_plate(&self) -> Option<&str> {
        self.0.license_plate.as_deref()
    }
    /// Registry: the plate text read from the photo, normalised.
    async fn recognized_plate(&self) -> Option<&str> {
        self.0.recognized_plate.as_deref()
    }
    /// Registry: whether a plate read from the photo equals the submitted one (or an
    /// operator said so).
    async fn is_identified(&self) -> bool {
        self.0.is_identified
    }
    /// Registry: recogniser confidence, 0–1.
    async fn confidence_score(&self) -> Option<f64> {
        self.0.confidence_score
    }
    /// Registry: brand.
    async fn brand(&self) -> Option<&str> {
        self.0.brand.as_deref()
    }
    /// Registry: model.
    async fn model(&self) -> Option<&str> {
        self.0.model.as_deref()
    }
    /// Registry: year.
    async fn year(&self) -> Option<&str> {
        self.0.year.as_deref()
    }
    /// Registry: parking lot id.
    async fn parking_lot_id(&self) -> Option<i32> {
        self.0.parking_lot_id
    }
    /// Registry: the parking lot.
    async fn parking_lot(&self, ctx: &Context<'_>) -> AppResult<Option<ParkingLot>> {
        match self.0.parking_lot_id {
            Some(id) => Ok(load(ctx, ParkingLotId(id)).await?.map(ParkingLot)),
            None => Ok(None),
        }
    }
    /// Registry: when the photo was taken.
    async fn captured_at(&self) -> Option<DateTime<Utc>> {
        self.0.captured_at
    }
    /// Registry: the uploaded photo, relative to the data dir.
    async fn photo_path(&self) -> Option<&str> {
        self.0.image_path.as_deref()
    }
    /// Registry: URL of the uploaded photo.
    async fn photo_url(&self) -> Option<String> {
        self.0.image_path.as_deref().map(url)
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Registry: last change.
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.updated_at
    }
    /// Plates read on it.
    async fn plates(&self, ctx: &Context<'_>) -> AppResult<Vec<Plate>> {
        Ok(load(ctx, VehiclePlates(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Plate)
            .collect())
    }
}

/// An alternative reading.
#[derive(SimpleObject, serde::Deserialize)]
pub struct PlateCandidate {
    /// Normalised text.
    pub text: String,
    /// Confidence, 0–1.
    pub confidence: f64,
}

/// A licence plate read.
pub struct Plate(pub plate::Model);

#[Object]
impl Plate {
    /// Id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// 1-based index within its vehicle.
    async fn index(&self) -> i32 {
        self.0.plate_index
    }
    /// Normalised text (A–Z, 0–9).
    async fn text(&self) -> &str {
        &self.0.text
    }
    /// Text as read.
    async fn raw_text(&self) -> &str {
        &self.0.raw_text
    }
    /// OCR confidence, 0–1.
    async fn confidence(&self) -> f64 {
        self.0.confidence
    }
    /// Readings, best first.
    async fn candidates(&self) -> Vec<PlateCandidate> {
        serde_json::from_value(self.0.candidates.clone()).unwrap_or_default()
    }
    /// `[x1, y1, x2, y2]`, source pixels.
    async fn bbox(&self) -> Vec<f64> {
        vec![self.0.x1, self.0.y1, self.0.x2, self.0.y2]
    }
    /// Crop, relative to the data dir.
    async fn image_path(&self) -> Option<&str> {
        self.0.crop_path.as_deref()
    }
    /// URL of the crop.
    async fn image_url(&self) -> Option<String> {
        self.0.crop_path.as_deref().map(url)
    }
    /// Region code (`B`), when the text starts with a known one.
    async fn region_code(&self) -> Option<&str> {
        self.0.region_code.as_deref()
    }
    /// `B (Jakarta)`.
    async fn region_label(&self) -> Option<String> {
        self.0
            .region_code
            .as_deref()
            .and_then(regions::by_code)
            .map(regions::Region::label)
    }
    /// The region.
    async fn region(&self) -> Option<PlateRegion> {
        self.0
            .region_code
            .as_deref()
            .and_then(regions::by_code)
            .map(PlateRegion::from)
    }
    /// `Regular`, `Commercial`, `Government`, `Special Zone`, `Diplomatic` or `Unknown`.
    async fn plate_type(&self) -> &str {
        &self.0.plate_type
    }
    /// Character colour read from the crop (`Black`, `White` …).
    async fn text_color(&self) -> Option<&str> {
        self.0.text_color.as_deref()
    }
    /// Background colour read from the crop.
    async fn background_color(&self) -> Option<&str> {
        self.0.background_color.as_deref()
    }
    /// Allow/deny status.
    async fn status(&self) -> PlateStatus {
        PlateStatus::of(&self.0.status)
    }
    /// How the status matched its list entry: `exact` or `fuzzy` (a near miss of a fuzzy
    /// entry, at detection time); null when on no list. List changes apply exact matches.
    async fn list_match(&self) -> Option<&str> {
        self.0.list_match.as_deref()
    }
    /// When it was read.
    async fn detected_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// `2025-06-07 12:34:56` (UTC).
    async fn detected_time(&self) -> String {
        display_time(self.0.created_at)
    }
    /// The vehicle it was read on.
    async fn vehicle(&self, ctx: &Context<'_>) -> AppResult<Option<Vehicle>> {
        match self.0.vehicle_id {
            Some(id) => Ok(load(ctx, VehicleId(id)).await?.map(Vehicle)),
            None => Ok(None),
        }
    }
    /// Its detection.
    async fn detection(&self, ctx: &Context<'_>) -> AppResult<Option<Detection>> {
        Ok(load(ctx, SessionId(self.0.session_id))
            .await?
            .map(Detection))
    }
}

/// Vehicle changes.
#[derive(InputObject, Default)]
pub struct VehicleUpdate {
    /// New class.
    pub vehicle_class: Option<String>,
    /// New confidence, 0–1.
    pub confidence: Option<f64>,
}

/// Plate changes.
#[derive(InputObject, Default)]
pub struct PlateUpdate {
    /// New text (normalised; region recomputed).
    pub text: Option<String>,
    /// `whitelist`, `blacklist` or `unclassified`.
    pub status: Option<String>,
    /// Plate type.
    pub plate_type: Option<String>,
}

/// What a delete removed.
#[derive(SimpleObject)]
pub struct DeleteResult {
    /// Human-readable summary (`Successfully deleted vehicle 1 with 1 plate records`).
    pub message: String,
    /// Plates removed.
    pub plates_deleted: u64,
    /// Whether a vehicle was removed.
    pub vehicle_deleted: bool,
    /// Whether the (then empty) detection was removed.
    pub session_deleted: bool,
}

impl DeleteResult {
    pub(super) fn new(message: String, o: domain::DeleteOutcome) -> Self {
        Self {
            message,
            plates_deleted: o.plates_deleted,
            vehicle_deleted: o.vehicle_deleted,
            session_deleted: o.session_deleted,
        }
    }
}
