//! Probe tests against scripted RTSP servers on 127.0.0.1 (no name resolution, no outside
//! traffic); every probe runs under a short deadline.

use std::collections::HashMap;

use base64::Engine as _;
use md5::Digest as _;
use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader},
    net::TcpListener,
    task::JoinHandle,
};

use super::*;

const TEST_DEADLINE: Duration = Duration::from_secs(2);
const SDP: &str = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nm=video 0 RTP/AVP 96\r\n";

/// Serves one connection: each request head goes to `respond`, whose answer is written back
/// (`None` closes). Yields the request heads received.
async fn serve(
    mut respond: impl FnMut(&str) -> Option<String> + Send + 'static,
) -> (u16, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        let Ok((stream, _)) = listener.accept().await else {
            return seen;
        };
        let mut reader = BufReader::new(stream);
        loop {
            let mut request = String::new();
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line).await {
                    Ok(0) | Err(_) => return seen,
                    Ok(_) => {}
                }
                request.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let reply = respond(request.as_str());
            seen.push(request);
            let Some(reply) = reply else { return seen };
            if reader.get_mut().write_all(reply.as_bytes()).await.is_err() {
                return seen;
            }
        }
    });
    (port, task)
}

/// Probes `url` (`PORT` replaced by the server's port) against `respond`.
async fn run_probe(
    url: &str,
    auth: &ProbeAuth,
    respond: impl FnMut(&str) -> Option<String> + Send + 'static,
) -> (ProbeOutcome, Vec<String>, u16) {
    let (port, task) = serve(respond).await;
    let outcome = probe(&url.replace("PORT", &port.to_string()), auth, TEST_DEADLINE).await;
    let seen = tokio::time::timeout(TEST_DEADLINE, task)
        .await
        .expect("server ends")
        .expect("server task");
    (outcome, seen, port)
}

fn header_of(request: &str, name: &str) -> Option<String> {
    request.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

fn method_of(request: &str) -> &str {
    request.split(' ').next().unwrap_or_default()
}

fn uri_of(request: &str) -> &str {
    request.split(' ').nth(1).unwrap_or_default()
}

fn reply(request: &str, status: &str, headers: &[&str], body: &str) -> Option<String> {
    let cseq = header_of(request, "CSeq").unwrap_or_default();
    let mut text = format!("RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n");
    for header in headers {
        text.push_str(header);
        text.push_str("\r\n");
    }
    if !body.is_empty() {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    text.push_str(body);
    Some(text)
}

fn basic(user: &str, password: &str) -> ProbeAuth {
    ProbeAuth::Basic {
        username: user.to_owned(),
        password: password.to_owned(),
    }
}

const URL: &str = "rtsp://127.0.0.1:PORT/stream";
const BASIC_CHALLENGE: &str = "WWW-Authenticate: Basic realm=\"cam\"";

/// Answers 401 with `challenge` unless `Authorization` equals Basic `user:password`.
fn basic_server(
    user: &'static str,
    password: &'static str,
) -> impl FnMut(&str) -> Option<String> + Send {
    let expected = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
    move |req| match header_of(req, "Authorization") {
        Some(a) if a == expected => reply(
            req,
            "200 OK",
            &[],
            if method_of(req) == "DESCRIBE" {
                SDP
            } else {
                ""
            },
        ),
        _ => reply(req, "401 Unauthorized", &[BASIC_CHALLENGE], ""),
    }
}

#[tokio::test]
async fn online_without_auth_and_drains_bodies() {
    let (out, seen, port) = run_probe(URL, &ProbeAuth::None, |req| match method_of(req) {
        "OPTIONS" => reply(req, "200 OK", &["Public: OPTIONS, DESCRIBE"], "hello"),
        _ => reply(req, "200 OK", &["Content-Type: application/sdp"], SDP),
    })
    .await;
    assert!(out.online(), "{out:?}");
    assert_eq!(out.message, None);
    assert_eq!(seen.len(), 2);
    assert!(seen[0].starts_with(&format!(
        "OPTIONS rtsp://127.0.0.1:{port}/stream RTSP/1.0\r\n"
    )));
    assert_eq!(header_of(&seen[0], "CSeq").as_deref(), Some("1"));
    assert_eq!(
        header_of(&seen[0], "User-Agent").as_deref(),
        Some("VisionFlow")
    );
    assert!(seen[1].starts_with("DESCRIBE "));
    assert_eq!(header_of(&seen[1], "CSeq").as_deref(), Some("2"));
    assert_eq!(
        header_of(&seen[1], "Accept").as_deref(),
        Some("application/sdp")
    );
    assert!(seen.iter().all(|r| header_of(r, "Authorization").is_none()));
}

#[tokio::test]
async fn challenge_without_credentials_is_auth_required() {
    let (out, seen, _) = run_probe(URL, &ProbeAuth::None, basic_server("admin", "secret")).await;
    assert_eq!(out.error, Some(ProbeErrorCode::AuthRequired), "{out:?}");
    assert_eq!(seen.len(), 1);
}

#[tokio::test]
async fn basic_credentials_are_checked() {
    let (out, seen, _) = run_probe(
        URL,
        &basic("admin", "secret"),
        basic_server("admin", "secret"),
    )
    .await;
    assert!(out.online(), "{out:?}");
    assert_eq!(
        header_of(&seen[0], "Authorization"),
        None,
        "Basic is sent after the challenge"
    );
    assert_eq!(seen.len(), 3);

    let (out, _, _) = run_probe(
        URL,
        &basic("admin", "wrong"),
        basic_server("admin", "secret"),
    )
    .await;
    assert_eq!(out.error, Some(ProbeErrorCode::AuthFailed), "{out:?}");
}

fn digest_params(value: &str) -> HashMap<String, String> {
    value
        .trim_start_matches("Digest ")
        .split(',')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        })
        .collect()
}

fn md5_of(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

/// Offers Basic and Digest (realm `cam`, nonce `abc123`, `qop="auth"` when `qop`) and
/// accepts only a Digest response it computes itself for `admin`/`secret`.
fn digest_server(qop: bool) -> impl FnMut(&str) -> Option<String> + Send {
    let challenge = if qop {
        "WWW-Authenticate: Digest realm=\"cam\", nonce=\"abc123\", qop=\"auth\", opaque=\"op\""
    } else {
        "WWW-Authenticate: Digest realm=\"cam\", nonce=\"abc123\""
    };
    move |req| {
        let p = digest_params(&header_of(req, "Authorization").unwrap_or_default());
        let get = |k: &str| p.get(k).cloned().unwrap_or_default();
        let ha1 = md5_of("admin:cam:secret");
        let ha2 = md5_of(&format!("{}:{}", method_of(req), uri_of(req)));
        let expected = if qop {
            md5_of(&format!(
                "{ha1}:abc123:{}:{}:auth:{ha2}",
                get("nc"),
                get("cnonce")
            ))
        } else {
            md5_of(&format!("{ha1}:abc123:{ha2}"))
        };
        let ok = get("username") == "admin"
            && get("realm") == "cam"
            && get("uri") == uri_of(req)
            && get("response") == expected
            && (!qop || (get("qop") == "auth" && get("opaque") == "op"));
        if ok {
            reply(
                req,
                "200 OK",
                &[],
                if method_of(req) == "DESCRIBE" {
                    SDP
                } else {
                    ""
                },
            )
        } else {
            reply(req, "401 Unauthorized", &[BASIC_CHALLENGE, challenge], "")
        }
    }
}

#[tokio::test]
async fn digest_with_qop_is_preferred_over_basic() {
    let (out, seen, _) = run_probe(URL, &basic("admin", "secret"), digest_server(true)).await;
    assert!(out.online(), "{out:?}");
    assert_eq!(seen.len(), 3);
    assert!(seen[1].contains("nc=00000001"), "{}", seen[1]);
    assert!(
        seen[2].starts_with("DESCRIBE ") && seen[2].contains("nc=00000002"),
        "{}",
        seen[2]
    );

    let (out, _, _) = run_probe(URL, &basic("admin", "nope"), digest_server(true)).await;
    assert_eq!(out.error, Some(ProbeErrorCode::AuthFailed), "{out:?}");
}

#[tokio::test]
async fn legacy_digest_checks_the_password() {
    let (out, _, _) = run_probe(URL, &basic("admin", "secret"), digest_server(false)).await;
    assert!(out.online(), "{out:?}");
    let (out, seen, _) = run_probe(URL, &basic("admin", "wrong"), digest_server(false)).await;
    assert_eq!(out.error, Some(ProbeErrorCode::AuthFailed), "{out:?}");
    assert_eq!(seen.len(), 2, "one retry only");
}

fn bearer_server(req: &str) -> Option<String> {
    if header_of(req, "Authorization").as_deref() == Some("Bearer tok-1") {
        reply(
            req,
            "200 OK",
            &[],
            if method_of(req) == "DESCRIBE" {
                SDP
            } else {
                ""
            },
        )
    } else {
        reply(
            req,
            "401 Unauthorized",
            &["WWW-Authenticate: Bearer realm=\"cam\""],
            "",
        )
    }
}

#[tokio::test]
async fn bearer_token_goes_on_the_first_request() {
    let (out, seen, _) = run_probe(URL, &ProbeAuth::Bearer("tok-1".into()), bearer_server).await;
    assert!(out.online(), "{out:?}");
    assert_eq!(seen.len(), 2);
    assert_eq!(
        header_of(&seen[0], "Authorization").as_deref(),
        Some("Bearer tok-1")
    );

    let (out, _, _) = run_probe(URL, &ProbeAuth::Bearer("other".into()), bearer_server).await;
    assert_eq!(out.error, Some(ProbeErrorCode::AuthFailed), "{out:?}");
}

#[tokio::test]
async fn forbidden_is_auth_failed_only_with_credentials() {
    let forbid = |req: &str| reply(req, "403 Forbidden", &[], "");
    let (out, _, _) = run_probe(URL, &basic("admin", "secret"), forbid).await;
    assert_eq!(out.error, Some(ProbeErrorCode::AuthFailed), "{out:?}");
    let (out, _, _) = run_probe(URL, &ProbeAuth::None, forbid).await;
    assert_eq!(out.error, Some(ProbeErrorCode::UnknownError), "{out:?}");
}

#[tokio::test]
async fn userinfo_is_used_and_stripped_from_the_wire() {
    let url = "rtsp://admin:s%40cret@127.0.0.1:PORT/stream#frag";
    let (out, seen, port) = run_probe(url, &ProbeAuth::None, basic_server("admin", "s@cret")).await;
    assert!(out.online(), "{out:?}");
    for request in &seen {
        assert_eq!(uri_of(request), format!("rtsp://127.0.0.1:{port}/stream"));
        assert!(
            !request.contains("cret") && !request.contains("admin"),
            "{request}"
        );
    }
}

#[tokio::test]
async fn refused_port_is_connection_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let out = probe(
        &format!("rtsp://127.0.0.1:{port}/s"),
        &ProbeAuth::None,
        TEST_DEADLINE,
    )
    .await;
    assert_eq!(
        out.error,
        Some(ProbeErrorCode::ConnectionRefused),
        "{out:?}"
    );
}

#[tokio::test]
async fn silent_peer_is_connection_timeout() {
    // The kernel completes the handshake from the backlog; nobody ever answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let out = probe(
        &format!("rtsp://127.0.0.1:{port}/s"),
        &ProbeAuth::None,
        Duration::from_millis(300),
    )
    .await;
    drop(listener);
    assert_eq!(
        out.error,
        Some(ProbeErrorCode::ConnectionTimeout),
        "{out:?}"
    );
    assert!(
        out.latency_ms >= 300.0 && out.latency_ms < 2000.0,
        "{out:?}"
    );
}

#[tokio::test]
async fn malformed_urls_are_invalid() {
    for url in ["http://x", "rtsp://", "not a url", "rtsp:no-host", ""] {
        let out = probe(url, &ProbeAuth::None, TEST_DEADLINE).await;
        assert_eq!(
            out.error,
            Some(ProbeErrorCode::InvalidUrl),
            "{url}: {out:?}"
        );
    }
}

#[tokio::test]
async fn other_answers_are_unknown() {
    let (out, _, _) = run_probe(URL, &ProbeAuth::None, |req| match method_of(req) {
        "OPTIONS" => reply(req, "200 OK", &[], ""),
        _ => reply(req, "404 Not Found", &[], ""),
    })
    .await;
    assert_eq!(out.error, Some(ProbeErrorCode::UnknownError));
    assert_eq!(
        out.message.as_deref(),
        Some("DESCRIBE answered 404 Not Found")
    );

    let (out, _, _) = run_probe(URL, &ProbeAuth::None, |_| {
        Some("HTTP/1.1 400 Bad Request\r\n\r\n".into())
    })
    .await;
    assert_eq!(out.error, Some(ProbeErrorCode::UnknownError), "{out:?}");

    let (out, _, _) = run_probe(URL, &ProbeAuth::None, |_| None).await;
    assert_eq!(out.error, Some(ProbeErrorCode::UnknownError), "{out:?}");

    let huge = format!(
        "RTSP/1.0 200 OK\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    let (out, _, _) = run_probe(URL, &ProbeAuth::None, move |_| Some(huge.clone())).await;
    assert_eq!(out.error, Some(ProbeErrorCode::UnknownError), "{out:?}");
    assert!(
        out.message.as_deref().is_some_and(|m| m.contains("64 KiB")),
        "{out:?}"
    );
}

#[tokio::test]
async fn rtsps_is_only_checked_for_reachability() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let out = probe(
        &format!("rtsps://127.0.0.1:{port}/s"),
        &ProbeAuth::None,
        TEST_DEADLINE,
    )
    .await;
    assert_eq!(out.error, Some(ProbeErrorCode::UnknownError), "{out:?}");
    assert!(
        out.message
            .as_deref()
            .is_some_and(|m| m.contains("rtsps is not probed"))
    );
    drop(listener);
    let out = probe(
        &format!("rtsps://127.0.0.1:{port}/s"),
        &ProbeAuth::None,
        TEST_DEADLINE,
    )
    .await;
    assert_eq!(
        out.error,
        Some(ProbeErrorCode::ConnectionRefused),
        "{out:?}"
    );
}

#[test]
fn challenges_in_one_header_are_split() {
    let parsed = parse_challenges([
        r#"Digest realm="a \"b\"", nonce="n,1", qop="auth,auth-int", Basic realm="c""#,
    ]);
    assert_eq!(parsed.len(), 2, "{parsed:?}");
    assert_eq!(parsed[0].param("realm"), Some("a \"b\""));
    assert_eq!(parsed[0].param("nonce"), Some("n,1"));
    assert_eq!(parsed[1].scheme, "Basic");
    assert_eq!(parsed[1].param("realm"), Some("c"));
}

#[test]
fn debug_redacts_secrets_and_codes_have_wire_names() {
    let shown = format!(
        "{:?} {:?}",
        basic("admin", "hunter2"),
        ProbeAuth::Bearer("tok-9".into())
    );
    assert!(
        !shown.contains("hunter2") && !shown.contains("tok-9"),
        "{shown}"
    );
    assert_eq!(
        ProbeErrorCode::ConnectionTimeout.as_str(),
        "CONNECTION_TIMEOUT"
    );
    assert_eq!(ProbeErrorCode::UnknownError.to_string(), "UNKNOWN_ERROR");
    assert_eq!(percent_decode("s%40cret%zz"), "s@cret%zz");
}
