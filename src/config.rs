//! Typed, layered configuration: built-in defaults, then a TOML file, then `VISIONFLOW_*`
//! environment variables, then command-line flags (each layer overrides the one before).
//!
//! The file is `--config FILE`, else `$VISIONFLOW_CONFIG`, else `./visionflow.toml` when it
//! exists. Nested keys use `__` in the environment: `VISIONFLOW_AUTH__JWT_SECRET`,
//! `VISIONFLOW_LOG__FORMAT=json` (`VISIONFLOW_CONFIG` and `VISIONFLOW_PYTHON`, the Python
//! that runs `pip download`, are read directly and are not settings). Secrets are
//! [`SecretString`]s: they never appear in `Debug` output or logs.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

pub use crate::delivery::settings::{DeliverySettings, LineSettings, SmtpSettings, SmtpTls};

/// The devices group's loops (devices-api-v1.zh-TW.txt): metering, schedules, auto-probe.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceSettings {
    /// Seconds between metering/schedule steps (slot boundaries are met within this);
    /// 0 turns the loop off.
    pub tick_secs: f64,
    /// Seconds between auto-probes of `online`/`unknown` devices (the document's 60); 0
    /// turns it off.
    pub probe_interval_secs: f64,
    /// Outside a device's peak slots, at most one alert per zone per this many seconds;
    /// later ones are counted in it (`coalescedCount`). Devices without peak slots are
    /// never coalesced.
    pub offpeak_alert_interval_secs: f64,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self {
            tick_secs: 15.0,
            probe_interval_secs: 60.0,
            offpeak_alert_interval_secs: 600.0,
        }
    }
}

impl DeviceSettings {
    /// The loop intervals.
    pub fn loops(&self) -> crate::domain::devices::workers::LoopSettings {
        let ok = |v: f64| {
            if v.is_finite() && v > 0.0 {
                v.max(0.05)
            } else {
                0.0
            }
        };
        crate::domain::devices::workers::LoopSettings {
            tick_secs: ok(self.tick_secs),
            probe_interval_secs: ok(self.probe_interval_secs),
        }
    }
}

/// The inspection group (inspection-api.zh-CN.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InspectionSettings {
    /// The YOLO-seg model that finds "defects" (an installed model name; a user's own
    /// export via `visionflow models import`). Default: the installed `vehicles` model.
    pub model: String,
    /// IANA time zone of the records' `date` / `time` and of day boundaries (`Asia/Taipei`).
    pub timezone: String,
    /// Most images in one `POST /api/detect` (more → 413).
    pub max_images: usize,
    /// Images per forward pass inside a batch. 1 on CPU: `scripts/bench_inspection.py`
    /// measured batched passes ~20 % slower per image there (candle's CPU convolutions);
    /// raise it with the `cuda` feature.
    pub batch_size: usize,
}

impl Default for InspectionSettings {
    fn default() -> Self {
        Self {
            model: "vehicles".into(),
            timezone: "UTC".into(),
            max_images: 32,
            batch_size: 1,
        }
    }
}

impl InspectionSettings {
    /// The configured time zone.
    ///
    /// # Errors
    /// Not an IANA name; limits out of range.
    pub fn tz(&self) -> anyhow::Result<chrono_tz::Tz> {
        anyhow::ensure!(
            (1..=256).contains(&self.max_images) && (1..=64).contains(&self.batch_size),
            "inspection.max_images must be in 1–256 and inspection.batch_size in 1–64"
        );
        self.timezone.parse().map_err(|_| {
            anyhow::anyhow!(
                "inspection.timezone {:?} is not an IANA time zone like Asia/Taipei",
                self.timezone
            )
        })
    }
}

/// An OpenAI-compatible chat-completions endpoint (`POST <base_url>/chat/completions`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AiSettings {
    /// Base URL (`https://api.openai.com/v1`, a local server's `/v1`); unset = AI off (503).
    pub base_url: Option<String>,
    /// Model name sent with each request.
    pub model: String,
    /// Bearer key (a secret; never in the repository).
    pub api_key: Option<SecretString>,
    /// Request timeout, seconds.
    pub timeout_secs: f64,
}

impl Default for AiSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            model: "gpt-4o-mini".into(),
            api_key: None,
            timeout_secs: 60.0,
        }
    }
}

/// Secrets at rest ([`crate::crypto::SecretBox`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsSettings {
    /// Base64 of 32 random bytes (`openssl rand -base64 32`); default: `<data_dir>/secret.key`.
    pub key: Option<SecretString>,
}

/// All settings of a VisionFlow process.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Directory for the SQLite database, the JWT key file and stored artifacts.
    pub data_dir: PathBuf,
    /// Database URL (`sqlite://…` or `postgres://…`); default: `<data_dir>/visionflow.db`.
    pub database_url: Option<SecretString>,
    /// Logging.
    pub log: LogSettings,
    /// Tokens and passwords.
    pub auth: AuthSettings,
    /// HTTP limits.
    pub http: HttpSettings,
    /// GraphQL limits.
    pub graphql: GraphqlSettings,
    /// Vision models.
    pub models: ModelsSettings,
    /// Inference threads and queue.
    pub inference: InferenceSettings,
    /// Which REST groups answer callers without credentials.
    pub anonymous: AnonymousSettings,
    /// Parking group settings.
    pub parking: ParkingSettings,
    /// Live cameras.
    pub cameras: CameraSettings,
    /// Base URL of links in mails and LINE messages (`https://vision.example.com`);
    /// default `http://<listen>`.
    pub public_base_url: Option<String>,
    /// The key that seals stored credentials.
    pub secrets: SecretsSettings,
    /// The SMTP relay.
    pub smtp: SmtpSettings,
    /// The LINE Messaging API.
    pub line: LineSettings,
    /// The delivery workers.
    pub delivery: DeliverySettings,
    /// The inspection group.
    pub inspection: InspectionSettings,
    /// The OpenAI-compatible chat endpoint of the inspection group's AI analysis.
    pub ai: AiSettings,
    /// The devices group's VLM capability (level_02): an OpenAI-compatible chat-completions
    /// endpoint that sees images; unset = no VLM readings.
    pub vlm: AiSettings,
    /// The devices group's loops.
    pub devices: DeviceSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            log: LogSettings::default(),
            auth: AuthSettings::default(),
            http: HttpSettings::default(),
            graphql: GraphqlSettings::default(),
            models: ModelsSettings::default(),
            inference: InferenceSettings::default(),
            anonymous: AnonymousSettings::default(),
            parking: ParkingSettings::default(),
            cameras: CameraSettings::default(),
            public_base_url: None,
            secrets: SecretsSettings::default(),
            smtp: SmtpSettings::default(),
            line: LineSettings::default(),
            delivery: DeliverySettings::default(),
            inspection: InspectionSettings::default(),
            ai: AiSettings::default(),
            vlm: AiSettings::default(),
            devices: DeviceSettings::default(),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging settings. `RUST_LOG`, when set, overrides `level`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// An `EnvFilter` directive, e.g. `info` or `visionflow=debug,sqlx=warn`.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info,sqlx=warn,sea_orm=warn".into(),
        }
    }
}

/// Token and password settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC key for JWTs (HS256). When unset, a random key is created once in
    /// `<data_dir>/jwt.key` (mode 0600) and reused.
    pub jwt_secret: Option<SecretString>,
    /// Access-token lifetime, seconds.
    pub access_token_ttl_secs: u64,
    /// Refresh-token lifetime, seconds.
    pub refresh_token_ttl_secs: u64,
    /// Argon2id memory cost, KiB (OWASP: 19456).
    pub argon2_memory_kib: u32,
    /// Argon2id iterations (OWASP: 2).
    pub argon2_iterations: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
        }
    }
}

/// HTTP limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 8 * 1024 * 1024,
        }
    }
}

/// GraphQL limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GraphqlSettings {
    /// Deepest selection set accepted.
    pub depth_limit: usize,
    /// Largest query complexity accepted (each field counts 1 unless it says otherwise).
    pub complexity_limit: usize,
}

impl Default for GraphqlSettings {
    fn default() -> Self {
        Self {
            depth_limit: 16,
            complexity_limit: 2_000,
        }
    }
}

/// Vision model settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelsSettings {
    /// Where installed models live; default `<data_dir>/models`.
    pub dir: Option<PathBuf>,
}

/// Inference service settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InferenceSettings {
    /// Worker threads running models (each forward pass already uses every core).
    pub workers: usize,
    /// Jobs that may wait; when full, requests answer 503 with `Retry-After`.
    pub queue: usize,
    /// Whether models are loaded at start-up (off: detection answers 503).
    pub enabled: bool,
}

impl Default for InferenceSettings {
    fn default() -> Self {
        Self {
            workers: 1,
            queue: 64,
            enabled: true,
        }
    }
}

/// Anonymous access (ENDPOINTS.md "Decision (auth)": groups whose document names no auth —
/// `alpr`, `inspection` — may be opened to callers without credentials, only explicitly).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnonymousSettings {
    /// Open groups, e.g. `["alpr"]`. Anonymous callers act as the built-in account
    /// `anonymous` (created on first use), so their data stays apart from every real one.
    pub groups: Vec<String>,
}

/// Parking group settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParkingSettings {
    /// UTC offset in which timestamps without one (`2025-07-03 17:06:27`, the crawler's
    /// `last_update`) are read, `+HH:MM`.
    pub naive_utc_offset: String,
}

impl Default for ParkingSettings {
    fn default() -> Self {
        Self {
            naive_utc_offset: "+00:00".into(),
        }
    }
}

/// Live camera settings (Frigate's detect defaults, ../shared/live.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CameraSettings {
    /// Analysed frames per second per camera (0.1–30).
    pub detect_fps: f64,
    /// Consecutive in-zone frames before an object counts in a zone (1–100).
    pub inertia: u32,
    /// Seconds without a frame before a camera is `offline` (1–600).
    pub offline_after_secs: f64,
    /// RTSP open and read timeout, seconds (1–60).
    pub timeout_secs: f64,
    /// Hosts stream URLs may name (empty = any); e.g. `["127.0.0.1"]` keeps workers on
    /// loopback.
    pub allowed_hosts: Vec<String>,
    /// Plate cameras: agreeing reads that make a vehicle's plate final (1–50).
    pub plate_agreement: usize,
    /// Plate cameras: reads after which a vehicle's plate is final regardless
    /// (`plate_agreement`–100).
    pub plate_max_reads: usize,
}

impl Default for CameraSettings {
    fn default() -> Self {
        Self {
            detect_fps: 5.0,
            inertia: 3,
            offline_after_secs: 10.0,
            timeout_secs: 5.0,
            allowed_hosts: Vec::new(),
            plate_agreement: 3,
            plate_max_reads: 10,
        }
    }
}

impl CameraSettings {
    /// The live path's settings.
    ///
    /// # Errors
    /// A value out of its range.
    pub fn live(&self) -> anyhow::Result<crate::live::LiveSettings> {
        anyhow::ensure!(
            (0.1..=30.0).contains(&self.detect_fps),
            "cameras.detect_fps must be in 0.1–30"
        );
        anyhow::ensure!(
            (1..=100).contains(&self.inertia),
            "cameras.inertia must be in 1–100"
        );
        anyhow::ensure!(
            (1.0..=600.0).contains(&self.offline_after_secs),
            "cameras.offline_after_secs must be in 1–600"
        );
        anyhow::ensure!(
            (1.0..=60.0).contains(&self.timeout_secs),
            "cameras.timeout_secs must be in 1–60"
        );
        anyhow::ensure!(
            (1..=50).contains(&self.plate_agreement),
            "cameras.plate_agreement must be in 1–50"
        );
        anyhow::ensure!(
            (self.plate_agreement..=100).contains(&self.plate_max_reads),
            "cameras.plate_max_reads must be in cameras.plate_agreement–100"
        );
        Ok(crate::live::LiveSettings {
            detect_fps: self.detect_fps,
            inertia: self.inertia,
            timings: crate::live::capture::Timings {
                offline_after: std::time::Duration::from_secs_f64(self.offline_after_secs),
                ..Default::default()
            },
            plates: crate::live::plates::PlateSettings {
                agreement: self.plate_agreement,
                max_reads: self.plate_max_reads,
            },
        })
    }
}

impl ParkingSettings {
    /// The parsed offset.
    ///
    /// # Errors
    /// Not of the form `+HH:MM` / `-HH:MM`.
    pub fn offset(&self) -> anyhow::Result<chrono::FixedOffset> {
        self.naive_utc_offset.parse().map_err(|_| {
            anyhow::anyhow!(
                "parking.naive_utc_offset {:?} is not an offset like +08:00",
                self.naive_utc_offset
            )
        })
    }
}

/// Values given on the command line; `None` leaves the lower layers in charge.
#[derive(Debug, Default, Serialize)]
pub struct CliOverrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Settings {
    /// Loads the layers: defaults, file, environment, command line.
    ///
    /// # Errors
    /// A missing explicit config file, a malformed file, an unknown key or a value of the
    /// wrong type, naming the key and the layer it came from.
    pub fn load(
        config_file: Option<&Path>,
        overrides: &CliOverrides,
    ) -> Result<Self, Box<figment::Error>> {
        let env_file = std::env::var_os("VISIONFLOW_CONFIG").map(PathBuf::from);
        let file = config_file.map(Path::to_path_buf).or(env_file);
        let mut figment = Figment::new();
        match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(Box::new(figment::Error::from(format!(
                        "config file {} does not exist",
                        path.display()
                    ))));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None => figment = figment.merge(Toml::file("visionflow.toml")),
        }
        figment
            .merge(
                Env::prefixed("VISIONFLOW_")
                    .split("__")
                    .ignore(&["config", "python"]),
            )
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)
    }

    /// The directory of installed models.
    pub fn models_dir(&self) -> PathBuf {
        self.models
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("models"))
    }

    /// Base URL of links sent out: `public_base_url` without a trailing `/`, else
    /// `http://<listen>`.
    pub fn public_base(&self) -> String {
        match &self.public_base_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The database URL to connect to: the configured one or the SQLite file in `data_dir`.
    pub fn database_url(&self) -> String {
        use secrecy::ExposeSecret as _;
        match &self.database_url {
            Some(url) => url.expose_secret().to_owned(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("visionflow.db").display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let settings = Settings {
            database_url: Some(SecretString::from("postgres://u:hunter2@db/x")),
            auth: AuthSettings {
                jwt_secret: Some(SecretString::from("topsecretkey")),
                ..AuthSettings::default()
            },
            ..Settings::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("topsecretkey"), "{shown}");
    }

    #[test]
    fn file_then_cli_layers() {
        let dir = std::env::temp_dir().join(format!("vf-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("vf.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9999\"\n[log]\nformat = \"json\"\n[auth]\naccess_token_ttl_secs = 60\n",
        )
        .expect("write");
        let s = Settings::load(Some(&file), &CliOverrides::default()).expect("loads");
        assert_eq!(s.listen.port(), 9999);
        assert_eq!(s.log.format, LogFormat::Json);
        assert_eq!(s.auth.access_token_ttl_secs, 60);
        let s = Settings::load(
            Some(&file),
            &CliOverrides {
                listen: Some("127.0.0.1:7000".parse().expect("addr")),
                ..CliOverrides::default()
            },
        )
        .expect("loads");
        assert_eq!(s.listen.port(), 7000);
        std::fs::write(&file, "no_such_key = 1\n").expect("write");
        let err = Settings::load(Some(&file), &CliOverrides::default()).expect_err("unknown key");
        assert!(err.to_string().contains("no_such_key"), "{err}");
        assert!(Settings::load(Some(&dir.join("missing.toml")), &CliOverrides::default()).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
