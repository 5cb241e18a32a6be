//! The ALPR group's main job on real weights and a real rear-car photo (fast-alpr's
//! `rear_car.png`, plate `5AU5341`): REST upload → stored → latest/history/statistics →
//! websocket subscribers; twenty concurrent uploads; a full inference queue answers 503.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, TestResponse},
    websocket::{open, recv, send},
};

const PLATE: &str = "5AU5341";

fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x as u8).wrapping_mul(3) ^ seed,
            (y as u8).wrapping_mul(5),
            seed,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

pub(crate) async fn upload(
    app: &TestApp,
    key: &str,
    name: &str,
    bytes: &[u8],
    location: Option<&str>,
) -> TestResponse {
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![("file", Some(name), bytes)];
    if let Some(l) = location {
        parts.push(("location", None, l.as_bytes()));
    }
    app.post_multipart("/detect/image", &parts, &[("x-api-key", key)])
        .await
}

#[tokio::test]
async fn a_rear_car_photo_is_read_stored_listed_counted_and_pushed_to_subscribers() {
    let Some((app, samples)) = TestApp::spawn_vision(|_| {}).await else {
        return;
    };
    let car = std::fs::read(samples.join("rear_car.png")).expect("sample");
    let user = app.user("gatekeeper").await;
    let key = app.api_key(&user).await;

    // The plate is on the deny list before it is seen.
    let r = app
        .post_json(
            "/api/plate-status",
            &json!({"plate_text": "5au-5341", "status_type": "blacklist"}),
            &[("x-api-key", &key)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"status": "success", "message": "Plate 5AU5341 added to blacklist"})
    );

    // A websocket subscriber for detections at Gate 1 and for deny-list hits.
    let (addr, _stop) = app.serve().await;
    let mut ws = open(addr, "graphql-transport-ws").await;
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"X-API-Key": key}}),
    )
    .await;
    assert_eq!(
        recv(&mut ws, Duration::from_secs(5)).await.expect("ack")["type"],
        "connection_ack"
    );
    send(&mut ws, json!({"id": "d", "type": "subscribe", "payload": {
        "query": "subscription { detectionCreated(location: \"Gate 1\") { id imageResolution plates { text status } location { label } } }"
    }})).await;
    send(&mut ws, json!({"id": "h", "type": "subscribe", "payload": {
        "query": "subscription { plateListHit(status: \"blacklist\") { text status detection { id } } }"
    }})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let r = upload(&app, &key, "rear_car.png", &car, Some("Gate 1")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let d = r.json();
    let session_id = d["session_id"].as_i64().expect("session id");
    assert_eq!(d["location"], "Gate 1");
    assert_eq!(d["image_resolution"], "518x331");
    assert!(d["processing_time"].as_f64().expect("seconds") > 0.0);
    let list = d["list_vehicle_and_plate_information"]
        .as_array()
        .expect("list");
    let entry = list
        .iter()
        .find(|e| e["plate"]["plate_text"] == PLATE)
        .unwrap_or_else(|| panic!("plate {PLATE} not read: {d}"));
    assert_eq!(entry["vehicle"]["vehicle_class"], "car");
    assert_eq!(entry["plate"]["plate_status"], "blacklist");
    let conf = entry["plate"]["ocr_confidence"]
        .as_f64()
        .expect("confidence");
    assert!((0.5..=1.0).contains(&conf), "{conf}");
    // Artifacts exist and are served; the stored original is the upload, byte for byte.
    let original = d["stored_original_path"].as_str().expect("path");
    assert!(
        original.starts_with("outputs/uploaded/") && original.ends_with(".png"),
        "{original}"
    );
    let got = app
        .get(&format!("/{original}"), &[("x-api-key", &key)])
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.headers["content-type"], "image/png");
    assert_eq!(&got.body[..], &car[..]);
    for path in [
        &d["detected_vehicle_image_path"],
        &entry["plate"]["plate_image_path"],
        &entry["vehicle"]["vehicle_image_path"],
    ] {
        let got = app
            .get(
                &format!("/{}", path.as_str().expect("path")),
                &[("x-api-key", &key)],
            )
            .await;
        assert_eq!(got.status, StatusCode::OK, "{path}");
        assert!(
            image::load_from_memory(&got.body).is_ok(),
            "{path} is an image"
        );
    }
    let r = app.get(&format!("/{original}"), &[]).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "artifacts need credentials"
    );

    // The subscriber got both events.
    let mut seen = std::collections::HashMap::new();
    while seen.len() < 2 {
        let msg = recv(&mut ws, Duration::from_secs(10))
            .await
            .expect("subscription events");
        assert_eq!(msg["type"], "next", "{msg}");
        seen.insert(
            msg["id"].as_str().expect("id").to_owned(),
            msg["payload"]["data"].clone(),
        );
    }
    let created = &seen["d"]["detectionCreated"];
    assert_eq!(created["id"].as_i64(), Some(session_id));
    assert_eq!(created["location"]["label"], "Gate 1 (Entry)");
    assert!(
        created["plates"]
            .as_array()
            .expect("plates")
            .iter()
            .any(|p| p["text"] == PLATE && p["status"] == "blacklist")
    );
    assert_eq!(
        seen["h"]["plateListHit"],
        json!({"text": PLATE, "status": "blacklist", "detection": {"id": session_id}})
    );

    // Latest detection, flattened as documented.
    let latest = app
        .get("/api/detection/latest", &[("x-api-key", &key)])
        .await
        .json();
    let row = latest
        .as_array()
        .expect("array")
        .iter()
        .find(|e| e["plateNumber"] == PLATE)
        .unwrap_or_else(|| panic!("{latest}"));
    assert_eq!(row["entity_type"], "vehicle_with_plate");
    assert_eq!(row["id"], format!("{session_id}_v1_p1"));
    assert_eq!(row["vehicleType"], "car");
    assert_eq!(row["gateLocation"], "Gate 1 (Entry)");
    assert_eq!(row["plateStatus"], "blacklist");
    assert_eq!(row["imageResolution"], "518x331");
    assert!(
        row["processingTime"]
            .as_str()
            .expect("label")
            .ends_with('s')
    );
    assert_eq!(
        app.get("/latest_detection", &[("x-api-key", &key)])
            .await
            .json(),
        latest,
        "alias"
    );

    // History with each filter.
    let count = |q: &'static str| {
        let app = &app;
        let key = key.clone();
        async move {
            let r = app
                .get(&format!("/detections{q}"), &[("x-api-key", &key)])
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            r.json()
        }
    };
    let all = count("?search=5au5").await;
    assert_eq!(all["count"], 1);
    let det = &all["detections"][0];
    assert_eq!(det["detection_type"], "plate");
    assert_eq!(det["detection_details"]["plate_text"], PLATE);
    assert_eq!(det["detection_details"]["vehicle_type"], "car");
    assert_eq!(det["original_path"], format!("/{original}"));
    assert!(det["processing_time"].as_str().expect("ms").ends_with("ms"));
    assert_eq!(count("?search=ZZZ9").await["count"], 0);
    assert_eq!(count("?vehicleType=CAR").await["count"], 1);
    assert_eq!(count("?vehicleType=bus").await["count"], 0);
    assert_eq!(
        count("?plateType=Regular&limit=5&offset=0").await["count"],
        1
    );
    assert_eq!(count("?limit=10&offset=1").await["detections"], json!([]));

    // Statistics moved.
    let s = app
        .get("/api/statistics/dashboard", &[("x-api-key", &key)])
        .await
        .json();
    assert_eq!(s["totalDetections"], 1);
    assert_eq!(s["vehicleDistribution"]["car"], 1);
    assert_eq!(s["blacklisted"], 1);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let trend = s["detectionTrend"].as_array().expect("trend");
    assert_eq!(trend.len(), 7);
    assert_eq!(
        trend.last().expect("today"),
        &json!({"date": today, "count": 1})
    );
    let hours: i64 = s["hourlyActivity"]
        .as_array()
        .expect("hours")
        .iter()
        .map(|h| h["count"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(hours, 1);

    // The same detection over GraphQL, as a Relay connection.
    let g = app
        .graphql(
            "query($s: String) { detections(first: 5, filter: {search: $s}) { totalCount edges { cursor node { id plates { text vehicle { vehicleClass } } } } pageInfo { hasNextPage } } }",
            json!({"s": PLATE}),
            &[("x-api-key", &key)],
        )
        .await;
    let conn = &g["data"]["detections"];
    assert_eq!(conn["totalCount"], 1, "{g}");
    assert_eq!(conn["edges"][0]["node"]["id"].as_i64(), Some(session_id));
    assert_eq!(conn["pageInfo"]["hasNextPage"], false);

    // Another account sees none of it.
    let other = app.user("stranger").await;
    let other_key = app.api_key(&other).await;
    let r = app
        .get(&format!("/{original}"), &[("x-api-key", &other_key)])
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another account's artifact looks missing"
    );
    assert_eq!(
        app.get("/detections", &[("x-api-key", &other_key)])
            .await
            .json()["count"],
        0
    );
    let r = app
        .get(&format!("/api/plates/{}", 1), &[("x-api-key", &other_key)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json(), json!({"detail": "Plate 1 not found"}));
}

#[tokio::test]
async fn twenty_concurrent_uploads_are_all_stored_none_mixed_up() {
    let Some((app, _)) = TestApp::spawn_vision(|_| {}).await else {
        return;
    };
    let user = app.user("busy").await;
    let key = app.api_key(&user).await;
    let images: Vec<(u32, u32, Vec<u8>)> = (0..20u32)
        .map(|i| (64 + 7 * i, 48 + 3 * i, png(64 + 7 * i, 48 + 3 * i, i as u8)))
        .collect();
    let responses =
        futures_util::future::join_all(images.iter().enumerate().map(|(i, (_, _, bytes))| {
            let app = &app;
            let key = key.clone();
            async move {
                upload(
                    app,
                    &key,
                    &format!("frame{i}.png"),
                    bytes,
                    Some(&format!("Lane {}", i % 3)),
                )
                .await
            }
        }))
        .await;
    let mut sessions = std::collections::HashSet::new();
    for (i, (r, (w, h, bytes))) in responses.iter().zip(&images).enumerate() {
        assert_eq!(r.status, StatusCode::OK, "upload {i}: {}", r.text());
        let d = r.json();
        assert_eq!(
            d["image_resolution"],
            format!("{w}x{h}"),
            "upload {i} answered with another image"
        );
        assert_eq!(d["location"], format!("Lane {}", i % 3));
        assert!(sessions.insert(d["session_id"].as_i64().expect("id")));
        let stored = app
            .state
            .settings
            .data_dir
            .join(d["stored_original_path"].as_str().expect("path"));
        assert_eq!(
            &std::fs::read(stored).expect("stored original"),
            bytes,
            "upload {i}"
        );
    }
    assert_eq!(app.alpr_counts().await.0, 20);
    let locations = app
        .get("/api/locations/", &[("x-api-key", &key)])
        .await
        .json();
    assert_eq!(locations.as_array().expect("list").len(), 3, "{locations}");
}

#[tokio::test]
async fn a_full_inference_queue_answers_503_with_retry_after_and_stores_only_what_ran() {
    let Some((app, _)) = TestApp::spawn_vision(|s| {
        s.inference.workers = 1;
        s.inference.queue = 1;
    })
    .await
    else {
        return;
    };
    let user = app.user("flood").await;
    let key = app.api_key(&user).await;
    let img = png(320, 240, 9);
    let responses = futures_util::future::join_all((0..6).map(|i| {
        let app = &app;
        let key = key.clone();
        let img = img.clone();
        async move { upload(app, &key, &format!("f{i}.png"), &img, None).await }
    }))
    .await;
    let ok = responses
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let busy: Vec<&TestResponse> = responses
        .iter()
        .filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert_eq!(ok + busy.len(), 6, "only 200 or 503");
    assert!(ok >= 1 && !busy.is_empty(), "{ok} ok, {} busy", busy.len());
    for r in busy {
        let secs: u64 = r.headers["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!(secs >= 1);
        let body: Value = r.json();
        assert_eq!(body["detail"], "The inference queue is full; retry later");
    }
    assert_eq!(app.alpr_counts().await.0, ok as u64);
}

#[tokio::test]
async fn graphql_multipart_upload_stores_a_detection() {
    let Some((app, _)) = TestApp::spawn_vision(|_| {}).await else {
        return;
    };
    let user = app.user("graphql-uploader").await;
    let key = app.api_key(&user).await;
    let img = png(200, 120, 7);
    let (ctype, body) = crate::helpers::multipart(&[
        (
            "operations",
            None,
            br#"{"query":"mutation($f: Upload!) { detectImage(file: $f, location: \"Lane 9\") { id imageResolution sourceFilename location { name label } plates { text } entries { id } } }","variables":{"f":null}}"#,
        ),
        ("map", None, br#"{"0":["variables.f"]}"#),
        ("0", Some("frame.png"), &img),
    ]);
    let r = app
        .request(
            axum::http::Method::POST,
            "/graphql",
            &[("content-type", &ctype), ("x-api-key", &key)],
            body,
        )
        .await;
    let v = r.json();
    let d = &v["data"]["detectImage"];
    assert_eq!(d["imageResolution"], "200x120", "{v}");
    assert_eq!(d["sourceFilename"], "frame.png");
    assert_eq!(
        d["location"],
        json!({"name": "Lane 9", "label": "Lane 9 (Entry)"})
    );
    let id = d["id"].as_i64().expect("id");
    let q = app
        .graphql(
            "query($id: Int!) { detection(id: $id) { id originalUrl annotatedUrl processingTime } latestDetection { id } }",
            json!({"id": id}),
            &[("x-api-key", &key)],
        )
        .await;
    assert_eq!(q["data"]["latestDetection"]["id"].as_i64(), Some(id), "{q}");
    assert!(
        q["data"]["detection"]["processingTime"]
            .as_f64()
            .expect("seconds")
            > 0.0
    );
    let annotated = q["data"]["detection"]["annotatedUrl"]
        .as_str()
        .expect("url")
        .to_owned();
    let got = app.get(&annotated, &[("x-api-key", &key)]).await;
    assert_eq!(got.status, StatusCode::OK);
    let decoded = image::load_from_memory(&got.body).expect("annotated JPEG");
    assert_eq!((decoded.width(), decoded.height()), (200, 120));
}
