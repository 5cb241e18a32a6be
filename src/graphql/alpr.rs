//! GraphQL of the ALPR domain (alpr-api.en.md): `detectImage`, the detection history as a
//! Relay connection, vehicles, plates, plate regions, allow/deny lists, locations,
//! statistics, and the `detectionCreated` / `plateListHit` subscriptions. Child lists and
//! parents load through the DataLoader ([`AppLoader`]), one query per level, never per row.

use std::collections::HashMap;

use async_graphql::{
    ComplexObject, Context, Enum, InputObject, Object, SimpleObject, Subscription, Upload,
    connection::{Connection, EmptyFields, OpaqueCursor},
    dataloader::Loader,
};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt as _};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};

use super::{
    loader::{AppLoader, LoadErr, load},
    paging::{TotalCount, connection, page},
    parking::ParkingLotId,
    scoped, state, url,
};
use crate::{
    db::entities::{detection_session, location, plate, plate_list_entry, vehicle},
    domain::alpr::{self as domain, DetectionFilter, PlateChanges, regions, stats},
    error::{AppError, AppResult},
    events::Event,
};

/// Key: the vehicles of a session.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct SessionVehicles(pub i32);
/// Key: the plates of a session.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct SessionPlates(pub i32);
/// Key: the plates of a vehicle.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct VehiclePlates(pub i32);
/// Key: a session by id.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct SessionId(pub i32);
/// Key: a vehicle by id.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct VehicleId(pub i32);
/// Key: a location by id.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct LocationId(pub i32);

impl Loader<SessionVehicles> for AppLoader {
    type Value = Vec<vehicle::Model>;
    type Error = LoadErr;

    async fn load(
        &self,
        keys: &[SessionVehicles],
    ) -> Result<HashMap<SessionVehicles, Self::Value>, Self::Error> {
        let rows = vehicle::Entity::find()
            .filter(vehicle::Column::SessionId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(vehicle::Column::VehicleIndex)
            .all(&self.db)
            .await?;
        let mut out: HashMap<SessionVehicles, Self::Value> = HashMap::new();
        for r in rows {
            if let Some(s) = r.session_id {
                out.entry(SessionVehicles(s)).or_default().push(r);
            }
        }
        Ok(out)
    }
}

impl Loader<SessionPlates> for AppLoader {
    type Value = Vec<plate::Model>;
    type Error = LoadErr;

    async fn load(
        &self,
        keys: &[SessionPlates],
    ) -> Result<HashMap<SessionPlates, Self::Value>, Self::Error> {
        let rows = plate::Entity::find()
            .filter(plate::Column::SessionId.is_in(keys.iter().map(|k| k.0)))
            .order_by_desc(plate::Column::Confidence)
            .all(&self.db)
            .await?;
        let mut out: HashMap<SessionPlates, Self::Value> = HashMap::new();
        for r in rows {
            out.entry(SessionPlates(r.session_id)).or_default().push(r);
        }
        Ok(out)
    }
}

impl Loader<VehiclePlates> for AppLoader {
    type Value = Vec<plate::Model>;
    type Error = LoadErr;

    async fn load(
        &self,
        keys: &[VehiclePlates],
    ) -> Result<HashMap<VehiclePlates, Self::Value>, Self::Error> {
        let rows = plate::Entity::find()
            .filter(plate::Column::VehicleId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(plate::Column::PlateIndex)
            .all(&self.db)
            .await?;
        let mut out: HashMap<VehiclePlates, Self::Value> = HashMap::new();
        for r in rows {
            if let Some(v) = r.vehicle_id {
                out.entry(VehiclePlates(v)).or_default().push(r);
            }
        }
        Ok(out)
    }
}

crate::by_id_loader!(SessionId, detection_session);
crate::by_id_loader!(VehicleId, vehicle);
crate::by_id_loader!(LocationId, location);

fn reader<'a>(ctx: &Context<'a>) -> AppResult<&'a crate::auth::Principal> {
    scoped(ctx, "alpr:read")
}

fn writer<'a>(ctx: &Context<'a>) -> AppResult<&'a crate::auth::Principal> {
    scoped(ctx, "alpr:write")
}

/// `2025-06-07 12:34:56` (UTC), the document's display form.
fn display_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

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
    fn of(s: &str) -> Self {
        match s {
            domain::WHITELIST => Self::Whitelist,
            domain::BLACKLIST => Self::Blacklist,
            _ => Self::Unclassified,
        }
    }
}

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
    async fn parking_lot(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Option<super::parking::ParkingLot>> {
        match self.0.parking_lot_id {
            Some(id) => Ok(load(ctx, ParkingLotId(id))
                .await?
                .map(super::parking::ParkingLot)),
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

/// A plate region code.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct PlateRegion {
    /// Code (`B`).
    pub code: String,
    /// Region (`Jakarta`).
    pub name: String,
    /// Province or category.
    pub province: String,
}

#[ComplexObject]
impl PlateRegion {
    /// `B (Jakarta)`.
    async fn label(&self) -> String {
        format!("{} ({})", self.code, self.name)
    }
}

impl From<&regions::Region> for PlateRegion {
    fn from(r: &regions::Region) -> Self {
        Self {
            code: r.code.into(),
            name: r.name.into(),
            province: r.province.into(),
        }
    }
}

/// Plates per region.
#[derive(SimpleObject)]
pub struct RegionCount {
    /// Code (`B`), or `Unknown`.
    pub code: String,
    /// Region name, or `Unknown`.
    pub name: String,
    /// `B (Jakarta)`.
    pub label: String,
    /// Plates.
    pub count: i64,
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
    /// When it was listed.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A label and its count.
#[derive(SimpleObject)]
pub struct CountBucket {
    /// Label: class, date (`2025-06-01`), hour (`08:00`), weekday (`Mon`), plate type.
    pub label: String,
    /// Count.
    pub count: i64,
}

impl From<stats::Bucket> for CountBucket {
    fn from(b: stats::Bucket) -> Self {
        Self {
            label: b.label,
            count: b.count,
        }
    }
}

/// Dashboard totals.
#[derive(SimpleObject)]
pub struct Dashboard {
    /// Processed images (detection sessions).
    pub total_detections: u64,
    /// Vehicles found.
    pub total_vehicles: u64,
    /// Plates read.
    pub total_plates: u64,
    /// Plates on the allow list.
    pub whitelisted: u64,
    /// Plates on the deny list.
    pub blacklisted: u64,
}

/// Dashboard statistics of the caller's data; time buckets are UTC.
pub struct Statistics {
    account: uuid::Uuid,
    days: u32,
    now: DateTime<Utc>,
}

fn buckets(v: Vec<stats::Bucket>) -> Vec<CountBucket> {
    v.into_iter().map(CountBucket::from).collect()
}

#[Object]
impl Statistics {
    /// Window of the time series, days.
    async fn days(&self) -> u32 {
        self.days
    }
    /// Totals.
    async fn dashboard(&self, ctx: &Context<'_>) -> AppResult<Dashboard> {
        let t = stats::totals(state(ctx)?.alpr.db(), self.account).await?;
        Ok(Dashboard {
            total_detections: t.detections,
            total_vehicles: t.vehicles,
            total_plates: t.plates,
            whitelisted: t.whitelisted,
            blacklisted: t.blacklisted,
        })
    }
    /// Vehicles per class, most frequent first.
    async fn vehicle_distribution(&self, ctx: &Context<'_>) -> AppResult<Vec<CountBucket>> {
        Ok(buckets(
            stats::vehicle_distribution(state(ctx)?.alpr.db(), self.account).await?,
        ))
    }
    /// Detections per day over the window, oldest first, zero days included.
    async fn detection_trend(&self, ctx: &Context<'_>) -> AppResult<Vec<CountBucket>> {
        Ok(buckets(
            stats::detection_trend(state(ctx)?.alpr.db(), self.account, self.days, self.now)
                .await?,
        ))
    }
    /// Detections per hour of day (`00:00`–`23:00`) over the window.
    async fn hourly_activity(&self, ctx: &Context<'_>) -> AppResult<Vec<CountBucket>> {
        Ok(buckets(
            stats::hourly_activity(state(ctx)?.alpr.db(), self.account, self.days, self.now)
                .await?,
        ))
    }
    /// Detections per weekday (`Mon`–`Sun`) over the window.
    async fn weekly_activity(&self, ctx: &Context<'_>) -> AppResult<Vec<CountBucket>> {
        Ok(buckets(
            stats::weekly_activity(state(ctx)?.alpr.db(), self.account, self.days, self.now)
                .await?,
        ))
    }
    /// Plates per type.
    async fn plate_types(&self, ctx: &Context<'_>) -> AppResult<Vec<CountBucket>> {
        Ok(buckets(
            stats::group_plates(
                state(ctx)?.alpr.db(),
                self.account,
                plate::Column::PlateType,
            )
            .await?,
        ))
    }
    /// Plates per region.
    async fn regions(&self, ctx: &Context<'_>) -> AppResult<Vec<RegionCount>> {
        let rows = stats::group_plates(
            state(ctx)?.alpr.db(),
            self.account,
            plate::Column::RegionCode,
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|b| match regions::by_code(&b.label) {
                Some(r) => RegionCount {
                    code: r.code.into(),
                    name: r.name.into(),
                    label: r.label(),
                    count: b.count,
                },
                None => RegionCount {
                    code: b.label.clone(),
                    name: "Unknown".into(),
                    label: "Unknown".into(),
                    count: b.count,
                },
            })
            .collect())
    }
}

/// Service health (`GET /api/statistics/status`).
#[derive(SimpleObject)]
pub struct AlprStatus {
    /// `online`.
    pub status: String,
    /// Now.
    pub timestamp: DateTime<Utc>,
    /// Whether the database answered.
    pub database_accessible: bool,
    /// `sqlite` or `postgres`.
    pub database_backend: String,
    /// Whether plate recognition models are loaded.
    pub models_loaded: bool,
    /// Inference worker threads.
    pub inference_workers: usize,
    /// Inference queue capacity.
    pub inference_queue: usize,
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
    fn new(message: String, o: domain::DeleteOutcome) -> Self {
        Self {
            message,
            plates_deleted: o.plates_deleted,
            vehicle_deleted: o.vehicle_deleted,
            session_deleted: o.session_deleted,
        }
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
        }
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

/// A new or changed location.
#[derive(InputObject)]
pub struct LocationInput {
    /// Name, unique per account.
    pub name: Option<String>,
    /// `Entry` or `Exit`.
    #[graphql(name = "type")]
    pub location_type: Option<String>,
}

/// Detection changes.
#[derive(InputObject, Default)]
pub struct DetectionUpdate {
    /// Location name (created as an Entry gate when new).
    pub location: Option<String>,
    /// Notes.
    pub notes: Option<String>,
}

/// ALPR queries.
#[derive(Default)]
pub struct AlprQuery;

#[Object]
impl AlprQuery {
    /// Processed images, newest first (Relay connection; `offset` is an alternative to
    /// `after` for REST clients).
    async fn detections(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
        filter: Option<DetectionFilterInput>,
    ) -> AppResult<Connection<OpaqueCursor<u64>, Detection, TotalCount, EmptyFields>> {
        let me = reader(ctx)?.account_id;
        let (start, limit) = page(first, after, offset)?;
        let filter: DetectionFilter = filter.unwrap_or_default().into();
        let (rows, total) = state(ctx)?.alpr.sessions(me, &filter, start, limit).await?;
        Ok(connection(
            rows.into_iter().map(Detection).collect(),
            start,
            total,
        ))
    }

    /// Plates read, newest first (Relay connection), with the same filters.
    async fn plate_reads(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
        filter: Option<DetectionFilterInput>,
    ) -> AppResult<Connection<OpaqueCursor<u64>, Plate, TotalCount, EmptyFields>> {
        let me = reader(ctx)?.account_id;
        let (start, limit) = page(first, after, offset)?;
        let filter: DetectionFilter = filter.unwrap_or_default().into();
        let (rows, total) = state(ctx)?.alpr.plates(me, &filter, start, limit).await?;
        Ok(connection(
            rows.into_iter().map(Plate).collect(),
            start,
            total,
        ))
    }

    /// One detection.
    async fn detection(&self, ctx: &Context<'_>, id: i32) -> AppResult<Detection> {
        let me = reader(ctx)?.account_id;
        Ok(Detection(state(ctx)?.alpr.session(me, id).await?))
    }

    /// The newest detection, if any.
    async fn latest_detection(&self, ctx: &Context<'_>) -> AppResult<Option<Detection>> {
        let me = reader(ctx)?.account_id;
        Ok(state(ctx)?.alpr.latest(me).await?.map(Detection))
    }

    /// One vehicle.
    async fn vehicle(&self, ctx: &Context<'_>, id: i32) -> AppResult<Vehicle> {
        let me = reader(ctx)?.account_id;
        Ok(Vehicle(state(ctx)?.alpr.vehicle(me, id).await?))
    }

    /// One plate.
    async fn plate(&self, ctx: &Context<'_>, id: i32) -> AppResult<Plate> {
        let me = reader(ctx)?.account_id;
        Ok(Plate(state(ctx)?.alpr.plate(me, id).await?))
    }

    /// Every known plate region code.
    async fn plate_regions(&self) -> Vec<PlateRegion> {
        regions::all().iter().map(PlateRegion::from).collect()
    }

    /// One region code.
    async fn plate_region(&self, code: String) -> AppResult<PlateRegion> {
        regions::by_code(code.trim())
            .map(PlateRegion::from)
            .ok_or_else(|| AppError::not_found(format!("Region code {} not found", code.trim())))
    }

    /// The allow/deny list.
    async fn plate_list_entries(&self, ctx: &Context<'_>) -> AppResult<Vec<PlateListEntry>> {
        let me = reader(ctx)?.account_id;
        Ok(state(ctx)?
            .alpr
            .list_entries(me)
            .await?
            .into_iter()
            .map(PlateListEntry)
            .collect())
    }

    /// Gates.
    async fn locations(&self, ctx: &Context<'_>) -> AppResult<Vec<Location>> {
        let me = reader(ctx)?.account_id;
        Ok(state(ctx)?
            .alpr
            .locations(me)
            .await?
            .into_iter()
            .map(Location)
            .collect())
    }

    /// One gate.
    async fn location(&self, ctx: &Context<'_>, id: i32) -> AppResult<Location> {
        let me = reader(ctx)?.account_id;
        Ok(Location(state(ctx)?.alpr.location(me, id).await?))
    }

    /// How many gates the caller has.
    async fn location_count(&self, ctx: &Context<'_>) -> AppResult<usize> {
        let me = reader(ctx)?.account_id;
        Ok(state(ctx)?.alpr.locations(me).await?.len())
    }

    /// The location types (`Entry`, `Exit`).
    async fn location_types(&self) -> Vec<LocationType> {
        vec![LocationType::Entry, LocationType::Exit]
    }

    /// Dashboard statistics over the last `days` days (1–366).
    async fn statistics(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 7, validator(minimum = 1, maximum = 366))] days: u32,
    ) -> AppResult<Statistics> {
        Ok(Statistics {
            account: reader(ctx)?.account_id,
            days,
            now: Utc::now(),
        })
    }

    /// Health of the ALPR service.
    async fn alpr_status(&self, ctx: &Context<'_>) -> AppResult<AlprStatus> {
        reader(ctx)?;
        let app = state(ctx)?;
        let (workers, queue) = app.inference.capacity();
        Ok(AlprStatus {
            status: "online".into(),
            timestamp: Utc::now(),
            database_accessible: app.db.ping().await.is_ok(),
            database_backend: match app.db.get_database_backend() {
                sea_orm::DbBackend::Postgres => "postgres",
                sea_orm::DbBackend::Sqlite => "sqlite",
                _ => "other",
            }
            .into(),
            models_loaded: app.inference.ready(),
            inference_workers: workers,
            inference_queue: queue,
        })
    }
}

/// ALPR mutations.
#[derive(Default)]
pub struct AlprMutation;

#[Object]
impl AlprMutation {
    /// Runs vehicle detection and plate reading on an uploaded image (JPEG, PNG, WebP or BMP)
    /// and stores the detection with its artifacts. `location` names a gate (created as an
    /// Entry gate when new).
    async fn detect_image(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        location: Option<String>,
    ) -> AppResult<Detection> {
        let me = writer(ctx)?.account_id;
        let upload = file
            .value(ctx)
            .map_err(|_| AppError::field("file", "no file was uploaded"))?;
        let stored = state(ctx)?
            .alpr
            .detect(
                me,
                &upload.filename,
                upload.content.to_vec(),
                location.as_deref(),
            )
            .await?;
        Ok(Detection(stored.session))
    }

    /// Changes a detection's location or notes.
    async fn update_detection(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: DetectionUpdate,
    ) -> AppResult<Detection> {
        let me = writer(ctx)?.account_id;
        Ok(Detection(
            state(ctx)?
                .alpr
                .update_session(me, id, input.location.as_deref(), input.notes)
                .await?,
        ))
    }

    /// Changes a vehicle's class or confidence.
    async fn update_vehicle(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: VehicleUpdate,
    ) -> AppResult<Vehicle> {
        let me = writer(ctx)?.account_id;
        Ok(Vehicle(
            state(ctx)?
                .alpr
                .update_vehicle(me, id, input.vehicle_class, input.confidence)
                .await?,
        ))
    }

    /// Deletes a vehicle and its plates (and the detection when nothing is left in it).
    async fn delete_vehicle(&self, ctx: &Context<'_>, id: i32) -> AppResult<DeleteResult> {
        let me = writer(ctx)?.account_id;
        let o = state(ctx)?.alpr.delete_vehicle(me, id).await?;
        Ok(DeleteResult::new(
            format!(
                "Successfully deleted vehicle {id} with {} plate records",
                o.plates_deleted
            ),
            o,
        ))
    }

    /// Changes a plate's text, status or type.
    async fn update_plate(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: PlateUpdate,
    ) -> AppResult<Plate> {
        let me = writer(ctx)?.account_id;
        Ok(Plate(
            state(ctx)?
                .alpr
                .update_plate(
                    me,
                    id,
                    PlateChanges {
                        text: input.text,
                        status: input.status,
                        plate_type: input.plate_type,
                    },
                )
                .await?,
        ))
    }

    /// Deletes a plate (its vehicle too when that has no plate left; the detection when
    /// empty).
    async fn delete_plate(&self, ctx: &Context<'_>, id: i32) -> AppResult<DeleteResult> {
        let me = writer(ctx)?.account_id;
        let o = state(ctx)?.alpr.delete_plate(me, id).await?;
        let message = if o.vehicle_deleted {
            format!("Successfully deleted plate {id} and its associated vehicle")
        } else {
            format!("Successfully deleted plate {id}")
        };
        Ok(DeleteResult::new(message, o))
    }

    /// Puts a plate on the allow (`whitelist`) or deny (`blacklist`) list and applies it to
    /// the stored plates with that text.
    async fn set_plate_list_entry(
        &self,
        ctx: &Context<'_>,
        plate_text: String,
        status: String,
    ) -> AppResult<PlateListEntry> {
        let me = writer(ctx)?.account_id;
        Ok(PlateListEntry(
            state(ctx)?
                .alpr
                .set_list_entry(me, &plate_text, &status)
                .await?,
        ))
    }

    /// Takes a plate off the lists; returns the normalised text.
    async fn remove_plate_list_entry(
        &self,
        ctx: &Context<'_>,
        plate_text: String,
    ) -> AppResult<String> {
        let me = writer(ctx)?.account_id;
        state(ctx)?.alpr.remove_list_entry(me, &plate_text).await
    }

    /// Re-applies the lists to every stored plate.
    async fn sync_plate_statuses(&self, ctx: &Context<'_>) -> AppResult<SyncResult> {
        let me = writer(ctx)?.account_id;
        let c = state(ctx)?.alpr.sync_lists(me).await?;
        Ok(SyncResult {
            whitelist: c.whitelist,
            blacklist: c.blacklist,
            unclassified: c.unclassified,
            total: c.whitelist + c.blacklist + c.unclassified,
        })
    }

    /// Creates a gate.
    async fn create_location(
        &self,
        ctx: &Context<'_>,
        input: LocationInput,
    ) -> AppResult<Location> {
        let me = writer(ctx)?.account_id;
        let name = input
            .name
            .ok_or_else(|| AppError::field("name", "is required"))?;
        let kind = input
            .location_type
            .ok_or_else(|| AppError::field("type", "is required"))?;
        Ok(Location(
            state(ctx)?.alpr.create_location(me, &name, &kind).await?,
        ))
    }

    /// Changes a gate.
    async fn update_location(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: LocationInput,
    ) -> AppResult<Location> {
        let me = writer(ctx)?.account_id;
        Ok(Location(
            state(ctx)?
                .alpr
                .update_location(
                    me,
                    id,
                    input.name.as_deref(),
                    input.location_type.as_deref(),
                )
                .await?,
        ))
    }

    /// Deletes a gate (its detections stay, without a location); returns its id.
    async fn delete_location(&self, ctx: &Context<'_>, id: i32) -> AppResult<i32> {
        let me = writer(ctx)?.account_id;
        state(ctx)?.alpr.delete_location(me, id).await?;
        Ok(id)
    }
}

/// ALPR subscriptions.
#[derive(Default)]
pub struct AlprSubscription;

#[Subscription]
impl AlprSubscription {
    /// Each new detection of the caller's account, optionally only at one location.
    async fn detection_created(
        &self,
        ctx: &Context<'_>,
        location: Option<String>,
    ) -> Result<impl Stream<Item = Detection> + use<>, AppError> {
        let me = reader(ctx)?.account_id;
        let app = state(ctx)?.clone();
        let events = app.bus.subscribe();
        Ok(events.filter_map(move |event| {
            let app = app.clone();
            let location = location.clone();
            async move {
                match event {
                    Event::DetectionCreated {
                        account_id,
                        session_id,
                        location: at,
                    } if account_id == me && (location.is_none() || location == at) => {
                        app.alpr.session(me, session_id).await.ok().map(Detection)
                    }
                    _ => None,
                }
            }
        }))
    }

    /// Each plate that matched the allow/deny list at detection time, optionally only one
    /// status (`whitelist` / `blacklist`).
    async fn plate_list_hit(
        &self,
        ctx: &Context<'_>,
        status: Option<String>,
    ) -> Result<impl Stream<Item = Plate> + use<>, AppError> {
        let me = reader(ctx)?.account_id;
        let status = status
            .map(|s| domain::list_status("status", &s))
            .transpose()?;
        let app = state(ctx)?.clone();
        let events = app.bus.subscribe();
        Ok(events.filter_map(move |event| {
            let app = app.clone();
            async move {
                match event {
                    Event::PlateListHit {
                        account_id,
                        plate_id,
                        status: s,
                    } if account_id == me && status.is_none_or(|w| w == s) => {
                        app.alpr.plate(me, plate_id).await.ok().map(Plate)
                    }
                    _ => None,
                }
            }
        }))
    }
}
