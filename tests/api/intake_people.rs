//! Who is the customer and who gets the ticket (issue 16, items 1, 2, 8): contacts a
//! CSM names are customer-side everywhere, a customer's intake mode is stored and
//! shown, and round-robin gives each new ticket to the member of a user group with the
//! fewest open tickets. Each refusal has its control: the same request by staff works.

use std::time::Duration;

use serde_json::json;

use crate::sla::{CSM, ENGINEER, button_payload, policy_file, ticket_message};
use crate::support::slack_double::SlackDouble;
use crate::support::{TEAM, TestApp, TestDb, block_actions, tick_1_1_1};
use readiness::domain::policy::IntakeMode;

const CONTACT: &str = "U0CAROL";
const GUEST: &str = "U0GUEST";
const CANT: &str = "can't do that";

async fn store_of(app: &TestApp) -> readiness::store::Store {
    readiness::store::Store::connect(&app.db_url).await.unwrap()
}

/// A checkbox click on 1.1.1 by `user`, refused where only they see it.
async fn tick_is_refused(app: &TestApp, user: &str, channel: &str, customer: i64) {
    let mut click = block_actions(TEAM, user, channel, "1.1", tick_1_1_1(customer));
    click["response_url"] = json!(app.response_url());
    let before = app.double.responses().len();
    app.interact(&click).await;
    app.double
        .wait_for("the refusal", |d| d.responses().len() > before)
        .await;
    let (_, refusal) = app.double.responses()[before].clone();
    assert!(
        refusal["text"].as_str().unwrap_or("").contains(CANT),
        "{user}: {refusal}"
    );
    assert_ne!(refusal["response_type"], "in_channel");
}

/// Whether 1.1.1 of `customer` is ticked, waiting a little for a click to land.
async fn ticked(app: &TestApp, customer: i64) -> bool {
    let store = store_of(app).await;
    let mut done = false;
    for _ in 0..40 {
        let states = store.item_states_committed(customer).await.unwrap();
        done = states.get("1.1.1").is_some_and(|s| s.done_at.is_some());
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
    done
}

on_both_backends!(
    a_contact_named_by_a_csm_is_the_customers_until_taken_back,
    contacts_scenario
);

async fn contacts_scenario(db: &TestDb) {
    let (_dir, config) = policy_file("[intake]\nmode = \"auto\"\n");
    let app = TestApp::spawn_with(db, SlackDouble::start().await, &[("config", &config)]).await;
    app.double.set_guest(GUEST, false);
    app.double.set_admin(CSM);
    let acme = app.new_customer(CSM, "Acme tier=enterprise").await;
    let store = store_of(&app).await;
    let customer = store.customers(TEAM).await.unwrap()[0].clone();
    store.close().await;

    // The control: before being named, Carol is staff (Slack says nothing else).
    let shown = app.command_shown(CONTACT, &acme, "tickets").await;
    assert!(!shown.contains(CANT), "{shown}");

    let named = app
        .command_shown(
            CSM,
            &acme,
            "customer acme contacts=<@U0CAROL|carol>, <@U0GUEST|gus>",
        )
        .await;
    assert!(
        named.contains("<@U0CAROL>, <@U0GUEST>"),
        "the change shows the contacts: {named}"
    );

    // Named, she is refused a command and a staff button, as a guest is.
    for user in [CONTACT, GUEST] {
        for text in ["show", "tickets", "ticket P1 help please"] {
            let answer = app.command_shown(user, &acme, text).await;
            assert!(answer.contains(CANT), "{user} `{text}`: {answer}");
        }
        tick_is_refused(&app, user, &acme, customer.id).await;
    }
    assert!(!ticked(&app, customer.id).await, "a contact's tick counted");
    let store = store_of(&app).await;
    assert!(store.open_tickets(TEAM, None).await.unwrap().is_empty());
    // Audited as other customer changes are, with the list before and after.
    let audit = store
        .recent_audit(TEAM, Some(customer.id), 0, 50)
        .await
        .unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == "customer.contacts")
        .expect("the contacts' change is audited");
    assert_eq!(entry.actor, CSM);
    assert!(
        entry.after.as_ref().unwrap().to_string().contains(CONTACT),
        "{entry:?}"
    );
    store.close().await;

    // Bad input: a short answer, and nothing changes.
    for (text, says) in [
        ("customer acme contacts=<#C0123|general>", "not a person"),
        ("customer acme intake=sometimes", "not an intake mode"),
        ("customer nosuch intake=all", "nosuch"),
    ] {
        let answer = app.command_shown(CSM, &acme, text).await;
        assert!(answer.contains(says), "`{text}`: {answer}");
    }
    let shown = app.command_shown(CSM, &acme, "customer acme").await;
    assert!(shown.contains("<@U0CAROL>, <@U0GUEST>"), "{shown}");
    assert!(shown.contains("`auto`"), "{shown}");

    // Taken back: Carol is staff again; the guest is still a guest.
    let cleared = app
        .command_shown(CSM, &acme, "customer acme contacts=none")
        .await;
    assert!(!cleared.contains("U0CAROL"), "{cleared}");
    let shown = app.command_shown(CONTACT, &acme, "tickets").await;
    assert!(!shown.contains(CANT), "{shown}");
    app.interact(&block_actions(
        TEAM,
        CONTACT,
        &acme,
        "1.1",
        tick_1_1_1(customer.id),
    ))
    .await;
    assert!(ticked(&app, customer.id).await, "staff again, yet refused");
    let answer = app.command_shown(GUEST, &acme, "show").await;
    assert!(answer.contains(CANT), "{answer}");
    let store = store_of(&app).await;
    assert!(store.contacts(&customer).await.unwrap().is_empty());
    store.close().await;
    app.stop().await;
}

on_both_backends!(
    a_customers_intake_mode_is_stored_shown_and_changed_by_its_managers_only,
    intake_scenario
);

async fn intake_scenario(db: &TestDb) {
    let (_dir, config) = policy_file("[intake]\nmode = \"mention\"\n");
    let app = TestApp::spawn_with(db, SlackDouble::start().await, &[("config", &config)]).await;
    app.double.set_admin(CSM);
    let acme = app.new_customer(CSM, "Acme tier=enterprise").await;
    let shown = app.command_shown(CSM, &acme, "customer").await;
    assert!(shown.contains("the policy's: `mention`"), "{shown}");

    // An agent works tickets but does not manage customers.
    let given = app
        .command_text(CSM, &acme, "roles <@U0ENGINEER|eng> agent")
        .await;
    assert!(given.contains("U0ENGINEER"), "{given}");
    let refused = app
        .command_shown(ENGINEER, &acme, "customer acme intake=all")
        .await;
    assert!(refused.contains("ask for one of these roles"), "{refused}");

    let saved = app
        .command_shown(CSM, &acme, "customer acme intake=reaction")
        .await;
    assert!(saved.contains("`reaction`"), "{saved}");
    let store = store_of(&app).await;
    let customer = store.customers(TEAM).await.unwrap()[0].clone();
    assert_eq!(customer.intake_mode, Some(IntakeMode::Reaction));
    let audit = store
        .recent_audit(TEAM, Some(customer.id), 0, 50)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "customer.changed"
                && e.after.as_ref().unwrap()["intake"] == "reaction"),
        "{audit:?}"
    );
    store.close().await;

    // `auto` gives the choice back to the policy.
    let back = app
        .command_shown(CSM, &acme, "customer acme intake=auto")
        .await;
    assert!(back.contains("the policy's: `mention`"), "{back}");
    let store = store_of(&app).await;
    assert_eq!(store.customers(TEAM).await.unwrap()[0].intake_mode, None);
    store.close().await;
    app.stop().await;
}

on_both_backends!(
    round_robin_gives_a_new_ticket_to_the_member_with_the_fewest_open,
    round_robin_scenario
);

/// Who has each of the workspace's tickets, by number.
async fn assignees(app: &TestApp, numbers: std::ops::RangeInclusive<i64>) -> Vec<Option<String>> {
    let store = store_of(app).await;
    let mut out = Vec::new();
    for n in numbers {
        out.push(
            store
                .ticket_by_number(TEAM, n)
                .await
                .unwrap()
                .unwrap()
                .assignee,
        );
    }
    store.close().await;
    out
}

async fn round_robin_scenario(db: &TestDb) {
    let (_dir, config) = policy_file(
        "[sla.P0]\nfirst_response = \"4s\"\nresolution = \"1h\"\n[intake]\nassign = \"round-robin\"\nassignees = \"<!subteam^S0SUPPORT|@support>\"\n",
    );
    let app = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("config", &config), ("virtual_clock", "")],
    )
    .await;
    // Listed out of order: the choice does not follow Slack's order.
    app.double
        .set_group_members("S0SUPPORT", &["U0CAT", "U0ANN", "U0BOB"]);
    let acme = app.new_customer(CSM, "Acme tier=enterprise").await;
    for n in 1..=3 {
        let opened = app
            .command_text(CSM, &acme, &format!("ticket P2 Request {n}"))
            .await;
        assert!(opened.contains(&format!("T-{n}")), "{opened}");
    }
    let some = |u: &str| Some(u.to_string());
    assert_eq!(
        assignees(&app, 1..=3).await,
        [some("U0ANN"), some("U0BOB"), some("U0CAT")]
    );

    // Bob's ticket is resolved: he has the fewest open, and gets the next.
    // Posts are paced per channel: the app's clock moves until T-2 is posted.
    for _ in 0..30 {
        if ticket_message(&app.double, &acme, "T-2").is_some() {
            break;
        }
        app.advance(Duration::from_secs(1)).await;
    }
    let (ts, _) = ticket_message(&app.double, &acme, "T-2").expect("T-2's message");
    let store = store_of(&app).await;
    let id = store.ticket_by_number(TEAM, 2).await.unwrap().unwrap().id;
    store.close().await;
    let resolve = button_payload(
        readiness::blocks::ticket::RESOLVE,
        &id.to_string(),
        &acme,
        &ts,
    );
    app.interact(&resolve).await;
    let store = store_of(&app).await;
    for _ in 0..50 {
        if store.open_tickets(TEAM, None).await.unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
    app.command_text(CSM, &acme, "ticket P2 Request 4").await;
    // Everyone has one open: Ann was given hers longest ago. Her P0's escalation names
    // her, not the reporter (no escalation path is set).
    app.command_text(CSM, &acme, "ticket P0 Everything is down")
        .await;
    assert_eq!(assignees(&app, 4..=5).await, [some("U0BOB"), some("U0ANN")]);
    let escalated = |d: &SlackDouble| {
        ticket_message(d, &acme, "T-5")
            .is_some_and(|(ts, _)| !d.thread_replies(&acme, &ts).is_empty())
    };
    for _ in 0..30 {
        if escalated(&app.double) {
            break;
        }
        app.advance(Duration::from_secs(1)).await;
    }
    assert!(escalated(&app.double), "T-5's first escalation");
    let (ts, card) = ticket_message(&app.double, &acme, "T-5").unwrap();
    assert!(card["blocks"].to_string().contains("<@U0ANN>"), "{card}");
    let escalation = app.double.thread_replies(&acme, &ts)[0]["blocks"].to_string();
    assert!(escalation.contains("<@U0ANN>"), "{escalation}");
    assert!(!escalation.contains(&format!("<@{CSM}>")), "{escalation}");
    app.stop().await;
}

/// Without the setting, tickets stay unassigned, as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_round_robin_a_ticket_stays_unassigned() {
    let db = TestDb::sqlite();
    let (_dir, config) = policy_file("");
    let app = TestApp::spawn_with(&db, SlackDouble::start().await, &[("config", &config)]).await;
    app.double.set_group_members("S0SUPPORT", &["U0ANN"]);
    let acme = app.new_customer(CSM, "Acme").await;
    app.command_text(CSM, &acme, "ticket P2 Request").await;
    assert_eq!(assignees(&app, 1..=1).await, [None]);
    app.stop().await;
}
