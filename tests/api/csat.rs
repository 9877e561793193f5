//! Customer satisfaction end to end: resolving a ticket asks the customer, in the
//! ticket's thread, how it went; the first answer of a customer-side person (a guest,
//! or a Slack Connect person of another organisation) is kept, shown on the question,
//! the ticket card, the monthly report (with its CSV and JSON) and the App Home; staff
//! cannot answer, and a second answer changes nothing. With `[intake] csat = false`
//! nobody is asked.

use std::time::Duration;

use serde_json::{Value, json};

use crate::sla::{CSM, ENGINEER, button_payload, policy_file, ticket_message};
use crate::support::slack_double::SlackDouble;
use crate::support::{TEAM, TestApp, TestDb, block_actions, event_callback};
use readiness::domain::csat::Rating;

const GUEST: &str = "U0GUEST";
const PARTNER: &str = "U0PARTNER";
const PARTNER_TEAM: &str = "T0PARTNER";

async fn store_of(app: &TestApp) -> readiness::store::Store {
    readiness::store::Store::connect(&app.db_url).await.unwrap()
}

/// The app on a virtual clock with `config`, a guest and a Slack Connect person, and
/// the customer Acme: the app and Acme's channel.
async fn app_with_customer_side(db: &TestDb, config: &str) -> (TestApp, String) {
    let app = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("config", config), ("virtual_clock", "")],
    )
    .await;
    app.double.set_guest(GUEST, false);
    app.double.set_connect_person(PARTNER, PARTNER_TEAM);
    let channel = app.new_customer(CSM, "Acme tier=enterprise").await;
    (app, channel)
}

/// Opens ticket `label` (`T-n`) with `/readiness ticket`, posts it, and returns its
/// id and its message's ts.
async fn open_ticket(app: &TestApp, channel: &str, label: &str, text: &str) -> (i64, String) {
    app.command_text(CSM, channel, &format!("ticket {text}"))
        .await;
    app.advance(Duration::ZERO).await;
    let (ts, _) = ticket_message(&app.double, channel, label).expect("the ticket message");
    let number: i64 = label.trim_start_matches("T-").parse().unwrap();
    let store = store_of(app).await;
    let id = store
        .ticket_by_number(TEAM, number)
        .await
        .unwrap()
        .expect("the ticket")
        .id;
    store.close().await;
    (id, ts)
}

/// Staff presses Resolve on the ticket's message; the outbox runs.
async fn resolve(app: &TestApp, channel: &str, id: i64, ts: &str) {
    let press = button_payload(
        readiness::blocks::ticket::RESOLVE,
        &id.to_string(),
        channel,
        ts,
    );
    app.interact(&press).await;
    app.advance(Duration::from_secs(3)).await;
}

/// The messages anywhere in `channel` (top level and threads) carrying a CSAT button.
fn csat_questions(double: &SlackDouble, channel: &str) -> Vec<(String, Value)> {
    double
        .messages_in(channel)
        .into_iter()
        .filter(|(_, m)| m["blocks"].to_string().contains("\"csat_"))
        .collect()
}

/// `user` (of Slack team `user_team`) presses `rating` on the question `question_ts`
/// of ticket `id`; returns the response_url their answer (if any) goes to.
async fn answer(
    app: &TestApp,
    (user, user_team): (&str, &str),
    channel: &str,
    question_ts: &str,
    id: i64,
    rating: Rating,
) -> String {
    let action = json!({
        "action_id": readiness::blocks::csat::action_id(rating),
        "block_id": format!("csat:{id}"), "type": "button",
        "value": id.to_string(), "action_ts": "1"
    });
    let mut click = block_actions(TEAM, user, channel, question_ts, action);
    click["user"]["team_id"] = json!(user_team);
    let url = app.response_url();
    click["response_url"] = json!(url);
    assert_eq!(app.interact(&click).await.status(), reqwest::StatusCode::OK);
    app.advance(Duration::from_secs(3)).await;
    url
}

/// The answer only the clicker saw, sent to `url`.
async fn told(app: &TestApp, url: &str) -> String {
    // The double records a response by its URL's last segment.
    let id = url.rsplit('/').next().unwrap_or_default();
    let sent = |d: &SlackDouble| d.responses().into_iter().find(|(to, _)| to == id);
    app.double
        .wait_for("the answer to the clicker", |d| sent(d).is_some())
        .await;
    let (_, body) = sent(&app.double).unwrap();
    assert_ne!(body["response_type"], "in_channel", "{body}");
    body["text"].as_str().unwrap_or("").to_string()
}

on_both_backends!(
    resolving_asks_the_customer_once_and_their_first_answer_shows_everywhere,
    csat_scenario
);

async fn csat_scenario(db: &TestDb) {
    let (_dir, config) = policy_file("");
    let (app, channel) = app_with_customer_side(db, &config).await;
    let double = app.double.clone();
    let (t1, t1_ts) = open_ticket(&app, &channel, "T-1", "P1 SSO is down").await;
    assert!(
        csat_questions(&double, &channel).is_empty(),
        "nobody is asked before the ticket is resolved"
    );

    // Resolved: one question, in the ticket's thread, with the three csat buttons
    // whose value is the ticket.
    resolve(&app, &channel, t1, &t1_ts).await;
    let asked = csat_questions(&double, &channel);
    assert_eq!(asked.len(), 1, "asked once: {asked:#?}");
    let (q1_ts, question) = asked[0].clone();
    assert_eq!(
        question["thread_ts"].as_str(),
        Some(t1_ts.as_str()),
        "{question}"
    );
    let blocks = question["blocks"].to_string();
    for id in ["csat_good", "csat_okay", "csat_bad"] {
        assert!(blocks.contains(id), "{id}: {blocks}");
    }
    assert!(blocks.contains(&format!("\"value\":\"{t1}\"")), "{blocks}");
    assert!(
        question["text"].as_str().unwrap().contains("T-1"),
        "{question}"
    );

    // Staff cannot answer: told so, and nothing is stored.
    let url = answer(&app, (ENGINEER, TEAM), &channel, &q1_ts, t1, Rating::Good).await;
    let refused = told(&app, &url).await;
    assert!(refused.contains("Only the customer"), "{refused}");
    let store = store_of(&app).await;
    assert_eq!(
        store.csat_of(t1).await.unwrap(),
        None,
        "a staff click stored"
    );
    store.close().await;

    // The Slack Connect person's answer is kept; the question thanks them and shows
    // it, with no button left, and the ticket card shows it.
    answer(
        &app,
        (PARTNER, PARTNER_TEAM),
        &channel,
        &q1_ts,
        t1,
        Rating::Bad,
    )
    .await;
    let store = store_of(&app).await;
    let stored = store.csat_of(t1).await.unwrap().expect("the answer");
    assert_eq!(
        (stored.rating, stored.answered_by.as_str()),
        (Rating::Bad, PARTNER)
    );
    let audit = store.recent_audit(TEAM, None, 0, 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "ticket.rated" && e.actor == PARTNER && e.subject == "T-1"),
        "the answer is audited"
    );
    store.close().await;
    let thanked = double.message(&channel, &q1_ts).expect("the question");
    let shown = thanked["blocks"].to_string();
    assert!(
        shown.contains("Thank you for rating T-1") && shown.contains("Bad"),
        "{shown}"
    );
    assert!(!shown.contains("csat_"), "no button left: {shown}");
    let (_, card) = ticket_message(&double, &channel, "T-1").unwrap();
    let card = card["blocks"].to_string();
    assert!(
        card.contains("Customer satisfaction") && card.contains("Bad"),
        "{card}"
    );

    // A second answer, by the guest, changes nothing and is told so.
    let url = answer(&app, (GUEST, TEAM), &channel, &q1_ts, t1, Rating::Good).await;
    let again = told(&app, &url).await;
    assert!(again.contains("already been rated"), "{again}");
    let store = store_of(&app).await;
    assert_eq!(
        store.csat_of(t1).await.unwrap().unwrap().rating,
        Rating::Bad
    );
    store.close().await;

    // T-2, answered "good" by the guest: P1 is then one good answer of two.
    let (t2, t2_ts) = open_ticket(&app, &channel, "T-2", "P1 Export fails").await;
    resolve(&app, &channel, t2, &t2_ts).await;
    let asked = csat_questions(&double, &channel);
    assert_eq!(
        asked.len(),
        1,
        "T-1's question has no button left: {asked:#?}"
    );
    let (q2_ts, question) = asked[0].clone();
    assert_eq!(question["thread_ts"].as_str(), Some(t2_ts.as_str()));
    answer(&app, (GUEST, TEAM), &channel, &q2_ts, t2, Rating::Good).await;
    let store = store_of(&app).await;
    assert_eq!(
        store.csat_of(t2).await.unwrap().unwrap().rating,
        Rating::Good
    );
    store.close().await;
    // A forged click on a ticket never asked (T-3, still open) stores nothing.
    let (t3, t3_ts) = open_ticket(&app, &channel, "T-3", "P2 Never asked").await;
    answer(&app, (GUEST, TEAM), &channel, &t3_ts, t3, Rating::Good).await;
    let store = store_of(&app).await;
    assert_eq!(
        store.csat_of(t3).await.unwrap(),
        None,
        "never asked, yet rated"
    );
    store.close().await;
    // Resolving again is refused (already resolved): still one question per ticket.
    resolve(&app, &channel, t2, &t2_ts).await;
    let questions = double
        .messages_in(&channel)
        .into_iter()
        .filter(|(_, m)| m["text"].as_str().unwrap_or("").contains("How did we do"))
        .count();
    assert_eq!(questions, 0, "answered questions read as thanks");
    let thanks = double
        .messages_in(&channel)
        .into_iter()
        .filter(|(_, m)| {
            m["text"]
                .as_str()
                .unwrap_or("")
                .contains("Thank you for rating")
        })
        .count();
    assert_eq!(thanks, 2, "one question per ticket");

    // The month's report: per priority, the share of good answers and their count,
    // and the same in its CSV and JSON.
    app.command_text(CSM, &channel, "report").await;
    app.advance(Duration::from_secs(10)).await;
    double
        .wait_up_to(Duration::from_secs(15), "the report and its files", |d| {
            d.shared_files().len() >= 3
        })
        .await;
    let report = double
        .top_level(&channel)
        .into_iter()
        .find(|m| m["text"].as_str().unwrap_or("").contains("Monthly report"))
        .expect("the report");
    let shown = report["blocks"].to_string();
    assert!(shown.contains("Customer satisfaction"), "{shown}");
    assert!(
        shown.contains("*P1* · 50% good (1 of 2 answers)"),
        "{shown}"
    );
    assert!(shown.contains("*P0* · no answers yet"), "{shown}");
    let files = double.shared_files();
    let csv = files.iter().find(|f| f.filename.ends_with(".csv")).unwrap();
    let csv = String::from_utf8(csv.content.clone()).unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines[0].ends_with(",csat"), "{csv}");
    assert!(
        lines[1].starts_with("1,") && lines[1].ends_with(",bad"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("2,") && lines[2].ends_with(",good"),
        "{csv}"
    );
    let json = files
        .iter()
        .find(|f| f.filename.ends_with(".json"))
        .unwrap();
    let json: Value = serde_json::from_slice(&json.content).unwrap();
    assert_eq!(json["csat"][1]["priority"], "P1", "{json}");
    assert_eq!(json["csat"][1]["answered"], 2, "{json}");
    assert_eq!(json["csat"][1]["good"], 1, "{json}");
    assert_eq!(json["csat"][1]["percent_good"], 50, "{json}");
    assert_eq!(json["csat"][0]["answered"], 0, "{json}");

    // The App Home: the last 30 days.
    app.post_signed(
        "/slack/events",
        "application/json",
        event_callback(
            "EvCsatHome",
            json!({"type": "app_home_opened", "user": CSM, "channel": "D0001", "tab": "home", "event_ts": "1.0"}),
        ),
    )
    .await;
    double
        .wait_for("the App Home", |d| d.home_of(CSM).is_some())
        .await;
    let home = double.home_of(CSM).unwrap().to_string();
    assert!(
        home.contains("Customer satisfaction (last 30 days): 50% good (1 of 2 answers)"),
        "{home}"
    );
    app.stop().await;
}

on_both_backends!(with_csat_off_resolving_asks_nothing, csat_off_scenario);

async fn csat_off_scenario(db: &TestDb) {
    let (_dir, config) = policy_file("[intake]\ncsat = false\n");
    let (app, channel) = app_with_customer_side(db, &config).await;
    let (t1, t1_ts) = open_ticket(&app, &channel, "T-1", "P2 Question").await;
    resolve(&app, &channel, t1, &t1_ts).await;
    // The control: the ticket was resolved, and its message says so.
    let (_, card) = ticket_message(&app.double, &channel, "T-1").unwrap();
    assert!(
        card["text"].as_str().unwrap().contains("resolved"),
        "{card}"
    );
    assert!(
        csat_questions(&app.double, &channel).is_empty(),
        "asked with csat = false"
    );
    assert!(
        app.double
            .messages_in(&channel)
            .iter()
            .all(|(_, m)| !m["text"].as_str().unwrap_or("").contains("How did we do")),
    );
    app.stop().await;
}
