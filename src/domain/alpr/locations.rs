//! Locations (gates): validation, CRUD, and find-or-create by name for detections.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    QueryFilter as _, QueryOrder as _, SqlErr, TransactionTrait as _, sea_query::Expr,
};
use uuid::Uuid;

use super::{AlprService, LOCATION_TYPES, not_found};
use crate::{
    db::entities::{detection_session, location},
    error::{AppError, AppResult},
};

/// Validates a location type (`Entry` / `Exit`), case-insensitive.
///
/// # Errors
/// `BAD_USER_INPUT` on `type`.
pub fn location_type(value: &str) -> AppResult<&'static str> {
    LOCATION_TYPES
        .into_iter()
        .find(|t| t.eq_ignore_ascii_case(value.trim()))
        .ok_or_else(|| AppError::field("type", format!("must be Entry or Exit (got {value:?})")))
}

pub(super) fn location_name(value: &str) -> AppResult<String> {
    let name = value.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::field("name", "must be 1–200 characters"));
    }
    Ok(name.to_owned())
}

impl AlprService {
    /// The account's locations, by id.
    ///
    /// # Errors
    /// Database failures.
    pub async fn locations(&self, account_id: Uuid) -> AppResult<Vec<location::Model>> {
        location::Entity::find()
            .filter(location::Column::AccountId.eq(account_id))
            .order_by_asc(location::Column::Id)
            .all(&self.db)
            .await
            .map_err(AppError::internal)
    }

    /// One location.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn location(&self, account_id: Uuid, id: i32) -> AppResult<location::Model> {
        crate::db::one_or(
            &self.db,
            location::Entity::find_by_id(id).filter(location::Column::AccountId.eq(account_id)),
            || not_found("Location", id),
        )
        .await
    }

    /// Creates a location.
    ///
    /// # Errors
    /// `BAD_USER_INPUT`; `CONFLICT` when the name exists.
    pub async fn create_location(
        &self,
        account_id: Uuid,
        name: &str,
        kind: &str,
    ) -> AppResult<location::Model> {
        let name = location_name(name)?;
        let kind = location_type(kind)?;
        location::ActiveModel {
            account_id: Set(account_id),
            name: Set(name.clone()),
            location_type: Set(kind.into()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(|e| location_conflict(e, &name))
    }

    /// Renames / retypes a location.
    ///
    /// # Errors
    /// `NOT_FOUND`, `BAD_USER_INPUT`, `CONFLICT`.
    pub async fn update_location(
        &self,
        account_id: Uuid,
        id: i32,
        name: Option<&str>,
        kind: Option<&str>,
    ) -> AppResult<location::Model> {
        let current = self.location(account_id, id).await?;
        let mut am: location::ActiveModel = current.into();
        let mut new_name = String::new();
        if let Some(n) = name {
            new_name = location_name(n)?;
            am.name = Set(new_name.clone());
        }
        if let Some(k) = kind {
            am.location_type = Set(location_type(k)?.into());
        }
        am.update(&self.db)
            .await
            .map_err(|e| location_conflict(e, &new_name))
    }

    /// Deletes a location; its sessions keep their data without a location.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn delete_location(&self, account_id: Uuid, id: i32) -> AppResult<()> {
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let n = location::Entity::delete_many()
            .filter(location::Column::AccountId.eq(account_id))
            .filter(location::Column::Id.eq(id))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?
            .rows_affected;
        if n == 0 {
            return Err(not_found("Location", id));
        }
        detection_session::Entity::update_many()
            .col_expr(
                detection_session::Column::LocationId,
                Expr::value(Option::<i32>::None),
            )
            .filter(detection_session::Column::LocationId.eq(id))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?;
        txn.commit().await.map_err(AppError::internal)
    }
}

fn location_conflict(e: sea_orm::DbErr, name: &str) -> AppError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict {
            reason: "LOCATION_EXISTS",
            message: format!("A location named {name:?} already exists"),
        },
        _ => AppError::internal(e),
    }
}

pub(super) async fn find_or_create_location(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    name: &str,
    at: DateTime<Utc>,
) -> AppResult<location::Model> {
    if let Some(l) = location::Entity::find()
        .filter(location::Column::AccountId.eq(account_id))
        .filter(location::Column::Name.eq(name))
        .one(db)
        .await
        .map_err(AppError::internal)?
    {
        return Ok(l);
    }
    location::ActiveModel {
        account_id: Set(account_id),
        name: Set(name.to_owned()),
        location_type: Set("Entry".into()),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| match e.sql_err() {
        // Another upload created it between the read and the insert.
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Unavailable {
            message: format!("Location {name:?} was being created concurrently; retry"),
            retry_after: 1,
        },
        _ => AppError::internal(e),
    })
}
