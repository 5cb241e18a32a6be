//! GraphQL over HTTP (`POST /graphql`), over websocket (`/graphql/ws`, both
//! graphql-transport-ws and the legacy graphql-ws protocol), and GraphiQL (`GET /graphql`)
//! with its assets served from the binary.

use async_graphql::{Data, http::ALL_WEBSOCKET_PROTOCOLS};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::{
    Extension,
    extract::{Path, State, WebSocketUpgrade},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use super::HttpState;
use crate::auth::{self, Auth, Presented};

/// `POST /graphql`.
pub async fn execute(
    State(state): State<HttpState>,
    Extension(auth): Extension<Auth>,
    request: GraphQLRequest,
) -> GraphQLResponse {
    state
        .schema
        .execute(request.into_inner().data(auth))
        .await
        .into()
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
                        Some(presented) => auth::authenticate(&app, Some(presented)).await?,
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
