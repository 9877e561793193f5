//! The export for the customer (`/readiness export`, `readiness export`): every item
//! that applies to the customer's tier, by its key and label, with its state, who
//! ticked it and when, assignee, due date, note and evidence links; as one
//! self-contained HTML document (inline CSS, A4 print styles, no outside resources:
//! it is filed, mailed and printed to PDF as it is) and as CSV.
//!
//! Not Block Kit, but a renderer all the same: pure, from what the use case gathered.
//! Everything people typed (names, notes, evidence) is escaped here, whatever it holds.

use std::collections::HashMap;
use std::fmt::Write;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::domain::checklist::{ItemState, States, overall_progress};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::plan::waiting_on;
use crate::domain::report::csv_field;
use crate::domain::template::{Item, Template};

use super::{Message, name};

/// One piece of proof attached to an item, as the export shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportEvidence {
    /// The item's key.
    pub item: String,
    pub url: String,
    /// A file's name, or `None` for a plain link.
    pub label: Option<String>,
    pub note: Option<String>,
    /// Who attached it (a Slack user id).
    pub by: String,
    /// When (Unix ms).
    pub at: i64,
}

/// What the export is made of.
#[derive(Debug, Clone, Copy)]
pub struct ExportInput<'a> {
    pub customer: &'a Customer,
    /// The customer's tier's view of the template (`Template::for_tier`): the export
    /// lists exactly these items.
    pub template: &'a Template,
    pub states: &'a States,
    pub evidence: &'a [ExportEvidence],
    /// Slack user id → the name to show; a person not in it is shown by their id.
    pub names: &'a HashMap<String, String>,
    pub lang: Lang,
    /// The customer's time zone (its tier's), for when items were ticked.
    pub tz: Tz,
    pub generated_at: DateTime<Utc>,
}

/// Where an item stands, as the export says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportState {
    Done,
    NotApplicable,
    /// Not done, and some of its prerequisites are neither done nor N/A.
    Waiting,
    NotDone,
}

impl ExportState {
    pub fn of(item: &Item, state: &ItemState, states: &States) -> Self {
        if state.is_done() {
            ExportState::Done
        } else if state.not_applicable {
            ExportState::NotApplicable
        } else if !waiting_on(item, states).is_empty() {
            ExportState::Waiting
        } else {
            ExportState::NotDone
        }
    }

    /// The CSV's value: stable words a spreadsheet can filter on, in every language.
    pub fn code(self) -> &'static str {
        match self {
            ExportState::Done => "done",
            ExportState::NotApplicable => "n/a",
            ExportState::Waiting => "waiting",
            ExportState::NotDone => "not_done",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            ExportState::Done => lang.pick("Done", "完了"),
            ExportState::NotApplicable => lang.pick("N/A", "対象外"),
            ExportState::Waiting => lang.pick("Waiting", "待ち"),
            ExportState::NotDone => lang.pick("Not done", "未完了"),
        }
    }

    fn class(self) -> &'static str {
        match self {
            ExportState::Done => "done",
            ExportState::NotApplicable => "na",
            ExportState::Waiting => "waiting",
            ExportState::NotDone => "open",
        }
    }
}

/// `readiness-<slug>-<YYYY-MM-DD>`: the files' name without the extension.
pub fn file_stem(customer: &Customer, day: NaiveDate) -> String {
    format!("readiness-{}-{}", customer.slug, day.format("%Y-%m-%d"))
}

/// Text for HTML, as element content or a quoted attribute value.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Only http(s) links are made clickable: anything else (`javascript:`, `data:`) is
/// shown as text.
fn is_web_link(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn person<'a>(names: &'a HashMap<String, String>, id: &'a str) -> &'a str {
    names.get(id).map(String::as_str).unwrap_or(id)
}

fn local_time(ms: i64, tz: Tz) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn evidence_of<'a>(input: &ExportInput<'a>, key: &str) -> Vec<&'a ExportEvidence> {
    input.evidence.iter().filter(|e| e.item == key).collect()
}

/// Print styles: A4 with margins, each category's table header repeated on every
/// page, no row split across pages, colours kept when printed.
const STYLE: &str = r#"
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0 auto; max-width: 190mm; padding: 8mm 0; color: #1d1c1d; background: #fff;
  font: 9.5pt/1.4 system-ui, -apple-system, "Segoe UI", "Hiragino Sans", "Noto Sans CJK JP", "Yu Gothic", sans-serif; }
h1 { font-size: 16pt; margin: 0 0 2mm; }
h2 { font-size: 11.5pt; margin: 6mm 0 2mm; padding-bottom: 1mm; border-bottom: 0.4mm solid #1d1c1d;
  break-after: avoid; page-break-after: avoid; }
.meta { margin: 0 0 4mm; color: #454245; }
.meta td { padding: 0.5mm 4mm 0.5mm 0; border: none; vertical-align: top; overflow-wrap: anywhere; }
.meta td:first-child { white-space: nowrap; }
table.items { width: 100%; border-collapse: collapse; table-layout: fixed; }
table.items thead { display: table-header-group; }
table.items tr { break-inside: avoid; page-break-inside: avoid; }
table.items th, table.items td { border: 0.25mm solid #b5b3b5; padding: 1mm 1.5mm; vertical-align: top;
  text-align: left; overflow-wrap: anywhere; word-break: break-word; }
table.items th { background: #ececec; font-weight: 600; }
tr.section td { background: #f6f6f6; font-weight: 600; }
col.key { width: 8%; } col.label { width: 28%; } col.state { width: 10%; }
col.done { width: 15%; } col.assignee { width: 11%; } col.due { width: 12%; } col.notes { width: 16%; }
td.due { white-space: nowrap; }
.state { font-weight: 600; white-space: nowrap; }
.done .state { color: #1a7f37; } .waiting .state { color: #9a6700; }
.open .state { color: #b42318; } .na .state { color: #6e6e6e; }
.small { color: #454245; font-size: 8.5pt; }
a { color: #0b4f9c; }
footer { margin-top: 6mm; color: #6e6e6e; font-size: 8pt; }
@media print { body { max-width: none; padding: 0; } a { text-decoration: none; } }
"#;

/// The export as one self-contained HTML document.
pub fn html(input: &ExportInput) -> String {
    let lang = input.lang;
    let customer = input.customer;
    let progress = overall_progress(input.template, input.states);
    let title = format!(
        "{} — {}",
        lang.pick("Onboarding readiness", "オンボーディング準備状況"),
        customer.name
    );
    let mut out = String::with_capacity(64 * 1024);
    // `write!` to a String does not fail.
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        lang.code(),
        escape_html(&title),
        escape_html(&title),
    );
    let generated = input
        .generated_at
        .with_timezone(&input.tz)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string();
    let meta = [
        (lang.pick("Customer", "顧客"), customer.name.clone()),
        (
            lang.pick("Tier", "ティア"),
            customer.tier.title().to_string(),
        ),
        (
            lang.pick("Progress", "進捗"),
            format!(
                "{} / {} ({}%)",
                progress.done,
                progress.applicable,
                progress.percent()
            ),
        ),
        (
            lang.pick("Go-live", "本番稼働日"),
            customer
                .golive_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "—".into()),
        ),
        (lang.pick("Generated", "作成日時"), generated),
    ];
    out.push_str("<table class=\"meta\">\n");
    for (name, value) in meta {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><strong>{}</strong></td></tr>",
            escape_html(name),
            escape_html(&value)
        );
    }
    out.push_str("</table>\n");
    let headings = [
        lang.pick("Key", "番号"),
        lang.pick("Item", "項目"),
        lang.pick("State", "状態"),
        lang.pick("Done by / at", "完了者・日時"),
        lang.pick("Assignee", "担当者"),
        lang.pick("Due", "期日"),
        lang.pick("Notes and evidence", "メモ・証跡"),
    ];
    let untouched = ItemState::default();
    for category in &input.template.categories {
        if category.item_count() == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "<h2>{}. {}</h2>",
            category.number,
            escape_html(category.label(lang))
        );
        out.push_str(
            "<table class=\"items\">\n<colgroup><col class=\"key\"><col class=\"label\">\
             <col class=\"state\"><col class=\"done\"><col class=\"assignee\"><col class=\"due\">\
             <col class=\"notes\"></colgroup>\n<thead><tr>",
        );
        for h in headings {
            let _ = write!(out, "<th>{}</th>", escape_html(h));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for section in &category.sections {
            if section.items.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "<tr class=\"section\"><td>{}</td><td colspan=\"6\">{}</td></tr>",
                escape_html(&section.key),
                escape_html(section.label(lang))
            );
            for item in &section.items {
                let state = input.states.get(&item.key).unwrap_or(&untouched);
                row_html(&mut out, input, item, state);
            }
        }
        out.push_str("</tbody>\n</table>\n");
    }
    let _ = writeln!(
        out,
        "<footer>{}</footer>\n</body>\n</html>",
        escape_html(lang.pick(
            "Made by Readiness from the customer's checklist. Times are in the time zone shown above.",
            "Readiness が顧客のチェックリストから作成しました。日時は上記のタイムゾーンです。",
        ))
    );
    out
}

fn row_html(out: &mut String, input: &ExportInput, item: &Item, state: &ItemState) {
    let lang = input.lang;
    let names = input.names;
    let export_state = ExportState::of(item, state, input.states);
    let mut state_cell = format!(
        "<span class=\"state\">{}</span>",
        escape_html(export_state.label(lang))
    );
    if export_state == ExportState::Waiting {
        let _ = write!(
            state_cell,
            "<br><span class=\"small\">{} {}</span>",
            escape_html(lang.pick("on", "前提:")),
            escape_html(&waiting_on(item, input.states).join(", "))
        );
    }
    let done = match (&state.done_by, state.done_at) {
        (by, Some(at)) => format!(
            "{}<br><span class=\"small\">{}</span>",
            escape_html(by.as_deref().map(|b| person(names, b)).unwrap_or("")),
            escape_html(&local_time(at, input.tz))
        ),
        _ => String::new(),
    };
    let assignee = state
        .assignee
        .as_deref()
        .map(|a| escape_html(person(names, a)))
        .unwrap_or_default();
    let due = state.due.map(|d| d.to_string()).unwrap_or_default();
    let mut notes = state
        .note
        .as_deref()
        .map(escape_html)
        .unwrap_or_default()
        .replace('\n', "<br>");
    for e in evidence_of(input, &item.key) {
        if !notes.is_empty() {
            notes.push_str("<br>");
        }
        let shown = escape_html(e.label.as_deref().unwrap_or(&e.url));
        if is_web_link(&e.url) {
            let _ = write!(notes, "<a href=\"{}\">{shown}</a>", escape_html(&e.url));
        } else {
            notes.push_str(&shown);
        }
        let _ = write!(
            notes,
            " <span class=\"small\">({}, {}",
            escape_html(person(names, &e.by)),
            escape_html(&local_time(e.at, input.tz))
        );
        if let Some(note) = e.note.as_deref().filter(|n| !n.is_empty()) {
            let _ = write!(notes, ": {}", escape_html(note));
        }
        notes.push_str(")</span>");
    }
    let _ = writeln!(
        out,
        "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{state_cell}</td><td>{done}</td>\
         <td>{assignee}</td><td class=\"due\">{due}</td><td>{notes}</td></tr>",
        export_state.class(),
        escape_html(&item.key),
        escape_html(item.label(lang)),
    );
}

/// The CSV's header: column names stay English in every language (a spreadsheet or a
/// script reads them); the labels below them are in the export's language.
pub const CSV_HEADER: &str =
    "category,section,key,item,state,waiting_on,done_by,done_at,assignee,due,note,evidence";

/// The export as CSV (RFC 4180: CRLF lines, fields quoted where needed, the way the
/// monthly report's CSV is written), one row per applicable item in the template's
/// order. Evidence is one line per link in its cell: `url (label) by at: note`.
pub fn csv(input: &ExportInput) -> String {
    let lang = input.lang;
    let names = input.names;
    let untouched = ItemState::default();
    let mut out = format!("{CSV_HEADER}\r\n");
    for category in &input.template.categories {
        for section in &category.sections {
            for item in &section.items {
                let state = input.states.get(&item.key).unwrap_or(&untouched);
                let export_state = ExportState::of(item, state, input.states);
                let waiting = if export_state == ExportState::Waiting {
                    waiting_on(item, input.states).join(" ")
                } else {
                    String::new()
                };
                let evidence: Vec<String> = evidence_of(input, &item.key)
                    .into_iter()
                    .map(|e| {
                        let mut line = e.url.clone();
                        if let Some(label) = &e.label {
                            let _ = write!(line, " ({label})");
                        }
                        let _ = write!(
                            line,
                            " {} {}",
                            person(names, &e.by),
                            local_time(e.at, input.tz)
                        );
                        if let Some(note) = e.note.as_deref().filter(|n| !n.is_empty()) {
                            let _ = write!(line, ": {note}");
                        }
                        line
                    })
                    .collect();
                let fields = [
                    format!("{}. {}", category.number, category.label(lang)),
                    format!("{} {}", section.key, section.label(lang)),
                    item.key.clone(),
                    item.label(lang).to_string(),
                    export_state.code().to_string(),
                    waiting,
                    state
                        .done_by
                        .as_deref()
                        .filter(|_| state.is_done())
                        .map(|b| person(names, b).to_string())
                        .unwrap_or_default(),
                    state
                        .done_at
                        .map(|at| local_time(at, input.tz))
                        .unwrap_or_default(),
                    state
                        .assignee
                        .as_deref()
                        .map(|a| person(names, a).to_string())
                        .unwrap_or_default(),
                    state.due.map(|d| d.to_string()).unwrap_or_default(),
                    state.note.clone().unwrap_or_default(),
                    evidence.join("\n"),
                ];
                let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                out.push_str(&row.join(","));
                out.push_str("\r\n");
            }
        }
    }
    out
}

/// The message the files are uploaded under in the customer's channel.
pub fn posted(customer: &Customer, stem: &str, lang: Lang) -> Message {
    let customer = name(&customer.name);
    Message::plain(match lang {
        Lang::En => format!(
            ":page_facing_up: The onboarding checklist of *{customer}*, for filing: `{stem}.html` (opens in a browser, prints to PDF) and `{stem}.csv`, in this thread."
        ),
        Lang::Ja => format!(
            ":page_facing_up: *{customer}* のオンボーディング チェックリスト（保管用）：`{stem}.html`（ブラウザで開き、PDF に印刷できます）と `{stem}.csv` をこのスレッドに添付します。"
        ),
    })
}

/// `export` accepted: the files are on their way to `channel`.
pub fn being_posted(customer: &Customer, stem: &str, channel: &str, lang: Lang) -> Message {
    let customer = name(&customer.name);
    Message::plain(match lang {
        Lang::En => format!(
            ":page_facing_up: The export of *{customer}* is being posted in <#{channel}>: `{stem}.html` and `{stem}.csv`."
        ),
        Lang::Ja => format!(
            ":page_facing_up: *{customer}* のエクスポートを <#{channel}> に投稿しています：`{stem}.html` と `{stem}.csv`。"
        ),
    })
}

/// `export` for a customer whose channel is not there yet.
pub fn no_channel(lang: Lang) -> Message {
    Message::plain(lang.pick(
        "This customer has no channel yet, so the export would have nowhere to go.",
        "この顧客にはまだチャンネルがないため、エクスポートを投稿できません。",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checklist::Tier;
    use chrono::TimeZone;

    fn customer(tier: Tier) -> Customer {
        Customer {
            tier,
            slug: "globex".into(),
            name: "Globex".into(),
            ..crate::blocks::checklist::tests::customer()
        }
    }

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, h, 30, 0).unwrap()
    }

    struct Fixture {
        template: Template,
        customer: Customer,
        states: States,
        evidence: Vec<ExportEvidence>,
        names: HashMap<String, String>,
    }

    impl Fixture {
        fn new(tier: Tier) -> Self {
            let mut states = States::new();
            states.insert(
                "1.1.1".into(),
                ItemState {
                    done_by: Some("U7".into()),
                    done_at: Some(at(1).timestamp_millis()),
                    ..ItemState::default()
                },
            );
            states.insert(
                "1.1.2".into(),
                ItemState {
                    assignee: Some("U8".into()),
                    due: NaiveDate::from_ymd_opt(2027, 1, 15),
                    note: Some("waiting for \"IT\" & <legal>".into()),
                    ..ItemState::default()
                },
            );
            states.insert(
                "1.1.3".into(),
                ItemState {
                    not_applicable: true,
                    ..ItemState::default()
                },
            );
            let evidence = vec![ExportEvidence {
                item: "1.1.1".into(),
                url: "https://files.example.com/soc2.pdf?a=1&b=2".into(),
                label: Some("soc2.pdf".into()),
                note: Some("SOC 2 Type II".into()),
                by: "U7".into(),
                at: at(2).timestamp_millis(),
            }];
            let names = HashMap::from([("U7".to_string(), "Sam Tanaka".to_string())]);
            Fixture {
                template: Template::builtin(),
                customer: customer(tier),
                states,
                evidence,
                names,
            }
        }

        fn input(&self, lang: Lang) -> ExportInput<'_> {
            ExportInput {
                customer: &self.customer,
                template: self.template.for_tier(self.customer.tier),
                states: &self.states,
                evidence: &self.evidence,
                names: &self.names,
                lang,
                tz: chrono_tz::Asia::Tokyo,
                generated_at: at(9),
            }
        }
    }

    fn csv_rows(text: &str) -> Vec<csv::StringRecord> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        assert_eq!(header.iter().collect::<Vec<_>>().join(","), CSV_HEADER);
        reader.records().map(|r| r.unwrap()).collect()
    }

    #[test]
    fn escaping_covers_markup_quotes_and_ampersands() {
        assert_eq!(
            escape_html("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape_html("a \"b\" & c"), "a &quot;b&quot; &amp; c");
        assert_eq!(escape_html("&amp;"), "&amp;amp;");
        assert_eq!(escape_html("日本語"), "日本語");
    }

    #[test]
    fn every_applicable_item_is_listed_by_key_and_label() {
        for tier in [Tier::Standard, Tier::Professional, Tier::Enterprise] {
            let f = Fixture::new(tier);
            for lang in [Lang::En, Lang::Ja] {
                let input = f.input(lang);
                let html = html(&input);
                let rows = csv_rows(&csv(&input));
                let view = f.template.for_tier(tier);
                assert_eq!(rows.len(), view.item_count(), "{tier:?}");
                for (item, row) in view.items().zip(&rows) {
                    let cell = format!("<td>{}</td>", escape_html(&item.key));
                    assert!(html.contains(&cell), "{tier:?} {lang:?}: {}", item.key);
                    assert!(
                        html.contains(&escape_html(item.label(lang))),
                        "{}",
                        item.key
                    );
                    assert_eq!(&row[2], item.key.as_str());
                    assert_eq!(&row[3], item.label(lang));
                }
            }
        }
    }

    #[test]
    fn a_standard_customer_s_export_leaves_out_the_enterprise_items() {
        let standard = Fixture::new(Tier::Standard);
        let enterprise = Fixture::new(Tier::Enterprise);
        for key in ["3.1.3", "3.1.4"] {
            let cell = format!("<td>{key}</td>");
            let s = standard.input(Lang::En);
            assert!(!html(&s).contains(&cell), "{key}");
            assert!(!csv_rows(&csv(&s)).iter().any(|r| &r[2] == key), "{key}");
            let e = enterprise.input(Lang::En);
            assert!(html(&e).contains(&cell), "{key}");
            assert!(csv_rows(&csv(&e)).iter().any(|r| &r[2] == key), "{key}");
        }
        assert!(!html(&standard.input(Lang::En)).contains("Phone support"));
    }

    #[test]
    fn the_html_is_self_contained_in_the_channel_s_language_with_print_styles() {
        let f = Fixture::new(Tier::Enterprise);
        let en = html(&f.input(Lang::En));
        let ja = html(&f.input(Lang::Ja));
        assert!(en.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(ja.starts_with("<!DOCTYPE html>\n<html lang=\"ja\">"));
        assert!(ja.contains("完了") && ja.contains("担当者") && !ja.contains(">Assignee<"));
        assert!(en.contains(">Assignee<") && !en.contains("担当者"));
        for doc in [&en, &ja] {
            assert!(doc.contains("@page { size: A4;"));
            assert!(doc.contains("thead { display: table-header-group; }"));
            assert!(doc.contains("break-inside: avoid"));
            // Nothing fetched from anywhere: no scripts, stylesheets, images or fonts.
            for outside in ["<script", "<link", "<img", "@import", "url(", "src="] {
                assert!(!doc.contains(outside), "{outside}");
            }
            assert!(doc.trim_end().ends_with("</html>"));
        }
    }

    #[test]
    fn ticked_items_show_who_and_when_and_the_rest_their_state() {
        let f = Fixture::new(Tier::Enterprise);
        let doc = html(&f.input(Lang::En));
        // Ticked by U7 (named) at 01:30 UTC, shown in Tokyo time.
        assert!(doc.contains("Sam Tanaka<br><span class=\"small\">2026-12-04 10:30</span>"));
        assert!(
            doc.contains("<td>U8</td><td class=\"due\">2027-01-15</td>"),
            "assignee and due"
        );
        assert!(doc.contains("<tr class=\"na\"><td>1.1.3</td>"));
        // 6.1.2 waits on 6.1.1, which is not done.
        assert!(doc.contains("<tr class=\"waiting\"><td>6.1.2</td>"));
        assert!(doc.contains("on 6.1.1"));
        assert!(
            doc.contains("<a href=\"https://files.example.com/soc2.pdf?a=1&amp;b=2\">soc2.pdf</a>")
        );
        let rows = csv_rows(&csv(&f.input(Lang::En)));
        let row = |key: &str| rows.iter().find(|r| &r[2] == key).unwrap().clone();
        let done = row("1.1.1");
        assert_eq!(&done[4], "done");
        assert_eq!(&done[6], "Sam Tanaka");
        assert_eq!(&done[7], "2026-12-04 10:30");
        assert_eq!(
            &done[11],
            "https://files.example.com/soc2.pdf?a=1&b=2 (soc2.pdf) Sam Tanaka 2026-12-04 11:30: SOC 2 Type II"
        );
        let open = row("1.1.2");
        assert_eq!(&open[4], "not_done");
        assert_eq!(&open[8], "U8");
        assert_eq!(&open[9], "2027-01-15");
        assert_eq!(&open[10], "waiting for \"IT\" & <legal>");
        assert_eq!(&row("1.1.3")[4], "n/a");
        let waiting = row("6.1.2");
        assert_eq!((&waiting[4], &waiting[5]), ("waiting", "6.1.1"));
    }

    #[test]
    fn what_people_typed_is_escaped_everywhere() {
        let mut f = Fixture::new(Tier::Enterprise);
        f.customer.name = "<script>alert(1)</script> \"Globex\" & Co".into();
        f.names
            .insert("U8".into(), "<img src=x onerror=alert(2)>".into());
        f.states.get_mut("1.1.2").unwrap().note =
            Some("<script>alert(3)</script>\nline two".into());
        f.evidence.push(ExportEvidence {
            item: "1.1.2".into(),
            url: "javascript:alert(4)".into(),
            label: None,
            note: Some("\"><script>alert(5)</script>".into()),
            by: "U8".into(),
            at: at(3).timestamp_millis(),
        });
        f.evidence.push(ExportEvidence {
            item: "1.1.2".into(),
            url: "https://x.example/\"onmouseover=\"alert(6)".into(),
            label: Some("<b>bold</b>".into()),
            note: None,
            by: "U7".into(),
            at: at(3).timestamp_millis(),
        });
        let doc = html(&f.input(Lang::En));
        assert!(!doc.contains("<script"), "{doc}");
        assert!(!doc.contains("<img"));
        assert!(!doc.contains("<b>bold"));
        assert!(!doc.contains("href=\"javascript"));
        assert!(!doc.contains("\"onmouseover"));
        assert!(doc.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;Globex&quot; &amp; Co"));
        assert!(doc.contains("&lt;script&gt;alert(3)&lt;/script&gt;<br>line two"));
        assert!(doc.contains("javascript:alert(4)"), "shown as text");
        assert!(doc.contains("href=\"https://x.example/&quot;onmouseover=&quot;alert(6)\""));
        // The CSV keeps the text as typed, and reads back the same.
        let rows = csv_rows(&csv(&f.input(Lang::En)));
        let row = rows.iter().find(|r| &r[2] == "1.1.2").unwrap();
        assert_eq!(&row[8], "<img src=x onerror=alert(2)>");
        assert_eq!(&row[10], "<script>alert(3)</script>\nline two");
        assert!(row[11].contains("javascript:alert(4) <img src=x onerror=alert(2)>"));
    }

    #[test]
    fn the_csv_reads_back_cell_for_cell_in_japanese_too() {
        let mut f = Fixture::new(Tier::Professional);
        f.states.get_mut("1.1.2").unwrap().note =
            Some("カンマ, \"引用\"\r\n改行、全角カンマ".into());
        let input = f.input(Lang::Ja);
        let text = csv(&input);
        assert!(text.ends_with("\r\n"));
        let rows = csv_rows(&text);
        let view = f.template.for_tier(Tier::Professional);
        assert_eq!(rows.len(), view.item_count());
        for row in &rows {
            assert_eq!(row.len(), CSV_HEADER.split(',').count());
        }
        let row = rows.iter().find(|r| &r[2] == "1.1.2").unwrap();
        assert_eq!(&row[10], "カンマ, \"引用\"\r\n改行、全角カンマ");
        assert_eq!(&row[4], "not_done");
        let first = view.categories[0].clone();
        assert_eq!(&rows[0][0], format!("1. {}", first.ja).as_str());
    }

    #[test]
    fn the_files_are_named_by_slug_and_day() {
        let c = customer(Tier::Standard);
        assert_eq!(
            file_stem(&c, NaiveDate::from_ymd_opt(2027, 1, 11).unwrap()),
            "readiness-globex-2027-01-11"
        );
    }
}
