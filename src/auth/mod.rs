//! Authentication: who a request is, from `X-API-Key` or `Authorization: Bearer`.
//!
//! One function, [`authenticate`], turns credentials into an [`Auth`]; the HTTP middleware,
//! the REST groups (through `rest_compat::Options::prepare`) and the websocket
//! `connection_init` all call it, so every entry point resolves a credential to the same
//! account. Resolvers then ask the request's `Auth` for a [`Principal`].

pub mod jwt;
pub mod password;
pub mod secret;

use axum::{extract::State, http::HeaderMap, middleware::Next, response::Response};
use uuid::Uuid;

use crate::{
    domain::accounts::AccountService,
    error::{AppError, AppResult},
};

/// The scopes an API key may hold. `*` grants all of them; access tokens (JWT) grant all.
pub const SCOPES: &[&str] = &[
    "*",
    "account:read",
    "apikeys:write",
    "camera:read",
    "camera:write",
    "notification:read",
    "notification:write",
    "device:read",
    "device:write",
    "scene:read",
    "scene:write",
    "parking:read",
    "parking:write",
    "alpr:read",
    "alpr:write",
    "inspection:read",
    "inspection:write",
];

/// How a principal authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A JWT access token.
    AccessToken,
    /// An API key with its id and scopes.
    ApiKey {
        /// Key id.
        id: Uuid,
        /// Granted scopes.
        scopes: Vec<String>,
        /// The device it is bound to, if any.
        device_id: Option<Uuid>,
    },
    /// No credentials, on a group the operator opened to anonymous callers
    /// (`anonymous.groups`); acts as the built-in [`ANONYMOUS_ACCOUNT`] with no scopes.
    Anonymous,
}

pub use crate::db::ANONYMOUS_ACCOUNT;

/// REST groups whose documents name no auth: the only ones an operator may open to
/// anonymous callers (ENDPOINTS.md, "Decision (auth)").
pub const OPENABLE_GROUPS: &[&str] = &["alpr", "inspection"];

/// Checks `anonymous.groups` against [`OPENABLE_GROUPS`].
///
/// # Errors
/// A group that cannot be opened.
pub fn check_open_groups(groups: &[String]) -> anyhow::Result<()> {
    match groups
        .iter()
        .find(|g| !OPENABLE_GROUPS.contains(&g.as_str()))
    {
        Some(g) => anyhow::bail!(
            "anonymous.groups: {g:?} cannot be opened to anonymous callers (only {}, whose documents name no auth)",
            OPENABLE_GROUPS.join(" and ")
        ),
        None => Ok(()),
    }
}

/// The account a request of `group` acts as: its credentials' account, else the
/// anonymous account when the operator opened `group` (`anonymous.groups`).
pub fn for_group(auth: Auth, group: &str, open: &[String]) -> Auth {
    match auth {
        Auth::Anonymous if open.iter().any(|g| g == group) => Auth::Account(Principal::anonymous()),
        other => other,
    }
}

impl Principal {
    /// The principal of an anonymous caller on an opened group.
    pub fn anonymous() -> Self {
        Self {
            account_id: ANONYMOUS_ACCOUNT,
            credential: Credential::Anonymous,
        }
    }
}

/// An authenticated account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account.
    pub account_id: Uuid,
    /// The credential used.
    pub credential: Credential,
}

impl Principal {
    /// Whether the credential grants `scope` (`device:read` …).
    pub fn has_scope(&self, scope: &str) -> bool {
        match &self.credential {
            Credential::AccessToken => true,
            // A device-bound key reaches the devices group only.
            Credential::ApiKey {
                device_id: Some(_), ..
            } if !(scope.starts_with("device:") || scope.starts_with("scene:")) => false,
            Credential::ApiKey { scopes, .. } => scopes.iter().any(|s| s == "*" || s == scope),
            // Only the REST routes of a group the operator opened inject this principal,
            // and they run only that group's stored operations.
            Credential::Anonymous => true,
        }
    }

    /// The device an API key is bound to.
    pub fn bound_device(&self) -> Option<Uuid> {
        match &self.credential {
            Credential::ApiKey { device_id, .. } => *device_id,
            _ => None,
        }
    }

    /// Fails with `FORBIDDEN` unless the credential grants `scope`.
    ///
    /// # Errors
    /// `AppError::Forbidden` naming the missing scope.
    pub fn require_scope(&self, scope: &str) -> AppResult<()> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "This API key lacks the scope {scope:?}"
            )))
        }
    }
}

/// The outcome of reading a request's credentials.
#[derive(Debug, Clone, Default)]
pub enum Auth {
    /// No credentials were presented.
    #[default]
    Anonymous,
    /// Valid credentials.
    Account(Principal),
    /// Credentials were presented and did not verify; the reason code (`INVALID_TOKEN`,
    /// `INVALID_API_KEY`). Public operations ignore it; protected ones answer 401.
    Invalid(&'static str),
}

impl Auth {
    /// The principal, or the `UNAUTHENTICATED` error that fits what was presented.
    ///
    /// # Errors
    /// `AUTH_REQUIRED` when nothing was presented, the stored reason when it failed.
    pub fn principal(&self) -> AppResult<&Principal> {
        match self {
            Self::Account(p) => Ok(p),
            Self::Anonymous => Err(AppError::auth_required()),
            Self::Invalid(reason) => Err(AppError::Unauthenticated {
                reason,
                message: match *reason {
                    "INVALID_API_KEY" => "API key is invalid or revoked".into(),
                    _ => "Token is invalid or expired".into(),
                },
            }),
        }
    }
}

/// A credential as presented, before verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// `X-API-Key: …` (or a bearer value that has the API-key prefix).
    ApiKey(String),
    /// `Authorization: Bearer …`.
    Bearer(String),
}

/// Prefix of every VisionFlow API key.
pub const API_KEY_PREFIX: &str = "vf_";

impl Presented {
    /// Reads the credential of an HTTP request: `X-API-Key` first, then
    /// `Authorization: Bearer`. A malformed `Authorization` header counts as an invalid
    /// bearer token.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        if let Some(v) = headers.get("x-api-key") {
            return Some(Self::ApiKey(
                v.to_str().unwrap_or_default().trim().to_owned(),
            ));
        }
        let v = headers.get(http::header::AUTHORIZATION)?;
        Some(Self::from_authorization(v.to_str().unwrap_or_default()))
    }

    /// Parses an `Authorization` value (`Bearer x`; the scheme is case-insensitive).
    pub fn from_authorization(value: &str) -> Self {
        let value = value.trim();
        let token = match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => "",
        };
        if token.starts_with(API_KEY_PREFIX) {
            Self::ApiKey(token.to_owned())
        } else {
            Self::Bearer(token.to_owned())
        }
    }

    /// Reads the credential of a websocket `connection_init` payload: `Authorization`,
    /// `authorization`, `authToken`, `token` (bearer) or `X-API-Key`, `x-api-key`, `apiKey`.
    pub fn from_init_payload(payload: &serde_json::Value) -> Option<Self> {
        let s = |k: &str| payload.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        if let Some(key) = s("X-API-Key")
            .or_else(|| s("x-api-key"))
            .or_else(|| s("apiKey"))
        {
            return Some(Self::ApiKey(key.trim().to_owned()));
        }
        if let Some(h) = s("Authorization").or_else(|| s("authorization")) {
            return Some(Self::from_authorization(&h));
        }
        s("authToken")
            .or_else(|| s("token"))
            .map(|t| Self::from_authorization(&format!("Bearer {t}")))
    }
}

/// Verifies a presented credential.
///
/// # Errors
/// Internal: the database failed while looking up an API key.
pub async fn authenticate(
    accounts: &AccountService,
    presented: Option<Presented>,
) -> AppResult<Auth> {
    Ok(match presented {
        None => Auth::Anonymous,
        Some(Presented::Bearer(token)) => {
            match accounts.keys().verify(&token, jwt::TokenKind::Access) {
                Some(claims) => Auth::Account(Principal {
                    account_id: claims.sub,
                    credential: Credential::AccessToken,
                }),
                None => Auth::Invalid("INVALID_TOKEN"),
            }
        }
        Some(Presented::ApiKey(key)) => match accounts.verify_api_key(&key).await? {
            Some(principal) => Auth::Account(principal),
            None => Auth::Invalid("INVALID_API_KEY"),
        },
    })
}

/// Middleware: resolves the request's credentials once and stores the [`Auth`] in the
/// request extensions for GraphQL, REST and websocket handlers.
pub async fn middleware(
    State(accounts): State<AccountService>,
    mut req: axum::extract::Request,
    next: Next,
) -> Response {
    let presented = Presented::from_headers(req.headers());
    let auth = match authenticate(&accounts, presented).await {
        Ok(auth) => auth,
        Err(err) => {
            // A database failure while checking an API key: treat as not authenticated
            // rather than failing public routes; protected ones answer 401.
            tracing::error!(error = ?err, "credential check failed");
            Auth::Invalid("INVALID_API_KEY")
        }
    };
    req.extensions_mut().insert(auth);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(Presented::from_headers(&h), None);
        h.insert("authorization", "bearer abc".parse().expect("hv"));
        assert_eq!(
            Presented::from_headers(&h),
            Some(Presented::Bearer("abc".into()))
        );
        h.insert("authorization", "Basic abc".parse().expect("hv"));
        assert_eq!(
            Presented::from_headers(&h),
            Some(Presented::Bearer(String::new()))
        );
        h.insert("authorization", "Bearer vf_key".parse().expect("hv"));
        assert_eq!(
            Presented::from_headers(&h),
            Some(Presented::ApiKey("vf_key".into()))
        );
        h.insert("x-api-key", "vf_other".parse().expect("hv"));
        assert_eq!(
            Presented::from_headers(&h),
            Some(Presented::ApiKey("vf_other".into()))
        );
    }

    #[test]
    fn init_payload_parsing() {
        let p = serde_json::json!({"Authorization": "Bearer t1"});
        assert_eq!(
            Presented::from_init_payload(&p),
            Some(Presented::Bearer("t1".into()))
        );
        let p = serde_json::json!({"authToken": "t2"});
        assert_eq!(
            Presented::from_init_payload(&p),
            Some(Presented::Bearer("t2".into()))
        );
        let p = serde_json::json!({"apiKey": "vf_x"});
        assert_eq!(
            Presented::from_init_payload(&p),
            Some(Presented::ApiKey("vf_x".into()))
        );
        assert_eq!(Presented::from_init_payload(&serde_json::json!({})), None);
    }

    #[test]
    fn scopes() {
        let p = Principal {
            account_id: Uuid::nil(),
            credential: Credential::ApiKey {
                id: Uuid::nil(),
                scopes: vec!["device:read".into()],
                device_id: None,
            },
        };
        assert!(p.has_scope("device:read"));
        assert!(p.require_scope("device:write").is_err());
        let bound = Principal {
            account_id: Uuid::nil(),
            credential: Credential::ApiKey {
                id: Uuid::nil(),
                scopes: vec!["*".into()],
                device_id: Some(Uuid::nil()),
            },
        };
        assert!(bound.has_scope("device:write") && bound.has_scope("scene:read"));
        assert!(!bound.has_scope("camera:read") && !bound.has_scope("apikeys:write"));
        assert_eq!(bound.bound_device(), Some(Uuid::nil()));
    }
}
