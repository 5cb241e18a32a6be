//! The documented groups (`../shared/spec/ENDPOINTS.md`), one module each.

pub mod alpr;
pub mod devices;
pub mod inspection;
pub mod monitor;
pub mod parking;
