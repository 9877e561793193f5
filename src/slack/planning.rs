//! `/readiness team` (who holds each role of a customer's onboarding) and
//! `/readiness plan` (the plan by due week, and the customer's health).

use super::Context;
use super::commands::{Answer, Refusal, SlashCommand, resolve_customer};
use crate::blocks::{self, Message};
use crate::domain::command::{CustomerRef, Form};
use crate::domain::i18n::Lang;
use chrono::{DateTime, Utc};

/// UNFINISHED (issue 17, being built): answers that the command is not built yet.
fn not_built(lang: Lang) -> Result<Answer, Refusal> {
    Ok(Answer::Ephemeral(Message::plain(lang.pick(
        "This command is not built yet.",
        "このコマンドはまだ使えません。",
    ))))
}

pub(super) async fn team(
    _ctx: &Context,
    _cmd: &SlashCommand,
    _customer: Option<CustomerRef>,
    _changes: Vec<(crate::domain::template::Owner, Option<String>)>,
    lang: Lang,
    _now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    not_built(lang)
}

/// `/readiness plan [customer]`: the plan by due week and the customer's health, to
/// the person who asked.
pub(super) async fn plan(
    ctx: &Context,
    cmd: &SlashCommand,
    customer: Option<CustomerRef>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let customer = resolve_customer(ctx, cmd, customer.as_ref(), Form::Plan, lang).await?;
    let plan = ctx.usecases.plan_view(customer, now).await?;
    Ok(Answer::Ephemeral(blocks::plan::plan(
        &blocks::plan::PlanInput {
            customer: &plan.customer,
            view: plan.view,
            states: &plan.states,
            today: plan.today,
            calendar: plan.calendar,
        },
        lang,
    )))
}
