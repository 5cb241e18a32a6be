//! Cameras (monitor-api.zh-TW.txt "攝影機", shared with the devices group through `uuid`),
//! their polygon zones (the document's "rectangles"), and notifications (alerts raised by a
//! zone, or posted by a client). `delivery` is the outbox state of a notification:
//! `pending` when its zone has notifications enabled, else `none`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Cameras {
    Table,
    Id,
    Uuid,
    AccountId,
    Name,
    StreamUrl,
    Recognition,
    Location,
    ModelName,
    Status,
    Width,
    Height,
    CreatedAt,
    UpdatedAt,
    LastActive,
}

#[derive(DeriveIden)]
enum Zones {
    Table,
    Id,
    AccountId,
    CameraId,
    Name,
    Coordinates,
    AlertDuration,
    NotificationEnabled,
    DetectionClasses,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    AccountId,
    CameraId,
    ZoneId,
    TrackId,
    RegionName,
    DetectionType,
    Confidence,
    Message,
    ImagePath,
    Metadata,
    Status,
    Delivery,
    CreatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

fn owner(table: impl IntoIden, col: impl IntoIden, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(Accounts::Table, Accounts::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Cameras::Table)
                    .col(pk_auto(Cameras::Id))
                    .col(uuid_uniq(Cameras::Uuid))
                    .col(uuid(Cameras::AccountId))
                    .col(string_len(Cameras::Name, 100))
                    .col(text(Cameras::StreamUrl))
                    .col(boolean(Cameras::Recognition))
                    .col(string_len_null(Cameras::Location, 200))
                    .col(string_len(Cameras::ModelName, 100))
                    .col(string_len(Cameras::Status, 20))
                    .col(integer_null(Cameras::Width))
                    .col(integer_null(Cameras::Height))
                    .col(timestamp_with_time_zone(Cameras::CreatedAt))
                    .col(timestamp_with_time_zone(Cameras::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Cameras::LastActive))
                    .foreign_key(&mut owner(
                        Cameras::Table,
                        Cameras::AccountId,
                        "fk_cameras_account",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_cameras_account")
                    .table(Cameras::Table)
                    .col(Cameras::AccountId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Zones::Table)
                    .col(pk_auto(Zones::Id))
                    .col(uuid(Zones::AccountId))
                    .col(integer(Zones::CameraId))
                    .col(string_len(Zones::Name, 100))
                    .col(json(Zones::Coordinates))
                    .col(integer(Zones::AlertDuration))
                    .col(boolean(Zones::NotificationEnabled))
                    .col(json(Zones::DetectionClasses))
                    .col(timestamp_with_time_zone(Zones::CreatedAt))
                    .foreign_key(&mut owner(
                        Zones::Table,
                        Zones::AccountId,
                        "fk_zones_account",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_zones_camera")
                            .from(Zones::Table, Zones::CameraId)
                            .to(Cameras::Table, Cameras::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_zones_camera")
                    .table(Zones::Table)
                    .col(Zones::CameraId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(pk_auto(Notifications::Id))
                    .col(uuid(Notifications::AccountId))
                    .col(integer(Notifications::CameraId))
                    .col(integer_null(Notifications::ZoneId))
                    .col(big_integer_null(Notifications::TrackId))
                    .col(string_len_null(Notifications::RegionName, 100))
                    .col(string_len(Notifications::DetectionType, 50))
                    .col(double_null(Notifications::Confidence))
                    .col(text(Notifications::Message))
                    .col(text_null(Notifications::ImagePath))
                    .col(json_null(Notifications::Metadata))
                    .col(string_len(Notifications::Status, 10))
                    .col(string_len(Notifications::Delivery, 10))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .foreign_key(&mut owner(
                        Notifications::Table,
                        Notifications::AccountId,
                        "fk_notifications_account",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_camera")
                            .from(Notifications::Table, Notifications::CameraId)
                            .to(Cameras::Table, Cameras::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_zone")
                            .from(Notifications::Table, Notifications::ZoneId)
                            .to(Zones::Table, Zones::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_notifications_account_created",
                vec![Notifications::AccountId, Notifications::CreatedAt],
            ),
            ("ix_notifications_camera", vec![Notifications::CameraId]),
            (
                "ix_notifications_image_path",
                vec![Notifications::ImagePath],
            ),
            ("ix_notifications_delivery", vec![Notifications::Delivery]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Notifications::Table);
            for c in cols {
                idx.col(c);
            }
            manager.create_index(idx.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Notifications::Table.into_iden(),
            Zones::Table.into_iden(),
            Cameras::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
