//! The monitor group's account routes, exactly as monitor-api.zh-TW.txt gives them.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn register_login_refresh_me_through_rest() {
    let app = TestApp::spawn().await;
    let r = app
        .post_json(
            "/register",
            &json!({"username": "john_doe", "email": "john@example.com", "password": "secure_password_123"}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let body = r.json();
    assert_eq!(body["message"], "User registered successfully");
    assert_eq!(body["status"], "success");
    let uuid = body["account_uuid"].as_str().expect("uuid").to_owned();
    assert!(uuid::Uuid::parse_str(&uuid).is_ok(), "{uuid}");
    let keys: Vec<_> = body.as_object().expect("object").keys().cloned().collect();
    assert_eq!(keys, ["message", "account_uuid", "status"]);

    let r = app
        .post_json(
            "/login",
            &json!({"username": "john_doe", "password": "secure_password_123"}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let login = r.json();
    assert_eq!(login["message"], "Login successful");
    assert_eq!(login["account_uuid"], uuid.as_str());
    let access = login["access_token"].as_str().expect("access").to_owned();
    let refresh = login["refresh_token"].as_str().expect("refresh").to_owned();
    assert_eq!(access.split('.').count(), 3, "a JWT");

    let r = app
        .post_json("/token/refresh", &json!({"refresh_token": refresh}), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let refreshed = r.json();
    let new_access = refreshed["access_token"].as_str().expect("access");
    assert_ne!(new_access, access);

    let me = app
        .graphql(
            "{ me { id username email } }",
            json!({}),
            &[("authorization", &format!("Bearer {new_access}"))],
        )
        .await;
    assert_eq!(
        me["data"]["me"],
        json!({"id": uuid, "username": "john_doe", "email": "john@example.com"})
    );
}

#[tokio::test]
async fn duplicate_username_answers_the_documented_error() {
    let app = TestApp::spawn().await;
    app.user("john_doe").await;
    // Case and full-width forms are the same name.
    for name in ["john_doe", "JOHN_DOE", "ｊｏｈｎ＿ｄｏｅ"] {
        let r = app
            .post_json(
                "/register",
                &json!({"username": name, "email": "other@example.com", "password": "secure_password_123"}),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{name}");
        let body = r.json();
        assert_eq!(body["message"], "Username already exists");
        assert_eq!(body["status"], "error");
        assert_eq!(body["error_code"], "USERNAME_TAKEN");
    }
    let r = app
        .post_json(
            "/register",
            &json!({"username": "someone", "email": "JOHN_DOE@example.com", "password": "secure_password_123"}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["error_code"], "EMAIL_TAKEN");
    assert_eq!(app.account_count().await, 1);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    for (u, p) in [
        ("alice", "not-the-password"),
        ("nobody", "whatever-password"),
    ] {
        let r = app
            .post_json("/login", &json!({"username": u, "password": p}), &[])
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.json(),
            json!({"status": "error", "message": "Invalid username or password", "error_code": "INVALID_CREDENTIALS"})
        );
    }
}

#[tokio::test]
async fn login_by_email_works() {
    let app = TestApp::spawn().await;
    let u = app.user("bob").await;
    let r = app
        .post_json(
            "/login",
            &json!({"username": "Bob@Example.com", "password": "secure_password_123"}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["account_uuid"], u.account_uuid.as_str());
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let u = app.user("carol").await;
    let first = app
        .post_json(
            "/token/refresh",
            &json!({"refresh_token": u.refresh_token}),
            &[],
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let second_refresh = first.json()["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_ne!(second_refresh, u.refresh_token);

    // Replaying the spent token is refused and burns the token rotated from it.
    let replay = app
        .post_json(
            "/token/refresh",
            &json!({"refresh_token": u.refresh_token}),
            &[],
        )
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        replay.json(),
        json!({"status": "error", "message": "Token is invalid or expired", "error_code": "INVALID_TOKEN"})
    );
    let after = app
        .post_json(
            "/token/refresh",
            &json!({"refresh_token": second_refresh}),
            &[],
        )
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.json()["error_code"], "INVALID_TOKEN");
}

#[tokio::test]
async fn an_access_token_is_not_a_refresh_token() {
    let app = TestApp::spawn().await;
    let u = app.user("dave").await;
    let r = app
        .post_json(
            "/token/refresh",
            &json!({"refresh_token": u.access_token}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error_code"], "INVALID_TOKEN");
}

#[tokio::test]
async fn register_page_is_a_working_form() {
    let app = TestApp::spawn().await;
    let r = app.get("/register", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let html = r.text();
    assert!(html.contains(r#"<form id="register" method="post" action="/register">"#));
    for field in [
        r#"name="username""#,
        r#"name="email""#,
        r#"name="password""#,
    ] {
        assert!(html.contains(field), "{field}");
    }
    // What the form posts without JavaScript (urlencoded) registers the account.
    let r = app
        .request(
            Method::POST,
            "/register",
            &[("content-type", "application/x-www-form-urlencoded")],
            "username=form_user&email=form%40example.com&password=a+long+password",
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["message"], "User registered successfully");
    let r = app
        .post_json(
            "/login",
            &json!({"username": "form_user", "password": "a long password"}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn repeated_failed_logins_are_rate_limited() {
    let app = TestApp::spawn().await;
    app.user("guessme").await;
    for _ in 0..5 {
        let r = app
            .post_json(
                "/login",
                &json!({"username": "guessme", "password": "wrong-guess"}),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // Now even the right password waits, in the documented style and with Retry-After.
    let r = app
        .post_json(
            "/login",
            &json!({"username": "GuessMe", "password": "secure_password_123"}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    assert_eq!(r.json()["error_code"], "RATE_LIMIT_EXCEEDED");
    let secs: u64 = r.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(secs > 0 && secs <= 15 * 60);
    // Through GraphQL the same limit carries RATE_LIMITED and retryAfter.
    let g = app
        .graphql(
            "mutation { login(input: {username: \"guessme\", password: \"secure_password_123\"}) { accessToken } }",
            json!({}),
            &[],
        )
        .await;
    assert_eq!(g["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    assert!(
        g["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .is_some()
    );
    // Other names are unaffected.
    app.user("someone").await;
}
