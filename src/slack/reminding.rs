//! `/readiness remind`, `reminders` and `golive`, and the list's cancel button.
//!
//! Unfinished (the structure issue): these handlers still gather and decide here
//! instead of calling one use case each, and write some of their own sentences; see
//! docs/limitations.md.

use chrono::{DateTime, Utc};

use super::Context;
use super::commands::{Answer, Refusal, SlashCommand, named_customer, resolve_customer};
use crate::blocks::{self, Message, help};
use crate::domain::command::{CustomerRef, Form};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::schedule::{Recurrence, When};
use crate::store::audit::{Actor, Source};
use crate::store::reminders::ReminderRecord;
use crate::usecase::reminders::RemindError;

/// A recurrence as people read it.
fn describe(r: &ReminderRecord, lang: Lang) -> Option<String> {
    r.recurrence
        .as_deref()
        .and_then(Recurrence::parse_text)
        .map(|rec| rec.describe(lang))
}

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
    if customer.channel_id.is_none() {
        return Err(Refusal::Message(Message::plain(lang.pick(
            "This customer has no channel yet, so a reminder would have nowhere to go.",
            "この顧客にはまだチャンネルがないため、リマインダーを投稿できません。",
        ))));
    }
    let actor = Actor::new(&cmd.user_id, Source::Command);
    match ctx
        .usecases
        .reminders
        .remind(&customer, &when, &text, actor, now)
        .await
    {
        Ok(record) => {
            let tz = ctx.usecases.tickets.policy.tier(customer.tier).timezone;
            Ok(Answer::Ephemeral(blocks::reminders::scheduled(
                &record,
                describe(&record, lang),
                tz,
                lang,
            )))
        }
        Err(RemindError::InThePast) => Err(Refusal::Message(help::error_with_usage(
            blocks::texts::WHEN_IN_THE_PAST.get(lang),
            Form::Remind.usage(),
            lang,
        ))),
        Err(RemindError::Archived) => Err(archived(&customer, lang)),
        Err(RemindError::Database(e)) => Err(e.into()),
    }
}

fn archived(customer: &Customer, lang: Lang) -> Refusal {
    Refusal::Message(Message::plain(match lang {
        Lang::En => format!(
            "*{}* is archived: its reminders are stopped. `/readiness unarchive {}` resumes them.",
            crate::blocks::name(&customer.name),
            customer.slug
        ),
        Lang::Ja => format!(
            "*{}* はアーカイブ済みで、リマインダーは停止中です。`/readiness unarchive {}` で再開します。",
            crate::blocks::name(&customer.name),
            customer.slug
        ),
    }))
}

/// The reminders of the named customer, of the channel's customer, or of the whole
/// workspace; the daily digests are left out (one per customer, always there).
pub(super) async fn list(
    ctx: &Context,
    team_id: &str,
    customer: Option<&Customer>,
    lang: Lang,
) -> Result<Message, sqlx::Error> {
    let names: std::collections::HashMap<i64, String> = ctx
        .usecases
        .store
        .customers(team_id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let records = ctx
        .usecases
        .store
        .active_reminders(team_id, customer.map(|c| c.id))
        .await?;
    let rows: Vec<(ReminderRecord, &str)> = records
        .into_iter()
        .filter(|r| r.kind != "digest")
        .map(|r| {
            let name = names.get(&r.customer_id).map_or("?", String::as_str);
            (r, name)
        })
        .collect();
    Ok(blocks::reminders::list(&rows, &|r| describe(r, lang), lang))
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
    Ok(Answer::Ephemeral(
        list(ctx, &cmd.team_id, customer.as_ref(), lang).await?,
    ))
}

/// `golive`: records the go-live date (today in the customer's zone if none is given)
/// and plans the milestones it starts.
pub(super) async fn golive(
    ctx: &Context,
    cmd: &SlashCommand,
    customer: Option<CustomerRef>,
    date: Option<chrono::NaiveDate>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let customer = resolve_customer(ctx, cmd, customer.as_ref(), Form::GoLive, lang).await?;
    if customer.is_archived() {
        return Err(archived(&customer, lang));
    }
    let tz = ctx.usecases.tickets.policy.tier(customer.tier).timezone;
    let date = date.unwrap_or_else(|| now.with_timezone(&tz).date_naive());
    let actor = Actor::new(&cmd.user_id, Source::Command);
    let mut after = customer.clone();
    after.golive_on = Some(date);
    ctx.usecases
        .store
        .update_customer(&customer, &after, "customer.golive", actor, now)
        .await?;
    let planned = ctx
        .usecases
        .reminders
        .plan_milestones(&after, date, actor, now)
        .await?;
    let lines: Vec<String> = planned
        .iter()
        .map(|r| {
            let next = blocks::reminders::next_due(r);
            format!(
                "• {} — {next}{}",
                blocks::reminders::kind_name(&r.kind, lang),
                describe(r, lang)
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    Ok(Answer::Ephemeral(Message::plain(match lang {
        Lang::En => format!(
            ":rocket: *{}* goes live on {date}. Planned:\n{}",
            crate::blocks::name(&after.name),
            if lines.is_empty() {
                "nothing (every milestone is switched off)".to_string()
            } else {
                lines.join("\n")
            }
        ),
        Lang::Ja => format!(
            ":rocket: *{}* の本番開始日は {date} です。予定：\n{}",
            crate::blocks::name(&after.name),
            if lines.is_empty() {
                "なし（すべてのマイルストーンがオフ）".to_string()
            } else {
                lines.join("\n")
            }
        ),
    })))
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
    let cancelled = match value.parse::<i64>() {
        Ok(id) => {
            ctx.usecases
                .store
                .cancel_reminder(team_id, id, Actor::new(user, Source::Button), now)
                .await?
        }
        Err(_) => None,
    };
    let mut message = list(ctx, team_id, None, lang).await?;
    let note = match &cancelled {
        Some(r) => format!(
            ":wastebasket: R-{} {}",
            r.id,
            lang.pick("cancelled.", "を取り消しました。")
        ),
        None => lang
            .pick(
                "That reminder was already cancelled or done.",
                "そのリマインダーはすでに取り消されたか完了しています。",
            )
            .to_string(),
    };
    message.blocks.insert(0, blocks::section(&note));
    Ok(message)
}
