//! The same account flow through GraphQL, and the error codes it carries.

use serde_json::{Value, json};

use crate::helpers::TestApp;

fn code(answer: &Value) -> (&str, Option<&str>) {
    let ext = &answer["errors"][0]["extensions"];
    (
        ext["code"].as_str().expect("extensions.code"),
        ext["reason"].as_str(),
    )
}

#[tokio::test]
async fn register_login_refresh_me_through_graphql() {
    let app = TestApp::spawn().await;
    let reg = app
        .graphql(
            "mutation($i: RegisterInput!) { register(input: $i) { id username email createdAt } }",
            json!({"i": {"username": "gq_user", "email": "gq@example.com", "password": "secure_password_123"}}),
            &[],
        )
        .await;
    assert!(reg["errors"].is_null(), "{reg}");
    let id = reg["data"]["register"]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let login = app
        .graphql(
            "mutation { login(input: {username: \"gq_user\", password: \"secure_password_123\"}) { accessToken refreshToken tokenType expiresIn account { id } } }",
            json!({}),
            &[],
        )
        .await;
    let l = &login["data"]["login"];
    assert_eq!(l["tokenType"], "Bearer");
    assert_eq!(l["expiresIn"], 900);
    assert_eq!(l["account"]["id"], id.as_str());

    let refreshed = app
        .graphql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }",
            json!({"t": l["refreshToken"]}),
            &[],
        )
        .await;
    let access = refreshed["data"]["refreshToken"]["accessToken"]
        .as_str()
        .expect("access");
    let me = app
        .graphql(
            "{ me { id username } }",
            json!({}),
            &[("authorization", &format!("Bearer {access}"))],
        )
        .await;
    assert_eq!(me["data"]["me"], json!({"id": id, "username": "gq_user"}));
}

#[tokio::test]
async fn errors_carry_stable_codes() {
    let app = TestApp::spawn().await;
    let anon = app.graphql("{ me { id } }", json!({}), &[]).await;
    assert_eq!(code(&anon), ("UNAUTHENTICATED", Some("AUTH_REQUIRED")));

    let bad = app
        .graphql(
            "mutation { register(input: {username: \"x\", email: \"nope\", password: \"short\"}) { id } }",
            json!({}),
            &[],
        )
        .await;
    assert_eq!(code(&bad).0, "BAD_USER_INPUT");
    let fields = &bad["errors"][0]["extensions"]["fields"];
    for f in ["username", "email", "password"] {
        assert!(fields[f][0].is_string(), "{f}: {bad}");
    }

    app.user("taken").await;
    let dup = app
        .graphql(
            "mutation { register(input: {username: \"Taken\", email: \"t2@example.com\", password: \"secure_password_123\"}) { id } }",
            json!({}),
            &[],
        )
        .await;
    assert_eq!(code(&dup), ("CONFLICT", Some("USERNAME_TAKEN")));

    let wrong = app
        .graphql(
            "mutation { login(input: {username: \"taken\", password: \"wrong-password\"}) { accessToken } }",
            json!({}),
            &[],
        )
        .await;
    assert_eq!(
        code(&wrong),
        ("UNAUTHENTICATED", Some("INVALID_CREDENTIALS"))
    );

    let u = app.user("keyowner").await;
    let nf = app
        .graphql(
            "mutation { revokeApiKey(id: \"00000000-0000-0000-0000-000000000000\") { id } }",
            json!({}),
            &[("authorization", &u.bearer())],
        )
        .await;
    assert_eq!(code(&nf), ("NOT_FOUND", Some("API_KEY_NOT_FOUND")));
}

#[tokio::test]
async fn depth_and_complexity_limits_refuse_abusive_queries() {
    let app = TestApp::spawn_with(|s| s.graphql.complexity_limit = 50).await;
    let mut deep = String::from("{ __schema { types { fields { type ");
    for _ in 0..12 {
        deep.push_str("{ ofType ");
    }
    deep.push_str("{ name }");
    for _ in 0..12 {
        deep.push('}');
    }
    deep.push_str(" } } } }");
    let r = app.graphql(&deep, json!({}), &[]).await;
    let msg = r["errors"][0]["message"].as_str().expect("an error");
    assert!(msg.contains("nested too deep"), "{msg}");

    let wide: String = (0..60).map(|i| format!("a{i}: me {{ id }} ")).collect();
    let r = app.graphql(&format!("{{ {wide} }}"), json!({}), &[]).await;
    let msg = r["errors"][0]["message"].as_str().expect("an error");
    assert!(msg.contains("too complex"), "{msg}");
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = TestApp::spawn().await;
    let u = app.user("leaver").await;
    let r = app
        .graphql(
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({"t": u.refresh_token}),
            &[],
        )
        .await;
    assert_eq!(r["data"]["logout"], true);
    let r = app
        .graphql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({"t": u.refresh_token}),
            &[],
        )
        .await;
    assert_eq!(code(&r), ("UNAUTHENTICATED", Some("INVALID_TOKEN")));
}
