//! The device list (devices-api-v1.zh-TW.txt "查詢設備列表"): `q` searches name, location
//! and description; `sort` is any listed field (default `createdAt`), `order` `ASC`/`DESC`
//! (default `DESC`, ties broken by id); `filters[…]` narrow by each field of the table.
//!
//! Filter semantics: `id`, `userId` (UUIDs), `status`, `onlineStatus`, `type` (enums) and
//! the two totals match exactly; `name`, `description`, `locationLabel`, `rtspUrl` match
//! case-insensitive substrings; a DateTime filter is a UTC day (`2026-02-25`) or the second
//! of an RFC 3339 time (`2026-02-25T08:00:00Z`).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait as _, Condition, QueryFilter as _, QueryOrder as _, Select, sea_query::Order,
};
use uuid::Uuid;

use super::{DeviceService, validate};
use crate::{
    db::{self, entities::camera},
    error::AppResult,
};

/// `filters[…]` of the list (absent = any).
#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    /// Device UUID.
    pub id: Option<Uuid>,
    /// Name contains.
    pub name: Option<String>,
    /// Description contains.
    pub description: Option<String>,
    /// Location label contains.
    pub location_label: Option<String>,
    /// `active`, `paused` or `archived`.
    pub status: Option<String>,
    /// `online`, `offline` or `unknown`.
    pub online_status: Option<String>,
    /// `ip_camera`, `rtsp_source` or `usb_camera`.
    pub device_type: Option<String>,
    /// RTSP URL contains.
    pub rtsp_url: Option<String>,
    /// Owner (a caller only ever sees its own).
    pub user_id: Option<Uuid>,
    /// Day or second of the last heartbeat.
    pub last_heartbeat_at: Option<String>,
    /// Frames analysed.
    pub total_analysis_count: Option<i64>,
    /// Seconds of analysis.
    pub total_processing_time_seconds: Option<f64>,
    /// Day or second of creation.
    pub created_at: Option<String>,
    /// Day or second of the last change.
    pub updated_at: Option<String>,
}

/// A list request.
#[derive(Debug, Clone, Default)]
pub struct DeviceQuery {
    /// Full-text search.
    pub q: Option<String>,
    /// Sort field (a document field name, `createdAt` by default).
    pub sort: Option<String>,
    /// `ASC` or `DESC` (default), any case.
    pub order: Option<String>,
    /// Filters.
    pub filters: DeviceFilter,
}

/// Sortable fields: the document's names and their columns.
pub const SORTS: &[(&str, camera::Column)] = &[
    ("id", camera::Column::Uuid),
    ("name", camera::Column::Name),
    ("description", camera::Column::Description),
    ("locationLabel", camera::Column::Location),
    ("status", camera::Column::DeviceStatus),
    ("onlineStatus", camera::Column::OnlineStatus),
    ("type", camera::Column::DeviceType),
    ("plan", camera::Column::Plan),
    ("rtspUrl", camera::Column::StreamUrl),
    ("userId", camera::Column::AccountId),
    ("lastHeartbeatAt", camera::Column::LastHeartbeatAt),
    ("totalAnalysisCount", camera::Column::TotalAnalysisCount),
    (
        "totalProcessingTimeSeconds",
        camera::Column::TotalProcessingTimeSeconds,
    ),
    ("createdAt", camera::Column::CreatedAt),
    ("updatedAt", camera::Column::UpdatedAt),
];

/// `[start, end)` of a DateTime filter: a UTC day or one second.
pub fn time_window(v: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let v = v.trim();
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let start = d.and_hms_opt(0, 0, 0)?.and_utc();
        return Some((start, start + Duration::days(1)));
    }
    let t = DateTime::parse_from_rfc3339(v).ok()?.with_timezone(&Utc);
    let start = t - Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos()));
    Some((start, start + Duration::seconds(1)))
}

fn filtered(
    errs: &mut validate::Errors,
    mut q: Select<camera::Entity>,
    f: &DeviceFilter,
) -> Select<camera::Entity> {
    use camera::Column as C;
    let field = |n: &str| format!("filters[{n}]");
    if let Some(id) = f.id {
        q = q.filter(C::Uuid.eq(id));
    }
    if let Some(u) = f.user_id {
        q = q.filter(C::AccountId.eq(u));
    }
    for (text, col) in [
        (&f.name, C::Name),
        (&f.description, C::Description),
        (&f.location_label, C::Location),
        (&f.rtsp_url, C::StreamUrl),
    ] {
        if let Some(t) = text.as_deref().filter(|t| !t.is_empty()) {
            q = q.filter(db::icontains(col, t));
        }
    }
    for (name, value, col, allowed) in [
        ("status", &f.status, C::DeviceStatus, validate::STATUSES),
        (
            "onlineStatus",
            &f.online_status,
            C::OnlineStatus,
            validate::ONLINE_STATUSES,
        ),
        ("type", &f.device_type, C::DeviceType, validate::TYPES),
    ] {
        if let Some(v) = value {
            let v = validate::one_of(errs, &field(name), v, allowed);
            q = q.filter(col.eq(v));
        }
    }
    if let Some(n) = f.total_analysis_count {
        q = q.filter(C::TotalAnalysisCount.eq(n));
    }
    if let Some(s) = f.total_processing_time_seconds {
        q = q.filter(C::TotalProcessingTimeSeconds.eq(s));
    }
    for (name, value, col) in [
        ("lastHeartbeatAt", &f.last_heartbeat_at, C::LastHeartbeatAt),
        ("createdAt", &f.created_at, C::CreatedAt),
        ("updatedAt", &f.updated_at, C::UpdatedAt),
    ] {
        if let Some(v) = value {
            match time_window(v) {
                Some((a, b)) => q = q.filter(col.gte(a)).filter(col.lt(b)),
                None => errs.add(
                    field(name),
                    "must be a date (2026-02-25) or an RFC 3339 date-time",
                ),
            }
        }
    }
    q
}

impl DeviceService {
    /// One page of the caller's devices.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` on `sort`, `order` or a filter; `INTERNAL`.
    pub async fn list(
        &self,
        account_id: Uuid,
        query: &DeviceQuery,
        offset: u64,
        limit: u64,
    ) -> AppResult<(Vec<camera::Model>, u64)> {
        let mut errs = validate::Errors::default();
        let mut q = camera::live_rows().filter(camera::Column::AccountId.eq(account_id));
        if let Some(text) = query.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            q = q.filter(
                Condition::any()
                    .add(db::icontains(camera::Column::Name, text))
                    .add(db::icontains(camera::Column::Location, text))
                    .add(db::icontains(camera::Column::Description, text)),
            );
        }
        q = filtered(&mut errs, q, &query.filters);
        let sort = query.sort.as_deref().unwrap_or("createdAt");
        let col = SORTS.iter().find(|(n, _)| *n == sort).map(|(_, c)| *c);
        if col.is_none() {
            errs.add(
                "sort",
                format!(
                    "must be one of {}",
                    SORTS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ),
            );
        }
        let order = match query
            .order
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("DESC") => Order::Desc,
            Some("ASC") => Order::Asc,
            Some(_) => {
                errs.add("order", "must be ASC or DESC");
                Order::Desc
            }
        };
        errs.finish()?;
        let q = q
            .order_by(col.unwrap_or(camera::Column::CreatedAt), order.clone())
            .order_by(camera::Column::Id, order);
        db::page(&self.db, q, offset, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_filters_are_a_day_or_a_second() {
        let (a, b) = time_window("2026-02-25").expect("day");
        assert_eq!(a.to_rfc3339(), "2026-02-25T00:00:00+00:00");
        assert_eq!(b - a, Duration::days(1));
        let (a, b) = time_window("2026-02-25T16:00:01.5+08:00").expect("second");
        assert_eq!(a.to_rfc3339(), "2026-02-25T08:00:01+00:00");
        assert_eq!(b - a, Duration::seconds(1));
        assert!(time_window("yesterday").is_none());
        assert!(time_window("2026-02-30").is_none());
    }
}
