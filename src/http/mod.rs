//! HTTP: one function builds the whole router and its middleware stack.

mod docs;
mod files;
mod graphql;
mod health;

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::DefaultBodyLimit,
    http::StatusCode,
    middleware,
    response::{Html, IntoResponse, Response},
    routing::get,
};
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

use crate::{auth, graphql::AppSchema, startup::AppState};

/// State of the HTTP handlers.
#[derive(Clone)]
pub struct HttpState {
    /// Application services.
    pub app: AppState,
    /// The GraphQL schema (also the executor of the REST groups).
    pub schema: AppSchema,
}

/// Builds the router: health, GraphQL (HTTP, websocket, GraphiQL), every documented REST
/// group, and the middleware stack (tracing, panic → 500 JSON, body limit, authentication).
pub fn router(app: AppState, schema: AppSchema) -> Router {
    router_with_groups(app, schema, rest_compat::groups())
}

/// [`router`] with the given REST groups (tests mount extra groups this way).
pub fn router_with_groups(
    app: AppState,
    schema: AppSchema,
    groups: Vec<rest_compat::Group>,
) -> Router {
    let body_limit = app.settings.http.max_body_bytes;
    let open = app.settings.anonymous.groups.clone();
    let rest = rest_compat::router(
        schema.clone(),
        groups,
        rest_compat::Options {
            body_limit,
            prepare: Arc::new(move |group, parts, request| {
                let auth = parts
                    .extensions
                    .get::<auth::Auth>()
                    .cloned()
                    .unwrap_or_default();
                request.data(auth::for_group(auth, group, &open))
            }),
        },
    );
    let state = HttpState {
        app: app.clone(),
        schema,
    };
    Router::new()
        .route("/", get(health::root))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/graphql", get(graphql::graphiql).post(graphql::execute))
        .route("/graphql/ws", get(graphql::websocket))
        .route("/graphiql/{file}", get(graphql::asset))
        .route("/register", get(register_page))
        .route("/openapi.json", get(docs::openapi))
        .route("/docs", get(docs::swagger))
        .route("/redoc", get(docs::redoc))
        .route("/docs-assets/{file}", get(docs::asset))
        .route("/outputs/{*path}", get(files::outputs))
        .route("/static/{*path}", get(files::static_files))
        .with_state(state)
        .merge(crate::media::router(app.clone()))
        .merge(rest)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            app.accounts.clone(),
            auth::middleware,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
}

/// `GET /register`: the sign-up form of monitor-api.zh-TW.txt ("返回使用者註冊頁面").
async fn register_page() -> Html<&'static str> {
    Html(include_str!("register.html"))
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({"detail": "Not Found"})),
    )
        .into_response()
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(serde_json::json!({"error": "Internal server error"})),
    )
        .into_response()
}
