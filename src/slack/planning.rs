//! `/readiness team` (who holds each role of a customer's onboarding) and
//! `/readiness plan` (the plan by due week, and the customer's health).

use super::Context;
use super::commands::{Answer, Refusal, SlashCommand, resolve_customer};
use crate::blocks::{self, Message};
use crate::domain::command::{CustomerRef, Form};
use crate::domain::i18n::Lang;
use crate::store::audit::{Actor, Source};
use chrono::{DateTime, Utc};

/// UNFINISHED (issue 17, being built): answers that the command is not built yet.
fn not_built(lang: Lang) -> Result<Answer, Refusal> {
    Ok(Answer::Ephemeral(Message::plain(lang.pick(
        "This command is not built yet.",
        "このコマンドはまだ使えません。",
    ))))
}

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

pub(super) async fn plan(
    _ctx: &Context,
    _cmd: &SlashCommand,
    _customer: Option<CustomerRef>,
    lang: Lang,
    _now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    not_built(lang)
}
