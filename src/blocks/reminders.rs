//! Reminders as Slack shows them: a custom reminder, the due-date DM, the daily digest
//! of overdue items, the milestone messages and the list with its cancel buttons.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use slack_morphism::prelude::*;

use super::{
    Message, NAME_CHARS, button_text, clip, context, customer_item, escape, escape_clipped, header,
    limits, section, section_text,
};

/// Characters of a reminder's text, escaped, in the reminder itself: the section's
/// 3,000 less who set it.
const BODY_CHARS: usize = 2800;
/// Characters of a reminder's text, escaped, in the list.
const LISTED_TEXT_CHARS: usize = 1500;
use crate::domain::checklist::States;
use crate::domain::command::Form;
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::reminder::ReminderRecord;
use crate::domain::schedule::Recurrence;
use crate::domain::template::{Item, Template};

/// The list's cancel button; its value is the reminder's id.
pub const CANCEL: &str = "reminder_cancel";

/// The button that confirms `golive` without a date; its value is
/// `<customer id>:<YYYY-MM-DD>` (see [`golive_value`]).
pub const GOLIVE_CONFIRM: &str = "golive_confirm";

/// The value of the go-live confirm button.
pub fn golive_value(customer_id: i64, date: NaiveDate) -> String {
    format!("{customer_id}:{date}")
}

/// The most reminders listed with a cancel button (one section and button each).
const LISTED: usize = 20;

/// When a reminder is next due, as Slack's date token (the fallback in its zone).
pub fn next_due(r: &ReminderRecord) -> String {
    let tz: Tz = r.tz.parse().unwrap_or(chrono_tz::UTC);
    r.next_due_at
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(|at| super::date_token_in(at, tz))
        .unwrap_or_default()
}

/// A reminder someone set with `/readiness remind`.
pub fn custom(text: &str, set_by: &str, lang: Lang) -> Message {
    let body = format!(
        ":alarm_clock: {} <@{set_by}>: {}",
        lang.pick("Reminder from", "リマインダー："),
        escape_clipped(&clip(text, 2000), BODY_CHARS)
    );
    Message::new(
        format!("Reminder: {}", escape(&clip(text, 200))),
        vec![section(&body)],
    )
}

/// The assignee's DM on the morning an item is due.
pub fn item_due(customer: &Customer, item: &Item, due: NaiveDate, lang: Lang) -> Message {
    let body = match lang {
        Lang::En => format!(
            ":calendar: {} is due today ({due}).",
            customer_item(customer, item, lang)
        ),
        Lang::Ja => format!(
            ":calendar: {} は本日 ({due}) が期限です。",
            customer_item(customer, item, lang)
        ),
    };
    Message::new(format!("{} is due today", item.key), vec![section(&body)])
}

/// An overdue item, for the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdue<'a> {
    pub item: &'a Item,
    pub due: NaiveDate,
    pub assignee: Option<&'a str>,
}

/// The items of `customer` due before `today` and neither done nor N/A, oldest first.
pub fn overdue<'a>(
    template: &'a Template,
    states: &'a States,
    today: NaiveDate,
) -> Vec<Overdue<'a>> {
    let mut overdue: Vec<Overdue<'a>> = template
        .items()
        .filter_map(|item| {
            let state = states.get(&item.key)?;
            let due = state.due?;
            (due < today && !state.is_done() && !state.not_applicable).then_some(Overdue {
                item,
                due,
                assignee: state.assignee.as_deref(),
            })
        })
        .collect();
    overdue.sort_by_key(|o| o.due);
    overdue
}

/// The day's digest of overdue items in the customer's channel, under the plan's
/// health (when given; judged by the caller at the time of rendering). Kept current
/// through the day: once everything is done it says so rather than disappearing.
pub fn digest(
    customer: &Customer,
    overdue: &[Overdue<'_>],
    day: NaiveDate,
    standing: Option<&crate::domain::plan::Standing>,
    lang: Lang,
) -> Message {
    let title = format!(
        "{} — {} — {day}",
        lang.pick("Overdue items", "期限切れの項目"),
        clip(&customer.name, 100)
    );
    let mut blocks = vec![header(&title)];
    if let Some(standing) = standing {
        blocks.push(section(&super::plan::health_line(standing, lang)));
    }
    if overdue.is_empty() {
        blocks.push(section(lang.pick(
            ":white_check_mark: Nothing is overdue any more.",
            ":white_check_mark: 期限切れの項目はなくなりました。",
        )));
    } else {
        // Lines packed into sections, each under Slack's section limit.
        let room = limits::MESSAGE_BLOCKS - 3;
        let mut text = String::new();
        let mut shown = 0;
        for o in overdue {
            let who = o.assignee.map(|u| format!(" · <@{u}>")).unwrap_or_default();
            let line = format!(
                "• *{}* {} · {} {}{who}\n",
                o.item.key,
                escape(&clip(o.item.label(lang), 120)),
                lang.pick("due", "期限"),
                o.due
            );
            if text.chars().count() + line.chars().count() > limits::SECTION_TEXT {
                if blocks.len() >= room {
                    break;
                }
                blocks.push(section(&text));
                text.clear();
            }
            text.push_str(&line);
            shown += 1;
        }
        if !text.is_empty() {
            blocks.push(section(&text));
        }
        if shown < overdue.len() {
            blocks.push(context(&format!(
                "… {} {}",
                overdue.len() - shown,
                lang.pick("more", "件以上")
            )));
        }
    }
    Message::new(
        format!(
            "{} overdue items for {}",
            overdue.len(),
            escape_clipped(&customer.name, NAME_CHARS)
        ),
        blocks,
    )
}

/// A milestone reminder in the customer's channel.
pub fn milestone(customer: &Customer, kind: &str, detail: &str, lang: Lang) -> Message {
    let name = escape_clipped(&customer.name, NAME_CHARS);
    let body = match (kind, lang) {
        ("hypercare", Lang::En) => {
            format!(
                ":hospital: Hypercare check-in for *{name}* ({detail}): any open issues, blockers or surprises since yesterday?"
            )
        }
        ("hypercare", Lang::Ja) => {
            format!(
                ":hospital: *{name}* のハイパーケア確認（{detail}）：昨日から未解決の問題や障害はありますか？"
            )
        }
        ("hypercare_end", Lang::En) => format!(
            ":checkered_flag: Hypercare for *{name}* ends today. From tomorrow: regular support hours and the monthly report."
        ),
        ("hypercare_end", Lang::Ja) => format!(
            ":checkered_flag: *{name}* のハイパーケアは本日で終了です。明日からは通常のサポートと月次レポートです。"
        ),
        ("qbr", Lang::En) => {
            format!(":handshake: Time to schedule the quarterly business review with *{name}*.")
        }
        ("qbr", Lang::Ja) => {
            format!(":handshake: *{name}* との四半期ビジネスレビュー（QBR）を設定しましょう。")
        }
        ("security_review", Lang::En) => {
            format!(":lock: The quarterly security review for *{name}* is due.")
        }
        ("security_review", Lang::Ja) => {
            format!(":lock: *{name}* の四半期セキュリティレビューの時期です。")
        }
        ("monthly_report", Lang::En) => format!(
            ":bar_chart: The monthly performance report for *{name}* is due: `/readiness report {}`.",
            customer.slug
        ),
        ("monthly_report", Lang::Ja) => format!(
            ":bar_chart: *{name}* の月次パフォーマンスレポートの時期です：`/readiness report {}`",
            customer.slug
        ),
        ("yearly_report", Lang::En) => {
            format!(":date: The yearly SLA report for *{name}* is due.")
        }
        ("yearly_report", Lang::Ja) => format!(":date: *{name}* の年次 SLA レポートの時期です。"),
        (_, _) => format!(":alarm_clock: {name}: {kind}"),
    };
    Message::new(format!("{kind}: {name}"), vec![section(&body)])
}

/// A short, human name for a reminder's kind.
pub fn kind_name(kind: &str, lang: Lang) -> &'static str {
    match kind {
        "item_due" => lang.pick("item due", "項目の期限"),
        "digest" => lang.pick("daily digest", "日次ダイジェスト"),
        "hypercare" => lang.pick("hypercare check-in", "ハイパーケア確認"),
        "hypercare_end" => lang.pick("hypercare ends", "ハイパーケア終了"),
        "qbr" => lang.pick("QBR", "QBR"),
        "security_review" => lang.pick("security review", "セキュリティレビュー"),
        "monthly_report" => lang.pick("monthly report", "月次レポート"),
        "yearly_report" => lang.pick("yearly SLA report", "年次 SLA レポート"),
        _ => lang.pick("reminder", "リマインダー"),
    }
}

/// The reminders of a customer (or the workspace), soonest first, each with a cancel
/// button. `describe` renders a recurrence for people.
pub fn list(
    reminders: &[(ReminderRecord, &str)],
    describe: &dyn Fn(&ReminderRecord) -> Option<String>,
    lang: Lang,
) -> Message {
    if reminders.is_empty() {
        return Message::plain(lang.pick(
            "No reminders. Set one with `/readiness remind [customer] <when> <text>`.",
            "リマインダーはありません。`/readiness remind [customer] <when> <text>` で設定できます。",
        ));
    }
    let mut blocks = vec![section(&format!(
        "*{}* ({})",
        lang.pick("Reminders", "リマインダー"),
        reminders.len()
    ))];
    for (r, customer) in reminders.iter().take(LISTED) {
        let next = next_due(r);
        let repeat = describe(r).map(|d| format!(" · {d}")).unwrap_or_default();
        let to = r
            .recipient
            .as_ref()
            .map(|u| format!(" → <@{u}>"))
            .unwrap_or_default();
        let text = format!(
            "*R-{}* · {} · {} · {next}{repeat}{to}\n{}",
            r.id,
            escape_clipped(customer, NAME_CHARS),
            kind_name(&r.kind, lang),
            escape_clipped(&clip(&r.text, 300), LISTED_TEXT_CHARS)
        );
        let button = SlackBlockButtonElement::new(button_text(lang.pick("Cancel", "取り消す")))
            .with_action_id(CANCEL.into())
            .with_value(r.id.to_string());
        blocks.push(
            SlackSectionBlock::new()
                .with_text(section_text(&text))
                .with_accessory(SlackSectionBlockElement::Button(button))
                .into(),
        );
    }
    if reminders.len() > LISTED {
        blocks.push(context(&format!(
            "… {} {}",
            reminders.len() - LISTED,
            lang.pick("more", "件以上")
        )));
    }
    Message::new(format!("{} reminders", reminders.len()), blocks)
}

/// The answer to `/readiness remind`.
pub fn scheduled(r: &ReminderRecord, describe: Option<String>, tz: Tz, lang: Lang) -> Message {
    let next = next_due(r);
    let repeat = describe.map(|d| format!(" ({d})")).unwrap_or_default();
    Message::plain(format!(
        ":alarm_clock: *R-{}* {} {next}{repeat} [{tz}]: {}",
        r.id,
        lang.pick("set for", "設定しました："),
        escape(&clip(&r.text, 500))
    ))
}

/// A recurrence as people read it.
pub fn describe(r: &ReminderRecord, lang: Lang) -> Option<String> {
    r.recurrence
        .as_deref()
        .and_then(Recurrence::parse_text)
        .map(|rec| rec.describe(lang))
}

/// `/readiness remind` for a customer whose channel is not there yet.
pub fn no_channel(lang: Lang) -> Message {
    Message::plain(lang.pick(
        "This customer has no channel yet, so a reminder would have nowhere to go.",
        "この顧客にはまだチャンネルがないため、リマインダーを投稿できません。",
    ))
}

/// `/readiness remind` at a moment already past.
pub fn in_the_past(lang: Lang) -> Message {
    super::help::error_with_usage(
        super::texts::WHEN_IN_THE_PAST.get(lang),
        Form::Remind.usage(),
        lang,
    )
}

/// A reminder or go-live refused because the customer is archived.
pub fn archived(customer: &Customer, lang: Lang) -> Message {
    Message::plain(match lang {
        Lang::En => format!(
            "*{}* is archived: its reminders are stopped. `/readiness unarchive {}` resumes them.",
            super::name(&customer.name),
            customer.slug
        ),
        Lang::Ja => format!(
            "*{}* はアーカイブ済みで、リマインダーは停止中です。`/readiness unarchive {}` で再開します。",
            super::name(&customer.name),
            customer.slug
        ),
    })
}

/// The list again after its cancel button, with what happened on top.
pub fn after_cancel(
    cancelled: Option<&ReminderRecord>,
    reminders: &[(ReminderRecord, &str)],
    lang: Lang,
) -> Message {
    let mut message = list(reminders, &|r| describe(r, lang), lang);
    let note = match cancelled {
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
    message.blocks.insert(0, section(&note));
    message
}

/// `golive` without a date: what it would record and how to confirm or change it.
/// Nothing is recorded until the button is pressed or the date typed.
pub fn golive_proposed(customer: &Customer, date: NaiveDate, tz: Tz, lang: Lang) -> Message {
    let name = super::name(&customer.name);
    let slug = &customer.slug;
    let now_set = customer.golive_on.map(|d| match lang {
        Lang::En => format!("*{name}* goes live on {d}. "),
        Lang::Ja => format!("*{name}* の本番開始日は {d} です。"),
    });
    let question = match (lang, now_set) {
        (Lang::En, None) => format!(
            ":calendar: Set *{name}*'s go-live date to today, *{date}* ({tz}), and plan its milestones?"
        ),
        (Lang::En, Some(set)) => format!(
            ":calendar: {set}Change it to today, *{date}* ({tz}), and plan its milestones again?"
        ),
        (Lang::Ja, None) => format!(
            ":calendar: *{name}* の本番開始日を今日 *{date}*（{tz}）にして、マイルストーンを計画しますか？"
        ),
        (Lang::Ja, Some(set)) => format!(
            ":calendar: {set}今日 *{date}*（{tz}）に変えて、マイルストーンを計画し直しますか？"
        ),
    };
    let how = match lang {
        Lang::En => format!(
            "Press the button, or type `/readiness golive {slug} {date}`; for another day, type that date instead. Nothing is changed until then."
        ),
        Lang::Ja => format!(
            "ボタンを押すか `/readiness golive {slug} {date}` と入力してください。別の日にするにはその日付を入力してください。それまでは何も変わりません。"
        ),
    };
    let button = SlackBlockButtonElement::new(button_text(&match lang {
        Lang::En => format!("Set go-live to {date}"),
        Lang::Ja => format!("本番開始日を {date} にする"),
    }))
    .with_action_id(GOLIVE_CONFIRM.into())
    .with_value(golive_value(customer.id, date))
    .with_style(SlackBlockButtonStyle::Primary);
    Message::new(
        format!("{question} {how}"),
        vec![
            section(&question),
            context(&how),
            SlackActionsBlock::new(vec![SlackActionBlockElement::Button(button)]).into(),
        ],
    )
}

/// The answer once a go-live date is recorded: the milestones planned.
pub fn golive_planned(
    customer: &Customer,
    date: NaiveDate,
    planned: &[ReminderRecord],
    lang: Lang,
) -> Message {
    let lines: Vec<String> = planned
        .iter()
        .map(|r| {
            let next = next_due(r);
            format!(
                "• {} — {next}{}",
                kind_name(&r.kind, lang),
                describe(r, lang)
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    Message::plain(match lang {
        Lang::En => format!(
            ":rocket: *{}* goes live on {date}. Planned:\n{}",
            super::name(&customer.name),
            if lines.is_empty() {
                "nothing (every milestone is switched off)".to_string()
            } else {
                lines.join("\n")
            }
        ),
        Lang::Ja => format!(
            ":rocket: *{}* の本番開始日は {date} です。予定：\n{}",
            super::name(&customer.name),
            if lines.is_empty() {
                "なし（すべてのマイルストーンがオフ）".to_string()
            } else {
                lines.join("\n")
            }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::checklist::tests::customer;
    use crate::domain::calendar::Calendar;
    use crate::domain::checklist::ItemState;

    fn check(message: &Message) {
        limits::check_message(&serde_json::to_value(message).unwrap()).unwrap();
    }

    #[test]
    fn the_digest_lists_only_overdue_open_items_oldest_first_and_fits_slack() {
        let template = Template::builtin();
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let mut states = States::new();
        let due = |d: u32| ItemState {
            due: NaiveDate::from_ymd_opt(2026, 11, d),
            assignee: Some("U1".into()),
            ..ItemState::default()
        };
        states.insert("1.1.2".into(), due(24));
        states.insert("1.1.3".into(), due(20));
        states.insert("1.1.4".into(), due(25)); // due today: not overdue yet
        states.insert(
            "1.1.5".into(),
            ItemState {
                done_at: Some(1),
                done_by: Some("U2".into()),
                ..due(1)
            },
        );
        let overdue = overdue(&template, &states, today);
        let keys: Vec<&str> = overdue.iter().map(|o| o.item.key.as_str()).collect();
        assert_eq!(keys, ["1.1.3", "1.1.2"]);
        let message = digest(&customer(), &overdue, today, None, Lang::En);
        check(&message);
        assert!(message.text.starts_with("2 overdue"));
        let standing =
            crate::domain::plan::standing(&template, &states, today, &Calendar::always());
        let shown = serde_json::to_string(&digest(
            &customer(),
            &overdue,
            today,
            Some(&standing),
            Lang::En,
        ))
        .unwrap();
        assert!(
            shown.contains(":red_circle: *Behind*: 2 items overdue")
                && shown.contains("(as of 2026-11-25)"),
            "{shown}"
        );

        // Every item overdue, in Japanese: still inside the limits.
        let mut all = States::new();
        for item in template.items() {
            all.insert(item.key.clone(), due(1));
        }
        let overdue = super::overdue(&template, &all, today);
        assert_eq!(overdue.len(), template.item_count());
        let standing = crate::domain::plan::standing(&template, &all, today, &Calendar::always());
        check(&digest(
            &customer(),
            &overdue,
            today,
            Some(&standing),
            Lang::Ja,
        ));
        check(&digest(&customer(), &[], today, None, Lang::Ja));
    }

    #[test]
    fn the_list_has_a_cancel_button_per_reminder_and_fits_slack() {
        let record = |id: i64| crate::blocks::worst_case::reminder(id, &"x".repeat(4000));
        let rows: Vec<(ReminderRecord, &str)> = (1..=60).map(|id| (record(id), "Acme")).collect();
        let message = list(&rows, &|_| Some("every Monday at 09:00".into()), Lang::En);
        check(&message);
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(json.matches(CANCEL).count(), LISTED);
        check(&list(&[], &|_| None, Lang::Ja));
    }

    #[test]
    fn golive_without_a_date_proposes_today_with_a_button_and_the_command_in_both_languages() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let mut acme = customer();
        for lang in [Lang::En, Lang::Ja] {
            let proposed = golive_proposed(&acme, today, chrono_tz::Asia::Tokyo, lang);
            check(&proposed);
            let json = serde_json::to_string(&proposed).unwrap();
            assert!(json.contains(GOLIVE_CONFIRM), "{json}");
            assert!(json.contains(&golive_value(acme.id, today)), "{json}");
            assert!(
                json.contains(&format!("/readiness golive {} 2026-12-06", acme.slug)),
                "{json}"
            );
        }
        let ja = golive_proposed(&acme, today, chrono_tz::Asia::Tokyo, Lang::Ja);
        assert!(ja.text.contains("本番開始日"), "{}", ja.text);
        // A date already set is named, so the person sees what changes.
        acme.golive_on = NaiveDate::from_ymd_opt(2026, 11, 1);
        let change = golive_proposed(&acme, today, chrono_tz::Asia::Tokyo, Lang::En);
        assert!(change.text.contains("2026-11-01"), "{}", change.text);
    }

    #[test]
    fn milestones_and_custom_reminders_fit_slack_in_both_languages() {
        for lang in [Lang::En, Lang::Ja] {
            for kind in crate::domain::policy::MILESTONES
                .iter()
                .chain(&["hypercare_end"])
            {
                check(&milestone(&customer(), kind, "day 3 of 14", lang));
            }
            check(&custom(&"<!channel> ".repeat(500), "U1", lang));
        }
        assert!(!custom("<!channel> hi", "U1", Lang::En).blocks.is_empty());
        let text = serde_json::to_string(&custom("<!channel> hi", "U1", Lang::En)).unwrap();
        assert!(
            !text.contains("<!channel>"),
            "user text cannot ping the channel"
        );
    }
}
