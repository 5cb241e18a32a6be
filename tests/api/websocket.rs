//! Subscriptions over `/graphql/ws` on a real loopback port, in both protocols.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest as _},
};

use crate::helpers::{TestApp, User};

pub type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn open(addr: std::net::SocketAddr, protocol: &str) -> Ws {
    let mut req = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().expect("header"));
    let (ws, resp) = connect_async(req).await.expect("websocket handshake");
    assert_eq!(
        resp.headers()["sec-websocket-protocol"],
        protocol,
        "server picked the protocol"
    );
    ws
}

pub async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.expect("send");
}

/// The next text message as JSON, skipping pings/keep-alives; `None` on close or timeout.
pub async fn recv(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .ok()??
            .ok()?;
        match msg {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).expect("JSON message");
                if matches!(v["type"].as_str(), Some("ka" | "ping" | "pong")) {
                    continue;
                }
                return Some(v);
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

async fn create_key(app: &TestApp, user: &User) -> String {
    let r = app
        .graphql(
            "mutation { createApiKey(input: {name: \"ws\"}) { apiKey { id } } }",
            json!({}),
            &[("authorization", &user.bearer())],
        )
        .await;
    r["data"]["createApiKey"]["apiKey"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Creates keys until the subscriber reports one (the subscription registers with the bus
/// asynchronously after `subscribe`); bounded to 20 tries.
async fn expect_event(app: &TestApp, user: &User, ws: &mut Ws, next_type: &str) -> (String, Value) {
    for _ in 0..20 {
        let id = create_key(app, user).await;
        if let Some(msg) = recv(ws, Duration::from_millis(500)).await {
            assert_eq!(msg["type"], next_type, "{msg}");
            return (id, msg);
        }
    }
    panic!("no subscription event arrived");
}

#[tokio::test]
async fn graphql_transport_ws_acknowledges_and_delivers_events() {
    let app = TestApp::spawn().await;
    let user = app.user("wsuser").await;
    let other = app.user("someone_else").await;
    let (addr, _stop) = app.serve().await;
    let mut ws = open(addr, "graphql-transport-ws").await;
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"Authorization": user.bearer()}}),
    )
    .await;
    let ack = recv(&mut ws, Duration::from_secs(5)).await.expect("ack");
    assert_eq!(ack["type"], "connection_ack");
    send(
        &mut ws,
        json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { accountEvents { kind apiKeyId occurredAt } }"}}),
    )
    .await;
    // Another account's activity is not delivered.
    create_key(&app, &other).await;
    let (id, msg) = expect_event(&app, &user, &mut ws, "next").await;
    assert_eq!(msg["id"], "1");
    let event = &msg["payload"]["data"]["accountEvents"];
    assert_eq!(event["kind"], "API_KEY_CREATED");
    assert!(event["occurredAt"].is_string());
    // The first delivered key may be an earlier try's; it is one of this user's.
    let keys = app
        .graphql(
            "{ apiKeys { id } }",
            json!({}),
            &[("authorization", &user.bearer())],
        )
        .await;
    let ids: Vec<&str> = keys["data"]["apiKeys"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|k| k["id"].as_str())
        .collect();
    assert!(ids.contains(&event["apiKeyId"].as_str().expect("id")));
    assert!(ids.contains(&id.as_str()));
}

#[tokio::test]
async fn legacy_graphql_ws_protocol_works_with_an_api_key() {
    let app = TestApp::spawn().await;
    let user = app.user("legacy").await;
    let r = app
        .graphql(
            "mutation { createApiKey(input: {name: \"legacy\"}) { key } }",
            json!({}),
            &[("authorization", &user.bearer())],
        )
        .await;
    let key = r["data"]["createApiKey"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let (addr, _stop) = app.serve().await;
    let mut ws = open(addr, "graphql-ws").await;
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"X-API-Key": key}}),
    )
    .await;
    let ack = recv(&mut ws, Duration::from_secs(5)).await.expect("ack");
    assert_eq!(ack["type"], "connection_ack");
    send(
        &mut ws,
        json!({"id": "7", "type": "start", "payload": {"query": "subscription { accountEvents { kind } }"}}),
    )
    .await;
    let (_, msg) = expect_event(&app, &user, &mut ws, "data").await;
    assert_eq!(msg["id"], "7");
    assert_eq!(
        msg["payload"]["data"]["accountEvents"]["kind"],
        "API_KEY_CREATED"
    );
}

#[tokio::test]
async fn invalid_credentials_are_refused_at_connection_init() {
    let app = TestApp::spawn().await;
    let (addr, _stop) = app.serve().await;
    let mut ws = open(addr, "graphql-transport-ws").await;
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"Authorization": "Bearer forged.token.here"}}),
    )
    .await;
    // The server closes the socket instead of acknowledging.
    assert_eq!(recv(&mut ws, Duration::from_secs(5)).await, None);

    let mut ws = open(addr, "graphql-ws").await;
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"X-API-Key": "vf_bogus"}}),
    )
    .await;
    let msg = recv(&mut ws, Duration::from_secs(5))
        .await
        .expect("an error message");
    assert_eq!(msg["type"], "connection_error", "{msg}");
}

#[tokio::test]
async fn anonymous_subscriptions_get_unauthenticated() {
    let app = TestApp::spawn().await;
    let (addr, _stop) = app.serve().await;
    let mut ws = open(addr, "graphql-transport-ws").await;
    send(&mut ws, json!({"type": "connection_init"})).await;
    assert_eq!(
        recv(&mut ws, Duration::from_secs(5)).await.expect("ack")["type"],
        "connection_ack"
    );
    send(
        &mut ws,
        json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { accountEvents { kind } }"}}),
    )
    .await;
    let msg = recv(&mut ws, Duration::from_secs(5)).await.expect("error");
    assert!(msg.to_string().contains("UNAUTHENTICATED"), "{msg}");
}
