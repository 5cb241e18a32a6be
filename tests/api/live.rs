//! Real parts for the camera tests: GStreamer's RTSP server on 127.0.0.1
//! (`scripts/rtsp_server.py`, real photos as live H.264), and an MJPEG reader over a plain
//! TCP connection.

use std::{
    path::PathBuf,
    process::{Child, Command},
    time::Duration,
};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A running `scripts/rtsp_server.py`; killed on drop.
pub struct RtspServer {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    args: Vec<String>,
}

fn python() -> PathBuf {
    PathBuf::from("/usr/bin/python3")
}

/// The sample image directory (`VF_SAMPLES_DIR`, else `data/samples`).
pub fn samples() -> PathBuf {
    std::env::var_os("VF_SAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/samples"))
}

impl RtspServer {
    /// Starts the server with `args` (`--mount name=mode:image` …) on a free port; `None`
    /// (test skipped) when GStreamer or the samples are missing and `VF_REQUIRE_RTSP` is
    /// not set.
    pub fn start(args: &[String]) -> Option<Self> {
        let ok = python().exists()
            && samples().join("bus.jpg").is_file()
            && Command::new(python())
                .args([
                    "-c",
                    "import gi; gi.require_version('GstRtspServer', '1.0')",
                ])
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("VF_REQUIRE_RTSP").is_none(),
                "VF_REQUIRE_RTSP is set but the GStreamer RTSP server or the samples are missing"
            );
            eprintln!("skipping: no GStreamer RTSP server (scripts/test.sh installs it)");
            return None;
        }
        let mut s = Self {
            child: None,
            port: 0,
            args: args.to_vec(),
        };
        s.spawn();
        Some(s)
    }

    fn spawn(&mut self) {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/rtsp_server.py");
        let mut cmd = Command::new(python());
        cmd.arg(script)
            .args(["--port", &self.port.to_string()])
            .args(&self.args);
        let (child, port) = crate::peers::spawn_ready(&mut cmd, "rtsp_server.py");
        self.port = port;
        self.child = Some(child);
    }

    /// `rtsp://127.0.0.1:<port>/<mount>`.
    pub fn url(&self, mount: &str) -> String {
        format!("rtsp://127.0.0.1:{}/{mount}", self.port)
    }

    /// Stops the server (SIGKILL, as a crashed camera would).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Mount arguments: `name=mode:<samples>/image`.
pub fn mount(name: &str, mode: &str, image: &str) -> [String; 2] {
    [
        "--mount".into(),
        format!("{name}={mode}:{}", samples().join(image).display()),
    ]
}

/// What an MJPEG response delivered.
pub struct Mjpeg {
    /// Status line and headers.
    pub head: String,
    /// The JPEG parts.
    pub parts: Vec<Vec<u8>>,
}

/// Reads `n` parts of an MJPEG stream at `path` from a real server (HTTP/1.0, so the body is
/// close-delimited), bounded by `wait`.
pub async fn read_mjpeg(addr: std::net::SocketAddr, path: &str, n: usize, wait: Duration) -> Mjpeg {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut buf: Vec<u8> = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    let mut chunk = [0u8; 65536];
    loop {
        let (head, parts) = parse(&buf);
        if parts.len() >= n
            || (head.is_some()
                && !head.as_deref().is_some_and(|h| {
                    h.starts_with("HTTP/1.0 200") || h.starts_with("HTTP/1.1 200")
                }))
        {
            return Mjpeg {
                head: head.unwrap_or_default(),
                parts,
            };
        }
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => {
                let (head, parts) = parse(&buf);
                return Mjpeg {
                    head: head.unwrap_or_default(),
                    parts,
                };
            }
            Ok(Ok(k)) => buf.extend_from_slice(&chunk[..k]),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse(buf: &[u8]) -> (Option<String>, Vec<Vec<u8>>) {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return (None, Vec::new());
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut rest = &buf[end + 4..];
    let mut parts = Vec::new();
    while let Some(start) = find(rest, b"--frame\r\n") {
        let after = &rest[start..];
        let Some(hend) = find(after, b"\r\n\r\n") else {
            break;
        };
        let headers = String::from_utf8_lossy(&after[..hend]).to_ascii_lowercase();
        let Some(len) = headers.lines().find_map(|l| {
            l.strip_prefix("content-length:")
                .and_then(|v| v.trim().parse::<usize>().ok())
        }) else {
            break;
        };
        let body = &after[hend + 4..];
        if body.len() < len {
            break;
        }
        parts.push(body[..len].to_vec());
        rest = &body[len..];
    }
    (Some(head), parts)
}
