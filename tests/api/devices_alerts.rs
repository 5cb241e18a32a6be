//! What a device adds to alerts and detections (devices-api-v1.zh-TW.txt "排程結構" peak
//! slots, "enabledCapabilities" `attribute` and `vlm`): off-peak coalescing and the quotas
//! on the real database; then, live, a level_02 device watching real footage of a fallen
//! person (a real photo turned on its side, served by GStreamer's RTSP server) reports the
//! fall as an attribute detection and has its alert snapshot read by a VLM — a local server
//! speaking the chat-completions protocol on 127.0.0.1.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    http::{HeaderMap, Method, StatusCode},
    routing::post,
};
use base64::Engine as _;
use chrono::{Timelike as _, Utc};
use serde_json::{Value, json};
use visionflow::domain::{
    cameras::notifications::{NewAlert, insert_alert},
    devices::{
        alerts::{self, Admission, SeenAttribute},
        quota::{self, Feature},
    },
};

use crate::{
    cameras_live::{args, drain, subscribe},
    devices_quota::{create, gql, loops_off, row},
    helpers::{TestApp, User, call, keyed},
    live::{RtspServer, mount},
};

async fn zones(app: &TestApp, user: &User, cam: i32, names: &[&str]) -> Vec<i32> {
    let zones: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "coordinates": [[0, 0], [639, 0], [639, 479], [0, 479]], "detectionClasses": ["person"], "alertDuration": 1}))
        .collect();
    let d = gql(
        app,
        user,
        "mutation($c: Int!, $z: [ZoneInput!]!) { setZones(cameraId: $c, zones: $z) { zones { id } } }",
        json!({"c": cam, "z": zones}),
    )
    .await;
    d["setZones"]["zones"]
        .as_array()
        .expect("zones")
        .iter()
        .map(|z| z["id"].as_i64().expect("id") as i32)
        .collect()
}

fn alert(user: &User, cam: i32, zone: i32, track: i64) -> NewAlert {
    NewAlert {
        account_id: user.account_uuid.parse().expect("uuid"),
        camera_id: cam,
        zone_id: Some(zone),
        zone_name: Some("gate".into()),
        track_id: track,
        detection_type: "person".into(),
        confidence: 0.8,
        message: "person in gate".into(),
        image_path: None,
        metadata: json!({}),
        deliver: false,
    }
}

async fn quota_used(app: &TestApp, key: &str, id: &str, feature: &str) -> (i64, bool) {
    let (s, q) = call(
        app,
        Method::GET,
        &format!("/api/v1/devices/{id}/quota"),
        key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    let f = &q["data"][format!("{feature}Quota")];
    (
        f["used"].as_i64().expect("used"),
        f["isExceeded"].as_bool().expect("isExceeded"),
    )
}

#[tokio::test]
async fn off_peak_alerts_of_a_zone_fold_into_one_while_peak_alerts_each_go_out() {
    let app = TestApp::spawn_with(loops_off).await;
    let (user, key) = keyed(&app, "peakuser").await;
    // The current half-hour slot in UTC+0; the peak is twelve hours away.
    let now = Utc::now();
    let slot = i64::from(now.hour() * 2 + now.minute() / 30);
    let all: Vec<i64> = (0..48).collect();
    let (id, cam) = create(
        &app,
        &key,
        json!({"name": "Gate", "rtspUrl": "rtsp://127.0.0.1:9/gate",
               "schedule": {"dailySlots": all, "dailyPeakSlots": [(slot + 24) % 48]}}),
    )
    .await;
    let z = zones(&app, &user, cam, &["gate", "yard"]).await;
    let (db, bus) = (&app.state.db, &*app.state.bus);
    let admit = |zone: Option<i32>, interval: f64| {
        let app = &app;
        async move {
            let c = row(app, cam).await;
            alerts::admit(
                &app.state.db,
                &*app.state.bus,
                &c,
                zone,
                Utc::now(),
                interval,
            )
            .await
            .expect("admit")
        }
    };

    // Off-peak: the first alert of the zone is raised, the next ones are counted in it.
    assert_eq!(admit(Some(z[0]), 600.0).await, Admission::Raise);
    let first = insert_alert(db, alert(&user, cam, z[0], 1))
        .await
        .expect("stored");
    for _ in 0..3 {
        assert_eq!(admit(Some(z[0]), 600.0).await, Admission::Coalesced(first));
    }
    // Another zone, a zone-less alert and a zero interval are not folded.
    assert_eq!(admit(Some(z[1]), 600.0).await, Admission::Raise);
    assert_eq!(admit(None, 600.0).await, Admission::Raise);
    assert_eq!(admit(Some(z[0]), 0.0).await, Admission::Raise);
    let n = gql(
        &app,
        &user,
        "query($id: Int!) { notification(id: $id) { coalescedCount } }",
        json!({"id": first}),
    )
    .await;
    assert_eq!(n["notification"]["coalescedCount"], 3);
    // Folded alerts cost no alert quota: four were raised (3 admitted above + the first).
    assert_eq!(quota_used(&app, &key, &id, "alert").await, (4, false));

    // In a peak slot every alert goes out, however recent the last one.
    let (s, b) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        &key,
        Some(json!({"schedule": {"dailySlots": all, "dailyPeakSlots": [slot, (slot + 1) % 48]}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(admit(Some(z[0]), 600.0).await, Admission::Raise);
    // A schedule without peak slots never coalesces.
    let (s, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        &key,
        Some(json!({"schedule": {"dailySlots": all, "dailyPeakSlots": []}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(admit(Some(z[0]), 600.0).await, Admission::Raise);
    assert_eq!(quota_used(&app, &key, &id, "alert").await, (6, false));

    // Spent alerts are dropped (analysis goes on).
    let c = row(&app, cam).await;
    quota::charge(db, bus, &c, Feature::Alert, 2_994.0, false, Utc::now())
        .await
        .expect("charge");
    assert_eq!(admit(Some(z[0]), 600.0).await, Admission::QuotaSpent);
    assert_eq!(quota_used(&app, &key, &id, "alert").await, (3000, true));
}

#[tokio::test]
async fn attribute_detections_need_level_02_and_stop_when_the_quota_is_spent() {
    let app = TestApp::spawn_with(loops_off).await;
    let (user, key) = keyed(&app, "attruser").await;
    let (id, cam) = create(
        &app,
        &key,
        json!({"name": "Ward", "rtspUrl": "rtsp://127.0.0.1:9/ward"}),
    )
    .await;
    let (db, bus) = (&app.state.db, &*app.state.bus);
    let seen = |track: u64| SeenAttribute {
        track_id: track,
        attribute: "posture".into(),
        value: "fall".into(),
        confidence: 0.6,
        bbox: [10.4, 20.0, 300.0, 120.6],
        captured_at: Utc::now(),
    };
    // level_01 has no attribute capability: nothing written, nothing counted.
    assert_eq!(
        alerts::record_attribute(db, bus, cam, &seen(1), Utc::now())
            .await
            .expect("record"),
        None
    );
    let (s, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        &key,
        Some(json!({"plan": "level_02"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let stored = alerts::record_attribute(db, bus, cam, &seen(2), Utc::now())
        .await
        .expect("record")
        .expect("stored");
    let d = gql(
        &app,
        &user,
        "query($id: ID!) { device(id: $id) { attributeDetections { id trackId attribute value confidence bbox deviceId cameraId } } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(
        d["device"]["attributeDetections"],
        json!([{"id": stored, "trackId": 2, "attribute": "posture", "value": "fall",
                "confidence": 0.6000000238418579, "bbox": [10.0, 20.0, 300.0, 121.0],
                "deviceId": id, "cameraId": cam}])
    );
    assert_eq!(quota_used(&app, &key, &id, "attribute").await, (1, false));
    // Spent: dropped, not written.
    let c = row(&app, cam).await;
    quota::charge(db, bus, &c, Feature::Attribute, 4_999.0, false, Utc::now())
        .await
        .expect("charge");
    assert_eq!(
        alerts::record_attribute(db, bus, cam, &seen(3), Utc::now())
            .await
            .expect("record"),
        None
    );
    let d = gql(
        &app,
        &user,
        "query($id: ID!) { device(id: $id) { attributeDetections(first: 100) { id } } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(
        d["device"]["attributeDetections"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(quota_used(&app, &key, &id, "attribute").await, (5000, true));
    // Another account sees none of it.
    let other = app.user("attrother").await;
    let r = app
        .graphql(
            "query($id: ID!) { device(id: $id) { attributeDetections { id } } }",
            json!({"id": id}),
            &[("authorization", &other.bearer())],
        )
        .await;
    assert_eq!(
        r["errors"][0]["extensions"]["reason"], "DEVICE_NOT_FOUND",
        "{r}"
    );
}

/// A local chat-completions server: records each request and answers a JSON reading with
/// `usage.total_tokens` 321.
async fn chat_server() -> (
    std::net::SocketAddr,
    Arc<Mutex<Vec<(HeaderMap, Value)>>>,
    tokio::sync::oneshot::Sender<()>,
) {
    let seen: Arc<Mutex<Vec<(HeaderMap, Value)>>> = Arc::default();
    let s2 = seen.clone();
    let chat = Router::new().route(
        "/v1/chat/completions",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let s2 = s2.clone();
            async move {
                s2.lock().expect("lock").push((headers, body));
                let content = json!({"summary": "A person is lying on the ground in the ward.",
                                     "objects": [{"type": "person", "description": "lying down"}],
                                     "riskLevel": "high", "actionRequired": true});
                Json(json!({
                    "id": "chatcmpl-vlm", "object": "chat.completion", "model": "local-vlm-1",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content.to_string()}}],
                    "usage": {"prompt_tokens": 300, "completion_tokens": 21, "total_tokens": 321}
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, chat)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await;
    });
    (addr, seen, stop_tx)
}

#[tokio::test]
async fn a_level_02_device_reports_a_fall_and_its_alert_snapshot_is_read_by_the_vlm() {
    let (chat, requests, stop_chat) = chat_server().await;
    let Some((app, samples)) = TestApp::spawn_vision(|s| {
        loops_off(s);
        s.cameras.detect_fps = 4.0;
        s.vlm.base_url = Some(format!("http://{chat}/v1"));
        s.vlm.model = "vision-model".into();
        s.vlm.api_key = Some("sk-local-vlm".to_owned().into());
    })
    .await
    else {
        return;
    };
    // Real footage of a fall: Ultralytics' bus photo turned a quarter left, so the people
    // lie across the frame (the people model classes the nearest one `Fall`).
    let dir = tempfile::tempdir().expect("tempdir");
    let fallen = dir.path().join("fallen.jpg");
    image::open(samples.join("bus.jpg"))
        .expect("bus.jpg")
        .rotate270()
        .save(&fallen)
        .expect("write");
    let Some(rtsp) = RtspServer::start(&args(
        640,
        480,
        10,
        &[mount("ward", "still", fallen.to_str().expect("path"))],
    )) else {
        return;
    };
    let (user, key) = keyed(&app, "falluser").await;
    let (addr, _stop) = app.serve().await;
    let (id, cam) = create(
        &app,
        &key,
        json!({"name": "Ward 3", "rtspUrl": rtsp.url("ward"), "plan": "level_02", "locationLabel": "Floor 2"}),
    )
    .await;
    zones(&app, &user, cam, &["bed"]).await;
    let mut ws = subscribe(addr, &user, &[
        ("f", "subscription { deviceAttributeDetected { id deviceId attribute value trackId confidence } }"),
        ("v", "subscription { alertAnalysed { id cameraId vlmSummary vlmStructuredResult vlmTokens } }"),
    ])
    .await;
    gql(
        &app,
        &user,
        "mutation($id: ID!) { startDeviceAnalysis(id: $id) { analysisState } }",
        json!({"id": id}),
    )
    .await;

    // Wait for a fall and for a VLM reading of an alert.
    let q = "query($id: ID!, $c: Int!) {
        device(id: $id) { attributeDetections(first: 100) { id trackId attribute value confidence bbox } }
        notifications(cameraId: $c, first: 50) { nodes { id regionName imagePath coalescedCount vlmSummary vlmStructuredResult vlmModel vlmTokens } } }";
    let t0 = Instant::now();
    let (falls, read) = loop {
        let d = gql(&app, &user, q, json!({"id": id, "c": cam})).await;
        let falls = d["device"]["attributeDetections"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let read: Vec<Value> = d["notifications"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| !n["vlmSummary"].is_null())
            .collect();
        if !falls.is_empty() && !read.is_empty() {
            break (falls, read);
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no fall and VLM reading within 60 s: {d}"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
    };
    eprintln!(
        "{} fall(s), {} VLM reading(s) after {:.1} s",
        falls.len(),
        read.len(),
        t0.elapsed().as_secs_f64()
    );
    gql(
        &app,
        &user,
        "mutation($id: ID!) { stopDeviceAnalysis(id: $id) { analysisState } }",
        json!({"id": id}),
    )
    .await;

    // The falls: one row per track, posture = fall, a box inside the 640×480 frame.
    let mut tracks: Vec<i64> = falls
        .iter()
        .map(|f| f["trackId"].as_i64().expect("track"))
        .collect();
    tracks.sort_unstable();
    tracks.dedup();
    assert_eq!(tracks.len(), falls.len(), "one per track: {falls:?}");
    for f in &falls {
        assert_eq!(
            (f["attribute"].as_str(), f["value"].as_str()),
            (Some("posture"), Some("fall"))
        );
        let conf = f["confidence"].as_f64().expect("confidence");
        assert!((0.25..=1.0).contains(&conf), "{f}");
        let b: Vec<f64> = serde_json::from_value(f["bbox"].clone()).expect("bbox");
        assert!(
            b[0] < b[2] && b[1] < b[3] && b[2] <= 640.0 && b[3] <= 480.0,
            "{f}"
        );
    }

    // The VLM reading: the endpoint's answer stored on the alert.
    let n = &read[0];
    assert_eq!(n["regionName"], "bed");
    assert_eq!(
        n["vlmSummary"],
        "A person is lying on the ground in the ward."
    );
    assert_eq!(n["vlmStructuredResult"]["riskLevel"], "high");
    assert_eq!(n["vlmStructuredResult"]["actionRequired"], true);
    assert_eq!(
        (n["vlmModel"].as_str(), n["vlmTokens"].as_i64()),
        (Some("local-vlm-1"), Some(321))
    );
    // What the endpoint was sent: the configured model and key, the zone in the text and
    // the stored snapshot as a JPEG data URL.
    let calls = requests.lock().expect("lock").clone();
    assert!(!calls.is_empty());
    let stored = app
        .get(
            &format!("/showimage/{}", n["imagePath"].as_str().expect("path")),
            &[("authorization", &user.bearer())],
        )
        .await;
    assert_eq!(stored.status, StatusCode::OK);
    let mut saw_it = false;
    for (h, body) in &calls {
        assert_eq!(
            h.get("authorization").and_then(|v| v.to_str().ok()),
            Some("Bearer sk-local-vlm")
        );
        assert_eq!(body["model"], "vision-model");
        assert_eq!(body["response_format"]["type"], "json_object");
        let parts = &body["messages"][1]["content"];
        let text = parts[0]["text"].as_str().expect("text");
        assert!(
            text.contains("\"bed\"") && text.contains("Ward 3") && text.contains("Floor 2"),
            "{text}"
        );
        let url = parts[1]["image_url"]["url"].as_str().expect("image url");
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(
                url.strip_prefix("data:image/jpeg;base64,")
                    .expect("data URL"),
            )
            .expect("base64");
        let snap = image::load_from_memory(&jpeg).expect("a JPEG");
        assert_eq!((snap.width(), snap.height()), (640, 480));
        saw_it |= jpeg == stored.body;
    }
    assert!(saw_it, "the stored snapshot is what the VLM saw");

    // Quotas: each fall is one attribute detection, each reading its tokens.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let d = gql(&app, &user, q, json!({"id": id, "c": cam})).await;
    let falls = d["device"]["attributeDetections"]
        .as_array()
        .map_or(0, Vec::len) as i64;
    let tokens: i64 = d["notifications"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["vlmTokens"].as_i64())
        .sum();
    assert_eq!(
        quota_used(&app, &key, &id, "attribute").await,
        (falls, false)
    );
    assert_eq!(quota_used(&app, &key, &id, "vlm").await, (tokens, false));
    assert_eq!(tokens, 321 * requests.lock().expect("lock").len() as i64);

    // Both went out live.
    let events = drain(&mut ws, Duration::from_secs(1)).await;
    assert!(
        events.iter().any(|(s, d)| s == "f"
            && d["deviceAttributeDetected"]["value"] == "fall"
            && d["deviceAttributeDetected"]["deviceId"] == id.as_str()),
        "{events:?}"
    );
    assert!(
        events.iter().any(|(s, d)| s == "v"
            && d["alertAnalysed"]["vlmTokens"] == 321
            && d["alertAnalysed"]["cameraId"] == cam),
        "{events:?}"
    );
    let _ = stop_chat.send(());
    drop(rtsp);
}
