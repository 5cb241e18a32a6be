//! Polygon zones with inertia and dwell alerts, after Frigate's zone semantics
//! (`frigate/track/tracked_object.py`, `TrackedObject.update`):
//!
//! * an object is tested at the bottom centre of its box, `(x_centre, y_max)`, with
//!   `cv2.pointPolygonTest(contour, point, False) >= 0`, so a point on the edge is inside;
//! * it only counts in a zone after `inertia` consecutive frames inside (Frigate default 3);
//! * a zone may be limited to object classes (Frigate `zones.<name>.objects`);
//! * a dwell alert fires when it has been in the zone `dwell_secs` (Frigate `loitering_time`).
//!
//! Difference from Frigate: one frame outside (or absent) resets the consecutive count
//! instead of decrementing the zone score, and each (track, zone) pair alerts at most once
//! until [`ZoneState::forget`].

use std::collections::{BTreeMap, BTreeSet};

/// Distance in source pixels within which a point counts as on a polygon edge.
const EDGE_EPS: f64 = 1e-3;

/// A polygon in source pixels, vertices in order (either winding), at least 3.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    pub points: Vec<[f32; 2]>,
}

impl Polygon {
    /// Whether `p` is inside or on the boundary (within 1e-3 px of an edge). Even-odd rule
    /// for self-intersecting polygons, as `cv2.pointPolygonTest`. False for fewer than 3
    /// vertices or a non-finite point.
    pub fn contains(&self, p: [f32; 2]) -> bool {
        if self.points.len() < 3 || !p[0].is_finite() || !p[1].is_finite() {
            return false;
        }
        let (px, py) = (f64::from(p[0]), f64::from(p[1]));
        let mut inside = false;
        let next = self.points.iter().cycle().skip(1);
        for (a, b) in self.points.iter().zip(next) {
            let (ax, ay) = (f64::from(a[0]), f64::from(a[1]));
            let (bx, by) = (f64::from(b[0]), f64::from(b[1]));
            if segment_distance(px, py, ax, ay, bx, by) <= EDGE_EPS {
                return true;
            }
            if (ay > py) != (by > py) {
                let x = ax + (py - ay) * (bx - ax) / (by - ay);
                if px < x {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// Axis-aligned bounds `[x1, y1, x2, y2]` in source pixels; all zero when empty.
    pub fn bounds(&self) -> [f32; 4] {
        let Some(first) = self.points.first() else {
            return [0.0; 4];
        };
        self.points.iter().fold(
            [first[0], first[1], first[0], first[1]],
            |[x1, y1, x2, y2], p| [x1.min(p[0]), y1.min(p[1]), x2.max(p[0]), y2.max(p[1])],
        )
    }
}

/// Distance from `(px, py)` to the segment `(ax, ay)-(bx, by)`.
fn segment_distance(px: f64, py: f64, ax: f64, ay: f64, bx: f64, by: f64) -> f64 {
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (px - (ax + t * dx)).hypot(py - (ay + t * dy))
}

/// The reference point Frigate tests: bottom centre of a bbox `[x1, y1, x2, y2]`,
/// `[(x1 + x2) / 2, max(y1, y2)]` in source pixels.
pub fn anchor(bbox: &[f32; 4]) -> [f32; 2] {
    [(bbox[0] + bbox[2]) / 2.0, bbox[1].max(bbox[3])]
}

/// A zone as the analysis sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneSpec {
    pub zone_id: i32,
    pub polygon: Polygon,
    /// Seconds in the zone before a dwell alert; 0 alerts when inertia is reached. A negative
    /// or NaN value is stored as 0; `f64::INFINITY` never alerts.
    pub dwell_secs: f64,
    /// Class names counted in the zone (exact match); empty = every class.
    pub classes: Vec<String>,
}

impl ZoneSpec {
    fn accepts(&self, classes: &[String]) -> bool {
        self.classes.is_empty() || classes.iter().any(|c| self.classes.contains(c))
    }
}

/// An object of one analysed frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneObject {
    pub track_id: u64,
    /// `[x1, y1, x2, y2]` in source pixels.
    pub bbox: [f32; 4],
    /// The names it matches, e.g. `["person"]` or `["car", "vehicle"]`.
    pub classes: Vec<String>,
}

/// A dwell alert: `track_id` stayed in `zone_id` for `dwell_secs`.
#[derive(Debug, Clone, PartialEq)]
pub struct DwellAlert {
    pub zone_id: i32,
    pub track_id: u64,
    /// Time (seconds, the caller's clock) of the first of the consecutive in-zone frames.
    pub entered_at: f64,
    /// Time of the frame that raised the alert; `at - entered_at >= dwell_secs`.
    pub at: f64,
    /// The zone's configured dwell threshold in seconds.
    pub dwell_secs: f64,
}

/// Consecutive in-zone frames of one (zone, track) pair.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Presence {
    since: f64,
    frames: u32,
}

/// Per-camera zone state over frames.
#[derive(Debug, Clone, Default)]
pub struct ZoneState {
    inertia: u32,
    zones: Vec<ZoneSpec>,
    /// Keyed by (zone_id, track_id); only pairs inside on the last frame.
    presence: BTreeMap<(i32, u64), Presence>,
    /// (zone_id, track_id) pairs that already alerted.
    alerted: BTreeSet<(i32, u64)>,
}

impl ZoneState {
    /// Empty state counting an object in a zone after `inertia` consecutive frames (Frigate
    /// default 3); 0 is treated as 1.
    pub fn new(inertia: u32) -> Self {
        Self {
            inertia: inertia.max(1),
            ..Self::default()
        }
    }

    /// Replaces the zones (e.g. after the user saved new ones); state of zones that no
    /// longer exist is dropped, kept for the same `zone_id` only if its polygon, dwell and
    /// classes are unchanged. Later duplicates of a `zone_id` are ignored.
    pub fn set_zones(&mut self, zones: Vec<ZoneSpec>) {
        let mut seen = BTreeSet::new();
        let zones: Vec<ZoneSpec> = zones
            .into_iter()
            .filter(|z| seen.insert(z.zone_id))
            .map(|mut z| {
                if z.dwell_secs.is_nan() || z.dwell_secs < 0.0 {
                    z.dwell_secs = 0.0;
                }
                z
            })
            .collect();
        let kept: BTreeSet<i32> = zones
            .iter()
            .filter(|z| self.zones.contains(z))
            .map(|z| z.zone_id)
            .collect();
        self.presence.retain(|(z, _), _| kept.contains(z));
        self.alerted.retain(|(z, _)| kept.contains(z));
        self.zones = zones;
    }

    pub fn zones(&self) -> &[ZoneSpec] {
        &self.zones
    }

    /// Feeds one analysed frame at time `t` (seconds, monotonic). Returns the alerts raised
    /// by this frame, in zone order then object order. Objects missing from `objects` count
    /// as outside every zone. A non-finite `t` is ignored (no state change).
    pub fn update(&mut self, t: f64, objects: &[ZoneObject]) -> Vec<DwellAlert> {
        if !t.is_finite() {
            return Vec::new();
        }
        let mut next = BTreeMap::new();
        let mut alerts = Vec::new();
        for zone in &self.zones {
            for obj in objects {
                let key = (zone.zone_id, obj.track_id);
                if next.contains_key(&key)
                    || !zone.accepts(&obj.classes)
                    || !zone.polygon.contains(anchor(&obj.bbox))
                {
                    continue;
                }
                let mut p = self.presence.get(&key).copied().unwrap_or(Presence {
                    since: t,
                    frames: 0,
                });
                p.frames = p.frames.saturating_add(1);
                if p.frames >= self.inertia
                    && t - p.since >= zone.dwell_secs
                    && self.alerted.insert(key)
                {
                    alerts.push(DwellAlert {
                        zone_id: zone.zone_id,
                        track_id: obj.track_id,
                        entered_at: p.since,
                        at: t,
                        dwell_secs: zone.dwell_secs,
                    });
                }
                next.insert(key, p);
            }
        }
        self.presence = next;
        alerts
    }

    /// Zone ids currently occupied (some object counted in it after inertia), ascending.
    pub fn occupied(&self) -> Vec<i32> {
        let ids: BTreeSet<i32> = self
            .presence
            .iter()
            .filter(|(_, p)| p.frames >= self.inertia)
            .map(|((z, _), _)| *z)
            .collect();
        ids.into_iter().collect()
    }

    /// Zone ids a track is counted in (after inertia), ascending.
    pub fn zones_of(&self, track_id: u64) -> Vec<i32> {
        self.presence
            .iter()
            .filter(|((_, t), p)| *t == track_id && p.frames >= self.inertia)
            .map(|((z, _), _)| *z)
            .collect()
    }

    /// Forgets a track (the tracker removed it): its presence and its alerted pairs.
    pub fn forget(&mut self, track_id: u64) {
        self.presence.retain(|(_, t), _| *t != track_id);
        self.alerted.retain(|(_, t)| *t != track_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poly(points: &[[f32; 2]]) -> Polygon {
        Polygon {
            points: points.to_vec(),
        }
    }

    fn square() -> Polygon {
        poly(&[[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0]])
    }

    fn zone(zone_id: i32, polygon: Polygon, dwell_secs: f64, classes: &[&str]) -> ZoneSpec {
        let classes = classes.iter().map(|c| c.to_string()).collect();
        ZoneSpec {
            zone_id,
            polygon,
            dwell_secs,
            classes,
        }
    }

    /// An object whose anchor (bottom centre) is at `(x, y)`.
    fn obj(track_id: u64, x: f32, y: f32, classes: &[&str]) -> ZoneObject {
        let classes = classes.iter().map(|c| c.to_string()).collect();
        ZoneObject {
            track_id,
            bbox: [x - 10.0, y - 40.0, x + 10.0, y],
            classes,
        }
    }

    fn state(inertia: u32, zones: Vec<ZoneSpec>) -> ZoneState {
        let mut s = ZoneState::new(inertia);
        s.set_zones(zones);
        s
    }

    #[test]
    fn square_contains_interior_edge_vertex_outside() {
        let s = square();
        assert!(s.contains([50.0, 50.0]));
        assert!(s.contains([0.0, 50.0]) && s.contains([100.0, 50.0]) && s.contains([50.0, 100.0]));
        assert!(s.contains([100.0005, 50.0]), "within 1e-3 px of an edge");
        for v in &s.points {
            assert!(s.contains(*v), "vertex {v:?}");
        }
        assert!(!s.contains([100.01, 50.0]));
        assert!(
            !s.contains([-1.0, -1.0]) && !s.contains([150.0, 50.0]) && !s.contains([50.0, 101.0])
        );
        assert!(!s.contains([f32::NAN, 50.0]));
        assert!(
            !poly(&[[0.0, 0.0], [10.0, 10.0]]).contains([5.0, 5.0]),
            "fewer than 3 points"
        );
    }

    #[test]
    fn winding_does_not_matter() {
        let mut cw = square().points;
        cw.reverse();
        let (ccw, cw) = (square(), poly(&cw));
        for p in [
            [50.0, 50.0],
            [0.0, 0.0],
            [100.0, 30.0],
            [101.0, 30.0],
            [50.0, -0.5],
        ] {
            assert_eq!(ccw.contains(p), cw.contains(p), "{p:?}");
        }
        let tri = poly(&[[0.0, 0.0], [0.0, 10.0], [10.0, 0.0]]);
        assert!(tri.contains([2.0, 2.0]) && tri.contains([5.0, 5.0]) && !tri.contains([6.0, 6.0]));
    }

    #[test]
    fn concave_l_shape() {
        // An L: the 100x100 square without its top-right 50x50 quarter (y down).
        let l = poly(&[
            [0.0, 0.0],
            [50.0, 0.0],
            [50.0, 50.0],
            [100.0, 50.0],
            [100.0, 100.0],
            [0.0, 100.0],
        ]);
        assert!(l.contains([25.0, 25.0]) && l.contains([75.0, 75.0]) && l.contains([25.0, 75.0]));
        assert!(!l.contains([75.0, 25.0]), "the notch");
        assert!(l.contains([50.0, 25.0]) && l.contains([75.0, 50.0]) && l.contains([50.0, 50.0]));
        assert!(!l.contains([51.0, 49.0]));
        assert_eq!(l.bounds(), [0.0, 0.0, 100.0, 100.0]);
        assert_eq!(
            poly(&[[5.0, -2.0], [1.0, 7.0], [3.0, 3.0]]).bounds(),
            [1.0, -2.0, 5.0, 7.0]
        );
        assert_eq!(poly(&[]).bounds(), [0.0; 4]);
    }

    #[test]
    fn anchor_is_bottom_centre() {
        assert_eq!(anchor(&[10.0, 20.0, 30.0, 80.0]), [20.0, 80.0]);
        assert_eq!(anchor(&[10.0, 80.0, 30.0, 20.0]), [20.0, 80.0]);
        // A box mostly outside whose feet are inside counts; the reverse does not.
        let s = square();
        assert!(s.contains(anchor(&[40.0, -300.0, 60.0, 90.0])));
        assert!(!s.contains(anchor(&[40.0, 10.0, 60.0, 120.0])));
    }

    #[test]
    fn dwell_alerts_exactly_once_at_five_fps() {
        let mut s = state(3, vec![zone(7, square(), 2.0, &[])]);
        let mut alerts = Vec::new();
        for k in 0..=100 {
            let t = f64::from(k) / 5.0;
            alerts.extend(s.update(t, &[obj(1, 50.0, 50.0, &["person"])]));
            assert_eq!(
                s.occupied(),
                if k >= 2 { vec![7] } else { vec![] },
                "frame {k}"
            );
        }
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let a = &alerts[0];
        assert_eq!(
            (a.zone_id, a.track_id, a.entered_at, a.dwell_secs),
            (7, 1, 0.0, 2.0)
        );
        assert!((a.at - 2.0).abs() < 1e-9, "at {}", a.at);
    }

    #[test]
    fn inertia_needs_consecutive_frames() {
        let mut s = state(3, vec![zone(1, square(), 0.0, &[])]);
        let inside = [obj(1, 50.0, 50.0, &[])];
        let outside = [obj(1, 500.0, 50.0, &[])];
        assert!(s.update(0.0, &inside).is_empty());
        assert!(s.update(0.2, &inside).is_empty());
        assert!(s.update(0.4, &outside).is_empty());
        assert!(s.occupied().is_empty());
        assert!(s.update(0.6, &inside).is_empty());
        assert!(s.update(0.8, &inside).is_empty());
        assert!(
            s.update(1.0, &[]).is_empty(),
            "absent from the frame also resets"
        );
        assert!(s.update(1.2, &inside).is_empty());
        assert!(s.update(1.4, &inside).is_empty());
        let a = s.update(1.6, &inside);
        assert_eq!(a.len(), 1, "dwell 0 alerts when inertia is reached");
        assert_eq!((a[0].entered_at, a[0].at), (1.2, 1.6));
        assert_eq!(s.occupied(), vec![1]);

        let mut one = state(0, vec![zone(1, square(), 0.0, &[])]);
        assert_eq!(
            one.update(0.0, &inside).len(),
            1,
            "inertia 0 is treated as 1"
        );
    }

    #[test]
    fn passing_through_quickly_does_not_alert() {
        let mut s = state(3, vec![zone(1, square(), 2.0, &[])]);
        // 40 px/frame at 5 fps: inside x = 0..=100 for frames 1..=3 only (0.4 s).
        for k in 0..10 {
            let x = -40.0 + 40.0 * k as f32;
            assert!(
                s.update(f64::from(k) / 5.0, &[obj(1, x, 50.0, &[])])
                    .is_empty()
            );
        }
        // Inside for exactly 1 s (6 frames), still short of 2 s.
        for k in 0..6 {
            assert!(
                s.update(10.0 + f64::from(k) / 5.0, &[obj(2, 50.0, 50.0, &[])])
                    .is_empty()
            );
        }
        assert!(s.update(11.2, &[obj(2, 500.0, 50.0, &[])]).is_empty());
        assert!(
            s.update(13.0, &[obj(2, 50.0, 50.0, &[])]).is_empty(),
            "entry time was reset"
        );
    }

    #[test]
    fn class_filter() {
        let mut s = state(1, vec![zone(1, square(), 0.0, &["vehicle"])]);
        assert!(s.update(0.0, &[obj(1, 50.0, 50.0, &["person"])]).is_empty());
        assert!(s.occupied().is_empty());
        let a = s.update(
            0.2,
            &[
                obj(2, 50.0, 50.0, &["car", "vehicle"]),
                obj(1, 50.0, 50.0, &["person"]),
            ],
        );
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].track_id, 2);
        assert!(
            s.update(0.4, &[obj(3, 50.0, 50.0, &[])]).is_empty(),
            "no classes: no match"
        );
    }

    #[test]
    fn two_tracks_in_one_zone_alert_separately() {
        let mut s = state(3, vec![zone(1, square(), 1.0, &[])]);
        let mut alerts = Vec::new();
        for k in 0..30 {
            let t = f64::from(k) / 5.0;
            let mut objs = vec![obj(1, 20.0, 50.0, &[])];
            if k >= 5 {
                objs.push(obj(2, 80.0, 50.0, &[]));
            }
            alerts.extend(s.update(t, &objs));
        }
        let got: Vec<(u64, f64, f64)> = alerts
            .iter()
            .map(|a| (a.track_id, a.entered_at, a.at))
            .collect();
        assert_eq!(got, vec![(1, 0.0, 1.0), (2, 1.0, 2.0)]);
    }

    #[test]
    fn one_track_in_overlapping_zones_alerts_once_each() {
        let right = poly(&[[50.0, 0.0], [150.0, 0.0], [150.0, 100.0], [50.0, 100.0]]);
        let mut s = state(
            2,
            vec![zone(1, square(), 0.4, &[]), zone(2, right, 1.0, &[])],
        );
        let mut alerts = Vec::new();
        for k in 0..25 {
            alerts.extend(s.update(f64::from(k) / 5.0, &[obj(9, 75.0, 50.0, &[])]));
        }
        let got: Vec<(i32, f64)> = alerts.iter().map(|a| (a.zone_id, a.at)).collect();
        assert_eq!(got, vec![(1, 0.4), (2, 1.0)]);
        assert_eq!(s.occupied(), vec![1, 2]);
    }

    #[test]
    fn no_second_alert_after_reentry_until_forget() {
        let mut s = state(1, vec![zone(1, square(), 0.0, &[])]);
        let inside = [obj(4, 50.0, 50.0, &[])];
        assert_eq!(s.update(0.0, &inside).len(), 1);
        assert!(s.update(1.0, &[]).is_empty());
        assert!(
            s.update(2.0, &inside).is_empty(),
            "same pair never alerts again"
        );
        s.forget(4);
        assert!(s.occupied().is_empty(), "presence dropped");
        assert_eq!(s.update(3.0, &inside).len(), 1, "alerted state dropped");
    }

    #[test]
    fn forget_resets_entry_time() {
        let mut s = state(1, vec![zone(1, square(), 2.0, &[])]);
        let inside = [obj(4, 50.0, 50.0, &[])];
        s.update(0.0, &inside);
        s.update(1.5, &inside);
        s.forget(4);
        assert!(s.update(2.0, &inside).is_empty());
        assert_eq!(s.update(4.0, &inside)[0].entered_at, 2.0);
    }

    #[test]
    fn set_zones_keeps_unchanged_and_resets_changed() {
        let inside = [obj(1, 50.0, 50.0, &[])];
        let z = zone(1, square(), 2.0, &[]);
        let mut s = state(1, vec![z.clone()]);
        s.update(0.0, &inside);
        s.set_zones(vec![z.clone()]);
        assert_eq!(s.occupied(), vec![1], "unchanged zone keeps its state");
        assert_eq!(s.update(2.0, &inside).len(), 1);
        s.set_zones(vec![z.clone()]);
        assert!(s.update(4.0, &inside).is_empty(), "alerted pair kept too");

        let bigger = poly(&[[0.0, 0.0], [200.0, 0.0], [200.0, 200.0], [0.0, 200.0]]);
        s.set_zones(vec![zone(1, bigger.clone(), 2.0, &[])]);
        assert!(s.occupied().is_empty(), "changed polygon resets the zone");
        assert!(s.update(5.0, &inside).is_empty());
        assert!(s.update(6.0, &inside).is_empty());
        assert_eq!(
            s.update(7.0, &inside)[0].entered_at,
            5.0,
            "alerts again after a reset"
        );

        s.set_zones(vec![zone(1, bigger.clone(), 3.0, &[])]);
        assert!(
            s.update(8.0, &inside).is_empty(),
            "changed dwell resets too"
        );
        s.set_zones(vec![zone(1, bigger, 3.0, &["person"])]);
        assert!(s.occupied().is_empty(), "changed classes reset too");
        s.set_zones(vec![]);
        assert!(s.zones().is_empty() && s.update(20.0, &inside).is_empty());
    }

    #[test]
    fn set_zones_sanitises_input() {
        let mut s = ZoneState::new(3);
        s.set_zones(vec![
            zone(1, square(), f64::NAN, &[]),
            zone(2, square(), -5.0, &[]),
            zone(1, square(), 9.0, &[]),
        ]);
        let dwell: Vec<(i32, f64)> = s
            .zones()
            .iter()
            .map(|z| (z.zone_id, z.dwell_secs))
            .collect();
        assert_eq!(dwell, vec![(1, 0.0), (2, 0.0)]);
        let inside = [obj(1, 50.0, 50.0, &[])];
        s.update(0.0, &inside);
        s.set_zones(s.zones().to_vec());
        s.update(0.1, &inside);
        assert!(
            s.update(f64::NAN, &inside).is_empty(),
            "non-finite time ignored"
        );
        assert_eq!(
            s.update(0.2, &inside).len(),
            2,
            "state survived the identical NaN-dwell zone"
        );
        // A duplicated track id in one frame counts once.
        let mut d = state(2, vec![zone(1, square(), 0.0, &[])]);
        assert!(
            d.update(0.0, &[inside[0].clone(), inside[0].clone()])
                .is_empty()
        );
    }
}
