//! The devices domain (devices-api-v1.zh-TW.txt, "SaaS-API v0.10.0"; decisions in
//! ENDPOINTS.md "devices"): a device **is** a camera — the same `cameras` row the monitor
//! group shows by integer id, here by its UUID with the document's fields (plan, tags,
//! UTC offset, schedule, geo position, write-only RTSP credentials). A device's scenes are
//! its camera's zones.
//!
//! Writes validate everything first ([`validate`]) and only then store, then tell the live
//! workers (a new URL or new credentials restart the capture thread). Delete is a soft
//! delete of the device and its scenes in one transaction, refused with `CONFLICT`
//! (`DEVICE_ANALYSIS_ACTIVE`) while analysis runs. Another account's device is
//! `NOT_FOUND` (`DEVICE_NOT_FOUND`).

pub mod alerts;
pub mod list;
pub mod probe;
pub mod quota;
pub mod schedule;
pub mod validate;
pub mod workers;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseConnection,
    EntityTrait as _, IntoActiveModel as _, QueryFilter as _, QueryOrder as _,
    TransactionTrait as _, sea_query::Expr,
};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use self::{
    probe::{PROBE_DEADLINE, ProbeAuth, ProbeOutcome},
    validate::Errors,
};
use crate::{
    crypto::SecretBox,
    db::{
        self,
        entities::{api_key, camera, zone},
    },
    domain::cameras::{CameraService, validate::stream_url},
    error::{AppError, AppResult},
    events::Event,
    rtsp_auth::RtspAuth,
};

/// A value of a PATCH: absent (keep), `null` (clear) or a new value.
pub type Change<T> = Option<Option<T>>;

/// A device as a client sends it (create: `name` and `rtspUrl` required; update: absent
/// fields stay, `null` clears an optional one).
#[derive(Debug, Clone, Default)]
pub struct DeviceInput {
    /// 1–200 characters.
    pub name: Option<String>,
    /// At most 500 characters.
    pub description: Change<String>,
    /// `rtsp://` or `rtsps://`.
    pub rtsp_url: Option<String>,
    /// Basic auth user name (with `rtsp_password`).
    pub rtsp_username: Change<String>,
    /// Basic auth password (with `rtsp_username`).
    pub rtsp_password: Change<String>,
    /// Bearer token (instead of user name and password).
    pub rtsp_token: Change<String>,
    /// At most 200 characters.
    pub location_label: Change<String>,
    /// −90 … 90 degrees.
    pub latitude: Change<f64>,
    /// −180 … 180 degrees.
    pub longitude: Change<f64>,
    /// `manual`, `address`, `device` or `ip`.
    pub geo_source: Change<String>,
    /// `ip_camera` (default), `rtsp_source` or `usb_camera`.
    pub device_type: Option<String>,
    /// `level_01` (default) or `level_02`.
    pub plan: Option<String>,
    /// Tags.
    pub tags: Change<Vec<String>>,
    /// `UTC+H`, `UTC-H`, `UTC+H:MM` (default `UTC+0`).
    pub utc_offset: Option<String>,
    /// The schedule object; `null` = manual start/stop.
    pub schedule: Change<Json>,
}

/// The analysis state of a device (`IDLE`, `STARTING`, `RUNNING`, `STOPPING`): starting and
/// stopping happen within one request here, so a reader sees `IDLE` or `RUNNING`.
pub fn analysis_state(cam: &camera::Model) -> &'static str {
    if cam.recognition { "RUNNING" } else { "IDLE" }
}

/// The plan's capabilities (the document's `enabledCapabilities` column).
pub fn capabilities(plan: &str) -> &'static [&'static str] {
    if plan == "level_02" {
        &["result", "alert", "attribute", "vlm"]
    } else {
        &["result", "alert"]
    }
}

/// The URL without user information (credentials are never answered).
pub fn public_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.into()
        }
        _ => url.to_owned(),
    }
}

/// 404 `DEVICE_NOT_FOUND`.
pub fn device_not_found() -> AppError {
    AppError::NotFound {
        reason: Some("DEVICE_NOT_FOUND"),
        message: "設備不存在".into(),
    }
}

/// Devices of every account, over the camera service.
#[derive(Clone)]
pub struct DeviceService {
    db: DatabaseConnection,
    cameras: CameraService,
    secrets: SecretBox,
    probe_deadline: std::time::Duration,
    runtime: workers::SharedRuntime,
}

impl DeviceService {
    /// The service.
    pub fn new(db: DatabaseConnection, cameras: CameraService, secrets: SecretBox) -> Self {
        Self {
            db,
            cameras,
            secrets,
            probe_deadline: PROBE_DEADLINE,
            runtime: workers::SharedRuntime::default(),
        }
    }

    /// The database.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// One of the caller's devices by UUID.
    ///
    /// # Errors
    /// `DEVICE_NOT_FOUND`; `INTERNAL`.
    pub async fn device(&self, account_id: Uuid, id: Uuid) -> AppResult<camera::Model> {
        let q = camera::live_rows()
            .filter(camera::Column::Uuid.eq(id))
            .filter(camera::Column::AccountId.eq(account_id));
        db::one_or(&self.db, q, device_not_found).await
    }

    /// The stored credentials of a device (`None` when none or unreadable).
    pub fn auth_of(&self, cam: &camera::Model) -> Option<RtspAuth> {
        RtspAuth::open(cam.rtsp_auth.as_deref(), &self.secrets)
    }

    /// Validates the credential fields: `Some(new)` when they change (`Some(None)` clears).
    fn credentials(
        errs: &mut Errors,
        input: &DeviceInput,
        creating: bool,
    ) -> Option<Option<RtspAuth>> {
        fn given(c: &Change<String>) -> Option<&str> {
            c.as_ref().map(|v| v.as_deref().unwrap_or_default())
        }
        let (user, pass, token) = (
            given(&input.rtsp_username),
            given(&input.rtsp_password),
            given(&input.rtsp_token),
        );
        if user.is_none() && pass.is_none() && token.is_none() {
            return creating.then_some(None);
        }
        for (f, v) in [
            ("rtspUsername", user),
            ("rtspPassword", pass),
            ("rtspToken", token),
        ] {
            if v.is_some_and(|v| v.len() > validate::MAX_SECRET || v.chars().any(char::is_control))
            {
                errs.add(
                    f,
                    format!(
                        "must be at most {} bytes without control characters",
                        validate::MAX_SECRET
                    ),
                );
            }
        }
        let (user, pass, token) = (
            user.filter(|v| !v.is_empty()),
            pass.filter(|v| !v.is_empty()),
            token.filter(|v| !v.is_empty()),
        );
        match (user, pass, token) {
            (None, None, None) => Some(None),
            (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
                errs.add(
                    "rtspToken",
                    "choose one authentication: rtspUsername + rtspPassword (Basic) or rtspToken (Bearer)",
                );
                None
            }
            (None, None, Some(t)) => Some(Some(RtspAuth::Bearer { token: t.into() })),
            (Some(u), Some(p), None) => Some(Some(RtspAuth::Basic {
                username: u.into(),
                password: p.into(),
            })),
            (None, Some(_), None) => {
                errs.add("rtspUsername", "is required with rtspPassword");
                None
            }
            (Some(_), None, None) => {
                errs.add("rtspPassword", "is required with rtspUsername");
                None
            }
        }
    }

    /// Applies and validates `input` on `row` (a new or a stored device).
    fn apply(
        &self,
        errs: &mut Errors,
        row: &mut camera::ActiveModel,
        input: &DeviceInput,
        creating: bool,
    ) {
        use validate as v;
        match (&input.name, creating) {
            (Some(n), _) => row.name = Set(v::name(errs, "name", n, v::MAX_NAME)),
            (None, true) => errs.add("name", "is required"),
            (None, false) => {}
        }
        match (&input.rtsp_url, creating) {
            (Some(u), _) => {
                row.stream_url = Set(stream_url(errs, "rtspUrl", u, self.cameras.allowed_hosts()));
            }
            (None, true) => errs.add("rtspUrl", "is required"),
            (None, false) => {}
        }
        if let Some(d) = &input.description {
            row.description = Set(v::optional_text(
                errs,
                "description",
                d.as_deref(),
                v::MAX_DESCRIPTION,
            ));
        }
        if let Some(l) = &input.location_label {
            row.location = Set(v::optional_text(
                errs,
                "locationLabel",
                l.as_deref(),
                v::MAX_LOCATION,
            ));
        }
        if let Some(lat) = input.latitude {
            row.latitude = Set(lat.map(|x| v::degrees(errs, "latitude", x, 90.0)));
        }
        if let Some(lng) = input.longitude {
            row.longitude = Set(lng.map(|x| v::degrees(errs, "longitude", x, 180.0)));
        }
        if let Some(g) = &input.geo_source {
            row.geo_source = Set(g
                .as_deref()
                .map(|g| v::one_of(errs, "geoSource", g, v::GEO_SOURCES)));
        }
        if let Some(t) = &input.device_type {
            row.device_type = Set(v::one_of(errs, "type", t, v::TYPES));
        } else if creating {
            row.device_type = Set(v::TYPES[0].into());
        }
        if let Some(p) = &input.plan {
            row.plan = Set(v::one_of(errs, "plan", p, v::PLANS));
        } else if creating {
            row.plan = Set(v::PLANS[0].into());
        }
        if let Some(t) = &input.tags {
            row.tags = Set(t.as_ref().map(|t| json!(v::tags(errs, "tags", t))));
        }
        if let Some(o) = &input.utc_offset {
            row.utc_offset = Set(v::utc_offset(errs, "utcOffset", o).0);
        } else if creating {
            row.utc_offset = Set("UTC+0".into());
        }
        if let Some(s) = &input.schedule {
            row.schedule = Set(s
                .as_ref()
                .filter(|s| !s.is_null())
                .map(|s| v::schedule(errs, "schedule", s)));
        }
        if let Some(auth) = Self::credentials(errs, input, creating) {
            row.rtsp_auth = Set(auth.map(|a| a.seal(&self.secrets)));
        }
    }

    /// Creates a device (a camera with the monitor defaults: `yolo_v11_detect`, no zones);
    /// analysis starts `IDLE` (manual start, or by its schedule).
    ///
    /// # Errors
    /// `BAD_USER_INPUT` naming every bad field (nothing stored); `INTERNAL`.
    pub async fn create(&self, account_id: Uuid, input: DeviceInput) -> AppResult<camera::Model> {
        let mut errs = Errors::default();
        let now = Utc::now();
        let mut row = camera::ActiveModel {
            uuid: Set(Uuid::new_v4()),
            account_id: Set(account_id),
            recognition: Set(false),
            model_name: Set(crate::live::analysis::DEFAULT_MODEL_SET.into()),
            status: Set("connecting".into()),
            created_at: Set(now),
            updated_at: Set(now),
            device_status: Set("active".into()),
            online_status: Set("unknown".into()),
            is_device: Set(true),
            ..Default::default()
        };
        self.apply(&mut errs, &mut row, &input, true);
        errs.finish()?;
        let cam = row.insert(&self.db).await?;
        self.cameras.live().start(&cam, &[]);
        self.cameras.publish(Event::CameraStatusChanged {
            account_id,
            camera_id: cam.id,
            status: cam.status.clone(),
        });
        Ok(cam)
    }

    /// Changes a device; a new URL or new credentials restart its capture thread.
    ///
    /// # Errors
    /// `DEVICE_NOT_FOUND`; `BAD_USER_INPUT` (nothing stored); `INTERNAL`.
    pub async fn update(
        &self,
        account_id: Uuid,
        id: Uuid,
        input: DeviceInput,
    ) -> AppResult<camera::Model> {
        let cam = self.device(account_id, id).await?;
        let mut errs = Errors::default();
        let mut row = cam.clone().into_active_model();
        self.apply(&mut errs, &mut row, &input, false);
        errs.finish()?;
        row.updated_at = Set(Utc::now());
        let cam = row.update(&self.db).await?;
        let zones = self.cameras.zones_of(cam.id).await?;
        self.cameras.live().update(&cam, &zones);
        Ok(cam)
    }

    /// One page of a device's scenes (its zones with their alert rules).
    ///
    /// # Errors
    /// `DEVICE_NOT_FOUND`; `INTERNAL`.
    pub async fn scenes(
        &self,
        account_id: Uuid,
        id: Uuid,
        offset: u64,
        limit: u64,
    ) -> AppResult<(Vec<zone::Model>, u64)> {
        let cam = self.device(account_id, id).await?;
        let q = zone::Entity::find()
            .filter(zone::Column::CameraId.eq(cam.id))
            .filter(zone::Column::DeletedAt.is_null())
            .order_by_asc(zone::Column::Id);
        db::page(&self.db, q, offset, limit).await
    }

    /// Soft-deletes a device with its scenes and revokes its device-bound API keys (one
    /// transaction), and stops its worker.
    ///
    /// # Errors
    /// `DEVICE_NOT_FOUND`; `CONFLICT` `DEVICE_ANALYSIS_ACTIVE` while analysis is running;
    /// `INTERNAL`.
    pub async fn delete(&self, account_id: Uuid, id: Uuid) -> AppResult<camera::Model> {
        let cam = self.device(account_id, id).await?;
        if cam.recognition {
            return Err(AppError::Conflict {
                reason: "DEVICE_ANALYSIS_ACTIVE",
                message: format!(
                    "device analysis is {}: stop it before deleting the device",
                    analysis_state(&cam)
                ),
            });
        }
        let now = Utc::now();
        let txn = self.db.begin().await?;
        zone::Entity::update_many()
            .col_expr(zone::Column::DeletedAt, Expr::value(now))
            .filter(zone::Column::CameraId.eq(cam.id))
            .filter(zone::Column::DeletedAt.is_null())
            .exec(&txn)
            .await?;
        // Its device-bound API keys go with it.
        api_key::Entity::update_many()
            .col_expr(api_key::Column::RevokedAt, Expr::value(now))
            .filter(api_key::Column::DeviceId.eq(cam.uuid))
            .filter(api_key::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        let mut row = cam.clone().into_active_model();
        row.deleted_at = Set(Some(now));
        row.updated_at = Set(now);
        let cam = row.update(&txn).await?;
        txn.commit().await?;
        self.cameras.live().stop(cam.id);
        Ok(cam)
    }

    /// Starts or stops a device's analysis by hand (with `schedule: null`; with a schedule,
    /// the next slot boundary applies the schedule again).
    ///
    /// # Errors
    /// `DEVICE_NOT_FOUND`; `CONFLICT` `QUOTA_EXCEEDED` when starting with the month's
    /// analysis seconds spent; `INTERNAL`.
    pub async fn set_analysis(
        &self,
        account_id: Uuid,
        id: Uuid,
        on: bool,
    ) -> AppResult<camera::Model> {
        let cam = self.device(account_id, id).await?;
        if cam.recognition == on {
            return Ok(cam);
        }
        let now = Utc::now();
        if on && self.analysis_spent(&cam, now).await? {
            return Err(AppError::Conflict {
                reason: "QUOTA_EXCEEDED",
                message: "this month's analysis seconds are spent (see /quota)".into(),
            });
        }
        self.switch(cam, on, now).await
    }

    /// The probe credentials of a device.
    fn probe_auth(&self, cam: &camera::Model) -> ProbeAuth {
        match self.auth_of(cam) {
            Some(RtspAuth::Basic { username, password }) => ProbeAuth::Basic { username, password },
            Some(RtspAuth::Bearer { token }) => ProbeAuth::Bearer(token),
            None => ProbeAuth::None,
        }
    }

    /// Probes a device's RTSP URL now ([`probe::probe`], 5 s deadline) and stores the
    /// verdict: online sets `onlineStatus` online, `lastHeartbeatAt` now and clears the
    /// failure count (a manual probe brings an offline device back); a failure sets
    /// `offline`.
    ///
    /// # Errors
    /// `DEVICE_NOT_FOUND`; `INTERNAL`.
    pub async fn probe(
        &self,
        account_id: Uuid,
        id: Uuid,
    ) -> AppResult<(camera::Model, ProbeOutcome, chrono::DateTime<Utc>)> {
        let cam = self.device(account_id, id).await?;
        self.probe_and_store(cam, true).await
    }

    /// Probes `cam` and stores the verdict. Online: `online`, `lastHeartbeatAt` now, no
    /// failures. A failed `manual` probe answers `offline` at once; a failed automatic
    /// one counts, and the [`workers::OFFLINE_AFTER`]th in a row marks it `offline`.
    pub(super) async fn probe_and_store(
        &self,
        cam: camera::Model,
        manual: bool,
    ) -> AppResult<(camera::Model, ProbeOutcome, chrono::DateTime<Utc>)> {
        let outcome =
            probe::probe(&cam.stream_url, &self.probe_auth(&cam), self.probe_deadline).await;
        let at = Utc::now();
        let failures = cam.probe_failures + 1;
        let mut row = cam.into_active_model();
        if outcome.online() {
            row.online_status = Set("online".into());
            row.last_heartbeat_at = Set(Some(at));
            row.probe_failures = Set(0);
        } else if manual {
            row.online_status = Set("offline".into());
        } else {
            row.probe_failures = Set(failures);
            if failures >= workers::OFFLINE_AFTER {
                row.online_status = Set("offline".into());
            }
        }
        let cam = row.update(&self.db).await?;
        Ok((cam, outcome, at))
    }
}
