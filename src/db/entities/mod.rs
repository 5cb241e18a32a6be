//! sea-orm entities, one module per table.

pub mod account;
pub mod api_key;
pub mod camera;
pub mod delivery;
pub mod detection_session;
pub mod device_attribute;
pub mod device_usage;
pub mod email_recipient;
pub mod inspection_record;
pub mod line_token;
pub mod location;
pub mod notification;
pub mod parking_lot;
pub mod parking_record;
pub mod plate;
pub mod plate_list_entry;
pub mod refresh_token;
pub mod vehicle;
pub mod webhook_endpoint;
pub mod zone;
