//! GraphQL of the devices domain (devices-api-v1.zh-TW.txt): devices with paging, search,
//! sort and filters, their scenes (zones with alert rules), the RTSP probe, manual analysis
//! start/stop. Queries need `device:read` (scenes also `scene:read`), mutations
//! `device:write` (JWTs carry every scope).

pub mod attributes;
pub mod types;

use async_graphql::{Context, ID, MaybeUndefined, Object, Subscription};

use futures_util::{Stream, StreamExt as _};

use self::types::{
    Device, DeviceFilter, DeviceInput, DeviceQuota, DeviceQuotaEvent, DeviceQuotaInput,
    ProbeResult, device_id, query,
};
use super::{
    cameras::types::Zone,
    paging::{Numbered, numbered, numbered_page},
    scoped, state,
};
use crate::{
    auth::Principal,
    domain::devices::device_not_found,
    error::{AppError, AppResult},
    events::Event,
};

fn reader<'a>(ctx: &Context<'a>) -> AppResult<&'a Principal> {
    scoped(ctx, "device:read")
}

fn writer<'a>(ctx: &Context<'a>) -> AppResult<&'a Principal> {
    scoped(ctx, "device:write")
}

/// The device `id` names, when the principal may reach it: a device-bound API key reaches
/// only its own device (any other is `DEVICE_NOT_FOUND`).
fn target(p: &Principal, id: &ID) -> AppResult<uuid::Uuid> {
    let d = device_id(id)?;
    match p.bound_device() {
        Some(bound) if bound != d => Err(device_not_found()),
        _ => Ok(d),
    }
}

/// Device queries.
#[derive(Default)]
pub struct DeviceQuery;

#[Object]
impl DeviceQuery {
    /// The caller's devices: `page` (from 1) of `first` rows (1–100, default 20), or Relay
    /// `after` / `offset`; `q` searches name, location and description; `sort` is a field
    /// name (default `createdAt`), `order` `ASC` or `DESC` (default).
    #[allow(clippy::too_many_arguments)]
    async fn devices(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
        page: Option<i32>,
        q: Option<String>,
        sort: Option<String>,
        order: Option<String>,
        filters: Option<DeviceFilter>,
    ) -> AppResult<Numbered<Device>> {
        let p = reader(ctx)?;
        let me = p.account_id;
        if first.is_some_and(|f| !(1..=100).contains(&f)) {
            return Err(AppError::field("limit", "must be between 1 and 100"));
        }
        let (start, limit) = numbered_page(first, page, after, offset)?;
        let mut req = query(q, sort, order, filters)?;
        if let Some(bound) = p.bound_device() {
            // A device-bound key lists its own device only.
            if req.filters.id.is_some_and(|i| i != bound) {
                return Ok(numbered(Vec::new(), start, limit, 0));
            }
            req.filters.id = Some(bound);
        }
        let (rows, total) = state(ctx)?.devices.list(me, &req, start, limit).await?;
        Ok(numbered(
            rows.into_iter().map(Device).collect(),
            start,
            limit,
            total,
        ))
    }

    /// One device (`DEVICE_NOT_FOUND` when missing, deleted or another account's).
    async fn device(&self, ctx: &Context<'_>, id: ID) -> AppResult<Device> {
        let p = reader(ctx)?;
        let me = p.account_id;
        Ok(Device(
            state(ctx)?.devices.device(me, target(p, &id)?).await?,
        ))
    }

    /// A device's quota this UTC month: analysis seconds, alerts, attribute detections,
    /// VLM tokens.
    async fn device_quota(&self, ctx: &Context<'_>, id: ID) -> AppResult<DeviceQuota> {
        let p = reader(ctx)?;
        let me = p.account_id;
        let s = state(ctx)?;
        let cam = s.devices.device(me, target(p, &id)?).await?;
        DeviceQuota::from_json(s.devices.quota_status(&cam, chrono::Utc::now()).await?)
    }

    /// A device's scenes (its zones with their alert rules), paged like `devices`.
    async fn device_scenes(
        &self,
        ctx: &Context<'_>,
        id: ID,
        first: Option<i32>,
        page: Option<i32>,
    ) -> AppResult<Numbered<Zone>> {
        let p = reader(ctx)?;
        let me = p.account_id;
        scoped(ctx, "scene:read")?;
        let (start, limit) = numbered_page(first, page, None, None)?;
        let (rows, total) = state(ctx)?
            .devices
            .scenes(me, target(p, &id)?, start, limit)
            .await?;
        Ok(numbered(
            rows.into_iter().map(Zone).collect(),
            start,
            limit,
            total,
        ))
    }
}

/// Device mutations.
#[derive(Default)]
pub struct DeviceMutation;

#[Object]
impl DeviceMutation {
    /// Registers a device (its analysis starts `IDLE`).
    async fn create_device(&self, ctx: &Context<'_>, input: DeviceInput) -> AppResult<Device> {
        let p = writer(ctx)?;
        let me = p.account_id;
        if p.bound_device().is_some() {
            return Err(AppError::Forbidden(
                "a device-bound API key cannot create devices".into(),
            ));
        }
        Ok(Device(state(ctx)?.devices.create(me, input.into()).await?))
    }

    /// Changes a device: absent fields stay, null clears (`schedule: null` = manual).
    async fn update_device(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: DeviceInput,
    ) -> AppResult<Device> {
        let p = writer(ctx)?;
        let me = p.account_id;
        Ok(Device(
            state(ctx)?
                .devices
                .update(me, target(p, &id)?, input.into())
                .await?,
        ))
    }

    /// Soft-deletes a device and its scenes; `CONFLICT` (`DEVICE_ANALYSIS_ACTIVE`) while
    /// its analysis runs. Answers the device's id.
    async fn delete_device(&self, ctx: &Context<'_>, id: ID) -> AppResult<ID> {
        let p = writer(ctx)?;
        let me = p.account_id;
        let cam = state(ctx)?.devices.delete(me, target(p, &id)?).await?;
        Ok(ID(cam.uuid.to_string()))
    }

    /// Starts a device's analysis by hand (`RUNNING`).
    async fn start_device_analysis(&self, ctx: &Context<'_>, id: ID) -> AppResult<Device> {
        let p = writer(ctx)?;
        let me = p.account_id;
        let s = state(ctx)?;
        Ok(Device(
            s.devices.set_analysis(me, target(p, &id)?, true).await?,
        ))
    }

    /// Stops a device's analysis by hand (`IDLE`).
    async fn stop_device_analysis(&self, ctx: &Context<'_>, id: ID) -> AppResult<Device> {
        let p = writer(ctx)?;
        let me = p.account_id;
        let s = state(ctx)?;
        Ok(Device(
            s.devices.set_analysis(me, target(p, &id)?, false).await?,
        ))
    }

    /// Sets a device's own monthly analysis seconds (`quotaSeconds`: required, `null` =
    /// unlimited).
    async fn set_device_quota(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: DeviceQuotaInput,
    ) -> AppResult<DeviceQuota> {
        let p = writer(ctx)?;
        let me = p.account_id;
        let seconds = match input.quota_seconds {
            MaybeUndefined::Undefined => {
                return Err(AppError::field(
                    "quotaSeconds",
                    "is required (a number of seconds, or null for unlimited)",
                ));
            }
            MaybeUndefined::Null => None,
            MaybeUndefined::Value(v) => Some(v),
        };
        let s = state(ctx)?;
        let cam = s
            .devices
            .set_quota_seconds(me, target(p, &id)?, seconds)
            .await?;
        DeviceQuota::from_json(s.devices.quota_status(&cam, chrono::Utc::now()).await?)
    }

    /// Probes a device's RTSP URL now (OPTIONS then DESCRIBE, 5 s deadline) and stores the
    /// verdict in `onlineStatus`.
    async fn probe_device(&self, ctx: &Context<'_>, id: ID) -> AppResult<ProbeResult> {
        let p = writer(ctx)?;
        let me = p.account_id;
        let (cam, outcome, at) = state(ctx)?.devices.probe(me, target(p, &id)?).await?;
        Ok(ProbeResult {
            online_status: cam.online_status.clone(),
            error_code: outcome.error.map(|e| e.as_str().to_owned()),
            error_message: outcome.message,
            latency_ms: (outcome.latency_ms * 10.0).round() / 10.0,
            probed_at: at,
            device: Device(cam),
        })
    }
}

/// Device subscriptions.
#[derive(Default)]
pub struct DeviceSubscription;

#[Subscription]
impl DeviceSubscription {
    /// Each attribute detection of the caller's level_02 devices (a tracked person seen
    /// fallen, once per track), optionally one device.
    async fn device_attribute_detected(
        &self,
        ctx: &Context<'_>,
        device_id: Option<ID>,
    ) -> Result<impl Stream<Item = attributes::AttributeDetection> + use<>, AppError> {
        let p = reader(ctx)?;
        let me = p.account_id;
        let only = match (&device_id, p.bound_device()) {
            (Some(id), _) => Some(target(p, id)?),
            (None, bound) => bound,
        };
        let app = state(ctx)?.clone();
        Ok(app.bus.subscribe().filter_map(move |event| {
            let app = app.clone();
            async move {
                match event {
                    Event::DeviceAttribute {
                        account_id,
                        device_id,
                        attribute_id,
                    } if account_id == me && only.is_none_or(|d| d == device_id) => app
                        .devices
                        .attribute(me, attribute_id)
                        .await
                        .ok()
                        .flatten()
                        .map(|row| attributes::AttributeDetection { row, device_id }),
                    _ => None,
                }
            }
        }))
    }

    /// `quota_warning` (80 %) and `quota_exceeded` events of the caller's devices,
    /// optionally one device.
    async fn device_quota_events(
        &self,
        ctx: &Context<'_>,
        device_id: Option<ID>,
    ) -> Result<impl Stream<Item = DeviceQuotaEvent> + use<>, AppError> {
        let p = reader(ctx)?;
        let me = p.account_id;
        let only = match (&device_id, p.bound_device()) {
            (Some(id), _) => Some(target(p, id)?),
            (None, bound) => bound,
        };
        Ok(state(ctx)?
            .bus
            .subscribe()
            .filter_map(move |event| async move {
                match event {
                    Event::DeviceQuota {
                        account_id,
                        device_id,
                        kind,
                        feature,
                        period,
                        used,
                        limit,
                    } if account_id == me && only.is_none_or(|d| d == device_id) => {
                        Some(DeviceQuotaEvent {
                            device_id: ID(device_id.to_string()),
                            kind,
                            feature_type: feature,
                            period,
                            used,
                            limit,
                        })
                    }
                    _ => None,
                }
            }))
    }
}
