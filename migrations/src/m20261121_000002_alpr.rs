//! ALPR domain (alpr-api.en.md): locations (gates), detection sessions (one processed image
//! or frame), detected vehicles, plates, and the plate allow/deny list. Integer ids, as the
//! document's `session_id: 42`, `/api/plates/10` show; every row belongs to an account.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Locations {
    Table,
    Id,
    AccountId,
    Name,
    LocationType,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DetectionSessions {
    Table,
    Id,
    AccountId,
    LocationId,
    SourceFilename,
    OriginalPath,
    AnnotatedPath,
    Width,
    Height,
    ProcessingMs,
    Model,
    Notes,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Vehicles {
    Table,
    Id,
    AccountId,
    SessionId,
    VehicleIndex,
    Class,
    Confidence,
    X1,
    Y1,
    X2,
    Y2,
    CropPath,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Plates {
    Table,
    Id,
    AccountId,
    SessionId,
    VehicleId,
    PlateIndex,
    Text,
    RawText,
    Confidence,
    Candidates,
    X1,
    Y1,
    X2,
    Y2,
    CropPath,
    RegionCode,
    PlateType,
    TextColor,
    BackgroundColor,
    Status,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PlateListEntries {
    Table,
    Id,
    AccountId,
    PlateText,
    StatusType,
    CreatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

fn owner(table: impl IntoIden, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, Alias::new("account_id"))
        .to(Accounts::Table, Accounts::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: &[&str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(Alias::new(*c));
    }
    if unique {
        stmt.unique();
    }
    manager.create_index(stmt.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Locations::Table)
                    .col(pk_auto(Locations::Id))
                    .col(uuid(Locations::AccountId))
                    .col(string_len(Locations::Name, 200))
                    .col(string_len(Locations::LocationType, 16))
                    .col(timestamp_with_time_zone(Locations::CreatedAt))
                    .foreign_key(&mut owner(Locations::Table, "fk_locations_account"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "uq_locations_account_name",
            Locations::Table,
            &["account_id", "name"],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(DetectionSessions::Table)
                    .col(pk_auto(DetectionSessions::Id))
                    .col(uuid(DetectionSessions::AccountId))
                    .col(integer_null(DetectionSessions::LocationId))
                    .col(string_len(DetectionSessions::SourceFilename, 255))
                    .col(string_len(DetectionSessions::OriginalPath, 512))
                    .col(string_len(DetectionSessions::AnnotatedPath, 512))
                    .col(integer(DetectionSessions::Width))
                    .col(integer(DetectionSessions::Height))
                    .col(double(DetectionSessions::ProcessingMs))
                    .col(string_len(DetectionSessions::Model, 100))
                    .col(text_null(DetectionSessions::Notes))
                    .col(timestamp_with_time_zone(DetectionSessions::CreatedAt))
                    .foreign_key(&mut owner(
                        DetectionSessions::Table,
                        "fk_detection_sessions_account",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_detection_sessions_location")
                            .from(DetectionSessions::Table, DetectionSessions::LocationId)
                            .to(Locations::Table, Locations::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_detection_sessions_account_time",
            DetectionSessions::Table,
            &["account_id", "created_at"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Vehicles::Table)
                    .col(pk_auto(Vehicles::Id))
                    .col(uuid(Vehicles::AccountId))
                    .col(integer_null(Vehicles::SessionId))
                    .col(integer(Vehicles::VehicleIndex))
                    .col(string_len(Vehicles::Class, 64))
                    .col(double(Vehicles::Confidence))
                    .col(double(Vehicles::X1))
                    .col(double(Vehicles::Y1))
                    .col(double(Vehicles::X2))
                    .col(double(Vehicles::Y2))
                    .col(string_len_null(Vehicles::CropPath, 512))
                    .col(timestamp_with_time_zone(Vehicles::CreatedAt))
                    .foreign_key(&mut owner(Vehicles::Table, "fk_vehicles_account"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_vehicles_session")
                            .from(Vehicles::Table, Vehicles::SessionId)
                            .to(DetectionSessions::Table, DetectionSessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_vehicles_session",
            Vehicles::Table,
            &["session_id"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Plates::Table)
                    .col(pk_auto(Plates::Id))
                    .col(uuid(Plates::AccountId))
                    .col(integer(Plates::SessionId))
                    .col(integer_null(Plates::VehicleId))
                    .col(integer(Plates::PlateIndex))
                    .col(string_len(Plates::Text, 32))
                    .col(string_len(Plates::RawText, 128))
                    .col(double(Plates::Confidence))
                    .col(json(Plates::Candidates))
                    .col(double(Plates::X1))
                    .col(double(Plates::Y1))
                    .col(double(Plates::X2))
                    .col(double(Plates::Y2))
                    .col(string_len_null(Plates::CropPath, 512))
                    .col(string_len_null(Plates::RegionCode, 4))
                    .col(string_len(Plates::PlateType, 32))
                    .col(string_len_null(Plates::TextColor, 16))
                    .col(string_len_null(Plates::BackgroundColor, 16))
                    .col(string_len(Plates::Status, 16))
                    .col(timestamp_with_time_zone(Plates::CreatedAt))
                    .foreign_key(&mut owner(Plates::Table, "fk_plates_account"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_plates_session")
                            .from(Plates::Table, Plates::SessionId)
                            .to(DetectionSessions::Table, DetectionSessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_plates_vehicle")
                            .from(Plates::Table, Plates::VehicleId)
                            .to(Vehicles::Table, Vehicles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_plates_session",
            Plates::Table,
            &["session_id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_plates_vehicle",
            Plates::Table,
            &["vehicle_id"],
            false,
        )
        .await?;
        index(
            manager,
            "idx_plates_account_text",
            Plates::Table,
            &["account_id", "text"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(PlateListEntries::Table)
                    .col(pk_auto(PlateListEntries::Id))
                    .col(uuid(PlateListEntries::AccountId))
                    .col(string_len(PlateListEntries::PlateText, 32))
                    .col(string_len(PlateListEntries::StatusType, 16))
                    .col(timestamp_with_time_zone(PlateListEntries::CreatedAt))
                    .foreign_key(&mut owner(
                        PlateListEntries::Table,
                        "fk_plate_list_entries_account",
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "uq_plate_list_entries_account_text",
            PlateListEntries::Table,
            &["account_id", "plate_text"],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PlateListEntries::Table.into_iden(),
            Plates::Table.into_iden(),
            Vehicles::Table.into_iden(),
            DetectionSessions::Table.into_iden(),
            Locations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
