//! The `alpr` group: alpr-api.en.md ("Galaxy ALPR REST API", a FastAPI service), errors as
//! FastAPI's `{"detail": …}` with 422 `HTTPValidationError` for validation. Every route of
//! ENDPOINTS.md's alpr table, aliases included.

use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};

use crate::{FastApiStyle, Group, Route, stored};

fn detection_template() -> Value {
    json!({
        "timestamp": "$detectImage.timestamp",
        "processing_time": "$detectImage.processing_time",
        "stored_original_path": "$detectImage.stored_original_path",
        "detected_vehicle_image_path": "$detectImage.annotated_path",
        "detected_plate_image_path": "$detectImage.plates.0.image_path",
        "annotated_image_path": "$detectImage.annotated_path",
        "image_resolution": "$detectImage.image_resolution",
        "session_id": "$detectImage.session_id",
        "location": "$detectImage.location.name",
        "list_vehicle_and_plate_information": {"$each": "$detectImage.entries", "$as": {
            "vehicle": {"$when": "$vehicle",
                "vehicle_class": "$vehicle.vehicle_class",
                "vehicle_confidence_score": "$vehicle.vehicle_confidence_score",
                "vehicle_image_path": "$vehicle.vehicle_image_path",
                "vehicle_bounding_box": "$vehicle.bbox"
            },
            "plate": {"$when": "$plate",
                "plate_text": "$plate.plate_text",
                "ocr_confidence": "$plate.ocr_confidence",
                "plate_image_path": "$plate.plate_image_path",
                "plate_bounding_box": "$plate.bbox",
                "plate_region": "$plate.region",
                "plate_status": "$plate.plate_status"
            }
        }}
    })
}

fn latest_template() -> Value {
    json!({"$each": "$latestDetection.entries", "$as": {
        "id": "$id",
        "entity_type": "$entity_type",
        "vehicle_index": "$vehicle_index",
        "plate_index": "$plate_index",
        "plateNumber": "$plate.text",
        "confidence": "$plate.confidence",
        "plateType": "$plate.plateType",
        "plateStatus": "$plate.status",
        "vehicleType": "$vehicle.vehicleClass",
        "vehicleConfidence": "$vehicle.confidence",
        "detectedTime": "$detection.detectedTime",
        "gateLocation": "$detection.location.label",
        "originalImage": "$detection.originalUrl",
        "plateImage": "$plate.imageUrl",
        "processingTime": "$detection.processingTimeLabel",
        "imageResolution": "$detection.imageResolution",
        "plateTextColor": "$plate.textColor",
        "plateBackgroundColor": "$plate.backgroundColor",
        "plateRegion": "$plate.regionLabel",
        "algorithm": "$detection.model"
    }})
}

fn line_detections() -> Value {
    json!({"$each": "$recentDetections", "$as": {
        "session_id": "$id",
        "timestamp": "$detectedTime",
        "annotated_path": "$annotatedUrl",
        "plates": {"$each": "$plates", "$as": {
            "plate_text": "$text", "confidence": "$confidence", "plate_status": "$status"
        }}
    }})
}

fn session_template(root: &str) -> Value {
    json!({
        "id": format!("${root}.id"),
        "timestamp": format!("${root}.timestamp"),
        "location": format!("${root}.location.name"),
        "location_type": format!("${root}.location.type"),
        "source_filename": format!("${root}.source_filename"),
        "original_path": format!("${root}.original_path"),
        "annotated_path": format!("${root}.annotated_path"),
        "image_resolution": format!("${root}.image_resolution"),
        "processing_time": format!("${root}.processing_time"),
        "model": format!("${root}.model"),
        "notes": format!("${root}.notes"),
        "vehicles": format!("${root}.vehicles"),
        "plates": format!("${root}.plates")
    })
}

/// The alpr group's routes.
pub fn group() -> Group {
    routes()
        .param("limit", json!({"minimum": 0, "maximum": 1000}))
        .param("offset", json!({"minimum": 0}))
        .param("days", json!({"minimum": 1, "maximum": 366}))
        .param_at(&["/api/detect/lines", "/api/detect/line/{line_id}/{name}"], "limit", json!({"minimum": 1, "maximum": 100}))
        .param("plate_text", json!({"pattern": PLATE_TEXT, "x-message": "must hold 1–16 letters or digits after normalising"}))
        .param("status_type", json!({"pattern": "^\\s*([Ww][Hh][Ii][Tt][Ee]|[Bb][Ll][Aa][Cc][Kk])[Ll][Ii][Ss][Tt]\\s*$", "x-message": "must be one of whitelist, blacklist"}))
        .param("plate_status", json!({"pattern": "^\\s*([Ww][Hh][Ii][Tt][Ee]|[Bb][Ll][Aa][Cc][Kk])[Ll][Ii][Ss][Tt]\\s*$|^\\s*[Uu][Nn][Cc][Ll][Aa][Ss][Ss][Ii][Ff][Ii][Ee][Dd]\\s*$", "x-message": "must be one of whitelist, blacklist, unclassified"}))
        .param("type", json!({"pattern": "^\\s*([Ee][Nn][Tt][Rr][Yy]|[Ee][Xx][Ii][Tt])\\s*$", "x-message": "must be Entry or Exit"}))
        .param("name", json!({"minLength": 1, "maxLength": 200, "x-trim": true, "x-message": "must be 1–200 characters"}))
        .param("vehicle_class", json!({"minLength": 1, "maxLength": 64, "x-trim": true, "x-message": "must be 1–64 characters"}))
        .param("plate_type", json!({"minLength": 1, "maxLength": 32, "x-trim": true, "x-message": "must be 1–32 characters"}))
        .param("vehicle_confidence_score", json!({"minimum": 0, "maximum": 1}))
        .link((Method::POST, "/api/locations/"), "location", (Method::GET, "/api/locations/{location_id}"), json!({"location_id": "$response.body#/id"}))
        .link((Method::POST, "/api/locations/"), "update", (Method::PUT, "/api/locations/{location_id}"), json!({"location_id": "$response.body#/id"}))
        .link((Method::POST, "/api/locations/"), "delete", (Method::DELETE, "/api/locations/{location_id}"), json!({"location_id": "$response.body#/id"}))
        .link((Method::POST, "/detect/image"), "session", (Method::GET, "/api/sessions/{session_id}"), json!({"session_id": "$response.body#/session_id"}))
}

/// Plate text: 1–16 ASCII letters or digits once everything else is dropped.
const PLATE_TEXT: &str = "^[^A-Za-z0-9\\x00]*([A-Za-z0-9][^A-Za-z0-9\\x00]*){1,16}$";

fn routes() -> Group {
    let detect = || stored!("alpr/detect_image.graphql");
    let latest = || stored!("alpr/latest_detection.graphql");
    let regions = || stored!("alpr/plate_regions.graphql");
    let region = || stored!("alpr/plate_region.graphql");
    let update_plate = || stored!("alpr/update_plate.graphql");
    let update_vehicle = || stored!("alpr/update_vehicle.graphql");
    let locations = || stored!("alpr/locations.graphql");
    let create_location = || stored!("alpr/create_location.graphql");
    let regions_shape = json!({"regions": "$plateRegions"});
    let updated_plate =
        json!({"message": "Successfully updated plate {$updatePlate.id}", "plate": "$updatePlate"});
    let updated_vehicle = json!({"message": "Successfully updated vehicle {$updateVehicle.id}", "vehicle": "$updateVehicle"});
    let deleted_plate = json!({
        "message": "$deletePlate.message",
        "plate_deleted": true,
        "vehicle_deleted": "$deletePlate.vehicleDeleted",
        "session_deleted": "$deletePlate.sessionDeleted"
    });
    let vehicle_detail = json!({
        "id": "$vehicle.id",
        "vehicle_class": "$vehicle.vehicle_class",
        "vehicle_confidence_score": "$vehicle.vehicle_confidence_score",
        "vehicle_image_path": "$vehicle.vehicle_image_path",
        "vehicle_bounding_box": "$vehicle.vehicle_bounding_box",
        "timestamp": "$vehicle.timestamp",
        "session_id": "$vehicle.detection.session_id",
        "plates": "$vehicle.plates"
    });
    let plate_detail = json!({
        "id": "$plate.id",
        "plate_text": "$plate.plate_text",
        "plate_bounding_box": "$plate.plate_bounding_box",
        "plate_type": "$plate.plate_type",
        "plate_status": "$plate.plate_status",
        "plate_region": "$plate.plate_region",
        "vehicle_class": "$plate.vehicle.vehicle_class",
        "timestamp": "$plate.timestamp",
        "region_code": "$plate.region_code",
        "raw_text": "$plate.raw_text",
        "ocr_confidence": "$plate.ocr_confidence",
        "candidates": "$plate.candidates",
        "plate_text_color": "$plate.plate_text_color",
        "plate_background_color": "$plate.plate_background_color",
        "plate_image_path": "$plate.plate_image_path",
        "vehicle_id": "$plate.vehicle.vehicle_id",
        "session_id": "$plate.detection.session_id"
    });
    Group {
        name: "alpr",
        style: Arc::new(FastApiStyle),
        routes: vec![
            Route::new(Method::POST, "/detect/image", detect())
                .summary("Detect Image")
                .shape(detection_template()),
            Route::new(Method::POST, "/detect_image", detect())
                .summary("Detect Image (alias)")
                .shape(detection_template()),
            Route::new(Method::GET, "/api/detection/latest", latest())
                .summary("Latest Detection")
                .shape(latest_template()),
            Route::new(Method::GET, "/latest_detection", latest())
                .summary("Latest Detection (alias)")
                .shape(latest_template()),
            Route::new(Method::GET, "/detections", stored!("alpr/detections.graphql"))
                .summary("List Detections")
                .shape(json!({
                    "detections": {"$each": "$plateReads.edges", "$as": {
                        "id": "$node.id",
                        "detection_type": "plate",
                        "timestamp": "$node.detectedTime",
                        "original_path": "$node.detection.originalUrl",
                        "file_path": "$node.imageUrl",
                        "annotated_path": "$node.detection.annotatedUrl",
                        "processing_time": "$node.detection.processingMsLabel",
                        "image_resolution": "$node.detection.imageResolution",
                        "location": "$node.detection.location.name",
                        "detection_details": {
                            "vehicle_type": "$node.vehicle.vehicleClass",
                            "vehicle_confidence": "$node.vehicle.confidence",
                            "plate_text": "$node.text",
                            "ocr_confidence": "$node.confidence",
                            "confidence": "$node.confidence",
                            "region": "$node.regionLabel",
                            "plate_type": "$node.plateType",
                            "plate_status": "$node.status"
                        }
                    }},
                    "count": "$plateReads.totalCount"
                })),
            Route::new(Method::GET, "/api/detect/lines", stored!("alpr/lines.graphql"))
                .summary("Get Detections")
                .shape(json!({"lines": {"$each": "$locations", "$as": {
                    "line_id": "$id", "name": "$name", "type": "$type",
                    "detections": line_detections()
                }}})),
            Route::new(
                Method::GET,
                "/api/detect/line/{line_id}/{name}",
                stored!("alpr/line.graphql"),
            )
            .summary("Get Line Detection")
            .shape(json!({
                "line_id": "$location.id", "name": "$location.name", "type": "$location.type",
                "detections": {"$each": "$location.recentDetections", "$as": {
                    "session_id": "$id",
                    "timestamp": "$detectedTime",
                    "annotated_path": "$annotatedUrl",
                    "plates": {"$each": "$plates", "$as": {
                        "plate_text": "$text", "confidence": "$confidence", "plate_status": "$status"
                    }}
                }}
            })),
            Route::new(Method::GET, "/api/plates/regions", regions())
                .summary("Get Plate Regions")
                .shape(regions_shape.clone()),
            Route::new(Method::GET, "/api/plate/regions", regions())
                .summary("Get Plate Regions (alias)")
                .shape(regions_shape),
            Route::new(
                Method::GET,
                "/api/plates/regions/summary",
                stored!("alpr/plate_regions_summary.graphql"),
            )
            .summary("Get Plate Regions Summary")
            .shape(json!({
                "known_regions": {"$each": "$plateRegions", "$as": "$code"},
                "regions": "$statistics.regions"
            })),
            Route::new(Method::GET, "/api/plates/regions/{code}", region())
                .summary("Get Plate Region by Code")
                .shape(json!("$plateRegion")),
            Route::new(Method::GET, "/api/plate/region/{code}", region())
                .summary("Get Plate Region by Code (alias)")
                .shape(json!("$plateRegion")),
            Route::new(Method::GET, "/api/plates/{plate_id}", stored!("alpr/plate.graphql"))
                .summary("Get Plate Details")
                .shape(plate_detail),
            Route::new(Method::POST, "/api/plates/{plate_id}", update_plate())
                .summary("Update Plate Details")
                .shape(updated_plate.clone()),
            Route::new(Method::PATCH, "/api/plates/{plate_id}", update_plate())
                .summary("Update Plate Details")
                .shape(updated_plate),
            Route::new(
                Method::DELETE,
                "/api/plates/{plate_id}",
                stored!("alpr/delete_plate.graphql"),
            )
            .summary("Delete Plate Record")
            .shape(deleted_plate),
            Route::new(Method::GET, "/api/vehicles/{vehicle_id}", stored!("alpr/vehicle.graphql"))
                .summary("Get Vehicle Details")
                .shape(vehicle_detail),
            Route::new(Method::POST, "/api/vehicles/{vehicle_id}", update_vehicle())
                .summary("Update Vehicle Details")
                .shape(updated_vehicle.clone()),
            Route::new(Method::PUT, "/api/vehicles/{vehicle_id}", update_vehicle())
                .summary("Update Vehicle Details")
                .shape(updated_vehicle),
            Route::new(
                Method::DELETE,
                "/api/vehicles/{vehicle_id}",
                stored!("alpr/delete_vehicle.graphql"),
            )
            .summary("Delete Vehicle Record")
            .shape(json!({
                "message": "$deleteVehicle.message",
                "vehicle_deleted": "$deleteVehicle.vehicleDeleted",
                "plates_deleted": "$deleteVehicle.platesDeleted",
                "session_deleted": "$deleteVehicle.sessionDeleted"
            })),
            Route::new(Method::GET, "/api/plate-status", stored!("alpr/plate_statuses.graphql"))
                .summary("List Plate Statuses")
                .shape(json!({"status": "success", "plate_statuses": "$plateListEntries"})),
            Route::new(
                Method::POST,
                "/api/plate-status",
                stored!("alpr/add_plate_status.graphql"),
            )
            .summary("Add Plate Status")
            .shape(json!({
                "status": "success",
                "message": "Plate {$setPlateListEntry.plateText} added to {$setPlateListEntry.status}"
            })),
            Route::new(
                Method::DELETE,
                "/api/plate-status/{plate_text}",
                stored!("alpr/remove_plate_status.graphql"),
            )
            .summary("Remove Plate Status")
            .shape(json!({
                "status": "success",
                "message": "Plate {$removePlateListEntry} removed from status list"
            })),
            Route::new(
                Method::POST,
                "/api/plate-status/sync-all",
                stored!("alpr/sync_plate_statuses.graphql"),
            )
            .summary("Sync All Plate Statuses")
            .shape(json!({
                "status": "success",
                "message": "Successfully synchronized {$syncPlateStatuses.total} plate statuses",
                "details": {
                    "whitelist": "$syncPlateStatuses.whitelist",
                    "blacklist": "$syncPlateStatuses.blacklist",
                    "unclassified": "$syncPlateStatuses.unclassified"
                }
            })),
            Route::new(
                Method::GET,
                "/api/statistics/dashboard",
                stored!("alpr/statistics_dashboard.graphql"),
            )
            .summary("Get Statistics Dashboard")
            .shape(json!({
                "totalDetections": "$statistics.dashboard.totalDetections",
                "totalVehicles": "$statistics.dashboard.totalVehicles",
                "totalPlates": "$statistics.dashboard.totalPlates",
                "whitelisted": "$statistics.dashboard.whitelisted",
                "blacklisted": "$statistics.dashboard.blacklisted",
                "vehicleDistribution": {"$entries": "$statistics.vehicleDistribution", "$key": "$label", "$value": "$count"},
                "detectionTrend": "$statistics.detectionTrend",
                "hourlyActivity": "$statistics.hourlyActivity"
            })),
            Route::new(
                Method::GET,
                "/api/statistics/vehicle-distribution",
                stored!("alpr/statistics_vehicle_distribution.graphql"),
            )
            .summary("Get Vehicle Distribution")
            .shape(json!({"$entries": "$statistics.vehicleDistribution", "$key": "$label", "$value": "$count"})),
            Route::new(
                Method::GET,
                "/api/statistics/detection-trend",
                stored!("alpr/statistics_detection_trend.graphql"),
            )
            .summary("Get Detection Trend")
            .shape(json!("$statistics.detectionTrend")),
            Route::new(
                Method::GET,
                "/api/statistics/weekly-activity",
                stored!("alpr/statistics_weekly_activity.graphql"),
            )
            .summary("Get Weekly Activity")
            .shape(json!("$statistics.weeklyActivity")),
            Route::new(
                Method::GET,
                "/api/statistics/hourly-activity",
                stored!("alpr/statistics_hourly_activity.graphql"),
            )
            .summary("Get Hourly Activity")
            .shape(json!("$statistics.hourlyActivity")),
            Route::new(
                Method::GET,
                "/api/statistics/plate-types",
                stored!("alpr/statistics_plate_types.graphql"),
            )
            .summary("Get Plate Types")
            .shape(json!({"$entries": "$statistics.plateTypes", "$key": "$label", "$value": "$count"})),
            Route::new(
                Method::GET,
                "/api/statistics/regions",
                stored!("alpr/statistics_regions.graphql"),
            )
            .summary("Get Regions")
            .shape(json!("$statistics.regions")),
            Route::new(
                Method::GET,
                "/api/statistics/status",
                stored!("alpr/statistics_status.graphql"),
            )
            .summary("Get Status")
            .shape(json!({
                "status": "$alprStatus.status",
                "timestamp": "$alprStatus.timestamp",
                "database": {
                    "accessible": "$alprStatus.databaseAccessible",
                    "backend": "$alprStatus.databaseBackend"
                },
                "inference": {
                    "models_loaded": "$alprStatus.modelsLoaded",
                    "workers": "$alprStatus.inferenceWorkers",
                    "queue": "$alprStatus.inferenceQueue"
                },
                "router": {
                    "prefix": "/api/statistics",
                    "tags": ["statistics"],
                    "routes": [
                        {"path": "/api/statistics/dashboard", "methods": ["GET"]},
                        {"path": "/api/statistics/vehicle-distribution", "methods": ["GET"]},
                        {"path": "/api/statistics/detection-trend", "methods": ["GET"]},
                        {"path": "/api/statistics/weekly-activity", "methods": ["GET"]},
                        {"path": "/api/statistics/hourly-activity", "methods": ["GET"]},
                        {"path": "/api/statistics/plate-types", "methods": ["GET"]},
                        {"path": "/api/statistics/regions", "methods": ["GET"]},
                        {"path": "/api/statistics/status", "methods": ["GET"]}
                    ]
                }
            })),
            Route::new(Method::GET, "/api/locations/", locations())
                .summary("Get All Locations")
                .shape(json!("$locations")),
            Route::new(Method::GET, "/api/locations", locations())
                .summary("Get All Locations (no trailing slash)")
                .shape(json!("$locations")),
            Route::new(Method::POST, "/api/locations/", create_location())
                .summary("Create Location")
                .shape(json!("$createLocation")),
            Route::new(Method::POST, "/api/locations", create_location())
                .summary("Create Location (no trailing slash)")
                .shape(json!("$createLocation")),
            Route::new(
                Method::GET,
                "/api/locations/types",
                stored!("alpr/location_types.graphql"),
            )
            .summary("Get Location Types")
            .shape(json!({"types": "$locationTypes"})),
            Route::new(
                Method::GET,
                "/api/locations/count",
                stored!("alpr/location_count.graphql"),
            )
            .summary("Get Location Count")
            .shape(json!({"count": "$locationCount"})),
            Route::new(
                Method::GET,
                "/api/locations/{location_id}",
                stored!("alpr/location.graphql"),
            )
            .summary("Get Location")
            .shape(json!("$location")),
            Route::new(
                Method::PUT,
                "/api/locations/{location_id}",
                stored!("alpr/update_location.graphql"),
            )
            .summary("Update Location")
            .shape(json!("$updateLocation")),
            Route::new(
                Method::DELETE,
                "/api/locations/{location_id}",
                stored!("alpr/delete_location.graphql"),
            )
            .summary("Delete Location")
            .shape(json!({"message": "Location {$deleteLocation} deleted successfully"})),
            Route::new(Method::GET, "/api/sessions/{session_id}", stored!("alpr/session.graphql"))
                .summary("Get Session")
                .shape(session_template("detection")),
            Route::new(
                Method::PUT,
                "/api/sessions/{session_id}",
                stored!("alpr/update_session.graphql"),
            )
            .summary("Update Session")
            .shape(session_template("updateDetection")),
        ],
    }
}
