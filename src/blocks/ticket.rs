//! Ticket messages: the live ticket in the customer channel, its escalation replies,
//! and the `tickets` list.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use slack_morphism::prelude::*;

use super::texts::Text;
use super::{
    Message, NAME_CHARS, button_text, clip, context, escape_clipped, limits, option_text, plain,
    section,
};
use crate::domain::calendar::Calendar;
use crate::domain::command::Form;
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::policy::Policy;
use crate::domain::sla::{Priority, SlaState, Target};
use crate::domain::ticket::{Refused, Ticket};

/// action_ids of the ticket buttons; each button's value is the ticket id.
pub const RESPOND: &str = "ticket_respond";
pub const RESOLVE: &str = "ticket_resolve";
pub const PAUSE: &str = "ticket_pause";
pub const RESUME: &str = "ticket_resume";
pub const ESCALATE: &str = "ticket_escalate";
/// The priority menu; option values are `<ticket id>:<P0..P3>`.
pub const PRIORITY: &str = "ticket_priority";

/// Characters of a summary, escaped, in the ticket's title: the section's 3,000 less
/// the label, the priority and their markup.
const TITLE_SUMMARY_CHARS: usize = 2800;
/// Characters of a summary, escaped, in a line of the list.
const LINE_SUMMARY_CHARS: usize = 1000;

/// Slack's date token: each reader sees `at` in their own time zone; the fallback is
/// the customer's zone.
pub fn date_token(at: DateTime<Utc>, cal: &Calendar) -> String {
    super::date_token_in(at, cal.tz)
}

pub fn target_name(target: Target, lang: Lang) -> &'static str {
    match target {
        Target::FirstResponse => lang.pick("First response", "初回応答"),
        Target::Resolution => lang.pick("Resolution", "解決"),
        Target::NextResponse => lang.pick("Next response", "次回応答"),
    }
}

/// An amount of business time, labelled as such: an SLA clock counts only the hours of
/// the customer's calendar, so "3d" would read as three calendar days when it may be
/// eight working days away. Hours and minutes (a "business day" has no fixed length),
/// rounded down to the minute; under a minute says so rather than "0s".
pub fn business_time(amount: Duration, lang: Lang) -> String {
    let minutes = amount.num_minutes().max(0);
    let (hours, minutes) = (minutes / 60, minutes % 60);
    match (lang, hours, minutes) {
        (Lang::En, 0, 0) => "less than a business minute".to_string(),
        (Lang::En, 0, 1) => "1 business minute".to_string(),
        (Lang::En, 0, m) => format!("{m} business minutes"),
        (Lang::En, 1, 0) => "1 business hour".to_string(),
        (Lang::En, h, 0) => format!("{h} business hours"),
        (Lang::En, h, m) => format!("{h}h {m}m of business time"),
        (Lang::Ja, 0, 0) => "営業時間 1 分未満".to_string(),
        (Lang::Ja, 0, m) => format!("営業時間 {m} 分"),
        (Lang::Ja, h, 0) => format!("営業時間 {h} 時間"),
        (Lang::Ja, h, m) => format!("営業時間 {h} 時間 {m} 分"),
    }
}

/// What is left before a running target: the due instant first (absolute, in the
/// reader's zone), then the business time left, which is not the time until then.
pub fn due_text(due: DateTime<Utc>, left: Duration, cal: &Calendar, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "due {} ({} left)",
            date_token(due, cal),
            business_time(left, lang)
        ),
        Lang::Ja => format!(
            "期限 {}（残り {}）",
            date_token(due, cal),
            business_time(left, lang)
        ),
    }
}

fn state_line(state: &SlaState, cal: &Calendar, lang: Lang) -> String {
    match state {
        SlaState::DueIn { due, left } => format!(
            ":hourglass_flowing_sand: {}",
            due_text(*due, *left, cal, lang)
        ),
        SlaState::Paused { left } => format!(
            ":double_vertical_bar: {} {}",
            lang.pick(
                "paused, waiting on the customer; left:",
                "一時停止中（顧客待ち）残り"
            ),
            business_time(*left, lang)
        ),
        SlaState::Met { after, late } => {
            if *late {
                format!(
                    ":warning: {} {} ({})",
                    lang.pick("met in", "達成"),
                    business_time(*after, lang),
                    lang.pick("after the target", "目標超過")
                )
            } else {
                format!(
                    ":white_check_mark: {} {}",
                    lang.pick("met in", "達成"),
                    business_time(*after, lang)
                )
            }
        }
        SlaState::BreachedBy(over) => format!(
            ":red_circle: {} {}",
            lang.pick("breached by", "超過"),
            business_time(*over, lang)
        ),
    }
}

/// The next response's line: the customer's message waiting (due, paused or
/// breached), or the last one answered; `None` before the customer wrote again after
/// staff's first answer.
fn next_response_line(
    ticket: &Ticket,
    policy: &Policy,
    cal: &Calendar,
    now: DateTime<Utc>,
    lang: Lang,
) -> Option<String> {
    let target = Target::NextResponse;
    let to = match (&ticket.next.awaiting, &ticket.next.last) {
        (Some(awaiting), _) => &awaiting.by,
        (None, Some(answered)) => &answered.customer,
        (None, None) => return None,
    };
    let to = user_id(to);
    let state = ticket.sla_state(policy, cal, target, now);
    Some(format!(
        "*{}* ({}, {} <@{to}>): {}",
        target_name(target, lang),
        business_time(ticket.target_length(policy, target), lang),
        lang.pick("to", "宛先"),
        state_line(&state, cal, lang)
    ))
}

/// A Slack user id as it goes into a mention: only its letters and digits, so an
/// odd id from an event cannot break the markup or the block's limits.
fn user_id(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(40)
        .collect()
}

/// The line a ticket reopened by the customer's message posts where its escalations
/// go.
pub fn reopened(ticket: &Ticket, by: &str, lang: Lang) -> Message {
    let label = ticket.label();
    let by = user_id(by);
    let text = match lang {
        Lang::En => format!(
            ":leftwards_arrow_with_hook: *{label}* reopened: <@{by}> wrote in its thread after it was resolved. The resolution clock runs on from where it stopped."
        ),
        Lang::Ja => format!(
            ":leftwards_arrow_with_hook: *{label}* を再オープンしました: 解決後に <@{by}> さんがスレッドに投稿しました。解決の SLA は止まった時点から再開します。"
        ),
    };
    Message::new(
        format!("{label} {}", lang.pick("reopened", "再オープン")),
        vec![section(&text)],
    )
}

/// The ticket as posted in the customer channel, with its buttons.
pub fn ticket_message(
    ticket: &Ticket,
    customer_name: &str,
    policy: &Policy,
    cal: &Calendar,
    now: DateTime<Utc>,
    lang: Lang,
) -> Message {
    let status = if ticket.resolved.is_some() {
        lang.pick("resolved", "解決済み")
    } else if ticket.is_paused() {
        lang.pick("waiting on the customer", "顧客待ち")
    } else {
        lang.pick("open", "対応中")
    };
    let title = format!(
        "*{}* · *{}* · {}",
        ticket.label(),
        ticket.priority.as_str(),
        escape_clipped(&clip(&ticket.summary, 2000), TITLE_SUMMARY_CHARS)
    );
    let mut people = format!(
        "{} *{}* · {} <@{}>",
        lang.pick("Customer", "顧客"),
        escape_clipped(customer_name, NAME_CHARS),
        lang.pick("reported by", "起票"),
        ticket.reporter
    );
    if let Some(assignee) = &ticket.assignee {
        people.push_str(&format!(
            " · {} <@{assignee}>",
            lang.pick("assignee", "担当")
        ));
    }
    people.push_str(&format!(" · {status}"));
    let mut lines = Vec::new();
    for target in [Target::FirstResponse, Target::Resolution] {
        let state = ticket.sla_state(policy, cal, target, now);
        lines.push(format!(
            "*{}* ({}): {}",
            target_name(target, lang),
            business_time(ticket.target_length(policy, target), lang),
            state_line(&state, cal, lang)
        ));
    }
    if let Some(line) = next_response_line(ticket, policy, cal, now, lang) {
        lines.push(line);
    }
    let mut blocks = vec![
        section(&title),
        context(&people),
        section(&lines.join("\n")),
    ];
    if ticket.resolved.is_none() {
        blocks.push(buttons(ticket, lang));
    }
    let text = format!(
        "{} {} {}: {}",
        ticket.label(),
        ticket.priority.as_str(),
        status,
        // Read for mentions too: the summary as typed, never as markup.
        escape_clipped(&ticket.summary, 200)
    );
    Message::new(text, blocks)
}

fn button(text: &str, action: &str, ticket: &Ticket) -> SlackActionBlockElement {
    SlackBlockButtonElement::new(button_text(text))
        .with_action_id(action.into())
        .with_value(ticket.id.to_string())
        .into()
}

fn buttons(ticket: &Ticket, lang: Lang) -> SlackBlock {
    let mut elements = Vec::new();
    if ticket.responded.is_none() {
        elements.push(button(lang.pick("Responded", "応答済み"), RESPOND, ticket));
    }
    elements.push(button(lang.pick("Resolve", "解決"), RESOLVE, ticket));
    if ticket.is_paused() {
        elements.push(button(lang.pick("Resume", "再開"), RESUME, ticket));
    } else {
        elements.push(button(
            lang.pick("Pause (waiting on customer)", "一時停止（顧客待ち）"),
            PAUSE,
            ticket,
        ));
    }
    elements.push(button(
        lang.pick("Escalate now", "今すぐエスカレーション"),
        ESCALATE,
        ticket,
    ));
    let options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = Priority::ALL
        .iter()
        .map(|p| {
            SlackBlockChoiceItem::new(
                option_text(p.as_str()),
                format!("{}:{}", ticket.id, p.as_str()),
            )
        })
        .collect();
    let current = options[ticket.priority.index()].clone();
    let menu = SlackBlockStaticSelectElement::new()
        .with_action_id(PRIORITY.into())
        .with_placeholder(plain(lang.pick("Priority", "優先度")))
        .with_options(options)
        .with_initial_option(current);
    elements.push(menu.into());
    SlackActionsBlock::new(elements)
        .with_block_id(format!("ticket:{}", ticket.id).into())
        .into()
}

/// An escalation reply, threaded under the ticket (or in the internal channel with a
/// link, when `link` is given).
pub struct Escalation<'a> {
    pub ticket: &'a Ticket,
    pub target: Target,
    /// The share of the target this level stands for, in percent (100 = breached).
    pub percent: u32,
    pub target_length: Duration,
    pub named: &'a [String],
    /// When the threshold was reached, if that was well before the post (a back-dated
    /// ticket, a restart).
    pub late_since: Option<DateTime<Utc>>,
    pub due: Option<DateTime<Utc>>,
}

pub fn escalation(e: &Escalation<'_>, cal: &Calendar, lang: Lang) -> Message {
    let who = e.named.join(" ");
    let label = e.ticket.label();
    let target = target_name(e.target, lang);
    let length = business_time(e.target_length, lang);
    let headline = if e.percent < 100 {
        let due = e
            .due
            .map(|d| format!(" — {} {}", lang.pick("due", "期限"), date_token(d, cal)))
            .unwrap_or_default();
        format!(
            ":warning: *{label}* ({}) {target}: {}% {} {length}{due}",
            e.ticket.priority.as_str(),
            e.percent,
            lang.pick("of the target used:", "経過 / 目標"),
        )
    } else if e.percent == 100 {
        format!(
            ":rotating_light: *{label}* ({}) {target}: {} ({length})",
            e.ticket.priority.as_str(),
            lang.pick("target breached", "目標超過"),
        )
    } else {
        format!(
            ":rotating_light: *{label}* ({}) {target}: {} ({}% {})",
            e.ticket.priority.as_str(),
            lang.pick("still open past the target", "目標超過のまま未対応"),
            e.percent,
            lang.pick("of the target", "経過"),
        )
    };
    let mut text = format!("{headline}\n{who}");
    if let Some(since) = e.late_since {
        text.push_str(&format!(
            "\n_{} {}_",
            lang.pick(
                "Late: this threshold was reached at",
                "遅延通知: この閾値の到達時刻"
            ),
            date_token(since, cal)
        ));
    }
    Message::new(
        format!("{label} {target} {}% {who}", e.percent),
        vec![section(&text)],
    )
}

/// "Escalate now": names the next step of the path.
pub fn manual_escalation(ticket: &Ticket, by: &str, named: &[String], lang: Lang) -> Message {
    // Both the post and its notification say who pressed it.
    let said = |label: &str| {
        super::texts::ESCALATED_BY.fill(
            lang,
            &[
                ("ticket", label),
                ("priority", ticket.priority.as_str()),
                ("by", &format!("<@{by}>")),
                ("named", &named.join(" ")),
            ],
        )
    };
    let text = format!(":mega: {}", said(&format!("*{}*", ticket.label())));
    Message::new(said(&ticket.label()), vec![section(&text)])
}

/// A priority change, told once in the ticket's thread.
pub struct PriorityChange<'a> {
    /// The ticket with its new priority.
    pub ticket: &'a Ticket,
    pub from: Priority,
    pub by: &'a str,
    /// Each target some of whose new thresholds were already past at the change, and
    /// its state then: those thresholds are not posted one by one, late.
    pub past: &'a [(Target, SlaState)],
}

/// "T-1 priority raised from P3 to P1 by @x: First response breached by 5 business
/// minutes".
pub fn priority_changed(c: &PriorityChange<'_>, cal: &Calendar, lang: Lang) -> Message {
    let label = c.ticket.label();
    let (from, to) = (c.from.as_str(), c.ticket.priority.as_str());
    // P0 is the highest: a smaller priority is a raise.
    let raised = c.ticket.priority < c.from;
    let (emoji, verb) = if raised {
        (":arrow_up:", lang.pick("raised", "引き上げ"))
    } else {
        (":arrow_down:", lang.pick("lowered", "引き下げ"))
    };
    let (headline, fallback) = match lang {
        Lang::En => (
            format!(
                "{emoji} *{label}* priority {verb} from {from} to *{to}* by <@{}>",
                c.by
            ),
            format!("{label} priority {verb} from {from} to {to}"),
        ),
        Lang::Ja => (
            format!(
                "{emoji} *{label}* の優先度を {from} から *{to}* に{verb}（<@{}>）",
                c.by
            ),
            format!("{label} の優先度を {from} から {to} に{verb}"),
        ),
    };
    let states: Vec<String> = c
        .past
        .iter()
        .map(|(target, state)| {
            format!(
                "{} {}",
                target_name(*target, lang),
                state_line(state, cal, lang)
            )
        })
        .collect();
    let text = if states.is_empty() {
        headline
    } else {
        format!("{headline}: {}", states.join(" · "))
    };
    Message::new(fallback, vec![section(&text)])
}

/// The answer to `/readiness ticket …`: the ticket opened, and where it is posted.
pub fn opened(ticket: &Ticket, customer: &Customer, channel: &str, lang: Lang) -> Message {
    Message::plain(match lang {
        Lang::En => format!(
            ":ticket: *{}* ({}) opened for {}: it is being posted in <#{channel}>, with its SLA timers.",
            ticket.label(),
            ticket.priority.as_str(),
            super::name(&customer.name)
        ),
        Lang::Ja => format!(
            ":ticket: {} の *{}*（{}）を起票しました。<#{channel}> に SLA タイマー付きで投稿します。",
            super::name(&customer.name),
            ticket.label(),
            ticket.priority.as_str()
        ),
    })
}

/// `/readiness ticket …` for a customer whose channel is not there yet.
pub fn no_channel(customer: &Customer, lang: Lang) -> Message {
    Message::plain(match lang {
        Lang::En => format!(
            "{} has no channel yet, so its tickets have nowhere to go. Try again in a moment.",
            super::name(&customer.name)
        ),
        Lang::Ja => format!(
            "{} のチャンネルがまだないため、チケットを投稿できません。少し待ってからお試しください。",
            super::name(&customer.name)
        ),
    })
}

/// `opened=` a local time the customer's clock skips.
pub fn opened_no_such_local_time(naive: NaiveDateTime, lang: Lang) -> Message {
    super::help::error_with_usage(
        &format!(
            "`{naive}`: {}",
            lang.pick(
                "that local time does not exist (a clock change).",
                "その現地時刻は存在しません（時刻の切り替え）。"
            )
        ),
        Form::Ticket.usage(),
        lang,
    )
}

/// `opened=` after now.
pub fn opened_in_the_future(lang: Lang) -> Message {
    super::help::error_with_usage(
        lang.pick(
            "`opened=` is in the future.",
            "`opened=` が未来の時刻です。",
        ),
        Form::Ticket.usage(),
        lang,
    )
}

/// `opened=` further back than a ticket may be back-dated (`days`).
pub fn opened_too_long_ago(days: i64, lang: Lang) -> Message {
    let text = match lang {
        Lang::En => format!(
            "`opened=` is more than {days} days ago: track a request that old without timers."
        ),
        Lang::Ja => format!(
            "`opened=` が {days} 日以上前です。それほど古いチケットはタイマーなしで管理してください。"
        ),
    };
    super::help::error_with_usage(&text, Form::Ticket.usage(), lang)
}

/// `/readiness escalation`: the paths shown (after one is saved, if `saved`), each
/// priority with the people named at each level.
pub fn escalation_paths(shown: &[(Priority, Vec<String>)], saved: bool, lang: Lang) -> Message {
    let lines: Vec<String> = shown
        .iter()
        .map(|(p, path)| {
            let steps = if path.is_empty() {
                lang.pick(
                    "no path: the assignee or the reporter, with @here once a P0 or P1 is breached",
                    "経路なし：担当者または起票者（P0・P1 の超過時は @here も）",
                )
                .to_string()
            } else {
                path.join(" → ")
            };
            format!("*{}*: {steps}", p.as_str())
        })
        .collect();
    let title = if saved {
        lang.pick(
            ":white_check_mark: Escalation path saved.",
            ":white_check_mark: エスカレーション経路を保存しました。",
        )
    } else {
        lang.pick(
            "Escalation paths (50% → 80% → 100% and after):",
            "エスカレーション経路（50% → 80% → 100% 以降）：",
        )
    };
    Message::plain(format!("{title}\n{}", lines.join("\n")))
}

/// The open tickets, worst first (ordered by the caller).
pub fn ticket_list(
    rows: &[(Ticket, &str, &Calendar)],
    policy: &Policy,
    now: DateTime<Utc>,
    lang: Lang,
) -> Message {
    if rows.is_empty() {
        return Message::plain(lang.pick("No open tickets.", "未解決のチケットはありません。"));
    }
    let mut blocks = vec![section(&format!(
        "*{}* ({})",
        lang.pick("Open tickets", "未解決のチケット"),
        rows.len()
    ))];
    let shown = rows.len().min(limits::MESSAGE_BLOCKS - 2);
    for (ticket, customer, cal) in &rows[..shown] {
        let mut line = format!(
            "*{}* · *{}* · {} · {}",
            ticket.label(),
            ticket.priority.as_str(),
            escape_clipped(customer, NAME_CHARS),
            escape_clipped(&clip(&ticket.summary, 200), LINE_SUMMARY_CHARS)
        );
        for target in Target::EVERY {
            if ticket.closure(target).is_none() && ticket.clock_of(target).is_some() {
                let state = ticket.sla_state(policy, cal, target, now);
                line.push_str(&format!(
                    "\n{}: {}",
                    target_name(target, lang),
                    state_line(&state, cal, lang)
                ));
            }
        }
        blocks.push(section(&line));
    }
    if rows.len() > shown {
        blocks.push(context(&format!(
            "… {} {}",
            rows.len() - shown,
            lang.pick("more", "件以上")
        )));
    }
    Message::new(format!("{} open tickets", rows.len()), blocks)
}

/// Why a ticket button did nothing, for the clicker.
pub fn refusal(refused: Refused, lang: Lang) -> String {
    match refused {
        Refused::Resolved => Text::new(
            "This ticket is already resolved.",
            "このチケットは解決済みです。",
        ),
        Refused::AlreadyResponded => Text::new(
            "The first response is already recorded.",
            "初回応答はすでに記録されています。",
        ),
        Refused::AlreadyPaused => {
            Text::new("The ticket is already paused.", "すでに一時停止中です。")
        }
        Refused::NotPaused => Text::new("The ticket is not paused.", "一時停止中ではありません。"),
        Refused::SamePriority => Text::new(
            "The ticket already has this priority.",
            "すでにその優先度です。",
        ),
        Refused::NotAnsweredYet => Text::new(
            "Nobody has answered yet: the first response covers this message.",
            "まだ誰も応答していません。このメッセージは初回応答の対象です。",
        ),
        Refused::AlreadyAwaiting => Text::new(
            "A message of the customer already waits for an answer.",
            "顧客のメッセージがすでに応答待ちです。",
        ),
        Refused::NotAwaiting => Text::new(
            "No message of the customer waits for an answer.",
            "応答待ちの顧客メッセージはありません。",
        ),
        Refused::Stale => Text::new(
            "That message came before the ticket's last change.",
            "そのメッセージはチケットの最後の変更より前のものです。",
        ),
        Refused::NotResolved => Text::new(
            "The ticket is not resolved.",
            "このチケットは解決済みではありません。",
        ),
        Refused::TooLateToReopen => Text::new(
            "The ticket was resolved too long ago to reopen.",
            "解決から時間が経ちすぎているため再オープンできません。",
        ),
    }
    .get(lang)
    .to_string()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::checklist::Tier;

    fn ticket(summary: &str) -> Ticket {
        let opened = crate::domain::tokyo(2026, 11, 24, 10, 0);
        Ticket {
            id: 42,
            number: 12,
            assignee: Some("UASG".into()),
            ..Ticket::new("T", 1, "C", Priority::P1, summary, "UREP", opened)
        }
    }

    fn check(message: &Message) {
        let v = serde_json::to_value(message).unwrap();
        limits::check_message(&v).unwrap();
        assert!(!message.text.is_empty());
    }

    #[test]
    fn ticket_messages_show_both_targets_and_stay_within_limits() {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Standard);
        let long = "とても長い説明 <b>&".repeat(400);
        for lang in [Lang::En, Lang::Ja] {
            let t = ticket(&long);
            let now = t.opened_at + Duration::minutes(30);
            let m = ticket_message(&t, "Acme <Corp>", &policy, &cal, now, lang);
            check(&m);
            let shown = serde_json::to_string(&m.blocks).unwrap();
            assert!(shown.contains("<!date^"), "{shown}");
            assert!(shown.contains(RESPOND) && shown.contains(PAUSE) && shown.contains(ESCALATE));
            assert!(!shown.contains("<b>"), "the summary is escaped");
            // The fallback (read for notifications and mentions) is escaped too.
            let pinging = ticket("<!channel> SSO & <@U0BOSS> down");
            let m = ticket_message(&pinging, "Acme", &policy, &cal, now, lang);
            assert!(
                m.text
                    .contains("&lt;!channel&gt; SSO &amp; &lt;@U0BOSS&gt; down"),
                "{}",
                m.text
            );

            let mut resolved = ticket("Fixed");
            resolved
                .apply(&crate::domain::ticket::Action::Resolve, "U", &cal, now)
                .unwrap();
            let m = ticket_message(&resolved, "Acme", &policy, &cal, now, lang);
            check(&m);
            assert!(!serde_json::to_string(&m.blocks).unwrap().contains(RESOLVE));
        }
    }

    #[test]
    fn durations_say_they_are_business_time_and_never_zero_seconds() {
        let said = |amount: Duration| [Lang::En, Lang::Ja].map(|lang| business_time(amount, lang));
        assert_eq!(
            said(Duration::hours(72)),
            ["72 business hours", "営業時間 72 時間"]
        );
        assert_eq!(
            said(Duration::hours(1)),
            ["1 business hour", "営業時間 1 時間"]
        );
        assert_eq!(
            said(Duration::minutes(185)),
            ["3h 5m of business time", "営業時間 3 時間 5 分"]
        );
        assert_eq!(
            said(Duration::seconds(119)),
            ["1 business minute", "営業時間 1 分"]
        );
        for under_a_minute in [Duration::zero(), Duration::seconds(59), -Duration::hours(1)] {
            assert_eq!(
                said(under_a_minute),
                ["less than a business minute", "営業時間 1 分未満"]
            );
        }

        // Right at the first response's due instant, on a 24/7 calendar: breached by
        // nothing yet, which must not read "0s".
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let t = ticket("VPN down");
        let due = t.opened_at + t.target_length(&policy, Target::FirstResponse);
        for lang in [Lang::En, Lang::Ja] {
            let m = ticket_message(&t, "Acme", &policy, &cal, due, lang);
            check(&m);
            let shown = serde_json::to_string(&m.blocks).unwrap();
            assert!(!shown.contains("0s"), "{shown}");
            assert!(
                shown.contains(lang.pick(
                    "breached by less than a business minute",
                    "超過 営業時間 1 分未満"
                )),
                "{shown}"
            );
            let resolution = business_time(t.target_length(&policy, Target::Resolution), lang);
            assert!(
                shown.contains(&format!(
                    "*{}* ({resolution}): :hourglass_flowing_sand: {} <!date^",
                    target_name(Target::Resolution, lang),
                    lang.pick("due", "期限")
                )),
                "{shown}"
            );
        }
    }

    #[test]
    fn the_next_response_shows_due_breached_and_met_in_both_languages() {
        use crate::domain::ticket::Action;
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let mut t = ticket("VPN down");
        let opened = t.opened_at;
        let answer = opened + Duration::minutes(5);
        t.apply(&Action::Respond, "UENG", &cal, answer).unwrap();
        for lang in [Lang::En, Lang::Ja] {
            let shown = serde_json::to_string(
                &ticket_message(&t, "Acme", &policy, &cal, answer, lang).blocks,
            )
            .unwrap();
            assert!(
                !shown.contains(target_name(Target::NextResponse, lang)),
                "no line before the customer writes again: {shown}"
            );
        }
        let wrote = opened + Duration::minutes(10);
        t.apply(&Action::CustomerWrote, "UCUST>", &cal, wrote)
            .unwrap();
        // P1's next response is 2 business hours.
        let length = Duration::hours(2);
        for (now, en, ja) in [
            (
                wrote + Duration::minutes(30),
                "*Next response* (2 business hours, to <@UCUST>): :hourglass_flowing_sand: due <!date^",
                "*次回応答* (営業時間 2 時間, 宛先 <@UCUST>): :hourglass_flowing_sand: 期限 <!date^",
            ),
            (
                wrote + length + Duration::minutes(15),
                "*Next response* (2 business hours, to <@UCUST>): :red_circle: breached by 15 business minutes",
                "*次回応答* (営業時間 2 時間, 宛先 <@UCUST>): :red_circle: 超過 営業時間 15 分",
            ),
        ] {
            for (lang, expected) in [(Lang::En, en), (Lang::Ja, ja)] {
                let m = ticket_message(&t, "Acme", &policy, &cal, now, lang);
                check(&m);
                let shown = serde_json::to_string(&m.blocks).unwrap();
                assert!(shown.contains(expected), "{expected}\nin\n{shown}");
            }
        }
        t.apply(
            &Action::AnswerNext,
            "UENG",
            &cal,
            wrote + Duration::minutes(45),
        )
        .unwrap();
        for (lang, expected) in [
            (Lang::En, ":white_check_mark: met in 45 business minutes"),
            (Lang::Ja, ":white_check_mark: 達成 営業時間 45 分"),
        ] {
            let m = ticket_message(&t, "Acme", &policy, &cal, wrote + Duration::hours(5), lang);
            let shown = serde_json::to_string(&m.blocks).unwrap();
            assert!(shown.contains(expected), "{expected}\nin\n{shown}");
        }
        // Reopened: the line names the ticket and the writer, in both languages.
        for lang in [Lang::En, Lang::Ja] {
            let m = reopened(&t, "UCUST", lang);
            check(&m);
            let shown = serde_json::to_string(&m.blocks).unwrap();
            assert!(
                shown.contains("*T-12*") && shown.contains("<@UCUST>"),
                "{shown}"
            );
        }
    }

    #[test]
    fn a_next_response_escalation_names_the_ticket_and_the_share() {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let t = ticket("x");
        let named = vec!["<@U1>".to_string()];
        for (lang, expected) in [
            (Lang::En, "T-12 Next response 80% <@U1>"),
            (Lang::Ja, "T-12 次回応答 80% <@U1>"),
        ] {
            let m = escalation(
                &Escalation {
                    ticket: &t,
                    target: Target::NextResponse,
                    percent: 80,
                    target_length: Duration::hours(2),
                    named: &named,
                    late_since: None,
                    due: None,
                },
                &cal,
                lang,
            );
            check(&m);
            assert_eq!(m.text, expected);
        }
    }

    #[test]
    fn escalations_say_the_share_the_breach_and_lateness() {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let t = ticket("x");
        let named = vec!["<@U1>".to_string(), "<!here>".to_string()];
        for (percent, says) in [(50, "50%"), (100, "target breached"), (300, "still open")] {
            let m = escalation(
                &Escalation {
                    ticket: &t,
                    target: Target::FirstResponse,
                    percent,
                    target_length: Duration::hours(1),
                    named: &named,
                    late_since: (percent == 300).then_some(t.opened_at),
                    due: Some(t.opened_at + Duration::hours(1)),
                },
                &cal,
                Lang::En,
            );
            check(&m);
            let shown = serde_json::to_string(&m.blocks).unwrap();
            assert!(shown.contains(says) && shown.contains("<!here>"), "{shown}");
            assert_eq!(shown.contains("Late"), percent == 300, "{shown}");
        }
    }

    #[test]
    fn a_priority_change_says_who_which_way_and_where_the_past_targets_stand() {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let t = ticket("x");
        let past = [(
            Target::FirstResponse,
            SlaState::BreachedBy(Duration::minutes(5)),
        )];
        let raised = PriorityChange {
            ticket: &t,
            from: Priority::P3,
            by: "UCSM",
            past: &past,
        };
        let m = priority_changed(&raised, &cal, Lang::En);
        check(&m);
        let shown = serde_json::to_string(&m.blocks).unwrap();
        assert!(
            shown.contains("priority raised from P3 to *P1* by <@UCSM>: First response")
                && shown.contains("breached by 5 business minutes"),
            "{shown}"
        );
        let m = priority_changed(&raised, &cal, Lang::Ja);
        check(&m);
        let shown = serde_json::to_string(&m.blocks).unwrap();
        assert!(
            shown.contains("P3 から *P1* に引き上げ（<@UCSM>）: 初回応答")
                && shown.contains("超過 営業時間 5 分"),
            "{shown}"
        );
        // Lowered, nothing past: the change alone.
        let lowered = PriorityChange {
            from: Priority::P0,
            past: &[],
            ..raised
        };
        for (lang, says) in [
            (Lang::En, "priority lowered from P0 to *P1* by <@UCSM>\""),
            (Lang::Ja, "P0 から *P1* に引き下げ（<@UCSM>）\""),
        ] {
            let m = priority_changed(&lowered, &cal, lang);
            check(&m);
            let shown = serde_json::to_string(&m.blocks).unwrap();
            assert!(shown.contains(says), "{shown}");
        }
    }

    #[test]
    fn a_long_ticket_list_stays_within_fifty_blocks() {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Standard);
        let rows: Vec<_> = (0..120)
            .map(|n| (ticket(&format!("Request {n}")), "Acme", &cal))
            .collect();
        let now = rows[0].0.opened_at + Duration::hours(3);
        let m = ticket_list(&rows, &policy, now, Lang::Ja);
        check(&m);
        assert!(m.blocks.len() <= limits::MESSAGE_BLOCKS);
    }
}
