//! VisionFlow: a self-hosted vision platform.
//!
//! Camera streams and uploaded images go in; vehicles, plates, people and alerts come out,
//! served over GraphQL first (`/graphql`, `/graphql/ws`) and over the thin REST
//! compatibility groups of the user's five documents (`rest_compat`), which run the same
//! GraphQL operations. See `README.md` for a map of the code.

pub mod ai;
pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod draw;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod inference;
pub mod live;
pub mod media;
pub mod rtsp_auth;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod vision;
