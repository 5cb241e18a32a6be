//! VisionFlow's integration tests: one binary, one module per area. Run against SQLite by
//! default and against PostgreSQL with `VF_TEST_DATABASE_URL=postgres://…` (see README).

mod helpers;

mod accounts_graphql;
mod accounts_rest;
mod alpr;
mod alpr_vision;
mod api_keys;
mod bad_input;
mod browser;
mod cameras;
mod cameras_live;
mod contract;
mod delivery;
mod delivery_live;
mod devices;
mod devices_alerts;
mod devices_quota;
mod gate_live;
mod graphiql;
mod health;
mod inspection;
mod live;
mod parking;
mod peers;
mod schema;
mod websocket;
