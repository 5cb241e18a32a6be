//! The OpenAPI 3.1 document of the REST groups, generated from the routes themselves: path
//! parameters from the path template, query parameters (GET, DELETE) or the request body
//! (other methods; multipart when the operation takes an `Upload`) from the stored
//! operation's variables and their GraphQL types, narrowed by the route's constraints
//! ([`crate::constraint`], the same ones the engine enforces); success bodies from the
//! stored operation's selection and the answer template ([`crate::response`]); error bodies
//! from the group's style; security per route. `/docs` (Swagger UI) and `/redoc` render it.

use std::collections::BTreeSet;

use http::Method;
use serde_json::{Map, Value, json};

use crate::{Group, Route, VarType, response::SchemaIndex};

/// The `operationId` of the route `method path`: path segments joined by `__` (so
/// `/detect/image` and `/detect_image`, or `/api/locations/` and `/api/locations`, stay
/// distinct), `-` as `_`, parameters by name: `get__cameras__camera_id`.
pub fn operation_id(method: &Method, path: &str) -> String {
    let body: String = path
        .chars()
        .filter(|c| !matches!(c, '{' | '}' | '*'))
        .map(|c| {
            if c == '-' || !(c.is_ascii_alphanumeric() || c == '_' || c == '/') {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!(
        "{}{}",
        method.as_str().to_lowercase(),
        body.replace('/', "__")
    )
}

fn constrained(mut schema: Value, route: &Route, name: &str) -> Value {
    for (n, c) in &route.constraints {
        if *n != name {
            continue;
        }
        let is_array = schema["type"] == "array"
            || schema["type"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("array")));
        let target = if is_array {
            &mut schema["items"]
        } else {
            &mut schema
        };
        if let (Value::Object(t), Value::Object(c)) = (target, c) {
            for (k, v) in c {
                t.insert(k.clone(), v.clone());
            }
        }
    }
    schema
}

/// `schema` with `null` removed from its properties' types (form bodies).
fn without_null(schema: &Value) -> Value {
    let mut s = schema.clone();
    if let Some(Value::Object(props)) = s.get_mut("properties") {
        for v in props.values_mut() {
            if let Some(Value::Array(types)) = v.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types[0].clone();
                    v["type"] = only;
                }
            }
        }
    }
    s
}

fn schema_of(ty: &VarType, index: &SchemaIndex) -> Value {
    let schema = base_schema(ty, index);
    if ty.is_non_null() || schema.as_object().is_some_and(serde_json::Map::is_empty) {
        schema
    } else {
        crate::response::nullable(schema)
    }
}

fn base_schema(ty: &VarType, index: &SchemaIndex) -> Value {
    match ty {
        VarType::List { item, .. } => json!({"type": "array", "items": schema_of(item, index)}),
        VarType::Named { name, .. } => match name.as_str() {
            "Int" => {
                json!({"type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX})
            }
            "Float" => json!({"type": "number"}),
            "Boolean" => json!({"type": "boolean"}),
            // No NUL (U+0000): the engine refuses it (PostgreSQL cannot store it).
            "String" | "ID" => json!({"type": "string", "pattern": "^[^\\x00]*$"}),
            "Upload" => json!({"type": "string", "format": "binary"}),
            "DateTime" => json!({"type": "string", "format": "date-time"}),
            "UUID" => json!({"type": "string", "format": "uuid"}),
            "JSON" => json!({}),
            other => index.input_schema(other).unwrap_or_else(
                || json!({"type": "object", "description": format!("GraphQL input {other}")}),
            ),
        },
    }
}

fn path_params(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|s| s.trim_start_matches('*').to_owned())
        .collect()
}

/// Builds the OpenAPI 3.1 document of `groups` over the GraphQL schema `sdl` (the printed
/// schema the stored operations run against).
pub fn document(groups: &[Group], sdl: &str, title: &str, version: &str) -> Value {
    let index = SchemaIndex::new(sdl).unwrap_or_default();
    let mut paths = Map::new();
    for group in groups {
        for route in &group.routes {
            let in_path = path_params(route.path);
            let mut parameters = Vec::new();
            let mut props = Map::new();
            let mut required = Vec::new();
            let mut multipart = false;
            let mut scalar_body = true;
            let query_style = route.method == Method::GET || route.method == Method::DELETE;
            for var in &route.operation.variables {
                let schema = constrained(schema_of(&var.ty, &index), route, &var.name);
                scalar_body &= matches!(var.ty, VarType::Named { ref name, .. } if matches!(name.as_str(), "Int" | "Float" | "Boolean" | "String" | "ID" | "Upload" | "DateTime" | "UUID"));
                let needed =
                    (var.ty.is_non_null() && !var.has_default) || route.requires(&var.name);
                if in_path.contains(&var.name) {
                    parameters.push(json!({
                        "name": var.name, "in": "path", "required": true, "schema": schema
                    }));
                } else if query_style {
                    parameters.push(json!({
                        "name": route.wire_name(&var.name), "in": "query", "required": needed, "schema": schema
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
                json!(operation_id(&route.method, route.path)),
            );
            if route.deprecated {
                op.insert("deprecated".into(), json!(true));
            }
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
                // Forms carry only scalars (and repeated keys); bodies with objects, lists
                // or JSON values are JSON only.
                let content = if multipart {
                    json!({"multipart/form-data": {"schema": schema}})
                } else if scalar_body {
                    // A form has no null: its fields are present or absent.
                    json!({
                        "application/json": {"schema": schema},
                        "application/x-www-form-urlencoded": {"schema": without_null(&schema)}
                    })
                } else {
                    json!({"application/json": {"schema": schema}})
                };
                op.insert(
                    "requestBody".into(),
                    json!({"required": !required.is_empty(), "content": content}),
                );
            }
            let mut responses = Map::new();
            let mut success = Map::new();
            if route.status == http::StatusCode::NO_CONTENT {
                success.insert("description".into(), json!("No Content"));
            } else {
                let data = index.data_schema(&route.operation);
                let body = match &route.template {
                    Some(t) => crate::response::shape_schema(t, &data),
                    None => data,
                };
                success.insert(
                    "description".into(),
                    json!(route.summary.unwrap_or("Success")),
                );
                success.insert(
                    "content".into(),
                    json!({"application/json": {"schema": body}}),
                );
            }
            if !route.links.is_empty() {
                let links: Map<String, Value> = route
                    .links
                    .iter()
                    .map(|(name, target, params)| {
                        (
                            (*name).to_owned(),
                            json!({"operationId": target, "parameters": params}),
                        )
                    })
                    .collect();
                success.insert("links".into(), Value::Object(links));
            }
            responses.insert(route.status.as_u16().to_string(), Value::Object(success));
            for (status, schema) in group.style.error_schemas() {
                if route.public && status.as_u16() == 403 {
                    continue;
                }
                responses.insert(
                    status.as_u16().to_string(),
                    json!({
                        "description": format!("{} in the `{}` group's style", status.canonical_reason().unwrap_or("Error"), group.name),
                        "content": {"application/json": {"schema": schema}}
                    }),
                );
            }
            op.insert("responses".into(), Value::Object(responses));
            op.insert(
                "security".into(),
                if route.public {
                    json!([])
                } else {
                    json!([{"ApiKeyAuth": []}, {"BearerAuth": []}])
                },
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
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_parameters() {
        let groups = crate::groups();
        let doc = document(
            &groups,
            "type Query { x: Int } type Mutation { y: Int }",
            "VisionFlow",
            "0.1.0",
        );
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
