//! The OpenAPI document tells the truth: schemathesis (PyPI) fuzzes every REST route of
//! every group against it with all its checks — status codes, content types, response
//! schemas, auth, schema-valid requests accepted and invalid ones refused — and the run
//! must report no failure. A second pass fuzzes `/graphql` and must meet no `INTERNAL`
//! error and no non-JSON answer.
//!
//! Needs `VF_SCHEMATHESIS` (the `schemathesis` executable; `scripts/test.sh` installs it into
//! a virtual environment and sets `VF_REQUIRE_SCHEMATHESIS=1`, which turns its absence into
//! a failure). Traffic goes to 127.0.0.1 only: camera URLs are fenced to loopback
//! (`cameras.allowed_hosts`), so the workers the fuzzer creates never leave the machine.

use std::{path::PathBuf, time::Duration};

use crate::helpers::TestApp;

fn schemathesis() -> Option<PathBuf> {
    let path = std::env::var_os("VF_SCHEMATHESIS").map(PathBuf::from);
    match path {
        Some(p) if p.exists() => Some(p),
        _ => {
            assert!(
                std::env::var_os("VF_REQUIRE_SCHEMATHESIS").is_none(),
                "VF_REQUIRE_SCHEMATHESIS is set but VF_SCHEMATHESIS does not name the schemathesis executable"
            );
            eprintln!("skipping: no schemathesis (scripts/test.sh installs it)");
            None
        }
    }
}

async fn run(exe: &PathBuf, args: &[String], limit: Duration) -> (bool, String) {
    let child = tokio::process::Command::new(exe)
        .args(args)
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start schemathesis");
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .expect("schemathesis finished in time")
        .expect("schemathesis output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Keeps everything the fuzzer creates on this machine: camera workers and webhook
/// deliveries may only name 127.0.0.1, and LINE is a closed local port.
fn fence(s: &mut visionflow::config::Settings) {
    s.cameras.allowed_hosts = vec!["127.0.0.1".into()];
    s.delivery.webhook_allowed_hosts = vec!["127.0.0.1".into()];
    s.line.api_base = "http://127.0.0.1:9".into();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_failure_on_any_rest_group() {
    let Some(exe) = schemathesis() else { return };
    let Some((app, _)) = TestApp::spawn_vision(|s| {
        fence(s);
        // The fuzzer logs in with wrong passwords on purpose; it must not lock itself out.
        s.auth.argon2_memory_kib = 8;
        s.auth.argon2_iterations = 1;
    })
    .await
    else {
        return;
    };
    let user = app.user("fuzzer").await;
    let key = app.api_key(&user).await;
    let (addr, _stop) = app.serve().await;
    let config = fixture("schemathesis.toml");
    let args: Vec<String> = vec![
        "--config-file".into(),
        config.display().to_string(),
        "run".into(),
        format!("http://{addr}/openapi.json"),
        "--header".into(),
        format!("X-API-Key: {key}"),
        "--seed".into(),
        "20261201".into(),
        "--max-examples".into(),
        std::env::var("VF_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "12".into()),
        "--request-timeout".into(),
        "20".into(),
        "--no-color".into(),
    ];
    let (ok, text) = run(&exe, &args, Duration::from_secs(900)).await;
    eprintln!("{text}");
    assert!(ok, "schemathesis reported failures (output above)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_fuzzing_meets_no_internal_error() {
    let Some(exe) = schemathesis() else { return };
    let app = TestApp::spawn_with(fence).await;
    // Its own account, with a JWT: revoking API keys mid-run cannot lock it out.
    let user = app.user("graphql_fuzzer").await;
    let (addr, _stop) = app.serve().await;
    let args: Vec<String> = vec![
        "run".into(),
        format!("http://{addr}/graphql"),
        "--header".into(),
        format!("Authorization: Bearer {}", user.access_token),
        "--checks".into(),
        "graphql_answers_json_without_internal_errors".into(),
        "--seed".into(),
        "20261201".into(),
        "--max-examples".into(),
        std::env::var("VF_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "12".into()),
        "--no-color".into(),
    ];
    let child = tokio::process::Command::new(&exe)
        .args(&args)
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .env("SCHEMATHESIS_HOOKS", "st_graphql_checks")
        .env("PYTHONPATH", fixture(""))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start schemathesis");
    let out = tokio::time::timeout(Duration::from_secs(600), child.wait_with_output())
        .await
        .expect("finished in time")
        .expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "GraphQL fuzzing found failures (output above)"
    );
    assert!(text.contains(" passed"), "cases ran: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_python_client_types_the_documented_answers() {
    let Some(exe) = schemathesis() else { return };
    // The venv that holds schemathesis also holds openapi-spec-validator and
    // openapi-python-client (scripts/test.sh).
    let python = exe.with_file_name("python");
    let app = TestApp::spawn().await;
    let (user, key) = crate::helpers::keyed(&app, "client_author").await;
    let _ = user;
    let (addr, _stop) = app.serve().await;
    let (s, _) = crate::helpers::call(&app, axum::http::Method::POST, "/cameras", &key,
        Some(serde_json::json!({"name": "gate", "stream_url": "rtsp://127.0.0.1:9/x", "recognition": false}))).await;
    assert_eq!(s, axum::http::StatusCode::CREATED);
    let (s, _) = crate::helpers::call(
        &app,
        axum::http::Method::POST,
        "/api/parking-lots/",
        &key,
        Some(serde_json::json!({"site_id": "SITE-1", "name": "Lot"})),
    )
    .await;
    assert_eq!(s, axum::http::StatusCode::CREATED);
    let work = tempfile::tempdir().expect("work dir");
    let out = tokio::process::Command::new(&python)
        .arg(fixture("openapi_client_check.py"))
        .arg(format!("http://{addr}"))
        .arg(&key)
        .arg(work.path())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run the client check");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.starts_with("OK"), "{text}");
}
