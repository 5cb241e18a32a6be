//! ByteTrack-style multi-object tracker.
//!
//! Follows ByteTrack (Zhang et al., "ByteTrack: Multi-Object Tracking by Associating Every
//! Detection Box", ECCV 2022; `ifzhang/ByteTrack` `yolox/tracker/byte_tracker.py`) with the
//! thresholds of Ultralytics' `bytetrack.yaml`:
//!
//! 1. every track predicts its box with the 8-state constant-velocity Kalman filter of
//!    ByteTrack's `kalman_filter.py` (state `[cx, cy, a, h, vcx, vcy, va, vh]`, `a = w / h`);
//! 2. confirmed tracks (tracked and lost) are matched to high-score detections by optimal
//!    assignment (Hungarian / Jonker-Volgenant) on the cost `1 - IoU`;
//! 3. remaining *tracked* tracks are matched to low-score detections;
//! 4. unconfirmed tracks are matched to the remaining high detections, and are removed at
//!    their first miss;
//! 5. unmatched high detections start tracks; tracks lost longer than `track_buffer` frames
//!    — or, with [`Tracker::update_at`], longer than `max_lost_secs` of stream time — are
//!    removed.
//!
//! Differences from ByteTrack: association only pairs a track with detections of its own
//! class; a track is confirmed after `min_hits` consecutive matches (Frigate's
//! `min_initialized`) rather than after its second frame; ids are handed out at confirmation,
//! so the ids callers see are dense; `remove_duplicate_stracks` is not done.

use std::array::from_fn;

/// Tracker thresholds (Ultralytics `bytetrack.yaml` defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// First association uses detections with score `>=` this (`track_high_thresh`, 0.25).
    pub high_thresh: f32,
    /// Second association uses low detections with score in `[low_thresh, high_thresh)`
    /// (`track_low_thresh`, 0.1).
    pub low_thresh: f32,
    /// Unmatched high detections with score `>=` this start a track (`new_track_thresh`, 0.25).
    pub new_track_thresh: f32,
    /// Minimum IoU for the first association (0.2; ByteTrack's `match_thresh` 0.8 is the
    /// IoU *distance* `1 - IoU`).
    pub match_iou: f32,
    /// Minimum IoU for the second association (0.5, ByteTrack's fixed distance 0.5).
    pub second_match_iou: f32,
    /// Frames a lost track is kept before removal (`track_buffer`, 30).
    pub track_buffer: u32,
    /// Seconds a lost track is kept before removal, whatever the frame count (`None`: frames
    /// only). A camera analysed slower than its detect rate (skipped ticks) still drops a
    /// vehicle that left after Frigate's `max_disappeared` time, 5 s.
    pub max_lost_secs: Option<f64>,
    /// Consecutive matched frames before a track is confirmed (2; Frigate `min_initialized`).
    /// 0 is treated as 1.
    pub min_hits: u32,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            high_thresh: 0.25,
            low_thresh: 0.1,
            new_track_thresh: 0.25,
            match_iou: 0.2,
            second_match_iou: 0.5,
            track_buffer: 30,
            max_lost_secs: None,
            min_hits: 2,
        }
    }
}

impl TrackerConfig {
    /// Defaults scaled to an analysis rate of `fps` frames per second: `track_buffer` =
    /// `max(round(fps * 5), 10)` frames (Frigate's `max_disappeared`, 5 s) and `min_hits` =
    /// `floor(fps / 2)` clamped to `2..=10` (Frigate's `min_initialized`, half a second, capped
    /// so fast streams confirm within 10 frames). A non-finite or non-positive `fps` is read
    /// as Frigate's default detect rate, 5 fps.
    pub fn for_fps(fps: f32) -> Self {
        let fps = if fps.is_finite() && fps > 0.0 {
            fps
        } else {
            5.0
        };
        // `as` saturates float-to-int casts; the values are finite and non-negative here.
        let track_buffer = ((fps * 5.0).round() as u32).max(10);
        let min_hits = ((fps / 2.0).floor() as u32).clamp(2, 10);
        Self {
            track_buffer,
            max_lost_secs: Some(5.0),
            min_hits,
            ..Self::default()
        }
    }
}

/// One detection given to the tracker. `bbox` = `[x1, y1, x2, y2]` in source pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackInput {
    pub bbox: [f32; 4],
    pub score: f32,
    pub class: u32,
}

/// One confirmed track after an update.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedObject {
    /// Starts at 1, unique per [`Tracker`], never reused.
    pub track_id: u64,
    /// The matched detection's box this frame, `[x1, y1, x2, y2]` in source pixels.
    pub bbox: [f32; 4],
    /// The matched detection's score.
    pub score: f32,
    pub class: u32,
    /// Index into the update's input slice of the detection matched this frame (always
    /// `Some` in [`Tracker::update`]'s output, which lists only matched tracks).
    pub detection: Option<usize>,
    /// Frames matched in total.
    pub hits: u32,
    /// Frames the track has existed, counting the one it started in (1 on its first frame).
    pub age: u32,
}

/// IoU (intersection over union) of two `[x1, y1, x2, y2]` boxes; 0 when the union is empty
/// or not finite (disjoint boxes, zero-area boxes, NaN).
pub fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let union = area(a) + area(b) - inter;
    let v = inter / union;
    if union > 0.0 && v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// `kalman_filter.py` `_std_weight_position` and `_std_weight_velocity`.
const STD_POS: f64 = 1.0 / 20.0;
const STD_VEL: f64 = 1.0 / 160.0;

/// ByteTrack's constant-velocity Kalman filter over `[cx, cy, a, h]` and their velocities
/// (unit time step = one frame). Noise scales with the box height, floored at 1 px.
#[derive(Debug, Clone)]
struct Kalman {
    mean: [f64; 8],
    cov: [[f64; 8]; 8],
}

impl Kalman {
    /// `KalmanFilter.initiate`.
    fn new(z: [f64; 4]) -> Self {
        let h = z[3].abs().max(1.0);
        let (p, v) = (2.0 * STD_POS * h, 10.0 * STD_VEL * h);
        let std = [p, p, 1e-2, p, v, v, 1e-5, v];
        let cov = from_fn(|i| from_fn(|j| if i == j { std[i] * std[i] } else { 0.0 }));
        Self {
            mean: from_fn(|i| if i < 4 { z[i] } else { 0.0 }),
            cov,
        }
    }

    /// `KalmanFilter.predict`: `x = F x`, `P = F P F^T + Q` with `F = [[I, I], [0, I]]`.
    fn predict(&mut self) {
        let h = self.mean[3].abs().max(1.0);
        let (p, v) = (STD_POS * h, STD_VEL * h);
        let q = [p, p, 1e-2, p, v, v, 1e-5, v];
        let m = self.mean;
        self.mean = from_fn(|i| if i < 4 { m[i] + m[i + 4] } else { m[i] });
        let c = self.cov;
        self.cov = from_fn(|i| {
            from_fn(|j| {
                let mut x = c[i][j];
                if i < 4 {
                    x += c[i + 4][j];
                }
                if j < 4 {
                    x += c[i][j + 4];
                }
                if i < 4 && j < 4 {
                    x += c[i + 4][j + 4];
                }
                if i == j {
                    x += q[i] * q[i];
                }
                x
            })
        });
    }

    /// `KalmanFilter.project` + `update`: `S = H P H^T + R`, `K = P H^T S^-1`,
    /// `x += K (z - H x)`, `P -= K S K^T` (= `K (P H^T)^T`).
    fn update(&mut self, z: [f64; 4]) {
        let h = self.mean[3].abs().max(1.0);
        let r = [STD_POS * h, STD_POS * h, 1e-1, STD_POS * h];
        let c = self.cov;
        let s: [[f64; 4]; 4] =
            from_fn(|i| from_fn(|j| c[i][j] + if i == j { r[i] * r[i] } else { 0.0 }));
        let Some(si) = invert4(&s) else {
            *self = Self::new(z);
            return;
        };
        let k: [[f64; 4]; 8] = from_fn(|i| from_fn(|j| (0..4).map(|l| c[i][l] * si[l][j]).sum()));
        let m = self.mean;
        let innov: [f64; 4] = from_fn(|i| z[i] - m[i]);
        self.mean = from_fn(|i| m[i] + (0..4).map(|j| k[i][j] * innov[j]).sum::<f64>());
        self.cov =
            from_fn(|i| from_fn(|j| c[i][j] - (0..4).map(|l| k[i][l] * c[j][l]).sum::<f64>()));
    }

    /// The current box estimate as `[x1, y1, x2, y2]`.
    fn bbox(&self) -> [f32; 4] {
        let [cx, cy, a, h] = [
            self.mean[0],
            self.mean[1],
            self.mean[2],
            self.mean[3].max(0.0),
        ];
        let w = (a * h).max(0.0);
        [
            (cx - w / 2.0) as f32,
            (cy - h / 2.0) as f32,
            (cx + w / 2.0) as f32,
            (cy + h / 2.0) as f32,
        ]
    }
}

/// Inverse of a 4x4 matrix by Gauss-Jordan elimination with partial pivoting; `None` when
/// (numerically) singular.
#[allow(clippy::needless_range_loop)]
fn invert4(m: &[[f64; 4]; 4]) -> Option<[[f64; 4]; 4]> {
    let mut a = *m;
    let mut inv: [[f64; 4]; 4] = from_fn(|i| from_fn(|j| if i == j { 1.0 } else { 0.0 }));
    for col in 0..4 {
        let piv = (col..4).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        let pivot = a[piv][col].abs();
        if pivot.is_nan() || pivot <= 1e-12 {
            return None;
        }
        a.swap(col, piv);
        inv.swap(col, piv);
        let d = a[col][col];
        for j in 0..4 {
            a[col][j] /= d;
            inv[col][j] /= d;
        }
        for row in 0..4 {
            if row != col {
                let f = a[row][col];
                for j in 0..4 {
                    a[row][j] -= f * a[col][j];
                    inv[row][j] -= f * inv[col][j];
                }
            }
        }
    }
    Some(inv)
}

/// `[x1, y1, x2, y2]` to the filter's measurement `[cx, cy, w / h, h]` (h floored at 1e-3).
fn to_xyah(b: &[f32; 4]) -> [f64; 4] {
    let [x1, y1, x2, y2] = b.map(f64::from);
    let h = (y2 - y1).max(1e-3);
    [(x1 + x2) / 2.0, (y1 + y2) / 2.0, (x2 - x1).max(0.0) / h, h]
}

/// Minimum-cost assignment of an `n x m` row-major `cost` matrix with `n <= m` (Hungarian
/// algorithm with potentials, O(n^2 m)). Returns the column of each row. Costs must be finite.
fn hungarian(cost: &[f64], n: usize, m: usize) -> Vec<usize> {
    // 1-based potentials `u` (rows) and `v` (columns); `p[j]` = row assigned to column j.
    let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; m + 1]);
    let (mut p, mut way) = (vec![0usize; m + 1], vec![0usize; m + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let (mut delta, mut j1) = (f64::INFINITY, 0);
            for j in 1..=m {
                if !used[j] {
                    let cur = cost[(i0 - 1) * m + j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            if j1 == 0 {
                break; // only with non-finite costs or n > m; nothing left to improve
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        while j0 != 0 {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        }
    }
    let mut rows = vec![usize::MAX; n];
    for (j, &i) in p.iter().enumerate().skip(1) {
        if i != 0 {
            rows[i - 1] = j - 1;
        }
    }
    rows
}

/// `lap.lapjv(cost, extend_cost=True, cost_limit=limit)` as ByteTrack's `linear_assignment`
/// uses it: leaving a row or a column unmatched costs `limit / 2` each, so no pair dearer
/// than `limit` is taken. `cost[r][c]` not finite = forbidden. Returns each row's column.
fn linear_assignment(cost: &[Vec<f64>], cols: usize, limit: f64) -> Vec<Option<usize>> {
    let rows = cost.len();
    if rows == 0 || cols == 0 {
        return vec![None; rows];
    }
    let n = rows + cols;
    let limit = if limit.is_finite() {
        limit.max(0.0)
    } else {
        1.0
    };
    let pair = |r: usize, c: usize| {
        cost[r]
            .get(c)
            .copied()
            .filter(|v| v.is_finite() && *v <= limit)
    };
    let mut m = vec![0.0; n * n];
    for (idx, cell) in m.iter_mut().enumerate() {
        let (r, c) = (idx / n, idx % n);
        *cell = match (r < rows, c < cols) {
            (true, true) => pair(r, c).unwrap_or(limit + 1.0),
            (false, false) => 0.0,
            // A hair above limit / 2 so a pair at exactly `limit` is still taken.
            _ => limit / 2.0 + 1e-9,
        };
    }
    let cols_of = hungarian(&m, n, n);
    (0..rows)
        .map(|r| {
            cols_of
                .get(r)
                .copied()
                .filter(|&c| c < cols && pair(r, c).is_some())
        })
        .collect()
}

#[derive(Debug, Clone)]
struct Track {
    /// 0 until confirmed.
    id: u64,
    kf: Kalman,
    class: u32,
    hits: u32,
    age: u32,
    since_update: u32,
    /// Stream time of its last match, seconds.
    seen_at: f64,
    lost: bool,
    matched: Option<usize>,
}

/// Multi-object tracker state for one stream; call [`Tracker::update`] once per analysed frame.
#[derive(Debug, Clone)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<Track>,
    next_id: u64,
    removed: Vec<u64>,
    /// Stream time of the current update, seconds.
    now: f64,
}

/// Matched `(track, detection)` pairs, unmatched tracks, unmatched detections.
type Association = (Vec<(usize, usize)>, Vec<usize>, Vec<usize>);

impl Tracker {
    pub fn new(config: TrackerConfig) -> Self {
        Self {
            config,
            tracks: Vec::new(),
            next_id: 1,
            removed: Vec::new(),
            now: 0.0,
        }
    }

    /// [`Self::update`] at stream time `now` (seconds, non-decreasing): lost tracks also
    /// expire after `max_lost_secs`.
    pub fn update_at(&mut self, detections: &[TrackInput], now: f64) -> Vec<TrackedObject> {
        if now.is_finite() {
            self.now = self.now.max(now);
        }
        self.update(detections)
    }

    /// Advances one frame. Returns the confirmed tracks that were matched this frame
    /// (`detection = Some`), in `track_id` order. Detections with a non-finite box or score
    /// are ignored.
    pub fn update(&mut self, detections: &[TrackInput]) -> Vec<TrackedObject> {
        let cfg = self.config.clone();
        for t in &mut self.tracks {
            t.matched = None;
            if t.lost {
                t.kf.mean[7] = 0.0; // STrack.multi_predict: lost tracks stop growing
            }
            t.kf.predict();
            t.age = t.age.saturating_add(1);
            t.since_update = t.since_update.saturating_add(1);
        }
        let valid = |d: &TrackInput| d.score.is_finite() && d.bbox.iter().all(|v| v.is_finite());
        let (mut high, mut low) = (Vec::new(), Vec::new());
        for (i, d) in detections.iter().enumerate().filter(|(_, d)| valid(d)) {
            if d.score >= cfg.high_thresh {
                high.push(i);
            } else if d.score >= cfg.low_thresh {
                low.push(i);
            }
        }
        let (pool, unconfirmed): (Vec<usize>, Vec<usize>) =
            (0..self.tracks.len()).partition(|&i| self.tracks[i].id != 0);

        let (m1, rest_pool, rest_high) = self.associate(&pool, &high, detections, cfg.match_iou);
        self.apply(&m1, detections);
        let tracked: Vec<usize> = rest_pool
            .into_iter()
            .filter(|&i| !self.tracks[i].lost)
            .collect();
        let (m2, rest_tracked, _) =
            self.associate(&tracked, &low, detections, cfg.second_match_iou);
        self.apply(&m2, detections);
        for i in rest_tracked {
            self.tracks[i].lost = true;
        }
        let (m3, rest_unconf, rest_high) =
            self.associate(&unconfirmed, &rest_high, detections, cfg.match_iou);
        self.apply(&m3, detections);

        let mut remove = vec![false; self.tracks.len()];
        for i in rest_unconf {
            remove[i] = true;
        }
        for (i, t) in self.tracks.iter().enumerate() {
            let expired = cfg.max_lost_secs.is_some_and(|m| self.now - t.seen_at > m);
            if t.lost && (t.since_update > cfg.track_buffer || expired) {
                remove[i] = true;
                self.removed.push(t.id);
            }
        }
        let mut flags = remove.into_iter();
        self.tracks.retain(|_| !flags.next().unwrap_or(false));

        for d in rest_high {
            if detections[d].score >= cfg.new_track_thresh {
                let kf = Kalman::new(to_xyah(&detections[d].bbox));
                let class = detections[d].class;
                self.tracks.push(Track {
                    id: 0,
                    kf,
                    class,
                    hits: 1,
                    age: 1,
                    since_update: 0,
                    seen_at: self.now,
                    lost: false,
                    matched: Some(d),
                });
                if cfg.min_hits <= 1 {
                    let last = self.tracks.len() - 1;
                    self.confirm(last);
                }
            }
        }
        let mut out: Vec<TrackedObject> = self
            .tracks
            .iter()
            .filter(|t| t.id != 0)
            .filter_map(|t| {
                let d = detections.get(t.matched?)?;
                Some(TrackedObject {
                    track_id: t.id,
                    bbox: d.bbox,
                    score: d.score,
                    class: t.class,
                    detection: t.matched,
                    hits: t.hits,
                    age: t.age,
                })
            })
            .collect();
        out.sort_by_key(|o| o.track_id);
        out
    }

    /// Ids of tracks removed (lost longer than `track_buffer`) since the last call; callers
    /// drop per-track state with it. Only ids that were ever confirmed (returned) appear.
    pub fn take_removed(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.removed)
    }

    /// Tracks currently alive (tracked or lost), confirmed or not.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    fn associate(
        &self,
        tracks: &[usize],
        dets: &[usize],
        inputs: &[TrackInput],
        min_iou: f32,
    ) -> Association {
        let cost: Vec<Vec<f64>> = tracks
            .iter()
            .map(|&t| {
                let (tb, class) = (self.tracks[t].kf.bbox(), self.tracks[t].class);
                dets.iter()
                    .map(|&d| {
                        let v = iou(&tb, &inputs[d].bbox);
                        if inputs[d].class == class && v >= min_iou {
                            1.0 - f64::from(v)
                        } else {
                            f64::INFINITY
                        }
                    })
                    .collect()
            })
            .collect();
        let assigned = linear_assignment(&cost, dets.len(), 1.0 - f64::from(min_iou));
        let mut det_used = vec![false; dets.len()];
        let (mut matches, mut rest_tracks) = (Vec::new(), Vec::new());
        for (r, a) in assigned.into_iter().enumerate() {
            match a {
                Some(c) => {
                    det_used[c] = true;
                    matches.push((tracks[r], dets[c]));
                }
                None => rest_tracks.push(tracks[r]),
            }
        }
        let rest_dets = dets
            .iter()
            .zip(det_used)
            .filter(|(_, u)| !u)
            .map(|(&d, _)| d)
            .collect();
        (matches, rest_tracks, rest_dets)
    }

    fn apply(&mut self, matches: &[(usize, usize)], inputs: &[TrackInput]) {
        for &(t, d) in matches {
            let track = &mut self.tracks[t];
            track.kf.update(to_xyah(&inputs[d].bbox));
            track.hits = track.hits.saturating_add(1);
            track.since_update = 0;
            track.seen_at = self.now;
            track.lost = false;
            track.matched = Some(d);
            if track.id == 0 && track.hits >= self.config.min_hits {
                self.confirm(t);
            }
        }
    }

    fn confirm(&mut self, t: usize) {
        self.tracks[t].id = self.next_id;
        self.next_id += 1;
    }
}

#[cfg(test)]
mod tests;
