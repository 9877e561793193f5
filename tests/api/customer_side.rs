//! The customer's side is not staff: a workspace guest (`is_restricted`,
//! `is_ultra_restricted`) or a Slack Connect person of another organisation gets no
//! staff role. Their commands and clicks change nothing and read nothing of any
//! customer, each answered briefly where only they see it; their thread replies never
//! count as a response; their App Home shows no customer. Staff beside them work as
//! before (the positive controls that make each refusal mean something).

use std::time::Duration;

use serde_json::{Value, json};

use crate::sla::{CSM, ENGINEER, policy_file, ticket_message};
use crate::support::slack_double::SlackDouble;
use crate::support::{TEAM, TestApp, TestDb, block_actions, event_callback, tick_1_1_1};

const GUEST: &str = "U0GUEST";
const MULTI_GUEST: &str = "U0MULTIGUEST";
const PARTNER: &str = "U0PARTNER";
const CANT: &str = "can't do that";

async fn store_of(app: &TestApp) -> readiness::store::Store {
    readiness::store::Store::connect(&app.db_url).await.unwrap()
}

/// The app with two customers (Acme, Globex), a single-channel guest, a multi-channel
/// guest and a Slack Connect person; Acme's channel.
async fn two_customers_and_outsiders(db: &TestDb, config: &str) -> (TestApp, String) {
    let app = TestApp::spawn_with(db, SlackDouble::start().await, &[("config", config)]).await;
    app.double.set_guest(GUEST, false);
    app.double.set_guest(MULTI_GUEST, true);
    app.double.set_connect_person(PARTNER, "T0PARTNER");
    let acme = app.new_customer(CSM, "Acme tier=enterprise").await;
    app.new_customer(CSM, "Globex tier=enterprise").await;
    (app, acme)
}

on_both_backends!(
    guests_and_connect_people_can_do_nothing_here,
    outsiders_scenario
);

async fn outsiders_scenario(db: &TestDb) {
    let (_dir, config) = policy_file("");
    let (app, acme) = two_customers_and_outsiders(db, &config).await;
    let store = store_of(&app).await;
    let customer = store.customers(TEAM).await.unwrap()[0].clone();
    store.close().await;

    // Staff read and act: the controls.
    let listed = app.command_text(CSM, &acme, "help").await;
    assert!(listed.contains("Globex"), "{listed}");
    let shown = app.command_shown(ENGINEER, &acme, "show globex").await;
    assert!(shown.contains("Globex"), "{shown}");

    for outsider in [GUEST, MULTI_GUEST, PARTNER] {
        for text in [
            "help",
            "",
            "show globex",
            "show",
            "tickets",
            "audit",
            "report",
            "ticket P1 please help",
            "done 1.1.1",
            "new Initrode",
            "remind tomorrow call us",
            "roles",
            "not a command at all",
        ] {
            let answer = app.command_shown(outsider, &acme, text).await;
            assert!(answer.contains(CANT), "{outsider} `{text}`: {answer}");
            assert!(
                !answer.contains("Globex") && !answer.contains("globex"),
                "{outsider} `{text}` read another customer: {answer}"
            );
        }
    }

    // A tick by each outsider: refused where only they see it, and nothing changes.
    for (i, outsider) in [GUEST, MULTI_GUEST, PARTNER].into_iter().enumerate() {
        let team = if outsider == PARTNER {
            "T0PARTNER"
        } else {
            TEAM
        };
        let mut click = block_actions(TEAM, outsider, &acme, "1.1", tick_1_1_1(customer.id));
        click["user"]["team_id"] = json!(team);
        click["response_url"] = json!(app.response_url());
        let before = app.double.responses().len();
        app.interact(&click).await;
        app.double
            .wait_for("the refusal", |d| d.responses().len() > before)
            .await;
        let (_, refusal) = app.double.responses()[before].clone();
        assert!(
            refusal["text"].as_str().unwrap_or("").contains(CANT),
            "{i}: {refusal}"
        );
        assert_ne!(refusal["response_type"], "in_channel");
    }
    let store = store_of(&app).await;
    let states = store.item_states_committed(customer.id).await.unwrap();
    assert!(
        states.get("1.1.1").is_none_or(|s| s.done_at.is_none()),
        "an outsider's tick counted"
    );
    assert!(store.open_tickets(TEAM, None).await.unwrap().is_empty());
    store.close().await;

    // The same tick by staff counts.
    app.interact(&block_actions(
        TEAM,
        CSM,
        &acme,
        "1.1",
        tick_1_1_1(customer.id),
    ))
    .await;
    let store = store_of(&app).await;
    let states = store.item_states_committed(customer.id).await.unwrap();
    assert!(
        states["1.1.1"].done_at.is_some(),
        "staff's tick did not count"
    );
    store.close().await;
    app.stop().await;
}

fn thread_reply(id: &str, user: &str, user_team: &str, channel: &str, thread: &str) -> String {
    event_callback(
        id,
        json!({
            "type": "message", "channel": channel, "user": user,
            "text": "Any news?", "ts": format!("{}.000200", chrono::Utc::now().timestamp()),
            "thread_ts": thread, "team": user_team, "user_team": user_team,
            "channel_type": "group"
        }),
    )
}

/// A guest's or a Slack Connect person's reply in a ticket's thread does not stop its
/// first-response clock; a staff reply does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_staff_replies_answer_a_ticket() {
    let db = TestDb::sqlite();
    let (_dir, config) = policy_file("");
    let (app, acme) = two_customers_and_outsiders(&db, &config).await;
    let opened = app
        .command_text(CSM, &acme, "ticket P1 Exports time out")
        .await;
    assert!(opened.contains("T-1"), "{opened}");
    app.double
        .wait_for("the ticket", |d| ticket_message(d, &acme, "T-1").is_some())
        .await;
    let (ts, _) = ticket_message(&app.double, &acme, "T-1").unwrap();
    let responded = |app: &TestApp| {
        let url = app.db_url.clone();
        async move {
            let store = readiness::store::Store::connect(&url).await.unwrap();
            let ticket = store.open_tickets(TEAM, None).await.unwrap()[0].clone();
            store.close().await;
            ticket.responded_at.is_some()
        }
    };
    for (i, (user, team)) in [(GUEST, TEAM), (MULTI_GUEST, TEAM), (PARTNER, "T0PARTNER")]
        .into_iter()
        .enumerate()
    {
        let body = thread_reply(&format!("EvOut{i}"), user, team, &acme, &ts);
        let response = app
            .post_signed("/slack/events", "application/json", body)
            .await;
        assert_eq!(response.status(), 200);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !responded(&app).await,
        "an outsider's reply answered the ticket"
    );
    let body = thread_reply("EvStaff", ENGINEER, TEAM, &acme, &ts);
    app.post_signed("/slack/events", "application/json", body)
        .await;
    let mut answered = false;
    for _ in 0..50 {
        if responded(&app).await {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "staff's reply did not answer the ticket");
    app.stop().await;
}

/// A guest opening the App Home sees no customer; staff see theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_home_shows_no_customer() {
    let db = TestDb::sqlite();
    let (_dir, config) = policy_file("");
    let (app, _acme) = two_customers_and_outsiders(&db, &config).await;
    let open_home = |id: &str, user: &str| {
        event_callback(
            id,
            json!({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
                "event_ts": "1700000000.000100"}),
        )
    };
    for (id, user) in [("EvHomeStaff", CSM), ("EvHomeGuest", GUEST)] {
        app.post_signed("/slack/events", "application/json", open_home(id, user))
            .await;
    }
    app.double
        .wait_for("both Homes", |d| {
            d.home_of(CSM).is_some() && d.home_of(GUEST).is_some()
        })
        .await;
    let staff: Value = app.double.home_of(CSM).unwrap();
    assert!(staff.to_string().contains("Globex"), "{staff}");
    let guest = app.double.home_of(GUEST).unwrap().to_string();
    assert!(
        !guest.contains("Globex") && !guest.contains("Acme"),
        "{guest}"
    );
    app.stop().await;
}
