//! The `monitor` group: monitor-api.zh-TW.txt ("VisionFlow 智能監控系統"), JWT auth,
//! errors as `{"status":"error","message":…,"error_code":…}`: accounts, cameras, zones
//! ("rectangles"), notifications, e-mail recipients and LINE tokens. The binary routes (MJPEG, mask, snapshot page, images)
//! are the server's media module.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::json;

use crate::{Group, MonitorStyle, Route, stored};

/// The monitor group's routes.
pub fn group() -> Group {
    let name = json!({"minLength": 1, "maxLength": 100, "x-trim": true});
    routes()
        .param("page", json!({"minimum": 1}))
        .param("limit", json!({"minimum": 1, "maximum": 1000}))
        .param("status", json!({"enum": ["unread", "read", "all", ""]}))
        .param(
            "username",
            json!({"minLength": 1, "x-trim": true, "x-message": "this field may not be blank"}),
        )
        .param(
            "password",
            json!({"minLength": 1, "x-message": "this field may not be blank"}),
        )
        .param(
            "email",
            json!({"minLength": 1, "x-trim": true, "x-message": "this field may not be blank"}),
        )
        .param_at(&["/cameras", "/cameras/{camera_id}"], "name", name.clone())
        .param(
            "stream_url",
            json!({"pattern": "^\\s*[Rr][Tt][Ss][Pp][Ss]?://[^\\x00]+$"}),
        )
        .param("location", json!({"maxLength": 200, "x-trim": true}))
        .param(
            "message",
            json!({"minLength": 1, "maxLength": 1000, "x-trim": true}),
        )
        .param("confidence", json!({"minimum": 0, "maximum": 1}))
        .param("detection_type", json!({"maxLength": 50, "x-trim": true}))
        .param("region_name", json!({"maxLength": 100, "x-trim": true}))
        .param("image_path", json!({"maxLength": 500, "x-trim": true}))
        .param("metadata", json!({"type": "object"}))
        .param_at(
            &["/email_recipients", "/email_recipients/{recipient_id}"],
            "email",
            json!({"minLength": 1, "maxLength": 254, "x-trim": true}),
        )
        .param_at(
            &[
                "/email_recipients",
                "/email_recipients/{recipient_id}",
                "/line_tokens",
                "/line_tokens/{token_id}",
            ],
            "name",
            name.clone(),
        )
        .param(
            "token",
            json!({"minLength": 1, "maxLength": 1000, "x-trim": true, "pattern": "^[A-Za-z0-9+/=._~-]+$"}),
        )
        .param(
            "target_id",
            json!({"maxLength": 100, "x-trim": true, "pattern": "^[A-Za-z0-9]*$"}),
        )
        .param(
            "notification_types",
            json!({"items": {"enum": ["alerts", "system_status", "daily_reports"]}}),
        )
        .link(
            (Method::POST, "/cameras"),
            "zones",
            (Method::GET, "/rectangles/{camera_id}"),
            json!({"camera_id": "$response.body#/data/id"}),
        )
        .link(
            (Method::POST, "/cameras"),
            "saveZones",
            (Method::POST, "/rectangles/{camera_id}"),
            json!({"camera_id": "$response.body#/data/id"}),
        )
        .link(
            (Method::POST, "/cameras"),
            "update",
            (Method::PATCH, "/cameras/{camera_id}"),
            json!({"camera_id": "$response.body#/data/id"}),
        )
        .link(
            (Method::POST, "/cameras"),
            "delete",
            (Method::DELETE, "/cameras/{camera_id}"),
            json!({"camera_id": "$response.body#/data/id"}),
        )
        .link(
            (Method::POST, "/email_recipients"),
            "updateRecipient",
            (Method::PATCH, "/email_recipients/{recipient_id}"),
            json!({"recipient_id": "$response.body#/data/id"}),
        )
        .link(
            (Method::POST, "/email_recipients"),
            "deleteRecipient",
            (Method::DELETE, "/email_recipients/{recipient_id}"),
            json!({"recipient_id": "$response.body#/data/id"}),
        )
        .link(
            (Method::POST, "/line_tokens"),
            "updateToken",
            (Method::PATCH, "/line_tokens/{token_id}"),
            json!({"token_id": "$response.body#/data/id"}),
        )
        .link(
            (Method::POST, "/line_tokens"),
            "deleteToken",
            (Method::DELETE, "/line_tokens/{token_id}"),
            json!({"token_id": "$response.body#/data/id"}),
        )
}

fn routes() -> Group {
    Group {
        name: "monitor",
        style: Arc::new(MonitorStyle),
        routes: vec![
            Route::new(
                Method::POST,
                "/register",
                stored!("monitor/register.graphql"),
            )
            .public()
            .status(StatusCode::CREATED)
            .shape(json!({
                "message": "User registered successfully",
                "account_uuid": "$register.account_uuid",
                "status": "success"
            })),
            Route::new(Method::POST, "/login", stored!("monitor/login.graphql")).public().shape(json!({
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
            .public()
            .shape(json!("$refreshToken")),
            Route::new(Method::GET, "/cameras", stored!("monitor/cameras.graphql"))
                .summary("List cameras")
                .shape(json!({
                    "status": "success",
                    "data": {"$each": "$cameras.edges", "$as": "$node"},
                    "total": "$cameras.totalCount"
                })),
            Route::new(Method::POST, "/cameras", stored!("monitor/create_camera.graphql"))
                .summary("Add a camera (with optional detection_areas)")
                .status(StatusCode::CREATED)
                .shape(json!({"status": "success", "message": "攝影機新增成功", "data": "$createCamera"})),
            Route::new(Method::PATCH, "/cameras/{camera_id}", stored!("monitor/update_camera.graphql"))
                .summary("Update a camera")
                .shape(json!({"status": "success", "message": "攝影機更新成功", "data": "$updateCamera"})),
            Route::new(Method::DELETE, "/cameras/{camera_id}", stored!("monitor/delete_camera.graphql"))
                .summary("Delete a camera and its data")
                .shape(json!({"status": "success", "message": "攝影機刪除成功", "deleted_camera_id": "$deleteCamera"})),
            Route::new(Method::GET, "/rectangles/{camera_id}", stored!("monitor/zones.graphql"))
                .summary("List a camera's zones")
                .shape(json!({"status": "success", "data": "$camera"})),
            Route::new(Method::POST, "/rectangles/{camera_id}", stored!("monitor/set_zones.graphql"))
                .summary("Save a camera's zones (replaces them)")
                .shape(json!({"status": "success", "message": "多邊形區域已成功儲存", "data": "$setZones"})),
            Route::new(Method::DELETE, "/rectangles/{camera_id}", stored!("monitor/delete_zones.graphql"))
                .summary("Delete all zones of a camera")
                .shape(json!({"status": "success", "message": "所有檢測區域已成功刪除", "data": "$deleteZones"})),
            Route::new(Method::GET, "/notifications", stored!("monitor/notifications.graphql"))
                .summary("List notifications")
                .shape(json!({
                    "status": "success",
                    "data": {"$each": "$notifications.edges", "$as": {
                        "id": "$node.id",
                        "account_uuid": "$node.account_uuid",
                        "camera_id": "$node.camera_id",
                        "camera_name": "$node.camera.name",
                        "message": "$node.message",
                        "image_path": "$node.image_path",
                        "detection_type": "$node.detection_type",
                        "confidence": "$node.confidence",
                        "region_name": "$node.region_name",
                        "metadata": "$node.metadata",
                        "status": "$node.status",
                        "created_at": "$node.created_at"
                    }},
                    "pagination": {
                        "current_page": "$notifications.currentPage",
                        "total_pages": "$notifications.totalPages",
                        "total_items": "$notifications.totalCount",
                        "items_per_page": "$notifications.itemsPerPage"
                    }
                })),
            Route::new(Method::POST, "/notifications", stored!("monitor/create_notification.graphql"))
                .summary("Create a notification")
                .status(StatusCode::CREATED)
                .shape(json!({"status": "success", "message": "通知創建成功", "data": "$createNotification"})),
            Route::new(Method::GET, "/email_recipients", stored!("monitor/email_recipients.graphql"))
                .summary("List e-mail recipients")
                .shape(json!({
                    "status": "success",
                    "data": {"$each": "$emailRecipients.edges", "$as": "$node"},
                    "total": "$emailRecipients.totalCount"
                })),
            Route::new(Method::POST, "/email_recipients", stored!("monitor/add_email_recipient.graphql"))
                .summary("Add an e-mail recipient (a verification mail is sent)")
                .status(StatusCode::CREATED)
                .shape(json!({"status": "success", "message": "郵件接收者新增成功", "data": {
                    "id": "$addEmailRecipient.recipient.id",
                    "email": "$addEmailRecipient.recipient.email",
                    "verification_sent": "$addEmailRecipient.verification_sent",
                    "created_at": "$addEmailRecipient.recipient.created_at"
                }})),
            Route::new(Method::PATCH, "/email_recipients/{recipient_id}", stored!("monitor/update_email_recipient.graphql"))
                .summary("Change an e-mail recipient (a new address is verified again)")
                .shape(json!({"status": "success", "message": "郵件接收者更新成功", "data": {
                    "...": "$updateEmailRecipient.recipient",
                    "verification_sent": "$updateEmailRecipient.verification_sent"
                }})),
            Route::new(Method::DELETE, "/email_recipients/{recipient_id}", stored!("monitor/delete_email_recipient.graphql"))
                .summary("Delete an e-mail recipient")
                .shape(json!({"status": "success", "message": "郵件接收者刪除成功", "deleted_recipient_id": "$deleteEmailRecipient"})),
            Route::new(Method::GET, "/line_tokens", stored!("monitor/line_tokens.graphql"))
                .summary("List LINE tokens (masked)")
                .shape(json!({
                    "status": "success",
                    "data": {"$each": "$lineTokens.edges", "$as": "$node"},
                    "total": "$lineTokens.totalCount"
                })),
            Route::new(Method::POST, "/line_tokens", stored!("monitor/add_line_token.graphql"))
                .summary("Add a LINE Messaging API token (checked with LINE)")
                .status(StatusCode::CREATED)
                .shape(json!({"status": "success", "message": "LINE Token 新增成功", "data": "$addLineToken"})),
            Route::new(Method::PATCH, "/line_tokens/{token_id}", stored!("monitor/update_line_token.graphql"))
                .summary("Change a LINE token")
                .shape(json!({"status": "success", "message": "LINE Token 更新成功", "data": "$updateLineToken"})),
            Route::new(Method::DELETE, "/line_tokens/{token_id}", stored!("monitor/delete_line_token.graphql"))
                .summary("Delete a LINE token")
                .shape(json!({"status": "success", "message": "LINE Token 刪除成功", "deleted_token_id": "$deleteLineToken"})),
        ],
    }
}
