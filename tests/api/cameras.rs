//! The monitor group's cameras, zones and notifications over REST (monitor-api.zh-TW.txt):
//! documented shapes, validation that stores nothing, and isolation between accounts. The
//! live path (real RTSP) is in `cameras_live.rs`.

use axum::{
    body::Body,
    http::{Method, StatusCode},
};
use sea_orm::{EntityTrait as _, PaginatorTrait as _};
use serde_json::{Value, json};
use visionflow::db::entities::{camera, notification, zone};

use crate::helpers::{TestApp, User};

/// A request with a bearer token and an optional JSON body.
pub async fn req(
    app: &TestApp,
    method: Method,
    uri: &str,
    user: &User,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let bearer = user.bearer();
    let r = match body {
        Some(b) => {
            app.request(
                method,
                uri,
                &[
                    ("authorization", &bearer),
                    ("content-type", "application/json"),
                ],
                b.to_string(),
            )
            .await
        }
        None => {
            app.request(method, uri, &[("authorization", &bearer)], Body::empty())
                .await
        }
    };
    let v = if r.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&r.body).unwrap_or(Value::String(r.text()))
    };
    (r.status, v)
}

pub async fn counts(app: &TestApp) -> (u64, u64, u64) {
    let db = &app.state.db;
    (
        camera::Entity::find().count(db).await.expect("count"),
        zone::Entity::find().count(db).await.expect("count"),
        notification::Entity::find().count(db).await.expect("count"),
    )
}

fn square(x: i64, y: i64, s: i64) -> Value {
    json!([[x, y], [x + s, y], [x + s, y + s], [x, y + s]])
}

#[tokio::test]
async fn cameras_zones_and_notifications_in_the_documented_shapes() {
    let app = TestApp::spawn().await;
    let user = app.user("cam_owner").await;
    // Nothing listens on port 9: the worker keeps trying, the camera stays connecting.
    let (status, body) = req(&app, Method::POST, "/cameras", &user, Some(json!({
        "name": "側門攝影機",
        "stream_url": "rtsp://admin:secret@127.0.0.1:9/stream",
        "recognition": true,
        "location": "側門入口",
        "model_name": "yolo_v11_detect",
        "detection_areas": [{"name": "入口區域", "coordinates": [[100, 100], [300, 100], [300, 200], [100, 200]], "alert_duration": 5}]
    }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["message"], "攝影機新增成功");
    let id = body["data"]["id"].as_i64().expect("id");
    let d = &body["data"];
    assert_eq!(d["name"], "側門攝影機");
    assert_eq!(
        d["stream_url"], "rtsp://admin:***@127.0.0.1:9/stream",
        "password masked"
    );
    assert_eq!(
        (
            d["recognition"].clone(),
            d["location"].clone(),
            d["model_name"].clone()
        ),
        (json!(true), json!("側門入口"), json!("yolo_v11_detect"))
    );
    assert_eq!(d["status"], "connecting");
    assert!(
        d["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') || t.contains('+')),
        "{d}"
    );
    assert!(
        app.state.cameras.live().is_running(id as i32),
        "worker started"
    );

    let (status, list) = req(&app, Method::GET, "/cameras", &user, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 1);
    assert_eq!(list["data"][0]["id"], id);
    assert!(
        !list.to_string().contains("secret"),
        "no credentials in answers: {list}"
    );

    let (status, zones) = req(&app, Method::GET, &format!("/rectangles/{id}"), &user, None).await;
    assert_eq!(status, StatusCode::OK, "{zones}");
    assert_eq!(zones["status"], "success");
    assert_eq!(zones["data"]["camera_id"], id);
    assert_eq!(zones["data"]["total_regions"], 1);
    let r = &zones["data"]["regions"][0];
    assert_eq!(r["name"], "入口區域");
    assert_eq!(
        r["coordinates"],
        json!([{"x": 100, "y": 100}, {"x": 300, "y": 100}, {"x": 300, "y": 200}, {"x": 100, "y": 200}])
    );
    assert_eq!(r["alert_duration"], 5);
    assert_eq!(r["notification_enabled"], true);
    assert_eq!(r["detection_classes"], json!(["person"]), "the default");

    // POST replaces the zones.
    let (status, saved) = req(&app, Method::POST, &format!("/rectangles/{id}"), &user, Some(json!({"regions": [
        {"name": "入口區域", "coordinates": [{"x": 100, "y": 150}, {"x": 300, "y": 150}, {"x": 300, "y": 400}, {"x": 100, "y": 400}],
         "alert_duration": 5, "notification_enabled": true, "detection_classes": ["person", "vehicle"]},
        {"name": "車道", "coordinates": square(400, 300, 100), "alert_duration": 0, "notification_enabled": false, "detection_classes": ["car", "bus"]}
    ]}))).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["message"], "多邊形區域已成功儲存");
    assert_eq!(saved["data"]["camera_id"], id);
    assert_eq!(saved["data"]["regions_count"], 2);
    assert!(saved["data"]["saved_at"].is_string());
    let (_, zones) = req(&app, Method::GET, &format!("/rectangles/{id}"), &user, None).await;
    assert_eq!(zones["data"]["total_regions"], 2);
    assert_eq!(
        zones["data"]["regions"][0]["detection_classes"],
        json!(["person", "vehicle"])
    );
    assert_eq!(zones["data"]["regions"][1]["notification_enabled"], false);
    assert_eq!(counts(&app).await.1, 2, "the first zone was replaced");

    // The mask: camera resolution unknown yet → 640×480; zones white, the rest black.
    let r = app
        .get(&format!("/mask/{id}"), &[("authorization", &user.bearer())])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "image/png");
    let mask = image::load_from_memory(&r.body).expect("png").to_rgb8();
    assert_eq!(mask.dimensions(), (640, 480));
    assert_eq!(
        mask.get_pixel(200, 300).0,
        [255, 255, 255],
        "inside the first zone"
    );
    assert_eq!(mask.get_pixel(100, 150).0, [255, 255, 255], "its vertex");
    assert_eq!(
        mask.get_pixel(450, 350).0,
        [255, 255, 255],
        "inside the second"
    );
    assert_eq!(mask.get_pixel(50, 50).0, [0, 0, 0]);
    assert_eq!(mask.get_pixel(350, 250).0, [0, 0, 0]);

    let (status, upd) = req(
        &app,
        Method::PATCH,
        &format!("/cameras/{id}"),
        &user,
        Some(
            json!({"name": "主入口攝影機 (更新)", "recognition": false, "location": "主入口大廳"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{upd}");
    assert_eq!(upd["message"], "攝影機更新成功");
    assert_eq!(upd["data"]["name"], "主入口攝影機 (更新)");
    assert_eq!(upd["data"]["recognition"], false);
    assert_eq!(upd["data"]["location"], "主入口大廳");
    assert_eq!(
        upd["data"]["stream_url"],
        "rtsp://admin:***@127.0.0.1:9/stream"
    );
    assert!(upd["data"]["updated_at"].is_string());

    let (status, n) = req(&app, Method::POST, "/notifications", &user, Some(json!({
        "camera_id": id, "message": "檢測到未授權人員進入", "image_path": "/notifications/images/alert_20240120_164500.jpg",
        "detection_type": "person", "confidence": 0.92, "region_name": "入口區域",
        "metadata": {"bounding_box": {"x": 150, "y": 200, "width": 100, "height": 150}}
    }))).await;
    assert_eq!(status, StatusCode::CREATED, "{n}");
    assert_eq!(n["message"], "通知創建成功");
    // No channel subscribed yet: nothing was queued (tests/api/delivery.rs covers the rest).
    assert_eq!(n["data"]["notification_sent"], false);
    assert!(n["data"]["id"].is_i64() && n["data"]["created_at"].is_string());
    let (status, list) = req(
        &app,
        Method::GET,
        "/notifications?status=unread",
        &user,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        list["pagination"],
        json!({"current_page": 1, "total_pages": 1, "total_items": 1, "items_per_page": 20})
    );
    let item = &list["data"][0];
    assert_eq!(item["camera_id"], id);
    assert_eq!(item["camera_name"], "主入口攝影機 (更新)");
    assert_eq!(item["account_uuid"], user.account_uuid.as_str());
    assert_eq!(item["message"], "檢測到未授權人員進入");
    assert_eq!(
        item["image_path"],
        "/notifications/images/alert_20240120_164500.jpg"
    );
    assert_eq!(item["confidence"], 0.92);
    assert_eq!(item["status"], "unread");
    assert_eq!(item["metadata"]["bounding_box"]["width"], 100);
    let (_, page2) = req(
        &app,
        Method::GET,
        "/notifications?page=2&limit=1",
        &user,
        None,
    )
    .await;
    assert_eq!(page2["data"], json!([]));
    assert_eq!(
        page2["pagination"],
        json!({"current_page": 2, "total_pages": 1, "total_items": 1, "items_per_page": 1})
    );
    let r = app
        .graphql(
            "mutation { markNotificationsRead }",
            json!({}),
            &[("authorization", &user.bearer())],
        )
        .await;
    assert_eq!(r["data"]["markNotificationsRead"], 1, "{r}");
    let (_, unread) = req(
        &app,
        Method::GET,
        "/notifications?status=unread",
        &user,
        None,
    )
    .await;
    assert_eq!(unread["pagination"]["total_items"], 0);
    let (_, read) = req(&app, Method::GET, "/notifications?status=read", &user, None).await;
    assert_eq!(read["pagination"]["total_items"], 1);
    let (status, bad) = req(
        &app,
        Method::GET,
        "/notifications?status=maybe",
        &user,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["error_code"], "VALIDATION_ERROR");

    let (status, del) = req(
        &app,
        Method::DELETE,
        &format!("/rectangles/{id}"),
        &user,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{del}");
    assert_eq!(del["message"], "所有檢測區域已成功刪除");
    assert_eq!(del["data"]["deleted_regions"], 2);
    assert_eq!(del["data"]["camera_id"], id);

    let (status, del) = req(&app, Method::DELETE, &format!("/cameras/{id}"), &user, None).await;
    assert_eq!(status, StatusCode::OK, "{del}");
    assert_eq!(
        del,
        json!({"status": "success", "message": "攝影機刪除成功", "deleted_camera_id": id})
    );
    assert!(
        !app.state.cameras.live().is_running(id as i32),
        "worker stopped"
    );
    assert_eq!(counts(&app).await, (0, 0, 0));
    let (status, again) = req(&app, Method::DELETE, &format!("/cameras/{id}"), &user, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(again["error_code"], "CAMERA_NOT_FOUND");
    assert_eq!(again["message"], "攝影機不存在或無權限訪問");
}

#[tokio::test]
async fn bad_camera_and_zone_input_is_422_naming_the_field_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let user = app.user("cam_validator").await;
    let good = json!({"name": "Gate", "stream_url": "rtsp://127.0.0.1:9/s"});
    let with = |patch: Value| {
        let mut v = good.clone();
        for (k, val) in patch.as_object().expect("object") {
            v[k] = val.clone();
        }
        v
    };
    let area = |a: Value| json!({"detection_areas": [a]});
    let cases: Vec<(Value, &str)> = vec![
        (json!({"stream_url": "rtsp://127.0.0.1:9/s"}), "name"),
        (with(json!({"name": "   "})), "name"),
        (with(json!({"name": "x".repeat(101)})), "name"),
        (with(json!({"name": "a\u{0}b"})), "name"),
        (with(json!({"location": "Gate\u{0}"})), "location"),
        (json!({"name": "Gate"}), "stream_url"),
        (
            with(json!({"stream_url": "http://127.0.0.1/video.mjpg"})),
            "stream_url",
        ),
        (with(json!({"stream_url": "rtsp://"})), "stream_url"),
        (with(json!({"model_name": "no_such_model"})), "model_name"),
        (
            with(area(json!({"name": "z", "coordinates": [[0, 0], [10, 0]]}))),
            "detection_areas[0].coordinates",
        ),
        (
            with(area(
                json!({"name": "z", "coordinates": [[0, 0], [10, 0], [-5, 10]]}),
            )),
            "detection_areas[0].coordinates[2]",
        ),
        (
            with(area(
                json!({"name": "z", "coordinates": [[0, 0], [10, 0], ["a", 10]]}),
            )),
            "detection_areas[0].coordinates[2]",
        ),
        (
            with(area(
                json!({"name": "z", "coordinates": square(0, 0, 10), "alert_duration": -1}),
            )),
            "detection_areas[0].alert_duration",
        ),
        (
            with(area(
                json!({"name": "z", "coordinates": square(0, 0, 10), "detection_classes": ["dragon"]}),
            )),
            "detection_areas[0].detection_classes[0]",
        ),
        (
            with(area(json!({"coordinates": square(0, 0, 10)}))),
            "detection_areas[0].name",
        ),
    ];
    for (body, field) in cases {
        let (status, err) = req(&app, Method::POST, "/cameras", &user, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {err}");
        assert_eq!(err["status"], "error");
        assert_eq!(err["error_code"], "VALIDATION_ERROR", "{err}");
        assert!(
            err["errors"][field].is_array(),
            "{body}: expected an error on {field}: {err}"
        );
    }
    // Wrong JSON types are refused before anything runs.
    for body in [
        with(json!({"recognition": {"on": true}})),
        with(json!({"name": 5})),
    ] {
        let (status, err) = req(&app, Method::POST, "/cameras", &user, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {err}");
        assert_eq!(err["error_code"], "VALIDATION_ERROR");
    }
    assert_eq!(counts(&app).await, (0, 0, 0), "nothing stored");
    assert_eq!(app.state.cameras.live().count(), 0, "no worker started");
    // The same over GraphQL, where no REST coercion runs first: refused on either database.
    let r = app
        .graphql(
            "mutation { createCamera(input: {name: \"a\\u0000b\", streamUrl: \"rtsp://127.0.0.1:9/s\"}) { id } }",
            json!({}),
            &[("authorization", &user.bearer())],
        )
        .await;
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{r}"
    );

    let (_, cam) = req(
        &app,
        Method::POST,
        "/cameras",
        &user,
        Some(with(area(
            json!({"name": "keep", "coordinates": square(0, 0, 50)}),
        ))),
    )
    .await;
    let id = cam["data"]["id"].as_i64().expect("id");
    for (regions, field) in [
        (
            json!([{"name": "a", "coordinates": square(0, 0, 10)}, {"name": "b", "coordinates": [[1, 1]]}]),
            "regions[1].coordinates",
        ),
        (
            json!([{"name": "a", "coordinates": square(0, 0, 10), "alert_duration": -3}]),
            "regions[0].alert_duration",
        ),
        (
            json!([{"name": "", "coordinates": square(0, 0, 10)}]),
            "regions[0].name",
        ),
    ] {
        let (status, err) = req(
            &app,
            Method::POST,
            &format!("/rectangles/{id}"),
            &user,
            Some(json!({"regions": regions})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert!(err["errors"][field].is_array(), "expected {field}: {err}");
    }
    let (status, err) = req(
        &app,
        Method::POST,
        &format!("/rectangles/{id}"),
        &user,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (_, zones) = req(&app, Method::GET, &format!("/rectangles/{id}"), &user, None).await;
    assert_eq!(
        zones["data"]["total_regions"], 1,
        "the old zone is still there"
    );
    assert_eq!(zones["data"]["regions"][0]["name"], "keep");

    let (status, err) = req(
        &app,
        Method::PATCH,
        &format!("/cameras/{id}"),
        &user,
        Some(json!({"stream_url": "ftp://127.0.0.1/x", "name": "changed"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (_, list) = req(&app, Method::GET, "/cameras", &user, None).await;
    assert_eq!(list["data"][0]["name"], "Gate", "nothing changed");
    assert_eq!(list["data"][0]["stream_url"], "rtsp://127.0.0.1:9/s");
    let (status, err) = req(
        &app,
        Method::POST,
        "/notifications",
        &user,
        Some(json!({"camera_id": id, "message": "m", "confidence": 1.5})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(err["errors"]["confidence"].is_array());
    assert_eq!(counts(&app).await, (1, 1, 0));
}

#[tokio::test]
async fn another_account_gets_404_everywhere_and_credentials_are_required() {
    let app = TestApp::spawn().await;
    let owner = app.user("cam_a").await;
    let other = app.user("cam_b").await;
    let (_, cam) = req(
        &app,
        Method::POST,
        "/cameras",
        &owner,
        Some(json!({"name": "A", "stream_url": "rtsp://127.0.0.1:9/a",
        "detection_areas": [{"name": "z", "coordinates": square(0, 0, 10)}]})),
    )
    .await;
    let id = cam["data"]["id"].as_i64().expect("id");
    for (method, uri, body) in [
        (Method::GET, format!("/rectangles/{id}"), None),
        (
            Method::POST,
            format!("/rectangles/{id}"),
            Some(json!({"regions": []})),
        ),
        (Method::DELETE, format!("/rectangles/{id}"), None),
        (
            Method::PATCH,
            format!("/cameras/{id}"),
            Some(json!({"name": "mine now"})),
        ),
        (Method::DELETE, format!("/cameras/{id}"), None),
        (Method::GET, format!("/mask/{id}"), None),
        (Method::GET, format!("/get_stream/{id}"), None),
        (Method::GET, format!("/recognized_stream/{id}"), None),
        (Method::GET, format!("/snapshot_ui/{id}"), None),
        (Method::GET, format!("/latest_frame/{id}"), None),
        (
            Method::POST,
            "/notifications".to_owned(),
            Some(json!({"camera_id": id, "message": "x"})),
        ),
    ] {
        let (status, err) = req(&app, method.clone(), &uri, &other, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}: {err}");
        assert_eq!(
            err["error_code"], "CAMERA_NOT_FOUND",
            "{method} {uri}: {err}"
        );
    }
    let (_, list) = req(&app, Method::GET, "/cameras", &other, None).await;
    assert_eq!(list["total"], 0);
    let r = app
        .graphql(
            &format!("{{ camera(id: {id}) {{ name }} }}"),
            json!({}),
            &[("authorization", &other.bearer())],
        )
        .await;
    assert_eq!(
        r["errors"][0]["extensions"]["reason"], "CAMERA_NOT_FOUND",
        "{r}"
    );
    assert_eq!(
        counts(&app).await,
        (1, 1, 0),
        "the owner's camera is untouched"
    );

    // No credentials: 401 in the monitor style, REST and media alike.
    for uri in [
        "/cameras".to_owned(),
        format!("/mask/{id}"),
        format!("/get_stream/{id}"),
    ] {
        let r = app.get(&uri, &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(r.json()["error_code"], "AUTH_REQUIRED", "{uri}");
    }
    // Media routes take the access token in the URL, never an API key.
    let r = app
        .get(&format!("/mask/{id}?token={}", owner.access_token), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let key = app.api_key(&owner).await;
    let r = app.get(&format!("/mask/{id}?token={key}"), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.get(&format!("/mask/{id}?token=garbage"), &[]).await;
    assert_eq!(r.json()["error_code"], "INVALID_TOKEN");
    // An API key without camera scopes is forbidden.
    let r = app
        .graphql(
            "mutation { createApiKey(input: {name: \"alpr\", scopes: [\"alpr:read\"]}) { key } }",
            json!({}),
            &[("authorization", &owner.bearer())],
        )
        .await;
    let alpr_key = r["data"]["createApiKey"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let r = app.get("/cameras", &[("x-api-key", &alpr_key)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.json()["error_code"], "INSUFFICIENT_PERMISSIONS");
    let r = app
        .get(&format!("/mask/{id}"), &[("x-api-key", &alpr_key)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_snapshot_page_draws_and_saves_a_zone_in_a_real_browser() {
    let Some(mut browser) = crate::browser::Browser::launch().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let user = app.user("cam_drawer").await;
    let (_, cam) = req(
        &app,
        Method::POST,
        "/cameras",
        &user,
        Some(
            json!({"name": "<b>Lobby</b>", "stream_url": "rtsp://127.0.0.1:9/s",
        "detection_areas": [{"name": "old", "coordinates": square(300, 300, 100)}]}),
        ),
    )
    .await;
    let id = cam["data"]["id"].as_i64().expect("id");
    let (addr, _stop) = app.serve().await;
    let session = browser
        .open(&format!(
            "http://{addr}/snapshot_ui/{id}?token={}",
            user.access_token
        ))
        .await;
    let cdp = &mut browser.cdp;
    cdp.wait_for(
        &session,
        "document.body && document.body.dataset.ready === '1'",
        30,
    )
    .await;
    assert_eq!(
        cdp.eval(&session, "document.title.includes('<b>Lobby</b>')")
            .await,
        json!(true),
        "the name is escaped, not markup"
    );
    assert_eq!(
        cdp.eval(&session, "vf.zones().length").await,
        json!(1),
        "the stored zone is loaded"
    );
    assert_eq!(
        cdp.eval(&session, "JSON.stringify(vf.size())").await,
        json!("{\"width\":640,\"height\":480}")
    );
    // Draw a triangle, name it, add it, save.
    cdp.eval(
        &session,
        "vf.addPoint(10, 20) && vf.addPoint(200, 20) && vf.addPoint(120, 150)",
    )
    .await;
    cdp.eval(&session, "document.getElementById('zone-name').value = '門口'; document.getElementById('zone-duration').value = '3'; document.getElementById('add-zone').click(); true").await;
    assert_eq!(
        cdp.eval(&session, "vf.zones().length").await,
        json!(2),
        "{}",
        cdp.eval(&session, "document.getElementById('status').innerText")
            .await
    );
    let painted = cdp
        .eval(&session, "(function(){var c=document.getElementById('canvas');var d=c.getContext('2d').getImageData(0,0,c.width,c.height).data;var n=0;for(var i=3;i<d.length;i+=4){if(d[i]>0)n++;}return n;})()")
        .await;
    assert!(
        painted.as_u64().expect("count") > 1000,
        "zones are drawn on the canvas: {painted}"
    );
    cdp.eval(&session, "vf.save().then(function(){return true;})")
        .await;
    cdp.wait_for(&session, "document.body.dataset.saved", 20)
        .await;
    assert_eq!(
        cdp.eval(&session, "document.body.dataset.saved").await,
        json!("ok"),
        "{}",
        cdp.eval(&session, "document.getElementById('status').innerText")
            .await
    );
    browser.close().await;

    let (_, zones) = req(&app, Method::GET, &format!("/rectangles/{id}"), &user, None).await;
    assert_eq!(zones["data"]["total_regions"], 2, "{zones}");
    let new = &zones["data"]["regions"][1];
    assert_eq!(new["name"], "門口");
    assert_eq!(
        new["coordinates"],
        json!([{"x": 10, "y": 20}, {"x": 200, "y": 20}, {"x": 120, "y": 150}])
    );
    assert_eq!(new["alert_duration"], 3);
    assert_eq!(new["detection_classes"], json!(["person"]));
    assert_eq!(zones["data"]["regions"][0]["name"], "old", "kept");
}
