//! The parking group (parking-vehicle-api.zh-TW.txt): lots, records, the crawler's batch
//! collect (idempotent, 51 and 5,000 lots, a broken item among good ones), the vehicle
//! registry with plate verification on a real rear-car photo, DRF-style errors, API-key
//! auth and scopes, account isolation, and the `parkingOccupancyChanged` subscription.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, call, keyed},
    websocket::{open, recv, send},
};

fn lot_item(parking_id: &str, last_update: &str, occupied: i64) -> Value {
    json!({
        "parking_id": parking_id,
        "last_update": last_update,
        "regular_occupied": occupied,
        "regular_total": 200,
        "monthly_occupied": 46,
        "monthly_total": 100,
        "regular_available": 200 - occupied,
        "monthly_available": 54
    })
}

fn batch(items: Vec<Value>) -> Value {
    json!({
        "timestamp": "2025-07-03T17:10:14.524615",
        "summary": {"total_parking_lots": items.len(), "total_regular_spaces": 23578, "total_regular_occupied": 4010},
        "parking_lots": items
    })
}

#[tokio::test]
async fn parking_lots_crud_filters_and_drf_errors() {
    let app = TestApp::spawn().await;
    let (_, key) = keyed(&app, "lots").await;
    let (s, lot) = call(
        &app,
        Method::POST,
        "/api/parking-lots/",
        &key,
        Some(json!({"site_id": "SITE-001", "name": "主停車場"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{lot}");
    assert_eq!(
        (lot["site_id"].as_str(), lot["name"].as_str()),
        (Some("SITE-001"), Some("主停車場"))
    );
    let id = lot["id"].as_i64().expect("id");
    call(
        &app,
        Method::POST,
        "/api/parking-lots/",
        &key,
        Some(json!({"site_id": "site-002", "name": "East Garage"})),
    )
    .await;

    let (s, v) = call(
        &app,
        Method::POST,
        "/api/parking-lots/",
        &key,
        Some(json!({"site_id": "SITE-001", "name": "again"})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"site_id": ["parking lot with this site id already exists."]})
        )
    );
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/parking-lots/",
        &key,
        Some(json!({"site_id": "  "})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({"name": ["This field is required."], "site_id": ["This field may not be blank."]})
    );

    let names = |v: &Value| {
        v.as_array()
            .expect("list")
            .iter()
            .map(|l| l["site_id"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(
            &call(
                &app,
                Method::GET,
                "/api/parking-lots/?site_id=site-00",
                &key,
                None
            )
            .await
            .1
        ),
        ["SITE-001", "site-002"]
    );
    assert_eq!(
        names(
            &call(
                &app,
                Method::GET,
                "/api/parking-lots/?site_id=SITE-002",
                &key,
                None
            )
            .await
            .1
        ),
        ["site-002"]
    );
    assert_eq!(
        names(
            &call(
                &app,
                Method::GET,
                "/api/parking-lots/?name=%E4%B8%BB",
                &key,
                None
            )
            .await
            .1
        ),
        ["SITE-001"]
    );
    assert_eq!(
        names(
            &call(
                &app,
                Method::GET,
                "/api/parking-lots/?name=garage",
                &key,
                None
            )
            .await
            .1
        ),
        ["site-002"]
    );
    assert_eq!(
        names(
            &call(&app, Method::GET, "/api/parking-lots/?name=%25", &key, None)
                .await
                .1
        ),
        Vec::<String>::new(),
        "% is literal"
    );

    let (s, v) = call(
        &app,
        Method::GET,
        "/api/parking-lots/by-site-id/SITE-001/",
        &key,
        None,
    )
    .await;
    assert_eq!((s, v["id"].as_i64()), (StatusCode::OK, Some(id)));
    let (s, v) = call(
        &app,
        Method::GET,
        "/api/parking-lots/by-site-id/nope/",
        &key,
        None,
    )
    .await;
    assert_eq!(
        (s, v),
        (StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
    );

    let (s, v) = call(
        &app,
        Method::PUT,
        &format!("/api/parking-lots/{id}/"),
        &key,
        Some(json!({"name": "only a name"})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"site_id": ["This field is required."]})
        )
    );
    let (s, v) = call(
        &app,
        Method::PATCH,
        &format!("/api/parking-lots/{id}/"),
        &key,
        Some(json!({"name": "Main"})),
    )
    .await;
    assert_eq!(
        (s, v["name"].as_str(), v["site_id"].as_str()),
        (StatusCode::OK, Some("Main"), Some("SITE-001"))
    );
    let (s, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/parking-lots/{id}/"),
        &key,
        Some(json!({"site_id": "site-002"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "site ids stay unique on update");
    let (s, v) = call(
        &app,
        Method::DELETE,
        &format!("/api/parking-lots/{id}/"),
        &key,
        None,
    )
    .await;
    assert_eq!((s, v), (StatusCode::NO_CONTENT, Value::Null));
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("/api/parking-lots/{id}/"),
            &key,
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (s, v) = call(&app, Method::GET, "/api/parking-lots/abc/", &key, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["id"].is_array(), "{v}");
}

#[tokio::test]
async fn records_single_and_filtered_by_lot_site_and_time_with_offsets() {
    let app = TestApp::spawn().await;
    let (_, key) = keyed(&app, "records").await;
    let (_, lot) = call(
        &app,
        Method::POST,
        "/api/parking-lots/",
        &key,
        Some(json!({"site_id": "74fe48598c5b", "name": "North"})),
    )
    .await;
    let lot_id = lot["id"].as_i64().expect("id");
    let (s, r) = call(&app, Method::POST, "/api/parking-records/", &key, Some(json!({
        "parking_lot": lot_id, "regular_occupied": 210, "regular_total": 200, "monthly_occupied": 10, "monthly_total": 100,
        "last_update": "2025-07-03T09:06:27+08:00"
    }))).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["regular_available"], -10, "derived, may be negative");
    assert_eq!(r["monthly_available"], 90);
    assert_eq!(r["site_id"], "74fe48598c5b");
    assert_eq!(r["last_update"], "2025-07-03T01:06:27+00:00");
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/parking-records/",
        &key,
        Some(json!({"parking_lot": lot_id, "last_update": "2025-07-03T01:06:27Z"})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"non_field_errors": ["The fields parking_lot, last_update must make a unique set."]})
        )
    );
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/parking-records/",
        &key,
        Some(json!({"parking_lot": 99999})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"parking_lot": ["Invalid pk \"99999\" - object does not exist."]})
        )
    );
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/parking-records/",
        &key,
        Some(json!({"parking_lot": lot_id, "regular_total": -1})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"regular_total": ["Ensure this value is greater than or equal to 0."]})
        )
    );
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/parking-records/",
        &key,
        Some(json!({"regular_total": "many"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["regular_total"].is_array(), "{v}");
    call(&app, Method::POST, "/api/parking-records/", &key, Some(json!({"parking_lot": lot_id, "regular_occupied": 1, "last_update": "2025-07-04 12:00:00"}))).await;

    let count = |q: String| {
        let app = &app;
        let key = key.clone();
        async move {
            let (s, v) = call(
                app,
                Method::GET,
                &format!("/api/parking-records/{q}"),
                &key,
                None,
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{q}: {v}");
            v.as_array().expect("list").len()
        }
    };
    assert_eq!(count(String::new()).await, 2);
    assert_eq!(count(format!("?parking_lot_id={lot_id}")).await, 2);
    assert_eq!(
        count("?site_id=74fe48598c5b&start_date=2025-07-03T00:00:00Z".into()).await,
        2
    );
    assert_eq!(
        count("?start_date=2025-07-03T00:00:00Z&end_date=2025-07-03T23:59:59Z".into()).await,
        1
    );
    assert_eq!(
        count("?end_date=2025-07-03T09:00:00%2B08:00".into()).await,
        0,
        "01:06Z is after 01:00Z"
    );
    assert_eq!(
        count("?end_date=2025-07-03T09:10:00%2B08:00".into()).await,
        1
    );
    assert_eq!(count("?start_date=2025-07-04".into()).await, 1);
    assert_eq!(count("?site_id=other".into()).await, 0);
    let (s, v) = call(
        &app,
        Method::GET,
        "/api/parking-records/?start_date=yesterday",
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["start_date"][0]
            .as_str()
            .expect("msg")
            .starts_with("Datetime has wrong format"),
        "{v}"
    );
    let id = r["id"].as_i64().expect("id");
    let (s, v) = call(
        &app,
        Method::GET,
        &format!("/api/parking-records/{id}/"),
        &key,
        None,
    )
    .await;
    assert_eq!(
        (s, v["regular_occupied"].as_i64()),
        (StatusCode::OK, Some(210))
    );
}

#[tokio::test]
async fn batch_collect_is_idempotent_counts_bad_items_and_notifies_subscribers() {
    let app = TestApp::spawn().await;
    let (_, key) = keyed(&app, "crawler").await;
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
    send(&mut ws, json!({"id": "p", "type": "subscribe", "payload": {
        "query": "subscription { parkingOccupancyChanged(siteId: \"74fe48598c5b\") { siteId regularOccupied lastUpdate } }"
    }})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The document's example: one lot, posted twice.
    let body = batch(vec![lot_item("74fe48598c5b", "2025-07-03 17:06:27", 66)]);
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/parking-records/batch-collect/",
        &key,
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["message"], "成功處理 1 筆停車記錄");
    assert_eq!(
        v["statistics"],
        json!({"created_lots": 1, "updated_lots": 0, "created_records": 1, "skipped_records": 0, "errors": 0, "total_processed": 1})
    );
    let msg = recv(&mut ws, Duration::from_secs(5))
        .await
        .expect("subscription event");
    assert_eq!(
        msg["payload"]["data"]["parkingOccupancyChanged"]["regularOccupied"], 66,
        "{msg}"
    );
    let (_, v) = call(
        &app,
        Method::POST,
        "/api/parking-records/batch-collect/",
        &key,
        Some(body),
    )
    .await;
    assert_eq!(
        v["statistics"],
        json!({"created_lots": 0, "updated_lots": 0, "created_records": 0, "skipped_records": 1, "errors": 0, "total_processed": 1})
    );
    let (_, recs) = call(
        &app,
        Method::GET,
        "/api/parking-records/?site_id=74fe48598c5b&start_date=2025-07-03T00:00:00Z",
        &key,
        None,
    )
    .await;
    assert_eq!(recs.as_array().expect("list").len(), 1);
    assert_eq!(recs[0]["regular_available"], 134);
    assert_eq!(
        recs[0]["last_update"], "2025-07-03T17:06:27+00:00",
        "naive times are UTC by default"
    );

    // 51 lots (the document's size) with one broken item among them; a newer reading of the
    // known lot updates it.
    let mut items: Vec<Value> = (0..50)
        .map(|i| lot_item(&format!("lot{i:03}"), "2025-07-03 17:16:27", i))
        .collect();
    items.push(lot_item("74fe48598c5b", "2025-07-03 17:16:27", 70));
    items.insert(
        7,
        json!({"parking_id": "broken", "last_update": "not a time", "regular_occupied": 1}),
    );
    items.insert(9, json!({"last_update": "2025-07-03 17:16:27"}));
    items.insert(
        11,
        json!({"parking_id": "lot999", "regular_occupied": "many"}),
    );
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/parking-records/batch-collect/",
        &key,
        Some(batch(items)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["statistics"],
        json!({"created_lots": 50, "updated_lots": 1, "created_records": 51, "skipped_records": 0, "errors": 3, "total_processed": 54})
    );
    let details = v["error_details"].as_array().expect("details");
    assert_eq!(
        details
            .iter()
            .map(|d| d["index"].as_i64().unwrap_or(-1))
            .collect::<Vec<_>>(),
        [7, 9, 11]
    );
    assert_eq!(details[0]["parking_id"], "broken");
    assert!(
        details[2]["message"]
            .as_str()
            .expect("msg")
            .contains("regular_occupied")
    );
    let msg = recv(&mut ws, Duration::from_secs(5))
        .await
        .expect("second event");
    assert_eq!(
        msg["payload"]["data"]["parkingOccupancyChanged"]["regularOccupied"],
        70
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/parking-lots/?site_id=broken",
            &key,
            None
        )
        .await
        .1,
        json!([]),
        "bad items create nothing"
    );

    // Each lot's newest reading, batched through one DataLoader for the whole list.
    let g = app
        .graphql(
            "{ parkingLots(first: 100) { totalCount edges { node { siteId latestRecord { regularOccupied lastUpdate } } } } }",
            json!({}),
            &[("x-api-key", &key)],
        )
        .await;
    let lots = &g["data"]["parkingLots"];
    assert_eq!(lots["totalCount"], 51, "{g}");
    let latest = |site: &str| {
        lots["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .find(|e| e["node"]["siteId"] == site)
            .map(|e| e["node"]["latestRecord"].clone())
            .unwrap_or_default()
    };
    assert_eq!(
        latest("74fe48598c5b"),
        json!({"regularOccupied": 70, "lastUpdate": "2025-07-03T17:16:27+00:00"})
    );
    assert_eq!(latest("lot005")["regularOccupied"], 5);

    // A malformed batch timestamp refuses the whole batch; parking_lots is required.
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/parking-records/batch-collect/",
        &key,
        Some(json!({"timestamp": "soon", "parking_lots": []})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["timestamp"].is_array(), "{v}");
    // Blank is malformed too (absent or null means now).
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/parking-records/batch-collect/",
        &key,
        Some(json!({"timestamp": " ", "parking_lots": []})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["timestamp"].is_array(), "{v}");
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/parking-records/batch-collect/",
        &key,
        Some(json!({"timestamp": "2025-07-03T17:10:14"})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"parking_lots": ["this field is required"]})
        )
    );
}

#[tokio::test]
async fn five_thousand_lots_in_one_call_and_again() {
    let app = TestApp::spawn().await;
    let (_, key) = keyed(&app, "bulk").await;
    let items: Vec<Value> = (0..5000)
        .map(|i| lot_item(&format!("bulk-{i:05}"), "2025-07-03 17:06:27", i % 200))
        .collect();
    let body = batch(items);
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/parking-records/batch-collect/",
        &key,
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["statistics"],
        json!({"created_lots": 5000, "updated_lots": 0, "created_records": 5000, "skipped_records": 0, "errors": 0, "total_processed": 5000})
    );
    let (_, v) = call(
        &app,
        Method::POST,
        "/api/parking-records/batch-collect/",
        &key,
        Some(body),
    )
    .await;
    assert_eq!(v["statistics"]["skipped_records"], 5000);
    assert_eq!(v["statistics"]["created_records"], 0);
    let (_, lots) = call(
        &app,
        Method::GET,
        "/api/parking-lots/?limit=1000&offset=4990",
        &key,
        None,
    )
    .await;
    assert_eq!(lots.as_array().expect("list").len(), 10);
    let (_, recs) = call(
        &app,
        Method::GET,
        "/api/parking-records/?site_id=bulk-04999",
        &key,
        None,
    )
    .await;
    assert_eq!(recs[0]["regular_occupied"], 4999 % 200);
}

#[tokio::test]
async fn keys_scopes_and_accounts_are_enforced() {
    let app = TestApp::spawn().await;
    let (owner, key) = keyed(&app, "owner").await;
    let (_, lot) = call(
        &app,
        Method::POST,
        "/api/parking-lots/",
        &key,
        Some(json!({"site_id": "S1", "name": "One"})),
    )
    .await;
    let lot_id = lot["id"].as_i64().expect("id");

    let r = app.get("/api/parking-lots/", &[]).await;
    assert_eq!(
        (r.status, r.json()),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Authentication credentials were not provided."})
        )
    );
    let r = app
        .get("/api/parking-lots/", &[("x-api-key", "vf_wrong")])
        .await;
    assert_eq!(
        (r.status, r.json()),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Invalid API key."})
        )
    );

    let read_only = app
        .graphql(
            "mutation { createApiKey(input: {name: \"ro\", scopes: [\"parking:read\"]}) { key } }",
            json!({}),
            &[("authorization", &owner.bearer())],
        )
        .await["data"]["createApiKey"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    assert_eq!(
        call(&app, Method::GET, "/api/parking-lots/", &read_only, None)
            .await
            .0,
        StatusCode::OK
    );
    let (s, v) = call(
        &app,
        Method::POST,
        "/api/parking-lots/",
        &read_only,
        Some(json!({"site_id": "S2", "name": "Two"})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "You do not have permission to perform this action."})
        )
    );

    let (_, other) = keyed(&app, "other").await;
    assert_eq!(
        call(&app, Method::GET, "/api/parking-lots/", &other, None)
            .await
            .1,
        json!([])
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("/api/parking-lots/{lot_id}/"),
            &other,
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/parking-lots/by-site-id/S1/",
            &other,
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    // The same site id is free in another account; a record cannot target someone else's lot.
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/api/parking-lots/",
            &other,
            Some(json!({"site_id": "S1", "name": "Mine"}))
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let (s, _) = call(
        &app,
        Method::POST,
        "/api/parking-records/",
        &other,
        Some(json!({"parking_lot": lot_id})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            &format!("/api/parking-lots/{lot_id}/"),
            &other,
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("/api/parking-lots/{lot_id}/"),
            &key,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn vehicle_uploads_are_validated_before_anything_is_stored() {
    let app = TestApp::spawn().await;
    let (_, key) = keyed(&app, "registrar").await;
    let h = [("x-api-key", key.as_str())];
    let r = app
        .post_multipart("/api/vehicles/", &[("brand", None, b"Toyota")], &h)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json(),
        json!({"image": ["No file was submitted."], "license_plate": ["This field is required."]})
    );
    let r = app
        .post_multipart(
            "/api/vehicles/",
            &[
                ("license_plate", None, b"ABC-1234"),
                ("image", Some("car.jpg"), b"plain text"),
            ],
            &h,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["image"][0]
            .as_str()
            .expect("msg")
            .contains("not a supported image"),
        "{}",
        r.text()
    );
    let r = app
        .post_multipart(
            "/api/vehicles/",
            &[
                ("license_plate", None, b"ABC-1234"),
                ("captured_at", None, b"last tuesday"),
                ("parking_lot_id", None, b"77"),
            ],
            &h,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let v = r.json();
    assert!(
        v["captured_at"].is_array() && v["parking_lot_id"].is_array() && v["image"].is_array(),
        "{v}"
    );
    assert_eq!(app.alpr_counts().await, (0, 0, 0));
    assert!(app.output_files().is_empty());
    let (s, v) = call(
        &app,
        Method::PATCH,
        "/api/vehicles/1/update_identification/",
        &key,
        Some(json!({"confidence_score": 1.5})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"confidence_score": ["Ensure this value is between 0.0 and 1.0."]})
        )
    );
}

#[tokio::test]
async fn a_real_rear_car_photo_verifies_its_plate() {
    let Some((app, samples)) = TestApp::spawn_vision(|_| {}).await else {
        return;
    };
    let car = std::fs::read(samples.join("rear_car.png")).expect("sample");
    let (_, key) = keyed(&app, "registry").await;
    let h = [("x-api-key", key.as_str())];
    let (_, lot) = call(
        &app,
        Method::POST,
        "/api/parking-lots/",
        &key,
        Some(json!({"site_id": "P1", "name": "Lot"})),
    )
    .await;
    let lot_id = lot["id"].as_i64().expect("id").to_string();

    let r = app
        .post_multipart(
            "/api/vehicles/",
            &[
                ("license_plate", None, b"5AU-5341"),
                ("brand", None, b"Toyota"),
                ("model", None, b"Camry"),
                ("year", None, b"2020"),
                ("parking_lot_id", None, lot_id.as_bytes()),
                ("captured_at", None, b"2025-07-03T08:00:00+08:00"),
                ("image", Some("rear_car.png"), &car),
            ],
            &h,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_eq!(v["is_identified"], true, "{v}");
    assert_eq!(v["license_plate"], "5AU-5341");
    assert_eq!(v["recognized_plate"], "5AU5341");
    let conf = v["confidence_score"].as_f64().expect("score");
    assert!((0.5..=1.0).contains(&conf), "{conf}");
    assert_eq!(v["captured_at"], "2025-07-03T00:00:00+00:00");
    assert!(
        v["image"]
            .as_str()
            .expect("url")
            .starts_with("/outputs/uploaded/")
    );
    let id = v["id"].as_i64().expect("id");
    // The alpr group's view of the same record.
    let (s, alpr) = call(
        &app,
        Method::GET,
        &format!("/api/vehicles/{id}"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(alpr["vehicle_class"], "car");
    assert_eq!(alpr["plates"][0]["plate_text"], "5AU5341");

    let r = app
        .post_multipart(
            "/api/vehicles/",
            &[
                ("license_plate", None, b"ABC-1234"),
                ("image", Some("rear_car.png"), &car),
            ],
            &h,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let other = r.json();
    assert_eq!(other["is_identified"], false);
    assert_eq!(other["recognized_plate"], "5AU5341");
    let other_id = other["id"].as_i64().expect("id");

    let plates = |v: &Value| {
        v.as_array()
            .expect("list")
            .iter()
            .map(|x| x["license_plate"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        plates(
            &call(
                &app,
                Method::GET,
                "/api/vehicles/?license_plate=5au",
                &key,
                None
            )
            .await
            .1
        ),
        ["5AU-5341"]
    );
    assert_eq!(
        plates(
            &call(
                &app,
                Method::GET,
                "/api/vehicles/?is_identified=false",
                &key,
                None
            )
            .await
            .1
        ),
        ["ABC-1234"]
    );
    assert_eq!(
        plates(
            &call(
                &app,
                Method::GET,
                &format!("/api/vehicles/?parking_lot_id={lot_id}"),
                &key,
                None
            )
            .await
            .1
        ),
        ["5AU-5341"]
    );
    assert_eq!(
        call(&app, Method::GET, "/api/vehicles/", &key, None)
            .await
            .1
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // The explicit override still wins; PUT replaces, PATCH amends; a corrected plate is re-verified.
    let (s, v) = call(
        &app,
        Method::PATCH,
        &format!("/api/vehicles/{other_id}/update_identification/"),
        &key,
        Some(json!({"is_identified": true, "confidence_score": 0.95})),
    )
    .await;
    assert_eq!(
        (
            s,
            v["is_identified"].as_bool(),
            v["confidence_score"].as_f64()
        ),
        (StatusCode::OK, Some(true), Some(0.95))
    );
    let (s, v) = call(
        &app,
        Method::PUT,
        &format!("/api/vehicles/{id}/"),
        &key,
        Some(json!({"license_plate": "XYZ-999"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["is_identified"].as_bool(),
            v["brand"].clone(),
            v["parking_lot_id"].clone()
        ),
        (Some(false), Value::Null, Value::Null)
    );
    let (s, v) = call(
        &app,
        Method::PATCH,
        &format!("/api/vehicles/{id}/"),
        &key,
        Some(json!({"license_plate": "5au 5341", "brand": "Honda"})),
    )
    .await;
    assert_eq!(
        (s, v["is_identified"].as_bool(), v["brand"].as_str()),
        (StatusCode::OK, Some(true), Some("Honda"))
    );
    let (s, v) = call(
        &app,
        Method::PUT,
        &format!("/api/vehicles/{id}/"),
        &key,
        Some(json!({"brand": "Kia"})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"license_plate": ["This field is required."]})
        )
    );

    let (s, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/vehicles/{id}/"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("/api/vehicles/{id}/"),
            &key,
            None
        )
        .await,
        (StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
    );
}
