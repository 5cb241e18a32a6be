//! GraphQL of the inspection group (inspection-api.zh-CN.md): `inspect(images)` (one batch,
//! one inference job), `recentInspections`, `inspectionRecords` (Relay connection with the
//! search filters, or `page`), `inspectionStats(from, to)`, `analyzeInspections(limit)` and
//! the subscription `inspectionCompleted`. Scopes `inspection:read` / `inspection:write`
//! (the group can be opened to anonymous callers like alpr: `anonymous.groups`).

pub mod types;

use async_graphql::{Context, Object, Subscription, Upload};
use futures_util::{Stream, StreamExt as _};

use self::types::{InspectionAnalysis, InspectionDay, InspectionRecord, InspectionResult};
use super::{
    paging::{Numbered, numbered, numbered_page},
    scoped, state,
};
use crate::{
    auth::Principal,
    domain::inspection::{inspect::Upload as DomainUpload, records::RecordFilter},
    error::{AppError, AppResult},
    events::Event,
};

fn reader<'a>(ctx: &Context<'a>) -> AppResult<&'a Principal> {
    scoped(ctx, "inspection:read")
}

fn writer<'a>(ctx: &Context<'a>) -> AppResult<&'a Principal> {
    scoped(ctx, "inspection:write")
}

/// Inspection queries.
#[derive(Default)]
pub struct InspectionQuery;

#[Object]
impl InspectionQuery {
    /// The caller's `limit` (1–1000, default 120) newest records.
    async fn recent_inspections(
        &self,
        ctx: &Context<'_>,
        limit: Option<i64>,
    ) -> AppResult<Vec<InspectionRecord>> {
        let me = reader(ctx)?.account_id;
        let app = state(ctx)?;
        Ok(app
            .inspection
            .recent(me, limit)
            .await?
            .into_iter()
            .map(|r| InspectionRecord::new(r, app.inspection.tz()))
            .collect())
    }

    /// The caller's records, newest first: `name` (part of the file name), `num` (exact
    /// defect count), `startDate` / `endDate` (`YYYY-MM-DD`, local days, inclusive); `page`
    /// (from 1) of `first` rows, or Relay `after` / `offset`.
    #[allow(clippy::too_many_arguments)]
    async fn inspection_records(
        &self,
        ctx: &Context<'_>,
        name: Option<String>,
        num: Option<i32>,
        start_date: Option<String>,
        end_date: Option<String>,
        first: Option<i32>,
        page: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
    ) -> AppResult<Numbered<InspectionRecord>> {
        let me = reader(ctx)?.account_id;
        let (start, limit) = numbered_page(first, page, after, offset)?;
        let app = state(ctx)?;
        let f = RecordFilter {
            name,
            num,
            start_date,
            end_date,
        };
        let (rows, total) = app.inspection.search(me, f, start, limit).await?;
        let tz = app.inspection.tz();
        Ok(numbered(
            rows.into_iter()
                .map(|r| InspectionRecord::new(r, tz))
                .collect(),
            start,
            limit,
            total,
        ))
    }

    /// Records and defects per local day from `from` to `to` (`YYYY-MM-DD`; default the last
    /// 15 days), every day listed.
    async fn inspection_stats(
        &self,
        ctx: &Context<'_>,
        from: Option<String>,
        to: Option<String>,
    ) -> AppResult<Vec<InspectionDay>> {
        let me = reader(ctx)?.account_id;
        Ok(state(ctx)?
            .inspection
            .stats_by_date(me, from.as_deref(), to.as_deref())
            .await?
            .into_iter()
            .map(InspectionDay::from)
            .collect())
    }
}

/// Inspection mutations.
#[derive(Default)]
pub struct InspectionMutation;

#[Object]
impl InspectionMutation {
    /// Inspects a batch of images with the segmentation model (`inspection.model`); one
    /// answer per image, in upload order. Every file is checked first: a bad one fails the
    /// batch (`BAD_USER_INPUT` `Invalid image data for <name>`) and nothing is stored.
    async fn inspect(
        &self,
        ctx: &Context<'_>,
        images: Vec<Upload>,
    ) -> AppResult<Vec<InspectionResult>> {
        let me = writer(ctx)?.account_id;
        let mut files = Vec::with_capacity(images.len());
        for (i, u) in images.iter().enumerate() {
            let v = u
                .value(ctx)
                .map_err(|_| AppError::field(&format!("images[{i}]"), "no file was uploaded"))?;
            let filename = if v.filename.trim().is_empty() {
                "uploaded_image.jpg".to_owned()
            } else {
                v.filename.clone()
            };
            files.push(DomainUpload {
                filename,
                bytes: v.content.to_vec(),
            });
        }
        let app = state(ctx)?;
        let tz = app.inspection.tz();
        Ok(app
            .inspection
            .inspect(me, files)
            .await?
            .into_iter()
            .map(|r| InspectionResult::new(r, tz))
            .collect())
    }

    /// Asks the configured chat model (`ai.base_url`) to analyse the `limit` (1–500,
    /// default 50) newest records; `UNAVAILABLE` when AI is not configured or failed.
    async fn analyze_inspections(
        &self,
        ctx: &Context<'_>,
        limit: Option<i64>,
    ) -> AppResult<InspectionAnalysis> {
        let me = reader(ctx)?.account_id;
        Ok(state(ctx)?.inspection.analyze(me, limit).await?.into())
    }
}

/// Inspection subscriptions.
#[derive(Default)]
pub struct InspectionSubscription;

#[Subscription]
impl InspectionSubscription {
    /// The records of each of the caller's inspected batches, in upload order.
    async fn inspection_completed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Vec<InspectionRecord>> + use<>, AppError> {
        let me = reader(ctx)?.account_id;
        let app = state(ctx)?.clone();
        Ok(app.bus.subscribe().filter_map(move |event| {
            let app = app.clone();
            async move {
                match event {
                    Event::InspectionCompleted {
                        account_id,
                        record_ids,
                    } if account_id == me => {
                        let tz = app.inspection.tz();
                        let mut out = Vec::with_capacity(record_ids.len());
                        for id in record_ids {
                            if let Ok(r) = app.inspection.record(me, id).await {
                                out.push(InspectionRecord::new(r, tz));
                            }
                        }
                        Some(out)
                    }
                    _ => None,
                }
            }
        }))
    }
}
