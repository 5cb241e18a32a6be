//! AI analysis (inspection-api.zh-CN.md "AI"; ENDPOINTS.md: the document's section is a call
//! to an operator-configured OpenAI-compatible chat endpoint — it printed a provider key,
//! which is redacted and never used). `POST <ai.base_url>/chat/completions` with
//! `{"model", "messages": [system, user]}`, `Authorization: Bearer <ai.api_key>` when set;
//! the answer is `choices[0].message.content` ([`crate::ai::ChatClient`]).

use uuid::Uuid;

use super::InspectionService;
use crate::error::{AppError, AppResult};

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
