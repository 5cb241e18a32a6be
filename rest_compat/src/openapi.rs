//! The OpenAPI 3.1 document of the REST groups, generated from the routes themselves: path
//! parameters from the path template, query parameters (GET, DELETE) or the request body
//! (other methods; multipart when the operation takes an `Upload`) from the stored
//! operation's variables and their GraphQL types. `/docs` (Swagger UI) and `/redoc` render it.

use std::collections::BTreeSet;

use http::Method;
use serde_json::{Map, Value, json};

use crate::{Group, VarType};

fn schema_of(ty: &VarType) -> Value {
    match ty {
        VarType::List { item, .. } => json!({"type": "array", "items": schema_of(item)}),
        VarType::Named { name, .. } => match name.as_str() {
            "Int" => json!({"type": "integer"}),
            "Float" => json!({"type": "number"}),
            "Boolean" => json!({"type": "boolean"}),
            "String" | "ID" => json!({"type": "string"}),
            "Upload" => json!({"type": "string", "format": "binary"}),
            "DateTime" => json!({"type": "string", "format": "date-time"}),
            "UUID" => json!({"type": "string", "format": "uuid"}),
            other => json!({"type": "object", "description": format!("GraphQL input {other}")}),
        },
    }
}

fn path_params(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|s| s.trim_start_matches('*').to_owned())
        .collect()
}

/// Builds the OpenAPI 3.1 document of `groups`.
pub fn document(groups: &[Group], title: &str, version: &str) -> Value {
    let mut paths = Map::new();
    for group in groups {
        for route in &group.routes {
            let in_path = path_params(route.path);
            let mut parameters = Vec::new();
            let mut props = Map::new();
            let mut required = Vec::new();
            let mut multipart = false;
            let query_style = route.method == Method::GET || route.method == Method::DELETE;
            for var in &route.operation.variables {
                let schema = schema_of(&var.ty);
                let needed = var.ty.is_non_null() && !var.has_default;
                if in_path.contains(&var.name) {
                    parameters.push(json!({
                        "name": var.name, "in": "path", "required": true, "schema": schema
                    }));
                } else if query_style {
                    parameters.push(json!({
                        "name": var.name, "in": "query", "required": needed, "schema": schema
                    }));
                } else {
                    multipart |= var.ty.base_name() == "Upload";
                    props.insert(var.name.clone(), schema);
                    if needed {
                        required.push(Value::String(var.name.clone()));
                    }
                }
            }
            for p in &in_path {
                if !route.operation.variables.iter().any(|v| &v.name == p) {
                    parameters.push(json!({
                        "name": p, "in": "path", "required": true, "schema": {"type": "string"}
                    }));
                }
            }
            let mut op = Map::new();
            op.insert("tags".into(), json!([group.name]));
            op.insert(
                "summary".into(),
                json!(route.summary.unwrap_or(route.operation.name.as_str())),
            );
            op.insert(
                "operationId".into(),
                json!(format!(
                    "{}_{}_{}",
                    route.operation.name,
                    route.method.as_str().to_lowercase(),
                    route
                        .path
                        .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
                        .trim_matches('_')
                )),
            );
            op.insert(
                "description".into(),
                json!(format!(
                    "Runs the stored GraphQL operation `{}` (`{}`).",
                    route.operation.name, route.operation.file
                )),
            );
            if !parameters.is_empty() {
                op.insert("parameters".into(), Value::Array(parameters));
            }
            if !props.is_empty() {
                let schema = json!({"type": "object", "properties": props, "required": required});
                let content = if multipart {
                    json!({"multipart/form-data": {"schema": schema}})
                } else {
                    json!({
                        "application/json": {"schema": schema},
                        "application/x-www-form-urlencoded": {"schema": schema}
                    })
                };
                op.insert(
                    "requestBody".into(),
                    json!({"required": !required.is_empty(), "content": content}),
                );
            }
            op.insert(
                "responses".into(),
                json!({
                    route.status.as_u16().to_string(): {"description": "Successful Response", "content": {"application/json": {"schema": {}}}},
                    "422": {"description": "Validation Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}},
                    "default": {"description": format!("Error in the `{}` group's documented style", group.name)}
                }),
            );
            let entry = paths
                .entry(route.path.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = entry {
                m.insert(route.method.as_str().to_lowercase(), Value::Object(op));
            }
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "VisionFlow's REST compatibility groups. Every route runs a stored GraphQL operation; GraphQL itself is at /graphql."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "BearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": {
                "ValidationError": {
                    "type": "object",
                    "required": ["loc", "msg", "type"],
                    "properties": {
                        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                        "msg": {"type": "string"},
                        "type": {"type": "string"}
                    }
                },
                "HTTPValidationError": {
                    "type": "object",
                    "properties": {"detail": {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}}}
                }
            }
        },
        "security": [{"ApiKeyAuth": []}, {"BearerAuth": []}]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_parameters() {
        let groups = crate::groups();
        let doc = document(&groups, "VisionFlow", "0.1.0");
        for g in &groups {
            for r in &g.routes {
                let op = &doc["paths"][r.path][r.method.as_str().to_lowercase()];
                assert!(op.is_object(), "{} {} missing", r.method, r.path);
            }
        }
        let detect = &doc["paths"]["/detect/image"]["post"]["requestBody"]["content"]["multipart/form-data"]
            ["schema"];
        assert_eq!(detect["properties"]["file"]["format"], "binary");
        assert_eq!(detect["required"], json!(["file"]));
        let plate = &doc["paths"]["/api/plates/{plate_id}"]["get"]["parameters"][0];
        assert_eq!(plate["in"], "path");
        assert_eq!(plate["schema"]["type"], "integer");
        let list = &doc["paths"]["/detections"]["get"]["parameters"];
        assert!(
            list.as_array()
                .expect("params")
                .iter()
                .any(|p| p["name"] == "limit" && p["in"] == "query")
        );
    }
}
