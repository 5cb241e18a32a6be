//! GraphQL of the notification channels (monitor-api.zh-TW.txt "電子郵件通知配置", "LINE
//! 即時通知整合"; webhooks) and the outbox: `emailRecipients`, `lineTokens`,
//! `webhookEndpoints`, `deliveries`, their mutations, `verifyEmailRecipient` (the mailed
//! link; public), `retryDelivery`, and the `deliveryFailed` subscription. Scopes:
//! `notification:read` for queries and the subscription, `notification:write` for
//! mutations (JWTs carry every scope).

pub mod types;

use async_graphql::{Context, Object, Subscription};
use futures_util::{Stream, StreamExt as _};

use self::types::{
    CreatedWebhookEndpoint, Delivery, DeliveryFailure, EmailRecipient, EmailRecipientInput,
    EmailRecipientPayload, LineToken, LineTokenInput, WebhookEndpoint, WebhookEndpointInput,
};
use super::{
    paging::{Paged, connection, page},
    scoped, state,
};
use crate::{
    auth::Principal,
    domain::channels::deliveries::DeliveryFilter,
    error::{AppError, AppResult},
    events::Event,
};

fn reader<'a>(ctx: &Context<'a>) -> AppResult<&'a Principal> {
    scoped(ctx, "notification:read")
}

fn writer<'a>(ctx: &Context<'a>) -> AppResult<&'a Principal> {
    scoped(ctx, "notification:write")
}

/// A page of an in-memory list (channel lists are short).
fn slice<T, U: async_graphql::OutputType>(
    rows: Vec<T>,
    first: Option<i32>,
    after: Option<String>,
    offset: Option<i32>,
    wrap: impl Fn(T) -> U,
) -> AppResult<Paged<U>> {
    let (start, limit) = page(first, after, offset)?;
    let total = rows.len() as u64;
    let items = rows
        .into_iter()
        .skip(start as usize)
        .take(limit as usize)
        .map(wrap)
        .collect();
    Ok(connection(items, start, total))
}

/// Channel and outbox queries.
#[derive(Default)]
pub struct ChannelQuery;

#[Object]
impl ChannelQuery {
    /// The caller's e-mail recipients, oldest first (Relay connection).
    async fn email_recipients(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
    ) -> AppResult<Paged<EmailRecipient>> {
        let me = reader(ctx)?.account_id;
        let rows = state(ctx)?.channels.recipients(me).await?;
        slice(rows, first, after, offset, EmailRecipient)
    }

    /// The caller's LINE tokens, oldest first (Relay connection).
    async fn line_tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
    ) -> AppResult<Paged<LineToken>> {
        let me = reader(ctx)?.account_id;
        let rows = state(ctx)?.channels.line_tokens(me).await?;
        slice(rows, first, after, offset, LineToken)
    }

    /// The caller's webhook endpoints, oldest first.
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> AppResult<Vec<WebhookEndpoint>> {
        let me = reader(ctx)?.account_id;
        Ok(state(ctx)?
            .channels
            .webhooks(me)
            .await?
            .into_iter()
            .map(WebhookEndpoint)
            .collect())
    }

    /// The caller's deliveries, newest first (Relay connection); `status` `pending`,
    /// `sent` or `failed`, `channel` `email`, `line` or `webhook`.
    #[allow(clippy::too_many_arguments)]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        status: Option<String>,
        channel: Option<String>,
        notification_id: Option<i32>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
    ) -> AppResult<Paged<Delivery>> {
        let me = reader(ctx)?.account_id;
        let (start, limit) = page(first, after, offset)?;
        let f = DeliveryFilter {
            status,
            channel,
            notification_id,
        };
        let (rows, total) = state(ctx)?.channels.deliveries(me, f, start, limit).await?;
        Ok(connection(
            rows.into_iter().map(Delivery).collect(),
            start,
            total,
        ))
    }
}

/// Channel and outbox mutations.
#[derive(Default)]
pub struct ChannelMutation;

#[Object]
impl ChannelMutation {
    /// Adds an e-mail recipient and queues its verification mail (`VALIDATION_ERROR` naming
    /// the field; `CONFLICT` `RECIPIENT_EXISTS` for an address already added).
    async fn add_email_recipient(
        &self,
        ctx: &Context<'_>,
        input: EmailRecipientInput,
    ) -> AppResult<EmailRecipientPayload> {
        let me = writer(ctx)?.account_id;
        let (r, sent) = state(ctx)?.channels.add_recipient(me, input.into()).await?;
        Ok(EmailRecipientPayload {
            recipient: EmailRecipient(r),
            verification_sent: sent,
        })
    }

    /// Changes a recipient; a new address must be verified again.
    async fn update_email_recipient(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: EmailRecipientInput,
    ) -> AppResult<EmailRecipientPayload> {
        let me = writer(ctx)?.account_id;
        let (r, sent) = state(ctx)?
            .channels
            .update_recipient(me, id, input.into())
            .await?;
        Ok(EmailRecipientPayload {
            recipient: EmailRecipient(r),
            verification_sent: sent,
        })
    }

    /// Deletes a recipient; answers its id.
    async fn delete_email_recipient(&self, ctx: &Context<'_>, id: i32) -> AppResult<i32> {
        let me = writer(ctx)?.account_id;
        state(ctx)?.channels.delete_recipient(me, id).await
    }

    /// Verifies a recipient with the token of its mailed link (no credentials needed: the
    /// signed token is the proof).
    async fn verify_email_recipient(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> AppResult<EmailRecipient> {
        Ok(EmailRecipient(
            state(ctx)?.channels.verify_recipient(&token).await?,
        ))
    }

    /// Adds a LINE Messaging API token after LINE accepted it (`VALIDATION_ERROR` on
    /// `token` when LINE refuses it; stored unverified when LINE is unreachable).
    async fn add_line_token(
        &self,
        ctx: &Context<'_>,
        input: LineTokenInput,
    ) -> AppResult<LineToken> {
        let me = writer(ctx)?.account_id;
        Ok(LineToken(
            state(ctx)?
                .channels
                .add_line_token(me, input.into())
                .await?,
        ))
    }

    /// Changes a LINE token.
    async fn update_line_token(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: LineTokenInput,
    ) -> AppResult<LineToken> {
        let me = writer(ctx)?.account_id;
        Ok(LineToken(
            state(ctx)?
                .channels
                .update_line_token(me, id, input.into())
                .await?,
        ))
    }

    /// Deletes a LINE token; answers its id.
    async fn delete_line_token(&self, ctx: &Context<'_>, id: i32) -> AppResult<i32> {
        let me = writer(ctx)?.account_id;
        state(ctx)?.channels.delete_line_token(me, id).await
    }

    /// Adds a webhook endpoint; the answer holds its signing secret, shown only here.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> AppResult<CreatedWebhookEndpoint> {
        let me = writer(ctx)?.account_id;
        let (endpoint, secret) = state(ctx)?.channels.add_webhook(me, input.into()).await?;
        Ok(CreatedWebhookEndpoint {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    /// Changes a webhook endpoint.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: WebhookEndpointInput,
    ) -> AppResult<WebhookEndpoint> {
        let me = writer(ctx)?.account_id;
        Ok(WebhookEndpoint(
            state(ctx)?
                .channels
                .update_webhook(me, id, input.into())
                .await?,
        ))
    }

    /// Deletes a webhook endpoint; answers its id.
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: i32) -> AppResult<i32> {
        let me = writer(ctx)?.account_id;
        state(ctx)?.channels.delete_webhook(me, id).await
    }

    /// Queues a failed delivery again (`CONFLICT` `NOT_FAILED` otherwise).
    async fn retry_delivery(&self, ctx: &Context<'_>, id: i32) -> AppResult<Delivery> {
        let me = writer(ctx)?.account_id;
        Ok(Delivery(state(ctx)?.channels.retry_delivery(me, id).await?))
    }
}

/// Outbox subscriptions.
#[derive(Default)]
pub struct ChannelSubscription;

#[Subscription]
impl ChannelSubscription {
    /// Each of the caller's deliveries that failed for good (attempts spent or refused).
    async fn delivery_failed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = DeliveryFailure> + use<>, AppError> {
        let me = reader(ctx)?.account_id;
        let app = state(ctx)?.clone();
        Ok(app.bus.subscribe().filter_map(move |event| async move {
            match event {
                Event::DeliveryFailed {
                    account_id,
                    delivery_id,
                    notification_id,
                    channel,
                    error,
                } if account_id == me => Some(DeliveryFailure {
                    delivery_id,
                    notification_id,
                    channel,
                    error,
                }),
                _ => None,
            }
        }))
    }
}
