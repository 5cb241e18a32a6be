//! Parking domain (parking-vehicle-api.zh-TW.txt): parking lots, occupancy records, and the
//! registry fields of a vehicle. The registry vehicle is the `vehicles` row the alpr group
//! shows (ENDPOINTS.md: two views of one record), so its fields are added to that table.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ParkingLots {
    Table,
    Id,
    AccountId,
    SiteId,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ParkingRecords {
    Table,
    Id,
    AccountId,
    ParkingLotId,
    RegularOccupied,
    RegularTotal,
    RegularAvailable,
    MonthlyOccupied,
    MonthlyTotal,
    MonthlyAvailable,
    LastUpdate,
    CollectedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Vehicles {
    Table,
    LicensePlate,
    Brand,
    Model,
    Year,
    ParkingLotId,
    CapturedAt,
    ImagePath,
    IsIdentified,
    ConfidenceScore,
    RecognizedPlate,
    UpdatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ParkingLots::Table)
                    .col(pk_auto(ParkingLots::Id))
                    .col(uuid(ParkingLots::AccountId))
                    .col(string_len(ParkingLots::SiteId, 100))
                    .col(string_len(ParkingLots::Name, 200))
                    .col(timestamp_with_time_zone(ParkingLots::CreatedAt))
                    .col(timestamp_with_time_zone(ParkingLots::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_parking_lots_account")
                            .from(ParkingLots::Table, ParkingLots::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_parking_lots_account_site")
                    .table(ParkingLots::Table)
                    .col(ParkingLots::AccountId)
                    .col(ParkingLots::SiteId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ParkingRecords::Table)
                    .col(pk_auto(ParkingRecords::Id))
                    .col(uuid(ParkingRecords::AccountId))
                    .col(integer(ParkingRecords::ParkingLotId))
                    .col(integer_null(ParkingRecords::RegularOccupied))
                    .col(integer_null(ParkingRecords::RegularTotal))
                    .col(integer_null(ParkingRecords::RegularAvailable))
                    .col(integer_null(ParkingRecords::MonthlyOccupied))
                    .col(integer_null(ParkingRecords::MonthlyTotal))
                    .col(integer_null(ParkingRecords::MonthlyAvailable))
                    .col(timestamp_with_time_zone(ParkingRecords::LastUpdate))
                    .col(timestamp_with_time_zone(ParkingRecords::CollectedAt))
                    .col(timestamp_with_time_zone(ParkingRecords::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_parking_records_account")
                            .from(ParkingRecords::Table, ParkingRecords::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_parking_records_lot")
                            .from(ParkingRecords::Table, ParkingRecords::ParkingLotId)
                            .to(ParkingLots::Table, ParkingLots::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One record per lot and source update time: what makes batch-collect idempotent.
        manager
            .create_index(
                Index::create()
                    .name("uq_parking_records_lot_update")
                    .table(ParkingRecords::Table)
                    .col(ParkingRecords::ParkingLotId)
                    .col(ParkingRecords::LastUpdate)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_parking_records_account_update")
                    .table(ParkingRecords::Table)
                    .col(ParkingRecords::AccountId)
                    .col(ParkingRecords::LastUpdate)
                    .to_owned(),
            )
            .await?;

        // SQLite alters one column per statement.
        let columns = [
            string_len_null(Vehicles::LicensePlate, 32),
            string_len_null(Vehicles::Brand, 100),
            string_len_null(Vehicles::Model, 100),
            string_len_null(Vehicles::Year, 16),
            integer_null(Vehicles::ParkingLotId),
            timestamp_with_time_zone_null(Vehicles::CapturedAt),
            string_len_null(Vehicles::ImagePath, 512),
            boolean(Vehicles::IsIdentified).default(false).to_owned(),
            double_null(Vehicles::ConfidenceScore),
            string_len_null(Vehicles::RecognizedPlate, 32),
            timestamp_with_time_zone_null(Vehicles::UpdatedAt),
        ];
        for mut col in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Vehicles::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_vehicles_parking_lot")
                    .table(Vehicles::Table)
                    .col(Vehicles::ParkingLotId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_vehicles_parking_lot")
                    .table(Vehicles::Table)
                    .to_owned(),
            )
            .await?;
        for col in [
            Vehicles::LicensePlate,
            Vehicles::Brand,
            Vehicles::Model,
            Vehicles::Year,
            Vehicles::ParkingLotId,
            Vehicles::CapturedAt,
            Vehicles::ImagePath,
            Vehicles::IsIdentified,
            Vehicles::ConfidenceScore,
            Vehicles::RecognizedPlate,
            Vehicles::UpdatedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Vehicles::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        for table in [
            ParkingRecords::Table.into_iden(),
            ParkingLots::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
