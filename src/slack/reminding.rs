//! `/readiness remind`, `reminders` and `golive`, the list's cancel button and the
//! go-live confirm button: each parses, calls one use case (`usecase::reminders`) and
//! renders its outcome (`blocks::reminders`).

use chrono::{DateTime, NaiveDate, Utc};

use super::Context;
use super::commands::{Answer, Refusal, SlashCommand, named_customer, resolve_customer};
use crate::blocks::{Message, reminders as render};
use crate::domain::command::{CustomerRef, Form};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::reminder::ReminderRecord;
use crate::domain::schedule::When;
use crate::store::audit::{Actor, Source};
use crate::usecase::reminders::{GoLiveError, RemindError};

#[allow(clippy::too_many_arguments)]
pub(super) async fn remind(
    ctx: &Context,
    cmd: &SlashCommand,
    customer: Option<CustomerRef>,
    when: When,
    text: String,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let customer = resolve_customer(ctx, cmd, customer.as_ref(), Form::Remind, lang).await?;
    let actor = Actor::new(&cmd.user_id, Source::Command);
    let reminders = &ctx.usecases.reminders;
    match reminders.remind(&customer, &when, &text, actor, now).await {
        Ok(record) => Ok(Answer::Ephemeral(render::scheduled(
            &record,
            render::describe(&record, lang),
            reminders.zone_of(&customer),
            lang,
        ))),
        Err(RemindError::NoChannel) => Err(Refusal::Message(render::no_channel(lang))),
        Err(RemindError::InThePast) => Err(Refusal::Message(render::in_the_past(lang))),
        Err(RemindError::Archived) => Err(Refusal::Message(render::archived(&customer, lang))),
        Err(RemindError::Database(e)) => Err(e.into()),
    }
}

/// The rows as the list renders them: each reminder with its customer's name.
fn rows(listed: &[(ReminderRecord, String)]) -> Vec<(ReminderRecord, &str)> {
    listed
        .iter()
        .map(|(r, name)| (r.clone(), name.as_str()))
        .collect()
}

pub(super) async fn reminders(
    ctx: &Context,
    cmd: &SlashCommand,
    customer: Option<CustomerRef>,
    lang: Lang,
) -> Result<Answer, Refusal> {
    let customer = match customer {
        Some(r) => Some(named_customer(ctx, cmd, &r, Form::Reminders, lang).await?),
        None => {
            ctx.usecases
                .store
                .customer_by_channel(&cmd.team_id, &cmd.channel_id)
                .await?
        }
    };
    let listed = ctx
        .usecases
        .reminders
        .listed(&cmd.team_id, customer.as_ref())
        .await?;
    Ok(Answer::Ephemeral(render::list(
        &rows(&listed),
        &|r| render::describe(r, lang),
        lang,
    )))
}

/// `golive`: with a date, records it and plans the milestones it starts; without
/// one, only says what it would record (today in the customer's zone) and how to
/// confirm or change it.
pub(super) async fn golive(
    ctx: &Context,
    cmd: &SlashCommand,
    customer: Option<CustomerRef>,
    date: Option<NaiveDate>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let customer = resolve_customer(ctx, cmd, customer.as_ref(), Form::GoLive, lang).await?;
    let reminders = &ctx.usecases.reminders;
    let Some(date) = date else {
        return match reminders.propose_go_live(&customer, now) {
            Ok(proposal) => Ok(Answer::Ephemeral(render::golive_proposed(
                &customer,
                proposal.date,
                proposal.tz,
                lang,
            ))),
            Err(refused) => Err(golive_refusal(refused, &customer, lang)),
        };
    };
    let actor = Actor::new(&cmd.user_id, Source::Command);
    match ctx.usecases.go_live(&customer, date, actor, now).await {
        Ok(went) => Ok(Answer::Ephemeral(render::golive_planned(
            &went.customer,
            went.date,
            &went.planned,
            lang,
        ))),
        Err(refused) => Err(golive_refusal(refused, &customer, lang)),
    }
}

fn golive_refusal(refused: GoLiveError, customer: &Customer, lang: Lang) -> Refusal {
    match refused {
        GoLiveError::Archived => Refusal::Message(render::archived(customer, lang)),
        GoLiveError::Database(e) => e.into(),
    }
}

/// The go-live proposal's button: records the date it proposed. `None` if the
/// customer is not this workspace's (a forged id).
pub(super) async fn confirm_golive(
    ctx: &Context,
    team_id: &str,
    user: &str,
    customer_id: i64,
    date: NaiveDate,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Option<Message>, sqlx::Error> {
    let Some(customer) = ctx
        .usecases
        .store
        .customer_by_id(team_id, customer_id)
        .await?
    else {
        return Ok(None);
    };
    let actor = Actor::new(user, Source::Button);
    match ctx.usecases.go_live(&customer, date, actor, now).await {
        Ok(went) => Ok(Some(render::golive_planned(
            &went.customer,
            went.date,
            &went.planned,
            lang,
        ))),
        Err(GoLiveError::Archived) => Ok(Some(render::archived(&customer, lang))),
        Err(GoLiveError::Database(e)) => Err(e),
    }
}

/// The list's cancel button: cancels and shows the list again in place.
pub(super) async fn cancel_button(
    ctx: &Context,
    team_id: &str,
    user: &str,
    value: &str,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Message, sqlx::Error> {
    let actor = Actor::new(user, Source::Button);
    let outcome = ctx
        .usecases
        .reminders
        .cancel_from_list(team_id, value, actor, now)
        .await?;
    Ok(render::after_cancel(
        outcome.cancelled.as_ref(),
        &rows(&outcome.list),
        lang,
    ))
}
