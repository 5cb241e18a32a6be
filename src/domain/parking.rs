//! The parking domain (parking-vehicle-api.zh-TW.txt, "AI Vision 車輛辨識管理系統"): the
//! vehicle registry with plate verification, parking lots, occupancy records and the
//! crawler's batch upload.
//!
//! A registry vehicle is the `vehicles` row the alpr group shows (ENDPOINTS.md: two views of
//! one record). `POST /api/vehicles/` runs the ALPR pipeline on the photo, stores that
//! detection, and makes the vehicle that carries the submitted plate (else the best read,
//! else a new row for the whole photo) the registry vehicle: `is_identified` is true when a
//! plate read equals the submitted plate after normalising, `confidence_score` is the read's
//! confidence. Batch collect runs in one transaction, creates unknown lots, skips readings
//! already stored (same lot and `last_update`) and counts bad items without losing the good.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, Condition, DatabaseConnection,
    EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _, SqlErr,
    TransactionTrait as _, sea_query::Expr,
};
use serde_json::Value as Json;
use uuid::Uuid;
use visionflow_models::alpr::normalize_plate;

use crate::{
    db::entities::{parking_lot, parking_record, vehicle},
    domain::alpr::{AlprService, given},
    error::{AppError, AppResult},
    events::{Event, EventBus},
};

/// Parses an ISO 8601 date-time as the document's clients send it: RFC 3339 with an offset
/// (`2025-07-03T00:00:00Z`, `…+08:00`), a naive date-time with `T` or a space and optional
/// fraction (read in `naive_offset`), or a bare date (its midnight in `naive_offset`).
///
/// # Errors
/// `BAD_USER_INPUT` on `field`, in DRF's words.
pub fn parse_datetime(
    field: &str,
    text: &str,
    naive_offset: FixedOffset,
) -> AppResult<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt)
            && let Some(dt) = naive_offset.from_local_datetime(&n).single()
        {
            return Ok(dt.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
            return Ok(dt.with_timezone(&Utc));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        && let Some(dt) = d
            .and_hms_opt(0, 0, 0)
            .and_then(|n| naive_offset.from_local_datetime(&n).single())
    {
        return Ok(dt.with_timezone(&Utc));
    }
    Err(AppError::field(
        field,
        "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
    ))
}

fn text_field(
    field: &str,
    value: Option<String>,
    max: usize,
    required: bool,
) -> AppResult<Option<String>> {
    match value.map(|v| v.trim().to_owned()) {
        Some(v) if v.contains('\0') => {
            Err(AppError::field(field, "Null characters are not allowed."))
        }
        Some(v) if v.is_empty() && required => {
            Err(AppError::field(field, "This field may not be blank."))
        }
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.chars().count() > max => Err(AppError::field(
            field,
            format!("Ensure this field has no more than {max} characters."),
        )),
        Some(v) => Ok(Some(v)),
        None if required => Err(AppError::field(field, "This field is required.")),
        None => Ok(None),
    }
}

fn not_found() -> AppError {
    AppError::NotFound {
        reason: None,
        message: "Not found.".into(),
    }
}

/// A value that may be absent (leave as is), null (clear) or set.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    /// Not sent: unchanged (PATCH) or cleared (PUT).
    #[default]
    Absent,
    /// Sent as null.
    Null,
    /// Sent with a value.
    Value(T),
}

impl<T> Patch<T> {
    fn resolve(self, full: bool) -> Option<Option<T>> {
        match self {
            Self::Absent if full => Some(None),
            Self::Absent => None,
            Self::Null => Some(None),
            Self::Value(v) => Some(Some(v)),
        }
    }
}

impl<T> From<async_graphql::MaybeUndefined<T>> for Patch<T> {
    fn from(m: async_graphql::MaybeUndefined<T>) -> Self {
        match m {
            async_graphql::MaybeUndefined::Undefined => Self::Absent,
            async_graphql::MaybeUndefined::Null => Self::Null,
            async_graphql::MaybeUndefined::Value(v) => Self::Value(v),
        }
    }
}

/// Registry fields sent with a new vehicle.
#[derive(Debug, Clone, Default)]
pub struct NewVehicle {
    /// Submitted plate (required).
    pub license_plate: Option<String>,
    /// Brand.
    pub brand: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Year.
    pub year: Option<String>,
    /// Parking lot id.
    pub parking_lot_id: Option<i32>,
    /// ISO 8601.
    pub captured_at: Option<String>,
}

/// Registry changes (PUT when `full`, PATCH otherwise).
#[derive(Debug, Clone, Default)]
pub struct VehicleChanges {
    /// Submitted plate.
    pub license_plate: Patch<String>,
    /// Brand.
    pub brand: Patch<String>,
    /// Model.
    pub model: Patch<String>,
    /// Year.
    pub year: Patch<String>,
    /// Parking lot id.
    pub parking_lot_id: Patch<i32>,
    /// ISO 8601.
    pub captured_at: Patch<String>,
}

/// Registry filters (`GET /api/vehicles/`).
#[derive(Debug, Clone, Default)]
pub struct VehicleFilter {
    /// Plate contains, case-insensitive.
    pub license_plate: Option<String>,
    /// Identified or not.
    pub is_identified: Option<bool>,
    /// Lot.
    pub parking_lot_id: Option<i32>,
}

/// Record filters (`GET /api/parking-records/`).
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    /// Lot id.
    pub parking_lot_id: Option<i32>,
    /// Lot site id (exact).
    pub site_id: Option<String>,
    /// `last_update` at or after (ISO 8601).
    pub start_date: Option<String>,
    /// `last_update` at or before (ISO 8601).
    pub end_date: Option<String>,
}

/// Counts of one reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Regular spaces in use.
    pub regular_occupied: Option<i32>,
    /// Regular spaces.
    pub regular_total: Option<i32>,
    /// Regular spaces free (may be negative; derived when absent).
    pub regular_available: Option<i32>,
    /// Monthly spaces in use.
    pub monthly_occupied: Option<i32>,
    /// Monthly spaces.
    pub monthly_total: Option<i32>,
    /// Monthly spaces free (may be negative; derived when absent).
    pub monthly_available: Option<i32>,
}

impl Counts {
    fn validate(mut self, fields: &mut Vec<(String, String)>) -> Self {
        for (name, v) in [
            ("regular_occupied", self.regular_occupied),
            ("regular_total", self.regular_total),
            ("monthly_occupied", self.monthly_occupied),
            ("monthly_total", self.monthly_total),
        ] {
            if v.is_some_and(|v| v < 0) {
                fields.push((
                    name.into(),
                    "Ensure this value is greater than or equal to 0.".into(),
                ));
            }
        }
        if self.regular_available.is_none()
            && let (Some(t), Some(o)) = (self.regular_total, self.regular_occupied)
        {
            self.regular_available = Some(t - o);
        }
        if self.monthly_available.is_none()
            && let (Some(t), Some(o)) = (self.monthly_total, self.monthly_occupied)
        {
            self.monthly_available = Some(t - o);
        }
        self
    }
}

/// What batch collect did (the document's `statistics` block, plus per-item errors).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Lots created because a `parking_id` was new.
    pub created_lots: u64,
    /// Existing lots that received a new record.
    pub updated_lots: u64,
    /// Records stored.
    pub created_records: u64,
    /// Records already stored (same lot and `last_update`), not duplicated.
    pub skipped_records: u64,
    /// Items that could not be used.
    pub errors: u64,
    /// Items in the request.
    pub total_processed: u64,
    /// `(index, parking_id, message)` of each bad item.
    pub error_details: Vec<(usize, Option<String>, String)>,
}

/// The parking service.
#[derive(Clone)]
pub struct ParkingService {
    db: DatabaseConnection,
    alpr: AlprService,
    bus: std::sync::Arc<dyn EventBus>,
    naive_offset: FixedOffset,
}

struct Item {
    site_id: String,
    last_update: DateTime<Utc>,
    counts: Counts,
}

fn int_of(item: &serde_json::Map<String, Json>, key: &str) -> Result<Option<i32>, String> {
    match item.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => n
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .map(Some)
            .ok_or_else(|| format!("{key}: A valid integer is required.")),
        Some(Json::String(s)) => s
            .trim()
            .parse::<i32>()
            .map(Some)
            .map_err(|_| format!("{key}: A valid integer is required.")),
        Some(_) => Err(format!("{key}: A valid integer is required.")),
    }
}

impl ParkingService {
    /// The service; naive timestamps (`2025-07-03 17:06:27`) are read in `naive_offset`.
    pub fn new(
        db: DatabaseConnection,
        alpr: AlprService,
        bus: std::sync::Arc<dyn EventBus>,
        naive_offset: FixedOffset,
    ) -> Self {
        Self {
            db,
            alpr,
            bus,
            naive_offset,
        }
    }

    /// Parses a client timestamp (see [`parse_datetime`]).
    ///
    /// # Errors
    /// `BAD_USER_INPUT` on `field`.
    pub fn datetime(&self, field: &str, text: &str) -> AppResult<DateTime<Utc>> {
        parse_datetime(field, text, self.naive_offset)
    }

    async fn own_lot(&self, account: Uuid, id: i32, field: &str) -> AppResult<parking_lot::Model> {
        parking_lot::Entity::find_by_id(id)
            .filter(parking_lot::Column::AccountId.eq(account))
            .one(&self.db)
            .await
            .map_err(AppError::internal)?
            .ok_or_else(|| {
                AppError::field(
                    field,
                    format!("Invalid pk \"{id}\" - object does not exist."),
                )
            })
    }

    /// Registers a vehicle from a photo: fields are validated first, then the photo goes
    /// through the ALPR pipeline, and the detection and the registry vehicle are stored in
    /// one transaction.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` per field (`license_plate`, `image`, `parking_lot_id`,
    /// `captured_at` …); `UNAVAILABLE` when the models are not installed or busy.
    pub async fn create_vehicle(
        &self,
        account: Uuid,
        input: NewVehicle,
        image: Option<(String, Vec<u8>)>,
    ) -> AppResult<vehicle::Model> {
        let mut errors = std::collections::BTreeMap::<String, Vec<String>>::new();
        let mut check = |r: AppResult<Option<String>>| match r {
            Ok(v) => v,
            Err(AppError::BadUserInput { fields, .. }) => {
                for (k, v) in fields {
                    errors.entry(k).or_default().extend(v);
                }
                None
            }
            Err(_) => None,
        };
        let license_plate = check(text_field("license_plate", input.license_plate, 32, true));
        let brand = check(text_field("brand", input.brand, 100, false));
        let model = check(text_field("model", input.model, 100, false));
        let year = check(text_field("year", input.year, 16, false));
        if image.is_none() {
            errors.insert("image".into(), vec!["No file was submitted.".into()]);
        }
        let captured_at = match input.captured_at.filter(|s| !s.trim().is_empty()) {
            Some(s) => match self.datetime("captured_at", &s) {
                Ok(t) => Some(t),
                Err(AppError::BadUserInput { fields, .. }) => {
                    errors.extend(fields);
                    None
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        if let Some(id) = input.parking_lot_id
            && let Err(AppError::BadUserInput { fields, .. }) =
                self.own_lot(account, id, "parking_lot_id").await
        {
            errors.extend(fields);
        }
        AppError::fields(errors)?;
        let (Some(license_plate), Some((filename, bytes))) = (license_plate, image) else {
            return Err(AppError::field("image", "No file was submitted."));
        };
        let wanted = normalize_plate(&license_plate);
        let prepared = self.alpr.prepare("image", &filename, bytes).await?;
        let written = prepared.files.all_paths();
        let original = prepared.files.original_path().to_owned();
        let (row, stored) = self
            .alpr
            .store()
            .commit_or_remove(&written, async {
                let txn = self.db.begin().await.map_err(AppError::internal)?;
                let stored = self
                    .alpr
                    .store_prepared(&txn, account, prepared, None)
                    .await?;
                let matching = stored
                    .plates
                    .iter()
                    .find(|p| !wanted.is_empty() && p.text == wanted);
                let best = matching.or_else(|| stored.plates.first());
                let chosen = best
                    .and_then(|p| p.vehicle_id)
                    .and_then(|vid| stored.vehicles.iter().find(|v| v.id == vid))
                    .or_else(|| stored.vehicles.first())
                    .cloned();
                let now = Utc::now();
                let mut am: vehicle::ActiveModel = match chosen {
                    Some(v) => v.into(),
                    None => vehicle::ActiveModel {
                        account_id: Set(account),
                        session_id: Set(Some(stored.session.id)),
                        vehicle_index: Set(stored.vehicles.len() as i32 + 1),
                        class: Set("vehicle".into()),
                        confidence: Set(0.0),
                        x1: Set(0.0),
                        y1: Set(0.0),
                        x2: Set(f64::from(stored.session.width)),
                        y2: Set(f64::from(stored.session.height)),
                        crop_path: Set(None),
                        created_at: Set(now),
                        ..Default::default()
                    },
                };
                am.license_plate = Set(Some(license_plate.clone()));
                am.brand = Set(brand);
                am.model = Set(model);
                am.year = Set(year);
                am.parking_lot_id = Set(input.parking_lot_id);
                am.captured_at = Set(captured_at);
                am.image_path = Set(Some(original));
                am.is_identified = Set(matching.is_some());
                am.confidence_score = Set(best.map(|p| p.confidence));
                am.recognized_plate = Set(best.map(|p| p.text.clone()));
                am.updated_at = Set(Some(now));
                let row = am.save(&txn).await.map_err(AppError::internal)?;
                let row = sea_orm::TryIntoModel::try_into_model(row).map_err(AppError::internal)?;
                txn.commit().await.map_err(AppError::internal)?;
                Ok::<_, AppError>((row, stored))
            })
            .await?;
        self.alpr.publish(account, &stored, None);
        Ok(row)
    }

    /// Registry vehicles (rows with a submitted plate), newest first: `(rows, total)`.
    ///
    /// # Errors
    /// Database failures.
    pub async fn vehicles(
        &self,
        account: Uuid,
        f: &VehicleFilter,
        offset: u64,
        limit: u64,
    ) -> AppResult<(Vec<vehicle::Model>, u64)> {
        use vehicle::Column as V;
        let mut c = Condition::all()
            .add(V::AccountId.eq(account))
            .add(V::LicensePlate.is_not_null());
        if let Some(p) = given(f.license_plate.as_deref()) {
            c = c.add(crate::db::icontains(V::LicensePlate, p));
        }
        if let Some(b) = f.is_identified {
            c = c.add(V::IsIdentified.eq(b));
        }
        if let Some(l) = f.parking_lot_id {
            c = c.add(V::ParkingLotId.eq(l));
        }
        let q = vehicle::Entity::find()
            .filter(c)
            .order_by_desc(V::CreatedAt)
            .order_by_desc(V::Id);
        crate::db::page(&self.db, q, offset, limit).await
    }

    /// One vehicle of the account (either view; the alpr group's lookup).
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn vehicle(&self, account: Uuid, id: i32) -> AppResult<vehicle::Model> {
        self.alpr.vehicle(account, id).await
    }

    /// Updates registry fields: every field when `full` (PUT; absent ones are cleared and
    /// `license_plate` is required), the given ones otherwise (PATCH). A new plate is
    /// compared again with the plate read from the photo.
    ///
    /// # Errors
    /// `NOT_FOUND`, `BAD_USER_INPUT`.
    pub async fn update_vehicle(
        &self,
        account: Uuid,
        id: i32,
        ch: VehicleChanges,
        full: bool,
    ) -> AppResult<vehicle::Model> {
        let current = self.vehicle(account, id).await?;
        let mut am: vehicle::ActiveModel = current.clone().into();
        if let Some(v) = ch.license_plate.resolve(full) {
            let v = text_field("license_plate", v, 32, true)?.unwrap_or_default();
            let identified = current
                .recognized_plate
                .as_deref()
                .is_some_and(|r| r == normalize_plate(&v));
            am.is_identified = Set(identified);
            am.license_plate = Set(Some(v));
        }
        for (field, patch, max, slot) in [
            ("brand", ch.brand, 100, &mut am.brand),
            ("model", ch.model, 100, &mut am.model),
            ("year", ch.year, 16, &mut am.year),
        ] {
            if let Some(v) = patch.resolve(full) {
                *slot = Set(text_field(field, v, max, false)?);
            }
        }
        if let Some(v) = ch.parking_lot_id.resolve(full) {
            if let Some(lot) = v {
                self.own_lot(account, lot, "parking_lot_id").await?;
            }
            am.parking_lot_id = Set(v);
        }
        if let Some(v) = ch.captured_at.resolve(full) {
            am.captured_at = Set(match v.filter(|s| !s.trim().is_empty()) {
                Some(s) => Some(self.datetime("captured_at", &s)?),
                None => None,
            });
        }
        am.updated_at = Set(Some(Utc::now()));
        am.update(&self.db).await.map_err(AppError::internal)
    }

    /// Overrides the identification (`PATCH …/update_identification/`).
    ///
    /// # Errors
    /// `NOT_FOUND`; `BAD_USER_INPUT` when `confidence_score` is outside [0, 1].
    pub async fn update_identification(
        &self,
        account: Uuid,
        id: i32,
        is_identified: Option<bool>,
        confidence_score: Option<f64>,
    ) -> AppResult<vehicle::Model> {
        if let Some(c) = confidence_score
            && !(c.is_finite() && (0.0..=1.0).contains(&c))
        {
            return Err(AppError::field(
                "confidence_score",
                "Ensure this value is between 0.0 and 1.0.",
            ));
        }
        let current = self.vehicle(account, id).await?;
        let mut am: vehicle::ActiveModel = current.into();
        if let Some(b) = is_identified {
            am.is_identified = Set(b);
        }
        if let Some(c) = confidence_score {
            am.confidence_score = Set(Some(c));
        }
        am.updated_at = Set(Some(Utc::now()));
        am.update(&self.db).await.map_err(AppError::internal)
    }

    /// Lots, by site id: `(rows, total)`.
    ///
    /// # Errors
    /// Database failures.
    pub async fn lots(
        &self,
        account: Uuid,
        site_id: Option<&str>,
        name: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> AppResult<(Vec<parking_lot::Model>, u64)> {
        use parking_lot::Column as L;
        let mut c = Condition::all().add(L::AccountId.eq(account));
        if let Some(s) = given(site_id) {
            c = c.add(crate::db::icontains(L::SiteId, s));
        }
        if let Some(n) = given(name) {
            c = c.add(crate::db::icontains(L::Name, n));
        }
        let q = parking_lot::Entity::find().filter(c).order_by_asc(L::Id);
        crate::db::page(&self.db, q, offset, limit).await
    }

    /// One lot.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn lot(&self, account: Uuid, id: i32) -> AppResult<parking_lot::Model> {
        crate::db::one_or(
            &self.db,
            parking_lot::Entity::find_by_id(id).filter(parking_lot::Column::AccountId.eq(account)),
            not_found,
        )
        .await
    }

    /// One lot by its site id (exact).
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn lot_by_site(&self, account: Uuid, site_id: &str) -> AppResult<parking_lot::Model> {
        crate::db::one_or(
            &self.db,
            parking_lot::Entity::find()
                .filter(parking_lot::Column::AccountId.eq(account))
                .filter(parking_lot::Column::SiteId.eq(site_id.trim())),
            not_found,
        )
        .await
    }

    /// The unique index on (account, `site_id`) decides; its violation is DRF's message.
    fn site_conflict(e: sea_orm::DbErr) -> AppError {
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                AppError::field("site_id", "parking lot with this site id already exists.")
            }
            _ => AppError::internal(e),
        }
    }

    /// Creates a lot.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for a missing field or a taken `site_id`.
    pub async fn create_lot(
        &self,
        account: Uuid,
        site_id: Option<String>,
        name: Option<String>,
    ) -> AppResult<parking_lot::Model> {
        let mut errors = std::collections::BTreeMap::new();
        let site = text_field("site_id", site_id, 100, true);
        let nm = text_field("name", name, 200, true);
        for r in [&site, &nm] {
            if let Err(AppError::BadUserInput { fields, .. }) = r {
                errors.extend(fields.clone());
            }
        }
        AppError::fields(errors)?;
        let (site, name) = (site?.unwrap_or_default(), nm?.unwrap_or_default());
        let now = Utc::now();
        parking_lot::ActiveModel {
            account_id: Set(account),
            site_id: Set(site),
            name: Set(name),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(Self::site_conflict)
    }

    /// Updates a lot (PUT needs both fields).
    ///
    /// # Errors
    /// `NOT_FOUND`, `BAD_USER_INPUT`.
    pub async fn update_lot(
        &self,
        account: Uuid,
        id: i32,
        site_id: Option<String>,
        name: Option<String>,
        full: bool,
    ) -> AppResult<parking_lot::Model> {
        let current = self.lot(account, id).await?;
        let mut am: parking_lot::ActiveModel = current.clone().into();
        if site_id.is_some() || full {
            am.site_id = Set(text_field("site_id", site_id, 100, true)?.unwrap_or_default());
        }
        if name.is_some() || full {
            am.name = Set(text_field("name", name, 200, true)?.unwrap_or_default());
        }
        am.updated_at = Set(Utc::now());
        am.update(&self.db).await.map_err(Self::site_conflict)
    }

    /// Deletes a lot and its records; its vehicles stay, without a lot.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn delete_lot(&self, account: Uuid, id: i32) -> AppResult<()> {
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let lot = crate::db::one_or(
            &txn,
            parking_lot::Entity::find_by_id(id).filter(parking_lot::Column::AccountId.eq(account)),
            not_found,
        )
        .await?;
        parking_record::Entity::delete_many()
            .filter(parking_record::Column::ParkingLotId.eq(lot.id))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?;
        vehicle::Entity::update_many()
            .col_expr(
                vehicle::Column::ParkingLotId,
                Expr::value(Option::<i32>::None),
            )
            .filter(vehicle::Column::ParkingLotId.eq(lot.id))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?;
        parking_lot::Entity::delete_by_id(lot.id)
            .exec(&txn)
            .await
            .map_err(AppError::internal)?;
        txn.commit().await.map_err(AppError::internal)
    }

    /// Records, newest `last_update` first: `(rows, total)`.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for malformed dates.
    pub async fn records(
        &self,
        account: Uuid,
        f: &RecordFilter,
        offset: u64,
        limit: u64,
    ) -> AppResult<(Vec<parking_record::Model>, u64)> {
        use parking_record::Column as R;
        let mut c = Condition::all().add(R::AccountId.eq(account));
        if let Some(l) = f.parking_lot_id {
            c = c.add(R::ParkingLotId.eq(l));
        }
        if let Some(s) = given(f.site_id.as_deref()) {
            c = c.add(
                R::ParkingLotId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(parking_lot::Column::Id)
                        .from(parking_lot::Entity)
                        .and_where(parking_lot::Column::AccountId.eq(account))
                        .and_where(parking_lot::Column::SiteId.eq(s))
                        .to_owned(),
                ),
            );
        }
        if let Some(s) = f.start_date.as_deref().filter(|s| !s.trim().is_empty()) {
            c = c.add(R::LastUpdate.gte(self.datetime("start_date", s)?));
        }
        if let Some(s) = f.end_date.as_deref().filter(|s| !s.trim().is_empty()) {
            c = c.add(R::LastUpdate.lte(self.datetime("end_date", s)?));
        }
        let q = parking_record::Entity::find()
            .filter(c)
            .order_by_desc(R::LastUpdate)
            .order_by_desc(R::Id);
        crate::db::page(&self.db, q, offset, limit).await
    }

    /// One record.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn record(&self, account: Uuid, id: i32) -> AppResult<parking_record::Model> {
        crate::db::one_or(
            &self.db,
            parking_record::Entity::find_by_id(id)
                .filter(parking_record::Column::AccountId.eq(account)),
            not_found,
        )
        .await
    }

    /// The newest record of a lot.
    ///
    /// # Errors
    /// Database failures.
    pub async fn latest_record(&self, lot_id: i32) -> AppResult<Option<parking_record::Model>> {
        parking_record::Entity::find()
            .filter(parking_record::Column::ParkingLotId.eq(lot_id))
            .order_by_desc(parking_record::Column::LastUpdate)
            .order_by_desc(parking_record::Column::Id)
            .one(&self.db)
            .await
            .map_err(AppError::internal)
    }

    /// Creates one record (`POST /api/parking-records/`).
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for an unknown lot, negative counts, a malformed `last_update`, or a
    /// record that exists for that lot and `last_update`.
    pub async fn create_record(
        &self,
        account: Uuid,
        lot_id: i32,
        counts: Counts,
        last_update: Option<String>,
    ) -> AppResult<parking_record::Model> {
        let lot = self.own_lot(account, lot_id, "parking_lot").await?;
        let mut bad = Vec::new();
        let counts = counts.validate(&mut bad);
        if !bad.is_empty() {
            let mut fields = std::collections::BTreeMap::<String, Vec<String>>::new();
            for (k, v) in bad {
                fields.entry(k).or_default().push(v);
            }
            AppError::fields(fields)?;
        }
        let now = Utc::now();
        let last_update = match last_update.filter(|s| !s.trim().is_empty()) {
            Some(s) => self.datetime("last_update", &s)?,
            None => now,
        };
        let row = parking_record::ActiveModel {
            account_id: Set(account),
            parking_lot_id: Set(lot.id),
            regular_occupied: Set(counts.regular_occupied),
            regular_total: Set(counts.regular_total),
            regular_available: Set(counts.regular_available),
            monthly_occupied: Set(counts.monthly_occupied),
            monthly_total: Set(counts.monthly_total),
            monthly_available: Set(counts.monthly_available),
            last_update: Set(last_update),
            collected_at: Set(now),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => AppError::field(
                "non_field_errors",
                "The fields parking_lot, last_update must make a unique set.",
            ),
            _ => AppError::internal(e),
        })?;
        self.bus.publish(Event::ParkingOccupancyChanged {
            account_id: account,
            parking_lot_id: lot.id,
            site_id: lot.site_id,
        });
        Ok(row)
    }

    /// The crawler's batch upload, in one transaction (see the module docs).
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for a malformed batch `timestamp`; database failures roll back.
    pub async fn batch_collect(
        &self,
        account: Uuid,
        timestamp: Option<&str>,
        items: &[Json],
    ) -> AppResult<BatchOutcome> {
        let now = Utc::now();
        // Absent (or null) means now; a blank string is as malformed as any other.
        let collected_at = match timestamp {
            Some(s) => self.datetime("timestamp", s)?,
            None => now,
        };
        let mut out = BatchOutcome {
            total_processed: items.len() as u64,
            ..Default::default()
        };
        let mut good: Vec<Item> = Vec::new();
        for (i, raw) in items.iter().enumerate() {
            let parsed = (|| -> Result<Item, String> {
                let obj = raw.as_object().ok_or("item is not an object")?;
                let site_id = match obj.get("parking_id") {
                    Some(Json::String(s)) if s.contains('\0') => {
                        return Err("parking_id: must not contain NUL (U+0000) characters".into());
                    }
                    Some(Json::String(s)) if !s.trim().is_empty() && s.trim().len() <= 100 => {
                        s.trim().to_owned()
                    }
                    Some(Json::Number(n)) => n.to_string(),
                    Some(Json::String(s)) if s.trim().len() > 100 => {
                        return Err("parking_id: longer than 100 characters".into());
                    }
                    _ => return Err("parking_id: This field is required.".into()),
                };
                let last_update = match obj.get("last_update") {
                    None | Some(Json::Null) => collected_at,
                    Some(Json::String(s)) => self
                        .datetime("last_update", s)
                        .map_err(|_| format!("last_update: malformed date-time {s:?}"))?,
                    Some(_) => return Err("last_update: must be a string".into()),
                };
                let counts = Counts {
                    regular_occupied: int_of(obj, "regular_occupied")?,
                    regular_total: int_of(obj, "regular_total")?,
                    regular_available: int_of(obj, "regular_available")?,
                    monthly_occupied: int_of(obj, "monthly_occupied")?,
                    monthly_total: int_of(obj, "monthly_total")?,
                    monthly_available: int_of(obj, "monthly_available")?,
                };
                let mut bad = Vec::new();
                let counts = counts.validate(&mut bad);
                if let Some((k, v)) = bad.into_iter().next() {
                    return Err(format!("{k}: {v}"));
                }
                Ok(Item {
                    site_id,
                    last_update,
                    counts,
                })
            })();
            match parsed {
                Ok(item) => good.push(item),
                Err(msg) => {
                    out.errors += 1;
                    let pid = raw.get("parking_id").and_then(|p| {
                        p.as_str()
                            .map(str::to_owned)
                            .or_else(|| p.as_i64().map(|n| n.to_string()))
                    });
                    out.error_details.push((i, pid, msg));
                }
            }
        }

        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let sites: Vec<String> = good
            .iter()
            .map(|i| i.site_id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut lots: HashMap<String, i32> = HashMap::new();
        for chunk in sites.chunks(500) {
            let rows = parking_lot::Entity::find()
                .filter(parking_lot::Column::AccountId.eq(account))
                .filter(parking_lot::Column::SiteId.is_in(chunk.iter().cloned()))
                .all(&txn)
                .await
                .map_err(AppError::internal)?;
            lots.extend(rows.into_iter().map(|l| (l.site_id, l.id)));
        }
        let existing_lots: HashSet<i32> = lots.values().copied().collect();
        let missing: Vec<String> = sites
            .iter()
            .filter(|s| !lots.contains_key(*s))
            .cloned()
            .collect();
        for chunk in missing.chunks(500) {
            parking_lot::Entity::insert_many(chunk.iter().map(|s| parking_lot::ActiveModel {
                account_id: Set(account),
                site_id: Set(s.clone()),
                name: Set(s.clone()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?;
            let rows = parking_lot::Entity::find()
                .filter(parking_lot::Column::AccountId.eq(account))
                .filter(parking_lot::Column::SiteId.is_in(chunk.iter().cloned()))
                .all(&txn)
                .await
                .map_err(AppError::internal)?;
            lots.extend(rows.into_iter().map(|l| (l.site_id, l.id)));
        }
        out.created_lots = missing.len() as u64;

        // Readings already stored for these lots at these times.
        let times: Vec<DateTime<Utc>> = good
            .iter()
            .map(|i| i.last_update)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let lot_ids: Vec<i32> = existing_lots.iter().copied().collect();
        let mut seen: HashSet<(i32, DateTime<Utc>)> = HashSet::new();
        for lot_chunk in lot_ids.chunks(400) {
            for time_chunk in times.chunks(400) {
                let rows: Vec<(i32, DateTime<Utc>)> = parking_record::Entity::find()
                    .select_only()
                    .column(parking_record::Column::ParkingLotId)
                    .column(parking_record::Column::LastUpdate)
                    .filter(parking_record::Column::ParkingLotId.is_in(lot_chunk.iter().copied()))
                    .filter(parking_record::Column::LastUpdate.is_in(time_chunk.iter().copied()))
                    .into_tuple()
                    .all(&txn)
                    .await
                    .map_err(AppError::internal)?;
                seen.extend(rows);
            }
        }
        let mut new_rows = Vec::new();
        let mut touched: HashSet<i32> = HashSet::new();
        for item in good {
            let Some(&lot_id) = lots.get(&item.site_id) else {
                continue;
            };
            if !seen.insert((lot_id, item.last_update)) {
                out.skipped_records += 1;
                continue;
            }
            touched.insert(lot_id);
            new_rows.push(parking_record::ActiveModel {
                account_id: Set(account),
                parking_lot_id: Set(lot_id),
                regular_occupied: Set(item.counts.regular_occupied),
                regular_total: Set(item.counts.regular_total),
                regular_available: Set(item.counts.regular_available),
                monthly_occupied: Set(item.counts.monthly_occupied),
                monthly_total: Set(item.counts.monthly_total),
                monthly_available: Set(item.counts.monthly_available),
                last_update: Set(item.last_update),
                collected_at: Set(collected_at),
                created_at: Set(now),
                ..Default::default()
            });
        }
        out.created_records = new_rows.len() as u64;
        out.updated_lots = touched.iter().filter(|l| existing_lots.contains(l)).count() as u64;
        let mut rows = new_rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(500).collect();
            parking_record::Entity::insert_many(chunk)
                .exec(&txn)
                .await
                .map_err(AppError::internal)?;
        }
        txn.commit().await.map_err(AppError::internal)?;
        let by_id: HashMap<i32, &String> = lots.iter().map(|(s, id)| (*id, s)).collect();
        for lot_id in touched {
            if let Some(site) = by_id.get(&lot_id) {
                self.bus.publish(Event::ParkingOccupancyChanged {
                    account_id: account,
                    parking_lot_id: lot_id,
                    site_id: (*site).clone(),
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_in_every_documented_form() {
        let tw = FixedOffset::east_opt(8 * 3600).expect("offset");
        let utc = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("rfc3339")
                .with_timezone(&Utc)
        };
        assert_eq!(
            parse_datetime("f", "2025-07-03T00:00:00Z", tw).ok(),
            Some(utc("2025-07-03T00:00:00Z"))
        );
        assert_eq!(
            parse_datetime("f", "2025-07-03T08:00:00+08:00", tw).ok(),
            Some(utc("2025-07-03T00:00:00Z"))
        );
        assert_eq!(
            parse_datetime("f", "2025-07-03 17:06:27", tw).ok(),
            Some(utc("2025-07-03T09:06:27Z"))
        );
        assert_eq!(
            parse_datetime("f", "2025-07-03T17:10:14.524615", tw).ok(),
            Some(utc("2025-07-03T09:10:14.524615Z"))
        );
        assert_eq!(
            parse_datetime("f", "2025-07-03", tw).ok(),
            Some(utc("2025-07-02T16:00:00Z"))
        );
        for bad in ["yesterday", "2025-13-01", "2025-07-03 25:00:00", ""] {
            assert!(parse_datetime("start_date", bad, tw).is_err(), "{bad}");
        }
    }
}
