//! The allow/deny lists: status validation, entries, and applying them to stored plates.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _, SqlErr, TransactionTrait as _,
    sea_query::Expr,
};
use uuid::Uuid;

use super::{
    AlprService, BLACKLIST, UNCLASSIFIED, WHITELIST,
    fuzzy::{self, MatchKind},
    plate_text,
};
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

    /// Puts a plate on a list (replacing its previous list) and applies it to stored plates
    /// with that exact text. `fuzzy` (None: keep the entry's, false for a new one) lets
    /// plates read later match it within a weighted edit distance of one ([`fuzzy`]).
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for an empty text or an unknown status.
    pub async fn set_list_entry(
        &self,
        account_id: Uuid,
        text: &str,
        status: &str,
        fuzzy: Option<bool>,
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
                if let Some(f) = fuzzy {
                    am.fuzzy = Set(f);
                }
                am.update(&txn).await.map_err(AppError::internal)?
            }
            None => plate_list_entry::ActiveModel {
                account_id: Set(account_id),
                plate_text: Set(text.clone()),
                status_type: Set(status.into()),
                fuzzy: Set(fuzzy.unwrap_or(false)),
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
            .col_expr(plate::Column::ListMatch, Expr::value(None::<&str>))
            .filter(plate::Column::AccountId.eq(account_id))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?;
        for e in Lists::load(&txn, account_id).await?.entries {
            set_plate_status(&txn, account_id, &e.plate_text, &e.status_type).await?;
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

/// An account's allow/deny lists as detection applies them.
pub(super) struct Lists {
    entries: Vec<plate_list_entry::Model>,
    exact: HashMap<String, usize>,
}

impl Lists {
    /// Reads the account's entries.
    pub(super) async fn load(db: &impl ConnectionTrait, account_id: Uuid) -> AppResult<Self> {
        let entries = plate_list_entry::Entity::find()
            .filter(plate_list_entry::Column::AccountId.eq(account_id))
            .order_by_asc(plate_list_entry::Column::Id)
            .all(db)
            .await
            .map_err(AppError::internal)?;
        let exact = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.plate_text.clone(), i))
            .collect();
        Ok(Self { entries, exact })
    }

    /// The status of a (normalised) plate text and how it matched: the entry with the same
    /// text, else the nearest `fuzzy` entry within the fuzzy distance (equal distances: the
    /// blacklist first, then the older entry).
    pub(super) fn status_of(&self, text: &str) -> Option<(&str, MatchKind)> {
        if let Some(&i) = self.exact.get(text) {
            return Some((self.entries[i].status_type.as_str(), MatchKind::Exact));
        }
        self.entries
            .iter()
            .filter(|e| e.fuzzy && fuzzy::matches(text, &e.plate_text, true).is_some())
            .map(|e| (fuzzy::distance(text, &e.plate_text), e))
            .min_by(|(da, a), (db, b)| {
                da.total_cmp(db)
                    .then((a.status_type != BLACKLIST).cmp(&(b.status_type != BLACKLIST)))
                    .then(a.id.cmp(&b.id))
            })
            .map(|(_, e)| (e.status_type.as_str(), MatchKind::Fuzzy))
    }
}

async fn set_plate_status(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    text: &str,
    status: &str,
) -> AppResult<()> {
    let matched = (status != UNCLASSIFIED).then(|| MatchKind::Exact.as_str());
    plate::Entity::update_many()
        .col_expr(plate::Column::Status, Expr::value(status))
        .col_expr(plate::Column::ListMatch, Expr::value(matched))
        .filter(plate::Column::AccountId.eq(account_id))
        .filter(plate::Column::Text.eq(text))
        .exec(db)
        .await
        .map_err(AppError::internal)?;
    Ok(())
}
