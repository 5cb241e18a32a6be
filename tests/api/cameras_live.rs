//! The live path end to end on real parts: GStreamer's RTSP server on 127.0.0.1 serving real
//! photos as H.264, OpenCV capture, the real people model, MJPEG read over TCP, websocket
//! subscribers.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    cameras::req,
    helpers::{TestApp, User},
    live::{RtspServer, mount, read_mjpeg},
    websocket::{Ws, open, recv, send},
};

pub(crate) fn args(w: u32, h: u32, fps: u32, mounts: &[[String; 2]]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--width",
        &w.to_string(),
        "--height",
        &h.to_string(),
        "--fps",
        &fps.to_string(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for m in mounts {
        v.extend(m.iter().cloned());
    }
    v
}

async fn camera(app: &TestApp, user: &User, id: i64) -> Value {
    let r = app
        .graphql(
            "query($id: Int!) { camera(id: $id) { status width height stats { framesGrabbed framesAnalysed reconnects captureFps } } }",
            json!({"id": id}),
            &[("authorization", &user.bearer())],
        )
        .await;
    r["data"]["camera"].clone()
}

/// Polls until the camera has `status`; the seconds it took.
pub(crate) async fn wait_status(
    app: &TestApp,
    user: &User,
    id: i64,
    status: &str,
    within: Duration,
) -> f64 {
    let t0 = Instant::now();
    loop {
        let c = camera(app, user, id).await;
        if c["status"] == status {
            return t0.elapsed().as_secs_f64();
        }
        assert!(
            t0.elapsed() < within,
            "camera {id} not {status} within {within:?}: {c}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) async fn subscribe(
    addr: std::net::SocketAddr,
    user: &User,
    subs: &[(&str, &str)],
) -> Ws {
    let mut ws = open(addr, "graphql-transport-ws").await;
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"Authorization": user.bearer()}}),
    )
    .await;
    assert_eq!(
        recv(&mut ws, Duration::from_secs(5)).await.expect("ack")["type"],
        "connection_ack"
    );
    for (id, query) in subs {
        send(
            &mut ws,
            json!({"id": id, "type": "subscribe", "payload": {"query": query}}),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    ws
}

/// Every `next` payload received within `wait`, as (subscription id, data).
pub(crate) async fn drain(ws: &mut Ws, wait: Duration) -> Vec<(String, Value)> {
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match recv(ws, left).await {
            Some(m) if m["type"] == "next" => out.push((
                m["id"].as_str().unwrap_or_default().to_owned(),
                m["payload"]["data"].clone(),
            )),
            Some(_) => {}
            None => break,
        }
    }
    out
}

#[tokio::test]
async fn a_person_dwelling_in_a_zone_raises_one_alert_per_track_with_its_snapshot() {
    let Some((app, _)) = TestApp::spawn_vision(|s| s.cameras.detect_fps = 5.0).await else {
        return;
    };
    let Some(rtsp) = RtspServer::start(&args(640, 480, 10, &[mount("people", "still", "bus.jpg")]))
    else {
        return;
    };
    let user = app.user("live_owner").await;
    let (addr, _stop) = app.serve().await;
    let mut ws = subscribe(addr, &user, &[
        ("a", "subscription { alertRaised { id cameraId detectionType trackId regionName imageUrl metadata } }"),
        ("s", "subscription { cameraStatusChanged { id status } }"),
    ])
    .await;
    let (status, body) = req(&app, Method::POST, "/cameras", &user, Some(json!({
        "name": "Bus stop", "stream_url": rtsp.url("people"), "recognition": true, "model_name": "yolo_v11_detect",
        "detection_areas": [{"name": "站牌", "coordinates": [[0, 0], [639, 0], [639, 479], [0, 479]], "alert_duration": 2,
                             "detection_classes": ["person"]}]
    }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["data"]["id"].as_i64().expect("id");
    let secs = wait_status(&app, &user, id, "online", Duration::from_secs(10)).await;
    eprintln!("online after {secs:.1} s");
    let c = camera(&app, &user, id).await;
    assert_eq!(
        (c["width"].clone(), c["height"].clone()),
        (json!(640), json!(480))
    );

    // Raw MJPEG at the camera's resolution; annotated scaled to the asked height.
    let token = &user.access_token;
    let raw = read_mjpeg(
        addr,
        &format!("/get_stream/{id}?token={token}"),
        3,
        Duration::from_secs(10),
    )
    .await;
    assert!(
        raw.head
            .to_ascii_lowercase()
            .contains("content-type: multipart/x-mixed-replace; boundary=frame"),
        "{}",
        raw.head
    );
    assert_eq!(raw.parts.len(), 3, "{}", raw.head);
    for p in &raw.parts {
        let img = image::load_from_memory(p).expect("each part is a JPEG");
        assert_eq!((img.width(), img.height()), (640, 480));
    }

    // Alerts: one per tracked person in the zone, not one per frame.
    let t0 = Instant::now();
    let first = loop {
        let (_, list) = req(&app, Method::GET, "/notifications?limit=100", &user, None).await;
        if list["pagination"]["total_items"].as_u64().unwrap_or(0) > 0 {
            break list;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "no alert within 40 s: {:?}",
            camera(&app, &user, id).await
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    eprintln!("first alert after {:.1} s", t0.elapsed().as_secs_f64());
    let annotated = read_mjpeg(
        addr,
        &format!("/recognized_stream/{id}?token={token}&height=240&fps=5"),
        2,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(annotated.parts.len(), 2);
    let img = image::load_from_memory(&annotated.parts[1])
        .expect("JPEG")
        .to_rgb8();
    assert_eq!(img.dimensions(), (320, 240));
    let raw_small = image::load_from_memory(&raw.parts[0])
        .expect("JPEG")
        .resize_exact(320, 240, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let differing = img
        .pixels()
        .zip(raw_small.pixels())
        .filter(|(a, b)| a.0.iter().zip(b.0.iter()).any(|(x, y)| x.abs_diff(*y) > 60))
        .count();
    assert!(
        differing > 500,
        "boxes and the zone are drawn on the annotated stream ({differing} pixels differ)"
    );

    // Several more analysed frames with the same people in the zone.
    let at_first = camera(&app, &user, id).await["stats"]["framesAnalysed"]
        .as_u64()
        .expect("analysed");
    let t1 = Instant::now();
    while camera(&app, &user, id).await["stats"]["framesAnalysed"]
        .as_u64()
        .expect("analysed")
        < at_first + 4
    {
        assert!(t1.elapsed() < Duration::from_secs(30), "analysis stalled");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (_, list) = req(&app, Method::GET, "/notifications?limit=100", &user, None).await;
    let items = list["data"].as_array().expect("list").clone();
    assert!(!items.is_empty(), "{first}");
    let mut tracks: Vec<i64> = items
        .iter()
        .map(|n| n["metadata"]["track_id"].as_i64().expect("track id"))
        .collect();
    tracks.sort_unstable();
    let n = tracks.len();
    tracks.dedup();
    assert_eq!(tracks.len(), n, "one alert per track and zone: {items:?}");
    let stats = camera(&app, &user, id).await["stats"].clone();
    let analysed = stats["framesAnalysed"].as_u64().expect("analysed");
    eprintln!("{n} alerts over {analysed} analysed frames: {stats}");
    for it in &items {
        assert_eq!(it["camera_id"], id);
        assert_eq!(it["camera_name"], "Bus stop");
        assert_eq!(it["detection_type"], "person");
        assert_eq!(it["region_name"], "站牌");
        assert_eq!(it["status"], "unread");
        let conf = it["confidence"].as_f64().expect("confidence");
        assert!((0.25..=1.0).contains(&conf), "{conf}");
        assert!(
            it["metadata"]["dwell_seconds"].as_f64().expect("dwell") >= 2.0,
            "{it}"
        );
        assert!(it["metadata"]["bounding_box"]["width"].as_f64().expect("w") > 0.0);
        assert!(
            matches!(it["metadata"]["posture"].as_str(), Some("normal" | "fall")),
            "{it}"
        );
    }
    // The snapshot is served to the owner only.
    let path = items[0]["image_path"].as_str().expect("image path");
    assert!(
        path.starts_with("outputs/alerts/") && path.ends_with(".jpg"),
        "{path}"
    );
    let r = app
        .get(
            &format!("/showimage/{path}"),
            &[("authorization", &user.bearer())],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "image/jpeg");
    let snap = image::load_from_memory(&r.body).expect("snapshot JPEG");
    assert_eq!((snap.width(), snap.height()), (640, 480));
    let stranger = app.user("live_stranger").await;
    let r = app
        .get(
            &format!("/showimage/{path}"),
            &[("authorization", &stranger.bearer())],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for bad in [
        "../../etc/passwd",
        "outputs/../visionflow.db",
        "%2e%2e/%2e%2e/etc/passwd",
        "outputs/alerts/missing.jpg",
    ] {
        let r = app
            .get(
                &format!("/showimage/{bad}"),
                &[("authorization", &user.bearer())],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}");
    }

    // The websocket saw the camera go online and every alert.
    let events = drain(&mut ws, Duration::from_secs(2)).await;
    assert!(
        events
            .iter()
            .any(|(s, d)| s == "s" && d["cameraStatusChanged"]["status"] == "online"),
        "{events:?}"
    );
    let alerts: Vec<&Value> = events
        .iter()
        .filter(|(s, _)| s == "a")
        .map(|(_, d)| &d["alertRaised"])
        .collect();
    // Every alert listed earlier arrived on the websocket, and everything that arrived is
    // stored: a late-confirmed track may add alerts after the list was read, each once.
    assert!(alerts.len() >= n, "{events:?}");
    let (_, after) = req(&app, Method::GET, "/notifications?limit=100", &user, None).await;
    let stored: Vec<i64> = after["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|n| n["id"].as_i64())
        .collect();
    assert!(
        alerts
            .iter()
            .all(|a| a["id"].as_i64().is_some_and(|id| stored.contains(&id))),
        "{events:?} vs {after}"
    );
    let mut all_tracks: Vec<i64> = after["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|n| n["metadata"]["track_id"].as_i64())
        .collect();
    let total = all_tracks.len();
    all_tracks.sort_unstable();
    all_tracks.dedup();
    assert_eq!(
        all_tracks.len(),
        total,
        "still one alert per track: {after}"
    );
    assert!(alerts.iter().all(|a| {
        a["cameraId"] == id
            && a["imageUrl"]
                .as_str()
                .is_some_and(|u| u.starts_with("/showimage/outputs/alerts/"))
    }));

    // Deleting the camera stops the worker and removes rows and snapshot files.
    let files = app.output_files();
    assert!(
        files.iter().any(|f| f.to_string_lossy().contains("alerts")),
        "{files:?}"
    );
    let (status, _) = req(&app, Method::DELETE, &format!("/cameras/{id}"), &user, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!app.state.cameras.live().is_running(id as i32));
    assert!(
        !app.output_files()
            .iter()
            .any(|f| f.to_string_lossy().contains("alerts")),
        "snapshots removed"
    );
    assert_eq!(crate::cameras::counts(&app).await, (0, 0, 0));
    drop(rtsp);
}

#[tokio::test]
async fn a_killed_stream_goes_offline_and_comes_back_by_itself() {
    // Offline after 6 s instead of 10: the restart then meets the 7 s reconnect attempt
    // (backoff 1, 2, 4 s …) rather than the 15 s one, keeping the test short and steady.
    let app = TestApp::spawn_with(|s| s.cameras.offline_after_secs = 6.0).await;
    let Some(mut rtsp) =
        RtspServer::start(&args(320, 240, 10, &[mount("cam", "still", "zidane.jpg")]))
    else {
        return;
    };
    let user = app.user("live_watchdog").await;
    let (addr, _stop) = app.serve().await;
    let (_, body) = req(
        &app,
        Method::POST,
        "/cameras",
        &user,
        Some(json!({"name": "Yard", "stream_url": rtsp.url("cam"), "recognition": false})),
    )
    .await;
    let id = body["data"]["id"].as_i64().expect("id");
    wait_status(&app, &user, id, "online", Duration::from_secs(10)).await;
    let mut ws = subscribe(
        addr,
        &user,
        &[(
            "s",
            "subscription { cameraStatusChanged { id status lastActive } }",
        )],
    )
    .await;

    rtsp.kill();
    let offline = wait_status(&app, &user, id, "offline", Duration::from_secs(15)).await;
    rtsp.restart();
    let online = wait_status(&app, &user, id, "online", Duration::from_secs(10)).await;
    eprintln!("offline {offline:.1} s after the kill, online {online:.1} s after the restart");
    let c = camera(&app, &user, id).await;
    assert!(
        c["stats"]["reconnects"].as_u64().expect("reconnects") >= 1,
        "{c}"
    );
    let events = drain(&mut ws, Duration::from_secs(1)).await;
    let seen: Vec<&str> = events
        .iter()
        .filter_map(|(_, d)| d["cameraStatusChanged"]["status"].as_str())
        .collect();
    assert_eq!(seen, vec!["offline", "online"], "{events:?}");
    assert!(events[0].1["cameraStatusChanged"]["lastActive"].is_string());
}

#[tokio::test]
async fn a_url_change_restarts_the_worker_and_eight_cameras_share_one_server() {
    let app = TestApp::spawn().await;
    let mounts = [
        mount("still", "still", "bus.jpg"),
        mount("pan", "moving", "bus.jpg"),
    ];
    let Some(rtsp) = RtspServer::start(&args(320, 240, 10, &mounts)) else {
        return;
    };
    let user = app.user("live_many").await;
    let mut ids = Vec::new();
    for i in 0..8 {
        let url = rtsp.url(if i % 2 == 0 { "still" } else { "pan" });
        let (status, body) = req(
            &app,
            Method::POST,
            "/cameras",
            &user,
            Some(json!({"name": format!("cam {i}"), "stream_url": url, "recognition": false})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["data"]["id"].as_i64().expect("id"));
    }
    for id in &ids {
        wait_status(&app, &user, *id, "online", Duration::from_secs(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for id in &ids {
        let c = camera(&app, &user, *id).await;
        assert_eq!(
            (c["width"].clone(), c["height"].clone()),
            (json!(320), json!(240)),
            "{c}"
        );
        assert!(
            c["stats"]["framesGrabbed"].as_u64().expect("grabbed") >= 10,
            "camera {id}: {c}"
        );
    }

    // A new URL: `connecting`, a fresh worker (its counters start again), then online.
    let id = ids[0];
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = camera(&app, &user, id).await["stats"]["framesGrabbed"]
        .as_u64()
        .expect("grabbed");
    let (status, upd) = req(
        &app,
        Method::PATCH,
        &format!("/cameras/{id}"),
        &user,
        Some(json!({"stream_url": rtsp.url("pan")})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{upd}");
    assert_eq!(upd["data"]["status"], "connecting");
    wait_status(&app, &user, id, "online", Duration::from_secs(10)).await;
    let after = camera(&app, &user, id).await["stats"]["framesGrabbed"]
        .as_u64()
        .expect("grabbed");
    assert!(
        after < before,
        "the worker restarted: {after} frames now, {before} before"
    );

    // Deleting every camera stops every worker.
    for id in &ids {
        let (status, _) = req(&app, Method::DELETE, &format!("/cameras/{id}"), &user, None).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(app.state.cameras.live().count(), 0);
}
