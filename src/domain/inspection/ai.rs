//! AI analysis (inspection-api.zh-CN.md "AI"; ENDPOINTS.md: the document's section is a call
//! to an operator-configured OpenAI-compatible chat endpoint — it printed a provider key,
//! which is redacted and never used). `POST <ai.base_url>/chat/completions` with
//! `{"model", "messages": [system, user]}`, `Authorization: Bearer <ai.api_key>` when set;
//! the answer is `choices[0].message.content`.

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use uuid::Uuid;

use super::InspectionService;
use crate::{
    config::AiSettings,
    error::{AppError, AppResult},
};

/// A chat-completions client (unconfigured without `ai.base_url`).
#[derive(Clone)]
pub struct AiClient {
    http: reqwest::Client,
    base_url: Option<String>,
    model: String,
    key: Option<SecretString>,
}

/// The model's analysis.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The text the model answered.
    pub text: String,
    /// The model that answered (as the endpoint reports it).
    pub model: String,
    /// Records analysed.
    pub records: usize,
}

fn unavailable(message: String) -> AppError {
    AppError::Unavailable {
        message,
        retry_after: 60,
    }
}

impl AiClient {
    /// A client of `ai.*`.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(s: &AiSettings) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs_f64(s.timeout_secs))
                .build()?,
            base_url: s
                .base_url
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(|u| u.trim_end_matches('/').to_owned()),
            model: s.model.clone(),
            key: s.api_key.clone(),
        })
    }

    /// Sends one conversation; answers the content and the model name.
    ///
    /// # Errors
    /// `UNAVAILABLE` when unconfigured, unreachable or answering an error.
    pub async fn complete(&self, system: &str, user: &str) -> AppResult<(String, String)> {
        let Some(base) = &self.base_url else {
            return Err(unavailable(
                "AI analysis is not configured (set ai.base_url, ai.model, ai.api_key)".into(),
            ));
        };
        let mut req = self
            .http
            .post(format!("{base}/chat/completions"))
            .json(&json!({
                "model": self.model,
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": user}
                ],
                "temperature": 0.2
            }));
        if let Some(k) = &self.key {
            req = req.bearer_auth(k.expose_secret());
        }
        let r = req
            .send()
            .await
            .map_err(|e| unavailable(format!("AI endpoint unreachable: {e}")))?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or_default();
        if !status.is_success() {
            let msg = body["error"]["message"].as_str().unwrap_or("no message");
            return Err(unavailable(format!("AI endpoint answered {status}: {msg}")));
        }
        let text = body["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| {
                unavailable("AI endpoint answered no choices[0].message.content".into())
            })?;
        let model = body["model"].as_str().unwrap_or(&self.model).to_owned();
        Ok((text.to_owned(), model))
    }
}

impl InspectionService {
    /// Asks the configured model to analyse the caller's `limit` (1–500, default 50)
    /// newest records: defect trends, frequent labels, anomalies.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` on `limit`; `UNAVAILABLE` as [`AiClient::complete`].
    pub async fn analyze(&self, account_id: Uuid, limit: Option<i64>) -> AppResult<Analysis> {
        let limit = limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(AppError::field("limit", "must be between 1 and 500"));
        }
        let rows = self.recent(account_id, Some(limit)).await?;
        let mut table = String::from("figId,name,date,time,label,num,dice\n");
        for r in &rows {
            let (date, time) = self.local(r.created_at);
            table.push_str(&format!(
                "{},{},{date},{time},{},{},{:.3}\n",
                r.id,
                r.name.replace([',', '\n'], " "),
                r.label,
                r.num,
                r.dice
            ));
        }
        let system = "You are a quality-inspection analyst. From the inspection records given as CSV \
(num = defects found in the image, dice = the best defect's confidence, 0-1), summarise the defect \
rate and its trend over time, the most frequent labels, and anything anomalous. Be concise; answer \
in the language of the file names when it is not English.";
        let user = format!("{} most recent inspection records:\n{table}", rows.len());
        let (text, model) = self.ai.complete(system, &user).await?;
        Ok(Analysis {
            text,
            model,
            records: rows.len(),
        })
    }
}
