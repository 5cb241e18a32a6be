//! The dispatcher: claims due deliveries (a conditional UPDATE that moves `next_attempt_at`
//! one lease ahead and counts the attempt, so two workers never hold the same row), runs up
//! to `delivery.concurrency` attempts at once, and records each outcome: `sent`; `pending`
//! again after `retry_base × 2^(attempts−1)` (±20 %, capped, at least the receiver's
//! `Retry-After`); or `failed` with the error after `max_attempts` or a permanent refusal,
//! published as `deliveryFailed`.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use futures_util::StreamExt as _;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
    sea_query::{Expr, ExprTrait as _},
};
use tokio::{sync::watch, task::JoinSet};

use super::{Inner, Message, SendError, VERIFICATION, email};
use crate::{
    db::entities::{delivery, email_recipient, line_token, webhook_endpoint},
    events::Event,
};

pub(super) async fn run(inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    let concurrency = inner.settings.concurrency;
    let poll = Duration::from_secs_f64(inner.settings.poll_secs);
    let mut in_flight: JoinSet<()> = JoinSet::new();
    // New deliveries (here or on another node) wake the loop; polling is the fallback.
    let mut queued = inner.bus.subscribe().filter(|e| {
        std::future::ready(matches!(
            e,
            Event::DeliveriesQueued { .. } | Event::AlertRaised { .. }
        ))
    });
    loop {
        if *stop.borrow() {
            break;
        }
        while in_flight.try_join_next().is_some() {}
        let room = concurrency.saturating_sub(in_flight.len());
        let claimed = if room > 0 {
            match claim(&inner, room).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("deliveries not read: {e}");
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        let idle = claimed.is_empty();
        for d in claimed {
            let inner = inner.clone();
            in_flight.spawn(async move { attempt(&inner, d).await });
        }
        if idle || in_flight.len() >= concurrency {
            tokio::select! {
                Some(_) = queued.next() => {}
                () = tokio::time::sleep(poll) => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = stop.changed() => {}
            }
        }
    }
    // Graceful stop: attempts in flight finish (the caller bounds the wait).
    while in_flight.join_next().await.is_some() {}
}

/// Claims up to `n` due deliveries.
async fn claim(inner: &Inner, n: usize) -> Result<Vec<delivery::Model>, sea_orm::DbErr> {
    let now = Utc::now();
    let due = delivery::Entity::find()
        .filter(delivery::Column::Status.eq("pending"))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .order_by_asc(delivery::Column::NextAttemptAt)
        .order_by_asc(delivery::Column::Id)
        .limit(n as u64)
        .all(&inner.db)
        .await?;
    let lease = now + chrono::Duration::milliseconds((inner.settings.lease_secs * 1e3) as i64);
    let mut out = Vec::with_capacity(due.len());
    for mut d in due {
        let res = delivery::Entity::update_many()
            .col_expr(delivery::Column::NextAttemptAt, Expr::value(lease))
            .col_expr(
                delivery::Column::Attempts,
                Expr::col(delivery::Column::Attempts).add(1),
            )
            .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
            .filter(delivery::Column::Id.eq(d.id))
            .filter(delivery::Column::Status.eq("pending"))
            .filter(delivery::Column::NextAttemptAt.eq(d.next_attempt_at))
            .exec(&inner.db)
            .await?;
        if res.rows_affected == 1 {
            d.attempts += 1;
            out.push(d);
        }
    }
    Ok(out)
}

/// The delay before attempt `attempts + 1`.
pub(super) fn backoff(base: f64, max: f64, attempts: i32, retry_after: Option<f64>) -> f64 {
    let exp = base * 2f64.powi(attempts.clamp(1, 30) - 1);
    let jitter = 0.8 + 0.4 * rand::random::<f64>();
    (exp * jitter).min(max).max(retry_after.unwrap_or(0.0))
}

async fn attempt(inner: &Inner, d: delivery::Model) {
    let result = match serde_json::from_value::<Message>(d.payload.clone()) {
        Ok(msg) => send(inner, &d, &msg).await,
        Err(e) => Err(SendError::Permanent(format!("unreadable payload: {e}"))),
    };
    let now = Utc::now();
    let mut row = delivery::ActiveModel {
        updated_at: Set(now),
        ..Default::default()
    };
    let mut failed = None;
    match result {
        Ok(()) => {
            row.status = Set("sent".into());
            row.sent_at = Set(Some(now));
            row.last_error = Set(None);
            touch(inner, &d, now).await;
        }
        Err(SendError::Retry { error, after })
            if d.attempts < inner.settings.max_attempts as i32 =>
        {
            let s = &inner.settings;
            let delay = backoff(s.retry_base_secs, s.retry_max_secs, d.attempts, after);
            row.next_attempt_at = Set(now + chrono::Duration::milliseconds((delay * 1e3) as i64));
            tracing::info!(delivery = d.id, channel = %d.channel, attempt = d.attempts, retry_in_secs = delay, "delivery attempt failed: {error}");
            row.last_error = Set(Some(error));
        }
        Err(SendError::Retry { error, .. } | SendError::Permanent(error)) => {
            tracing::warn!(delivery = d.id, channel = %d.channel, attempts = d.attempts, "delivery failed: {error}");
            row.status = Set("failed".into());
            failed = Some(error.clone());
            row.last_error = Set(Some(error));
        }
    }
    match delivery::Entity::update_many()
        .set(row)
        .filter(delivery::Column::Id.eq(d.id))
        .filter(delivery::Column::Status.eq("pending"))
        .exec(&inner.db)
        .await
    {
        // Deleted meanwhile (its notification or camera went): nothing to record.
        Ok(r) if r.rows_affected == 0 => {}
        Ok(_) => {
            if let Some(error) = failed {
                inner.bus.publish(Event::DeliveryFailed {
                    account_id: d.account_id,
                    delivery_id: d.id,
                    notification_id: d.notification_id,
                    channel: d.channel.clone(),
                    error,
                });
            }
        }
        Err(e) => tracing::warn!(delivery = d.id, "delivery outcome not stored: {e}"),
    }
}

async fn send(inner: &Inner, d: &delivery::Model, msg: &Message) -> Result<(), SendError> {
    let gone = || SendError::Permanent(format!("{} {} was removed", d.channel, d.target_id));
    let db_err = |e: sea_orm::DbErr| SendError::retry(format!("database: {e}"));
    match d.channel.as_str() {
        "email" => {
            let r = email_recipient::Entity::find_by_id(d.target_id)
                .filter(email_recipient::Column::AccountId.eq(d.account_id))
                .one(&inner.db)
                .await
                .map_err(db_err)?
                .ok_or_else(gone)?;
            let mailer = inner
                .mailer
                .as_ref()
                .ok_or_else(|| SendError::retry("no SMTP relay configured (smtp.host)"))?;
            if msg.kind == VERIFICATION {
                let link = email::verification_link(&inner.secrets, &inner.public_base, &r);
                return mailer.send_verification(&r, &link, d.idempotency_key).await;
            }
            if !r.active || !r.verified {
                return Err(SendError::Permanent(
                    "recipient is inactive or unverified".into(),
                ));
            }
            let image = read_image(inner, msg).await;
            mailer.send_message(&r, msg, image, d.idempotency_key).await
        }
        "line" => {
            let t = line_token::Entity::find_by_id(d.target_id)
                .filter(line_token::Column::AccountId.eq(d.account_id))
                .one(&inner.db)
                .await
                .map_err(db_err)?
                .ok_or_else(gone)?;
            if !t.active {
                return Err(SendError::Permanent("LINE token is inactive".into()));
            }
            let token = inner
                .secrets
                .open(&t.token_sealed)
                .map_err(|e| SendError::Permanent(format!("token: {e}")))?;
            if !t.verified {
                // Stored while LINE was unreachable: check it before the first message.
                match inner.line.verify(&token).await {
                    super::line::Verify::Valid { .. } => {
                        let _ = line_token::Entity::update_many()
                            .col_expr(line_token::Column::Verified, Expr::value(true))
                            .filter(line_token::Column::Id.eq(t.id))
                            .exec(&inner.db)
                            .await;
                    }
                    super::line::Verify::Invalid(e) => {
                        return Err(SendError::Permanent(format!("LINE refused the token: {e}")));
                    }
                    super::line::Verify::Unreachable(e) => return Err(SendError::retry(e)),
                }
            }
            let image_url = image_url(inner, msg);
            inner
                .line
                .send(
                    &token,
                    t.target_id.as_deref(),
                    msg,
                    image_url.as_deref(),
                    d.idempotency_key,
                )
                .await
        }
        "webhook" => {
            let w = webhook_endpoint::Entity::find_by_id(d.target_id)
                .filter(webhook_endpoint::Column::AccountId.eq(d.account_id))
                .one(&inner.db)
                .await
                .map_err(db_err)?
                .ok_or_else(gone)?;
            if !w.active {
                return Err(SendError::Permanent("webhook endpoint is inactive".into()));
            }
            let secret = inner
                .secrets
                .open(&w.secret_sealed)
                .map_err(|e| SendError::Permanent(format!("secret: {e}")))?;
            inner
                .webhooks
                .send(&w.url, &secret, d.idempotency_key, msg)
                .await
        }
        other => Err(SendError::Permanent(format!("unknown channel {other}"))),
    }
}

async fn read_image(inner: &Inner, msg: &Message) -> Option<Vec<u8>> {
    let rel = msg.image_path.as_deref()?;
    let path = inner.store.resolve("outputs", rel)?;
    tokio::fs::read(path).await.ok()
}

/// A public, signed URL of the snapshot: LINE fetches images itself and only over HTTPS.
fn image_url(inner: &Inner, msg: &Message) -> Option<String> {
    let rel = msg.image_path.as_deref()?;
    if !inner.public_base.starts_with("https://") || !rel.starts_with("outputs/") {
        return None;
    }
    let sig = inner.secrets.sign(&format!("image:{rel}"));
    Some(format!("{}/showimage/{rel}?sig={sig}", inner.public_base))
}

/// Records when a channel last carried something.
async fn touch(inner: &Inner, d: &delivery::Model, now: chrono::DateTime<Utc>) {
    let r = match d.channel.as_str() {
        "email" if d.kind != VERIFICATION => {
            email_recipient::Entity::update_many()
                .col_expr(email_recipient::Column::LastNotification, Expr::value(now))
                .filter(email_recipient::Column::Id.eq(d.target_id))
                .exec(&inner.db)
                .await
        }
        "line" => {
            line_token::Entity::update_many()
                .col_expr(line_token::Column::LastUsed, Expr::value(now))
                .filter(line_token::Column::Id.eq(d.target_id))
                .exec(&inner.db)
                .await
        }
        "webhook" => {
            webhook_endpoint::Entity::update_many()
                .col_expr(webhook_endpoint::Column::LastUsed, Expr::value(now))
                .filter(webhook_endpoint::Column::Id.eq(d.target_id))
                .exec(&inner.db)
                .await
        }
        _ => return,
    };
    if let Err(e) = r {
        tracing::debug!("last-used time not stored: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_within_jitter_caps_and_honours_retry_after() {
        for attempts in 1..=5 {
            let d = backoff(2.0, 600.0, attempts, None);
            let exp = 2.0 * 2f64.powi(attempts - 1);
            assert!(
                d >= exp * 0.8 - 1e-9 && d <= exp * 1.2 + 1e-9,
                "{attempts}: {d}"
            );
        }
        assert!(backoff(2.0, 600.0, 30, None) <= 600.0);
        assert!(backoff(0.1, 600.0, 1, Some(5.0)) >= 5.0);
    }
}
