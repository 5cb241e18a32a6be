//! The ALPR group without the models: uploads refused before storage, plate and vehicle
//! records with their cascades, allow/deny lists, locations, sessions, regions, errors in
//! FastAPI's style, account isolation, anonymous access only when configured, and the
//! OpenAPI document with Swagger UI / ReDoc served locally.

use axum::http::{Method, StatusCode};
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set};
use serde_json::{Value, json};
use uuid::Uuid;
use visionflow::db::entities::{detection_session, plate, vehicle};

use crate::helpers::{TestApp, User, call, keyed};

/// A multipart part: field, file name (None for text), bytes.
type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// Stores a detection with `plates.len()` vehicles, one plate each, for the user.
async fn seed(app: &TestApp, user: &User, plates: &[&str]) -> (i32, Vec<i32>, Vec<i32>) {
    let account = Uuid::parse_str(&user.account_uuid).expect("uuid");
    let db = &app.state.db;
    let now = chrono::Utc::now();
    let s = detection_session::ActiveModel {
        account_id: Set(account),
        location_id: Set(None),
        source_filename: Set("seed.jpg".into()),
        original_path: Set("outputs/uploaded/seed.jpg".into()),
        annotated_path: Set("outputs/annotated/seed.jpg".into()),
        width: Set(640),
        height: Set(480),
        processing_ms: Set(1234.5),
        model: Set("seed".into()),
        notes: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("session");
    let (mut vs, mut ps) = (Vec::new(), Vec::new());
    for (i, text) in plates.iter().enumerate() {
        let v = vehicle::ActiveModel {
            account_id: Set(account),
            session_id: Set(Some(s.id)),
            vehicle_index: Set(i as i32 + 1),
            class: Set("car".into()),
            confidence: Set(0.9),
            x1: Set(10.0),
            y1: Set(20.0),
            x2: Set(300.0),
            y2: Set(400.0),
            crop_path: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("vehicle");
        let p = plate::ActiveModel {
            account_id: Set(account),
            session_id: Set(s.id),
            vehicle_id: Set(Some(v.id)),
            plate_index: Set(1),
            text: Set((*text).into()),
            raw_text: Set((*text).into()),
            confidence: Set(0.95),
            candidates: Set(json!([{"text": text, "confidence": 0.95}])),
            x1: Set(100.0),
            y1: Set(300.0),
            x2: Set(200.0),
            y2: Set(340.0),
            crop_path: Set(None),
            region_code: Set(
                visionflow::domain::alpr::regions::of_plate(text).map(|r| r.code.to_owned())
            ),
            plate_type: Set("Regular".into()),
            text_color: Set(Some("Black".into())),
            background_color: Set(Some("White".into())),
            status: Set("unclassified".into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("plate");
        vs.push(v.id);
        ps.push(p.id);
    }
    (s.id, vs, ps)
}

#[tokio::test]
async fn bad_uploads_get_422_or_413_in_fastapi_style_and_store_nothing() {
    let app = TestApp::spawn_with(|s| s.http.max_body_bytes = 8 * 1024 * 1024).await;
    let (_, key) = keyed(&app, "uploader").await;
    let h = [("x-api-key", key.as_str())];
    let mut jpeg = Vec::new();
    image::RgbImage::new(64, 64)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .expect("jpeg");
    let truncated = &jpeg[..jpeg.len() / 2];
    let mut huge = Vec::new();
    huge.extend_from_slice(b"BM");
    huge.extend_from_slice(&54u32.to_le_bytes());
    huge.extend_from_slice(&[0; 4]);
    huge.extend_from_slice(&54u32.to_le_bytes());
    huge.extend_from_slice(&40u32.to_le_bytes());
    huge.extend_from_slice(&20000i32.to_le_bytes());
    huge.extend_from_slice(&20000i32.to_le_bytes());
    huge.extend_from_slice(&1u16.to_le_bytes());
    huge.extend_from_slice(&24u16.to_le_bytes());
    huge.extend_from_slice(&[0; 24]);

    let cases: Vec<(&str, Vec<Part>, &str)> = vec![
        (
            "not an image",
            vec![("file", Some("notes.jpg"), b"hello, I am text")],
            "not a supported image",
        ),
        (
            "truncated JPEG",
            vec![("file", Some("cut.jpg"), truncated)],
            "truncated",
        ),
        ("0 bytes", vec![("file", Some("empty.jpg"), b"")], "empty"),
        (
            "20000x20000 header",
            vec![("file", Some("huge.bmp"), &huge)],
            "too large",
        ),
        (
            "wrong field name",
            vec![("image", Some("car.jpg"), &jpeg)],
            "a file is required",
        ),
        (
            "file as text",
            vec![("file", None, b"car.jpg")],
            "a file is required",
        ),
    ];
    for (what, parts, msg) in cases {
        let r = app.post_multipart("/detect/image", &parts, &h).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            r.text()
        );
        let body = r.json();
        let item = &body["detail"][0];
        assert_eq!(item["loc"], json!(["body", "file"]), "{what}: {body}");
        assert!(
            item["msg"].as_str().expect("msg").contains(msg),
            "{what}: {body}"
        );
    }
    // 50 MB: refused before it is read.
    let big = vec![0u8; 50 * 1024 * 1024];
    let r = app
        .post_multipart("/detect/image", &[("file", Some("big.jpg"), &big)], &h)
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        r.json()["detail"]
            .as_str()
            .expect("detail")
            .contains("exceeds")
    );
    // A valid image with no models installed: 503, still nothing stored.
    let r = app
        .post_multipart("/detect_image", &[("file", Some("ok.jpg"), &jpeg)], &h)
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(r.headers.contains_key("retry-after"));
    assert!(
        r.json()["detail"]
            .as_str()
            .expect("detail")
            .contains("models fetch")
    );

    assert_eq!(app.alpr_counts().await, (0, 0, 0));
    assert!(app.output_files().is_empty(), "{:?}", app.output_files());
    // Same refusals over GraphQL (multipart request spec).
    let (ctype, body) = crate::helpers::multipart(&[
        ("operations", None, br#"{"query":"mutation($f: Upload!) { detectImage(file: $f) { id } }","variables":{"f":null}}"#),
        ("map", None, br#"{"0":["variables.f"]}"#),
        ("0", Some("notes.jpg"), b"plain text"),
    ]);
    let r = app
        .request(
            Method::POST,
            "/graphql",
            &[("content-type", &ctype), ("x-api-key", &key)],
            body,
        )
        .await;
    let v = r.json();
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{v}"
    );
    assert_eq!(
        v["errors"][0]["extensions"]["fields"]["file"][0]
            .as_str()
            .map(|m| m.contains("not a supported image")),
        Some(true)
    );
}

#[tokio::test]
async fn plates_and_vehicles_update_and_delete_with_the_documented_cascades() {
    let app = TestApp::spawn().await;
    let (user, key) = keyed(&app, "clerk").await;
    let (session, vehicles, plates) = seed(&app, &user, &["B1234XYZ", "D5678AB"]).await;

    let (s, p) = call(
        &app,
        Method::GET,
        &format!("/api/plates/{}", plates[0]),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["plate_text"], "B1234XYZ");
    assert_eq!(p["plate_region"], "B (Jakarta)");
    assert_eq!(p["plate_bounding_box"], json!([100.0, 300.0, 200.0, 340.0]));
    assert_eq!(p["vehicle_class"], "car");
    assert_eq!(p["plate_status"], "unclassified");

    let (s, v) = call(
        &app,
        Method::PATCH,
        &format!("/api/plates/{}", plates[0]),
        &key,
        Some(json!({"plate_text": "d 456 xyz", "plate_status": "blacklist"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["message"],
        format!("Successfully updated plate {}", plates[0])
    );
    assert_eq!(v["plate"]["plate_text"], "D456XYZ");
    assert_eq!(v["plate"]["plate_region"], "D (Bandung)");
    assert_eq!(v["plate"]["plate_status"], "blacklist");
    let (s, v) = call(
        &app,
        Method::POST,
        &format!("/api/plates/{}", plates[0]),
        &key,
        Some(json!({"plate_status": "purple"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["detail"][0]["loc"], json!(["body", "plate_status"]));
    let (s, v) = call(&app, Method::GET, "/api/plates/abc", &key, None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["detail"][0]["loc"],
        json!(["path", "plate_id"]),
        "a path parameter"
    );

    let (s, v) = call(
        &app,
        Method::PUT,
        &format!("/api/vehicles/{}", vehicles[1]),
        &key,
        Some(json!({"vehicle_class": "truck", "vehicle_confidence_score": 0.95})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["message"],
        format!("Successfully updated vehicle {}", vehicles[1])
    );
    assert_eq!(v["vehicle"]["vehicle_class"], "truck");
    assert_eq!(v["vehicle"]["vehicle_confidence_score"], 0.95);
    let (s, _) = call(
        &app,
        Method::PUT,
        &format!("/api/vehicles/{}", vehicles[1]),
        &key,
        Some(json!({"vehicle_confidence_score": 1.5})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = call(
        &app,
        Method::GET,
        &format!("/api/vehicles/{}", vehicles[1]),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["plates"],
        json!([{"id": plates[1], "plate_text": "D5678AB", "plate_bounding_box": [100.0, 300.0, 200.0, 340.0]}])
    );
    assert_eq!(v["vehicle_bounding_box"], json!([10.0, 20.0, 300.0, 400.0]));
    assert_eq!(v["session_id"], session);

    // Deleting the first plate removes its vehicle too; the session still holds the second.
    let (s, v) = call(
        &app,
        Method::DELETE,
        &format!("/api/plates/{}", plates[0]),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v,
        json!({"message": format!("Successfully deleted plate {} and its associated vehicle", plates[0]), "plate_deleted": true, "vehicle_deleted": true, "session_deleted": false})
    );
    assert_eq!(app.alpr_counts().await, (1, 1, 1));
    // Deleting the last vehicle takes its plate and the emptied session.
    let (s, v) = call(
        &app,
        Method::DELETE,
        &format!("/api/vehicles/{}", vehicles[1]),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v,
        json!({"message": format!("Successfully deleted vehicle {} with 1 plate records", vehicles[1]), "vehicle_deleted": true, "plates_deleted": 1, "session_deleted": true})
    );
    assert_eq!(app.alpr_counts().await, (0, 0, 0));
    let (s, v) = call(
        &app,
        Method::DELETE,
        &format!("/api/vehicles/{}", vehicles[1]),
        &key,
        None,
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": format!("Vehicle {} not found", vehicles[1])})
        )
    );
}

#[tokio::test]
async fn plate_lists_apply_to_stored_plates_and_sync_all_counts_them() {
    let app = TestApp::spawn().await;
    let (user, key) = keyed(&app, "guard").await;
    seed(&app, &user, &["B1234XYZ", "D5678AB", "AB1C"]).await;
    for (text, status) in [("b1234xyz", "whitelist"), ("D 5678 AB", "BLACKLIST")] {
        let (s, v) = call(
            &app,
            Method::POST,
            "/api/plate-status",
            &key,
            Some(json!({"plate_text": text, "status_type": status})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, v) = call(&app, Method::GET, "/api/plate-status", &key, None).await;
    assert_eq!(
        v,
        json!({"status": "success", "plate_statuses": [
            {"plate_text": "B1234XYZ", "status": "whitelist"},
            {"plate_text": "D5678AB", "status": "blacklist"}
        ]})
    );
    let (s, v) = call(&app, Method::POST, "/api/plate-status/sync-all", &key, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v,
        json!({"status": "success", "message": "Successfully synchronized 3 plate statuses",
        "details": {"whitelist": 1, "blacklist": 1, "unclassified": 1}})
    );
    let (_, v) = call(&app, Method::GET, "/detections?search=d5678", &key, None).await;
    assert_eq!(
        v["detections"][0]["detection_details"]["plate_status"],
        "blacklist"
    );
    let (s, v) = call(
        &app,
        Method::DELETE,
        "/api/plate-status/D5678AB",
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["message"], "Plate D5678AB removed from status list");
    let (_, v) = call(&app, Method::GET, "/detections?search=d5678", &key, None).await;
    assert_eq!(
        v["detections"][0]["detection_details"]["plate_status"],
        "unclassified"
    );
    let (s, v) = call(
        &app,
        Method::DELETE,
        "/api/plate-status/D5678AB",
        &key,
        None,
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "Plate D5678AB is not in the status list"})
        )
    );
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/plate-status",
        &key,
        Some(json!({"plate_text": "B1", "status_type": "greylist"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["detail"][0]["loc"], json!(["body", "status_type"]));
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/plate-status",
        &key,
        Some(json!({"status_type": "whitelist"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["detail"][0]["loc"], json!(["body", "plate_text"]));

    let (_, v) = call(&app, Method::GET, "/api/statistics/plate-types", &key, None).await;
    assert_eq!(v, json!({"Regular": 3}));
    let (_, v) = call(&app, Method::GET, "/api/statistics/regions", &key, None).await;
    let regions = v.as_array().expect("list");
    assert!(
        regions.contains(
            &json!({"code": "B", "name": "Jakarta", "region": "B (Jakarta)", "count": 1})
        ),
        "{v}"
    );
    assert!(
        regions.contains(
            &json!({"code": "AB", "name": "Yogyakarta", "region": "AB (Yogyakarta)", "count": 1})
        ),
        "{v}"
    );
}

#[tokio::test]
async fn locations_sessions_and_regions() {
    let app = TestApp::spawn().await;
    let (user, key) = keyed(&app, "ops").await;
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/locations/",
        &key,
        Some(json!({"name": "Gate 3", "type": "Entry"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let id = v["id"].as_i64().expect("id");
    assert_eq!(v["name"], "Gate 3");
    assert_eq!(v["type"], "Entry");
    assert!(v["timestamp"].as_str().expect("ts").len() == 19);
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/locations",
        &key,
        Some(json!({"name": "Gate 3", "type": "Exit"})),
    )
    .await;
    assert_eq!(
        (
            s,
            v["detail"].as_str().map(|d| d.contains("already exists"))
        ),
        (StatusCode::CONFLICT, Some(true))
    );
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/locations/",
        &key,
        Some(json!({"name": "Gate 4", "type": "Sideways"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["detail"][0]["loc"], json!(["body", "type"]));
    let (s, v) = call(
        &app,
        Method::PUT,
        &format!("/api/locations/{id}"),
        &key,
        Some(json!({"name": "Gate 3A", "type": "exit"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["name"].as_str(), v["type"].as_str()),
        (Some("Gate 3A"), Some("Exit"))
    );
    assert_eq!(
        call(&app, Method::GET, "/api/locations/count", &key, None)
            .await
            .1,
        json!({"count": 1})
    );
    assert_eq!(
        call(&app, Method::GET, "/api/locations/types", &key, None)
            .await
            .1,
        json!({"types": ["Entry", "Exit"]})
    );

    // A session gets a location and notes; the location's lane lists it.
    let (session, _, _) = seed(&app, &user, &["B1234XYZ"]).await;
    let (s, v) = call(
        &app,
        Method::PUT,
        &format!("/api/sessions/{session}"),
        &key,
        Some(json!({"location": "Gate 3A", "notes": "re-checked"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["location"], "Gate 3A");
    assert_eq!(v["notes"], "re-checked");
    assert_eq!(v["image_resolution"], "640x480");
    assert_eq!(v["processing_time"], 1.235);
    let (_, v) = call(
        &app,
        Method::GET,
        &format!("/api/detect/line/{id}/north"),
        &key,
        None,
    )
    .await;
    assert_eq!(v["detections"][0]["session_id"], session, "{v}");
    assert_eq!(v["detections"][0]["plates"][0]["plate_text"], "B1234XYZ");
    let (_, v) = call(&app, Method::GET, "/api/detect/lines", &key, None).await;
    assert_eq!(v["lines"][0]["line_id"], id);
    let (_, v) = call(
        &app,
        Method::GET,
        "/detections?location=Gate%203A",
        &key,
        None,
    )
    .await;
    assert_eq!(v["count"], 1);

    let (s, v) = call(
        &app,
        Method::DELETE,
        &format!("/api/locations/{id}"),
        &key,
        None,
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::OK,
            json!({"message": format!("Location {id} deleted successfully")})
        )
    );
    let (_, v) = call(
        &app,
        Method::GET,
        &format!("/api/sessions/{session}"),
        &key,
        None,
    )
    .await;
    assert_eq!(
        v["location"],
        Value::Null,
        "the session stays, without a location"
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("/api/locations/{id}"),
            &key,
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    // Regions, aliases included.
    let (_, v) = call(&app, Method::GET, "/api/plate/regions", &key, None).await;
    assert!(
        v["regions"]
            .as_array()
            .expect("list")
            .contains(&json!({"code": "D", "name": "Bandung"}))
    );
    assert_eq!(
        call(&app, Method::GET, "/api/plates/regions/b", &key, None)
            .await
            .1,
        json!({"code": "B", "name": "Jakarta"})
    );
    assert_eq!(
        call(&app, Method::GET, "/api/plate/region/AB", &key, None)
            .await
            .1,
        json!({"code": "AB", "name": "Yogyakarta"})
    );
    let (s, v) = call(&app, Method::GET, "/api/plates/regions/QQ", &key, None).await;
    assert_eq!(
        (s, v),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "Region code QQ not found"})
        )
    );
    let (_, v) = call(&app, Method::GET, "/api/plates/regions/summary", &key, None).await;
    assert_eq!(
        v["regions"],
        json!([{"code": "B", "name": "Jakarta", "region": "B (Jakarta)", "count": 1}])
    );
    let (_, v) = call(&app, Method::GET, "/api/statistics/status", &key, None).await;
    assert_eq!(v["status"], "online");
    assert_eq!(v["database"]["accessible"], true);
    assert_eq!(v["inference"]["models_loaded"], false);
}

#[tokio::test]
async fn credentials_are_required_unless_the_group_is_opened() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/locations/", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json(), json!({"detail": "Authentication required"}));
    let r = app
        .get("/api/locations/", &[("x-api-key", "vf_not_a_real_key")])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let open = TestApp::spawn_with(|s| s.anonymous.groups = vec!["alpr".into()]).await;
    let (s, v) = call(
        &open,
        Method::POST,
        "/api/locations/",
        "",
        Some(json!({"name": "Kiosk", "type": "Entry"})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "an empty key is still a bad key: {v}"
    );
    let r = open
        .request(
            Method::POST,
            "/api/locations/",
            &[("content-type", "application/json")],
            json!({"name": "Kiosk", "type": "Entry"}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        open.get("/api/locations/", &[]).await.json()[0]["name"],
        "Kiosk"
    );
    // The anonymous account's data is its own: a real account does not see it.
    let (_, key) = keyed(&open, "real").await;
    assert_eq!(
        call(&open, Method::GET, "/api/locations/", &key, None)
            .await
            .1,
        json!([])
    );
    // Other groups stay closed to anonymous callers.
    let r = open.graphql("{ me { id } }", json!({}), &[]).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn outputs_block_traversal_with_the_documented_404() {
    let app = TestApp::spawn().await;
    let (user, key) = keyed(&app, "viewer").await;
    let (_, other) = keyed(&app, "neighbour").await;
    seed(&app, &user, &["B1234XYZ"]).await; // its original is outputs/uploaded/seed.jpg
    let dir = app.state.settings.data_dir.clone();
    std::fs::create_dir_all(dir.join("outputs/plates")).expect("dir");
    std::fs::create_dir_all(dir.join("outputs/uploaded")).expect("dir");
    std::fs::create_dir_all(dir.join("static")).expect("dir");
    std::fs::write(dir.join("outputs/uploaded/seed.jpg"), b"\xff\xd8jpeg").expect("write");
    std::fs::write(dir.join("outputs/plates/a.jpg"), b"\xff\xd8orphan").expect("write");
    std::fs::write(dir.join("static/app.css"), b"body{}").expect("write");
    std::fs::write(dir.join("secret.txt"), b"TOP-SECRET-CONTENT").expect("write");
    let h = [("x-api-key", key.as_str())];
    let r = app.get("/outputs/uploaded/seed.jpg", &h).await;
    assert_eq!(
        (r.status, r.headers["content-type"].to_str().ok()),
        (StatusCode::OK, Some("image/jpeg"))
    );
    assert_eq!(&r.body[..], b"\xff\xd8jpeg");
    // Another account's file, and a file no detection owns, look missing.
    let r = app
        .get("/outputs/uploaded/seed.jpg", &[("x-api-key", &other)])
        .await;
    assert_eq!(
        (r.status, r.json()),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "File not found: uploaded/seed.jpg"})
        )
    );
    assert_eq!(
        app.get("/outputs/plates/a.jpg", &h).await.status,
        StatusCode::NOT_FOUND
    );
    for bad in [
        "/outputs/../secret.txt",
        "/outputs/%2e%2e/secret.txt",
        "/outputs/plates/%2e%2e/%2e%2e/secret.txt",
        "/outputs/plates/missing.jpg",
        "/outputs/%2fetc%2fpasswd",
    ] {
        let r = app.get(bad, &h).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}");
        let detail = r.json()["detail"].as_str().expect("detail").to_owned();
        assert!(
            detail == "Not Found" || detail.starts_with("File not found: "),
            "{bad}: {detail}"
        );
        assert!(!r.text().contains("TOP-SECRET-CONTENT"));
    }
    let r = app.get("/static/app.css", &[]).await;
    assert_eq!((r.status, &r.body[..]), (StatusCode::OK, &b"body{}"[..]));
    let r = app.get("/static/nope.css", &[]).await;
    assert_eq!(r.json(), json!({"detail": "File not found: nope.css"}));
}

#[tokio::test]
async fn openapi_lists_every_alpr_route_and_docs_are_served_locally() {
    let app = TestApp::spawn().await;
    let doc = app.get("/openapi.json", &[]).await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let group = rest_compat::groups()
        .into_iter()
        .find(|g| g.name == "alpr")
        .expect("alpr");
    assert!(group.routes.len() >= 40);
    for r in &group.routes {
        let op = &doc["paths"][r.path][r.method.as_str().to_lowercase()];
        assert_eq!(op["tags"], json!(["alpr"]), "{} {}", r.method, r.path);
    }
    for (page, asset) in [
        ("/docs", "/docs-assets/swagger-ui-bundle.js"),
        ("/redoc", "/docs-assets/redoc.standalone.js"),
    ] {
        let html = app.get(page, &[]).await.text();
        assert!(
            html.contains(asset) && !html.contains("://"),
            "{page} uses local assets only"
        );
        let r = app.get(asset, &[]).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.len() > 500_000, "{asset} is the real bundle");
    }
}

#[tokio::test]
async fn only_groups_whose_document_names_no_auth_can_be_opened() {
    let dir = tempfile::tempdir().expect("tmp");
    let settings = visionflow::config::Settings {
        data_dir: dir.path().to_path_buf(),
        anonymous: visionflow::config::AnonymousSettings {
            groups: vec!["alpr".into(), "parking".into()],
        },
        ..Default::default()
    };
    let db = visionflow::db::connect(&settings.database_url(), None)
        .await
        .expect("sqlite");
    let Err(e) = visionflow::startup::AppState::new(settings, db) else {
        panic!("opening the parking group must be refused");
    };
    assert!(e.to_string().contains("\"parking\""), "{e}");
}
