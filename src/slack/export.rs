//! `/readiness export`: the checklist as a document for the customer, HTML and CSV,
//! uploaded to the customer's channel through the outbox.

use super::Context;
use super::commands::{Answer, Refusal, SlashCommand, resolve_customer};
use crate::blocks;
use crate::domain::command::{CustomerRef, Form};
use crate::domain::i18n::Lang;
use crate::usecase::export::ExportError;
use chrono::{DateTime, Utc};

pub(super) async fn export(
    ctx: &Context,
    cmd: &SlashCommand,
    customer: Option<CustomerRef>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let customer = resolve_customer(ctx, cmd, customer.as_ref(), Form::Export, lang).await?;
    match ctx
        .usecases
        .queue_export(&customer, &cmd.user_id, now)
        .await
    {
        Ok(queued) => Ok(Answer::Ephemeral(blocks::export::being_posted(
            &customer,
            &queued.stem,
            &queued.channel,
            lang,
        ))),
        Err(ExportError::NoChannel) => Err(Refusal::Message(blocks::export::no_channel(lang))),
        Err(ExportError::Database(e)) => Err(e.into()),
    }
}
