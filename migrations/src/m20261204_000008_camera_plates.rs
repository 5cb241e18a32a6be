//! Plate reads from cameras (issue "live plate reading at the gate"): a detection session
//! remembers the camera that produced it (`camera_id`, null for uploads), a plate how it
//! matched the allow/deny list at detection time (`list_match`: `exact`, `fuzzy` or null),
//! and a list entry whether near misses count (`fuzzy`: within a weighted edit distance of
//! one, OCR confusions at half an edit).
//!
//! `camera_id` carries no foreign key: SQLite cannot add one to an existing table, and a
//! deleted camera's reads stay in the history (the GraphQL `camera` field is then null).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum DetectionSessions {
    Table,
    CameraId,
}

#[derive(DeriveIden)]
enum Plates {
    Table,
    ListMatch,
}

#[derive(DeriveIden)]
enum PlateListEntries {
    Table,
    Fuzzy,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(DetectionSessions::Table)
                    .add_column(integer_null(DetectionSessions::CameraId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_detection_sessions_camera")
                    .table(DetectionSessions::Table)
                    .col(DetectionSessions::CameraId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Plates::Table)
                    .add_column(string_len_null(Plates::ListMatch, 16))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PlateListEntries::Table)
                    .add_column(boolean(PlateListEntries::Fuzzy).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PlateListEntries::Table)
                    .drop_column(PlateListEntries::Fuzzy)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Plates::Table)
                    .drop_column(Plates::ListMatch)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_detection_sessions_camera")
                    .table(DetectionSessions::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DetectionSessions::Table)
                    .drop_column(DetectionSessions::CameraId)
                    .to_owned(),
            )
            .await
    }
}
