//! Queuing deliveries inside the caller's transaction (the transactional outbox): the
//! cause (a notification, a status change …) and its deliveries commit together or not at
//! all. Each row's `dedup_key` (`<cause>:<channel>:<target>`) is unique, so queuing the same
//! cause twice — a restarted scheduler, a repeated status report — adds nothing.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    sea_query::OnConflict,
};
use uuid::Uuid;

use super::Message;
use crate::db::entities::{delivery, email_recipient, line_token, webhook_endpoint};

/// Whether a stored JSON array of types holds `kind`.
pub fn subscribed(types: &serde_json::Value, kind: &str) -> bool {
    types
        .as_array()
        .is_some_and(|a| a.iter().any(|t| t.as_str() == Some(kind)))
}

/// A delivery row to insert.
fn row(
    account_id: Uuid,
    notification_id: Option<i32>,
    channel: &str,
    target_id: i32,
    cause: &str,
    msg: &Message,
) -> delivery::ActiveModel {
    let now = Utc::now();
    delivery::ActiveModel {
        account_id: Set(account_id),
        notification_id: Set(notification_id),
        kind: Set(msg.kind.clone()),
        channel: Set(channel.to_owned()),
        target_id: Set(target_id),
        payload: Set(serde_json::to_value(msg).unwrap_or_default()),
        dedup_key: Set(format!("{cause}:{channel}:{target_id}")),
        idempotency_key: Set(Uuid::new_v4()),
        status: Set("pending".into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    }
}

async fn insert(
    db: &impl ConnectionTrait,
    rows: Vec<delivery::ActiveModel>,
) -> Result<u64, sea_orm::DbErr> {
    if rows.is_empty() {
        return Ok(0);
    }
    delivery::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(delivery::Column::DedupKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
}

/// Queues `msg` (of kind `msg.kind`) to every active channel of `account_id` subscribed to
/// that kind: verified e-mail recipients, LINE tokens and webhook endpoints. `cause` names
/// what is delivered (`n42`, `status:3:…`, `daily:2026-12-02`). Answers how many were queued.
///
/// # Errors
/// Database failures (the caller's transaction then rolls back with its cause).
pub async fn enqueue(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    notification_id: Option<i32>,
    cause: &str,
    msg: &Message,
) -> Result<u64, sea_orm::DbErr> {
    let kind = msg.kind.as_str();
    let mut rows = Vec::new();
    for r in email_recipient::Entity::find()
        .filter(email_recipient::Column::AccountId.eq(account_id))
        .filter(email_recipient::Column::Active.eq(true))
        .filter(email_recipient::Column::Verified.eq(true))
        .all(db)
        .await?
    {
        if subscribed(&r.notification_types, kind) {
            rows.push(row(account_id, notification_id, "email", r.id, cause, msg));
        }
    }
    for t in line_token::Entity::find()
        .filter(line_token::Column::AccountId.eq(account_id))
        .filter(line_token::Column::Active.eq(true))
        .all(db)
        .await?
    {
        if subscribed(&t.notification_types, kind) {
            rows.push(row(account_id, notification_id, "line", t.id, cause, msg));
        }
    }
    for w in webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::AccountId.eq(account_id))
        .filter(webhook_endpoint::Column::Active.eq(true))
        .all(db)
        .await?
    {
        if subscribed(&w.event_types, kind) {
            rows.push(row(
                account_id,
                notification_id,
                "webhook",
                w.id,
                cause,
                msg,
            ));
        }
    }
    insert(db, rows).await
}

/// Queues `msg` to one target (a recipient's verification mail).
///
/// # Errors
/// Database failures.
pub async fn enqueue_to(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    channel: &str,
    target_id: i32,
    cause: &str,
    msg: &Message,
) -> Result<u64, sea_orm::DbErr> {
    insert(
        db,
        vec![row(account_id, None, channel, target_id, cause, msg)],
    )
    .await
}

/// The message of a notification (a zone alert or a client's notification).
pub fn notification_message(
    n: &crate::db::entities::notification::Model,
    camera_name: &str,
) -> Message {
    let zone = n.region_name.clone();
    let mut lines = vec![n.message.clone(), String::new()];
    lines.push(format!("攝影機 Camera: {camera_name} (#{})", n.camera_id));
    if let Some(z) = &zone {
        lines.push(format!("區域 Zone: {z}"));
    }
    lines.push(format!("類別 Class: {}", n.detection_type));
    if let Some(c) = n.confidence {
        lines.push(format!("信心度 Confidence: {:.0}%", c * 100.0));
    }
    lines.push(format!(
        "時間 Time: {}",
        n.created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    Message {
        kind: "alerts".into(),
        subject: format!(
            "【VisionFlow】{camera_name}{}：{}",
            zone.as_deref()
                .map(|z| format!(" / {z}"))
                .unwrap_or_default(),
            n.detection_type
        ),
        text: lines.join("\n"),
        camera_id: Some(n.camera_id),
        camera_name: Some(camera_name.to_owned()),
        zone: zone.clone(),
        class: Some(n.detection_type.clone()),
        confidence: n.confidence,
        at: n.created_at,
        image_path: n.image_path.clone(),
        data: serde_json::json!({
            "notification_id": n.id,
            "camera_id": n.camera_id,
            "camera_name": camera_name,
            "zone_id": n.zone_id,
            "region_name": zone,
            "detection_type": n.detection_type,
            "confidence": n.confidence,
            "message": n.message,
            "image_path": n.image_path,
            "metadata": n.metadata,
            "created_at": n.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }),
    }
}

/// Queues a stored notification to its owner's channels and marks its `delivery`
/// `pending` (some queued) or `none`. Call inside the transaction that stored it.
///
/// # Errors
/// Database failures.
pub async fn enqueue_notification(
    db: &impl ConnectionTrait,
    n: &crate::db::entities::notification::Model,
) -> Result<u64, sea_orm::DbErr> {
    use crate::db::entities::{camera, notification};
    let camera_name = camera::Entity::find_by_id(n.camera_id)
        .one(db)
        .await?
        .map(|c| c.name)
        .unwrap_or_default();
    let msg = notification_message(n, &camera_name);
    let queued = enqueue(db, n.account_id, Some(n.id), &format!("n{}", n.id), &msg).await?;
    notification::Entity::update_many()
        .col_expr(
            notification::Column::Delivery,
            sea_orm::sea_query::Expr::value(if queued > 0 { "pending" } else { "none" }),
        )
        .filter(notification::Column::Id.eq(n.id))
        .exec(db)
        .await?;
    Ok(queued)
}

/// Queues `system_status` deliveries for a camera going from `before.status` to `new` —
/// only on `online` ↔ `offline` (a start's `connecting` → `online` is not news). Call in
/// the transaction that stores the status; answers how many were queued.
///
/// # Errors
/// Database failures.
pub async fn enqueue_status_change(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    before: &crate::db::entities::camera::Model,
    new: &str,
) -> Result<u64, sea_orm::DbErr> {
    if !matches!(
        (before.status.as_str(), new),
        ("online", "offline") | ("offline", "online")
    ) {
        return Ok(0);
    }
    let at = Utc::now();
    let msg = Message {
        kind: "system_status".into(),
        subject: format!("【VisionFlow】{}：{new}", before.name),
        text: format!(
            "攝影機 Camera: {} (#{})\n狀態 Status: {} → {new}\n時間 Time: {}",
            before.name,
            before.id,
            before.status,
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        camera_id: Some(before.id),
        camera_name: Some(before.name.clone()),
        at,
        data: serde_json::json!({"camera_id": before.id, "camera_name": before.name, "status": new, "previous_status": before.status}),
        ..Message::default()
    };
    let cause = format!("status:{}:{}", before.id, at.timestamp_micros());
    enqueue(db, account_id, None, &cause, &msg).await
}
