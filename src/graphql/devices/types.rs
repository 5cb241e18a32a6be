//! GraphQL types of the devices domain (devices-api-v1.zh-TW.txt): the device view of a
//! camera row, its input, filters and the probe answer.

use async_graphql::{
    Context, ID, InputObject, MaybeUndefined, Object, SimpleObject, types::Json as GqlJson,
};
use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use crate::{
    db::entities::camera,
    domain::devices::{
        Change, DeviceInput as DomainInput, analysis_state, capabilities,
        list::{DeviceFilter as DomainFilter, DeviceQuery},
        public_url,
    },
    error::{AppError, AppResult},
    graphql::{cameras::types::Camera, parse_uuid, state},
    rtsp_auth::RtspAuth,
};

/// A device: a camera with the devices document's fields ("設備").
pub struct Device(pub camera::Model);

#[Object]
impl Device {
    /// UUID.
    async fn id(&self) -> ID {
        ID(self.0.uuid.to_string())
    }
    /// The same row in the monitor group (`/cameras/{id}`).
    async fn camera_id(&self) -> i32 {
        self.0.id
    }
    /// The camera view of this device.
    async fn camera(&self) -> Camera {
        Camera(self.0.clone())
    }
    /// Owner account UUID.
    async fn user_id(&self) -> ID {
        ID(self.0.account_id.to_string())
    }
    /// 1–200 characters.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// At most 500 characters.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The RTSP URL without credentials (they are write-only).
    async fn rtsp_url(&self) -> String {
        public_url(&self.0.stream_url)
    }
    /// `basic`, `bearer` or null: which RTSP credentials are stored (never their values).
    async fn rtsp_auth_type(&self, ctx: &Context<'_>) -> AppResult<Option<&'static str>> {
        Ok(auth_type(state(ctx)?.devices.auth_of(&self.0).as_ref()))
    }
    /// Location label, at most 200 characters.
    async fn location_label(&self) -> Option<&str> {
        self.0.location.as_deref()
    }
    /// WGS84 latitude, degrees.
    async fn latitude(&self) -> Option<f64> {
        self.0.latitude
    }
    /// WGS84 longitude, degrees.
    async fn longitude(&self) -> Option<f64> {
        self.0.longitude
    }
    /// `manual`, `address`, `device` or `ip`.
    async fn geo_source(&self) -> Option<&str> {
        self.0.geo_source.as_deref()
    }
    /// `ip_camera`, `rtsp_source` or `usb_camera`.
    #[graphql(name = "type")]
    async fn device_type(&self) -> &str {
        &self.0.device_type
    }
    /// `level_01` or `level_02`.
    async fn plan(&self) -> &str {
        &self.0.plan
    }
    /// Tags.
    async fn tags(&self) -> Vec<String> {
        self.0
            .tags
            .as_ref()
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default()
    }
    /// `UTC+H`, `UTC-H` or `UTC+H:MM`.
    async fn utc_offset(&self) -> &str {
        &self.0.utc_offset
    }
    /// The schedule object (`daylightSaving`, `dailySlots`, …); null = manual start/stop.
    async fn schedule(&self) -> Option<GqlJson<Json>> {
        self.0.schedule.clone().map(GqlJson)
    }
    /// `active`, `paused` or `archived`.
    async fn status(&self) -> &str {
        &self.0.device_status
    }
    /// `online`, `offline` or `unknown` (the RTSP probe's verdict).
    async fn online_status(&self) -> &str {
        &self.0.online_status
    }
    /// Last successful probe.
    async fn last_heartbeat_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_heartbeat_at
    }
    /// Frames analysed, all time.
    async fn total_analysis_count(&self) -> i64 {
        self.0.total_analysis_count
    }
    /// Seconds spent analysing, all time.
    async fn total_processing_time_seconds(&self) -> f64 {
        self.0.total_processing_time_seconds
    }
    /// The plan's capabilities: `result`, `alert` (+ `attribute`, `vlm` on level_02).
    async fn enabled_capabilities(&self) -> Vec<&'static str> {
        capabilities(&self.0.plan).to_vec()
    }
    /// The latest attribute detections (level_02: people seen fallen), newest first;
    /// `first` 1–100 (default 20).
    async fn attribute_detections(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> AppResult<Vec<super::attributes::AttributeDetection>> {
        let rows = state(ctx)?
            .devices
            .attributes(
                self.0.account_id,
                self.0.uuid,
                u64::try_from(first).unwrap_or(0),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| super::attributes::AttributeDetection {
                row,
                device_id: self.0.uuid,
            })
            .collect())
    }
    /// `IDLE` or `RUNNING` (`STARTING`/`STOPPING` last one request here).
    async fn analysis_state(&self) -> &'static str {
        analysis_state(&self.0)
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last change.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// The kind of stored credentials, for [`Device`] answers (`basic`, `bearer`).
pub fn auth_type(auth: Option<&RtspAuth>) -> Option<&'static str> {
    auth.map(|a| match a {
        RtspAuth::Basic { .. } => "basic",
        RtspAuth::Bearer { .. } => "bearer",
    })
}

fn change<T>(v: MaybeUndefined<T>) -> Change<T> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// A device to create or the changes of one (absent = unchanged, null = cleared).
#[derive(InputObject, Default)]
pub struct DeviceInput {
    /// 1–200 characters (required on create).
    pub name: Option<String>,
    /// At most 500 characters.
    pub description: MaybeUndefined<String>,
    /// `rtsp://` or `rtsps://` (required on create).
    pub rtsp_url: Option<String>,
    /// Basic auth user name (with `rtspPassword`). Write-only.
    pub rtsp_username: MaybeUndefined<String>,
    /// Basic auth password (with `rtspUsername`). Write-only.
    pub rtsp_password: MaybeUndefined<String>,
    /// Bearer token (instead of user name and password). Write-only.
    pub rtsp_token: MaybeUndefined<String>,
    /// At most 200 characters.
    pub location_label: MaybeUndefined<String>,
    /// −90 … 90 degrees.
    pub latitude: MaybeUndefined<f64>,
    /// −180 … 180 degrees.
    pub longitude: MaybeUndefined<f64>,
    /// `manual`, `address`, `device` or `ip`.
    pub geo_source: MaybeUndefined<String>,
    /// `ip_camera` (default), `rtsp_source` or `usb_camera`.
    #[graphql(name = "type")]
    pub device_type: Option<String>,
    /// `level_01` (default) or `level_02`.
    pub plan: Option<String>,
    /// Tags.
    pub tags: MaybeUndefined<Vec<String>>,
    /// `UTC+H`, `UTC-H`, `UTC+H:MM` (default `UTC+0`).
    pub utc_offset: Option<String>,
    /// Schedule object; null = manual start/stop.
    pub schedule: MaybeUndefined<GqlJson<Json>>,
}

impl From<DeviceInput> for DomainInput {
    fn from(i: DeviceInput) -> Self {
        Self {
            name: i.name,
            description: change(i.description),
            rtsp_url: i.rtsp_url,
            rtsp_username: change(i.rtsp_username),
            rtsp_password: change(i.rtsp_password),
            rtsp_token: change(i.rtsp_token),
            location_label: change(i.location_label),
            latitude: change(i.latitude),
            longitude: change(i.longitude),
            geo_source: change(i.geo_source),
            device_type: i.device_type,
            plan: i.plan,
            tags: change(i.tags),
            utc_offset: i.utc_offset,
            schedule: change(i.schedule.map_value(|j| j.0)),
        }
    }
}

/// `filters[…]` of the device list (the document's table; see the domain for semantics).
#[derive(InputObject, Default)]
pub struct DeviceFilter {
    /// Device UUID.
    pub id: Option<ID>,
    /// Name contains (case-insensitive).
    pub name: Option<String>,
    /// Description contains.
    pub description: Option<String>,
    /// Location label contains.
    pub location_label: Option<String>,
    /// `active`, `paused` or `archived`.
    pub status: Option<String>,
    /// `online`, `offline` or `unknown`.
    pub online_status: Option<String>,
    /// `ip_camera`, `rtsp_source` or `usb_camera`.
    #[graphql(name = "type")]
    pub device_type: Option<String>,
    /// RTSP URL contains.
    pub rtsp_url: Option<String>,
    /// Owner UUID.
    pub user_id: Option<ID>,
    /// A UTC day (`2026-02-25`) or an RFC 3339 second.
    pub last_heartbeat_at: Option<String>,
    /// Frames analysed.
    pub total_analysis_count: Option<i64>,
    /// Seconds of analysis.
    pub total_processing_time_seconds: Option<f64>,
    /// A UTC day or an RFC 3339 second.
    pub created_at: Option<String>,
    /// A UTC day or an RFC 3339 second.
    pub updated_at: Option<String>,
}

/// The list request in the domain's terms.
///
/// # Errors
/// `BAD_USER_INPUT` on a malformed UUID filter.
pub fn query(
    q: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    f: Option<DeviceFilter>,
) -> AppResult<DeviceQuery> {
    let f = f.unwrap_or_default();
    let uuid = |name: &str, v: &Option<ID>| -> AppResult<Option<uuid::Uuid>> {
        v.as_ref()
            .map(|id| parse_uuid(&format!("filters[{name}]"), id))
            .transpose()
    };
    Ok(DeviceQuery {
        q,
        sort,
        order,
        filters: DomainFilter {
            id: uuid("id", &f.id)?,
            user_id: uuid("userId", &f.user_id)?,
            name: f.name,
            description: f.description,
            location_label: f.location_label,
            status: f.status,
            online_status: f.online_status,
            device_type: f.device_type,
            rtsp_url: f.rtsp_url,
            last_heartbeat_at: f.last_heartbeat_at,
            total_analysis_count: f.total_analysis_count,
            total_processing_time_seconds: f.total_processing_time_seconds,
            created_at: f.created_at,
            updated_at: f.updated_at,
        },
    })
}

/// The answer of a probe (devices-api-v1.zh-TW.txt "手動探測設備").
#[derive(SimpleObject)]
pub struct ProbeResult {
    /// `online` or `offline`.
    pub online_status: String,
    /// Null, or `CONNECTION_TIMEOUT`, `CONNECTION_REFUSED`, `AUTH_FAILED`, `AUTH_REQUIRED`,
    /// `INVALID_URL`, `UNKNOWN_ERROR`.
    pub error_code: Option<String>,
    /// What went wrong, in words (null when online).
    pub error_message: Option<String>,
    /// Wall time of the probe, milliseconds.
    pub latency_ms: f64,
    /// When it ran.
    pub probed_at: DateTime<Utc>,
    /// The device after the probe.
    pub device: Device,
}

/// `BAD_USER_INPUT` on the device id.
pub fn device_id(id: &ID) -> AppResult<uuid::Uuid> {
    parse_uuid("id", id).map_err(|_| AppError::field("id", "must be a device UUID"))
}

/// The document's `FeatureQuotaStatus` (limit 0 = disabled, −1 = unlimited).
#[derive(SimpleObject, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureQuota {
    /// `alert`, `attribute` or `vlm`.
    pub feature_type: String,
    /// `count` or `tokens`.
    pub unit: String,
    /// Monthly limit.
    pub limit: i64,
    /// Used this month.
    pub used: i64,
    /// Left this month.
    pub remaining: i64,
    /// Whether it is spent.
    pub is_exceeded: bool,
    /// Whether the plan lacks it (limit 0).
    pub is_disabled: bool,
    /// Whether it has no limit (limit −1).
    pub is_unlimited: bool,
    /// Percent used, two decimals.
    pub usage_percentage: f64,
}

/// A device's quota this UTC month (devices-api-v1.zh-TW.txt "設備配額").
#[derive(SimpleObject, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceQuota {
    /// Device UUID.
    pub device_id: String,
    /// UTC month, `YYYY-MM`.
    pub period: String,
    /// Analysis seconds this month (null = unlimited).
    pub quota_seconds: Option<i64>,
    /// Analysis seconds used.
    pub used_seconds: i64,
    /// Analysis seconds left (null = unlimited).
    pub remaining_seconds: Option<i64>,
    /// Percent used, two decimals.
    pub usage_percentage: f64,
    /// Whether `quotaSeconds` is the device's own rather than its plan's.
    pub has_individual_limit: bool,
    /// Whether the analysis seconds are spent.
    pub is_exceeded: bool,
    /// Alerts.
    pub alert_quota: FeatureQuota,
    /// Attribute detections.
    pub attribute_quota: FeatureQuota,
    /// VLM tokens.
    pub vlm_quota: FeatureQuota,
}

impl DeviceQuota {
    /// From the domain's answer.
    ///
    /// # Errors
    /// `INTERNAL` when the shapes disagree.
    pub fn from_json(v: Json) -> AppResult<Self> {
        serde_json::from_value(v).map_err(AppError::internal)
    }
}

/// A `quota_warning` (80 %) or `quota_exceeded` event of a device.
#[derive(SimpleObject)]
pub struct DeviceQuotaEvent {
    /// Device UUID.
    pub device_id: ID,
    /// `quota_warning` or `quota_exceeded`.
    pub kind: String,
    /// `analysis`, `alert`, `attribute` or `vlm`.
    pub feature_type: String,
    /// UTC month.
    pub period: String,
    /// Used (seconds, count or tokens).
    pub used: f64,
    /// The limit.
    pub limit: f64,
}

/// `PATCH /quota`'s body.
#[derive(InputObject)]
pub struct DeviceQuotaInput {
    /// Monthly analysis seconds (0 – 100,000,000); `null` = unlimited. Required.
    pub quota_seconds: MaybeUndefined<i64>,
}
