//! The App Home (`views.publish`, a view of type `home`): the viewer's customers with
//! their readiness, the open tickets of those customers worst first with their live SLA
//! state, and the checklist items due for the viewer this week.
//!
//! A published Home is a snapshot until the next publish, so its context line says
//! when it was rendered and due instants are Slack date tokens, which stay true.
//!
//! A view holds at most 100 blocks and 250 KB whatever the workspace holds. The
//! customers come a page at a time (`PER_PAGE`, two blocks each); the tickets and due
//! items are packed many to a section and cut by a byte budget, with "…and N more".
//! Every text is bounded, so the budgets add up to less than Slack's limits for any
//! input: the constants below prove it at compile time, the tests check it on the JSON.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use slack_morphism::prelude::*;

use super::ticket::{business_time, due_text, target_name};
use super::{
    button_text, clip_mrkdwn, context, escape_clipped, header, limits, mrkdwn, section_text,
};
use crate::domain::calendar::Calendar;
use crate::domain::checklist::{Progress, bar};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::plan::Standing;
use crate::domain::policy::Policy;
use crate::domain::sla::{SlaState, Target};
use crate::domain::ticket::Ticket;

/// One of the viewer's customers.
#[derive(Debug, Clone)]
pub struct HomeCustomer<'a> {
    pub customer: &'a Customer,
    pub overall: Progress,
    /// Per category (template order): short label and progress.
    pub categories: Vec<(String, Progress)>,
    /// The plan's health, judged at the render's `now` (`None`: not shown).
    pub standing: Option<Standing>,
}

/// An open ticket, with what its line needs besides the ticket.
#[derive(Debug, Clone)]
pub struct HomeTicket<'a> {
    pub ticket: &'a Ticket,
    pub customer_name: &'a str,
    pub calendar: &'a Calendar,
}

/// A checklist item assigned to the viewer with a due date.
#[derive(Debug, Clone)]
pub struct DueItem<'a> {
    pub customer: &'a Customer,
    pub key: &'a str,
    pub label: &'a str,
    pub due: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct HomeInput<'a> {
    /// Slack user id.
    pub viewer: &'a str,
    /// The viewer's customers, already sorted.
    pub customers: Vec<HomeCustomer<'a>>,
    /// Open tickets of those customers, already sorted worst first.
    pub tickets: Vec<HomeTicket<'a>>,
    /// Items assigned to the viewer due within 7 days (or overdue), sorted by date.
    pub due_this_week: Vec<DueItem<'a>>,
    /// 0-based page of customers; past the last page shows the last.
    pub page: usize,
    /// The customers' answers to "how did we do?" over the last 30 days (`None`: not
    /// shown).
    pub csat_last_30_days: Option<crate::domain::csat::CsatSummary>,
}

/// Action ids of the Home's buttons (the interaction handler matches on them).
/// Value: the customer id.
pub const OPEN_CHECKLIST: &str = "home_open_checklist";
/// Value: the customer id.
pub const NEW_TICKET: &str = "home_new_ticket";
/// The pager: "Previous" is `home_page_previous` and "Next" is `home_page_next`, since
/// Slack wants the action_ids of one block to differ; match on this prefix. Value: the
/// 0-based page to show.
pub const PAGE: &str = "home_page";

/// Customers per page. Each takes two blocks (its section and its buttons).
pub const PER_PAGE: usize = 10;

// Characters kept of each text; every one is cut to its bound, so nothing a user
// types can grow the view.
const NAME_CHARS: usize = 80;
const LINE_NAME_CHARS: usize = 40;
const SUMMARY_CHARS: usize = 80;
const CATEGORY_LABEL_CHARS: usize = 24;
const ITEM_KEY_CHARS: usize = 24;
const ITEM_LABEL_CHARS: usize = 80;
const CHANNEL_ID_CHARS: usize = 24;
const VIEWER_CHARS: usize = 40;
/// A customer's section text: name, tier, channel, overall bar, health (about 170 at
/// worst).
const CUSTOMER_TEXT_CHARS: usize = 500;
/// One field of category bars (one bar per field up to ten categories, more beyond).
const CATEGORY_FIELD_CHARS: usize = 120;
/// The shortest line of a category field (a one-letter label, the bar, "0%"): lines
/// past what a field can hold are not formatted.
const CATEGORY_LINE_MIN_CHARS: usize = 1 + 1 + CATEGORY_BAR + 1 + 2;
/// A ticket line: icon, `T-n`, priority, customer, summary and two SLA states, each
/// with a date token. About 470 at worst; cut here in any case.
const TICKET_LINE_CHARS: usize = 600;
/// A due line: mark, date, customer, key and label. About 200 at worst.
const DUE_LINE_CHARS: usize = 300;
/// Context lines, notes and the empty-Home section.
const NOTE_CHARS: usize = 300;

const OVERALL_BAR: usize = 10;
const CATEGORY_BAR: usize = 5;

/// Serialized bytes of the ticket lines and of the due lines, newlines included.
const TICKET_BYTES: usize = 90_000;
const DUE_BYTES: usize = 16_000;

/// JSON bytes per character of any text here, at most: user text has its control
/// characters replaced by spaces, so the worst is a 4-byte UTF-8 character (a `"`, a
/// `\` or one of our newlines serializes as 2).
const BYTES_PER_CHAR: usize = 4;
/// The JSON of one block around its texts (types, wrappers of ten fields, button
/// action_ids, values and labels), at most; a test measures it.
const BLOCK_FRAME_BYTES: usize = 600;
/// `{"type":"home","blocks":[…]}` and its optional fields.
const VIEW_FRAME_BYTES: usize = 200;

/// A section of packed lines is closed only when the next line does not fit, so each
/// closed one holds more than `SECTION_TEXT - line - 1` characters (each at least a
/// byte): the budget fills at most this many, plus the open last one.
const TICKET_SECTIONS: usize = TICKET_BYTES / (limits::SECTION_TEXT - TICKET_LINE_CHARS) + 1;
const DUE_SECTIONS: usize = DUE_BYTES / (limits::SECTION_TEXT - DUE_LINE_CHARS) + 1;

const HEADERS: usize = 4;
/// The rendered-at line, the empty-Home section (instead of customers), and the
/// "none" or "…and N more" line of tickets and of due items.
const NOTES: usize = 4;
const MAX_BLOCKS: usize = 2 // title, rendered-at line
    + 1 + 2 * PER_PAGE + 1 // heading, customers, pager
    + 1 + TICKET_SECTIONS + 1 // heading, lines, "…and N more"
    + 1 + DUE_SECTIONS + 1;
const MAX_BYTES: usize = VIEW_FRAME_BYTES
    + MAX_BLOCKS * BLOCK_FRAME_BYTES
    + BYTES_PER_CHAR
        * (HEADERS * limits::HEADER_TEXT
            + NOTES * NOTE_CHARS
            + PER_PAGE * (CUSTOMER_TEXT_CHARS + limits::SECTION_FIELDS * CATEGORY_FIELD_CHARS))
    + TICKET_BYTES
    + DUE_BYTES;
const _: () = assert!(MAX_BLOCKS <= limits::VIEW_BLOCKS);
const _: () = assert!(MAX_BYTES <= limits::VIEW_BYTES);
const _: () =
    assert!(TICKET_LINE_CHARS < limits::SECTION_TEXT && DUE_LINE_CHARS < limits::SECTION_TEXT);
const _: () = assert!(CATEGORY_FIELD_CHARS <= limits::FIELD_TEXT);

/// The Home of a guest or a person of another organisation: nothing of any customer,
/// only what the app is (Readiness is the workspace's own team's).
pub fn customer_side_home(lang: Lang) -> SlackView {
    SlackView::Home(SlackHomeView::new(vec![
        header("Readiness"),
        super::section(lang.pick(
            "Readiness is this workspace's onboarding and support tool, for its own team. Your contact there can tell you how your onboarding is going.",
            "Readiness はこのワークスペースのチームが使うオンボーディング・サポートのツールです。進み具合は担当者にお尋ねください。",
        )),
    ]))
}

/// The Home of `input.viewer` at `now`.
pub fn home_view(
    input: &HomeInput<'_>,
    policy: &Policy,
    now: DateTime<Utc>,
    lang: Lang,
) -> SlackView {
    let viewer = user_text(input.viewer, VIEWER_CHARS);
    let mut rendered = match lang {
        Lang::En => format!("<@{viewer}> · as of {}", rendered_at(now)),
        Lang::Ja => format!("<@{viewer}> · {} 時点", rendered_at(now)),
    };
    // On the line under the title: no block of its own, so the view's block budget is
    // the same with it.
    if let Some(csat) = &input.csat_last_30_days {
        rendered.push_str(" · ");
        rendered.push_str(&super::csat::home_line(csat, lang));
    }
    let mut blocks = vec![
        header(lang.pick("Readiness dashboard", "Readiness ダッシュボード")),
        note(&rendered),
    ];
    customers_part(&mut blocks, &input.customers, input.page, lang);
    tickets_part(&mut blocks, &input.tickets, policy, now, lang);
    due_part(&mut blocks, &input.due_this_week, policy, now, lang);
    debug_assert!(blocks.len() <= MAX_BLOCKS);
    SlackView::Home(SlackHomeView::new(blocks))
}

/// Slack's date token for the render time: each reader sees it in their own time zone
/// (UTC where Slack cannot render it).
fn rendered_at(now: DateTime<Utc>) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
        now.timestamp(),
        now.format("%Y-%m-%d %H:%M UTC")
    )
}

fn note(text: &str) -> SlackBlock {
    context(&clip_mrkdwn(text, NOTE_CHARS))
}

fn customers_part(
    blocks: &mut Vec<SlackBlock>,
    customers: &[HomeCustomer<'_>],
    page: usize,
    lang: Lang,
) {
    let pages = customers.len().div_ceil(PER_PAGE).max(1);
    let page = page.min(pages - 1);
    let mut heading = format!(
        "{} ({})",
        lang.pick("Your customers", "担当の顧客"),
        customers.len()
    );
    if pages > 1 {
        heading.push_str(&match lang {
            Lang::En => format!(" · page {} of {pages}", page + 1),
            Lang::Ja => format!(" · {}/{pages} ページ", page + 1),
        });
    }
    blocks.push(header(&heading));
    if customers.is_empty() {
        blocks.push(
            SlackSectionBlock::new()
                .with_text(mrkdwn(clip_mrkdwn(
                    lang.pick(
                        "You have no customers yet. Start one with `/readiness new Acme tier=enterprise`: \
                         it creates the customer's channel and checklist, and the customer shows up here. \
                         `/readiness help` lists every command.",
                        "担当の顧客はまだありません。`/readiness new Acme tier=enterprise` で始めましょう。\
                         顧客の専用チャンネルとチェックリストが作られ、ここに表示されます。\
                         `/readiness help` でコマンド一覧を表示します。",
                    ),
                    NOTE_CHARS,
                )))
                .into(),
        );
        return;
    }
    for home in customers.iter().skip(page * PER_PAGE).take(PER_PAGE) {
        blocks.push(customer_section(home, lang));
        blocks.push(customer_buttons(home.customer, lang));
    }
    if pages > 1 {
        blocks.push(pager(page, pages, lang));
    }
}

/// Name, tier, channel and overall readiness, with a bar per category as fields.
fn customer_section(home: &HomeCustomer<'_>, lang: Lang) -> SlackBlock {
    let customer = home.customer;
    let mut text = format!(
        "*{}* · {}",
        user_text(&customer.name, NAME_CHARS),
        customer.tier.title()
    );
    if let Some(channel) = &customer.channel_id {
        text.push_str(&format!(" · <#{}>", user_text(channel, CHANNEL_ID_CHARS)));
    }
    let overall = home.overall;
    text.push_str(&format!(
        "\n{} {} *{}%* ({}/{})",
        bar(overall, OVERALL_BAR),
        lang.pick("readiness", "準備"),
        overall.percent(),
        overall.done,
        overall.applicable
    ));
    if let Some(standing) = &home.standing {
        text.push('\n');
        text.push_str(&super::plan::health_line(standing, lang));
    }
    let mut section =
        SlackSectionBlock::new().with_text(mrkdwn(clip_mrkdwn(&text, CUSTOMER_TEXT_CHARS)));
    let fields = category_fields(&home.categories);
    if !fields.is_empty() {
        section = section.with_fields(fields);
    }
    section.into()
}

/// One field per category while they fit in a section's ten; beyond, several lines a
/// field.
fn category_fields(categories: &[(String, Progress)]) -> Vec<SlackBlockText> {
    if categories.is_empty() {
        return Vec::new();
    }
    let per_field = categories.len().div_ceil(limits::SECTION_FIELDS);
    categories
        .chunks(per_field)
        .map(|chunk| {
            let lines: Vec<String> = chunk
                .iter()
                .take(CATEGORY_FIELD_CHARS / CATEGORY_LINE_MIN_CHARS + 1)
                .map(|(label, progress)| {
                    format!(
                        "{} {} {}%",
                        user_text(label, CATEGORY_LABEL_CHARS),
                        bar(*progress, CATEGORY_BAR),
                        progress.percent()
                    )
                })
                .collect();
            mrkdwn(clip_mrkdwn(&lines.join("\n"), CATEGORY_FIELD_CHARS))
        })
        .collect()
}

fn button(text: &str, action_id: &str, value: String) -> SlackActionBlockElement {
    SlackBlockButtonElement::new(button_text(text))
        .with_action_id(action_id.into())
        .with_value(value)
        .into()
}

fn customer_buttons(customer: &Customer, lang: Lang) -> SlackBlock {
    let id = customer.id.to_string();
    SlackActionsBlock::new(vec![
        button(
            lang.pick("Open checklist", "チェックリストを開く"),
            OPEN_CHECKLIST,
            id.clone(),
        ),
        button(lang.pick("New ticket", "チケットを起票"), NEW_TICKET, id),
    ])
    .into()
}

/// Previous and Next, each only where there is a page to go to (`pages > 1`).
fn pager(page: usize, pages: usize, lang: Lang) -> SlackBlock {
    let mut buttons = Vec::with_capacity(2);
    if page > 0 {
        buttons.push(button(
            lang.pick("← Previous", "← 前へ"),
            &format!("{PAGE}_previous"),
            (page - 1).to_string(),
        ));
    }
    if page + 1 < pages {
        buttons.push(button(
            lang.pick("Next →", "次へ →"),
            &format!("{PAGE}_next"),
            (page + 1).to_string(),
        ));
    }
    SlackActionsBlock::new(buttons).into()
}

fn tickets_part(
    blocks: &mut Vec<SlackBlock>,
    tickets: &[HomeTicket<'_>],
    policy: &Policy,
    now: DateTime<Utc>,
    lang: Lang,
) {
    let part = Listing {
        title: lang.pick("Open tickets", "未解決のチケット"),
        none: lang.pick("No open tickets.", "未解決のチケットはありません。"),
        line_chars: TICKET_LINE_CHARS,
        bytes: TICKET_BYTES,
    };
    let lines = tickets.iter().map(|t| ticket_line(t, policy, now, lang));
    part.push(blocks, tickets.len(), lines, |more| match lang {
        Lang::En => {
            format!("…and {more} more. `/readiness tickets [customer]` lists a customer's.")
        }
        Lang::Ja => {
            format!("…ほか {more} 件。`/readiness tickets [顧客]` で顧客ごとに表示します。")
        }
    });
}

/// A part of the Home that lists things: its header with how many, a note when there
/// are none, then as many lines as fit and a note on those left out.
struct Listing<'a> {
    title: &'a str,
    none: &'a str,
    line_chars: usize,
    bytes: usize,
}

impl Listing<'_> {
    fn push(
        &self,
        blocks: &mut Vec<SlackBlock>,
        count: usize,
        lines: impl Iterator<Item = String>,
        left_out: impl Fn(usize) -> String,
    ) {
        blocks.push(header(&format!("{} ({count})", self.title)));
        if count == 0 {
            blocks.push(note(self.none));
            return;
        }
        let shown = pack(blocks, lines, self.line_chars, self.bytes);
        let more = count - shown;
        if more > 0 {
            blocks.push(note(&left_out(more)));
        }
    }
}

/// `🔴 *T-12* · *P1* · Acme · Login fails — First response breached by 1h 5m · …`:
/// the icon is the worst of the open targets' states.
fn ticket_line(row: &HomeTicket<'_>, policy: &Policy, now: DateTime<Utc>, lang: Lang) -> String {
    let ticket = row.ticket;
    let mut worst = 3;
    let mut states = Vec::with_capacity(2);
    for target in Target::ALL {
        if ticket.closure(target).is_some() {
            continue;
        }
        let state = ticket.sla_state(policy, row.calendar, target, now);
        worst = worst.min(severity(&state));
        states.push(state_text(target, &state, row.calendar, lang));
    }
    let icon = [
        ":red_circle:",
        ":hourglass_flowing_sand:",
        ":double_vertical_bar:",
        ":white_check_mark:",
    ][worst];
    let mut line = format!(
        "{icon} *{}* · *{}* · {}",
        ticket.label(),
        ticket.priority.as_str(),
        user_text(row.customer_name, LINE_NAME_CHARS)
    );
    if !ticket.summary.is_empty() {
        line.push_str(" · ");
        line.push_str(&user_text(&ticket.summary, SUMMARY_CHARS));
    }
    if !states.is_empty() {
        line.push_str(" — ");
        line.push_str(&states.join(" · "));
    }
    line
}

/// 0 breached, 1 running, 2 paused, 3 met: the order of `domain::ticket::urgency`.
fn severity(state: &SlaState) -> usize {
    match state {
        SlaState::BreachedBy(_) => 0,
        SlaState::DueIn { .. } => 1,
        SlaState::Paused { .. } => 2,
        SlaState::Met { .. } => 3,
    }
}

fn state_text(target: Target, state: &SlaState, cal: &Calendar, lang: Lang) -> String {
    let name = target_name(target, lang);
    match (state, lang) {
        (SlaState::BreachedBy(over), Lang::En) => {
            format!("{name} breached by {}", business_time(*over, lang))
        }
        (SlaState::BreachedBy(over), Lang::Ja) => {
            format!("{name} 超過 {}", business_time(*over, lang))
        }
        (SlaState::DueIn { due, left }, _) => {
            format!("{name} {}", due_text(*due, *left, cal, lang))
        }
        (SlaState::Paused { left }, Lang::En) => {
            format!("{name} paused, {} left", business_time(*left, lang))
        }
        (SlaState::Paused { left }, Lang::Ja) => {
            format!("{name} 一時停止中 残り {}", business_time(*left, lang))
        }
        (SlaState::Met { .. }, _) => format!("{name} {}", lang.pick("met", "達成")),
    }
}

fn due_part(
    blocks: &mut Vec<SlackBlock>,
    items: &[DueItem<'_>],
    policy: &Policy,
    now: DateTime<Utc>,
    lang: Lang,
) {
    let part = Listing {
        title: lang.pick("Due this week", "今週の期限"),
        none: lang.pick(
            "Nothing assigned to you is due this week.",
            "今週期限の担当項目はありません。",
        ),
        line_chars: DUE_LINE_CHARS,
        bytes: DUE_BYTES,
    };
    let lines = items.iter().map(|item| due_line(item, policy, now, lang));
    part.push(blocks, items.len(), lines, |more| match lang {
        Lang::En => format!("…and {more} more."),
        Lang::Ja => format!("…ほか {more} 件。"),
    });
}

/// `📅 *Fri 2026-11-27* today · Acme · 1.2.3 Label`. Overdue and today are judged on
/// the customer's tier calendar, where its dates are meant.
fn due_line(item: &DueItem<'_>, policy: &Policy, now: DateTime<Utc>, lang: Lang) -> String {
    let today = now
        .with_timezone(&policy.tier(item.customer.tier).timezone)
        .date_naive();
    let (mark, when) = if item.due < today {
        (":warning:", lang.pick(" overdue", " 期限切れ"))
    } else if item.due == today {
        (":date:", lang.pick(" today", " 今日"))
    } else {
        (":date:", "")
    };
    format!(
        "{mark} *{}*{when} · {} · {} {}",
        day(item.due, lang),
        user_text(&item.customer.name, LINE_NAME_CHARS),
        user_text(item.key, ITEM_KEY_CHARS),
        user_text(item.label, ITEM_LABEL_CHARS)
    )
}

/// "Fri 2026-11-27" / "2026-11-27（金）".
fn day(date: NaiveDate, lang: Lang) -> String {
    let weekday = date.weekday().num_days_from_monday() as usize;
    match lang {
        Lang::En => format!(
            "{} {date}",
            ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][weekday]
        ),
        Lang::Ja => format!(
            "{date}（{}）",
            ["月", "火", "水", "木", "金", "土", "日"][weekday]
        ),
    }
}

/// Packs `lines` in order, one a line, into as few sections as Slack's 3,000
/// characters allow, until the next would take them past `budget` serialized bytes.
/// Returns how many it placed; the rest are never formatted (`lines` is lazy).
fn pack(
    blocks: &mut Vec<SlackBlock>,
    lines: impl Iterator<Item = String>,
    line_max: usize,
    budget: usize,
) -> usize {
    let mut used = 0;
    let mut placed = 0;
    let mut text = String::new();
    let mut text_chars = 0;
    for line in lines {
        let mut chars = line.chars().count();
        // Only absurd numbers (a T-number or duration near the integer limits) reach
        // this; it keeps the bound the block count rests on unconditional.
        let line = if chars > line_max {
            chars = line_max;
            clip_mrkdwn(&line, line_max)
        } else {
            line
        };
        // Its newline counted, even for the first of a section: 2 bytes as JSON.
        let bytes = json_len(&line) + 2;
        if used + bytes > budget {
            break;
        }
        if text_chars > 0 && text_chars + 1 + chars > limits::SECTION_TEXT {
            blocks.push(lines_section(std::mem::take(&mut text)));
            text_chars = 0;
        }
        if text_chars > 0 {
            text.push('\n');
            text_chars += 1;
        }
        text.push_str(&line);
        text_chars += chars;
        used += bytes;
        placed += 1;
    }
    if !text.is_empty() {
        blocks.push(lines_section(text));
    }
    placed
}

fn lines_section(text: String) -> SlackBlock {
    SlackSectionBlock::new()
        .with_text(section_text(&text))
        .into()
}

/// Text from users (names, summaries, labels, ids) for one line of mrkdwn: control
/// characters (a newline would break the line) become spaces, markup is escaped, and
/// at most `max` characters are kept, without cutting an escape like `&amp;` in two.
fn user_text(text: &str, max: usize) -> String {
    // Escaping only lengthens, so one character past `max` is enough to know it is cut.
    let head: String = text
        .chars()
        .take(max + 1)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    escape_clipped(&head, max)
}

/// The length of `text` serialized as a JSON string, quotes aside, as serde_json
/// writes it.
fn json_len(text: &str) -> usize {
    text.chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use chrono::Duration;
    use serde_json::Value;

    use super::*;
    use crate::blocks::escape;
    use crate::domain::checklist::Tier;
    use crate::domain::sla::Priority;
    use crate::domain::ticket::Action;

    fn customer(id: i64, name: &str) -> Customer {
        Customer {
            id,
            slug: format!("c{id}"),
            name: name.into(),
            tier: [Tier::Standard, Tier::Professional, Tier::Enterprise][id as usize % 3],
            channel_id: Some(format!("C{id:09}")),
            ..crate::blocks::checklist::tests::customer()
        }
    }

    const CATEGORIES: [(&str, &str); 7] = [
        ("Security", "セキュリティ"),
        ("SLA", "SLA"),
        ("Support", "サポート体制"),
        ("Infrastructure", "インフラ・運用"),
        ("Legal", "契約・法務"),
        ("Onboarding", "オンボーディング"),
        ("Improvement", "継続的改善"),
    ];

    fn home_customer(customer: &Customer, lang: Lang) -> HomeCustomer<'_> {
        let n = customer.id as usize;
        let categories: Vec<(String, Progress)> = CATEGORIES
            .iter()
            .enumerate()
            .map(|(i, (en, ja))| {
                let applicable = 10 + i;
                let progress = Progress {
                    done: (n + i) % (applicable + 1),
                    applicable,
                };
                (lang.pick(en, ja).to_string(), progress)
            })
            .collect();
        HomeCustomer {
            customer,
            overall: Progress {
                done: n % 96,
                applicable: 95,
            },
            categories,
            // The longest health line there is.
            standing: Some(crate::domain::plan::Standing {
                health: crate::domain::plan::Health::Behind,
                overdue: usize::MAX - n,
                due_soon: usize::MAX,
                today: NaiveDate::MAX,
            }),
        }
    }

    fn opened() -> DateTime<Utc> {
        crate::domain::tokyo(2026, 11, 24, 10, 0)
    }

    fn now() -> DateTime<Utc> {
        opened() + Duration::minutes(30)
    }

    /// Ticket `number`: P0 ones are past their 15-minute first response at `now`; a
    /// few are paused, a few already answered.
    fn ticket(number: i64, customer_id: i64, summary: &str, cal: &Calendar) -> Ticket {
        let priority = Priority::ALL[number as usize % 4];
        let mut t = Ticket {
            id: number,
            number,
            ..Ticket::new("T1", customer_id, "C", priority, summary, "UREP", opened())
        };
        match number % 7 {
            5 => t
                .apply(&Action::Pause, "U", cal, opened() + Duration::minutes(5))
                .unwrap(),
            6 => t
                .apply(&Action::Respond, "U", cal, opened() + Duration::minutes(5))
                .unwrap(),
            _ => {}
        }
        t
    }

    fn json(view: &SlackView) -> Value {
        serde_json::to_value(view).unwrap()
    }

    fn blocks(v: &Value) -> &Vec<Value> {
        v["blocks"].as_array().unwrap()
    }

    /// Every text object under `v`, in order: its type and its text.
    fn text_objects(v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(text)) = map.get("text") {
                    let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
                    out.push((kind.to_string(), text.clone()));
                }
                for (key, value) in map {
                    if !(key == "text" && value.is_string()) {
                        text_objects(value, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| text_objects(i, out)),
            _ => {}
        }
    }

    /// Every text of the view, in order, one per line.
    fn texts(v: &Value) -> String {
        let mut objects = Vec::new();
        text_objects(v, &mut objects);
        let texts: Vec<String> = objects.into_iter().map(|(_, text)| text).collect();
        texts.join("\n")
    }

    /// The pager's (action_id, value) pairs.
    fn pager_buttons(v: &Value) -> Vec<(String, String)> {
        blocks(v)
            .iter()
            .filter_map(|b| b["elements"].as_array())
            .flatten()
            .filter(|e| e["action_id"].as_str().unwrap_or("").starts_with(PAGE))
            .map(|e| {
                (
                    e["action_id"].as_str().unwrap().to_string(),
                    e["value"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    fn checked(view: &SlackView) -> Value {
        let v = json(view);
        assert_eq!(v["type"], "home");
        limits::check_view(&v).unwrap_or_else(|e| panic!("{e}"));
        assert!(blocks(&v).len() <= MAX_BLOCKS);
        assert!(serde_json::to_vec(&v).unwrap().len() <= MAX_BYTES);
        v
    }

    #[test]
    fn one_customer_and_no_tickets() {
        let policy = Policy::default();
        let acme = customer(1, "Acme <Corp> & Co");
        for lang in [Lang::En, Lang::Ja] {
            let input = HomeInput {
                viewer: "U123",
                customers: vec![home_customer(&acme, lang)],
                tickets: vec![],
                due_this_week: vec![],
                page: 0,
                csat_last_30_days: None,
            };
            let v = checked(&home_view(&input, &policy, now(), lang));
            let shown = texts(&v);
            assert!(shown.contains("Acme &lt;Corp&gt; &amp; Co"), "{shown}");
            assert!(
                shown.contains("<@U123>") && shown.contains("<!date^"),
                "{shown}"
            );
            assert!(shown.contains(lang.pick("No open tickets", "未解決のチケットはありません")));
            assert!(
                shown.contains(
                    lang.pick(":red_circle: *Behind*: ", ":red_circle: *遅延*: 期限超過 ")
                ),
                "{shown}"
            );
            assert!(pager_buttons(&v).is_empty(), "one page, no pager");
            let ids: Vec<&str> = blocks(&v)
                .iter()
                .filter_map(|b| b["elements"].as_array())
                .flatten()
                .filter_map(|e| e["action_id"].as_str())
                .collect();
            assert_eq!(ids, vec![OPEN_CHECKLIST, NEW_TICKET]);
            let section = blocks(&v).iter().find(|b| b["fields"].is_array()).unwrap();
            assert_eq!(section["fields"].as_array().unwrap().len(), 7);
            assert!(texts(section).contains('▰'));
        }
    }

    #[test]
    fn an_empty_home_says_how_to_start() {
        let policy = Policy::default();
        for lang in [Lang::En, Lang::Ja] {
            let input = HomeInput {
                viewer: "U123",
                customers: vec![],
                tickets: vec![],
                due_this_week: vec![],
                page: 3,
                csat_last_30_days: None,
            };
            let v = checked(&home_view(&input, &policy, now(), lang));
            assert!(texts(&v).contains("`/readiness new "), "{}", texts(&v));
            assert!(pager_buttons(&v).is_empty());
        }
    }

    struct World {
        customers: Vec<Customer>,
        tickets: Vec<Ticket>,
        calendar: Calendar,
    }

    /// 500 customers with 80-character names and 5,000 open tickets with 200-character
    /// Japanese summaries, worst first.
    fn big_world(name: impl Fn(i64) -> String, summary: impl Fn(i64) -> String) -> World {
        let policy = Policy::default();
        let calendar = policy.calendar(Tier::Enterprise);
        let customers: Vec<Customer> = (1..=500).map(|id| customer(id, &name(id))).collect();
        let mut tickets: Vec<Ticket> = (1..=5000)
            .map(|n| ticket(n, n % 500 + 1, &summary(n), &calendar))
            .collect();
        tickets.sort_by_key(|t| crate::domain::ticket::urgency(t, &policy, &calendar, now()));
        World {
            customers,
            tickets,
            calendar,
        }
    }

    fn big_input<'a>(world: &'a World, page: usize, lang: Lang) -> HomeInput<'a> {
        let due_this_week = world
            .customers
            .iter()
            .take(300)
            .enumerate()
            .map(|(i, c)| DueItem {
                customer: c,
                key: "1.2.3",
                label: "監査ログを SIEM に転送し、保存期間を契約どおりに設定する",
                due: now().date_naive() - chrono::Days::new(3) + chrono::Days::new(i as u64 / 30),
            })
            .collect();
        HomeInput {
            viewer: "U0123456789",
            customers: world
                .customers
                .iter()
                .map(|c| home_customer(c, lang))
                .collect(),
            tickets: world
                .tickets
                .iter()
                .map(|t| HomeTicket {
                    ticket: t,
                    customer_name: &world.customers[t.customer_id as usize - 1].name,
                    calendar: &world.calendar,
                })
                .collect(),
            due_this_week,
            page,
            csat_last_30_days: None,
        }
    }

    fn japanese_world() -> World {
        big_world(
            |id| {
                format!(
                    "{id:03}株式会社エンタープライズ・ソリューションズ＆サービス{}",
                    "長".repeat(80)
                )
                .chars()
                .take(80)
                .collect()
            },
            |n| {
                format!(
                    "T{n} 本番環境で SSO ログインが断続的に失敗する <script> & {}",
                    "障害詳細".repeat(60)
                )
                .chars()
                .take(200)
                .collect()
            },
        )
    }

    #[test]
    fn five_hundred_customers_and_five_thousand_tickets_fit_on_every_page() {
        let policy = Policy::default();
        let world = japanese_world();
        for lang in [Lang::En, Lang::Ja] {
            for (page, expected) in [
                (0, vec![("home_page_next", "1")]),
                (
                    24,
                    vec![("home_page_previous", "23"), ("home_page_next", "25")],
                ),
                (49, vec![("home_page_previous", "48")]),
                (1000, vec![("home_page_previous", "48")]),
            ] {
                let input = big_input(&world, page, lang);
                let started = Instant::now();
                let view = home_view(&input, &policy, now(), lang);
                let took = started.elapsed();
                let v = checked(&view);
                eprintln!(
                    "page {page} {lang:?}: {} blocks, {} bytes, rendered in {took:?}",
                    blocks(&v).len(),
                    serde_json::to_vec(&v).unwrap().len()
                );
                let expected: Vec<(String, String)> = expected
                    .iter()
                    .map(|(a, p)| (a.to_string(), p.to_string()))
                    .collect();
                assert_eq!(pager_buttons(&v), expected, "page {page}");
                let shown_page = page.min(49);
                let shown = texts(&v);
                let first = &world.customers[shown_page * PER_PAGE];
                let after = world.customers.get((shown_page + 1) * PER_PAGE);
                assert!(shown.contains(&escape(&first.name)), "page {page}");
                assert!(after.is_none_or(|c| !shown.contains(&escape(&c.name))));
                let customer_sections =
                    blocks(&v).iter().filter(|b| b["fields"].is_array()).count();
                assert_eq!(customer_sections, PER_PAGE);
                assert!(
                    shown.contains(lang.pick("…and ", "…ほか ")),
                    "tickets are capped"
                );
                assert!(!shown.contains("<script>"), "summaries are escaped");
            }
        }
    }

    #[test]
    fn tickets_appear_worst_first_as_given_and_hundreds_fit() {
        let policy = Policy::default();
        let world = japanese_world();
        let input = big_input(&world, 0, Lang::En);
        let v = checked(&home_view(&input, &policy, now(), Lang::En));
        let shown = texts(&v);
        let labels: Vec<String> = shown
            .lines()
            .filter_map(|l| l.split("*T-").nth(1))
            .map(|rest| format!("T-{}", rest.split('*').next().unwrap()))
            .collect();
        assert!(labels.len() >= 150, "only {} tickets shown", labels.len());
        let given: Vec<String> = world.tickets[..labels.len()]
            .iter()
            .map(Ticket::label)
            .collect();
        assert_eq!(labels, given);
        let first = shown.lines().find(|l| l.contains("*T-")).unwrap();
        assert!(
            first.starts_with(":red_circle:") && first.contains("breached by"),
            "{first}"
        );
        let more = format!("…and {} more", world.tickets.len() - labels.len());
        assert!(shown.contains(&more), "{shown}");
    }

    #[test]
    fn ticket_lines_say_breached_due_and_paused() {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let acme = customer(1, "Acme");
        let tickets: Vec<Ticket> = [4, 2, 5, 6]
            .into_iter()
            .map(|n| ticket(n, 1, "VPN is down", &cal))
            .collect();
        for lang in [Lang::En, Lang::Ja] {
            let input = HomeInput {
                viewer: "U1",
                customers: vec![home_customer(&acme, lang)],
                tickets: tickets
                    .iter()
                    .map(|t| HomeTicket {
                        ticket: t,
                        customer_name: "Acme",
                        calendar: &cal,
                    })
                    .collect(),
                due_this_week: vec![],
                page: 0,
                csat_last_30_days: None,
            };
            let v = checked(&home_view(&input, &policy, now(), lang));
            let shown = texts(&v);
            let line = |label: &str| {
                shown
                    .lines()
                    .find(|l| l.contains(&format!("*{label}*")))
                    .unwrap()
                    .to_string()
            };
            // T-4 is a P0: 15 minutes to respond, 30 used.
            assert!(
                line("T-4")
                    .contains(lang.pick("breached by 15 business minutes", "超過 営業時間 15 分")),
                "{}",
                line("T-4")
            );
            // T-2 is a P2: 4 hours to respond.
            let t2 = line("T-2");
            assert!(
                t2.contains(lang.pick(
                    "(3h 30m of business time left)",
                    "（残り 営業時間 3 時間 30 分）"
                )) && t2.contains(lang.pick("due <!date^", "期限 <!date^")),
                "{t2}"
            );
            assert!(t2.contains("<!date^"), "{t2}");
            // T-5 paused after 5 of its 60 minutes.
            let t5 = line("T-5");
            assert!(
                t5.contains(lang.pick(
                    "paused, 55 business minutes left",
                    "一時停止中 残り 営業時間 55 分"
                )),
                "{t5}"
            );
            // T-6 was answered: only its resolution is shown.
            let t6 = line("T-6");
            assert!(
                !t6.contains(target_name(Target::FirstResponse, lang)),
                "{t6}"
            );
            assert!(t6.contains(target_name(Target::Resolution, lang)), "{t6}");
            let order: Vec<usize> = ["T-4", "T-2", "T-5", "T-6"]
                .iter()
                .map(|l| shown.find(&format!("*{l}*")).unwrap())
                .collect();
            assert!(order.is_sorted(), "as given");
        }
    }

    #[test]
    fn due_items_are_marked_overdue_and_today() {
        let policy = Policy::default();
        let acme = customer(1, "Acme");
        let today = now()
            .with_timezone(&policy.tier(acme.tier).timezone)
            .date_naive();
        let items = [
            (today - chrono::Days::new(2), "1.1.1"),
            (today, "1.1.2"),
            (today + chrono::Days::new(3), "1.1.3"),
        ];
        let input = HomeInput {
            viewer: "U1",
            customers: vec![home_customer(&acme, Lang::En)],
            tickets: vec![],
            due_this_week: items
                .iter()
                .map(|(due, key)| DueItem {
                    customer: &acme,
                    key,
                    label: "Rotate <keys>",
                    due: *due,
                })
                .collect(),
            page: 0,
            csat_last_30_days: None,
        };
        let v = checked(&home_view(&input, &policy, now(), Lang::En));
        let shown = texts(&v);
        let line = |key: &str| shown.lines().find(|l| l.contains(key)).unwrap().to_string();
        assert!(line("1.1.1").contains("overdue") && line("1.1.1").starts_with(":warning:"));
        assert!(line("1.1.2").contains(" today"));
        assert!(!line("1.1.3").contains("overdue") && !line("1.1.3").contains("today"));
        assert!(line("1.1.3").contains("Rotate &lt;keys&gt;"));
    }

    /// The worst text for every bound at once: escapes that grow fivefold, quotes that
    /// serialize as two bytes, four-byte characters, control characters, and a custom
    /// template with many long categories.
    #[test]
    fn adversarial_text_stays_within_limits_and_frames_within_their_bound() {
        let policy = Policy::default();
        for (name, summary) in [
            ("&".repeat(300), "&".repeat(300)),
            ("\"".repeat(300), "\\".repeat(300)),
            ("𝕏".repeat(300), "𝕏".repeat(300)),
            ("\u{1}\n".repeat(300), "\u{1}\t".repeat(300)),
        ] {
            let world = big_world(|_| name.clone(), |_| summary.clone());
            let mut input = big_input(&world, 7, Lang::Ja);
            for c in &mut input.customers {
                c.categories = (0..40)
                    .map(|i| {
                        (
                            format!("{name}{i}"),
                            Progress {
                                done: i,
                                applicable: 40,
                            },
                        )
                    })
                    .collect();
            }
            for item in &mut input.due_this_week {
                item.key = &name;
                item.label = &summary;
            }
            input.viewer = &name;
            let v = checked(&home_view(&input, &policy, now(), Lang::Ja));
            // What the budgets count as text: mrkdwn and headers. Button labels are
            // part of the frame.
            for block in blocks(&v) {
                let mut objects = Vec::new();
                text_objects(block, &mut objects);
                let text_bytes: usize = objects
                    .iter()
                    .filter(|(kind, _)| kind == "mrkdwn" || block["type"] == "header")
                    .map(|(_, text)| json_len(text))
                    .sum();
                let frame = serde_json::to_vec(block).unwrap().len() - text_bytes;
                assert!(frame <= BLOCK_FRAME_BYTES, "{frame}: {block}");
            }
        }
    }

    #[test]
    fn cuts_never_split_an_escape() {
        assert_eq!(user_text("a&b", 3), "a…");
        assert_eq!(user_text("a&b", 7), "a&amp;b");
        assert_eq!(user_text("ab<", 10), "ab&lt;");
        assert_eq!(user_text("line\nbreak", 20), "line break");
        assert_eq!(user_text("セキュリティ", 4), "セキュ…");
        assert_eq!(json_len("a\"é\n\u{1}𝕏"), 1 + 2 + 2 + 2 + 6 + 4);
    }
}
