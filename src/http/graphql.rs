//! GraphQL over HTTP (`POST /graphql`), over websocket (`/graphql/ws`, both
//! graphql-transport-ws and the legacy graphql-ws protocol), and GraphiQL (`GET /graphql`)
//! with its assets served from the binary.

use async_graphql::{Data, http::ALL_WEBSOCKET_PROTOCOLS};
use async_graphql_axum::{
    GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket, rejection::GraphQLRejection,
};
use axum::{
    Extension, Json,
    extract::{FromRequest as _, Path, State, WebSocketUpgrade},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use serde_json::json;

use super::HttpState;
use crate::auth::{self, Auth, Presented};

/// `POST /graphql`. Bodies over `http.max_body_bytes` get 413 whether or not they declare
/// a `Content-Length`; a body that is not a GraphQL request gets 400.
pub async fn execute(
    State(state): State<HttpState>,
    Extension(auth): Extension<Auth>,
    request: axum::extract::Request,
) -> Response {
    let limit = state.app.settings.http.max_body_bytes;
    let (parts, body) = request.into_parts();
    let bytes = match rest_compat::read_limited(&parts.headers, body, limit).await {
        Ok(b) => b,
        Err(e) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                Json(json!({"errors": [{"message": e.message, "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]})),
            )
                .into_response();
        }
    };
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    match GraphQLRequest::<GraphQLRejection>::from_request(request, &()).await {
        Ok(req) => GraphQLResponse::from(state.schema.execute(req.into_inner().data(auth)).await)
            .into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// `GET /graphql/ws`. Credentials come from the `connection_init` payload
/// (`Authorization`, `X-API-Key`, `authToken` …) or, when it has none, from the upgrade
/// request's headers. Invalid credentials refuse the connection.
pub async fn websocket(
    State(state): State<HttpState>,
    Extension(header_auth): Extension<Auth>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let app = state.app.clone();
            GraphQLWebSocket::new(socket, state.schema.clone(), protocol)
                .on_connection_init(move |payload| async move {
                    let auth = match Presented::from_init_payload(&payload) {
                        Some(presented) => {
                            auth::authenticate(&app.accounts, Some(presented)).await?
                        }
                        None => header_auth,
                    };
                    if let Auth::Invalid(_) = auth {
                        auth.principal()?;
                    }
                    let mut data = Data::default();
                    data.insert(auth);
                    Ok(data)
                })
                .serve()
        })
}

/// `GET /graphql`: the GraphiQL IDE.
pub async fn graphiql() -> Html<&'static str> {
    Html(include_str!("graphiql.html"))
}

/// `GET /graphiql/{file}`: GraphiQL's bundled assets (see `assets/graphiql/LICENSES.md`).
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, mime): (&'static [u8], &str) = match file.as_str() {
        "graphiql.min.js" => (
            include_bytes!("assets/graphiql/graphiql.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "graphiql.min.css" => (
            include_bytes!("assets/graphiql/graphiql.min.css"),
            "text/css; charset=utf-8",
        ),
        "react.production.min.js" => (
            include_bytes!("assets/graphiql/react.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("assets/graphiql/react-dom.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "init.js" => (
            include_bytes!("assets/graphiql/init.js"),
            "text/javascript; charset=utf-8",
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
