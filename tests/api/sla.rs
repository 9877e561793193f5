//! Support requests end to end: second-scale SLA policies against the Slack double.
//! Every tier runs 24/7 here, so the tests do not depend on the hour they run at;
//! business-hours clocks are covered by the calendar's unit and property tests.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TEAM, TestApp, TestDb, event_callback, slack_double::SlackDouble};

pub const CSM: &str = "U0CSM";
pub const ENGINEER: &str = "U0ENGINEER";

/// A policy file with every tier 24/7 and `extra` appended (its lines before the first
/// table are top-level settings, and go first).
pub fn policy_file(extra: &str) -> (tempfile::TempDir, String) {
    let mut tables_at = extra.len();
    let mut offset = 0;
    for line in extra.split_inclusive('\n') {
        if line.starts_with('[') {
            tables_at = offset;
            break;
        }
        offset += line.len();
    }
    let (top, tables) = extra.split_at(tables_at);
    settings_file(&format!(
        "{top}[tiers.standard]\nhours = \"24/7\"\n[tiers.professional]\nhours = \"24/7\"\n[tiers.enterprise]\nhours = \"24/7\"\n{tables}"
    ))
}

/// A settings file holding `text`, with English channel messages.
fn settings_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("readiness.toml");
    std::fs::write(&path, format!("language = \"en\"\n{text}")).unwrap();
    let path = path.display().to_string();
    (dir, path)
}

/// The app on a fresh SQLite file with the settings file `config`, talking to
/// `double`, and a customer created with `/readiness new <customer>`: the app, its
/// database (kept until the test ends) and the customer's channel.
pub async fn app_with_customer(
    config: &str,
    double: SlackDouble,
    customer: &str,
) -> (TestApp, TestDb, String) {
    let db = TestDb::sqlite();
    let app = TestApp::spawn_with(&db, double, &[("config", config)]).await;
    let channel = app.new_customer(CSM, customer).await;
    (app, db, channel)
}

/// [`app_with_customer`], with the app on a virtual clock that the test moves
/// (`TestApp::advance`).
pub async fn app_on_virtual_clock_with_customer(
    config: &str,
    double: SlackDouble,
    customer: &str,
) -> (TestApp, TestDb, String) {
    let db = TestDb::sqlite();
    let app = TestApp::spawn_with(&db, double, &[("config", config), ("virtual_clock", "")]).await;
    let channel = app.new_customer(CSM, customer).await;
    (app, db, channel)
}

/// The ticket's own message in the channel: (ts, message).
pub fn ticket_message(double: &SlackDouble, channel: &str, label: &str) -> Option<(String, Value)> {
    double
        .top_level(channel)
        .into_iter()
        .find(|m| {
            m["text"]
                .as_str()
                .unwrap_or("")
                .starts_with(&format!("{label} "))
        })
        .map(|m| (m["ts"].as_str().unwrap().to_string(), m))
}

/// How many top-level posts of the ticket's message there are (must stay one).
fn ticket_posts(double: &SlackDouble, channel: &str, label: &str) -> usize {
    double
        .top_level(channel)
        .iter()
        .filter(|m| {
            m["text"]
                .as_str()
                .unwrap_or("")
                .starts_with(&format!("{label} "))
        })
        .count()
}

/// The texts of the escalations threaded under the ticket, oldest first.
fn escalations(double: &SlackDouble, channel: &str, label: &str) -> Vec<String> {
    let Some((ts, _)) = ticket_message(double, channel, label) else {
        return Vec::new();
    };
    double
        .thread_replies(channel, &ts)
        .iter()
        .map(|m| m["blocks"].to_string())
        .collect()
}

fn thread_reply_event(id: &str, user: &str, channel: &str, thread_ts: &str) -> String {
    event_callback(
        id,
        json!({
            "type": "message",
            "channel": channel,
            "user": user,
            "text": "Looking into it now.",
            "ts": format!("{}.000100", chrono::Utc::now().timestamp()),
            "thread_ts": thread_ts,
            "team": TEAM,
            "channel_type": "group"
        }),
    )
}

pub fn button_payload(action_id: &str, value: &str, channel: &str, message_ts: &str) -> Value {
    let action = json!({"action_id": action_id, "block_id": "ticket:x", "type": "button", "value": value, "action_ts": "1"});
    crate::support::block_actions(TEAM, ENGINEER, channel, message_ts, action)
}

on_both_backends!(
    escalations_fire_in_order_and_a_thread_reply_stops_them,
    escalation_scenario
);

/// The escalations of a P0 fire at 50%, 80% and 100% of its first-response target, in
/// order, threaded under the ticket; a reply in the thread stops the rest (a repeat
/// after the breach would have come 4 s later).
async fn escalation_scenario(db: &TestDb) {
    let (_dir, config) = policy_file(
        "[sla.P0]\nfirst_response = \"6s\"\nresolution = \"1h\"\n[escalation]\nrepeat_after_breach = \"4s\"\n",
    );
    let app = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("config", &config), ("virtual_clock", "")],
    )
    .await;
    let channel = app.new_customer(CSM, "Acme tier=enterprise").await;
    let answer = app
        .command_text(CSM, &channel, "ticket P0 SSO login fails for all users")
        .await;
    assert!(answer.contains("T-1"), "{answer}");
    let double = app.double.clone();
    double
        .wait_for("the ticket message", |d| {
            ticket_message(d, &channel, "T-1").is_some()
        })
        .await;
    let (ts, message) = ticket_message(&double, &channel, "T-1").unwrap();
    let shown = message["blocks"].to_string();
    assert!(shown.contains("SSO login fails"), "{shown}");
    assert!(
        shown.contains("<!date^"),
        "due time as Slack's date token: {shown}"
    );
    assert!(
        shown.contains(readiness::blocks::ticket::RESPOND),
        "{shown}"
    );
    // The target's 6 s pass on the app's clock: each threshold fires on the way.
    app.advance(Duration::from_secs(6)).await;
    let fired = escalations(&double, &channel, "T-1");
    assert_eq!(fired.len(), 3, "{fired:?}");
    assert!(fired[0].contains("50%"), "{fired:?}");
    assert!(fired[1].contains("80%"), "{fired:?}");
    assert!(fired[2].contains("breached"), "{fired:?}");
    assert!(
        fired[2].contains("<!here>"),
        "a P0 breach adds @here: {fired:?}"
    );
    assert!(
        fired[0].contains(&format!("<@{CSM}>")),
        "the reporter is named: {fired:?}"
    );

    // A teammate answers in the thread: the first response is met.
    let r = app
        .post_signed(
            "/slack/events",
            "application/json",
            thread_reply_event("Ev1", ENGINEER, &channel, &ts),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // The ticket's update waits its turn in the channel (a second after the last post).
    app.advance(Duration::from_secs(1)).await;
    double
        .wait_for("the ticket to show the first response met", |d| {
            ticket_message(d, &channel, "T-1")
                .is_some_and(|(_, m)| m["blocks"].to_string().contains("met in"))
        })
        .await;
    // The repeat would have fired 4 s after the breach; the clock goes past it.
    app.advance(Duration::from_secs(6)).await;
    assert_eq!(
        escalations(&double, &channel, "T-1").len(),
        3,
        "nothing fires after the answer"
    );
    assert_eq!(
        ticket_posts(&double, &channel, "T-1"),
        1,
        "the ticket is posted once"
    );
    app.stop().await;
}

/// Pause stops the clock and resume continues it; a priority change re-plans the
/// deadlines; Responded and Resolve close the targets; a second Resolve is refused.
/// On the app's virtual clock: "paused fires nothing" is checked past the moment the
/// next level would have fired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_change_priority_pause_resume_respond_and_resolve() {
    // 50% at 5 s, 80% at 8 s, breached at 10 s.
    let (_dir, config) = policy_file(
        "[sla.P0]\nfirst_response = \"10s\"\nresolution = \"1h\"\n[escalation]\nrepeat_after_breach = \"0s\"\n",
    );
    let (app, _db, channel) =
        app_on_virtual_clock_with_customer(&config, SlackDouble::start().await, "Globex").await;
    app.command_text(CSM, &channel, "ticket P3 Slow dashboard")
        .await;
    app.advance(Duration::ZERO).await;
    let double = app.double.clone();
    let (ts, _) = ticket_message(&double, &channel, "T-1").expect("the ticket message");
    let id = ticket_id(&app, 1).await;

    // P3 → P0: its 10 s target replaces P3's 8 h, so the 50% escalation comes at 5 s,
    // after the line saying the priority changed (nothing of P0's was past yet).
    let raise = priority_choice(id, "P0", &channel, &ts);
    assert_eq!(app.interact(&raise).await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(5)).await;
    let fired = escalations(&double, &channel, "T-1");
    assert_eq!(fired.len(), 2, "the change, then 50% only: {fired:#?}");
    assert!(
        fired[0].contains(&format!(
            "priority raised from P3 to *P0* by <@{ENGINEER}>\""
        )) && fired[1].contains("(P0)"),
        "{fired:#?}"
    );

    // Paused: nothing more fires, however long it waits.
    let pause = button_payload(
        readiness::blocks::ticket::PAUSE,
        &id.to_string(),
        &channel,
        &ts,
    );
    assert_eq!(app.interact(&pause).await.status(), StatusCode::OK);
    // The update waits its turn in the workspace's updates lane: the 50% escalation
    // updated the message at 5 s, and the lane's pace is 1.25 s (`UPDATE_GAP_MS`), so
    // a 1 s advance would not show it yet.
    app.advance(Duration::from_secs(2)).await;
    let (_, shown) = ticket_message(&double, &channel, "T-1").unwrap();
    assert!(
        shown["text"]
            .as_str()
            .unwrap_or("")
            .contains("waiting on the customer"),
        "the ticket shows it is paused: {shown}"
    );
    // An hour on the app's clock, far past the 80% and the breach had it run on.
    app.advance(Duration::from_secs(3600)).await;
    assert_eq!(
        escalations(&double, &channel, "T-1").len(),
        2,
        "a paused clock fires nothing"
    );

    // Resumed: the 5 s left run again, so the rest of the levels fire: 80% 3 s
    // later, the breach 5 s later.
    let resume = button_payload(
        readiness::blocks::ticket::RESUME,
        &id.to_string(),
        &channel,
        &ts,
    );
    assert_eq!(app.interact(&resume).await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(2)).await;
    assert_eq!(
        escalations(&double, &channel, "T-1").len(),
        2,
        "the paused time does not count"
    );
    app.advance(Duration::from_secs(3)).await;
    let fired = escalations(&double, &channel, "T-1");
    assert_eq!(fired.len(), 4, "{fired:#?}");
    assert!(
        fired[2].contains("80%") && fired[3].contains("breached"),
        "{fired:#?}"
    );

    let respond = button_payload(
        readiness::blocks::ticket::RESPOND,
        &id.to_string(),
        &channel,
        &ts,
    );
    assert_eq!(app.interact(&respond).await.status(), StatusCode::OK);
    let mut resolve = button_payload(
        readiness::blocks::ticket::RESOLVE,
        &id.to_string(),
        &channel,
        &ts,
    );
    resolve["response_url"] = json!(app.response_url());
    assert_eq!(app.interact(&resolve).await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(2)).await;
    let (_, shown) = ticket_message(&double, &channel, "T-1").unwrap();
    assert!(
        shown["text"].as_str().unwrap_or("").contains("resolved")
            && !shown["blocks"].to_string().contains("\"actions\""),
        "the ticket shows it is resolved, without buttons: {shown}"
    );
    let responses = double.responses().len();
    assert_eq!(app.interact(&resolve).await.status(), StatusCode::OK);
    double
        .wait_for("a refusal for the second Resolve", |d| {
            d.responses().len() > responses
        })
        .await;
    let (_, refusal) = double.responses().last().cloned().unwrap();
    assert!(
        refusal["text"]
            .as_str()
            .unwrap()
            .contains("already resolved"),
        "{refusal}"
    );

    let list = app.command_text(CSM, &channel, "tickets").await;
    assert!(list.contains("No open tickets"), "{list}");
    app.stop().await;
}

/// The id of ticket T-<number>, as the buttons carry it.
async fn ticket_id(app: &TestApp, number: i64) -> i64 {
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let ticket = store.ticket_by_number(TEAM, number).await.unwrap().unwrap();
    store.close().await;
    ticket.id
}

/// A request that came by phone an hour ago: its thresholds are all past, and each
/// fires once, in order, marked late; none is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_dated_ticket_fires_every_past_threshold_once_in_order_marked_late() {
    let (_dir, config) = policy_file(
        "[sla.P1]\nfirst_response = \"10m\"\nresolution = \"8h\"\n[escalation]\nrepeat_after_breach = \"1h\"\n",
    );
    let (app, _db, channel) =
        app_on_virtual_clock_with_customer(&config, SlackDouble::start().await, "Initech").await;
    let opened = (readiness::time_source::at_ms(app.clock_ms()) - chrono::Duration::minutes(65))
        .to_rfc3339();
    let answer = app
        .command_text(
            CSM,
            "C0GENERAL",
            &format!("ticket initech P1 opened={opened} VPN down since the call"),
        )
        .await;
    assert!(answer.contains("T-1"), "{answer}");
    let double = app.double.clone();
    // 50% (5m), 80% (8m), 100% (10m); the first repeat (1h 10m) is 5 minutes off,
    // and the clock stops a minute short of it.
    app.advance(Duration::from_secs(4 * 60)).await;
    let fired = escalations(&double, &channel, "T-1");
    assert_eq!(fired.len(), 3, "{fired:#?}");
    assert!(
        fired[0].contains("50%") && fired[1].contains("80%") && fired[2].contains("breached"),
        "{fired:#?}"
    );
    assert!(
        fired.iter().all(|e| e.contains("Late")),
        "marked late: {fired:#?}"
    );
    let (_, message) = ticket_message(&double, &channel, "T-1").unwrap();
    assert!(
        message["blocks"].to_string().contains("breached by"),
        "{message}"
    );
    app.stop().await;
}

/// Slack answering 429 and 500 for a while, including a 500 after it had posted:
/// everything arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_server_errors_delay_posts_but_deliver_each_once() {
    let (_dir, config) = policy_file(
        "[sla.P0]\nfirst_response = \"2s\"\nresolution = \"1h\"\n[escalation]\nrepeat_after_breach = \"0s\"\n",
    );
    let (app, _db, channel) =
        app_on_virtual_clock_with_customer(&config, SlackDouble::start().await, "Umbrella").await;
    let double = app.double.clone();
    double.fail_next(
        "chat.postMessage",
        &[
            "ratelimited",
            "http500",
            "posted_then_http500",
            "ratelimited",
            "http500",
            "posted_then_http500",
        ],
    );
    app.command_text(CSM, &channel, "ticket P0 Payments failing")
        .await;
    // The 429s' waits and the 500s' backoffs all pass on the app's clock. (Within a
    // minute of real time: a post in doubt is looked up from 60 s before its row,
    // and the double stamps posts with the real time.)
    app.advance(Duration::from_secs(30)).await;
    assert_eq!(
        ticket_posts(&double, &channel, "T-1"),
        1,
        "the ticket is posted once"
    );
    let fired = escalations(&double, &channel, "T-1");
    assert_eq!(fired.len(), 3, "each escalation once: {fired:#?}");
    let history = double.calls_to("conversations.history").len()
        + double.calls_to("conversations.replies").len();
    assert!(
        history >= 1,
        "a post left in doubt was looked up before posting again"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("readiness_outbox_rate_limited_total 2"),
        "{metrics}"
    );
    assert!(metrics.contains("readiness_outbox_failed 0"), "{metrics}");
    app.stop().await;
}

/// The app removed from the customer's channel: the escalation is parked with the
/// reason, the CSM gets a DM, and /metrics shows it; nothing is retried in a loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_error_parks_the_post_and_tells_the_csm() {
    let (_dir, config) = policy_file(
        "[sla.P0]\nfirst_response = \"1s\"\nresolution = \"1h\"\n[escalation]\nat = [\"100%\"]\nrepeat_after_breach = \"0s\"\n",
    );
    let (app, _db, channel) =
        app_on_virtual_clock_with_customer(&config, SlackDouble::start().await, "Hooli").await;
    let double = app.double.clone();
    double.fail_next("chat.postMessage", &["not_in_channel"]);
    app.command_text(CSM, &channel, "ticket P0 Cannot deploy")
        .await;
    // The ticket's post is parked at once and the CSM told, before the 1 s target
    // (whose escalation, posted on the channel, would then go through).
    app.advance(Duration::from_millis(500)).await;
    assert_eq!(double.messages_in(CSM).len(), 1, "one DM to the CSM");
    let dm = double.messages_in(CSM)[0].1.to_string();
    assert!(
        dm.contains("not_in_channel") && dm.contains("Hooli"),
        "{dm}"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("readiness_outbox_failed 1"), "{metrics}");
    assert!(
        metrics.contains("readiness_outbox_parked_total{reason=\"not_in_channel\"} 1"),
        "{metrics}"
    );
    app.stop().await;
}

/// A channel shared with the customer (Slack Connect): escalations go to the team's
/// internal channel with a link to the ticket, not in front of the customer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_channel_sends_escalations_to_the_internal_channel() {
    let (_dir, config) = policy_file(
        "[sla.P2]\nfirst_response = \"1s\"\nresolution = \"1h\"\n[escalation]\nat = [\"100%\"]\nrepeat_after_breach = \"0s\"\ninternal_channel = \"C0INTERNAL\"\n",
    );
    let double = SlackDouble::start().await;
    double.add_channel("C0INTERNAL", "support-leads", true);
    let (app, _db, channel) =
        app_on_virtual_clock_with_customer(&config, double.clone(), "Stark").await;
    double.set_shared(&channel, true);
    app.command_text(CSM, &channel, "ticket P2 Export times out")
        .await;
    app.advance(Duration::from_secs(2)).await;
    assert_eq!(
        double.messages_in("C0INTERNAL").len(),
        1,
        "an escalation in the internal channel"
    );
    let posted = double.messages_in("C0INTERNAL")[0].1.to_string();
    assert!(
        posted.contains("breached") && posted.contains("https://example.slack.com/archives/"),
        "{posted}"
    );
    assert!(
        escalations(&double, &channel, "T-1").is_empty(),
        "nothing in the customer's view"
    );
    app.stop().await;
}

/// `/readiness ticket` alone opens the modal; its submission opens the ticket. The
/// message shortcut opens it with the message as summary and its author as reporter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_modal_and_the_message_shortcut_open_tickets() {
    let (_dir, config) = policy_file("");
    let (app, _db, channel) = app_with_customer(&config, SlackDouble::start().await, "Wayne").await;
    let double = app.double.clone();
    let (status, _) = app.command(CSM, &channel, "ticket").await;
    assert_eq!(status, StatusCode::OK);
    double
        .wait_for("the ticket modal", |d| !d.calls_to("views.open").is_empty())
        .await;
    let view = &double.calls_to("views.open")[0].args["view"];
    let view: Value = match view {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        v => v.clone(),
    };
    assert_eq!(
        view["callback_id"],
        readiness::blocks::ticket_modal::TICKET_MODAL
    );
    let submit = json!({
        "type": "view_submission",
        "team": {"id": TEAM},
        "user": {"id": CSM, "team_id": TEAM},
        "view": {
            "callback_id": readiness::blocks::ticket_modal::TICKET_MODAL,
            "private_metadata": view["private_metadata"],
            "state": {"values": {
                readiness::blocks::ticket_modal::MODAL_PRIORITY: {readiness::blocks::ticket_modal::MODAL_PRIORITY: {"type": "static_select", "selected_option": {"value": "P1"}}},
                readiness::blocks::ticket_modal::MODAL_SUMMARY: {readiness::blocks::ticket_modal::MODAL_SUMMARY: {"type": "plain_text_input", "value": "Batch jobs stuck"}}
            }}
        }
    });
    // An empty summary is refused as missing, not as too long; in Japanese too.
    let summary_error = |user: &str, summary: &str| {
        let mut refused = submit.clone();
        refused["user"]["id"] = json!(user);
        refused["view"]["state"]["values"][readiness::blocks::ticket_modal::MODAL_SUMMARY]
            [readiness::blocks::ticket_modal::MODAL_SUMMARY]["value"] = json!(summary);
        let app = &app;
        async move {
            let r = app.interact(&refused).await;
            assert_eq!(r.status(), StatusCode::OK);
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["response_action"], "errors", "{body}");
            body["errors"][readiness::blocks::ticket_modal::MODAL_SUMMARY]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let empty = summary_error(CSM, "   ").await;
    assert!(empty.contains("required"), "{empty}");
    assert!(!empty.contains("2,000"), "{empty}");
    let long = summary_error(CSM, &"x".repeat(2001)).await;
    assert!(long.contains("2,000"), "{long}");
    app.double.set_locale("UJA", "ja-JP");
    let empty = summary_error("UJA", "").await;
    assert!(empty.contains("必須"), "{empty}");
    let r = app.interact(&submit).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().is_empty(), "the modal closes");
    double
        .wait_for("the modal's ticket", |d| {
            ticket_message(d, &channel, "T-1").is_some()
        })
        .await;

    let shortcut = json!({
        "type": "message_action",
        "callback_id": readiness::blocks::ticket_modal::TRACK_SHORTCUT,
        "team": {"id": TEAM},
        "user": {"id": ENGINEER, "team_id": TEAM},
        "channel": {"id": channel},
        "trigger_id": "9.9.9",
        "response_url": app.response_url(),
        "message": {"type": "message", "ts": "1700000000.000900", "user": "U0CUSTOMER", "text": "Our SSO stopped working after the upgrade"}
    });
    assert_eq!(app.interact(&shortcut).await.status(), StatusCode::OK);
    double
        .wait_for("the shortcut's modal", |d| {
            d.calls_to("views.open").len() == 2
        })
        .await;
    let view = double.calls_to("views.open")[1].args["view"].to_string();
    assert!(view.contains("Our SSO stopped working"), "{view}");
    assert!(view.contains("U0CUSTOMER"), "the author reports it: {view}");

    // In a channel that is no customer's, it says so and opens nothing.
    let mut elsewhere = shortcut.clone();
    elsewhere["channel"]["id"] = json!("C0GENERAL");
    let before = double.responses().len();
    assert_eq!(app.interact(&elsewhere).await.status(), StatusCode::OK);
    double
        .wait_for("the shortcut's refusal", |d| d.responses().len() > before)
        .await;
    let refusal = double.responses()[before].1.to_string();
    assert!(refusal.contains("belongs to no customer"), "{refusal}");
    assert_eq!(double.calls_to("views.open").len(), 2);

    // Submitted, it opens T-2; a reply in the tracked message's thread answers it, but
    // not one by its reporter.
    let view: Value = match &double.calls_to("views.open")[1].args["view"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        v => v.clone(),
    };
    let mut submit = submit.clone();
    submit["view"]["private_metadata"] = view["private_metadata"].clone();
    assert_eq!(app.interact(&submit).await.status(), StatusCode::OK);
    double
        .wait_for("the tracked ticket", |d| {
            ticket_message(d, &channel, "T-2").is_some()
        })
        .await;
    let tracked = "1700000000.000900";
    for (event, user) in [("EvCust", "U0CUSTOMER"), ("EvEng", ENGINEER)] {
        let r = app
            .post_signed(
                "/slack/events",
                "application/json",
                thread_reply_event(event, user, &channel, tracked),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    double
        .wait_for("T-2 answered through the tracked message's thread", |d| {
            ticket_message(d, &channel, "T-2")
                .is_some_and(|(_, m)| m["blocks"].to_string().contains("met in"))
        })
        .await;
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let t2 = store.ticket_by_number(TEAM, 2).await.unwrap().unwrap();
    store.close().await;
    assert_eq!(t2.reporter, "U0CUSTOMER");
    assert_eq!(
        t2.responded_by.as_deref(),
        Some(ENGINEER),
        "the reporter's own reply did not count"
    );
    app.stop().await;
}

/// Wrong input gets a short answer with the right form and opens nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ticket_commands_get_the_right_form_and_open_nothing() {
    let (_dir, config) = policy_file("");
    let (app, _db, channel) =
        app_with_customer(&config, SlackDouble::start().await, "Tyrell").await;
    for (text, says) in [
        ("ticket P9 Something", "P0, P1, P2 or P3"),
        ("ticket P1", "what the request is about"),
        ("ticket P1 opened=yesterday Broken", "is not a time"),
        (
            "ticket P1 opened=2999-01-01T00:00:00Z Broken",
            "in the future",
        ),
        (
            "ticket P1 opened=2021-01-01T00:00:00Z Broken",
            "more than 30 days ago",
        ),
        ("ticket nosuch P1 Broken", "nosuch"),
        ("tickets a b", "did not expect"),
    ] {
        let answer = app.command_text(CSM, &channel, text).await;
        assert!(answer.contains(says), "{text}: {answer}");
    }
    let answer = app.command_text(CSM, "C0GENERAL", "ticket P1 Broken").await;
    assert!(answer.contains("customer"), "{answer}");
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    assert!(store.open_tickets(TEAM, None).await.unwrap().is_empty());
    store.close().await;
    assert!(ticket_message(&app.double, &channel, "T-1").is_none());
    app.stop().await;
}

/// Two replicas on one PostgreSQL share 1,000 due timers: every one fires exactly once
/// (the replicas' fired counts add up to 1,000, and Slack sees each escalation once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_fire_1000_timers_each_exactly_once() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    // 250 tickets × 2 targets × 2 levels (50% and 100%) = 1,000 firings.
    // 300 commands from one person, faster than a person types: no command limit.
    let (_dir, config) = policy_file(
        "commands_per_user_per_minute = 0\n[sla.P2]\nfirst_response = \"6s\"\nresolution = \"8s\"\n[escalation]\nat = [\"50%\", \"100%\"]\nrepeat_after_breach = \"0s\"\n",
    );
    let double = SlackDouble::start().await;
    let customers = 50;
    for n in 0..customers {
        double.add_channel(&format!("C0CUST{n:03}"), &format!("cust-{n}"), true);
    }
    let one = TestApp::spawn_with(&db, double.clone(), &[("config", &config)]).await;
    let two = TestApp::spawn_with(&db, double.clone(), &[("config", &config)]).await;
    for n in 0..customers {
        let text = one
            .command_text(
                CSM,
                "C0GENERAL",
                &format!("new Cust{n} channel=<#C0CUST{n:03}|cust-{n}>"),
            )
            .await;
        assert!(text.contains("Cust"), "{text}");
    }
    for t in 0..250 {
        let app = if t % 2 == 0 { &one } else { &two };
        let channel = format!("C0CUST{:03}", t % customers);
        let answer = app
            .command_text(CSM, &channel, &format!("ticket P2 Request {t}"))
            .await;
        assert!(answer.contains("T-"), "{answer}");
    }
    let all_escalations = |d: &SlackDouble| -> Vec<Vec<String>> {
        (0..customers)
            .flat_map(|n| {
                let channel = format!("C0CUST{n:03}");
                d.top_level(&channel)
                    .into_iter()
                    .filter(|m| m["text"].as_str().unwrap_or("").starts_with("T-"))
                    .map(move |m| {
                        d.thread_replies(&channel, m["ts"].as_str().unwrap())
                            .iter()
                            .map(|r| r["blocks"].to_string())
                            .collect::<Vec<_>>()
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    double
        .wait_up_to(Duration::from_secs(120), "1,000 escalations", |d| {
            all_escalations(d).iter().map(Vec::len).sum::<usize>() >= 1000
        })
        .await;
    // Nothing more can post once no timer is left to fire and no escalation row is left
    // unsent (each row is sent once, under its unique key): wait for that, then count.
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (timers, unsent): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM timers), \
                    (SELECT COUNT(*) FROM outbox WHERE kind = 'escalation' AND status = 'pending')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if timers == 0 && unsent == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{timers} timers and {unsent} escalations still to go"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    pool.close().await;
    let threads = all_escalations(&double);
    assert_eq!(threads.len(), 250, "each ticket posted once");
    for replies in &threads {
        assert_eq!(
            replies.len(),
            4,
            "each ticket escalated once per level and target: {replies:#?}"
        );
        let distinct: std::collections::HashSet<&String> = replies.iter().collect();
        assert_eq!(distinct.len(), 4, "no escalation twice: {replies:#?}");
    }
    let fired = |metrics: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("readiness_timers_fired_total "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    let by_one = fired(&one.get("/metrics").await.text().await.unwrap());
    let by_two = fired(&two.get("/metrics").await.text().await.unwrap());
    eprintln!("replica one fired {by_one}, replica two fired {by_two}");
    assert_eq!(
        by_one + by_two,
        1000,
        "every timer fired exactly once across the replicas"
    );
    one.stop().await;
    two.stop().await;
}

/// Workspace admins set who is named at each level; others may only look. The
/// escalations then name each step in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_the_escalation_path_and_each_level_names_its_step() {
    let (_dir, config) = policy_file(
        "[sla.P0]\nfirst_response = \"3s\"\nresolution = \"1h\"\n[escalation]\nrepeat_after_breach = \"0s\"\n",
    );
    let double = SlackDouble::start().await;
    double.set_admin("U0ADMIN");
    let (app, _db, channel) =
        app_on_virtual_clock_with_customer(&config, double.clone(), "Cyberdyne").await;
    let set = "escalation P0 <@U0ONCALL|oncall> <!subteam^S0LEADS|@leads> <@U0BOSS>";
    let refused = app.command_text(CSM, &channel, set).await;
    assert!(
        refused.contains("You are a CSM") && refused.contains("roles: admin"),
        "{refused}"
    );
    let bad = app
        .command_text("U0ADMIN", &channel, "escalation P0 <#C0X|general>")
        .await;
    assert!(bad.contains("not a person or a user group"), "{bad}");
    let saved = app.command_text("U0ADMIN", &channel, set).await;
    assert!(
        saved.contains("<@U0ONCALL> → <!subteam^S0LEADS> → <@U0BOSS>"),
        "{saved}"
    );
    let shown = app.command_text(CSM, &channel, "escalation").await;
    assert!(
        shown.contains("<!subteam^S0LEADS>") && shown.contains("*P1*"),
        "{shown}"
    );

    app.command_text(CSM, &channel, "ticket P0 Data export corrupt")
        .await;
    // At 1.5, 2.4 and 3 s, each posted a channel's pace (1.1 s) after the last.
    app.advance(Duration::from_secs(5)).await;
    let fired = escalations(&double, &channel, "T-1");
    assert_eq!(fired.len(), 3, "{fired:#?}");
    assert!(fired[0].contains("<@U0ONCALL>"), "{fired:#?}");
    assert!(fired[1].contains("<!subteam^S0LEADS>"), "{fired:#?}");
    assert!(fired[2].contains("<@U0BOSS>"), "{fired:#?}");

    let cleared = app
        .command_text("U0ADMIN", &channel, "escalation P0 clear")
        .await;
    assert!(cleared.contains("no path"), "{cleared}");
    app.stop().await;
}

/// A changed policy re-plans the open deadlines at the next start: a P2 planned for
/// an hour is due in seconds once its target is cut, and its escalations arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_policy_replans_open_deadlines_at_the_next_start() {
    let (_dir, slow) = policy_file("[sla.P2]\nfirst_response = \"1h\"\nresolution = \"8h\"\n");
    let (_dir2, fast) = policy_file(
        "[sla.P2]\nfirst_response = \"3s\"\nresolution = \"8h\"\n[escalation]\nrepeat_after_breach = \"0s\"\n",
    );
    let (app, _db, channel) =
        app_on_virtual_clock_with_customer(&slow, SlackDouble::start().await, "Soylent").await;
    app.command_text(CSM, &channel, "ticket P2 Reports are empty")
        .await;
    let double = app.double.clone();
    app.advance(Duration::from_secs(3)).await;
    assert!(ticket_message(&double, &channel, "T-1").is_some());
    assert!(escalations(&double, &channel, "T-1").is_empty());
    let clock = app.clock_ms().to_string();
    let app = app
        .restart_with(&[("config", &fast), ("virtual_clock", &clock)])
        .await;
    // The 3 s target counts from when the ticket was opened, 3 s ago on the clock:
    // every level is due at once.
    app.advance(Duration::from_secs(5)).await;
    let fired = escalations(&double, &channel, "T-1");
    assert_eq!(fired.len(), 3, "the re-planned escalations: {fired:#?}");
    let (_, message) = ticket_message(&double, &channel, "T-1").unwrap();
    assert!(
        message["blocks"]
            .to_string()
            .contains("*First response* (less than a business minute)"),
        "the message shows the new target: {message}"
    );
    app.stop().await;
}

/// Business time end to end: with today and tomorrow as the team's holidays (in UTC,
/// all-day hours), a P2's 4 h first response is due the day after tomorrow at 04:00.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_teams_holidays_push_the_deadline_past_them() {
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let (_dir, config) = settings_file(&format!(
        "[tiers.standard]\nhours = \"Mon-Sun 00:00-24:00\"\ntimezone = \"UTC\"\nholidays = [\"{today}\", \"{tomorrow}\"]\n"
    ));
    let (app, _db, channel) =
        app_with_customer(&config, SlackDouble::start().await, "Oscorp tier=standard").await;
    app.command_text(CSM, &channel, "ticket P2 Invoices missing")
        .await;
    let double = app.double.clone();
    double
        .wait_for("the ticket message", |d| {
            ticket_message(d, &channel, "T-1").is_some()
        })
        .await;
    let due = tomorrow
        .succ_opt()
        .unwrap()
        .and_hms_opt(4, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    let (_, message) = ticket_message(&double, &channel, "T-1").unwrap();
    let shown = message["blocks"].to_string();
    assert!(
        shown.contains(&format!("<!date^{due}^")),
        "due {due}: {shown}"
    );
    assert!(
        shown.contains("(4 business hours left)"),
        "no business time has passed yet: {shown}"
    );
    app.stop().await;
}

/// An escalation that fired while the channel was held up (Slack rate-limiting the
/// ticket's own post) is dropped, not posted, if the target is met before its turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_still_waiting_its_turn_is_dropped_once_the_target_is_met() {
    let (_dir, config) = policy_file(
        "[sla.P0]\nfirst_response = \"2s\"\nresolution = \"1h\"\n[escalation]\nat = [\"50%\", \"100%\"]\nrepeat_after_breach = \"0s\"\n",
    );
    let (app, _db, channel) =
        app_on_virtual_clock_with_customer(&config, SlackDouble::start().await, "Vandelay").await;
    let double = app.double.clone();
    double.fail_next("chat.postMessage", &["ratelimited"; 4]);
    app.command_text(CSM, &channel, "ticket P0 Imports stuck")
        .await;
    // Both thresholds are due while the ticket's post waits out the 429s (1 s each).
    app.advance(Duration::from_millis(2500)).await;
    assert!(
        ticket_message(&double, &channel, "T-1").is_none(),
        "the ticket is still held up"
    );
    let id = ticket_id(&app, 1).await;
    let respond = button_payload(
        readiness::blocks::ticket::RESPOND,
        &id.to_string(),
        &channel,
        "0",
    );
    assert_eq!(app.interact(&respond).await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(10)).await;
    let (_, shown) = ticket_message(&double, &channel, "T-1").expect("the ticket");
    assert!(
        shown["blocks"].to_string().contains("met in"),
        "the ticket shows the response: {shown}"
    );
    assert!(
        escalations(&double, &channel, "T-1").is_empty(),
        "nothing posted after the response"
    );
    let pool = sqlx::SqlitePool::connect(&app.db_url).await.unwrap();
    let (cancelled,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'escalation' AND status = 'cancelled'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert!(
        cancelled >= 1,
        "the fired escalations were dropped, not sent"
    );
    app.stop().await;
}

/// The ticket's priority menu, set to `priority` by the engineer.
fn priority_choice(id: i64, priority: &str, channel: &str, message_ts: &str) -> Value {
    let mut choice = button_payload(readiness::blocks::ticket::PRIORITY, "", channel, message_ts);
    choice["actions"][0]["type"] = json!("static_select");
    choice["actions"][0]["selected_option"] = json!({
        "text": {"type": "plain_text", "text": priority},
        "value": format!("{id}:{priority}"),
    });
    choice
}

on_both_backends!(
    a_priority_change_is_one_line_then_only_the_thresholds_ahead,
    priority_change_scenario
);

/// A P3 raised to P1 after 65 minutes: P1's 50%, 80% and 100% of its 1h first
/// response are past, yet none is posted late, dated when the ticket was still P3;
/// one line says the priority changed and the first response is breached by 5m, and
/// the thresholds still ahead fire once each, on time. Lowered back to P3 later, the
/// new priority's own thresholds ahead fire too (the first response's row, gone once
/// P1's levels ran out, comes back), and none collides with what P1 posted at the
/// same level.
async fn priority_change_scenario(db: &TestDb) {
    // Default targets (P1 1h / 8h, P3 8h / 72h), every tier 24/7, no repeats.
    let (_dir, config) = policy_file("[escalation]\nrepeat_after_breach = \"0s\"\n");
    let app = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("config", &config), ("virtual_clock", "")],
    )
    .await;
    let channel = app.new_customer(CSM, "Hooli").await;
    app.command_text(CSM, &channel, "ticket P3 Dashboard is slow")
        .await;
    app.advance(Duration::ZERO).await;
    let double = app.double.clone();
    let (ts, _) = ticket_message(&double, &channel, "T-1").expect("the ticket message");
    let id = ticket_id(&app, 1).await;
    let minutes = |m: u64| Duration::from_secs(m * 60);

    app.advance(minutes(65)).await;
    assert!(
        escalations(&double, &channel, "T-1").is_empty(),
        "P3's 50% is 4h away"
    );
    let raise = priority_choice(id, "P1", &channel, &ts);
    assert_eq!(app.interact(&raise).await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(5)).await;
    let thread = escalations(&double, &channel, "T-1");
    assert_eq!(
        thread.len(),
        1,
        "one line, no late escalations: {thread:#?}"
    );
    assert!(
        thread[0].contains(&format!(
            "priority raised from P3 to *P1* by <@{ENGINEER}>: First response"
        )) && thread[0].contains("breached by 5 business minutes"),
        "{thread:#?}"
    );
    let (_, shown) = ticket_message(&double, &channel, "T-1").unwrap();
    assert!(
        shown["text"].as_str().unwrap_or("").contains("P1"),
        "the ticket shows its new priority: {shown}"
    );

    // P1's resolution (8h) reaches 50% at 4h: once, on time.
    app.advance(minutes(4 * 60 - 65)).await;
    let thread = escalations(&double, &channel, "T-1");
    assert_eq!(thread.len(), 2, "{thread:#?}");
    assert!(
        thread[1].contains("(P1) Resolution: 50%") && !thread[1].contains("Late"),
        "{thread:#?}"
    );

    // Lowered to P3 just after 4h: its first response's 50% (4h) is past, its 80%
    // (6h 24m) and 100% (8h) are ahead; its resolution's 50% comes at 36h.
    let lower = priority_choice(id, "P3", &channel, &ts);
    assert_eq!(app.interact(&lower).await.status(), StatusCode::OK);
    app.advance(minutes(36 * 60 - 4 * 60) + Duration::from_secs(5))
        .await;
    let thread = escalations(&double, &channel, "T-1");
    assert_eq!(thread.len(), 6, "{thread:#?}");
    assert!(
        thread[2].contains("priority lowered from P1 to *P3*")
            && thread[2].contains("First response")
            && thread[2].contains("(3h 59m of business time left)"),
        "{thread:#?}"
    );
    assert!(
        thread[3].contains("(P3) First response: 80%"),
        "{thread:#?}"
    );
    assert!(
        thread[4].contains("(P3) First response: target breached"),
        "{thread:#?}"
    );
    assert!(thread[5].contains("(P3) Resolution: 50%"), "{thread:#?}");
    assert!(
        thread.iter().all(|reply| !reply.contains("Late")),
        "nothing late: {thread:#?}"
    );
    app.stop().await;
}

/// A ticket's durations are business time and say so, in both languages: the target
/// as business hours, the due instant with the business time left, and a breach under
/// a minute old as "less than a business minute", never "0s".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_durations_say_they_are_business_time_in_both_languages() {
    let (_dir, config) = policy_file(
        "[sla.P2]\nfirst_response = \"10m\"\nresolution = \"72h\"\n[escalation]\nrepeat_after_breach = \"0s\"\n",
    );
    let (app, _db, channel) =
        app_on_virtual_clock_with_customer(&config, SlackDouble::start().await, "Globex").await;
    app.double.set_locale("UJA", "ja-JP");
    app.command_text(CSM, &channel, "ticket P2 Invoices missing")
        .await;
    let double = app.double.clone();
    double
        .wait_for("the ticket message", |d| {
            ticket_message(d, &channel, "T-1").is_some()
        })
        .await;
    let (_, message) = ticket_message(&double, &channel, "T-1").unwrap();
    let shown = message["blocks"].to_string();
    assert!(
        shown.contains("*Resolution* (72 business hours): :hourglass_flowing_sand: due <!date^")
            && shown.contains("(72 business hours left)"),
        "{shown}"
    );

    // Twenty seconds past the first response's target.
    app.advance(Duration::from_secs(10 * 60 + 20)).await;
    let en = app.command_shown(CSM, &channel, "tickets").await;
    let ja = app.command_shown("UJA", &channel, "tickets").await;
    for (shown, says) in [
        (
            &en,
            "First response: :red_circle: breached by less than a business minute",
        ),
        (&ja, "初回応答: :red_circle: 超過 営業時間 1 分未満"),
        (&en, "(71h 49m of business time left)"),
        (&ja, "（残り 営業時間 71 時間 49 分）"),
        (&ja, "期限 <!date^"),
    ] {
        assert!(shown.contains(says), "{says}\nin\n{shown}");
    }
    for shown in [&en, &ja] {
        assert!(!shown.contains("0s") && !shown.contains("2d"), "{shown}");
    }
    let fired = escalations(&double, &channel, "T-1");
    assert!(
        fired
            .last()
            .is_some_and(|e| e.contains("target breached (10 business minutes)")),
        "{fired:#?}"
    );
    app.stop().await;
}
