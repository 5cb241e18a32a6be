//! Webhooks signed the Standard Webhooks way (<https://www.standardwebhooks.com/>, spec
//! "Signature scheme"): headers `webhook-id` (the delivery's idempotency key, the same on
//! every attempt), `webhook-timestamp` (Unix seconds of the attempt) and
//! `webhook-signature` = `v1,` + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>")), where
//! the key is the base64 part of the endpoint's `whsec_…` secret. Body:
//! `{"type": "alert.raised", "timestamp": RFC 3339, "data": {…}}`. Any 2xx is delivered;
//! 410 Gone is permanent; anything else is retried.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use super::{Message, SendError, retry_after};

/// A new random secret, `whsec_` + base64 of 32 bytes.
pub fn new_secret() -> String {
    let mut k = [0u8; 32];
    rand::fill(&mut k[..]);
    format!("whsec_{}", B64.encode(k))
}

/// `v1,<base64 signature>` of one message.
///
/// # Errors
/// A secret that is not `whsec_` + base64.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> anyhow::Result<String> {
    let key = B64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| anyhow::anyhow!("webhook secret is not base64"))?;
    let mut m = <Hmac<Sha256>>::new_from_slice(&key).expect("HMAC takes any key length");
    m.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", B64.encode(m.finalize().into_bytes())))
}

/// The webhook id of a delivery.
pub fn message_id(key: Uuid) -> String {
    format!("msg_{}", key.simple())
}

/// An HTTP client for webhook deliveries.
#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
}

impl WebhookClient {
    /// A client with a per-request time-out.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(timeout_secs: f64) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs_f64(timeout_secs))
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }

    /// POSTs one signed event.
    ///
    /// # Errors
    /// Retry on network errors and non-2xx answers; permanent on 410 or a bad secret.
    pub async fn send(
        &self,
        url: &str,
        secret: &str,
        key: Uuid,
        msg: &Message,
    ) -> Result<(), SendError> {
        let id = message_id(key);
        let ts = chrono::Utc::now().timestamp();
        let body = json!({
            "type": msg.event_type(),
            "timestamp": msg.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": msg.data,
        })
        .to_string();
        let sig = sign(secret, &id, ts, &body).map_err(|e| SendError::Permanent(e.to_string()))?;
        let r = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sig)
            .body(body)
            .send()
            .await
            .map_err(|e| SendError::retry(format!("webhook unreachable: {e}")))?;
        let status = r.status();
        match status.as_u16() {
            200..=299 => Ok(()),
            410 => Err(SendError::Permanent(format!("webhook answered {status}"))),
            _ => Err(SendError::Retry {
                error: format!("webhook answered {status}"),
                after: retry_after(r.headers()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The reference vector of standard-webhooks' libraries (test "testSignatureHappyPath").
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .expect("test value");
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
