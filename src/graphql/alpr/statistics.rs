//! Plate regions and dashboard statistics (totals, distributions, time series), and the
//! service health.

use async_graphql::{ComplexObject, Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    db::entities::plate,
    domain::alpr::{regions, stats},
    error::AppResult,
    graphql::state,
};

/// A plate region code.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct PlateRegion {
    /// Code (`B`).
    pub code: String,
    /// Region (`Jakarta`).
    pub name: String,
    /// Province or category.
    pub province: String,
}

#[ComplexObject]
impl PlateRegion {
    /// `B (Jakarta)`.
    async fn label(&self) -> String {
        format!("{} ({})", self.code, self.name)
    }
}

impl From<&regions::Region> for PlateRegion {
    fn from(r: &regions::Region) -> Self {
        Self {
            code: r.code.into(),
            name: r.name.into(),
            province: r.province.into(),
        }
    }
}

/// Plates per region.
#[derive(SimpleObject)]
pub struct RegionCount {
    /// Code (`B`), or `Unknown`.
    pub code: String,
    /// Region name, or `Unknown`.
    pub name: String,
    /// `B (Jakarta)`.
    pub label: String,
    /// Plates.
    pub count: i64,
}

/// A label and its count.
#[derive(SimpleObject)]
pub struct CountBucket {
    /// Label: class, date (`2025-06-01`), hour (`08:00`), weekday (`Mon`), plate type.
    pub label: String,
    /// Count.
    pub count: i64,
}

impl From<stats::Bucket> for CountBucket {
    fn from(b: stats::Bucket) -> Self {
        Self {
            label: b.label,
            count: b.count,
        }
    }
}

/// Dashboard totals.
#[derive(SimpleObject)]
pub struct Dashboard {
    /// Processed images (detection sessions).
    pub total_detections: u64,
    /// Vehicles found.
    pub total_vehicles: u64,
    /// Plates read.
    pub total_plates: u64,
    /// Plates on the allow list.
    pub whitelisted: u64,
    /// Plates on the deny list.
    pub blacklisted: u64,
}

/// Dashboard statistics of the caller's data; time buckets are UTC.
pub struct Statistics {
    pub(super) account: uuid::Uuid,
    pub(super) days: u32,
    pub(super) now: DateTime<Utc>,
}

fn buckets(v: Vec<stats::Bucket>) -> Vec<CountBucket> {
    v.into_iter().map(CountBucket::from).collect()
}

#[Object]
impl Statistics {
    /// Window of the time series, days.
    async fn days(&self) -> u32 {
        self.days
    }
    /// Totals.
    async fn dashboard(&self, ctx: &Context<'_>) -> AppResult<Dashboard> {
        let t = stats::totals(state(ctx)?.alpr.db(), self.account).await?;
        Ok(Dashboard {
            total_detections: t.detections,
            total_vehicles: t.vehicles,
            total_plates: t.plates,
            whitelisted: t.whitelisted,
            blacklisted: t.blacklisted,
        })
    }
    /// Vehicles per class, most frequent first.
    async fn vehicle_distribution(&self, ctx: &Context<'_>) -> AppResult<Vec<CountBucket>> {
        Ok(buckets(
            stats::vehicle_distribution(state(ctx)?.alpr.db(), self.account).await?,
        ))
    }
    /// Detections per day over the window, oldest first, zero days included.
    async fn detection_trend(&self, ctx: &Context<'_>) -> AppResult<Vec<CountBucket>> {
        Ok(buckets(
            stats::detection_trend(state(ctx)?.alpr.db(), self.account, self.days, self.now)
                .await?,
        ))
    }
    /// Detections per hour of day (`00:00`–`23:00`) over the window.
    async fn hourly_activity(&self, ctx: &Context<'_>) -> AppResult<Vec<CountBucket>> {
        Ok(buckets(
            stats::hourly_activity(state(ctx)?.alpr.db(), self.account, self.days, self.now)
                .await?,
        ))
    }
    /// Detections per weekday (`Mon`–`Sun`) over the window.
    async fn weekly_activity(&self, ctx: &Context<'_>) -> AppResult<Vec<CountBucket>> {
        Ok(buckets(
            stats::weekly_activity(state(ctx)?.alpr.db(), self.account, self.days, self.now)
                .await?,
        ))
    }
    /// Plates per type.
    async fn plate_types(&self, ctx: &Context<'_>) -> AppResult<Vec<CountBucket>> {
        Ok(buckets(
            stats::group_plates(
                state(ctx)?.alpr.db(),
                self.account,
                plate::Column::PlateType,
            )
            .await?,
        ))
    }
    /// Plates per region.
    async fn regions(&self, ctx: &Context<'_>) -> AppResult<Vec<RegionCount>> {
        let rows = stats::group_plates(
            state(ctx)?.alpr.db(),
            self.account,
            plate::Column::RegionCode,
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|b| match regions::by_code(&b.label) {
                Some(r) => RegionCount {
                    code: r.code.into(),
                    name: r.name.into(),
                    label: r.label(),
                    count: b.count,
                },
                None => RegionCount {
                    code: b.label.clone(),
                    name: "Unknown".into(),
                    label: "Unknown".into(),
                    count: b.count,
                },
            })
            .collect())
    }
}

/// Service health (`GET /api/statistics/status`).
#[derive(SimpleObject)]
pub struct AlprStatus {
    /// `online`.
    pub status: String,
    /// Now.
    pub timestamp: DateTime<Utc>,
    /// Whether the database answered.
    pub database_accessible: bool,
    /// `sqlite` or `postgres`.
    pub database_backend: String,
    /// Whether plate recognition models are loaded.
    pub models_loaded: bool,
    /// Inference worker threads.
    pub inference_workers: usize,
    /// Inference queue capacity.
    pub inference_queue: usize,
}
