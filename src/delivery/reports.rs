//! Daily reports (`notification_types: daily_reports`): at `delivery.daily_report_hour`
//! (local to `delivery.utc_offset`) each account with a subscribed channel gets one summary
//! of the local day that just ended — alerts per camera and per class. Queued through the
//! outbox with the cause `daily:<date>`, so a restart around the hour sends it once.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use chrono::{DateTime, Days, NaiveDate, TimeZone as _, Utc};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use super::{Inner, Message, outbox};
use crate::db::entities::{camera, email_recipient, line_token, notification, webhook_endpoint};
use crate::events::Event;

const KIND: &str = "daily_reports";

/// The next report time after `now` and the local day it covers.
pub(super) fn next_run(
    now: DateTime<Utc>,
    hour: u32,
    offset: chrono::FixedOffset,
) -> (DateTime<Utc>, NaiveDate) {
    let local = now.with_timezone(&offset);
    let mut day = local.date_naive();
    loop {
        let at = offset
            .from_local_datetime(&day.and_hms_opt(hour, 0, 0).expect("hour < 24"))
            .single()
            .expect("fixed offsets are unambiguous")
            .with_timezone(&Utc);
        if at > now {
            return (at, day.pred_opt().expect("not the first day"));
        }
        day = day
            .checked_add_days(Days::new(1))
            .expect("not the last day");
    }
}

pub(super) async fn run(inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    loop {
        let (at, day) = next_run(
            Utc::now(),
            inner.settings.daily_report_hour,
            inner.report_offset,
        );
        let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        match queue_reports(&inner, day).await {
            Ok(n) if n > 0 => tracing::info!(%day, deliveries = n, "daily reports queued"),
            Ok(_) => {}
            Err(e) => tracing::warn!(%day, "daily reports not queued: {e}"),
        }
    }
}

/// Queues the report of `day` for every subscribed account; answers the deliveries queued.
///
/// # Errors
/// Database failures.
pub(super) async fn queue_reports(inner: &Inner, day: NaiveDate) -> Result<u64, sea_orm::DbErr> {
    let mut accounts: Vec<Uuid> = Vec::new();
    for r in email_recipient::Entity::find()
        .filter(email_recipient::Column::Active.eq(true))
        .all(&inner.db)
        .await?
    {
        if outbox::subscribed(&r.notification_types, KIND) {
            accounts.push(r.account_id);
        }
    }
    for t in line_token::Entity::find()
        .filter(line_token::Column::Active.eq(true))
        .all(&inner.db)
        .await?
    {
        if outbox::subscribed(&t.notification_types, KIND) {
            accounts.push(t.account_id);
        }
    }
    for w in webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Active.eq(true))
        .all(&inner.db)
        .await?
    {
        if outbox::subscribed(&w.event_types, KIND) {
            accounts.push(w.account_id);
        }
    }
    accounts.sort();
    accounts.dedup();
    let off = inner.report_offset;
    let start = off
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("fixed offset")
        .with_timezone(&Utc);
    let end = start + chrono::Duration::days(1);
    let mut queued = 0;
    for account_id in accounts {
        let msg = report(inner, account_id, day, start, end).await?;
        // One INSERT (atomic by itself): a report has no other row to commit with.
        let n = outbox::enqueue(&inner.db, account_id, None, &format!("daily:{day}"), &msg).await?;
        if n > 0 {
            // Wakes the delivery workers (of every node).
            inner.bus.publish(Event::DeliveriesQueued {
                account_id,
                count: n,
            });
        }
        queued += n;
    }
    Ok(queued)
}

async fn report(
    inner: &Inner,
    account_id: Uuid,
    day: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Message, sea_orm::DbErr> {
    let cameras = camera::live_rows()
        .filter(camera::Column::AccountId.eq(account_id))
        .all(&inner.db)
        .await?;
    let alerts = notification::Entity::find()
        .filter(notification::Column::AccountId.eq(account_id))
        .filter(notification::Column::CreatedAt.gte(start))
        .filter(notification::Column::CreatedAt.lt(end))
        .all(&inner.db)
        .await?;
    let mut per_camera: BTreeMap<i32, BTreeMap<String, u64>> = BTreeMap::new();
    for a in &alerts {
        *per_camera
            .entry(a.camera_id)
            .or_default()
            .entry(a.detection_type.clone())
            .or_default() += 1;
    }
    let mut lines = Vec::new();
    let mut data = Vec::new();
    for c in &cameras {
        let classes = per_camera.remove(&c.id).unwrap_or_default();
        let total: u64 = classes.values().sum();
        let detail: Vec<String> = classes.iter().map(|(k, v)| format!("{k} {v}")).collect();
        lines.push(format!(
            "{} ({}): {total} 則警報{}",
            c.name,
            c.status,
            if detail.is_empty() {
                String::new()
            } else {
                format!(" — {}", detail.join(", "))
            }
        ));
        data.push(json!({"camera_id": c.id, "camera_name": c.name, "status": c.status, "alerts": total, "alerts_by_class": classes}));
    }
    Ok(Message {
        kind: KIND.into(),
        subject: format!("VisionFlow 每日報告 {day}：{} 則警報", alerts.len()),
        text: if lines.is_empty() {
            "沒有攝影機 / no cameras".into()
        } else {
            lines.join("\n")
        },
        at: end,
        data: json!({"date": day.to_string(), "alerts": alerts.len(), "cameras": data}),
        ..Message::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_run_is_the_coming_hour_and_covers_the_day_before() {
        let off: chrono::FixedOffset = "+08:00".parse().expect("test value");
        // 2026-12-02 07:30 local = 2026-12-01 23:30 UTC → 08:00 local the same day.
        let now = Utc
            .with_ymd_and_hms(2026, 12, 1, 23, 30, 0)
            .single()
            .expect("test value");
        let (at, day) = next_run(now, 8, off);
        assert_eq!(
            at,
            Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0)
                .single()
                .expect("test value")
        );
        assert_eq!(
            day,
            NaiveDate::from_ymd_opt(2026, 12, 1).expect("test value")
        );
        // Just after the hour → tomorrow.
        let (at, day) = next_run(at + chrono::Duration::seconds(1), 8, off);
        assert_eq!(
            at,
            Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0)
                .single()
                .expect("test value")
        );
        assert_eq!(
            day,
            NaiveDate::from_ymd_opt(2026, 12, 2).expect("test value")
        );
    }
}
