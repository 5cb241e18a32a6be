//! Alert delivery (monitor-api.zh-TW.txt "電子郵件通知配置", "LINE 即時通知整合"): an
//! account's e-mail recipients, LINE Messaging API tokens and webhook endpoints, and the
//! transactional outbox `deliveries` — one row per notification (or status change, daily
//! report, verification mail) and channel, written in the transaction that stores its
//! cause and worked off by the delivery workers.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum EmailRecipients {
    Table,
    Id,
    AccountId,
    Email,
    Name,
    NotificationTypes,
    Active,
    Verified,
    CreatedAt,
    UpdatedAt,
    LastNotification,
}

#[derive(DeriveIden)]
enum LineTokens {
    Table,
    Id,
    AccountId,
    Name,
    TokenSealed,
    TokenHint,
    TokenDigest,
    TargetId,
    NotificationTypes,
    Active,
    Verified,
    CreatedAt,
    UpdatedAt,
    LastUsed,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    AccountId,
    Url,
    Description,
    EventTypes,
    SecretSealed,
    Active,
    CreatedAt,
    UpdatedAt,
    LastUsed,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    AccountId,
    NotificationId,
    Kind,
    Channel,
    TargetId,
    Payload,
    DedupKey,
    IdempotencyKey,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    CreatedAt,
    UpdatedAt,
    SentAt,
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
                    .table(EmailRecipients::Table)
                    .col(pk_auto(EmailRecipients::Id))
                    .col(uuid(EmailRecipients::AccountId))
                    .col(string_len(EmailRecipients::Email, 254))
                    .col(string_len_null(EmailRecipients::Name, 100))
                    .col(json(EmailRecipients::NotificationTypes))
                    .col(boolean(EmailRecipients::Active))
                    .col(boolean(EmailRecipients::Verified))
                    .col(timestamp_with_time_zone(EmailRecipients::CreatedAt))
                    .col(timestamp_with_time_zone(EmailRecipients::UpdatedAt))
                    .col(timestamp_with_time_zone_null(
                        EmailRecipients::LastNotification,
                    ))
                    .foreign_key(&mut owner(
                        EmailRecipients::Table,
                        EmailRecipients::AccountId,
                        "fk_email_recipients_account",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_email_recipients_account_email")
                    .table(EmailRecipients::Table)
                    .col(EmailRecipients::AccountId)
                    .col(EmailRecipients::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LineTokens::Table)
                    .col(pk_auto(LineTokens::Id))
                    .col(uuid(LineTokens::AccountId))
                    .col(string_len(LineTokens::Name, 100))
                    .col(text(LineTokens::TokenSealed))
                    .col(string_len(LineTokens::TokenHint, 40))
                    .col(string_len(LineTokens::TokenDigest, 64))
                    .col(string_len_null(LineTokens::TargetId, 100))
                    .col(json(LineTokens::NotificationTypes))
                    .col(boolean(LineTokens::Active))
                    .col(boolean(LineTokens::Verified))
                    .col(timestamp_with_time_zone(LineTokens::CreatedAt))
                    .col(timestamp_with_time_zone(LineTokens::UpdatedAt))
                    .col(timestamp_with_time_zone_null(LineTokens::LastUsed))
                    .foreign_key(&mut owner(
                        LineTokens::Table,
                        LineTokens::AccountId,
                        "fk_line_tokens_account",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(pk_auto(WebhookEndpoints::Id))
                    .col(uuid(WebhookEndpoints::AccountId))
                    .col(text(WebhookEndpoints::Url))
                    .col(string_len_null(WebhookEndpoints::Description, 200))
                    .col(json(WebhookEndpoints::EventTypes))
                    .col(text(WebhookEndpoints::SecretSealed))
                    .col(boolean(WebhookEndpoints::Active))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::LastUsed))
                    .foreign_key(&mut owner(
                        WebhookEndpoints::Table,
                        WebhookEndpoints::AccountId,
                        "fk_webhook_endpoints_account",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .col(pk_auto(Deliveries::Id))
                    .col(uuid(Deliveries::AccountId))
                    .col(integer_null(Deliveries::NotificationId))
                    .col(string_len(Deliveries::Kind, 20))
                    .col(string_len(Deliveries::Channel, 10))
                    .col(integer(Deliveries::TargetId))
                    .col(json(Deliveries::Payload))
                    .col(string_len_uniq(Deliveries::DedupKey, 200))
                    .col(uuid(Deliveries::IdempotencyKey))
                    .col(string_len(Deliveries::Status, 10))
                    .col(integer(Deliveries::Attempts))
                    .col(timestamp_with_time_zone(Deliveries::NextAttemptAt))
                    .col(text_null(Deliveries::LastError))
                    .col(timestamp_with_time_zone(Deliveries::CreatedAt))
                    .col(timestamp_with_time_zone(Deliveries::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Deliveries::SentAt))
                    .foreign_key(&mut owner(
                        Deliveries::Table,
                        Deliveries::AccountId,
                        "fk_deliveries_account",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_deliveries_notification")
                            .from(Deliveries::Table, Deliveries::NotificationId)
                            .to(Notifications::Table, Notifications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_line_tokens_account")
                    .table(LineTokens::Table)
                    .col(LineTokens::AccountId)
                    .col(LineTokens::TokenDigest)
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_deliveries_due",
                vec![Deliveries::Status, Deliveries::NextAttemptAt],
            ),
            (
                "ix_deliveries_notification",
                vec![Deliveries::NotificationId],
            ),
            (
                "ix_deliveries_account_created",
                vec![Deliveries::AccountId, Deliveries::CreatedAt],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Deliveries::Table);
            for c in cols {
                idx.col(c);
            }
            manager.create_index(idx.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Deliveries::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
            LineTokens::Table.into_iden(),
            EmailRecipients::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
