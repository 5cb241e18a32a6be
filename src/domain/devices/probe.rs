//! The RTSP probe behind `POST /api/v1/devices/{id}/probe` (devices-api-v1.zh-TW.txt,
//! "手動探測設備"): one short RTSP exchange that tells the failure causes apart, which OpenCV
//! cannot (shared/rtsp.md, "Probing").
//!
//! The probe connects over plain TCP to the URL's host and port (554 by default), sends
//! `OPTIONS` then `DESCRIBE`, and answers online when `DESCRIBE` answers `200`. A `401` is
//! retried once with Digest (MD5, preferred) or Basic credentials built from the
//! `WWW-Authenticate` challenges; a Bearer token is sent from the first request on.
//! Credentials in the URL's userinfo are used like configured Basic ones and never go on the
//! wire in the request URI. The whole exchange, connect included, runs under one deadline.
//!
//! `rtsps://` (default port 322) is only checked for reachability: TLS is out of scope, so a
//! port that accepts the connection answers `UNKNOWN_ERROR` ("rtsps is not probed"), while
//! refused and timed-out connections are classified as for `rtsp://`.

use std::{
    fmt, io,
    iter::Peekable,
    net::{IpAddr, SocketAddr},
    str::Chars,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use md5::{Digest as _, Md5};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};
use url::{Host, Url};

/// The overall probe deadline the spec gives for `CONNECTION_TIMEOUT` ("連線超時(5 秒)"):
/// 5 seconds for connect, requests and answers together.
pub const PROBE_DEADLINE: Duration = Duration::from_secs(5);

/// The most header bytes one RTSP answer may have (64 KiB); more is `UNKNOWN_ERROR`.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// The most body bytes (`Content-Length`) one answer may announce (1 MiB); more is
/// `UNKNOWN_ERROR`. An SDP is a few hundred bytes.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The RTSP credentials of a device (devices-api-v1.zh-TW.txt, "RTSP 認證方式(二擇一)"):
/// `rtspUsername` + `rtspPassword`, or `rtspToken`. `Debug` never shows the password or token.
#[derive(Clone, PartialEq, Eq)]
pub enum ProbeAuth {
    /// No configured credentials; userinfo in the URL, if any, is still used.
    None,
    /// Basic Auth fields, answered with Digest or Basic as the camera's challenge asks.
    Basic { username: String, password: String },
    /// Token Auth: sent as `Authorization: Bearer <token>` on every request.
    Bearer(String),
}

impl fmt::Debug for ProbeAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Self::Bearer(_) => f.debug_tuple("Bearer").field(&"<redacted>").finish(),
        }
    }
}

/// Why a probe failed: the `errorCode` values of devices-api-v1.zh-TW.txt ("手動探測設備",
/// "錯誤代碼").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeErrorCode {
    /// No complete answer within the deadline (connect, write or read).
    ConnectionTimeout,
    /// The host refused the TCP connection (wrong RTSP port).
    ConnectionRefused,
    /// Credentials were sent and rejected (401 after credentials, or 403 with credentials).
    AuthFailed,
    /// The camera asks for credentials (401) and none are configured.
    AuthRequired,
    /// Not an `rtsp://`/`rtsps://` URL with a host.
    InvalidUrl,
    /// Anything else: other statuses, a peer that is not RTSP, a connection closed early.
    UnknownError,
}

impl ProbeErrorCode {
    /// The wire name, e.g. `"CONNECTION_TIMEOUT"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConnectionTimeout => "CONNECTION_TIMEOUT",
            Self::ConnectionRefused => "CONNECTION_REFUSED",
            Self::AuthFailed => "AUTH_FAILED",
            Self::AuthRequired => "AUTH_REQUIRED",
            Self::InvalidUrl => "INVALID_URL",
            Self::UnknownError => "UNKNOWN_ERROR",
        }
    }
}

impl fmt::Display for ProbeErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one probe.
#[derive(Debug, Clone)]
pub struct ProbeOutcome {
    /// `None` when the device is online (`DESCRIBE` answered 200).
    pub error: Option<ProbeErrorCode>,
    /// A short human explanation of the error; never contains credentials. `None` when online.
    pub message: Option<String>,
    /// Wall time of the whole probe, URL parsing to classification, in milliseconds.
    pub latency_ms: f64,
}

impl ProbeOutcome {
    /// Whether the device answered `DESCRIBE` with 200.
    #[must_use]
    pub fn online(&self) -> bool {
        self.error.is_none()
    }
}

/// Probes `url` (`rtsp://` or `rtsps://`) with `auth`, all within `deadline`
/// ([`PROBE_DEADLINE`] in production). Never fails: every outcome is classified.
pub async fn probe(url: &str, auth: &ProbeAuth, deadline: Duration) -> ProbeOutcome {
    let start = Instant::now();
    let result = match parse_target(url) {
        Err(fail) => Err(fail),
        Ok(target) => match tokio::time::timeout(deadline, run(&target, auth)).await {
            Ok(result) => result,
            Err(_) => Err(Fail::new(
                ProbeErrorCode::ConnectionTimeout,
                format!(
                    "no answer from {} within {} ms",
                    target.authority(),
                    deadline.as_millis()
                ),
            )),
        },
    };
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    let (error, message) = match result {
        Ok(()) => (None, None),
        Err(fail) => (Some(fail.code), Some(fail.message)),
    };
    tracing::debug!(
        code = ?error.map(ProbeErrorCode::as_str),
        ?message,
        latency_ms,
        "RTSP probe finished"
    );
    ProbeOutcome {
        error,
        message,
        latency_ms,
    }
}

/// A classified failure.
struct Fail {
    code: ProbeErrorCode,
    message: String,
}

impl Fail {
    fn new(code: ProbeErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn unknown(message: impl Into<String>) -> Self {
        Self::new(ProbeErrorCode::UnknownError, message)
    }
}

fn io_fail(error: io::Error) -> Fail {
    use io::ErrorKind as K;
    match error.kind() {
        K::ConnectionRefused => Fail::new(ProbeErrorCode::ConnectionRefused, "connection refused"),
        K::TimedOut => Fail::new(
            ProbeErrorCode::ConnectionTimeout,
            format!("timed out: {error}"),
        ),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            Fail::unknown(format!("connection closed by the peer: {error}"))
        }
        _ => Fail::unknown(format!("I/O error: {error}")),
    }
}

/// Where and how to connect, from the URL.
struct Target {
    /// The host as written (IPv6 in brackets).
    host: String,
    /// The host when it is an IP literal: connected to without name resolution.
    ip: Option<IpAddr>,
    port: u16,
    /// The request URI: the URL without userinfo and fragment.
    uri: String,
    tls: bool,
    /// Percent-decoded username and password from the URL.
    userinfo: Option<(String, String)>,
}

impl Target {
    fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

fn parse_target(text: &str) -> Result<Target, Fail> {
    let invalid = |why: String| Fail::new(ProbeErrorCode::InvalidUrl, why);
    let mut url = Url::parse(text.trim()).map_err(|e| invalid(format!("not a URL: {e}")))?;
    let tls = match url.scheme() {
        "rtsp" => false,
        "rtsps" => true,
        _ => return Err(invalid("the scheme must be rtsp:// or rtsps://".into())),
    };
    let (host, ip) = match url.host() {
        Some(Host::Domain(d)) if !d.is_empty() => (d.to_owned(), d.parse::<IpAddr>().ok()),
        Some(Host::Ipv4(ip)) => (ip.to_string(), Some(IpAddr::V4(ip))),
        Some(Host::Ipv6(ip)) => (format!("[{ip}]"), Some(IpAddr::V6(ip))),
        _ => return Err(invalid("the URL has no host".into())),
    };
    let port = url.port().unwrap_or(if tls { 322 } else { 554 });
    let userinfo = (!url.username().is_empty()).then(|| {
        (
            percent_decode(url.username()),
            url.password().map(percent_decode).unwrap_or_default(),
        )
    });
    url.set_fragment(None);
    if url.set_username("").is_err() || url.set_password(None).is_err() {
        return Err(invalid("the URL's credentials cannot be removed".into()));
    }
    Ok(Target {
        host,
        ip,
        port,
        uri: url.into(),
        tls,
        userinfo,
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
        match hex.and_then(|h| std::str::from_utf8(h).ok()) {
            Some(h) if b == b'%' => {
                out.push(u8::from_str_radix(h, 16).unwrap_or(b'%'));
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The exchange: OPTIONS, then DESCRIBE, with one authenticated retry after a 401.
async fn run(target: &Target, auth: &ProbeAuth) -> Result<(), Fail> {
    let conn = Conn::open(target).await?;
    if target.tls {
        return Err(Fail::unknown(format!(
            "rtsps is not probed: TLS is not supported, only TCP reachability of {} was checked",
            target.authority()
        )));
    }
    let (creds, authz) = match auth {
        ProbeAuth::None => (target.userinfo.clone(), None),
        ProbeAuth::Basic { username, password } => {
            (Some((username.clone(), password.clone())), None)
        }
        ProbeAuth::Bearer(token) => (None, Some(Authorizer::Bearer(token.clone()))),
    };
    if creds.as_ref().is_some_and(|(user, _)| has_control(user))
        || matches!(auth, ProbeAuth::Bearer(token) if has_control(token))
    {
        return Err(Fail::unknown("the credentials contain control characters"));
    }
    let has_credentials = creds.is_some() || authz.is_some();
    let mut session = Session {
        target,
        conn,
        creds,
        authz,
        has_credentials,
        cseq: 0,
    };
    session.exchange("OPTIONS").await?;
    let described = session.exchange("DESCRIBE").await?;
    if described.code == 200 {
        Ok(())
    } else {
        Err(Fail::unknown(format!(
            "DESCRIBE answered {} {}",
            described.code, described.reason
        )))
    }
}

/// Whether `text` cannot go into a header line as it is.
fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

struct Session<'a> {
    target: &'a Target,
    conn: Conn,
    creds: Option<(String, String)>,
    authz: Option<Authorizer>,
    has_credentials: bool,
    cseq: u32,
}

impl Session<'_> {
    /// Sends `method` (retrying once with credentials after a 401) and returns the answer;
    /// 401 and 403 are classified here.
    async fn exchange(&mut self, method: &str) -> Result<Response, Fail> {
        let response = loop {
            self.cseq += 1;
            let authorization = self
                .authz
                .as_mut()
                .map(|a| a.header(method, &self.target.uri));
            let request = request_text(
                method,
                &self.target.uri,
                self.cseq,
                authorization.as_deref(),
            );
            self.conn.send(&request).await?;
            let response = self.conn.read_response().await?;
            if response.code != 401 {
                break response;
            }
            if self.authz.is_some() {
                return Err(Fail::new(
                    ProbeErrorCode::AuthFailed,
                    format!(
                        "{method} answered 401 {} to the credentials",
                        response.reason
                    ),
                ));
            }
            let Some((user, password)) = &self.creds else {
                return Err(Fail::new(
                    ProbeErrorCode::AuthRequired,
                    format!(
                        "{method} answered 401 {} and no credentials are configured",
                        response.reason
                    ),
                ));
            };
            self.authz = Some(Authorizer::from_challenges(&response, user, password)?);
            if response.closes() {
                self.conn = Conn::open(self.target).await?;
            }
        };
        if response.code == 403 && self.has_credentials {
            return Err(Fail::new(
                ProbeErrorCode::AuthFailed,
                format!(
                    "{method} answered 403 {} to the credentials",
                    response.reason
                ),
            ));
        }
        if response.closes() && method != "DESCRIBE" {
            self.conn = Conn::open(self.target).await?;
        }
        Ok(response)
    }
}

fn request_text(method: &str, uri: &str, cseq: u32, authorization: Option<&str>) -> String {
    let mut text = format!("{method} {uri} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: VisionFlow\r\n");
    if method == "DESCRIBE" {
        text.push_str("Accept: application/sdp\r\n");
    }
    if let Some(value) = authorization {
        text.push_str("Authorization: ");
        text.push_str(value);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text
}

/// One RTSP answer's status and headers (names lower-cased); the body is drained.
struct Response {
    code: u16,
    reason: String,
    headers: Vec<(String, String)>,
}

impl Response {
    /// The values of header `name` (lower-case), in order.
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn closes(&self) -> bool {
        self.values("connection")
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    }
}

fn parse_head(head: &str) -> Result<Response, Fail> {
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default();
    let mut parts = status.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    let Some(code) = code.filter(|_| version.starts_with("RTSP/")) else {
        let shown: String = status.chars().take(80).collect();
        return Err(Fail::unknown(format!(
            "the peer did not answer RTSP: {shown:?}"
        )));
    };
    let reason = parts.next().unwrap_or_default().trim().to_owned();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    Ok(Response {
        code,
        reason,
        headers,
    })
}

/// A connection with its read buffer (bytes read past the current answer stay for the next).
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(target: &Target) -> Result<Self, Fail> {
        let connected = match target.ip {
            Some(ip) => TcpStream::connect(SocketAddr::new(ip, target.port)).await,
            None => TcpStream::connect((target.host.as_str(), target.port)).await,
        };
        let stream = connected.map_err(|e| {
            let fail = io_fail(e);
            Fail {
                message: format!("{}: {}", target.authority(), fail.message),
                ..fail
            }
        })?;
        Ok(Self {
            stream,
            buf: Vec::new(),
        })
    }

    async fn send(&mut self, text: &str) -> Result<(), Fail> {
        self.stream
            .write_all(text.as_bytes())
            .await
            .map_err(io_fail)
    }

    /// Reads more bytes into the buffer; 0 means the peer closed.
    async fn fill(&mut self) -> Result<usize, Fail> {
        let mut chunk = [0_u8; 4096];
        let n = self.stream.read(&mut chunk).await.map_err(io_fail)?;
        self.buf
            .extend_from_slice(chunk.get(..n).unwrap_or_default());
        Ok(n)
    }

    async fn read_response(&mut self) -> Result<Response, Fail> {
        let too_big = || Fail::unknown("the answer's headers exceed 64 KiB");
        let (head_end, separator) = loop {
            let seen = self.buf.len().min(5);
            if self.buf.get(..seen) != b"RTSP/".get(..seen) {
                let shown: String = String::from_utf8_lossy(&self.buf)
                    .chars()
                    .take(40)
                    .collect();
                return Err(Fail::unknown(format!(
                    "the peer did not answer RTSP: {shown:?}"
                )));
            }
            if let Some(found) = find_head_end(&self.buf) {
                if found.0 > MAX_HEADER_BYTES {
                    return Err(too_big());
                }
                break found;
            }
            if self.buf.len() > MAX_HEADER_BYTES {
                return Err(too_big());
            }
            if self.fill().await? == 0 {
                return Err(Fail::unknown(
                    "the connection closed before a complete answer",
                ));
            }
        };
        let head =
            String::from_utf8_lossy(self.buf.get(..head_end).unwrap_or_default()).into_owned();
        self.buf.drain(..head_end + separator);
        let response = parse_head(&head)?;
        let length = match response.values("content-length").next() {
            None => 0,
            Some(value) => value
                .parse::<usize>()
                .ok()
                .filter(|&n| n <= MAX_BODY_BYTES)
                .ok_or_else(|| Fail::unknown(format!("unusable Content-Length {value:?}")))?,
        };
        while self.buf.len() < length {
            if self.fill().await? == 0 {
                return Err(Fail::unknown(
                    "the connection closed inside an answer's body",
                ));
            }
        }
        self.buf.drain(..length);
        Ok(response)
    }
}

/// Where the header block ends and how long its blank-line separator is.
fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    [crlf, lf].into_iter().flatten().min_by_key(|&(i, _)| i)
}

/// One `WWW-Authenticate` challenge: its scheme and parameters (names lower-cased).
#[derive(Debug)]
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn take_while(it: &mut Peekable<Chars<'_>>, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    while let Some(c) = it.next_if(|&c| keep(c)) {
        out.push(c);
    }
    out
}

/// Parses challenges from `WWW-Authenticate` values; one value may hold several
/// (`Digest realm="a", nonce="b", Basic realm="a"`).
fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    for value in values {
        let mut it = value.chars().peekable();
        let mut in_challenge = false;
        loop {
            take_while(&mut it, |c| c.is_whitespace() || c == ',');
            let token = take_while(&mut it, |c| !c.is_whitespace() && c != '=' && c != ',');
            if token.is_empty() {
                if it.next().is_none() {
                    break;
                }
                continue;
            }
            take_while(&mut it, char::is_whitespace);
            if in_challenge && it.next_if_eq(&'=').is_some() {
                take_while(&mut it, char::is_whitespace);
                let value = if it.next_if_eq(&'"').is_some() {
                    let mut quoted = String::new();
                    while let Some(c) = it.next() {
                        match c {
                            '"' => break,
                            '\\' => quoted.extend(it.next()),
                            _ => quoted.push(c),
                        }
                    }
                    quoted
                } else {
                    take_while(&mut it, |c| c != ',' && !c.is_whitespace())
                };
                if let Some(last) = out.last_mut() {
                    last.params.push((token.to_ascii_lowercase(), value));
                }
            } else {
                out.push(Challenge {
                    scheme: token,
                    params: Vec::new(),
                });
                in_challenge = true;
            }
        }
    }
    out
}

/// Builds the `Authorization` value for each request.
enum Authorizer {
    Bearer(String),
    Basic(String),
    Digest(Box<DigestState>),
}

impl Authorizer {
    /// Digest (MD5 or MD5-sess) when offered, else Basic when offered or when the 401 named
    /// no scheme at all.
    fn from_challenges(response: &Response, user: &str, password: &str) -> Result<Self, Fail> {
        let challenges = parse_challenges(response.values("www-authenticate"));
        if let Some(digest) = challenges
            .iter()
            .find_map(|c| DigestState::new(c, user, password))
        {
            return Ok(Self::Digest(Box::new(digest)));
        }
        if challenges.is_empty()
            || challenges
                .iter()
                .any(|c| c.scheme.eq_ignore_ascii_case("basic"))
        {
            return Ok(Self::Basic(format!(
                "Basic {}",
                STANDARD.encode(format!("{user}:{password}"))
            )));
        }
        let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
        Err(Fail::unknown(format!(
            "unsupported authentication scheme(s): {}",
            schemes.join(", ")
        )))
    }

    fn header(&mut self, method: &str, uri: &str) -> String {
        match self {
            Self::Bearer(token) => format!("Bearer {token}"),
            Self::Basic(value) => value.clone(),
            Self::Digest(digest) => digest.header(method, uri),
        }
    }
}

/// RFC 2617 / RFC 7616 Digest with MD5, `qop=auth` when offered, else the legacy form.
struct DigestState {
    username: String,
    password: String,
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: Option<String>,
    sess: bool,
    qop_auth: bool,
    cnonce: String,
    nc: u32,
}

impl DigestState {
    fn new(challenge: &Challenge, username: &str, password: &str) -> Option<Self> {
        if !challenge.scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let algorithm = challenge.param("algorithm");
        let sess = match algorithm {
            None => false,
            Some(a) if a.eq_ignore_ascii_case("md5") => false,
            Some(a) if a.eq_ignore_ascii_case("md5-sess") => true,
            Some(_) => return None,
        };
        let nonce = challenge.param("nonce")?.to_owned();
        let qop_auth = challenge
            .param("qop")
            .is_some_and(|q| q.split(',').any(|t| t.trim().eq_ignore_ascii_case("auth")));
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        Some(Self {
            username: username.to_owned(),
            password: password.to_owned(),
            realm: challenge.param("realm").unwrap_or_default().to_owned(),
            cnonce: md5_hex(&format!("{nanos}:{nonce}")),
            nonce,
            opaque: challenge.param("opaque").map(str::to_owned),
            algorithm: algorithm.map(str::to_owned),
            sess,
            qop_auth,
            nc: 0,
        })
    }

    fn header(&mut self, method: &str, uri: &str) -> String {
        let Self {
            username,
            password,
            realm,
            nonce,
            cnonce,
            ..
        } = &*self;
        let mut ha1 = md5_hex(&format!("{username}:{realm}:{password}"));
        if self.sess {
            ha1 = md5_hex(&format!("{ha1}:{nonce}:{cnonce}"));
        }
        let ha2 = md5_hex(&format!("{method}:{uri}"));
        let mut value = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\"",
            quote(username),
            quote(realm),
            quote(nonce),
            quote(uri)
        );
        if self.qop_auth {
            self.nc += 1;
            let nc = format!("{:08x}", self.nc);
            let response = md5_hex(&format!(
                "{ha1}:{}:{nc}:{}:auth:{ha2}",
                self.nonce, self.cnonce
            ));
            value.push_str(&format!(
                ", response=\"{response}\", qop=auth, nc={nc}, cnonce=\"{}\"",
                self.cnonce
            ));
        } else {
            let response = md5_hex(&format!("{ha1}:{}:{ha2}", self.nonce));
            value.push_str(&format!(", response=\"{response}\""));
            if self.sess {
                value.push_str(&format!(", cnonce=\"{}\"", self.cnonce));
            }
        }
        if let Some(algorithm) = &self.algorithm {
            value.push_str(&format!(", algorithm={algorithm}"));
        }
        if let Some(opaque) = &self.opaque {
            value.push_str(&format!(", opaque=\"{}\"", quote(opaque)));
        }
        value
    }
}

fn quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests;
