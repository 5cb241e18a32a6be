//! Turning a dwell alert into a stored notification: a snapshot JPEG (the frame with the
//! object's box and label and the zone outlined) in the file store, one `notifications` row,
//! then `alertRaised` on the event bus. Delivery (e-mail, LINE, webhooks) picks up rows
//! whose `delivery` is `pending`. A device's alerts first pass its peak slots and alert
//! quota ([`crate::domain::devices::alerts::admit`]); a level_02 device's stored alert is
//! then read by the VLM ([`crate::domain::devices::alerts::read_snapshot`]) when `vlm.*` is
//! configured.

use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use sea_orm::{ColumnTrait as _, QueryFilter as _};

use super::{
    analysis::{AnalysisStats, RaisedAlert, record},
    annotate,
};
use crate::{
    ai::ChatClient,
    db::entities::camera,
    domain::{
        cameras::notifications::{self, NewAlert},
        devices::{
            alerts::{self as device_alerts, Admission, AlertContext},
            quota::{self, Feature},
        },
    },
    draw,
    events::{Event, EventBus},
    storage::ArtifactStore,
};

/// What alert handling needs.
#[derive(Clone)]
pub struct AlertSink {
    /// Database.
    pub db: sea_orm::DatabaseConnection,
    /// File store.
    pub store: ArtifactStore,
    /// Events.
    pub bus: Arc<dyn EventBus>,
    /// Off-peak alert interval of devices with peak slots, seconds.
    pub offpeak_interval_secs: f64,
    /// The VLM of level_02 devices (unconfigured = none).
    pub vlm: Option<ChatClient>,
}

impl AlertSink {
    /// Stores and publishes one alert; failures are logged (the snapshot file is removed
    /// when the row cannot be written).
    pub async fn raise(
        &self,
        account_id: Uuid,
        camera_id: i32,
        alert: RaisedAlert,
        stats: &AnalysisStats,
    ) {
        let RaisedAlert {
            frame,
            object,
            zone,
            dwell_secs,
        } = alert;
        let at = chrono::Utc::now();
        let cam = camera::live_rows()
            .filter(camera::Column::Id.eq(camera_id))
            .one(&self.db)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(camera_id, "camera not read: {e}");
                None
            });
        if let Some(cam) = &cam {
            let admitted = device_alerts::admit(
                &self.db,
                &*self.bus,
                cam,
                Some(zone.id),
                at,
                self.offpeak_interval_secs,
            )
            .await;
            match admitted {
                Ok(Admission::Raise) => {}
                Ok(Admission::Coalesced(into)) => {
                    tracing::info!(camera_id, zone = %zone.name, into, "alert coalesced (off-peak)");
                    return;
                }
                Ok(Admission::QuotaSpent) => {
                    tracing::info!(
                        camera_id,
                        "alert dropped: the device's alert quota is spent"
                    );
                    return;
                }
                Err(e) => tracing::warn!(camera_id, "device alert check failed ({})", e.code()),
            }
        }
        let rel = self.store.name(
            "alerts",
            at,
            &format!("cam{camera_id}_{}", object.label),
            "jpg",
        );
        let store = self.store.clone();
        let (o, z) = (object.clone(), zone.clone());
        let write_rel = rel.clone();
        let snap = frame.clone();
        let written = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
            let mut img = snap.image.clone();
            annotate::draw_zone(&mut img, &z, true);
            annotate::draw_object(&mut img, &o);
            let jpeg = draw::jpeg(&img)?;
            store.write(&write_rel, &jpeg)?;
            Ok(jpeg)
        })
        .await;
        let mut snapshot = None;
        let image_path = match written {
            Ok(Ok(jpeg)) => {
                snapshot = Some(jpeg);
                Some(rel.clone())
            }
            Ok(Err(e)) => {
                tracing::warn!(camera_id, "alert snapshot not written: {e:#}");
                None
            }
            Err(e) => {
                tracing::warn!(camera_id, "alert snapshot task failed: {e}");
                None
            }
        };
        let [x1, y1, x2, y2] = object.bbox.map(f64::from);
        let latency_ms = frame.at.elapsed().as_secs_f64() * 1e3;
        let mut metadata = json!({
            "bounding_box": {"x": x1.round(), "y": y1.round(), "width": (x2 - x1).round(), "height": (y2 - y1).round()},
            "bbox": [x1, y1, x2, y2],
            "track_id": object.track_id,
            "zone_id": zone.id,
            "dwell_seconds": (dwell_secs * 10.0).round() / 10.0,
            "model": object.model,
            "frame_captured_at": frame.captured_at.to_rfc3339(),
            "latency_ms": latency_ms.round(),
        });
        if let Some(p) = object.posture() {
            metadata["posture"] = json!(p);
        }
        let new = NewAlert {
            account_id,
            camera_id,
            zone_id: Some(zone.id),
            zone_name: Some(zone.name.clone()),
            track_id: object.track_id as i64,
            detection_type: object.label.clone(),
            confidence: f64::from(object.confidence),
            message: format!(
                "偵測到 {} 在「{}」停留超過 {} 秒",
                object.label, zone.name, zone.alert_duration
            ),
            image_path: image_path.clone(),
            metadata,
            deliver: zone.notification_enabled,
        };
        let files: Vec<String> = image_path.into_iter().collect();
        let stored = self
            .store
            .commit_or_remove(&files, notifications::insert_alert(&self.db, new))
            .await;
        match stored {
            Ok(id) => {
                record(
                    &stats.alert_latencies,
                    frame.at.elapsed().as_secs_f64() * 1e3,
                );
                tracing::info!(camera_id, notification_id = id, zone = %zone.name, track = object.track_id, "alert raised");
                self.bus.publish(Event::AlertRaised {
                    account_id,
                    camera_id,
                    notification_id: id,
                });
                if let (Some(cam), Some(jpeg), Some(vlm)) = (&cam, snapshot, &self.vlm)
                    && cam.is_device
                    && quota::limit(cam, Feature::Vlm) != 0
                {
                    let ctx = AlertContext {
                        notification_id: id,
                        zone: zone.name.clone(),
                        class: object.label.clone(),
                        dwell_secs,
                    };
                    let (db, bus, vlm, cam) =
                        (self.db.clone(), self.bus.clone(), vlm.clone(), cam.clone());
                    tokio::spawn(async move {
                        match device_alerts::read_snapshot(&db, &*bus, &vlm, &cam, &ctx, &jpeg)
                            .await
                        {
                            Ok(Some(tokens)) => tracing::info!(
                                camera_id,
                                notification_id = id,
                                tokens,
                                "VLM reading stored"
                            ),
                            Ok(None) => {}
                            Err(e) => tracing::warn!(
                                camera_id,
                                notification_id = id,
                                "VLM reading failed ({})",
                                e.code()
                            ),
                        }
                    });
                }
            }
            Err(e) => tracing::error!(camera_id, error = ?e, "alert not stored"),
        }
    }
}
