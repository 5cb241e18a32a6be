//! Vehicles and plates: lookup, updates and deletes (with the emptied session).

use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, TransactionTrait as _,
};
use uuid::Uuid;

use super::{AlprService, UNCLASSIFIED, lists::list_status, not_found, plate_text, regions};
use crate::{
    db::entities::{detection_session, plate, vehicle},
    error::{AppError, AppResult},
};

/// What a delete removed (alpr-api.en.md, `DELETE /api/vehicles/{id}` and `/api/plates/{id}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// Plates removed.
    pub plates_deleted: u64,
    /// Whether a vehicle was removed.
    pub vehicle_deleted: bool,
    /// Whether the session, left empty, was removed.
    pub session_deleted: bool,
}

/// Plate changes (`PATCH /api/plates/{id}`).
#[derive(Debug, Clone, Default)]
pub struct PlateChanges {
    /// New text (normalised; region recomputed).
    pub text: Option<String>,
    /// `whitelist`, `blacklist` or `unclassified`.
    pub status: Option<String>,
    /// Plate type.
    pub plate_type: Option<String>,
}

impl AlprService {
    /// One vehicle.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn vehicle(&self, account_id: Uuid, id: i32) -> AppResult<vehicle::Model> {
        crate::db::one_or(
            &self.db,
            vehicle::Entity::find_by_id(id).filter(vehicle::Column::AccountId.eq(account_id)),
            || not_found("Vehicle", id),
        )
        .await
    }

    /// One plate.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn plate(&self, account_id: Uuid, id: i32) -> AppResult<plate::Model> {
        crate::db::one_or(
            &self.db,
            plate::Entity::find_by_id(id).filter(plate::Column::AccountId.eq(account_id)),
            || not_found("Plate", id),
        )
        .await
    }

    /// Updates a vehicle's class and/or confidence.
    ///
    /// # Errors
    /// `NOT_FOUND`; `BAD_USER_INPUT` for an empty class or a confidence outside [0, 1].
    pub async fn update_vehicle(
        &self,
        account_id: Uuid,
        id: i32,
        class: Option<String>,
        confidence: Option<f64>,
    ) -> AppResult<vehicle::Model> {
        let v = self.vehicle(account_id, id).await?;
        let mut am: vehicle::ActiveModel = v.into();
        if let Some(class) = class {
            let class = class.trim().to_owned();
            if class.is_empty() || class.len() > 64 {
                return Err(AppError::field("vehicle_class", "must be 1–64 characters"));
            }
            am.class = Set(class);
        }
        if let Some(c) = confidence {
            if !(0.0..=1.0).contains(&c) {
                return Err(AppError::field(
                    "vehicle_confidence_score",
                    "must be between 0 and 1",
                ));
            }
            am.confidence = Set(c);
        }
        am.update(&self.db).await.map_err(AppError::internal)
    }

    /// Updates a plate; a new text is normalised and its region recomputed.
    ///
    /// # Errors
    /// `NOT_FOUND`, `BAD_USER_INPUT`.
    pub async fn update_plate(
        &self,
        account_id: Uuid,
        id: i32,
        changes: PlateChanges,
    ) -> AppResult<plate::Model> {
        let p = self.plate(account_id, id).await?;
        let mut am: plate::ActiveModel = p.into();
        if let Some(t) = changes.text {
            let t = plate_text("plate_text", &t)?;
            am.region_code = Set(regions::of_plate(&t).map(|r| r.code.to_owned()));
            am.text = Set(t);
        }
        if let Some(s) = changes.status {
            let s = match s.trim().to_ascii_lowercase().as_str() {
                UNCLASSIFIED => UNCLASSIFIED,
                _ => list_status("plate_status", &s)?,
            };
            am.status = Set(s.into());
        }
        if let Some(t) = changes.plate_type {
            let t = t.trim().to_owned();
            if t.is_empty() || t.len() > 32 {
                return Err(AppError::field("plate_type", "must be 1–32 characters"));
            }
            am.plate_type = Set(t);
        }
        am.update(&self.db).await.map_err(AppError::internal)
    }

    /// Deletes a vehicle and its plates; the session too when nothing is left in it.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn delete_vehicle(&self, account_id: Uuid, id: i32) -> AppResult<DeleteOutcome> {
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let v = crate::db::one_or(
            &txn,
            vehicle::Entity::find_by_id(id).filter(vehicle::Column::AccountId.eq(account_id)),
            || not_found("Vehicle", id),
        )
        .await?;
        let plates = plate::Entity::delete_many()
            .filter(plate::Column::VehicleId.eq(id))
            .exec(&txn)
            .await
            .map_err(AppError::internal)?
            .rows_affected;
        vehicle::Entity::delete_by_id(id)
            .exec(&txn)
            .await
            .map_err(AppError::internal)?;
        let session_deleted = match v.session_id {
            Some(s) => delete_session_if_empty(&txn, s).await?,
            None => false,
        };
        txn.commit().await.map_err(AppError::internal)?;
        Ok(DeleteOutcome {
            plates_deleted: plates,
            vehicle_deleted: true,
            session_deleted,
        })
    }

    /// Deletes a plate; its vehicle when that has no plate left; the session when empty.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn delete_plate(&self, account_id: Uuid, id: i32) -> AppResult<DeleteOutcome> {
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let p = crate::db::one_or(
            &txn,
            plate::Entity::find_by_id(id).filter(plate::Column::AccountId.eq(account_id)),
            || not_found("Plate", id),
        )
        .await?;
        plate::Entity::delete_by_id(id)
            .exec(&txn)
            .await
            .map_err(AppError::internal)?;
        let mut vehicle_deleted = false;
        if let Some(vid) = p.vehicle_id {
            let left = plate::Entity::find()
                .filter(plate::Column::VehicleId.eq(vid))
                .count(&txn)
                .await
                .map_err(AppError::internal)?;
            if left == 0 {
                vehicle::Entity::delete_by_id(vid)
                    .exec(&txn)
                    .await
                    .map_err(AppError::internal)?;
                vehicle_deleted = true;
            }
        }
        let session_deleted = delete_session_if_empty(&txn, p.session_id).await?;
        txn.commit().await.map_err(AppError::internal)?;
        Ok(DeleteOutcome {
            plates_deleted: 1,
            vehicle_deleted,
            session_deleted,
        })
    }
}

async fn delete_session_if_empty(db: &impl ConnectionTrait, session_id: i32) -> AppResult<bool> {
    let vehicles = vehicle::Entity::find()
        .filter(vehicle::Column::SessionId.eq(session_id))
        .count(db)
        .await
        .map_err(AppError::internal)?;
    let plates = plate::Entity::find()
        .filter(plate::Column::SessionId.eq(session_id))
        .count(db)
        .await
        .map_err(AppError::internal)?;
    if vehicles + plates > 0 {
        return Ok(false);
    }
    detection_session::Entity::delete_by_id(session_id)
        .exec(db)
        .await
        .map_err(AppError::internal)?;
    Ok(true)
}
