//! Device plans, quotas, schedules and the auto-probe (devices-api-v1.zh-TW.txt "方案等級",
//! "設備配額", "排程結構", "探測狀態規則") with a clock the tests control: the loops are off
//! and each test calls `DeviceService::tick(t)` / `probe_round()` itself. Quota events go to
//! a real webhook receiver on 127.0.0.1 and to a GraphQL subscriber.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::{Value, json};
use visionflow::{
    config::Settings,
    db::entities::camera,
    domain::devices::{
        alerts,
        quota::{self, Feature},
    },
};

use crate::{
    delivery::{configure, webhook},
    helpers::{TestApp, User, call, keyed},
    live::{RtspServer, mount},
    peers::{WebhookReceiver, eventually},
    websocket::{open, recv, send},
};

pub(crate) fn loops_off(s: &mut Settings) {
    configure(s, None, None);
    s.cameras.allowed_hosts = vec!["127.0.0.1".into()];
    s.devices.tick_secs = 0.0;
    s.devices.probe_interval_secs = 0.0;
}

pub(crate) async fn gql(app: &TestApp, user: &User, query: &str, vars: Value) -> Value {
    let r = app
        .graphql(query, vars, &[("authorization", &user.bearer())])
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"].clone()
}

pub(crate) async fn create(app: &TestApp, key: &str, body: Value) -> (String, i32) {
    let (s, d) = call(app, Method::POST, "/api/v1/devices", key, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    (
        d["data"]["id"].as_str().expect("id").to_owned(),
        d["data"]["cameraId"].as_i64().expect("camera id") as i32,
    )
}

pub(crate) async fn row(app: &TestApp, camera_id: i32) -> camera::Model {
    use sea_orm::EntityTrait as _;
    camera::Entity::find_by_id(camera_id)
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("row")
}

/// Whether a zone-less alert of the camera at `now` is raised (the device's alert quota).
async fn raises(app: &TestApp, camera_id: i32, now: DateTime<Utc>) -> bool {
    let c = row(app, camera_id).await;
    alerts::admit(&app.state.db, &*app.state.bus, &c, None, now, 600.0)
        .await
        .expect("admit")
        == alerts::Admission::Raise
}

async fn state(app: &TestApp, user: &User, id: &str) -> String {
    gql(
        app,
        user,
        "query($id: ID!) { device(id: $id) { analysisState } }",
        json!({"id": id}),
    )
    .await["device"]["analysisState"]
        .as_str()
        .expect("state")
        .to_owned()
}

#[tokio::test]
async fn the_quota_answer_meters_warns_once_at_80_percent_and_stops_analysis_when_spent() {
    let hook = WebhookReceiver::start().await;
    let app = TestApp::spawn_with(loops_off).await;
    let (user, key) = keyed(&app, "quotauser").await;
    webhook(&app, &user, &hook, &["quota_warning", "quota_exceeded"]).await;
    let (id, cam) = create(
        &app,
        &key,
        json!({"name": "Lobby", "rtspUrl": "rtsp://127.0.0.1:9/lobby"}),
    )
    .await;

    // The document's answer, for a fresh level_01 device.
    let (s, q) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{id}/quota"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    let feature = |t: &str, unit: &str, limit: i64| {
        json!({"featureType": t, "unit": unit, "limit": limit, "used": 0, "remaining": limit.max(0),
               "isExceeded": false, "isDisabled": limit == 0, "isUnlimited": false, "usagePercentage": 0.0})
    };
    assert_eq!(
        q,
        json!({"success": true, "data": {
            "deviceId": id, "period": quota::period(Utc::now()), "quotaSeconds": 540000,
            "usedSeconds": 0, "remainingSeconds": 540000, "usagePercentage": 0.0,
            "hasIndividualLimit": false, "isExceeded": false,
            "alertQuota": feature("alert", "count", 3000),
            "attributeQuota": feature("attribute", "count", 0),
            "vlmQuota": feature("vlm", "tokens", 0)
        }})
    );
    // level_02 opens attribute and VLM quotas; the month's usage stays.
    let (s, b) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        &key,
        Some(json!({"plan": "level_02"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b["data"]["enabledCapabilities"],
        json!(["result", "alert", "attribute", "vlm"])
    );
    let (_, q) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{id}/quota"),
        &key,
        None,
    )
    .await;
    assert_eq!(q["data"]["quotaSeconds"], 900000);
    assert_eq!(q["data"]["vlmQuota"]["limit"], 10_000_000);
    assert_eq!(q["data"]["attributeQuota"]["isDisabled"], false);

    // Its own limit: 100 s.
    let (s, q) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}/quota"),
        &key,
        Some(json!({"quotaSeconds": 100})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    assert_eq!(
        (
            q["data"]["quotaSeconds"].as_i64(),
            q["data"]["hasIndividualLimit"].as_bool()
        ),
        (Some(100), Some(true))
    );
    for bad in [
        json!({"quotaSeconds": -1}),
        json!({}),
        json!({"quotaSeconds": "many"}),
    ] {
        let (s, b) = call(
            &app,
            Method::PATCH,
            &format!("/api/v1/devices/{id}/quota"),
            &key,
            Some(bad.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
        assert_eq!(b["error"]["code"], "VALIDATION_ERROR");
    }

    // A subscriber of quota events.
    let (addr, _stop) = app.serve().await;
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
    send(&mut ws, json!({"id": "q", "type": "subscribe", "payload": {"query": "subscription { deviceQuotaEvents { deviceId kind featureType period used limit } }"}})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Analysis runs; the test clock moves.
    gql(
        &app,
        &user,
        "mutation($id: ID!) { startDeviceAnalysis(id: $id) { analysisState } }",
        json!({"id": id}),
    )
    .await;
    let t0 = Utc::now();
    let at = |s: i64| t0 + chrono::Duration::seconds(s);
    async fn used_of(app: &TestApp, cam: i32, t: DateTime<Utc>) -> f64 {
        let c = row(app, cam).await;
        app.state
            .devices
            .usage(&c, t)
            .await
            .expect("usage")
            .analysis_seconds
    }
    app.state.devices.tick(at(79)).await.expect("tick");
    let u = used_of(&app, cam, at(79)).await;
    assert!((79.0..80.0).contains(&u), "{u}");
    assert!(hook.hooks().is_empty(), "79 % is no warning");
    app.state.devices.tick(at(81)).await.expect("tick");
    app.state.devices.tick(at(90)).await.expect("tick");
    assert_eq!(state(&app, &user, &id).await, "RUNNING");
    app.state.devices.tick(at(101)).await.expect("tick");
    assert_eq!(
        state(&app, &user, &id).await,
        "IDLE",
        "spent: analysis stops"
    );
    app.state.devices.tick(at(130)).await.expect("tick");
    let u = used_of(&app, cam, at(130)).await;
    assert!(
        (100.0..102.0).contains(&u),
        "nothing metered once stopped: {u}"
    );
    let (_, q) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{id}/quota"),
        &key,
        None,
    )
    .await;
    assert_eq!(
        (
            q["data"]["isExceeded"].as_bool(),
            q["data"]["remainingSeconds"].as_i64()
        ),
        (Some(true), Some(0)),
        "{q}"
    );
    assert!(
        q["data"]["usagePercentage"]
            .as_f64()
            .is_some_and(|p| (101.0..102.0).contains(&p)),
        "{q}"
    );
    // The all-time totals follow (this camera never connects: no frames).
    let (_, d) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{id}"),
        &key,
        None,
    )
    .await;
    assert!(
        d["data"]["totalProcessingTimeSeconds"]
            .as_f64()
            .is_some_and(|t| (100.0..102.0).contains(&t)),
        "{d}"
    );
    assert_eq!(d["data"]["totalAnalysisCount"], 0);
    // No manual start while spent.
    let r = app
        .graphql(
            "mutation($id: ID!) { startDeviceAnalysis(id: $id) { analysisState } }",
            json!({"id": id}),
            &[("authorization", &user.bearer())],
        )
        .await;
    assert_eq!(
        r["errors"][0]["extensions"]["reason"], "QUOTA_EXCEEDED",
        "{r}"
    );

    // One warning and one exceeded, as webhooks and as subscription events.
    assert!(
        eventually(Duration::from_secs(20), || async {
            hook.hooks().len() >= 2
        })
        .await,
        "two webhooks"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hooks = hook.hooks();
    let bodies: Vec<Value> = hooks
        .iter()
        .map(|h| serde_json::from_str(&h.body).expect("json"))
        .collect();
    let types: Vec<&str> = bodies.iter().filter_map(|b| b["type"].as_str()).collect();
    assert_eq!(
        types,
        ["device.quota_warning", "device.quota_exceeded"],
        "{bodies:?}"
    );
    assert!(
        hooks
            .iter()
            .all(|h| h.headers.contains_key("webhook-signature"))
    );
    assert_eq!(bodies[0]["data"]["deviceId"], id.as_str());
    assert_eq!(
        (
            bodies[0]["data"]["featureType"].as_str(),
            bodies[0]["data"]["limit"].as_i64()
        ),
        (Some("analysis"), Some(100))
    );
    assert!(
        bodies[0]["data"]["usagePercentage"]
            .as_f64()
            .is_some_and(|p| (80.0..90.0).contains(&p)),
        "{bodies:?}"
    );
    let mut events = Vec::new();
    while events.len() < 2 {
        let m = recv(&mut ws, Duration::from_secs(5)).await.expect("event");
        if m["type"] == "next" {
            events.push(m["payload"]["data"]["deviceQuotaEvents"].clone());
        }
    }
    assert_eq!(events[0]["kind"], "quota_warning");
    assert_eq!(events[1]["kind"], "quota_exceeded");
    assert_eq!(events[1]["deviceId"], id.as_str());

    // Unlimited: no limit, analysis may start again; nothing fires twice this period.
    let (_, q) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}/quota"),
        &key,
        Some(json!({"quotaSeconds": null})),
    )
    .await;
    assert_eq!(
        (
            q["data"]["quotaSeconds"].clone(),
            q["data"]["remainingSeconds"].clone(),
            q["data"]["isExceeded"].clone()
        ),
        (Value::Null, Value::Null, json!(false)),
        "{q}"
    );
    gql(
        &app,
        &user,
        "mutation($id: ID!) { startDeviceAnalysis(id: $id) { analysisState } }",
        json!({"id": id}),
    )
    .await;
    let t1 = Utc::now();
    app.state
        .devices
        .tick(t1 + chrono::Duration::seconds(500))
        .await
        .expect("tick");
    assert_eq!(state(&app, &user, &id).await, "RUNNING");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hook.hooks().len(), 2, "no more quota events");

    // The alert quota: analysis goes on, alerts stop at the plan's 5,000 (level_02).
    let c = row(&app, cam).await;
    let bus = app.state.bus.clone();
    let now = Utc::now();
    quota::charge(&app.state.db, &*bus, &c, Feature::Alert, 4_998.0, true, now)
        .await
        .expect("charge");
    assert!(raises(&app, cam, now).await);
    assert!(raises(&app, cam, now).await, "the 5,000th");
    assert!(!raises(&app, cam, now).await, "spent");
    let (_, q) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{id}/quota"),
        &key,
        None,
    )
    .await;
    assert_eq!(
        (
            q["data"]["alertQuota"]["used"].as_i64(),
            q["data"]["alertQuota"]["isExceeded"].as_bool()
        ),
        (Some(5000), Some(true))
    );
    assert_eq!(state(&app, &user, &id).await, "RUNNING", "analysis goes on");
    // A camera of the monitor group has no plan: its alerts are never refused.
    let mon = gql(&app, &user, "mutation { createCamera(input: {name: \"m\", streamUrl: \"rtsp://127.0.0.1:9/m\"}) { id } }", json!({})).await["createCamera"]["id"].as_i64().expect("id") as i32;
    for _ in 0..3 {
        assert!(raises(&app, mon, now).await);
    }
}

#[tokio::test]
async fn a_new_month_starts_from_zero_and_nothing_carries_over() {
    let app = TestApp::spawn_with(loops_off).await;
    let (user, key) = keyed(&app, "monthuser").await;
    let (id, cam) = create(
        &app,
        &key,
        json!({"name": "Dock", "rtspUrl": "rtsp://127.0.0.1:9/dock"}),
    )
    .await;
    // Unlimited, so the weeks skipped below do not spend the plan's 540,000 s.
    let (s, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}/quota"),
        &key,
        Some(json!({"quotaSeconds": null})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    gql(
        &app,
        &user,
        "mutation($id: ID!) { startDeviceAnalysis(id: $id) { analysisState } }",
        json!({"id": id}),
    )
    .await;
    let started = Utc::now();
    // Move the clock to 30 s before the next month, then 20 s into it.
    let boundary = quota::next_month(started);
    let before = boundary - chrono::Duration::seconds(30);
    let c = row(&app, cam).await;
    let devices = app.state.devices.clone();
    devices.tick(before).await.expect("tick");
    let old = devices
        .usage(&c, before)
        .await
        .expect("usage")
        .analysis_seconds;
    devices
        .tick(boundary + chrono::Duration::seconds(20))
        .await
        .expect("tick");
    let old_after = devices
        .usage(&c, before)
        .await
        .expect("usage")
        .analysis_seconds;
    let new = devices.usage(&c, boundary).await.expect("usage");
    assert!((old_after - old - 30.0).abs() < 0.01, "{old} → {old_after}");
    assert!(
        (new.analysis_seconds - 20.0).abs() < 0.01,
        "{}",
        new.analysis_seconds
    );
    assert_eq!(new.period, quota::period(boundary));
    let status = devices.quota_status(&c, boundary).await.expect("status");
    assert_eq!(status["usedSeconds"], 20);
    assert_eq!(status["period"], quota::period(boundary));
}

#[tokio::test]
async fn a_schedule_starts_and_stops_analysis_at_slot_boundaries_in_utc_plus_8_and_5_30() {
    let app = TestApp::spawn_with(loops_off).await;
    let (user, key) = keyed(&app, "scheduser").await;
    // Slot 16: 08:00–08:30 local.
    let schedule = json!({"dailySlots": [16]});
    let (taipei, _) = create(&app, &key, json!({"name": "Taipei", "rtspUrl": "rtsp://127.0.0.1:9/t", "utcOffset": "UTC+8", "schedule": schedule})).await;
    let (mumbai, _) = create(&app, &key, json!({"name": "Mumbai", "rtspUrl": "rtsp://127.0.0.1:9/m", "utcOffset": "UTC+5:30", "schedule": schedule})).await;
    let (manual, _) = create(
        &app,
        &key,
        json!({"name": "Manual", "rtspUrl": "rtsp://127.0.0.1:9/x"}),
    )
    .await;
    let day = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let at = |h: i64, m: i64, s: i64| day + chrono::Duration::seconds(h * 3600 + m * 60 + s);
    let ids = [taipei.clone(), mumbai.clone(), manual.clone()];
    async fn states_of(app: &TestApp, user: &User, ids: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for id in ids {
            out.push(state(app, user, id).await);
        }
        out
    }
    let d = &app.state.devices;
    // 07:59:50 in Taipei is 23:59:50 UTC the day before.
    d.tick(at(0, 0, -10)).await.expect("tick");
    assert_eq!(states_of(&app, &user, &ids).await, ["IDLE", "IDLE", "IDLE"]);
    d.tick(at(0, 0, 5)).await.expect("tick");
    assert_eq!(
        states_of(&app, &user, &ids).await,
        ["RUNNING", "IDLE", "IDLE"],
        "08:00:05 in Taipei"
    );
    d.tick(at(0, 29, 59)).await.expect("tick");
    assert_eq!(
        states_of(&app, &user, &ids).await,
        ["RUNNING", "IDLE", "IDLE"]
    );
    d.tick(at(0, 30, 1)).await.expect("tick");
    assert_eq!(
        states_of(&app, &user, &ids).await,
        ["IDLE", "IDLE", "IDLE"],
        "08:30 in Taipei"
    );
    // 08:00 in Mumbai is 02:30 UTC.
    d.tick(at(2, 29, 55)).await.expect("tick");
    assert_eq!(states_of(&app, &user, &ids).await, ["IDLE", "IDLE", "IDLE"]);
    d.tick(at(2, 30, 0)).await.expect("tick");
    assert_eq!(
        states_of(&app, &user, &ids).await,
        ["IDLE", "RUNNING", "IDLE"],
        "08:00 in Mumbai"
    );
    d.tick(at(3, 0, 0)).await.expect("tick");
    assert_eq!(
        states_of(&app, &user, &ids).await,
        ["IDLE", "IDLE", "IDLE"],
        "08:30 in Mumbai"
    );
    // Schedule removed: manual again, and ticks leave it alone.
    let (s, b) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{taipei}"),
        &key,
        Some(json!({"schedule": null})),
    )
    .await;
    assert_eq!(
        (s, b["data"]["schedule"].clone()),
        (StatusCode::OK, Value::Null)
    );
    d.tick(at(24, 0, 5)).await.expect("tick");
    assert_eq!(states_of(&app, &user, &ids).await, ["IDLE", "IDLE", "IDLE"]);
}

#[tokio::test]
async fn the_auto_probe_marks_a_device_offline_after_three_failures_and_a_manual_probe_brings_it_back()
 {
    let Some(rtsp) = RtspServer::start(&mount("cam", "still", "bus.jpg")) else {
        return;
    };
    let app = TestApp::spawn_with(loops_off).await;
    let (_, key) = keyed(&app, "probeuser").await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let (id, cam) = create(
        &app,
        &key,
        json!({"name": "Gate", "rtspUrl": format!("rtsp://127.0.0.1:{closed}/cam")}),
    )
    .await;
    let (_, good) = create(
        &app,
        &key,
        json!({"name": "Good", "rtspUrl": rtsp.url("cam")}),
    )
    .await;
    let d = &app.state.devices;
    for (round, want) in [(1, "unknown"), (2, "unknown"), (3, "offline")] {
        assert_eq!(d.probe_round().await.expect("round"), 2, "round {round}");
        let r = row(&app, cam).await;
        assert_eq!(
            (r.online_status.as_str(), r.probe_failures),
            (want, round),
            "round {round}"
        );
        assert_eq!(row(&app, good).await.online_status, "online");
    }
    assert_eq!(
        d.probe_round().await.expect("round"),
        1,
        "an offline device is not auto-probed"
    );
    assert_eq!(row(&app, cam).await.probe_failures, 3);
    // Fixed URL; a manual probe brings it back, and the auto-probe takes it again.
    call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        &key,
        Some(json!({"rtspUrl": rtsp.url("cam")})),
    )
    .await;
    let (s, p) = call(
        &app,
        Method::POST,
        &format!("/api/v1/devices/{id}/probe"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["data"]["onlineStatus"], "online");
    let r = row(&app, cam).await;
    assert_eq!((r.online_status.as_str(), r.probe_failures), ("online", 0));
    assert_eq!(d.probe_round().await.expect("round"), 2);
}
