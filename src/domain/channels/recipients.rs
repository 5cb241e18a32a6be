//! E-mail recipients: `GET/POST /email_recipients` of monitor-api.zh-TW.txt, plus update,
//! delete and the verification link. Adding (or changing the address of) a recipient queues
//! its verification mail in the same transaction; only verified, active recipients get
//! alerts. Addresses are parsed by `lettre` (RFC 5321/5322) and stored lower-cased; one
//! address once per account (409 `RECIPIENT_EXISTS`).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, TransactionTrait as _,
};
use uuid::Uuid;

use super::{ChannelService, notification_types};
use crate::{
    db::{self, entities::email_recipient},
    delivery::{Message, VERIFICATION, email, outbox},
    domain::validate::{Errors, optional_text},
    error::{AppError, AppResult},
    events::Event,
};

/// Longest address (RFC 5321 path limit), characters.
pub const MAX_EMAIL: usize = 254;

/// Fields of a recipient to add or change (`None` keeps / defaults).
#[derive(Debug, Clone, Default)]
pub struct RecipientInput {
    /// Address (required on add).
    pub email: Option<String>,
    /// Display name, 1–100 characters.
    pub name: Option<String>,
    /// `alerts`, `system_status`, `daily_reports` (default `["alerts"]`).
    pub notification_types: Option<Vec<String>>,
    /// Default true.
    pub active: Option<bool>,
}

fn check_email(errs: &mut Errors, value: &str) -> String {
    let v = value.trim().to_lowercase();
    if v.is_empty() {
        errs.add("email", "must not be blank");
    } else if v.chars().count() > MAX_EMAIL {
        errs.add("email", format!("must be at most {MAX_EMAIL} characters"));
    } else if v.parse::<lettre::Address>().is_err() || v.contains('\0') {
        errs.add("email", "is not a valid e-mail address");
    }
    v
}

fn check_name(errs: &mut Errors, value: Option<&str>) -> Option<String> {
    if value.is_some_and(|v| v.trim().is_empty()) {
        errs.add("name", "must not be blank");
        return None;
    }
    optional_text(errs, "name", value, 100)
}

fn verification(r: &email_recipient::Model) -> Message {
    Message {
        kind: VERIFICATION.into(),
        subject: "verify".into(),
        text: format!("verification of {}", r.email),
        at: r.updated_at,
        ..Message::default()
    }
}

impl ChannelService {
    /// The caller's recipients, oldest first.
    ///
    /// # Errors
    /// `INTERNAL`.
    pub async fn recipients(&self, account_id: Uuid) -> AppResult<Vec<email_recipient::Model>> {
        Ok(email_recipient::Entity::find()
            .filter(email_recipient::Column::AccountId.eq(account_id))
            .order_by_asc(email_recipient::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// One of the caller's recipients.
    ///
    /// # Errors
    /// `NOT_FOUND` (missing or another account's).
    pub async fn recipient(&self, account_id: Uuid, id: i32) -> AppResult<email_recipient::Model> {
        let q = email_recipient::Entity::find_by_id(id)
            .filter(email_recipient::Column::AccountId.eq(account_id));
        db::one_or(&self.db, q, || {
            AppError::not_found("郵件接收者不存在或無權限訪問")
        })
        .await
    }

    async fn taken(&self, account_id: Uuid, email: &str, except: Option<i32>) -> AppResult<()> {
        let mut q = email_recipient::Entity::find()
            .filter(email_recipient::Column::AccountId.eq(account_id))
            .filter(email_recipient::Column::Email.eq(email));
        if let Some(id) = except {
            q = q.filter(email_recipient::Column::Id.ne(id));
        }
        if q.one(&self.db).await?.is_some() {
            return Err(AppError::Conflict {
                reason: "RECIPIENT_EXISTS",
                message: format!("{email} is already a recipient"),
            });
        }
        Ok(())
    }

    /// Adds a recipient and queues its verification mail (when SMTP is configured).
    /// Answers the row and whether the mail was queued (`verification_sent`).
    ///
    /// # Errors
    /// `BAD_USER_INPUT` naming the field (nothing stored); `CONFLICT` `RECIPIENT_EXISTS`.
    pub async fn add_recipient(
        &self,
        account_id: Uuid,
        input: RecipientInput,
    ) -> AppResult<(email_recipient::Model, bool)> {
        let mut errs = Errors::default();
        let email = match input.email.as_deref() {
            Some(e) => check_email(&mut errs, e),
            None => {
                errs.add("email", "is required");
                String::new()
            }
        };
        let name = check_name(&mut errs, input.name.as_deref());
        let types = notification_types(
            &mut errs,
            "notification_types",
            input.notification_types.as_deref(),
        );
        errs.finish()?;
        self.taken(account_id, &email, None).await?;
        let now = Utc::now();
        let txn = self.db.begin().await?;
        let row = email_recipient::ActiveModel {
            account_id: Set(account_id),
            email: Set(email),
            name: Set(name),
            notification_types: Set(types),
            active: Set(input.active.unwrap_or(true)),
            verified: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            last_notification: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(duplicate)?;
        let sent = self.queue_verification(&txn, &row).await?;
        txn.commit().await?;
        self.woke(account_id, sent);
        Ok((row, sent))
    }

    async fn queue_verification(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        r: &email_recipient::Model,
    ) -> AppResult<bool> {
        if !self.mail_enabled {
            return Ok(false);
        }
        let cause = format!("verify:{}:{}", r.id, r.updated_at.timestamp_micros());
        outbox::enqueue_to(txn, r.account_id, "email", r.id, &cause, &verification(r)).await?;
        Ok(true)
    }

    fn woke(&self, account_id: Uuid, queued: bool) {
        if queued {
            self.bus.publish(Event::DeliveriesQueued {
                account_id,
                count: 1,
            });
        }
    }

    /// Changes a recipient; a new address is unverified again and gets a new verification
    /// mail. Answers the row and whether a mail was queued.
    ///
    /// # Errors
    /// `NOT_FOUND`; `BAD_USER_INPUT`; `CONFLICT` `RECIPIENT_EXISTS`.
    pub async fn update_recipient(
        &self,
        account_id: Uuid,
        id: i32,
        input: RecipientInput,
    ) -> AppResult<(email_recipient::Model, bool)> {
        let old = self.recipient(account_id, id).await?;
        let mut errs = Errors::default();
        let email = input.email.as_deref().map(|e| check_email(&mut errs, e));
        let name = check_name(&mut errs, input.name.as_deref());
        let types = input
            .notification_types
            .as_deref()
            .map(|t| notification_types(&mut errs, "notification_types", Some(t)));
        errs.finish()?;
        let changed_email = email.as_ref().filter(|e| **e != old.email).cloned();
        if let Some(e) = &changed_email {
            self.taken(account_id, e, Some(id)).await?;
        }
        let mut row: email_recipient::ActiveModel = old.into();
        if let Some(e) = changed_email.clone() {
            row.email = Set(e);
            row.verified = Set(false);
        }
        if input.name.is_some() {
            row.name = Set(name);
        }
        if let Some(t) = types {
            row.notification_types = Set(t);
        }
        if let Some(a) = input.active {
            row.active = Set(a);
        }
        row.updated_at = Set(Utc::now());
        let txn = self.db.begin().await?;
        let row = row.update(&txn).await.map_err(duplicate)?;
        let sent = if changed_email.is_some() {
            self.queue_verification(&txn, &row).await?
        } else {
            false
        };
        txn.commit().await?;
        self.woke(account_id, sent);
        Ok((row, sent))
    }

    /// Deletes a recipient; its pending deliveries fail as removed. Answers its id.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn delete_recipient(&self, account_id: Uuid, id: i32) -> AppResult<i32> {
        self.recipient(account_id, id).await?;
        email_recipient::Entity::delete_by_id(id)
            .exec(&self.db)
            .await?;
        Ok(id)
    }

    /// Follows a verification link: marks the recipient it names verified.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` `INVALID_VERIFICATION` for a malformed, expired or stale token
    /// (another address since), or one naming no recipient.
    pub async fn verify_recipient(&self, token: &str) -> AppResult<email_recipient::Model> {
        let invalid = || AppError::field("token", "is invalid or has expired");
        let (id, _, _) = email::parse_token(token).ok_or_else(invalid)?;
        let r = email_recipient::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(invalid)?;
        if !email::token_valid(&self.secrets, token, &r) {
            return Err(invalid());
        }
        if r.verified {
            return Ok(r);
        }
        let mut row: email_recipient::ActiveModel = r.into();
        row.verified = Set(true);
        row.updated_at = Set(Utc::now());
        Ok(row.update(&self.db).await?)
    }
}

/// A unique-index violation (a concurrent add of the same address) as `RECIPIENT_EXISTS`.
fn duplicate(e: sea_orm::DbErr) -> AppError {
    if matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    ) {
        return AppError::Conflict {
            reason: "RECIPIENT_EXISTS",
            message: "this address is already a recipient".into(),
        };
    }
    e.into()
}
