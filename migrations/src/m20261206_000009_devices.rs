//! Devices (devices-api-v1.zh-TW.txt "建立設備"; issue "Devices v1"): a device **is** a
//! camera, so its fields are columns of `cameras` — `description`, `rtsp_auth` (Basic
//! credentials or a Bearer token, sealed like the LINE tokens, never answered),
//! `device_type`, `plan`, `tags`, `utc_offset`, `schedule`, `device_status`
//! (active/paused/archived), `online_status` with the probe's `last_heartbeat_at` and
//! `probe_failures`, `latitude`/`longitude`/`geo_source`, the quota override
//! (`quota_seconds`, `has_individual_limit`), the analysis totals
//! (`total_analysis_count`, `total_processing_time_seconds`), and `deleted_at` (soft delete: a deleted
//! device is gone from every group).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum Cameras {
    Table,
    Description,
    RtspAuth,
    DeviceType,
    Plan,
    Tags,
    UtcOffset,
    Schedule,
    DeviceStatus,
    OnlineStatus,
    LastHeartbeatAt,
    ProbeFailures,
    Latitude,
    Longitude,
    GeoSource,
    QuotaSeconds,
    HasIndividualLimit,
    TotalAnalysisCount,
    TotalProcessingTimeSeconds,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Zones {
    Table,
    DeletedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

fn columns() -> Vec<ColumnDef> {
    vec![
        string_len_null(Cameras::Description, 500),
        text_null(Cameras::RtspAuth),
        string_len(Cameras::DeviceType, 16)
            .default("ip_camera")
            .to_owned(),
        string_len(Cameras::Plan, 16).default("level_01").to_owned(),
        json_null(Cameras::Tags),
        string_len(Cameras::UtcOffset, 16)
            .default("UTC+0")
            .to_owned(),
        json_null(Cameras::Schedule),
        string_len(Cameras::DeviceStatus, 16)
            .default("active")
            .to_owned(),
        string_len(Cameras::OnlineStatus, 16)
            .default("unknown")
            .to_owned(),
        timestamp_with_time_zone_null(Cameras::LastHeartbeatAt),
        integer(Cameras::ProbeFailures).default(0).to_owned(),
        double_null(Cameras::Latitude),
        double_null(Cameras::Longitude),
        string_len_null(Cameras::GeoSource, 16),
        big_integer_null(Cameras::QuotaSeconds),
        boolean(Cameras::HasIndividualLimit)
            .default(false)
            .to_owned(),
        big_integer(Cameras::TotalAnalysisCount)
            .default(0)
            .to_owned(),
        double(Cameras::TotalProcessingTimeSeconds)
            .default(0.0)
            .to_owned(),
        timestamp_with_time_zone_null(Cameras::DeletedAt),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for mut col in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Cameras::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Zones::Table)
                    .add_column(timestamp_with_time_zone_null(Zones::DeletedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Zones::Table)
                    .drop_column(Zones::DeletedAt)
                    .to_owned(),
            )
            .await?;
        for col in columns().into_iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Cameras::Table)
                        .drop_column(Alias::new(col.get_column_name()))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
