//! Issue 17's tiers, prerequisites and Slack Connect, end to end: a Standard
//! customer's checklist counts only the Standard items (the count computed from the
//! template's view, never written down); a step of the onboarding sequence cannot be
//! ticked before the one it comes after (by click, `done` or the item's modal), and
//! nothing is stored when it is refused; unticking a prerequisite leaves what came
//! after it done; and a Slack Connect person of the customer ticks the items the
//! customer owns in their shared channel, and nothing else, while the overview names
//! what we wait on from them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TEAM, TestApp, TestDb, checkbox_groups, tick_payload};
use readiness::domain::checklist::{States, Tier};
use readiness::domain::template::Template;

const CSM: &str = "UCSM0001";
const PARTNER: &str = "U0PARTNER";
const PARTNER_TEAM: &str = "T0PARTNER";

async fn states(app: &TestApp, slug: &str) -> States {
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let customer = store.customer_by_slug(TEAM, slug).await.unwrap().unwrap();
    let states = store.item_states_committed(customer.id).await.unwrap();
    store.close().await;
    (*states).clone()
}

fn is_done(states: &States, key: &str) -> bool {
    states.get(key).is_some_and(|s| s.done_at.is_some())
}

/// The message in `channel` with a checkbox group holding `key`, with its ts.
fn message_with(app: &TestApp, channel: &str, key: &str) -> Option<(String, Value)> {
    app.double.messages_in(channel).into_iter().find(|(_, m)| {
        checkbox_groups(m)
            .iter()
            .any(|(_, options, _)| options.iter().any(|o| o == key))
    })
}

/// The block_id of the group holding `key` in `message`, and what it shows ticked.
fn group_of(message: &Value, key: &str) -> (String, Vec<String>) {
    checkbox_groups(message)
        .into_iter()
        .find(|(_, options, _)| options.iter().any(|o| o == key))
        .map(|(id, _, initial)| (id, initial))
        .unwrap()
}

/// A click by `user` (of `user_team`) on the current copy of the message holding
/// `key`, selecting what it shows ticked plus `key`; returns the answer the clicker
/// got, if any.
async fn click_tick(
    app: &TestApp,
    channel: &str,
    user: &str,
    user_team: &str,
    key: &str,
) -> Option<String> {
    let (ts, message) = message_with(app, channel, key).unwrap();
    let (block_id, mut selected) = group_of(&message, key);
    selected.push(key.to_string());
    let picked: Vec<&str> = selected.iter().map(String::as_str).collect();
    let mut click = tick_payload(user, channel, &ts, &message, &block_id, &picked);
    click["user"]["team_id"] = json!(user_team);
    click["response_url"] = json!(app.response_url());
    let before = app.double.responses().len();
    assert_eq!(app.interact(&click).await.status(), StatusCode::OK);
    // An accepted click is answered by the message's update alone; give a refusal
    // the moment it takes to arrive.
    for _ in 0..30 {
        if app.double.responses().len() > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.double
        .responses()
        .get(before)
        .map(|(_, r)| r["text"].as_str().unwrap_or_default().to_string())
}

on_both_backends!(
    tiers_prerequisites_and_the_customers_own_items,
    plan_wait_scenario
);

async fn plan_wait_scenario(db: &TestDb) {
    let template = Template::builtin();
    let standard = template.for_tier(Tier::Standard);
    let app = TestApp::spawn(db).await;
    app.double.set_connect_person(PARTNER, PARTNER_TEAM);

    // A Standard customer's overview counts the Standard items, not the template's.
    let channel = app.new_customer(CSM, "Globex tier=standard").await;
    let (_, overview) = app.double.messages_in(&channel).remove(0);
    let standard_total = standard.item_count();
    assert!(standard_total < template.item_count());
    assert!(
        overview["text"]
            .as_str()
            .unwrap()
            .contains(&format!("0/{standard_total}")),
        "{overview}"
    );

    // Category 3 shown from elsewhere: the Enterprise-only items are not on it.
    let shown = app.command_shown(CSM, "C0GENERAL", "show globex 3").await;
    assert!(shown.contains("3.1.2"), "{shown}");
    assert!(
        !shown.contains("3.1.3") && !shown.contains("3.1.4"),
        "{shown}"
    );
    let refused = app.command_shown(CSM, &channel, "done 3.1.3").await;
    assert!(
        refused.contains("3.1.3") && refused.contains("Standard"),
        "{refused}"
    );
    assert!(!is_done(&states(&app, "globex").await, "3.1.3"));

    // The onboarding category posted in the channel: 6.1.2 shows as waiting on 6.1.1.
    app.command(CSM, &channel, "show 6").await;
    app.double
        .wait_for("the onboarding checklist", |d| {
            d.messages_in(&channel).len() >= 2
        })
        .await;
    let (ts, message) = message_with(&app, &channel, "6.1.2").unwrap();
    let shown_items: usize = checkbox_groups(&message)
        .iter()
        .map(|(_, options, _)| options.len())
        .sum();
    assert_eq!(shown_items, standard.category(6).unwrap().item_count());
    // In the channel's language, Japanese here (what the waits below look for).
    assert!(
        message.to_string().contains("6.1.1 の完了待ち"),
        "{message}"
    );

    // Ticking 6.1.2 first: refused by click, by `done` and in the modal, 6.1.1 named.
    let updates_before = app.double.calls_to("chat.update").len();
    let answer = click_tick(&app, &channel, CSM, TEAM, "6.1.2").await;
    let answer = answer.expect("the refused click is answered");
    assert!(
        answer.contains("6.1.1") && answer.contains("6.1.2"),
        "{answer}"
    );
    assert!(!is_done(&states(&app, "globex").await, "6.1.2"));
    // The message is rendered again, so the box clicked shows unticked.
    app.double
        .wait_for("the clicked message rendered again", |d| {
            d.calls_to("chat.update")
                .iter()
                .skip(updates_before)
                .any(|c| c.args["ts"] == ts.as_str())
        })
        .await;
    let again = app.double.message(&channel, &ts).unwrap();
    assert!(!group_of(&again, "6.1.2").1.contains(&"6.1.2".to_string()));

    let refused = app.command_text(CSM, &channel, "done 6.1.2").await;
    assert!(refused.contains("6.1.1"), "{refused}");
    assert!(!is_done(&states(&app, "globex").await, "6.1.2"));

    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let customer = store
        .customer_by_slug(TEAM, "globex")
        .await
        .unwrap()
        .unwrap();
    store.close().await;
    let menu = json!({
        "type": "block_actions", "team": {"id": TEAM}, "user": {"id": CSM, "team_id": TEAM},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
        "channel": {"id": channel}, "trigger_id": "111.222.valid", "message": message,
        "actions": [{"type": "static_select", "action_id": "item_menu",
            "block_id": format!("menu:{}:6.1", customer.id),
            "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": "6.1.2"}}]
    });
    assert_eq!(app.interact(&menu).await.status(), StatusCode::OK);
    app.double
        .wait_for("views.open", |d| !d.calls_to("views.open").is_empty())
        .await;
    let modal = app.double.calls_to("views.open").remove(0).args["view"].to_string();
    assert!(
        modal.contains("Waiting on 6.1.1") || modal.contains("6.1.1 の完了待ち"),
        "{modal}"
    );
    assert!(!is_done(&states(&app, "globex").await, "6.1.2"));

    // Once 6.1.1 is done, the same click counts.
    let done = app.command_text(CSM, &channel, "done 6.1.1").await;
    assert!(done.contains("6.1.1"), "{done}");
    app.double
        .wait_for("6.1.2 no longer waiting", |d| {
            d.message(&channel, &ts)
                .is_some_and(|m| !m.to_string().contains("6.1.1 の完了待ち"))
        })
        .await;
    let answer = click_tick(&app, &channel, CSM, TEAM, "6.1.2").await;
    assert!(answer.is_none(), "{answer:?}");
    let now = states(&app, "globex").await;
    assert!(is_done(&now, "6.1.2"));
    assert_eq!(now["6.1.2"].done_by.as_deref(), Some(CSM));

    // Unticking the prerequisite leaves the step after it done.
    app.command_text(CSM, &channel, "undo 6.1.1").await;
    let now = states(&app, "globex").await;
    assert!(!is_done(&now, "6.1.1") && is_done(&now, "6.1.2"));
    app.command_text(CSM, &channel, "done 6.1.1").await;

    // The customer's own item waits too, for them as for staff.
    let early = click_tick(&app, &channel, PARTNER, PARTNER_TEAM, "6.1.4").await;
    let early = early.expect("the early click is answered");
    assert!(early.contains("6.1.3"), "{early}");
    assert!(!is_done(&states(&app, "globex").await, "6.1.4"));

    // Once 6.1.3 is done, the overview names what we wait on from the customer.
    app.command_text(CSM, &channel, "done 6.1.3").await;
    let overview_ts = app.double.messages_in(&channel)[0].0.clone();
    app.double
        .wait_for("the overview to name 6.1.4", |d| {
            d.message(&channel, &overview_ts).is_some_and(|m| {
                let text = m.to_string();
                text.contains("*6.1.4*") && !text.contains("*6.2.2*")
            })
        })
        .await;

    // The customer's Slack Connect person ticks 6.1.4, which the customer owns…
    app.double
        .wait_for("6.1.4 no longer waiting", |d| {
            d.message(&channel, &ts)
                .is_some_and(|m| !m.to_string().contains("6.1.3 の完了待ち"))
        })
        .await;
    let answer = click_tick(&app, &channel, PARTNER, PARTNER_TEAM, "6.1.4").await;
    assert!(answer.is_none(), "{answer:?}");
    let now = states(&app, "globex").await;
    assert_eq!(now["6.1.4"].done_by.as_deref(), Some(PARTNER));
    app.double
        .wait_for("the overview to stop naming 6.1.4", |d| {
            d.message(&channel, &overview_ts)
                .is_some_and(|m| !m.to_string().contains("*6.1.4*"))
        })
        .await;

    // …but not an item staff own, and nothing else changes.
    app.command(CSM, &channel, "show 1").await;
    app.double
        .wait_for("the security checklist", |d| {
            d.messages_in(&channel)
                .iter()
                .any(|(_, m)| m.to_string().contains("1.1.2"))
        })
        .await;
    let answer = click_tick(&app, &channel, PARTNER, PARTNER_TEAM, "1.1.2").await;
    let answer = answer.expect("the partner's refused click is answered");
    assert!(answer.contains("can't do that"), "{answer}");
    assert!(!is_done(&states(&app, "globex").await, "1.1.2"));
    // Their commands stay refused: ticking is the one power they get.
    let typed = app.command_shown(PARTNER, &channel, "done 6.2.1").await;
    assert!(typed.contains("can't do that"), "{typed}");

    // A new tier re-renders the overview with that tier's count.
    let enterprise_total = template.for_tier(Tier::Enterprise).item_count();
    app.command_text(CSM, &channel, "customer globex tier=enterprise")
        .await;
    app.double
        .wait_for("the overview with the Enterprise count", |d| {
            d.message(&channel, &overview_ts).is_some_and(|m| {
                m["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(&format!("/{enterprise_total}"))
            })
        })
        .await;
    let shown = app.command_shown(CSM, "C0GENERAL", "show globex 3").await;
    assert!(shown.contains("3.1.3"), "{shown}");
    app.stop().await;
}
