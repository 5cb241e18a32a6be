//! Database connection and sea-orm entities.
//!
//! Entities live in [`entities`] and carry no GraphQL derives: the GraphQL types in
//! `crate::graphql` are separate so the wire shape and the storage shape can differ.

pub mod entities;

use std::time::Duration;

use anyhow::Context as _;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use visionflow_migrations::{Migrator, MigratorTrait};

/// Opens the database (creating the SQLite file when needed).
///
/// `schema`: PostgreSQL `search_path` to use (the tests run each TestApp in a fresh schema).
///
/// # Errors
/// The database cannot be reached or opened.
pub async fn connect(url: &str, schema: Option<&str>) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(16)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if let Some(schema) = schema {
        opts.set_schema_search_path(schema.to_owned());
    }
    let db = Database::connect(opts)
        .await
        .with_context(|| format!("cannot open database {}", redact(url)))?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // WAL lets readers run beside the one writer; the setting persists in the file.
        db.execute_unprepared("PRAGMA journal_mode=WAL;").await?;
    }
    Ok(db)
}

/// `%text%` lower-cased with `%`, `_` and `\\` escaped (for [`icontains`]).
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// `LOWER(col) LIKE '%text%'` with `%`, `_` and `\` escaped: case-insensitive contains.
pub fn icontains(
    col: impl sea_orm::sea_query::IntoColumnRef,
    text: &str,
) -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::{Expr, ExprTrait as _, Func, LikeExpr};
    Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(escape_like(text)).escape('\\'))
}

/// Applies every pending migration.
///
/// # Errors
/// A migration fails (the database is left at the last migration that succeeded).
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("migration failed")?;
    ensure_anonymous_account(db).await
}

/// The built-in account anonymous callers act as (the nil UUID); it cannot log in.
pub const ANONYMOUS_ACCOUNT: uuid::Uuid = uuid::Uuid::nil();

/// Creates the built-in account anonymous callers act as ([`ANONYMOUS_ACCOUNT`])
/// when missing. Its name and e-mail (`~anonymous`) fail registration's validation, so no
/// user can take them, and its password hash is not a PHC string, so nobody logs in as it.
///
/// # Errors
/// Database failures.
pub async fn ensure_anonymous_account(db: &DatabaseConnection) -> anyhow::Result<()> {
    use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, EntityTrait as _};
    let id = ANONYMOUS_ACCOUNT;
    if entities::account::Entity::find_by_id(id)
        .one(db)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let now = chrono::Utc::now();
    let row = entities::account::ActiveModel {
        id: Set(id),
        username: Set("~anonymous".into()),
        username_key: Set("~anonymous".into()),
        email: Set("~anonymous".into()),
        email_key: Set("~anonymous".into()),
        password_hash: Set("!".into()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    if let Err(e) = row.insert(db).await {
        // Another node created it first.
        if entities::account::Entity::find_by_id(id)
            .one(db)
            .await?
            .is_none()
        {
            return Err(e.into());
        }
    }
    Ok(())
}

/// One page of an ordered query and the number of rows the whole query matches.
///
/// # Errors
/// `INTERNAL` on database failures.
pub async fn page<E>(
    db: &DatabaseConnection,
    query: sea_orm::Select<E>,
    offset: u64,
    limit: u64,
) -> crate::error::AppResult<(Vec<E::Model>, u64)>
where
    E: sea_orm::EntityTrait,
    E::Model: Sync,
{
    use sea_orm::{PaginatorTrait as _, QuerySelect as _};
    let total = query
        .clone()
        .count(db)
        .await
        .map_err(crate::error::AppError::internal)?;
    let rows = query
        .offset(offset)
        .limit(limit)
        .all(db)
        .await
        .map_err(crate::error::AppError::internal)?;
    Ok((rows, total))
}

/// The one row a query selects, or `missing()` when there is none.
///
/// # Errors
/// `missing()`; `INTERNAL` on database failures.
pub async fn one_or<E, C>(
    db: &C,
    query: sea_orm::Select<E>,
    missing: impl FnOnce() -> crate::error::AppError,
) -> crate::error::AppResult<E::Model>
where
    E: sea_orm::EntityTrait,
    C: sea_orm::ConnectionTrait,
{
    query
        .one(db)
        .await
        .map_err(crate::error::AppError::internal)?
        .ok_or_else(missing)
}

/// A database URL with its password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
