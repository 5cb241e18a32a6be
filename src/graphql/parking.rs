//! GraphQL of the parking domain (parking-vehicle-api.zh-TW.txt): the vehicle registry
//! (the registry fields live on [`Vehicle`], the same record the alpr group shows), parking
//! lots, occupancy records, the crawler's batch collect, and the
//! `parkingOccupancyChanged(siteId)` subscription. Queries need the `parking:read` scope,
//! mutations `parking:write` (JWTs carry every scope).

use async_graphql::{
    Context, InputObject, MaybeUndefined, Object, SimpleObject, Subscription, Upload,
    connection::{Connection, EmptyFields, OpaqueCursor},
    types::Json as GqlJson,
};
use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt as _};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

use super::{
    alpr::Vehicle,
    loader::{AppLoader, LoadErr, load},
    paging::{TotalCount, connection, page},
    scoped, state,
};
use crate::{
    auth::Principal,
    db::entities::{parking_lot, parking_record},
    domain::parking::{Counts, NewVehicle, RecordFilter, VehicleChanges, VehicleFilter},
    error::{AppError, AppResult},
    events::Event,
};

fn reader<'a>(ctx: &Context<'a>) -> AppResult<&'a Principal> {
    scoped(ctx, "parking:read")
}

fn writer<'a>(ctx: &Context<'a>) -> AppResult<&'a Principal> {
    scoped(ctx, "parking:write")
}

/// Key: a parking lot by id.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ParkingLotId(pub i32);
/// Key: the newest occupancy record of a parking lot.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct LatestParkingRecord(pub i32);

crate::by_id_loader!(ParkingLotId, parking_lot);

impl Loader<LatestParkingRecord> for AppLoader {
    type Value = parking_record::Model;
    type Error = LoadErr;

    /// Two queries per batch: the newest `last_update` of each lot, then those rows.
    async fn load(
        &self,
        keys: &[LatestParkingRecord],
    ) -> Result<HashMap<LatestParkingRecord, Self::Value>, Self::Error> {
        use crate::db::entities::parking_record::{Column as R, Entity};
        use sea_orm::{Condition, QuerySelect as _};
        let newest: Vec<(i32, Option<DateTime<Utc>>)> = Entity::find()
            .select_only()
            .column(R::ParkingLotId)
            .column_as(R::LastUpdate.max(), "newest")
            .filter(R::ParkingLotId.is_in(keys.iter().map(|k| k.0)))
            .group_by(R::ParkingLotId)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut out = HashMap::new();
        for chunk in newest.chunks(200) {
            let cond = chunk
                .iter()
                .fold(Condition::any(), |c, (lot, at)| match at {
                    Some(at) => c.add(
                        Condition::all()
                            .add(R::ParkingLotId.eq(*lot))
                            .add(R::LastUpdate.eq(*at)),
                    ),
                    None => c,
                });
            for r in Entity::find().filter(cond).all(&self.db).await? {
                out.insert(LatestParkingRecord(r.parking_lot_id), r);
            }
        }
        Ok(out)
    }
}

/// A parking lot.
pub struct ParkingLot(pub parking_lot::Model);

#[Object]
impl ParkingLot {
    /// Id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// Site id (the crawler's `parking_id`), unique per account.
    async fn site_id(&self) -> &str {
        &self.0.site_id
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last change.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The newest occupancy record.
    async fn latest_record(&self, ctx: &Context<'_>) -> AppResult<Option<ParkingRecord>> {
        Ok(load(ctx, LatestParkingRecord(self.0.id))
            .await?
            .map(ParkingRecord))
    }
}

/// One occupancy reading of a lot.
pub struct ParkingRecord(pub parking_record::Model);

#[Object]
impl ParkingRecord {
    /// Id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// Lot id.
    async fn parking_lot_id(&self) -> i32 {
        self.0.parking_lot_id
    }
    /// The lot.
    async fn parking_lot(&self, ctx: &Context<'_>) -> AppResult<ParkingLot> {
        load(ctx, ParkingLotId(self.0.parking_lot_id))
            .await?
            .map(ParkingLot)
            .ok_or_else(|| AppError::not_found("Not found."))
    }
    /// The lot's site id.
    async fn site_id(&self, ctx: &Context<'_>) -> AppResult<String> {
        Ok(load(ctx, ParkingLotId(self.0.parking_lot_id))
            .await?
            .map(|l| l.site_id)
            .unwrap_or_default())
    }
    /// Regular spaces in use.
    async fn regular_occupied(&self) -> Option<i32> {
        self.0.regular_occupied
    }
    /// Regular spaces.
    async fn regular_total(&self) -> Option<i32> {
        self.0.regular_total
    }
    /// Regular spaces free (may be negative).
    async fn regular_available(&self) -> Option<i32> {
        self.0.regular_available
    }
    /// Monthly-rent spaces in use.
    async fn monthly_occupied(&self) -> Option<i32> {
        self.0.monthly_occupied
    }
    /// Monthly-rent spaces.
    async fn monthly_total(&self) -> Option<i32> {
        self.0.monthly_total
    }
    /// Monthly-rent spaces free (may be negative).
    async fn monthly_available(&self) -> Option<i32> {
        self.0.monthly_available
    }
    /// When the source updated the figures.
    async fn last_update(&self) -> DateTime<Utc> {
        self.0.last_update
    }
    /// When the crawler collected them.
    async fn collected_at(&self) -> DateTime<Utc> {
        self.0.collected_at
    }
    /// When VisionFlow stored them.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Registry filters.
#[derive(InputObject, Default)]
pub struct RegistryVehicleFilter {
    /// Submitted plate contains this, case-insensitive.
    pub license_plate: Option<String>,
    /// Identified or not.
    pub is_identified: Option<bool>,
    /// Lot id.
    pub parking_lot_id: Option<i32>,
}

/// A vehicle for the registry: a photo and the plate the client says it shows.
#[derive(InputObject)]
pub struct RegisterVehicleInput {
    /// Plate as the client knows it (required).
    pub license_plate: Option<String>,
    /// The photo (JPEG, PNG, WebP, BMP; required).
    pub image: Option<Upload>,
    /// Brand.
    pub brand: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Year.
    pub year: Option<String>,
    /// Lot id.
    pub parking_lot_id: Option<i32>,
    /// When the photo was taken, ISO 8601 (naive times are read in `parking.naive_utc_offset`).
    pub captured_at: Option<String>,
}

/// Registry changes; with `replace: true` (PUT) absent fields are cleared.
#[derive(InputObject, Default)]
pub struct RegistryVehicleUpdate {
    /// Plate.
    pub license_plate: MaybeUndefined<String>,
    /// Brand.
    pub brand: MaybeUndefined<String>,
    /// Model.
    pub model: MaybeUndefined<String>,
    /// Year.
    pub year: MaybeUndefined<String>,
    /// Lot id.
    pub parking_lot_id: MaybeUndefined<i32>,
    /// ISO 8601.
    pub captured_at: MaybeUndefined<String>,
}

/// Lot fields.
#[derive(InputObject, Default)]
pub struct ParkingLotInput {
    /// Site id (unique per account).
    pub site_id: Option<String>,
    /// Name.
    pub name: Option<String>,
}

/// Record filters; dates are ISO 8601 with or without offset.
#[derive(InputObject, Default)]
pub struct ParkingRecordFilter {
    /// Lot id.
    pub parking_lot_id: Option<i32>,
    /// Lot site id.
    pub site_id: Option<String>,
    /// `lastUpdate` at or after.
    pub start_date: Option<String>,
    /// `lastUpdate` at or before.
    pub end_date: Option<String>,
}

/// One reading.
#[derive(InputObject)]
pub struct ParkingRecordInput {
    /// Lot id (required).
    pub parking_lot: Option<i32>,
    /// Regular spaces in use.
    pub regular_occupied: Option<i32>,
    /// Regular spaces.
    pub regular_total: Option<i32>,
    /// Regular spaces free (derived when absent).
    pub regular_available: Option<i32>,
    /// Monthly spaces in use.
    pub monthly_occupied: Option<i32>,
    /// Monthly spaces.
    pub monthly_total: Option<i32>,
    /// Monthly spaces free (derived when absent).
    pub monthly_available: Option<i32>,
    /// ISO 8601; default now.
    pub last_update: Option<String>,
}

/// The crawler's upload. Items are JSON objects so one bad item is counted, not fatal:
/// `{"parking_id", "last_update", "regular_occupied", "regular_total", "monthly_occupied",
/// "monthly_total", "regular_available", "monthly_available"}`.
#[derive(InputObject)]
pub struct BatchCollectInput {
    /// Collection time, ISO 8601.
    pub timestamp: Option<String>,
    /// Overall figures (kept by the crawler; not stored).
    pub summary: Option<GqlJson<serde_json::Value>>,
    /// The lots.
    pub parking_lots: Vec<GqlJson<serde_json::Value>>,
}

/// One item batch collect could not use.
#[derive(SimpleObject)]
pub struct BatchItemError {
    /// Position in `parking_lots`.
    pub index: usize,
    /// Its `parking_id`, if readable.
    pub parking_id: Option<String>,
    /// Why.
    pub message: String,
}

/// What batch collect did.
#[derive(SimpleObject)]
pub struct BatchCollectResult {
    /// `成功處理 N 筆停車記錄` (N = records stored or already there).
    pub message: String,
    /// Lots created.
    pub created_lots: u64,
    /// Existing lots that received a record.
    pub updated_lots: u64,
    /// Records stored.
    pub created_records: u64,
    /// Records already stored, skipped.
    pub skipped_records: u64,
    /// Items not usable.
    pub errors: u64,
    /// Items received.
    pub total_processed: u64,
    /// The unusable items.
    pub error_details: Vec<BatchItemError>,
}

/// Parking queries.
#[derive(Default)]
pub struct ParkingQuery;

#[Object]
impl ParkingQuery {
    /// Registry vehicles, newest first.
    async fn registry_vehicles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
        filter: Option<RegistryVehicleFilter>,
    ) -> AppResult<Connection<OpaqueCursor<u64>, Vehicle, TotalCount, EmptyFields>> {
        let me = reader(ctx)?.account_id;
        let (start, limit) = page(first, after, offset)?;
        let f = filter.unwrap_or_default();
        let f = VehicleFilter {
            license_plate: f.license_plate,
            is_identified: f.is_identified,
            parking_lot_id: f.parking_lot_id,
        };
        let (rows, total) = state(ctx)?.parking.vehicles(me, &f, start, limit).await?;
        Ok(connection(
            rows.into_iter().map(Vehicle).collect(),
            start,
            total,
        ))
    }

    /// One vehicle (registry view; the same record as `vehicle`).
    async fn registry_vehicle(&self, ctx: &Context<'_>, id: i32) -> AppResult<Vehicle> {
        let me = reader(ctx)?.account_id;
        Ok(Vehicle(state(ctx)?.parking.vehicle(me, id).await?))
    }

    /// Parking lots; `siteId` and `name` match case-insensitive substrings.
    async fn parking_lots(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
        site_id: Option<String>,
        name: Option<String>,
    ) -> AppResult<Connection<OpaqueCursor<u64>, ParkingLot, TotalCount, EmptyFields>> {
        let me = reader(ctx)?.account_id;
        let (start, limit) = page(first, after, offset)?;
        let (rows, total) = state(ctx)?
            .parking
            .lots(me, site_id.as_deref(), name.as_deref(), start, limit)
            .await?;
        Ok(connection(
            rows.into_iter().map(ParkingLot).collect(),
            start,
            total,
        ))
    }

    /// One lot.
    async fn parking_lot(&self, ctx: &Context<'_>, id: i32) -> AppResult<ParkingLot> {
        let me = reader(ctx)?.account_id;
        Ok(ParkingLot(state(ctx)?.parking.lot(me, id).await?))
    }

    /// One lot by site id.
    async fn parking_lot_by_site_id(
        &self,
        ctx: &Context<'_>,
        site_id: String,
    ) -> AppResult<ParkingLot> {
        let me = reader(ctx)?.account_id;
        Ok(ParkingLot(
            state(ctx)?.parking.lot_by_site(me, &site_id).await?,
        ))
    }

    /// Occupancy records, newest `lastUpdate` first.
    async fn parking_records(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
        filter: Option<ParkingRecordFilter>,
    ) -> AppResult<Connection<OpaqueCursor<u64>, ParkingRecord, TotalCount, EmptyFields>> {
        let me = reader(ctx)?.account_id;
        let (start, limit) = page(first, after, offset)?;
        let f = filter.unwrap_or_default();
        let f = RecordFilter {
            parking_lot_id: f.parking_lot_id,
            site_id: f.site_id,
            start_date: f.start_date,
            end_date: f.end_date,
        };
        let (rows, total) = state(ctx)?.parking.records(me, &f, start, limit).await?;
        Ok(connection(
            rows.into_iter().map(ParkingRecord).collect(),
            start,
            total,
        ))
    }

    /// One record.
    async fn parking_record(&self, ctx: &Context<'_>, id: i32) -> AppResult<ParkingRecord> {
        let me = reader(ctx)?.account_id;
        Ok(ParkingRecord(state(ctx)?.parking.record(me, id).await?))
    }
}

/// Parking mutations.
#[derive(Default)]
pub struct ParkingMutation;

#[Object]
impl ParkingMutation {
    /// Registers a vehicle from a photo and verifies its plate with the recogniser.
    async fn register_vehicle(
        &self,
        ctx: &Context<'_>,
        input: RegisterVehicleInput,
    ) -> AppResult<Vehicle> {
        let me = writer(ctx)?.account_id;
        let image = match input.image {
            Some(u) => {
                let v = u
                    .value(ctx)
                    .map_err(|_| AppError::field("image", "No file was submitted."))?;
                Some((v.filename, v.content.to_vec()))
            }
            None => None,
        };
        let row = state(ctx)?
            .parking
            .create_vehicle(
                me,
                NewVehicle {
                    license_plate: input.license_plate,
                    brand: input.brand,
                    model: input.model,
                    year: input.year,
                    parking_lot_id: input.parking_lot_id,
                    captured_at: input.captured_at,
                },
                image,
            )
            .await?;
        Ok(Vehicle(row))
    }

    /// Changes registry fields (`replace: true` = PUT: absent fields are cleared).
    async fn update_registry_vehicle(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: RegistryVehicleUpdate,
        #[graphql(default = false)] replace: bool,
    ) -> AppResult<Vehicle> {
        let me = writer(ctx)?.account_id;
        let ch = VehicleChanges {
            license_plate: input.license_plate.into(),
            brand: input.brand.into(),
            model: input.model.into(),
            year: input.year.into(),
            parking_lot_id: input.parking_lot_id.into(),
            captured_at: input.captured_at.into(),
        };
        Ok(Vehicle(
            state(ctx)?
                .parking
                .update_vehicle(me, id, ch, replace)
                .await?,
        ))
    }

    /// Overrides the identification; `confidenceScore` in [0, 1].
    async fn update_vehicle_identification(
        &self,
        ctx: &Context<'_>,
        id: i32,
        is_identified: Option<bool>,
        confidence_score: Option<f64>,
    ) -> AppResult<Vehicle> {
        let me = writer(ctx)?.account_id;
        Ok(Vehicle(
            state(ctx)?
                .parking
                .update_identification(me, id, is_identified, confidence_score)
                .await?,
        ))
    }

    /// Deletes a registry vehicle (its plates, and the detection when left empty); returns
    /// its id.
    async fn delete_registry_vehicle(&self, ctx: &Context<'_>, id: i32) -> AppResult<i32> {
        let me = writer(ctx)?.account_id;
        state(ctx)?.alpr.delete_vehicle(me, id).await?;
        Ok(id)
    }

    /// Creates a lot.
    async fn create_parking_lot(
        &self,
        ctx: &Context<'_>,
        input: ParkingLotInput,
    ) -> AppResult<ParkingLot> {
        let me = writer(ctx)?.account_id;
        Ok(ParkingLot(
            state(ctx)?
                .parking
                .create_lot(me, input.site_id, input.name)
                .await?,
        ))
    }

    /// Changes a lot (`replace: true` = PUT: both fields required).
    async fn update_parking_lot(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: ParkingLotInput,
        #[graphql(default = false)] replace: bool,
    ) -> AppResult<ParkingLot> {
        let me = writer(ctx)?.account_id;
        Ok(ParkingLot(
            state(ctx)?
                .parking
                .update_lot(me, id, input.site_id, input.name, replace)
                .await?,
        ))
    }

    /// Deletes a lot and its records; returns its id.
    async fn delete_parking_lot(&self, ctx: &Context<'_>, id: i32) -> AppResult<i32> {
        let me = writer(ctx)?.account_id;
        state(ctx)?.parking.delete_lot(me, id).await?;
        Ok(id)
    }

    /// Stores one reading.
    async fn create_parking_record(
        &self,
        ctx: &Context<'_>,
        input: ParkingRecordInput,
    ) -> AppResult<ParkingRecord> {
        let me = writer(ctx)?.account_id;
        let lot = input
            .parking_lot
            .ok_or_else(|| AppError::field("parking_lot", "This field is required."))?;
        let counts = Counts {
            regular_occupied: input.regular_occupied,
            regular_total: input.regular_total,
            regular_available: input.regular_available,
            monthly_occupied: input.monthly_occupied,
            monthly_total: input.monthly_total,
            monthly_available: input.monthly_available,
        };
        Ok(ParkingRecord(
            state(ctx)?
                .parking
                .create_record(me, lot, counts, input.last_update)
                .await?,
        ))
    }

    /// The crawler's batch upload: one transaction; unknown lots are created, readings
    /// already stored are skipped, bad items are counted.
    async fn batch_collect_parking_records(
        &self,
        ctx: &Context<'_>,
        input: BatchCollectInput,
    ) -> AppResult<BatchCollectResult> {
        let me = writer(ctx)?.account_id;
        let items: Vec<serde_json::Value> = input.parking_lots.into_iter().map(|j| j.0).collect();
        let o = state(ctx)?
            .parking
            .batch_collect(me, input.timestamp.as_deref(), &items)
            .await?;
        Ok(BatchCollectResult {
            message: format!(
                "成功處理 {} 筆停車記錄",
                o.created_records + o.skipped_records
            ),
            created_lots: o.created_lots,
            updated_lots: o.updated_lots,
            created_records: o.created_records,
            skipped_records: o.skipped_records,
            errors: o.errors,
            total_processed: o.total_processed,
            error_details: o
                .error_details
                .into_iter()
                .map(|(index, parking_id, message)| BatchItemError {
                    index,
                    parking_id,
                    message,
                })
                .collect(),
        })
    }
}

/// Parking subscriptions.
#[derive(Default)]
pub struct ParkingSubscription;

#[Subscription]
impl ParkingSubscription {
    /// The newest reading of a lot each time one is stored (batch collect or single
    /// record), optionally for one site id.
    async fn parking_occupancy_changed(
        &self,
        ctx: &Context<'_>,
        site_id: Option<String>,
    ) -> Result<impl Stream<Item = ParkingRecord> + use<>, AppError> {
        let me = reader(ctx)?.account_id;
        let app = state(ctx)?.clone();
        let events = app.bus.subscribe();
        Ok(events.filter_map(move |event| {
            let app = app.clone();
            let site = site_id.clone();
            async move {
                match event {
                    Event::ParkingOccupancyChanged {
                        account_id,
                        parking_lot_id,
                        site_id: s,
                    } if account_id == me && site.as_ref().is_none_or(|w| *w == s) => app
                        .parking
                        .latest_record(parking_lot_id)
                        .await
                        .ok()
                        .flatten()
                        .map(ParkingRecord),
                    _ => None,
                }
            }
        }))
    }
}
