//! `/readiness customer` (and `archive` / `unarchive`): show a customer, or change its
//! name, tier, CSM, channel, milestone switches or archived state. A tier change
//! re-plans its open SLA deadlines; archiving stops its reminders, unarchiving resumes
//! them.

use chrono::{DateTime, Utc};

use super::Context;
use super::commands::{Answer, Refusal, SlashCommand, resolve_customer};
use crate::blocks::{self, Message};
use crate::domain::command::{CustomerChange, CustomerRef, Form};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::policy::MILESTONES;
use crate::store::audit::{Actor, Source};

pub(super) async fn customer(
    ctx: &Context,
    cmd: &SlashCommand,
    named: Option<CustomerRef>,
    change: CustomerChange,
    lang: Lang,
    now_ms: i64,
) -> Result<Answer, Refusal> {
    let before = resolve_customer(ctx, cmd, named.as_ref(), Form::Customer, lang).await?;
    if change.is_empty() {
        return Ok(Answer::Ephemeral(describe(ctx, &before, lang)));
    }
    let now = crate::time_source::at_ms(now_ms);
    let after = apply(&before, &change, now);
    if after == before {
        return Ok(Answer::Ephemeral(Message::plain(lang.pick(
            "Nothing to change: it is already so.",
            "変更はありません（すでにその状態です）。",
        ))));
    }
    let action = match (change.archived, before.is_archived(), after.is_archived()) {
        (Some(true), false, true) if only_archive(&change) => "customer.archived",
        (Some(false), true, false) if only_archive(&change) => "customer.unarchived",
        _ => "customer.changed",
    };
    let actor = Actor::new(&cmd.user_id, Source::Command);
    if !ctx
        .usecases
        .store
        .update_customer(&before, &after, action, actor, now_ms)
        .await?
    {
        return Err(Refusal::Message(Message::plain(lang.pick(
            "That channel already belongs to another customer.",
            "そのチャンネルはすでに別の顧客のものです。",
        ))));
    }
    let replanned = follow_up(ctx, &before, &after, &change, actor, now).await?;
    ctx.usecases.delivery.checklist_changed();
    let mut answer = describe(ctx, &after, lang);
    let mut note = format!(
        ":white_check_mark: {}",
        lang.pick("Saved.", "保存しました。")
    );
    if replanned > 0 {
        note.push_str(&match lang {
            Lang::En => format!(" {replanned} open ticket(s) re-planned for the new tier's hours."),
            Lang::Ja => {
                format!(" 未解決のチケット {replanned} 件を新しいティアの時間で再計画しました。")
            }
        });
    }
    answer.blocks.insert(0, blocks::section(&note));
    Ok(Answer::Ephemeral(answer))
}

fn only_archive(change: &CustomerChange) -> bool {
    CustomerChange {
        archived: None,
        ..change.clone()
    }
    .is_empty()
}

/// The customer as changed (pure).
fn apply(before: &Customer, change: &CustomerChange, now: DateTime<Utc>) -> Customer {
    let mut after = before.clone();
    if let Some(name) = &change.name {
        after.name = name.clone();
    }
    if let Some(tier) = change.tier {
        after.tier = tier;
    }
    if let Some(csm) = &change.csm {
        after.csm = Some(csm.clone());
    }
    if let Some(channel) = &change.channel {
        after.channel_id = Some(channel.clone());
        after.channel_error = None;
    }
    match change.archived {
        Some(true) if !before.is_archived() => after.archived_at = Some(now.timestamp_millis()),
        Some(false) => after.archived_at = None,
        _ => {}
    }
    for (kind, on) in &change.milestones {
        after.reminders_off.retain(|k| k != kind);
        if !on {
            after.reminders_off.push(kind.clone());
        }
    }
    after.reminders_off.sort();
    after
}

/// What a change sets off: re-planned deadlines, resumed or re-planned reminders.
/// Returns how many tickets were re-planned.
async fn follow_up(
    ctx: &Context,
    before: &Customer,
    after: &Customer,
    change: &CustomerChange,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<usize, Refusal> {
    let mut replanned = 0;
    if after.tier != before.tier {
        replanned = ctx
            .usecases
            .tickets
            .replan_customer(after, before.tier, now)
            .await
            .map_err(|e| Refusal::Internal(e.into()))?;
    }
    if before.is_archived() && !after.is_archived() {
        ctx.usecases.reminders.resume(after, now).await?;
    }
    let mut replan_milestones = false;
    for (kind, on) in &change.milestones {
        if *on {
            replan_milestones = true;
        } else {
            ctx.usecases
                .reminders
                .cancel_milestone(after, kind, actor, now)
                .await?;
        }
    }
    if replan_milestones
        && !after.is_archived()
        && let Some(golive) = after.golive_on
    {
        ctx.usecases
            .reminders
            .plan_milestones(after, golive, actor, now)
            .await?;
    }
    Ok(replanned)
}

fn describe(ctx: &Context, c: &Customer, lang: Lang) -> Message {
    let channel = c
        .channel_id
        .as_ref()
        .map(|id| format!("<#{id}>"))
        .unwrap_or_else(|| "—".into());
    let milestones: Vec<String> = MILESTONES
        .iter()
        .map(|k| {
            let on = ctx
                .usecases
                .tickets
                .policy
                .reminders
                .milestones
                .iter()
                .any(|m| m == k)
                && c.reminder_on(k);
            format!("`{k}={}`", if on { "on" } else { "off" })
        })
        .collect();
    let state = if c.is_archived() {
        lang.pick(":file_cabinet: archived", ":file_cabinet: アーカイブ済み")
    } else {
        lang.pick("active", "稼働中")
    };
    let text = format!(
        "*{}* (`{}`) · {} · {state}\n{}: {channel} · CSM: <@{}> · {}: {}\n{}: {}",
        crate::blocks::name(&c.name),
        c.slug,
        c.tier.title(),
        lang.pick("Channel", "チャンネル"),
        c.csm(),
        lang.pick("Go-live", "本番開始"),
        c.golive_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "—".into()),
        lang.pick("Milestones", "マイルストーン"),
        milestones.join(" ")
    );
    Message::plain(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checklist::Tier;

    #[test]
    fn a_change_touches_only_what_it_names() {
        let before = crate::blocks::checklist::tests::customer();
        let now = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
        let change = CustomerChange {
            tier: Some(Tier::Standard),
            milestones: vec![("qbr".into(), false), ("hypercare".into(), false)],
            archived: Some(true),
            ..CustomerChange::default()
        };
        let after = apply(&before, &change, now);
        assert_eq!(after.tier, Tier::Standard);
        assert_eq!(after.name, before.name);
        assert_eq!(after.archived_at, Some(1_800_000_000_000));
        assert_eq!(after.reminders_off, ["hypercare", "qbr"]);
        let back = CustomerChange {
            milestones: vec![("qbr".into(), true)],
            archived: Some(false),
            ..CustomerChange::default()
        };
        let again = apply(&after, &back, now);
        assert_eq!(again.reminders_off, ["hypercare"]);
        assert_eq!(again.archived_at, None);
        assert!(!only_archive(&back));
    }
}
