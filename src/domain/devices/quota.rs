//! Plans and monthly quotas (devices-api-v1.zh-TW.txt "方案等級", "設備配額", "超額處理";
//! the backend's `DEVICE_PLAN_QUOTAS`).
//!
//! Usage is counted per device and UTC month (`period` `2026-02`) in `device_usage`, reset
//! on the 1st 00:00 UTC by starting a new row (nothing carries over). Enforcement:
//! - analysis seconds spent → analysis stops and `quota_exceeded` fires;
//! - alerts spent → analysis goes on, no new alerts ([`super::alerts::admit`] drops them);
//! - attribute detections / VLM tokens spent → those results are dropped (their producers
//!   ask [`charge`] first);
//! - `quota_warning` fires once per feature and period at 80 %.
//!
//! Both go out as `DeviceQuota` events (GraphQL `deviceQuotaEvents`) and through the outbox
//! to the owner's channels subscribed to `quota_warning` / `quota_exceeded` (signed
//! webhooks `device.quota_warning` / `device.quota_exceeded`). A plan change mid-month keeps
//! the month's usage (the limits change, the row does not).
//!
//! Every function takes the time `now` from its caller, so tests drive the month rollover.

use chrono::{DateTime, Datelike as _, TimeZone as _, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DatabaseConnection,
    EntityTrait as _, IntoActiveModel as _, QueryFilter as _, TransactionTrait as _,
    sea_query::OnConflict,
};
use serde_json::{Value as Json, json};

use super::DeviceService;
use crate::{
    db::entities::{camera, device_usage},
    delivery::{Message, outbox},
    error::AppResult,
    events::{Event, EventBus},
};

/// A metered feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// Analysis time, seconds.
    Analysis,
    /// Alerts, count.
    Alert,
    /// Attribute detections, count.
    Attribute,
    /// VLM tokens.
    Vlm,
}

impl Feature {
    /// The document's `featureType` (`analysis` for the seconds).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Analysis => "analysis",
            Self::Alert => "alert",
            Self::Attribute => "attribute",
            Self::Vlm => "vlm",
        }
    }

    /// `seconds`, `count` or `tokens`.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Analysis => "seconds",
            Self::Alert | Self::Attribute => "count",
            Self::Vlm => "tokens",
        }
    }

    fn used(self, u: &device_usage::Model) -> f64 {
        match self {
            Self::Analysis => u.analysis_seconds,
            Self::Alert => u.alerts as f64,
            Self::Attribute => u.attributes as f64,
            Self::Vlm => u.vlm_tokens as f64,
        }
    }
}

/// A limit: 0 = disabled, −1 = unlimited (the document's `FeatureQuotaStatus.limit`).
pub const UNLIMITED: i64 = -1;

/// `DEVICE_PLAN_QUOTAS`: `(analysis seconds, alerts, attribute detections, VLM tokens)` a
/// month; level_01 540,000 s / 3,000 / disabled / disabled, level_02 900,000 s / 5,000 /
/// 5,000 / 10,000,000.
pub fn plan_quotas(plan: &str) -> [i64; 4] {
    if plan == "level_02" {
        [900_000, 5_000, 5_000, 10_000_000]
    } else {
        [540_000, 3_000, 0, 0]
    }
}

/// The device's limit of `feature` this month (its own `quotaSeconds` first).
pub fn limit(cam: &camera::Model, feature: Feature) -> i64 {
    let plan = plan_quotas(&cam.plan);
    match feature {
        Feature::Analysis if cam.has_individual_limit => cam.quota_seconds.unwrap_or(UNLIMITED),
        Feature::Analysis => plan[0],
        Feature::Alert => plan[1],
        Feature::Attribute => plan[2],
        Feature::Vlm => plan[3],
    }
}

/// The UTC month of `t`, `YYYY-MM`.
pub fn period(t: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", t.year(), t.month())
}

/// The first instant of the UTC month after the one of `t`.
pub fn next_month(t: DateTime<Utc>) -> DateTime<Utc> {
    let (y, m) = if t.month() == 12 {
        (t.year() + 1, 1)
    } else {
        (t.year(), t.month() + 1)
    };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single().unwrap_or(t)
}

/// Percentage of `limit` used, two decimals (0 when disabled or unlimited).
pub fn percentage(used: f64, limit: i64) -> f64 {
    if limit <= 0 {
        return 0.0;
    }
    (used / limit as f64 * 10_000.0).round() / 100.0
}

/// The document's `FeatureQuotaStatus` of one feature.
pub fn feature_status(feature: Feature, used: f64, limit: i64) -> Json {
    let used_n = used.floor() as i64;
    json!({
        "featureType": feature.as_str(),
        "unit": feature.unit(),
        "limit": limit,
        "used": used_n,
        "remaining": if limit > 0 { (limit - used_n).max(0) } else { 0 },
        "isExceeded": limit > 0 && used >= limit as f64,
        "isDisabled": limit == 0,
        "isUnlimited": limit == UNLIMITED,
        "usagePercentage": percentage(used, limit),
    })
}

fn has(list: &Json, feature: Feature) -> bool {
    list.as_array()
        .is_some_and(|a| a.iter().any(|f| f.as_str() == Some(feature.as_str())))
}

fn with(list: &Json, feature: Feature) -> Json {
    let mut a = list.as_array().cloned().unwrap_or_default();
    a.push(json!(feature.as_str()));
    Json::Array(a)
}

/// The usage row of `camera_id` in `period`, created empty when missing.
async fn usage_row(
    db: &impl ConnectionTrait,
    camera_id: i32,
    period: &str,
    now: DateTime<Utc>,
) -> AppResult<device_usage::Model> {
    device_usage::Entity::insert(device_usage::ActiveModel {
        camera_id: Set(camera_id),
        period: Set(period.to_owned()),
        analysis_seconds: Set(0.0),
        alerts: Set(0),
        attributes: Set(0),
        vlm_tokens: Set(0),
        warned: Set(json!([])),
        exceeded: Set(json!([])),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([device_usage::Column::CameraId, device_usage::Column::Period])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    device_usage::Entity::find()
        .filter(device_usage::Column::CameraId.eq(camera_id))
        .filter(device_usage::Column::Period.eq(period))
        .one(db)
        .await?
        .ok_or_else(|| crate::error::AppError::internal(anyhow::anyhow!("usage row vanished")))
}

/// What a charge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// Counted.
    Counted,
    /// Counted, and the quota is now spent.
    CountedAndSpent,
    /// Refused: disabled or already spent.
    Refused,
}

impl DeviceService {
    /// The month's usage row of a device at `now` (created when missing).
    ///
    /// # Errors
    /// `INTERNAL`.
    pub async fn usage(
        &self,
        cam: &camera::Model,
        now: DateTime<Utc>,
    ) -> AppResult<device_usage::Model> {
        usage_row(&self.db, cam.id, &period(now), now).await
    }

    /// The document's quota answer of a device at `now`.
    ///
    /// # Errors
    /// `INTERNAL`.
    pub async fn quota_status(&self, cam: &camera::Model, now: DateTime<Utc>) -> AppResult<Json> {
        let u = self.usage(cam, now).await?;
        let secs = limit(cam, Feature::Analysis);
        let used = u.analysis_seconds.floor() as i64;
        let unlimited = secs == UNLIMITED;
        Ok(json!({
            "deviceId": cam.uuid.to_string(),
            "period": u.period,
            "quotaSeconds": if unlimited { Json::Null } else { json!(secs) },
            "usedSeconds": used,
            "remainingSeconds": if unlimited { Json::Null } else { json!((secs - used).max(0)) },
            "usagePercentage": percentage(u.analysis_seconds, secs),
            "hasIndividualLimit": cam.has_individual_limit,
            "isExceeded": !unlimited && u.analysis_seconds >= secs as f64,
            "alertQuota": feature_status(Feature::Alert, Feature::Alert.used(&u), limit(cam, Feature::Alert)),
            "attributeQuota": feature_status(Feature::Attribute, Feature::Attribute.used(&u), limit(cam, Feature::Attribute)),
            "vlmQuota": feature_status(Feature::Vlm, Feature::Vlm.used(&u), limit(cam, Feature::Vlm)),
        }))
    }

    /// Sets a device's own monthly analysis seconds (`None` = unlimited); the plan's limit
    /// no longer applies (`hasIndividualLimit`).
    ///
    /// # Errors
    /// `DEVICE_NOT_FOUND`; `BAD_USER_INPUT` on a negative or huge value; `INTERNAL`.
    pub async fn set_quota_seconds(
        &self,
        account_id: uuid::Uuid,
        id: uuid::Uuid,
        seconds: Option<i64>,
    ) -> AppResult<camera::Model> {
        if seconds.is_some_and(|s| !(0..=100_000_000).contains(&s)) {
            return Err(crate::error::AppError::field(
                "quotaSeconds",
                "must be between 0 and 100000000 seconds, or null for unlimited",
            ));
        }
        let cam = self.device(account_id, id).await?;
        let mut row = cam.into_active_model();
        row.quota_seconds = Set(seconds);
        row.has_individual_limit = Set(true);
        row.updated_at = Set(Utc::now());
        Ok(row.update(&self.db).await?)
    }
}

/// Adds `amount` of `feature` to a device's month at `now`, firing `quota_warning` at
/// 80 % and `quota_exceeded` when spent (once each per period). With `strict` the
/// charge is refused when the feature is disabled or already spent (alerts, attribute
/// detections, VLM tokens); analysis seconds are always counted (`strict` false) and
/// the caller stops analysis on [`Charge::CountedAndSpent`].
///
/// # Errors
/// `INTERNAL`.
pub async fn charge(
    db: &DatabaseConnection,
    bus: &dyn EventBus,
    cam: &camera::Model,
    feature: Feature,
    amount: f64,
    strict: bool,
    now: DateTime<Utc>,
) -> AppResult<Charge> {
    let lim = limit(cam, feature);
    let per = period(now);
    let txn = db.begin().await?;
    let u = usage_row(&txn, cam.id, &per, now).await?;
    let before = feature.used(&u);
    if strict && (lim == 0 || (lim > 0 && before >= lim as f64)) {
        txn.rollback().await?;
        return Ok(Charge::Refused);
    }
    let after = before + amount;
    let mut row = u.clone().into_active_model();
    match feature {
        Feature::Analysis => row.analysis_seconds = Set(after),
        Feature::Alert => row.alerts = Set(after as i64),
        Feature::Attribute => row.attributes = Set(after as i64),
        Feature::Vlm => row.vlm_tokens = Set(after as i64),
    }
    row.updated_at = Set(now);
    let mut fired = Vec::new();
    if lim > 0 && after >= 0.8 * lim as f64 && !has(&u.warned, feature) {
        row.warned = Set(with(&u.warned, feature));
        fired.push("quota_warning");
    }
    let spent = lim > 0 && after >= lim as f64;
    if spent && !has(&u.exceeded, feature) {
        row.exceeded = Set(with(&u.exceeded, feature));
        fired.push("quota_exceeded");
    }
    row.update(&txn).await?;
    let mut queued = 0;
    for kind in &fired {
        queued += enqueue_quota(&txn, cam, kind, feature, &per, after, lim, now).await?;
    }
    txn.commit().await?;
    for kind in fired {
        bus.publish(Event::DeviceQuota {
            account_id: cam.account_id,
            device_id: cam.uuid,
            kind: kind.into(),
            feature: feature.as_str().into(),
            period: per.clone(),
            used: after,
            limit: lim as f64,
        });
    }
    if queued > 0 {
        bus.publish(Event::DeliveriesQueued {
            account_id: cam.account_id,
            count: queued,
        });
    }
    Ok(if spent {
        Charge::CountedAndSpent
    } else {
        Charge::Counted
    })
}

/// Whether a device may still use `feature` in the month of `now`: enabled, and unlimited
/// or not yet spent.
///
/// # Errors
/// `INTERNAL`.
pub async fn available(
    db: &DatabaseConnection,
    cam: &camera::Model,
    feature: Feature,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let lim = limit(cam, feature);
    if lim == 0 {
        return Ok(false);
    }
    if lim < 0 {
        return Ok(true);
    }
    let u = usage_row(db, cam.id, &period(now), now).await?;
    Ok(feature.used(&u) < lim as f64)
}

#[allow(clippy::too_many_arguments)]
async fn enqueue_quota(
    txn: &impl ConnectionTrait,
    cam: &camera::Model,
    kind: &str,
    feature: Feature,
    per: &str,
    used: f64,
    lim: i64,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    let pct = percentage(used, lim);
    let what = if kind == "quota_warning" {
        format!("has used {pct}% of its monthly {} quota", feature.as_str())
    } else {
        format!("has spent its monthly {} quota", feature.as_str())
    };
    let msg = Message {
        kind: kind.into(),
        subject: format!("[VisionFlow] {}: {what}", cam.name),
        text: format!(
            "Device {} ({}) {what} for {per}: {} of {lim} {}.",
            cam.name,
            cam.uuid,
            used.floor(),
            feature.unit()
        ),
        camera_id: Some(cam.id),
        camera_name: Some(cam.name.clone()),
        zone: None,
        class: None,
        confidence: None,
        at: now,
        image_path: None,
        data: json!({
            "deviceId": cam.uuid.to_string(),
            "period": per,
            "featureType": feature.as_str(),
            "unit": feature.unit(),
            "used": used.floor() as i64,
            "limit": lim,
            "usagePercentage": pct,
        }),
    };
    let cause = format!("{kind}:{}:{per}:{}", cam.uuid, feature.as_str());
    Ok(outbox::enqueue(txn, cam.account_id, None, &cause, &msg).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_periods_and_statuses_as_documented() {
        assert_eq!(plan_quotas("level_01"), [540_000, 3_000, 0, 0]);
        assert_eq!(plan_quotas("level_02"), [900_000, 5_000, 5_000, 10_000_000]);
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(period(t), "2026-12");
        assert_eq!(
            next_month(t),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(percentage(18_000.0, 540_000), 3.33);
        assert_eq!(
            feature_status(Feature::Alert, 150.0, 3_000),
            json!({"featureType": "alert", "unit": "count", "limit": 3000, "used": 150,
                   "remaining": 2850, "isExceeded": false, "isDisabled": false,
                   "isUnlimited": false, "usagePercentage": 5.0})
        );
        assert_eq!(
            feature_status(Feature::Vlm, 0.0, 0),
            json!({"featureType": "vlm", "unit": "tokens", "limit": 0, "used": 0,
                   "remaining": 0, "isExceeded": false, "isDisabled": true,
                   "isUnlimited": false, "usagePercentage": 0.0})
        );
        assert_eq!(feature_status(Feature::Alert, 7.0, -1)["isUnlimited"], true);
    }
}
