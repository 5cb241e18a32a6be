//! GraphQL types of the camera domain and their DataLoader keys.

use std::collections::HashMap;

use async_graphql::{
    ComplexObject, Context, InputObject, Object, SimpleObject,
    connection::{Connection, EmptyFields, OpaqueCursor},
    dataloader::Loader,
    types::Json as GqlJson,
};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
use uuid::Uuid;

use super::super::{
    alpr::Detection,
    loader::{AppLoader, LoadErr, load},
    paging::{TotalCount, connection, page},
    scoped, state, url,
};
use crate::{
    db::entities::{camera, notification, zone},
    domain::{
        alpr::DetectionFilter,
        cameras::{ZoneInput as DomainZone, validate::mask_url},
    },
    error::AppResult,
    live::{
        LiveStats,
        analysis::{FrameResult, LiveObject, PLATES},
    },
};

/// Key: a camera by id.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CameraId(pub i32);
/// Key: the zones of a camera.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CameraZones(pub i32);

crate::by_id_loader!(CameraId, camera);

impl Loader<CameraZones> for AppLoader {
    type Value = Vec<zone::Model>;
    type Error = LoadErr;

    async fn load(
        &self,
        keys: &[CameraZones],
    ) -> Result<HashMap<CameraZones, Self::Value>, Self::Error> {
        let rows = zone::Entity::find()
            .filter(zone::Column::CameraId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(zone::Column::Id)
            .all(&self.db)
            .await?;
        let mut out: HashMap<CameraZones, Self::Value> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for r in rows {
            out.entry(CameraZones(r.camera_id)).or_default().push(r);
        }
        Ok(out)
    }
}

/// A camera (monitor-api.zh-TW.txt "攝影機").
pub struct Camera(pub camera::Model);

#[Object]
impl Camera {
    /// Integer id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// UUID (the devices group's id).
    async fn uuid(&self) -> Uuid {
        self.0.uuid
    }
    /// Owner.
    async fn account_uuid(&self) -> Uuid {
        self.0.account_id
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Stream URL with any password replaced by `***`.
    async fn stream_url(&self) -> String {
        mask_url(&self.0.stream_url)
    }
    /// Whether frames are analysed.
    async fn recognition(&self) -> bool {
        self.0.recognition
    }
    /// Location.
    async fn location(&self) -> Option<&str> {
        self.0.location.as_deref()
    }
    /// Detector set or model name.
    async fn model_name(&self) -> &str {
        &self.0.model_name
    }
    /// Whether it reads plates (`modelName` `alpr`): one stored detection per passing
    /// vehicle.
    async fn plate_recognition(&self) -> bool {
        self.0.model_name == PLATES
    }
    /// The detections its plate reading stored, newest first (Relay connection; needs
    /// `alpr:read`).
    async fn detections(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<OpaqueCursor<u64>, Detection, TotalCount, EmptyFields>> {
        let me = scoped(ctx, "alpr:read")?.account_id;
        let (start, limit) = page(first, after, None)?;
        let filter = DetectionFilter {
            camera_id: Some(self.0.id),
            ..Default::default()
        };
        let (rows, total) = state(ctx)?.alpr.sessions(me, &filter, start, limit).await?;
        Ok(connection(
            rows.into_iter().map(Detection).collect(),
            start,
            total,
        ))
    }
    /// `connecting`, `online` or `offline`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// Frame width once known, pixels.
    async fn width(&self) -> Option<i32> {
        self.0.width
    }
    /// Frame height once known, pixels.
    async fn height(&self) -> Option<i32> {
        self.0.height
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last settings change.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Last frame time (stored at status changes).
    async fn last_active(&self) -> Option<DateTime<Utc>> {
        self.0.last_active
    }
    /// Its zones, in creation order.
    async fn zones(&self, ctx: &Context<'_>) -> AppResult<Vec<Zone>> {
        Ok(load(ctx, CameraZones(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Zone)
            .collect())
    }
    /// How many zones it has.
    async fn zone_count(&self, ctx: &Context<'_>) -> AppResult<usize> {
        Ok(load(ctx, CameraZones(self.0.id))
            .await?
            .map_or(0, |z| z.len()))
    }
    /// Live telemetry of its worker (`null` when none runs).
    async fn stats(&self, ctx: &Context<'_>) -> AppResult<Option<CameraStats>> {
        Ok(state(ctx)?.cameras.live().stats(self.0.id).map(CameraStats))
    }
}

/// Live telemetry of a camera worker.
pub struct CameraStats(pub LiveStats);

#[Object]
impl CameraStats {
    /// Frames grabbed per second (last second).
    async fn capture_fps(&self) -> f64 {
        self.0.capture_fps
    }
    /// Frames analysed per second (last seconds).
    async fn analysed_fps(&self) -> f64 {
        self.0.analysed_fps
    }
    /// Frames grabbed since the worker started.
    async fn frames_grabbed(&self) -> u64 {
        self.0.frames_grabbed
    }
    /// Frames analysed.
    async fn frames_analysed(&self) -> u64 {
        self.0.frames_analysed
    }
    /// Analysis ticks skipped while the previous frame was still being analysed.
    async fn frames_skipped(&self) -> u64 {
        self.0.frames_skipped
    }
    /// Analysis jobs refused by a full inference queue.
    async fn jobs_refused(&self) -> u64 {
        self.0.jobs_refused
    }
    /// Reconnect attempts.
    async fn reconnects(&self) -> u64 {
        self.0.reconnects
    }
    /// MJPEG viewers now.
    async fn viewers(&self) -> u64 {
        self.0.viewers
    }
    /// Grab → analysis result latency, median, milliseconds.
    async fn latency_p50_ms(&self) -> Option<f64> {
        self.0.latency_p50_ms
    }
    /// Grab → analysis result latency, 99th percentile, milliseconds.
    async fn latency_p99_ms(&self) -> Option<f64> {
        self.0.latency_p99_ms
    }
    /// Grab → alert stored latency, median, milliseconds.
    async fn alert_latency_p50_ms(&self) -> Option<f64> {
        self.0.alert_latency_p50_ms
    }
    /// Grab → alert stored latency, 99th percentile, milliseconds.
    async fn alert_latency_p99_ms(&self) -> Option<f64> {
        self.0.alert_latency_p99_ms
    }
}

/// A polygon zone (the monitor document's "rectangle").
pub struct Zone(pub zone::Model);

#[Object]
impl Zone {
    /// Id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// Camera id.
    async fn camera_id(&self) -> i32 {
        self.0.camera_id
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// `[{"x", "y"}, …]`, camera pixels.
    async fn coordinates(&self) -> GqlJson<serde_json::Value> {
        GqlJson(self.0.coordinates.clone())
    }
    /// Seconds an object must stay inside before an alert.
    async fn alert_duration(&self) -> i32 {
        self.0.alert_duration
    }
    /// Whether its alerts are delivered.
    async fn notification_enabled(&self) -> bool {
        self.0.notification_enabled
    }
    /// Classes it watches (empty = all).
    async fn detection_classes(&self) -> Vec<String> {
        crate::domain::cameras::validate::stored_classes(&self.0.detection_classes)
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A notification.
pub struct Notification(pub notification::Model);

#[Object]
impl Notification {
    /// Id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// Owner.
    async fn account_uuid(&self) -> Uuid {
        self.0.account_id
    }
    /// Camera id.
    async fn camera_id(&self) -> i32 {
        self.0.camera_id
    }
    /// The camera (null once deleted).
    async fn camera(&self, ctx: &Context<'_>) -> AppResult<Option<Camera>> {
        Ok(load(ctx, CameraId(self.0.camera_id))
            .await?
            .filter(|c| c.deleted_at.is_none())
            .map(Camera))
    }
    /// Zone that raised it.
    async fn zone_id(&self) -> Option<i32> {
        self.0.zone_id
    }
    /// Zone name.
    async fn region_name(&self) -> Option<&str> {
        self.0.region_name.as_deref()
    }
    /// Track that dwelt in the zone.
    async fn track_id(&self) -> Option<i64> {
        self.0.track_id
    }
    /// Class.
    async fn detection_type(&self) -> &str {
        &self.0.detection_type
    }
    /// Confidence, 0–1.
    async fn confidence(&self) -> Option<f64> {
        self.0.confidence
    }
    /// Message.
    async fn message(&self) -> &str {
        &self.0.message
    }
    /// Snapshot path (`outputs/alerts/…`; `GET /showimage/{imagePath}` serves it).
    async fn image_path(&self) -> Option<&str> {
        self.0.image_path.as_deref()
    }
    /// Snapshot URL.
    async fn image_url(&self) -> Option<String> {
        self.0
            .image_path
            .as_deref()
            .filter(|p| p.starts_with("outputs/"))
            .map(|p| format!("/showimage{}", url(p)))
    }
    /// Bounding box (`bounding_box` {x, y, width, height}), posture, dwell seconds, …
    async fn metadata(&self) -> Option<GqlJson<serde_json::Value>> {
        self.0.metadata.clone().map(GqlJson)
    }
    /// `unread` or `read`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// Later alerts of the same zone folded into this one outside the device's peak slots
    /// (at most one alert per zone per `devices.offpeak_alert_interval_secs`).
    async fn coalesced_count(&self) -> i32 {
        self.0.coalesced_count
    }
    /// A level_02 device's VLM summary of the snapshot (null until read, or without VLM).
    async fn vlm_summary(&self) -> Option<&str> {
        self.0.vlm_summary.as_deref()
    }
    /// The VLM's structured reading (the JSON object it answered: `summary`, `objects`,
    /// `riskLevel`, `actionRequired`), null when it answered none.
    async fn vlm_structured_result(&self) -> Option<GqlJson<serde_json::Value>> {
        self.0.vlm_structured_result.clone().map(GqlJson)
    }
    /// The model that read it.
    async fn vlm_model(&self) -> Option<&str> {
        self.0.vlm_model.as_deref()
    }
    /// Tokens the reading cost (`usage.total_tokens`, counted against the VLM quota).
    async fn vlm_tokens(&self) -> Option<i64> {
        self.0.vlm_tokens
    }
    /// `pending` when deliveries were queued for it (each one's state is in
    /// `deliveries`), `none` when no channel was subscribed or its zone's notifications
    /// are off.
    async fn delivery(&self) -> &str {
        &self.0.delivery
    }
    /// Whether at least one delivery was queued (the document's `notification_sent`).
    async fn delivery_queued(&self) -> bool {
        self.0.delivery != "none"
    }
    /// Its deliveries (one per subscribed channel target), oldest first.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Vec<crate::graphql::channels::types::Delivery>> {
        Ok(load(
            ctx,
            crate::graphql::channels::types::NotificationDeliveries(self.0.id),
        )
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(crate::graphql::channels::types::Delivery)
        .collect())
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A tracked object of an analysed frame.
#[derive(SimpleObject)]
pub struct TrackedObject {
    /// Track id (per camera worker).
    pub track_id: u64,
    /// `person`, or the vehicles model's class (`car` …).
    pub label: String,
    /// The model's raw class (people: `Normal` / `Fall`).
    pub class_name: String,
    /// The model that saw it.
    pub model: String,
    /// Confidence, 0–1.
    pub confidence: f32,
    /// x1, y1, x2, y2, source pixels.
    pub bbox: Vec<f32>,
    /// People: `normal` or `fall`.
    pub posture: Option<String>,
    /// Zones it is counted in.
    pub zone_ids: Vec<i32>,
}

impl From<&LiveObject> for TrackedObject {
    fn from(o: &LiveObject) -> Self {
        Self {
            track_id: o.track_id,
            label: o.label.clone(),
            class_name: o.class_name.clone(),
            model: o.model.clone(),
            confidence: o.confidence,
            bbox: o.bbox.to_vec(),
            posture: o.posture(),
            zone_ids: o.zones.clone(),
        }
    }
}

/// The tracked objects of one analysed camera frame.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct CameraFrame {
    /// Camera id.
    pub camera_id: i32,
    /// Frame sequence number.
    pub seq: u64,
    /// Grab time.
    pub captured_at: DateTime<Utc>,
    /// Frame width, pixels.
    pub width: u32,
    /// Frame height, pixels.
    pub height: u32,
    /// Zones occupied.
    pub occupied_zone_ids: Vec<i32>,
    /// Model time, milliseconds.
    pub inference_ms: f64,
    /// Grab → result, milliseconds.
    pub latency_ms: f64,
    #[graphql(skip)]
    pub frame: std::sync::Arc<FrameResult>,
}

#[ComplexObject]
impl CameraFrame {
    /// Tracked objects.
    async fn objects(&self) -> Vec<TrackedObject> {
        self.frame.objects.iter().map(TrackedObject::from).collect()
    }
}

impl CameraFrame {
    /// The wire form of a frame result.
    pub fn new(camera_id: i32, frame: std::sync::Arc<FrameResult>) -> Self {
        Self {
            camera_id,
            seq: frame.seq,
            captured_at: frame.captured_at,
            width: frame.width,
            height: frame.height,
            occupied_zone_ids: frame.occupied.clone(),
            inference_ms: frame.inference_ms,
            latency_ms: frame.latency_ms,
            frame,
        }
    }
}

/// A zone as sent (monitor-api.zh-TW.txt `regions` / `detection_areas`).
#[derive(InputObject, Default)]
pub struct ZoneInput {
    /// Name (1–100 characters).
    pub name: Option<String>,
    /// `[[x, y], …]` or `[{"x", "y"}, …]`, camera pixels, at least 3 points.
    pub coordinates: Option<GqlJson<serde_json::Value>>,
    /// Seconds (default 5, ≥ 0).
    pub alert_duration: Option<i64>,
    /// Deliver alerts (default true).
    pub notification_enabled: Option<bool>,
    /// `person`, `vehicle` or a model's class names (default `["person"]`; `[]` = all).
    pub detection_classes: Option<Vec<String>>,
}

impl From<ZoneInput> for DomainZone {
    fn from(z: ZoneInput) -> Self {
        Self {
            name: z.name,
            coordinates: z.coordinates.map(|c| c.0),
            alert_duration: z.alert_duration,
            notification_enabled: z.notification_enabled,
            detection_classes: z.detection_classes,
        }
    }
}

/// A new camera.
#[derive(InputObject, Default)]
pub struct CameraInput {
    /// Name (required, 1–100 characters).
    pub name: Option<String>,
    /// `rtsp://` or `rtsps://` URL (required); credentials allowed, never answered.
    pub stream_url: Option<String>,
    /// Analyse frames (default true).
    pub recognition: Option<bool>,
    /// Location.
    pub location: Option<String>,
    /// `yolo_v11_detect` (default), `alpr` (plate reading) or an installed model name.
    pub model_name: Option<String>,
    /// `true` reads plates (the same as `modelName: "alpr"`).
    pub plate_recognition: Option<bool>,
    /// Zones to create with it.
    pub detection_areas: Option<Vec<ZoneInput>>,
}

/// Camera changes (absent = unchanged; blank location clears it).
#[derive(InputObject, Default)]
pub struct CameraUpdate {
    /// Name.
    pub name: Option<String>,
    /// Stream URL (a change restarts the worker).
    pub stream_url: Option<String>,
    /// Analyse frames.
    pub recognition: Option<bool>,
    /// Location.
    pub location: Option<String>,
    /// Detector set.
    pub model_name: Option<String>,
    /// `true` switches to plate reading (`modelName` `alpr`), `false` back to
    /// `yolo_v11_detect` when it read plates.
    pub plate_recognition: Option<bool>,
}

/// A notification posted by a client.
#[derive(InputObject, Default)]
pub struct NotificationInput {
    /// Camera (required).
    pub camera_id: Option<i32>,
    /// Message (required).
    pub message: Option<String>,
    /// Image path.
    pub image_path: Option<String>,
    /// Class (default `person`).
    pub detection_type: Option<String>,
    /// Confidence, 0–1.
    pub confidence: Option<f64>,
    /// Zone name.
    pub region_name: Option<String>,
    /// JSON object (`bounding_box` …).
    pub metadata: Option<GqlJson<serde_json::Value>>,
}

/// The zones a camera has after `setZones`.
#[derive(SimpleObject)]
pub struct ZoneSet {
    /// Camera id.
    pub camera_id: i32,
    /// The zones.
    pub zones: Vec<Zone>,
    /// How many.
    pub count: usize,
    /// When they were saved.
    pub saved_at: DateTime<Utc>,
}

/// What `deleteZones` removed.
#[derive(SimpleObject)]
pub struct ZoneDeletion {
    /// Camera id.
    pub camera_id: i32,
    /// Zones deleted.
    pub deleted: u64,
    /// When.
    pub deleted_at: DateTime<Utc>,
}
