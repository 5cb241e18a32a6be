//! What a device adds to the camera core's alerts and detections
//! (devices-api-v1.zh-TW.txt "設備配額", "排程結構", "enabledCapabilities"):
//!
//! - **Peak slots** ([`admit`]): inside a peak slot every zone alert is raised at once;
//!   outside, at most one per zone per `devices.offpeak_alert_interval_secs` — a later alert
//!   of the same zone inside that interval is folded into the raised one
//!   (`notifications.coalesced_count` + 1): no new row, no snapshot, no delivery, no alert
//!   quota. A schedule without peak slots (or no schedule) never coalesces.
//! - **Alert quota**: a raised alert counts one; when the month's alerts are spent it is
//!   dropped (analysis goes on).
//! - **Attribute** ([`record_attribute`], level_02): a tracked person the people model
//!   classes `Fall` is one attribute detection (`posture` = `fall`), stored once per track
//!   and published as `deviceAttributeDetected`, while the month's attribute quota lasts
//!   (then dropped, not written).
//! - **VLM** ([`read_snapshot`], level_02): the alert snapshot goes to the operator's
//!   chat-completions endpoint (`vlm.*`, [`crate::ai::ChatClient`]) with the zone and
//!   object; its answer becomes `vlmSummary` and the JSON `vlmStructuredResult` of the
//!   notification, and its `usage.total_tokens` count against the month's VLM tokens. No
//!   call is made once they are spent.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait as _,
    ActiveValue::Set,
    ColumnTrait as _, DatabaseConnection, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
    sea_query::{Expr, ExprTrait as _},
};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::{
    quota::{self, Charge, Feature},
    schedule,
};
use crate::{
    ai::ChatClient,
    db::entities::{camera, device_attribute, notification},
    error::AppResult,
    events::{Event, EventBus},
};

/// What happens to a zone alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Raise it (store, snapshot, deliver).
    Raise,
    /// Folded into this notification (off-peak, same zone, inside the interval).
    Coalesced(i32),
    /// The device's monthly alerts are spent: dropped.
    QuotaSpent,
}

/// Decides a zone alert of `cam` (any camera; only devices are coalesced and metered) at
/// `now`, with `interval_secs` the off-peak interval (≤ 0 turns coalescing off). A
/// coalesced alert is counted on its notification here.
///
/// # Errors
/// `INTERNAL`.
pub async fn admit(
    db: &DatabaseConnection,
    bus: &dyn EventBus,
    cam: &camera::Model,
    zone_id: Option<i32>,
    now: DateTime<Utc>,
    interval_secs: f64,
) -> AppResult<Admission> {
    if !cam.is_device {
        return Ok(Admission::Raise);
    }
    if let (Some(zone_id), Some(s)) = (zone_id, &cam.schedule)
        && interval_secs > 0.0
        && schedule::has_peaks(s)
        && !schedule::peak_at(s, &cam.utc_offset, now)
    {
        let since = now - Duration::milliseconds((interval_secs * 1e3) as i64);
        let recent = notification::Entity::find()
            .filter(notification::Column::CameraId.eq(cam.id))
            .filter(notification::Column::ZoneId.eq(zone_id))
            .filter(notification::Column::CreatedAt.gte(since))
            .order_by_desc(notification::Column::CreatedAt)
            .one(db)
            .await?;
        if let Some(n) = recent {
            notification::Entity::update_many()
                .col_expr(
                    notification::Column::CoalescedCount,
                    Expr::col(notification::Column::CoalescedCount).add(1),
                )
                .filter(notification::Column::Id.eq(n.id))
                .exec(db)
                .await?;
            return Ok(Admission::Coalesced(n.id));
        }
    }
    Ok(
        match quota::charge(db, bus, cam, Feature::Alert, 1.0, true, now).await? {
            Charge::Refused => Admission::QuotaSpent,
            _ => Admission::Raise,
        },
    )
}

/// A person's attribute seen on a tracked object.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenAttribute {
    /// Track id.
    pub track_id: u64,
    /// `posture`.
    pub attribute: String,
    /// `fall`.
    pub value: String,
    /// Confidence, 0–1.
    pub confidence: f32,
    /// bbox x1, y1, x2, y2, source pixels.
    pub bbox: [f32; 4],
    /// When the frame was grabbed.
    pub captured_at: DateTime<Utc>,
}

/// Stores and publishes one attribute detection of a level_02 device while its monthly
/// attribute quota lasts; answers the row id, `None` when the camera is no device, its
/// plan has no `attribute` or the quota is spent (then nothing is written).
///
/// # Errors
/// `INTERNAL`.
pub async fn record_attribute(
    db: &DatabaseConnection,
    bus: &dyn EventBus,
    camera_id: i32,
    seen: &SeenAttribute,
    now: DateTime<Utc>,
) -> AppResult<Option<i32>> {
    let Some(cam) = camera::live_rows()
        .filter(camera::Column::Id.eq(camera_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if !cam.is_device || quota::limit(&cam, Feature::Attribute) == 0 {
        return Ok(None);
    }
    if quota::charge(db, bus, &cam, Feature::Attribute, 1.0, true, now).await? == Charge::Refused {
        return Ok(None);
    }
    let row = device_attribute::ActiveModel {
        account_id: Set(cam.account_id),
        camera_id: Set(cam.id),
        track_id: Set(seen.track_id as i64),
        attribute: Set(seen.attribute.clone()),
        value: Set(seen.value.clone()),
        confidence: Set(f64::from(seen.confidence)),
        bbox: Set(json!(seen.bbox.map(|v| f64::from(v.round())))),
        frame_captured_at: Set(seen.captured_at),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    bus.publish(Event::DeviceAttribute {
        account_id: cam.account_id,
        device_id: cam.uuid,
        attribute_id: row.id,
    });
    Ok(Some(row.id))
}

impl super::DeviceService {
    /// A device's attribute detections, newest first: `limit` (1–100) rows.
    ///
    /// # Errors
    /// `DEVICE_NOT_FOUND`; `BAD_USER_INPUT` on `limit`; `INTERNAL`.
    pub async fn attributes(
        &self,
        account_id: Uuid,
        id: Uuid,
        limit: u64,
    ) -> AppResult<Vec<device_attribute::Model>> {
        if !(1..=100).contains(&limit) {
            return Err(crate::error::AppError::field(
                "first",
                "must be between 1 and 100",
            ));
        }
        let cam = self.device(account_id, id).await?;
        Ok(device_attribute::Entity::find()
            .filter(device_attribute::Column::CameraId.eq(cam.id))
            .order_by_desc(device_attribute::Column::CreatedAt)
            .order_by_desc(device_attribute::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// One attribute detection of the caller's (`None` when not theirs or gone).
    ///
    /// # Errors
    /// `INTERNAL`.
    pub async fn attribute(
        &self,
        account_id: Uuid,
        id: i32,
    ) -> AppResult<Option<device_attribute::Model>> {
        Ok(device_attribute::Entity::find_by_id(id)
            .filter(device_attribute::Column::AccountId.eq(account_id))
            .one(&self.db)
            .await?)
    }
}

/// The system prompt of a VLM reading.
const VLM_SYSTEM: &str = "You watch a security camera. You are given one alert snapshot: \
the zone that raised the alert is outlined and the object that stayed in it is boxed. \
Answer with one JSON object only, no prose around it: {\"summary\": one or two sentences \
on what is happening, \"objects\": [{\"type\", \"description\"}], \"riskLevel\": \"low\" | \
\"medium\" | \"high\", \"actionRequired\": true | false}.";

/// The JSON object inside a model's answer: the whole text, else its fenced or outermost
/// `{…}` part; `None` when none parses.
pub fn json_in(text: &str) -> Option<Json> {
    let t = text.trim();
    if let Ok(v @ Json::Object(_)) = serde_json::from_str::<Json>(t) {
        return Some(v);
    }
    let (a, b) = (t.find('{')?, t.rfind('}')?);
    (a < b)
        .then(|| serde_json::from_str::<Json>(&t[a..=b]).ok())
        .flatten()
        .filter(Json::is_object)
}

/// What the VLM is told about an alert.
#[derive(Debug, Clone)]
pub struct AlertContext {
    /// The notification.
    pub notification_id: i32,
    /// Zone name.
    pub zone: String,
    /// Class of the object.
    pub class: String,
    /// Seconds it stayed.
    pub dwell_secs: f64,
}

/// Reads one alert snapshot (`jpeg`) of a level_02 device (`cam`, as read when the alert
/// was raised) with the VLM and stores the answer on the notification; answers the tokens
/// counted. Nothing is called when the
/// camera is no device, its plan has no `vlm`, the client is unconfigured or the month's
/// tokens are spent.
///
/// # Errors
/// `UNAVAILABLE` when the endpoint fails (nothing stored, nothing counted); `INTERNAL`.
pub async fn read_snapshot(
    db: &DatabaseConnection,
    bus: &dyn EventBus,
    client: &ChatClient,
    cam: &camera::Model,
    ctx: &AlertContext,
    jpeg: &[u8],
) -> AppResult<Option<i64>> {
    if !cam.is_device
        || !client.is_configured()
        || !quota::available(db, cam, Feature::Vlm, Utc::now()).await?
    {
        return Ok(None);
    }
    let image = base64::engine::general_purpose::STANDARD.encode(jpeg);
    let user = format!(
        "Camera \"{}\"{}: a {} stayed {:.0} s in zone \"{}\".",
        cam.name,
        cam.location
            .as_deref()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default(),
        ctx.class,
        ctx.dwell_secs,
        ctx.zone
    );
    let answer = client
        .chat(
            json!([
                {"role": "system", "content": VLM_SYSTEM},
                {"role": "user", "content": [
                    {"type": "text", "text": user},
                    {"type": "image_url", "image_url": {"url": format!("data:image/jpeg;base64,{image}")}}
                ]}
            ]),
            json!({"temperature": 0.2, "response_format": {"type": "json_object"}}),
        )
        .await?;
    let structured = json_in(&answer.text);
    let summary = structured
        .as_ref()
        .and_then(|s| s["summary"].as_str())
        .map_or_else(|| answer.text.trim().to_owned(), str::to_owned);
    notification::Entity::update_many()
        .col_expr(notification::Column::VlmSummary, Expr::value(summary))
        .col_expr(
            notification::Column::VlmStructuredResult,
            Expr::value(structured),
        )
        .col_expr(notification::Column::VlmModel, Expr::value(answer.model))
        .col_expr(
            notification::Column::VlmTokens,
            Expr::value(answer.total_tokens),
        )
        .filter(notification::Column::Id.eq(ctx.notification_id))
        .exec(db)
        .await?;
    quota::charge(
        db,
        bus,
        cam,
        Feature::Vlm,
        answer.total_tokens as f64,
        false,
        Utc::now(),
    )
    .await?;
    bus.publish(Event::AlertAnalysed {
        account_id: cam.account_id,
        camera_id: cam.id,
        notification_id: ctx.notification_id,
    });
    Ok(Some(answer.total_tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_in_bare_fenced_and_wrapped_answers() {
        let want = json!({"summary": "a person", "riskLevel": "low"});
        assert_eq!(
            json_in(r#"{"summary": "a person", "riskLevel": "low"}"#),
            Some(want.clone())
        );
        assert_eq!(
            json_in("```json\n{\"summary\": \"a person\", \"riskLevel\": \"low\"}\n```"),
            Some(want.clone())
        );
        assert_eq!(
            json_in(
                "Here it is: {\"summary\": \"a person\", \"riskLevel\": \"low\"} hope it helps"
            ),
            Some(want)
        );
        assert_eq!(json_in("no json here"), None);
        assert_eq!(json_in("[1, 2]"), None);
        assert_eq!(json_in("} {"), None);
    }
}
