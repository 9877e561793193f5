//! The catalogue: the shared vocabulary and the texts of every refusal a parser
//! gives (a mistyped command, a `<when>`, a date), each with both languages side by
//! side. `catalogue_entries_have_both_languages` holds every entry to that, so a new
//! error cannot reach a Japanese reader in English.
//!
//! A text's `{name}` is filled by [`Text::fill`]; the caller escapes what it fills in
//! (user input), the catalogue's own words are written to read as-is in mrkdwn.
//!
//! Texts that are one sentence of one renderer still sit in that renderer as
//! `lang.pick(en, ja)` (see `domain::i18n`): only what several places share, and the
//! errors, live here.

use crate::domain::command::Form;
use crate::domain::i18n::Lang;
use crate::domain::schedule::WhenError;

/// One text in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub en: &'static str,
    pub ja: &'static str,
}

impl Text {
    pub const fn new(en: &'static str, ja: &'static str) -> Self {
        Text { en, ja }
    }

    pub fn get(self, lang: Lang) -> &'static str {
        lang.pick(self.en, self.ja)
    }

    /// The text in `lang` with each `{name}` replaced by its value.
    pub fn fill(self, lang: Lang, values: &[(&str, &str)]) -> String {
        let mut text = self.get(lang).to_string();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

// The vocabulary: one name per concept in each language.

/// A support request. Japanese says チケット everywhere (not 依頼).
pub const TICKET: Text = Text::new("ticket", "チケット");
pub const CUSTOMER: Text = Text::new("customer", "顧客");
pub const USE: Text = Text::new("Use:", "使い方：");
pub const DUE: Text = Text::new("due", "期限");

/// The parts of a usage line, as help names them in each language. A usage line is
/// written once (`Form::usage`, English) and shown through [`usage`].
const USAGE_PARTS: &[Text] = &[
    Text::new("[customer]", "[顧客]"),
    Text::new("<customer>", "<顧客>"),
    Text::new("[category]", "[カテゴリ]"),
    Text::new("<item>", "<項目>"),
    Text::new("@user|@group", "@ユーザー|@グループ"),
    Text::new("@user", "@ユーザー"),
    Text::new("<name>", "<名前>"),
    Text::new("#existing", "#既存"),
    Text::new("<summary>", "<概要>"),
    Text::new("<text>", "<内容>"),
    Text::new(
        "@on-call @lead-group @manager",
        "@当番 @リーダー群 @マネージャー",
    ),
];

/// A usage line in the reader's language: the same command, its parts named as help
/// names them. Not escaped: `help::error_with_usage` escapes it.
pub fn usage(line: &str, lang: Lang) -> String {
    match lang {
        Lang::En => line.to_string(),
        Lang::Ja => USAGE_PARTS.iter().fold(line.to_string(), |line, part| {
            line.replace(part.en, part.ja)
        }),
    }
}

/// The usage line of `form` in the reader's language.
pub fn form_usage(form: Form, lang: Lang) -> String {
    usage(form.usage(), lang)
}

// Refusals of a `<when>` (`domain::schedule::WhenError`).

pub const WHEN_MISSING: Text = Text::new(
    "Say when: `in 2h`, `today 17:00`, `tomorrow 10:00`, `2026-12-01 09:30` or `every monday 09:00`.",
    "日時を指定してください：`in 2h`、`today 17:00`、`tomorrow 10:00`、`2026-12-01 09:30`、`every monday 09:00` など。",
);
pub const WHEN_MISSING_DURATION: Text = Text::new(
    "`in` needs a duration, like `in 2h`, `in 90m` or `in 1h30m`.",
    "`in` のあとに長さを書いてください（例：`in 2h`、`in 90m`、`in 1h30m`）。",
);
pub const WHEN_BAD_DURATION: Text = Text::new(
    "`{word}` is not a duration (like `in 2h`, `in 90m` or `in 1h30m`).",
    "`{word}` は長さとして読めません（例：`in 2h`、`in 90m`、`in 1h30m`）。",
);
pub const WHEN_MISSING_TIME: Text = Text::new(
    "`today` needs a time, like `today 17:00`.",
    "`today` のあとに時刻を書いてください（例：`today 17:00`）。",
);
pub const WHEN_BAD_TIME: Text = Text::new(
    "`{word}` is not a time: use HH:MM from 00:00 to 23:59, like 09:30.",
    "`{word}` は時刻ではありません。00:00〜23:59 の HH:MM で書いてください（例：09:30）。",
);
pub const BAD_DATE: Text = Text::new(
    "`{word}` is not a date like 2026-12-01 (YYYY-MM-DD).",
    "`{word}` は日付ではありません（YYYY-MM-DD、例：2026-12-01）。",
);
pub const NO_SUCH_DAY: Text = Text::new(
    "`{word}`: that day does not exist in the calendar.",
    "`{word}`：その日はカレンダーに存在しません。",
);
pub const WHEN_MISSING_DAY: Text = Text::new(
    "`every` needs a day: `every day`, `every weekday`, `every monday`, or `every 3 months from 2026-12-01`.",
    "`every` のあとに曜日などを書いてください：`every day`、`every weekday`、`every monday`、`every 3 months from 2026-12-01`。",
);
pub const WHEN_BAD_DAY: Text = Text::new(
    "`{word}` is not a day: use `day`, `weekday`, or `monday` … `sunday`.",
    "`{word}` は曜日として読めません。`day`、`weekday`、`monday`〜`sunday` のいずれかです。",
);
pub const WHEN_BAD_MONTHS: Text = Text::new(
    "`{word}`: repeat every 1 to 120 months from a start date, like `every 3 months from 2026-12-01`.",
    "`{word}`：月単位の繰り返しは 1〜120 か月で、開始日を付けます（例：`every 3 months from 2026-12-01`）。",
);
pub const WHEN_TOO_FAR: Text = Text::new(
    "That is too far ahead for `in` (at most 366 days): give a date instead.",
    "`in` で指定できるのは 366 日先までです。日付で指定してください。",
);
pub const WHEN_IN_THE_PAST: Text = Text::new(
    "That time has already passed in the customer's time zone.",
    "その時刻は顧客のタイムゾーンではすでに過ぎています。",
);

/// What was wrong with a `<when>`, in the reader's language. `escape` is applied to
/// the words quoted back.
pub fn when_error(error: &WhenError, lang: Lang, escape: impl Fn(&str) -> String) -> String {
    let word = |text: Text, w: &str| text.fill(lang, &[("word", &escape(w))]);
    match error {
        WhenError::Missing => WHEN_MISSING.get(lang).to_string(),
        WhenError::MissingDuration => WHEN_MISSING_DURATION.get(lang).to_string(),
        WhenError::BadDuration(w) => word(WHEN_BAD_DURATION, w),
        WhenError::MissingTime => WHEN_MISSING_TIME.get(lang).to_string(),
        WhenError::BadTime(w) => word(WHEN_BAD_TIME, w),
        WhenError::BadDate(w) => word(BAD_DATE, w),
        WhenError::NoSuchDay(w) => word(NO_SUCH_DAY, w),
        WhenError::MissingDay => WHEN_MISSING_DAY.get(lang).to_string(),
        WhenError::BadDay(w) => word(WHEN_BAD_DAY, w),
        WhenError::BadMonths(w) => word(WHEN_BAD_MONTHS, w),
        WhenError::TooFar => WHEN_TOO_FAR.get(lang).to_string(),
    }
}

// Due dates.

pub const BAD_DUE: Text = Text::new(
    "`{word}` is not a due date: use a date like 2026-12-01, `today`, `tomorrow` or a day of the week like `friday` (the next one).",
    "`{word}` は期限として読めません。2026-12-01 のような日付、`today`・`今日`、`tomorrow`・`明日`、または `friday`・`金曜` のような曜日（次のその曜日）で書いてください。",
);
pub const DUE_IN_THE_PAST: Text = Text::new(
    ":warning: {date} is already past in the customer's time zone: the item shows as overdue.",
    ":warning: {date} は顧客のタイムゾーンではすでに過ぎています。この項目は期限切れと表示されます。",
);

// Categories.

pub const UNKNOWN_CATEGORY: Text = Text::new(
    "`{word}` is not a category. Categories: {list}",
    "`{word}` はカテゴリではありません。カテゴリ：{list}",
);
pub const NOT_A_CUSTOMER_CHANNEL: Text = Text::new(
    "This is not a customer's channel: name the customer too.",
    "ここは顧客のチャンネルではありません。顧客も指定してください。",
);

// Items.

pub const NO_SUCH_ITEM: Text = Text::new(
    "The checklist has no item `{word}`.",
    "チェックリストに項目 `{word}` はありません。",
);
pub const NOT_IN_TIER: Text = Text::new(
    "`{word}` is not on {tier} customers' checklist.",
    "`{word}` は {tier} の顧客のチェックリストにはありません。",
);
pub const WAITING_ON: Text = Text::new(
    ":hourglass_flowing_sand: *{key}* {label} waits on {list}: tick that first. Nothing was changed.",
    ":hourglass_flowing_sand: *{key}* {label} は {list} の完了待ちです。先にそちらを完了してください。変更はしていません。",
);
pub const NOT_THEIRS: Text = Text::new(
    ":no_entry: Sorry, you can't do that: here you can tick only the items your team owns. Nothing else was changed.",
    ":no_entry: この操作はできません。ここで完了にできるのは、お客様が担当する項目だけです。それ以外は変更していません。",
);
pub const NOT_AN_ITEM_NUMBER: Text = Text::new(
    "`{word}` is not an item number like 1.1.1.",
    "`{word}` は項目番号ではありません（例：1.1.1）。",
);

// The checklist's heading, per tier.

pub const READINESS_STANDARD: Text = Text::new("Standard readiness", "Standard 準備チェックリスト");
pub const READINESS_PROFESSIONAL: Text =
    Text::new("Professional readiness", "Professional 準備チェックリスト");
pub const READINESS_ENTERPRISE: Text =
    Text::new("Enterprise readiness", "Enterprise 準備チェックリスト");

// The monthly report.

/// A target with no ticket measured against it yet (none met it or breached it).
pub const NOTHING_MEASURED_YET: Text = Text::new(
    "nothing closed or breached yet",
    "完了した対応も超過もまだありません",
);

// Escalations.

pub const ESCALATED_BY: Text = Text::new(
    "{ticket} ({priority}) escalated by {by}: {named}",
    "{ticket}（{priority}）を {by} さんがエスカレーションしました：{named}",
);

// Customer satisfaction (CSAT).

/// The question asked in a resolved ticket's thread.
pub const CSAT_QUESTION: Text = Text::new(
    "{ticket} is resolved. How did we do?",
    "{ticket} は解決しました。対応はいかがでしたか？",
);
/// The question once answered: it thanks them and shows the answer.
pub const CSAT_THANKS: Text = Text::new(
    "Thank you for rating {ticket}: *{rating}*",
    "{ticket} の評価をありがとうございます：*{rating}*",
);
pub const CSAT_GOOD: Text = Text::new("Good", "良かった");
pub const CSAT_OKAY: Text = Text::new("Okay", "普通");
pub const CSAT_BAD: Text = Text::new("Bad", "良くなかった");
/// A staff click on the question.
pub const CSAT_STAFF_REFUSED: Text = Text::new(
    "Only the customer can answer this question.",
    "この質問には顧客のみ回答できます。",
);
/// A second answer to a ticket already rated.
pub const CSAT_ALREADY_RATED: Text = Text::new(
    "This ticket has already been rated. Thank you!",
    "このチケットはすでに評価済みです。ありがとうございます。",
);
/// Slack did not say in time who clicked: nothing was stored.
pub const CSAT_TRY_AGAIN: Text = Text::new(
    "Your answer could not be recorded just now. Please try again in a moment.",
    "ただいま回答を記録できませんでした。少し時間をおいてもう一度お試しください。",
);
/// The name of the figure, in the report, the ticket and the App Home.
pub const CSAT_TITLE: Text = Text::new("Customer satisfaction", "顧客満足度");
/// No answer in the period.
pub const CSAT_NO_ANSWERS: Text = Text::new("no answers yet", "回答はまだありません");
/// The share of good answers and their count.
pub const CSAT_SHARE: Text = Text::new(
    "{percent}% good ({good} of {answered} answers)",
    "「良かった」{percent}%（回答 {answered} 件中 {good} 件）",
);

/// Every entry, for the test below. A new entry goes here too.
pub const ALL: &[(&str, Text)] = &[
    ("TICKET", TICKET),
    ("CUSTOMER", CUSTOMER),
    ("USE", USE),
    ("DUE", DUE),
    ("WHEN_MISSING", WHEN_MISSING),
    ("WHEN_MISSING_DURATION", WHEN_MISSING_DURATION),
    ("WHEN_BAD_DURATION", WHEN_BAD_DURATION),
    ("WHEN_MISSING_TIME", WHEN_MISSING_TIME),
    ("WHEN_BAD_TIME", WHEN_BAD_TIME),
    ("BAD_DATE", BAD_DATE),
    ("NO_SUCH_DAY", NO_SUCH_DAY),
    ("WHEN_MISSING_DAY", WHEN_MISSING_DAY),
    ("WHEN_BAD_DAY", WHEN_BAD_DAY),
    ("WHEN_BAD_MONTHS", WHEN_BAD_MONTHS),
    ("WHEN_TOO_FAR", WHEN_TOO_FAR),
    ("WHEN_IN_THE_PAST", WHEN_IN_THE_PAST),
    ("BAD_DUE", BAD_DUE),
    ("DUE_IN_THE_PAST", DUE_IN_THE_PAST),
    ("UNKNOWN_CATEGORY", UNKNOWN_CATEGORY),
    ("NOT_A_CUSTOMER_CHANNEL", NOT_A_CUSTOMER_CHANNEL),
    ("NO_SUCH_ITEM", NO_SUCH_ITEM),
    ("NOT_AN_ITEM_NUMBER", NOT_AN_ITEM_NUMBER),
    ("NOT_IN_TIER", NOT_IN_TIER),
    ("WAITING_ON", WAITING_ON),
    ("NOT_THEIRS", NOT_THEIRS),
    ("READINESS_STANDARD", READINESS_STANDARD),
    ("READINESS_PROFESSIONAL", READINESS_PROFESSIONAL),
    ("READINESS_ENTERPRISE", READINESS_ENTERPRISE),
    ("NOTHING_MEASURED_YET", NOTHING_MEASURED_YET),
    ("ESCALATED_BY", ESCALATED_BY),
    ("CSAT_QUESTION", CSAT_QUESTION),
    ("CSAT_THANKS", CSAT_THANKS),
    ("CSAT_GOOD", CSAT_GOOD),
    ("CSAT_OKAY", CSAT_OKAY),
    ("CSAT_BAD", CSAT_BAD),
    ("CSAT_STAFF_REFUSED", CSAT_STAFF_REFUSED),
    ("CSAT_ALREADY_RATED", CSAT_ALREADY_RATED),
    ("CSAT_TRY_AGAIN", CSAT_TRY_AGAIN),
    ("CSAT_TITLE", CSAT_TITLE),
    ("CSAT_NO_ANSWERS", CSAT_NO_ANSWERS),
    ("CSAT_SHARE", CSAT_SHARE),
];

/// Whether `text` has any kana or kanji: written in Japanese, not left in English.
pub fn has_japanese(text: &str) -> bool {
    text.chars().any(|c| {
        matches!(c,
            '\u{3040}'..='\u{30FF}' // hiragana, katakana
            | '\u{4E00}'..='\u{9FFF}' // CJK ideographs
            | '\u{FF66}'..='\u{FF9F}') // half-width katakana
    })
}

/// The prose of a mrkdwn text: without its code spans (commands, forms, words quoted
/// back) and its `<…>` tokens (mentions, dates, links), which are the same in both
/// languages.
pub fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut code = false;
    let mut token = false;
    for c in text.chars() {
        match c {
            '`' => code = !code,
            '<' if !code => token = true,
            '>' if token => token = false,
            _ if code || token => {}
            _ => out.push(c),
        }
    }
    out
}

/// The first run of `words` or more English words in a row in the prose of `text`:
/// what a Japanese answer must not have. (Used by the tests, here and end to end.)
pub fn english_run(text: &str, words: usize) -> Option<String> {
    let prose = prose(text);
    let mut run: Vec<&str> = Vec::new();
    for word in prose.split(|c: char| c.is_whitespace()) {
        // An emoji's code (`:warning:`) is no word of either language.
        if word.len() > 2 && word.starts_with(':') && word.ends_with(':') {
            run.clear();
            continue;
        }
        let letters = word.trim_matches(|c: char| !c.is_ascii_alphabetic());
        let english = !letters.is_empty()
            && letters
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '\'' || c == '-');
        if english {
            run.push(letters);
            if run.len() >= words {
                return Some(run.join(" "));
            }
        } else {
            run.clear();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Entries whose Japanese is rightly without kana or kanji (none yet).
    const SAME_IN_BOTH: &[&str] = &[];

    fn placeholders(text: &str) -> BTreeSet<String> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
            .collect()
    }

    #[test]
    fn an_english_run_is_found_only_outside_code_and_tokens() {
        assert_eq!(
            english_run("`say when: in 2h` は <@U1> さんの日時です", 3),
            None
        );
        assert_eq!(
            english_run(":warning: say when: in 2h", 3),
            Some("say when in".into())
        );
        assert_eq!(english_run("SLA P0 の期限", 3), None);
    }

    #[test]
    fn escalate_now_names_who_pressed_it_in_both_languages() {
        use crate::domain::sla::Priority;
        use crate::domain::ticket::Ticket;
        let opened = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let ticket = Ticket::new("T1", 1, "C1", Priority::P1, "SSO", "UREP", opened);
        for lang in [Lang::En, Lang::Ja] {
            let named = vec!["<@ULEAD>".to_string()];
            let m = super::super::ticket::manual_escalation(&ticket, "UPRESSER", &named, lang);
            let blocks = serde_json::to_string(&m.blocks).unwrap();
            // The post and its notification both say who pressed it, and whom it calls.
            for text in [&m.text, &blocks] {
                assert!(text.contains("<@UPRESSER>"), "{lang:?}: {text}");
                assert!(text.contains("<@ULEAD>"), "{lang:?}: {text}");
            }
            match lang {
                Lang::Ja => assert_eq!(english_run(&m.text, 2), None, "{}", m.text),
                Lang::En => assert!(!has_japanese(&m.text), "{}", m.text),
            }
        }
    }

    /// One name for one concept: a ticket is チケット in every Japanese text.
    #[test]
    fn japanese_says_chiketto_for_a_ticket_everywhere() {
        fn visit(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    visit(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("blocks/texts.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (n, line) in text.lines().enumerate() {
                        if line.contains("依頼") {
                            found.push(format!("{}:{}: {line}", path.display(), n + 1));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        visit(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(found.is_empty(), "say チケット: {found:#?}");
    }

    #[test]
    fn catalogue_entries_have_both_languages() {
        let parts = USAGE_PARTS.iter().map(|t| ("USAGE_PARTS", *t));
        for (name, text) in ALL.iter().copied().chain(parts) {
            assert!(!text.en.trim().is_empty(), "{name}: no English");
            assert!(!text.ja.trim().is_empty(), "{name}: no Japanese");
            assert!(
                has_japanese(text.ja) || SAME_IN_BOTH.contains(&name),
                "{name}: the Japanese text is not in Japanese: {}",
                text.ja
            );
            assert!(
                !has_japanese(text.en),
                "{name}: the English text has Japanese: {}",
                text.en
            );
            assert_eq!(
                placeholders(text.en),
                placeholders(text.ja),
                "{name}: both languages fill the same values"
            );
        }
    }

    #[test]
    fn a_japanese_usage_line_names_its_parts_as_help_does() {
        let forms = Form::ALL;
        for form in forms {
            let line = form_usage(form, Lang::Ja);
            for part in USAGE_PARTS {
                assert!(!line.contains(part.en), "{line}");
            }
            for english in [
                "[customer]",
                "<item>",
                "@user",
                "<summary>",
                "<text>",
                "<name>",
            ] {
                assert!(!line.contains(english), "{line}");
            }
            assert_eq!(form_usage(form, Lang::En), form.usage());
        }
        assert_eq!(
            form_usage(Form::Assign, Lang::Ja),
            "/readiness assign [顧客] <項目> @ユーザー [due=YYYY-MM-DD]"
        );
    }
}
