//! `/readiness evidence`: proof attached to an item.

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

#[allow(clippy::too_many_arguments)]
pub(super) async fn evidence(
    _ctx: &Context,
    _cmd: &SlashCommand,
    _customer: Option<CustomerRef>,
    _item: String,
    _url: String,
    _note: Option<String>,
    lang: Lang,
    _now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    not_built(lang)
}
