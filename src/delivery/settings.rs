//! Settings of alert delivery: `[smtp]`, `[line]`, `[delivery]` (and `secrets.key`, see
//! [`crate::crypto`]). Environment: `VISIONFLOW_SMTP__HOST`, `VISIONFLOW_SMTP__PASSWORD` …

use secrecy::SecretString;
use serde::Deserialize;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on localhost; tests).
    None,
    /// STARTTLS after connecting (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

/// The SMTP relay alert and verification mails go through (`lettre`, async, rustls).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// Relay host; unset = no e-mail (recipients can be stored, nothing is sent).
    pub host: Option<String>,
    /// Port; default 25 / 587 / 465 by `tls`.
    pub port: Option<u16>,
    /// `none`, `starttls` or `tls`.
    pub tls: SmtpTls,
    /// Login user (none = no AUTH).
    pub username: Option<String>,
    /// Login password.
    pub password: Option<SecretString>,
    /// Sender (`VisionFlow <alerts@example.com>`).
    pub from: String,
    /// Connect and command timeout, seconds.
    pub timeout_secs: f64,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: None,
            port: None,
            tls: SmtpTls::Starttls,
            username: None,
            password: None,
            from: "VisionFlow <visionflow@localhost>".into(),
            timeout_secs: 10.0,
        }
    }
}

/// The LINE Messaging API (../shared/live.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LineSettings {
    /// API base URL (tests point it at a local stand-in).
    pub api_base: String,
    /// Request timeout, seconds.
    pub timeout_secs: f64,
}

impl Default for LineSettings {
    fn default() -> Self {
        Self {
            api_base: "https://api.line.me".into(),
            timeout_secs: 10.0,
        }
    }
}

/// The outbox workers.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// Attempts before a delivery is `failed` (1–100).
    pub max_attempts: u32,
    /// First retry delay, seconds; doubled each attempt (exponential backoff, ±20 % jitter).
    pub retry_base_secs: f64,
    /// Longest retry delay, seconds.
    pub retry_max_secs: f64,
    /// Deliveries in flight at once (1–256).
    pub concurrency: usize,
    /// How long an attempt holds its delivery before another worker may take it over
    /// (after a crash), seconds; must exceed every channel's timeout.
    pub lease_secs: f64,
    /// Webhook request timeout, seconds.
    pub webhook_timeout_secs: f64,
    /// Hosts webhook URLs may name (empty = any); e.g. `["hooks.example.com"]` keeps
    /// deliveries off the internal network.
    pub webhook_allowed_hosts: Vec<String>,
    /// Fallback poll interval for due deliveries, seconds (new ones wake the workers).
    pub poll_secs: f64,
    /// Hour (0–23, local to `utc_offset`) at which daily reports go out.
    pub daily_report_hour: u32,
    /// UTC offset of `daily_report_hour` and of the report's day, `+HH:MM`.
    pub utc_offset: String,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            retry_base_secs: 2.0,
            retry_max_secs: 600.0,
            concurrency: 8,
            lease_secs: 60.0,
            webhook_timeout_secs: 10.0,
            webhook_allowed_hosts: Vec::new(),
            poll_secs: 2.0,
            daily_report_hour: 8,
            utc_offset: "+00:00".into(),
        }
    }
}

impl DeliverySettings {
    /// Checks ranges against the channel timeouts.
    ///
    /// # Errors
    /// A value out of range, or a lease not longer than a timeout.
    pub fn check(&self, smtp: &SmtpSettings, line: &LineSettings) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=100).contains(&self.max_attempts),
            "delivery.max_attempts must be in 1–100"
        );
        anyhow::ensure!(
            self.retry_base_secs > 0.0 && self.retry_max_secs >= self.retry_base_secs,
            "delivery.retry_base_secs must be > 0 and ≤ retry_max_secs"
        );
        anyhow::ensure!(
            (1..=256).contains(&self.concurrency),
            "delivery.concurrency must be in 1–256"
        );
        anyhow::ensure!(self.poll_secs > 0.0, "delivery.poll_secs must be > 0");
        anyhow::ensure!(
            self.daily_report_hour < 24,
            "delivery.daily_report_hour must be in 0–23"
        );
        let smtp_timeout = if smtp.host.is_some() {
            smtp.timeout_secs
        } else {
            0.0
        };
        let longest = smtp_timeout
            .max(line.timeout_secs)
            .max(self.webhook_timeout_secs);
        anyhow::ensure!(
            self.lease_secs > longest,
            "delivery.lease_secs ({}) must exceed the longest channel timeout ({longest})",
            self.lease_secs
        );
        Ok(())
    }
}
