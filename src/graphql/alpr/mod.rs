//! GraphQL of the ALPR domain (alpr-api.en.md): `detectImage`, the detection history as a
//! Relay connection, vehicles, plates, plate regions, allow/deny lists, locations,
//! statistics, and the `detectionCreated` / `plateListHit` subscriptions. Child lists and
//! parents load through the DataLoader ([`AppLoader`](crate::graphql::loader::AppLoader)),
//! one query per level, never per row.

mod detections;
mod lists;
mod loaders;
mod locations;
mod statistics;
mod vehicles;

pub use self::{
    detections::{Detection, DetectionEntry, DetectionFilterInput, DetectionUpdate},
    lists::{PlateListEntry, PlateStatus, SyncResult},
    loaders::{LocationId, SessionId, SessionPlates, SessionVehicles, VehicleId, VehiclePlates},
    locations::{Location, LocationInput, LocationType},
    statistics::{AlprStatus, CountBucket, Dashboard, PlateRegion, RegionCount, Statistics},
    vehicles::{DeleteResult, Plate, PlateCandidate, PlateUpdate, Vehicle, VehicleUpdate},
};

use async_graphql::{
    Context, Object, Subscription, Upload,
    connection::{Connection, EmptyFields, OpaqueCursor},
};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt as _};

use super::{
    paging::{TotalCount, connection, page},
    scoped, state,
};
use crate::{
    domain::alpr::{self as domain, DetectionFilter, PlateChanges, regions},
    error::{AppError, AppResult},
    events::Event,
};

fn reader<'a>(ctx: &Context<'a>) -> AppResult<&'a crate::auth::Principal> {
    scoped(ctx, "alpr:read")
}

fn writer<'a>(ctx: &Context<'a>) -> AppResult<&'a crate::auth::Principal> {
    scoped(ctx, "alpr:write")
}

/// `2025-06-07 12:34:56` (UTC), the document's display form.
fn display_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// ALPR queries.
#[derive(Default)]
pub struct AlprQuery;

#[Object]
impl AlprQuery {
    /// Processed images, newest first (Relay connection; `offset` is an alternative to
    /// `after` for REST clients).
    async fn detections(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
        filter: Option<DetectionFilterInput>,
    ) -> AppResult<Connection<OpaqueCursor<u64>, Detection, TotalCount, EmptyFields>> {
        let me = reader(ctx)?.account_id;
        let (start, limit) = page(first, after, offset)?;
        let filter: DetectionFilter = filter.unwrap_or_default().into();
        let (rows, total) = state(ctx)?.alpr.sessions(me, &filter, start, limit).await?;
        Ok(connection(
            rows.into_iter().map(Detection).collect(),
            start,
            total,
        ))
    }

    /// Plates read, newest first (Relay connection), with the same filters.
    async fn plate_reads(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
        filter: Option<DetectionFilterInput>,
        #[graphql(desc = "Only a camera's reads (shorthand for `filter.cameraId`).")]
        camera_id: Option<i32>,
    ) -> AppResult<Connection<OpaqueCursor<u64>, Plate, TotalCount, EmptyFields>> {
        let me = reader(ctx)?.account_id;
        let (start, limit) = page(first, after, offset)?;
        let mut filter: DetectionFilter = filter.unwrap_or_default().into();
        filter.camera_id = camera_id.or(filter.camera_id);
        let (rows, total) = state(ctx)?.alpr.plates(me, &filter, start, limit).await?;
        Ok(connection(
            rows.into_iter().map(Plate).collect(),
            start,
            total,
        ))
    }

    /// One detection.
    async fn detection(&self, ctx: &Context<'_>, id: i32) -> AppResult<Detection> {
        let me = reader(ctx)?.account_id;
        Ok(Detection(state(ctx)?.alpr.session(me, id).await?))
    }

    /// The newest detection, if any.
    async fn latest_detection(&self, ctx: &Context<'_>) -> AppResult<Option<Detection>> {
        let me = reader(ctx)?.account_id;
        Ok(state(ctx)?.alpr.latest(me).await?.map(Detection))
    }

    /// One vehicle.
    async fn vehicle(&self, ctx: &Context<'_>, id: i32) -> AppResult<Vehicle> {
        let me = reader(ctx)?.account_id;
        Ok(Vehicle(state(ctx)?.alpr.vehicle(me, id).await?))
    }

    /// One plate.
    async fn plate(&self, ctx: &Context<'_>, id: i32) -> AppResult<Plate> {
        let me = reader(ctx)?.account_id;
        Ok(Plate(state(ctx)?.alpr.plate(me, id).await?))
    }

    /// Every known plate region code.
    async fn plate_regions(&self, ctx: &Context<'_>) -> AppResult<Vec<PlateRegion>> {
        reader(ctx)?;
        Ok(regions::all().iter().map(PlateRegion::from).collect())
    }

    /// One region code.
    async fn plate_region(&self, ctx: &Context<'_>, code: String) -> AppResult<PlateRegion> {
        reader(ctx)?;
        regions::by_code(code.trim())
            .map(PlateRegion::from)
            .ok_or_else(|| AppError::not_found(format!("Region code {} not found", code.trim())))
    }

    /// The allow/deny list.
    async fn plate_list_entries(&self, ctx: &Context<'_>) -> AppResult<Vec<PlateListEntry>> {
        let me = reader(ctx)?.account_id;
        Ok(state(ctx)?
            .alpr
            .list_entries(me)
            .await?
            .into_iter()
            .map(PlateListEntry)
            .collect())
    }

    /// Gates.
    async fn locations(&self, ctx: &Context<'_>) -> AppResult<Vec<Location>> {
        let me = reader(ctx)?.account_id;
        Ok(state(ctx)?
            .alpr
            .locations(me)
            .await?
            .into_iter()
            .map(Location)
            .collect())
    }

    /// One gate.
    async fn location(&self, ctx: &Context<'_>, id: i32) -> AppResult<Location> {
        let me = reader(ctx)?.account_id;
        Ok(Location(state(ctx)?.alpr.location(me, id).await?))
    }

    /// How many gates the caller has.
    async fn location_count(&self, ctx: &Context<'_>) -> AppResult<usize> {
        let me = reader(ctx)?.account_id;
        Ok(state(ctx)?.alpr.locations(me).await?.len())
    }

    /// The location types (`Entry`, `Exit`).
    async fn location_types(&self, ctx: &Context<'_>) -> AppResult<Vec<LocationType>> {
        reader(ctx)?;
        Ok(vec![LocationType::Entry, LocationType::Exit])
    }

    /// Dashboard statistics over the last `days` days (1–366).
    async fn statistics(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 7, validator(minimum = 1, maximum = 366))] days: u32,
    ) -> AppResult<Statistics> {
        Ok(Statistics {
            account: reader(ctx)?.account_id,
            days,
            now: Utc::now(),
        })
    }

    /// Health of the ALPR service.
    async fn alpr_status(&self, ctx: &Context<'_>) -> AppResult<AlprStatus> {
        reader(ctx)?;
        let app = state(ctx)?;
        let (workers, queue) = app.inference.capacity();
        Ok(AlprStatus {
            status: "online".into(),
            timestamp: Utc::now(),
            database_accessible: app.db.ping().await.is_ok(),
            database_backend: match app.db.get_database_backend() {
                sea_orm::DbBackend::Postgres => "postgres",
                sea_orm::DbBackend::Sqlite => "sqlite",
                _ => "other",
            }
            .into(),
            models_loaded: app.inference.ready(),
            inference_workers: workers,
            inference_queue: queue,
        })
    }
}

/// ALPR mutations.
#[derive(Default)]
pub struct AlprMutation;

#[Object]
impl AlprMutation {
    /// Runs vehicle detection and plate reading on an uploaded image (JPEG, PNG, WebP or BMP)
    /// and stores the detection with its artifacts. `location` names a gate (created as an
    /// Entry gate when new).
    async fn detect_image(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        location: Option<String>,
    ) -> AppResult<Detection> {
        let me = writer(ctx)?.account_id;
        let upload = file
            .value(ctx)
            .map_err(|_| AppError::field("file", "no file was uploaded"))?;
        let stored = state(ctx)?
            .alpr
            .detect(
                me,
                &upload.filename,
                upload.content.to_vec(),
                location.as_deref(),
            )
            .await?;
        Ok(Detection(stored.session))
    }

    /// Changes a detection's location or notes.
    async fn update_detection(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: DetectionUpdate,
    ) -> AppResult<Detection> {
        let me = writer(ctx)?.account_id;
        Ok(Detection(
            state(ctx)?
                .alpr
                .update_session(me, id, input.location.as_deref(), input.notes)
                .await?,
        ))
    }

    /// Changes a vehicle's class or confidence.
    async fn update_vehicle(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: VehicleUpdate,
    ) -> AppResult<Vehicle> {
        let me = writer(ctx)?.account_id;
        Ok(Vehicle(
            state(ctx)?
                .alpr
                .update_vehicle(me, id, input.vehicle_class, input.confidence)
                .await?,
        ))
    }

    /// Deletes a vehicle and its plates (and the detection when nothing is left in it).
    async fn delete_vehicle(&self, ctx: &Context<'_>, id: i32) -> AppResult<DeleteResult> {
        let me = writer(ctx)?.account_id;
        let o = state(ctx)?.alpr.delete_vehicle(me, id).await?;
        Ok(DeleteResult::new(
            format!(
                "Successfully deleted vehicle {id} with {} plate records",
                o.plates_deleted
            ),
            o,
        ))
    }

    /// Changes a plate's text, status or type.
    async fn update_plate(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: PlateUpdate,
    ) -> AppResult<Plate> {
        let me = writer(ctx)?.account_id;
        Ok(Plate(
            state(ctx)?
                .alpr
                .update_plate(
                    me,
                    id,
                    PlateChanges {
                        text: input.text,
                        status: input.status,
                        plate_type: input.plate_type,
                    },
                )
                .await?,
        ))
    }

    /// Deletes a plate (its vehicle too when that has no plate left; the detection when
    /// empty).
    async fn delete_plate(&self, ctx: &Context<'_>, id: i32) -> AppResult<DeleteResult> {
        let me = writer(ctx)?.account_id;
        let o = state(ctx)?.alpr.delete_plate(me, id).await?;
        let message = if o.vehicle_deleted {
            format!("Successfully deleted plate {id} and its associated vehicle")
        } else {
            format!("Successfully deleted plate {id}")
        };
        Ok(DeleteResult::new(message, o))
    }

    /// Puts a plate on the allow (`whitelist`) or deny (`blacklist`) list and applies it to
    /// the stored plates with that text. `fuzzy: true` lets plates read later match it
    /// within a weighted edit distance of one (O/0, I/1, B/8, S/5 at half an edit);
    /// absent keeps the entry's setting (false for a new entry).
    async fn set_plate_list_entry(
        &self,
        ctx: &Context<'_>,
        plate_text: String,
        status: String,
        fuzzy: Option<bool>,
    ) -> AppResult<PlateListEntry> {
        let me = writer(ctx)?.account_id;
        Ok(PlateListEntry(
            state(ctx)?
                .alpr
                .set_list_entry(me, &plate_text, &status, fuzzy)
                .await?,
        ))
    }

    /// Takes a plate off the lists; returns the normalised text.
    async fn remove_plate_list_entry(
        &self,
        ctx: &Context<'_>,
        plate_text: String,
    ) -> AppResult<String> {
        let me = writer(ctx)?.account_id;
        state(ctx)?.alpr.remove_list_entry(me, &plate_text).await
    }

    /// Re-applies the lists to every stored plate.
    async fn sync_plate_statuses(&self, ctx: &Context<'_>) -> AppResult<SyncResult> {
        let me = writer(ctx)?.account_id;
        let c = state(ctx)?.alpr.sync_lists(me).await?;
        Ok(SyncResult {
            whitelist: c.whitelist,
            blacklist: c.blacklist,
            unclassified: c.unclassified,
            total: c.whitelist + c.blacklist + c.unclassified,
        })
    }

    /// Creates a gate.
    async fn create_location(
        &self,
        ctx: &Context<'_>,
        input: LocationInput,
    ) -> AppResult<Location> {
        let me = writer(ctx)?.account_id;
        let name = input
            .name
            .ok_or_else(|| AppError::field("name", "is required"))?;
        let kind = input
            .location_type
            .ok_or_else(|| AppError::field("type", "is required"))?;
        Ok(Location(
            state(ctx)?.alpr.create_location(me, &name, &kind).await?,
        ))
    }

    /// Changes a gate.
    async fn update_location(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: LocationInput,
    ) -> AppResult<Location> {
        let me = writer(ctx)?.account_id;
        Ok(Location(
            state(ctx)?
                .alpr
                .update_location(
                    me,
                    id,
                    input.name.as_deref(),
                    input.location_type.as_deref(),
                )
                .await?,
        ))
    }

    /// Deletes a gate (its detections stay, without a location); returns its id.
    async fn delete_location(&self, ctx: &Context<'_>, id: i32) -> AppResult<i32> {
        let me = writer(ctx)?.account_id;
        state(ctx)?.alpr.delete_location(me, id).await?;
        Ok(id)
    }
}

/// ALPR subscriptions.
#[derive(Default)]
pub struct AlprSubscription;

#[Subscription]
impl AlprSubscription {
    /// Each new detection of the caller's account, optionally only at one location.
    async fn detection_created(
        &self,
        ctx: &Context<'_>,
        location: Option<String>,
    ) -> Result<impl Stream<Item = Detection> + use<>, AppError> {
        let me = reader(ctx)?.account_id;
        let app = state(ctx)?.clone();
        let events = app.bus.subscribe();
        Ok(events.filter_map(move |event| {
            let app = app.clone();
            let location = location.clone();
            async move {
                match event {
                    Event::DetectionCreated {
                        account_id,
                        session_id,
                        location: at,
                    } if account_id == me && (location.is_none() || location == at) => {
                        app.alpr.session(me, session_id).await.ok().map(Detection)
                    }
                    _ => None,
                }
            }
        }))
    }

    /// Each final plate read of a plate camera (one per passing vehicle), optionally only
    /// one camera's or one location's.
    async fn plate_read(
        &self,
        ctx: &Context<'_>,
        camera_id: Option<i32>,
        location: Option<String>,
    ) -> Result<impl Stream<Item = Plate> + use<>, AppError> {
        let me = reader(ctx)?.account_id;
        let app = state(ctx)?.clone();
        let events = app.bus.subscribe();
        Ok(events.filter_map(move |event| {
            let app = app.clone();
            let location = location.clone();
            async move {
                match event {
                    Event::PlateRead {
                        account_id,
                        camera_id: cam,
                        plate_id,
                        location: at,
                        ..
                    } if account_id == me
                        && camera_id.is_none_or(|c| c == cam)
                        && (location.is_none() || location == at) =>
                    {
                        app.alpr.plate(me, plate_id).await.ok().map(Plate)
                    }
                    _ => None,
                }
            }
        }))
    }

    /// Each plate that matched the allow/deny list at detection time, optionally only one
    /// status (`whitelist` / `blacklist`).
    async fn plate_list_hit(
        &self,
        ctx: &Context<'_>,
        status: Option<String>,
    ) -> Result<impl Stream<Item = Plate> + use<>, AppError> {
        let me = reader(ctx)?.account_id;
        let status = status
            .map(|s| domain::list_status("status", &s))
            .transpose()?;
        let app = state(ctx)?.clone();
        let events = app.bus.subscribe();
        Ok(events.filter_map(move |event| {
            let app = app.clone();
            async move {
                match event {
                    Event::PlateListHit {
                        account_id,
                        plate_id,
                        status: s,
                    } if account_id == me && status.is_none_or(|w| w == s) => {
                        app.alpr.plate(me, plate_id).await.ok().map(Plate)
                    }
                    _ => None,
                }
            }
        }))
    }
}
