//! Bad input gets a documented 4xx (never a 500) and writes nothing.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use visionflow::auth::jwt::TokenKind;

use crate::helpers::TestApp;

async fn register_raw(
    app: &TestApp,
    content_type: &str,
    body: impl Into<axum::body::Body>,
) -> (StatusCode, Value) {
    let r = app
        .request(
            Method::POST,
            "/register",
            &[("content-type", content_type)],
            body,
        )
        .await;
    (r.status, r.json())
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_validation_errors() {
    let app = TestApp::spawn().await;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "application/json",
            "{\"username\": \"abc\",".into(),
            "malformed",
        ),
        ("application/json", "[1,2,3]".into(), "not an object"),
        (
            "application/json",
            "\"just a string\"".into(),
            "not an object",
        ),
        ("application/json", "{}".into(), "missing"),
        (
            "application/json",
            json!({"username": 123, "email": "a@b.co", "password": "secure_password_123"})
                .to_string(),
            "username",
        ),
        (
            "application/json",
            json!({"username": "abc", "email": ["a@b.co"], "password": "secure_password_123"})
                .to_string(),
            "email",
        ),
        (
            "application/json",
            json!({"username": "abc", "email": "a@b.co", "password": null}).to_string(),
            "password",
        ),
        (
            "application/json",
            json!({"username": "abc", "email": "a@b.co", "password": true}).to_string(),
            "password",
        ),
    ];
    for (ct, body, what) in cases {
        let (status, j) = register_raw(&app, ct, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {body} → {j}"
        );
        assert_eq!(j["status"], "error");
        assert_eq!(j["error_code"], "VALIDATION_ERROR", "{what}");
        assert!(j["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (status, j) = register_raw(&app, "application/json", "{}").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["username", "email", "password"] {
        assert_eq!(j["errors"][f][0], "this field is required", "{j}");
    }
    let (_, j) = register_raw(
        &app,
        "application/json",
        json!({"username": 123, "email": "a@b.co", "password": "secure_password_123"}).to_string(),
    )
    .await;
    assert_eq!(j["errors"]["username"][0], "must be a string");

    let (status, j) = register_raw(&app, "text/plain", "username=abc").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(j["error_code"], "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(app.account_count().await, 0);
}

#[tokio::test]
async fn ten_megabyte_bodies_are_refused_with_413() {
    let app = TestApp::spawn().await;
    let big = format!(
        "{{\"username\": \"abc\", \"email\": \"a@b.co\", \"password\": \"{}\"}}",
        "x".repeat(10 * 1024 * 1024)
    );
    let (status, j) = register_raw(&app, "application/json", big.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(j["error_code"], "PAYLOAD_TOO_LARGE");
    assert_eq!(j["status"], "error");

    let r = app
        .request(
            Method::POST,
            "/graphql",
            &[("content-type", "application/json")],
            big,
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.account_count().await, 0);
}

#[tokio::test]
async fn overlong_and_unicode_edge_case_usernames() {
    let app = TestApp::spawn().await;
    let bad_names = [
        "a".repeat(33),
        "名".repeat(33),
        "x".repeat(100_000),
        "ab".into(),
        "   ".into(),
        "john doe".into(),
        "john\u{200b}doe".into(),    // zero-width space
        "admin\u{202e}nimda".into(), // right-to-left override
        "null\u{0}byte".into(),
        "tab\there".into(),
        "🙂🙂🙂🙂".into(),
        "e\u{301}\u{301}\u{301}\u{301}".into(), // stacked combining accents
        "\u{feff}bom_user".into(),
    ];
    for name in &bad_names {
        let r = app
            .post_json(
                "/register",
                &json!({"username": name, "email": "u@example.com", "password": "secure_password_123"}),
                &[],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:?}",
            name.chars().take(20).collect::<String>()
        );
        assert!(r.json()["errors"]["username"][0].is_string());
    }
    assert_eq!(app.account_count().await, 0);

    // Letters of any script are fine, and `é` composed or decomposed is one name.
    for (name, email) in [("王小明", "wang@example.com"), ("José", "jose@example.com")] {
        let r = app
            .post_json(
                "/register",
                &json!({"username": name, "email": email, "password": "secure_password_123"}),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.text());
    }
    let r = app
        .post_json(
            "/register",
            &json!({"username": "Jose\u{301}", "email": "jose2@example.com", "password": "secure_password_123"}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(app.account_count().await, 2);
}

#[tokio::test]
async fn bad_emails_and_passwords() {
    let app = TestApp::spawn().await;
    for (email, password, field) in [
        ("not-an-email", "secure_password_123", "email"),
        ("a@b", "secure_password_123", "email"),
        ("a@b.co", "short", "password"),
        ("a@b.co", "pass\u{0}word123", "password"),
    ] {
        let r = app
            .post_json(
                "/register",
                &json!({"username": "valid_name", "email": email, "password": password}),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.json()["errors"][field][0].is_string(), "{}", r.text());
    }
    let r = app
        .post_json(
            "/register",
            &json!({"username": "valid_name", "email": "a@b.co", "password": "p".repeat(129)}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.account_count().await, 0);
}

#[tokio::test]
async fn forged_expired_and_unsigned_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let u = app.user("victim").await;
    let id = uuid::Uuid::parse_str(&u.account_uuid).expect("uuid");

    // Signed with another key.
    let other = visionflow::auth::jwt::JwtKeys::load(
        Some(&secrecy::SecretString::from(
            "another-key-another-key-another-key!",
        )),
        std::path::Path::new("/nonexistent"),
    )
    .expect("keys");
    let (forged, _) = other
        .issue(TokenKind::Access, id, uuid::Uuid::new_v4(), 600)
        .expect("issue");
    // Expired: right key, zero lifetime.
    let (expired, _) = app
        .state
        .accounts
        .keys()
        .issue(TokenKind::Access, id, uuid::Uuid::new_v4(), 0)
        .expect("issue");
    // `alg: none` with the victim's claims.
    let b64 = |s: &str| {
        use std::fmt::Write as _;
        // base64url without padding, by hand to keep test deps small
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = s.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            let chars = chunk.len() + 1;
            for i in 0..chars {
                let _ = out.write_char(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    };
    let now = chrono::Utc::now().timestamp();
    let unsigned = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&format!(
            r#"{{"sub":"{id}","jti":"{}","iat":{now},"exp":{},"iss":"visionflow","typ":"access"}}"#,
            uuid::Uuid::new_v4(),
            now + 600
        ))
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for token in [
        forged.as_str(),
        expired.as_str(),
        unsigned.as_str(),
        "garbage",
        "",
    ] {
        let r = app
            .graphql(
                "{ me { id } }",
                json!({}),
                &[("authorization", &format!("Bearer {token}"))],
            )
            .await;
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{token}"
        );
        assert_eq!(
            r["errors"][0]["extensions"]["reason"], "INVALID_TOKEN",
            "{token}"
        );
        assert!(r["data"].is_null());
    }
    // Public operations still work with a bad header attached.
    let r = app
        .post_json(
            "/login",
            &json!({"username": "victim", "password": "secure_password_123"}),
            &[("authorization", "Bearer garbage")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn graphql_endpoint_refuses_malformed_requests_with_4xx() {
    let app = TestApp::spawn().await;
    for body in ["{not json", "{\"query\": 5}", "[]"] {
        let r = app
            .request(
                Method::POST,
                "/graphql",
                &[("content-type", "application/json")],
                body,
            )
            .await;
        assert!(
            r.status.is_client_error() || r.status == StatusCode::OK,
            "{body}: {}",
            r.status
        );
        assert!(!r.status.is_server_error());
        if r.status == StatusCode::OK {
            assert!(r.json()["errors"][0]["message"].is_string(), "{body}");
        }
    }
    let r = app.graphql("{ nope }", json!({}), &[]).await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .expect("msg")
            .contains("nope")
    );
}
