//! The inspection group (inspection-api.zh-CN.md) on the real segmentation model and real
//! photos: batch answers in upload order with decodable result images, a broken file that
//! stores nothing, the data service's filters across a non-UTC midnight, the AI route
//! against a local server speaking the chat-completions protocol, and account isolation.

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, EntityTrait as _, PaginatorTrait as _};
use serde_json::{Value, json};
use visionflow::db::entities::inspection_record;

use crate::helpers::{TestApp, User};

fn sample(samples: &std::path::Path, name: &str) -> Vec<u8> {
    std::fs::read(samples.join(name)).expect("sample")
}

async fn records(app: &TestApp) -> u64 {
    inspection_record::Entity::find()
        .count(&app.state.db)
        .await
        .expect("count")
}

fn inspection_files(app: &TestApp) -> usize {
    app.output_files()
        .iter()
        .filter(|p| p.to_string_lossy().contains("/inspection/"))
        .count()
}

async fn get(app: &TestApp, user: &User, uri: &str) -> (StatusCode, Value, HeaderMap) {
    let r = app.get(uri, &[("authorization", &user.bearer())]).await;
    let v = if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    };
    (r.status, v, r.headers)
}

#[tokio::test]
async fn a_batch_answers_each_image_in_order_and_a_broken_file_stores_nothing() {
    let Some((app, samples)) = TestApp::spawn_vision(|s| s.inspection.max_images = 4).await else {
        return;
    };
    let user = app.user("inspector").await;
    let auth = user.bearer();
    let (bus, zidane, car) = (
        sample(&samples, "bus.jpg"),
        sample(&samples, "zidane.jpg"),
        sample(&samples, "rear_car.png"),
    );
    let r = app
        .post_multipart(
            "/api/detect",
            &[
                ("images", Some("bus.jpg"), &bus),
                ("images", Some("zidane.jpg"), &zidane),
                ("images", Some("rear_car.png"), &car),
            ],
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let out = r.json();
    let items = out.as_array().expect("an array");
    let names: Vec<&str> = items
        .iter()
        .map(|i| i["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        ["bus.jpg", "zidane.jpg", "rear_car.png"],
        "upload order"
    );
    for (item, (bytes, _)) in items.iter().zip([(&bus, 0), (&zidane, 1), (&car, 2)]) {
        let jpeg = B64
            .decode(item["result_image"].as_str().expect("base64"))
            .expect("base64");
        let result = image::load_from_memory(&jpeg).expect("a decodable result image");
        let input = image::load_from_memory(bytes).expect("input");
        assert_eq!(
            (result.width(), result.height()),
            (input.width(), input.height())
        );
        assert!(item["processing_time"].as_f64().expect("seconds") > 0.0);
        let n = item["defect_count"].as_i64().expect("count");
        let dice = item["dice"].as_f64().expect("dice");
        assert!((0.0..=1.0).contains(&dice));
        assert_eq!(
            n == 0,
            dice == 0.0,
            "dice is 0 exactly when nothing was found: {item}"
        );
        assert_eq!(
            item["labels"].as_array().expect("labels").is_empty(),
            n == 0
        );
    }
    assert!(
        items[0]["defect_count"].as_i64().unwrap_or(0) >= 1,
        "the bus is found"
    );
    assert!(
        items[0]["labels"]
            .as_array()
            .expect("labels")
            .iter()
            .any(|l| l == "bus"),
        "{}",
        items[0]
    );
    assert!(items[0]["dice"].as_f64().unwrap_or(0.0) > 0.5);
    assert_eq!(records(&app).await, 3);
    assert_eq!(inspection_files(&app), 3);

    // A broken file in the middle: 400 naming it, nothing stored.
    let r = app
        .post_multipart(
            "/api/detect/",
            &[
                ("images", Some("bus.jpg"), &bus),
                (
                    "images",
                    Some("broken.jpg"),
                    b"\xff\xd8\xff\xe0 not really a jpeg",
                ),
                ("images", Some("zidane.jpg"), &zidane),
            ],
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let e = r.json();
    assert_eq!(e["error"], "Invalid image data for broken.jpg");
    assert!(e["details"].as_str().is_some_and(|d| !d.is_empty()), "{e}");
    assert_eq!(records(&app).await, 3, "no record of the failed batch");
    assert_eq!(inspection_files(&app), 3, "no file of the failed batch");

    // No images field; too many images.
    let r = app
        .post_multipart(
            "/api/detect",
            &[("other", None, b"x")],
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.json(), json!({"error": "No images provided"}));
    let five: Vec<(&str, Option<&str>, &[u8])> = (0..5)
        .map(|_| ("images", Some("bus.jpg"), bus.as_slice()))
        .collect();
    let r = app
        .post_multipart("/api/detect", &five, &[("authorization", &auth)])
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap_or("")
            .contains("At most 4")
    );
    assert_eq!(records(&app).await, 3);

    // What was stored is what getRecent answers; another account sees none of it.
    let (s, recent, _) = get(&app, &user, "/api/data/getRecent?limit=2").await;
    assert_eq!(s, StatusCode::OK, "{recent}");
    let recent = recent.as_array().expect("array").clone();
    assert_eq!(recent.len(), 2);
    let ids: Vec<i64> = recent
        .iter()
        .map(|r| r["figId"].as_i64().expect("id"))
        .collect();
    assert!(ids[0] > ids[1], "newest first");
    assert_eq!(recent[0]["name"], "rear_car.png");
    assert_eq!(recent[1]["name"], "zidane.jpg");
    for k in ["date", "time", "label", "num", "dice"] {
        assert!(!recent[0][k].is_null(), "{k} in {}", recent[0]);
    }
    let other = app.user("someone_else").await;
    let (_, theirs, _) = get(&app, &other, "/api/data/getRecent").await;
    assert_eq!(theirs, json!([]));
    let (_, found, _) = get(&app, &other, "/api/data/search?name=bus").await;
    assert_eq!(found["total"], 0);
}

/// Inserts a record at `at` (UTC, RFC 3339).
async fn record_at(app: &TestApp, user: &User, name: &str, num: i32, at: &str) {
    inspection_record::ActiveModel {
        account_id: Set(user.account_uuid.parse().expect("uuid")),
        name: Set(name.into()),
        labels: Set(json!(["scratch"])),
        label: Set(if num > 0 {
            "scratch".into()
        } else {
            String::new()
        }),
        num: Set(num),
        dice: Set(if num > 0 { 0.8 } else { 0.0 }),
        processing_time: Set(0.1),
        model: Set("vehicles".into()),
        width: Set(64),
        height: Set(48),
        result_path: Set(None),
        created_at: Set(chrono::DateTime::parse_from_rfc3339(at)
            .expect("time")
            .to_utc()),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .expect("record");
}

#[tokio::test]
async fn the_data_service_filters_by_name_count_and_local_days() {
    let app = TestApp::spawn_with(|s| s.inspection.timezone = "Asia/Taipei".into()).await;
    let user = app.user("dataviewer").await;
    // 23:30 and 00:30 in Taipei (UTC+8): two local days, one UTC day.
    record_at(&app, &user, "Panel_A01.jpg", 2, "2026-01-01T15:30:00Z").await;
    record_at(&app, &user, "panel_a02.jpg", 0, "2026-01-01T16:30:00Z").await;
    record_at(&app, &user, "gear_b01.jpg", 2, "2026-01-03T02:00:00Z").await;

    let (s, r, _) = get(
        &app,
        &user,
        "/api/data/search?startDate=2026-01-02&endDate=2026-01-02",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["total"], 1);
    let row = &r["data"][0];
    assert_eq!(row["name"], "panel_a02.jpg");
    assert_eq!(
        (row["date"].clone(), row["time"].clone()),
        (json!("2026-01-02"), json!("00:30:00"))
    );
    assert_eq!(
        (row["resFig"].clone(), row["dice"].clone()),
        (Value::Null, Value::Null),
        "as documented"
    );

    let (_, r, _) = get(&app, &user, "/api/data/search?name=PANEL").await;
    assert_eq!(r["total"], 2, "fuzzy, case-insensitive: {r}");
    let (_, r, _) = get(&app, &user, "/api/data/search?num=2").await;
    let names: Vec<&str> = r["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|x| x["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["gear_b01.jpg", "Panel_A01.jpg"]);
    let (_, r, _) = get(
        &app,
        &user,
        "/api/data/search?name=panel&num=2&limit=1&page=1",
    )
    .await;
    assert_eq!(
        (r["total"].clone(), r["data"].as_array().map(Vec::len)),
        (json!(1), Some(1))
    );
    let (_, r, _) = get(&app, &user, "/api/data/search?limit=2&page=2").await;
    assert_eq!(r["total"], 3);
    assert_eq!(r["data"][0]["name"], "Panel_A01.jpg", "the third newest");

    let (s, stats, _) = get(
        &app,
        &user,
        "/api/data/statByDate?startDate=2026-01-01&endDate=2026-01-03",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{stats}");
    assert_eq!(
        stats,
        json!([
            {"record_count": 1, "stat_date": "2026-01-01", "total_num": 2},
            {"record_count": 1, "stat_date": "2026-01-02", "total_num": 0},
            {"record_count": 1, "stat_date": "2026-01-03", "total_num": 2}
        ])
    );
    let (s, stats, _) = get(&app, &user, "/api/data/statByDate").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        stats.as_array().map(Vec::len),
        Some(15),
        "the last 15 days by default"
    );

    let (s, page, headers) = get(&app, &user, "/api/data/getPaginated?limit=2&page=1").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(
        headers.get("deprecation").and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(page["total"], 3);
    assert_eq!(page["data"][0]["dice"], 0.8);

    for (uri, field) in [
        ("/api/data/search?startDate=2026-13-01", "startDate"),
        (
            "/api/data/statByDate?startDate=2026-01-05&endDate=2026-01-01",
            "endDate",
        ),
        ("/api/data/getRecent?limit=0", "limit"),
    ] {
        let (s, e, _) = get(&app, &user, uri).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {e}");
        assert!(
            e["error"].as_str().unwrap_or("").contains(field),
            "{uri}: {e}"
        );
    }
}

#[tokio::test]
async fn the_ai_route_asks_a_chat_completions_server_about_recent_records() {
    // A local server speaking the chat-completions protocol.
    let seen: Arc<Mutex<Vec<(HeaderMap, Value)>>> = Arc::default();
    let s2 = seen.clone();
    let chat = Router::new().route(
        "/v1/chat/completions",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let s2 = s2.clone();
            async move {
                s2.lock().expect("lock").push((headers, body));
                Json(json!({
                    "id": "chatcmpl-1", "object": "chat.completion", "model": "stub-analyst-1",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": "2 of 3 images had defects; scratches dominate."}}]
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
    let app = TestApp::spawn_with(|s| {
        s.ai.base_url = Some(format!("http://{addr}/v1"));
        s.ai.model = "analyst".into();
        s.ai.api_key = Some("sk-test-local".to_owned().into());
    })
    .await;
    let user = app.user("aiuser").await;
    record_at(&app, &user, "panel_1.jpg", 2, "2026-01-01T01:00:00Z").await;
    record_at(&app, &user, "panel_2.jpg", 0, "2026-01-01T02:00:00Z").await;
    let r = app
        .post_json(
            "/api/ai/analyze",
            &json!({"limit": 10}),
            &[("authorization", &user.bearer())],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let a = r.json();
    assert_eq!(
        a["analysis"],
        "2 of 3 images had defects; scratches dominate."
    );
    assert_eq!(a["model"], "stub-analyst-1");
    assert_eq!(a["records"], 2);
    let calls = seen.lock().expect("lock").clone();
    assert_eq!(calls.len(), 1);
    let (h, body) = &calls[0];
    assert_eq!(
        h.get("authorization").and_then(|v| v.to_str().ok()),
        Some("Bearer sk-test-local")
    );
    assert_eq!(body["model"], "analyst");
    assert_eq!(body["messages"][0]["role"], "system");
    let prompt = body["messages"][1]["content"].as_str().expect("prompt");
    assert!(
        prompt.contains("panel_1.jpg") && prompt.contains("panel_2.jpg"),
        "{prompt}"
    );
    let _ = stop_tx.send(());

    // Unconfigured: a clear 503 in the group's style.
    let plain = TestApp::spawn().await;
    let u = plain.user("noai").await;
    let r = plain
        .post_json(
            "/api/ai/analyze",
            &json!({}),
            &[("authorization", &u.bearer())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap_or("")
            .contains("not configured")
    );
}
