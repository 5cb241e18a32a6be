//! Real protocol peers on 127.0.0.1 for the delivery tests: an SMTP server (aiosmtpd, from
//! PyPI, through scripts/smtp_sink.py), a stand-in of the LINE Messaging API speaking its
//! three calls (`GET /v2/bot/info`, `POST /v2/bot/message/push`, `POST
//! /v2/bot/message/broadcast`, ../shared/live.md) with scripted answers, and a webhook
//! receiver. Each is stopped when dropped.

use std::{
    collections::{HashSet, VecDeque},
    io::{BufRead as _, BufReader},
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

/// Starts a helper process that prints `READY <port>` once it listens; answers it and the
/// port (panics after 20 s without that line).
pub fn spawn_ready(cmd: &mut Command, what: &str) -> (Child, u16) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what}: no READY line"));
    let port = line
        .trim()
        .strip_prefix("READY ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected {what} output {line:?}"));
    (child, port)
}

/// The Python with aiosmtpd (`VF_SMTP_PYTHON`, else `data/venv/bin/python`).
fn smtp_python() -> PathBuf {
    std::env::var_os("VF_SMTP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/venv/bin/python"))
}

/// A running scripts/smtp_sink.py; killed on drop.
pub struct SmtpSink {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts the server; `None` (test skipped) without aiosmtpd unless `VF_REQUIRE_SMTP`.
    pub fn start() -> Option<Self> {
        let ok = Command::new(smtp_python())
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("VF_REQUIRE_SMTP").is_none(),
                "VF_REQUIRE_SMTP is set but aiosmtpd is missing (scripts/test.sh installs it)"
            );
            eprintln!("skipping: no aiosmtpd (scripts/test.sh installs it)");
            return None;
        }
        let dir = tempfile::tempdir().expect("mail dir");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/smtp_sink.py");
        let mut cmd = Command::new(smtp_python());
        cmd.arg(script)
            .args(["--dir", &dir.path().display().to_string()]);
        let (child, port) = spawn_ready(&mut cmd, "smtp_sink.py");
        Some(Self { child, port, dir })
    }

    /// The messages received so far (raw RFC 5322), oldest first.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .expect("mail dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read(p).expect("mail"))
            .collect()
    }

    /// Waits until at least `n` messages arrived (at most `wait`).
    pub async fn wait_for(&self, n: usize, wait: Duration) -> Vec<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let m = self.messages();
            if m.len() >= n || tokio::time::Instant::now() > deadline {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scripted answer of the LINE stand-in to one message call.
#[derive(Clone, Debug)]
pub enum LineAnswer {
    /// This status (and `Retry-After` seconds), nothing accepted.
    Status(u16, Option<u32>),
    /// Accept the message, then hold the answer this long (an answer lost in a crash).
    AcceptThenHang(Duration),
}

/// One message call the stand-in received.
#[derive(Clone, Debug)]
pub struct LineCall {
    /// `push` or `broadcast`.
    pub path: String,
    /// The `Authorization` header.
    pub authorization: String,
    /// `X-Line-Retry-Key`.
    pub retry_key: Option<String>,
    /// The JSON body.
    pub body: Value,
}

#[derive(Default)]
struct LineInner {
    script: VecDeque<LineAnswer>,
    calls: Vec<LineCall>,
    accepted: Vec<LineCall>,
    keys: HashSet<String>,
}

/// The LINE Messaging API stand-in. Valid tokens start with `good`.
#[derive(Clone)]
pub struct LineStandin {
    inner: Arc<Mutex<LineInner>>,
    /// Its address.
    pub addr: SocketAddr,
    _stop: Arc<tokio::sync::oneshot::Sender<()>>,
}

fn line_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"message": message, "details": []}))).into_response()
}

async fn bot_info(headers: HeaderMap) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match auth.strip_prefix("Bearer ") {
        Some(t) if t.starts_with("good") => Json(json!({
            "userId": "Ub9952f8f3e4a1e29d1d5c4d1b7e2a8c1",
            "basicId": "@visionflow",
            "displayName": "VisionFlow bot",
            "chatMode": "bot",
            "markAsReadMode": "auto"
        }))
        .into_response(),
        _ => line_error(
            StatusCode::UNAUTHORIZED,
            "Authentication failed. Confirm that the access token in the authorization header is valid.",
        ),
    }
}

async fn message(
    State((inner, path)): State<(Arc<Mutex<LineInner>>, &'static str)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let call = LineCall {
        path: path.into(),
        authorization: h("authorization").unwrap_or_default(),
        retry_key: h("x-line-retry-key"),
        body,
    };
    let answer = {
        let mut g = inner.lock().expect("lock");
        g.calls.push(call.clone());
        if !call.authorization.starts_with("Bearer good") {
            return line_error(StatusCode::UNAUTHORIZED, "Authentication failed.");
        }
        if let Some(k) = &call.retry_key
            && g.keys.contains(k)
        {
            // LINE: a retry key seen before answers 409 and sends nothing.
            return (
                StatusCode::CONFLICT,
                [("x-line-accepted-request-id", "accepted-earlier")],
                Json(json!({"message": "The retry key is already accepted"})),
            )
                .into_response();
        }
        let answer = g.script.pop_front();
        if !matches!(answer, Some(LineAnswer::Status(..))) {
            if let Some(k) = &call.retry_key {
                g.keys.insert(k.clone());
            }
            g.accepted.push(call.clone());
        }
        answer
    };
    match answer {
        Some(LineAnswer::Status(code, after)) => {
            let mut r = line_error(
                StatusCode::from_u16(code).expect("status"),
                "The API rate limit has been exceeded. Try again later.",
            );
            if let Some(s) = after {
                r.headers_mut()
                    .insert("retry-after", s.to_string().parse().expect("header"));
            }
            r
        }
        Some(LineAnswer::AcceptThenHang(d)) => {
            tokio::time::sleep(d).await;
            Json(json!({"sentMessages": [{"id": "1", "quoteToken": "q"}]})).into_response()
        }
        None => Json(json!({"sentMessages": [{"id": "1", "quoteToken": "q"}]})).into_response(),
    }
}

impl LineStandin {
    /// Serves on a free port.
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(LineInner::default()));
        let app = Router::new()
            .route("/v2/bot/info", get(bot_info))
            .route(
                "/v2/bot/message/push",
                post(message).with_state((inner.clone(), "push")),
            )
            .route(
                "/v2/bot/message/broadcast",
                post(message).with_state((inner.clone(), "broadcast")),
            );
        let (addr, stop) = serve(app).await;
        Self {
            inner,
            addr,
            _stop: Arc::new(stop),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues answers for the next message calls (then 200 again).
    pub fn script(&self, answers: &[LineAnswer]) {
        self.inner
            .lock()
            .expect("lock")
            .script
            .extend(answers.iter().cloned());
    }

    /// Every message call received.
    pub fn calls(&self) -> Vec<LineCall> {
        self.inner.lock().expect("lock").calls.clone()
    }

    /// The messages accepted (sent on to users).
    pub fn accepted(&self) -> Vec<LineCall> {
        self.inner.lock().expect("lock").accepted.clone()
    }
}

/// One request a webhook receiver got.
#[derive(Clone, Debug)]
pub struct Hook {
    /// Headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: String,
}

/// A webhook receiver answering 204.
pub struct WebhookReceiver {
    hooks: Arc<Mutex<Vec<Hook>>>,
    /// Its address.
    pub addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl WebhookReceiver {
    /// Serves `POST /hook` on a free port.
    pub async fn start() -> Self {
        let hooks: Arc<Mutex<Vec<Hook>>> = Arc::default();
        let h = hooks.clone();
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: String| {
                let h = h.clone();
                async move {
                    h.lock().expect("lock").push(Hook { headers, body });
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let (addr, stop) = serve(app).await;
        Self {
            hooks,
            addr,
            _stop: stop,
        }
    }

    /// The requests so far.
    pub fn hooks(&self) -> Vec<Hook> {
        self.hooks.lock().expect("lock").clone()
    }
}

async fn serve(app: Router) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    (addr, tx)
}

/// Waits (at most `wait`) until `done` holds, polling every 100 ms; answers whether it did.
pub async fn eventually<F, Fut>(wait: Duration, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if done().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
