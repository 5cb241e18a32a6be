//! API keys: shown once, stored hashed, scoped, revocable; `X-API-Key` and
//! `Authorization: Bearer` resolve to the same account for GraphQL and REST.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use rest_compat::{Group, MonitorStyle, Route, StoredOperation};
use sea_orm::EntityTrait as _;
use serde_json::{Value, json};
use visionflow::{db::entities::api_key, graphql, http};

use crate::helpers::TestApp;

async fn create_key(app: &TestApp, bearer: &str, scopes: Value) -> (String, String) {
    let r = app
        .graphql(
            "mutation($s: [String!]) { createApiKey(input: {name: \"ci\", scopes: $s}) { key apiKey { id name prefix scopes active } } }",
            json!({"s": scopes}),
            &[("authorization", bearer)],
        )
        .await;
    let created = &r["data"]["createApiKey"];
    let key = created["key"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    assert!(key.starts_with("vf_"));
    assert!(key.starts_with(created["apiKey"]["prefix"].as_str().expect("prefix")));
    (
        key,
        created["apiKey"]["id"].as_str().expect("id").to_owned(),
    )
}

#[tokio::test]
async fn keys_are_stored_hashed_and_shown_once() {
    let app = TestApp::spawn().await;
    let u = app.user("keys").await;
    let (key, id) = create_key(&app, &u.bearer(), json!(null)).await;
    let row = api_key::Entity::find_by_id(uuid::Uuid::parse_str(&id).expect("uuid"))
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("row");
    assert_ne!(row.key_hash, key);
    assert!(!row.key_hash.contains(&key[3..]));
    assert_eq!(row.key_hash.len(), 64);
    assert_eq!(row.scopes, json!(["*"]));
    // Listing never shows the secret.
    let list = app
        .graphql(
            "{ apiKeys { id name prefix scopes active revokedAt } }",
            json!({}),
            &[("authorization", &u.bearer())],
        )
        .await;
    assert!(!list.to_string().contains(&key));
    assert_eq!(list["data"]["apiKeys"][0]["active"], true);
}

#[tokio::test]
async fn api_key_and_bearer_are_the_same_account_in_graphql_and_rest() {
    let app = TestApp::spawn().await;
    let u = app.user("sameone").await;
    let (key, _) = create_key(&app, &u.bearer(), json!(null)).await;
    for headers in [
        vec![("authorization", u.bearer())],
        vec![("x-api-key", key.clone())],
        vec![("authorization", format!("Bearer {key}"))],
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let me = app.graphql("{ me { id } }", json!({}), &h).await;
        assert_eq!(
            me["data"]["me"]["id"],
            u.account_uuid.as_str(),
            "{headers:?}"
        );
    }

    // A REST route (a stored operation in the monitor style) sees the same account.
    let op = StoredOperation::parse("test/me.graphql", "query Me { me { account_uuid: id } }")
        .expect("parses");
    let group = Group {
        name: "test",
        style: Arc::new(MonitorStyle),
        routes: vec![
            Route::new(Method::GET, "/test/me", op)
                .shape(json!({"status": "success", "data": "$me"})),
        ],
    };
    let schema = graphql::build(app.state.clone(), &app.state.settings.graphql);
    let router = http::router_with_groups(app.state.clone(), schema, vec![group]);
    let app = app.with_router(router);
    for (name, value) in [("authorization", u.bearer()), ("x-api-key", key.clone())] {
        let r = app.get("/test/me", &[(name, &value)]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(
            r.json(),
            json!({"status": "success", "data": {"account_uuid": u.account_uuid}})
        );
    }
    let r = app.get("/test/me", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error_code"], "AUTH_REQUIRED");
    let r = app.get("/test/me", &[("x-api-key", "vf_not_a_key")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error_code"], "INVALID_API_KEY");
    let r = app
        .get("/test/me", &[("authorization", "Bearer forged.jwt.value")])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error_code"], "INVALID_TOKEN");
}

#[tokio::test]
async fn revoked_keys_stop_working() {
    let app = TestApp::spawn().await;
    let u = app.user("revoker").await;
    let (key, id) = create_key(&app, &u.bearer(), json!(null)).await;
    let r = app
        .graphql(
            "mutation($id: ID!) { revokeApiKey(id: $id) { active revokedAt } }",
            json!({"id": id}),
            &[("authorization", &u.bearer())],
        )
        .await;
    assert_eq!(r["data"]["revokeApiKey"]["active"], false);
    let me = app
        .graphql("{ me { id } }", json!({}), &[("x-api-key", &key)])
        .await;
    assert_eq!(me["errors"][0]["extensions"]["reason"], "INVALID_API_KEY");
}

#[tokio::test]
async fn scopes_limit_what_a_key_may_do() {
    let app = TestApp::spawn().await;
    let u = app.user("scoped").await;
    let (key, _) = create_key(&app, &u.bearer(), json!(["device:read"])).await;
    let r = app
        .graphql(
            "mutation { createApiKey(input: {name: \"escalate\"}) { key } }",
            json!({}),
            &[("x-api-key", &key)],
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(app.api_key_count().await, 1);

    let r = app
        .graphql(
            "mutation { createApiKey(input: {name: \"bad\", scopes: [\"root:everything\"]}) { key } }",
            json!({}),
            &[("authorization", &u.bearer())],
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(r["errors"][0]["extensions"]["fields"]["scopes"][0].is_string());
    assert_eq!(app.api_key_count().await, 1);
}

#[tokio::test]
async fn one_account_cannot_touch_another_accounts_keys() {
    let app = TestApp::spawn().await;
    let a = app.user("owner_a").await;
    let b = app.user("owner_b").await;
    let (_, id) = create_key(&app, &a.bearer(), json!(null)).await;
    let r = app
        .graphql(
            "mutation($id: ID!) { revokeApiKey(id: $id) { id } }",
            json!({"id": id}),
            &[("authorization", &b.bearer())],
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let r = app
        .graphql(
            "{ apiKeys { id } }",
            json!({}),
            &[("authorization", &b.bearer())],
        )
        .await;
    assert_eq!(r["data"]["apiKeys"], json!([]));
}
