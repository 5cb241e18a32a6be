//! Vision outside the model crate: decoding images safely, the installed-model registry, and
//! fetching the default weights.

pub mod bench;
pub mod cli;
pub mod fetch;
pub mod images;
pub mod registry;
