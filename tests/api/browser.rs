//! GraphiQL in a real headless Chromium, with every host but 127.0.0.1 unresolvable: the page
//! must load from VisionFlow alone and run a query.
//!
//! Driven over the Chrome DevTools Protocol with the websocket client the other tests use.
//! Needs `/usr/bin/chromium` (Debian package `chromium`; `scripts/test.sh` installs it and
//! sets `VF_REQUIRE_BROWSER=1`, which turns a missing browser into a failure).

use std::{path::PathBuf, process::Stdio, time::Duration};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::{connect_async, tungstenite::Message};

use crate::helpers::TestApp;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("VF_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    path.exists().then_some(path)
}

pub struct Cdp {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
}

impl Cdp {
    pub async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .await
            .expect("cdp send");
        loop {
            let m = tokio::time::timeout(Duration::from_secs(20), self.ws.next())
                .await
                .expect("cdp answer in time")
                .expect("cdp open")
                .expect("cdp message");
            if let Message::Text(t) = m {
                let v: Value = serde_json::from_str(&t).expect("cdp json");
                if v["id"] == id {
                    assert!(v["error"].is_null(), "{method}: {v}");
                    return v["result"].clone();
                }
            }
        }
    }

    pub async fn eval(&mut self, session: &str, expression: &str) -> Value {
        let r = self
            .call(
                Some(session),
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        r["result"]["value"].clone()
    }

    /// Evaluates `expression` until it returns a truthy value; bounded by `secs`.
    pub async fn wait_for(&mut self, session: &str, expression: &str, secs: u64) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.eval(session, expression).await;
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            if tokio::time::Instant::now() >= deadline {
                let page = self
                    .eval(session, "document.body.innerText.slice(0, 2000)")
                    .await;
                panic!("timed out waiting for {expression}; page text: {page}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A headless Chromium with every host but 127.0.0.1 unresolvable, driven over CDP;
/// closed (and killed) on drop.
pub struct Browser {
    pub cdp: Cdp,
    child: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium; `None` (test skipped) when it is not installed and
    /// `VF_REQUIRE_BROWSER` is not set.
    pub async fn launch() -> Option<Self> {
        let Some(browser) = chromium() else {
            assert!(
                std::env::var_os("VF_REQUIRE_BROWSER").is_none(),
                "VF_REQUIRE_BROWSER is set but chromium is not installed"
            );
            eprintln!("skipping: no chromium (scripts/test.sh installs it)");
            return None;
        };
        let profile = tempfile::tempdir().expect("profile dir");
        let child = tokio::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                // Any host other than loopback fails to resolve: nothing can come from the internet.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromium");

        // Chromium writes its DevTools port and browser path here once it listens.
        let port_file = profile.path().join("DevToolsActivePort");
        let mut contents = String::new();
        for _ in 0..100 {
            if let Ok(c) = std::fs::read_to_string(&port_file)
                && c.lines().count() >= 2
            {
                contents = c;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut lines = contents.lines();
        let (port, path) = (
            lines.next().expect("DevTools port"),
            lines.next().expect("DevTools path"),
        );
        let (ws, _) = connect_async(format!("ws://127.0.0.1:{port}{path}"))
            .await
            .expect("connect to DevTools");
        Some(Self {
            cdp: Cdp { ws, next_id: 0 },
            child,
            _profile: profile,
        })
    }

    /// Opens `url` in a new tab; answers the CDP session of that tab.
    pub async fn open(&mut self, url: &str) -> String {
        let target = self
            .cdp
            .call(None, "Target.createTarget", json!({"url": url}))
            .await;
        let attached = self
            .cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        attached["sessionId"].as_str().expect("session").to_owned()
    }

    /// Closes the browser and waits for it to exit.
    pub async fn close(mut self) {
        let _ = self.cdp.call(None, "Browser.close", json!({})).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

#[tokio::test]
async fn graphiql_runs_a_query_with_no_internet() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let (addr, _stop) = app.serve().await;
    let session = browser.open(&format!("http://{addr}/graphql")).await;
    let cdp = &mut browser.cdp;
    cdp.wait_for(
        &session,
        "!!document.querySelector('.graphiql-execute-button') && !!document.querySelector('.graphiql-query-editor .CodeMirror')",
        30,
    )
    .await;
    cdp.eval(
        &session,
        "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue('query Probe { __schema { queryType { name } } }'); document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setCursor({line: 0, ch: 8}); true",
    )
    .await;
    // GraphiQL derives the operation name from the editor after a short debounce.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cdp.eval(
        &session,
        "document.querySelector('.graphiql-execute-button').click(); true",
    )
    .await;
    let answer = cdp
        .wait_for(
            &session,
            "(function(){ var e = document.querySelector('.graphiql-response .CodeMirror'); var v = e && e.CodeMirror.getValue(); return v && v.indexOf('queryType') >= 0 ? v : null; })()",
            30,
        )
        .await;
    let answer: Value = serde_json::from_str(answer.as_str().expect("text")).expect("JSON answer");
    assert_eq!(answer["data"]["__schema"]["queryType"]["name"], "Query");

    browser.close().await;
}
