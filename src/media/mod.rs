//! Binary answers of the monitor group (monitor-api.zh-TW.txt "實時影像處理與 AI 辨識功能"):
//! raw and annotated MJPEG streams, the latest frame, the zone mask PNG, the snapshot page
//! with its polygon tool, and the image store. Every route calls the same camera service
//! the GraphQL resolvers use; errors are the monitor group's envelope.
//!
//! `<img>` cannot send headers, so besides `Authorization: Bearer` / `X-API-Key` these
//! routes accept the *access token* as a `token` query parameter or an `access_token`
//! cookie — never an API key in a URL.

mod mjpeg;

use axum::{
    Extension, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use crate::{
    auth::{Auth, Principal, jwt::TokenKind},
    draw,
    error::{AppError, AppResult},
    startup::AppState,
    vision::images::RgbImage,
};

/// The media routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/get_stream/{camera_id}", get(mjpeg::raw))
        .route("/recognized_stream/{camera_id}", get(mjpeg::annotated))
        .route("/latest_frame/{camera_id}", get(latest_frame))
        .route("/snapshot_ui/{camera_id}", get(snapshot_ui))
        .route("/mask/{camera_id}", get(mask))
        .route("/showimage/{*image_path}", get(show_image))
        .route("/email_recipients/verify", get(verify_recipient))
        .with_state(state)
}

/// Query parameters of the media routes.
#[derive(Debug, Default, Deserialize)]
pub struct MediaQuery {
    /// Access token (for `<img>` and pages).
    pub token: Option<String>,
    /// MJPEG frames per second (0.1–30).
    pub fps: Option<f64>,
    /// MJPEG height in pixels (16–4320; width follows the aspect ratio).
    pub height: Option<u32>,
    /// Signature of a snapshot link sent out (LINE fetches images without credentials).
    pub sig: Option<String>,
}

/// An error in the monitor group's style.
pub fn error_response(e: AppError) -> Response {
    let err = rest_compat::RestError::from_server_error(
        &async_graphql::Error::from(e).into_server_error(Default::default()),
    );
    rest_compat::render_error(&rest_compat::MonitorStyle, &err)
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix("access_token=").map(str::to_owned))
}

/// The caller (with `camera:read`) and the access token it presented, if it used one.
///
/// # Errors
/// `UNAUTHENTICATED` (nothing or a bad token presented; an API key in the URL is refused),
/// `FORBIDDEN` without `camera:read`.
pub fn caller(
    state: &AppState,
    auth: &Auth,
    q: &MediaQuery,
    headers: &HeaderMap,
) -> AppResult<(Principal, Option<String>)> {
    // The header parsing every entry point uses; an API key is never a page token.
    let bearer = match crate::auth::Presented::from_headers(headers) {
        Some(crate::auth::Presented::Bearer(t)) if !t.is_empty() => Some(t),
        _ => None,
    };
    let principal = match auth {
        Auth::Anonymous => {
            let Some(token) = q.token.clone().or_else(|| cookie_token(headers)) else {
                return Err(AppError::auth_required());
            };
            if token.starts_with(crate::auth::API_KEY_PREFIX) {
                return Err(AppError::Unauthenticated {
                    reason: "INVALID_TOKEN",
                    message: "API keys are not accepted in URLs; use the X-API-Key header or an access token".into(),
                });
            }
            let claims = state
                .accounts
                .keys()
                .verify(&token, TokenKind::Access)
                .ok_or_else(AppError::invalid_token)?;
            let p = Principal {
                account_id: claims.sub,
                credential: crate::auth::Credential::AccessToken,
            };
            p.require_scope("camera:read")?;
            return Ok((p, Some(token)));
        }
        other => other.principal()?.clone(),
    };
    principal.require_scope("camera:read")?;
    Ok((principal, bearer))
}

/// The caller (see [`caller`]), its access token, and its camera `raw_id`.
///
/// # Errors
/// As [`caller`]; `CAMERA_NOT_FOUND` for a missing, malformed or another account's id.
pub async fn owned_camera(
    state: &AppState,
    auth: &Auth,
    q: &MediaQuery,
    headers: &HeaderMap,
    raw_id: &str,
) -> AppResult<(
    Principal,
    Option<String>,
    crate::db::entities::camera::Model,
)> {
    let (me, token) = caller(state, auth, q, headers)?;
    let cam = state
        .cameras
        .camera(me.account_id, parse_id(raw_id)?)
        .await?;
    Ok((me, token, cam))
}

fn parse_id(raw: &str) -> AppResult<i32> {
    raw.parse::<i32>()
        .map_err(|_| crate::domain::cameras::camera_not_found())
}

/// The current frame of a camera, if its worker has one.
fn current_frame(
    state: &AppState,
    camera_id: i32,
) -> Option<std::sync::Arc<crate::live::capture::Frame>> {
    state
        .cameras
        .live()
        .view(camera_id)
        .and_then(|v| v.shared.frames.borrow().clone())
}

/// A grey placeholder with a message, at `w`×`h`.
pub fn placeholder(w: usize, h: usize, text: &str) -> RgbImage {
    let mut img = RgbImage {
        width: w,
        height: h,
        data: [48u8, 48, 48].repeat(w * h),
    };
    let scale = (w as i64 / 320).clamp(1, 6);
    let tw = 8 * scale * text.chars().count() as i64;
    draw::draw_label(
        &mut img,
        (w as i64 - tw) / 2,
        h as i64 / 2,
        text,
        scale,
        [230, 230, 230],
        [48, 48, 48],
    );
    img
}

/// `GET /latest_frame/{camera_id}`: the latest frame as JPEG (a placeholder while none).
async fn latest_frame(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    Path(camera_id): Path<String>,
    Query(q): Query<MediaQuery>,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let (_, _, cam) = owned_camera(&state, &auth, &q, &headers, &camera_id).await?;
        let frame = current_frame(&state, cam.id);
        let size = (
            cam.width.unwrap_or(640) as usize,
            cam.height.unwrap_or(480) as usize,
        );
        let jpeg = tokio::task::spawn_blocking(move || match frame {
            Some(f) => draw::jpeg(&f.image),
            None => draw::jpeg(&placeholder(size.0, size.1, "NO SIGNAL")),
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
        Ok::<_, AppError>(
            (
                [
                    (header::CONTENT_TYPE, "image/jpeg"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                jpeg,
            )
                .into_response(),
        )
    };
    run.await.unwrap_or_else(error_response)
}

/// Text made safe inside HTML (element content and quoted attributes).
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `GET /snapshot_ui/{camera_id}`: the snapshot page with the polygon tool (no internet
/// needed: one self-contained HTML file).
async fn snapshot_ui(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    Path(camera_id): Path<String>,
    Query(q): Query<MediaQuery>,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let (_, token, cam) = owned_camera(&state, &auth, &q, &headers, &camera_id).await?;
        let (w, h) = match current_frame(&state, cam.id) {
            Some(f) => (f.image.width as i32, f.image.height as i32),
            None => (cam.width.unwrap_or(0), cam.height.unwrap_or(0)),
        };
        let token_json = serde_json::to_string(&token)
            .map_err(AppError::internal)?
            .replace('<', "\\u003c");
        let page = include_str!("snapshot_ui.html")
            .replace("{{CAMERA_ID}}", &cam.id.to_string())
            .replace("{{CAMERA_NAME}}", &html_escape(&cam.name))
            .replace("{{TOKEN_JSON}}", &token_json)
            .replace("{{WIDTH}}", &w.to_string())
            .replace("{{HEIGHT}}", &h.to_string());
        Ok::<_, AppError>(([(header::CACHE_CONTROL, "no-store")], Html(page)).into_response())
    };
    run.await.unwrap_or_else(error_response)
}

/// `GET /mask/{camera_id}`: PNG at the camera's resolution, zones white (255, 255, 255),
/// the rest black (0, 0, 0).
async fn mask(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    Path(camera_id): Path<String>,
    Query(q): Query<MediaQuery>,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let (me, _, cam) = owned_camera(&state, &auth, &q, &headers, &camera_id).await?;
        let zones = crate::live::zone_infos(&state.cameras.zones(me.account_id, cam.id).await?);
        let (w, h) = match current_frame(&state, cam.id) {
            Some(f) => (f.image.width, f.image.height),
            None => (
                cam.width.unwrap_or(640) as usize,
                cam.height.unwrap_or(480) as usize,
            ),
        };
        let png = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
            let mut img = RgbImage {
                width: w,
                height: h,
                data: vec![0; 3 * w * h],
            };
            for z in &zones {
                draw::fill_polygon(&mut img, &z.polygon, [255, 255, 255]);
            }
            let mut out = std::io::Cursor::new(Vec::new());
            image::ImageEncoder::write_image(
                image::codecs::png::PngEncoder::new(&mut out),
                &img.data,
                w as u32,
                h as u32,
                image::ExtendedColorType::Rgb8,
            )?;
            Ok(out.into_inner())
        })
        .await
        .map_err(AppError::internal)??;
        Ok::<_, AppError>(
            (
                [
                    (header::CONTENT_TYPE, "image/png"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                png,
            )
                .into_response(),
        )
    };
    run.await.unwrap_or_else(error_response)
}

/// `GET /showimage/{image_path}`: a JPEG/PNG/WebP/BMP of the image store, only to the
/// account whose notification (or detection) references it; traversal and other accounts'
/// files answer 404 like missing ones.
async fn show_image(
    State(state): State<AppState>,
    Extension(auth): Extension<Auth>,
    Path(image_path): Path<String>,
    Query(q): Query<MediaQuery>,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let signed = q.sig.as_deref().is_some_and(|sig| {
            let rel = image_path.trim_start_matches('/');
            state
                .channels
                .secrets()
                .verify(&format!("image:{rel}"), sig)
        });
        let me = if signed {
            None
        } else {
            Some(caller(&state, &auth, &q, &headers)?.0)
        };
        let missing = || AppError::NotFound {
            reason: Some("RESOURCE_NOT_FOUND"),
            message: format!("圖片不存在: {image_path}"),
        };
        let rel = image_path.trim_start_matches('/');
        let rel = if rel.starts_with("outputs/") {
            rel.to_owned()
        } else {
            format!("outputs/{rel}")
        };
        let mime = crate::storage::content_type(std::path::Path::new(&rel));
        if !matches!(
            mime,
            "image/jpeg" | "image/png" | "image/webp" | "image/bmp"
        ) {
            return Err(missing());
        }
        let owned = match &me {
            None => true, // a link VisionFlow signed for this very path
            Some(me) => {
                state.cameras.owns_image(me.account_id, &rel).await?
                    || state.alpr.owns_artifact(me.account_id, &rel).await?
            }
        };
        let full = state
            .cameras
            .store()
            .resolve("outputs", &rel)
            .filter(|_| owned)
            .ok_or_else(missing)?;
        let bytes = tokio::fs::read(&full).await.map_err(|_| missing())?;
        Ok::<_, AppError>(
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, "private, max-age=3600"),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ],
                bytes,
            )
                .into_response(),
        )
    };
    run.await.unwrap_or_else(error_response)
}

/// The OpenAPI paths of the media routes (merged into `/openapi.json`): their media types,
/// parameters and the monitor group's error bodies.
pub fn openapi_paths() -> serde_json::Value {
    use rest_compat::ErrorStyle as _;
    let errors: serde_json::Map<String, serde_json::Value> = rest_compat::MonitorStyle
        .error_schemas()
        .into_iter()
        .map(|(s, schema)| {
            (
                s.as_u16().to_string(),
                serde_json::json!({"description": s.canonical_reason().unwrap_or("Error"), "content": {"application/json": {"schema": schema}}}),
            )
        })
        .collect();
    let camera = serde_json::json!({"name": "camera_id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int32"}});
    let token = serde_json::json!({"name": "token", "in": "query", "required": false, "schema": {"type": "string"}, "description": "Access token (for <img> and pages); never an API key"});
    let op = |path: &str,
              summary: &str,
              media: &str,
              schema: serde_json::Value,
              extra: Vec<serde_json::Value>,
              params: Vec<serde_json::Value>| {
        let mut responses = errors.clone();
        responses.insert(
            "200".into(),
            serde_json::json!({"description": summary, "content": {media: {"schema": schema}}}),
        );
        let mut parameters = params;
        parameters.extend(extra);
        serde_json::json!({"get": {
            "tags": ["monitor"], "summary": summary, "operationId": rest_compat::openapi::operation_id(&http::Method::GET, path),
            "parameters": parameters, "responses": responses,
            "security": [{"ApiKeyAuth": []}, {"BearerAuth": []}, {}]
        }})
    };
    let binary = serde_json::json!({"type": "string", "format": "binary"});
    let fps = serde_json::json!({"name": "fps", "in": "query", "required": false, "schema": {"type": "number", "minimum": 0.1, "maximum": 30}});
    let height = serde_json::json!({"name": "height", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 16, "maximum": 4320}});
    let mut paths = serde_json::Map::new();
    for (path, summary) in [
        ("/get_stream/{camera_id}", "Raw MJPEG stream"),
        ("/recognized_stream/{camera_id}", "Annotated MJPEG stream"),
    ] {
        paths.insert(
            path.into(),
            op(
                path,
                summary,
                "multipart/x-mixed-replace; boundary=frame",
                binary.clone(),
                vec![fps.clone(), height.clone(), token.clone()],
                vec![camera.clone()],
            ),
        );
    }
    paths.insert(
        "/latest_frame/{camera_id}".into(),
        op(
            "/latest_frame/{camera_id}",
            "Latest frame",
            "image/jpeg",
            binary.clone(),
            vec![token.clone()],
            vec![camera.clone()],
        ),
    );
    paths.insert(
        "/mask/{camera_id}".into(),
        op(
            "/mask/{camera_id}",
            "Zone mask",
            "image/png",
            binary.clone(),
            vec![token.clone()],
            vec![camera.clone()],
        ),
    );
    paths.insert(
        "/snapshot_ui/{camera_id}".into(),
        op(
            "/snapshot_ui/{camera_id}",
            "Snapshot page with the zone tool",
            "text/html",
            serde_json::json!({"type": "string"}),
            vec![token.clone()],
            vec![camera],
        ),
    );
    paths.insert(
        "/showimage/{image_path}".into(),
        op(
            "/showimage/{image_path}",
            "Stored image",
            "image/*",
            binary,
            vec![token],
            vec![serde_json::json!({"name": "image_path", "in": "path", "required": true, "schema": {"type": "string"}})],
        ),
    );
    serde_json::Value::Object(paths)
}

/// Query of the verification link.
#[derive(Debug, Deserialize)]
pub struct VerifyQuery {
    /// The signed token of the mail.
    pub token: Option<String>,
}

/// `GET /email_recipients/verify?token=…`: the link of a verification mail. Marks the
/// recipient verified (the same service call as the `verifyEmailRecipient` mutation) and
/// answers a small HTML page; 400 with the reason for a bad or expired link.
async fn verify_recipient(State(state): State<AppState>, Query(q): Query<VerifyQuery>) -> Response {
    let result = match q.token.as_deref() {
        Some(t) => state.channels.verify_recipient(t).await,
        None => Err(AppError::field("token", "is required")),
    };
    let (status, title, detail) = match result {
        Ok(r) => (
            StatusCode::OK,
            "電子郵件已驗證 / E-mail verified",
            format!(
                "{} 將收到 VisionFlow 通知 / will receive VisionFlow notifications.",
                r.email
            ),
        ),
        Err(AppError::Internal(e)) => {
            tracing::error!("verification failed: {e:#}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "驗證失敗 / Verification failed",
                "請稍後再試 / please try again later.".to_owned(),
            )
        }
        Err(_) => (
            StatusCode::BAD_REQUEST,
            "連結無效或已過期 / Invalid or expired link",
            "請重新新增此收件人以取得新的驗證信 / add the recipient again for a new mail."
                .to_owned(),
        ),
    };
    let page = format!(
        "<!doctype html><html lang=\"zh-Hant\"><head><meta charset=\"utf-8\"><title>VisionFlow</title></head><body><h1>{}</h1><p>{}</p></body></html>",
        html_escape(title),
        html_escape(&detail)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}
