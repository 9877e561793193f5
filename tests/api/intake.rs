//! Intake end to end: a customer's own message becomes a ticket, timed from when it
//! was written, exactly once whatever Slack repeats; the reaction and the reply the
//! customer sees; where the card and its escalations go.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::sla::{CSM, ENGINEER, policy_file};
use crate::support::{TEAM, TestApp, TestDb, event_callback, slack_double::SlackDouble};

/// A person of the customer's organisation (Slack Connect).
const CUSTOMER: &str = "U0CUSTOMER";
const CUSTOMER_ORG: &str = "T0ACME";
const GUEST: &str = "U0GUEST";
const APP_USER: &str = readiness::slack_fake::BOT_USER_ID;

/// The app on a virtual clock under `policy`, against a fresh Slack double, with
/// customer `name`; the policy file's folder (kept while the test runs), the app, the
/// double and the customer's channel.
async fn app_with_customer(
    db: &TestDb,
    policy: &str,
    name: &str,
) -> (tempfile::TempDir, TestApp, SlackDouble, String) {
    let (dir, config) = policy_file(policy);
    let double = SlackDouble::start().await;
    let app = TestApp::spawn_with(
        db,
        double.clone(),
        &[("config", &config), ("virtual_clock", "")],
    )
    .await;
    let channel = app.new_customer(CSM, name).await;
    (dir, app, double, channel)
}

async fn send_event(app: &TestApp, id: &str, event: Value) -> StatusCode {
    app.post_signed(
        "/slack/events",
        "application/json",
        event_callback(id, event),
    )
    .await
    .status()
}

/// The event Slack sends for message `ts` of `channel`.
fn message_event(double: &SlackDouble, channel: &str, ts: &str) -> Value {
    double.message_event(channel, ts).expect("the message")
}

fn reaction_event(user: &str, emoji: &str, channel: &str, ts: &str) -> Value {
    json!({
        "type": "reaction_added", "user": user, "reaction": emoji,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "item_user": CUSTOMER, "event_ts": ts,
    })
}

async fn ticket(app: &TestApp, number: i64) -> Option<readiness::store::tickets::TicketRecord> {
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let found = store.ticket_by_number(TEAM, number).await.unwrap();
    store.close().await;
    found
}

fn ts_ms(ts: &str) -> i64 {
    readiness::domain::intake::written_at(ts, chrono::Utc::now()).timestamp_millis()
}

fn texts(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| format!("{} {}", m["text"], m["blocks"]))
        .collect()
}

on_both_backends!(
    a_slack_connect_persons_message_opens_one_ticket_timed_from_its_ts,
    connect_message_scenario
);

/// A Slack Connect person writes in the customer's channel; the event arrives 15 s
/// late. The ticket is opened at the message's ts: its 50% escalation (10 s after the
/// message) is already past and fires at once, the breach comes 20 s after the
/// message, not after the event. Slack's retry (a new event id), the mention event of
/// the same message and, on PostgreSQL, the same event at a second replica open
/// nothing more; the reaction and the reply are posted once.
async fn connect_message_scenario(db: &TestDb) {
    const POLICY: &str = "[sla.P2]\nfirst_response = \"20s\"\nresolution = \"1h\"\n[escalation]\nat = [\"50%\", \"100%\"]\nrepeat_after_breach = \"0s\"\n[intake]\nmode = \"all\"\n";
    let (_dir, app, double, channel) = app_with_customer(db, POLICY, "Acme").await;
    double.set_connect_person(CUSTOMER, CUSTOMER_ORG);
    let start = app.clock_ms();
    let ts = double.user_message(
        &channel,
        CUSTOMER,
        CUSTOMER_ORG,
        "Our SSO is down, see <https://status.acme.example|the status page>",
        None,
    );
    let written = ts_ms(&ts);
    app.advance(Duration::from_secs(15)).await;
    let event = message_event(&double, &channel, &ts);
    assert_eq!(event["user_team"], CUSTOMER_ORG);
    assert_eq!(
        send_event(&app, "EvLate", event.clone()).await,
        StatusCode::OK
    );
    // The card, then the reply and the escalation, a second apart (the channel's pace).
    app.advance(Duration::from_secs(3)).await;
    let t1 = ticket(&app, 1).await.expect("a ticket");
    assert_eq!(
        t1.opened_at, written,
        "opened when written, not when the event came"
    );
    assert!(t1.opened_at < start + 15_000);
    assert_eq!(t1.reporter, CUSTOMER);
    assert_eq!(t1.priority, "P2");
    assert_eq!(t1.summary, "Our SSO is down, see the status page");
    // The card, the reply and the 50% escalation are in the message's thread.
    let thread = texts(&double.thread_replies(&channel, &ts));
    assert!(
        thread
            .iter()
            .any(|t| t.contains("T-1") && t.contains("Thanks")),
        "{thread:?}"
    );
    assert!(thread.iter().any(|t| t.contains("50%")), "{thread:?}");
    assert!(!thread.iter().any(|t| t.contains("breached")), "{thread:?}");
    assert_eq!(
        double.reactions_on(&channel, &ts),
        vec![("ticket".to_string(), vec![APP_USER.to_string()])]
    );
    // Slack retries with a new event id; the mention of the same message comes too.
    assert_eq!(
        send_event(&app, "EvRetry", event.clone()).await,
        StatusCode::OK
    );
    let mut mention = event.clone();
    mention["type"] = json!("app_mention");
    assert_eq!(send_event(&app, "EvMention", mention).await, StatusCode::OK);
    let replica = if db.url.starts_with("postgres") {
        let (_replica_dir, config) = policy_file(POLICY);
        let replica = TestApp::spawn_with(
            &TestDb::at(&db.url),
            double.clone(),
            &[("config", &config), ("virtual_clock", "")],
        )
        .await;
        // The same event reaching both replicas at once.
        let (a, b) = tokio::join!(
            send_event(&app, "EvBoth", event.clone()),
            send_event(&replica, "EvBoth2", event.clone())
        );
        assert_eq!((a, b), (StatusCode::OK, StatusCode::OK));
        replica.advance(Duration::from_millis(1)).await;
        Some(replica)
    } else {
        None
    };
    // 20 s after the message the first response is breached.
    let until_breach = written + 20_000 - app.clock_ms();
    app.advance(Duration::from_millis((until_breach - 500).max(1) as u64))
        .await;
    let thread = texts(&double.thread_replies(&channel, &ts));
    assert!(!thread.iter().any(|t| t.contains("breached")), "{thread:?}");
    app.advance(Duration::from_secs(1)).await;
    let thread = texts(&double.thread_replies(&channel, &ts));
    assert!(thread.iter().any(|t| t.contains("breached")), "{thread:?}");
    assert!(ticket(&app, 2).await.is_none(), "one message, one ticket");
    let acks = thread
        .iter()
        .filter(|t| t.contains("Thanks, we have this"))
        .count();
    assert_eq!(acks, 1, "{thread:?}");
    assert_eq!(double.count_ok("reactions.add", ""), 1);
    assert_eq!(double.reactions_on(&channel, &ts)[0].1.len(), 1);
    if let Some(replica) = replica {
        replica.stop().await;
    }
    app.stop().await;
}

/// Short acknowledgements, emoji, staff, bots, joins, edits, thread replies and a
/// channel that is no customer's open nothing; the real question does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgements_staff_and_noise_open_nothing() {
    let db = TestDb::sqlite();
    let (_dir, app, double, channel) = app_with_customer(
        &db,
        "[intake]\nmode = \"all\"\nacknowledge = false\n",
        "Acme",
    )
    .await;
    double.set_connect_person(CUSTOMER, CUSTOMER_ORG);
    double.add_channel("C0RANDOM", "random", true);
    let mut n = 0;
    let mut send = |event: Value| {
        n += 1;
        let id = format!("EvNoise{n}");
        let app = &app;
        async move { assert_eq!(send_event(app, &id, event).await, StatusCode::OK) }
    };
    for text in [
        "Thanks!",
        "thank you :pray:",
        "OK",
        "ありがとう！",
        ":+1: :tada:",
        "👍",
    ] {
        let ts = double.user_message(&channel, CUSTOMER, CUSTOMER_ORG, text, None);
        send(message_event(&double, &channel, &ts)).await;
    }
    let staff = double.user_message(&channel, ENGINEER, TEAM, "We are on it", None);
    send(message_event(&double, &channel, &staff)).await;
    let elsewhere = double.user_message("C0RANDOM", CUSTOMER, CUSTOMER_ORG, "Login fails", None);
    send(message_event(&double, "C0RANDOM", &elsewhere)).await;
    let parent = double.user_message(&channel, ENGINEER, TEAM, "Release notes", None);
    let reply = double.user_message(
        &channel,
        CUSTOMER,
        CUSTOMER_ORG,
        "Does it fix login?",
        Some(&parent),
    );
    send(message_event(&double, &channel, &reply)).await;
    let mut bot = message_event(&double, &channel, &staff);
    bot["bot_id"] = json!("B0OTHER");
    bot["user"] = json!(CUSTOMER);
    send(bot).await;
    for subtype in ["channel_join", "message_changed", "message_deleted"] {
        let mut event = message_event(&double, &channel, &staff);
        event["subtype"] = json!(subtype);
        event["user"] = json!(CUSTOMER);
        event["user_team"] = json!(CUSTOMER_ORG);
        send(event).await;
    }
    app.advance(Duration::from_millis(1)).await;
    assert!(ticket(&app, 1).await.is_none(), "noise opened a ticket");
    assert!(double.calls_to("reactions.add").is_empty());
    let ts = double.user_message(
        &channel,
        CUSTOMER,
        CUSTOMER_ORG,
        "Thanks, but exports still fail",
        None,
    );
    send(message_event(&double, &channel, &ts)).await;
    app.advance(Duration::from_millis(1)).await;
    let t1 = ticket(&app, 1).await.expect("the question opens a ticket");
    assert_eq!(t1.summary, "Thanks, but exports still fail");
    // `acknowledge = false`: no reply, only the card in the thread.
    let thread = texts(&double.thread_replies(&channel, &ts));
    assert!(
        !thread.iter().any(|t| t.contains("Thanks, we have this")),
        "{thread:?}"
    );
    app.stop().await;
}

/// `reaction` mode (`auto` in a channel not shared): a guest's message opens nothing
/// by itself; staff adding :ticket: opens it from the message, read back from Slack,
/// the guest reporting it; a second reaction opens nothing more; a guest's reaction,
/// a deleted message and a channel that is no customer's open nothing. Staff's
/// :white_check_mark: on the message resolves the ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaction_mode_on_a_guests_message_and_the_resolve_emoji() {
    let db = TestDb::sqlite();
    let (_dir, app, double, channel) = app_with_customer(
        &db,
        "[intake]\nmode = \"reaction\"\n[intake.priority_words]\nP1 = [\"urgent\"]\n",
        "Globex",
    )
    .await;
    double.set_guest(GUEST, true);
    let ts = double.user_message(
        &channel,
        GUEST,
        TEAM,
        "Urgent: the <@U0BOB|bob> report is empty",
        None,
    );
    assert_eq!(
        send_event(&app, "EvMsg", message_event(&double, &channel, &ts)).await,
        StatusCode::OK
    );
    app.advance(Duration::from_secs(3)).await;
    assert!(
        ticket(&app, 1).await.is_none(),
        "reaction mode: a message alone opens nothing"
    );
    // The guest's own reaction opens nothing.
    assert_eq!(
        send_event(&app, "EvG", reaction_event(GUEST, "ticket", &channel, &ts)).await,
        StatusCode::OK
    );
    app.advance(Duration::from_millis(1)).await;
    assert!(ticket(&app, 1).await.is_none());
    assert_eq!(
        send_event(
            &app,
            "EvR1",
            reaction_event(ENGINEER, "ticket", &channel, &ts)
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        send_event(&app, "EvR2", reaction_event(CSM, "ticket", &channel, &ts)).await,
        StatusCode::OK
    );
    app.advance(Duration::from_millis(1)).await;
    let t1 = ticket(&app, 1).await.expect("the reaction opens a ticket");
    assert_eq!(t1.reporter, GUEST);
    assert_eq!(t1.opened_at, ts_ms(&ts), "timed from the message");
    assert_eq!(t1.priority, "P1", "raised by its word");
    assert_eq!(t1.summary, "Urgent: the @bob report is empty");
    assert!(ticket(&app, 2).await.is_none(), "two reactions, one ticket");
    let history: Vec<_> = double.calls_to("conversations.history");
    assert!(
        history
            .iter()
            .any(|c| c.args["latest"] == ts.as_str() && c.args["limit"] == "1"),
        "read back with conversations.history"
    );
    // The app's own reaction comes back as an event: nothing more.
    assert_eq!(
        send_event(
            &app,
            "EvOwn",
            reaction_event(APP_USER, "ticket", &channel, &ts)
        )
        .await,
        StatusCode::OK
    );
    // A reply in a thread, reacted to: read back through conversations.replies.
    let parent = double.user_message(&channel, ENGINEER, TEAM, "Maintenance tonight", None);
    let reply = double.user_message(&channel, GUEST, TEAM, "Will exports pause?", Some(&parent));
    assert_eq!(
        send_event(
            &app,
            "EvR3",
            reaction_event(ENGINEER, "ticket", &channel, &reply)
        )
        .await,
        StatusCode::OK
    );
    app.advance(Duration::from_millis(1)).await;
    let t2 = ticket(&app, 2)
        .await
        .expect("a threaded message is a ticket too");
    assert_eq!(t2.summary, "Will exports pause?");
    // A deleted message and a channel that is no customer's: nothing, and a 200.
    let gone = double.user_message(&channel, GUEST, TEAM, "Never mind", None);
    double.delete_message(&channel, &gone);
    assert_eq!(
        send_event(
            &app,
            "EvGone",
            reaction_event(ENGINEER, "ticket", &channel, &gone)
        )
        .await,
        StatusCode::OK
    );
    double.add_channel("C0RANDOM", "random", true);
    let elsewhere = double.user_message("C0RANDOM", GUEST, TEAM, "Hello", None);
    assert_eq!(
        send_event(
            &app,
            "EvElse",
            reaction_event(ENGINEER, "ticket", "C0RANDOM", &elsewhere)
        )
        .await,
        StatusCode::OK
    );
    app.advance(Duration::from_millis(1)).await;
    assert!(ticket(&app, 3).await.is_none());
    // Resolved by staff's :white_check_mark: on the customer's message.
    assert_eq!(
        send_event(
            &app,
            "EvDone",
            reaction_event(ENGINEER, "white_check_mark", &channel, &ts)
        )
        .await,
        StatusCode::OK
    );
    app.advance(Duration::from_millis(1)).await;
    let t1 = ticket(&app, 1).await.unwrap();
    assert_eq!(t1.resolved_by.as_deref(), Some(ENGINEER));
    // Slack failing while the message is read back: a 503, so Slack sends the event
    // again, and its retry (the same event id) opens the ticket.
    let later = double.user_message(&channel, GUEST, TEAM, "Search is slow", None);
    double.fail_next("conversations.history", &["http500"]);
    let failing = reaction_event(ENGINEER, "ticket", &channel, &later);
    assert_eq!(
        send_event(&app, "EvFlaky", failing.clone()).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(ticket(&app, 3).await.is_none());
    assert_eq!(send_event(&app, "EvFlaky", failing).await, StatusCode::OK);
    assert_eq!(ticket(&app, 3).await.unwrap().summary, "Search is slow");
    let reacted = double.reactions_on(&channel, &ts);
    assert_eq!(
        reacted,
        vec![("ticket".to_string(), vec![APP_USER.to_string()])]
    );
    app.stop().await;
}

/// `auto` in a channel that is not shared but has a guest in it: the guest's message
/// shows the customer is there, so it opens a ticket as in a shared channel, and its
/// card goes to the internal channel, away from the guest's eyes; a staff member's
/// message there opens nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_mode_takes_a_guests_message_in_an_unshared_channel() {
    let db = TestDb::sqlite();
    let (_dir, app, double, channel) = app_with_customer(
        &db,
        "[escalation]\ninternal_channel = \"C0INTERNAL\"\n",
        "Hooli",
    )
    .await;
    double.add_channel("C0INTERNAL", "support-leads", true);
    double.set_guest(GUEST, true);
    let staff = double.user_message(&channel, ENGINEER, TEAM, "Welcome to the channel!", None);
    assert_eq!(
        send_event(
            &app,
            "EvAutoStaff",
            message_event(&double, &channel, &staff)
        )
        .await,
        StatusCode::OK
    );
    let ts = double.user_message(
        &channel,
        GUEST,
        TEAM,
        "Exports fail since this morning",
        None,
    );
    assert_eq!(
        send_event(&app, "EvAutoGuest", message_event(&double, &channel, &ts)).await,
        StatusCode::OK
    );
    app.advance(Duration::from_secs(3)).await;
    let t1 = ticket(&app, 1)
        .await
        .expect("the guest's message is a ticket");
    assert_eq!(t1.summary, "Exports fail since this morning");
    assert_eq!(t1.reporter, GUEST);
    assert!(
        ticket(&app, 2).await.is_none(),
        "staff's message opened nothing"
    );
    let internal = double.messages_in("C0INTERNAL");
    assert!(
        internal
            .iter()
            .any(|(_, m)| m["text"].as_str().unwrap_or("").starts_with("T-1 ")),
        "the card in the internal channel: {internal:?}"
    );
    assert!(
        !double
            .thread_replies(&channel, &ts)
            .iter()
            .any(|m| m["blocks"].to_string().contains("ticket_resolve")),
        "no staff buttons in the guest's thread"
    );
    app.stop().await;
}

/// `mention` mode: a message mentioning the app opens a ticket (its summary without
/// the app's name); a plain message does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mention_mode_opens_a_ticket_from_a_mention() {
    let db = TestDb::sqlite();
    let (_dir, app, double, channel) =
        app_with_customer(&db, "[intake]\nmode = \"mention\"\n", "Initech").await;
    double.set_connect_person(CUSTOMER, CUSTOMER_ORG);
    let plain = double.user_message(&channel, CUSTOMER, CUSTOMER_ORG, "Exports fail", None);
    assert_eq!(
        send_event(&app, "EvPlain", message_event(&double, &channel, &plain)).await,
        StatusCode::OK
    );
    let ts = double.user_message(
        &channel,
        CUSTOMER,
        CUSTOMER_ORG,
        &format!("<@{APP_USER}> exports fail since 9:00"),
        None,
    );
    let mut mention = message_event(&double, &channel, &ts);
    assert_eq!(
        send_event(&app, "EvMsg", mention.clone()).await,
        StatusCode::OK
    );
    app.advance(Duration::from_millis(1)).await;
    assert!(
        ticket(&app, 1).await.is_none(),
        "mention mode: messages alone open nothing"
    );
    mention["type"] = json!("app_mention");
    assert_eq!(send_event(&app, "EvMention", mention).await, StatusCode::OK);
    app.advance(Duration::from_millis(1)).await;
    let t1 = ticket(&app, 1).await.expect("the mention opens a ticket");
    assert_eq!(t1.summary, "exports fail since 9:00");
    assert!(ticket(&app, 2).await.is_none());
    app.stop().await;
}

/// A channel shared with the customer and an internal channel set: the card goes to
/// the internal channel with a link to the customer's message, its escalations under
/// it; the customer's thread has only the reply. Without an internal channel the card
/// goes under the customer's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_goes_to_the_internal_channel_when_the_channel_is_shared() {
    let db = TestDb::sqlite();
    let (_dir, app, double, channel) =
        app_with_customer(&db, "[sla.P2]\nfirst_response = \"4s\"\nresolution = \"1h\"\n[escalation]\nat = [\"100%\"]\nrepeat_after_breach = \"0s\"\ninternal_channel = \"C0INTERNAL\"\n", "Stark").await;
    double.add_channel("C0INTERNAL", "support-leads", true);
    double.set_shared(&channel, true);
    double.set_connect_person(CUSTOMER, CUSTOMER_ORG);
    // `auto` in a shared channel is `all`.
    let ts = double.user_message(&channel, CUSTOMER, CUSTOMER_ORG, "Billing page 500s", None);
    assert_eq!(
        send_event(&app, "Ev1", message_event(&double, &channel, &ts)).await,
        StatusCode::OK
    );
    app.advance(Duration::from_secs(6)).await;
    let internal = double.messages_in("C0INTERNAL");
    let card = internal
        .iter()
        .find(|(_, m)| m["text"].as_str().unwrap_or("").starts_with("T-1 "))
        .unwrap_or_else(|| panic!("the card in the internal channel: {internal:?}"));
    let shown = card.1.to_string();
    assert!(
        shown.contains("https://example.slack.com/archives/"),
        "{shown}"
    );
    let under_card = texts(&double.thread_replies("C0INTERNAL", &card.0));
    assert!(
        under_card.iter().any(|t| t.contains("breached")),
        "{under_card:?}"
    );
    let customer_thread = texts(&double.thread_replies(&channel, &ts));
    assert_eq!(customer_thread.len(), 1, "{customer_thread:?}");
    assert!(
        customer_thread[0].contains("Thanks, we have this as *T-1*"),
        "{customer_thread:?}"
    );
    // Its buttons work from there: Resolve by staff.
    let record = ticket(&app, 1).await.unwrap();
    let resolve = crate::sla::button_payload(
        "ticket_resolve",
        &record.id.to_string(),
        "C0INTERNAL",
        &card.0,
    );
    assert_eq!(app.interact(&resolve).await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(2)).await;
    assert!(ticket(&app, 1).await.unwrap().resolved_at.is_some());
    app.stop().await;
}

/// Tracks message `ts` of `channel` with the message shortcut and submits the modal;
/// waits for the modal to close.
async fn track_with_shortcut(app: &TestApp, channel: &str, ts: &str, author: &str, text: &str) {
    use readiness::blocks::ticket_modal::{
        MODAL_PRIORITY, MODAL_SUMMARY, TICKET_MODAL, TRACK_SHORTCUT,
    };
    let opened = app.double.calls_to("views.open").len();
    let shortcut = json!({
        "type": "message_action", "callback_id": TRACK_SHORTCUT,
        "team": {"id": TEAM}, "user": {"id": ENGINEER, "team_id": TEAM},
        "channel": {"id": channel}, "trigger_id": "9.9.9", "response_url": app.response_url(),
        "message": {"type": "message", "ts": ts, "user": author, "text": text}
    });
    assert_eq!(app.interact(&shortcut).await.status(), StatusCode::OK);
    app.double
        .wait_for("the shortcut's modal", |d| {
            d.calls_to("views.open").len() > opened
        })
        .await;
    let view: Value = match &app.double.calls_to("views.open")[opened].args["view"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        v => v.clone(),
    };
    let submit = json!({
        "type": "view_submission", "team": {"id": TEAM}, "user": {"id": ENGINEER, "team_id": TEAM},
        "view": {
            "callback_id": TICKET_MODAL, "private_metadata": view["private_metadata"],
            "state": {"values": {
                MODAL_PRIORITY: {MODAL_PRIORITY: {"type": "static_select", "selected_option": {"value": "P1"}}},
                MODAL_SUMMARY: {MODAL_SUMMARY: {"type": "plain_text_input", "value": text}}
            }}
        }
    });
    let r = app.interact(&submit).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().is_empty(), "the modal closes");
}

/// The message shortcut opens its ticket at the tracked message's time, and a
/// message intake already made a ticket of is not made another (the same key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shortcut_opens_at_the_messages_time_and_once() {
    let db = TestDb::sqlite();
    let (_dir, app, double, channel) = app_with_customer(
        &db,
        "[intake]\nmode = \"all\"\nacknowledge = false\n",
        "Umbrella",
    )
    .await;
    double.set_connect_person(CUSTOMER, CUSTOMER_ORG);
    let asked = double.user_message(
        &channel,
        CUSTOMER,
        CUSTOMER_ORG,
        "The API returns 502",
        None,
    );
    assert_eq!(
        send_event(&app, "Ev1", message_event(&double, &channel, &asked)).await,
        StatusCode::OK
    );
    // Staff's own note opens nothing by itself; tracked later, it is timed from when
    // it was written.
    let noted = double.user_message(&channel, ENGINEER, TEAM, "Customer called: VPN flaky", None);
    assert_eq!(
        send_event(&app, "Ev2", message_event(&double, &channel, &noted)).await,
        StatusCode::OK
    );
    app.advance(Duration::from_secs(30)).await;
    assert!(ticket(&app, 1).await.is_some() && ticket(&app, 2).await.is_none());
    track_with_shortcut(&app, &channel, &noted, ENGINEER, "VPN flaky").await;
    app.advance(Duration::from_millis(1)).await;
    let t2 = ticket(&app, 2).await.expect("the tracked message's ticket");
    assert_eq!(
        t2.opened_at,
        ts_ms(&noted),
        "opened when the message was written"
    );
    assert_eq!(t2.priority, "P1");
    // Tracking the message intake made T-1 of: T-1 still, nothing new.
    track_with_shortcut(&app, &channel, &asked, CUSTOMER, "The API returns 502").await;
    app.advance(Duration::from_secs(2)).await;
    assert!(ticket(&app, 3).await.is_none(), "one message, one ticket");
    assert_eq!(double.reactions_on(&channel, &noted)[0].0, "ticket");
    app.stop().await;
}

on_both_backends!(
    a_customers_message_becomes_a_ticket_that_ends_with_their_rating_in_the_report,
    the_whole_story
);

/// The "done when", end to end: a customer writes "our SSO is down" in their
/// Slack Connect channel and, with no one on our side touching anything, the ticket
/// exists, timed from that message, and escalates in the internal channel on
/// schedule; staff's answer in the customer's thread stops the first-response
/// escalations; the resolve emoji resolves it and asks the customer; the customer's
/// rating shows in the month's report.
async fn the_whole_story(db: &TestDb) {
    let (_dir, app, double, channel) =
        app_with_customer(db, "[sla.P2]\nfirst_response = \"10s\"\nresolution = \"1h\"\n[escalation]\nat = [\"50%\", \"100%\"]\nrepeat_after_breach = \"0s\"\ninternal_channel = \"C0INTERNAL\"\n", "Wayne").await;
    double.add_channel("C0INTERNAL", "support-leads", true);
    double.set_shared(&channel, true);
    double.set_connect_person(CUSTOMER, CUSTOMER_ORG);

    // The customer writes; nobody on our side does anything.
    let ts = double.user_message(&channel, CUSTOMER, CUSTOMER_ORG, "our SSO is down", None);
    // Slack's event comes a moment after the message (the message's ts is never
    // after the app's now, which the opening time is clipped to).
    app.advance(Duration::from_secs(2)).await;
    assert_eq!(
        send_event(&app, "EvStory1", message_event(&double, &channel, &ts)).await,
        StatusCode::OK
    );
    app.advance(Duration::from_secs(5)).await;
    let t1 = ticket(&app, 1).await.expect("the ticket exists");
    assert_eq!(t1.opened_at, ts_ms(&ts), "timed from the message");
    assert_eq!(t1.reporter, CUSTOMER);
    let internal = double.messages_in("C0INTERNAL");
    let (card_ts, _) = internal
        .iter()
        .find(|(_, m)| m["text"].as_str().unwrap_or("").starts_with("T-1 "))
        .unwrap_or_else(|| panic!("the card in the internal channel: {internal:?}"));
    let under_card = texts(&double.thread_replies("C0INTERNAL", card_ts));
    assert!(
        under_card.iter().any(|t| t.contains("50%")),
        "the 50% escalation, internally: {under_card:?}"
    );
    // Named: the customer's CSM, not the customer who wrote.
    assert!(
        under_card.iter().any(|t| t.contains(&format!("<@{CSM}>"))),
        "{under_card:?}"
    );
    assert!(
        !under_card
            .iter()
            .any(|t| t.contains(&format!("<@{CUSTOMER}>"))),
        "{under_card:?}"
    );
    assert!(
        !texts(&double.thread_replies(&channel, &ts))
            .iter()
            .any(|t| t.contains("50%")),
        "no escalation in the customer's own thread"
    );
    // "Escalate now" on the card names the same person as the timed escalation.
    let press =
        crate::sla::button_payload("ticket_escalate", &t1.id.to_string(), "C0INTERNAL", card_ts);
    assert_eq!(app.interact(&press).await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(2)).await;
    let under_card = texts(&double.thread_replies("C0INTERNAL", card_ts));
    let pressed = under_card
        .iter()
        .find(|t| t.contains("escalated by"))
        .unwrap_or_else(|| panic!("the manual escalation: {under_card:?}"));
    assert!(pressed.contains(&format!("<@{CSM}>")), "{pressed}");
    assert!(!pressed.contains(&format!("<@{CUSTOMER}>")), "{pressed}");

    // Staff answers in the customer's thread: the first-response clock stops.
    let answer = double.user_message(&channel, ENGINEER, TEAM, "Looking at it now", Some(&ts));
    assert_eq!(
        send_event(&app, "EvStory2", message_event(&double, &channel, &answer)).await,
        StatusCode::OK
    );
    app.advance(Duration::from_secs(10)).await;
    let t1 = ticket(&app, 1).await.unwrap();
    assert_eq!(t1.responded_by.as_deref(), Some(ENGINEER));
    let under_card = texts(&double.thread_replies("C0INTERNAL", card_ts));
    assert!(
        !under_card
            .iter()
            .any(|t| t.contains("100%") || t.contains("breached")),
        "no breach after the answer: {under_card:?}"
    );

    // The resolve emoji by staff: resolved, and the customer is asked.
    assert_eq!(
        send_event(
            &app,
            "EvStory3",
            reaction_event(ENGINEER, "white_check_mark", &channel, &ts)
        )
        .await,
        StatusCode::OK
    );
    app.advance(Duration::from_secs(3)).await;
    assert!(ticket(&app, 1).await.unwrap().resolved_at.is_some());
    let question = double
        .thread_replies(&channel, &ts)
        .into_iter()
        .find(|m| m["blocks"].to_string().contains("\"csat_good\""))
        .expect("the rating question in the customer's thread");
    let action = json!({
        "action_id": "csat_good", "block_id": format!("csat:{}", t1.id), "type": "button",
        "value": t1.id.to_string(), "action_ts": "1"
    });
    let mut click = crate::support::block_actions(
        TEAM,
        CUSTOMER,
        &channel,
        question["ts"].as_str().unwrap(),
        action,
    );
    click["user"]["team_id"] = json!(CUSTOMER_ORG);
    assert_eq!(app.interact(&click).await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(3)).await;

    // The month's report carries the customer's rating.
    app.command_text(CSM, &channel, "report").await;
    app.advance(Duration::from_secs(10)).await;
    double
        .wait_up_to(Duration::from_secs(15), "the report", |d| {
            d.top_level(&channel)
                .iter()
                .any(|m| m["text"].as_str().unwrap_or("").contains("Monthly report"))
        })
        .await;
    let report = double
        .top_level(&channel)
        .into_iter()
        .find(|m| m["text"].as_str().unwrap_or("").contains("Monthly report"))
        .unwrap();
    let shown = report["blocks"].to_string();
    assert!(
        shown.contains("*P2* · 100% good (1 of 1 answers)"),
        "{shown}"
    );
    app.stop().await;
}
