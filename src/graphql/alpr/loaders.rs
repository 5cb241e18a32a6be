//! DataLoader keys of the ALPR types and their batch loads: the children of a session or
//! vehicle, and sessions, vehicles and locations by id.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};

use crate::{
    db::entities::{detection_session, location, plate, vehicle},
    graphql::loader::{AppLoader, LoadErr},
};

/// Key: the vehicles of a session.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct SessionVehicles(pub i32);
/// Key: the plates of a session.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct SessionPlates(pub i32);
/// Key: the plates of a vehicle.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct VehiclePlates(pub i32);
/// Key: a session by id.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct SessionId(pub i32);
/// Key: a vehicle by id.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct VehicleId(pub i32);
/// Key: a location by id.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct LocationId(pub i32);

impl Loader<SessionVehicles> for AppLoader {
    type Value = Vec<vehicle::Model>;
    type Error = LoadErr;

    async fn load(
        &self,
        keys: &[SessionVehicles],
    ) -> Result<HashMap<SessionVehicles, Self::Value>, Self::Error> {
        let rows = vehicle::Entity::find()
            .filter(vehicle::Column::SessionId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(vehicle::Column::VehicleIndex)
            .all(&self.db)
            .await?;
        let mut out: HashMap<SessionVehicles, Self::Value> = HashMap::new();
        for r in rows {
            if let Some(s) = r.session_id {
                out.entry(SessionVehicles(s)).or_default().push(r);
            }
        }
        Ok(out)
    }
}

impl Loader<SessionPlates> for AppLoader {
    type Value = Vec<plate::Model>;
    type Error = LoadErr;

    async fn load(
        &self,
        keys: &[SessionPlates],
    ) -> Result<HashMap<SessionPlates, Self::Value>, Self::Error> {
        let rows = plate::Entity::find()
            .filter(plate::Column::SessionId.is_in(keys.iter().map(|k| k.0)))
            .order_by_desc(plate::Column::Confidence)
            .all(&self.db)
            .await?;
        let mut out: HashMap<SessionPlates, Self::Value> = HashMap::new();
        for r in rows {
            out.entry(SessionPlates(r.session_id)).or_default().push(r);
        }
        Ok(out)
    }
}

impl Loader<VehiclePlates> for AppLoader {
    type Value = Vec<plate::Model>;
    type Error = LoadErr;

    async fn load(
        &self,
        keys: &[VehiclePlates],
    ) -> Result<HashMap<VehiclePlates, Self::Value>, Self::Error> {
        let rows = plate::Entity::find()
            .filter(plate::Column::VehicleId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(plate::Column::PlateIndex)
            .all(&self.db)
            .await?;
        let mut out: HashMap<VehiclePlates, Self::Value> = HashMap::new();
        for r in rows {
            if let Some(v) = r.vehicle_id {
                out.entry(VehiclePlates(v)).or_default().push(r);
            }
        }
        Ok(out)
    }
}

crate::by_id_loader!(SessionId, detection_session);
crate::by_id_loader!(VehicleId, vehicle);
crate::by_id_loader!(LocationId, location);
