//! `/readiness plan`: a customer's onboarding plan by due week, and its health; and
//! the health line the overview, the App Home and the daily digest show.
//!
//! Dates are the customer's calendar dates, shown as `YYYY-MM-DD`: a due date is a
//! day in the customer's zone, and Slack's date token would show it shifted by a day
//! to a reader far enough west or east of it.
//!
//! The plan is one ephemeral message, so it must fit 50 blocks whatever the template
//! holds: every item is listed when that fits (the built-in template's 95 do, even with
//! the longest labels), else done and N/A items are counted per week instead of
//! listed, else the list is cut and says how many items it left out.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{
    Message, clip, context, escape_clipped, header, limits, name, packed_sections, section,
};
use crate::domain::calendar::Calendar;
use crate::domain::checklist::States;
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::plan::{
    DUE_SOON_BUSINESS_DAYS, Health, PlanState, Standing, plan_state, standing, waiting_on, week_of,
};
use crate::domain::template::Template;

/// What the plan is rendered from: the customer, its tier's view of the template, its
/// items' states, and its calendar and date.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub customer: &'a Customer,
    /// The customer's tier's view (`Template::for_tier`).
    pub view: &'a Template,
    pub states: &'a States,
    /// Today in the customer's zone.
    pub today: NaiveDate,
    pub calendar: &'a Calendar,
}

/// Characters kept of an item's label (escaped) and of the list of what it waits on.
const LABEL_CHARS: usize = 120;
const WAITING_CHARS: usize = 80;
/// Blocks around the plan's sections: the header, the health, the footer and the
/// "…and N more" line.
const FRAME_BLOCKS: usize = 4;
const PLAN_SECTIONS: usize = limits::MESSAGE_BLOCKS - FRAME_BLOCKS;

fn icon(health: Health) -> &'static str {
    match health {
        Health::OnTrack => ":large_green_circle:",
        Health::AtRisk => ":large_yellow_circle:",
        Health::Behind => ":red_circle:",
    }
}

/// The health's name, bold, in `lang`.
pub fn health_name(health: Health, lang: Lang) -> &'static str {
    match health {
        Health::OnTrack => lang.pick("On track", "順調"),
        Health::AtRisk => lang.pick("At risk", "要注意"),
        Health::Behind => lang.pick("Behind", "遅延"),
    }
}

/// `🟡 *At risk*: 2 items due within 3 business days (as of 2027-01-12)`: the health
/// and why, as one line of mrkdwn (about 150 characters at most).
pub fn health_line(standing: &Standing, lang: Lang) -> String {
    let mut why = Vec::new();
    if standing.overdue > 0 {
        why.push(match lang {
            Lang::En => format!(
                "{} item{} overdue",
                standing.overdue,
                plural(standing.overdue)
            ),
            Lang::Ja => format!("期限超過 {} 件", standing.overdue),
        });
    }
    if standing.due_soon > 0 {
        why.push(match lang {
            Lang::En => format!(
                "{} item{} due within {DUE_SOON_BUSINESS_DAYS} business days",
                standing.due_soon,
                plural(standing.due_soon)
            ),
            Lang::Ja => format!(
                "{DUE_SOON_BUSINESS_DAYS} 営業日以内に期限 {} 件",
                standing.due_soon
            ),
        });
    }
    if why.is_empty() {
        why.push(
            lang.pick(
                "nothing overdue or due within 3 business days",
                "期限超過・3 営業日以内の期限なし",
            )
            .to_string(),
        );
    }
    let as_of = match lang {
        Lang::En => format!("as of {}", standing.today),
        Lang::Ja => format!("{} 時点", standing.today),
    };
    format!(
        "{} *{}*: {} ({as_of})",
        icon(standing.health),
        health_name(standing.health, lang),
        why.join(lang.pick(", ", "、"))
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One item of the plan.
struct Row<'a> {
    item: &'a crate::domain::template::Item,
    state: PlanState,
    due: Option<NaiveDate>,
    assignee: Option<&'a str>,
    waiting_on: Vec<&'a str>,
}

impl Row<'_> {
    fn is_settled(&self) -> bool {
        matches!(self.state, PlanState::Done | PlanState::NotApplicable)
    }

    fn line(&self, lang: Lang) -> String {
        let owner = match (self.assignee, self.item.owner) {
            // Slack ids are short; a stored one is cut like any text.
            (Some(user), _) => format!("<@{}>", escape_clipped(user, 30)),
            (None, Some(role)) => role.label(lang).to_string(),
            (None, None) => lang.pick("no owner", "担当未定").to_string(),
        };
        let mut bits = vec![
            format!(
                "{} *{}* {}",
                state_icon(self.state),
                escape_clipped(&self.item.key, 30),
                escape_clipped(self.item.label(lang), LABEL_CHARS)
            ),
            owner,
        ];
        if let Some(due) = self.due {
            bits.push(due.to_string());
        }
        let state = match self.state {
            PlanState::Done => Some(lang.pick("done", "完了").to_string()),
            PlanState::NotApplicable => Some(lang.pick("N/A", "対象外").to_string()),
            PlanState::Waiting => {
                let on = escape_clipped(&self.waiting_on.join(", "), WAITING_CHARS);
                Some(match lang {
                    Lang::En => format!("_waiting on {on}_"),
                    Lang::Ja => format!("_{on} 待ち_"),
                })
            }
            PlanState::Overdue => Some(lang.pick("*overdue*", "*期限超過*").to_string()),
            PlanState::DueSoon => Some(lang.pick("*due soon*", "*期限間近*").to_string()),
            PlanState::Open => None,
        };
        bits.extend(state);
        bits.join(" · ")
    }
}

fn state_icon(state: PlanState) -> &'static str {
    match state {
        PlanState::Done => ":white_check_mark:",
        PlanState::NotApplicable => ":heavy_minus_sign:",
        PlanState::Waiting => ":hourglass:",
        PlanState::Overdue => ":red_circle:",
        PlanState::DueSoon => ":large_yellow_circle:",
        PlanState::Open => ":white_circle:",
    }
}

fn week_heading(week: Option<NaiveDate>, lang: Lang) -> String {
    match (week, lang) {
        (Some(monday), Lang::En) => format!("*Week of {monday}*"),
        (Some(monday), Lang::Ja) => format!("*{monday} の週*"),
        (None, _) => format!("*{}*", lang.pick("No due date", "期限なし")),
    }
}

/// A line of the plan: a week's heading, or items (one, or a count of settled ones).
struct Line {
    text: String,
    items: usize,
}

/// The plan's lines, week by week (items without a date last); settled items listed
/// or, with `summarise_settled`, counted in one line per week.
fn lines(
    weeks: &BTreeMap<(bool, NaiveDate), Vec<Row<'_>>>,
    summarise: bool,
    lang: Lang,
) -> Vec<Line> {
    let mut out = Vec::new();
    for (&(undated, monday), rows) in weeks {
        out.push(Line {
            text: week_heading((!undated).then_some(monday), lang),
            items: 0,
        });
        for row in rows.iter().filter(|r| !summarise || !r.is_settled()) {
            out.push(Line {
                text: row.line(lang),
                items: 1,
            });
        }
        if summarise {
            let done = rows.iter().filter(|r| r.state == PlanState::Done).count();
            let na = rows
                .iter()
                .filter(|r| r.state == PlanState::NotApplicable)
                .count();
            if done + na > 0 {
                out.push(Line {
                    text: match lang {
                        Lang::En => format!(":white_check_mark: {done} done · {na} N/A"),
                        Lang::Ja => format!(":white_check_mark: 完了 {done} 件・対象外 {na} 件"),
                    },
                    items: done + na,
                });
            }
        }
    }
    out
}

fn fits(lines: &[Line]) -> bool {
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    packed_sections(&texts).len() <= PLAN_SECTIONS
}

/// The plan of `input.customer`: health, then items by due week.
pub fn plan(input: &PlanInput<'_>, lang: Lang) -> Message {
    let standing = standing(input.view, input.states, input.today, input.calendar);
    let mut weeks: BTreeMap<(bool, NaiveDate), Vec<Row<'_>>> = BTreeMap::new();
    for item in input.view.items() {
        let state = input.states.get(&item.key);
        let due = state.and_then(|s| s.due);
        let row = Row {
            item,
            state: plan_state(item, input.states, input.today, input.calendar),
            due,
            assignee: state.and_then(|s| s.assignee.as_deref()),
            waiting_on: waiting_on(item, input.states),
        };
        // Undated items sort after every week.
        let week = due.map_or((true, NaiveDate::MIN), |d| (false, week_of(d)));
        weeks.entry(week).or_default().push(row);
    }
    for rows in weeks.values_mut() {
        // Stable: items due the same day stay in the template's order.
        rows.sort_by_key(|r| r.due);
    }
    let total = input.view.item_count();
    let mut shown = lines(&weeks, false, lang);
    let mut summarised = false;
    if !fits(&shown) {
        shown = lines(&weeks, true, lang);
        summarised = true;
    }
    let mut left_out = 0;
    if !fits(&shown) {
        // The longest prefix that fits (each line is far shorter than a section, so
        // at least one does).
        let (mut lo, mut hi) = (0, shown.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if fits(&shown[..mid]) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        left_out = shown[lo..].iter().map(|l| l.items).sum();
        shown.truncate(lo);
    }

    let title = format!(
        "{} — {}",
        lang.pick("Plan", "計画"),
        clip(&input.customer.name, 100)
    );
    let mut blocks = vec![header(&title), section(&health_line(&standing, lang))];
    if total == 0 {
        blocks.push(section(lang.pick(
            "This customer's checklist has no items.",
            "この顧客のチェックリストには項目がありません。",
        )));
    }
    let texts: Vec<&str> = shown.iter().map(|l| l.text.as_str()).collect();
    blocks.extend(packed_sections(&texts));
    if left_out > 0 {
        blocks.push(context(&match lang {
            Lang::En => format!(
                "…and {left_out} more item{} not shown. `/readiness show` lists every item.",
                plural(left_out)
            ),
            Lang::Ja => format!(
                "…ほか {left_out} 件は省略しました。`/readiness show` ですべての項目を表示します。"
            ),
        }));
    }
    let mut footer = match lang {
        Lang::En => format!(
            "{total} items of the {} checklist · dates are the customer's ({})",
            input.customer.tier.title(),
            input.calendar.tz
        ),
        Lang::Ja => format!(
            "{} のチェックリスト {total} 項目・日付は顧客のタイムゾーン ({})",
            input.customer.tier.title(),
            input.calendar.tz
        ),
    };
    if summarised {
        footer.push_str(lang.pick(
            " · done and N/A items are counted, not listed",
            "・完了と対象外は件数のみ",
        ));
    }
    blocks.push(context(&footer));
    let fallback = format!(
        "{} — {}: {}",
        lang.pick("Plan", "計画"),
        name(&input.customer.name),
        health_name(standing.health, lang)
    );
    Message::new(fallback, blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checklist::{ItemState, Tier};
    use serde_json::Value;

    use crate::domain::{day, japan_weekdays as japan};

    fn customer(tier: Tier) -> Customer {
        Customer {
            tier,
            ..crate::blocks::checklist::tests::customer()
        }
    }

    fn texts(message: &Message) -> String {
        let v = serde_json::to_value(message).unwrap();
        limits::check_message(&v).unwrap();
        v["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                b["text"]["text"]
                    .as_str()
                    .or(b["elements"][0]["text"].as_str())
                    .unwrap_or_default()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn due(d: NaiveDate) -> ItemState {
        ItemState {
            due: Some(d),
            ..Default::default()
        }
    }

    #[test]
    fn the_plan_groups_by_week_and_says_each_items_state() {
        let template = Template::builtin();
        let acme = customer(Tier::Enterprise);
        let view = template.for_tier(acme.tier);
        let cal = japan();
        let today = day(2027, 1, 13);
        let mut states = States::new();
        states.insert(
            "6.1.1".into(),
            ItemState {
                assignee: Some("UCSM".into()),
                ..due(day(2027, 1, 12))
            },
        );
        states.insert("6.1.2".into(), due(day(2027, 1, 15)));
        states.insert("1.1.2".into(), due(day(2027, 1, 15)));
        states.insert(
            "1.1.3".into(),
            ItemState {
                done_at: Some(1),
                ..due(day(2027, 1, 20))
            },
        );
        let input = PlanInput {
            customer: &acme,
            view,
            states: &states,
            today,
            calendar: &cal,
        };
        let en = texts(&plan(&input, Lang::En));
        assert!(en.contains(":red_circle: *Behind*: 1 item overdue, 1 item due within 3 business days (as of 2027-01-13)"), "{en}");
        let week_11 = en.find("*Week of 2027-01-11*").expect("week of the 11th");
        let week_18 = en.find("*Week of 2027-01-18*").expect("week of the 18th");
        let undated = en.find("*No due date*").expect("undated");
        assert!(week_11 < week_18 && week_18 < undated, "{en}");
        assert!(
            en.contains("*6.1.1* Contract signed · <@UCSM> · 2027-01-12 · *overdue*"),
            "{en}"
        );
        assert!(
            en.contains("· Solutions engineer · 2027-01-15 · _waiting on 6.1.1_"),
            "{en}"
        );
        assert!(
            en.contains("*1.1.2*") && en.contains("2027-01-15 · *due soon*"),
            "{en}"
        );
        assert!(en.contains("2027-01-20 · done"), "{en}");
        // The 12th is in the week of the 11th, the 20th in that of the 18th.
        let line_611 = en.find("*6.1.1*").unwrap();
        let line_113 = en.find("*1.1.3*").unwrap();
        assert!(week_11 < line_611 && line_611 < week_18 && week_18 < line_113);
        let ja = texts(&plan(&input, Lang::Ja));
        assert!(
            ja.contains("*遅延*: 期限超過 1 件、3 営業日以内に期限 1 件 (2027-01-13 時点)"),
            "{ja}"
        );
        assert!(
            ja.contains("*2027-01-11 の週*") && ja.contains("_6.1.1 待ち_"),
            "{ja}"
        );
        assert!(
            ja.contains("*期限なし*") && ja.contains("*期限超過*"),
            "{ja}"
        );
    }

    #[test]
    fn a_standard_customers_plan_leaves_out_enterprise_only_items() {
        let template = Template::builtin();
        let standard = customer(Tier::Standard);
        let enterprise_only: Vec<&str> = template
            .items()
            .filter(|i| !i.tiers.is_empty() && !i.tiers.contains(&Tier::Standard))
            .map(|i| i.key.as_str())
            .collect();
        assert!(!enterprise_only.is_empty());
        let states = States::new();
        let cal = japan();
        let input = PlanInput {
            customer: &standard,
            view: template.for_tier(Tier::Standard),
            states: &states,
            today: day(2027, 1, 13),
            calendar: &cal,
        };
        let shown = texts(&plan(&input, Lang::En));
        for key in enterprise_only {
            assert!(!shown.contains(&format!("*{key}*")), "{key} in {shown}");
        }
        assert!(shown.contains(":large_green_circle: *On track*"), "{shown}");
    }

    #[test]
    fn health_lines_say_why_in_both_languages() {
        let s = Standing {
            health: Health::AtRisk,
            overdue: 0,
            due_soon: 2,
            today: day(2027, 1, 12),
        };
        assert_eq!(
            health_line(&s, Lang::En),
            ":large_yellow_circle: *At risk*: 2 items due within 3 business days (as of 2027-01-12)"
        );
        assert_eq!(
            health_line(&s, Lang::Ja),
            ":large_yellow_circle: *要注意*: 3 営業日以内に期限 2 件 (2027-01-12 時点)"
        );
        let fine = Standing {
            health: Health::OnTrack,
            due_soon: 0,
            ..s
        };
        assert!(
            health_line(&fine, Lang::En).starts_with(":large_green_circle: *On track*: nothing")
        );
    }

    /// A template of `n` items with the longest labels, of what grows most when
    /// escaped, each due on a different week, all waiting on many others.
    fn worst_template(n: usize) -> Template {
        let mut toml = String::from(
            "[[categories]]\nnumber = 1\nja = \"カテゴリ\"\nen = \"Category\"\n\n[[sections]]\nkey = \"1.1\"\nja = \"節\"\nen = \"Section\"\n\n",
        );
        let label = "&<".repeat(30);
        for i in 0..n {
            let after = if i >= 10 {
                format!(
                    "after = [{}]\n",
                    (i - 10..i)
                        .map(|k| format!("\"1.1.{k}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                String::new()
            };
            toml.push_str(&format!(
                "[[items]]\nkey = \"1.1.{i}\"\nja = \"{label}\"\nen = \"{label}\"\nowner = \"se\"\n{after}\n"
            ));
        }
        Template::parse(&toml).unwrap()
    }

    fn worst_states(template: &Template, start: NaiveDate) -> States {
        template
            .items()
            .enumerate()
            .map(|(n, item)| {
                (
                    item.key.clone(),
                    ItemState {
                        done_at: (n % 3 == 0).then_some(1),
                        not_applicable: n % 7 == 0,
                        assignee: (n % 2 == 0).then(|| "U0123456789".into()),
                        due: (n % 5 != 0).then(|| start + chrono::Duration::days(n as i64 * 3)),
                        ..Default::default()
                    },
                )
            })
            .collect()
    }

    fn check(message: &Message) -> Value {
        let v = serde_json::to_value(message).unwrap();
        limits::check_message(&v).unwrap();
        v
    }

    #[test]
    fn the_95_items_fit_whole_in_both_languages_and_every_tier() {
        let template = Template::builtin();
        let cal = japan();
        let today = day(2027, 1, 13);
        for tier in [Tier::Standard, Tier::Professional, Tier::Enterprise] {
            let view = template.for_tier(tier);
            // Every item dated, most on different weeks, and assigned: the longest plan.
            let states = worst_states(view, day(2026, 12, 1));
            let mut acme = customer(tier);
            acme.name = "&".repeat(700);
            for lang in [Lang::En, Lang::Ja] {
                let input = PlanInput {
                    customer: &acme,
                    view,
                    states: &states,
                    today,
                    calendar: &cal,
                };
                let shown = texts(&plan(&input, lang));
                for item in view.items() {
                    assert!(
                        shown.contains(&format!("*{}*", item.key)),
                        "{} missing",
                        item.key
                    );
                }
                assert!(!shown.contains("more item") && !shown.contains("省略"));
            }
        }
    }

    #[test]
    fn a_huge_template_is_summarised_then_cut_within_limits() {
        let cal = japan();
        let today = day(2027, 1, 13);
        for n in [95, 300, 2000] {
            let template = worst_template(n);
            let states = worst_states(&template, day(2026, 6, 1));
            let acme = customer(Tier::Enterprise);
            for lang in [Lang::En, Lang::Ja] {
                let input = PlanInput {
                    customer: &acme,
                    view: &template,
                    states: &states,
                    today,
                    calendar: &cal,
                };
                let message = plan(&input, lang);
                let v = check(&message);
                let shown = texts(&message);
                assert!(v["blocks"].as_array().unwrap().len() <= limits::MESSAGE_BLOCKS);
                // Label text never breaks out of its escape.
                assert!(!shown.contains("<&") && shown.contains("&amp;&lt;"), "{n}");
                if n == 2000 {
                    assert!(
                        shown.contains(lang.pick("more items not shown", "件は省略しました")),
                        "{n}"
                    );
                }
            }
        }
        // With no state at all nothing is settled to summarise: the list is cut.
        let template = worst_template(2000);
        let states = States::new();
        let acme = customer(Tier::Enterprise);
        let input = PlanInput {
            customer: &acme,
            view: &template,
            states: &states,
            today,
            calendar: &cal,
        };
        check(&plan(&input, Lang::En));
    }

    #[test]
    fn an_empty_view_says_so() {
        // Every item Enterprise-only: a Standard customer's view has none.
        let template = Template::parse(
            "[[categories]]\nnumber = 1\nja = \"a\"\nen = \"a\"\n\n[[sections]]\nkey = \"1.1\"\nja = \"s\"\nen = \"s\"\n\n[[items]]\nkey = \"1.1.1\"\nja = \"i\"\nen = \"i\"\ntiers = [\"enterprise\"]\n",
        )
        .unwrap();
        let template = template.for_tier(Tier::Standard);
        assert_eq!(template.item_count(), 0);
        let states = States::new();
        let cal = japan();
        let acme = customer(Tier::Standard);
        let input = PlanInput {
            customer: &acme,
            view: template,
            states: &states,
            today: day(2027, 1, 13),
            calendar: &cal,
        };
        let shown = texts(&plan(&input, Lang::En));
        assert!(shown.contains("no items"), "{shown}");
    }
}
