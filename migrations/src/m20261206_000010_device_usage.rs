//! Monthly device usage (devices-api-v1.zh-TW.txt "設備配額"): one row per device and UTC
//! month (`period` `2026-02`) with the analysis seconds, alerts, attribute detections and
//! VLM tokens spent, and which features already fired `quota_warning` (80 %) and
//! `quota_exceeded` this period. Stored, so a restart loses no usage; a new month is a new
//! row (nothing carries over).
//!
//! `cameras.is_device` marks rows registered through the devices group: only they are
//! metered against a plan and auto-probed (a camera added through the monitor group is a
//! self-hosted camera without a plan). `api_keys.device_id` binds a key to one device (its
//! UUID): such a key reaches only that device, and is revoked with it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum DeviceUsage {
    Table,
    Id,
    CameraId,
    Period,
    AnalysisSeconds,
    Alerts,
    Attributes,
    VlmTokens,
    Warned,
    Exceeded,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    DeviceId,
}

#[derive(DeriveIden)]
enum Cameras {
    Table,
    Id,
    IsDevice,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .add_column(uuid_null(ApiKeys::DeviceId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cameras::Table)
                    .add_column(boolean(Cameras::IsDevice).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DeviceUsage::Table)
                    .col(pk_auto(DeviceUsage::Id))
                    .col(integer(DeviceUsage::CameraId))
                    .col(string_len(DeviceUsage::Period, 7))
                    .col(double(DeviceUsage::AnalysisSeconds).default(0.0))
                    .col(big_integer(DeviceUsage::Alerts).default(0))
                    .col(big_integer(DeviceUsage::Attributes).default(0))
                    .col(big_integer(DeviceUsage::VlmTokens).default(0))
                    .col(json(DeviceUsage::Warned))
                    .col(json(DeviceUsage::Exceeded))
                    .col(timestamp_with_time_zone(DeviceUsage::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_device_usage_camera")
                            .from(DeviceUsage::Table, DeviceUsage::CameraId)
                            .to(Cameras::Table, Cameras::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_device_usage_period")
                    .table(DeviceUsage::Table)
                    .col(DeviceUsage::CameraId)
                    .col(DeviceUsage::Period)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeviceUsage::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cameras::Table)
                    .drop_column(Cameras::IsDevice)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .drop_column(ApiKeys::DeviceId)
                    .to_owned(),
            )
            .await
    }
}
