//! The `devices` group: devices-api-v1.zh-TW.txt ("SaaS-API v0.10.0"), API keys with the
//! `device:*` / `scene:*` scopes or JWTs; answers `{"success": true, "data": …}` (lists add
//! `page`, `limit`, `total`, `totalPages`), errors `{"success": false, "error": {"code",
//! "message"}}` ([`SaasStyle`]). `filters[…]` are deepObject query parameters; any other
//! unknown query parameter is a 400.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Group, Route, SaasStyle, stored};

/// `filters[…]` of the list: wire name and variable.
pub const FILTERS: &[(&str, &str)] = &[
    ("filters[id]", "filterId"),
    ("filters[name]", "filterName"),
    ("filters[description]", "filterDescription"),
    ("filters[locationLabel]", "filterLocationLabel"),
    ("filters[status]", "filterStatus"),
    ("filters[onlineStatus]", "filterOnlineStatus"),
    ("filters[type]", "filterType"),
    ("filters[rtspUrl]", "filterRtspUrl"),
    ("filters[userId]", "filterUserId"),
    ("filters[lastHeartbeatAt]", "filterLastHeartbeatAt"),
    ("filters[totalAnalysisCount]", "filterTotalAnalysisCount"),
    (
        "filters[totalProcessingTimeSeconds]",
        "filterTotalProcessingTimeSeconds",
    ),
    ("filters[createdAt]", "filterCreatedAt"),
    ("filters[updatedAt]", "filterUpdatedAt"),
];

fn paged(field: &str) -> Value {
    json!({
        "success": true,
        "data": {"$each": format!("${field}.edges"), "$as": "$node"},
        "page": format!("${field}.currentPage"),
        "limit": format!("${field}.itemsPerPage"),
        "total": format!("${field}.totalCount"),
        "totalPages": format!("${field}.totalPages")
    })
}

/// Sortable fields (the domain's list).
pub const SORTS: &[&str] = &[
    "id",
    "name",
    "description",
    "locationLabel",
    "status",
    "onlineStatus",
    "type",
    "plan",
    "rtspUrl",
    "userId",
    "lastHeartbeatAt",
    "totalAnalysisCount",
    "totalProcessingTimeSeconds",
    "createdAt",
    "updatedAt",
];

/// The devices group's routes.
pub fn group() -> Group {
    let mut list = Route::new(
        Method::GET,
        "/api/v1/devices",
        stored!("devices/devices.graphql"),
    )
    .summary("List devices")
    .shape(paged("devices"))
    .strict_query()
    .param("page", json!({"minimum": 1}))
    .param("limit", json!({"minimum": 1, "maximum": 100}))
    .param(
        "order",
        json!({"type": "string", "pattern": "^([Aa][Ss][Cc]|[Dd][Ee][Ss][Cc])$"}),
    )
    .param("sort", json!({"type": "string", "enum": SORTS}))
    // Typed (not nullable): a query string has no null, only absence.
    .param("filterId", json!({"type": "string", "format": "uuid"}))
    .param("filterUserId", json!({"type": "string", "format": "uuid"}))
    // A DateTime filter over REST is a UTC day; GraphQL also takes an RFC 3339 second.
    .param("filterLastHeartbeatAt", json!({"type": "string", "format": "date"}))
    .param("filterCreatedAt", json!({"type": "string", "format": "date"}))
    .param("filterUpdatedAt", json!({"type": "string", "format": "date"}))
    .param("filterTotalAnalysisCount", json!({"type": "integer"}))
    .param("filterTotalProcessingTimeSeconds", json!({"type": "number"}))
    .param(
        "filterStatus",
        json!({"type": "string", "enum": ["active", "paused", "archived"], "x-resolver": true}),
    )
    .param(
        "filterOnlineStatus",
        json!({"type": "string", "enum": ["online", "offline", "unknown"], "x-resolver": true}),
    )
    .param(
        "filterType",
        json!({"type": "string", "enum": ["ip_camera", "rtsp_source", "usb_camera"], "x-resolver": true}),
    );
    for (wire, var) in FILTERS {
        list = list.query_name(wire, var);
    }
    let writes = |r: Route| {
        r.param(
            "name",
            json!({"minLength": 1, "maxLength": 200, "x-trim": true, "x-resolver": true}),
        )
        .param("description", json!({"maxLength": 500, "x-resolver": true}))
        .param(
            "rtspUrl",
            json!({"pattern": "^\\s*[Rr][Tt][Ss][Pp][Ss]?://[^\\x00]+$", "x-resolver": true}),
        )
        .param(
            "locationLabel",
            json!({"maxLength": 200, "x-resolver": true}),
        )
        .param(
            "latitude",
            json!({"minimum": -90, "maximum": 90, "x-resolver": true}),
        )
        .param(
            "longitude",
            json!({"minimum": -180, "maximum": 180, "x-resolver": true}),
        )
        .param(
            "geoSource",
            json!({"enum": ["manual", "address", "device", "ip"], "x-resolver": true}),
        )
        .param(
            "type",
            json!({"enum": ["ip_camera", "rtsp_source", "usb_camera"], "x-resolver": true}),
        )
        .param(
            "plan",
            json!({"enum": ["level_01", "level_02"], "x-resolver": true}),
        )
        .param(
            "utcOffset",
            json!({"pattern": "^UTC[+-][0-9]{1,2}(:[0-9]{2})?$", "x-resolver": true}),
        )
    };
    let device = json!({"success": true, "data": "$device"});
    let id = json!({"format": "uuid"});
    let group = Group {
        name: "devices",
        style: Arc::new(SaasStyle),
        routes: vec![
            writes(
                Route::new(
                    Method::POST,
                    "/api/v1/devices",
                    stored!("devices/create_device.graphql"),
                )
                .summary("Create a device")
                .status(StatusCode::CREATED)
                .shape(json!({"success": true, "data": "$createDevice"})),
            ),
            list,
            Route::new(
                Method::GET,
                "/api/v1/devices/{id}",
                stored!("devices/device.graphql"),
            )
            .summary("Get a device")
            .strict_query()
            .shape(device),
            writes(
                Route::new(
                    Method::PATCH,
                    "/api/v1/devices/{id}",
                    stored!("devices/update_device.graphql"),
                )
                .summary("Update a device")
                .shape(json!({"success": true, "data": "$updateDevice"})),
            ),
            Route::new(
                Method::DELETE,
                "/api/v1/devices/{id}",
                stored!("devices/delete_device.graphql"),
            )
            .summary("Delete a device (soft, with its scenes)")
            .status(StatusCode::NO_CONTENT),
            Route::new(
                Method::GET,
                "/api/v1/devices/{id}/scenes",
                stored!("devices/device_scenes.graphql"),
            )
            .summary("List a device's scenes")
            .strict_query()
            .param("page", json!({"minimum": 1}))
            .param("limit", json!({"minimum": 1, "maximum": 100}))
            .shape(paged("deviceScenes")),
            Route::new(
                Method::POST,
                "/api/v1/devices/{id}/probe",
                stored!("devices/probe_device.graphql"),
            )
            .summary("Probe a device's RTSP connection")
            .shape(json!({"success": true, "data": "$probeDevice"})),
            Route::new(
                Method::GET,
                "/api/v1/devices/{id}/quota",
                stored!("devices/device_quota.graphql"),
            )
            .summary("Get a device's quota this month")
            .strict_query()
            .shape(json!({"success": true, "data": "$deviceQuota"})),
            Route::new(
                Method::PATCH,
                "/api/v1/devices/{id}/quota",
                stored!("devices/set_device_quota.graphql"),
            )
            .summary("Set a device's monthly analysis seconds (null = unlimited)")
            .param(
                "quotaSeconds",
                json!({"minimum": 0, "maximum": 100_000_000, "x-required": true}),
            )
            .shape(json!({"success": true, "data": "$setDeviceQuota"})),
        ],
    };
    let mut group = group;
    for r in &mut group.routes {
        if r.path.contains("{id}") {
            r.constraints.push(("id", id.clone()));
        }
    }
    group
        .link(
            (Method::POST, "/api/v1/devices"),
            "device",
            (Method::GET, "/api/v1/devices/{id}"),
            json!({"id": "$response.body#/data/id"}),
        )
        .link(
            (Method::POST, "/api/v1/devices"),
            "update",
            (Method::PATCH, "/api/v1/devices/{id}"),
            json!({"id": "$response.body#/data/id"}),
        )
        .link(
            (Method::POST, "/api/v1/devices"),
            "scenes",
            (Method::GET, "/api/v1/devices/{id}/scenes"),
            json!({"id": "$response.body#/data/id"}),
        )
        .link(
            (Method::POST, "/api/v1/devices"),
            "delete",
            (Method::DELETE, "/api/v1/devices/{id}"),
            json!({"id": "$response.body#/data/id"}),
        )
}
