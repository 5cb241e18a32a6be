//! Device alert extras (devices-api-v1.zh-TW.txt "排程" peak slots and "VLM"):
//! `notifications.coalesced_count` counts the alerts of the same zone folded into this one
//! outside a device's peak slots (at most one alert per zone per `devices.offpeak_alert_interval_secs`);
//! `vlm_summary`, `vlm_structured_result`, `vlm_model` and `vlm_tokens` hold a level_02
//! device's VLM reading of the alert snapshot (the chat-completions endpoint's answer and
//! its `usage.total_tokens`). One column per statement: SQLite adds one at a time.
//!
//! `device_attributes`: a level_02 device's attribute detections ("scene-analysis-attributes":
//! a tracked person's posture `fall`), one row per track and attribute value, written only
//! while the month's attribute quota lasts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum Notifications {
    Table,
    CoalescedCount,
    VlmSummary,
    VlmStructuredResult,
    VlmModel,
    VlmTokens,
}

#[derive(DeriveIden)]
enum DeviceAttributes {
    Table,
    Id,
    AccountId,
    CameraId,
    TrackId,
    Attribute,
    Value,
    Confidence,
    Bbox,
    FrameCapturedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Cameras {
    Table,
    Id,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let cols = [
            integer(Notifications::CoalescedCount).default(0).to_owned(),
            text_null(Notifications::VlmSummary).to_owned(),
            json_null(Notifications::VlmStructuredResult).to_owned(),
            string_len_null(Notifications::VlmModel, 200).to_owned(),
            big_integer_null(Notifications::VlmTokens).to_owned(),
        ];
        for mut c in cols {
            manager
                .alter_table(
                    Table::alter()
                        .table(Notifications::Table)
                        .add_column(&mut c)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(DeviceAttributes::Table)
                    .col(pk_auto(DeviceAttributes::Id))
                    .col(uuid(DeviceAttributes::AccountId))
                    .col(integer(DeviceAttributes::CameraId))
                    .col(big_integer(DeviceAttributes::TrackId))
                    .col(string_len(DeviceAttributes::Attribute, 50))
                    .col(string_len(DeviceAttributes::Value, 50))
                    .col(double(DeviceAttributes::Confidence))
                    .col(json(DeviceAttributes::Bbox))
                    .col(timestamp_with_time_zone(DeviceAttributes::FrameCapturedAt))
                    .col(timestamp_with_time_zone(DeviceAttributes::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_device_attributes_camera")
                            .from(DeviceAttributes::Table, DeviceAttributes::CameraId)
                            .to(Cameras::Table, Cameras::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_device_attributes_camera_created")
                    .table(DeviceAttributes::Table)
                    .col(DeviceAttributes::CameraId)
                    .col(DeviceAttributes::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeviceAttributes::Table).to_owned())
            .await?;
        for c in [
            Notifications::VlmTokens,
            Notifications::VlmModel,
            Notifications::VlmStructuredResult,
            Notifications::VlmSummary,
            Notifications::CoalescedCount,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Notifications::Table)
                        .drop_column(c)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
