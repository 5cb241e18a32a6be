//! The documented groups (`../shared/spec/ENDPOINTS.md`), one module each.

pub mod monitor;
