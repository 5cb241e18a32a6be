//! Indexes on the stored-artifact paths, so `GET /outputs/{path}` can check in one indexed
//! lookup per table that the file belongs to the caller's account.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &str); 5] = [
    (
        "idx_detection_sessions_original_path",
        "detection_sessions",
        "original_path",
    ),
    (
        "idx_detection_sessions_annotated_path",
        "detection_sessions",
        "annotated_path",
    ),
    ("idx_vehicles_crop_path", "vehicles", "crop_path"),
    ("idx_vehicles_image_path", "vehicles", "image_path"),
    ("idx_plates_crop_path", "plates", "crop_path"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, col) in INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Alias::new(table))
                        .col(Alias::new(col))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
