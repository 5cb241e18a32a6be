//! The LINE Messaging API (LINE Notify ended on 31 March 2025; ENDPOINTS.md,
//! ../shared/live.md): `GET /v2/bot/info` checks a channel access token,
//! `POST /v2/bot/message/push` (`{"to", "messages"}`) sends to a user or group,
//! `POST /v2/bot/message/broadcast` (`{"messages"}`) to every friend of the bot. Every
//! attempt of a delivery repeats its `X-Line-Retry-Key`; LINE answers a repeat with 409,
//! which means the first attempt was accepted — delivered, not failed.

use std::time::Duration;

use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::{Message, SendError, retry_after, settings::LineSettings};

/// A token check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verify {
    /// LINE accepted it.
    Valid {
        /// The bot's user id.
        user_id: Option<String>,
        /// The bot's display name.
        display_name: Option<String>,
    },
    /// LINE refused it (401/403 …): LINE's message.
    Invalid(String),
    /// LINE could not be asked (network, time-out, 5xx).
    Unreachable(String),
}

/// A client of one LINE API base.
#[derive(Clone)]
pub struct LineClient {
    http: reqwest::Client,
    base: String,
}

/// LINE's error body's `message` (and `details[].message`), else the status.
fn error_text(status: reqwest::StatusCode, body: &str) -> String {
    let parsed: Option<Json> = serde_json::from_str(body).ok();
    let msg = parsed
        .as_ref()
        .and_then(|j| j["message"].as_str())
        .map(str::to_owned);
    let details: Vec<String> = parsed
        .as_ref()
        .and_then(|j| j["details"].as_array())
        .map(|d| {
            d.iter()
                .filter_map(|x| x["message"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    match (msg, details.is_empty()) {
        (Some(m), true) => format!("LINE {status}: {m}"),
        (Some(m), false) => format!("LINE {status}: {m} ({})", details.join("; ")),
        (None, _) => format!("LINE {status}"),
    }
}

impl LineClient {
    /// A client of `line.api_base`.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(s: &LineSettings) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs_f64(s.timeout_secs))
                .build()?,
            base: s.api_base.trim_end_matches('/').to_owned(),
        })
    }

    /// Checks a channel access token with `GET /v2/bot/info`.
    pub async fn verify(&self, token: &str) -> Verify {
        let r = self
            .http
            .get(format!("{}/v2/bot/info", self.base))
            .bearer_auth(token)
            .send()
            .await;
        let r = match r {
            Ok(r) => r,
            Err(e) => return Verify::Unreachable(format!("LINE unreachable: {e}")),
        };
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        if status.is_success() {
            let j: Json = serde_json::from_str(&body).unwrap_or_default();
            Verify::Valid {
                user_id: j["userId"].as_str().map(str::to_owned),
                display_name: j["displayName"].as_str().map(str::to_owned),
            }
        } else if status.is_server_error() || status.as_u16() == 429 {
            Verify::Unreachable(error_text(status, &body))
        } else {
            Verify::Invalid(error_text(status, &body))
        }
    }

    /// The message objects of a delivery: a text message (camera, zone, class, time) and,
    /// when `image_url` is given (HTTPS only, LINE's rule), an image message.
    pub fn messages(msg: &Message, image_url: Option<&str>) -> Json {
        let mut text = format!("{}\n{}", msg.subject, msg.text);
        if text.chars().count() > 5000 {
            text = text.chars().take(4999).collect::<String>() + "…";
        }
        let mut m = vec![json!({"type": "text", "text": text})];
        if let Some(u) = image_url {
            m.push(json!({"type": "image", "originalContentUrl": u, "previewImageUrl": u}));
        }
        Json::Array(m)
    }

    /// Pushes to `target` (a user or group id) or, without one, broadcasts.
    ///
    /// # Errors
    /// Retry on time-outs, network errors, 429 and 5xx; permanent on other refusals.
    pub async fn send(
        &self,
        token: &str,
        target: Option<&str>,
        msg: &Message,
        image_url: Option<&str>,
        retry_key: Uuid,
    ) -> Result<(), SendError> {
        let messages = Self::messages(msg, image_url);
        let (path, body) = match target {
            Some(to) => ("push", json!({"to": to, "messages": messages})),
            None => ("broadcast", json!({"messages": messages})),
        };
        let r = self
            .http
            .post(format!("{}/v2/bot/message/{path}", self.base))
            .bearer_auth(token)
            .header("X-Line-Retry-Key", retry_key.to_string())
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::retry(format!("LINE unreachable: {e}")))?;
        let status = r.status();
        let after = retry_after(r.headers());
        let text = r.text().await.unwrap_or_default();
        match status.as_u16() {
            200..=299 => Ok(()),
            // The retry key was seen: an earlier attempt was accepted.
            409 => Ok(()),
            429 | 500..=599 => Err(SendError::Retry {
                error: error_text(status, &text),
                after,
            }),
            _ => Err(SendError::Permanent(error_text(status, &text))),
        }
    }
}
