//! Alert delivery end to end against real peers on 127.0.0.1 (tests/api/peers.rs): an
//! aiosmtpd SMTP server, a LINE Messaging API stand-in and a webhook receiver. The outbox
//! rows are read back through GraphQL (`notification { deliveries }`, `deliveries`).

use std::time::Duration;

use axum::http::{Method, StatusCode};
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;
use visionflow::{
    config::{Settings, SmtpTls},
    domain::cameras::notifications::{NewAlert, insert_alert},
};

use crate::{
    cameras::req,
    helpers::{TestApp, User},
    peers::{LineAnswer, LineStandin, SmtpSink, WebhookReceiver, eventually},
    websocket::{open, recv, send},
};

pub const WAIT: Duration = Duration::from_secs(20);

pub fn configure(s: &mut Settings, smtp: Option<u16>, line: Option<String>) {
    if let Some(port) = smtp {
        s.smtp.host = Some("127.0.0.1".into());
        s.smtp.port = Some(port);
        s.smtp.tls = SmtpTls::None;
        s.smtp.from = "VisionFlow <alerts@visionflow.test>".into();
        s.smtp.timeout_secs = 3.0;
    }
    // Nothing listens on port 9: LINE is "unreachable" unless a stand-in is given.
    s.line.api_base = line.unwrap_or_else(|| "http://127.0.0.1:9".into());
    s.line.timeout_secs = 2.0;
    s.delivery.webhook_timeout_secs = 2.0;
    s.delivery.lease_secs = 4.0;
    s.delivery.retry_base_secs = 0.2;
    s.delivery.retry_max_secs = 1.0;
    s.delivery.poll_secs = 0.2;
    s.public_base_url = Some("http://visionflow.test/".into());
}

/// Registers a webhook endpoint for `types`; answers its secret.
pub async fn webhook(app: &TestApp, user: &User, hook: &WebhookReceiver, types: &[&str]) -> String {
    let r = app
        .graphql(
            "mutation($url: String!, $t: [String!]) { createWebhookEndpoint(input: {url: $url, eventTypes: $t, description: \"siem\"}) { secret endpoint { id url eventTypes active } } }",
            json!({"url": format!("http://{}/hook", hook.addr), "t": types}),
            &[("authorization", &user.bearer())],
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["createWebhookEndpoint"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned()
}

/// The path of the verification link in a mail (its plain-text part).
pub fn verification_path(raw: &[u8]) -> String {
    let m = parse(raw);
    let mut all = Vec::new();
    parts(&m, &mut all);
    let text = all
        .iter()
        .find(|p| p.ctype.mimetype == "text/plain")
        .expect("plain part")
        .get_body()
        .expect("body");
    text.split_whitespace()
        .find(|w| w.starts_with("http://visionflow.test/email_recipients/verify?token="))
        .unwrap_or_else(|| panic!("no link in {text}"))
        .trim_start_matches("http://visionflow.test")
        .to_owned()
}

async fn camera(app: &TestApp, user: &User) -> (i64, i64) {
    let (status, cam) = req(
        app,
        Method::POST,
        "/cameras",
        user,
        Some(json!({
            "name": "北門攝影機", "stream_url": "rtsp://127.0.0.1:9/none", "recognition": false
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{cam}");
    let id = cam["data"]["id"].as_i64().expect("id");
    let (status, z) = req(app, Method::POST, &format!("/rectangles/{id}"), user, Some(json!({"regions": [
        {"name": "入口區域", "coordinates": [{"x": 0, "y": 0}, {"x": 60, "y": 0}, {"x": 60, "y": 40}, {"x": 0, "y": 40}],
         "alert_duration": 1, "notification_enabled": true, "detection_classes": ["person"]}
    ]}))).await;
    assert_eq!(status, StatusCode::OK, "{z}");
    let (_, zones) = req(app, Method::GET, &format!("/rectangles/{id}"), user, None).await;
    let zone = zones["data"]["regions"][0]["id"].as_i64().expect("zone id");
    (id, zone)
}

/// Stores a zone alert the way the camera workers do (snapshot in the store, then
/// `insert_alert`, deliveries in the same transaction) and wakes the workers.
async fn alert(app: &TestApp, user: &User, camera_id: i64, zone_id: i64) -> (i64, Vec<u8>) {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
        .encode_image(&img)
        .expect("jpeg");
    let store = app.state.cameras.store();
    let rel = store.name("alerts", chrono::Utc::now(), "cam_person", "jpg");
    store.write(&rel, &jpeg).expect("snapshot");
    let account_id = user.account_uuid.parse().expect("uuid");
    let id = insert_alert(
        &app.state.db,
        NewAlert {
            account_id,
            camera_id: camera_id as i32,
            zone_id: Some(zone_id as i32),
            zone_name: Some("入口區域".into()),
            track_id: 7,
            detection_type: "person".into(),
            confidence: 0.91,
            message: "偵測到 person 在「入口區域」停留超過 1 秒".into(),
            image_path: Some(rel),
            metadata: json!({"bounding_box": {"x": 1, "y": 2, "width": 30, "height": 40}}),
            deliver: true,
        },
    )
    .await
    .expect("alert stored");
    app.state
        .bus
        .publish(visionflow::events::Event::AlertRaised {
            account_id,
            camera_id: camera_id as i32,
            notification_id: id,
        });
    (i64::from(id), jpeg)
}

pub async fn deliveries_of(app: &TestApp, user: &User, notification_id: i64) -> Vec<Value> {
    let r = app
        .graphql(
            "query($id: Int!) { notification(id: $id) { delivery deliveries { id channel kind status attempts lastError idempotencyKey sentAt } } }",
            json!({"id": notification_id}),
            &[("authorization", &user.bearer())],
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["notification"]["deliveries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub async fn settled(app: &TestApp, user: &User, notification_id: i64, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let last = deliveries_of(app, user, notification_id).await;
        if last.len() == n && last.iter().all(|d| d["status"] != "pending") {
            return last;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries did not settle: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn parse(raw: &[u8]) -> mailparse::ParsedMail<'_> {
    mailparse::parse_mail(raw).expect("mail parses")
}

pub fn header(m: &mailparse::ParsedMail<'_>, name: &str) -> String {
    use mailparse::MailHeaderMap as _;
    m.headers.get_first_value(name).unwrap_or_default()
}

pub fn parts<'a>(m: &'a mailparse::ParsedMail<'a>, out: &mut Vec<&'a mailparse::ParsedMail<'a>>) {
    out.push(m);
    for s in &m.subparts {
        parts(s, out);
    }
}

#[tokio::test]
async fn a_verified_recipient_gets_the_alert_mail_with_its_snapshot() {
    let Some(smtp) = SmtpSink::start() else {
        return;
    };
    let app = TestApp::spawn_with(|s| configure(s, Some(smtp.port), None)).await;
    let user = app.user("mailuser").await;
    let (cam, zone) = camera(&app, &user).await;

    let (status, add) = req(
        &app,
        Method::POST,
        "/email_recipients",
        &user,
        Some(json!({
            "email": "Manager@Company.example", "name": "部門經理",
            "notification_types": ["alerts", "daily_reports"], "active": true
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{add}");
    assert_eq!(add["status"], "success");
    assert_eq!(add["message"], "郵件接收者新增成功");
    assert_eq!(add["data"]["email"], "manager@company.example");
    assert_eq!(add["data"]["verification_sent"], true);
    let rid = add["data"]["id"].as_i64().expect("id");

    // An alert before verification goes to nobody.
    let (before, _) = alert(&app, &user, cam, zone).await;
    assert!(deliveries_of(&app, &user, before).await.is_empty());

    let mails = smtp.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1, "one verification mail");
    let m = parse(&mails[0]);
    assert!(
        header(&m, "To").contains("manager@company.example"),
        "{}",
        header(&m, "To")
    );
    let path = verification_path(&mails[0]);
    let path = path.as_str();

    // A forged token is refused; the mailed one verifies.
    let bad = app
        .get("/email_recipients/verify?token=1.9999999999.AAAA", &[])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let page = app.get(path, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("manager@company.example"));
    let (_, list) = req(&app, Method::GET, "/email_recipients", &user, None).await;
    assert_eq!(list["total"], 1);
    let r = &list["data"][0];
    assert_eq!(r["id"], rid);
    assert_eq!(r["verified"], true);
    assert_eq!(r["active"], true);
    assert_eq!(r["account_uuid"], user.account_uuid.as_str());
    assert_eq!(r["last_notification"], Value::Null);

    let (n, jpeg) = alert(&app, &user, cam, zone).await;
    let d = settled(&app, &user, n, 1).await;
    assert_eq!(d[0]["channel"], "email");
    assert_eq!(d[0]["status"], "sent", "{d:?}");
    assert_eq!(d[0]["attempts"], 1);
    let mails = smtp.wait_for(2, WAIT).await;
    assert_eq!(mails.len(), 2);
    let m = parse(&mails[1]);
    assert!(
        header(&m, "Subject").contains("北門攝影機"),
        "{}",
        header(&m, "Subject")
    );
    let key = d[0]["idempotencyKey"]
        .as_str()
        .expect("key")
        .replace('-', "");
    assert_eq!(
        header(&m, "Message-ID"),
        format!("<delivery-{key}@visionflow>")
    );
    let mut all = Vec::new();
    parts(&m, &mut all);
    let kinds: Vec<&str> = all.iter().map(|p| p.ctype.mimetype.as_str()).collect();
    assert!(
        kinds.contains(&"text/plain") && kinds.contains(&"text/html"),
        "{kinds:?}"
    );
    let html = all
        .iter()
        .find(|p| p.ctype.mimetype == "text/html")
        .expect("html")
        .get_body()
        .expect("html body");
    assert!(html.contains("cid:snapshot"), "{html}");
    let img = all
        .iter()
        .find(|p| p.ctype.mimetype == "image/jpeg")
        .expect("snapshot part");
    assert_eq!(
        img.get_body_raw().expect("image bytes"),
        jpeg,
        "the stored snapshot, byte for byte"
    );
    assert!(header(img, "Content-ID").contains("snapshot"));
    let plain = all
        .iter()
        .find(|p| p.ctype.mimetype == "text/plain")
        .expect("plain")
        .get_body()
        .expect("text");
    assert!(
        plain.contains("入口區域") && plain.contains("person"),
        "{plain}"
    );

    let (_, list) = req(&app, Method::GET, "/email_recipients", &user, None).await;
    assert!(list["data"][0]["last_notification"].is_string(), "{list}");
}

#[tokio::test]
async fn line_tokens_are_checked_masked_and_a_429_is_retried_into_one_push() {
    let line = LineStandin::start().await;
    let app = TestApp::spawn_with(|s| configure(s, None, Some(line.base()))).await;
    let user = app.user("lineuser").await;
    let (cam, zone) = camera(&app, &user).await;

    let (status, bad) = req(
        &app,
        Method::POST,
        "/line_tokens",
        &user,
        Some(json!({
            "token": "wrongAbCdEf1234567890GhIjKl", "name": "安全監控群組"
        })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["error_code"], "VALIDATION_ERROR");
    assert!(
        bad["message"].as_str().unwrap_or("").contains("token"),
        "{bad}"
    );
    let (_, list) = req(&app, Method::GET, "/line_tokens", &user, None).await;
    assert_eq!(list["total"], 0, "a refused token is not stored");

    let token = "goodAbCdEf1234567890GhIjKl1234567890";
    let (status, add) = req(&app, Method::POST, "/line_tokens", &user, Some(json!({
        "token": token, "name": "安全監控群組", "target_id": "C4af4980629abcdef0123456789abcdef",
        "notification_types": ["alerts", "system_status"], "active": true
    }))).await;
    assert_eq!(status, StatusCode::CREATED, "{add}");
    assert_eq!(add["message"], "LINE Token 新增成功");
    assert_eq!(add["data"]["name"], "安全監控群組");
    assert_eq!(add["data"]["token_verified"], true);
    let (_, list) = req(&app, Method::GET, "/line_tokens", &user, None).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["data"][0]["token"], "goodAbCdEf123456...");
    assert!(
        !list.to_string().contains(token),
        "the token is never answered"
    );
    {
        use sea_orm::EntityTrait as _;
        let rows = visionflow::db::entities::line_token::Entity::find()
            .all(&app.state.db)
            .await
            .expect("rows");
        assert!(
            rows.iter()
                .all(|r| !r.token_sealed.contains("AbCdEf1234567890GhIjKl")),
            "stored sealed, not in clear"
        );
    }

    line.script(&[LineAnswer::Status(429, Some(1))]);
    let (n, _) = alert(&app, &user, cam, zone).await;
    let d = settled(&app, &user, n, 1).await;
    assert_eq!(d[0]["status"], "sent", "{d:?}");
    assert_eq!(d[0]["attempts"], 2);
    let calls = line.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(
        calls[0].retry_key, calls[1].retry_key,
        "one retry key for both attempts"
    );
    assert_eq!(
        calls[0].retry_key.as_deref(),
        d[0]["idempotencyKey"].as_str()
    );
    let accepted = line.accepted();
    assert_eq!(accepted.len(), 1, "delivered once");
    let c = &accepted[0];
    assert_eq!(c.path, "push");
    assert_eq!(c.authorization, format!("Bearer {token}"));
    assert_eq!(c.body["to"], "C4af4980629abcdef0123456789abcdef");
    let msgs = c.body["messages"].as_array().expect("messages");
    assert_eq!(
        msgs.len(),
        1,
        "no image message without an https public_base_url"
    );
    assert_eq!(msgs[0]["type"], "text");
    let text = msgs[0]["text"].as_str().expect("text");
    for part in ["北門攝影機", "入口區域", "person", "Time"] {
        assert!(text.contains(part), "{part} in {text}");
    }

    // Without a target the same token broadcasts.
    let (status, _) = req(
        &app,
        Method::POST,
        "/line_tokens",
        &user,
        Some(json!({
            "token": token, "name": "全部好友"
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (n, _) = alert(&app, &user, cam, zone).await;
    let d = settled(&app, &user, n, 2).await;
    assert!(d.iter().all(|x| x["status"] == "sent"), "{d:?}");
    // The two deliveries of one alert go out concurrently, in either order.
    let mut paths: Vec<String> = line.accepted().iter().map(|c| c.path.clone()).collect();
    paths.sort();
    assert_eq!(paths, ["broadcast", "push", "push"]);
    let b = line
        .accepted()
        .into_iter()
        .find(|c| c.path == "broadcast")
        .expect("broadcast");
    assert!(b.body.get("to").is_none(), "{:?}", b.body);
}

#[tokio::test]
async fn a_delivery_in_flight_when_the_process_dies_is_delivered_exactly_once_after_restart() {
    let line = LineStandin::start().await;
    let mut app = TestApp::spawn_with(|s| configure(s, None, Some(line.base()))).await;
    let user = app.user("crashuser").await;
    let (cam, zone) = camera(&app, &user).await;
    let (status, _) = req(&app, Method::POST, "/line_tokens", &user, Some(json!({
        "token": "goodCrashToken1234567890", "name": "值班", "target_id": "U1234567890abcdef1234567890abcdef"
    }))).await;
    assert_eq!(status, StatusCode::CREATED);
    // LINE takes the message but the answer never comes back before the crash.
    line.script(&[LineAnswer::AcceptThenHang(Duration::from_secs(30))]);
    let (n, _) = alert(&app, &user, cam, zone).await;
    assert!(eventually(WAIT, || async { !line.calls().is_empty() }).await);
    app.restart().await;
    let d = settled(&app, &user, n, 1).await;
    assert_eq!(d[0]["status"], "sent", "{d:?}");
    assert_eq!(
        d[0]["attempts"], 2,
        "the lease ran out and the restarted node tried again"
    );
    let calls = line.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].retry_key, calls[1].retry_key);
    assert_eq!(
        line.accepted().len(),
        1,
        "LINE sent it once: the repeat answered 409"
    );
}

#[tokio::test]
async fn webhooks_are_signed_the_standard_webhooks_way() {
    let hook = WebhookReceiver::start().await;
    let app = TestApp::spawn_with(|s| configure(s, None, None)).await;
    let user = app.user("hookuser").await;
    let (cam, zone) = camera(&app, &user).await;
    let secret = webhook(&app, &user, &hook, &["alerts"]).await;
    assert!(secret.starts_with("whsec_"));
    let r = app
        .graphql(
            "{ webhookEndpoints { id eventTypes } }",
            json!({}),
            &[("authorization", &user.bearer())],
        )
        .await;
    assert!(!r.to_string().contains(&secret), "the secret is shown once");

    let (n, _) = alert(&app, &user, cam, zone).await;
    let d = settled(&app, &user, n, 1).await;
    assert_eq!(d[0]["status"], "sent", "{d:?}");
    let hooks = hook.hooks();
    assert_eq!(hooks.len(), 1);
    let h = &hooks[0];
    let get = |k: &str| {
        h.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (id, ts, sig) = (
        get("webhook-id"),
        get("webhook-timestamp"),
        get("webhook-signature"),
    );
    let key = d[0]["idempotencyKey"]
        .as_str()
        .expect("key")
        .replace('-', "");
    assert_eq!(id, format!("msg_{key}"));
    let ts_n: i64 = ts.parse().expect("timestamp");
    assert!((chrono::Utc::now().timestamp() - ts_n).abs() < 60);
    // The receiver's check, written from the Standard Webhooks spec.
    let raw_key = B64
        .decode(secret.trim_start_matches("whsec_"))
        .expect("base64 secret");
    let mut mac = <Hmac<Sha256>>::new_from_slice(&raw_key).expect("key");
    mac.update(format!("{id}.{ts}.{}", h.body).as_bytes());
    let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
    assert!(sig.split(' ').any(|s| s == expected), "{sig} vs {expected}");
    let body: Value = serde_json::from_str(&h.body).expect("json body");
    assert_eq!(body["type"], "alert.raised");
    assert_eq!(body["data"]["notification_id"], n);
    assert_eq!(body["data"]["camera_name"], "北門攝影機");
    assert_eq!(body["data"]["region_name"], "入口區域");
}

#[tokio::test]
async fn smtp_down_retries_then_fails_with_the_error_and_keeps_the_alert() {
    // A port that was free a moment ago: nothing answers there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let app = TestApp::spawn_with(|s| {
        configure(s, Some(port), None);
        s.delivery.max_attempts = 3;
    })
    .await;
    let user = app.user("downuser").await;
    let (cam, zone) = camera(&app, &user).await;
    let (status, add) = req(
        &app,
        Method::POST,
        "/email_recipients",
        &user,
        Some(json!({"email": "ops@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{add}");
    // The mail server is down, so verify the address the way the link would.
    let rid = add["data"]["id"].as_i64().expect("id") as i32;
    let r = app
        .state
        .channels
        .recipient(user.account_uuid.parse().expect("uuid"), rid)
        .await
        .expect("recipient");
    let token = visionflow::delivery::email::verification_token(app.state.channels.secrets(), &r);
    assert_eq!(
        app.get(&format!("/email_recipients/verify?token={token}"), &[])
            .await
            .status,
        StatusCode::OK
    );

    // A websocket subscriber of `deliveryFailed` (graphql-transport-ws).
    let (addr, _stop) = app.serve().await;
    let mut ws = open(addr, "graphql-transport-ws").await;
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"Authorization": user.bearer()}}),
    )
    .await;
    assert_eq!(
        recv(&mut ws, WAIT).await.expect("ack")["type"],
        "connection_ack"
    );
    send(
        &mut ws,
        json!({"id": "f", "type": "subscribe", "payload": {"query":
        "subscription { deliveryFailed { deliveryId notificationId channel error } }"}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (n, _) = alert(&app, &user, cam, zone).await;
    let d = settled(&app, &user, n, 1).await;
    assert_eq!(d[0]["status"], "failed", "{d:?}");
    assert_eq!(d[0]["attempts"], 3);
    assert!(
        d[0]["lastError"].as_str().unwrap_or("").contains("SMTP"),
        "{d:?}"
    );
    // The verification mail failed too (the relay is down); wait for the alert's.
    let msg = loop {
        let m = recv(&mut ws, WAIT).await.expect("a deliveryFailed event");
        if m["type"] == "next" && m["payload"]["data"]["deliveryFailed"]["notificationId"] == n {
            break m;
        }
    };
    let f = &msg["payload"]["data"]["deliveryFailed"];
    assert_eq!(f["deliveryId"], d[0]["id"]);
    assert_eq!(f["notificationId"], n);
    assert_eq!(f["channel"], "email");
    assert!(f["error"].as_str().unwrap_or("").contains("SMTP"), "{f}");
    let (_, list) = req(&app, Method::GET, "/notifications", &user, None).await;
    assert!(
        list["data"]
            .as_array()
            .expect("list")
            .iter()
            .any(|x| x["id"] == n),
        "the alert is kept"
    );

    // A failed delivery can be queued again by hand.
    let r = app
        .graphql(
            "mutation($id: Int!) { retryDelivery(id: $id) { status attempts } }",
            json!({"id": d[0]["id"]}),
            &[("authorization", &user.bearer())],
        )
        .await;
    assert_eq!(
        r["data"]["retryDelivery"],
        json!({"status": "pending", "attempts": 0}),
        "{r}"
    );
}

#[tokio::test]
async fn bad_channel_input_is_a_validation_error_and_stores_nothing() {
    let line = LineStandin::start().await;
    let app = TestApp::spawn_with(|s| configure(s, None, Some(line.base()))).await;
    let user = app.user("baduser").await;
    let other = app.user("otheruser").await;
    let cases = [
        (
            "/email_recipients",
            json!({"email": "not-an-address"}),
            "email",
        ),
        (
            "/email_recipients",
            json!({"email": "a@b.example", "notification_types": ["alerts", "weekly"]}),
            "notification_types",
        ),
        (
            "/email_recipients",
            json!({"email": "a@b.example", "name": "x".repeat(101)}),
            "name",
        ),
        ("/email_recipients", json!({"name": "no address"}), "email"),
        ("/line_tokens", json!({"token": "", "name": "x"}), "token"),
        (
            "/line_tokens",
            json!({"token": "good".to_owned() + &"a".repeat(1000), "name": "x"}),
            "token",
        ),
        (
            "/line_tokens",
            json!({"token": "goodToken123", "name": "   "}),
            "name",
        ),
        (
            "/line_tokens",
            json!({"token": "goodToken123", "name": "n", "notification_types": ["sms"]}),
            "notification_types",
        ),
    ];
    for (path, body, field) in cases {
        let (status, e) = req(&app, Method::POST, path, &user, Some(body.clone())).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {body}: {e}"
        );
        assert_eq!(e["status"], "error");
        assert_eq!(e["error_code"], "VALIDATION_ERROR", "{e}");
        assert!(
            e["message"].as_str().unwrap_or("").contains(field),
            "{field} named in {e}"
        );
    }
    for path in ["/email_recipients", "/line_tokens"] {
        let (_, list) = req(&app, Method::GET, path, &user, None).await;
        assert_eq!(list["total"], 0, "{path}: nothing stored");
    }
    let (status, first) = req(
        &app,
        Method::POST,
        "/email_recipients",
        &user,
        Some(json!({"email": "dup@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        first["data"]["verification_sent"], false,
        "no SMTP relay configured"
    );
    let (status, dup) = req(
        &app,
        Method::POST,
        "/email_recipients",
        &user,
        Some(json!({"email": "DUP@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{dup}");
    assert_eq!(dup["error_code"], "RECIPIENT_EXISTS");
    // Another account sees nothing of it.
    let id = first["data"]["id"].as_i64().expect("id");
    let (_, theirs) = req(&app, Method::GET, "/email_recipients", &other, None).await;
    assert_eq!(theirs["total"], 0);
    for method in [Method::PATCH, Method::DELETE] {
        let body = (method == Method::PATCH).then(|| json!({"name": "mine now"}));
        let (status, e) = req(
            &app,
            method.clone(),
            &format!("/email_recipients/{id}"),
            &other,
            body,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {e}");
        assert_eq!(e["error_code"], "RESOURCE_NOT_FOUND");
    }
    // The owner changes and deletes it.
    let (status, upd) = req(
        &app,
        Method::PATCH,
        &format!("/email_recipients/{id}"),
        &user,
        Some(json!({
            "name": "值班", "notification_types": ["system_status"], "active": false
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{upd}");
    assert_eq!(upd["data"]["name"], "值班");
    assert_eq!(upd["data"]["notification_types"], json!(["system_status"]));
    assert_eq!(upd["data"]["active"], false);
    let (status, del) = req(
        &app,
        Method::DELETE,
        &format!("/email_recipients/{id}"),
        &user,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{del}");
    assert_eq!(del["deleted_recipient_id"], id);
    let (_, list) = req(&app, Method::GET, "/email_recipients", &user, None).await;
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn line_unreachable_stores_the_token_unverified_and_checks_it_before_sending() {
    let line = LineStandin::start().await;
    let dead = "http://127.0.0.1:9".to_owned();
    let mut app = TestApp::spawn_with(|s| configure(s, None, Some(dead))).await;
    let user = app.user("lateuser").await;
    let (status, add) = req(
        &app,
        Method::POST,
        "/line_tokens",
        &user,
        Some(json!({"token": "goodLater123456", "name": "晚點驗證"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{add}");
    assert_eq!(add["data"]["token_verified"], false);
    // LINE is back (a restart with the reachable base).
    let base = line.base();
    app.restart_with(|s| s.line.api_base = base).await;
    let (cam, zone) = camera(&app, &user).await;
    let (n, _) = alert(&app, &user, cam, zone).await;
    let d = settled(&app, &user, n, 1).await;
    assert_eq!(d[0]["status"], "sent", "{d:?}");
    assert_eq!(line.accepted()[0].path, "broadcast");
    let (_, list) = req(&app, Method::GET, "/line_tokens", &user, None).await;
    assert_eq!(list["data"][0]["verified"], true);
    assert!(list["data"][0]["last_used"].is_string());
}

#[tokio::test]
async fn a_daily_report_counts_the_days_alerts_per_camera_and_goes_out_once() {
    let hook = WebhookReceiver::start().await;
    let app = TestApp::spawn_with(|s| configure(s, None, None)).await;
    let user = app.user("reportuser").await;
    let (cam, zone) = camera(&app, &user).await;
    webhook(&app, &user, &hook, &["daily_reports"]).await;
    let (a, _) = alert(&app, &user, cam, zone).await;
    alert(&app, &user, cam, zone).await;
    assert!(
        deliveries_of(&app, &user, a).await.is_empty(),
        "not subscribed to alerts"
    );

    let today = chrono::Utc::now().date_naive();
    assert_eq!(
        app.state
            .deliveries
            .queue_daily_reports(today)
            .await
            .expect("queued"),
        1
    );
    assert_eq!(
        app.state
            .deliveries
            .queue_daily_reports(today)
            .await
            .expect("again"),
        0,
        "a day's report is queued once"
    );
    assert!(
        eventually(WAIT, || {
            let n = hook.hooks().len();
            async move { n == 1 }
        })
        .await
    );
    let body: Value = serde_json::from_str(&hook.hooks()[0].body).expect("json");
    assert_eq!(body["type"], "report.daily");
    assert_eq!(body["data"]["date"], today.to_string());
    assert_eq!(body["data"]["alerts"], 2);
    let c = &body["data"]["cameras"][0];
    assert_eq!(c["camera_name"], "北門攝影機");
    assert_eq!(c["alerts"], 2);
    assert_eq!(c["alerts_by_class"], json!({"person": 2}));
    // The day before holds nothing.
    let before = today.pred_opt().expect("yesterday");
    assert_eq!(
        app.state
            .deliveries
            .queue_daily_reports(before)
            .await
            .expect("queued"),
        1
    );
    assert!(
        eventually(WAIT, || {
            let n = hook.hooks().len();
            async move { n == 2 }
        })
        .await
    );
    let body: Value = serde_json::from_str(&hook.hooks()[1].body).expect("json");
    assert_eq!(body["data"]["alerts"], 0);
}

#[tokio::test]
async fn with_an_https_base_line_gets_an_image_message_whose_signed_link_serves_the_snapshot() {
    let line = LineStandin::start().await;
    let base = line.base();
    let app = TestApp::spawn_with(|s| {
        configure(s, None, Some(base));
        s.public_base_url = Some("https://vision.example.com".into());
    })
    .await;
    let user = app.user("imageuser").await;
    let (cam, zone) = camera(&app, &user).await;
    let (status, _) = req(&app, Method::POST, "/line_tokens", &user, Some(json!({
        "token": "goodImageToken123456", "name": "圖片", "target_id": "U00112233445566778899aabbccddeeff"
    }))).await;
    assert_eq!(status, StatusCode::CREATED);
    // A client's notification is queued too, and says so.
    let (status, n) = req(
        &app,
        Method::POST,
        "/notifications",
        &user,
        Some(json!({
            "camera_id": cam, "message": "檢測到未授權人員進入", "detection_type": "person"
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{n}");
    assert_eq!(n["data"]["notification_sent"], true);
    let (a, jpeg) = alert(&app, &user, cam, zone).await;
    let d = settled(&app, &user, a, 1).await;
    assert_eq!(d[0]["status"], "sent", "{d:?}");
    let call = line
        .accepted()
        .into_iter()
        .find(|c| c.body["messages"].as_array().is_some_and(|m| m.len() == 2))
        .expect("a push with an image message");
    let img = &call.body["messages"][1];
    assert_eq!(img["type"], "image");
    let url = img["originalContentUrl"].as_str().expect("url");
    assert_eq!(img["previewImageUrl"], url);
    let path = url
        .strip_prefix("https://vision.example.com")
        .expect("on the public base");
    assert!(
        path.starts_with("/showimage/outputs/alerts/") && path.contains("?sig="),
        "{path}"
    );
    // LINE fetches it without credentials; the signature is the permission.
    let r = app.get(path, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.as_ref(), jpeg.as_slice());
    let forged = format!("{path}x");
    assert_eq!(app.get(&forged, &[]).await.status, StatusCode::UNAUTHORIZED);
}
