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
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_failure_on_any_rest_group() {
    let Some(exe) = schemathesis() else { return };
    let app = TestApp::spawn_with(|s| {
        s.cameras.allowed_hosts = vec!["127.0.0.1".into()];
        // The fuzzer logs in with wrong passwords on purpose; it must not lock itself out.
        s.auth.argon2_memory_kib = 8;
        s.auth.argon2_iterations = 1;
    })
    .await;
    let user = app.user("fuzzer").await;
    let key = app.api_key(&user).await;
    let (addr, _stop) = app.serve().await;
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemathesis.toml");
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
