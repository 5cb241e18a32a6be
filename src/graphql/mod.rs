//! The GraphQL schema: one `MergedObject` per domain for queries and mutations, one
//! `MergedSubscription` for subscriptions. `schema.graphql` at the repository root is
//! [`sdl`]'s output; a test fails when they drift.

pub mod accounts;
pub mod alpr;
pub mod cameras;
pub mod channels;
pub mod devices;
pub mod inspection;
pub mod loader;
pub mod paging;
pub mod parking;

use async_graphql::{Context, MergedObject, MergedSubscription, Schema};

use crate::{
    auth::{Auth, Principal},
    config::GraphqlSettings,
    error::{AppError, AppResult},
    startup::AppState,
};

/// Root query.
#[derive(MergedObject, Default)]
pub struct Query(
    accounts::AccountQuery,
    alpr::AlprQuery,
    cameras::CameraQuery,
    channels::ChannelQuery,
    devices::DeviceQuery,
    inspection::InspectionQuery,
    parking::ParkingQuery,
);

/// Root mutation.
#[derive(MergedObject, Default)]
pub struct Mutation(
    accounts::AccountMutation,
    alpr::AlprMutation,
    cameras::CameraMutation,
    channels::ChannelMutation,
    devices::DeviceMutation,
    inspection::InspectionMutation,
    parking::ParkingMutation,
);

/// Root subscription.
#[derive(MergedSubscription, Default)]
pub struct Subscription(
    accounts::AccountSubscription,
    alpr::AlprSubscription,
    cameras::CameraSubscription,
    channels::ChannelSubscription,
    devices::DeviceSubscription,
    inspection::InspectionSubscription,
    parking::ParkingSubscription,
);

/// VisionFlow's executable schema.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema with the application state in its data.
pub fn build(state: AppState, limits: &GraphqlSettings) -> AppSchema {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(limits.depth_limit)
    .limit_complexity(limits.complexity_limit)
    .data(async_graphql::dataloader::DataLoader::new(
        loader::AppLoader::new(state.db.clone()),
        tokio::spawn,
    ))
    .data(state)
    .finish()
}

/// The schema in SDL, as `visionflow schema` prints it and `schema.graphql` holds it.
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .finish()
    .sdl()
}

/// The application state from the schema data.
///
/// # Errors
/// Internal when the schema was built without state (only `sdl()` does that).
pub fn state<'a>(ctx: &Context<'a>) -> AppResult<&'a AppState> {
    ctx.data::<AppState>()
        .map_err(|e| AppError::internal(anyhow::anyhow!("schema has no state: {}", e.message)))
}

/// The authenticated principal of the request.
///
/// # Errors
/// `UNAUTHENTICATED` with `AUTH_REQUIRED` or `INVALID_TOKEN`/`INVALID_API_KEY`.
pub fn principal<'a>(ctx: &Context<'a>) -> AppResult<&'a Principal> {
    match ctx.data_opt::<Auth>() {
        Some(auth) => auth.principal(),
        None => Err(AppError::auth_required()),
    }
}

/// Parses a UUID-valued `ID` argument.
///
/// # Errors
/// `BAD_USER_INPUT` naming `field`.
pub fn parse_uuid(field: &str, id: &async_graphql::ID) -> AppResult<uuid::Uuid> {
    uuid::Uuid::parse_str(id.as_str()).map_err(|_| AppError::field(field, "must be a UUID"))
}

/// The principal of the request when it holds `scope` (JWTs carry every scope; API keys
/// their own). Each domain's resolvers guard with their `<area>:read` / `<area>:write`.
///
/// # Errors
/// `UNAUTHENTICATED` without credentials, `FORBIDDEN` without the scope.
pub fn scoped<'a>(ctx: &Context<'a>, scope: &str) -> AppResult<&'a Principal> {
    let p = principal(ctx)?;
    p.require_scope(scope)?;
    Ok(p)
}

/// The URL of a stored file (`outputs/…` → `/outputs/…`).
pub fn url(rel: &str) -> String {
    format!("/{rel}")
}
