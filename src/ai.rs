//! An OpenAI-compatible chat-completions client, shared by the inspection group's AI
//! analysis (`ai.*`) and the devices group's VLM capability (`vlm.*`).
//!
//! Protocol (OpenAI "Create chat completion", which local servers such as vLLM, llama.cpp
//! and Ollama also speak): `POST <base_url>/chat/completions` with `{"model", "messages",
//! …}` and `Authorization: Bearer <api_key>` when a key is set; the answer's text is
//! `choices[0].message.content`, its cost `usage.total_tokens`. A message's `content` may
//! be an array of parts (`{"type": "text"}`, `{"type": "image_url", "image_url": {"url":
//! "data:image/jpeg;base64,…"}}`) for models that see images. Keys come from the
//! environment only (ENDPOINTS.md: a spec document printed a provider key; it is redacted
//! and never used).

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};

use crate::{
    config::AiSettings,
    error::{AppError, AppResult},
};

/// A chat-completions client (unconfigured without a base URL).
#[derive(Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    base_url: Option<String>,
    model: String,
    key: Option<SecretString>,
    /// The settings section, for messages (`ai`, `vlm`).
    section: &'static str,
}

/// One answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatAnswer {
    /// `choices[0].message.content`.
    pub text: String,
    /// The model that answered (as the endpoint reports it, else the configured one).
    pub model: String,
    /// `usage.total_tokens` (0 when the endpoint reports none).
    pub total_tokens: i64,
}

fn unavailable(message: String) -> AppError {
    AppError::Unavailable {
        message,
        retry_after: 60,
    }
}

impl ChatClient {
    /// A client of one settings section (`section` names it in errors: `ai`, `vlm`).
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(s: &AiSettings, section: &'static str) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs_f64(s.timeout_secs.max(0.1)))
                .build()?,
            base_url: s
                .base_url
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(|u| u.trim_end_matches('/').to_owned()),
            model: s.model.clone(),
            key: s.api_key.clone(),
            section,
        })
    }

    /// Whether a base URL is set.
    pub fn is_configured(&self) -> bool {
        self.base_url.is_some()
    }

    /// Sends a system and a user text message; answers the content and the model name.
    ///
    /// # Errors
    /// As [`Self::chat`].
    pub async fn complete(&self, system: &str, user: &str) -> AppResult<(String, String)> {
        let a = self
            .chat(
                json!([
                    {"role": "system", "content": system},
                    {"role": "user", "content": user}
                ]),
                json!({"temperature": 0.2}),
            )
            .await?;
        Ok((a.text, a.model))
    }

    /// Sends `messages` (an array of chat messages) with the members of `extra` (an object:
    /// `temperature`, `response_format` …) added to the request body.
    ///
    /// # Errors
    /// `UNAVAILABLE` when unconfigured, unreachable, answering a non-2xx status or no
    /// `choices[0].message.content`.
    pub async fn chat(&self, messages: Value, extra: Value) -> AppResult<ChatAnswer> {
        let section = self.section;
        let Some(base) = &self.base_url else {
            return Err(unavailable(format!(
                "{section} is not configured (set {section}.base_url, {section}.model, {section}.api_key)"
            )));
        };
        let mut body = json!({"model": self.model, "messages": messages});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let mut req = self
            .http
            .post(format!("{base}/chat/completions"))
            .json(&body);
        if let Some(k) = &self.key {
            req = req.bearer_auth(k.expose_secret());
        }
        let r = req
            .send()
            .await
            .map_err(|e| unavailable(format!("{section} endpoint unreachable: {e}")))?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or_default();
        if !status.is_success() {
            let msg = body["error"]["message"].as_str().unwrap_or("no message");
            return Err(unavailable(format!(
                "{section} endpoint answered {status}: {msg}"
            )));
        }
        let text = body["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| {
                unavailable(format!(
                    "{section} endpoint answered no choices[0].message.content"
                ))
            })?;
        Ok(ChatAnswer {
            text: text.to_owned(),
            model: body["model"].as_str().unwrap_or(&self.model).to_owned(),
            total_tokens: body["usage"]["total_tokens"].as_i64().unwrap_or(0).max(0),
        })
    }
}
