//! Notifications (monitor-api.zh-TW.txt "智能警報與通知系統"): alerts raised by zones and
//! events posted by clients, listed newest first with `unread` / `read` status.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseConnection,
    DatabaseTransaction, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    TransactionTrait as _, sea_query::Expr,
};
use serde_json::Value as Json;
use uuid::Uuid;

use super::{
    CameraService,
    validate::{self, Errors},
};
use crate::{
    db::{self, entities::notification},
    delivery::outbox,
    error::{AppError, AppResult},
    events::Event,
};

/// A zone alert to store.
#[derive(Debug, Clone)]
pub struct NewAlert {
    /// Owner.
    pub account_id: Uuid,
    /// Camera.
    pub camera_id: i32,
    /// Zone (none for a camera-wide alert such as a blacklisted plate).
    pub zone_id: Option<i32>,
    /// Zone name.
    pub zone_name: Option<String>,
    /// Track.
    pub track_id: i64,
    /// Class.
    pub detection_type: String,
    /// Confidence, 0–1.
    pub confidence: f64,
    /// Message.
    pub message: String,
    /// Snapshot, relative to the data dir.
    pub image_path: Option<String>,
    /// Bounding box and attributes.
    pub metadata: Json,
    /// Queue deliveries (the zone's `notification_enabled`).
    pub deliver: bool,
}

/// Stores a zone alert and, when its zone has notifications on, queues its deliveries in
/// the same transaction; answers its id.
///
/// # Errors
/// Database failures (nothing is stored).
pub async fn insert_alert(db: &DatabaseConnection, a: NewAlert) -> Result<i32, sea_orm::DbErr> {
    let txn = db.begin().await?;
    let id = insert_alert_in(&txn, a).await?;
    txn.commit().await?;
    Ok(id)
}

/// [`insert_alert`] inside the caller's transaction (a plate read and its alert commit
/// together).
///
/// # Errors
/// Database failures.
pub async fn insert_alert_in(
    txn: &DatabaseTransaction,
    a: NewAlert,
) -> Result<i32, sea_orm::DbErr> {
    let deliver = a.deliver;
    let row = notification::ActiveModel {
        account_id: Set(a.account_id),
        camera_id: Set(a.camera_id),
        zone_id: Set(a.zone_id),
        track_id: Set(Some(a.track_id)),
        region_name: Set(a.zone_name),
        detection_type: Set(a.detection_type),
        confidence: Set(Some(a.confidence)),
        message: Set(a.message),
        image_path: Set(a.image_path),
        metadata: Set(Some(a.metadata)),
        status: Set("unread".into()),
        delivery: Set("none".into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    if deliver {
        outbox::enqueue_notification(txn, &row).await?;
    }
    Ok(row.id)
}

/// A notification a client posts (the document's `POST /notifications`).
#[derive(Debug, Clone, Default)]
pub struct NewNotification {
    /// Camera (required, the caller's).
    pub camera_id: Option<i32>,
    /// Message (required, 1–1000 characters).
    pub message: Option<String>,
    /// Image path as the client names it.
    pub image_path: Option<String>,
    /// Class (default `person`).
    pub detection_type: Option<String>,
    /// Confidence, 0–1.
    pub confidence: Option<f64>,
    /// Zone name.
    pub region_name: Option<String>,
    /// Free JSON object (`bounding_box` …).
    pub metadata: Option<Json>,
}

/// Which notifications to list.
#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    /// Only this camera.
    pub camera_id: Option<i32>,
    /// `unread`, `read` or `all` (default).
    pub status: Option<String>,
}

fn status_filter(value: Option<&str>) -> AppResult<Option<&'static str>> {
    match value.map(str::trim) {
        None | Some("" | "all") => Ok(None),
        Some("unread") => Ok(Some("unread")),
        Some("read") => Ok(Some("read")),
        Some(_) => Err(AppError::field("status", "must be unread, read or all")),
    }
}

impl CameraService {
    /// The caller's notifications, newest first, and how many match.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` on `status`; `CAMERA_NOT_FOUND` for another account's camera.
    pub async fn notifications(
        &self,
        account_id: Uuid,
        filter: NotificationFilter,
        offset: u64,
        limit: u64,
    ) -> AppResult<(Vec<notification::Model>, u64)> {
        let mut q = notification::Entity::find()
            .filter(notification::Column::AccountId.eq(account_id))
            .order_by_desc(notification::Column::CreatedAt)
            .order_by_desc(notification::Column::Id);
        if let Some(s) = status_filter(filter.status.as_deref())? {
            q = q.filter(notification::Column::Status.eq(s));
        }
        if let Some(c) = filter.camera_id {
            self.camera(account_id, c).await?;
            q = q.filter(notification::Column::CameraId.eq(c));
        }
        db::page(self.db(), q, offset, limit).await
    }

    /// One of the caller's notifications.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INTERNAL`.
    pub async fn notification(&self, account_id: Uuid, id: i32) -> AppResult<notification::Model> {
        let q = notification::Entity::find_by_id(id)
            .filter(notification::Column::AccountId.eq(account_id));
        db::one_or(self.db(), q, || {
            AppError::not_found("通知不存在或無權限訪問")
        })
        .await
    }

    /// Stores a client's notification with its deliveries (one per subscribed channel, same
    /// transaction) and publishes `alertRaised`.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` (nothing stored), `CAMERA_NOT_FOUND`; `INTERNAL`.
    pub async fn create_notification(
        &self,
        account_id: Uuid,
        n: NewNotification,
    ) -> AppResult<notification::Model> {
        let mut errs = Errors::default();
        let message = match &n.message {
            Some(m) => validate::name(&mut errs, "message", m, 1000),
            None => {
                errs.add("message", "is required");
                String::new()
            }
        };
        if n.camera_id.is_none() {
            errs.add("camera_id", "is required");
        }
        let kind =
            validate::optional_text(&mut errs, "detection_type", n.detection_type.as_deref(), 50)
                .unwrap_or_else(|| "person".into());
        let region = validate::optional_text(
            &mut errs,
            "region_name",
            n.region_name.as_deref(),
            validate::MAX_NAME,
        );
        let image = validate::optional_text(&mut errs, "image_path", n.image_path.as_deref(), 500);
        if let Some(c) = n.confidence
            && !(0.0..=1.0).contains(&c)
        {
            errs.add("confidence", "must be between 0 and 1");
        }
        if let Some(m) = &n.metadata
            && !m.is_object()
        {
            errs.add("metadata", "must be an object");
        }
        errs.finish()?;
        let camera_id = n.camera_id.unwrap_or_default();
        self.camera(account_id, camera_id).await?;
        let txn = self.db().begin().await?;
        let row = notification::ActiveModel {
            account_id: Set(account_id),
            camera_id: Set(camera_id),
            zone_id: Set(None),
            track_id: Set(None),
            region_name: Set(region),
            detection_type: Set(kind),
            confidence: Set(n.confidence),
            message: Set(message),
            image_path: Set(image),
            metadata: Set(n.metadata),
            status: Set("unread".into()),
            delivery: Set("none".into()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let queued = outbox::enqueue_notification(&txn, &row).await?;
        txn.commit().await?;
        let row = notification::Model {
            delivery: if queued > 0 { "pending" } else { "none" }.into(),
            ..row
        };
        self.bus.publish(Event::AlertRaised {
            account_id,
            camera_id,
            notification_id: row.id,
        });
        Ok(row)
    }

    /// Marks notifications read: the given ids, else every unread one (of one camera when
    /// given). Answers how many changed.
    ///
    /// # Errors
    /// `CAMERA_NOT_FOUND`; `INTERNAL`.
    pub async fn mark_read(
        &self,
        account_id: Uuid,
        ids: Option<Vec<i32>>,
        camera_id: Option<i32>,
    ) -> AppResult<u64> {
        let mut q = notification::Entity::update_many()
            .col_expr(notification::Column::Status, Expr::value("read"))
            .filter(notification::Column::AccountId.eq(account_id))
            .filter(notification::Column::Status.eq("unread"));
        if let Some(ids) = ids {
            q = q.filter(notification::Column::Id.is_in(ids));
        }
        if let Some(c) = camera_id {
            self.camera(account_id, c).await?;
            q = q.filter(notification::Column::CameraId.eq(c));
        }
        Ok(q.exec(self.db()).await?.rows_affected)
    }

    /// Whether `rel` (a stored path, `outputs/alerts/…`) is the snapshot of one of the
    /// caller's notifications.
    ///
    /// # Errors
    /// `INTERNAL`.
    pub async fn owns_image(&self, account_id: Uuid, rel: &str) -> AppResult<bool> {
        Ok(notification::Entity::find()
            .filter(notification::Column::AccountId.eq(account_id))
            .filter(notification::Column::ImagePath.eq(rel))
            .one(self.db())
            .await?
            .is_some())
    }
}
