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

#[tokio::test]
async fn the_server_stops_when_asked() {
    let app = TestApp::spawn().await;
    let (addr, stop) = app.serve().await;
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("listening");
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.expect("read");
    assert!(buf.starts_with("HTTP/1.1 200"), "{buf}");
    drop(stop);
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(refused, "the listener closed after the shutdown signal");
}
