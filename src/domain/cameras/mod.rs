//! The camera domain (monitor-api.zh-TW.txt "全面的攝影機配置與監控 API", "智能檢測區域配置與
//! 管理", "智能警報與通知系統"): cameras, their polygon zones, notifications. The devices
//! group shows the same cameras by `uuid`.
//!
//! Every write validates all of its input first ([`validate`]), runs in one transaction, and
//! only then tells the live workers ([`crate::live::LiveCameras`]): a new camera starts
//! `connecting`, a URL change restarts its worker, a delete stops it and removes its files.
//! Another account's camera is `NOT_FOUND` with reason `CAMERA_NOT_FOUND`, never its data.

pub mod notifications;
pub mod validate;

use std::sync::Arc;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseConnection,
    EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _, TransactionTrait as _,
};
use serde_json::Value as Json;
use uuid::Uuid;

use self::validate::Errors;
use crate::{
    db::{
        self,
        entities::{camera, notification, zone},
    },
    error::{AppError, AppResult},
    events::{Event, EventBus},
    inference::DetectorInfo,
    live::{
        LiveCameras,
        analysis::{DEFAULT_MODEL_SET, PLATES, VEHICLES},
    },
    storage::ArtifactStore,
};

/// Class names of the default vehicles model, accepted even before its weights are fetched.
pub const DEFAULT_VEHICLE_CLASSES: &[&str] = &["bick", "bus", "car", "lorry", "tuktuk", "van"];

/// A zone as a client sends it.
#[derive(Debug, Clone, Default)]
pub struct ZoneInput {
    /// Name (1–100 characters).
    pub name: Option<String>,
    /// `[[x, y], …]` or `[{"x", "y"}, …]`, camera pixels.
    pub coordinates: Option<Json>,
    /// Seconds (default 5).
    pub alert_duration: Option<i64>,
    /// Deliver alerts (default true).
    pub notification_enabled: Option<bool>,
    /// Classes (default `["person"]`; empty = every class).
    pub detection_classes: Option<Vec<String>>,
}

/// A new camera.
#[derive(Debug, Clone, Default)]
pub struct NewCamera {
    /// Name (required).
    pub name: Option<String>,
    /// `rtsp://` / `rtsps://` URL (required).
    pub stream_url: Option<String>,
    /// Analyse frames (default true).
    pub recognition: Option<bool>,
    /// Location.
    pub location: Option<String>,
    /// Detector set (default `yolo_v11_detect`).
    pub model_name: Option<String>,
    /// Zones created with it (the document's `detection_areas`).
    pub zones: Option<Vec<ZoneInput>>,
}

/// Camera changes; absent fields stay, a blank location clears it.
#[derive(Debug, Clone, Default)]
pub struct CameraChanges {
    /// Name.
    pub name: Option<String>,
    /// Stream URL (a change restarts the worker and sets `connecting`).
    pub stream_url: Option<String>,
    /// Analyse frames.
    pub recognition: Option<bool>,
    /// Location.
    pub location: Option<String>,
    /// Detector set.
    pub model_name: Option<String>,
}

/// Cameras, zones and notifications of every account.
#[derive(Clone)]
pub struct CameraService {
    db: DatabaseConnection,
    live: Arc<LiveCameras>,
    detectors: Vec<DetectorInfo>,
    installed: Arc<dyn Fn() -> Vec<String> + Send + Sync>,
    store: ArtifactStore,
    bus: Arc<dyn EventBus>,
    allowed_hosts: Vec<String>,
}

/// 404 `CAMERA_NOT_FOUND` in the document's words.
pub fn camera_not_found() -> AppError {
    AppError::NotFound {
        reason: Some("CAMERA_NOT_FOUND"),
        message: "攝影機不存在或無權限訪問".into(),
    }
}

impl CameraService {
    /// The service. `installed` lists the model names installed now (for `model_name`).
    pub fn new(
        db: DatabaseConnection,
        live: Arc<LiveCameras>,
        detectors: Vec<DetectorInfo>,
        installed: Arc<dyn Fn() -> Vec<String> + Send + Sync>,
        store: ArtifactStore,
        bus: Arc<dyn EventBus>,
    ) -> Self {
        Self {
            db,
            live,
            detectors,
            installed,
            store,
            bus,
            allowed_hosts: Vec::new(),
        }
    }

    /// Limits stream URLs to these hosts (`cameras.allowed_hosts`; empty = any).
    #[must_use]
    pub fn with_allowed_hosts(mut self, hosts: Vec<String>) -> Self {
        self.allowed_hosts = hosts;
        self
    }

    /// The hosts stream URLs are limited to (`cameras.allowed_hosts`; empty = any).
    pub fn allowed_hosts(&self) -> &[String] {
        &self.allowed_hosts
    }

    /// The event bus.
    pub fn bus(&self) -> &Arc<dyn EventBus> {
        &self.bus
    }

    /// Publishes a camera event on the bus.
    pub fn publish(&self, event: Event) {
        self.bus.publish(event);
    }

    /// The live workers.
    pub fn live(&self) -> &Arc<LiveCameras> {
        &self.live
    }

    /// The file store.
    pub fn store(&self) -> &ArtifactStore {
        &self.store
    }

    /// Class names a zone may list: `person`, `vehicle`, and every loaded model's classes.
    pub fn known_classes(&self) -> Vec<String> {
        let mut v: Vec<String> = ["person", "vehicle"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        v.extend(DEFAULT_VEHICLE_CLASSES.iter().map(|s| (*s).to_owned()));
        for d in &self.detectors {
            v.extend(d.classes.iter().cloned());
        }
        let mut seen = std::collections::HashSet::new();
        v.retain(|c| seen.insert(c.clone()));
        v
    }

    /// Accepted `model_name`s: `yolo_v11_detect`, `alpr` (plate reading, when the vehicles
    /// model and OCR are loaded) and every installed model.
    pub fn model_names(&self) -> Vec<String> {
        let mut v = vec![DEFAULT_MODEL_SET.to_owned()];
        if self.detectors.iter().any(|d| d.name == VEHICLES) {
            v.push(PLATES.to_owned());
        }
        v.extend(self.detectors.iter().map(|d| d.name.clone()));
        v.extend((self.installed)());
        let mut seen = std::collections::HashSet::new();
        v.retain(|c| seen.insert(c.clone()));
        v
    }

    fn model_name(&self, errs: &mut Errors, field: &str, value: Option<&str>) -> String {
        let v = value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .unwrap_or(DEFAULT_MODEL_SET);
        let known = self.model_names();
        if !known.iter().any(|k| k == v) {
            errs.add(
                field,
                format!("unknown model {v:?} (known: {})", known.join(", ")),
            );
        }
        v.to_owned()
    }

    fn zone_rows(
        &self,
        errs: &mut Errors,
        field: &str,
        account_id: Uuid,
        camera_id: i32,
        zones: &[ZoneInput],
    ) -> Vec<zone::ActiveModel> {
        if zones.len() > validate::MAX_ZONES {
            errs.add(
                field,
                format!("at most {} zones per camera", validate::MAX_ZONES),
            );
        }
        let known = self.known_classes();
        let now = Utc::now();
        zones
            .iter()
            .enumerate()
            .map(|(i, z)| {
                let f = |name: &str| format!("{field}[{i}].{name}");
                let name = match &z.name {
                    Some(n) => validate::name(errs, &f("name"), n, validate::MAX_NAME),
                    None => {
                        errs.add(f("name"), "is required");
                        String::new()
                    }
                };
                let points = match &z.coordinates {
                    Some(c) => validate::polygon(errs, &f("coordinates"), c),
                    None => {
                        errs.add(f("coordinates"), "is required");
                        Vec::new()
                    }
                };
                let duration =
                    validate::alert_duration(errs, &f("alert_duration"), z.alert_duration);
                let classes = validate::classes(
                    errs,
                    &f("detection_classes"),
                    z.detection_classes.as_deref(),
                    &known,
                );
                zone::ActiveModel {
                    account_id: Set(account_id),
                    camera_id: Set(camera_id),
                    name: Set(name),
                    coordinates: Set(validate::polygon_json(&points)),
                    alert_duration: Set(duration),
                    notification_enabled: Set(z.notification_enabled.unwrap_or(true)),
                    detection_classes: Set(Json::from(classes)),
                    created_at: Set(now),
                    ..Default::default()
                }
            })
            .collect()
    }

    /// The caller's cameras, oldest first, and how many there are.
    ///
    /// # Errors
    /// `INTERNAL` on database failures.
    pub async fn cameras(
        &self,
        account_id: Uuid,
        offset: u64,
        limit: u64,
    ) -> AppResult<(Vec<camera::Model>, u64)> {
        let q = camera::live_rows()
            .filter(camera::Column::AccountId.eq(account_id))
            .order_by_asc(camera::Column::Id);
        db::page(&self.db, q, offset, limit).await
    }

    /// One of the caller's cameras.
    ///
    /// # Errors
    /// `CAMERA_NOT_FOUND`; `INTERNAL` on database failures.
    pub async fn camera(&self, account_id: Uuid, id: i32) -> AppResult<camera::Model> {
        let q = camera::live_rows()
            .filter(camera::Column::Id.eq(id))
            .filter(camera::Column::AccountId.eq(account_id));
        db::one_or(&self.db, q, camera_not_found).await
    }

    /// Creates a camera and its zones in one transaction, then starts its worker
    /// (`connecting`).
    ///
    /// # Errors
    /// `BAD_USER_INPUT` naming every bad field (nothing stored); `INTERNAL`.
    pub async fn create(
        &self,
        account_id: Uuid,
        input: NewCamera,
    ) -> AppResult<(camera::Model, Vec<zone::Model>)> {
        let mut errs = Errors::default();
        let name = match &input.name {
            Some(n) => validate::name(&mut errs, "name", n, validate::MAX_NAME),
            None => {
                errs.add("name", "is required");
                String::new()
            }
        };
        let url = match &input.stream_url {
            Some(u) => validate::stream_url(&mut errs, "stream_url", u, &self.allowed_hosts),
            None => {
                errs.add("stream_url", "is required");
                String::new()
            }
        };
        let location = validate::optional_text(
            &mut errs,
            "location",
            input.location.as_deref(),
            validate::MAX_LOCATION,
        );
        let model_name = self.model_name(&mut errs, "model_name", input.model_name.as_deref());
        let zones = self.zone_rows(
            &mut errs,
            "detection_areas",
            account_id,
            0,
            input.zones.as_deref().unwrap_or_default(),
        );
        errs.finish()?;
        let now = Utc::now();
        let txn = self.db.begin().await?;
        let cam = camera::ActiveModel {
            uuid: Set(Uuid::new_v4()),
            account_id: Set(account_id),
            name: Set(name),
            stream_url: Set(url),
            recognition: Set(input.recognition.unwrap_or(true)),
            location: Set(location),
            model_name: Set(model_name),
            status: Set("connecting".into()),
            width: Set(None),
            height: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            last_active: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let mut stored = Vec::with_capacity(zones.len());
        for mut z in zones {
            z.camera_id = Set(cam.id);
            stored.push(z.insert(&txn).await?);
        }
        txn.commit().await?;
        self.live.start(&cam, &stored);
        self.bus.publish(Event::CameraStatusChanged {
            account_id,
            camera_id: cam.id,
            status: cam.status.clone(),
        });
        Ok((cam, stored))
    }

    /// Changes a camera; a new URL sets `connecting` and restarts the worker.
    ///
    /// # Errors
    /// `CAMERA_NOT_FOUND`, `BAD_USER_INPUT` (nothing stored); `INTERNAL`.
    pub async fn update(
        &self,
        account_id: Uuid,
        id: i32,
        ch: CameraChanges,
    ) -> AppResult<camera::Model> {
        let cam = self.camera(account_id, id).await?;
        let mut errs = Errors::default();
        let mut row: camera::ActiveModel = cam.clone().into();
        if let Some(n) = &ch.name {
            row.name = Set(validate::name(&mut errs, "name", n, validate::MAX_NAME));
        }
        let mut restarted = false;
        if let Some(u) = &ch.stream_url {
            let u = validate::stream_url(&mut errs, "stream_url", u, &self.allowed_hosts);
            if u != cam.stream_url {
                restarted = true;
                row.stream_url = Set(u);
                row.status = Set("connecting".into());
                row.width = Set(None);
                row.height = Set(None);
            }
        }
        if let Some(r) = ch.recognition {
            row.recognition = Set(r);
        }
        if let Some(l) = &ch.location {
            row.location = Set(validate::optional_text(
                &mut errs,
                "location",
                Some(l),
                validate::MAX_LOCATION,
            ));
        }
        if let Some(m) = &ch.model_name {
            row.model_name = Set(self.model_name(&mut errs, "model_name", Some(m)));
        }
        errs.finish()?;
        row.updated_at = Set(Utc::now());
        let cam = row.update(&self.db).await?;
        let zones = self.zones_of(cam.id).await?;
        self.live.update(&cam, &zones);
        if restarted {
            self.bus.publish(Event::CameraStatusChanged {
                account_id,
                camera_id: id,
                status: cam.status.clone(),
            });
        }
        Ok(cam)
    }

    /// Deletes a camera with its zones, notifications and their snapshot files, and stops
    /// its worker.
    ///
    /// # Errors
    /// `CAMERA_NOT_FOUND`; `INTERNAL`.
    pub async fn delete(&self, account_id: Uuid, id: i32) -> AppResult<i32> {
        let cam = self.camera(account_id, id).await?;
        let files: Vec<Option<String>> = notification::Entity::find()
            .select_only()
            .column(notification::Column::ImagePath)
            .filter(notification::Column::CameraId.eq(cam.id))
            .into_tuple()
            .all(&self.db)
            .await?;
        let txn = self.db.begin().await?;
        notification::Entity::delete_many()
            .filter(notification::Column::CameraId.eq(cam.id))
            .exec(&txn)
            .await?;
        zone::Entity::delete_many()
            .filter(zone::Column::CameraId.eq(cam.id))
            .exec(&txn)
            .await?;
        camera::Entity::delete_by_id(cam.id).exec(&txn).await?;
        txn.commit().await?;
        self.live.stop(cam.id);
        let files: Vec<String> = files
            .into_iter()
            .flatten()
            .filter(|p| p.starts_with("outputs/"))
            .collect();
        self.store.remove_all(&files);
        Ok(cam.id)
    }

    /// A camera's zones (a device's scenes), in creation order.
    ///
    /// # Errors
    /// `INTERNAL`.
    pub async fn zones_of(&self, camera_id: i32) -> AppResult<Vec<zone::Model>> {
        Ok(zone::Entity::find()
            .filter(zone::Column::CameraId.eq(camera_id))
            .order_by_asc(zone::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// The zones of one of the caller's cameras, in creation order.
    ///
    /// # Errors
    /// `CAMERA_NOT_FOUND`; `INTERNAL`.
    pub async fn zones(&self, account_id: Uuid, camera_id: i32) -> AppResult<Vec<zone::Model>> {
        let cam = self.camera(account_id, camera_id).await?;
        self.zones_of(cam.id).await
    }

    /// Replaces a camera's zones (the document's `POST /rectangles`) in one transaction.
    ///
    /// # Errors
    /// `CAMERA_NOT_FOUND`, `BAD_USER_INPUT` (nothing changed); `INTERNAL`.
    pub async fn set_zones(
        &self,
        account_id: Uuid,
        camera_id: i32,
        zones: Vec<ZoneInput>,
    ) -> AppResult<Vec<zone::Model>> {
        let cam = self.camera(account_id, camera_id).await?;
        let mut errs = Errors::default();
        let rows = self.zone_rows(&mut errs, "regions", account_id, cam.id, &zones);
        errs.finish()?;
        let txn = self.db.begin().await?;
        zone::Entity::delete_many()
            .filter(zone::Column::CameraId.eq(cam.id))
            .exec(&txn)
            .await?;
        let mut stored = Vec::with_capacity(rows.len());
        for z in rows {
            stored.push(z.insert(&txn).await?);
        }
        txn.commit().await?;
        self.live.update(&cam, &stored);
        Ok(stored)
    }

    /// Deletes every zone of a camera; answers how many.
    ///
    /// # Errors
    /// `CAMERA_NOT_FOUND`; `INTERNAL`.
    pub async fn delete_zones(&self, account_id: Uuid, camera_id: i32) -> AppResult<u64> {
        let cam = self.camera(account_id, camera_id).await?;
        let n = zone::Entity::delete_many()
            .filter(zone::Column::CameraId.eq(cam.id))
            .exec(&self.db)
            .await?
            .rows_affected;
        self.live.update(&cam, &[]);
        Ok(n)
    }

    /// Starts a worker for every stored camera that has none (server start).
    ///
    /// # Errors
    /// `INTERNAL` on database failures.
    pub async fn start_all(&self) -> AppResult<usize> {
        let cams = camera::live_rows()
            .order_by_asc(camera::Column::Id)
            .all(&self.db)
            .await?;
        let zones = zone::Entity::find()
            .filter(zone::Column::DeletedAt.is_null())
            .order_by_asc(zone::Column::Id)
            .all(&self.db)
            .await?;
        for c in cams.iter().filter(|c| !self.live.is_running(c.id)) {
            let mine: Vec<zone::Model> = zones
                .iter()
                .filter(|z| z.camera_id == c.id)
                .cloned()
                .collect();
            if c.status != "connecting" {
                camera::Entity::update(camera::ActiveModel {
                    id: Set(c.id),
                    status: Set("connecting".into()),
                    ..Default::default()
                })
                .exec(&self.db)
                .await?;
            }
            self.live.start(c, &mine);
        }
        Ok(cams.len())
    }

    /// The database.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }
}
