//! `/readiness customer` (and `archive` / `unarchive`): show a customer, or change its
//! name, tier, CSM, channel, milestone switches, intake mode, contacts or archived state
//! ([`UseCases::change_customer`](crate::usecase::UseCases::change_customer)).

use super::Context;
use super::commands::{Answer, Refusal, SlashCommand, resolve_customer};
use crate::blocks::{Message, customer as render};
use crate::domain::command::{CustomerChange, CustomerRef, Form};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::policy::MILESTONES;
use crate::store::audit::{Actor, Source};
use crate::usecase::customers::Changed;
use chrono::{DateTime, Utc};

pub(super) async fn customer(
    ctx: &Context,
    cmd: &SlashCommand,
    named: Option<CustomerRef>,
    change: CustomerChange,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let before = resolve_customer(ctx, cmd, named.as_ref(), Form::Customer, lang).await?;
    if change.is_empty() {
        return Ok(Answer::Ephemeral(describe(ctx, &before, lang).await?));
    }
    let actor = Actor::new(&cmd.user_id, Source::Command);
    let changed = ctx
        .usecases
        .change_customer(&before, &change, actor, now)
        .await
        .map_err(Refusal::Internal)?;
    match changed {
        Changed::Nothing => Ok(Answer::Ephemeral(render::unchanged(lang))),
        Changed::ChannelTaken => Err(Refusal::Message(render::channel_of_another(lang))),
        Changed::NameTaken(other) => Err(Refusal::Message(render::name_of_another(&other, lang))),
        Changed::Saved { after, replanned } => Ok(Answer::Ephemeral(render::saved(
            describe(ctx, &after, lang).await?,
            replanned,
            lang,
        ))),
    }
}

async fn describe(ctx: &Context, c: &Customer, lang: Lang) -> Result<Message, Refusal> {
    let milestones: Vec<(&str, bool)> = MILESTONES
        .iter()
        .map(|k| (*k, ctx.usecases.milestone_on(c, k)))
        .collect();
    let contacts = ctx.usecases.store.contacts(c).await?;
    let policy_intake = ctx.usecases.tickets.policy.intake.mode;
    Ok(render::describe(
        c,
        &milestones,
        policy_intake,
        &contacts,
        lang,
    ))
}
