//! `/readiness team` (who holds each role of a customer's onboarding) and
//! `/readiness plan` (the plan by due week, and the customer's health).

use super::Context;
use super::commands::{Answer, Refusal, SlashCommand, resolve_customer};
use crate::blocks;
use crate::domain::command::{CustomerRef, Form};
use crate::domain::i18n::Lang;
use crate::store::audit::{Actor, Source};
use chrono::{DateTime, Utc};

/// `/readiness team [customer] [role=@user|none …]`: with no change, the team and what
/// each holder owns; with changes (the right to manage customers, checked on the way
/// in), the roles named, their items assigned, and the team as it now is.
pub(super) async fn team(
    ctx: &Context,
    cmd: &SlashCommand,
    customer: Option<CustomerRef>,
    changes: Vec<(crate::domain::template::Owner, Option<String>)>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let customer = resolve_customer(ctx, cmd, customer.as_ref(), Form::Team, lang).await?;
    if changes.is_empty() {
        let team = ctx.usecases.team_of(&customer).await?;
        return Ok(Answer::Ephemeral(blocks::team::shown(
            &customer, &team, lang,
        )));
    }
    let actor = Actor::new(&cmd.user_id, Source::Command);
    let changed = ctx
        .usecases
        .set_team(&customer, &changes, actor, now)
        .await?;
    let team = ctx.usecases.team_of(&customer).await?;
    Ok(Answer::Ephemeral(blocks::team::changed(
        &customer,
        changed.reassigned,
        &changed.told,
        changed.contact_added.as_deref(),
        &team,
        lang,
    )))
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
