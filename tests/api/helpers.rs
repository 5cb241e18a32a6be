//! TestApp: a whole VisionFlow over a real database.
//!
//! The database is SQLite (a file in a temporary data dir) unless `VF_TEST_DATABASE_URL`
//! names a PostgreSQL server; then each TestApp gets a fresh schema (`vf_test_<uuid>`) so
//! tests run in parallel without seeing each other's rows. HTTP goes through the router with
//! `oneshot`; websockets use a real port on 127.0.0.1.

use std::net::SocketAddr;

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode},
};
use http_body_util::BodyExt as _;
use sea_orm::{
    ConnectionTrait as _, Database, DatabaseConnection, EntityTrait as _, PaginatorTrait as _,
};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use visionflow::{
    config::Settings,
    db::{self, entities},
    startup::{AppState, Application},
};

/// A running application under test.
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    _data_dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Camera threads end within their read timeout; nothing outlives the test.
        self.state.cameras.live().stop_all();
        self.state.deliveries.abort();
    }
}

/// A response, fully read.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Tokens of a logged-in test user.
pub struct User {
    pub account_uuid: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings {
            data_dir: data_dir.path().to_path_buf(),
            ..Settings::default()
        };
        // Nothing of a test reaches the real LINE API: a closed local port unless a test
        // points it at its stand-in.
        settings.line.api_base = "http://127.0.0.1:9".into();
        configure(&mut settings);
        let db = connect(&settings).await;
        db::migrate(&db).await.expect("migrations run");
        let state = AppState::new(settings, db).expect("state");
        state.start_workers().await.expect("workers");
        let router = state.router();
        Self {
            state,
            router,
            _data_dir: data_dir,
        }
    }

    /// Stops the workers at once, deliveries in flight included (as a killed process would),
    /// and starts a new application over the same database and data directory.
    pub async fn restart(&mut self) {
        self.restart_with(|_| {}).await;
    }

    /// [`Self::restart`] with changed settings.
    pub async fn restart_with(&mut self, configure: impl FnOnce(&mut Settings)) {
        self.state.deliveries.abort();
        self.state.cameras.live().stop_all();
        let mut settings = self.state.settings.clone();
        configure(&mut settings);
        let state = AppState::new(settings, self.state.db.clone()).expect("state");
        state.start_workers().await.expect("workers");
        self.router = state.router();
        self.state = state;
    }

    /// Replaces the router (e.g. with extra REST groups mounted).
    pub fn with_router(mut self, router: Router) -> Self {
        self.router = router;
        self
    }

    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> TestResponse {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(
                HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                HeaderValue::from_str(v).expect("header value"),
            );
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body.into()).expect("request"))
            .await
            .expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.request(Method::GET, uri, headers, Body::empty()).await
    }

    pub async fn post_json(
        &self,
        uri: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.request(Method::POST, uri, &h, body.to_string()).await
    }

    /// Runs a GraphQL operation over `POST /graphql` and returns the JSON answer.
    pub async fn graphql(&self, query: &str, variables: Value, headers: &[(&str, &str)]) -> Value {
        let resp = self
            .post_json(
                "/graphql",
                &json!({"query": query, "variables": variables}),
                headers,
            )
            .await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
        resp.json()
    }

    /// Registers and logs in through the documented REST routes.
    pub async fn user(&self, username: &str) -> User {
        let password = "secure_password_123";
        let r = self
            .post_json(
                "/register",
                &json!({"username": username, "email": format!("{username}@example.com"), "password": password}),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let r = self
            .post_json(
                "/login",
                &json!({"username": username, "password": password}),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let j = r.json();
        User {
            account_uuid: j["account_uuid"].as_str().expect("uuid").to_owned(),
            access_token: j["access_token"].as_str().expect("access").to_owned(),
            refresh_token: j["refresh_token"].as_str().expect("refresh").to_owned(),
        }
    }

    /// Accounts users created (the built-in anonymous account is not counted).
    pub async fn account_count(&self) -> u64 {
        use sea_orm::{ColumnTrait as _, QueryFilter as _};
        entities::account::Entity::find()
            .filter(entities::account::Column::Id.ne(visionflow::auth::ANONYMOUS_ACCOUNT))
            .count(&self.state.db)
            .await
            .expect("count")
    }

    pub async fn api_key_count(&self) -> u64 {
        entities::api_key::Entity::find()
            .count(&self.state.db)
            .await
            .expect("count")
    }

    /// Serves the app on a real loopback port; the server stops when the returned sender
    /// is dropped.
    pub async fn serve(&self) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let app = Application::bind(self.state.clone(), "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addr = app.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        (addr, tx)
    }
}

impl User {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.access_token)
    }
}

async fn connect(settings: &Settings) -> DatabaseConnection {
    match std::env::var("VF_TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let schema = format!("vf_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&url).await.expect("PostgreSQL reachable");
            admin
                .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
                .await
                .expect("create schema");
            admin.close().await.expect("close");
            db::connect(&url, Some(&schema)).await.expect("connect")
        }
        _ => db::connect(&settings.database_url(), None)
            .await
            .expect("connect sqlite"),
    }
}

/// A multipart/form-data body: `(field, Some(filename) for a file | None for text, bytes)`.
/// Returns the content type (with boundary) and the body.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = format!("vfboundary{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::new();
    for (name, filename, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The installed models and sample images, or `None` (the test is skipped) when they are
/// absent and `VF_REQUIRE_MODELS` is not set. `scripts/test.sh` fetches both.
pub fn vision_data() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| root.join(default))
    };
    let models = dir("VF_MODELS_DIR", "data/models");
    let samples = dir("VF_SAMPLES_DIR", "data/samples");
    if models.join("vehicles/model.json").is_file() && samples.join("rear_car.png").is_file() {
        return Some((models, samples));
    }
    assert!(
        std::env::var_os("VF_REQUIRE_MODELS").is_none(),
        "VF_REQUIRE_MODELS is set but {} or {} lacks the models or samples",
        models.display(),
        samples.display()
    );
    eprintln!("skipping: no models/samples (scripts/test.sh fetches them)");
    None
}

impl TestApp {
    /// A TestApp with the real models loaded (see [`vision_data`]).
    pub async fn spawn_vision(
        configure: impl FnOnce(&mut Settings),
    ) -> Option<(Self, std::path::PathBuf)> {
        let (models, samples) = vision_data()?;
        let app = Self::spawn_with(|s| {
            s.models.dir = Some(models);
            configure(s);
        })
        .await;
        Some((app, samples))
    }

    /// Creates an API key for the user and returns the secret.
    pub async fn api_key(&self, user: &User) -> String {
        let r = self
            .graphql(
                "mutation { createApiKey(input: {name: \"test\"}) { key } }",
                json!({}),
                &[("authorization", &user.bearer())],
            )
            .await;
        r["data"]["createApiKey"]["key"]
            .as_str()
            .unwrap_or_else(|| panic!("no key: {r}"))
            .to_owned()
    }

    /// Posts a multipart body.
    pub async fn post_multipart(
        &self,
        uri: &str,
        parts: &[(&str, Option<&str>, &[u8])],
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let (ctype, body) = multipart(parts);
        let mut h = vec![("content-type", ctype.as_str())];
        h.extend_from_slice(headers);
        self.request(Method::POST, uri, &h, body).await
    }

    /// Rows in a table of the ALPR domain: (sessions, vehicles, plates).
    pub async fn alpr_counts(&self) -> (u64, u64, u64) {
        let db = &self.state.db;
        (
            entities::detection_session::Entity::find()
                .count(db)
                .await
                .expect("count"),
            entities::vehicle::Entity::find()
                .count(db)
                .await
                .expect("count"),
            entities::plate::Entity::find()
                .count(db)
                .await
                .expect("count"),
        )
    }

    /// Files under `<data_dir>/outputs`.
    pub fn output_files(&self) -> Vec<std::path::PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p, out);
                    } else {
                        out.push(p);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.state.settings.data_dir.join("outputs"), &mut out);
        out
    }
}

/// Registers a user and creates an API key for it.
pub async fn keyed(app: &TestApp, name: &str) -> (User, String) {
    let user = app.user(name).await;
    let key = app.api_key(&user).await;
    (user, key)
}

/// One request with an API key and an optional JSON body: the status and the JSON answer
/// (`null` for an empty body).
pub async fn call(
    app: &TestApp,
    method: Method,
    uri: &str,
    key: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let r = match body {
        Some(b) => {
            app.request(
                method,
                uri,
                &[("x-api-key", key), ("content-type", "application/json")],
                b.to_string(),
            )
            .await
        }
        None => {
            app.request(method, uri, &[("x-api-key", key)], Body::empty())
                .await
        }
    };
    let v = if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    };
    (r.status, v)
}
