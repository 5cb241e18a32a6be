//! Errors of the REST layer and the per-group styles that render them.
//!
//! Every error that reaches a REST client starts as a [`RestError`]: either built from the
//! `extensions` of a GraphQL error (`code`, `reason`, `fields`; see the server's error module)
//! or raised by the engine itself before the operation runs (malformed body, missing field,
//! body too large). A group's [`ErrorStyle`] turns it into the status code and JSON body its
//! document specifies (`../shared/spec/ENDPOINTS.md`, "Decision (errors)").

use std::collections::BTreeMap;

use async_graphql::ServerError;
use http::StatusCode;
use serde_json::Value;

/// The stable error codes VisionFlow's GraphQL errors carry in `extensions.code`, plus the
/// transport-level failures only the REST layer can meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No credentials, or credentials that do not verify.
    Unauthenticated,
    /// Authenticated, but not allowed.
    Forbidden,
    /// The resource does not exist or belongs to another account.
    NotFound,
    /// Input that fails validation (missing, mistyped, out of range, malformed body).
    BadUserInput,
    /// The write would violate a uniqueness rule.
    Conflict,
    /// Too many requests.
    RateLimited,
    /// Anything else; details are logged, never returned.
    Internal,
    /// The request body exceeds the configured limit.
    PayloadTooLarge,
    /// A body in a content type the route does not accept.
    UnsupportedMediaType,
    /// The server is saturated (e.g. the inference queue is full).
    Unavailable,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [Self; 10] = [
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::BadUserInput,
        Self::Conflict,
        Self::RateLimited,
        Self::Internal,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::Unavailable,
    ];

    /// Parses the `extensions.code` string of a GraphQL error.
    pub fn from_graphql(code: &str) -> Option<Self> {
        Some(match code {
            "UNAUTHENTICATED" => Self::Unauthenticated,
            "FORBIDDEN" => Self::Forbidden,
            "NOT_FOUND" => Self::NotFound,
            "BAD_USER_INPUT" => Self::BadUserInput,
            "CONFLICT" => Self::Conflict,
            "RATE_LIMITED" => Self::RateLimited,
            "INTERNAL" => Self::Internal,
            "PAYLOAD_TOO_LARGE" => Self::PayloadTooLarge,
            "UNAVAILABLE" => Self::Unavailable,
            _ => return None,
        })
    }

    /// The HTTP status most groups use for this code.
    pub fn default_status(self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadUserInput => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict => StatusCode::CONFLICT,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// One error as the REST layer sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RestError {
    /// Stable category.
    pub code: ErrorCode,
    /// Human-readable message, safe to show.
    pub message: String,
    /// Finer machine-readable cause (`INVALID_TOKEN`, `USERNAME_TAKEN`, `CAMERA_NOT_FOUND` …).
    pub reason: Option<String>,
    /// Per-field messages for validation failures, keyed by the documented field name.
    pub fields: BTreeMap<String, Vec<String>>,
    /// Seconds a client should wait before retrying (429/503).
    pub retry_after: Option<u64>,
    /// Where each field of `fields` was sent: `path`, `query` or `body` (default).
    pub locations: BTreeMap<String, &'static str>,
}

impl RestError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            reason: None,
            fields: BTreeMap::new(),
            retry_after: None,
            locations: BTreeMap::new(),
        }
    }

    /// A validation error carrying per-field messages.
    pub fn validation(fields: BTreeMap<String, Vec<String>>) -> Self {
        let message = match fields.iter().next() {
            Some((field, msgs)) if fields.len() == 1 && msgs.len() == 1 => {
                format!("{field}: {}", msgs[0])
            }
            _ => "Request data failed validation".to_owned(),
        };
        Self {
            fields,
            ..Self::new(ErrorCode::BadUserInput, message)
        }
    }

    /// Builds the REST view of a GraphQL error. Errors without a known `extensions.code`
    /// are raised by GraphQL validation of the variables the engine built from the request
    /// (the stored operations themselves are validated by a test), so they are bad input.
    pub fn from_server_error(err: &ServerError) -> Self {
        let ext = err.extensions.as_ref();
        let text = |name: &str| match ext.and_then(|e| e.get(name)) {
            Some(async_graphql::Value::String(s)) => Some(s.clone()),
            Some(async_graphql::Value::Enum(s)) => Some(s.to_string()),
            _ => None,
        };
        let code = text("code")
            .and_then(|c| ErrorCode::from_graphql(&c))
            .unwrap_or(ErrorCode::BadUserInput);
        let mut fields = BTreeMap::new();
        if let Some(async_graphql::Value::Object(map)) = ext.and_then(|e| e.get("fields")) {
            for (k, v) in map {
                let msgs = match v {
                    async_graphql::Value::List(items) => items
                        .iter()
                        .filter_map(|i| match i {
                            async_graphql::Value::String(s) => Some(s.clone()),
                            _ => None,
                        })
                        .collect(),
                    async_graphql::Value::String(s) => vec![s.clone()],
                    _ => Vec::new(),
                };
                fields.insert(k.to_string(), msgs);
            }
        }
        let retry_after = match ext.and_then(|e| e.get("retryAfter")) {
            Some(async_graphql::Value::Number(n)) => n.as_u64(),
            _ => None,
        };
        Self {
            code,
            message: err.message.clone(),
            reason: text("reason"),
            fields,
            retry_after,
            locations: BTreeMap::new(),
        }
    }
}

/// How a group renders errors: status code and JSON body.
pub trait ErrorStyle: Send + Sync + 'static {
    /// Renders one error.
    fn render(&self, error: &RestError) -> (StatusCode, Value);

    /// The JSON Schemas of the bodies [`Self::render`] produces, by status (for the OpenAPI
    /// document). The default renders one error of each code and describes its keys.
    fn error_schemas(&self) -> Vec<(StatusCode, Value)> {
        let mut by_status: BTreeMap<u16, Value> = BTreeMap::new();
        for code in ErrorCode::ALL {
            let (status, body) = self.render(&RestError::new(code, "x"));
            by_status
                .entry(status.as_u16())
                .or_insert_with(|| describe(&body));
        }
        by_status
            .into_iter()
            .filter_map(|(s, v)| StatusCode::from_u16(s).ok().map(|s| (s, v)))
            .collect()
    }
}

/// A loose schema of an example body: its keys are required, their values typed.
fn describe(body: &Value) -> Value {
    match body {
        Value::Object(map) => {
            let props: serde_json::Map<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), describe(v))).collect();
            serde_json::json!({"type": "object", "properties": props, "required": map.keys().collect::<Vec<_>>()})
        }
        Value::String(_) => serde_json::json!({"type": "string"}),
        Value::Array(_) => serde_json::json!({"type": "array"}),
        Value::Number(_) => serde_json::json!({"type": "number"}),
        Value::Bool(_) => serde_json::json!({"type": "boolean"}),
        Value::Null => serde_json::json!({}),
    }
}

/// The `monitor` group's style (monitor-api.zh-TW.txt, error code table at the end):
/// `{"status":"error","message":…,"error_code":…}` with 401 `AUTH_REQUIRED`/`INVALID_TOKEN`,
/// 403 `INSUFFICIENT_PERMISSIONS`, 404 `RESOURCE_NOT_FOUND`, 422 `VALIDATION_ERROR`,
/// 429 `RATE_LIMIT_EXCEEDED`, 500 `SERVER_ERROR`. A finer `reason` (e.g. `INVALID_TOKEN`,
/// `CAMERA_NOT_FOUND`) replaces the default code; validation failures add `errors`
/// (`{"field": ["message"]}`).
#[derive(Debug, Default, Clone, Copy)]
pub struct MonitorStyle;

impl ErrorStyle for MonitorStyle {
    fn render(&self, error: &RestError) -> (StatusCode, Value) {
        let default_code = match error.code {
            ErrorCode::Unauthenticated => "AUTH_REQUIRED",
            ErrorCode::Forbidden => "INSUFFICIENT_PERMISSIONS",
            ErrorCode::NotFound => "RESOURCE_NOT_FOUND",
            ErrorCode::BadUserInput => "VALIDATION_ERROR",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::RateLimited => "RATE_LIMIT_EXCEEDED",
            ErrorCode::Internal => "SERVER_ERROR",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ErrorCode::Unavailable => "SERVICE_UNAVAILABLE",
        };
        let mut body = serde_json::Map::new();
        body.insert("status".into(), "error".into());
        body.insert("message".into(), error.message.clone().into());
        body.insert(
            "error_code".into(),
            error.reason.as_deref().unwrap_or(default_code).into(),
        );
        if !error.fields.is_empty() {
            body.insert("errors".into(), serde_json::json!(error.fields));
        }
        (error.code.default_status(), Value::Object(body))
    }
}

/// The `devices` group's style (devices-api-v1.zh-TW.txt, "SaaS-API v0.10.0"):
/// `{"success": false, "error": {"code", "message"}}` with 400 `VALIDATION_ERROR` (the
/// message names the field; `error.details` holds every field's messages), 401
/// `UNAUTHORIZED`, 403 `FORBIDDEN`, 404 `NOT_FOUND` (or the finer reason, e.g.
/// `DEVICE_NOT_FOUND`), 409 `CONFLICT` (e.g. `DEVICE_ANALYSIS_ACTIVE`), 429
/// `RATE_LIMITED`, 500 `INTERNAL_ERROR`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SaasStyle;

impl ErrorStyle for SaasStyle {
    fn render(&self, error: &RestError) -> (StatusCode, Value) {
        let (status, default_code) = match error.code {
            ErrorCode::Unauthenticated => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            ErrorCode::Forbidden => (StatusCode::FORBIDDEN, "FORBIDDEN"),
            ErrorCode::NotFound => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            ErrorCode::BadUserInput => (StatusCode::BAD_REQUEST, "VALIDATION_ERROR"),
            ErrorCode::Conflict => (StatusCode::CONFLICT, "CONFLICT"),
            ErrorCode::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
            ErrorCode::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
            ErrorCode::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            ErrorCode::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
            }
            ErrorCode::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"),
        };
        // Validation keeps its documented code whatever finer reason the resolver gave.
        let code = match (error.code, error.reason.as_deref()) {
            (ErrorCode::BadUserInput, _) | (_, None) => default_code,
            (_, Some(r)) => r,
        };
        let mut err = serde_json::Map::new();
        err.insert("code".into(), code.into());
        err.insert("message".into(), error.message.clone().into());
        if !error.fields.is_empty() {
            err.insert("details".into(), serde_json::json!(error.fields));
        }
        (
            status,
            serde_json::json!({"success": false, "error": Value::Object(err)}),
        )
    }
}

/// The `alpr` group's style (alpr-api.en.md is a FastAPI service): `{"detail": "message"}`
/// with the usual status, and validation failures as FastAPI's `HTTPValidationError`: 422
/// `{"detail": [{"type", "loc": ["body", field], "msg", "input": null}]}`.
#[derive(Debug, Default, Clone, Copy)]
pub struct FastApiStyle;

impl ErrorStyle for FastApiStyle {
    fn render(&self, error: &RestError) -> (StatusCode, Value) {
        let status = error.code.default_status();
        if error.code == ErrorCode::BadUserInput {
            let items: Vec<Value> = if error.fields.is_empty() {
                vec![serde_json::json!({
                    "type": "value_error", "loc": ["body"], "msg": error.message, "input": null
                })]
            } else {
                error
                    .fields
                    .iter()
                    .flat_map(|(field, msgs)| {
                        let place = error.locations.get(field).copied().unwrap_or("body");
                        msgs.iter().map(move |m| {
                            serde_json::json!({
                                "type": "value_error", "loc": [place, field], "msg": m, "input": null
                            })
                        })
                    })
                    .collect()
            };
            return (status, serde_json::json!({ "detail": items }));
        }
        let message = if error.code == ErrorCode::Internal {
            "Internal Server Error".to_owned()
        } else {
            error.message.clone()
        };
        (status, serde_json::json!({ "detail": message }))
    }
}

/// The `inspection` group's style (inspection-api.zh-CN.md is a Flask service):
/// `{"error": "message"}` plus `"details"` for what went wrong in a field (`Invalid image data
/// for a.jpg` with the decoder's reason); validation failures are 400, as the document's
/// `No images provided` and `Invalid image data` are.
#[derive(Debug, Default, Clone, Copy)]
pub struct FlaskStyle;

impl ErrorStyle for FlaskStyle {
    fn render(&self, error: &RestError) -> (StatusCode, Value) {
        let status = match error.code {
            ErrorCode::BadUserInput => StatusCode::BAD_REQUEST,
            other => other.default_status(),
        };
        let message = if error.code == ErrorCode::Internal {
            "Internal Server Error".to_owned()
        } else {
            error.message.clone()
        };
        let mut body = serde_json::json!({ "error": message });
        match error.fields.len() {
            0 => {}
            1 => {
                let msgs = error.fields.values().next().expect("one field");
                body["details"] = Value::String(msgs.join("; "));
            }
            _ => body["details"] = serde_json::json!(error.fields),
        }
        (status, body)
    }
}

/// The `parking` group's style (parking-vehicle-api.zh-TW.txt is a Django REST framework
/// service): validation failures are 400 with `{"field": ["message"]}` (or
/// `{"detail": "message"}` when no field is named); everything else `{"detail": "message"}`
/// with DRF's wording for authentication, permission, not-found and server errors.
#[derive(Debug, Default, Clone, Copy)]
pub struct DrfStyle;

impl ErrorStyle for DrfStyle {
    fn error_schemas(&self) -> Vec<(StatusCode, Value)> {
        let detail = serde_json::json!({"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]});
        let fields = serde_json::json!({"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}});
        let mut out: Vec<(StatusCode, Value)> = [401u16, 403, 404, 413, 415, 429, 500, 503]
            .iter()
            .filter_map(|s| StatusCode::from_u16(*s).ok())
            .map(|s| (s, detail.clone()))
            .collect();
        out.push((
            StatusCode::BAD_REQUEST,
            serde_json::json!({"anyOf": [detail, fields]}),
        ));
        out.sort_by_key(|(s, _)| s.as_u16());
        out
    }

    fn render(&self, error: &RestError) -> (StatusCode, Value) {
        let detail = |m: &str| serde_json::json!({ "detail": m });
        match error.code {
            ErrorCode::BadUserInput if !error.fields.is_empty() => {
                (StatusCode::BAD_REQUEST, serde_json::json!(error.fields))
            }
            ErrorCode::BadUserInput | ErrorCode::Conflict => {
                (StatusCode::BAD_REQUEST, detail(&error.message))
            }
            ErrorCode::Unauthenticated => {
                let msg = match error.reason.as_deref() {
                    Some("AUTH_REQUIRED") | None => "Authentication credentials were not provided.",
                    Some("INVALID_API_KEY") => "Invalid API key.",
                    Some(_) => error.message.as_str(),
                };
                (StatusCode::UNAUTHORIZED, detail(msg))
            }
            ErrorCode::Forbidden => (
                StatusCode::FORBIDDEN,
                detail("You do not have permission to perform this action."),
            ),
            ErrorCode::NotFound => (StatusCode::NOT_FOUND, detail("Not found.")),
            ErrorCode::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                detail("A server error occurred."),
            ),
            ErrorCode::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                detail(&format!(
                    "Request was throttled. Expected available in {} seconds.",
                    error.retry_after.unwrap_or(1)
                )),
            ),
            other => (other.default_status(), detail(&error.message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drf_style_uses_field_maps_and_drf_wording() {
        let mut fields = BTreeMap::new();
        fields.insert(
            "confidence_score".to_owned(),
            vec!["Ensure this value is between 0.0 and 1.0.".to_owned()],
        );
        let (status, body) = DrfStyle.render(&RestError::validation(fields));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            serde_json::json!({"confidence_score": ["Ensure this value is between 0.0 and 1.0."]})
        );
        let mut err = RestError::new(ErrorCode::Unauthenticated, "x");
        err.reason = Some("AUTH_REQUIRED".into());
        assert_eq!(
            DrfStyle.render(&err).1,
            serde_json::json!({"detail": "Authentication credentials were not provided."})
        );
        assert_eq!(
            DrfStyle.render(&RestError::new(ErrorCode::NotFound, "Plate 3 not found")),
            (
                StatusCode::NOT_FOUND,
                serde_json::json!({"detail": "Not found."})
            )
        );
    }

    #[test]
    fn fastapi_style_lists_validation_errors_and_hides_internals() {
        let mut fields = BTreeMap::new();
        fields.insert("file".to_owned(), vec!["a file is required".to_owned()]);
        let (status, body) = FastApiStyle.render(&RestError::validation(fields));
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body["detail"][0]["loc"],
            serde_json::json!(["body", "file"])
        );
        assert_eq!(body["detail"][0]["msg"], "a file is required");
        let (status, body) =
            FastApiStyle.render(&RestError::new(ErrorCode::NotFound, "Plate 9 not found"));
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body, serde_json::json!({"detail": "Plate 9 not found"}));
        let (status, body) =
            FastApiStyle.render(&RestError::new(ErrorCode::Internal, "db password is x"));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, serde_json::json!({"detail": "Internal Server Error"}));
    }

    #[test]
    fn monitor_style_uses_reason_and_fields() {
        let mut fields = BTreeMap::new();
        fields.insert("username".to_owned(), vec!["is required".to_owned()]);
        let err = RestError::validation(fields);
        let (status, body) = MonitorStyle.render(&err);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error_code"], "VALIDATION_ERROR");
        assert_eq!(body["errors"]["username"][0], "is required");
        assert_eq!(body["message"], "username: is required");

        let mut err = RestError::new(ErrorCode::Unauthenticated, "Token is invalid");
        err.reason = Some("INVALID_TOKEN".into());
        let (status, body) = MonitorStyle.render(&err);
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            serde_json::json!({"status":"error","message":"Token is invalid","error_code":"INVALID_TOKEN"})
        );
    }

    #[test]
    fn graphql_errors_map_by_extension_code() {
        let mut err = ServerError::new("nope", None);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", "NOT_FOUND");
        ext.set("reason", "CAMERA_NOT_FOUND");
        err.extensions = Some(ext);
        let rest = RestError::from_server_error(&err);
        assert_eq!(rest.code, ErrorCode::NotFound);
        assert_eq!(rest.reason.as_deref(), Some("CAMERA_NOT_FOUND"));

        let plain = ServerError::new("Invalid value for argument", None);
        assert_eq!(
            RestError::from_server_error(&plain).code,
            ErrorCode::BadUserInput
        );
    }
}
