//! Detection: validate an upload, run the models, write the artifacts (original, crops,
//! annotated image), store the rows and publish the events.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, DatabaseTransaction, TransactionTrait as _,
};
use serde_json::json;
use uuid::Uuid;
use visionflow_models::alpr::AlprOutput;

use super::{
    AlprService, UNCLASSIFIED, artifacts,
    lists::Lists,
    locations::{find_or_create_location, location_name},
    regions,
};
use crate::{
    db::entities::{detection_session, plate, vehicle},
    draw,
    error::{AppError, AppResult},
    events::Event,
    storage::ArtifactStore,
    vision::images::{self, RgbImage},
};

/// An upload validated, inferred and written to disk, not yet in the database.
pub struct Prepared {
    /// Client file name.
    pub filename: String,
    /// Written files and what the models found.
    pub files: Artifacts,
    /// Inference seconds.
    pub secs: f64,
    /// Model description.
    pub model_label: String,
    /// Processing time.
    pub at: DateTime<Utc>,
    /// The camera whose frame it is (None for uploads).
    pub camera_id: Option<i32>,
    /// Free-form notes stored with the session.
    pub notes: Option<String>,
}

/// A stored detection with its children.
#[derive(Debug, Clone)]
pub struct StoredDetection {
    /// The session.
    pub session: detection_session::Model,
    /// Its vehicles, by index.
    pub vehicles: Vec<vehicle::Model>,
    /// Its plates, best first.
    pub plates: Vec<plate::Model>,
}

impl AlprService {
    /// Processes one uploaded image: validate, infer, store artifacts and rows, publish.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` (field `file`) for anything that is not a decodable image within the
    /// limits, before anything is stored; `UNAVAILABLE` when plate recognition is not
    /// installed or the inference queue is full; `INTERNAL` for storage failures (nothing
    /// half written stays behind).
    #[tracing::instrument(skip(self, bytes), fields(bytes = bytes.len()))]
    pub async fn detect(
        &self,
        account_id: Uuid,
        filename: &str,
        bytes: Vec<u8>,
        location: Option<&str>,
    ) -> AppResult<StoredDetection> {
        let location = location
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(location_name)
            .transpose()?;
        let prepared = self.prepare("file", filename, bytes).await?;
        let written = prepared.files.all_paths();
        let stored = self
            .store
            .commit_or_remove(&written, async {
                let txn = self.db.begin().await.map_err(AppError::internal)?;
                let stored = self
                    .store_prepared(&txn, account_id, prepared, location.as_deref())
                    .await?;
                txn.commit().await.map_err(AppError::internal)?;
                Ok::<_, AppError>(stored)
            })
            .await?;
        self.publish(account_id, &stored, location);
        Ok(stored)
    }

    /// Publishes `DetectionCreated` and, for listed plates, `PlateListHit` (after commit).
    pub fn publish(&self, account_id: Uuid, stored: &StoredDetection, location: Option<String>) {
        self.bus.publish(Event::DetectionCreated {
            account_id,
            session_id: stored.session.id,
            location,
        });
        for p in &stored.plates {
            if p.status != UNCLASSIFIED {
                self.bus.publish(Event::PlateListHit {
                    account_id,
                    plate_id: p.id,
                    status: p.status.clone(),
                });
            }
        }
    }

    /// Validates an upload, runs the models and writes the artifacts; nothing is in the
    /// database yet. `field` names the upload in errors (`file`, `image`).
    ///
    /// # Errors
    /// As [`Self::detect`].
    pub async fn prepare(
        &self,
        field: &str,
        filename: &str,
        bytes: Vec<u8>,
    ) -> AppResult<Prepared> {
        if bytes.is_empty() {
            return Err(AppError::field(field, "the uploaded file is empty"));
        }
        let name = filename.to_owned();
        let img = tokio::task::spawn_blocking(move || images::decode(&bytes).map(|i| (i, bytes)))
            .await
            .map_err(AppError::internal)?
            .map_err(|e| AppError::field(field, format!("{name}: {e}")))?;
        let (img, bytes) = img;
        if img.width < 16 || img.height < 16 {
            return Err(AppError::field(
                field,
                format!(
                    "{filename}: image is {}×{}; at least 16×16 pixels are needed",
                    img.width, img.height
                ),
            ));
        }
        if !self.inference.ready() {
            return Err(AppError::Unavailable {
                message:
                    "Plate recognition models are not installed; run `visionflow models fetch`"
                        .into(),
                retry_after: 60,
            });
        }
        let img = Arc::new(img);
        let job_img = img.clone();
        let (out, secs) = self
            .inference
            .run(move |m| {
                let label = m.alpr_label.clone();
                m.alpr.as_ref().map(|a| {
                    a.analyze(&job_img.data, job_img.width, job_img.height)
                        .map(|o| (o, label))
                })
            })
            .await?;
        let (out, model_label) = match out {
            Some(Ok(o)) => o,
            Some(Err(e)) => return Err(AppError::internal(anyhow::anyhow!("inference: {e}"))),
            None => {
                return Err(AppError::Unavailable {
                    message: "Plate recognition models are not installed".into(),
                    retry_after: 60,
                });
            }
        };
        let at = Utc::now();
        let store = self.store.clone();
        let fname = filename.to_owned();
        let files = tokio::task::spawn_blocking(move || {
            write_artifacts(&store, &img, &bytes, &fname, &out, at)
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
        Ok(Prepared {
            filename: filename.to_owned(),
            files,
            secs,
            model_label,
            at,
            camera_id: None,
            notes: None,
        })
    }

    /// Stores a prepared detection's rows inside the caller's transaction.
    ///
    /// # Errors
    /// Database failures (the caller removes `prepared`'s files when it rolls back).
    pub async fn store_prepared(
        &self,
        txn: &DatabaseTransaction,
        account_id: Uuid,
        prepared: Prepared,
        location: Option<&str>,
    ) -> AppResult<StoredDetection> {
        let Prepared {
            filename,
            files,
            secs,
            model_label,
            at,
            camera_id,
            notes,
        } = prepared;
        let location_id = match location {
            Some(name) => Some(find_or_create_location(txn, account_id, name, at).await?.id),
            None => None,
        };
        let lists = Lists::load(txn, account_id).await?;
        let session = detection_session::ActiveModel {
            account_id: Set(account_id),
            location_id: Set(location_id),
            source_filename: Set(filename.chars().take(255).collect()),
            original_path: Set(files.original),
            annotated_path: Set(files.annotated),
            width: Set(files.width as i32),
            height: Set(files.height as i32),
            processing_ms: Set(secs * 1000.0),
            model: Set(model_label.chars().take(100).collect()),
            notes: Set(notes),
            camera_id: Set(camera_id),
            created_at: Set(at),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(AppError::internal)?;
        let mut vehicles = Vec::new();
        for (i, v) in files.vehicles.into_iter().enumerate() {
            let row = vehicle::ActiveModel {
                account_id: Set(account_id),
                session_id: Set(Some(session.id)),
                vehicle_index: Set(i as i32 + 1),
                class: Set(v.class),
                confidence: Set(v.confidence),
                x1: Set(v.bbox[0]),
                y1: Set(v.bbox[1]),
                x2: Set(v.bbox[2]),
                y2: Set(v.bbox[3]),
                crop_path: Set(v.crop),
                created_at: Set(at),
                ..Default::default()
            }
            .insert(txn)
            .await
            .map_err(AppError::internal)?;
            vehicles.push(row);
        }
        let mut plates = Vec::new();
        let mut per_vehicle: HashMap<Option<usize>, i32> = HashMap::new();
        for p in files.plates {
            let idx = per_vehicle.entry(p.vehicle).or_insert(0);
            *idx += 1;
            let region = regions::of_plate(&p.text).map(|r| r.code.to_owned());
            let plate_type = regions::plate_type(&p.text, p.background.as_deref());
            let (status, list_match) = match lists.status_of(&p.text) {
                Some((s, kind)) => (s.to_owned(), Some(kind.as_str().to_owned())),
                None => (UNCLASSIFIED.to_owned(), None),
            };
            let row = plate::ActiveModel {
                account_id: Set(account_id),
                session_id: Set(session.id),
                vehicle_id: Set(p.vehicle.map(|i| vehicles[i].id)),
                plate_index: Set(*idx),
                text: Set(p.text),
                raw_text: Set(p.raw_text.chars().take(128).collect()),
                confidence: Set(p.confidence),
                candidates: Set(p.candidates),
                x1: Set(p.bbox[0]),
                y1: Set(p.bbox[1]),
                x2: Set(p.bbox[2]),
                y2: Set(p.bbox[3]),
                crop_path: Set(p.crop),
                region_code: Set(region),
                plate_type: Set(plate_type.into()),
                text_color: Set(p.text_color),
                background_color: Set(p.background),
                status: Set(status),
                list_match: Set(list_match),
                created_at: Set(at),
                ..Default::default()
            }
            .insert(txn)
            .await
            .map_err(AppError::internal)?;
            plates.push(row);
        }
        Ok(StoredDetection {
            session,
            vehicles,
            plates,
        })
    }
}

/// A vehicle ready to store.
struct VehicleFile {
    class: String,
    confidence: f64,
    bbox: [f64; 4],
    crop: Option<String>,
}

/// A plate ready to store.
pub(super) struct PlateFile {
    vehicle: Option<usize>,
    text: String,
    raw_text: String,
    confidence: f64,
    pub(super) candidates: serde_json::Value,
    bbox: [f64; 4],
    crop: Option<String>,
    text_color: Option<String>,
    background: Option<String>,
}

/// Files written for one detection, and what to store about them.
pub struct Artifacts {
    original: String,
    annotated: String,
    width: usize,
    height: usize,
    vehicles: Vec<VehicleFile>,
    pub(super) plates: Vec<PlateFile>,
}

impl Artifacts {
    /// The annotated image, relative to the data dir.
    pub fn annotated_path(&self) -> &str {
        &self.annotated
    }

    /// The stored original, relative to the data dir.
    pub fn original_path(&self) -> &str {
        &self.original
    }

    /// Every file written, relative to the data dir.
    pub fn all_paths(&self) -> Vec<String> {
        let mut v = vec![self.original.clone(), self.annotated.clone()];
        v.extend(self.vehicles.iter().filter_map(|x| x.crop.clone()));
        v.extend(self.plates.iter().filter_map(|x| x.crop.clone()));
        v
    }
}

pub(super) fn round4(x: f32) -> f64 {
    (f64::from(x) * 1e4).round() / 1e4
}

fn round1(b: [f32; 4]) -> [f64; 4] {
    b.map(|v| (f64::from(v) * 10.0).round() / 10.0)
}

/// Writes the original, the crops and the annotated image. On failure the files written so
/// far are removed.
pub(super) fn write_artifacts(
    store: &ArtifactStore,
    img: &RgbImage,
    original: &[u8],
    filename: &str,
    out: &AlprOutput,
    at: DateTime<Utc>,
) -> anyhow::Result<Artifacts> {
    let mut written: Vec<String> = Vec::new();
    let result = (|| -> anyhow::Result<Artifacts> {
        let stem = std::path::Path::new(filename)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("image");
        let ext = match image::guess_format(original) {
            Ok(image::ImageFormat::Png) => "png",
            Ok(image::ImageFormat::WebP) => "webp",
            Ok(image::ImageFormat::Bmp) => "bmp",
            _ => "jpg",
        };
        let original_rel = store.name("uploaded", at, stem, ext);
        store.write(&original_rel, original)?;
        written.push(original_rel.clone());

        let mut vehicles = Vec::new();
        for v in &out.vehicles {
            let bbox = round1(v.bbox);
            let crop_rel = match draw::crop(img, bbox) {
                Some(c) => {
                    let rel = store.name("vehicles/crops", at, &v.class, "jpg");
                    store.write(&rel, &draw::jpeg(&c)?)?;
                    written.push(rel.clone());
                    Some(rel)
                }
                None => None,
            };
            vehicles.push(VehicleFile {
                class: v.class.clone(),
                confidence: round4(v.confidence),
                bbox,
                crop: crop_rel,
            });
        }
        let mut plates = Vec::new();
        for p in &out.plates {
            let bbox = round1(p.bbox);
            let vehicle = p
                .vehicle
                .as_ref()
                .and_then(|v| out.vehicles.iter().position(|x| x == v));
            let crop = draw::crop(img, bbox);
            let colors = crop.as_ref().and_then(artifacts::plate_colors);
            let crop_rel = match &crop {
                Some(c) => {
                    let rel = store.name("plates/crops", at, &p.text, "jpg");
                    store.write(&rel, &draw::jpeg(c)?)?;
                    written.push(rel.clone());
                    Some(rel)
                }
                None => None,
            };
            // Other plausible reads inside the same vehicle are this plate's alternatives.
            let mut candidates = vec![json!({"text": p.text, "confidence": round4(p.confidence)})];
            for q in &out.plates {
                if q.text != p.text && q.vehicle == p.vehicle && p.vehicle.is_some() {
                    candidates.push(json!({"text": q.text, "confidence": round4(q.confidence)}));
                }
            }
            plates.push(PlateFile {
                vehicle,
                text: p.text.clone(),
                raw_text: p.raw_text.clone(),
                confidence: round4(p.confidence),
                candidates: serde_json::Value::Array(candidates),
                bbox,
                crop: crop_rel,
                text_color: colors.as_ref().map(|c| c.1.clone()),
                background: colors.map(|c| c.0),
            });
        }

        let mut annotated = img.clone();
        let scale = ((img.width.max(img.height) / 500) as i64).clamp(1, 6);
        for v in &vehicles {
            draw::draw_box(&mut annotated, v.bbox, scale + 1, [40, 200, 60]);
            let label = format!("{} {:.2}", v.class, v.confidence);
            draw::draw_label(
                &mut annotated,
                v.bbox[0] as i64,
                v.bbox[1] as i64,
                &label,
                scale,
                [0, 0, 0],
                [40, 200, 60],
            );
        }
        for p in &plates {
            draw::draw_box(&mut annotated, p.bbox, scale, [230, 40, 40]);
            let label = format!("{} {:.2}", p.text, p.confidence);
            draw::draw_label(
                &mut annotated,
                p.bbox[0] as i64,
                p.bbox[1] as i64,
                &label,
                scale,
                [255, 255, 255],
                [230, 40, 40],
            );
        }
        let annotated_rel = store.name("annotated", at, stem, "jpg");
        store.write(&annotated_rel, &draw::jpeg(&annotated)?)?;
        written.push(annotated_rel.clone());
        Ok(Artifacts {
            original: original_rel,
            annotated: annotated_rel,
            width: img.width,
            height: img.height,
            vehicles,
            plates,
        })
    })();
    if result.is_err() {
        store.remove_all(&written);
    }
    result
}
