//! Dashboard statistics (alpr-api.en.md, "Statistics & Analytics"). Counts that group by a
//! column run in SQL; time buckets (UTC days, hours, weekdays) are counted in Rust over the
//! timestamps of the requested window, which keeps the SQL portable between SQLite and
//! PostgreSQL.

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, Timelike as _, Utc};
use sea_orm::{
    ColumnTrait as _, DatabaseConnection, EntityTrait as _, PaginatorTrait as _, QueryFilter as _,
    QuerySelect as _,
};
use uuid::Uuid;

use crate::{
    db::entities::{detection_session, plate, vehicle},
    error::{AppError, AppResult},
};

/// A label and its count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Label (class, date `2025-06-01`, hour `08:00`, weekday `Mon`, plate type, region code).
    pub label: String,
    /// Count.
    pub count: i64,
}

/// Totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Detection sessions (processed images).
    pub detections: u64,
    /// Vehicles found.
    pub vehicles: u64,
    /// Plates read.
    pub plates: u64,
    /// Plates on the blacklist.
    pub blacklisted: u64,
    /// Plates on the whitelist.
    pub whitelisted: u64,
}

fn sorted(mut rows: Vec<(Option<String>, i64)>, none: &str) -> Vec<Bucket> {
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows.into_iter()
        .map(|(l, count)| Bucket {
            label: l.unwrap_or_else(|| none.to_owned()),
            count,
        })
        .collect()
}

/// Totals of an account.
///
/// # Errors
/// Database failures.
pub async fn totals(db: &DatabaseConnection, account: Uuid) -> AppResult<Totals> {
    let sessions = detection_session::Entity::find()
        .filter(detection_session::Column::AccountId.eq(account))
        .count(db)
        .await
        .map_err(AppError::internal)?;
    let vehicles = vehicle::Entity::find()
        .filter(vehicle::Column::AccountId.eq(account))
        .count(db)
        .await
        .map_err(AppError::internal)?;
    let by_status = group_plates(db, account, plate::Column::Status).await?;
    let get = |s: &str| {
        by_status
            .iter()
            .find(|b| b.label == s)
            .map_or(0, |b| b.count as u64)
    };
    Ok(Totals {
        detections: sessions,
        vehicles,
        plates: by_status.iter().map(|b| b.count as u64).sum(),
        blacklisted: get(super::BLACKLIST),
        whitelisted: get(super::WHITELIST),
    })
}

/// Vehicles per class, most frequent first.
///
/// # Errors
/// Database failures.
pub async fn vehicle_distribution(
    db: &DatabaseConnection,
    account: Uuid,
) -> AppResult<Vec<Bucket>> {
    let rows: Vec<(Option<String>, i64)> = vehicle::Entity::find()
        .select_only()
        .column(vehicle::Column::Class)
        .column_as(vehicle::Column::Id.count(), "n")
        .filter(vehicle::Column::AccountId.eq(account))
        .group_by(vehicle::Column::Class)
        .into_tuple()
        .all(db)
        .await
        .map_err(AppError::internal)?;
    Ok(sorted(rows, "unknown"))
}

/// Plates grouped by a column (`plate_type`, `region_code`, `status`), most frequent first.
///
/// # Errors
/// Database failures.
pub async fn group_plates(
    db: &DatabaseConnection,
    account: Uuid,
    col: plate::Column,
) -> AppResult<Vec<Bucket>> {
    let rows: Vec<(Option<String>, i64)> = plate::Entity::find()
        .select_only()
        .column(col)
        .column_as(plate::Column::Id.count(), "n")
        .filter(plate::Column::AccountId.eq(account))
        .group_by(col)
        .into_tuple()
        .all(db)
        .await
        .map_err(AppError::internal)?;
    Ok(sorted(rows, "Unknown"))
}

async fn session_times(
    db: &DatabaseConnection,
    account: Uuid,
    since: DateTime<Utc>,
) -> AppResult<Vec<DateTime<Utc>>> {
    detection_session::Entity::find()
        .select_only()
        .column(detection_session::Column::CreatedAt)
        .filter(detection_session::Column::AccountId.eq(account))
        .filter(detection_session::Column::CreatedAt.gte(since))
        .into_tuple()
        .all(db)
        .await
        .map_err(AppError::internal)
}

/// Detections per UTC day over the last `days` days (today included), oldest first, with
/// zero days present.
///
/// # Errors
/// Database failures.
pub async fn detection_trend(
    db: &DatabaseConnection,
    account: Uuid,
    days: u32,
    now: DateTime<Utc>,
) -> AppResult<Vec<Bucket>> {
    let days = days.clamp(1, 366);
    let first: NaiveDate = now.date_naive() - Duration::days(i64::from(days) - 1);
    let since = first
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    let mut counts = vec![0i64; days as usize];
    for t in session_times(db, account, since).await? {
        let i = (t.date_naive() - first).num_days();
        if (0..i64::from(days)).contains(&i) {
            counts[i as usize] += 1;
        }
    }
    Ok(counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| Bucket {
            label: (first + Duration::days(i as i64))
                .format("%Y-%m-%d")
                .to_string(),
            count,
        })
        .collect())
}

/// Detections of the last `days` days counted into `slots` cyclic buckets (`slot(t)` <
/// `slots`), labelled by `label(slot)`.
async fn cyclic(
    db: &DatabaseConnection,
    account: Uuid,
    days: u32,
    now: DateTime<Utc>,
    slots: usize,
    slot: impl Fn(DateTime<Utc>) -> usize,
    label: impl Fn(usize) -> String,
) -> AppResult<Vec<Bucket>> {
    let mut counts = vec![0i64; slots];
    let since = now - Duration::days(i64::from(days.clamp(1, 366)));
    for t in session_times(db, account, since).await? {
        counts[slot(t) % slots] += 1;
    }
    Ok(counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| Bucket {
            label: label(i),
            count,
        })
        .collect())
}

/// Detections per hour of the UTC day (`00:00` … `23:00`) over the last `days` days.
///
/// # Errors
/// Database failures.
pub async fn hourly_activity(
    db: &DatabaseConnection,
    account: Uuid,
    days: u32,
    now: DateTime<Utc>,
) -> AppResult<Vec<Bucket>> {
    cyclic(
        db,
        account,
        days,
        now,
        24,
        |t| t.hour() as usize,
        |h| format!("{h:02}:00"),
    )
    .await
}

/// Detections per weekday (`Mon` … `Sun`) over the last `days` days.
///
/// # Errors
/// Database failures.
pub async fn weekly_activity(
    db: &DatabaseConnection,
    account: Uuid,
    days: u32,
    now: DateTime<Utc>,
) -> AppResult<Vec<Bucket>> {
    const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    cyclic(
        db,
        account,
        days,
        now,
        7,
        |t| t.weekday().num_days_from_monday() as usize,
        |d| NAMES[d].to_owned(),
    )
    .await
}
