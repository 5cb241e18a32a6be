//! The one DataLoader of a GraphQL response ([`AppLoader`]) and the helper resolvers use to
//! load through it. Each domain implements `Loader<Key>` for its own keys next to its types
//! (`graphql/alpr/`, `graphql/parking.rs`, `graphql/cameras/`), so a list of N parents
//! costs one query per level, never one per row.

use std::sync::Arc;

use async_graphql::{
    Context,
    dataloader::{DataLoader, Loader},
};
use sea_orm::DatabaseConnection;

use crate::error::{AppError, AppResult};

/// Batches the parent/child lookups of one GraphQL response.
pub struct AppLoader {
    /// The database the keys are looked up in.
    pub db: DatabaseConnection,
}

impl AppLoader {
    /// A loader over the database.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// The error every loader answers (shared so batches can be cached).
pub type LoadErr = Arc<sea_orm::DbErr>;

fn loader<'a>(ctx: &Context<'a>) -> AppResult<&'a DataLoader<AppLoader>> {
    ctx.data::<DataLoader<AppLoader>>()
        .map_err(|e| AppError::internal(anyhow::anyhow!("no DataLoader: {}", e.message)))
}

/// Loads one key through the response's DataLoader (batched with the other keys of the same
/// kind requested in the same execution step).
///
/// # Errors
/// `INTERNAL` on database failures or a schema built without the loader.
pub async fn load<K>(
    ctx: &Context<'_>,
    key: K,
) -> AppResult<Option<<AppLoader as Loader<K>>::Value>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    AppLoader: Loader<K, Error = LoadErr>,
{
    loader(ctx)?
        .load_one(key)
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
}

/// A loader of rows by id: `$key(id)` → the row with that id of the entity module `$m`.
/// The key is a one-field tuple struct over the row's `i32` id.
#[macro_export]
macro_rules! by_id_loader {
    ($key:ident, $m:ident) => {
        impl async_graphql::dataloader::Loader<$key> for $crate::graphql::loader::AppLoader {
            type Value = $m::Model;
            type Error = $crate::graphql::loader::LoadErr;

            async fn load(
                &self,
                keys: &[$key],
            ) -> Result<std::collections::HashMap<$key, Self::Value>, Self::Error> {
                use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
                Ok($m::Entity::find()
                    .filter($m::Column::Id.is_in(keys.iter().map(|k| k.0)))
                    .all(&self.db)
                    .await?
                    .into_iter()
                    .map(|r| ($key(r.id), r))
                    .collect())
            }
        }
    };
}
