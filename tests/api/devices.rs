//! The devices group (devices-api-v1.zh-TW.txt) against real parts: GStreamer's RTSP server
//! with Basic auth on 127.0.0.1 for the probe, SQLite/PostgreSQL for the rows. A device is
//! the monitor group's camera seen by UUID.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, User, call, keyed},
    live::{RtspServer, mount},
};

async fn gql(app: &TestApp, user: &User, query: &str, vars: Value) -> Value {
    let r = app
        .graphql(query, vars, &[("authorization", &user.bearer())])
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"].clone()
}

/// The document's create example with the RTSP URL of the local server.
fn example(url: &str) -> Value {
    json!({
        "name": "大門入口攝影機",
        "description": "監控大樓正門入口區域",
        "rtspUrl": url,
        "rtspUsername": "admin",
        "rtspPassword": "password123",
        "locationLabel": "A棟 1F 大門",
        "type": "ip_camera",
        "plan": "level_01",
        "tags": ["entrance", "building-a"],
        "utcOffset": "UTC+8",
        "schedule": {
            "daylightSaving": false,
            "dailySlots": [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43]
        }
    })
}

async fn probe(app: &TestApp, key: &str, id: &str) -> (Value, Duration) {
    let t0 = Instant::now();
    let (s, body) = call(
        app,
        Method::POST,
        &format!("/api/v1/devices/{id}/probe"),
        key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true, "{body}");
    (body["data"].clone(), t0.elapsed())
}

#[tokio::test]
async fn the_documents_example_is_stored_answered_without_secrets_and_probed() {
    let mut args = mount("gate", "still", "bus.jpg").to_vec();
    args.extend([
        "--user".into(),
        "admin".into(),
        "--password".into(),
        "password123".into(),
    ]);
    let Some(rtsp) = RtspServer::start(&args) else {
        return;
    };
    let app = TestApp::spawn_with(|s| s.cameras.allowed_hosts = vec!["127.0.0.1".into()]).await;
    let (user, key) = keyed(&app, "devowner").await;

    let (s, created) = call(
        &app,
        Method::POST,
        "/api/v1/devices",
        &key,
        Some(example(&rtsp.url("gate"))),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["success"], true);
    let d = &created["data"];
    let id = d["id"].as_str().expect("uuid").to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    for (k, v) in [
        ("name", json!("大門入口攝影機")),
        ("description", json!("監控大樓正門入口區域")),
        ("rtspUrl", json!(rtsp.url("gate"))),
        ("rtspAuthType", json!("basic")),
        ("locationLabel", json!("A棟 1F 大門")),
        ("type", json!("ip_camera")),
        ("plan", json!("level_01")),
        ("tags", json!(["entrance", "building-a"])),
        ("utcOffset", json!("UTC+8")),
        ("status", json!("active")),
        ("onlineStatus", json!("unknown")),
        ("lastHeartbeatAt", Value::Null),
        ("enabledCapabilities", json!(["result", "alert"])),
        ("analysisState", json!("IDLE")),
        ("userId", json!(user.account_uuid)),
    ] {
        assert_eq!(d[k], v, "{k}: {d}");
    }
    assert_eq!(
        d["schedule"]["dailySlots"].as_array().map(Vec::len),
        Some(28),
        "{d}"
    );
    assert_eq!(d["schedule"]["daylightSaving"], false);
    // Write-only credentials: never in any answer, sealed in the row.
    let (s, got) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{id}"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got["data"], *d);
    for body in [&created, &got] {
        let text = body.to_string();
        assert!(
            !text.contains("password123") && !text.contains("rtspPassword"),
            "{text}"
        );
    }
    let row = camera_row(&app, &id).await;
    let sealed = row.rtsp_auth.clone().expect("sealed credentials");
    assert!(!sealed.contains("password123") && !sealed.contains("admin"));
    // The same row in the monitor group.
    let cams = gql(
        &app,
        &user,
        "{ cameras { edges { node { id name streamUrl } } } }",
        json!({}),
    )
    .await;
    assert_eq!(cams["cameras"]["edges"][0]["node"]["id"], d["cameraId"]);
    assert_eq!(
        cams["cameras"]["edges"][0]["node"]["name"],
        "大門入口攝影機"
    );

    // The right password probes clean.
    let (p, _) = probe(&app, &key, &id).await;
    assert_eq!(p["onlineStatus"], "online", "{p}");
    assert_eq!(p["errorCode"], Value::Null, "{p}");
    assert!(
        p["latencyMs"]
            .as_f64()
            .is_some_and(|l| (0.0..5000.0).contains(&l)),
        "{p}"
    );
    assert!(p["probedAt"].is_string());
    let (_, got) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{id}"),
        &key,
        None,
    )
    .await;
    assert_eq!(got["data"]["onlineStatus"], "online");
    assert!(got["data"]["lastHeartbeatAt"].is_string());

    // A wrong password is AUTH_FAILED.
    let (s, b) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        &key,
        Some(json!({"rtspUsername": "admin", "rtspPassword": "wrong"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (p, _) = probe(&app, &key, &id).await;
    assert_eq!(
        (p["onlineStatus"].as_str(), p["errorCode"].as_str()),
        (Some("offline"), Some("AUTH_FAILED")),
        "{p}"
    );
    // No credentials at all is AUTH_REQUIRED.
    let (s, b) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        &key,
        Some(json!({"rtspUsername": null, "rtspPassword": null})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["rtspAuthType"], Value::Null, "{b}");
    assert_eq!(b["data"]["name"], "大門入口攝影機", "absent fields stay");
    assert_eq!(
        b["data"]["description"], "監控大樓正門入口區域",
        "absent fields stay"
    );
    assert_eq!(
        b["data"]["tags"],
        json!(["entrance", "building-a"]),
        "absent fields stay"
    );
    assert_eq!(
        b["data"]["schedule"]["dailySlots"].as_array().map(Vec::len),
        Some(28)
    );
    let (s, b) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        &key,
        Some(json!({"description": null, "tags": null})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["data"]["description"].clone(), b["data"]["tags"].clone()),
        (Value::Null, json!([])),
        "null clears"
    );
    assert_eq!(b["data"]["locationLabel"], "A棟 1F 大門");
    let (p, _) = probe(&app, &key, &id).await;
    assert_eq!(p["errorCode"], "AUTH_REQUIRED", "{p}");
    // A manual probe that succeeds brings an offline device back.
    call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        &key,
        Some(json!({"rtspUsername": "admin", "rtspPassword": "password123"})),
    )
    .await;
    let (p, _) = probe(&app, &key, &id).await;
    assert_eq!(p["onlineStatus"], "online", "{p}");

    // A closed port is CONNECTION_REFUSED.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let (s, other) = call(
        &app,
        Method::POST,
        "/api/v1/devices",
        &key,
        Some(json!({"name": "closed", "rtspUrl": format!("rtsp://127.0.0.1:{closed}/x")})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{other}");
    let other_id = other["data"]["id"].as_str().expect("id").to_owned();
    let (p, _) = probe(&app, &key, &other_id).await;
    assert_eq!(p["errorCode"], "CONNECTION_REFUSED", "{p}");
    // A listening socket that never answers is CONNECTION_TIMEOUT after about 5 s.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((c, _)) = silent.accept().await {
            held.push(c);
        }
    });
    let (s, b) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{other_id}"),
        &key,
        Some(json!({"rtspUrl": format!("rtsp://127.0.0.1:{port}/x")})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (p, took) = probe(&app, &key, &other_id).await;
    hold.abort();
    assert_eq!(p["errorCode"], "CONNECTION_TIMEOUT", "{p}");
    assert!(
        took >= Duration::from_millis(4900) && took < Duration::from_secs(8),
        "{took:?}"
    );
}

async fn camera_row(app: &TestApp, id: &str) -> visionflow::db::entities::camera::Model {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    visionflow::db::entities::camera::Entity::find()
        .filter(
            visionflow::db::entities::camera::Column::Uuid
                .eq(uuid::Uuid::parse_str(id).expect("uuid")),
        )
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("row")
}

async fn count(app: &TestApp, key: &str) -> u64 {
    let (s, b) = call(app, Method::GET, "/api/v1/devices", key, None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["total"].as_u64().expect("total")
}

#[tokio::test]
async fn every_validation_rule_is_a_400_naming_the_field_and_stores_nothing() {
    let app = TestApp::spawn_with(|s| s.cameras.allowed_hosts = vec!["127.0.0.1".into()]).await;
    let (_, key) = keyed(&app, "devvalid").await;
    let ok = json!({"name": "n", "rtspUrl": "rtsp://127.0.0.1:8554/a"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        if v.is_null() && k != "schedule" {
            b.as_object_mut().expect("obj").remove(k);
        } else {
            b[k] = v;
        }
        b
    };
    let cases = [
        (with("name", Value::Null), "name"),
        (with("name", json!("  ")), "name"),
        (with("name", json!("x".repeat(201))), "name"),
        (with("description", json!("d".repeat(501))), "description"),
        (with("rtspUrl", Value::Null), "rtspUrl"),
        (with("rtspUrl", json!("http://127.0.0.1/a")), "rtspUrl"),
        (with("rtspUrl", json!("not a url")), "rtspUrl"),
        (with("rtspUrl", json!("rtsp://10.0.0.1/a")), "rtspUrl"),
        (
            with("locationLabel", json!("l".repeat(201))),
            "locationLabel",
        ),
        (with("latitude", json!(90.5)), "latitude"),
        (with("latitude", json!(-91)), "latitude"),
        (with("longitude", json!(180.01)), "longitude"),
        (with("longitude", json!(-200)), "longitude"),
        (with("geoSource", json!("gps")), "geoSource"),
        (with("type", json!("webcam")), "type"),
        (with("plan", json!("level_03")), "plan"),
        (with("utcOffset", json!("UTC+15")), "utcOffset"),
        (with("utcOffset", json!("GMT+8")), "utcOffset"),
        (with("utcOffset", json!("UTC+5:20")), "utcOffset"),
        (
            with("schedule", json!({"dailySlots": [48]})),
            "schedule.dailySlots",
        ),
        (
            with("schedule", json!({"dailyPeakSlots": [1]})),
            "schedule.dailySlots",
        ),
        (
            with(
                "schedule",
                json!({"dailySlots": [], "weeklySlots": [[1], [2]]}),
            ),
            "schedule.weeklySlots",
        ),
        (with("rtspUsername", json!("admin")), "rtspPassword"),
        (with("rtspPassword", json!("pw")), "rtspUsername"),
        (
            {
                let mut b = with("rtspToken", json!("tok"));
                b["rtspUsername"] = json!("u");
                b["rtspPassword"] = json!("p");
                b
            },
            "rtspToken",
        ),
        (with("tags", json!(["", "a"])), "tags"),
    ];
    for (body, field) in cases {
        let (s, b) = call(
            &app,
            Method::POST,
            "/api/v1/devices",
            &key,
            Some(body.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body} → {b}");
        assert_eq!(b["success"], false, "{b}");
        assert_eq!(b["error"]["code"], "VALIDATION_ERROR", "{b}");
        assert!(
            b["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(field)),
            "{field}: {b}"
        );
    }
    assert_eq!(count(&app, &key).await, 0, "nothing stored");
    // PATCH: the same rules, nothing changed.
    let (s, d) = call(
        &app,
        Method::POST,
        "/api/v1/devices",
        &key,
        Some(ok.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let id = d["data"]["id"].as_str().expect("id");
    let (s, b) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{id}"),
        &key,
        Some(json!({"name": "renamed", "latitude": 100})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (_, got) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{id}"),
        &key,
        None,
    )
    .await;
    assert_eq!(got["data"]["name"], "n", "nothing half written");
    // A bearer token is the other authentication.
    let (s, b) = call(&app, Method::PATCH, &format!("/api/v1/devices/{id}"), &key,
        Some(json!({"rtspToken": "t0k", "utcOffset": "UTC+05:30", "latitude": 25.03, "longitude": 121.56, "geoSource": "manual"}))).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["rtspAuthType"], "bearer");
    assert_eq!(b["data"]["utcOffset"], "UTC+5:30");
    assert_eq!(
        (
            b["data"]["latitude"].as_f64(),
            b["data"]["geoSource"].as_str()
        ),
        (Some(25.03), Some("manual"))
    );
    // A missing device, a malformed id.
    let (s, b) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{}", uuid::Uuid::new_v4()),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert_eq!(b["error"]["code"], "DEVICE_NOT_FOUND", "{b}");
    let (s, b) = call(&app, Method::GET, "/api/v1/devices/12", &key, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn the_list_pages_searches_sorts_and_filters_and_other_accounts_see_nothing() {
    let app = TestApp::spawn_with(|s| s.cameras.allowed_hosts = vec!["127.0.0.1".into()]).await;
    let (_, key) = keyed(&app, "devlist").await;
    let specs = [
        ("Gate A", "ip_camera", "Lobby", "north door"),
        ("Gate B", "rtsp_source", "Garage", "ramp"),
        ("Yard", "usb_camera", "Yard", "bins"),
        ("Dock 1", "ip_camera", "Dock", "lorries at the gate"),
        ("Dock 2", "ip_camera", "Dock", "vans"),
    ];
    let mut ids = Vec::new();
    for (n, t, loc, desc) in specs {
        let (s, b) = call(
            &app,
            Method::POST,
            "/api/v1/devices",
            &key,
            Some(json!({
                "name": n, "type": t, "locationLabel": loc, "description": desc,
                "rtspUrl": format!("rtsp://127.0.0.1:9/{}", n.replace(' ', "_"))
            })),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        ids.push(b["data"]["id"].as_str().expect("id").to_owned());
    }
    let list = |q: &str| {
        let app = &app;
        let key = key.clone();
        let q = q.to_owned();
        async move {
            let (s, b) = call(app, Method::GET, &format!("/api/v1/devices{q}"), &key, None).await;
            (s, b)
        }
    };
    let names = |b: &Value| -> Vec<String> {
        b["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|d| d["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    // Default: newest first, 20 per page.
    let (s, b) = list("").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (
            b["page"].as_u64(),
            b["limit"].as_u64(),
            b["total"].as_u64(),
            b["totalPages"].as_u64()
        ),
        (Some(1), Some(20), Some(5), Some(1))
    );
    assert_eq!(names(&b), ["Dock 2", "Dock 1", "Yard", "Gate B", "Gate A"]);
    let (_, b) = list("?page=2&limit=2&sort=name&order=ASC").await;
    assert_eq!(names(&b), ["Gate A", "Gate B"]);
    assert_eq!(
        (b["page"].as_u64(), b["totalPages"].as_u64()),
        (Some(2), Some(3))
    );
    let (_, b) = list("?q=gate").await;
    assert_eq!(
        names(&b),
        ["Dock 1", "Gate B", "Gate A"],
        "name or description"
    );
    let (_, b) = list("?q=dock&sort=name&order=desc").await;
    assert_eq!(names(&b), ["Dock 2", "Dock 1"]);
    for (f, want) in [
        (
            "filters[type]=ip_camera",
            vec!["Dock 2", "Dock 1", "Gate A"],
        ),
        ("filters[name]=gate", vec!["Gate B", "Gate A"]),
        ("filters[locationLabel]=DOCK", vec!["Dock 2", "Dock 1"]),
        ("filters[description]=ramp", vec!["Gate B"]),
        (&format!("filters[id]={}", ids[2]), vec!["Yard"]),
        (
            "filters[status]=active&filters[onlineStatus]=unknown&filters[type]=usb_camera",
            vec!["Yard"],
        ),
        ("filters[status]=archived", vec![]),
        ("filters[rtspUrl]=Gate_B", vec!["Gate B"]),
        (
            "filters[totalAnalysisCount]=0&filters[type]=rtsp_source",
            vec!["Gate B"],
        ),
        (
            &format!(
                "filters[createdAt]={}&filters[type]=usb_camera",
                chrono::Utc::now().format("%Y-%m-%d")
            ),
            vec!["Yard"],
        ),
        ("filters[createdAt]=2001-01-01", vec![]),
    ] {
        let (s, b) = list(&format!("?{f}")).await;
        assert_eq!(s, StatusCode::OK, "{f}: {b}");
        assert_eq!(names(&b), want, "{f}");
    }
    for bad in [
        "?limit=101",
        "?limit=0",
        "?page=0",
        "?order=UP",
        "?sort=password",
        "?filters[colour]=red",
        "?color=red",
        "?filters[type]=drone",
        "?filters[createdAt]=soon",
        "?filters[id]=7",
    ] {
        let (s, b) = list(bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
        assert_eq!(b["error"]["code"], "VALIDATION_ERROR", "{bad}: {b}");
    }
    // Another account sees nothing.
    let (_, other) = keyed(&app, "devother").await;
    assert_eq!(count(&app, &other).await, 0);
    for (m, p) in [
        (Method::GET, ""),
        (Method::PATCH, ""),
        (Method::DELETE, ""),
        (Method::POST, "/probe"),
        (Method::GET, "/scenes"),
    ] {
        let body = (m == Method::PATCH).then(|| json!({"name": "mine"}));
        let (s, b) = call(
            &app,
            m.clone(),
            &format!("/api/v1/devices/{}{p}", ids[0]),
            &other,
            body,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {p}: {b}");
        assert_eq!(b["success"], false);
    }
}

#[tokio::test]
async fn delete_is_a_soft_cascade_refused_while_analysis_runs() {
    let app = TestApp::spawn_with(|s| s.cameras.allowed_hosts = vec!["127.0.0.1".into()]).await;
    let (user, key) = keyed(&app, "devdelete").await;
    let (_, d) = call(
        &app,
        Method::POST,
        "/api/v1/devices",
        &key,
        Some(json!({"name": "Lobby", "rtspUrl": "rtsp://127.0.0.1:9/lobby"})),
    )
    .await;
    let id = d["data"]["id"].as_str().expect("id").to_owned();
    let cam = d["data"]["cameraId"].as_i64().expect("camera id");
    gql(&app, &user, "mutation($c: Int!) { setZones(cameraId: $c, zones: [{name: \"door\", coordinates: [[0,0],[100,0],[100,100]]}, {name: \"desk\", coordinates: [[0,0],[50,0],[50,50]], detectionClasses: [\"person\"]}]) { count } }", json!({"c": cam})).await;
    let (s, sc) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{id}/scenes?limit=1"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{sc}");
    assert_eq!(
        (sc["total"].as_u64(), sc["totalPages"].as_u64()),
        (Some(2), Some(2)),
        "{sc}"
    );
    assert_eq!(sc["data"][0]["name"], "door");
    // A key without scene:read cannot list scenes; one without device:write cannot delete.
    let reader = app
        .graphql(
            "mutation { createApiKey(input: {name: \"r\", scopes: [\"device:read\"]}) { key } }",
            json!({}),
            &[("authorization", &user.bearer())],
        )
        .await["data"]["createApiKey"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let (s, b) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{id}/scenes"),
        &reader,
        None,
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("FORBIDDEN")),
        "{b}"
    );
    let (s, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/devices/{id}"),
        &reader,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let started = gql(
        &app,
        &user,
        "mutation($id: ID!) { startDeviceAnalysis(id: $id) { analysisState } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(started["startDeviceAnalysis"]["analysisState"], "RUNNING");
    let (s, b) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/devices/{id}"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"]["code"], "DEVICE_ANALYSIS_ACTIVE", "{b}");
    let (s, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{id}"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "still there");
    gql(
        &app,
        &user,
        "mutation($id: ID!) { stopDeviceAnalysis(id: $id) { analysisState } }",
        json!({"id": id}),
    )
    .await;
    let (s, b) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/devices/{id}"),
        &key,
        None,
    )
    .await;
    assert_eq!((s, b), (StatusCode::NO_CONTENT, Value::Null));
    // Gone from every group, kept as a soft-deleted row with its soft-deleted scenes.
    let (s, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{id}"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(count(&app, &key).await, 0);
    let cams = gql(&app, &user, "{ cameras { totalCount } }", json!({})).await;
    assert_eq!(cams["cameras"]["totalCount"], 0);
    let r = app
        .graphql(
            "query($c: Int!) { camera(id: $c) { id } }",
            json!({"c": cam}),
            &[("authorization", &user.bearer())],
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND", "{r}");
    let row = camera_row(&app, &id).await;
    assert!(row.deleted_at.is_some());
    assert!(
        !app.state.cameras.live().is_running(row.id),
        "its worker stopped"
    );
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    let zones = visionflow::db::entities::zone::Entity::find()
        .filter(visionflow::db::entities::zone::Column::CameraId.eq(row.id))
        .all(&app.state.db)
        .await
        .expect("zones");
    assert_eq!(zones.len(), 2);
    assert!(zones.iter().all(|z| z.deleted_at.is_some()));
    let (s, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/devices/{id}"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "deleted once");
}

#[tokio::test]
async fn a_device_bound_key_reaches_only_its_device_and_goes_with_it() {
    let app = TestApp::spawn_with(|s| s.cameras.allowed_hosts = vec!["127.0.0.1".into()]).await;
    let (user, key) = keyed(&app, "devbound").await;
    let mut ids = Vec::new();
    for n in ["A", "B"] {
        let (s, d) = call(
            &app,
            Method::POST,
            "/api/v1/devices",
            &key,
            Some(json!({"name": n, "rtspUrl": format!("rtsp://127.0.0.1:9/{n}")})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{d}");
        ids.push(d["data"]["id"].as_str().expect("id").to_owned());
    }
    let r = app.graphql(
        "mutation($d: ID!) { createApiKey(input: {name: \"lobby\", scopes: [\"*\"], deviceId: $d}) { key apiKey { deviceId } } }",
        json!({"d": ids[0]}), &[("authorization", &user.bearer())]).await;
    assert_eq!(
        r["data"]["createApiKey"]["apiKey"]["deviceId"],
        ids[0].as_str(),
        "{r}"
    );
    let bound = r["data"]["createApiKey"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    // Another account's device, or none, cannot be bound.
    let (other, _) = keyed(&app, "devbound2").await;
    let r = app
        .graphql(
            "mutation($d: ID!) { createApiKey(input: {name: \"x\", deviceId: $d}) { key } }",
            json!({"d": ids[0]}),
            &[("authorization", &other.bearer())],
        )
        .await;
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{r}"
    );

    let (s, b) = call(&app, Method::GET, "/api/v1/devices", &bound, None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["total"].as_u64(), b["data"][0]["id"].as_str()),
        (Some(1), Some(ids[0].as_str()))
    );
    let (_, b) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices?filters[id]={}", ids[1]),
        &bound,
        None,
    )
    .await;
    assert_eq!(b["total"], 0, "{b}");
    let (s, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/devices/{}", ids[0]),
        &bound,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/devices/{}", ids[0]),
        &bound,
        Some(json!({"name": "A2"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for (m, p) in [
        (Method::GET, ""),
        (Method::POST, "/probe"),
        (Method::GET, "/quota"),
    ] {
        let (s, b) = call(
            &app,
            m.clone(),
            &format!("/api/v1/devices/{}{p}", ids[1]),
            &bound,
            None,
        )
        .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("DEVICE_NOT_FOUND")),
            "{m} {p}"
        );
    }
    let (s, b) = call(
        &app,
        Method::POST,
        "/api/v1/devices",
        &bound,
        Some(json!({"name": "C", "rtspUrl": "rtsp://127.0.0.1:9/c"})),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("FORBIDDEN")),
        "{b}"
    );
    // Nothing outside the devices group, whatever its scopes say.
    let r = app
        .graphql(
            "{ cameras { totalCount } }",
            json!({}),
            &[("x-api-key", &bound)],
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    // Deleting the device revokes its key.
    let (s, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/devices/{}", ids[0]),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = call(&app, Method::GET, "/api/v1/devices", &bound, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    let (s, _) = call(&app, Method::GET, "/api/v1/devices", &key, None).await;
    assert_eq!(s, StatusCode::OK, "the account's other keys stay");
}
