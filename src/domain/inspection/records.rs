//! The data service (inspection-api.zh-CN.md "数据服务 api"): recent records, per-day counts,
//! search (fuzzy name, exact defect count, date range) with pages. Dates are local to
//! `inspection.timezone`: a record's `date` and `time` are its local calendar day and clock
//! time, and a date range covers whole local days (`startDate` 00:00 to the end of
//! `endDate`).

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, TimeZone as _, Utc};
use sea_orm::{
    ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use uuid::Uuid;

use super::InspectionService;
use crate::{
    db::{self, entities::inspection_record},
    error::{AppError, AppResult},
};

/// Longest range of `statByDate`, days.
pub const MAX_STAT_DAYS: i64 = 366;

/// Which records to find.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    /// Part of the file name (case-insensitive).
    pub name: Option<String>,
    /// Exact defect count.
    pub num: Option<i32>,
    /// First local day (`YYYY-MM-DD`).
    pub start_date: Option<String>,
    /// Last local day, inclusive.
    pub end_date: Option<String>,
}

/// One day of `statByDate`.
#[derive(Debug, Clone, PartialEq)]
pub struct DayStat {
    /// The local day.
    pub date: NaiveDate,
    /// Records inspected that day.
    pub record_count: u64,
    /// Defects found that day.
    pub total_num: u64,
}

/// Parses `YYYY-MM-DD` (`field` names the error).
///
/// # Errors
/// `BAD_USER_INPUT` naming the field.
pub fn parse_date(field: &str, v: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::field(field, "must be a date YYYY-MM-DD"))
}

/// The calendar day (`YYYY-MM-DD`) and clock time (`HH:MM:SS`) of `at` in `tz`: a
/// record's `date` and `time`.
pub fn local_date_time(at: DateTime<Utc>, tz: chrono_tz::Tz) -> (String, String) {
    let l = at.with_timezone(&tz);
    (
        l.format("%Y-%m-%d").to_string(),
        l.format("%H:%M:%S").to_string(),
    )
}

impl InspectionService {
    fn day_start(&self, d: NaiveDate) -> DateTime<Utc> {
        let local = d.and_hms_opt(0, 0, 0).expect("midnight");
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .unwrap_or_else(|| self.tz.from_utc_datetime(&local))
            .with_timezone(&Utc)
    }

    /// The UTC instants `[start, end)` of the local days `from..=to`.
    fn span(&self, from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        let next = to.checked_add_days(Days::new(1)).unwrap_or(to);
        (self.day_start(from), self.day_start(next))
    }

    /// The local calendar day and clock time of an instant.
    pub fn local(&self, at: DateTime<Utc>) -> (String, String) {
        let l = at.with_timezone(&self.tz);
        (
            l.format("%Y-%m-%d").to_string(),
            l.format("%H:%M:%S").to_string(),
        )
    }

    /// The caller's `limit` (1–1000, default 120) newest records.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` on `limit`.
    pub async fn recent(
        &self,
        account_id: Uuid,
        limit: Option<i64>,
    ) -> AppResult<Vec<inspection_record::Model>> {
        let limit = limit.unwrap_or(120);
        if !(1..=1000).contains(&limit) {
            return Err(AppError::field("limit", "must be between 1 and 1000"));
        }
        Ok(inspection_record::Entity::find()
            .filter(inspection_record::Column::AccountId.eq(account_id))
            .order_by_desc(inspection_record::Column::CreatedAt)
            .order_by_desc(inspection_record::Column::Id)
            .limit(limit as u64)
            .all(&self.db)
            .await?)
    }

    /// Records matching `f`, newest first, and how many match.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` on a malformed date or a range that ends before it starts.
    pub async fn search(
        &self,
        account_id: Uuid,
        f: RecordFilter,
        offset: u64,
        limit: u64,
    ) -> AppResult<(Vec<inspection_record::Model>, u64)> {
        let mut q = inspection_record::Entity::find()
            .filter(inspection_record::Column::AccountId.eq(account_id))
            .order_by_desc(inspection_record::Column::CreatedAt)
            .order_by_desc(inspection_record::Column::Id);
        if let Some(n) = f.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            q = q.filter(db::icontains(inspection_record::Column::Name, n));
        }
        if let Some(n) = f.num {
            q = q.filter(inspection_record::Column::Num.eq(n));
        }
        let from = f
            .start_date
            .as_deref()
            .map(|d| parse_date("startDate", d))
            .transpose()?;
        let to = f
            .end_date
            .as_deref()
            .map(|d| parse_date("endDate", d))
            .transpose()?;
        if let (Some(a), Some(b)) = (from, to)
            && b < a
        {
            return Err(AppError::field("endDate", "must not be before startDate"));
        }
        if let Some(a) = from {
            q = q.filter(inspection_record::Column::CreatedAt.gte(self.day_start(a)));
        }
        if let Some(b) = to {
            q = q.filter(inspection_record::Column::CreatedAt.lt(self.span(b, b).1));
        }
        db::page(&self.db, q, offset, limit).await
    }

    /// Records and defects per local day from `start` to `end` (default: the last 15 days
    /// up to today), every day of the range listed.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` on a malformed date, a reversed range or one over 366 days.
    pub async fn stats_by_date(
        &self,
        account_id: Uuid,
        start: Option<&str>,
        end: Option<&str>,
    ) -> AppResult<Vec<DayStat>> {
        let today = Utc::now().with_timezone(&self.tz).date_naive();
        let to = end
            .map(|d| parse_date("endDate", d))
            .transpose()?
            .unwrap_or(today);
        let from = match start {
            Some(d) => parse_date("startDate", d)?,
            None => to.checked_sub_days(Days::new(14)).unwrap_or(to),
        };
        if to < from {
            return Err(AppError::field("endDate", "must not be before startDate"));
        }
        if (to - from).num_days() >= MAX_STAT_DAYS {
            return Err(AppError::field(
                "endDate",
                format!("a range covers at most {MAX_STAT_DAYS} days"),
            ));
        }
        let (a, b) = self.span(from, to);
        let rows: Vec<(DateTime<Utc>, i32)> = inspection_record::Entity::find()
            .select_only()
            .column(inspection_record::Column::CreatedAt)
            .column(inspection_record::Column::Num)
            .filter(inspection_record::Column::AccountId.eq(account_id))
            .filter(inspection_record::Column::CreatedAt.gte(a))
            .filter(inspection_record::Column::CreatedAt.lt(b))
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut days: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();
        let mut d = from;
        loop {
            days.insert(d, (0, 0));
            match d.succ_opt() {
                Some(n) if d < to => d = n,
                _ => break,
            }
        }
        for (at, num) in rows {
            let e = days
                .entry(at.with_timezone(&self.tz).date_naive())
                .or_default();
            e.0 += 1;
            e.1 += u64::try_from(num).unwrap_or(0);
        }
        Ok(days
            .into_iter()
            .map(|(date, (record_count, total_num))| DayStat {
                date,
                record_count,
                total_num,
            })
            .collect())
    }

    /// One of the caller's records.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn record(&self, account_id: Uuid, id: i32) -> AppResult<inspection_record::Model> {
        let q = inspection_record::Entity::find_by_id(id)
            .filter(inspection_record::Column::AccountId.eq(account_id));
        db::one_or(&self.db, q, || {
            AppError::not_found(format!("record {id} not found"))
        })
        .await
    }
}
