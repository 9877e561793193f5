//! Every answer in the reader's language: a Japanese-speaking and an English-speaking
//! user each make the mistakes a new user makes, and each reads every refusal in their
//! own language only.

use readiness::blocks::texts::{english_run, has_japanese, prose};
use serde_json::Value;

use crate::support::{TestApp, TestDb};

/// Wrong inputs a new user types: times, dates, categories, customers, commands.
const WRONG: &[&str] = &[
    "remind acme",
    "remind acme in",
    "remind acme in soon call them",
    "remind acme in 400d call them",
    "remind acme today call them",
    "remind acme tomorrow 25:00 call them",
    "remind acme 2026-02-30 call them",
    "remind acme 2026-13-01 call them",
    "remind acme 2001-01-01 09:00 call them",
    "remind acme every blursday call them",
    "remind acme every 500 months call them",
    "remind acme tomorrow",
    "show acme nope",
    "show acme <x|y>",
    "show nobody",
    "show nobody security",
    "assign acme 1.1.1 <@U0ENG> due=2026-02-30",
    "assign acme 1.1.1 <@U0ENG> due=soon",
    "assign acme 9.9.9 <@U0ENG>",
    "assign acme 1.1.1",
    "done acme x",
    "undo acme 9.9.9",
    "golive acme 2026-04-31",
    "golive acme someday",
    "audit acme since=2026-13-01",
    "report acme month=13",
    "frobnicate",
    "ticket acme P9 down",
    "ticket acme P1",
    "tickets nobody",
    "new Acme tier=gold",
    "show \"Acme",
];

/// Every text an ephemeral answer shows: its fallback and each block's text.
fn texts_of(body: &Value) -> Vec<String> {
    fn collect(value: &Value, into: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("text", Value::String(s)) => into.push(s.clone()),
                        _ => collect(v, into),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, into)),
            _ => {}
        }
    }
    let mut texts = Vec::new();
    collect(body, &mut texts);
    texts
}

async fn answer(app: &TestApp, user: &str, text: &str) -> Vec<String> {
    let (status, body) = app.command(user, "C0GENERAL", text).await;
    assert!(status.is_success(), "{text}: {status} {body}");
    texts_of(&body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_japanese_reader_reads_no_english_and_an_english_reader_no_japanese() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    app.double.set_locale("U0JA", "ja-JP");
    app.double.set_locale("U0EN", "en-US");
    app.new_customer("U0EN", "Acme").await;
    for wrong in WRONG {
        let ja = answer(&app, "U0JA", wrong).await;
        assert!(!ja.is_empty(), "{wrong}: no answer");
        for text in &ja {
            assert_eq!(english_run(text, 3), None, "{wrong} in Japanese: {text}");
        }
        for text in answer(&app, "U0EN", wrong).await {
            assert!(!has_japanese(&prose(&text)), "{wrong} in English: {text}");
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn japanese_category_names_and_relative_due_dates_are_understood() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    app.double.set_locale("U0JA", "ja-JP");
    app.new_customer("U0EN", "Acme").await;
    // The start of a Japanese category's name finds it, as `infra` does in English.
    for (typed, label) in [("インフラ", "インフラ・運用"), ("サポート", "サポート体制")]
    {
        let shown = app
            .command_shown("U0JA", "C0GENERAL", &format!("show acme {typed}"))
            .await;
        assert!(
            shown.contains(label) && !shown.contains(":warning:"),
            "{typed}: {shown}"
        );
    }
    // `due=` takes the words `remind` takes.
    let text = app
        .command_text(
            "U0EN",
            "C0GENERAL",
            "assign acme 1.1.1 <@U0ENG> due=tomorrow",
        )
        .await;
    assert!(
        text.contains("due 20") && !text.contains(":warning:"),
        "{text}"
    );
    // And a day of the week, in either language; a word that is none is told them.
    let text = app
        .command_text("U0JA", "C0GENERAL", "assign acme 1.1.1 <@U0ENG> due=金曜")
        .await;
    assert!(
        text.contains("期限 20") && !text.contains(":warning:"),
        "{text}"
    );
    let text = app
        .command_text(
            "U0JA",
            "C0GENERAL",
            "assign acme 1.1.1 <@U0ENG> due=そのうち",
        )
        .await;
    assert!(text.contains("金曜") && text.contains("明日"), "{text}");
    // A date already past is kept, and said to be past, in both languages.
    let text = app
        .command_text(
            "U0EN",
            "C0GENERAL",
            "assign acme 1.1.2 <@U0ENG> due=2001-01-01",
        )
        .await;
    assert!(text.contains("2001-01-01 is already past"), "{text}");
    let text = app
        .command_text(
            "U0JA",
            "C0GENERAL",
            "assign acme 1.1.2 <@U0ENG> due=2001-01-01",
        )
        .await;
    assert!(text.contains("すでに過ぎています"), "{text}");
    // A day missing from its month is said to be missing, not to be badly written.
    let text = app
        .command_text(
            "U0EN",
            "C0GENERAL",
            "assign acme 1.1.1 <@U0ENG> due=2026-02-30",
        )
        .await;
    assert!(text.contains("that day does not exist"), "{text}");
    app.stop().await;
}
