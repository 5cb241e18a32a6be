//! Domain services: validation at the boundary, one transaction per write, events after
//! commit.

pub mod accounts;
pub mod alpr;
pub mod cameras;
pub mod channels;
pub mod devices;
pub mod inspection;
pub mod parking;
pub mod validate;
