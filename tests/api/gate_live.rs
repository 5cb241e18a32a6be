//! Live plate reading at the gate, end to end on real parts: GStreamer's RTSP server on
//! 127.0.0.1 serves a rear-car photo as a car approaching the camera (a window zooming in
//! towards the plate over a few seconds, then an empty lane, looped), a plate camera
//! (`model_name` `alpr`) reads it with the real vehicles and PP-OCRv4 models, and the alpr
//! group shows each pass as if it had been uploaded.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    alpr_vision::upload,
    cameras::req,
    cameras_live::{args, drain, subscribe},
    helpers::{TestApp, User, call},
    live::{RtspServer, mount},
};

/// One zoom pass and the empty lane after it, seconds.
const ZOOM_SECS: f64 = 12.0;
const GAP_SECS: f64 = 7.0;

async fn gql(app: &TestApp, user: &User, query: &str, vars: Value) -> Value {
    let r = app
        .graphql(query, vars, &[("authorization", &user.bearer())])
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"].clone()
}

async fn camera_reads(app: &TestApp, user: &User, camera: i64) -> Vec<Value> {
    let d = gql(
        app,
        user,
        "query($c: Int!) { plateReads(cameraId: $c, first: 50) { totalCount edges { node {
            id text confidence status listMatch candidates { text confidence }
            detection { id notes processingTime camera { id name } location { name } originalUrl annotatedUrl detectedAt }
        } } } }",
        json!({"c": camera}),
    )
    .await;
    d["plateReads"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn a_plate_camera_stores_one_voted_read_per_passing_car_like_an_upload() {
    let Some((app, samples)) = TestApp::spawn_vision(|s| s.cameras.detect_fps = 5.0).await else {
        return;
    };
    let mut a = args(640, 480, 10, &[mount("gate", "zoom", "rear_car.png")]);
    a.extend(
        [
            "--zoom-secs",
            &ZOOM_SECS.to_string(),
            "--zoom-gap-secs",
            &GAP_SECS.to_string(),
            "--zoom-center",
            "0.66,0.6",
        ]
        .map(str::to_owned),
    );
    let Some(rtsp) = RtspServer::start(&a) else {
        return;
    };
    let user = app.user("gate_owner").await;
    let key = app.api_key(&user).await;

    // The single-photo read of the same car is the reference.
    let car = std::fs::read(samples.join("rear_car.png")).expect("sample");
    let r = upload(&app, &key, "rear_car.png", &car, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let photo = r.json()["list_vehicle_and_plate_information"][0]["plate"]["plate_text"]
        .as_str()
        .expect("a plate in the photo")
        .to_owned();
    assert_eq!(photo, "5AU5341");

    // A fuzzy deny-list entry one OCR confusion away (I for 1): camera reads must hit it.
    let d = gql(
        &app,
        &user,
        r#"mutation { setPlateListEntry(plateText: "5AU534I", status: "blacklist", fuzzy: true) { plateText fuzzy } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        d["setPlateListEntry"],
        json!({"plateText": "5AU534I", "fuzzy": true})
    );

    let (addr, _stop) = app.serve().await;
    let mut ws = subscribe(
        addr,
        &user,
        &[
            ("d", r#"subscription { detectionCreated(location: "Gate 1") { id camera { id } plates { text } } }"#),
            ("p", r#"subscription { plateRead(location: "Gate 1") { id text detection { id camera { id } } } }"#),
            ("h", "subscription { plateListHit(status: \"blacklist\") { id text listMatch } }"),
            ("a", "subscription { alertRaised { id cameraId detectionType regionName imageUrl metadata } }"),
        ],
    )
    .await;
    let (status, body) = req(
        &app,
        Method::POST,
        "/cameras",
        &user,
        Some(
            json!({"name": "Lane 1", "stream_url": rtsp.url("gate"), "recognition": true,
                    "model_name": "alpr", "location": "Gate 1"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let cam = body["data"]["id"].as_i64().expect("id");
    let started = Instant::now();

    // Two passes stored, or time out.
    let mut reads = Vec::new();
    while started.elapsed() < Duration::from_secs(75) {
        reads = camera_reads(&app, &user, cam).await;
        if reads.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = gql(
        &app,
        &user,
        "query($id: Int!) { camera(id: $id) { plateRecognition stats { framesAnalysed analysedFps latencyP50Ms latencyP99Ms } } }",
        json!({"id": cam}),
    )
    .await;
    // Stop analysing: nothing more is read.
    let d = gql(
        &app,
        &user,
        "mutation($id: Int!) { updateCamera(id: $id, input: {recognition: false}) { id } }",
        json!({"id": cam}),
    )
    .await;
    assert_eq!(d["updateCamera"]["id"], cam);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let reads_after = camera_reads(&app, &user, cam).await;
    eprintln!(
        "{} reads in {elapsed:.1} s; analysis {}: {}",
        reads_after.len(),
        stats["camera"]["stats"],
        serde_json::to_string_pretty(&reads_after).unwrap_or_default()
    );
    assert_eq!(stats["camera"]["plateRecognition"], true);
    assert!(reads.len() >= 2, "two passes read within 75 s: {reads:?}");

    // One read per pass, never one per frame: no more reads than passes begun.
    let period = ZOOM_SECS + GAP_SECS;
    let passes = (started.elapsed().as_secs_f64() / period).ceil() as usize + 1;
    let frames = stats["camera"]["stats"]["framesAnalysed"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        reads_after.len() <= passes,
        "{} reads for at most {passes} passes",
        reads_after.len()
    );
    assert!(frames as usize > 2 * reads_after.len(), "{frames} frames");
    let mut times: Vec<chrono::DateTime<chrono::Utc>> = reads_after
        .iter()
        .map(|r| {
            r["detection"]["detectedAt"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .expect("time")
        })
        .collect();
    times.sort();
    for w in times.windows(2) {
        let gap = (w[1] - w[0]).num_milliseconds() as f64 / 1e3;
        assert!(gap > period * 0.5, "two reads {gap:.1} s apart in one pass");
    }

    // Each read agrees with the photo's and is stored like an upload, at the camera's gate.
    for r in &reads_after {
        assert_eq!(r["text"], photo.as_str(), "{r}");
        assert_eq!(r["status"], "blacklist", "{r}");
        assert_eq!(r["listMatch"], "fuzzy", "{r}");
        assert_eq!(r["candidates"][0]["text"], photo.as_str());
        let det = &r["detection"];
        assert_eq!(det["camera"]["id"], cam);
        assert_eq!(det["location"]["name"], "Gate 1");
        assert!(
            det["notes"]
                .as_str()
                .is_some_and(|n| n.contains("agreeing")),
            "{det}"
        );
        for u in ["originalUrl", "annotatedUrl"] {
            let url = det[u].as_str().expect("url");
            let f = app.get(url, &[("x-api-key", &key)]).await;
            assert_eq!(f.status, StatusCode::OK, "{url}");
            let img = image::load_from_memory(&f.body).expect("a stored JPEG");
            assert_eq!((img.width(), img.height()), (640, 480));
        }
    }
    // Voted across frames: a pass's read rests on several frames' reads.
    let votes: Vec<u64> = reads_after
        .iter()
        .filter_map(|r| {
            let notes = r["detection"]["notes"].as_str()?;
            notes.split(": ").nth(1)?.split(' ').next()?.parse().ok()
        })
        .collect();
    assert_eq!(votes.len(), reads_after.len(), "{reads_after:?}");
    assert!(votes.iter().any(|&n| n >= 2), "reads per vote: {votes:?}");
    let d = gql(
        &app,
        &user,
        "query($id: Int!) { camera(id: $id) { detections { totalCount edges { node { id } } } } }",
        json!({"id": cam}),
    )
    .await;
    assert_eq!(d["camera"]["detections"]["totalCount"], reads_after.len());

    // The REST group sees it as an upload at "Gate 1".
    let (s, latest) = call(&app, Method::GET, "/api/detection/latest", &key, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(latest[0]["gateLocation"], "Gate 1 (Entry)", "{latest}");
    assert_eq!(latest[0]["plateNumber"], photo.as_str(), "{latest}");
    assert_eq!(latest[0]["imageResolution"], "640x480", "{latest}");
    let (s, found) = call(&app, Method::GET, "/detections?search=5au", &key, None).await;
    assert_eq!(s, StatusCode::OK);
    // The photo's upload plus every camera read.
    assert_eq!(found["count"], reads_after.len() + 1, "{found}");
    let (s, lines) = call(&app, Method::GET, "/api/detect/lines", &key, None).await;
    assert_eq!(s, StatusCode::OK);
    let gate = lines["lines"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["name"] == "Gate 1"))
        .cloned()
        .unwrap_or_else(|| panic!("Gate 1 in {lines}"));
    assert_eq!(
        gate["detections"].as_array().map(Vec::len),
        Some(reads_after.len())
    );

    // Subscribers heard of each read; the blacklisted plate raised camera alerts.
    let events = drain(&mut ws, Duration::from_secs(2)).await;
    let of = |id: &str| -> Vec<Value> {
        events
            .iter()
            .filter(|(s, _)| s == id)
            .map(|(_, v)| v.clone())
            .collect()
    };
    assert_eq!(of("d").len(), reads_after.len(), "{events:?}");
    assert!(
        of("d")
            .iter()
            .all(|d| d["detectionCreated"]["camera"]["id"] == cam)
    );
    assert_eq!(of("p").len(), reads_after.len(), "{events:?}");
    assert!(
        of("p")
            .iter()
            .all(|p| p["plateRead"]["text"] == photo.as_str())
    );
    assert_eq!(of("h").len(), reads_after.len(), "{events:?}");
    assert!(
        of("h")
            .iter()
            .all(|h| h["plateListHit"]["listMatch"] == "fuzzy")
    );
    let alerts = of("a");
    assert_eq!(alerts.len(), reads_after.len(), "{events:?}");
    for a in &alerts {
        let a = &a["alertRaised"];
        assert_eq!(a["cameraId"], cam);
        assert_eq!(a["detectionType"], "plate");
        assert_eq!(a["metadata"]["plate"], photo.as_str());
        assert!(a["imageUrl"].is_string(), "{a}");
    }
}
