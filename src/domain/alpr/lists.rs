//! The allow/deny lists: status validation, entries, and applying them to stored plates.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _, SqlErr, TransactionTrait as _,
    sea_query::Expr,
};
use uuid::Uuid;

use super::{AlprService, BLACKLIST, UNCLASSIFIED, WHITELIST, plate_text};
use crate::{
    db::entities::{plate, plate_list_entry},
    error::{AppError, AppResult},
};

/// Counts after a list sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Plates now whitelisted.
    pub whitelist: u64,
    /// Plates now blacklisted.
    pub blacklist: u64,
    /// Plates on no list.
    pub unclassified: u64,
}

fn bad_status(field: &str, value: &str) -> AppError {
    AppError::field(
        field,
        format!("must be one of whitelist, blacklist (got {value:?})"),
    )
}

/// Validates a list status (`whitelist` / `blacklist`), case-insensitive.
///
/// # Errors
/// `BAD_USER_INPUT` on `field`.
pub fn list_status(field: &str, value: &str) -> AppResult<&'static str> {
    match value.trim().to_ascii_lowercase().as_str() {
        WHITELIST => Ok(WHITELIST),
        BLACKLIST => Ok(BLACKLIST),
        _ => Err(bad_status(field, value)),
    }
}

impl AlprService {
    /// The allow/deny list, by plate text.
    ///
    /// # Errors
    /// Database failures.
    pub async fn list_entries(&self, account_id: Uuid) -> AppResult<Vec<plate_list_entry::Model>> {
        plate_list_entry::Entity::find()
            .filter(plate_list_entry::Column::AccountId.eq(account_id))
            .order_by_asc(plate_list_entry::Column::PlateText)
            .all(&self.db)
            .await
            .map_err(AppError::internal)
    }

    /// Puts a plate on a list (replacing its previous list) and applies it to stored plates.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for an empty text or an unknown status.
    pub async fn set_list_entry(
        &self,
        account_id: Uuid,
        text: &str,
        status: &str,
    ) -> AppResult<plate_list_entry::Model> {
        let text = plate_text("plate_text", text)?;
        let status = list_status("status_type", status)?;
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let existing = plate_list_entry::Entity::find()
            .filter(plate_list_entry::Column::AccountId.eq(account_id))
            .filter(plate_list_entry::Column::PlateText.eq(&text))
            .one(&txn)
            .await
            .map_err(AppError::internal)?;
        let entry = match existing {
            Some(e) => {
                let mut am: plate_list_entry::ActiveModel = e.into();
                am.status_type = Set(status.into());
                am.update(&txn).await.map_err(AppError::internal)?
            }
            None => plate_list_entry::ActiveModel {
                account_id: Set(account_id),
                plate_text: Set(text.clone()),
                status_type: Set(status.into()),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .map_err(|e| match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict {
                    reason: "PLATE_LISTED",
                    message: format!("Plate {text} was listed concurrently; retry"),
                },
                _ => AppError::internal(e),
            })?,
        };
        set_plate_status(&txn, account_id, &text, status).await?;
        txn.commit().await.map_err(AppError::internal)?;
        Ok(entry)
    }

    /// Removes a plate from the lists; its stored plates become `unclassified`.
    ///
    /// # Errors
    /// `NOT_FOUND` when the plate is on no list.
    pub async fn remove_list_entry(&self, account_id: Uuid, text: &str) -> AppResult<String> {
        let text = plate_text("plate_text", text)?;
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let n = plate_list_entry::Entity::delete_many()
            .filter(plate_list_entry::Column::AccountId.eq(account_id))
            .filter(plate_list_entry::Column::PlateText.eq(&text))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?
            .rows_affected;
        if n == 0 {
            return Err(AppError::NotFound {
                reason: None,
                message: format!("Plate {text} is not in the status list"),
            });
        }
        set_plate_status(&txn, account_id, &text, UNCLASSIFIED).await?;
        txn.commit().await.map_err(AppError::internal)?;
        Ok(text)
    }

    /// Re-applies the lists to every stored plate of the account.
    ///
    /// # Errors
    /// Database failures.
    pub async fn sync_lists(&self, account_id: Uuid) -> AppResult<SyncCounts> {
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        plate::Entity::update_many()
            .col_expr(plate::Column::Status, Expr::value(UNCLASSIFIED))
            .filter(plate::Column::AccountId.eq(account_id))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?;
        for (text, status) in list_map(&txn, account_id).await? {
            set_plate_status(&txn, account_id, &text, &status).await?;
        }
        let mut counts = SyncCounts::default();
        let rows: Vec<(String, i64)> = plate::Entity::find()
            .select_only()
            .column(plate::Column::Status)
            .column_as(plate::Column::Id.count(), "n")
            .filter(plate::Column::AccountId.eq(account_id))
            .group_by(plate::Column::Status)
            .into_tuple()
            .all(&txn)
            .await
            .map_err(AppError::internal)?;
        for (status, n) in rows {
            let n = n as u64;
            match status.as_str() {
                WHITELIST => counts.whitelist += n,
                BLACKLIST => counts.blacklist += n,
                _ => counts.unclassified += n,
            }
        }
        txn.commit().await.map_err(AppError::internal)?;
        Ok(counts)
    }
}

pub(super) async fn list_map(
    db: &impl ConnectionTrait,
    account_id: Uuid,
) -> AppResult<HashMap<String, String>> {
    Ok(plate_list_entry::Entity::find()
        .filter(plate_list_entry::Column::AccountId.eq(account_id))
        .all(db)
        .await
        .map_err(AppError::internal)?
        .into_iter()
        .map(|e| (e.plate_text, e.status_type))
        .collect())
}

async fn set_plate_status(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    text: &str,
    status: &str,
) -> AppResult<()> {
    plate::Entity::update_many()
        .col_expr(plate::Column::Status, Expr::value(status))
        .filter(plate::Column::AccountId.eq(account_id))
        .filter(plate::Column::Text.eq(text))
        .exec(db)
        .await
        .map_err(AppError::internal)?;
    Ok(())
}
