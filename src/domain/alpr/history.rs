//! The detection history: one session, the newest, session updates, and filtered pages of
//! sessions and plates.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _,
    ActiveValue::Set,
    ColumnTrait as _, Condition, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    TransactionTrait as _,
    sea_query::{Expr, Query},
};
use uuid::Uuid;
use visionflow_models::alpr::normalize_plate;

use super::{
    AlprService, given,
    locations::{find_or_create_location, location_name},
    not_found,
};
use crate::{
    db::entities::{detection_session, location, plate, vehicle},
    error::{AppError, AppResult},
};

/// Filters of the detection history (alpr-api.en.md `GET /detections`).
#[derive(Debug, Clone, Default)]
pub struct DetectionFilter {
    /// Vehicle class, case-insensitive (`car`).
    pub vehicle_type: Option<String>,
    /// Plate type (`Regular`).
    pub plate_type: Option<String>,
    /// Plate text contains this (compared after normalising both).
    pub search: Option<String>,
    /// Location name.
    pub location: Option<String>,
    /// Detected at or after.
    pub from: Option<DateTime<Utc>>,
    /// Detected before.
    pub to: Option<DateTime<Utc>>,
    /// Only sessions of this camera.
    pub camera_id: Option<i32>,
}

impl AlprService {
    /// One session of the account.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn session(&self, account_id: Uuid, id: i32) -> AppResult<detection_session::Model> {
        crate::db::one_or(
            &self.db,
            detection_session::Entity::find_by_id(id)
                .filter(detection_session::Column::AccountId.eq(account_id)),
            || not_found("Session", id),
        )
        .await
    }

    /// The newest session, if any.
    ///
    /// # Errors
    /// Database failures.
    pub async fn latest(&self, account_id: Uuid) -> AppResult<Option<detection_session::Model>> {
        detection_session::Entity::find()
            .filter(detection_session::Column::AccountId.eq(account_id))
            .order_by_desc(detection_session::Column::CreatedAt)
            .order_by_desc(detection_session::Column::Id)
            .one(&self.db)
            .await
            .map_err(AppError::internal)
    }

    /// Updates a session's location and notes.
    ///
    /// # Errors
    /// `NOT_FOUND`, `BAD_USER_INPUT`.
    pub async fn update_session(
        &self,
        account_id: Uuid,
        id: i32,
        location: Option<&str>,
        notes: Option<String>,
    ) -> AppResult<detection_session::Model> {
        let txn = self.db.begin().await.map_err(AppError::internal)?;
        let current = crate::db::one_or(
            &txn,
            detection_session::Entity::find_by_id(id)
                .filter(detection_session::Column::AccountId.eq(account_id)),
            || not_found("Session", id),
        )
        .await?;
        let mut am: detection_session::ActiveModel = current.into();
        if let Some(name) = location {
            let name = location_name(name)?;
            let loc = find_or_create_location(&txn, account_id, &name, Utc::now()).await?;
            am.location_id = Set(Some(loc.id));
        }
        if let Some(notes) = notes {
            am.notes = Set(Some(notes.chars().take(2000).collect()));
        }
        let out = am.update(&txn).await.map_err(AppError::internal)?;
        txn.commit().await.map_err(AppError::internal)?;
        Ok(out)
    }

    fn session_condition(account_id: Uuid, f: &DetectionFilter) -> AppResult<Condition> {
        use detection_session::Column as S;
        let mut c = Condition::all().add(S::AccountId.eq(account_id));
        if let Some(from) = f.from {
            c = c.add(S::CreatedAt.gte(from));
        }
        if let Some(to) = f.to {
            c = c.add(S::CreatedAt.lt(to));
        }
        if let Some(cam) = f.camera_id {
            c = c.add(S::CameraId.eq(cam));
        }
        if let Some(name) = given(f.location.as_deref()) {
            c = c.add(
                S::LocationId.in_subquery(
                    Query::select()
                        .column(location::Column::Id)
                        .from(location::Entity)
                        .and_where(location::Column::AccountId.eq(account_id))
                        .and_where(location::Column::Name.eq(name))
                        .to_owned(),
                ),
            );
        }
        if let Some(v) = given(f.vehicle_type.as_deref()) {
            c = c.add(
                S::Id.in_subquery(
                    Query::select()
                        .column(vehicle::Column::SessionId)
                        .from(vehicle::Entity)
                        .and_where(vehicle::Column::AccountId.eq(account_id))
                        .and_where(lower_eq(vehicle::Column::Class, v))
                        .to_owned(),
                ),
            );
        }
        let mut plate_cond = Condition::all();
        let mut plate_filtered = false;
        if let Some(t) = given(f.plate_type.as_deref()) {
            plate_cond = plate_cond.add(lower_eq(plate::Column::PlateType, t));
            plate_filtered = true;
        }
        if let Some(s) = f.search.as_deref() {
            let s = normalize_plate(s);
            if !s.is_empty() {
                plate_cond = plate_cond.add(plate::Column::Text.contains(s));
                plate_filtered = true;
            }
        }
        if plate_filtered {
            c = c.add(
                S::Id.in_subquery(
                    Query::select()
                        .column(plate::Column::SessionId)
                        .from(plate::Entity)
                        .and_where(plate::Column::AccountId.eq(account_id))
                        .cond_where(plate_cond)
                        .to_owned(),
                ),
            );
        }
        Ok(c)
    }

    /// Sessions matching a filter, newest first: `(rows, total)`.
    ///
    /// # Errors
    /// Database failures.
    pub async fn sessions(
        &self,
        account_id: Uuid,
        filter: &DetectionFilter,
        offset: u64,
        limit: u64,
    ) -> AppResult<(Vec<detection_session::Model>, u64)> {
        let cond = Self::session_condition(account_id, filter)?;
        let q = detection_session::Entity::find()
            .filter(cond)
            .order_by_desc(detection_session::Column::CreatedAt)
            .order_by_desc(detection_session::Column::Id);
        crate::db::page(&self.db, q, offset, limit).await
    }

    /// Plates matching a filter, newest first: `(rows, total)`.
    ///
    /// # Errors
    /// Database failures.
    pub async fn plates(
        &self,
        account_id: Uuid,
        filter: &DetectionFilter,
        offset: u64,
        limit: u64,
    ) -> AppResult<(Vec<plate::Model>, u64)> {
        use plate::Column as P;
        let mut c = Condition::all().add(P::AccountId.eq(account_id));
        if let Some(t) = given(filter.plate_type.as_deref()) {
            c = c.add(lower_eq(P::PlateType, t));
        }
        if let Some(s) = filter.search.as_deref() {
            let s = normalize_plate(s);
            if !s.is_empty() {
                c = c.add(P::Text.contains(s));
            }
        }
        if let Some(from) = filter.from {
            c = c.add(P::CreatedAt.gte(from));
        }
        if let Some(to) = filter.to {
            c = c.add(P::CreatedAt.lt(to));
        }
        if let Some(v) = given(filter.vehicle_type.as_deref()) {
            c = c.add(
                P::VehicleId.in_subquery(
                    Query::select()
                        .column(vehicle::Column::Id)
                        .from(vehicle::Entity)
                        .and_where(vehicle::Column::AccountId.eq(account_id))
                        .and_where(lower_eq(vehicle::Column::Class, v))
                        .to_owned(),
                ),
            );
        }
        if filter.location.is_some() || filter.camera_id.is_some() {
            let only_location = DetectionFilter {
                location: filter.location.clone(),
                camera_id: filter.camera_id,
                ..Default::default()
            };
            let sc = Self::session_condition(account_id, &only_location)?;
            c = c.add(
                P::SessionId.in_subquery(
                    Query::select()
                        .column(detection_session::Column::Id)
                        .from(detection_session::Entity)
                        .cond_where(sc)
                        .to_owned(),
                ),
            );
        }
        let q = plate::Entity::find()
            .filter(c)
            .order_by_desc(P::CreatedAt)
            .order_by_desc(P::Id);
        crate::db::page(&self.db, q, offset, limit).await
    }
}

/// `LOWER(col) = lower(value)`.
fn lower_eq(col: impl sea_orm::sea_query::IntoColumnRef, value: &str) -> Expr {
    use sea_orm::sea_query::{ExprTrait as _, Func};
    Expr::expr(Func::lower(Expr::col(col))).eq(value.to_lowercase())
}
