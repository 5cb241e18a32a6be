//! The event bus behind GraphQL subscriptions.
//!
//! Services publish [`Event`]s after their transaction commits; subscription resolvers
//! subscribe and filter. [`EventBus`] is a trait so a NATS JetStream implementation can
//! carry events between nodes later; [`InProcessBus`] (a tokio broadcast channel) serves a
//! single node.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt as _, stream::BoxStream};
use tokio::sync::broadcast;
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};
use uuid::Uuid;

/// What happened to an account's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountEventKind {
    /// A login issued a new token pair.
    LoggedIn,
    /// An API key was created.
    ApiKeyCreated,
    /// An API key was revoked.
    ApiKeyRevoked,
}

/// A domain event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Something happened to an account's credentials.
    Account {
        /// The account.
        account_id: Uuid,
        /// What happened.
        kind: AccountEventKind,
        /// The API key concerned, if any.
        api_key_id: Option<Uuid>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A detection session was stored (image upload or camera frame).
    DetectionCreated {
        /// Owner.
        account_id: Uuid,
        /// The session id.
        session_id: i32,
        /// Its location name, if any.
        location: Option<String>,
    },
    /// A parking lot received a new occupancy record.
    ParkingOccupancyChanged {
        /// Owner.
        account_id: Uuid,
        /// The lot.
        parking_lot_id: i32,
        /// Its site id.
        site_id: String,
    },
    /// A camera went `online`, `offline` or back to `connecting`.
    CameraStatusChanged {
        /// Owner.
        account_id: Uuid,
        /// Camera id.
        camera_id: i32,
        /// New status.
        status: String,
    },
    /// A zone raised an alert; the notification is stored.
    AlertRaised {
        /// Owner.
        account_id: Uuid,
        /// Camera id.
        camera_id: i32,
        /// The notification.
        notification_id: i32,
    },
    /// A camera frame was analysed (its tracked objects).
    CameraDetections {
        /// Owner.
        account_id: Uuid,
        /// Camera id.
        camera_id: i32,
        /// The result.
        frame: Arc<crate::live::analysis::FrameResult>,
    },
    /// An inspection batch was stored.
    InspectionCompleted {
        /// Owner.
        account_id: Uuid,
        /// The records, in upload order.
        record_ids: Vec<i32>,
    },
    /// Deliveries were queued (wakes the delivery workers).
    DeliveriesQueued {
        /// Owner.
        account_id: Uuid,
        /// How many.
        count: u64,
    },
    /// A delivery ran out of attempts or was refused for good.
    DeliveryFailed {
        /// Owner.
        account_id: Uuid,
        /// The delivery.
        delivery_id: i32,
        /// Its notification, if any.
        notification_id: Option<i32>,
        /// `email`, `line` or `webhook`.
        channel: String,
        /// The last error.
        error: String,
    },
    /// A plate camera's read of a passing vehicle is final and stored (one per vehicle).
    PlateRead {
        /// Owner.
        account_id: Uuid,
        /// The camera.
        camera_id: i32,
        /// The detection session stored for it.
        session_id: i32,
        /// The plate row.
        plate_id: i32,
        /// The camera's location (gate lane), if any.
        location: Option<String>,
    },
    /// A device crossed 80 % of a monthly quota (`quota_warning`) or spent it
    /// (`quota_exceeded`); once per feature and period.
    DeviceQuota {
        /// Owner.
        account_id: Uuid,
        /// The device UUID.
        device_id: Uuid,
        /// `quota_warning` or `quota_exceeded`.
        kind: String,
        /// `analysis`, `alert`, `attribute` or `vlm`.
        feature: String,
        /// UTC month, `YYYY-MM`.
        period: String,
        /// Used (seconds, count or tokens).
        used: f64,
        /// The limit.
        limit: f64,
    },
    /// A level_02 device stored an attribute detection (a tracked person's posture `fall`).
    DeviceAttribute {
        /// Owner.
        account_id: Uuid,
        /// The device UUID.
        device_id: Uuid,
        /// The `device_attributes` row.
        attribute_id: i32,
    },
    /// A level_02 device's VLM reading of an alert snapshot was stored on the notification.
    AlertAnalysed {
        /// Owner.
        account_id: Uuid,
        /// The camera.
        camera_id: i32,
        /// The notification.
        notification_id: i32,
    },
    /// A stored plate matched the allow/deny list at detection time.
    PlateListHit {
        /// Owner.
        account_id: Uuid,
        /// The plate id.
        plate_id: i32,
        /// `whitelist` or `blacklist`.
        status: String,
    },
}

/// Publishes and subscribes to domain events.
pub trait EventBus: Send + Sync + 'static {
    /// Publishes an event to every current subscriber (fire and forget).
    fn publish(&self, event: Event);
    /// A stream of the events published from now on.
    fn subscribe(&self) -> BoxStream<'static, Event>;
}

/// A single-node bus on a tokio broadcast channel. A subscriber that falls more than
/// `capacity` events behind skips the oldest ones (logged), never blocking publishers.
pub struct InProcessBus {
    tx: broadcast::Sender<Event>,
}

impl InProcessBus {
    /// A bus buffering up to `capacity` events per slow subscriber.
    pub fn new(capacity: usize) -> Self {
        Self {
            tx: broadcast::channel(capacity).0,
        }
    }
}

impl EventBus for InProcessBus {
    fn publish(&self, event: Event) {
        // An error only means nobody is subscribed.
        let _ = self.tx.send(event);
    }

    fn subscribe(&self) -> BoxStream<'static, Event> {
        BroadcastStream::new(self.tx.subscribe())
            .filter_map(|item| async move {
                match item {
                    Ok(event) => Some(event),
                    Err(BroadcastStreamRecvError::Lagged(n)) => {
                        tracing::warn!(skipped = n, "slow subscriber skipped events");
                        None
                    }
                }
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_receive_events_published_after_subscribing() {
        let bus = InProcessBus::new(4);
        bus.publish(Event::Account {
            account_id: Uuid::nil(),
            kind: AccountEventKind::LoggedIn,
            api_key_id: None,
            at: Utc::now(),
        });
        let mut s = bus.subscribe();
        let e = Event::Account {
            account_id: Uuid::new_v4(),
            kind: AccountEventKind::ApiKeyCreated,
            api_key_id: Some(Uuid::new_v4()),
            at: Utc::now(),
        };
        bus.publish(e.clone());
        assert_eq!(s.next().await, Some(e));
    }

    #[tokio::test]
    async fn lagging_subscriber_skips_but_continues() {
        let bus = InProcessBus::new(2);
        let mut s = bus.subscribe();
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            bus.publish(Event::Account {
                account_id: *id,
                kind: AccountEventKind::LoggedIn,
                api_key_id: None,
                at: Utc::now(),
            });
        }
        let Some(Event::Account { account_id, .. }) = s.next().await else {
            panic!("an event")
        };
        assert_eq!(account_id, ids[3], "the two newest are kept");
    }
}
