//! Reminders, the App Home, reports and the audit log, end to end against the Slack
//! double. Times of day in the policy are set a few seconds ahead of now in the
//! customers' zone (Asia/Tokyo), so the tests do not depend on the hour they run at.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use readiness::time_source::at_ms;

use crate::sla::{
    CSM, ENGINEER, app_on_virtual_clock_with_customer, app_with_customer, button_payload,
    policy_file, ticket_message,
};
use crate::support::{TEAM, TestApp, TestDb, event_callback, slack_double::SlackDouble};

const TOKYO: chrono_tz::Tz = chrono_tz::Asia::Tokyo;

/// The wall-clock time in Tokyo `secs` from now, as the policy writes it, and the
/// instant itself.
fn tokyo_in(secs: i64) -> (String, DateTime<chrono_tz::Tz>) {
    let at = (Utc::now() + chrono::Duration::seconds(secs)).with_timezone(&TOKYO);
    (at.format("%H:%M:%S").to_string(), at)
}

fn home_opened(id: &str, user: &str) -> String {
    event_callback(
        id,
        json!({"type": "app_home_opened", "user": user, "channel": "D0001", "tab": "home", "event_ts": "1.0"}),
    )
}

/// Top-level messages in `channel` whose fallback text contains `needle`.
fn posts_with(double: &SlackDouble, channel: &str, needle: &str) -> Vec<Value> {
    double
        .top_level(channel)
        .into_iter()
        .filter(|m| m["text"].as_str().unwrap_or("").contains(needle))
        .collect()
}

fn cancel_payload(app: &TestApp, user: &str, id: &str) -> Value {
    json!({
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "example"},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A0001",
        "container": {"type": "message", "message_ts": "1.1", "is_ephemeral": true},
        "trigger_id": "1.2.3",
        "response_url": app.response_url(),
        "actions": [{"action_id": readiness::blocks::reminders::CANCEL, "block_id": "r", "type": "button", "value": id, "action_ts": "1"}]
    })
}

/// `/readiness golive` without a date (which only proposes today), then its confirm
/// button pressed: the date proposed, and the text that replaced the proposal.
async fn press_golive_confirm(app: &TestApp, channel: &str) -> (String, String) {
    let (status, body) = app.command(CSM, channel, "golive").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let value = body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| e["action_id"] == readiness::blocks::reminders::GOLIVE_CONFIRM)
        .unwrap_or_else(|| panic!("no confirm button in {body}"))["value"]
        .as_str()
        .unwrap()
        .to_string();
    let date = value.split_once(':').unwrap().1.to_string();
    let before = app.double.responses().len();
    let press = json!({
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "example"},
        "user": {"id": CSM, "team_id": TEAM},
        "api_app_id": "A0001",
        "container": {"type": "message", "message_ts": "1.1", "is_ephemeral": true},
        "trigger_id": "1.2.3",
        "response_url": app.response_url(),
        "actions": [{"action_id": readiness::blocks::reminders::GOLIVE_CONFIRM, "block_id": "g", "type": "button", "value": value, "action_ts": "1"}]
    });
    assert_eq!(app.interact(&press).await.status(), StatusCode::OK);
    app.double
        .wait_for("the proposal to be replaced", |d| {
            d.responses().len() > before
        })
        .await;
    let (_, replaced) = app.double.responses().last().cloned().unwrap();
    assert_eq!(replaced["replace_original"], true, "{replaced}");
    (date, replaced["text"].as_str().unwrap().to_string())
}

/// The audit actions of the workspace, oldest first.
async fn audit_actions(app: &TestApp) -> Vec<readiness::domain::audit::AuditRecord> {
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let mut entries = store.recent_audit(TEAM, None, 0, 100_000).await.unwrap();
    store.close().await;
    entries.sort_by_key(|e| e.id);
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golive_without_a_date_asks_first_and_a_changed_date_is_one_replanned_entry() {
    let (_dir, config) = policy_file("");
    let (app, _db, channel) = app_on_virtual_clock_with_customer(
        &config,
        SlackDouble::start().await,
        "Acme tier=enterprise",
    )
    .await;
    // Without a date: what it would set and how to confirm or change it; nothing yet.
    let before = audit_actions(&app).await.len();
    let shown = app.command_shown(CSM, &channel, "golive").await;
    let today = at_ms(app.clock_ms()).with_timezone(&TOKYO).date_naive();
    assert!(
        shown.contains(&format!("/readiness golive acme {today}")),
        "{shown}"
    );
    assert!(
        shown.contains(readiness::blocks::reminders::GOLIVE_CONFIRM),
        "{shown}"
    );
    assert_eq!(
        audit_actions(&app).await.len(),
        before,
        "nothing recorded yet"
    );
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    assert_eq!(store.customers(TEAM).await.unwrap()[0].golive_on, None);
    store.close().await;
    // In Japanese too.
    app.double.set_locale("UJA", "ja-JP");
    let ja = app.command_shown("UJA", &channel, "golive").await;
    assert!(ja.contains("本番開始日"), "{ja}");
    assert!(
        ja.contains(&format!("/readiness golive acme {today}")),
        "{ja}"
    );
    assert_eq!(
        audit_actions(&app).await.len(),
        before,
        "nothing recorded yet"
    );

    // The button records it.
    let (date, answer) = press_golive_confirm(&app, &channel).await;
    assert_eq!(date, today.to_string());
    assert!(
        answer.contains(&format!("goes live on {today}")),
        "{answer}"
    );
    let count = |entries: &[readiness::domain::audit::AuditRecord], action: &str| {
        entries.iter().filter(|e| e.action == action).count()
    };
    let entries = audit_actions(&app).await;
    let created = count(&entries, "reminder.created");
    assert!(created >= 3, "the milestones: {entries:#?}");
    assert_eq!(count(&entries, "customer.golive"), 1);
    let golive = entries
        .iter()
        .find(|e| e.action == "customer.golive")
        .unwrap();
    assert_eq!(golive.source, "button");

    // A changed date re-plans the same reminders: one entry, with their count.
    let answer = app
        .command_text(CSM, &channel, "golive acme 2027-01-15")
        .await;
    assert!(answer.contains("goes live on 2027-01-15"), "{answer}");
    let entries = audit_actions(&app).await;
    assert_eq!(count(&entries, "reminder.created"), created, "{entries:#?}");
    let replanned: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "reminder.replanned")
        .collect();
    assert_eq!(replanned.len(), 1, "{entries:#?}");
    let milestones = created - 1; // the daily digest was created with the customer
    assert_eq!(replanned[0].after.as_ref().unwrap()["count"], milestones);
}

/// Waits for ticket `label`'s message and presses its Responded button (as ENGINEER).
async fn press_responded(app: &TestApp, channel: &str, label: &str) {
    app.double
        .wait_for("the ticket message", |d| {
            ticket_message(d, channel, label).is_some()
        })
        .await;
    let (ts, message) = ticket_message(&app.double, channel, label).unwrap();
    let id = message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| e["action_id"] == readiness::blocks::ticket::RESPOND)
        .and_then(|e| e["value"].as_str().map(str::to_string))
        .unwrap();
    let r = app
        .interact(&button_payload(
            readiness::blocks::ticket::RESPOND,
            &id,
            channel,
            &ts,
        ))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// The ids (`R-n`) in a reminders answer, in order.
fn reminder_ids(answer: &str) -> Vec<String> {
    answer
        .split("*R-")
        .skip(1)
        .filter_map(|rest| rest.split('*').next())
        .map(|n| n.to_string())
        .collect()
}

on_both_backends!(
    a_due_date_reaching_its_morning_sends_exactly_one_dm,
    due_date_scenario
);

async fn due_date_scenario(db: &TestDb) {
    let (morning, at) = tokyo_in(8);
    let (_dir, config) = policy_file(&format!("[reminders]\nitem_due_at = \"{morning}\"\n"));
    let app = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("config", &config), ("virtual_clock", "")],
    )
    .await;
    let channel = app.new_customer(CSM, "Acme tier=enterprise").await;
    let today = at.date_naive();
    for item in ["1.1.2", "1.1.3"] {
        let answer = app
            .command_text(
                CSM,
                &channel,
                &format!("assign {item} <@{ENGINEER}> due={today}"),
            )
            .await;
        assert!(answer.contains(ENGINEER), "{answer}");
    }
    // Ticking an item cancels its reminder.
    let answer = app.command_text(CSM, &channel, "done 1.1.3").await;
    assert!(answer.contains("1.1.3"), "{answer}");
    let due = |d: &SlackDouble| -> Vec<String> {
        d.dms_to(ENGINEER)
            .into_iter()
            .filter(|t| t.contains("is due today"))
            .collect()
    };
    // Past the morning on the app's clock.
    app.advance(Duration::from_secs(10)).await;
    assert_eq!(due(&app.double).len(), 1, "{:?}", due(&app.double));
    // A restart does not send it again, however long it runs on.
    let clock = app.clock_ms().to_string();
    let app = app
        .restart_with(&[("config", &config), ("virtual_clock", &clock)])
        .await;
    app.advance(Duration::from_secs(5)).await;
    let sent = due(&app.double);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("1.1.2"), "{sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_digest_is_posted_once_and_then_edited_not_posted_again() {
    let (digest_at, at) = tokyo_in(8);
    let (_dir, config) = policy_file(&format!("[reminders]\ndigest_at = \"{digest_at}\"\n"));
    let (app, _db, channel) = app_on_virtual_clock_with_customer(
        &config,
        SlackDouble::start().await,
        "Acme tier=enterprise",
    )
    .await;
    let yesterday = at.date_naive() - chrono::Duration::days(1);
    let answer = app
        .command_text(
            CSM,
            &channel,
            &format!("assign 1.1.2 <@{ENGINEER}> due={yesterday}"),
        )
        .await;
    assert!(answer.contains(ENGINEER), "{answer}");
    let double = app.double.clone();
    app.advance(Duration::from_secs(10)).await;
    let digest = posts_with(&double, &channel, "overdue items");
    assert_eq!(digest.len(), 1);
    let ts = digest[0]["ts"].as_str().unwrap().to_string();
    assert!(digest[0]["text"].as_str().unwrap().starts_with("1 overdue"));
    assert!(digest[0]["blocks"].to_string().contains("1.1.2"));

    // Done: the same message now says nothing is overdue.
    app.command_text(CSM, &channel, "done 1.1.2").await;
    app.advance(Duration::from_secs(2)).await;
    let edited = double.message(&channel, &ts).unwrap();
    assert!(
        edited["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("0 overdue"),
        "the digest is edited: {edited}"
    );
    assert_eq!(posts_with(&double, &channel, "overdue items").len(), 1);
    assert!(
        double
            .calls_to("chat.update")
            .iter()
            .any(|c| c.args["ts"] == ts.as_str())
    );
}

on_both_backends!(
    remind_posts_once_lists_reminders_and_cancels_them,
    remind_scenario
);

async fn remind_scenario(db: &TestDb) {
    let (_dir, config) = policy_file("");
    let app = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("config", &config), ("virtual_clock", "")],
    )
    .await;
    let channel = app.new_customer(CSM, "Acme tier=enterprise").await;
    let soon = app
        .command_text(CSM, &channel, "remind in 3s Call Ken about SSO")
        .await;
    assert!(soon.contains("R-"), "{soon}");
    let weekly = app
        .command_text(CSM, &channel, "remind every monday 09:00 Weekly sync")
        .await;
    assert!(weekly.contains("every Monday"), "{weekly}");
    app.command_text(CSM, &channel, "remind tomorrow 10:00 Send the DPA")
        .await;
    // Bad input changes nothing.
    for (text, expected) in [
        ("remind 2020-01-01 10:00 Too late", "already passed"),
        ("remind soon Something", "/readiness remind"),
        ("remind in 2h", "what to remind"),
    ] {
        let answer = app.command_text(CSM, &channel, text).await;
        assert!(answer.contains(expected), "{text}: {answer}");
    }
    app.advance(Duration::from_secs(2)).await;
    assert!(
        posts_with(&app.double, &channel, "Call Ken about SSO").is_empty(),
        "not before its time"
    );
    app.advance(Duration::from_secs(1)).await;
    assert_eq!(
        posts_with(&app.double, &channel, "Call Ken about SSO").len(),
        1
    );

    let list = app.command_shown(CSM, &channel, "reminders").await;
    let ids = reminder_ids(&list);
    assert_eq!(ids.len(), 2, "the fired one-off is gone: {list}");
    assert!(
        list.contains("Weekly sync") && list.contains("Send the DPA"),
        "{list}"
    );
    let before = app.double.responses().len();
    let r = app.interact(&cancel_payload(&app, CSM, &ids[0])).await;
    assert_eq!(r.status(), StatusCode::OK);
    app.double
        .wait_for("the list to be replaced", |d| d.responses().len() > before)
        .await;
    let (_, replaced) = app.double.responses().last().cloned().unwrap();
    assert_eq!(replaced["replace_original"], true);
    assert!(replaced.to_string().contains("cancelled"), "{replaced}");
    let list = app.command_shown(CSM, &channel, "reminders").await;
    assert_eq!(reminder_ids(&list), [ids[1].clone()], "{list}");

    // After a restart, nothing fires twice.
    let clock = app.clock_ms().to_string();
    let app = app
        .restart_with(&[("config", &config), ("virtual_clock", &clock)])
        .await;
    app.advance(Duration::from_secs(5)).await;
    assert_eq!(
        posts_with(&app.double, &channel, "Call Ken about SSO").len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golive_plans_the_milestones_and_archive_stops_reminders_until_unarchived() {
    let (milestone_at, _) = tokyo_in(8);
    let (_dir, config) = policy_file(&format!("[reminders]\nmilestone_at = \"{milestone_at}\"\n"));
    let (app, _db, channel) = app_on_virtual_clock_with_customer(
        &config,
        SlackDouble::start().await,
        "Acme tier=enterprise",
    )
    .await;
    let hypercare_days = readiness::domain::policy::Reminders::default()
        .hypercare
        .num_days();
    let (_, answer) = press_golive_confirm(&app, &channel).await;
    assert!(answer.contains("hypercare check-in"), "{answer}");
    assert!(answer.contains("QBR"), "{answer}");
    let answer = app.command_text(CSM, &channel, "customer qbr=off").await;
    assert!(answer.contains("`qbr=off`"), "{answer}");
    let list = app.command_shown(CSM, &channel, "reminders").await;
    assert!(!list.contains("QBR"), "{list}");
    assert!(list.contains("hypercare check-in"), "{list}");
    app.advance(Duration::from_secs(10)).await;
    let hypercare = posts_with(&app.double, &channel, "hypercare");
    assert!(
        hypercare.iter().any(|m| m["blocks"]
            .to_string()
            .contains(&format!("day 1/{hypercare_days}"))),
        "the first hypercare check-in: {hypercare:#?}"
    );

    // Archived: a reminder falling due meanwhile waits; unarchived, it comes once.
    app.command_text(CSM, &channel, "remind in 3s Ping the customer")
        .await;
    let answer = app.command_text(CSM, &channel, "archive").await;
    assert!(answer.contains("archived"), "{answer}");
    let refused = app
        .command_text(CSM, &channel, "remind in 1h Anything")
        .await;
    assert!(refused.contains("archived"), "{refused}");
    // A minute on the app's clock, well past the reminder's moment.
    app.advance(Duration::from_secs(60)).await;
    assert!(posts_with(&app.double, &channel, "Ping the customer").is_empty());
    let answer = app.command_text(CSM, &channel, "unarchive").await;
    assert!(answer.contains("· active"), "{answer}");
    app.advance(Duration::from_secs(60)).await;
    assert_eq!(
        posts_with(&app.double, &channel, "Ping the customer").len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_home_stays_within_slacks_limits_for_1_and_500_customers() {
    // One customer, one ticket.
    let (_dir, config) = policy_file("");
    let (app, _db, channel) =
        app_with_customer(&config, SlackDouble::start().await, "Acme tier=enterprise").await;
    app.command_text(CSM, &channel, "ticket P1 Exports are slow")
        .await;
    let r = app
        .post_signed(
            "/slack/events",
            "application/json",
            home_opened("EvH1", CSM),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    app.double
        .wait_for("the Home", |d| d.home_of(CSM).is_some())
        .await;
    let home = app.double.home_of(CSM).unwrap().to_string();
    assert!(home.contains("Acme") && home.contains("T-1"), "{home}");
    assert!(home.contains(readiness::blocks::home::OPEN_CHECKLIST));
    // A change it shows re-publishes it (debounced): a tick moves the readiness.
    let published = app.double.calls_to("views.publish").len();
    app.command_text(CSM, &channel, "done 1.1.1").await;
    app.double
        .wait_for("the Home re-published after the tick", |d| {
            d.calls_to("views.publish").len() > published
        })
        .await;
    let count = readiness::domain::template::Template::builtin().item_count();
    assert!(home.contains(&format!("(0/{count})")), "{home}");
    let refreshed = app.double.home_of(CSM).unwrap().to_string();
    assert!(
        refreshed.contains(&format!("(1/{count})")),
        "the Home shows the tick: {refreshed}"
    );
    // Its buttons: the checklist in a modal, a category on top of it, a new ticket.
    let home = app.double.home_of(CSM).unwrap();
    let button = |action: &str| -> Value {
        home["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
            .find(|e| e["action_id"] == action)
            .unwrap()
    };
    let click = |action_id: &str, value: &str| {
        json!({
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "example"},
            "user": {"id": CSM, "team_id": TEAM},
            "api_app_id": "A0001",
            "container": {"type": "view", "view_id": "V1"},
            "trigger_id": "1.2.3",
            "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value, "action_ts": "1"}]
        })
    };
    let checklist = button(readiness::blocks::home::OPEN_CHECKLIST);
    let customer_id = checklist["value"].as_str().unwrap();
    app.interact(&click(readiness::blocks::home::OPEN_CHECKLIST, customer_id))
        .await;
    app.double
        .wait_for("the checklist modal", |d| {
            !d.calls_to("views.open").is_empty()
        })
        .await;
    let opened = app.double.calls_to("views.open")[0].clone();
    assert_eq!(opened.outcome, "ok");
    let view = opened.args["view"].to_string();
    assert!(view.contains("open_category_1"), "{view}");
    app.interact(&click("open_category_1", &format!("{customer_id}:1")))
        .await;
    app.double
        .wait_for("the category on top", |d| {
            !d.calls_to("views.push").is_empty()
        })
        .await;
    let pushed = app.double.calls_to("views.push")[0].clone();
    assert_eq!(pushed.outcome, "ok");
    assert!(pushed.args["view"].to_string().contains("checkboxes"));
    app.interact(&click(readiness::blocks::home::NEW_TICKET, customer_id))
        .await;
    app.double
        .wait_for("the ticket modal", |d| d.calls_to("views.open").len() >= 2)
        .await;
    let ticket_modal = app.double.calls_to("views.open")[1].clone();
    assert_eq!(ticket_modal.outcome, "ok");
    assert!(
        ticket_modal.args["view"]["callback_id"] == readiness::blocks::ticket_modal::TICKET_MODAL
    );
    app.stop().await;

    // 500 customers and 1,000 open tickets, stored before the app starts.
    let db = TestDb::sqlite();
    let store = readiness::store::Store::connect(&db.url).await.unwrap();
    seed_customers_and_tickets(&store, 500, 2).await;
    store.close().await;
    let double = SlackDouble::start().await;
    for n in 0..500 {
        double.add_channel(&format!("C{n:08}"), &format!("cust-c{n:03}"), true);
    }
    let app = TestApp::spawn_with(&db, double, &[("config", &config)]).await;
    app.post_signed(
        "/slack/events",
        "application/json",
        home_opened("EvH2", CSM),
    )
    .await;
    app.double
        .wait_for("the Home", |d| d.home_of(CSM).is_some())
        .await;
    let home = app.double.home_of(CSM).unwrap();
    let blocks = home["blocks"].as_array().unwrap().len();
    assert!(blocks <= 100, "{blocks} blocks");
    let text = home.to_string();
    assert!(text.contains("home_page_next"), "a next-page button");
    assert!(
        text.contains("*Customer 000*"),
        "page 1 starts at the first customer"
    );
    assert!(!text.contains("*Customer 010*"), "and holds ten");
    // The next page, from its button.
    let payload = json!({
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "example"},
        "user": {"id": CSM, "team_id": TEAM},
        "api_app_id": "A0001",
        "container": {"type": "view", "view_id": "VHOME"},
        "trigger_id": "1.2.3",
        "actions": [{"action_id": "home_page_next", "block_id": "p", "type": "button", "value": "1", "action_ts": "1"}]
    });
    let r = app.interact(&payload).await;
    assert_eq!(r.status(), StatusCode::OK);
    app.double
        .wait_for("page 2", |d| {
            d.home_of(CSM)
                .is_some_and(|h| h.to_string().contains("*Customer 010*"))
        })
        .await;
    let published = app.double.calls_to("views.publish");
    assert!(published.iter().all(|c| c.outcome == "ok"), "{published:?}");
}

/// `customers` customers (all the CSM's) with `tickets_each` open tickets each.
pub async fn seed_customers_and_tickets(
    store: &readiness::store::Store,
    customers: usize,
    tickets_each: usize,
) {
    use readiness::domain::checklist::Tier;
    use readiness::store::NewCustomer;
    use readiness::store::audit::{Actor, Source};
    use readiness::store::tickets::NewTicket;
    let now = Utc::now().timestamp_millis();
    for n in 0..customers {
        let c = store
            .create_customer(&NewCustomer {
                team_id: TEAM.into(),
                slug: format!("c{n:03}"),
                name: format!("Customer {n:03}"),
                tier: Tier::Enterprise,
                channel_id: Some(format!("C{n:08}")),
                created_by: CSM.into(),
                created_at: now,
            })
            .await
            .unwrap();
        for t in 0..tickets_each {
            store
                .open_ticket(
                    &NewTicket {
                        team_id: TEAM.into(),
                        customer_id: c.id,
                        priority: ["P0", "P1", "P2", "P3"][t % 4].into(),
                        summary: format!("問題 {t}: エクスポートが遅い {}", "x".repeat(150)),
                        reporter: CSM.into(),
                        assignee: None,
                        opened_at: now - (t as i64) * 60_000,
                        used_ms: 0,
                        running_since: Some(now - (t as i64) * 60_000),
                        channel_id: format!("C{n:08}"),
                        source_ts: None,
                        timers: Vec::new(),
                    },
                    Actor::new(CSM, Source::Command),
                    at_ms(now),
                )
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monthly_report_is_posted_with_its_figures_csv_and_json() {
    let (_dir, config) = policy_file("[sla.P0]\nfirst_response = \"5s\"\nresolution = \"1h\"\n");
    let (app, _db, channel) =
        app_with_customer(&config, SlackDouble::start().await, "Acme tier=enterprise").await;
    // T-1 came in a minute ago and was never answered: its first response is breached.
    let opened = (Utc::now() - chrono::Duration::seconds(60)).to_rfc3339();
    app.command_text(
        CSM,
        &channel,
        &format!("ticket P0 opened={opened} Old outage"),
    )
    .await;
    // T-2 is answered at once.
    app.command_text(CSM, &channel, "ticket P0 New outage")
        .await;
    let double = app.double.clone();
    press_responded(&app, &channel, "T-2").await;
    double
        .wait_for("T-2 answered", |d| {
            ticket_message(d, &channel, "T-2")
                .is_some_and(|(_, m)| m["blocks"].to_string().contains("met in"))
        })
        .await;
    let answer = app.command_text(CSM, &channel, "report").await;
    assert!(answer.contains("report"), "{answer}");
    double
        .wait_up_to(Duration::from_secs(15), "the report and its files", |d| {
            d.shared_files().len() >= 3
        })
        .await;
    let report = posts_with(&double, &channel, "report")
        .into_iter()
        .find(|m| m["blocks"].to_string().contains("P0"))
        .expect("the report message");
    let shown = report["blocks"].to_string();
    assert!(
        shown.contains("1/2"),
        "one of two first responses met: {shown}"
    );
    assert!(
        shown.contains("example.slack.com/archives"),
        "the breach links to its ticket: {shown}"
    );
    let files = double.shared_files();
    assert!(
        files
            .iter()
            .all(|f| f.thread_ts.as_deref() == report["ts"].as_str())
    );
    let png = files.iter().find(|f| f.filename.ends_with(".png")).unwrap();
    assert!(png.content.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG chart");
    let csv = files.iter().find(|f| f.filename.ends_with(".csv")).unwrap();
    let csv = String::from_utf8(csv.content.clone()).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert_eq!((rows[0][0], rows[0][5]), ("1", "false"), "{csv}");
    assert_eq!((rows[1][0], rows[1][5]), ("2", "true"), "{csv}");
    let json = files
        .iter()
        .find(|f| f.filename.ends_with(".json"))
        .unwrap();
    let json: Value = serde_json::from_slice(&json.content).unwrap();
    assert_eq!(json["sla"][0]["first_response"]["met"], 1);
    assert_eq!(json["sla"][0]["first_response"]["measured"], 2);
    let policy = readiness::domain::policy::Policy::default();
    let enterprise = readiness::domain::checklist::Tier::Enterprise;
    assert_eq!(
        json["availability_target"],
        policy.tier(enterprise).availability
    );
}

on_both_backends!(
    the_audit_log_records_a_scripted_journey_exactly_and_exports_it,
    audit_scenario
);

async fn audit_scenario(db: &TestDb) {
    let (_dir, config) = policy_file("");
    let app = TestApp::spawn_with(db, SlackDouble::start().await, &[("config", &config)]).await;
    let started = Utc::now();
    let channel = app.new_customer(CSM, "Acme tier=enterprise").await;
    let later = (Utc::now() + chrono::Duration::days(10)).date_naive();
    app.command_text(
        CSM,
        &channel,
        &format!("assign 1.1.2 <@{ENGINEER}> due={later}"),
    )
    .await;
    app.command_text(CSM, &channel, "done 1.1.2").await;
    app.command_text(CSM, &channel, "undo 1.1.2").await;
    app.command_text(CSM, &channel, "ticket P1 Exports are slow")
        .await;
    press_responded(&app, &channel, "T-1").await;
    let answer = app
        .command_text(CSM, &channel, "remind in 1h Follow up")
        .await;
    let reminder = reminder_ids(&answer).remove(0);
    app.interact(&cancel_payload(&app, CSM, &reminder)).await;
    app.command_text(CSM, &channel, "customer tier=standard")
        .await;
    app.command_text(CSM, &channel, "archive").await;
    let shown = app.command_shown(CSM, &channel, "audit").await;
    assert!(shown.contains("item.ticked"), "{shown}");
    app.stop().await;

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_readiness"))
        .args([
            "export-audit",
            "--since",
            &started.to_rfc3339(),
            "--format",
            "jsonl",
        ])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let entries: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let journey: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["source"].as_str().unwrap().to_string(),
                e["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str, &str)> = vec![
        ("customer.created", "command", CSM),
        ("reminder.created", "scheduler", "scheduler"), // its daily digest
        ("customer.kickoff", "command", CSM),           // today, as none was given
        ("plan.dated", "command", CSM),                 // the kickoff items' due dates
        ("item.changed", "command", CSM),
        ("reminder.created", "command", CSM), // the due-date DM
        ("item.ticked", "command", CSM),
        ("reminder.cancelled", "command", CSM), // the due-date DM, with the tick
        ("item.unticked", "command", CSM),
        ("reminder.resumed", "command", CSM),
        ("ticket.opened", "command", CSM),
        ("ticket.responded", "button", ENGINEER),
        ("reminder.created", "command", CSM),
        ("reminder.cancelled", "button", CSM),
        ("customer.changed", "command", CSM),
        ("customer.archived", "command", CSM),
    ];
    let expected: Vec<(String, String, String)> = expected
        .into_iter()
        .map(|(a, s, u)| (a.into(), s.into(), u.into()))
        .collect();
    assert_eq!(journey, expected, "{entries:#?}");
    // Who and what: the item change names the assignee and the date.
    assert_eq!(entries[4]["after"]["assignee"], ENGINEER);
    assert_eq!(entries[4]["subject"], "1.1.2");
    assert_eq!(entries[14]["before"]["tier"], "enterprise");
    assert_eq!(entries[14]["after"]["tier"], "standard");
    assert!(entries.iter().all(|e| e["team_id"] == TEAM));

    // The log is append-only in the database too.
    let store = readiness::store::Store::connect(&db.url).await.unwrap();
    assert!(
        store.purge_audit(i64::MAX).await.is_err(),
        "entries younger than 90 days stay"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_reminders_due_at_once_is_spread_inside_the_workspace_limit() {
    // 600 by default; READINESS_TEST_BURST=10000 runs the issue's full burst (about
    // ten minutes at this pace).
    let total: usize = std::env::var("READINESS_TEST_BURST")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(600);
    const EACH: usize = 10;
    let channels = total.div_ceil(EACH);
    // The app paces reminders at 1,200 a minute; the double refuses more than 1,500.
    // The reminders are set by one person's commands, faster than a person types.
    let (_dir, config) = policy_file(
        "commands_per_user_per_minute = 0\ncommands_per_workspace_per_minute = 0\n[reminders]\nposts_per_minute = 1200\n",
    );
    let db = TestDb::sqlite();
    let store = readiness::store::Store::connect(&db.url).await.unwrap();
    seed_customers_and_tickets(&store, channels, 0).await;
    store.close().await;
    let double = SlackDouble::start().await;
    for n in 0..channels {
        double.add_channel(&format!("C{n:08}"), &format!("cust-c{n:03}"), true);
    }
    double.set_workspace_post_limit(1500.0);
    let app = TestApp::spawn_with(&db, double, &[("config", &config)]).await;
    // Far enough ahead for every command to be in before they fall due.
    let (_, at) = tokyo_in(20 + (total / 100) as i64);
    let when = at.format("%Y-%m-%d %H:%M:%S").to_string();
    for i in 0..channels * EACH {
        let answer = app
            .command_text(
                CSM,
                "C0GENERAL",
                &format!("remind c{:03} {when} Burst {i}", i % channels),
            )
            .await;
        assert!(answer.contains("R-"), "{answer}");
    }
    let burst = |d: &SlackDouble| d.count_ok("chat.postMessage", "Burst ");
    app.double
        .wait_up_to(
            Duration::from_secs(120 + total as u64 / 10),
            "every reminder",
            |d| burst(d) >= channels * EACH,
        )
        .await;
    let calls = app.double.calls_to("chat.postMessage");
    let limited = calls.iter().filter(|c| c.outcome == "ratelimited").count();
    assert_eq!(limited, 0, "no 429: the pacing kept inside both limits");
    let mut texts: Vec<String> = calls
        .iter()
        .filter(|c| c.outcome == "ok")
        .filter_map(|c| c.args["text"].as_str().map(str::to_string))
        .filter(|t| t.contains("Burst "))
        .collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), channels * EACH, "each reminder once");
}
