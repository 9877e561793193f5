//! The overview and the per-category checklist messages.
//!
//! A category is one message when it fits in 50 blocks and several (`part`s) when a
//! team's own template makes it longer; each checkbox group holds at most 10 items.

use slack_morphism::prelude::*;

use super::{
    Message, NAME_CHARS, button_text, clip, clip_mrkdwn, context, customer_item, escape,
    escape_clipped, field, header, ids, limits, mrkdwn, option_text, plain, section, section_text,
    texts,
};
use crate::domain::checklist::{
    ItemState, Progress, States, Tier, bar, category_progress, go_live_progress, items_progress,
    overall_progress,
};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::plan::{Standing, waiting_on};
use crate::domain::template::{Category, Item, Owner, Section, Template};

const BAR_WIDTH: usize = 10;

/// Characters of a customer name in a header, leaving room for what follows it.
const NAME_IN_HEADER: usize = 100;

/// Characters of a note, escaped, in a group's who/when line: ten of them and their
/// keys, people and dates stay inside a context element.
const NOTE_CHARS: usize = 120;

fn progress_text(p: Progress) -> String {
    format!(
        "{} {}/{} ({}%)",
        bar(p, BAR_WIDTH),
        p.done,
        p.applicable,
        p.percent()
    )
}

/// The heading of a customer's checklist: its own tier's readiness.
fn readiness_heading(tier: Tier) -> texts::Text {
    match tier {
        Tier::Standard => texts::READINESS_STANDARD,
        Tier::Professional => texts::READINESS_PROFESSIONAL,
        Tier::Enterprise => texts::READINESS_ENTERPRISE,
    }
}

/// The overview: progress per category, overall, go-live readiness, the plan's health
/// (when given: it depends on the day, so the caller judges it at `now`), and a button
/// per category that opens its checklist.
pub fn overview(
    template: &Template,
    customer: &Customer,
    states: &States,
    standing: Option<&Standing>,
    lang: Lang,
) -> Message {
    let overall = overall_progress(template, states);
    let go_live = go_live_progress(template, states);
    let title = format!(
        "{} — {}",
        clip(&customer.name, NAME_IN_HEADER),
        readiness_heading(customer.tier).get(lang)
    );
    let mut blocks = vec![header(&title)];
    let go_live_line = if go_live.is_complete() {
        lang.pick(
            "✅ Ready for go-live: every required item is done.",
            "✅ Go-Live 準備完了：必須項目はすべて完了しています。",
        )
        .to_string()
    } else {
        let left = go_live.applicable - go_live.done;
        match lang {
            Lang::En => format!(
                "⏳ Go-live readiness {}% — {left} required item{} to go",
                go_live.percent(),
                if left == 1 { "" } else { "s" }
            ),
            Lang::Ja => format!("⏳ Go-Live 準備 {}% — 残り {left} 項目", go_live.percent()),
        }
    };
    let health_line = standing
        .map(|s| format!("\n{}", super::plan::health_line(s, lang)))
        .unwrap_or_default();
    blocks.push(section(&format!(
        "*{}* {}\n{}{health_line}",
        lang.pick("Overall", "全体"),
        progress_text(overall),
        go_live_line
    )));
    if let Some(line) = waiting_on_customer_line(template, customer, states, lang) {
        blocks.push(section(&line));
    }
    let fields: Vec<SlackBlockText> = template
        .categories
        .iter()
        .map(|c| {
            field(&format!(
                "*{}. {}*\n{}",
                c.number,
                c.label(lang),
                progress_text(category_progress(c, states))
            ))
        })
        .collect();
    for chunk in fields.chunks(limits::SECTION_FIELDS) {
        blocks.push(SlackSectionBlock::new().with_fields(chunk.to_vec()).into());
    }
    let buttons: Vec<SlackActionBlockElement> = template
        .categories
        .iter()
        .map(|c| {
            SlackActionBlockElement::Button(
                SlackBlockButtonElement::new(button_text(&format!(
                    "{}. {}",
                    c.number,
                    c.label(lang)
                )))
                .with_action_id(format!("{}_{}", ids::OPEN_CATEGORY, c.number).into())
                .with_value(format!("{}:{}", customer.id, c.number)),
            )
        })
        .collect();
    for chunk in buttons.chunks(limits::ACTIONS_ELEMENTS) {
        blocks.push(SlackActionsBlock::new(chunk.to_vec()).into());
    }
    blocks.push(context(&format!(
        "{} `{}` · {} {} · {}",
        lang.pick("Customer", "顧客"),
        customer.slug,
        lang.pick("Tier", "ティア"),
        customer.tier.title(),
        lang.pick(
            "`/readiness show &lt;category&gt;` opens a checklist",
            "`/readiness show &lt;カテゴリ&gt;` でチェックリストを表示"
        )
    )));
    // The fallback is read for mentions too: the name is shown as typed, never as markup.
    let name = escape_clipped(&customer.name, NAME_CHARS);
    let text = match lang {
        Lang::En => format!(
            "{}: readiness {}/{} ({}%)",
            name,
            overall.done,
            overall.applicable,
            overall.percent()
        ),
        Lang::Ja => format!(
            "{}: 準備状況 {}/{} ({}%)",
            name,
            overall.done,
            overall.applicable,
            overall.percent()
        ),
    };
    Message::new(text, blocks)
}

/// Items of the overview's "waiting on the customer" line, at most; the rest counted.
const CUSTOMER_QUEUE_SHOWN: usize = 8;
/// Characters of an item's label in that line.
const QUEUE_LABEL_CHARS: usize = 60;

/// What we are waiting on from the customer: the open items of `template` (the
/// customer's tier's view) that the customer owns and that wait on nothing, in the
/// template's order.
pub fn waiting_on_customer<'t>(template: &'t Template, states: &States) -> Vec<&'t Item> {
    template
        .items()
        .filter(|i| i.owner == Some(Owner::Customer))
        .filter(|i| {
            !states
                .get(&i.key)
                .is_some_and(|s| s.is_done() || s.not_applicable)
        })
        .filter(|i| waiting_on(i, states).is_empty())
        .collect()
}

/// The overview's line naming what we wait on from the customer, by key and label;
/// `None` when nothing is.
fn waiting_on_customer_line(
    template: &Template,
    customer: &Customer,
    states: &States,
    lang: Lang,
) -> Option<String> {
    let items = waiting_on_customer(template, states);
    if items.is_empty() {
        return None;
    }
    let mut lines: Vec<String> = items
        .iter()
        .take(CUSTOMER_QUEUE_SHOWN)
        .map(|i| {
            format!(
                "• *{}* {}",
                i.key,
                escape_clipped(i.label(lang), QUEUE_LABEL_CHARS)
            )
        })
        .collect();
    let more = items.len().saturating_sub(CUSTOMER_QUEUE_SHOWN);
    if more > 0 {
        lines.push(match lang {
            Lang::En => format!("… and {more} more"),
            Lang::Ja => format!("… ほか {more} 項目"),
        });
    }
    let name = escape_clipped(&customer.name, NAME_IN_HEADER);
    let heading = match lang {
        Lang::En => format!("📨 *Waiting on {name}:*"),
        Lang::Ja => format!("📨 *{name} 様の対応待ち：*"),
    };
    Some(clip_mrkdwn(
        &format!("{heading}\n{}", lines.join("\n")),
        limits::SECTION_TEXT,
    ))
}

/// One option of a checkbox group: the key, an arrow for sub-items, the label, and a
/// paperclip with the count when it holds evidence. An item waiting on prerequisites
/// is marked ⏳ and names them in its description (Slack cannot disable one option of
/// a group; the tick is refused instead).
fn item_option(
    item: &Item,
    waiting: &[&str],
    evidence: usize,
    lang: Lang,
) -> SlackBlockChoiceItem<SlackBlockText> {
    let indent = if item.parent.is_some() { "↳ " } else { "" };
    let mark = if waiting.is_empty() { "" } else { "⏳ " };
    let text = super::evidence::with_paperclip(
        &format!("{indent}{mark}{} {}", item.key, escape(item.label(lang))),
        evidence,
        limits::OPTION_TEXT,
    );
    let option = SlackBlockChoiceItem::new(mrkdwn(text), item.key.clone());
    if waiting.is_empty() {
        return option;
    }
    option.with_description(plain(waiting_description(waiting, lang)))
}

/// "Waiting on 6.1.1, 6.1.2": an option's description, within its 75 characters.
pub fn waiting_description(waiting: &[&str], lang: Lang) -> String {
    let keys = waiting.join(", ");
    let text = match lang {
        Lang::En => format!("Waiting on {keys}"),
        Lang::Ja => format!("{keys} の完了待ち"),
    };
    clip(&text, limits::OPTION_TEXT)
}

/// What an item waits on before it can be ticked: nothing once it is done or N/A.
fn open_prerequisites<'t>(item: &'t Item, states: &States) -> Vec<&'t str> {
    match states.get(&item.key) {
        Some(s) if s.is_done() || s.not_applicable => Vec::new(),
        _ => waiting_on(item, states),
    }
}

/// Who, when and notes for the items of a group, as one context line (mentions render
/// there, unlike in option descriptions).
fn details_line(items: &[&Item], states: &States, lang: Lang) -> Option<String> {
    let parts: Vec<String> = items
        .iter()
        .filter_map(|item| {
            let s = states.get(&item.key)?;
            let mut bits = Vec::new();
            if let Some(user) = &s.assignee {
                bits.push(format!("<@{user}>"));
            }
            if let Some(due) = s.due {
                bits.push(format!("{} {due}", lang.pick("due", "期限")));
            }
            if let Some(note) = &s.note {
                bits.push(format!(
                    "📝 {}",
                    escape_clipped(&clip(note, 80), NOTE_CHARS)
                ));
            }
            (!bits.is_empty()).then(|| format!("*{}* {}", item.key, bits.join(" · ")))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("   "))
}

/// Blocks a section's title takes, and the most a group of ten items can take (its
/// checkboxes and a who/when line). Parts are cut by these bounds, not by what is
/// shown, so a message keeps the same items whatever their state.
const TITLE_BLOCKS: usize = 1;
const GROUP_BLOCKS: usize = 2;

/// A section as units that stay together: its title, then one unit per ten items
/// (empty when all ten are N/A).
fn section_units(
    customer: &Customer,
    section: &Section,
    states: &States,
    lang: Lang,
) -> Vec<Vec<SlackBlock>> {
    let progress = items_progress(section.items.iter().map(|i| i.key.as_str()), states);
    let not_applicable: Vec<&str> = section
        .items
        .iter()
        .filter(|i| states.get(&i.key).is_some_and(|s| s.not_applicable))
        .map(|i| i.key.as_str())
        .collect();
    let mut title = format!(
        "*{} {}*  {}/{}",
        section.key,
        escape(section.label(lang)),
        progress.done,
        progress.applicable
    );
    if !not_applicable.is_empty() {
        title.push_str(&format!("\n_N/A: {}_", not_applicable.join(", ")));
    }
    let menu_options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = section
        .items
        .iter()
        .take(limits::STATIC_SELECT_OPTIONS)
        .map(|i| {
            SlackBlockChoiceItem::new(
                option_text(&format!("{} {}", i.key, i.label(lang))),
                i.key.clone(),
            )
        })
        .collect();
    let menu = SlackBlockStaticSelectElement::new()
        .with_action_id(ids::ITEM_MENU.into())
        .with_placeholder(plain(
            lang.pick("Assign, due date, note…", "担当・期限・メモ…"),
        ))
        .with_options(menu_options);
    let mut units: Vec<Vec<SlackBlock>> = vec![vec![
        SlackSectionBlock::new()
            .with_block_id(ids::menu_block_id(customer.id, &section.key).into())
            .with_text(section_text(&title))
            .with_accessory(SlackSectionBlockElement::StaticSelect(menu))
            .into(),
    ]];
    for items in section.items.chunks(limits::CHECKBOX_OPTIONS) {
        let mut unit = Vec::with_capacity(GROUP_BLOCKS);
        let group: Vec<&Item> = items
            .iter()
            .filter(|i| !states.get(&i.key).is_some_and(|s| s.not_applicable))
            .collect();
        if group.is_empty() {
            units.push(unit);
            continue;
        }
        let waiting: Vec<Vec<&str>> = group
            .iter()
            .map(|i| open_prerequisites(i, states))
            .collect();
        let options: Vec<_> = group
            .iter()
            .zip(&waiting)
            .map(|(i, w)| item_option(i, w, states.get(&i.key).map_or(0, |s| s.evidence), lang))
            .collect();
        // A waiting item is never done (done ones wait on nothing), and never shows so.
        let ticked: Vec<bool> = group
            .iter()
            .zip(&waiting)
            .map(|(i, w)| w.is_empty() && states.get(&i.key).is_some_and(ItemState::is_done))
            .collect();
        let initial: Vec<_> = options
            .iter()
            .zip(&ticked)
            .filter(|(_, t)| **t)
            .map(|(o, _)| o.clone())
            .collect();
        let mut checkboxes =
            SlackBlockCheckboxesElement::new(options).with_action_id(ids::TICK.into());
        if !initial.is_empty() {
            checkboxes = checkboxes.with_initial_options(initial);
        }
        let keys: Vec<&str> = group.iter().map(|i| i.key.as_str()).collect();
        unit.push(
            SlackActionsBlock::new(vec![SlackActionBlockElement::Checkboxes(checkboxes)])
                .with_block_id(ids::tick_block_id(customer.id, &keys, &ticked).into())
                .into(),
        );
        if let Some(line) = details_line(&group, states, lang) {
            unit.push(context(&line));
        }
        units.push(unit);
    }
    units
}

/// The messages of one category: a header and, per section, its title with an edit
/// menu, its checkbox groups and who/when lines; split into parts of at most 50 blocks.
pub fn category_messages(
    customer: &Customer,
    category: &Category,
    states: &States,
    lang: Lang,
) -> Vec<Message> {
    let progress = category_progress(category, states);
    let title = format!(
        "{}. {} — {}",
        category.number,
        category.label(lang),
        clip(&customer.name, NAME_IN_HEADER)
    );
    let fallback = format!(
        "{}: {} {}/{}",
        escape_clipped(&customer.name, NAME_CHARS),
        category.label(lang),
        progress.done,
        progress.applicable
    );
    let head = vec![header(&title), context(&progress_text(progress))];

    let mut used = head.len();
    let mut messages: Vec<Vec<SlackBlock>> = vec![head];
    for section in &category.sections {
        let bound =
            TITLE_BLOCKS + GROUP_BLOCKS * section.items.len().div_ceil(limits::CHECKBOX_OPTIONS);
        // A section starts a new part when it would not fit whole; one longer than a
        // whole message spills group by group.
        if used + bound > limits::MESSAGE_BLOCKS && used > 0 {
            messages.push(Vec::new());
            used = 0;
        }
        for (i, unit) in section_units(customer, section, states, lang)
            .into_iter()
            .enumerate()
        {
            let unit_bound = if i == 0 { TITLE_BLOCKS } else { GROUP_BLOCKS };
            if used + unit_bound > limits::MESSAGE_BLOCKS {
                messages.push(Vec::new());
                used = 0;
            }
            used += unit_bound;
            messages.last_mut().expect("never empty").extend(unit);
        }
    }
    // A part can only be empty when all its items are N/A; it keeps its place.
    for blocks in messages.iter_mut().filter(|b| b.is_empty()) {
        blocks.push(context("N/A"));
    }
    let parts = messages.len();
    messages
        .into_iter()
        .enumerate()
        .map(|(i, blocks)| {
            let text = if parts > 1 {
                format!("{fallback} ({}/{parts})", i + 1)
            } else {
                fallback.clone()
            };
            Message::new(text, blocks)
        })
        .collect()
}

/// The DM an assignee gets, in their own language.
pub fn assigned_dm(
    customer: &Customer,
    item: &Item,
    by: &str,
    due: Option<chrono::NaiveDate>,
    lang: Lang,
) -> Message {
    let due = due
        .map(|d| format!(" {} {d}.", lang.pick("Due", "期限：")))
        .unwrap_or_default();
    let item = customer_item(customer, item, lang);
    Message::plain(match lang {
        Lang::En => format!(":wave: <@{by}> gave you {item}.{due}"),
        Lang::Ja => format!(":wave: <@{by}> さんから {item} を割り当てられました。{due}"),
    })
}

/// The answer to `/readiness done` or `undo`: whether it changed, and the category's
/// progress afterwards.
pub fn ticked(
    item: &Item,
    category: &Category,
    progress: Progress,
    done: bool,
    changed: bool,
    lang: Lang,
) -> Message {
    let label = escape(item.label(lang));
    let progress = format!(
        "{} {}/{}",
        category.label(lang),
        progress.done,
        progress.applicable
    );
    let key = &item.key;
    Message::plain(match (done, changed, lang) {
        (true, true, Lang::En) => {
            format!(":white_check_mark: *{key}* {label} is done. {progress}")
        }
        (true, true, Lang::Ja) => {
            format!(":white_check_mark: *{key}* {label} を完了にしました。{progress}")
        }
        (false, true, Lang::En) => {
            format!(":leftwards_arrow_with_hook: *{key}* {label} is open again. {progress}")
        }
        (false, true, Lang::Ja) => {
            format!(":leftwards_arrow_with_hook: *{key}* {label} を未完了に戻しました。{progress}")
        }
        (true, false, Lang::En) => format!("*{key}* {label} was already done."),
        (true, false, Lang::Ja) => format!("*{key}* {label} はすでに完了しています。"),
        (false, false, Lang::En) => format!("*{key}* {label} was not done."),
        (false, false, Lang::Ja) => format!("*{key}* {label} はまだ完了していません。"),
    })
}

/// The answer to a tick refused because the item waits on `waiting` (item keys): what
/// it waits for. Also the answer to a click on such an item's box.
pub fn waiting(item_key: &str, label: &str, waiting: &[String], lang: Lang) -> Message {
    let list = waiting
        .iter()
        .take(limits::CHECKBOX_OPTIONS)
        .map(|k| format!("*{}*", escape_clipped(k, 20)))
        .collect::<Vec<_>>()
        .join(lang.pick(", ", "、"));
    let label = escape_clipped(label, NOTE_CHARS);
    Message::plain(texts::WAITING_ON.fill(
        lang,
        &[
            ("key", &escape_clipped(item_key, 20)),
            ("label", &label),
            ("list", &list),
        ],
    ))
}

/// The answer to a customer-side person's click on items that are not theirs.
pub fn not_theirs(lang: Lang) -> Message {
    Message::plain(texts::NOT_THEIRS.get(lang))
}

/// The answer to `/readiness assign`.
pub fn assigned(
    customer: &Customer,
    item: &Item,
    user: &str,
    due: Option<chrono::NaiveDate>,
    today: chrono::NaiveDate,
    lang: Lang,
) -> Message {
    let due_text = due
        .map(|d| format!(" ({} {d})", texts::DUE.get(lang)))
        .unwrap_or_default();
    // Accepted (a date set late is still the agreed one), but said, since nothing
    // else would tell the person it is overdue from the start.
    let past = due
        .filter(|d| *d < today)
        .map(|d| {
            format!(
                "\n{}",
                texts::DUE_IN_THE_PAST.fill(lang, &[("date", &d.to_string())])
            )
        })
        .unwrap_or_default();
    let assigned = match lang {
        Lang::En => format!(
            ":bust_in_silhouette: *{}* {} of {} is now <@{user}>'s{due_text}.",
            item.key,
            escape(item.label(lang)),
            super::name(&customer.name)
        ),
        Lang::Ja => format!(
            ":bust_in_silhouette: {} の *{}* {} を <@{user}> さんに割り当てました{due_text}。",
            super::name(&customer.name),
            item.key,
            escape(item.label(lang))
        ),
    };
    Message::plain(format!("{assigned}{past}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::checklist::Tier;
    use proptest::prelude::*;

    pub(crate) fn customer() -> Customer {
        Customer {
            id: 12,
            team_id: "T1".into(),
            slug: "acme".into(),
            name: "Acme".into(),
            tier: Tier::Enterprise,
            channel_id: Some("C1".into()),
            channel_error: None,
            created_by: "U1".into(),
            created_at: 0,
            csm: None,
            archived_at: None,
            golive_on: None,
            reminders_off: Vec::new(),
            intake_mode: None,
            kickoff_on: None,
        }
    }

    fn json(message: &Message) -> serde_json::Value {
        serde_json::to_value(message).unwrap()
    }

    fn random_states(template: &Template, seed: &[u8]) -> States {
        template
            .items()
            .zip(seed.iter().cycle())
            .map(|(item, b)| {
                (
                    item.key.clone(),
                    ItemState {
                        done_by: (b & 1 == 1).then(|| "U1".into()),
                        done_at: (b & 1 == 1).then_some(1),
                        not_applicable: item.if_needed && b & 2 == 2,
                        assignee: (b & 4 == 4).then(|| "U0123456789".into()),
                        due: (b & 8 == 8)
                            .then(|| chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
                        note: (b & 16 == 16).then(|| "ノート ".repeat(300)),
                        evidence: if b & 32 == 32 { usize::from(*b) } else { 0 },
                    },
                )
            })
            .collect()
    }

    #[test]
    fn every_category_of_the_seed_fits_in_one_message_within_limits() {
        let t = Template::builtin();
        for lang in [Lang::En, Lang::Ja] {
            for category in &t.categories {
                let messages = category_messages(&customer(), category, &States::new(), lang);
                assert_eq!(messages.len(), 1, "{}", category.en);
                limits::check_message(&json(&messages[0])).unwrap();
            }
            limits::check_message(&json(&overview(
                &t,
                &customer(),
                &States::new(),
                None,
                lang,
            )))
            .unwrap();
        }
    }

    #[test]
    fn the_overview_shows_the_health_it_is_given() {
        let t = Template::builtin();
        let standing = crate::domain::plan::Standing {
            health: crate::domain::plan::Health::Behind,
            overdue: 2,
            due_soon: 1,
            today: chrono::NaiveDate::from_ymd_opt(2027, 1, 12).unwrap(),
        };
        let shown = json(&overview(
            &t,
            &customer(),
            &States::new(),
            Some(&standing),
            Lang::En,
        ))
        .to_string();
        assert!(
            shown.contains(":red_circle: *Behind*: 2 items overdue, 1 item due within 3 business days (as of 2027-01-12)"),
            "{shown}"
        );
        let shown = json(&overview(
            &t,
            &customer(),
            &States::new(),
            Some(&standing),
            Lang::Ja,
        ))
        .to_string();
        assert!(shown.contains("*遅延*: 期限超過 2 件"), "{shown}");
        let without = json(&overview(&t, &customer(), &States::new(), None, Lang::En)).to_string();
        assert!(!without.contains("Behind") && !without.contains("On track"));
    }

    #[test]
    fn ticked_items_are_the_initial_options_of_their_group() {
        let t = Template::builtin();
        let mut states = States::new();
        states.insert(
            "1.1.2".into(),
            ItemState {
                done_at: Some(1),
                done_by: Some("U1".into()),
                ..Default::default()
            },
        );
        let messages = category_messages(&customer(), t.category(1).unwrap(), &states, Lang::En);
        let v = json(&messages[0]);
        let initial: Vec<String> = v["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
            .flat_map(|e| e["initial_options"].as_array().cloned().unwrap_or_default())
            .map(|o| o["value"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(initial, vec!["1.1.2"]);
        // The block_ids say the same, which is what a click is read against.
        let from_ids: Vec<String> = v["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| ids::parse_tick_block_id(b["block_id"].as_str()?))
            .flat_map(|g| g.ticked)
            .collect();
        assert_eq!(from_ids, initial);
    }

    #[test]
    fn every_item_appears_once_as_a_checkbox_unless_not_applicable() {
        let t = Template::builtin();
        let mut states = States::new();
        states.insert(
            "1.3.4".into(),
            ItemState {
                not_applicable: true,
                ..Default::default()
            },
        );
        let mut values = Vec::new();
        for category in &t.categories {
            for m in category_messages(&customer(), category, &states, Lang::Ja) {
                let v = json(&m);
                for b in v["blocks"].as_array().unwrap() {
                    for e in b["elements"].as_array().cloned().unwrap_or_default() {
                        if e["type"] == "checkboxes" {
                            for o in e["options"].as_array().unwrap() {
                                values.push(o["value"].as_str().unwrap().to_string());
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(values.len(), t.item_count() - 1);
        assert!(!values.contains(&"1.3.4".to_string()));
    }

    #[test]
    fn a_long_custom_category_is_split_into_parts_within_limits() {
        let mut text = String::from("[[categories]]\nnumber = 1\nja = \"大\"\nen = \"Big\"\n");
        for s in 1..=30 {
            text.push_str(&format!(
                "[[sections]]\nkey = \"1.{s}\"\nja = \"節{s}\"\nen = \"Section {s}\"\n"
            ));
            for i in 1..=12 {
                text.push_str(&format!(
                    "[[items]]\nkey = \"1.{s}.{i}\"\nja = \"項目\"\nen = \"Item {i}\"\n"
                ));
            }
        }
        let t = Template::parse(&text).unwrap();
        let messages = category_messages(&customer(), &t.categories[0], &States::new(), Lang::En);
        assert!(messages.len() > 1);
        assert_eq!(checkboxes_within_limits(&messages), 360);
    }

    /// Each checkbox option of `messages`: (value, description, initially ticked).
    fn options_of(messages: &[Message]) -> Vec<(String, Option<String>, bool)> {
        let mut out = Vec::new();
        for m in messages {
            let v = json(m);
            for b in v["blocks"].as_array().unwrap() {
                for e in b["elements"].as_array().cloned().unwrap_or_default() {
                    if e["type"] != "checkboxes" {
                        continue;
                    }
                    let initial: Vec<String> = e["initial_options"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .map(|o| o["value"].as_str().unwrap().to_string())
                        .collect();
                    let ticked = ids::parse_tick_block_id(b["block_id"].as_str().unwrap())
                        .unwrap()
                        .ticked;
                    assert_eq!(initial, ticked, "the block_id says what is shown ticked");
                    for o in e["options"].as_array().unwrap() {
                        let value = o["value"].as_str().unwrap().to_string();
                        let description = o["description"]["text"].as_str().map(str::to_string);
                        out.push((value.clone(), description, initial.contains(&value)));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn a_waiting_item_is_labelled_with_its_prerequisites_and_never_checked() {
        let t = Template::builtin();
        let view = t.for_tier(Tier::Standard);
        let onboarding = view.category(6).unwrap();
        for (lang, says) in [
            (Lang::En, "Waiting on 6.1.1"),
            (Lang::Ja, "6.1.1 の完了待ち"),
        ] {
            let options = options_of(&category_messages(
                &customer(),
                onboarding,
                &States::new(),
                lang,
            ));
            let first = options.iter().find(|o| o.0 == "6.1.1").unwrap();
            assert_eq!(first.1, None, "the first step waits on nothing");
            let second = options.iter().find(|o| o.0 == "6.1.2").unwrap();
            assert_eq!(second.1.as_deref(), Some(says));
            assert!(!second.2);
        }
        // Done before its prerequisite was unticked: done, shown ticked, not waiting.
        let mut states = States::new();
        states.insert(
            "6.1.2".into(),
            ItemState {
                done_at: Some(1),
                done_by: Some("U1".into()),
                ..Default::default()
            },
        );
        let options = options_of(&category_messages(
            &customer(),
            onboarding,
            &states,
            Lang::En,
        ));
        let second = options.iter().find(|o| o.0 == "6.1.2").unwrap();
        assert_eq!((second.1.as_deref(), second.2), (None, true));
        let third = options.iter().find(|o| o.0 == "6.1.3").unwrap();
        assert_eq!(third.1, None, "6.1.2 is done, so 6.1.3 waits on nothing");
    }

    proptest! {
        /// Whatever the states, an option that says it is waiting is not ticked, and
        /// every open item whose prerequisites are open says so.
        #[test]
        fn a_waiting_option_is_never_ticked(seed in proptest::collection::vec(any::<u8>(), 1..40)) {
            let t = Template::builtin();
            let view = t.for_tier(Tier::Enterprise);
            let states = random_states(view, &seed);
            let messages = category_messages(&customer(), view.category(6).unwrap(), &states, Lang::En);
            for (key, description, ticked) in options_of(&messages) {
                let open = !waiting_on(view.item(&key).unwrap(), &states).is_empty();
                let done = states.get(&key).is_some_and(ItemState::is_done);
                prop_assert_eq!(description.is_some(), open && !done);
                prop_assert!(!(description.is_some() && ticked));
            }
        }
    }

    #[test]
    fn waiting_labels_and_the_customers_line_stay_within_limits() {
        let mut text = String::from(
            "[[categories]]\nnumber = 1\nja = \"大\"\nen = \"Big\"\n[[sections]]\nkey = \"1.1\"\nja = \"節\"\nen = \"S\"\n",
        );
        let long_en = "&<>".repeat(20);
        let long_ja = "お客様が対応する項目".repeat(6);
        let mut keys: Vec<String> = Vec::new();
        for i in 1..=60 {
            let key = format!("1.1.{}", 100_000_000 + i);
            let after: Vec<String> = keys
                .iter()
                .rev()
                .take(20)
                .map(|k| format!("\"{k}\""))
                .collect();
            text.push_str(&format!(
                "[[items]]\nkey = \"{key}\"\nja = \"{long_ja}\"\nen = \"{long_en}\"\nowner = \"customer\"\nafter = [{}]\n",
                after.join(", ")
            ));
            keys.push(key);
        }
        let t = Template::parse(&text).unwrap();
        let mut acme = customer();
        acme.name = "&".repeat(700);
        // Every second item done: the others wait, or are waited on from the customer.
        let states: States = keys
            .iter()
            .step_by(2)
            .map(|k| {
                let done = ItemState {
                    done_at: Some(1),
                    done_by: Some("U1".into()),
                    ..Default::default()
                };
                (k.clone(), done)
            })
            .collect();
        for lang in [Lang::En, Lang::Ja] {
            let messages = category_messages(&acme, &t.categories[0], &States::new(), lang);
            assert_eq!(checkboxes_within_limits(&messages), 60);
            let waiting = options_of(&messages)
                .iter()
                .filter(|o| o.1.is_some())
                .count();
            assert_eq!(waiting, 59);
            let first = overview(&t, &acme, &States::new(), None, lang);
            limits::check_message(&json(&first)).unwrap();
            let shown = json(&first).to_string();
            assert!(shown.contains("1.1.100000001") && !shown.contains("1.1.100000002"));
            checkboxes_within_limits(&category_messages(&acme, &t.categories[0], &states, lang));
            let later = overview(&t, &acme, &states, None, lang);
            limits::check_message(&json(&later)).unwrap();
        }
        assert_eq!(waiting_on_customer(&t, &States::new()).len(), 1);
    }

    #[test]
    fn the_overview_names_what_we_wait_on_from_the_customer() {
        let t = Template::builtin();
        let view = t.for_tier(Tier::Standard);
        let mut states = States::new();
        for key in ["6.1.1", "6.1.2", "6.1.3"] {
            states.insert(
                key.into(),
                ItemState {
                    done_at: Some(1),
                    done_by: Some("U1".into()),
                    ..Default::default()
                },
            );
        }
        let queue: Vec<&str> = waiting_on_customer(view, &states)
            .iter()
            .map(|i| i.key.as_str())
            .collect();
        assert_eq!(
            queue,
            ["6.1.4"],
            "6.2.2 and the others still wait on earlier steps"
        );
        let shown = json(&overview(view, &customer(), &states, None, Lang::En)).to_string();
        assert!(
            shown.contains("Waiting on Acme") && shown.contains("*6.1.4*"),
            "{shown}"
        );
        let nothing =
            json(&overview(view, &customer(), &States::new(), None, Lang::En)).to_string();
        assert!(!nothing.contains("Waiting on Acme"), "{nothing}");
    }

    /// Checks each message against Slack's limits; counts their checkbox options.
    fn checkboxes_within_limits(messages: &[Message]) -> usize {
        messages
            .iter()
            .map(|m| {
                let v = json(m);
                limits::check_message(&v).unwrap();
                v["blocks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|b| b["elements"].as_array())
                    .flatten()
                    .filter(|e| e["type"] == "checkboxes")
                    .map(|e| e["options"].as_array().unwrap().len())
                    .sum::<usize>()
            })
            .sum()
    }

    #[test]
    fn a_section_longer_than_a_message_spills_and_parts_do_not_depend_on_state() {
        let mut text = String::from(
            "[[categories]]\nnumber = 1\nja = \"大\"\nen = \"Big\"\n[[sections]]\nkey = \"1.1\"\nja = \"節\"\nen = \"S\"\n",
        );
        for i in 1..=300 {
            text.push_str(&format!(
                "[[items]]\nkey = \"1.1.{i}\"\nja = \"項目\"\nen = \"Item {i}\"\nif_needed = true\n"
            ));
        }
        let t = Template::parse(&text).unwrap();
        let category = &t.categories[0];
        let plain = category_messages(&customer(), category, &States::new(), Lang::En);
        assert_eq!(checkboxes_within_limits(&plain), 300);
        let busy: States = t
            .items()
            .enumerate()
            .map(|(n, i)| {
                let state = ItemState {
                    assignee: Some("U0123456789".into()),
                    not_applicable: n % 3 == 0 || n < 30,
                    ..Default::default()
                };
                (i.key.clone(), state)
            })
            .collect();
        let shaded = category_messages(&customer(), category, &busy, Lang::En);
        assert_eq!(
            shaded.len(),
            plain.len(),
            "the same parts whatever the state"
        );
        assert_eq!(
            checkboxes_within_limits(&shaded),
            300 - 30 - (30..300).filter(|n| n % 3 == 0).count()
        );
    }

    #[test]
    fn items_with_evidence_show_a_paperclip_within_the_option_limit() {
        let t = Template::builtin();
        for count in [1, crate::domain::evidence::MAX_PER_ITEM, 100_000] {
            let states: States = t
                .items()
                .map(|i| {
                    let state = ItemState {
                        evidence: count,
                        done_at: Some(1),
                        done_by: Some("U1".into()),
                        ..Default::default()
                    };
                    (i.key.clone(), state)
                })
                .collect();
            for lang in [Lang::En, Lang::Ja] {
                for category in &t.categories {
                    for m in category_messages(&customer(), category, &states, lang) {
                        let v = json(&m);
                        limits::check_message(&v).unwrap();
                        let options: Vec<serde_json::Value> = v["blocks"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
                            .filter(|e| e["type"] == "checkboxes")
                            .flat_map(|e| e["options"].as_array().cloned().unwrap_or_default())
                            .collect();
                        assert!(!options.is_empty());
                        for o in options {
                            let text = o["text"]["text"].as_str().unwrap();
                            assert!(text.chars().count() <= limits::OPTION_TEXT, "{text}");
                            assert!(text.ends_with(&format!("📎 {count}")), "{text}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_heading_names_the_customers_own_tier() {
        let t = Template::builtin();
        for (tier, en, ja) in [
            (
                Tier::Standard,
                "Standard readiness",
                "Standard 準備チェックリスト",
            ),
            (
                Tier::Professional,
                "Professional readiness",
                "Professional 準備チェックリスト",
            ),
            (
                Tier::Enterprise,
                "Enterprise readiness",
                "Enterprise 準備チェックリスト",
            ),
        ] {
            let c = Customer { tier, ..customer() };
            let heading = |lang| {
                let v = json(&overview(&t, &c, &States::new(), None, lang));
                v["blocks"][0]["text"]["text"].as_str().unwrap().to_string()
            };
            assert_eq!(heading(Lang::En), format!("Acme — {en}"));
            assert_eq!(heading(Lang::Ja), format!("Acme — {ja}"));
        }
    }

    proptest! {
        #[test]
        fn any_checklist_state_renders_within_block_kit_limits(seed in proptest::collection::vec(any::<u8>(), 1..200)) {
            let t = Template::builtin();
            let states = random_states(&t, &seed);
            for lang in [Lang::En, Lang::Ja] {
                limits::check_message(&json(&overview(&t, &customer(), &states, None, lang))).unwrap();
                for category in &t.categories {
                    for m in category_messages(&customer(), category, &states, lang) {
                        limits::check_message(&json(&m)).unwrap();
                    }
                }
            }
        }
    }
}
