use axum::http::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn root_and_liveness_answer_ok() {
    let app = TestApp::spawn().await;
    let r = app.get("/", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "ok");
    assert_eq!(r.json()["service"], "VisionFlow");
    let r = app.get("/healthz", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn readiness_follows_the_database() {
    let app = TestApp::spawn().await;
    let r = app.get("/readyz", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["database"], "ok");

    // Close the pool under the running app: readiness must drop to 503, liveness stays.
    app.state.db.clone().close().await.expect("close");
    let r = app.get("/readyz", &[]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert_eq!(r.json()["database"], "unreachable");
    assert_eq!(app.get("/healthz", &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_answer_json_404() {
    let app = TestApp::spawn().await;
    let r = app.get("/no/such/route", &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json(), serde_json::json!({"detail": "Not Found"}));
}
