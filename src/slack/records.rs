//! `/readiness audit` and `/readiness report`: what happened, and how the month went.

use chrono::{DateTime, NaiveDate, Utc};

use super::Context;
use super::commands::{Answer, Refusal, SlashCommand, named_customer, resolve_customer};
use crate::blocks;
use crate::domain::command::{CustomerRef, Form};
use crate::domain::i18n::Lang;
use crate::domain::report::Month;
use crate::usecase::reports::ReportError;

/// Entries read for `/readiness audit` (a few more than shown, to say there are more).
const AUDIT_READ: i64 = blocks::audit::SHOWN as i64 + 1;

pub(super) async fn audit(
    ctx: &Context,
    cmd: &SlashCommand,
    customer: Option<CustomerRef>,
    since: Option<NaiveDate>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let customer = match customer {
        Some(r) => Some(named_customer(ctx, cmd, &r, Form::Audit, lang).await?),
        None => {
            ctx.usecases
                .store
                .customer_by_channel(&cmd.team_id, &cmd.channel_id)
                .await?
        }
    };
    let recent = ctx
        .usecases
        .recent_audit(&cmd.team_id, customer.as_ref(), since, AUDIT_READ, now)
        .await?;
    Ok(Answer::Ephemeral(blocks::audit::recent(
        &recent.entries,
        &recent.names,
        lang,
    )))
}

/// `report`: the month's report is posted in the customer's channel through the
/// outbox (gathered when sent), with its CSV and JSON attached.
pub(super) async fn report(
    ctx: &Context,
    cmd: &SlashCommand,
    customer: Option<CustomerRef>,
    month: Option<Month>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let customer = resolve_customer(ctx, cmd, customer.as_ref(), Form::Report, lang).await?;
    match ctx
        .usecases
        .queue_report(&customer, month, &cmd.user_id, now)
        .await
    {
        Ok(queued) => Ok(Answer::Ephemeral(blocks::report::being_posted(
            &customer,
            queued.month,
            &queued.channel,
            lang,
        ))),
        Err(ReportError::NoChannel) => Err(Refusal::Message(blocks::report::no_channel(lang))),
        Err(ReportError::Database(e)) => Err(e.into()),
    }
}
