//! Relay connections paged by offset, shared by every domain: the cursor is the row's
//! position in the ordered result; `offset` is an alternative to `after` for the REST
//! groups, whose documents page by `offset`/`page`.

use async_graphql::{
    SimpleObject,
    connection::{Connection, Edge, EmptyFields, OpaqueCursor},
};

use crate::error::{AppError, AppResult};

/// A Relay connection with [`TotalCount`].
pub type Paged<T> = Connection<OpaqueCursor<u64>, T, TotalCount, EmptyFields>;

/// Extra connection fields.
#[derive(SimpleObject)]
pub struct TotalCount {
    /// Rows matching the filter.
    pub total_count: u64,
}

/// The `(start, limit)` of a page: `first` (default 20, at most 1000) rows after the
/// `after` cursor, else from `offset`, else from the start.
///
/// # Errors
/// `BAD_USER_INPUT` on `first`, `after` or `offset`.
pub fn page(
    first: Option<i32>,
    after: Option<String>,
    offset: Option<i32>,
) -> AppResult<(u64, u64)> {
    let limit = first.unwrap_or(20);
    if !(0..=1000).contains(&limit) {
        return Err(AppError::field("first", "must be between 0 and 1000"));
    }
    let start = match (after, offset) {
        (Some(c), _) => {
            let OpaqueCursor::<u64>(pos) = async_graphql::connection::CursorType::decode_cursor(&c)
                .map_err(|_| AppError::field("after", "is not a cursor of this connection"))?;
            pos + 1
        }
        (None, Some(o)) if o < 0 => return Err(AppError::field("offset", "must be ≥ 0")),
        (None, Some(o)) => o as u64,
        (None, None) => 0,
    };
    Ok((start, limit as u64))
}

/// The connection of one page of `rows` starting at `start` of `total`.
pub fn connection<T: async_graphql::OutputType>(rows: Vec<T>, start: u64, total: u64) -> Paged<T> {
    let n = rows.len() as u64;
    let mut c = Connection::with_additional_fields(
        start > 0,
        start + n < total,
        TotalCount { total_count: total },
    );
    c.edges.extend(
        rows.into_iter()
            .enumerate()
            .map(|(i, r)| Edge::new(OpaqueCursor(start + i as u64), r)),
    );
    c
}

/// Extra fields of a page-numbered connection (the monitor and devices documents page by
/// `page` and `limit`).
#[derive(SimpleObject)]
pub struct PageTotals {
    /// Rows matching the filter.
    pub total_count: u64,
    /// This page, from 1.
    pub current_page: u64,
    /// Pages of `items_per_page` rows (0 when nothing matches).
    pub total_pages: u64,
    /// Rows per page.
    pub items_per_page: u64,
}

/// A Relay connection with [`PageTotals`].
pub type Numbered<T> = Connection<OpaqueCursor<u64>, T, PageTotals, EmptyFields>;

/// The `(start, limit, page)` of a page-numbered request: `page` (from 1) of `first`
/// rows (default 20, 1–1000); without `page`, as [`page`].
///
/// # Errors
/// `BAD_USER_INPUT` on `page`, `first`, `after` or `offset`.
pub fn numbered_page(
    first: Option<i32>,
    page_no: Option<i32>,
    after: Option<String>,
    offset: Option<i32>,
) -> AppResult<(u64, u64)> {
    match page_no {
        Some(p) if p < 1 => Err(AppError::field("page", "must be ≥ 1")),
        Some(p) => {
            let limit = first.unwrap_or(20);
            if !(1..=1000).contains(&limit) {
                return Err(AppError::field("limit", "must be between 1 and 1000"));
            }
            Ok(((p as u64 - 1) * limit as u64, limit as u64))
        }
        None => page(first, after, offset),
    }
}

/// The page-numbered connection of one page of `rows` starting at `start` of `total`.
pub fn numbered<T: async_graphql::OutputType>(
    rows: Vec<T>,
    start: u64,
    limit: u64,
    total: u64,
) -> Numbered<T> {
    let n = rows.len() as u64;
    let per = limit.max(1);
    let mut c = Connection::with_additional_fields(
        start > 0,
        start + n < total,
        PageTotals {
            total_count: total,
            current_page: start / per + 1,
            total_pages: total.div_ceil(per),
            items_per_page: per,
        },
    );
    c.edges.extend(
        rows.into_iter()
            .enumerate()
            .map(|(i, r)| Edge::new(OpaqueCursor(start + i as u64), r)),
    );
    c
}
