//! Inspection records (inspection-api.zh-CN.md "图片检测", "数据服务"): one row per image of
//! a `POST /api/detect` batch — its defect (instance) count, best confidence (`dice`),
//! labels and the result image in the file store.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum InspectionRecords {
    Table,
    Id,
    AccountId,
    Name,
    Labels,
    Label,
    Num,
    Dice,
    ProcessingTime,
    Model,
    Width,
    Height,
    ResultPath,
    CreatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InspectionRecords::Table)
                    .col(pk_auto(InspectionRecords::Id))
                    .col(uuid(InspectionRecords::AccountId))
                    .col(string_len(InspectionRecords::Name, 255))
                    .col(json(InspectionRecords::Labels))
                    .col(string_len(InspectionRecords::Label, 255))
                    .col(integer(InspectionRecords::Num))
                    .col(double(InspectionRecords::Dice))
                    .col(double(InspectionRecords::ProcessingTime))
                    .col(string_len(InspectionRecords::Model, 100))
                    .col(integer(InspectionRecords::Width))
                    .col(integer(InspectionRecords::Height))
                    .col(text_null(InspectionRecords::ResultPath))
                    .col(timestamp_with_time_zone(InspectionRecords::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_inspection_records_account")
                            .from(InspectionRecords::Table, InspectionRecords::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_inspection_records_account_created")
                    .table(InspectionRecords::Table)
                    .col(InspectionRecords::AccountId)
                    .col(InspectionRecords::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(InspectionRecords::Table).to_owned())
            .await
    }
}
