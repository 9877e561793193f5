//! The monthly report message: readiness, the tier's targets, SLA attainment per
//! priority and the breaches of one month.

use std::collections::HashMap;

use super::ticket::{business_time, target_name};
use super::{Message, clip, clip_mrkdwn, context, escape, header, limits, name, section, texts};
use crate::domain::checklist::{Progress, bar};
use crate::domain::csat::CsatSummary;
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::report::{Attainment, Breach, Month, SlaReport};
use crate::domain::sla::{Share, Target};

const BAR_WIDTH: usize = 10;

/// Breaches listed one by one; the rest are counted. Past fifteen a list stops being
/// read, and the CSV has every ticket.
const BREACHES_LISTED: usize = 15;

/// A customer name in the header, leaving room for the month after it.
const NAME_IN_HEADER: usize = 100;

/// A category label in the readiness list.
const LABEL_CHARS: usize = 200;

pub struct ReportInput<'a> {
    pub customer: &'a Customer,
    pub month: Month,
    /// Readiness, done over applicable, as it stands when the report is made.
    pub overall: Progress,
    /// Label and progress of each category, in template order.
    pub categories: Vec<(String, Progress)>,
    pub sla: &'a SlaReport,
    /// The tier's availability target from the policy, e.g. "99.9%".
    pub availability: &'a str,
    /// Permalinks of breached tickets' messages, by ticket id (missing: shown without a link).
    pub links: &'a HashMap<i64, String>,
    /// The customer's answers to the month's tickets, per priority (P0 … P3).
    pub csat: &'a [CsatSummary; 4],
}

fn progress_text(p: Progress) -> String {
    format!(
        "{} {}/{} ({}%)",
        bar(p, BAR_WIDTH),
        p.done,
        p.applicable,
        p.percent()
    )
}

/// The share met, rounded down to a tenth of a percent: "66.6%", "100%". Rounded
/// down so that one miss in a thousand never reads as 100%.
fn share_met(a: &Attainment) -> String {
    let permille = u64::from(a.met) * 1000 / u64::from(a.measured.max(1));
    Share::from_permille(u32::try_from(permille).unwrap_or(1000)).to_string()
}

fn attainment_text(a: &Attainment, lang: Lang) -> String {
    let (Some(median), Some(p90)) = (a.median, a.p90) else {
        return texts::NOTHING_MEASURED_YET.get(lang).to_string();
    };
    format!(
        "{}/{} {} ({}) · {} {} · p90 {}",
        a.met,
        a.measured,
        lang.pick("met", "達成"),
        share_met(a),
        lang.pick("median", "中央値"),
        business_time(median, lang),
        business_time(p90, lang)
    )
}

/// A permalink as mrkdwn, or the bare label when there is none or it could break out
/// of the link (a permalink never holds these characters).
fn ticket_link(breach: &Breach, links: &HashMap<i64, String>) -> String {
    let label = format!("T-{}", breach.number);
    match links.get(&breach.ticket_id) {
        Some(url) if !url.is_empty() && !url.contains(['<', '>', '|', ' ', '\n']) => {
            format!("<{url}|{label}>")
        }
        _ => label,
    }
}

fn breach_line(breach: &Breach, links: &HashMap<i64, String>, lang: Lang) -> String {
    format!(
        "• {} · *{}* · {}: {} {}",
        ticket_link(breach, links),
        breach.priority.as_str(),
        target_name(breach.target, lang),
        lang.pick("over by", "超過"),
        business_time(breach.over, lang)
    )
}

/// `head`, then as many `lines` as fit in `max` characters, then "…and N more" for the
/// rest of `total` (which counts lines not passed too). Whole lines only: a cut link
/// would show its markup.
fn lines_within(
    head: String,
    lines: &[String],
    total: usize,
    max: usize,
    more: impl Fn(usize) -> String,
) -> String {
    let mut text = head;
    let mut length = text.chars().count();
    let mut shown = 0;
    for line in lines {
        let left_after = total.saturating_sub(shown + 1);
        let room_for_more = match left_after {
            0 => 0,
            n => 1 + more(n).chars().count(),
        };
        let line_length = line.chars().count();
        if length + 1 + line_length + room_for_more > max {
            break;
        }
        text.push('\n');
        text.push_str(line);
        length += 1 + line_length;
        shown += 1;
    }
    if total > shown {
        text.push('\n');
        text.push_str(&more(total - shown));
    }
    clip_mrkdwn(&text, max)
}

fn more(n: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!("…and {n} more"),
        Lang::Ja => format!("…ほか {n} 件"),
    }
}

/// `report` refused: the customer has no channel to post it in.
pub fn no_channel(lang: Lang) -> Message {
    Message::plain(lang.pick(
        "This customer has no channel yet, so the report would have nowhere to go.",
        "この顧客にはまだチャンネルがないため、レポートを投稿できません。",
    ))
}

/// `report` accepted: the month's report of `customer` is on its way to `channel`.
pub fn being_posted(customer: &Customer, month: Month, channel: &str, lang: Lang) -> Message {
    let month = month.label();
    let customer = name(&customer.name);
    Message::plain(match lang {
        Lang::En => format!(
            ":bar_chart: The {month} report for *{customer}* is being posted in <#{channel}>, with its CSV and JSON."
        ),
        Lang::Ja => format!(
            ":bar_chart: *{customer}* の {month} のレポートを <#{channel}> に投稿しています（CSV と JSON 付き）。"
        ),
    })
}

/// The report of `input.month`, posted in the customer channel or to the CSM.
pub fn report_message(input: &ReportInput<'_>, lang: Lang) -> Message {
    let customer = input.customer;
    let month = input.month.label();
    let title = format!(
        "{} — {} — {month}",
        lang.pick("Monthly report", "月次レポート"),
        clip(&customer.name, NAME_IN_HEADER)
    );
    let mut blocks = vec![header(&title)];

    let categories: Vec<String> = input
        .categories
        .iter()
        .map(|(label, p)| {
            format!(
                "{} {}",
                progress_text(*p),
                escape(&clip(label, LABEL_CHARS))
            )
        })
        .collect();
    blocks.push(section(&lines_within(
        format!(
            "*{}* {}",
            lang.pick("Readiness", "準備状況"),
            progress_text(input.overall)
        ),
        &categories,
        categories.len(),
        limits::SECTION_TEXT,
        |n| more(n, lang),
    )));

    blocks.push(section(&format!(
        "*{}* {} · *{}* {}",
        lang.pick("Tier", "ティア"),
        customer.tier.title(),
        lang.pick("Availability target", "可用性目標"),
        escape(&clip(input.availability, 100))
    )));

    let mut sla = vec![format!(
        "*{}* {}",
        lang.pick("SLA attainment", "SLA 達成状況"),
        lang.pick(
            "(tickets opened this month, business time)",
            "（当月起票のチケット、営業時間ベース）"
        )
    )];
    for row in &input.sla.rows {
        sla.push(format!(
            "*{}* · {} {}",
            row.priority.as_str(),
            row.opened,
            lang.pick("opened", "件起票")
        ));
        for (target, attainment) in [
            (Target::FirstResponse, &row.first_response),
            (Target::Resolution, &row.resolution),
        ] {
            sla.push(format!(
                "    {}: {}",
                target_name(target, lang),
                attainment_text(attainment, lang)
            ));
        }
        let next = input.sla.next_responses[row.priority.index()];
        if next.measured() > 0 {
            sla.push(format!(
                "    {}: {}/{} {} · {} {}",
                target_name(Target::NextResponse, lang),
                next.met,
                next.measured(),
                lang.pick("met", "達成"),
                next.breached,
                lang.pick("breached", "件超過")
            ));
        }
    }
    blocks.push(section(&sla.join("\n")));

    if !input.sla.weeks.is_empty() {
        let weeks: Vec<String> = input
            .sla
            .weeks
            .iter()
            .map(|w| format!("{} {}/{}", w.week_start.format("%m/%d"), w.met, w.measured))
            .collect();
        blocks.push(context(&format!(
            "{}: {}",
            lang.pick(
                "Targets met by week opened (weeks from Monday)",
                "起票週別の目標達成（月曜始まり）"
            ),
            weeks.join(" · ")
        )));
    }

    blocks.push(section(&super::csat::report_lines(input.csat, lang)));

    let breaches = &input.sla.breaches;
    if breaches.is_empty() {
        blocks.push(section(&format!(
            ":white_check_mark: {}",
            lang.pick("No SLA breaches.", "SLA 超過はありません。")
        )));
    } else {
        let lines: Vec<String> = breaches
            .iter()
            .take(BREACHES_LISTED)
            .map(|b| breach_line(b, input.links, lang))
            .collect();
        blocks.push(section(&lines_within(
            format!(
                ":red_circle: *{}* ({})",
                lang.pick("SLA breaches, worst first", "SLA 超過（超過の大きい順）"),
                breaches.len()
            ),
            &lines,
            breaches.len(),
            limits::SECTION_TEXT,
            |n| more(n, lang),
        )));
    }

    let text = match lang {
        Lang::En => format!(
            "{title}: readiness {}%, {} SLA breach{}",
            input.overall.percent(),
            breaches.len(),
            if breaches.len() == 1 { "" } else { "es" }
        ),
        Lang::Ja => format!(
            "{title}: 準備状況 {}%、SLA 超過 {} 件",
            input.overall.percent(),
            breaches.len()
        ),
    };
    Message::new(text, blocks)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveDate};

    use super::*;
    use crate::domain::report::{PriorityRow, WeekPoint};
    use crate::domain::sla::Priority;

    fn customer(name: &str) -> Customer {
        Customer {
            name: name.into(),
            ..crate::blocks::checklist::tests::customer()
        }
    }

    fn progress(done: usize, applicable: usize) -> Progress {
        Progress { done, applicable }
    }

    fn breach(number: i64, target: Target, over: Duration) -> Breach {
        Breach {
            ticket_id: 100 + number,
            number,
            priority: Priority::P0,
            target,
            over,
            channel_id: "C1".into(),
            ts: None,
        }
    }

    fn sla(breaches: Vec<Breach>) -> SlaReport {
        let attainment = |measured, met, median, p90| Attainment {
            measured,
            met,
            median: Some(Duration::minutes(median)),
            p90: Some(Duration::minutes(p90)),
        };
        let quiet = |priority| PriorityRow {
            priority,
            opened: 0,
            first_response: Attainment::default(),
            resolution: Attainment::default(),
        };
        SlaReport {
            rows: vec![
                PriorityRow {
                    priority: Priority::P0,
                    opened: 4,
                    first_response: attainment(3, 2, 10, 60),
                    resolution: attainment(2, 1, 180, 360),
                },
                PriorityRow {
                    priority: Priority::P1,
                    opened: 4,
                    first_response: attainment(3, 3, 60, 90),
                    resolution: Attainment::default(),
                },
                quiet(Priority::P2),
                quiet(Priority::P3),
            ],
            breaches,
            weeks: vec![
                WeekPoint {
                    week_start: NaiveDate::from_ymd_opt(2026, 10, 26).unwrap(),
                    measured: 0,
                    met: 0,
                },
                WeekPoint {
                    week_start: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
                    measured: 4,
                    met: 2,
                },
            ],
            next_responses: [
                crate::domain::report::NextResponseCount {
                    met: 2,
                    breached: 1,
                },
                Default::default(),
                Default::default(),
                Default::default(),
            ],
        }
    }

    fn check(message: &Message) -> String {
        let v = serde_json::to_value(message).unwrap();
        limits::check_message(&v).unwrap();
        assert!(!message.text.is_empty());
        // The blocks as JSON, line breaks unescaped so that expected lines read as shown.
        serde_json::to_string(&message.blocks)
            .unwrap()
            .replace("\\n", "\n")
    }

    fn render(
        customer: &Customer,
        categories: Vec<(String, Progress)>,
        sla: &SlaReport,
        links: &HashMap<i64, String>,
        lang: Lang,
    ) -> Message {
        report_message(
            &ReportInput {
                customer,
                month: Month::parse("2026-11").unwrap(),
                overall: progress(12, 20),
                categories,
                sla,
                availability: "99.9%",
                links,
                csat: &[CsatSummary::default(); 4],
            },
            lang,
        )
    }

    #[test]
    fn the_report_shows_readiness_targets_attainment_and_linked_breaches() {
        let acme = customer("Acme");
        let report = sla(vec![
            breach(2, Target::Resolution, Duration::hours(2)),
            breach(4, Target::FirstResponse, Duration::minutes(45)),
        ]);
        let links = HashMap::from([(102, "https://acme.slack.com/archives/C1/p1".to_string())]);
        let categories = vec![
            ("1. Security <review>".to_string(), progress(2, 4)),
            ("2. SSO".to_string(), progress(0, 0)),
        ];
        let m = render(&acme, categories.clone(), &report, &links, Lang::En);
        let shown = check(&m);
        for expected in [
            "Monthly report — Acme — 2026-11",
            "*Readiness* ▰▰▰▰▰▰▱▱▱▱ 12/20 (60%)",
            "▰▰▰▰▰▱▱▱▱▱ 2/4 (50%) 1. Security &lt;review&gt;",
            "▰▰▰▰▰▰▰▰▰▰ 0/0 (100%) 2. SSO",
            "*Tier* Enterprise · *Availability target* 99.9%",
            "*P0* · 4 opened",
            "First response: 2/3 met (66.6%) · median 10 business minutes · p90 1 business hour",
            "Resolution: 1/2 met (50%) · median 3 business hours · p90 6 business hours",
            "First response: 3/3 met (100%) · median 1 business hour · p90 1h 30m of business time",
            "Resolution: nothing closed or breached yet",
            "Next response: 2/3 met · 1 breached",
            "*P3* · 0 opened",
            "10/26 0/0 · 11/02 2/4",
            "*SLA breaches, worst first* (2)",
            "• <https://acme.slack.com/archives/C1/p1|T-2> · *P0* · Resolution: over by 2 business hours",
            "• T-4 · *P0* · First response: over by 45 business minutes",
        ] {
            assert!(shown.contains(expected), "{expected}\nin\n{shown}");
        }
        assert!(!shown.contains("more"), "{shown}");
        assert_eq!(
            shown.matches("Next response").count(),
            1,
            "quiet priorities have no next-response line: {shown}"
        );
        assert_eq!(
            m.text,
            "Monthly report — Acme — 2026-11: readiness 60%, 2 SLA breaches"
        );

        let m = render(&acme, categories, &report, &links, Lang::Ja);
        let shown = check(&m);
        assert!(shown.contains("月次レポート — Acme — 2026-11"), "{shown}");
        assert!(
            shown.contains(
                "初回応答: 2/3 達成 (66.6%) · 中央値 営業時間 10 分 · p90 営業時間 1 時間"
            ),
            "{shown}"
        );
        assert!(shown.contains("次回応答: 2/3 達成 · 1 件超過"), "{shown}");
        assert_eq!(
            m.text,
            "月次レポート — Acme — 2026-11: 準備状況 60%、SLA 超過 2 件"
        );
    }

    #[test]
    fn a_month_without_breaches_says_so() {
        let m = render(
            &customer("Acme"),
            vec![],
            &sla(vec![]),
            &HashMap::new(),
            Lang::En,
        );
        let shown = check(&m);
        assert!(shown.contains("No SLA breaches."), "{shown}");
        assert!(m.text.ends_with("0 SLA breaches"), "{}", m.text);
    }

    #[test]
    fn fifteen_breaches_are_listed_and_the_rest_counted() {
        let breaches: Vec<Breach> = (1..=40)
            .map(|n| breach(n, Target::FirstResponse, Duration::minutes(100 - n)))
            .collect();
        let m = render(
            &customer("Acme"),
            vec![],
            &sla(breaches),
            &HashMap::new(),
            Lang::En,
        );
        let shown = check(&m);
        assert!(shown.contains("• T-15 ·"), "{shown}");
        assert!(!shown.contains("• T-16 ·"), "{shown}");
        assert!(shown.contains("…and 25 more"), "{shown}");
        assert!(
            render(
                &customer("Acme"),
                vec![],
                &sla((1..=16)
                    .map(|n| breach(n, Target::Resolution, Duration::hours(n)))
                    .collect()),
                &HashMap::new(),
                Lang::Ja
            )
            .blocks
            .iter()
            .any(|b| serde_json::to_string(b).unwrap().contains("…ほか 1 件"))
        );
    }

    #[test]
    fn long_names_many_categories_and_500_breaches_stay_within_limits() {
        let long = "とても長い顧客名 <&> ".repeat(300);
        let categories: Vec<(String, Progress)> = (0..300)
            .map(|n| (format!("{n}. {long}"), progress(n % 7, 6 + n % 7)))
            .collect();
        let breaches: Vec<Breach> = (1..=500)
            .map(|n| breach(n, Target::Resolution, Duration::minutes(1000 - n)))
            .collect();
        let links: HashMap<i64, String> = (1..=500)
            .map(|n| {
                (
                    100 + n,
                    format!("https://acme.slack.com/archives/C1/p{}", "9".repeat(300)),
                )
            })
            .collect();
        let report = sla(breaches);
        for lang in [Lang::En, Lang::Ja] {
            let m = report_message(
                &ReportInput {
                    customer: &customer(&long),
                    month: Month::parse("2026-11").unwrap(),
                    overall: progress(3, 1000),
                    categories: categories.clone(),
                    sla: &report,
                    availability: &long,
                    links: &links,
                    csat: &[CsatSummary {
                        answered: u32::MAX,
                        good: u32::MAX - 1,
                    }; 4],
                },
                lang,
            );
            let shown = check(&m);
            assert!(shown.contains("2026-11"), "the month survives a long name");
            // The header is plain text; everywhere else user text is escaped.
            let body = serde_json::to_string(&m.blocks[1..]).unwrap();
            assert!(!body.contains("<&>"), "{body}");
            let last = serde_json::to_value(m.blocks.last().unwrap()).unwrap();
            let breaches = last["text"]["text"].as_str().unwrap();
            let listed = breaches.matches("\n• ").count();
            assert!((1..=BREACHES_LISTED).contains(&listed), "{breaches}");
            assert!(breaches.ends_with(&more(500 - listed, lang)), "{breaches}");
        }
    }

    #[test]
    fn lines_stop_whole_and_count_the_rest() {
        let lines: Vec<String> = (0..5).map(|n| format!("line {n}")).collect();
        let more = |n| format!("+{n}");
        assert_eq!(
            lines_within("H".into(), &lines, 5, 100, more),
            "H\nline 0\nline 1\nline 2\nline 3\nline 4"
        );
        // "H" and two lines are 15 characters, "\n+3" 3 more; a third line would make 25.
        assert_eq!(
            lines_within("H".into(), &lines, 5, 18, more),
            "H\nline 0\nline 1\n+3"
        );
        assert_eq!(
            lines_within("H".into(), &lines[..2], 9, 100, more),
            "H\nline 0\nline 1\n+7"
        );
    }

    #[test]
    fn a_link_that_could_break_the_markup_is_dropped() {
        let b = breach(7, Target::Resolution, Duration::hours(1));
        let links = HashMap::from([(107, "https://x|<!here>".to_string())]);
        assert_eq!(ticket_link(&b, &links), "T-7");
        assert_eq!(ticket_link(&b, &HashMap::new()), "T-7");
    }
}
