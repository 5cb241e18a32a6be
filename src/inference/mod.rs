//! The inference service: models loaded once at start-up, run on dedicated OS threads
//! behind a bounded queue.
//!
//! Callers submit a job (a closure over the loaded [`Models`]) with [`InferenceService::run`]
//! and await its answer. The queue holds at most `queue` jobs; when it is full the call fails
//! at once with `UNAVAILABLE` and a `Retry-After` estimate (503 over REST) instead of piling
//! up requests. Candle already spreads one forward pass over every core, so one worker is
//! the default; more workers only help on machines with many cores per model.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    time::Instant,
};

use candle_core::Device;
use tokio::sync::oneshot;
use visionflow_models::{alpr::Alpr, detector::YoloDetector};

use crate::{
    error::{AppError, AppResult},
    vision::registry::{ModelRegistry, load_ocr},
};

/// The models the workers share.
pub struct Models {
    /// Vehicles → plate text (`vehicles`, `ocr-det`, `ocr-rec`).
    pub alpr: Option<Alpr>,
    /// Description stored with each result (`YOLO11n-seg vehicles + PP-OCRv4`).
    pub alpr_label: String,
    /// Every other installed YOLO model, by name (`people`, imported models); `vehicles`
    /// is the detector inside [`Self::alpr`].
    pub detectors: BTreeMap<String, YoloDetector>,
}

/// A detector the service can run and its class names.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorInfo {
    /// Model name (`vehicles`, `people`, an imported model).
    pub name: String,
    /// Class names by index.
    pub classes: Vec<String>,
}

impl Models {
    /// Loads the default models installed in `dir`; a model that is missing leaves its
    /// capability off (logged) rather than stopping the server.
    pub fn load(dir: &Path, device: &Device) -> Self {
        let registry = ModelRegistry::new(dir);
        let alpr = (|| -> anyhow::Result<Alpr> {
            let vehicles = YoloDetector::load(&registry.resolve("vehicles")?, device)?;
            Ok(Alpr::new(vehicles, load_ocr(dir, device)?))
        })();
        let alpr = match alpr {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::warn!(
                    dir = %dir.display(),
                    "plate recognition is off: {e:#} (run `visionflow models fetch`)"
                );
                None
            }
        };
        let mut detectors = BTreeMap::new();
        for m in registry.list() {
            if m.name == "vehicles" || m.info.is_none() {
                continue;
            }
            match YoloDetector::load(&m.dir, device) {
                Ok(d) => {
                    detectors.insert(m.name, d);
                }
                Err(e) => tracing::warn!(model = %m.name, "model not loaded: {e}"),
            }
        }
        Self {
            alpr,
            alpr_label: "YOLO11n-seg vehicles + PP-OCRv4 (candle)".into(),
            detectors,
        }
    }

    /// A detector by model name (`vehicles` is the ALPR pipeline's).
    pub fn detector(&self, name: &str) -> Option<&YoloDetector> {
        match name {
            "vehicles" => self.alpr.as_ref().map(Alpr::vehicles),
            other => self.detectors.get(other),
        }
    }

    /// The detectors loaded, with their classes.
    pub fn catalog(&self) -> Vec<DetectorInfo> {
        let mut out: Vec<DetectorInfo> = self
            .alpr
            .as_ref()
            .map(|a| DetectorInfo {
                name: "vehicles".into(),
                classes: a.vehicles().info().names.clone(),
            })
            .into_iter()
            .collect();
        out.extend(self.detectors.iter().map(|(name, d)| DetectorInfo {
            name: name.clone(),
            classes: d.info().names.clone(),
        }));
        out
    }

    /// No models at all.
    pub fn none() -> Self {
        Self {
            alpr: None,
            alpr_label: String::new(),
            detectors: BTreeMap::new(),
        }
    }
}

type Job = Box<dyn FnOnce(&Models) + Send>;

/// Handle to the inference threads; cheap to share behind an `Arc`.
pub struct InferenceService {
    tx: mpsc::SyncSender<Job>,
    models_present: bool,
    catalog: Vec<DetectorInfo>,
    /// Exponential moving average of job time, microseconds (for `Retry-After`).
    avg_us: Arc<AtomicU64>,
    workers: usize,
    queue: usize,
}

impl InferenceService {
    /// Starts `workers` threads over `models` with a queue of `queue` waiting jobs.
    pub fn start(models: Models, workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        let (tx, rx) = mpsc::sync_channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let models_present = models.alpr.is_some();
        let catalog = models.catalog();
        let models = Arc::new(models);
        for i in 0..workers {
            let rx = rx.clone();
            let models = models.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("inference-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&models),
                            Err(_) => return, // every sender is gone: shutting down
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("cannot start inference thread: {e}");
            }
        }
        Self {
            tx,
            models_present,
            catalog,
            avg_us: Arc::new(AtomicU64::new(1_000_000)),
            workers,
            queue,
        }
    }

    /// Whether the plate-recognition models are loaded.
    pub fn ready(&self) -> bool {
        self.models_present
    }

    /// The detectors loaded, with their classes.
    pub fn catalog(&self) -> &[DetectorInfo] {
        &self.catalog
    }

    /// Worker threads and queue capacity.
    pub fn capacity(&self) -> (usize, usize) {
        (self.workers, self.queue)
    }

    /// Runs `job` on an inference thread and returns its result and its run time (seconds,
    /// excluding the wait in the queue).
    ///
    /// # Errors
    /// `UNAVAILABLE` with a `retryAfter` when the queue is full; `INTERNAL` when the job
    /// panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Models) -> T + Send + 'static,
    ) -> AppResult<(T, f64)> {
        let (tx, rx) = oneshot::channel();
        let avg = self.avg_us.clone();
        let boxed: Job = Box::new(move |models| {
            let start = Instant::now();
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(models)));
            let secs = start.elapsed().as_secs_f64();
            let us = (secs * 1e6) as u64;
            let prev = avg.load(Ordering::Relaxed);
            avg.store((prev * 7 + us) / 8, Ordering::Relaxed);
            let _ = tx.send(out.map(|o| (o, secs)));
        });
        match self.tx.try_send(boxed) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(_)) => {
                let per_job = self.avg_us.load(Ordering::Relaxed) as f64 / 1e6;
                let wait = (per_job * self.queue as f64 / self.workers as f64).ceil() as u64;
                return Err(AppError::Unavailable {
                    message: "The inference queue is full; retry later".into(),
                    retry_after: wait.max(1),
                });
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                return Err(AppError::Unavailable {
                    message: "The inference service is shutting down".into(),
                    retry_after: 5,
                });
            }
        }
        match rx.await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(_)) => Err(AppError::internal(anyhow::anyhow!(
                "an inference job panicked"
            ))),
            Err(_) => Err(AppError::internal(anyhow::anyhow!(
                "an inference thread stopped"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_answers_unavailable_and_jobs_still_finish() {
        let svc = Arc::new(InferenceService::start(Models::none(), 1, 1));
        let gate = Arc::new(std::sync::Barrier::new(2));
        let g = gate.clone();
        // Occupies the worker until the barrier opens.
        let first = {
            let svc = svc.clone();
            tokio::spawn(async move { svc.run(move |_| g.wait().is_leader()).await })
        };
        // Wait until the worker took the first job, then fill the one queue slot.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let second = {
            let svc = svc.clone();
            tokio::spawn(async move { svc.run(|_| 2).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let third = svc.run(|_| 3).await;
        match third {
            Err(AppError::Unavailable { retry_after, .. }) => assert!(retry_after >= 1),
            other => panic!("expected UNAVAILABLE, got {other:?}"),
        }
        gate.wait();
        assert!(first.await.expect("join").is_ok());
        assert_eq!(second.await.expect("join").expect("ran").0, 2);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_internal_error_not_a_dead_worker() {
        let svc = InferenceService::start(Models::none(), 1, 4);
        let r: AppResult<(u8, f64)> = svc.run(|_| panic!("boom")).await;
        assert!(matches!(r, Err(AppError::Internal(_))));
        assert_eq!(svc.run(|_| 7).await.expect("worker alive").0, 7);
    }
}
