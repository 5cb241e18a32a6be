//! `/outputs/{path}` (stored detection artifacts) and `/static/{path}` (operator-provided
//! static files under `<data_dir>/static/`), alpr-api.en.md "Static & Output File Serving".
//! Paths that could leave their directory (`..`, absolute, symlinks pointing out) are
//! refused exactly like missing files: 404 `{"detail": "File not found: {path}"}`.
//! Artifacts need credentials like the rest of the alpr group (or the group opened to
//! anonymous callers) and are served only to the account they belong to.

use axum::{
    Extension, Json,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::HttpState;
use crate::auth::Auth;

fn not_found(path: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"detail": format!("File not found: {path}")})),
    )
        .into_response()
}

async fn serve(state: &HttpState, top: &str, path: &str) -> Response {
    let Some(full) = state.app.alpr.store().resolve(top, path) else {
        return not_found(path);
    };
    match tokio::fs::read(&full).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, crate::storage::content_type(&full)),
                (header::CACHE_CONTROL, "private, max-age=3600"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(path),
    }
}

/// An application error in the alpr group's (FastAPI) style, through the same mapping the
/// REST routes use for GraphQL errors.
fn alpr_error(e: crate::error::AppError) -> Response {
    let err = rest_compat::RestError::from_server_error(
        &async_graphql::Error::from(e).into_server_error(Default::default()),
    );
    rest_compat::render_error(&rest_compat::FastApiStyle, &err)
}

/// `GET /outputs/{path}`: only files that belong to the caller's account (the anonymous
/// account when the alpr group is open and no credentials are presented); another
/// account's file answers the same 404 as a missing one.
pub async fn outputs(
    State(state): State<HttpState>,
    Extension(auth): Extension<Auth>,
    Path(path): Path<String>,
) -> Response {
    let auth = crate::auth::for_group(auth, "alpr", &state.app.settings.anonymous.groups);
    let account = match auth.principal() {
        Ok(p) => p.account_id,
        Err(e) => return alpr_error(e),
    };
    let rel = format!("outputs/{}", path.trim_start_matches("outputs/"));
    match state.app.alpr.owns_artifact(account, &rel).await {
        Ok(true) => serve(&state, "outputs", &path).await,
        Ok(false) => not_found(&path),
        Err(e) => alpr_error(e),
    }
}

/// `GET /static/{path}` (public).
pub async fn static_files(State(state): State<HttpState>, Path(path): Path<String>) -> Response {
    serve(&state, "static", &path).await
}
