//! The onboarding plan end to end (issue 17): due dates planned from the kickoff and
//! the go-live in the customer's business days, re-planned when either moves (a date
//! set by hand stays), the onboarding team (`/readiness team`) assigning the items its
//! roles own with one DM per person named, and the due-date DM waiting while an item
//! waits on its prerequisites.

use std::time::Duration;

use chrono::NaiveDate;

use readiness::domain::checklist::{States, Tier};
use readiness::domain::customer::Customer;
use readiness::domain::plan::add_business_days;
use readiness::domain::policy::Policy;
use readiness::domain::template::{Anchor, Item, Owner, Template};
use readiness::store::Store;

use crate::sla::{CSM, ENGINEER, policy_file};
use crate::support::{TEAM, TestApp, TestDb, slack_double::SlackDouble};

const SAM: &str = "U0SAM";
const SAL: &str = "U0SAL";
const PAT: &str = "U0PAT";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The customer `slug` and its item states, read from the database.
async fn read(app: &TestApp, slug: &str) -> (Customer, States, Vec<(Owner, String)>, Vec<String>) {
    let store = Store::connect(&app.db_url).await.unwrap();
    let customer = store.customer_by_slug(TEAM, slug).await.unwrap().unwrap();
    let states = (*store.item_states(customer.id).await.unwrap()).clone();
    let team = store.onboarding_team(&customer).await.unwrap();
    let contacts = store.contacts(&customer).await.unwrap();
    store.close().await;
    (customer, states, team, contacts)
}

/// The items of the Standard view whose due date counts from `anchor`.
fn anchored(view: &Template, anchor: Anchor) -> Vec<&Item> {
    view.items()
        .filter(|i| i.due.is_some_and(|r| r.anchor == anchor))
        .collect()
}

/// DMs to `user` that name them to a team.
fn named_dms(app: &TestApp, user: &str) -> Vec<String> {
    app.double
        .dms_to(user)
        .into_iter()
        .filter(|t| t.contains("onboarding team"))
        .collect()
}

on_both_backends!(
    kickoff_golive_and_the_team_plan_a_customers_onboarding,
    plan_scenario
);

async fn plan_scenario(db: &TestDb) {
    let app = TestApp::spawn_with(db, SlackDouble::start().await, &[("virtual_clock", "")]).await;
    let template = Template::builtin();
    let view = template.for_tier(Tier::Standard);
    // The app runs the seed's policy: Tokyo, Mon-Fri, Japan's holidays.
    let cal = Policy::default().calendar(Tier::Standard);
    let planned = |item: &Item, from: NaiveDate| {
        add_business_days(&cal, from, item.due.unwrap().business_days)
    };
    let kickoff_items = anchored(view, Anchor::Kickoff);
    let golive_items = anchored(view, Anchor::GoLive);
    assert!(kickoff_items.len() > 1 && !golive_items.is_empty());

    // `new … kickoff=` dates every kickoff item from it, in business days.
    let channel = app
        .new_customer(CSM, "Globex tier=standard kickoff=2027-01-11")
        .await;
    let (globex, states, _, _) = read(&app, "globex").await;
    assert_eq!(globex.kickoff_on, Some(day(2027, 1, 11)));
    let first = kickoff_items[0];
    // 2027-01-11 is Coming of Age Day: the count starts from the next business day.
    assert_eq!(
        add_business_days(&cal, day(2027, 1, 11), 0),
        day(2027, 1, 12)
    );
    assert_eq!(
        states[&first.key].due,
        Some(planned(first, day(2027, 1, 11)))
    );
    for item in &kickoff_items {
        assert_eq!(
            states[&item.key].due,
            Some(planned(item, day(2027, 1, 11))),
            "{}",
            item.key
        );
    }
    // No go-live yet: those items have no date. Items of other tiers get none.
    for item in &golive_items {
        assert_eq!(states.get(&item.key).and_then(|s| s.due), None);
    }
    for item in template.items().filter(|i| view.item(&i.key).is_none()) {
        assert_eq!(states.get(&item.key).and_then(|s| s.due), None);
    }

    // A kickoff item owned by a staff role gets a date and an assignee by hand.
    let by_hand = kickoff_items
        .iter()
        .skip(1)
        .find(|i| matches!(i.owner, Some(o) if o != Owner::Customer))
        .expect("a kickoff item a staff role owns");
    let answer = app
        .command_text(
            CSM,
            &channel,
            &format!("assign {} <@{ENGINEER}> due=2027-02-26", by_hand.key),
        )
        .await;
    assert!(answer.contains(ENGINEER), "{answer}");

    // A new kickoff moves the plan's dates, not the one set by hand.
    let answer = app
        .command_text(CSM, &channel, "customer globex kickoff=2027-01-18")
        .await;
    assert!(!answer.contains("rror"), "{answer}");
    let (globex, states, _, _) = read(&app, "globex").await;
    assert_eq!(globex.kickoff_on, Some(day(2027, 1, 18)));
    assert_eq!(
        states[&first.key].due,
        Some(planned(first, day(2027, 1, 18)))
    );
    assert_ne!(
        planned(first, day(2027, 1, 18)),
        planned(first, day(2027, 1, 11))
    );
    assert_eq!(states[&by_hand.key].due, Some(day(2027, 2, 26)));

    // The go-live dates its items.
    let answer = app
        .command_shown(CSM, &channel, "golive globex 2027-03-01")
        .await;
    assert!(answer.contains("2027-03-01"), "{answer}");
    let (_, states, _, _) = read(&app, "globex").await;
    for item in &golive_items {
        assert_eq!(
            states[&item.key].due,
            Some(planned(item, day(2027, 3, 1))),
            "{}",
            item.key
        );
    }
    // …and leaves the kickoff's alone.
    assert_eq!(
        states[&first.key].due,
        Some(planned(first, day(2027, 1, 18)))
    );

    // Bad input answers and changes nothing.
    for (text, says) in [
        ("team globex boss=<@U0X>", "boss"),
        ("team globex se=sam", "sam"),
        ("team nosuch se=<@U0X>", "nosuch"),
    ] {
        let answer = app.command_shown(CSM, &channel, text).await;
        assert!(answer.contains(says), "{text}: {answer}");
        let (_, _, team, _) = read(&app, "globex").await;
        assert!(team.is_empty(), "{text}: {team:?}");
    }

    // The team: each role's open items assigned to its holder, but the one assigned
    // by hand.
    let answer = app
        .command_text(
            CSM,
            &channel,
            &format!("team globex csm=<@{CSM}> se=<@{SAM}> customer=<@{PAT}>"),
        )
        .await;
    assert!(answer.contains("Team saved"), "{answer}");
    app.advance(Duration::from_secs(10)).await;
    let (_, states, team, contacts) = read(&app, "globex").await;
    assert_eq!(
        team,
        vec![
            (Owner::Csm, CSM.to_string()),
            (Owner::Se, SAM.to_string()),
            (Owner::Customer, PAT.to_string())
        ]
    );
    let owned_by = |role: Owner| -> Vec<&Item> {
        view.items()
            .filter(|i| i.owner == Some(role) && i.key != by_hand.key)
            .collect()
    };
    for (role, holder) in [(Owner::Csm, CSM), (Owner::Se, SAM), (Owner::Customer, PAT)] {
        let items = owned_by(role);
        assert!(!items.is_empty(), "{role:?}");
        for item in items {
            assert_eq!(
                states[&item.key].assignee.as_deref(),
                Some(holder),
                "{}",
                item.key
            );
        }
    }
    assert_eq!(states[&by_hand.key].assignee.as_deref(), Some(ENGINEER));
    // Roles nobody holds leave their items unassigned.
    for item in owned_by(Owner::Legal) {
        assert_eq!(states.get(&item.key).and_then(|s| s.assignee.clone()), None);
    }
    // One DM per person named, none to the one who named them; pat is a contact.
    let sam_dms = named_dms(&app, SAM);
    assert_eq!(sam_dms.len(), 1, "{sam_dms:?}");
    assert_eq!(named_dms(&app, PAT).len(), 1);
    assert!(named_dms(&app, CSM).is_empty());
    assert_eq!(contacts, vec![PAT.to_string()]);
    // No DM per item either.
    assert_eq!(app.double.dms_to(SAM), sam_dms);

    // The team shown: each holder with what they own, counted from the template.
    let se_items = view.items().filter(|i| i.owner == Some(Owner::Se)).count();
    let se_theirs = view
        .items()
        .filter(|i| i.owner == Some(Owner::Se))
        .filter(|i| states[&i.key].assignee.as_deref() == Some(SAM))
        .count();
    let shown = app.command_shown(CSM, &channel, "team").await;
    assert!(
        shown.contains(&format!("<@{SAM}> · {se_theirs} of {se_items} items")),
        "{shown}"
    );

    // A new holder takes the planned items over; `none` takes them back.
    app.command_text(CSM, &channel, &format!("team globex se=<@{SAL}>"))
        .await;
    let (_, states, _, _) = read(&app, "globex").await;
    for item in owned_by(Owner::Se) {
        assert_eq!(
            states[&item.key].assignee.as_deref(),
            Some(SAL),
            "{}",
            item.key
        );
    }
    app.command_text(CSM, &channel, "team globex se=none").await;
    let (_, states, team, _) = read(&app, "globex").await;
    assert!(!team.iter().any(|(r, _)| *r == Owner::Se));
    for item in owned_by(Owner::Se) {
        assert_eq!(states[&item.key].assignee, None, "{}", item.key);
    }
    assert_eq!(states[&by_hand.key].assignee.as_deref(), Some(ENGINEER));

    // Another tier: the items it adds join the plan, dated from the same kickoff and
    // go-live; the date set by hand stays.
    let answer = app
        .command_text(CSM, &channel, "customer globex tier=enterprise")
        .await;
    assert!(!answer.contains("rror"), "{answer}");
    let (_, states, _, _) = read(&app, "globex").await;
    let enterprise = template.for_tier(Tier::Enterprise);
    let enterprise_cal = Policy::default().calendar(Tier::Enterprise);
    let joined: Vec<&Item> = enterprise
        .items()
        .filter(|i| view.item(&i.key).is_none() && i.due.is_some())
        .collect();
    assert!(!joined.is_empty());
    for item in joined {
        let rule = item.due.unwrap();
        let from = match rule.anchor {
            Anchor::Kickoff => day(2027, 1, 18),
            Anchor::GoLive => day(2027, 3, 1),
        };
        assert_eq!(
            states[&item.key].due,
            Some(add_business_days(&enterprise_cal, from, rule.business_days)),
            "{}",
            item.key
        );
    }
    assert_eq!(states[&by_hand.key].due, Some(day(2027, 2, 26)));

    // Each change is in the audit log, with who and what.
    let store = Store::connect(&app.db_url).await.unwrap();
    let entries = store.recent_audit(TEAM, None, 0, 100_000).await.unwrap();
    store.close().await;
    let team_entry = entries
        .iter()
        .find(|e| e.action == "customer.team" && e.after.as_ref().is_some_and(|a| a["se"] == SAM))
        .expect("the team change audited");
    assert_eq!(team_entry.actor, CSM);
    assert_eq!(team_entry.after.as_ref().unwrap()["customer"], PAT);
    let assigned = entries
        .iter()
        .filter(|e| e.action == "plan.assigned")
        .count();
    assert_eq!(assigned, 3, "named, moved, taken back");
    assert!(entries.iter().any(|e| e.action == "plan.dated"));
    assert!(entries.iter().any(|e| e.action == "plan.changed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_items_due_dm_waits_until_its_prerequisites_are_done() {
    // Every tier 24/7 and the DM's hour a few seconds ahead, so the test does not
    // depend on the day or hour it runs at.
    let at = chrono::Utc::now() + chrono::Duration::seconds(8);
    let tokyo = at.with_timezone(&chrono_tz::Asia::Tokyo);
    let (_dir, config) = policy_file(&format!(
        "[reminders]\nitem_due_at = \"{}\"\n",
        tokyo.format("%H:%M:%S")
    ));
    let db = TestDb::sqlite();
    let app = TestApp::spawn_with(
        &db,
        SlackDouble::start().await,
        &[("config", &config), ("virtual_clock", "")],
    )
    .await;
    let channel = app.new_customer(CSM, "Acme tier=enterprise").await;
    let template = Template::builtin();
    let view = template.for_tier(Tier::Enterprise);
    let waiting = view
        .items()
        .find(|i| !i.after.is_empty())
        .expect("an item with prerequisites");
    let today = tokyo.date_naive();
    app.command_text(
        CSM,
        &channel,
        &format!("assign {} <@{ENGINEER}> due={today}", waiting.key),
    )
    .await;
    let due_dms = |app: &TestApp| -> Vec<String> {
        app.double
            .dms_to(ENGINEER)
            .into_iter()
            .filter(|t| t.contains(&waiting.key) && !t.contains("gave you"))
            .collect()
    };
    // Its morning comes while it waits: no DM.
    app.advance(Duration::from_secs(10)).await;
    assert!(due_dms(&app).is_empty(), "{:?}", due_dms(&app));
    // Its prerequisites done, the next morning tells it.
    for key in &waiting.after {
        let answer = app
            .command_shown(CSM, &channel, &format!("done {key}"))
            .await;
        assert!(answer.contains(key.as_str()), "{answer}");
    }
    app.advance(Duration::from_secs(24 * 3600)).await;
    let sent = due_dms(&app);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("can be done now"), "{sent:?}");
}
