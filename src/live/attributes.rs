//! Attribute detections of a live camera (devices-api-v1.zh-TW.txt `attribute`): a
//! tracked person the people model classes `Fall` is reported once per track.
//! [`SeenTracks`] remembers which tracks were reported, forgetting tracks unseen for
//! [`FORGET_SECS`] so the set stays bounded on a long-running camera.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tracing::Instrument as _;

use super::analysis::{FrameResult, LiveObject};
use crate::{
    domain::devices::alerts::{SeenAttribute, record_attribute},
    events::EventBus,
};

/// Seconds (stream time) after which a reported track is forgotten.
pub const FORGET_SECS: i64 = 300;

/// Whether a tracked object is a fallen person.
pub fn is_fall(o: &LiveObject) -> bool {
    o.posture().as_deref() == Some("fall")
}

/// Tracks already reported, with when each was last seen.
#[derive(Debug, Default)]
pub struct SeenTracks {
    last_seen: HashMap<u64, DateTime<Utc>>,
}

impl SeenTracks {
    /// The fallen people of `frame` whose track was not reported yet (now marked reported).
    pub fn new_falls(&mut self, frame: &FrameResult) -> Vec<SeenAttribute> {
        let now = frame.captured_at;
        self.last_seen
            .retain(|_, t| (now - *t).num_seconds() < FORGET_SECS);
        let mut out = Vec::new();
        for o in frame.objects.iter().filter(|o| is_fall(o)) {
            if self.last_seen.insert(o.track_id, now).is_none() {
                out.push(SeenAttribute {
                    track_id: o.track_id,
                    attribute: "posture".into(),
                    value: "fall".into(),
                    confidence: o.confidence,
                    bbox: o.bbox,
                    captured_at: now,
                });
            }
        }
        out
    }
}

/// Starts a device camera's attribute task: frames sent to the answered channel (those
/// with a fallen person) have each new fallen track recorded
/// ([`record_attribute`]: level_02 plan and quota checked there). It ends when the sender
/// is dropped (the analysis stops).
pub fn spawn_recorder(
    db: sea_orm::DatabaseConnection,
    bus: Arc<dyn EventBus>,
    camera_id: i32,
) -> mpsc::UnboundedSender<Arc<FrameResult>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Arc<FrameResult>>();
    tokio::spawn(
        async move {
            let mut seen = SeenTracks::default();
            while let Some(frame) = rx.recv().await {
                for a in seen.new_falls(&frame) {
                    let r = record_attribute(&db, &*bus, camera_id, &a, Utc::now()).await;
                    if let Err(e) = r {
                        tracing::warn!(camera_id, "attribute not recorded ({})", e.code());
                    }
                }
            }
        }
        .instrument(tracing::info_span!("camera", camera_id)),
    );
    tx
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::live::analysis::PEOPLE;

    fn person(track_id: u64, class: &str) -> LiveObject {
        LiveObject {
            track_id,
            label: "person".into(),
            model: PEOPLE.into(),
            class_name: class.into(),
            confidence: 0.8,
            bbox: [10.0, 20.0, 110.0, 60.0],
            zones: vec![],
        }
    }

    fn frame(at: DateTime<Utc>, objects: Vec<LiveObject>) -> FrameResult {
        FrameResult {
            seq: 0,
            captured_at: at,
            width: 640,
            height: 480,
            objects,
            occupied: vec![],
            inference_ms: 0.0,
            latency_ms: 0.0,
        }
    }

    #[test]
    fn a_fallen_track_is_reported_once_and_forgotten_when_long_gone() {
        let t0 = Utc::now();
        let mut seen = SeenTracks::default();
        let first = seen.new_falls(&frame(t0, vec![person(1, "Fall"), person(2, "Normal")]));
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].track_id, first[0].value.as_str()), (1, "fall"));
        assert!(
            seen.new_falls(&frame(t0 + Duration::seconds(1), vec![person(1, "Fall")]))
                .is_empty()
        );
        // Track 2 falls later: reported then.
        let later = seen.new_falls(&frame(t0 + Duration::seconds(2), vec![person(2, "Fall")]));
        assert_eq!(later.iter().map(|a| a.track_id).collect::<Vec<_>>(), [2]);
        // A vehicle is never a fall.
        let mut car = person(3, "Fall");
        car.model = "vehicles".into();
        assert!(!is_fall(&car));
        // Forgotten after FORGET_SECS without being seen.
        let far = t0 + Duration::seconds(FORGET_SECS + 10);
        assert_eq!(
            seen.new_falls(&frame(far, vec![person(1, "Fall")])).len(),
            1
        );
    }
}
