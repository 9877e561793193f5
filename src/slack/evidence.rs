//! `/readiness evidence`: proof attached to an item.

use super::Context;
use super::commands::{Answer, Refusal, SlashCommand, resolve_customer};
use crate::blocks::{Message, evidence as render, help};
use crate::domain::command::{CustomerRef, Form, looks_like_item_key};
use crate::domain::customer::Customer;
use crate::domain::evidence::Attachment;
use crate::domain::i18n::Lang;
use crate::store::audit::{Actor, Source};
use crate::usecase::evidence::EvidenceRefusal;
use chrono::{DateTime, Utc};

#[allow(clippy::too_many_arguments)]
pub(super) async fn evidence(
    ctx: &Context,
    cmd: &SlashCommand,
    customer: Option<CustomerRef>,
    item: String,
    url: String,
    note: Option<String>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let customer = resolve_customer(ctx, cmd, customer.as_ref(), Form::Evidence, lang).await?;
    // The grammar checked the link already; read the same way, it cannot fail here.
    let Some(link) = Attachment::link(&url) else {
        return Err(Refusal::Message(help::parse_error(
            &crate::domain::command::ParseError::Usage {
                form: Form::Evidence,
                problem: crate::domain::command::Problem::BadUrl(url),
            },
            lang,
        )));
    };
    let actor = Actor::new(&cmd.user_id, Source::Command);
    let attached = ctx
        .usecases
        .add_evidence(&customer, &item, &[link], note.as_deref(), actor, now)
        .await?;
    match attached {
        Ok(attached) => Ok(Answer::Ephemeral(render::attached(
            &customer,
            attached.item,
            &attached.added,
            attached.total,
            lang,
        ))),
        Err(refusal) => Err(Refusal::Message(refused(ctx, &customer, &refusal, lang))),
    }
}

/// A refusal of the use case, in the person's language (the item modal shows it too).
pub(super) fn refused(
    ctx: &Context,
    customer: &Customer,
    refusal: &EvidenceRefusal,
    lang: Lang,
) -> Message {
    let unknown =
        |key: &str| help::unknown_item(key, looks_like_item_key(key), Form::Evidence, lang);
    let template = &ctx.usecases.template;
    match refusal {
        EvidenceRefusal::UnknownItem(key) => unknown(key),
        EvidenceRefusal::OtherTier { key, tiers, .. } => match template.item(key) {
            Some(item) => render::other_tier(customer, item, tiers, lang),
            None => unknown(key),
        },
        EvidenceRefusal::Full { key, holds, max } => match template.item(key) {
            Some(item) => render::full(item, *holds, *max, lang),
            None => unknown(key),
        },
        EvidenceRefusal::AlreadyAttached { key } => match template.item(key) {
            Some(item) => render::already_attached(item, lang),
            None => unknown(key),
        },
        EvidenceRefusal::NoteTooLong { max } => render::note_too_long(*max, lang),
    }
}
