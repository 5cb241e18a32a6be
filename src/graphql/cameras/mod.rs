//! GraphQL of the camera domain (monitor-api.zh-TW.txt): cameras, zones, notifications,
//! and the live subscriptions `alertRaised`, `cameraStatusChanged`, `cameraDetections`.
//! Queries need the `camera:read` scope, mutations `camera:write` (JWTs carry every scope).

pub mod types;

use async_graphql::{Context, Object, Subscription};
use chrono::Utc;
use futures_util::{Stream, StreamExt as _};

use self::types::{
    Camera, CameraFrame, CameraInput, CameraUpdate, Notification, NotificationInput, Zone,
    ZoneDeletion, ZoneInput, ZoneSet,
};
use super::{
    paging::{Numbered, Paged, connection, numbered, numbered_page, page},
    scoped, state,
};
use crate::{
    auth::Principal,
    domain::cameras::{
        CameraChanges, NewCamera,
        notifications::{NewNotification, NotificationFilter},
    },
    error::{AppError, AppResult},
    events::Event,
    live::analysis::{DEFAULT_MODEL_SET, PLATES},
};

fn reader<'a>(ctx: &Context<'a>) -> AppResult<&'a Principal> {
    scoped(ctx, "camera:read")
}

fn writer<'a>(ctx: &Context<'a>) -> AppResult<&'a Principal> {
    scoped(ctx, "camera:write")
}

/// `modelName` after `plateRecognition`: `true` is `alpr`, `false` is `yolo_v11_detect`
/// unless `modelName` names another model; a contradiction is `BAD_USER_INPUT`.
fn with_plates(model_name: Option<String>, plates: Option<bool>) -> AppResult<Option<String>> {
    let named = model_name
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    match (plates, named) {
        (None, _) => Ok(model_name),
        (Some(true), None | Some(PLATES)) => Ok(Some(PLATES.into())),
        (Some(false), None) => Ok(Some(DEFAULT_MODEL_SET.into())),
        (Some(false), Some(m)) if m != PLATES => Ok(model_name),
        (Some(want), Some(m)) => Err(AppError::field(
            "plateRecognition",
            format!("{want} contradicts modelName {m:?}"),
        )),
    }
}

/// Camera queries.
#[derive(Default)]
pub struct CameraQuery;

#[Object]
impl CameraQuery {
    /// The caller's cameras, oldest first (Relay connection).
    async fn cameras(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
    ) -> AppResult<Paged<Camera>> {
        let me = reader(ctx)?.account_id;
        let (start, limit) = page(first, after, offset)?;
        let (rows, total) = state(ctx)?.cameras.cameras(me, start, limit).await?;
        Ok(connection(
            rows.into_iter().map(Camera).collect(),
            start,
            total,
        ))
    }

    /// One camera (`CAMERA_NOT_FOUND` when missing or another account's).
    async fn camera(&self, ctx: &Context<'_>, id: i32) -> AppResult<Camera> {
        let me = reader(ctx)?.account_id;
        Ok(Camera(state(ctx)?.cameras.camera(me, id).await?))
    }

    /// A camera's zones.
    async fn zones(&self, ctx: &Context<'_>, camera_id: i32) -> AppResult<Vec<Zone>> {
        let me = reader(ctx)?.account_id;
        Ok(state(ctx)?
            .cameras
            .zones(me, camera_id)
            .await?
            .into_iter()
            .map(Zone)
            .collect())
    }

    /// The caller's notifications, newest first; `page` (from 1) with `first` rows per page,
    /// or Relay `after` / `offset`. `status`: `unread`, `read` or `all`.
    #[allow(clippy::too_many_arguments)]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
        page: Option<i32>,
        camera_id: Option<i32>,
        status: Option<String>,
    ) -> AppResult<Numbered<Notification>> {
        let me = reader(ctx)?.account_id;
        let (start, limit) = numbered_page(first, page, after, offset)?;
        let (rows, total) = state(ctx)?
            .cameras
            .notifications(me, NotificationFilter { camera_id, status }, start, limit)
            .await?;
        Ok(numbered(
            rows.into_iter().map(Notification).collect(),
            start,
            limit,
            total,
        ))
    }

    /// One notification.
    async fn notification(&self, ctx: &Context<'_>, id: i32) -> AppResult<Notification> {
        let me = reader(ctx)?.account_id;
        Ok(Notification(
            state(ctx)?.cameras.notification(me, id).await?,
        ))
    }

    /// Accepted `modelName`s and zone classes.
    async fn camera_options(&self, ctx: &Context<'_>) -> AppResult<CameraOptions> {
        reader(ctx)?;
        let c = &state(ctx)?.cameras;
        Ok(CameraOptions {
            model_names: c.model_names(),
            classes: c.known_classes(),
        })
    }
}

/// What cameras and zones accept.
#[derive(async_graphql::SimpleObject)]
pub struct CameraOptions {
    /// `modelName` values.
    pub model_names: Vec<String>,
    /// `detectionClasses` values.
    pub classes: Vec<String>,
}

/// Camera mutations.
#[derive(Default)]
pub struct CameraMutation;

#[Object]
impl CameraMutation {
    /// Adds a camera (status `connecting`) with optional zones; its worker starts at once.
    async fn create_camera(&self, ctx: &Context<'_>, input: CameraInput) -> AppResult<Camera> {
        let me = writer(ctx)?.account_id;
        let (cam, _) = state(ctx)?
            .cameras
            .create(
                me,
                NewCamera {
                    name: input.name,
                    stream_url: input.stream_url,
                    recognition: input.recognition,
                    location: input.location,
                    model_name: with_plates(input.model_name, input.plate_recognition)?,
                    zones: input
                        .detection_areas
                        .map(|z| z.into_iter().map(Into::into).collect()),
                },
            )
            .await?;
        Ok(Camera(cam))
    }

    /// Changes a camera; a new `streamUrl` restarts its worker (`connecting`).
    async fn update_camera(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: CameraUpdate,
    ) -> AppResult<Camera> {
        let me = writer(ctx)?.account_id;
        let cam = state(ctx)?
            .cameras
            .update(
                me,
                id,
                CameraChanges {
                    name: input.name,
                    stream_url: input.stream_url,
                    recognition: input.recognition,
                    location: input.location,
                    model_name: with_plates(input.model_name, input.plate_recognition)?,
                },
            )
            .await?;
        Ok(Camera(cam))
    }

    /// Deletes a camera, its zones, notifications and snapshot files, and stops its worker.
    /// Answers the deleted id.
    async fn delete_camera(&self, ctx: &Context<'_>, id: i32) -> AppResult<i32> {
        let me = writer(ctx)?.account_id;
        state(ctx)?.cameras.delete(me, id).await
    }

    /// Replaces a camera's zones.
    async fn set_zones(
        &self,
        ctx: &Context<'_>,
        camera_id: i32,
        zones: Vec<ZoneInput>,
    ) -> AppResult<ZoneSet> {
        let me = writer(ctx)?.account_id;
        let stored = state(ctx)?
            .cameras
            .set_zones(me, camera_id, zones.into_iter().map(Into::into).collect())
            .await?;
        Ok(ZoneSet {
            camera_id,
            count: stored.len(),
            zones: stored.into_iter().map(Zone).collect(),
            saved_at: Utc::now(),
        })
    }

    /// Deletes every zone of a camera.
    async fn delete_zones(&self, ctx: &Context<'_>, camera_id: i32) -> AppResult<ZoneDeletion> {
        let me = writer(ctx)?.account_id;
        let deleted = state(ctx)?.cameras.delete_zones(me, camera_id).await?;
        Ok(ZoneDeletion {
            camera_id,
            deleted,
            deleted_at: Utc::now(),
        })
    }

    /// Stores a client's notification (queued for delivery).
    async fn create_notification(
        &self,
        ctx: &Context<'_>,
        input: NotificationInput,
    ) -> AppResult<Notification> {
        let me = writer(ctx)?.account_id;
        let n = state(ctx)?
            .cameras
            .create_notification(
                me,
                NewNotification {
                    camera_id: input.camera_id,
                    message: input.message,
                    image_path: input.image_path,
                    detection_type: input.detection_type,
                    confidence: input.confidence,
                    region_name: input.region_name,
                    metadata: input.metadata.map(|m| m.0),
                },
            )
            .await?;
        Ok(Notification(n))
    }

    /// Marks notifications read (the given ids, else all unread, of one camera when given);
    /// answers how many changed.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        ids: Option<Vec<i32>>,
        camera_id: Option<i32>,
    ) -> AppResult<u64> {
        let me = writer(ctx)?.account_id;
        state(ctx)?.cameras.mark_read(me, ids, camera_id).await
    }
}

/// The caller's notifications that `pick` names in events (`(account, camera,
/// notification)`), optionally of one camera, read as they are now.
fn notifications_on(
    ctx: &Context<'_>,
    camera_id: Option<i32>,
    pick: fn(&Event) -> Option<(uuid::Uuid, i32, i32)>,
) -> Result<impl Stream<Item = Notification> + use<>, AppError> {
    let me = reader(ctx)?.account_id;
    let app = state(ctx)?.clone();
    Ok(app.bus.subscribe().filter_map(move |event| {
        let app = app.clone();
        async move {
            let (account_id, c, id) = pick(&event)?;
            if account_id != me || camera_id.is_some_and(|w| w != c) {
                return None;
            }
            app.cameras
                .notification(me, id)
                .await
                .ok()
                .map(Notification)
        }
    }))
}

/// Camera subscriptions.
#[derive(Default)]
pub struct CameraSubscription;

#[Subscription]
impl CameraSubscription {
    /// Each alert (stored notification) of the caller's cameras, optionally one camera.
    async fn alert_raised(
        &self,
        ctx: &Context<'_>,
        camera_id: Option<i32>,
    ) -> Result<impl Stream<Item = Notification> + use<>, AppError> {
        notifications_on(ctx, camera_id, |e| match e {
            Event::AlertRaised {
                account_id,
                camera_id,
                notification_id,
            } => Some((*account_id, *camera_id, *notification_id)),
            _ => None,
        })
    }

    /// Each alert of the caller's level_02 devices once the VLM has read its snapshot
    /// (`vlmSummary`, `vlmStructuredResult` set), optionally one camera.
    async fn alert_analysed(
        &self,
        ctx: &Context<'_>,
        camera_id: Option<i32>,
    ) -> Result<impl Stream<Item = Notification> + use<>, AppError> {
        notifications_on(ctx, camera_id, |e| match e {
            Event::AlertAnalysed {
                account_id,
                camera_id,
                notification_id,
            } => Some((*account_id, *camera_id, *notification_id)),
            _ => None,
        })
    }

    /// Each status change (`connecting`, `online`, `offline`) of the caller's cameras.
    async fn camera_status_changed(
        &self,
        ctx: &Context<'_>,
        camera_id: Option<i32>,
    ) -> Result<impl Stream<Item = Camera> + use<>, AppError> {
        let me = reader(ctx)?.account_id;
        let app = state(ctx)?.clone();
        Ok(app.bus.subscribe().filter_map(move |event| {
            let app = app.clone();
            async move {
                match event {
                    Event::CameraStatusChanged {
                        account_id,
                        camera_id: c,
                        status,
                    } if account_id == me && camera_id.is_none_or(|w| w == c) => {
                        app.cameras.camera(me, c).await.ok().map(|mut cam| {
                            cam.status = status;
                            Camera(cam)
                        })
                    }
                    _ => None,
                }
            }
        }))
    }

    /// The tracked objects of each analysed frame of one camera.
    async fn camera_detections(
        &self,
        ctx: &Context<'_>,
        camera_id: i32,
    ) -> Result<impl Stream<Item = CameraFrame> + use<>, AppError> {
        let me = reader(ctx)?.account_id;
        let app = state(ctx)?.clone();
        app.cameras.camera(me, camera_id).await?;
        Ok(app.bus.subscribe().filter_map(move |event| async move {
            match event {
                Event::CameraDetections {
                    account_id,
                    camera_id: c,
                    frame,
                } if account_id == me && c == camera_id => Some(CameraFrame::new(c, frame)),
                _ => None,
            }
        }))
    }
}
