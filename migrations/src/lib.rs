//! sea-orm migrations of VisionFlow.
//!
//! Written with sea-query's schema builder only (no raw SQL), so the same migrations run on
//! SQLite (the embedded default) and PostgreSQL (production); the test suite runs both.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_accounts;
mod m20261121_000002_alpr;
mod m20261121_000003_parking;
mod m20261121_000004_artifact_paths;
mod m20261201_000005_cameras;
mod m20261202_000006_delivery;
mod m20261202_000007_inspection;
mod m20261204_000008_camera_plates;
mod m20261206_000009_devices;
mod m20261206_000010_device_usage;
mod m20261207_000011_alert_vlm;

/// All migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_accounts::Migration),
            Box::new(m20261121_000002_alpr::Migration),
            Box::new(m20261121_000003_parking::Migration),
            Box::new(m20261121_000004_artifact_paths::Migration),
            Box::new(m20261201_000005_cameras::Migration),
            Box::new(m20261202_000006_delivery::Migration),
            Box::new(m20261202_000007_inspection::Migration),
            Box::new(m20261204_000008_camera_plates::Migration),
            Box::new(m20261206_000009_devices::Migration),
            Box::new(m20261206_000010_device_usage::Migration),
            Box::new(m20261207_000011_alert_vlm::Migration),
        ]
    }
}
