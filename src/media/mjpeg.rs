//! MJPEG over HTTP (`multipart/x-mixed-replace; boundary=frame`), Frigate's live view:
//! each part is `--frame\r\nContent-Type: image/jpeg\r\nContent-Length: N\r\n\r\n<jpeg>\r\n`,
//! JPEG quality 70, at most `fps` parts a second (default: every new frame, capped at 30),
//! scaled to `height` when asked, a grey placeholder while the camera delivers nothing.
//! The stream ends when the camera's worker stops (deleted, URL changed, shutdown).

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use axum::{
    Extension,
    body::{Body, Bytes},
    extract::{Path, Query, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};

use super::{MediaQuery, error_response, owned_camera, placeholder};
use crate::{
    auth::Auth,
    draw,
    error::{AppError, AppResult},
    live::{View, ViewerGuard, annotate},
    startup::AppState,
    vision::images::RgbImage,
};

/// Highest MJPEG rate, frames per second (monitor-api.zh-TW.txt: "最高 30 FPS").
pub const MAX_FPS: f64 = 30.0;
/// How long without a frame before a placeholder part is sent.
const PLACEHOLDER_AFTER: Duration = Duration::from_secs(1);

/// `GET /get_stream/{camera_id}`: the raw stream.
pub async fn raw(
    state: State<AppState>,
    auth: Extension<Auth>,
    id: Path<String>,
    q: Query<MediaQuery>,
    headers: HeaderMap,
) -> Response {
    stream(state, auth, id, q, headers, false)
        .await
        .unwrap_or_else(error_response)
}

/// `GET /recognized_stream/{camera_id}`: tracked boxes with label, confidence and track id;
/// zones outlined, thicker while occupied.
pub async fn annotated(
    state: State<AppState>,
    auth: Extension<Auth>,
    id: Path<String>,
    q: Query<MediaQuery>,
    headers: HeaderMap,
) -> Response {
    stream(state, auth, id, q, headers, true)
        .await
        .unwrap_or_else(error_response)
}

struct Streamer {
    view: View,
    frames: tokio::sync::watch::Receiver<Option<Arc<crate::live::capture::Frame>>>,
    annotated: bool,
    height: Option<u32>,
    period: Duration,
    next: Instant,
    fallback: (usize, usize),
    _guard: ViewerGuard,
}

/// Scales to `height` (keeping the aspect ratio) when smaller than the image.
fn scaled(img: RgbImage, height: Option<u32>) -> RgbImage {
    let Some(h) = height.filter(|h| (*h as usize) < img.height) else {
        return img;
    };
    let w = ((img.width as f64 * f64::from(h) / img.height as f64).round() as u32).max(1);
    let (iw, ih) = (img.width as u32, img.height as u32);
    match image::RgbImage::from_raw(iw, ih, img.data) {
        Some(buf) => {
            let out = image::imageops::resize(&buf, w, h, image::imageops::FilterType::Triangle);
            RgbImage {
                width: w as usize,
                height: h as usize,
                data: out.into_raw(),
            }
        }
        None => placeholder(w as usize, h as usize, "NO SIGNAL"),
    }
}

fn part(jpeg: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(jpeg.len() + 96);
    out.extend_from_slice(
        format!(
            "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
            jpeg.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(jpeg);
    out.extend_from_slice(b"\r\n");
    Bytes::from(out)
}

impl Streamer {
    /// The next part, or `None` when the worker stopped.
    async fn next_part(&mut self) -> Option<Bytes> {
        tokio::time::sleep_until(self.next.into()).await;
        if self.view.shared.closed.load(Ordering::Relaxed) {
            return None;
        }
        let frame = match tokio::time::timeout(PLACEHOLDER_AFTER, self.frames.changed()).await {
            Ok(Ok(())) => self.frames.borrow_and_update().clone(),
            Ok(Err(_)) => return None,
            Err(_) => None,
        };
        self.next = Instant::now() + self.period;
        let (annotated, height, fallback) = (self.annotated, self.height, self.fallback);
        let zones = if annotated {
            self.view
                .zones
                .lock()
                .map(|z| z.clone())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let result = if annotated {
            self.view.results.borrow().clone()
        } else {
            None
        };
        let jpeg = tokio::task::spawn_blocking(move || {
            let img = match frame {
                Some(f) => {
                    let mut img = f.image.clone();
                    if annotated {
                        annotate::annotate(&mut img, &zones, result.as_deref());
                    }
                    img
                }
                None => placeholder(fallback.0, fallback.1, "NO SIGNAL"),
            };
            draw::jpeg_quality(&scaled(img, height), 70)
        })
        .await
        .ok()?
        .ok()?;
        Some(part(&jpeg))
    }
}

async fn stream(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    Path(camera_id): Path<String>,
    Query(q): Query<MediaQuery>,
    headers: HeaderMap,
    annotated: bool,
) -> AppResult<Response> {
    let (_, _, cam) = owned_camera(&state, &auth, &q, &headers, &camera_id).await?;
    let fps = match q.fps {
        None => MAX_FPS,
        Some(f) if f.is_finite() && (0.1..=MAX_FPS).contains(&f) => f,
        Some(_) => return Err(AppError::field("fps", "must be between 0.1 and 30")),
    };
    if let Some(h) = q.height
        && !(16..=4320).contains(&h)
    {
        return Err(AppError::field("height", "must be between 16 and 4320"));
    }
    let view = state
        .cameras
        .live()
        .view(cam.id)
        .ok_or_else(|| AppError::Unavailable {
            message: "the camera's worker is not running".into(),
            retry_after: 1,
        })?;
    let mut frames = view.shared.frames.subscribe();
    frames.mark_changed(); // the current frame goes out at once
    let streamer = Streamer {
        _guard: ViewerGuard::new(view.shared.clone()),
        view,
        frames,
        annotated,
        height: q.height,
        period: Duration::from_secs_f64(1.0 / fps),
        next: Instant::now(),
        fallback: (
            cam.width.unwrap_or(640) as usize,
            cam.height.unwrap_or(480) as usize,
        ),
    };
    let body = futures_util::stream::unfold(streamer, |mut s| async move {
        let part = s.next_part().await?;
        Some((Ok::<Bytes, std::convert::Infallible>(part), s))
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "multipart/x-mixed-replace; boundary=frame",
            ),
            (header::CACHE_CONTROL, "no-cache, no-store, must-revalidate"),
            (header::PRAGMA, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
