//! `/openapi.json` (OpenAPI 3.1 of every REST group, generated from the routes), `/docs`
//! (Swagger UI) and `/redoc` (ReDoc), with their assets served from the binary (see
//! `assets/docs/LICENSES.md`; no CDN).

use axum::{
    Json,
    extract::Path,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde_json::Value;

/// The OpenAPI document, built once from the routes (it never changes while running).
pub fn document() -> &'static Value {
    static DOC: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
        let mut doc = rest_compat::openapi::document(
            &rest_compat::groups(),
            &crate::graphql::sdl(),
            "VisionFlow REST compatibility API",
            env!("CARGO_PKG_VERSION"),
        );
        if let (Some(paths), Value::Object(media)) =
            (doc["paths"].as_object_mut(), crate::media::openapi_paths())
        {
            paths.extend(media);
            if let Some(Value::Object(register)) = paths.get_mut("/register") {
                register.insert(
                    "get".into(),
                    serde_json::json!({"tags": ["monitor"], "summary": "Sign-up page", "operationId": "get__register",
                        "security": [], "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}}),
                );
            }
        }
        doc
    });
    &DOC
}

/// `GET /openapi.json`.
pub async fn openapi() -> Json<&'static Value> {
    Json(document())
}

/// `GET /docs`.
pub async fn swagger() -> Html<&'static str> {
    Html(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>VisionFlow — Swagger UI</title>
<link rel="stylesheet" href="/docs-assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs-assets/swagger-ui-bundle.js"></script>
<script src="/docs-assets/swagger-init.js"></script>
</body></html>"#,
    )
}

/// `GET /redoc`.
pub async fn redoc() -> Html<&'static str> {
    Html(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>VisionFlow — ReDoc</title></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/docs-assets/redoc.standalone.js"></script>
</body></html>"#,
    )
}

/// `GET /docs-assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    const JS: &str = "text/javascript; charset=utf-8";
    let (body, mime): (&'static [u8], &str) = match file.as_str() {
        "swagger-ui-bundle.js" => (include_bytes!("assets/docs/swagger-ui-bundle.js"), JS),
        "swagger-ui.css" => (
            include_bytes!("assets/docs/swagger-ui.css"),
            "text/css; charset=utf-8",
        ),
        "redoc.standalone.js" => (include_bytes!("assets/docs/redoc.standalone.js"), JS),
        "swagger-init.js" => (
            b"window.ui = SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true});\n",
            JS,
        ),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}
