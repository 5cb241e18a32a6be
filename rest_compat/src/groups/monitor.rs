//! The `monitor` group: monitor-api.zh-TW.txt ("VisionFlow 智能監控系統"), JWT auth,
//! errors as `{"status":"error","message":…,"error_code":…}`.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::json;

use crate::{Group, MonitorStyle, Route, stored};

/// The monitor group's routes.
pub fn group() -> Group {
    Group {
        name: "monitor",
        style: Arc::new(MonitorStyle),
        routes: vec![
            Route::new(
                Method::POST,
                "/register",
                stored!("monitor/register.graphql"),
            )
            .status(StatusCode::CREATED)
            .shape(json!({
                "message": "User registered successfully",
                "account_uuid": "$register.account_uuid",
                "status": "success"
            })),
            Route::new(Method::POST, "/login", stored!("monitor/login.graphql")).shape(json!({
                "message": "Login successful",
                "account_uuid": "$login.account.account_uuid",
                "access_token": "$login.access_token",
                "refresh_token": "$login.refresh_token",
                "token_type": "$login.token_type",
                "expires_in": "$login.expires_in"
            })),
            Route::new(
                Method::POST,
                "/token/refresh",
                stored!("monitor/token_refresh.graphql"),
            )
            .shape(json!("$refreshToken")),
        ],
    }
}
