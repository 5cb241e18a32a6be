//! sea-orm entities, one module per table.

pub mod account;
pub mod api_key;
pub mod refresh_token;
