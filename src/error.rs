//! The application error type and its GraphQL form.
//!
//! Every GraphQL error VisionFlow returns carries a stable `extensions.code`:
//! `UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, `BAD_USER_INPUT`, `CONFLICT`, `RATE_LIMITED`,
//! `UNAVAILABLE` or `INTERNAL`; optionally a finer `extensions.reason` (`INVALID_TOKEN`,
//! `USERNAME_TAKEN` …), `extensions.fields` (`{"field": ["message"]}`) for validation failures
//! and `extensions.retryAfter` (seconds). The REST groups render the same values in their
//! own documented styles (`rest_compat::error`).
//!
//! `AppError` deliberately does not implement `Display`: async-graphql converts any
//! `Display` type into an error without extensions, and that path must not exist.

use std::{collections::BTreeMap, sync::Arc};

use async_graphql::ErrorExtensionValues;

/// An error a resolver or service can return.
#[derive(Debug, Clone)]
pub enum AppError {
    /// Missing or invalid credentials. `reason`: `AUTH_REQUIRED`, `INVALID_TOKEN`,
    /// `INVALID_CREDENTIALS`, `INVALID_API_KEY`.
    Unauthenticated {
        /// Machine-readable cause.
        reason: &'static str,
        /// Message.
        message: String,
    },
    /// Authenticated but not allowed.
    Forbidden(String),
    /// Not found (or owned by another account).
    NotFound {
        /// Machine-readable cause, e.g. `CAMERA_NOT_FOUND`.
        reason: Option<&'static str>,
        /// Message.
        message: String,
    },
    /// Invalid input, with per-field messages.
    BadUserInput {
        /// Message.
        message: String,
        /// Field → messages.
        fields: BTreeMap<String, Vec<String>>,
    },
    /// A uniqueness rule would be broken.
    Conflict {
        /// Machine-readable cause, e.g. `USERNAME_TAKEN`.
        reason: &'static str,
        /// Message.
        message: String,
    },
    /// Too many requests; retry after the given seconds.
    RateLimited {
        /// Seconds.
        retry_after: u64,
    },
    /// Saturated; retry after the given seconds.
    Unavailable {
        /// Message.
        message: String,
        /// Seconds.
        retry_after: u64,
    },
    /// The request is larger than a limit (`PAYLOAD_TOO_LARGE`, REST 413).
    PayloadTooLarge(String),
    /// Anything unexpected. Logged; the client sees a generic message.
    Internal(Arc<anyhow::Error>),
}

/// Result alias for services and resolvers.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A validation error on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut fields = BTreeMap::new();
        fields.insert(field.to_owned(), vec![message.clone()]);
        Self::BadUserInput {
            message: format!("{field}: {message}"),
            fields,
        }
    }

    /// A validation error from several fields (none when `fields` is empty).
    pub fn fields(fields: BTreeMap<String, Vec<String>>) -> AppResult<()> {
        if fields.is_empty() {
            return Ok(());
        }
        let message = if fields.len() == 1 {
            let (f, m) = fields.iter().next().expect("one field");
            format!("{f}: {}", m.join("; "))
        } else {
            "Request data failed validation".to_owned()
        };
        Err(Self::BadUserInput { message, fields })
    }

    /// An unexpected failure (logged, reported as `INTERNAL`) — except text the database
    /// cannot store (PostgreSQL refuses NUL characters in text and `\u0000` in JSON; SQLite
    /// takes them), which is the client's input and answers `BAD_USER_INPUT`.
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        let e = e.into();
        let text = format!("{e:#}");
        if text.contains("invalid byte sequence for encoding")
            || text.contains("unsupported Unicode escape sequence")
        {
            return Self::BadUserInput {
                message: "Text must not contain NUL (U+0000) characters".into(),
                fields: BTreeMap::new(),
            };
        }
        Self::Internal(Arc::new(e))
    }

    /// Missing credentials.
    pub fn auth_required() -> Self {
        Self::Unauthenticated {
            reason: "AUTH_REQUIRED",
            message: "Authentication required".into(),
        }
    }

    /// Invalid, expired or revoked token.
    pub fn invalid_token() -> Self {
        Self::Unauthenticated {
            reason: "INVALID_TOKEN",
            message: "Token is invalid or expired".into(),
        }
    }

    /// Not found with a generic reason.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound {
            reason: None,
            message: message.into(),
        }
    }

    /// The stable `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated { .. } => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::BadUserInput { .. } => "BAD_USER_INPUT",
            Self::Conflict { .. } => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Unavailable { .. } => "UNAVAILABLE",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::internal(e)
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        Self::internal(e)
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(e: AppError) -> Self {
        let mut ext = ErrorExtensionValues::default();
        ext.set("code", e.code());
        let message = match e {
            AppError::Unauthenticated { reason, message } => {
                ext.set("reason", reason);
                message
            }
            AppError::Forbidden(message) => message,
            AppError::NotFound { reason, message } => {
                if let Some(r) = reason {
                    ext.set("reason", r);
                }
                message
            }
            AppError::BadUserInput { message, fields } => {
                let map: async_graphql::indexmap::IndexMap<
                    async_graphql::Name,
                    async_graphql::Value,
                > = fields
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            async_graphql::Name::new(k),
                            async_graphql::Value::List(
                                v.into_iter().map(async_graphql::Value::String).collect(),
                            ),
                        )
                    })
                    .collect();
                ext.set("fields", async_graphql::Value::Object(map));
                message
            }
            AppError::Conflict { reason, message } => {
                ext.set("reason", reason);
                message
            }
            AppError::RateLimited { retry_after } => {
                ext.set("retryAfter", retry_after);
                "Too many requests; retry later".to_owned()
            }
            AppError::Unavailable {
                message,
                retry_after,
            } => {
                ext.set("retryAfter", retry_after);
                message
            }
            AppError::PayloadTooLarge(message) => message,
            AppError::Internal(err) => {
                tracing::error!(error = ?err, "internal error");
                "Internal server error".to_owned()
            }
        };
        async_graphql::Error {
            message,
            source: None,
            extensions: Some(ext),
        }
    }
}
