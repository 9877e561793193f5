//! `/readiness plan` and the plan's health on the overview, the App Home and the daily
//! digest, end to end against the Slack double, on the app's virtual clock: due dates
//! given by hand, days passing, and the health going from on track to at risk to
//! behind without anyone touching the customer.

use std::time::Duration;

use chrono::{Datelike, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use readiness::time_source::at_ms;

use crate::sla::{CSM, ENGINEER, policy_file};
use crate::support::{TestApp, TestDb, event_callback, slack_double::SlackDouble};

const TOKYO: chrono_tz::Tz = chrono_tz::Asia::Tokyo;
const DAY: Duration = Duration::from_secs(24 * 3600);

/// The app's date in Tokyo, the customer's zone.
fn today(app: &TestApp) -> NaiveDate {
    at_ms(app.clock_ms()).with_timezone(&TOKYO).date_naive()
}

fn monday_of(date: NaiveDate) -> NaiveDate {
    date - chrono::Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

/// The customer's overview message (its fallback names the readiness).
fn overview(double: &SlackDouble, channel: &str) -> Value {
    double
        .top_level(channel)
        .into_iter()
        .find(|m| m["text"].as_str().unwrap_or("").contains(": readiness "))
        .expect("the overview is posted")
}

async fn open_home(app: &TestApp, event_id: &str) -> String {
    let published = app.double.calls_to("views.publish").len();
    let r = app
        .post_signed(
            "/slack/events",
            "application/json",
            event_callback(
                event_id,
                json!({"type": "app_home_opened", "user": CSM, "channel": "D0001", "tab": "home", "event_ts": "1.0"}),
            ),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    app.double
        .wait_for("the Home published", |d| {
            d.calls_to("views.publish").len() > published
        })
        .await;
    app.double.home_of(CSM).unwrap().to_string()
}

async fn plan_scenario(db: &TestDb) {
    // Every tier 24/7, so business days are calendar days; the digest a few seconds
    // past this time of day, so each day's passes within the test's steps.
    let digest_at = (Utc::now() + chrono::Duration::seconds(8))
        .with_timezone(&TOKYO)
        .format("%H:%M:%S")
        .to_string();
    let (_dir, config) = policy_file(&format!("[reminders]\ndigest_at = \"{digest_at}\"\n"));
    let app = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("config", &config), ("virtual_clock", "")],
    )
    .await;
    let channel = app.new_customer(CSM, "Acme tier=enterprise").await;
    let start = today(&app);

    // Nothing dated: on track, every item under "No due date", 6.1.2 waiting on 6.1.1.
    let shown = app.command_shown(CSM, &channel, "plan").await;
    assert!(shown.contains(":large_green_circle: *On track*"), "{shown}");
    assert!(shown.contains("*No due date*"), "{shown}");
    assert!(
        shown.contains(
            "*6.1.2* Technical requirements interview · Solutions engineer · _waiting on 6.1.1_"
        ),
        "{shown}"
    );
    assert!(shown.contains("*6.1.1* Contract signed · CSM"), "{shown}");

    // Dates by hand: 1.1.2 in ten days, 6.1.2 (still waiting) in twenty.
    let due_112 = start + chrono::Duration::days(10);
    let due_612 = start + chrono::Duration::days(20);
    for (item, due) in [("1.1.2", due_112), ("6.1.2", due_612)] {
        let answer = app
            .command_text(
                CSM,
                &channel,
                &format!("assign {item} <@{ENGINEER}> due={due}"),
            )
            .await;
        assert!(answer.contains(ENGINEER), "{answer}");
    }
    app.advance(Duration::from_secs(1)).await;
    let shown = app.command_shown(CSM, &channel, "plan").await;
    assert!(shown.contains("*On track*"), "{shown}");
    let week = format!("*Week of {}*", monday_of(due_112));
    let line_112 = format!("*1.1.2* Multi-factor authentication (MFA) · <@{ENGINEER}> · {due_112}");
    assert!(shown.contains(&week), "{week} in {shown}");
    assert!(shown.contains(&line_112), "{line_112} in {shown}");
    assert!(
        shown.contains(&format!(
            "*6.1.2* Technical requirements interview · <@{ENGINEER}> · {due_612} · _waiting on 6.1.1_"
        )),
        "{shown}"
    );
    // Dated weeks come before the undated items.
    assert!(shown.find(&week).unwrap() < shown.find("*No due date*").unwrap());
    let first = overview(&app.double, &channel).to_string();
    assert!(first.contains("*On track*"), "{first}");
    assert!(first.contains(&format!("(as of {start})")), "{first}");

    // Eight days on, nobody touching anything: 1.1.2 is due within three business days.
    app.advance(8 * DAY + Duration::from_secs(10)).await;
    let now = today(&app);
    assert_eq!(now, start + chrono::Duration::days(8));
    let shown = app.command_shown(CSM, &channel, "plan").await;
    assert!(
        shown.contains(&format!(
            ":large_yellow_circle: *At risk*: 1 item due within 3 business days (as of {now})"
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("{line_112} · *due soon*")),
        "{shown}"
    );
    assert!(shown.contains("_waiting on 6.1.1_") && !shown.contains("*overdue*"));
    // The overview followed the day by itself (the day's digest marks it stale).
    let overview_now = overview(&app.double, &channel).to_string();
    assert!(
        overview_now.contains(&format!(
            "*At risk*: 1 item due within 3 business days (as of {now})"
        )),
        "{overview_now}"
    );
    let home = open_home(&app, "EvPlan1").await;
    assert!(
        home.contains("Acme") && home.contains("*At risk*"),
        "{home}"
    );

    // Three more days: 1.1.2 is overdue.
    app.advance(3 * DAY).await;
    let now = today(&app);
    let shown = app.command_shown(CSM, &channel, "plan").await;
    assert!(
        shown.contains(&format!(
            ":red_circle: *Behind*: 1 item overdue (as of {now})"
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("{line_112} · *overdue*")),
        "{shown}"
    );
    let digests: Vec<Value> = app
        .double
        .top_level(&channel)
        .into_iter()
        .filter(|m| m["text"].as_str().unwrap_or("").contains("overdue items"))
        .collect();
    assert_eq!(digests.len(), 1, "{digests:?}");
    let digest = digests[0].to_string();
    assert!(
        digest.contains(":red_circle: *Behind*: 1 item overdue") && digest.contains("1.1.2"),
        "{digest}"
    );
    let overview_now = overview(&app.double, &channel).to_string();
    assert!(
        overview_now.contains("*Behind*: 1 item overdue"),
        "{overview_now}"
    );
    let home = open_home(&app, "EvPlan2").await;
    assert!(
        home.contains(":red_circle: *Behind*: 1 item overdue"),
        "{home}"
    );

    // Done: back on track, at once everywhere it shows.
    app.command_text(CSM, &channel, "done 1.1.2").await;
    app.advance(Duration::from_secs(2)).await;
    let shown = app.command_shown(CSM, &channel, "plan").await;
    assert!(shown.contains("*On track*"), "{shown}");
    assert!(shown.contains(&format!("{line_112} · done")), "{shown}");
    let overview_now = overview(&app.double, &channel).to_string();
    assert!(overview_now.contains("*On track*"), "{overview_now}");
    let digest = app
        .double
        .message(&channel, digests[0]["ts"].as_str().unwrap())
        .unwrap()
        .to_string();
    assert!(
        digest.contains("*On track*"),
        "the digest is edited: {digest}"
    );

    // In Japanese, by name from another channel.
    app.double.set_locale("U0JA", "ja-JP");
    let shown = app.command_shown("U0JA", "C0GENERAL", "plan acme").await;
    assert!(
        shown.contains("*順調*") && shown.contains("_6.1.1 待ち_"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("*{} の週*", monday_of(due_112))),
        "{shown}"
    );

    // Bad input: an unknown customer is a short answer that names the usage.
    let answer = app.command_text(CSM, "C0GENERAL", "plan globex").await;
    assert!(
        answer.contains("I don't know a customer `globex`"),
        "{answer}"
    );
    assert!(answer.contains("/readiness plan [customer]"), "{answer}");
    let answer = app.command_text(CSM, "C0GENERAL", "plan").await;
    assert!(!answer.contains("*On track*"), "no customer here: {answer}");
}

on_both_backends!(
    the_plan_and_its_health_follow_due_dates_days_and_ticks,
    plan_scenario
);
