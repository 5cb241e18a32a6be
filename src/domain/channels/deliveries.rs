//! Reading the outbox: an account's deliveries with their status, attempts and last error,
//! and re-queuing a failed one.

use chrono::Utc;
use sea_orm::{
    ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, sea_query::Expr,
};
use uuid::Uuid;

use super::ChannelService;
use crate::{
    db::{self, entities::delivery},
    error::{AppError, AppResult},
    events::Event,
};

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// `pending`, `sent` or `failed`.
    pub status: Option<String>,
    /// `email`, `line` or `webhook`.
    pub channel: Option<String>,
    /// Only those of one notification.
    pub notification_id: Option<i32>,
}

impl ChannelService {
    /// The caller's deliveries, newest first, and how many match.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` on an unknown status or channel.
    pub async fn deliveries(
        &self,
        account_id: Uuid,
        f: DeliveryFilter,
        offset: u64,
        limit: u64,
    ) -> AppResult<(Vec<delivery::Model>, u64)> {
        let mut q = delivery::Entity::find()
            .filter(delivery::Column::AccountId.eq(account_id))
            .order_by_desc(delivery::Column::Id);
        if let Some(s) = f.status {
            if !["pending", "sent", "failed"].contains(&s.as_str()) {
                return Err(AppError::field("status", "must be pending, sent or failed"));
            }
            q = q.filter(delivery::Column::Status.eq(s));
        }
        if let Some(c) = f.channel {
            if !["email", "line", "webhook"].contains(&c.as_str()) {
                return Err(AppError::field("channel", "must be email, line or webhook"));
            }
            q = q.filter(delivery::Column::Channel.eq(c));
        }
        if let Some(n) = f.notification_id {
            q = q.filter(delivery::Column::NotificationId.eq(n));
        }
        db::page(&self.db, q, offset, limit).await
    }

    /// Queues a failed delivery again with a fresh set of attempts (same idempotency key).
    ///
    /// # Errors
    /// `NOT_FOUND`; `CONFLICT` `NOT_FAILED` when it is pending or sent.
    pub async fn retry_delivery(&self, account_id: Uuid, id: i32) -> AppResult<delivery::Model> {
        let q = delivery::Entity::find_by_id(id).filter(delivery::Column::AccountId.eq(account_id));
        let d = db::one_or(&self.db, q, || AppError::not_found("delivery not found")).await?;
        if d.status != "failed" {
            return Err(AppError::Conflict {
                reason: "NOT_FAILED",
                message: format!("delivery {id} is {}", d.status),
            });
        }
        let now = Utc::now();
        delivery::Entity::update_many()
            .col_expr(delivery::Column::Status, Expr::value("pending"))
            .col_expr(delivery::Column::Attempts, Expr::value(0))
            .col_expr(delivery::Column::NextAttemptAt, Expr::value(now))
            .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
            .filter(delivery::Column::Id.eq(id))
            .filter(delivery::Column::Status.eq("failed"))
            .exec(&self.db)
            .await?;
        self.bus.publish(Event::DeliveriesQueued {
            account_id,
            count: 1,
        });
        // The row as queued (a worker may already be sending it).
        Ok(delivery::Model {
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            updated_at: now,
            ..d
        })
    }
}
