//! Conversation in a ticket's thread end to end (issue 16, items 5 and 6): staff's
//! reply is the first response, the customer's next message starts a next-response
//! round that escalates at the policy's shares until staff answers again, the
//! customer's reply resumes a ticket waiting on them and reopens one resolved a
//! moment ago, and the monthly report counts the next responses. On the app's virtual
//! clock, with second-scale targets.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::sla::{CSM, ENGINEER, button_payload, policy_file, ticket_message};
use crate::support::{TEAM, TestApp, TestDb, event_callback, slack_double::SlackDouble};

/// A person of another organisation, in the customer's Slack Connect channel.
const CUSTOMER: &str = "U0CUSTOMER";
const CUSTOMER_TEAM: &str = "T0CUSTOMERORG";

/// Event ids and message ts suffixes, unique within the test run.
static SEQUENCE: AtomicU32 = AtomicU32::new(1);

/// `user` writes `text` in the thread of `thread_ts`, at the app's clock.
async fn write_in_thread(app: &TestApp, user: &str, channel: &str, thread_ts: &str, text: &str) {
    write_in_thread_earlier(app, user, channel, thread_ts, text, 0).await;
}

/// [`write_in_thread`], the message written `earlier_ms` before the app's clock (its
/// event arrives late).
async fn write_in_thread_earlier(
    app: &TestApp,
    user: &str,
    channel: &str,
    thread_ts: &str,
    text: &str,
    earlier_ms: i64,
) -> i64 {
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let now = app.clock_ms() - earlier_ms;
    let mut event = json!({
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        // Mid-millisecond, so the app reads back exactly `now` in ms.
        "ts": format!("{}.{:06}", now / 1000, (now % 1000) * 1000 + 500 + i64::from(n % 400)),
        "thread_ts": thread_ts,
        "team": TEAM,
        "channel_type": "channel"
    });
    if user == CUSTOMER {
        event["user_team"] = CUSTOMER_TEAM.into();
        event["team"] = CUSTOMER_TEAM.into();
    }
    let r = app
        .post_signed(
            "/slack/events",
            "application/json",
            event_callback(&format!("EvConv{n}"), event),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    now
}

/// The texts of the posts threaded under T-1's message, oldest first.
fn thread_texts(double: &SlackDouble, channel: &str) -> Vec<String> {
    let Some((ts, _)) = ticket_message(double, channel, "T-1") else {
        return Vec::new();
    };
    double
        .thread_replies(channel, &ts)
        .iter()
        .map(|m| m["text"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The next-response escalations threaded under T-1.
fn next_response_escalations(double: &SlackDouble, channel: &str) -> Vec<String> {
    thread_texts(double, channel)
        .into_iter()
        .filter(|t| t.starts_with("T-1 Next response"))
        .collect()
}

/// T-1's message blocks as JSON text.
fn ticket_shown(double: &SlackDouble, channel: &str) -> String {
    ticket_message(double, channel, "T-1")
        .map(|(_, m)| m["blocks"].to_string())
        .unwrap_or_default()
}

/// The app on `db` and the virtual clock with `policy`, a customer, the Slack Connect
/// person, and T-1 (P1) opened by the CSM: the app, its channel and T-1's message ts.
async fn with_ticket(db: &TestDb, policy: &str) -> (TestApp, String, String, tempfile::TempDir) {
    let (dir, config) = policy_file(policy);
    let app = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("config", &config), ("virtual_clock", "")],
    )
    .await;
    app.double.set_connect_person(CUSTOMER, CUSTOMER_TEAM);
    let channel = app.new_customer(CSM, "Acme tier=enterprise").await;
    let answer = app
        .command_text(CSM, &channel, "ticket P1 SSO login fails")
        .await;
    assert!(answer.contains("T-1"), "{answer}");
    app.advance(Duration::ZERO).await;
    let (ts, _) = ticket_message(&app.double, &channel, "T-1").expect("the ticket message");
    (app, channel, ts, dir)
}

async fn ticket_record(app: &TestApp) -> readiness::store::tickets::TicketRecord {
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let ticket = store.ticket_by_number(TEAM, 1).await.unwrap().unwrap();
    store.close().await;
    ticket
}

on_both_backends!(
    the_customer_s_follow_up_escalates_until_staff_answers_and_the_report_counts_it,
    next_response_scenario
);

/// Staff's reply meets the first response; the customer's follow-up starts a 10 s
/// next response escalating at 50%, 80% and the breach; staff's answer stops the
/// repeats; the ticket message and the month's report show it.
async fn next_response_scenario(db: &TestDb) {
    let (app, channel, ts, _dir) = with_ticket(
        db,
        "[sla.P1]\nfirst_response = \"1h\"\nresolution = \"10h\"\nnext_response = \"10s\"\n[escalation]\nrepeat_after_breach = \"4s\"\n",
    )
    .await;
    let double = app.double.clone();

    // The customer writes before anyone answered: the first response covers it.
    write_in_thread(&app, CUSTOMER, &channel, &ts, "Any news?").await;
    app.advance(Duration::from_secs(1)).await;
    let record = ticket_record(&app).await;
    assert_eq!(record.responded_at, None);
    assert_eq!(record.next_response, None);

    // Staff answers in the thread: the first response is met.
    write_in_thread(&app, ENGINEER, &channel, &ts, "Looking into it.").await;
    app.advance(Duration::from_secs(2)).await;
    let record = ticket_record(&app).await;
    assert_eq!(record.responded_by.as_deref(), Some(ENGINEER));

    // The customer follows up: a next response is due in 10 s, escalating at 5 s, 8 s
    // and 10 s; the repeat would come 4 s after the breach.
    write_in_thread(&app, CUSTOMER, &channel, &ts, "Still failing for everyone").await;
    app.advance(Duration::from_secs(2)).await;
    double
        .wait_for("the ticket to show the next response due", |d| {
            ticket_shown(d, &channel).contains("*Next response* (less than a business minute, to <@U0CUSTOMER>): :hourglass_flowing_sand: due")
        })
        .await;
    assert!(next_response_escalations(&double, &channel).is_empty());
    app.advance(Duration::from_secs(9)).await;
    let fired = next_response_escalations(&double, &channel);
    assert_eq!(fired.len(), 3, "{fired:#?}");
    assert!(
        fired[0].starts_with("T-1 Next response 50% <@U0CSM>"),
        "{fired:#?}"
    );
    assert!(fired[1].starts_with("T-1 Next response 80%"), "{fired:#?}");
    assert!(fired[2].starts_with("T-1 Next response 100%"), "{fired:#?}");
    double
        .wait_for("the ticket to show the next response breached", |d| {
            ticket_shown(d, &channel).contains(":red_circle: breached by")
        })
        .await;

    // Staff answers: nothing more fires, past the repeat's time.
    write_in_thread(&app, ENGINEER, &channel, &ts, "Fixed the IdP mapping.").await;
    app.advance(Duration::from_secs(10)).await;
    assert_eq!(
        next_response_escalations(&double, &channel).len(),
        3,
        "the answer stops the repeats"
    );
    double
        .wait_for("the ticket to show the next response met (late)", |d| {
            ticket_shown(d, &channel).contains(":warning: met in")
        })
        .await;

    // A second round, its event 3 s late: timed from when the customer wrote, and
    // answered in time (4 s of the 10, before its 50% at 5 s).
    let wrote = write_in_thread_earlier(
        &app,
        CUSTOMER,
        &channel,
        &ts,
        "Thanks, one more question",
        3000,
    )
    .await;
    app.advance(Duration::ZERO).await;
    let rounds = readiness::store::tickets::NextResponseRecord::parse(
        ticket_record(&app).await.next_response.as_deref(),
    );
    assert_eq!(
        rounds.awaiting.map(|a| a.since),
        Some(wrote),
        "timed from its ts"
    );
    app.advance(Duration::from_secs(1)).await;
    write_in_thread(&app, ENGINEER, &channel, &ts, "Sure.").await;
    app.advance(Duration::from_secs(10)).await;
    assert_eq!(next_response_escalations(&double, &channel).len(), 3);

    // The month's report counts both: one met, one breached, for P1.
    app.command_text(CSM, &channel, "report").await;
    app.advance(Duration::from_secs(5)).await;
    double
        .wait_for("the report", |d| {
            d.top_level(&channel).iter().any(|m| {
                m["text"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("Monthly report")
            })
        })
        .await;
    let report: Value = double
        .top_level(&channel)
        .into_iter()
        .find(|m| {
            m["text"]
                .as_str()
                .unwrap_or("")
                .starts_with("Monthly report")
        })
        .unwrap();
    let shown = report["blocks"].to_string();
    assert!(
        shown.contains("Next response: 1/2 met · 1 breached"),
        "{shown}"
    );
    double
        .wait_for("the report's files", |d| d.shared_files().len() >= 3)
        .await;
    let files = double.shared_files();
    let csv = files
        .iter()
        .find(|f| f.filename.ends_with(".csv"))
        .expect("the CSV");
    let csv = String::from_utf8_lossy(&csv.content);
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains(",next_responses_met,next_responses_breached,"),
        "{csv}"
    );
    // Then the csat column, empty: the customer did not rate it.
    assert!(csv.lines().nth(1).unwrap().ends_with(",1,1,"), "{csv}");
    let json = files
        .iter()
        .find(|f| f.filename.ends_with(".json"))
        .expect("the JSON");
    let json: Value = serde_json::from_slice(&json.content).unwrap();
    assert_eq!(
        json["sla"][1]["next_response"],
        json!({"measured": 2, "met": 1, "breached": 1}),
        "{json:#}"
    );
    app.stop().await;
}

on_both_backends!(
    the_customer_s_reply_resumes_a_paused_ticket_and_reopens_a_resolved_one_within_the_window,
    status_scenario
);

/// Paused as waiting on the customer, the customer's reply resumes it; resolved, the
/// customer's reply within `reopen_within` reopens it (its resolution clock runs on,
/// a line in the thread says so); resolved again and written to after the window,
/// nothing happens. The customer is asked for a rating once, not at each resolution.
async fn status_scenario(db: &TestDb) {
    let (app, channel, ts, _dir) = with_ticket(
        db,
        "[sla.P1]\nfirst_response = \"1h\"\nresolution = \"10h\"\nnext_response = \"1h\"\n[intake]\nreopen_within = \"30s\"\n",
    )
    .await;
    let double = app.double.clone();
    let id = ticket_record(&app).await.id;
    let press = |action: &str| button_payload(action, &id.to_string(), &channel, &ts);

    // Paused: the customer's reply resumes it, audited as the customer's.
    assert_eq!(
        app.interact(&press(readiness::blocks::ticket::PAUSE))
            .await
            .status(),
        StatusCode::OK
    );
    app.advance(Duration::from_secs(2)).await;
    assert!(ticket_record(&app).await.running_since.is_none());
    write_in_thread(&app, CUSTOMER, &channel, &ts, "Here are the logs").await;
    app.advance(Duration::from_secs(2)).await;
    let record = ticket_record(&app).await;
    assert!(record.running_since.is_some(), "resumed by the reply");
    double
        .wait_for("the ticket to show it open again", |d| {
            !ticket_shown(d, &channel).contains("waiting on the customer")
        })
        .await;

    // Resolved: the customer writes 10 s later, within the 30 s window: reopened.
    assert_eq!(
        app.interact(&press(readiness::blocks::ticket::RESOLVE))
            .await
            .status(),
        StatusCode::OK
    );
    app.advance(Duration::from_secs(2)).await;
    let resolved = ticket_record(&app).await;
    assert!(resolved.resolved_at.is_some());
    let used = resolved.used_ms;
    app.advance(Duration::from_secs(8)).await;
    write_in_thread(&app, CUSTOMER, &channel, &ts, "It broke again").await;
    app.advance(Duration::from_secs(2)).await;
    let reopened = ticket_record(&app).await;
    assert_eq!(reopened.resolved_at, None, "reopened");
    assert_eq!(
        reopened.used_ms, used,
        "the resolution clock runs on from there"
    );
    assert!(reopened.running_since.is_some());
    double
        .wait_for("the reopened line and the card", |d| {
            thread_texts(d, &channel)
                .iter()
                .any(|t| t == "T-1 reopened")
                && ticket_shown(d, &channel).contains(readiness::blocks::ticket::RESOLVE)
        })
        .await;
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let audit = store.recent_audit(TEAM, None, 0, 200).await.unwrap();
    store.close().await;
    let by_customer: Vec<_> = audit
        .iter()
        .filter(|e| e.actor == CUSTOMER)
        .map(|e| e.action.as_str())
        .collect();
    for action in ["ticket.resumed", "ticket.reopened"] {
        assert!(by_customer.contains(&action), "{by_customer:?}");
    }

    // Resolved again; the customer writes 31 s later: past the window, nothing.
    assert_eq!(
        app.interact(&press(readiness::blocks::ticket::RESOLVE))
            .await
            .status(),
        StatusCode::OK
    );
    app.advance(Duration::from_secs(31)).await;
    let before = ticket_record(&app).await;
    assert!(before.resolved_at.is_some());
    write_in_thread(&app, CUSTOMER, &channel, &ts, "And again?").await;
    app.advance(Duration::from_secs(2)).await;
    let after = ticket_record(&app).await;
    assert_eq!(after, before, "too late to reopen: the ticket is unchanged");
    assert_eq!(
        thread_texts(&double, &channel)
            .iter()
            .filter(|t| *t == "T-1 reopened")
            .count(),
        1
    );
    // Resolved twice (reopened between): the customer was asked how it went once.
    let (card_ts, _) = ticket_message(&double, &channel, "T-1").expect("the ticket message");
    let asked = double
        .thread_replies(&channel, &card_ts)
        .iter()
        .filter(|m| m["blocks"].to_string().contains("\"csat_good\""))
        .count();
    assert_eq!(asked, 1, "one rating question for one ticket");
    app.stop().await;
}
