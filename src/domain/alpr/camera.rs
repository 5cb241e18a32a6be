//! Plate reads from cameras (issue "live plate reading at the gate"): a plate camera's final
//! read of one passing vehicle ([`crate::live::plates::FinalRead`]) becomes **one**
//! detection session, stored through the same path as an upload ([`write_artifacts`] then
//! [`AlprService::store_prepared`]): the best frame as the original, the annotated frame,
//! the vehicle and plate crops, the camera's `location` as the gate lane, and `camera_id`.
//! Region, plate type, colours and the allow/deny status (exact or fuzzy) are derived as for
//! uploads; `detectionCreated`, `plateListHit` and `plateRead` are published after the
//! commit.
//!
//! A blacklisted plate also raises a camera alert (a notification with a snapshot, queued
//! for delivery like a zone alert) in the same transaction as the session.
//!
//! The plate's `candidates` are the voted text with the vote's confidence, then the other
//! texts read on the track with their share of the summed read confidence (0–1).

use chrono::Utc;
use futures_util::future::BoxFuture;
use sea_orm::{ColumnTrait as _, QueryFilter as _, TransactionTrait as _};
use serde_json::json;
use uuid::Uuid;
use visionflow_models::alpr::{AlprOutput, PlateRead, VehicleRef};

use super::{
    AlprService, BLACKLIST, StoredDetection,
    detect::{Prepared, round4, write_artifacts},
    lists::Lists,
    locations::location_name,
};
use crate::{
    db::entities::camera,
    domain::cameras::notifications::{NewAlert, insert_alert_in},
    draw,
    error::{AppError, AppResult},
    events::Event,
    live::{PlateSink, plates::FinalRead},
};

impl PlateSink for AlprService {
    fn store(&self, account_id: Uuid, camera_id: i32, read: FinalRead) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let (track, text) = (read.track_id, read.vote.text.clone());
            match self.store_camera_read(account_id, camera_id, read).await {
                Ok(s) => tracing::info!(
                    camera_id,
                    track,
                    plate = %text,
                    session_id = s.session.id,
                    "plate read stored"
                ),
                Err(e) => tracing::error!(camera_id, track, error = ?e, "plate read not stored"),
            }
        })
    }
}

impl AlprService {
    /// Stores a camera's final read of one vehicle (see the module docs) and publishes it.
    ///
    /// # Errors
    /// `NOT_FOUND` when the camera is gone or not the account's; `INTERNAL` for storage
    /// failures (no file or row stays behind).
    pub async fn store_camera_read(
        &self,
        account_id: Uuid,
        camera_id: i32,
        read: FinalRead,
    ) -> AppResult<StoredDetection> {
        let cam = camera::live_rows()
            .filter(camera::Column::Id.eq(camera_id))
            .one(&self.db)
            .await?
            .filter(|c| c.account_id == account_id)
            .ok_or_else(|| super::not_found("Camera", camera_id))?;
        let location = cam.location.as_deref().and_then(|l| location_name(l).ok());
        let at = Utc::now();
        let FinalRead {
            track_id,
            vote,
            best,
            reason,
            first_seen,
            last_seen,
        } = read;
        let vehicle = VehicleRef {
            class: best.vehicle_class.clone(),
            confidence: best.vehicle_confidence,
            bbox: best.vehicle_bbox,
        };
        let out = AlprOutput {
            vehicles: vec![vehicle.clone()],
            plates: vec![PlateRead {
                text: vote.text.clone(),
                raw_text: best.raw_text.clone(),
                confidence: vote.confidence,
                bbox: best.plate_bbox,
                vehicle: Some(vehicle),
            }],
        };
        let mut candidates =
            vec![json!({"text": vote.text, "confidence": round4(vote.confidence)})];
        candidates.extend(
            vote.candidates
                .iter()
                .map(|(t, share)| json!({"text": t, "confidence": round4(*share)})),
        );
        // Read outside the transaction: decides whether an alert snapshot is written.
        let blacklisted = Lists::load(&self.db, account_id)
            .await?
            .status_of(&vote.text)
            .is_some_and(|(s, _)| s == BLACKLIST);
        let (store, frame) = (self.store.clone(), best.frame.clone());
        let filename = format!("camera{camera_id}_track{track_id}.jpg");
        let fname = filename.clone();
        let (files, snapshot) = tokio::task::spawn_blocking(move || {
            let original = draw::jpeg(&frame.image)?;
            let mut files = write_artifacts(&store, &frame.image, &original, &fname, &out, at)?;
            if let Some(p) = files.plates.first_mut() {
                p.candidates = serde_json::Value::Array(candidates);
            }
            let snapshot = if blacklisted {
                let rel = store.name("alerts", at, &format!("cam{camera_id}_plate"), "jpg");
                let copied = store
                    .resolve("outputs", files.annotated_path())
                    .ok_or_else(|| std::io::Error::other("annotated image missing"))
                    .and_then(std::fs::read)
                    .and_then(|bytes| store.write(&rel, &bytes));
                match copied {
                    Ok(()) => Some(rel),
                    Err(e) => {
                        store.remove_all(&files.all_paths());
                        return Err(e.into());
                    }
                }
            } else {
                None
            };
            anyhow::Ok((files, snapshot))
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
        let mut written = files.all_paths();
        written.extend(snapshot.clone());
        let notes = format!(
            "camera {camera_id}, track {track_id}: {} read{} ({} agreeing), final on {}, seen {} – {}",
            vote.reads,
            if vote.reads == 1 { "" } else { "s" },
            vote.agreeing,
            reason.as_str(),
            first_seen.to_rfc3339(),
            last_seen.to_rfc3339(),
        );
        let prepared = Prepared {
            filename,
            files,
            secs: best.inference_ms / 1e3,
            model_label: format!("camera vehicles + PP-OCRv4, {}-frame vote", vote.reads),
            at,
            camera_id: Some(camera_id),
            notes: Some(notes),
        };
        let (stored, alert) = self
            .store
            .commit_or_remove(&written, async {
                let txn = self.db.begin().await?;
                let stored = self
                    .store_prepared(&txn, account_id, prepared, location.as_deref())
                    .await?;
                let mut alert = None;
                if let Some(p) = stored.plates.iter().find(|p| p.status == BLACKLIST) {
                    let new = NewAlert {
                        account_id,
                        camera_id,
                        zone_id: None,
                        zone_name: None,
                        track_id: track_id as i64,
                        detection_type: "plate".into(),
                        confidence: p.confidence,
                        message: format!("黑名單車牌 {} 出現於「{}」", p.text, cam.name),
                        image_path: snapshot.clone(),
                        metadata: json!({
                            "plate": p.text,
                            "plate_id": p.id,
                            "session_id": stored.session.id,
                            "list_match": p.list_match,
                            "bbox": [p.x1, p.y1, p.x2, p.y2],
                            "track_id": track_id,
                            "location": location,
                        }),
                        deliver: true,
                    };
                    alert = Some(insert_alert_in(&txn, new).await?);
                }
                txn.commit().await?;
                Ok::<_, AppError>((stored, alert))
            })
            .await?;
        if alert.is_none()
            && let Some(s) = &snapshot
        {
            // The plate left the blacklist between the check and the commit.
            self.store.remove_all(std::slice::from_ref(s));
        }
        self.publish(account_id, &stored, location.clone());
        if let Some(p) = stored.plates.first() {
            self.bus.publish(Event::PlateRead {
                account_id,
                camera_id,
                session_id: stored.session.id,
                plate_id: p.id,
                location,
            });
        }
        if let Some(notification_id) = alert {
            self.bus.publish(Event::AlertRaised {
                account_id,
                camera_id,
                notification_id,
            });
        }
        Ok(stored)
    }
}
