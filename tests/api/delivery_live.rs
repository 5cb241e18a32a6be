//! Delivery from the live path: a real RTSP camera (GStreamer on 127.0.0.1) seen by the real
//! people model raises a zone alert that reaches a verified mailbox (aiosmtpd) with its
//! snapshot and a LINE target (the stand-in); the camera going offline and back online sends
//! `system_status` messages.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::{
    cameras::req,
    delivery::{WAIT, configure, parse, parts, settled, verification_path},
    helpers::TestApp,
    live::{RtspServer, mount},
    peers::{LineStandin, SmtpSink, eventually},
};

#[tokio::test]
async fn a_camera_alert_reaches_mail_and_line_and_status_changes_are_sent() {
    let Some(smtp) = SmtpSink::start() else {
        return;
    };
    let line = LineStandin::start().await;
    let base = line.base();
    let Some((app, _)) = TestApp::spawn_vision(|s| {
        configure(s, Some(smtp.port), Some(base));
        s.cameras.detect_fps = 5.0;
        s.cameras.offline_after_secs = 2.0;
    })
    .await
    else {
        return;
    };
    let mut args: Vec<String> = ["--width", "640", "--height", "480", "--fps", "10"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(mount("people", "still", "bus.jpg"));
    let Some(mut rtsp) = RtspServer::start(&args) else {
        return;
    };
    let user = app.user("live_delivery").await;

    // A verified recipient and a LINE group, both subscribed to alerts and status changes.
    let (status, add) = req(
        &app,
        Method::POST,
        "/email_recipients",
        &user,
        Some(json!({
            "email": "guard@example.com", "notification_types": ["alerts", "system_status"]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{add}");
    let mails = smtp.wait_for(1, WAIT).await;
    let path = verification_path(&mails[0]);
    let path = path.as_str();
    assert_eq!(app.get(path, &[]).await.status, StatusCode::OK);
    let (status, _) = req(&app, Method::POST, "/line_tokens", &user, Some(json!({
        "token": "goodLiveToken0123456789", "name": "警衛群組", "target_id": "Cabcdef0123456789abcdef0123456789",
        "notification_types": ["alerts", "system_status"]
    }))).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, cam) = req(&app, Method::POST, "/cameras", &user, Some(json!({
        "name": "Bus stop", "stream_url": rtsp.url("people"), "recognition": true, "model_name": "yolo_v11_detect",
        "detection_areas": [{"name": "站牌", "coordinates": [[0, 0], [639, 0], [639, 479], [0, 479]], "alert_duration": 2,
                             "detection_classes": ["person"]}]
    }))).await;
    assert_eq!(status, StatusCode::CREATED, "{cam}");

    // The first alert, with its deliveries.
    let t0 = Instant::now();
    let n = loop {
        let (_, list) = req(&app, Method::GET, "/notifications?limit=100", &user, None).await;
        if let Some(id) = list["data"][0]["id"].as_i64() {
            break id;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "no alert within 40 s"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let d = settled(&app, &user, n, 2).await;
    assert!(d.iter().all(|x| x["status"] == "sent"), "{d:?}");
    let mut alert_mail = None;
    assert!(
        eventually(WAIT, || {
            let found = smtp
                .messages()
                .into_iter()
                .find(|raw| String::from_utf8_lossy(raw).contains("image/jpeg"));
            let ok = found.is_some();
            alert_mail = found;
            async move { ok }
        })
        .await,
        "an alert mail with an image"
    );
    let raw = alert_mail.expect("mail");
    let m = parse(&raw);
    let mut all = Vec::new();
    parts(&m, &mut all);
    let jpeg = all
        .iter()
        .find(|p| p.ctype.mimetype == "image/jpeg")
        .expect("snapshot")
        .get_body_raw()
        .expect("bytes");
    let img = image::load_from_memory(&jpeg).expect("the snapshot decodes");
    assert_eq!(
        (img.width(), img.height()),
        (640, 480),
        "the camera's frame"
    );
    let push = line.accepted().into_iter().find(|c| {
        c.body["messages"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("站牌"))
    });
    let push = push.expect("the alert reached LINE");
    assert_eq!(push.body["to"], "Cabcdef0123456789abcdef0123456789");
    assert!(
        push.body["messages"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("person")
    );

    // The camera goes away: `offline` is sent; it comes back: `online` is sent.
    let status_msgs = |want: &str| {
        line.accepted()
            .iter()
            .filter(|c| {
                c.body["messages"][0]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("狀態 Status") && t.contains(&format!("→ {want}")))
            })
            .count()
    };
    rtsp.kill();
    assert!(
        eventually(Duration::from_secs(30), || {
            let k = status_msgs("offline");
            async move { k == 1 }
        })
        .await,
        "offline sent: {:?}",
        line.accepted()
    );
    rtsp.restart();
    assert!(
        eventually(Duration::from_secs(40), || {
            let k = status_msgs("online");
            async move { k == 1 }
        })
        .await,
        "online sent: {:?}",
        line.accepted()
    );
    let r = app
        .graphql("{ deliveries(status: \"sent\", channel: \"email\") { totalCount edges { node { kind } } } }", json!({}), &[("authorization", &user.bearer())])
        .await;
    let kinds: Vec<String> = r["data"]["deliveries"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        kinds.iter().filter(|k| *k == "system_status").count() >= 1,
        "{kinds:?}"
    );
}
