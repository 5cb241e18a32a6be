//! VisionFlow's REST compatibility layer.
//!
//! Each documented REST route of the five user documents (`../shared/spec/ENDPOINTS.md`) is a
//! [`Route`]: method + path template + a stored GraphQL operation (a `.graphql` file under
//! `operations/<group>/`) + the status and JSON template that shape its answer. A [`Group`]
//! adds the document's error style. [`router`] turns groups into an axum router that runs
//! every request through an async-graphql [`Executor`]: one business path, the GraphQL
//! resolvers, and never a second one.
//!
//! This crate knows async-graphql's `Executor`, not the server crate. Authentication reaches
//! the resolvers through [`Options::prepare`], which the server uses to copy what its
//! middleware resolved from `X-API-Key` / `Authorization: Bearer` into the request data.

pub mod coerce;
pub mod constraint;
pub mod error;
pub mod groups;
pub mod openapi;
pub mod operation;
pub mod response;
pub mod shape;

use std::{collections::BTreeMap, sync::Arc};

use async_graphql::{Executor, UploadValue, Variables};
use axum::{
    Router,
    extract::{FromRequest, FromRequestParts, Multipart, RawPathParams, Request},
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{MethodFilter, MethodRouter},
};
use serde_json::Value;

pub use coerce::{Body, FilePart, Inputs};
pub use error::{
    DrfStyle, ErrorCode, ErrorStyle, FastApiStyle, FlaskStyle, MonitorStyle, RestError, SaasStyle,
};
pub use operation::{OperationError, StoredOperation, VarType, VariableDef};

/// Turns the HTTP request parts into request data for the GraphQL request (authentication);
/// the first argument is the route's group name.
pub type Prepare = Arc<
    dyn Fn(&str, &http::request::Parts, async_graphql::Request) -> async_graphql::Request
        + Send
        + Sync,
>;

/// One documented REST route.
#[derive(Debug, Clone)]
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Path template in axum syntax (`/cameras/{camera_id}`).
    pub path: &'static str,
    /// The stored operation it runs.
    pub operation: StoredOperation,
    /// Status on success (200, 201, 204 …).
    pub status: StatusCode,
    /// Template of the success body (see [`shape`]); `None` answers `data` as is.
    pub template: Option<Value>,
    /// One-line summary for the OpenAPI document (`Detect Image`).
    pub summary: Option<&'static str>,
    /// Constraints on inputs (JSON Schema fragments by variable name; see [`constraint`]),
    /// enforced before the operation runs and published in the OpenAPI document.
    pub constraints: Vec<(&'static str, Value)>,
    /// Answers without credentials (account sign-up and login).
    pub public: bool,
    /// OpenAPI links from this route's success answer to other operations:
    /// `(name, operationId of the target, {target parameter: runtime expression})`.
    pub links: Vec<(&'static str, String, Value)>,
    /// Still served but superseded: answers carry `Deprecation: true` (RFC 9745) and the
    /// OpenAPI operation is marked `deprecated`.
    pub deprecated: bool,
    /// Query parameters whose wire name is not a GraphQL name (`filters[name]`, OpenAPI
    /// `deepObject` style): `(wire name, variable)`.
    pub query_names: Vec<(&'static str, &'static str)>,
    /// Refuse query parameters the route does not declare (400 naming them).
    pub strict_query: bool,
}

impl Route {
    /// A route answering 200 with `data` as is.
    pub fn new(method: Method, path: &'static str, operation: StoredOperation) -> Self {
        Self {
            method,
            path,
            operation,
            status: StatusCode::OK,
            template: None,
            summary: None,
            constraints: Vec::new(),
            public: false,
            links: Vec::new(),
            deprecated: false,
            query_names: Vec::new(),
            strict_query: false,
        }
    }

    /// Marks the route deprecated (see [`Route::deprecated`]).
    #[must_use]
    pub fn deprecate(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// Constrains the input `name` (a JSON Schema fragment: `minimum`, `maximum`,
    /// `minLength`, `maxLength`, `pattern`, `enum`, `format: date-time`).
    #[must_use]
    pub fn param(mut self, name: &'static str, schema: Value) -> Self {
        self.constraints.push((name, schema));
        self
    }

    /// Feeds the variable `variable` from the query parameter `wire` (a name GraphQL cannot
    /// spell, such as `filters[name]`); the OpenAPI document publishes `wire`.
    #[must_use]
    pub fn query_name(mut self, wire: &'static str, variable: &'static str) -> Self {
        self.query_names.push((wire, variable));
        self
    }

    /// Answers 400 to query parameters the route does not declare.
    #[must_use]
    pub fn strict_query(mut self) -> Self {
        self.strict_query = true;
        self
    }

    /// Whether the input `name` must be sent even though it may be `null` (a constraint
    /// with `"x-required": true`, e.g. `quotaSeconds` where `null` means unlimited).
    pub fn requires(&self, name: &str) -> bool {
        self.constraints
            .iter()
            .any(|(n, c)| *n == name && c.get("x-required").and_then(Value::as_bool) == Some(true))
    }

    /// The wire name of the query parameter feeding `variable`.
    pub fn wire_name<'a>(&self, variable: &'a str) -> &'a str {
        self.query_names
            .iter()
            .find(|(_, v)| *v == variable)
            .map_or(variable, |(w, _)| w)
    }

    /// Marks the route as answering without credentials.
    #[must_use]
    pub fn public(mut self) -> Self {
        self.public = true;
        self
    }

    /// Links the success answer to the route `method path` of the same groups, binding its
    /// parameter `param` to `expr` (`$response.body#/data/id`).
    #[must_use]
    pub fn link(mut self, name: &'static str, target: (&Method, &str), params: Value) -> Self {
        self.links
            .push((name, openapi::operation_id(target.0, target.1), params));
        self
    }

    /// Sets the OpenAPI summary.
    #[must_use]
    pub fn summary(mut self, summary: &'static str) -> Self {
        self.summary = Some(summary);
        self
    }

    /// Sets the success status.
    #[must_use]
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Sets the success body template.
    #[must_use]
    pub fn shape(mut self, template: Value) -> Self {
        self.template = Some(template);
        self
    }
}

/// A documented group: its routes and its error style.
#[derive(Clone)]
pub struct Group {
    /// Group name as in ENDPOINTS.md (`monitor`, `parking` …).
    pub name: &'static str,
    /// How the group's document renders errors.
    pub style: Arc<dyn ErrorStyle>,
    /// The routes.
    pub routes: Vec<Route>,
}

impl Group {
    /// Links the success answer of `from` to the operation `to` (OpenAPI links, for
    /// stateful testing and generated clients), binding `to`'s parameters to runtime
    /// expressions (`{"camera_id": "$response.body#/data/id"}`).
    #[must_use]
    pub fn link(
        mut self,
        from: (Method, &str),
        name: &'static str,
        to: (Method, &str),
        params: Value,
    ) -> Self {
        for r in &mut self.routes {
            if r.method == from.0 && r.path == from.1 {
                r.links
                    .push((name, openapi::operation_id(&to.0, to.1), params.clone()));
            }
        }
        self
    }

    /// Constrains the input `name` of the routes at `paths` that have it (writes only when
    /// `writes` is true: list filters of the same name stay free text).
    #[must_use]
    pub fn param_at(self, paths: &[&str], name: &'static str, schema: Value) -> Self {
        self.param_where(paths, false, name, schema)
    }

    /// [`Self::param_at`] on the non-GET routes at `paths` only.
    #[must_use]
    pub fn param_on_writes(self, paths: &[&str], name: &'static str, schema: Value) -> Self {
        self.param_where(paths, true, name, schema)
    }

    fn param_where(
        mut self,
        paths: &[&str],
        writes: bool,
        name: &'static str,
        schema: Value,
    ) -> Self {
        for r in &mut self.routes {
            if paths.contains(&r.path)
                && !(writes && r.method == Method::GET)
                && r.operation.variables.iter().any(|v| v.name == name)
            {
                r.constraints.retain(|(n, _)| *n != name);
                r.constraints.push((name, schema.clone()));
            }
        }
        self
    }

    /// Constrains the input `name` on every route of the group that has it and does not
    /// constrain it itself (`limit`, `offset`, `days` …).
    #[must_use]
    pub fn param(mut self, name: &'static str, schema: Value) -> Self {
        for r in &mut self.routes {
            let has_var = r.operation.variables.iter().any(|v| v.name == name);
            if has_var && !r.constraints.iter().any(|(n, _)| *n == name) {
                r.constraints.push((name, schema.clone()));
            }
        }
        self
    }
}

/// Router options.
#[derive(Clone)]
pub struct Options {
    /// Largest accepted request body in bytes; larger bodies get 413 in the group's style.
    pub body_limit: usize,
    /// Hook that adds request data (authentication) to each GraphQL request.
    pub prepare: Prepare,
}

/// Loads a stored operation file from `operations/` at compile time.
///
/// # Panics
/// At start-up when the file does not hold exactly one named operation; a test loads every
/// group so this cannot reach a release.
#[macro_export]
macro_rules! stored {
    ($file:literal) => {
        $crate::StoredOperation::parse(
            $file,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/operations/", $file)),
        )
        .unwrap_or_else(|e| panic!("stored operation {e}"))
    };
}

/// Every group VisionFlow serves.
pub fn groups() -> Vec<Group> {
    vec![
        groups::monitor::group(),
        groups::alpr::group(),
        groups::parking::group(),
        groups::inspection::group(),
        groups::devices::group(),
    ]
}

/// Builds the axum router of the given groups over an executor.
///
/// # Panics
/// When a `GET` route is bound to a mutation (mutations only run on non-GET methods), or
/// when two routes claim the same method and path.
pub fn router<E: Executor>(executor: E, groups: Vec<Group>, options: Options) -> Router {
    let mut by_path: BTreeMap<&'static str, MethodRouter> = BTreeMap::new();
    let shared = Arc::new(options);
    for group in groups {
        for route in group.routes {
            assert!(
                !(route.method == Method::GET
                    && route.operation.kind
                        == async_graphql::parser::types::OperationType::Mutation),
                "GET {} runs mutation {}",
                route.path,
                route.operation.name
            );
            let filter = MethodFilter::try_from(route.method.clone())
                .unwrap_or_else(|_| panic!("unsupported method {}", route.method));
            let path = route.path;
            let route = Arc::new(route);
            let style = group.style.clone();
            let group_name = group.name;
            let executor = executor.clone();
            let shared = shared.clone();
            let handler = move |req: Request| {
                let route = route.clone();
                let style = style.clone();
                let executor = executor.clone();
                let shared = shared.clone();
                async move {
                    match handle(&executor, group_name, &route, &shared, req).await {
                        Ok(resp) => resp,
                        Err(err) => render_error(style.as_ref(), &err),
                    }
                }
            };
            let entry = by_path.remove(path).unwrap_or_default();
            by_path.insert(path, entry.on(filter, handler));
        }
    }
    by_path
        .into_iter()
        .fold(Router::new(), |r, (path, mr)| r.route(path, mr))
}

/// Renders an error in a group's style, with `Retry-After` when the error carries one.
pub fn render_error(style: &dyn ErrorStyle, err: &RestError) -> Response {
    if err.code == ErrorCode::Internal {
        tracing::error!(message = %err.message, "internal error behind a REST route");
    }
    let (status, body) = style.render(err);
    let mut resp = (status, axum::Json(body)).into_response();
    if let Some(secs) = err.retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

async fn handle<E: Executor>(
    executor: &E,
    group: &str,
    route: &Route,
    options: &Options,
    req: Request,
) -> Result<Response, RestError> {
    let (mut parts, body) = req.into_parts();
    let mut inputs = Inputs::default();
    if let Ok(params) = RawPathParams::from_request_parts(&mut parts, &()).await {
        for (k, v) in &params {
            inputs.path.insert(k.to_owned(), v.to_owned());
        }
    }
    if let Some(q) = parts.uri.query() {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            inputs
                .query
                .entry(k.into_owned())
                .or_default()
                .push(v.into_owned());
        }
    }
    if route.strict_query {
        let known = |k: &str| {
            route.query_names.iter().any(|(w, _)| *w == k)
                || (route.operation.variables.iter().any(|v| v.name == k)
                    && !route.query_names.iter().any(|(_, v)| *v == k))
        };
        let unknown: BTreeMap<String, Vec<String>> = inputs
            .query
            .keys()
            .filter(|k| !known(k))
            .map(|k| {
                (
                    k.clone(),
                    vec!["is not a parameter of this endpoint".to_owned()],
                )
            })
            .collect();
        if !unknown.is_empty() {
            let mut err = RestError::validation(unknown);
            let names: Vec<String> = err.fields.keys().cloned().collect();
            for k in names {
                err.locations.insert(k, "query");
            }
            return Err(err);
        }
    }
    for (wire, var) in &route.query_names {
        if let Some(v) = inputs.query.remove(*wire) {
            inputs.query.insert((*var).to_owned(), v);
        }
    }
    inputs.body = read_body(&parts, body, options.body_limit).await?;
    let sources = Sources {
        path: inputs.path.keys().cloned().collect(),
        query: inputs.query.keys().cloned().collect(),
    };

    let coerced = coerce::coerce(&route.operation.variables, inputs)
        .map_err(|fields| sources.locate(RestError::validation(fields)))?;
    let mut violations = BTreeMap::new();
    for (name, _) in &route.constraints {
        if route.requires(name) && !coerced.variables.contains_key(*name) {
            violations.insert(
                (*name).to_owned(),
                vec!["this field is required (null is allowed)".to_owned()],
            );
        }
    }
    for (name, schema) in &route.constraints {
        // Published only: the resolver enforces it in the document's own words.
        if schema.get("x-resolver").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let value = coerced
            .variables
            .get(*name)
            .cloned()
            .and_then(|v| v.into_json().ok())
            .unwrap_or(Value::Null);
        if let Err(msg) = constraint::check(&value, schema) {
            violations.insert((*name).to_owned(), vec![msg]);
        }
    }
    if !violations.is_empty() {
        return Err(sources.locate(RestError::validation(violations)));
    }
    let mut request = async_graphql::Request::new(route.operation.source)
        .operation_name(route.operation.name.clone())
        .variables(Variables::from_value(async_graphql::Value::Object(
            coerced.variables,
        )));
    for (path, file) in coerced.uploads {
        request.set_upload(
            &format!("variables.{path}"),
            UploadValue {
                filename: file.filename,
                content_type: file.content_type,
                content: file.bytes,
            },
        );
    }
    drop_absent_fields(&mut request, &route.operation.variables).map_err(|e| {
        RestError::new(
            ErrorCode::Internal,
            format!("stored operation: {}", e.message),
        )
    })?;
    let request = (options.prepare)(group, &parts, request);
    let response = executor.execute(request).await;
    if let Some(err) = response.errors.first() {
        return Err(sources.locate(RestError::from_server_error(err)));
    }
    if route.status == StatusCode::NO_CONTENT {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let data = response
        .data
        .into_json()
        .map_err(|e| RestError::new(ErrorCode::Internal, format!("answer is not JSON: {e}")))?;
    let body = match &route.template {
        Some(t) => shape::apply(t, &data),
        None => data,
    };
    let mut resp = (route.status, axum::Json(body)).into_response();
    if route.deprecated {
        resp.headers_mut()
            .insert("deprecation", http::HeaderValue::from_static("true"));
    }
    Ok(resp)
}

/// Removes the input-object fields bound to variables the request did not provide (and
/// that have no default), as the GraphQL spec says ("Input Coercion": a field whose
/// variable is not provided is absent): `{description: $description}` without
/// `description` in the body leaves the field undefined, so a PATCH keeps it, while an
/// explicit JSON `null` clears it. async-graphql would otherwise pass `null`.
///
/// # Errors
/// The stored operation does not parse (checked by a test at build time).
fn drop_absent_fields(
    request: &mut async_graphql::Request,
    defs: &[VariableDef],
) -> Result<(), async_graphql::ServerError> {
    use async_graphql::{
        Name,
        parser::types::{DocumentOperations, OperationDefinition, Selection, SelectionSet},
    };
    use async_graphql_value::Value;
    fn strip(v: &mut Value, absent: &dyn Fn(&Name) -> bool) {
        match v {
            Value::Object(map) => {
                map.retain(|_, f| !matches!(f, Value::Variable(n) if absent(n)));
                for f in map.values_mut() {
                    strip(f, absent);
                }
            }
            Value::List(items) => {
                for i in items {
                    strip(i, absent);
                }
            }
            _ => {}
        }
    }
    fn walk(set: &mut SelectionSet, absent: &dyn Fn(&Name) -> bool) {
        for item in &mut set.items {
            match &mut item.node {
                Selection::Field(f) => {
                    for (_, v) in &mut f.node.arguments {
                        strip(&mut v.node, absent);
                    }
                    walk(&mut f.node.selection_set.node, absent);
                }
                Selection::InlineFragment(i) => walk(&mut i.node.selection_set.node, absent),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    fn vars_in(v: &Value, out: &mut std::collections::HashSet<Name>) {
        match v {
            Value::Variable(n) => {
                out.insert(n.clone());
            }
            Value::Object(map) => map.values().for_each(|f| vars_in(f, out)),
            Value::List(items) => items.iter().for_each(|i| vars_in(i, out)),
            _ => {}
        }
    }
    fn used_variables(set: &SelectionSet) -> std::collections::HashSet<Name> {
        let mut out = std::collections::HashSet::new();
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    for (_, v) in &f.node.arguments {
                        vars_in(&v.node, &mut out);
                    }
                    out.extend(used_variables(&f.node.selection_set.node));
                }
                Selection::InlineFragment(i) => {
                    out.extend(used_variables(&i.node.selection_set.node));
                }
                Selection::FragmentSpread(_) => {}
            }
        }
        out
    }
    let provided = request.variables.clone();
    let absent = |n: &Name| {
        !provided.contains_key(n) && defs.iter().any(|d| d.name == n.as_str() && !d.has_default)
    };
    let mut doc = async_graphql::parser::parse_query(&request.query)?;
    // The stripped variables' definitions go too (an unused variable is a validation error).
    let visit = |op: &mut async_graphql::Positioned<OperationDefinition>| {
        walk(&mut op.node.selection_set.node, &absent);
        let used = used_variables(&op.node.selection_set.node);
        op.node
            .variable_definitions
            .retain(|d| !absent(&d.node.name.node) || used.contains(&d.node.name.node));
    };
    match &mut doc.operations {
        DocumentOperations::Single(op) => visit(op),
        DocumentOperations::Multiple(ops) => ops.values_mut().for_each(visit),
    }
    for f in doc.fragments.values_mut() {
        walk(&mut f.node.selection_set.node, &absent);
    }
    request.set_parsed_query(doc);
    Ok(())
}

/// Which request fields came from the path and the query (the rest: the body), so errors
/// can say where a field was (FastAPI's `loc: ["path", "plate_id"]`).
struct Sources {
    path: std::collections::HashSet<String>,
    query: std::collections::HashSet<String>,
}

impl Sources {
    fn locate(&self, mut err: RestError) -> RestError {
        for field in err.fields.keys() {
            let root = field.split(['.', '[']).next().unwrap_or(field);
            let place = if self.path.contains(root) {
                "path"
            } else if self.query.contains(root) {
                "query"
            } else {
                "body"
            };
            err.locations.insert(field.clone(), place);
        }
        err
    }
}

fn too_large(limit: usize) -> RestError {
    RestError::new(
        ErrorCode::PayloadTooLarge,
        format!("Request body exceeds the limit of {limit} bytes"),
    )
}

fn refuse_declared_oversize(headers: &http::HeaderMap, limit: usize) -> Result<(), RestError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        Err(too_large(limit))
    } else {
        Ok(())
    }
}

/// Reads a whole request body of at most `limit` bytes: refused up front when its
/// `Content-Length` says more, and while streaming when it has none.
///
/// # Errors
/// `PayloadTooLarge` with a message giving the limit.
pub async fn read_limited(
    headers: &http::HeaderMap,
    body: axum::body::Body,
    limit: usize,
) -> Result<bytes::Bytes, RestError> {
    refuse_declared_oversize(headers, limit)?;
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large(limit))
}

fn multipart_error(e: &axum::extract::multipart::MultipartError, limit: usize) -> RestError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit)
    } else {
        RestError::new(
            ErrorCode::BadUserInput,
            format!("Malformed multipart body: {}", e.body_text()),
        )
    }
}

async fn read_body(
    parts: &http::request::Parts,
    body: axum::body::Body,
    limit: usize,
) -> Result<Body, RestError> {
    refuse_declared_oversize(&parts.headers, limit)?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();

    if essence == "multipart/form-data" {
        let mut req = Request::from_parts(parts.clone(), body);
        req.extensions_mut()
            .insert(axum::extract::DefaultBodyLimit::max(limit));
        let mut mp = Multipart::from_request(req, &()).await.map_err(|e| {
            RestError::new(
                ErrorCode::BadUserInput,
                format!("Malformed multipart body: {e}"),
            )
        })?;
        let mut text: std::collections::HashMap<String, Vec<String>> = Default::default();
        let mut files: std::collections::HashMap<String, Vec<FilePart>> = Default::default();
        loop {
            let Some(field) = mp
                .next_field()
                .await
                .map_err(|e| multipart_error(&e, limit))?
            else {
                break;
            };
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let ctype = field.content_type().map(str::to_owned);
            let data = field
                .bytes()
                .await
                .map_err(|e| multipart_error(&e, limit))?;
            match filename {
                Some(filename) => files.entry(name).or_default().push(FilePart {
                    filename,
                    content_type: ctype,
                    bytes: data,
                }),
                None => {
                    let value = String::from_utf8(data.to_vec()).map_err(|_| {
                        RestError::new(
                            ErrorCode::BadUserInput,
                            format!("Multipart field {name:?} is not UTF-8 text"),
                        )
                    })?;
                    text.entry(name).or_default().push(value);
                }
            }
        }
        return Ok(Body::Fields { text, files });
    }

    let bytes = read_limited(&parts.headers, body, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::Empty);
    }
    // `curl -d '{…}'` labels JSON as a form; a body that parses as a JSON object is JSON.
    let looks_json = bytes.trim_ascii_start().starts_with(b"{");
    match essence.as_str() {
        "application/x-www-form-urlencoded" if !looks_json => {
            let mut text: std::collections::HashMap<String, Vec<String>> = Default::default();
            for (k, v) in form_urlencoded::parse(&bytes) {
                text.entry(k.into_owned()).or_default().push(v.into_owned());
            }
            Ok(Body::Fields {
                text,
                files: Default::default(),
            })
        }
        e if e.is_empty()
            || e == "application/json"
            || e == "text/json"
            || e.ends_with("+json")
            || (e == "application/x-www-form-urlencoded" && looks_json) =>
        {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => Ok(Body::Json(map)),
                Ok(_) => Err(RestError::new(
                    ErrorCode::BadUserInput,
                    "JSON body must be an object",
                )),
                Err(e) => Err(RestError::new(
                    ErrorCode::BadUserInput,
                    format!("Malformed JSON body: {e}"),
                )),
            }
        }
        other => Err(RestError::new(
            ErrorCode::UnsupportedMediaType,
            format!("Unsupported content type {other:?}; send JSON, a form or multipart"),
        )),
    }
}
