//! Live analysis of one camera: its latest frame goes to the inference service at
//! `cameras.detect_fps` without ever blocking capture, then through the tracker
//! ([`super::tracker`], ByteTrack-style) and the zones ([`super::zones`], Frigate's
//! semantics); dwell alerts go to [`super::alerts`].
//!
//! At most one job per camera is queued or running: a tick that finds the previous job
//! unfinished makes the next job start the moment it ends (so a pass slower than the
//! period keeps the cores busy instead of idling until the next tick); a second tick
//! meanwhile is a *skipped* frame (counted). The job reads the camera's latest frame when
//! it starts running, not when it was queued, so a busy service analyses fresh frames.
//!
//! Which models run (monitor-api.zh-TW.txt `model_name`, ENDPOINTS.md): `yolo_v11_detect`
//! is the default detector set — the `people` model for `person` (its classes are postures,
//! kept as the `posture` attribute) and the `vehicles` model for `vehicle` and its own
//! classes — limited to what the camera's zones ask for (everything when it has no zones);
//! `alpr` runs the vehicles model and reads the plates of tracked vehicles ([`super::gate`],
//! voted per track by [`super::plates`]); any other installed model name runs that model
//! alone.

use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
    time::Instant,
};

use chrono::{DateTime, Utc};
use visionflow_models::postprocess::DetectParams;

pub use super::stats::{AnalysisStats, quantile, record};
use super::{
    capture::{Frame, Shared},
    gate,
    plates::{FinalRead, Observation, PlateSettings, PlateTracks},
    tracker::{TrackInput, Tracker, TrackerConfig},
    zones::{ZoneObject, ZoneSpec, ZoneState},
};
use crate::inference::{InferenceService, Models};

/// The default detector set's name (the document's `model_name`).
pub const DEFAULT_MODEL_SET: &str = "yolo_v11_detect";
/// The people model (classes are postures of a person).
pub const PEOPLE: &str = "people";
/// The vehicles model.
pub const VEHICLES: &str = "vehicles";
/// The plate camera's model set: the vehicles model, then plate reading per track.
pub const PLATES: &str = "alpr";

/// One zone as the analysis needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneInfo {
    /// Id.
    pub id: i32,
    /// Name.
    pub name: String,
    /// Vertices, source pixels.
    pub polygon: Vec<[f64; 2]>,
    /// Dwell before an alert, seconds.
    pub alert_duration: i32,
    /// Deliver alerts.
    pub notification_enabled: bool,
    /// Classes (empty = all).
    pub classes: Vec<String>,
}

/// What a camera's analysis runs with; replaced when zones or the model change.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisConfig {
    /// `model_name` of the camera.
    pub model_name: String,
    /// Its zones.
    pub zones: Vec<ZoneInfo>,
}

impl AnalysisConfig {
    /// The models to run, in order.
    pub fn plan(&self) -> Vec<String> {
        if self.reads_plates() {
            return vec![VEHICLES.into()];
        }
        if self.model_name != DEFAULT_MODEL_SET {
            return vec![self.model_name.clone()];
        }
        if self.zones.is_empty() {
            return vec![PEOPLE.into(), VEHICLES.into()];
        }
        let any = |pred: &dyn Fn(&str) -> bool| {
            self.zones
                .iter()
                .any(|z| z.classes.is_empty() || z.classes.iter().any(|c| pred(c)))
        };
        let mut plan = Vec::new();
        if any(&|c| {
            c == "person" || c.eq_ignore_ascii_case("normal") || c.eq_ignore_ascii_case("fall")
        }) {
            plan.push(PEOPLE.into());
        }
        if any(&|c| {
            c != "person" && !c.eq_ignore_ascii_case("normal") && !c.eq_ignore_ascii_case("fall")
        }) {
            plan.push(VEHICLES.into());
        }
        plan
    }
}

impl AnalysisConfig {
    /// Whether tracked vehicles' plates are read (`model_name` `alpr`).
    pub fn reads_plates(&self) -> bool {
        self.model_name == PLATES
    }
}

/// A tracked object of one analysed frame.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveObject {
    /// Track id (unique per camera worker).
    pub track_id: u64,
    /// `person` for the people model, else the model's class (`car`, `bus` …).
    pub label: String,
    /// The model that saw it.
    pub model: String,
    /// The model's raw class (for people: the posture, `Normal` / `Fall`).
    pub class_name: String,
    /// Detection confidence, 0–1.
    pub confidence: f32,
    /// bbox x1, y1, x2, y2, source pixels.
    pub bbox: [f32; 4],
    /// Zones its anchor (bottom centre) is counted in.
    pub zones: Vec<i32>,
}

impl LiveObject {
    /// Names a zone's `detection_classes` can match: the label, the raw class, and
    /// `vehicle` for anything the vehicles model found.
    pub fn class_names(&self) -> Vec<String> {
        let mut v = vec![self.label.clone()];
        if self.class_name != self.label {
            v.push(self.class_name.clone());
        }
        if self.model == VEHICLES {
            v.push("vehicle".into());
        }
        v
    }

    /// The posture attribute of a person (`normal`, `fall`), if the people model saw it.
    pub fn posture(&self) -> Option<String> {
        (self.model == PEOPLE).then(|| self.class_name.to_lowercase())
    }
}

/// The outcome of one analysed frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameResult {
    /// Frame sequence number.
    pub seq: u64,
    /// When the frame was grabbed.
    pub captured_at: DateTime<Utc>,
    /// Frame size, pixels.
    pub width: u32,
    /// Frame size, pixels.
    pub height: u32,
    /// Tracked objects.
    pub objects: Vec<LiveObject>,
    /// Zones occupied after this frame.
    pub occupied: Vec<i32>,
    /// Model time, milliseconds.
    pub inference_ms: f64,
    /// Grab → result, milliseconds.
    pub latency_ms: f64,
}

/// A dwell alert with what its snapshot and notification need.
#[derive(Debug, Clone)]
pub struct RaisedAlert {
    /// The frame that completed the dwell.
    pub frame: Arc<Frame>,
    /// The object.
    pub object: LiveObject,
    /// The zone.
    pub zone: ZoneInfo,
    /// Seconds it has been in the zone.
    pub dwell_secs: f64,
}

/// A raw detection from one model.
#[derive(Debug, Clone)]
struct RawDet {
    model: String,
    class_name: String,
    score: f32,
    bbox: [f32; 4],
    /// The plate read inside it (plate cameras).
    plate: Option<visionflow_models::alpr::PlateRead>,
}

/// Runs the plan's detectors on `frame`; with `plates` (the last boxes of tracks whose
/// plate is final), also reads the plates of the vehicles worth reading ([`gate`]).
fn detect(
    models: &Models,
    plan: &[String],
    frame: &Frame,
    plates: Option<&[[f32; 4]]>,
) -> anyhow::Result<Vec<RawDet>> {
    let params = DetectParams {
        conf: 0.25,
        iou: 0.7,
        max_det: 100,
    };
    let mut out = Vec::new();
    for name in plan {
        let Some(det) = models.detector(name) else {
            continue;
        };
        let names = &det.info().names;
        let img = &frame.image;
        for d in det.detect_boxes(&img.data, img.width, img.height, &params)? {
            out.push(RawDet {
                model: name.clone(),
                class_name: names
                    .get(d.class_id)
                    .cloned()
                    .unwrap_or_else(|| format!("class{}", d.class_id)),
                score: d.confidence,
                bbox: d.bbox,
                plate: None,
            });
        }
    }
    if let (Some(done), Some(alpr)) = (plates, models.alpr.as_ref()) {
        let boxes: Vec<[f32; 4]> = out.iter().map(|d| d.bbox).collect();
        let scores: Vec<f32> = out.iter().map(|d| d.score).collect();
        let mut keep = gate::one_box_per_vehicle(&boxes, &scores).into_iter();
        out.retain(|_| keep.next().unwrap_or(false));
        let boxes: Vec<[f32; 4]> = out.iter().map(|d| d.bbox).collect();
        for i in gate::worth_reading(&boxes, done) {
            out[i].plate = gate::read_vehicle(alpr, frame, out[i].bbox)?;
        }
    }
    Ok(out)
}

/// Tracker + zones of one camera across frames.
pub struct Analyzer {
    tracker: Tracker,
    zones: ZoneState,
    config: AnalysisConfig,
    labels: HashMap<String, u32>,
    epoch: Instant,
    plates: PlateTracks,
    /// Last boxes of tracked vehicles whose plate is final.
    done_boxes: Vec<[f32; 4]>,
}

impl Analyzer {
    /// A fresh analyzer at `fps` analysed frames per second with zone `inertia`.
    pub fn new(config: AnalysisConfig, fps: f64, inertia: u32, plates: PlateSettings) -> Self {
        let mut zones = ZoneState::new(inertia);
        zones.set_zones(specs(&config.zones));
        Self {
            tracker: Tracker::new(TrackerConfig::for_fps(fps as f32)),
            zones,
            config,
            labels: HashMap::new(),
            epoch: Instant::now(),
            plates: PlateTracks::new(plates),
            done_boxes: Vec::new(),
        }
    }

    /// What the next job reads plates around: `None` when the camera reads none, else the
    /// boxes not to read again.
    fn plate_job(&self) -> Option<Vec<[f32; 4]>> {
        self.config.reads_plates().then(|| self.done_boxes.clone())
    }

    /// Replaces the configuration (zones keep their state when unchanged).
    pub fn set_config(&mut self, config: AnalysisConfig) {
        self.zones.set_zones(specs(&config.zones));
        self.config = config;
    }

    fn step(
        &mut self,
        frame: &Arc<Frame>,
        dets: Vec<RawDet>,
        inference_ms: f64,
    ) -> (FrameResult, Vec<RaisedAlert>, Vec<FinalRead>) {
        let mut inputs = Vec::with_capacity(dets.len());
        // A plate camera follows vehicles whatever class the model gives each frame: a car
        // filling the frame flickers between car, van and lorry, and the tracker only pairs
        // boxes of one class.
        let one_vehicle_class = self.config.reads_plates();
        for d in &dets {
            let label = if d.model == PEOPLE {
                "person".to_owned()
            } else if one_vehicle_class && d.model == VEHICLES {
                "vehicle".to_owned()
            } else {
                d.class_name.clone()
            };
            let n = self.labels.len() as u32;
            let class = *self.labels.entry(label).or_insert(n);
            inputs.push(TrackInput {
                bbox: d.bbox,
                score: d.score,
                class,
            });
        }
        let t = frame.at.saturating_duration_since(self.epoch).as_secs_f64();
        let tracked = self.tracker.update_at(&inputs, t);
        let mut finals = Vec::new();
        for id in self.tracker.take_removed() {
            self.zones.forget(id);
            finals.extend(self.plates.end(id));
        }
        for t in &tracked {
            let Some(d) = t.detection.and_then(|i| dets.get(i)) else {
                continue;
            };
            if let Some(p) = &d.plate {
                let obs = Observation {
                    frame: frame.clone(),
                    vehicle_class: d.class_name.clone(),
                    vehicle_confidence: d.score,
                    vehicle_bbox: d.bbox,
                    text: p.text.clone(),
                    raw_text: p.raw_text.clone(),
                    confidence: p.confidence,
                    plate_bbox: p.bbox,
                    inference_ms,
                };
                finals.extend(self.plates.observe(t.track_id, obs));
            }
        }
        self.done_boxes = tracked
            .iter()
            .filter(|t| self.plates.is_done(t.track_id))
            .map(|t| t.bbox)
            .collect();
        let mut objects: Vec<LiveObject> = tracked
            .iter()
            .filter_map(|t| {
                let d = &dets[t.detection?];
                Some(LiveObject {
                    track_id: t.track_id,
                    label: if d.model == PEOPLE {
                        "person".into()
                    } else {
                        d.class_name.clone()
                    },
                    model: d.model.clone(),
                    class_name: d.class_name.clone(),
                    confidence: d.score,
                    bbox: t.bbox,
                    zones: Vec::new(),
                })
            })
            .collect();
        let zone_objects: Vec<ZoneObject> = objects
            .iter()
            .map(|o| ZoneObject {
                track_id: o.track_id,
                bbox: o.bbox,
                classes: o.class_names(),
            })
            .collect();
        let alerts = self.zones.update(t, &zone_objects);
        let occupied = self.zones.occupied();
        for o in &mut objects {
            o.zones = self.zones.zones_of(o.track_id);
        }
        let raised = alerts
            .into_iter()
            .filter_map(|a| {
                let object = objects.iter().find(|o| o.track_id == a.track_id)?.clone();
                let zone = self
                    .config
                    .zones
                    .iter()
                    .find(|z| z.id == a.zone_id)?
                    .clone();
                Some(RaisedAlert {
                    frame: frame.clone(),
                    object,
                    zone,
                    dwell_secs: a.at - a.entered_at,
                })
            })
            .collect();
        let result = FrameResult {
            seq: frame.seq,
            captured_at: frame.captured_at,
            width: frame.image.width as u32,
            height: frame.image.height as u32,
            objects,
            occupied,
            inference_ms,
            latency_ms: frame.at.elapsed().as_secs_f64() * 1e3,
        };
        (result, raised, finals)
    }
}

fn specs(zones: &[ZoneInfo]) -> Vec<ZoneSpec> {
    zones
        .iter()
        .map(|z| ZoneSpec {
            zone_id: z.id,
            polygon: super::zones::Polygon {
                points: z
                    .polygon
                    .iter()
                    .map(|p| [p[0] as f32, p[1] as f32])
                    .collect(),
            },
            dwell_secs: f64::from(z.alert_duration),
            classes: z.classes.clone(),
        })
        .collect()
}

/// Called with every frame result (e.g. to publish `cameraDetections`).
pub type ResultHook = Box<dyn Fn(&Arc<FrameResult>) + Send + Sync>;

/// What the analysis loop of one camera runs with.
pub struct AnalysisJob {
    /// Camera id (for logs).
    pub camera_id: i32,
    /// The capture side.
    pub shared: Arc<Shared>,
    /// The inference threads.
    pub inference: Arc<InferenceService>,
    /// Configuration updates.
    pub config: tokio::sync::watch::Receiver<AnalysisConfig>,
    /// Results of each analysed frame.
    pub results: tokio::sync::watch::Sender<Option<Arc<FrameResult>>>,
    /// Where alerts go.
    pub alerts: tokio::sync::mpsc::UnboundedSender<RaisedAlert>,
    /// Where final plate reads go (plate cameras).
    pub plates: tokio::sync::mpsc::UnboundedSender<FinalRead>,
    /// When a track's plate is final.
    pub plate_settings: PlateSettings,
    /// Called with every frame result (publishes `cameraDetections`).
    pub on_result: ResultHook,
    /// Counters.
    pub stats: Arc<AnalysisStats>,
    /// Analysis rate, frames/s.
    pub fps: f64,
    /// Zone inertia, frames.
    pub inertia: u32,
    /// Stop signal (`true` = stop).
    pub stop: tokio::sync::watch::Receiver<bool>,
}

type JobOutput = anyhow::Result<Option<(Arc<Frame>, Vec<RawDet>)>>;

/// Starts one analysis job on the camera's latest frame if it is newer than `last_seq`;
/// whether one was started.
fn start_job(
    job: &AnalysisJob,
    analyzer: &Analyzer,
    done_tx: &tokio::sync::mpsc::Sender<(crate::error::AppResult<(JobOutput, f64)>,)>,
    last_seq: u64,
) -> bool {
    let fresh = job
        .shared
        .frames
        .borrow()
        .as_ref()
        .is_some_and(|f| f.seq != last_seq);
    if !fresh {
        return false;
    }
    let frames = job.shared.frames.subscribe();
    let plan = analyzer.config.plan();
    let plates = analyzer.plate_job();
    let inference = job.inference.clone();
    let done = done_tx.clone();
    tokio::spawn(async move {
        let outcome = inference
            .run(move |models| -> JobOutput {
                let frame = frames.borrow().clone();
                match frame {
                    Some(f) if f.seq != last_seq => {
                        let dets = detect(models, &plan, &f, plates.as_deref())?;
                        Ok(Some((f, dets)))
                    }
                    _ => Ok(None),
                }
            })
            .await;
        let _ = done.send((outcome,)).await;
    });
    true
}

/// The analysis loop; returns when `job.stop` turns true or its sender is dropped.
pub async fn run(mut job: AnalysisJob) {
    let mut analyzer = Analyzer::new(
        job.config.borrow().clone(),
        job.fps,
        job.inertia,
        job.plate_settings,
    );
    let period = std::time::Duration::from_secs_f64(1.0 / job.fps.max(0.1));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (done_tx, mut done_rx) =
        tokio::sync::mpsc::channel::<(crate::error::AppResult<(JobOutput, f64)>,)>(1);
    let mut in_flight = false;
    // A tick came while the job ran: start the next one when it ends (no idle wait for
    // the following tick, so a pass slower than the period still keeps the cores busy).
    let mut due = false;
    let mut last_seq = 0u64;
    let mut window = (Instant::now(), 0u64);
    loop {
        tokio::select! {
            changed = job.stop.changed() => {
                if changed.is_err() || *job.stop.borrow() {
                    break;
                }
            }
            changed = job.config.changed() => {
                if changed.is_err() {
                    break;
                }
                analyzer.set_config(job.config.borrow_and_update().clone());
            }
            Some((outcome,)) = done_rx.recv() => {
                in_flight = false;
                let caught_up = std::mem::take(&mut due);
                match outcome {
                    Ok((Ok(Some((frame, dets))), secs)) => {
                        last_seq = frame.seq;
                        let (result, alerts, finals) = analyzer.step(&frame, dets, secs * 1e3);
                        job.stats.analysed.fetch_add(1, Ordering::Relaxed);
                        record(&job.stats.latencies, result.latency_ms);
                        window.1 += 1;
                        let span = window.0.elapsed().as_secs_f64();
                        if span >= 2.0 {
                            job.stats.fps_bits.store((window.1 as f64 / span).to_bits(), Ordering::Relaxed);
                            window = (Instant::now(), 0);
                        }
                        let result = Arc::new(result);
                        (job.on_result)(&result);
                        job.results.send_replace(Some(result));
                        for a in alerts {
                            let _ = job.alerts.send(a);
                        }
                        for f in finals {
                            let _ = job.plates.send(f);
                        }
                    }
                    Ok((Ok(None), _)) => {}
                    Ok((Err(e), _)) => tracing::warn!(camera_id = job.camera_id, "analysis failed: {e:#}"),
                    Err(_) => {
                        job.stats.refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if caught_up {
                    in_flight = start_job(&job, &analyzer, &done_tx, last_seq);
                }
            }
            _ = tick.tick() => {
                if in_flight {
                    // Behind: the job starts as soon as the running one ends; a second
                    // tick meanwhile is a frame skipped.
                    if due {
                        job.stats.skipped.fetch_add(1, Ordering::Relaxed);
                    }
                    due = true;
                    continue;
                }
                in_flight = start_job(&job, &analyzer, &done_tx, last_seq);
            }
        }
    }
    // Reads of vehicles still in view are not lost with the worker.
    for f in analyzer.plates.flush() {
        let _ = job.plates.send(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(classes: &[&str]) -> ZoneInfo {
        ZoneInfo {
            id: 1,
            name: "z".into(),
            polygon: vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]],
            alert_duration: 2,
            notification_enabled: true,
            classes: classes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_plan_follows_the_zones_and_the_model_name() {
        let cfg = |m: &str, zones: Vec<ZoneInfo>| AnalysisConfig {
            model_name: m.into(),
            zones,
        };
        assert_eq!(
            cfg(DEFAULT_MODEL_SET, vec![]).plan(),
            vec![PEOPLE, VEHICLES]
        );
        assert_eq!(
            cfg(DEFAULT_MODEL_SET, vec![zone(&["person"])]).plan(),
            vec![PEOPLE]
        );
        assert_eq!(
            cfg(DEFAULT_MODEL_SET, vec![zone(&["vehicle"])]).plan(),
            vec![VEHICLES]
        );
        assert_eq!(
            cfg(DEFAULT_MODEL_SET, vec![zone(&["car"]), zone(&["person"])]).plan(),
            vec![PEOPLE, VEHICLES]
        );
        assert_eq!(
            cfg(DEFAULT_MODEL_SET, vec![zone(&[])]).plan(),
            vec![PEOPLE, VEHICLES]
        );
        assert_eq!(cfg("people", vec![zone(&["car"])]).plan(), vec!["people"]);
        // A plate camera runs the vehicles model whatever its zones ask for, and reads plates.
        let plates = cfg(PLATES, vec![zone(&["person"])]);
        assert_eq!(plates.plan(), vec![VEHICLES]);
        assert!(plates.reads_plates());
        assert!(!cfg(DEFAULT_MODEL_SET, vec![]).reads_plates());
    }
}
