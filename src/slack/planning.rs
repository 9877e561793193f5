//! `/readiness team` (who holds each role of a customer's onboarding) and
//! `/readiness plan` (the plan by due week, and the customer's health).

use super::Context;
use super::commands::{Answer, Refusal, SlashCommand};
use crate::blocks::Message;
use crate::domain::command::CustomerRef;
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

pub(super) async fn plan(
    _ctx: &Context,
    _cmd: &SlashCommand,
    _customer: Option<CustomerRef>,
    lang: Lang,
    _now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    not_built(lang)
}
