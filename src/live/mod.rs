//! Live cameras: capture threads, analysis tasks and their registry.
//!
//! [`LiveCameras`] owns one worker per camera: a capture thread ([`capture`]) keeping the
//! latest frame, and — when `recognition` is on — an analysis task ([`analysis`]) feeding
//! the inference service, the tracker ([`tracker`]) and the zones ([`zones`]); alerts go
//! through [`alerts`]. A plate camera (`model_name` `alpr`) also reads the plates of its
//! tracked vehicles ([`gate`]), votes them per track ([`plates`]) and hands each final read
//! to a [`PlateSink`] (the alpr domain stores it as a detection session). Status changes
//! are stored and published by one task. Workers start in
//! `Application::bind` for every stored camera, follow the camera service's changes
//! (restart on a URL change, stop on delete) and stop before the HTTP server on shutdown.

pub mod alerts;
pub mod analysis;
pub mod annotate;
pub mod attributes;
pub mod capture;
pub mod gate;
pub mod plate_vote;
pub mod plates;
pub mod stats;
pub mod tracker;
pub mod zones;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait as _};
use tokio::sync::{mpsc, watch};
use tracing::Instrument as _;
use uuid::Uuid;

use self::{
    alerts::AlertSink,
    analysis::{AnalysisConfig, AnalysisStats, FrameResult, ZoneInfo},
    capture::{CaptureStats, Shared, SourceFactory, StatusChange, Stop, Timings},
    plates::{FinalRead, PlateSettings},
};
use crate::{
    ai::ChatClient,
    crypto::SecretBox,
    db::entities::{camera, zone},
    domain::cameras::validate::{stored_classes, stored_polygon},
    events::{Event, EventBus},
    inference::InferenceService,
    rtsp_auth::RtspAuth,
    storage::ArtifactStore,
};

/// Settings of the live path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveSettings {
    /// Analysed frames per second per camera (Frigate's detect fps default, 5).
    pub detect_fps: f64,
    /// Consecutive in-zone frames before an object counts in a zone (Frigate's inertia, 3).
    pub inertia: u32,
    /// Capture timings.
    pub timings: Timings,
    /// When a plate camera's read of a vehicle is final.
    pub plates: PlateSettings,
}

/// Where a plate camera's final reads go: one detection session per read, stored and
/// published like an upload (implemented by the alpr domain).
pub trait PlateSink: Send + Sync + 'static {
    /// Stores one final read of a camera's tracked vehicle. Failures are the sink's to log.
    fn store(
        &self,
        account_id: Uuid,
        camera_id: i32,
        read: FinalRead,
    ) -> futures_util::future::BoxFuture<'_, ()>;
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            detect_fps: 5.0,
            inertia: 3,
            timings: Timings::default(),
            plates: PlateSettings::default(),
        }
    }
}

struct AnalysisHandle {
    stop: watch::Sender<bool>,
    config: watch::Sender<AnalysisConfig>,
    task: tokio::task::JoinHandle<()>,
}

struct Worker {
    account_id: Uuid,
    generation: u64,
    url: String,
    shared: Arc<Shared>,
    stop: Arc<Stop>,
    thread: Option<std::thread::JoinHandle<()>>,
    analysis: Option<AnalysisHandle>,
    results: watch::Sender<Option<Arc<FrameResult>>>,
    astats: Arc<AnalysisStats>,
    zones: Arc<Mutex<Vec<ZoneInfo>>>,
}

/// What media routes read of a running camera.
#[derive(Clone)]
pub struct View {
    /// Capture side: latest frame, viewer count.
    pub shared: Arc<Shared>,
    /// Latest analysis result.
    pub results: watch::Receiver<Option<Arc<FrameResult>>>,
    /// Current zones.
    pub zones: Arc<Mutex<Vec<ZoneInfo>>>,
}

/// Counts one MJPEG viewer while alive (the capture thread then converts every frame).
pub struct ViewerGuard(Arc<Shared>);

impl ViewerGuard {
    /// Registers a viewer.
    pub fn new(shared: Arc<Shared>) -> Self {
        shared.viewers.fetch_add(1, Ordering::Relaxed);
        Self(shared)
    }
}

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        self.0.viewers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Telemetry of one camera worker.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveStats {
    /// Frames grabbed per second.
    pub capture_fps: f64,
    /// Frames analysed per second.
    pub analysed_fps: f64,
    /// Frames grabbed since the worker started.
    pub frames_grabbed: u64,
    /// Frames analysed.
    pub frames_analysed: u64,
    /// Analysis ticks skipped while the previous frame was still being analysed.
    pub frames_skipped: u64,
    /// Jobs refused by a full inference queue.
    pub jobs_refused: u64,
    /// Reconnect attempts.
    pub reconnects: u64,
    /// MJPEG viewers now.
    pub viewers: u64,
    /// Grab → analysis result latency, median and 99th percentile, milliseconds.
    pub latency_p50_ms: Option<f64>,
    /// See `latency_p50_ms`.
    pub latency_p99_ms: Option<f64>,
    /// Grab → alert stored latency, median and 99th percentile, milliseconds.
    pub alert_latency_p50_ms: Option<f64>,
    /// See `alert_latency_p50_ms`.
    pub alert_latency_p99_ms: Option<f64>,
}

/// The registry of camera workers.
pub struct LiveCameras {
    workers: Mutex<HashMap<i32, Worker>>,
    factory: Arc<dyn SourceFactory>,
    inference: Arc<InferenceService>,
    sink: AlertSink,
    plates: Arc<dyn PlateSink>,
    settings: LiveSettings,
    status_tx: mpsc::UnboundedSender<StatusChange>,
    status_rx: Mutex<Option<mpsc::UnboundedReceiver<StatusChange>>>,
    generation: AtomicU64,
    stopped: AtomicBool,
    secrets: Option<SecretBox>,
}

/// The zones of a camera as the analysis sees them.
pub fn zone_infos(zones: &[zone::Model]) -> Vec<ZoneInfo> {
    zones
        .iter()
        .map(|z| ZoneInfo {
            id: z.id,
            name: z.name.clone(),
            polygon: stored_polygon(&z.coordinates),
            alert_duration: z.alert_duration,
            notification_enabled: z.notification_enabled,
            classes: stored_classes(&z.detection_classes),
        })
        .collect()
}

impl LiveCameras {
    /// A registry; nothing runs until [`Self::start`].
    pub fn new(
        factory: Arc<dyn SourceFactory>,
        inference: Arc<InferenceService>,
        db: DatabaseConnection,
        store: ArtifactStore,
        bus: Arc<dyn EventBus>,
        plates: Arc<dyn PlateSink>,
        settings: LiveSettings,
    ) -> Self {
        let (status_tx, status_rx) = mpsc::unbounded_channel();
        Self {
            workers: Mutex::new(HashMap::new()),
            factory,
            inference,
            sink: AlertSink {
                db,
                store,
                bus,
                offpeak_interval_secs: 600.0,
                vlm: None,
            },
            plates,
            settings,
            status_tx,
            status_rx: Mutex::new(Some(status_rx)),
            generation: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            secrets: None,
        }
    }

    /// Opens cameras' sealed RTSP credentials (`cameras.rtsp_auth`) with `secrets` when
    /// connecting.
    #[must_use]
    pub fn with_secrets(mut self, secrets: SecretBox) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Devices' alerts: the off-peak interval (seconds) and the VLM of level_02 devices
    /// (`None` or an unconfigured client = no VLM readings).
    #[must_use]
    pub fn with_device_alerts(
        mut self,
        offpeak_interval_secs: f64,
        vlm: Option<ChatClient>,
    ) -> Self {
        self.sink.offpeak_interval_secs = offpeak_interval_secs;
        self.sink.vlm = vlm.filter(ChatClient::is_configured);
        self
    }

    /// The URL the capture worker opens: the stream URL with the camera's Basic
    /// credentials, if any ([`RtspAuth::connect_url`]).
    fn connect_url(&self, cam: &camera::Model) -> String {
        let auth = self
            .secrets
            .as_ref()
            .and_then(|s| RtspAuth::open(cam.rtsp_auth.as_deref(), s));
        RtspAuth::connect_url(auth.as_ref(), &cam.stream_url)
    }

    /// The settings.
    pub fn settings(&self) -> LiveSettings {
        self.settings
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Worker>> {
        self.workers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts the status writer (once); status changes are stored and published by it.
    pub fn spawn_status_writer(self: &Arc<Self>) {
        let Some(mut rx) = self.status_rx.lock().ok().and_then(|mut r| r.take()) else {
            return;
        };
        let this = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(change) = rx.recv().await {
                let Some(this) = this.upgrade() else { break };
                this.store_status(change).await;
            }
        });
    }

    async fn store_status(&self, c: StatusChange) {
        let account_id = match self.lock().get(&c.camera_id) {
            Some(w) if w.generation == c.generation => w.account_id,
            _ => return, // a stopped or restarted worker's late report
        };
        let mut row = camera::ActiveModel {
            id: Set(c.camera_id),
            status: Set(c.status.as_str().to_owned()),
            ..Default::default()
        };
        if let Some((w, h)) = c.size {
            row.width = Set(Some(w as i32));
            row.height = Set(Some(h as i32));
        }
        if let Some(t) = c.last_frame {
            row.last_active = Set(Some(t));
        }
        match self.write_status(account_id, &c, row).await {
            Ok(queued) => {
                self.sink.bus.publish(Event::CameraStatusChanged {
                    account_id,
                    camera_id: c.camera_id,
                    status: c.status.as_str().to_owned(),
                });
                if queued > 0 {
                    self.sink.bus.publish(Event::DeliveriesQueued {
                        account_id,
                        count: queued,
                    });
                }
            }
            Err(sea_orm::DbErr::RecordNotUpdated) => {}
            Err(e) => tracing::warn!(camera_id = c.camera_id, "camera status not stored: {e}"),
        }
    }

    /// Stores a status and queues its `system_status` deliveries in the same transaction.
    /// Answers how many were queued.
    async fn write_status(
        &self,
        account_id: uuid::Uuid,
        c: &StatusChange,
        row: camera::ActiveModel,
    ) -> Result<u64, sea_orm::DbErr> {
        use sea_orm::TransactionTrait as _;
        // Read before the transaction (this task is the only writer of a camera's status):
        // a SQLite transaction that reads first and writes later can fail with BUSY_SNAPSHOT.
        let before = camera::Entity::find_by_id(c.camera_id)
            .one(&self.sink.db)
            .await?
            .ok_or(sea_orm::DbErr::RecordNotUpdated)?;
        let txn = self.sink.db.begin().await?;
        camera::Entity::update(row).exec(&txn).await?;
        let new = c.status.as_str();
        let queued =
            crate::delivery::outbox::enqueue_status_change(&txn, account_id, &before, new).await?;
        txn.commit().await?;
        Ok(queued)
    }

    /// Starts (or restarts) the worker of a camera with its zones.
    pub fn start(&self, cam: &camera::Model, zones: &[zone::Model]) {
        if self.stopped.load(Ordering::Relaxed) {
            return;
        }
        let old = self.lock().remove(&cam.id);
        if let Some(old) = old {
            Self::retire(old);
        }
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let url = self.connect_url(cam);
        let shared = Arc::new(Shared {
            frames: watch::channel(None).0,
            viewers: AtomicUsize::new(0),
            stats: CaptureStats::default(),
            analysing: AtomicBool::new(cam.recognition),
            closed: AtomicBool::new(false),
        });
        let stop = Arc::new(Stop::default());
        let job = capture::CaptureJob {
            camera_id: cam.id,
            generation,
            url: url.clone(),
            factory: self.factory.clone(),
            shared: shared.clone(),
            stop: stop.clone(),
            status: self.status_tx.clone(),
            timings: self.settings.timings,
            detect_fps: self.settings.detect_fps,
        };
        let span = tracing::info_span!("camera", camera_id = cam.id);
        let thread = std::thread::Builder::new()
            .name(format!("camera-{}", cam.id))
            .spawn(move || span.in_scope(|| capture::run(job)));
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!(camera_id = cam.id, "cannot start capture thread: {e}");
                None
            }
        };
        let infos = zone_infos(zones);
        let mut worker = Worker {
            account_id: cam.account_id,
            generation,
            url,
            shared,
            stop,
            thread,
            analysis: None,
            results: watch::channel(None).0,
            astats: Arc::new(AnalysisStats::default()),
            zones: Arc::new(Mutex::new(infos.clone())),
        };
        if cam.recognition {
            worker.analysis = Some(self.start_analysis(cam, &worker, infos));
        }
        self.lock().insert(cam.id, worker);
    }

    fn start_analysis(
        &self,
        cam: &camera::Model,
        w: &Worker,
        zones: Vec<ZoneInfo>,
    ) -> AnalysisHandle {
        let (stop_tx, stop_rx) = watch::channel(false);
        let config = AnalysisConfig {
            model_name: cam.model_name.clone(),
            zones,
        };
        let (config_tx, config_rx) = watch::channel(config);
        let (alert_tx, mut alert_rx) = mpsc::unbounded_channel();
        let sink = self.sink.clone();
        let (account_id, camera_id) = (cam.account_id, cam.id);
        let astats = w.astats.clone();
        tokio::spawn(
            async move {
                while let Some(a) = alert_rx.recv().await {
                    sink.raise(account_id, camera_id, a, &astats).await;
                }
            }
            .instrument(tracing::info_span!("camera", camera_id)),
        );
        let (plate_tx, mut plate_rx) = mpsc::unbounded_channel::<FinalRead>();
        let plates = self.plates.clone();
        tokio::spawn(
            async move {
                while let Some(r) = plate_rx.recv().await {
                    plates.store(account_id, camera_id, r).await;
                }
            }
            .instrument(tracing::info_span!("camera", camera_id)),
        );
        // A device's attribute capability (plan and quota checked when recorded).
        let attr_tx = cam.is_device.then(|| {
            attributes::spawn_recorder(self.sink.db.clone(), self.sink.bus.clone(), camera_id)
        });
        let bus = self.sink.bus.clone();
        let job = analysis::AnalysisJob {
            camera_id,
            shared: w.shared.clone(),
            inference: self.inference.clone(),
            config: config_rx,
            results: w.results.clone(),
            alerts: alert_tx,
            plates: plate_tx,
            plate_settings: self.settings.plates,
            on_result: Box::new(move |r| {
                if let Some(tx) = &attr_tx
                    && r.objects.iter().any(attributes::is_fall)
                {
                    let _ = tx.send(r.clone());
                }
                bus.publish(Event::CameraDetections {
                    account_id,
                    camera_id,
                    frame: r.clone(),
                });
            }),
            stats: w.astats.clone(),
            fps: self.settings.detect_fps,
            inertia: self.settings.inertia,
            stop: stop_rx,
        };
        let task =
            tokio::spawn(analysis::run(job).instrument(tracing::info_span!("camera", camera_id)));
        AnalysisHandle {
            stop: stop_tx,
            config: config_tx,
            task,
        }
    }

    /// Follows a camera's new settings and zones: restarts the worker when the URL changed,
    /// starts or stops analysis when `recognition` changed, else swaps the configuration.
    pub fn update(&self, cam: &camera::Model, zones: &[zone::Model]) {
        let restart = match self.lock().get(&cam.id) {
            Some(w) => w.url != self.connect_url(cam),
            None => true,
        };
        if restart {
            self.start(cam, zones);
            return;
        }
        let infos = zone_infos(zones);
        let mut workers = self.lock();
        let Some(w) = workers.get_mut(&cam.id) else {
            return;
        };
        if let Ok(mut z) = w.zones.lock() {
            z.clone_from(&infos);
        }
        w.shared.analysing.store(cam.recognition, Ordering::Relaxed);
        match (cam.recognition, w.analysis.as_ref()) {
            (true, Some(a)) => {
                let cfg = AnalysisConfig {
                    model_name: cam.model_name.clone(),
                    zones: infos,
                };
                a.config.send_if_modified(|c| {
                    let changed = *c != cfg;
                    *c = cfg;
                    changed
                });
            }
            (true, None) => {
                let handle = self.start_analysis(cam, w, infos);
                w.analysis = Some(handle);
            }
            (false, Some(_)) => {
                if let Some(a) = w.analysis.take() {
                    let _ = a.stop.send(true);
                }
                w.results.send_replace(None);
            }
            (false, None) => {}
        }
    }

    fn retire(w: Worker) {
        w.shared.closed.store(true, Ordering::Relaxed);
        w.stop.stop();
        if let Some(a) = &w.analysis {
            let _ = a.stop.send(true);
        }
        if let Some(t) = w.thread {
            // A blocked read ends within the source's read timeout; join off the runtime.
            std::thread::spawn(move || {
                let _ = t.join();
            });
        }
    }

    /// Stops a camera's worker (deleted camera).
    pub fn stop(&self, camera_id: i32) {
        let w = self.lock().remove(&camera_id);
        if let Some(w) = w {
            Self::retire(w);
        }
    }

    /// Signals every worker to stop without waiting (tests' teardown); later starts are
    /// refused.
    pub fn stop_all(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        let workers: Vec<Worker> = self.lock().drain().map(|(_, w)| w).collect();
        for w in workers {
            Self::retire(w);
        }
    }

    /// Whether a worker runs for the camera.
    pub fn is_running(&self, camera_id: i32) -> bool {
        self.lock().contains_key(&camera_id)
    }

    /// Running workers.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// What media routes read of a camera.
    pub fn view(&self, camera_id: i32) -> Option<View> {
        self.lock().get(&camera_id).map(|w| View {
            shared: w.shared.clone(),
            results: w.results.subscribe(),
            zones: w.zones.clone(),
        })
    }

    /// Telemetry of a camera's worker.
    pub fn stats(&self, camera_id: i32) -> Option<LiveStats> {
        let workers = self.lock();
        let w = workers.get(&camera_id)?;
        let c = &w.shared.stats;
        let a = &w.astats;
        Some(LiveStats {
            capture_fps: c.fps(),
            analysed_fps: if w.analysis.is_some() { a.fps() } else { 0.0 },
            frames_grabbed: c.grabbed.load(Ordering::Relaxed),
            frames_analysed: a.analysed.load(Ordering::Relaxed),
            frames_skipped: a.skipped.load(Ordering::Relaxed),
            jobs_refused: a.refused.load(Ordering::Relaxed),
            reconnects: c.reconnects.load(Ordering::Relaxed),
            viewers: w.shared.viewers.load(Ordering::Relaxed) as u64,
            latency_p50_ms: analysis::quantile(&a.latencies, 0.5),
            latency_p99_ms: analysis::quantile(&a.latencies, 0.99),
            alert_latency_p50_ms: analysis::quantile(&a.alert_latencies, 0.5),
            alert_latency_p99_ms: analysis::quantile(&a.alert_latencies, 0.99),
        })
    }

    /// Stops every worker and waits (up to `grace`) for the capture threads and analysis
    /// tasks to end. Later starts are refused.
    pub async fn shutdown(&self, grace: Duration) {
        self.stopped.store(true, Ordering::Relaxed);
        let workers: Vec<Worker> = self.lock().drain().map(|(_, w)| w).collect();
        let mut threads = Vec::new();
        let mut tasks = Vec::new();
        for mut w in workers {
            w.shared.closed.store(true, Ordering::Relaxed);
            w.stop.stop();
            if let Some(a) = w.analysis.take() {
                let _ = a.stop.send(true);
                tasks.push(a.task);
            }
            if let Some(t) = w.thread.take() {
                threads.push(t);
            }
        }
        let joined = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        });
        let all = async {
            let _ = joined.await;
            for t in tasks {
                let _ = t.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("camera workers still running after {grace:?}");
        }
    }
}
