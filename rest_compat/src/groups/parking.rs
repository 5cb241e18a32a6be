//! The `parking` group: parking-vehicle-api.zh-TW.txt ("AI Vision 車輛辨識管理系統", a Django
//! REST framework service), `X-API-Key` auth, DRF-style errors (`{"detail": …}` or
//! `{"field": ["message"]}` with 400), 201 on create, 204 on delete, trailing slashes.
//! Lists are plain JSON arrays (DRF without pagination) with `limit` (default 100, at most
//! 1000) and `offset`.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::json;

use crate::{DrfStyle, Group, Route, stored};

/// The parking group's routes.
pub fn group() -> Group {
    routes()
        .param("limit", json!({"minimum": 0, "maximum": 1000}))
        .param("offset", json!({"minimum": 0}))
        .param_on_writes(
            &["/api/parking-lots/", "/api/parking-lots/{id}/"],
            "site_id",
            json!({"minLength": 1, "maxLength": 100, "x-trim": true, "x-resolver": true}),
        )
        .param_on_writes(
            &["/api/parking-lots/", "/api/parking-lots/{id}/"],
            "name",
            json!({"minLength": 1, "maxLength": 200, "x-trim": true, "x-resolver": true}),
        )
        .param(
            "confidence_score",
            json!({"minimum": 0, "maximum": 1, "x-resolver": true}),
        )
        .param(
            "start_date",
            json!({"pattern": DATE_TIME, "x-resolver": true}),
        )
        .param(
            "end_date",
            json!({"pattern": DATE_TIME, "x-resolver": true}),
        )
        .link(
            (Method::POST, "/api/parking-lots/"),
            "lot",
            (Method::GET, "/api/parking-lots/{id}/"),
            json!({"id": "$response.body#/id"}),
        )
        .link(
            (Method::POST, "/api/parking-lots/"),
            "bySite",
            (Method::GET, "/api/parking-lots/by-site-id/{site_id}/"),
            json!({"site_id": "$response.body#/site_id"}),
        )
        .link(
            (Method::POST, "/api/parking-lots/"),
            "patch",
            (Method::PATCH, "/api/parking-lots/{id}/"),
            json!({"id": "$response.body#/id"}),
        )
        .link(
            (Method::POST, "/api/parking-lots/"),
            "delete",
            (Method::DELETE, "/api/parking-lots/{id}/"),
            json!({"id": "$response.body#/id"}),
        )
        .link(
            (Method::POST, "/api/parking-records/"),
            "record",
            (Method::GET, "/api/parking-records/{id}/"),
            json!({"id": "$response.body#/id"}),
        )
}

/// What `parse_datetime` reads: RFC 3339, naive date-times with `T` or a space, bare dates.
const DATE_TIME: &str = "^\\s*$|^\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?\\s*$";

fn routes() -> Group {
    let each = |list: &str| json!({"$each": format!("${list}.edges"), "$as": "$node"});
    Group {
        name: "parking",
        style: Arc::new(DrfStyle),
        routes: vec![
            Route::new(
                Method::GET,
                "/api/vehicles/",
                stored!("parking/vehicles.graphql"),
            )
            .summary("List vehicles")
            .shape(each("registryVehicles")),
            Route::new(
                Method::POST,
                "/api/vehicles/",
                stored!("parking/create_vehicle.graphql"),
            )
            .summary("Create a vehicle (photo → plate verification)")
            .status(StatusCode::CREATED)
            .shape(json!("$registerVehicle")),
            Route::new(
                Method::GET,
                "/api/vehicles/{id}/",
                stored!("parking/vehicle.graphql"),
            )
            .summary("Retrieve a vehicle")
            .shape(json!("$registryVehicle")),
            Route::new(
                Method::PUT,
                "/api/vehicles/{id}/",
                stored!("parking/replace_vehicle.graphql"),
            )
            .summary("Update a vehicle (all fields)")
            .shape(json!("$updateRegistryVehicle")),
            Route::new(
                Method::PATCH,
                "/api/vehicles/{id}/",
                stored!("parking/patch_vehicle.graphql"),
            )
            .summary("Update a vehicle (some fields)")
            .shape(json!("$updateRegistryVehicle")),
            Route::new(
                Method::DELETE,
                "/api/vehicles/{id}/",
                stored!("parking/delete_vehicle.graphql"),
            )
            .summary("Delete a vehicle")
            .status(StatusCode::NO_CONTENT),
            Route::new(
                Method::PATCH,
                "/api/vehicles/{id}/update_identification/",
                stored!("parking/update_identification.graphql"),
            )
            .summary("Update identification")
            .shape(json!("$updateVehicleIdentification")),
            Route::new(
                Method::GET,
                "/api/parking-lots/",
                stored!("parking/lots.graphql"),
            )
            .summary("List parking lots")
            .shape(each("parkingLots")),
            Route::new(
                Method::POST,
                "/api/parking-lots/",
                stored!("parking/create_lot.graphql"),
            )
            .summary("Create a parking lot")
            .status(StatusCode::CREATED)
            .shape(json!("$createParkingLot")),
            Route::new(
                Method::GET,
                "/api/parking-lots/by-site-id/{site_id}/",
                stored!("parking/lot_by_site.graphql"),
            )
            .summary("Parking lot by site id")
            .shape(json!("$parkingLotBySiteId")),
            Route::new(
                Method::GET,
                "/api/parking-lots/{id}/",
                stored!("parking/lot.graphql"),
            )
            .summary("Retrieve a parking lot")
            .shape(json!("$parkingLot")),
            Route::new(
                Method::PUT,
                "/api/parking-lots/{id}/",
                stored!("parking/replace_lot.graphql"),
            )
            .summary("Update a parking lot (all fields)")
            .shape(json!("$updateParkingLot")),
            Route::new(
                Method::PATCH,
                "/api/parking-lots/{id}/",
                stored!("parking/patch_lot.graphql"),
            )
            .summary("Update a parking lot (some fields)")
            .shape(json!("$updateParkingLot")),
            Route::new(
                Method::DELETE,
                "/api/parking-lots/{id}/",
                stored!("parking/delete_lot.graphql"),
            )
            .summary("Delete a parking lot")
            .status(StatusCode::NO_CONTENT),
            Route::new(
                Method::GET,
                "/api/parking-records/",
                stored!("parking/records.graphql"),
            )
            .summary("List parking records")
            .shape(each("parkingRecords")),
            Route::new(
                Method::POST,
                "/api/parking-records/",
                stored!("parking/create_record.graphql"),
            )
            .summary("Create a parking record")
            .status(StatusCode::CREATED)
            .shape(json!("$createParkingRecord")),
            Route::new(
                Method::POST,
                "/api/parking-records/batch-collect/",
                stored!("parking/batch_collect.graphql"),
            )
            .summary("Batch collect (crawler)")
            .shape(json!({
                "success": true,
                "message": "$batchCollectParkingRecords.message",
                "statistics": {
                    "created_lots": "$batchCollectParkingRecords.created_lots",
                    "updated_lots": "$batchCollectParkingRecords.updated_lots",
                    "created_records": "$batchCollectParkingRecords.created_records",
                    "skipped_records": "$batchCollectParkingRecords.skipped_records",
                    "errors": "$batchCollectParkingRecords.errors",
                    "total_processed": "$batchCollectParkingRecords.total_processed"
                },
                "error_details": "$batchCollectParkingRecords.error_details"
            })),
            Route::new(
                Method::GET,
                "/api/parking-records/{id}/",
                stored!("parking/record.graphql"),
            )
            .summary("Retrieve a parking record")
            .shape(json!("$parkingRecord")),
        ],
    }
}
