//! Plate reads of tracked vehicles, voted across frames (issue "live plate reading at the
//! gate"). A camera whose `model_name` is `alpr` reads the plate inside each tracked
//! vehicle's box on the frames it analyses; [`PlateTracks`] keeps each track's reads and
//! decides when the track's plate is **final**:
//!
//! - `agreement`: `plate_agreement` reads (default 3) equal the voted text;
//! - `max_reads`: `plate_max_reads` reads (default 10) were taken without agreement;
//! - `track_ended`: the tracker dropped the track (left the frame for `max_disappeared`
//!   analysed frames) while it had reads;
//! - `stopped`: the camera's analysis stopped while it had reads.
//!
//! Each track produces at most one [`FinalRead`]: after it, the track is *done* and its later
//! frames are not read again (no OCR spent on a vehicle waiting at the gate). The vote is
//! [`super::plate_vote::vote`]; the stored frame is the most confident read of the chosen
//! text (of the modal length when no read equals it).

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};

use super::{
    capture::Frame,
    plate_vote::{PlateRead, Vote, vote},
};

/// When a track's plate becomes final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlateSettings {
    /// Agreeing reads that make the vote final (1–50).
    pub agreement: usize,
    /// Reads after which the vote is final regardless (≥ `agreement`, ≤ 100).
    pub max_reads: usize,
}

impl Default for PlateSettings {
    fn default() -> Self {
        Self {
            agreement: 3,
            max_reads: 10,
        }
    }
}

/// One frame's read of a tracked vehicle's plate.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The analysed frame.
    pub frame: Arc<Frame>,
    /// Vehicle class (`car`, `bus` …).
    pub vehicle_class: String,
    /// Vehicle detection confidence, 0–1.
    pub vehicle_confidence: f32,
    /// Vehicle bbox `[x1, y1, x2, y2]`, source pixels.
    pub vehicle_bbox: [f32; 4],
    /// The plate as read (normalised `A–Z0–9`).
    pub text: String,
    /// The text as the OCR gave it.
    pub raw_text: String,
    /// OCR confidence, 0–1.
    pub confidence: f32,
    /// Plate bbox `[x1, y1, x2, y2]`, source pixels.
    pub plate_bbox: [f32; 4],
    /// Model time of the frame's job (vehicles + plates), milliseconds.
    pub inference_ms: f64,
}

/// Why a track's plate became final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalReason {
    /// Enough reads agreed.
    Agreement,
    /// The read limit was reached.
    MaxReads,
    /// The tracker dropped the track.
    TrackEnded,
    /// The analysis stopped.
    Stopped,
}

impl FinalReason {
    /// `agreement`, `max_reads`, `track_ended` or `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agreement => "agreement",
            Self::MaxReads => "max_reads",
            Self::TrackEnded => "track_ended",
            Self::Stopped => "stopped",
        }
    }
}

/// A track's final plate: what one stored detection session is made of.
#[derive(Debug, Clone)]
pub struct FinalRead {
    /// Track id (unique per camera worker).
    pub track_id: u64,
    /// The vote over the track's reads.
    pub vote: Vote,
    /// The read whose frame, boxes and crops are stored.
    pub best: Observation,
    /// Why it is final.
    pub reason: FinalReason,
    /// When the first read's frame was grabbed.
    pub first_seen: DateTime<Utc>,
    /// When the last read's frame was grabbed.
    pub last_seen: DateTime<Utc>,
}

#[derive(Default)]
struct TrackReads {
    reads: Vec<Observation>,
    done: bool,
}

/// The plate reads of one camera's tracks.
pub struct PlateTracks {
    settings: PlateSettings,
    tracks: HashMap<u64, TrackReads>,
}

impl PlateTracks {
    /// No tracks yet.
    pub fn new(settings: PlateSettings) -> Self {
        Self {
            settings,
            tracks: HashMap::new(),
        }
    }

    /// Whether the track's plate is already final (its frames need no more reads).
    pub fn is_done(&self, track_id: u64) -> bool {
        self.tracks.get(&track_id).is_some_and(|t| t.done)
    }

    /// Adds a read of a track; answers its final read when this read made it final.
    pub fn observe(&mut self, track_id: u64, obs: Observation) -> Option<FinalRead> {
        let t = self.tracks.entry(track_id).or_default();
        if t.done || obs.text.is_empty() {
            return None;
        }
        t.reads.push(obs);
        let v = vote(&reads_of(&t.reads))?;
        let reason = if v.agreeing >= self.settings.agreement {
            FinalReason::Agreement
        } else if t.reads.len() >= self.settings.max_reads {
            FinalReason::MaxReads
        } else {
            return None;
        };
        finish(track_id, t, v, reason)
    }

    /// The tracker dropped a track: answers its final read when it had reads and was not
    /// final yet, and forgets it.
    pub fn end(&mut self, track_id: u64) -> Option<FinalRead> {
        let mut t = self.tracks.remove(&track_id)?;
        if t.done {
            return None;
        }
        let v = vote(&reads_of(&t.reads))?;
        finish(track_id, &mut t, v, FinalReason::TrackEnded)
    }

    /// The analysis stops: every track with reads that is not final yet, by track id.
    pub fn flush(&mut self) -> Vec<FinalRead> {
        let mut ids: Vec<u64> = self.tracks.keys().copied().collect();
        ids.sort_unstable();
        let mut out = Vec::new();
        for id in ids {
            if let Some(mut t) = self.tracks.remove(&id)
                && !t.done
                && let Some(v) = vote(&reads_of(&t.reads))
                && let Some(f) = finish(id, &mut t, v, FinalReason::Stopped)
            {
                out.push(f);
            }
        }
        out
    }

    /// Tracks followed now (with reads, or done and not yet dropped).
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// No track is followed.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }
}

fn reads_of(obs: &[Observation]) -> Vec<PlateRead> {
    obs.iter()
        .map(|o| PlateRead {
            text: o.text.clone(),
            confidence: o.confidence,
        })
        .collect()
}

/// Marks the track done, keeps none of its frames, and builds its final read.
fn finish(track_id: u64, t: &mut TrackReads, v: Vote, reason: FinalReason) -> Option<FinalRead> {
    let reads = std::mem::take(&mut t.reads);
    t.done = true;
    let first_seen = reads.iter().map(|o| o.frame.captured_at).min()?;
    let last_seen = reads.iter().map(|o| o.frame.captured_at).max()?;
    let best_of = |pred: &dyn Fn(&Observation) -> bool| {
        reads
            .iter()
            .filter(|o| pred(o))
            .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
            .cloned()
    };
    let best = best_of(&|o| o.text == v.text)
        .or_else(|| best_of(&|o| o.text.len() == v.text.len()))
        .or_else(|| best_of(&|_| true))?;
    Some(FinalRead {
        track_id,
        vote: v,
        best,
        reason,
        first_seen,
        last_seen,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::vision::images::RgbImage;

    fn obs(seq: u64, text: &str, confidence: f32) -> Observation {
        Observation {
            frame: Arc::new(Frame {
                seq,
                image: RgbImage {
                    width: 2,
                    height: 2,
                    data: vec![0; 12],
                },
                at: Instant::now(),
                captured_at: DateTime::from_timestamp(1_700_000_000 + seq as i64, 0).expect("time"),
            }),
            vehicle_class: "car".into(),
            vehicle_confidence: 0.9,
            vehicle_bbox: [0.0, 0.0, 2.0, 2.0],
            text: text.into(),
            raw_text: text.into(),
            confidence,
            plate_bbox: [0.0, 0.0, 1.0, 1.0],
            inference_ms: 10.0,
        }
    }

    #[test]
    fn agreeing_reads_make_one_final_read_per_track() {
        let mut p = PlateTracks::new(PlateSettings::default());
        assert!(p.observe(1, obs(1, "5AU5341", 0.8)).is_none());
        assert!(p.observe(1, obs(2, "5AU5347", 0.7)).is_none(), "a misread");
        assert!(p.observe(1, obs(3, "5AU5341", 0.9)).is_none());
        let f = p
            .observe(1, obs(4, "5AU5341", 0.85))
            .expect("third agreeing read");
        assert_eq!(f.vote.text, "5AU5341");
        assert_eq!(f.reason, FinalReason::Agreement);
        assert_eq!(f.best.frame.seq, 3, "the most confident agreeing read");
        assert_eq!(f.first_seen.timestamp(), 1_700_000_001);
        assert_eq!(f.last_seen.timestamp(), 1_700_000_004);
        assert_eq!(f.vote.candidates[0].0, "5AU5347");
        // Done: later frames of the same track add nothing, and its end stores nothing.
        assert!(p.is_done(1));
        assert!(p.observe(1, obs(5, "5AU5341", 0.9)).is_none());
        assert!(p.end(1).is_none());
        assert!(p.is_empty());
        // Another track (the next vehicle) is read again.
        assert!(!p.is_done(2));
        assert!(p.observe(2, obs(6, "5AU5341", 0.9)).is_none());
    }

    #[test]
    fn a_track_that_ends_or_stops_is_final_with_what_it_had() {
        let mut p = PlateTracks::new(PlateSettings::default());
        p.observe(7, obs(1, "AB1234", 0.6));
        p.observe(7, obs(2, "A81234", 0.9));
        let f = p.end(7).expect("reads then the track ended");
        assert_eq!(f.reason, FinalReason::TrackEnded);
        // One read each: equal length, the per-character vote follows confidence.
        assert_eq!(f.vote.text, "A81234");
        assert_eq!(f.best.frame.seq, 2);
        assert!(p.end(7).is_none(), "forgotten");
        assert!(p.end(8).is_none(), "never read");

        p.observe(9, obs(3, "XY999", 0.5));
        p.observe(10, obs(4, "KLM123", 0.5));
        let flushed = p.flush();
        assert_eq!(flushed.len(), 2);
        assert_eq!(flushed[0].track_id, 9);
        assert!(flushed.iter().all(|f| f.reason == FinalReason::Stopped));
        assert!(p.is_empty());
    }

    #[test]
    fn the_read_limit_ends_a_vote_without_agreement() {
        let mut p = PlateTracks::new(PlateSettings {
            agreement: 3,
            max_reads: 4,
        });
        for (i, t) in ["AAA111", "AAA112", "AAA113"].iter().enumerate() {
            assert!(p.observe(1, obs(i as u64, t, 0.5)).is_none());
        }
        let f = p.observe(1, obs(9, "AAA114", 0.9)).expect("4th read");
        assert_eq!(f.reason, FinalReason::MaxReads);
        assert_eq!(f.vote.text, "AAA114");
        assert_eq!(f.vote.reads, 4);
    }

    #[test]
    fn the_stored_frame_is_of_the_modal_length_when_no_read_equals_the_vote() {
        let mut p = PlateTracks::new(PlateSettings::default());
        p.observe(1, obs(1, "AB19", 0.6));
        p.observe(1, obs(2, "CD29", 0.5));
        p.observe(1, obs(3, "AD39", 0.4));
        // Per position: A (1.0) over C, D (0.9) over B, 1 (0.6), 9 → "AD19", which no read
        // equals: the most confident read of its length is stored.
        let f = p.end(1).expect("final");
        assert_eq!(f.vote.text, "AD19");
        assert_eq!(f.vote.agreeing, 0);
        assert_eq!(f.best.frame.seq, 1);
    }
}
