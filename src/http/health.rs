//! Liveness and readiness.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::HttpState;

/// `GET /`: API root / health check (alpr-api.en.md, "Static & Utility").
pub async fn root() -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "service": "VisionFlow",
        "version": env!("CARGO_PKG_VERSION"),
        "graphql": "/graphql",
    }))
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers; 503 otherwise.
pub async fn readyz(State(state): State<HttpState>) -> Response {
    match state.app.db.ping().await {
        Ok(()) => Json(json!({"status": "ok", "database": "ok"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": "unreachable"})),
            )
                .into_response()
        }
    }
}
