//! The ALPR domain (alpr-api.en.md, "Galaxy ALPR REST API"): image in → vehicles and plates
//! stored with their artifacts, allow/deny lists, locations (gates), history and statistics.
//!
//! [`AlprService::detect`] validates the upload (decode with limits) before anything is
//! stored, runs the models on the inference threads, writes the artifacts, then stores the
//! session, vehicles and plates in one transaction (the files are removed again when that
//! fails) and publishes `DetectionCreated` / `PlateListHit` after the commit. Every row
//! belongs to an account; another account's id answers `NOT_FOUND`.

pub mod artifacts;
pub mod regions;
pub mod stats;

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _,
    ActiveValue::Set,
    ColumnTrait as _, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
    SqlErr, TransactionTrait as _,
    sea_query::{Expr, Query},
};
use serde_json::json;
use uuid::Uuid;
use visionflow_models::alpr::{AlprOutput, normalize_plate};

use crate::{
    db::entities::{detection_session, location, plate, plate_list_entry, vehicle},
    error::{AppError, AppResult},
    events::{Event, EventBus},
    inference::InferenceService,
    vision::images::{self, RgbImage},
};
use crate::{draw, storage::ArtifactStore};

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
}

/// Plate list membership.
pub const WHITELIST: &str = "whitelist";
/// Plate list membership.
pub const BLACKLIST: &str = "blacklist";
/// Not on any list.
pub const UNCLASSIFIED: &str = "unclassified";
/// Location types (alpr-api.en.md `/api/locations/types`).
pub const LOCATION_TYPES: [&str; 2] = ["Entry", "Exit"];

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

/// Filters of the detection history (alpr-api.en.md `GET /detections`).
#[derive(Debug, Clone, Default)]
pub struct DetectionFilter {
    /// Vehicle class, case-insensitive (`car`).
    pub vehicle_type: Option<String>,
    /// Plate type (`Regular`).
    pub plate_type: Option<String>,
    /// Plate text contains this (compared after normalising both).
    pub search: Option<String>,
    /// Location name.
    pub location: Option<String>,
    /// Detected at or after.
    pub from: Option<DateTime<Utc>>,
    /// Detected before.
    pub to: Option<DateTime<Utc>>,
}

/// What a delete removed (alpr-api.en.md, `DELETE /api/vehicles/{id}` and `/api/plates/{id}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// Plates removed.
    pub plates_deleted: u64,
    /// Whether a vehicle was removed.
    pub vehicle_deleted: bool,
    /// Whether the session, left empty, was removed.
    pub session_deleted: bool,
}

/// Plate changes (`PATCH /api/plates/{id}`).
#[derive(Debug, Clone, Default)]
pub struct PlateChanges {
    /// New text (normalised; region recomputed).
    pub text: Option<String>,
    /// `whitelist`, `blacklist` or `unclassified`.
    pub status: Option<String>,
    /// Plate type.
    pub plate_type: Option<String>,
}

/// Counts after a list sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Plates now whitelisted.
    pub whitelist: u64,
    /// Plates now blacklisted.
    pub blacklist: u64,
    /// Plates on no list.
    pub unclassified: u64,
}

/// The ALPR service.
#[derive(Clone)]
pub struct AlprService {
    db: DatabaseConnection,
    inference: Arc<InferenceService>,
    store: ArtifactStore,
    bus: Arc<dyn EventBus>,
}

fn bad_status(field: &str, value: &str) -> AppError {
    AppError::field(
        field,
        format!("must be one of whitelist, blacklist (got {value:?})"),
    )
}

/// Validates a list status (`whitelist` / `blacklist`), case-insensitive.
///
/// # Errors
/// `BAD_USER_INPUT` on `field`.
pub fn list_status(field: &str, value: &str) -> AppResult<&'static str> {
    match value.trim().to_ascii_lowercase().as_str() {
        WHITELIST => Ok(WHITELIST),
        BLACKLIST => Ok(BLACKLIST),
        _ => Err(bad_status(field, value)),
    }
}

/// Validates a location type (`Entry` / `Exit`), case-insensitive.
///
/// # Errors
/// `BAD_USER_INPUT` on `type`.
pub fn location_type(value: &str) -> AppResult<&'static str> {
    LOCATION_TYPES
        .into_iter()
        .find(|t| t.eq_ignore_ascii_case(value.trim()))
        .ok_or_else(|| AppError::field("type", format!("must be Entry or Exit (got {value:?})")))
}

fn location_name(value: &str) -> AppResult<String> {
    let name = value.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::field("name", "must be 1–200 characters"));
    }
    Ok(name.to_owned())
}

fn not_found(what: &str, id: impl std::fmt::Display) -> AppError {
    AppError::NotFound {
        reason: None,
        message: format!("{what} {id} not found"),
    }
}

fn plate_text(field: &str, raw: &str) -> AppResult<String> {
    let text = normalize_plate(raw);
    if !(1..=16).contains(&text.len()) {
        return Err(AppError::field(
            field,
            "must hold 1–16 letters or digits after normalising",
        ));
    }
    Ok(text)
}

impl AlprService {
    /// The service over a database, the inference threads and the data dir.
    pub fn new(
        db: DatabaseConnection,
        inference: Arc<InferenceService>,
        store: ArtifactStore,
        bus: Arc<dyn EventBus>,
    ) -> Self {
        Self {
            db,
            inference,
            store,
            bus,
        }
    }

    /// The artifact store (for `/outputs/…`).
    pub fn store(&self) -> &ArtifactStore {
        &self.store
    }

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
        } = prepared;
        let location_id = match location {
            Some(name) => Some(find_or_create_location(txn, account_id, name, at).await?.id),
            None => None,
        };
        let lists = list_map(txn, account_id).await?;
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
            notes: Set(None),
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
            let status = lists
                .get(&p.text)
                .cloned()
                .unwrap_or_else(|| UNCLASSIFIED.into());
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

    /// One session of the account.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn session(&self, account_id: Uuid, id: i32) -> AppResult<detection_session::Model> {
        crate::db::one_or(
            &self.db,
            detection_session::Entity::find_by_id(id)
                .filter(detection_session::Column::AccountId.eq(account_id)),
            || not_found("Session", id),
        )
        .await
    }

    /// The newest session, if any.
    ///
    /// # Errors
    /// Database failures.
    pub async fn latest(&self, account_id: Uuid) -> AppResult<Option<detection_session::Model>> {
        detection_session::Entity::find()
            .filter(detection_session::Column::AccountId.eq(account_id))
            .order_by_desc(detection_session::Column::CreatedAt)
            .order_by_desc(detection_session::Column::Id)
            .one(&self.db)
            .await
            .map_err(AppError::internal)
    }

    /// Updates a session's location and notes.
    ///
    /// # Errors
    /// `NOT_FOUND`, `BAD_USER_INPUT`.
    pub async fn update_session(
        &self,
        account_id: Uuid,
        id: i32,
        location: Option<&str>,
        notes: Option<String>,
    ) -> AppResult<detection_session::Model> {
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let current = crate::db::one_or(
            &txn,
            detection_session::Entity::find_by_id(id)
                .filter(detection_session::Column::AccountId.eq(account_id)),
            || not_found("Session", id),
        )
        .await?;
        let mut am: detection_session::ActiveModel = current.into();
        if let Some(name) = location {
            let name = location_name(name)?;
            let loc = find_or_create_location(&txn, account_id, &name, Utc::now()).await?;
            am.location_id = Set(Some(loc.id));
        }
        if let Some(notes) = notes {
            am.notes = Set(Some(notes.chars().take(2000).collect()));
        }
        let out = am.update(&txn).await.map_err(AppError::internal)?;
        txn.commit().await.map_err(AppError::internal)?;
        Ok(out)
    }

    fn session_condition(account_id: Uuid, f: &DetectionFilter) -> AppResult<Condition> {
        use detection_session::Column as S;
        let mut c = Condition::all().add(S::AccountId.eq(account_id));
        if let Some(from) = f.from {
            c = c.add(S::CreatedAt.gte(from));
        }
        if let Some(to) = f.to {
            c = c.add(S::CreatedAt.lt(to));
        }
        if let Some(name) = given(f.location.as_deref()) {
            c = c.add(
                S::LocationId.in_subquery(
                    Query::select()
                        .column(location::Column::Id)
                        .from(location::Entity)
                        .and_where(location::Column::AccountId.eq(account_id))
                        .and_where(location::Column::Name.eq(name))
                        .to_owned(),
                ),
            );
        }
        if let Some(v) = given(f.vehicle_type.as_deref()) {
            c = c.add(
                S::Id.in_subquery(
                    Query::select()
                        .column(vehicle::Column::SessionId)
                        .from(vehicle::Entity)
                        .and_where(vehicle::Column::AccountId.eq(account_id))
                        .and_where(lower_eq(vehicle::Column::Class, v))
                        .to_owned(),
                ),
            );
        }
        let mut plate_cond = Condition::all();
        let mut plate_filtered = false;
        if let Some(t) = given(f.plate_type.as_deref()) {
            plate_cond = plate_cond.add(lower_eq(plate::Column::PlateType, t));
            plate_filtered = true;
        }
        if let Some(s) = f.search.as_deref() {
            let s = normalize_plate(s);
            if !s.is_empty() {
                plate_cond = plate_cond.add(plate::Column::Text.contains(s));
                plate_filtered = true;
            }
        }
        if plate_filtered {
            c = c.add(
                S::Id.in_subquery(
                    Query::select()
                        .column(plate::Column::SessionId)
                        .from(plate::Entity)
                        .and_where(plate::Column::AccountId.eq(account_id))
                        .cond_where(plate_cond)
                        .to_owned(),
                ),
            );
        }
        Ok(c)
    }

    /// Sessions matching a filter, newest first: `(rows, total)`.
    ///
    /// # Errors
    /// Database failures.
    pub async fn sessions(
        &self,
        account_id: Uuid,
        filter: &DetectionFilter,
        offset: u64,
        limit: u64,
    ) -> AppResult<(Vec<detection_session::Model>, u64)> {
        let cond = Self::session_condition(account_id, filter)?;
        let q = detection_session::Entity::find()
            .filter(cond)
            .order_by_desc(detection_session::Column::CreatedAt)
            .order_by_desc(detection_session::Column::Id);
        crate::db::page(&self.db, q, offset, limit).await
    }

    /// Plates matching a filter, newest first: `(rows, total)`.
    ///
    /// # Errors
    /// Database failures.
    pub async fn plates(
        &self,
        account_id: Uuid,
        filter: &DetectionFilter,
        offset: u64,
        limit: u64,
    ) -> AppResult<(Vec<plate::Model>, u64)> {
        use plate::Column as P;
        let mut c = Condition::all().add(P::AccountId.eq(account_id));
        if let Some(t) = given(filter.plate_type.as_deref()) {
            c = c.add(lower_eq(P::PlateType, t));
        }
        if let Some(s) = filter.search.as_deref() {
            let s = normalize_plate(s);
            if !s.is_empty() {
                c = c.add(P::Text.contains(s));
            }
        }
        if let Some(from) = filter.from {
            c = c.add(P::CreatedAt.gte(from));
        }
        if let Some(to) = filter.to {
            c = c.add(P::CreatedAt.lt(to));
        }
        if let Some(v) = given(filter.vehicle_type.as_deref()) {
            c = c.add(
                P::VehicleId.in_subquery(
                    Query::select()
                        .column(vehicle::Column::Id)
                        .from(vehicle::Entity)
                        .and_where(vehicle::Column::AccountId.eq(account_id))
                        .and_where(lower_eq(vehicle::Column::Class, v))
                        .to_owned(),
                ),
            );
        }
        if filter.location.is_some() {
            let only_location = DetectionFilter {
                location: filter.location.clone(),
                ..Default::default()
            };
            let sc = Self::session_condition(account_id, &only_location)?;
            c = c.add(
                P::SessionId.in_subquery(
                    Query::select()
                        .column(detection_session::Column::Id)
                        .from(detection_session::Entity)
                        .cond_where(sc)
                        .to_owned(),
                ),
            );
        }
        let q = plate::Entity::find()
            .filter(c)
            .order_by_desc(P::CreatedAt)
            .order_by_desc(P::Id);
        crate::db::page(&self.db, q, offset, limit).await
    }

    /// One vehicle.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn vehicle(&self, account_id: Uuid, id: i32) -> AppResult<vehicle::Model> {
        crate::db::one_or(
            &self.db,
            vehicle::Entity::find_by_id(id).filter(vehicle::Column::AccountId.eq(account_id)),
            || not_found("Vehicle", id),
        )
        .await
    }

    /// One plate.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn plate(&self, account_id: Uuid, id: i32) -> AppResult<plate::Model> {
        crate::db::one_or(
            &self.db,
            plate::Entity::find_by_id(id).filter(plate::Column::AccountId.eq(account_id)),
            || not_found("Plate", id),
        )
        .await
    }

    /// Updates a vehicle's class and/or confidence.
    ///
    /// # Errors
    /// `NOT_FOUND`; `BAD_USER_INPUT` for an empty class or a confidence outside [0, 1].
    pub async fn update_vehicle(
        &self,
        account_id: Uuid,
        id: i32,
        class: Option<String>,
        confidence: Option<f64>,
    ) -> AppResult<vehicle::Model> {
        let v = self.vehicle(account_id, id).await?;
        let mut am: vehicle::ActiveModel = v.into();
        if let Some(class) = class {
            let class = class.trim().to_owned();
            if class.is_empty() || class.len() > 64 {
                return Err(AppError::field("vehicle_class", "must be 1–64 characters"));
            }
            am.class = Set(class);
        }
        if let Some(c) = confidence {
            if !(0.0..=1.0).contains(&c) {
                return Err(AppError::field(
                    "vehicle_confidence_score",
                    "must be between 0 and 1",
                ));
            }
            am.confidence = Set(c);
        }
        am.update(&self.db).await.map_err(AppError::internal)
    }

    /// Updates a plate; a new text is normalised and its region recomputed.
    ///
    /// # Errors
    /// `NOT_FOUND`, `BAD_USER_INPUT`.
    pub async fn update_plate(
        &self,
        account_id: Uuid,
        id: i32,
        changes: PlateChanges,
    ) -> AppResult<plate::Model> {
        let p = self.plate(account_id, id).await?;
        let mut am: plate::ActiveModel = p.into();
        if let Some(t) = changes.text {
            let t = plate_text("plate_text", &t)?;
            am.region_code = Set(regions::of_plate(&t).map(|r| r.code.to_owned()));
            am.text = Set(t);
        }
        if let Some(s) = changes.status {
            let s = match s.trim().to_ascii_lowercase().as_str() {
                UNCLASSIFIED => UNCLASSIFIED,
                _ => list_status("plate_status", &s)?,
            };
            am.status = Set(s.into());
        }
        if let Some(t) = changes.plate_type {
            let t = t.trim().to_owned();
            if t.is_empty() || t.len() > 32 {
                return Err(AppError::field("plate_type", "must be 1–32 characters"));
            }
            am.plate_type = Set(t);
        }
        am.update(&self.db).await.map_err(AppError::internal)
    }

    /// Deletes a vehicle and its plates; the session too when nothing is left in it.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn delete_vehicle(&self, account_id: Uuid, id: i32) -> AppResult<DeleteOutcome> {
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let v = crate::db::one_or(
            &txn,
            vehicle::Entity::find_by_id(id).filter(vehicle::Column::AccountId.eq(account_id)),
            || not_found("Vehicle", id),
        )
        .await?;
        let plates = plate::Entity::delete_many()
            .filter(plate::Column::VehicleId.eq(id))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?
            .rows_affected;
        vehicle::Entity::delete_by_id(id)
            .exec(&txn)
            .await
            .map_err(AppError::internal)?;
        let session_deleted = match v.session_id {
            Some(s) => delete_session_if_empty(&txn, s).await?,
            None => false,
        };
        txn.commit().await.map_err(AppError::internal)?;
        Ok(DeleteOutcome {
            plates_deleted: plates,
            vehicle_deleted: true,
            session_deleted,
        })
    }

    /// Deletes a plate; its vehicle when that has no plate left; the session when empty.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn delete_plate(&self, account_id: Uuid, id: i32) -> AppResult<DeleteOutcome> {
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let p = crate::db::one_or(
            &txn,
            plate::Entity::find_by_id(id).filter(plate::Column::AccountId.eq(account_id)),
            || not_found("Plate", id),
        )
        .await?;
        plate::Entity::delete_by_id(id)
            .exec(&txn)
            .await
            .map_err(AppError::internal)?;
        let mut vehicle_deleted = false;
        if let Some(vid) = p.vehicle_id {
            let left = plate::Entity::find()
                .filter(plate::Column::VehicleId.eq(vid))
                .count(&txn)
                .await
                .map_err(AppError::internal)?;
            if left == 0 {
                vehicle::Entity::delete_by_id(vid)
                    .exec(&txn)
                    .await
                    .map_err(AppError::internal)?;
                vehicle_deleted = true;
            }
        }
        let session_deleted = delete_session_if_empty(&txn, p.session_id).await?;
        txn.commit().await.map_err(AppError::internal)?;
        Ok(DeleteOutcome {
            plates_deleted: 1,
            vehicle_deleted,
            session_deleted,
        })
    }

    /// The allow/deny list, by plate text.
    ///
    /// # Errors
    /// Database failures.
    pub async fn list_entries(&self, account_id: Uuid) -> AppResult<Vec<plate_list_entry::Model>> {
        plate_list_entry::Entity::find()
            .filter(plate_list_entry::Column::AccountId.eq(account_id))
            .order_by_asc(plate_list_entry::Column::PlateText)
            .all(&self.db)
            .await
            .map_err(AppError::internal)
    }

    /// Puts a plate on a list (replacing its previous list) and applies it to stored plates.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for an empty text or an unknown status.
    pub async fn set_list_entry(
        &self,
        account_id: Uuid,
        text: &str,
        status: &str,
    ) -> AppResult<plate_list_entry::Model> {
        let text = plate_text("plate_text", text)?;
        let status = list_status("status_type", status)?;
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let existing = plate_list_entry::Entity::find()
            .filter(plate_list_entry::Column::AccountId.eq(account_id))
            .filter(plate_list_entry::Column::PlateText.eq(&text))
            .one(&txn)
            .await
            .map_err(AppError::internal)?;
        let entry = match existing {
            Some(e) => {
                let mut am: plate_list_entry::ActiveModel = e.into();
                am.status_type = Set(status.into());
                am.update(&txn).await.map_err(AppError::internal)?
            }
            None => plate_list_entry::ActiveModel {
                account_id: Set(account_id),
                plate_text: Set(text.clone()),
                status_type: Set(status.into()),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .map_err(|e| match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict {
                    reason: "PLATE_LISTED",
                    message: format!("Plate {text} was listed concurrently; retry"),
                },
                _ => AppError::internal(e),
            })?,
        };
        set_plate_status(&txn, account_id, &text, status).await?;
        txn.commit().await.map_err(AppError::internal)?;
        Ok(entry)
    }

    /// Removes a plate from the lists; its stored plates become `unclassified`.
    ///
    /// # Errors
    /// `NOT_FOUND` when the plate is on no list.
    pub async fn remove_list_entry(&self, account_id: Uuid, text: &str) -> AppResult<String> {
        let text = plate_text("plate_text", text)?;
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let n = plate_list_entry::Entity::delete_many()
            .filter(plate_list_entry::Column::AccountId.eq(account_id))
            .filter(plate_list_entry::Column::PlateText.eq(&text))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?
            .rows_affected;
        if n == 0 {
            return Err(AppError::NotFound {
                reason: None,
                message: format!("Plate {text} is not in the status list"),
            });
        }
        set_plate_status(&txn, account_id, &text, UNCLASSIFIED).await?;
        txn.commit().await.map_err(AppError::internal)?;
        Ok(text)
    }

    /// Re-applies the lists to every stored plate of the account.
    ///
    /// # Errors
    /// Database failures.
    pub async fn sync_lists(&self, account_id: Uuid) -> AppResult<SyncCounts> {
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        plate::Entity::update_many()
            .col_expr(plate::Column::Status, Expr::value(UNCLASSIFIED))
            .filter(plate::Column::AccountId.eq(account_id))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?;
        for (text, status) in list_map(&txn, account_id).await? {
            set_plate_status(&txn, account_id, &text, &status).await?;
        }
        let mut counts = SyncCounts::default();
        let rows: Vec<(String, i64)> = plate::Entity::find()
            .select_only()
            .column(plate::Column::Status)
            .column_as(plate::Column::Id.count(), "n")
            .filter(plate::Column::AccountId.eq(account_id))
            .group_by(plate::Column::Status)
            .into_tuple()
            .all(&txn)
            .await
            .map_err(AppError::internal)?;
        for (status, n) in rows {
            let n = n as u64;
            match status.as_str() {
                WHITELIST => counts.whitelist += n,
                BLACKLIST => counts.blacklist += n,
                _ => counts.unclassified += n,
            }
        }
        txn.commit().await.map_err(AppError::internal)?;
        Ok(counts)
    }

    /// The account's locations, by id.
    ///
    /// # Errors
    /// Database failures.
    pub async fn locations(&self, account_id: Uuid) -> AppResult<Vec<location::Model>> {
        location::Entity::find()
            .filter(location::Column::AccountId.eq(account_id))
            .order_by_asc(location::Column::Id)
            .all(&self.db)
            .await
            .map_err(AppError::internal)
    }

    /// One location.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn location(&self, account_id: Uuid, id: i32) -> AppResult<location::Model> {
        crate::db::one_or(
            &self.db,
            location::Entity::find_by_id(id).filter(location::Column::AccountId.eq(account_id)),
            || not_found("Location", id),
        )
        .await
    }

    /// Creates a location.
    ///
    /// # Errors
    /// `BAD_USER_INPUT`; `CONFLICT` when the name exists.
    pub async fn create_location(
        &self,
        account_id: Uuid,
        name: &str,
        kind: &str,
    ) -> AppResult<location::Model> {
        let name = location_name(name)?;
        let kind = location_type(kind)?;
        location::ActiveModel {
            account_id: Set(account_id),
            name: Set(name.clone()),
            location_type: Set(kind.into()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(|e| location_conflict(e, &name))
    }

    /// Renames / retypes a location.
    ///
    /// # Errors
    /// `NOT_FOUND`, `BAD_USER_INPUT`, `CONFLICT`.
    pub async fn update_location(
        &self,
        account_id: Uuid,
        id: i32,
        name: Option<&str>,
        kind: Option<&str>,
    ) -> AppResult<location::Model> {
        let current = self.location(account_id, id).await?;
        let mut am: location::ActiveModel = current.into();
        let mut new_name = String::new();
        if let Some(n) = name {
            new_name = location_name(n)?;
            am.name = Set(new_name.clone());
        }
        if let Some(k) = kind {
            am.location_type = Set(location_type(k)?.into());
        }
        am.update(&self.db)
            .await
            .map_err(|e| location_conflict(e, &new_name))
    }

    /// Deletes a location; its sessions keep their data without a location.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn delete_location(&self, account_id: Uuid, id: i32) -> AppResult<()> {
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let n = location::Entity::delete_many()
            .filter(location::Column::AccountId.eq(account_id))
            .filter(location::Column::Id.eq(id))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?
            .rows_affected;
        if n == 0 {
            return Err(not_found("Location", id));
        }
        detection_session::Entity::update_many()
            .col_expr(
                detection_session::Column::LocationId,
                Expr::value(Option::<i32>::None),
            )
            .filter(detection_session::Column::LocationId.eq(id))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?;
        txn.commit().await.map_err(AppError::internal)
    }

    /// Whether a stored artifact (`outputs/…`, relative to the data dir) belongs to the
    /// account: the original or annotated image of one of its detections, or the crop or
    /// registry photo of one of its vehicles or plates.
    ///
    /// # Errors
    /// Database failures.
    pub async fn owns_artifact(&self, account_id: Uuid, rel: &str) -> AppResult<bool> {
        use detection_session::Column as S;
        let sessions = detection_session::Entity::find()
            .filter(S::AccountId.eq(account_id))
            .filter(
                Condition::any()
                    .add(S::OriginalPath.eq(rel))
                    .add(S::AnnotatedPath.eq(rel)),
            )
            .count(&self.db)
            .await
            .map_err(AppError::internal)?;
        if sessions > 0 {
            return Ok(true);
        }
        let vehicles = vehicle::Entity::find()
            .filter(vehicle::Column::AccountId.eq(account_id))
            .filter(
                Condition::any()
                    .add(vehicle::Column::CropPath.eq(rel))
                    .add(vehicle::Column::ImagePath.eq(rel)),
            )
            .count(&self.db)
            .await
            .map_err(AppError::internal)?;
        if vehicles > 0 {
            return Ok(true);
        }
        let plates = plate::Entity::find()
            .filter(plate::Column::AccountId.eq(account_id))
            .filter(plate::Column::CropPath.eq(rel))
            .count(&self.db)
            .await
            .map_err(AppError::internal)?;
        Ok(plates > 0)
    }

    /// Database access for the statistics and the DataLoaders.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }
}

/// The trimmed text of an optional filter, `None` when absent or blank.
pub(crate) fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|s| !s.is_empty())
}

/// `LOWER(col) = lower(value)`.
fn lower_eq(col: impl sea_orm::sea_query::IntoColumnRef, value: &str) -> Expr {
    use sea_orm::sea_query::{ExprTrait as _, Func};
    Expr::expr(Func::lower(Expr::col(col))).eq(value.to_lowercase())
}

fn location_conflict(e: sea_orm::DbErr, name: &str) -> AppError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict {
            reason: "LOCATION_EXISTS",
            message: format!("A location named {name:?} already exists"),
        },
        _ => AppError::internal(e),
    }
}

async fn find_or_create_location(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    name: &str,
    at: DateTime<Utc>,
) -> AppResult<location::Model> {
    if let Some(l) = location::Entity::find()
        .filter(location::Column::AccountId.eq(account_id))
        .filter(location::Column::Name.eq(name))
        .one(db)
        .await
        .map_err(AppError::internal)?
    {
        return Ok(l);
    }
    location::ActiveModel {
        account_id: Set(account_id),
        name: Set(name.to_owned()),
        location_type: Set("Entry".into()),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| match e.sql_err() {
        // Another upload created it between the read and the insert.
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Unavailable {
            message: format!("Location {name:?} was being created concurrently; retry"),
            retry_after: 1,
        },
        _ => AppError::internal(e),
    })
}

async fn list_map(
    db: &impl ConnectionTrait,
    account_id: Uuid,
) -> AppResult<HashMap<String, String>> {
    Ok(plate_list_entry::Entity::find()
        .filter(plate_list_entry::Column::AccountId.eq(account_id))
        .all(db)
        .await
        .map_err(AppError::internal)?
        .into_iter()
        .map(|e| (e.plate_text, e.status_type))
        .collect())
}

async fn set_plate_status(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    text: &str,
    status: &str,
) -> AppResult<()> {
    plate::Entity::update_many()
        .col_expr(plate::Column::Status, Expr::value(status))
        .filter(plate::Column::AccountId.eq(account_id))
        .filter(plate::Column::Text.eq(text))
        .exec(db)
        .await
        .map_err(AppError::internal)?;
    Ok(())
}

async fn delete_session_if_empty(db: &impl ConnectionTrait, session_id: i32) -> AppResult<bool> {
    let vehicles = vehicle::Entity::find()
        .filter(vehicle::Column::SessionId.eq(session_id))
        .count(db)
        .await
        .map_err(AppError::internal)?;
    let plates = plate::Entity::find()
        .filter(plate::Column::SessionId.eq(session_id))
        .count(db)
        .await
        .map_err(AppError::internal)?;
    if vehicles + plates > 0 {
        return Ok(false);
    }
    detection_session::Entity::delete_by_id(session_id)
        .exec(db)
        .await
        .map_err(AppError::internal)?;
    Ok(true)
}

/// A vehicle ready to store.
struct VehicleFile {
    class: String,
    confidence: f64,
    bbox: [f64; 4],
    crop: Option<String>,
}

/// A plate ready to store.
struct PlateFile {
    vehicle: Option<usize>,
    text: String,
    raw_text: String,
    confidence: f64,
    candidates: serde_json::Value,
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
    plates: Vec<PlateFile>,
}

impl Artifacts {
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

fn round4(x: f32) -> f64 {
    (f64::from(x) * 1e4).round() / 1e4
}

fn round1(b: [f32; 4]) -> [f64; 4] {
    b.map(|v| (f64::from(v) * 10.0).round() / 10.0)
}

/// Writes the original, the crops and the annotated image. On failure the files written so
/// far are removed.
fn write_artifacts(
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
