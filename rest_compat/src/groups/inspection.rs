//! The `inspection` group: inspection-api.zh-CN.md (a Flask service; no auth named, so it
//! can be opened with `anonymous.groups`), errors as `{"error": …, "details": …}` (400 for
//! bad input): batch inspection, the data service and the AI analysis.

use std::sync::Arc;

use http::Method;
use serde_json::json;

use crate::{FlaskStyle, Group, Route, stored};

fn detect(path: &'static str) -> Route {
    Route::new(Method::POST, path, stored!("inspection/inspect.graphql"))
        .summary("Inspect a batch of images (multipart `images`, many)")
        .shape(json!("$inspect"))
}

fn search_row(dice: bool) -> serde_json::Value {
    json!({
        "figId": "$node.figId",
        "name": "$node.name",
        "resFig": null,
        "date": "$node.date",
        "time": "$node.time",
        "label": "$node.label",
        "num": "$node.num",
        "dice": if dice { json!("$node.dice") } else { serde_json::Value::Null }
    })
}

/// The inspection group's routes.
pub fn group() -> Group {
    let date = json!({"format": "date"});
    Group {
        name: "inspection",
        style: Arc::new(FlaskStyle),
        routes: vec![
            detect("/api/detect"),
            detect("/api/detect/"),
            Route::new(
                Method::GET,
                "/api/data/getRecent",
                stored!("inspection/recent.graphql"),
            )
            .summary("The most recent records")
            .shape(json!("$recentInspections")),
            Route::new(
                Method::GET,
                "/api/data/statByDate",
                stored!("inspection/stats_by_date.graphql"),
            )
            .summary("Records and defects per day")
            .shape(json!("$inspectionStats")),
            Route::new(
                Method::GET,
                "/api/data/getPaginated",
                stored!("inspection/paginated.graphql"),
            )
            .summary("Records by page (deprecated: use /api/data/search)")
            .deprecate()
            .shape(json!({
                "total": "$inspectionRecords.totalCount",
                "data": {"$each": "$inspectionRecords.edges", "$as": search_row(true)}
            })),
            Route::new(
                Method::GET,
                "/api/data/search",
                stored!("inspection/search.graphql"),
            )
            .summary("Search records (fuzzy name, exact defect count, date range)")
            .shape(json!({
                "total": "$inspectionRecords.totalCount",
                "data": {"$each": "$inspectionRecords.edges", "$as": search_row(false)}
            })),
            Route::new(
                Method::POST,
                "/api/ai/analyze",
                stored!("inspection/analyze.graphql"),
            )
            .param("limit", json!({"minimum": 1, "maximum": 500}))
            .summary("AI analysis of recent records (an OpenAI-compatible chat endpoint)")
            .shape(json!("$analyzeInspections")),
        ],
    }
    .param("limit", json!({"minimum": 1, "maximum": 1000}))
    .param("page", json!({"minimum": 1}))
    .param("num", json!({"minimum": 0}))
    .param("name", json!({"maxLength": 255}))
    .param("startDate", date.clone())
    .param("endDate", date)
}
