//! Frame capture: one OS thread per camera pulling frames from a [`FrameSource`] (OpenCV's
//! FFmpeg backend for RTSP, ../shared/rtsp.md), keeping only the latest frame, reconnecting
//! with backoff and reporting status changes.
//!
//! Every frame is grabbed (decoded) so the stream stays current, but only converted to RGB
//! ("retrieved") when somebody needs it: every frame while an MJPEG viewer watches, else at
//! the analysis rate (`cameras.detect_fps`) when recognition is on, else once a second for
//! snapshots. Old frames are dropped, never queued.
//!
//! Status (monitor-api.zh-TW.txt `status`): `online` at the first frame after (re)opening,
//! `offline` once [`Timings::offline_after`] passes without a frame; reconnect attempts wait
//! [`Timings::backoff_initial`] doubling to [`Timings::backoff_max`], and every wait watches
//! the stop signal.

use std::{
    sync::{
        Arc, Condvar, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};

use crate::vision::images::RgbImage;

/// One decoded frame.
#[derive(Debug)]
pub struct Frame {
    /// Sequence number, from 1, increasing per camera worker.
    pub seq: u64,
    /// Interleaved RGB8, source resolution.
    pub image: RgbImage,
    /// When it was grabbed (monotonic).
    pub at: Instant,
    /// When it was grabbed (wall clock).
    pub captured_at: DateTime<Utc>,
}

/// Size and rate a source reports after opening.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamInfo {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Frames per second the stream announces (0 when unknown).
    pub fps: f64,
}

/// A source of frames; blocking calls, run on the camera's own thread.
pub trait FrameSource: Send {
    /// Opens the stream (bounded by the source's open timeout).
    ///
    /// # Errors
    /// The stream cannot be opened; the message must not contain credentials.
    fn open(&mut self) -> anyhow::Result<StreamInfo>;
    /// Waits for and decodes the next frame (bounded by the read timeout); `Ok(false)` when
    /// the stream ended or failed.
    ///
    /// # Errors
    /// Backend failures.
    fn grab(&mut self) -> anyhow::Result<bool>;
    /// The last grabbed frame as RGB8.
    ///
    /// # Errors
    /// Backend failures.
    fn retrieve(&mut self) -> anyhow::Result<RgbImage>;
    /// Closes the stream.
    fn close(&mut self);
}

/// Makes a [`FrameSource`] for a stream URL.
pub trait SourceFactory: Send + Sync {
    /// A closed source for `url`.
    fn create(&self, url: &str) -> Box<dyn FrameSource>;
}

/// RTSP (and any URL FFmpeg opens) through OpenCV's `VideoCapture` with open and read
/// timeouts (open-time parameters; `set()` after opening is ignored, rtsp.md).
pub struct OpenCvFactory {
    /// Open and read timeout, milliseconds.
    pub timeout_ms: i32,
}

impl SourceFactory for OpenCvFactory {
    fn create(&self, url: &str) -> Box<dyn FrameSource> {
        Box::new(OpenCvSource {
            url: url.to_owned(),
            timeout_ms: self.timeout_ms,
            cap: None,
            bgr: opencv::core::Mat::default(),
            rgb: opencv::core::Mat::default(),
        })
    }
}

struct OpenCvSource {
    url: String,
    timeout_ms: i32,
    cap: Option<opencv::videoio::VideoCapture>,
    bgr: opencv::core::Mat,
    rgb: opencv::core::Mat,
}

impl FrameSource for OpenCvSource {
    fn open(&mut self) -> anyhow::Result<StreamInfo> {
        use opencv::{prelude::*, videoio};
        let params = opencv::core::Vector::<i32>::from_slice(&[
            videoio::CAP_PROP_OPEN_TIMEOUT_MSEC,
            self.timeout_ms,
            videoio::CAP_PROP_READ_TIMEOUT_MSEC,
            self.timeout_ms,
        ]);
        let cap =
            videoio::VideoCapture::from_file_with_params(&self.url, videoio::CAP_FFMPEG, &params)
                .map_err(|e| anyhow::anyhow!("cannot open the stream ({})", e.code))?;
        if !cap.is_opened().unwrap_or(false) {
            anyhow::bail!(
                "cannot open the stream (refused, unreachable, unauthorised or not a video)"
            );
        }
        let info = StreamInfo {
            width: cap.get(videoio::CAP_PROP_FRAME_WIDTH).unwrap_or(0.0) as u32,
            height: cap.get(videoio::CAP_PROP_FRAME_HEIGHT).unwrap_or(0.0) as u32,
            fps: cap.get(videoio::CAP_PROP_FPS).unwrap_or(0.0),
        };
        self.cap = Some(cap);
        Ok(info)
    }

    fn grab(&mut self) -> anyhow::Result<bool> {
        use opencv::prelude::*;
        match self.cap.as_mut() {
            Some(cap) => Ok(cap.grab()?),
            None => Ok(false),
        }
    }

    fn retrieve(&mut self) -> anyhow::Result<RgbImage> {
        use opencv::{imgproc, prelude::*};
        let cap = self
            .cap
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("not open"))?;
        anyhow::ensure!(cap.retrieve(&mut self.bgr, 0)?, "no frame to retrieve");
        imgproc::cvt_color(&self.bgr, &mut self.rgb, imgproc::COLOR_BGR2RGB, 0)?;
        let (w, h) = (self.rgb.cols() as usize, self.rgb.rows() as usize);
        anyhow::ensure!(w > 0 && h > 0, "empty frame");
        let data = if self.rgb.is_continuous() {
            self.rgb.data_bytes()?.to_vec()
        } else {
            self.rgb.try_clone()?.data_bytes()?.to_vec()
        };
        anyhow::ensure!(data.len() == 3 * w * h, "unexpected frame layout");
        Ok(RgbImage {
            width: w,
            height: h,
            data,
        })
    }

    fn close(&mut self) {
        use opencv::prelude::*;
        if let Some(mut cap) = self.cap.take() {
            let _ = cap.release();
        }
    }
}

/// Capture timings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timings {
    /// No frame for this long → `offline` (10 s).
    pub offline_after: Duration,
    /// First reconnect wait (1 s).
    pub backoff_initial: Duration,
    /// Longest reconnect wait (30 s).
    pub backoff_max: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            offline_after: Duration::from_secs(10),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// A stop signal a sleeping thread wakes up for.
#[derive(Default)]
pub struct Stop {
    stopped: Mutex<bool>,
    cv: Condvar,
}

impl Stop {
    /// Signals the stop.
    pub fn stop(&self) {
        if let Ok(mut s) = self.stopped.lock() {
            *s = true;
        }
        self.cv.notify_all();
    }

    /// Whether stop was signalled.
    pub fn is_stopped(&self) -> bool {
        self.stopped.lock().map(|s| *s).unwrap_or(true)
    }

    /// Sleeps up to `d`; `true` when stop was signalled meanwhile.
    pub fn sleep(&self, d: Duration) -> bool {
        let Ok(guard) = self.stopped.lock() else {
            return true;
        };
        match self.cv.wait_timeout_while(guard, d, |s| !*s) {
            Ok((s, _)) => *s,
            Err(_) => true,
        }
    }
}

/// A camera's connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Created or URL changed, no frame yet.
    Connecting,
    /// Frames arrive.
    Online,
    /// No frame for `offline_after`.
    Offline,
}

impl Status {
    /// The stored and documented value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Online => "online",
            Self::Offline => "offline",
        }
    }
}

/// A status change reported by a capture thread.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    /// Camera id.
    pub camera_id: i32,
    /// The worker generation that reported it (a restarted worker has a new one).
    pub generation: u64,
    /// New status.
    pub status: Status,
    /// Resolution, when known.
    pub size: Option<(u32, u32)>,
    /// Time of the last frame.
    pub last_frame: Option<DateTime<Utc>>,
}

/// Counters of one camera worker (read by `camera { stats }`).
#[derive(Default)]
pub struct CaptureStats {
    /// Frames grabbed.
    pub grabbed: AtomicU64,
    /// Frames converted to RGB.
    pub retrieved: AtomicU64,
    /// Reconnect attempts after a failure.
    pub reconnects: AtomicU64,
    /// Grab rate over the last second, frames/s (f64 bits).
    pub fps_bits: AtomicU64,
}

impl CaptureStats {
    /// Frames per second over the last full second.
    pub fn fps(&self) -> f64 {
        f64::from_bits(self.fps_bits.load(Ordering::Relaxed))
    }
}

/// What the capture thread shares with the rest of the server.
pub struct Shared {
    /// The latest retrieved frame.
    pub frames: tokio::sync::watch::Sender<Option<Arc<Frame>>>,
    /// MJPEG viewers watching now (each wants every frame).
    pub viewers: AtomicUsize,
    /// Counters.
    pub stats: CaptureStats,
    /// Whether frames are analysed (retrieve at the analysis rate).
    pub analysing: AtomicBool,
    /// Set when the worker stops (camera deleted, URL changed, shutdown): streams end.
    pub closed: AtomicBool,
}

/// What one capture thread runs with.
pub struct CaptureJob {
    /// Camera id.
    pub camera_id: i32,
    /// Worker generation.
    pub generation: u64,
    /// Stream URL (may hold credentials; never logged).
    pub url: String,
    /// Source factory.
    pub factory: Arc<dyn SourceFactory>,
    /// Shared state.
    pub shared: Arc<Shared>,
    /// Stop signal.
    pub stop: Arc<Stop>,
    /// Status reports.
    pub status: tokio::sync::mpsc::UnboundedSender<StatusChange>,
    /// Timings.
    pub timings: Timings,
    /// Analysis rate, frames/s (retrieval rate when nobody watches).
    pub detect_fps: f64,
}

struct Reporter<'a> {
    job: &'a CaptureJob,
    status: Status,
    size: Option<(u32, u32)>,
    last_frame: Instant,
    last_frame_wall: Option<DateTime<Utc>>,
}

impl Reporter<'_> {
    fn set(&mut self, status: Status) {
        if self.status != status {
            self.status = status;
            tracing::info!(status = status.as_str(), "camera status");
            let _ = self.job.status.send(StatusChange {
                camera_id: self.job.camera_id,
                generation: self.job.generation,
                status,
                size: self.size,
                last_frame: self.last_frame_wall,
            });
        }
    }

    /// Goes offline when no frame came for `offline_after`.
    fn watchdog(&mut self) {
        if self.status != Status::Offline
            && self.last_frame.elapsed() >= self.job.timings.offline_after
        {
            self.set(Status::Offline);
        }
    }
}

/// The capture loop; returns when `job.stop` is signalled.
pub fn run(job: CaptureJob) {
    let mut source = job.factory.create(&job.url);
    let mut rep = Reporter {
        job: &job,
        status: Status::Connecting,
        size: None,
        last_frame: Instant::now(),
        last_frame_wall: None,
    };
    let mut backoff = job.timings.backoff_initial;
    let mut seq = 0u64;
    let mut window = (Instant::now(), 0u64);
    while !job.stop.is_stopped() {
        match source.open() {
            Ok(info) => {
                tracing::debug!(
                    width = info.width,
                    height = info.height,
                    fps = info.fps,
                    "stream opened"
                );
                let mut last_retrieve: Option<Instant> = None;
                loop {
                    if job.stop.is_stopped() {
                        break;
                    }
                    match source.grab() {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(e) => {
                            tracing::debug!("grab failed: {e:#}");
                            break;
                        }
                    }
                    let now = Instant::now();
                    job.shared.stats.grabbed.fetch_add(1, Ordering::Relaxed);
                    window.1 += 1;
                    let span = now.duration_since(window.0).as_secs_f64();
                    if span >= 1.0 {
                        job.shared
                            .stats
                            .fps_bits
                            .store((window.1 as f64 / span).to_bits(), Ordering::Relaxed);
                        window = (now, 0);
                    }
                    rep.last_frame = now;
                    rep.last_frame_wall = Some(Utc::now());
                    let rate = if job.shared.viewers.load(Ordering::Relaxed) > 0 {
                        f64::INFINITY
                    } else if job.shared.analysing.load(Ordering::Relaxed) {
                        job.detect_fps.max(0.1)
                    } else {
                        1.0
                    };
                    // Retrieve slightly early so a consumer ticking at `rate` always finds a
                    // fresh frame.
                    let due = last_retrieve
                        .is_none_or(|t| now.duration_since(t).as_secs_f64() >= 0.9 / rate);
                    if due || rep.status != Status::Online {
                        match source.retrieve() {
                            Ok(image) => {
                                last_retrieve = Some(now);
                                seq += 1;
                                job.shared.stats.retrieved.fetch_add(1, Ordering::Relaxed);
                                rep.size = Some((image.width as u32, image.height as u32));
                                let frame = Frame {
                                    seq,
                                    image,
                                    at: now,
                                    captured_at: Utc::now(),
                                };
                                job.shared.frames.send_replace(Some(Arc::new(frame)));
                                rep.set(Status::Online);
                                backoff = job.timings.backoff_initial;
                            }
                            Err(e) => {
                                tracing::debug!("retrieve failed: {e:#}");
                                break;
                            }
                        }
                    }
                }
                source.close();
            }
            Err(e) => tracing::debug!("{e:#}"),
        }
        if job.stop.is_stopped() {
            break;
        }
        // Reconnect after `backoff`, watching the stop signal and the offline deadline.
        job.shared.stats.reconnects.fetch_add(1, Ordering::Relaxed);
        let wake = Instant::now() + backoff;
        loop {
            rep.watchdog();
            let now = Instant::now();
            if now >= wake {
                break;
            }
            let until_offline = job
                .timings
                .offline_after
                .saturating_sub(rep.last_frame.elapsed())
                .max(Duration::from_millis(50));
            if job.stop.sleep((wake - now).min(until_offline)) {
                break;
            }
        }
        rep.watchdog();
        backoff = (backoff * 2).min(job.timings.backoff_max);
    }
    source.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Delivers `frames` frames, then fails every open until `reopen_after` opens have failed.
    struct Scripted {
        frames: u32,
        left: u32,
        opens: Arc<AtomicU64>,
        fail_opens: u64,
    }

    impl FrameSource for Scripted {
        fn open(&mut self) -> anyhow::Result<StreamInfo> {
            let n = self.opens.fetch_add(1, Ordering::SeqCst);
            if n >= 1 && n <= self.fail_opens {
                anyhow::bail!("refused");
            }
            self.left = self.frames;
            Ok(StreamInfo {
                width: 8,
                height: 4,
                fps: 25.0,
            })
        }
        fn grab(&mut self) -> anyhow::Result<bool> {
            std::thread::sleep(Duration::from_millis(5));
            if self.left == 0 {
                return Ok(false);
            }
            self.left -= 1;
            Ok(true)
        }
        fn retrieve(&mut self) -> anyhow::Result<RgbImage> {
            Ok(RgbImage {
                width: 8,
                height: 4,
                data: vec![7; 96],
            })
        }
        fn close(&mut self) {}
    }

    struct Factory(Arc<AtomicU64>);
    impl SourceFactory for Factory {
        fn create(&self, _: &str) -> Box<dyn FrameSource> {
            Box::new(Scripted {
                frames: 20,
                left: 0,
                opens: self.0.clone(),
                fail_opens: 3,
            })
        }
    }

    #[test]
    fn goes_online_offline_and_back_with_backoff_and_stops_promptly() {
        let opens = Arc::new(AtomicU64::new(0));
        let shared = Arc::new(Shared {
            frames: tokio::sync::watch::channel(None).0,
            viewers: AtomicUsize::new(1),
            stats: CaptureStats::default(),
            analysing: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        });
        let stop = Arc::new(Stop::default());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let job = CaptureJob {
            camera_id: 7,
            generation: 1,
            url: "rtsp://127.0.0.1/x".into(),
            factory: Arc::new(Factory(opens.clone())),
            shared: shared.clone(),
            stop: stop.clone(),
            status: tx,
            timings: Timings {
                offline_after: Duration::from_millis(150),
                backoff_initial: Duration::from_millis(20),
                backoff_max: Duration::from_millis(80),
            },
            detect_fps: 5.0,
        };
        let t = std::thread::spawn(move || run(job));
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while seen.len() < 3 && Instant::now() < deadline {
            if let Ok(c) = rx.try_recv() {
                seen.push(c.status);
            } else {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        assert_eq!(seen, vec![Status::Online, Status::Offline, Status::Online]);
        // 20 frames, three failed opens (20 + 40 + 80 ms of backoff), then 20 more frames.
        assert!(shared.stats.reconnects.load(Ordering::Relaxed) >= 3);
        assert!(
            shared
                .frames
                .borrow()
                .as_ref()
                .is_some_and(|f| f.image.width == 8)
        );
        let t0 = Instant::now();
        stop.stop();
        t.join().expect("capture thread");
        assert!(t0.elapsed() < Duration::from_millis(500), "stops promptly");
    }
}
