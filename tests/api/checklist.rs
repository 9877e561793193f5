//! The checklist as a user lives it: new → show → assign → tick → restart.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    TEAM, TestApp, TestDb, as_rendered_with, checkbox_groups, origin, tick_payload,
};
use readiness::domain::template::Template;

const CSM: &str = "UCSM0001";
const ENGINEER: &str = "UENG0002";

/// The message in `channel` whose fallback text mentions `needle`.
fn posted(app: &TestApp, channel: &str, needle: &str) -> (String, Value) {
    app.double
        .messages_in(channel)
        .into_iter()
        .rev()
        .find(|(_, m)| m["text"].as_str().unwrap_or("").contains(needle))
        .unwrap_or_else(|| panic!("no message with {needle:?} in {channel}"))
}

async fn states(app: &TestApp, slug: &str) -> readiness::domain::checklist::States {
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let customer = store.customer_by_slug(TEAM, slug).await.unwrap().unwrap();
    let states = store.item_states(customer.id).await.unwrap();
    store.close().await;
    (*states).clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_show_assign_tick_restart_and_the_tick_is_still_there_on_sqlite() {
    journey(&TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_show_assign_tick_restart_and_the_tick_is_still_there_on_postgres() {
    if let Some(db) = TestDb::postgres().await {
        journey(&db).await;
    }
}

async fn journey(db: &TestDb) {
    let template = Template::builtin();
    let app = TestApp::spawn(db).await;

    // new: a private channel, the caller invited, the overview posted and pinned.
    let channel = app.new_customer(CSM, "Acme tier=enterprise").await;
    assert_eq!(
        app.double.channel_id_by_name("cust-acme").as_deref(),
        Some(channel.as_str())
    );
    assert!(app.double.channel_is_private(&channel));
    assert!(app.double.members(&channel).contains(CSM));
    let (overview_ts, overview) = posted(&app, &channel, "Acme");
    assert!(app.double.is_pinned(&channel, &overview_ts));
    let total = template.item_count();
    assert!(
        overview["text"]
            .as_str()
            .unwrap()
            .contains(&format!("0/{total}")),
        "{overview}"
    );

    // show from elsewhere: an ephemeral answer with the category's checkboxes.
    let (status, body) = app
        .command(ENGINEER, "C0GENERAL", "show acme security")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response_type"], "ephemeral");
    let security = template.find_category("security").unwrap();
    let shown: usize = checkbox_groups(&body)
        .iter()
        .map(|(_, options, _)| options.len())
        .sum();
    assert_eq!(shown, security.item_count());

    // show in the channel: the category is posted there, to be kept current.
    let (status, _) = app.command(CSM, &channel, "show セキュリティ").await;
    assert_eq!(status, StatusCode::OK);
    app.double
        .wait_for("the security checklist", |d| {
            d.messages_in(&channel).len() >= 2
        })
        .await;
    let (ts, message) = posted(
        &app,
        &channel,
        security.label(readiness::domain::i18n::Lang::Ja),
    );

    // assign by command: stored, and the assignee gets a DM.
    let text = app
        .command_text(
            CSM,
            &channel,
            &format!("assign 1.1.2 <@{ENGINEER}|eng> due=2026-12-01"),
        )
        .await;
    assert!(text.contains("1.1.2"), "{text}");
    app.double
        .wait_for("the assignee's DM", |d| d.messages_in(ENGINEER).len() == 1)
        .await;

    // tick two boxes of the first group.
    let (block_id, options, initial) = checkbox_groups(&message).remove(0);
    assert!(initial.is_empty());
    let picked = [options[0].as_str(), options[2].as_str()];
    let r = app
        .interact(&tick_payload(
            ENGINEER, &channel, &ts, &message, &block_id, &picked,
        ))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let s = states(&app, "acme").await;
    for key in picked {
        assert_eq!(
            s[key].done_by.as_deref(),
            Some(ENGINEER),
            "{key} stored before the ack"
        );
    }
    assert_eq!(s["1.1.2"].assignee.as_deref(), Some(ENGINEER));

    // The posted messages are updated to show the ticks and the assignment.
    app.double
        .wait_for("the checklist message to be updated", |d| {
            let m = d.message(&channel, &ts).unwrap();
            checkbox_groups(&m)[0].2.len() == 2
        })
        .await;
    let updated = app.double.message(&channel, &ts).unwrap();
    assert!(
        updated.to_string().contains(&format!("<@{ENGINEER}>")),
        "assignee shown"
    );
    app.double
        .wait_for("the overview to count the ticks", |d| {
            d.message(&channel, &overview_ts).unwrap()["text"]
                .as_str()
                .unwrap()
                .contains(&format!("2/{total}"))
        })
        .await;

    // The same show from elsewhere, asked again after the ticks: `show` keeps its
    // rendered answer only while nothing it shows has changed, so it shows them.
    let (_, body) = app
        .command(ENGINEER, "C0GENERAL", "show acme security")
        .await;
    assert_eq!(checkbox_groups(&body)[0].2.len(), 2, "{body}");
    assert!(body.to_string().contains(&format!("<@{ENGINEER}>")));

    // Restart: the ticks are still there, in the database and in a fresh show.
    let app = app.restart().await;
    let (_, body) = app.command(ENGINEER, "C0GENERAL", "show acme 1").await;
    let groups = checkbox_groups(&body);
    let mut ticked: Vec<String> = groups.iter().flat_map(|(_, _, i)| i.clone()).collect();
    ticked.sort();
    let mut expected: Vec<String> = picked.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(ticked, expected);

    // Unticking works through the text form too.
    let text = app
        .command_text(CSM, &channel, &format!("undo {}", picked[0]))
        .await;
    assert!(text.contains(picked[0]), "{text}");
    assert!(states(&app, "acme").await[picked[0]].done_at.is_none());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_ticking_different_boxes_of_one_group_at_once_both_win() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let channel = app.new_customer(CSM, "Globex").await;
    app.command(CSM, &channel, "show 3").await;
    app.double
        .wait_for("support checklist", |d| d.messages_in(&channel).len() >= 2)
        .await;
    let (ts, message) = app.double.messages_in(&channel).pop().unwrap();
    let (block_id, options, _) = checkbox_groups(&message).remove(0);
    // Both clicked on the same, unticked, message: each payload holds only their box.
    let a = tick_payload(CSM, &channel, &ts, &message, &block_id, &[&options[0]]);
    let b = tick_payload(ENGINEER, &channel, &ts, &message, &block_id, &[&options[1]]);
    let (ra, rb) = tokio::join!(app.interact(&a), app.interact(&b));
    assert_eq!(ra.status(), StatusCode::OK);
    assert_eq!(rb.status(), StatusCode::OK);
    let s = states(&app, "globex").await;
    assert_eq!(s[&options[0]].done_by.as_deref(), Some(CSM));
    assert_eq!(s[&options[1]].done_by.as_deref(), Some(ENGINEER));

    // One unticks on a stale copy that showed only their own tick: the other's stays.
    let stale = as_rendered_with(&block_id, 0b1);
    let untick = tick_payload(CSM, &channel, &ts, &message, &stale, &[]);
    app.interact(&untick).await;
    let s = states(&app, "globex").await;
    assert!(s[&options[0]].done_at.is_none());
    assert!(
        s[&options[1]].done_at.is_some(),
        "the other person's tick survived"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_ticks_is_coalesced_into_few_message_updates() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let channel = app.new_customer(CSM, "Initech").await;
    app.command(CSM, &channel, "show 1").await;
    app.double
        .wait_for("security checklist", |d| d.messages_in(&channel).len() >= 2)
        .await;
    let (ts, message) = app.double.messages_in(&channel).pop().unwrap();
    let (block_id, options, _) = checkbox_groups(&message).remove(0);
    let updates_before = app.double.calls_to("chat.update").len();
    // A tick per box, sent at once, each on the message as its clicker saw it (one
    // more box ticked each time).
    let clicks: Vec<_> = (1..=options.len())
        .map(|n| {
            let selected: Vec<&str> = options[..n].iter().map(String::as_str).collect();
            let seen = as_rendered_with(&block_id, (1u16 << (n - 1)) - 1);
            tick_payload(CSM, &channel, &ts, &message, &seen, &selected)
        })
        .collect();
    let mut sent = tokio::task::JoinSet::new();
    for click in &clicks {
        sent.spawn(app.interaction_request(click).send());
    }
    while let Some(response) = sent.join_next().await {
        assert_eq!(response.unwrap().unwrap().status(), StatusCode::OK);
    }
    app.double
        .wait_for("all ticks shown", |d| {
            checkbox_groups(&d.message(&channel, &ts).unwrap())[0]
                .2
                .len()
                == options.len()
        })
        .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let updates_of_this_message = app.double.calls_to("chat.update")[updates_before..]
        .iter()
        .filter(|c| c.args["ts"] == ts.as_str())
        .count();
    assert!(
        updates_of_this_message < options.len() / 2,
        "{} ticks cost {updates_of_this_message} updates",
        options.len()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn japanese_names_get_numbered_slugs_and_taken_channel_names_move_on() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let channel = app
        .new_customer(CSM, "株式会社ミヤビ tier=professional")
        .await;
    assert_eq!(
        app.double.channel_id_by_name("cust-c1").as_deref(),
        Some(channel.as_str())
    );

    // Someone already made #cust-acme by hand.
    app.double.add_channel("C0HANDMADE", "cust-acme", false);
    let channel = app.new_customer(CSM, "Acme").await;
    assert_eq!(
        app.double.channel_id_by_name("cust-acme-2").as_deref(),
        Some(channel.as_str())
    );
    assert!(
        app.double
            .calls_to("conversations.create")
            .iter()
            .any(|c| c.outcome == "name_taken")
    );

    // The same customer again is refused with a pointer to it.
    let text = app.command_text(CSM, "C0GENERAL", "new ACME").await;
    assert!(
        text.contains("already exists") && text.contains("`acme`"),
        "{text}"
    );
    app.stop().await;
}

/// A name is one customer's whatever its script and width; a generated slug is said
/// with how to choose one; "not found" lists customers by name and slug. Both languages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_japanese_name_is_one_customer_and_its_generated_slug_is_explained() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    app.double.set_locale("UJA00001", "ja-JP");
    let created = app
        .command_text(CSM, "C0GENERAL", "new 株式会社ミヤビ")
        .await;
    assert!(
        created.contains("`c1`")
            && created.contains("Commands name it by its slug `c1`")
            && created.contains("`slug=`"),
        "{created}"
    );
    let created = app
        .command_text("UJA00001", "C0GENERAL", "new 株式会社サクラ")
        .await;
    assert!(
        created.contains("コマンドではスラッグ `c2` で指定します") && created.contains("`slug=`"),
        "{created}"
    );
    // A slug given is the person's own: nothing to explain.
    let created = app
        .command_text(CSM, "C0GENERAL", "new Initech slug=ini")
        .await;
    assert!(
        created.contains("`ini`") && !created.contains("slug="),
        "{created}"
    );

    // The same name again, as typed or in half-width katakana, or in full-width
    // letters: refused, pointing at the customer there is.
    for (user, again, says) in [
        (
            CSM,
            "new 株式会社ミヤビ",
            "A customer named *株式会社ミヤビ* already exists as `c1`",
        ),
        (
            CSM,
            "new 株式会社ﾐﾔﾋﾞ tier=enterprise",
            "already exists as `c1`",
        ),
        (CSM, "new ＩＮＩＴＥＣＨ", "already exists as `ini`"),
        (
            "UJA00001",
            "new \"株式会社ミヤビ\"",
            "*株式会社ミヤビ* という名前の顧客はすでに `c1`（<#",
        ),
    ] {
        let text = app.command_text(user, "C0GENERAL", again).await;
        assert!(text.contains(says), "{again}: {text}");
    }
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    assert_eq!(
        store.customers(TEAM).await.unwrap().len(),
        3,
        "nothing more created"
    );
    store.close().await;

    // Found by its name, whatever the width; unknown ones list the customers by name.
    let shown = app
        .command_shown(CSM, "C0GENERAL", "show 株式会社ﾐﾔﾋﾞ")
        .await;
    assert!(shown.contains("株式会社ミヤビ"), "{shown}");
    let text = app
        .command_text(CSM, "C0GENERAL", "show 株式会社ヤマト")
        .await;
    assert!(
        text.contains("Known: Initech (`ini`"),
        "listed by name and slug: {text}"
    );
    assert!(text.contains("株式会社ミヤビ (`c1`"), "{text}");
    let text = app
        .command_text("UJA00001", "C0GENERAL", "show 株式会社ヤマト")
        .await;
    assert!(text.contains("登録済み：Initech (`ini`"), "{text}");
    let text = app
        .command_text(CSM, "C0GENERAL", "remind tomorrow call")
        .await;
    assert!(text.contains("株式会社サクラ (`c2`"), "{text}");
    app.stop().await;
}

/// A database from before names were kept unique holds two customers of one name:
/// the name finds neither and says so, listing both by slug; each slug still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_two_old_customers_share_is_ambiguous_and_their_slugs_still_work() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    app.double.set_locale("UJA00001", "ja-JP");
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    for slug in ["c1", "c3"] {
        store
            .create_customer(&readiness::store::NewCustomer {
                team_id: TEAM.into(),
                slug: slug.into(),
                name: "株式会社ミヤビ".into(),
                tier: readiness::domain::checklist::Tier::Standard,
                channel_id: None,
                created_by: CSM.into(),
                created_at: 1_767_000_000_000,
            })
            .await
            .unwrap();
    }
    store.close().await;
    let app = app.restart().await;

    for form in [
        "show 株式会社ミヤビ",
        "show \"株式会社ミヤビ\" security",
        "customer 株式会社ミヤビ",
    ] {
        let text = app.command_text(CSM, "C0GENERAL", form).await;
        // Their channels are being created meanwhile: each may show one.
        assert!(
            text.contains("`株式会社ミヤビ` is the name of 2 customers: 株式会社ミヤビ (`c1`")
                && text.contains(", 株式会社ミヤビ (`c3`")
                && text.contains("Name one by its slug."),
            "{form}: {text}"
        );
    }
    let text = app
        .command_text("UJA00001", "C0GENERAL", "show 株式会社ミヤビ")
        .await;
    assert!(
        text.contains("`株式会社ミヤビ` という名前の顧客が 2 件あります：株式会社ミヤビ (`c1`")
            && text.contains(", 株式会社ミヤビ (`c3`")
            && text.contains("スラッグで指定してください。"),
        "{text}"
    );
    for slug in ["c1", "c3"] {
        let text = app
            .command_text(CSM, "C0GENERAL", &format!("customer {slug}"))
            .await;
        assert!(text.contains(&format!("(`{slug}`)")), "{text}");
    }
    // And a third is refused: the name is taken already.
    let text = app
        .command_text(CSM, "C0GENERAL", "new 株式会社ミヤビ")
        .await;
    assert!(text.contains("already exists as `c1`"), "{text}");
    // Renaming another customer to the name is refused too.
    app.command_text(CSM, "C0GENERAL", "new Initech slug=ini")
        .await;
    let text = app
        .command_text(CSM, "C0GENERAL", "customer ini name=株式会社ﾐﾔﾋﾞ")
        .await;
    assert!(
        text.contains("already another customer's: *株式会社ミヤビ* (`c1`)"),
        "{text}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linking_an_existing_channel_posts_there_or_says_how_to_invite_the_app() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    app.double.add_channel("C0LINKED", "acme-onboarding", true);
    let text = app
        .command_text(
            CSM,
            "C0GENERAL",
            "new Acme channel=<#C0LINKED|acme-onboarding>",
        )
        .await;
    assert!(text.contains("C0LINKED"), "{text}");
    app.double
        .wait_for("the overview", |d| d.messages_in("C0LINKED").len() == 1)
        .await;
    assert!(app.double.calls_to("conversations.create").is_empty());
    // In the linked channel the customer is implied.
    let text = app.command_text(CSM, "C0LINKED", "done 2.1.1").await;
    assert!(text.contains("2.1.1"), "{text}");

    app.double.add_channel("C0OUTSIDE", "globex", false);
    app.command_text(CSM, "C0GENERAL", "new Globex channel=<#C0OUTSIDE|globex>")
        .await;
    app.double
        .wait_for("the invite hint", |d| {
            d.responses()
                .iter()
                .any(|(_, r)| r["text"].as_str().unwrap_or("").contains("/invite"))
        })
        .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_item_menu_opens_a_modal_whose_submission_assigns_dates_notes_and_sets_n_a() {
    let template = Template::builtin();
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let channel = app.new_customer(CSM, "Umbrella").await;
    app.command(CSM, &channel, "show security").await;
    app.double
        .wait_for("security checklist", |d| d.messages_in(&channel).len() >= 2)
        .await;
    let (ts, message) = app.double.messages_in(&channel).pop().unwrap();
    let if_needed = template.items().find(|i| i.if_needed).unwrap();
    let section = if_needed.key.rsplit_once('.').unwrap().0.to_string();
    let menu_block = message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| {
            b["block_id"]
                .as_str()
                .unwrap_or("")
                .ends_with(&format!(":{section}"))
        })
        .unwrap()["block_id"]
        .as_str()
        .unwrap()
        .to_string();
    let click = json!({
        "type": "block_actions", "team": {"id": TEAM}, "user": {"id": CSM, "team_id": TEAM},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
        "channel": {"id": channel}, "trigger_id": "111.222.valid", "message": message,
        "actions": [{"type": "static_select", "action_id": "item_menu", "block_id": menu_block,
            "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": if_needed.key}}]
    });
    assert_eq!(app.interact(&click).await.status(), StatusCode::OK);
    app.double
        .wait_for("views.open", |d| !d.calls_to("views.open").is_empty())
        .await;
    let opened = app.double.calls_to("views.open").remove(0);
    assert_eq!(opened.outcome, "ok");
    let view = &opened.args["view"];
    assert!(
        view.to_string().contains("not_applicable"),
        "N/A offered for {}",
        if_needed.key
    );

    let submit = |na: bool, note: &str| {
        origin(TEAM).view_submission(
            CSM,
            "1.2.3",
            json!({"id": "V1", "type": "modal", "callback_id": view["callback_id"], "private_metadata": view["private_metadata"],
                "state": {"values": {
                    "assignee": {"assignee": {"type": "users_select", "selected_user": ENGINEER}},
                    "due": {"due": {"type": "datepicker", "selected_date": "2026-12-24"}},
                    "note": {"note": {"type": "plain_text_input", "value": note}},
                    "not_applicable": {"not_applicable": {"type": "checkboxes", "selected_options": if na { json!([{"value": "n/a"}]) } else { json!([]) }}}
                }}}),
        )
    };
    let too_long = app.interact(&submit(false, &"x".repeat(1001))).await;
    let errors: Value = too_long.json().await.unwrap();
    assert_eq!(errors["response_action"], "errors");
    assert!(
        states(&app, "umbrella")
            .await
            .get(&if_needed.key)
            .is_none_or(|s| s.note.is_none())
    );

    let r = app
        .interact(&submit(true, "Not in scope: no health data"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.text().await.unwrap().is_empty(),
        "an empty 200 closes the modal"
    );
    let s = &states(&app, "umbrella").await[&if_needed.key];
    assert_eq!(s.assignee.as_deref(), Some(ENGINEER));
    assert_eq!(s.due.map(|d| d.to_string()).as_deref(), Some("2026-12-24"));
    assert_eq!(s.note.as_deref(), Some("Not in scope: no health data"));
    assert!(s.not_applicable);
    app.double
        .wait_for("the assignee's DM", |d| d.messages_in(ENGINEER).len() == 1)
        .await;

    // A date already past is saved, as `assign … due=` saves it, and said: the modal
    // turns into a notice with only a close button.
    let mut past = submit(true, "Not in scope: no health data");
    past["view"]["state"]["values"]["due"]["due"]["selected_date"] = json!("2001-01-01");
    let r = app.interact(&past).await;
    assert_eq!(r.status(), StatusCode::OK);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["response_action"], "update", "{answer}");
    assert!(
        answer["view"]
            .to_string()
            .contains("2001-01-01 is already past"),
        "{answer}"
    );
    assert!(answer["view"].get("submit").is_none(), "{answer}");
    let s = &states(&app, "umbrella").await[&if_needed.key];
    assert_eq!(s.due.map(|d| d.to_string()).as_deref(), Some("2001-01-01"));

    // N/A leaves the denominator: the overview counts one item fewer (of the items
    // of Umbrella's tier, Standard by default).
    let total = template
        .for_tier(readiness::domain::checklist::Tier::Standard)
        .item_count();
    app.double
        .wait_for("the overview without the N/A item", |d| {
            let (_, overview) = d.messages_in(&channel).remove(0);
            overview["text"]
                .as_str()
                .unwrap()
                .contains(&format!("0/{}", total - 1))
        })
        .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_short_answer_with_the_right_form_and_changes_nothing() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let channel = app.new_customer(CSM, "Acme").await;
    // The plan dated its items when it was created; nothing below may change them.
    let planned = states(&app, "acme").await;
    let calls_before = app.double.calls().len();
    let cases = [
        ("C0GENERAL", "frobnicate", "/readiness help"),
        ("C0GENERAL", "show nosuch", "/readiness show"),
        ("C0GENERAL", "show security", "name the customer"),
        ("C0GENERAL", "new Foo tier=gold", "tier="),
        ("C0GENERAL", "done 1.1.1", "/readiness done"),
        (&channel, "done 9.9.9", "no item `9.9.9`"),
        (&channel, "done foo", "not an item number"),
        (
            &channel,
            "assign 1.1.1 <@UX1> due=2026-02-30",
            "due=YYYY-MM-DD",
        ),
        (&channel, "assign 1.1.1", "with @"),
        (&channel, "show acme nosuchcategory", "not a category"),
        ("C0GENERAL", "show \"Acme", "double quote"),
    ];
    for (channel, text, expected) in cases {
        let answer = app.command_text(CSM, channel, text).await;
        assert!(answer.contains(expected), "{text:?} answered {answer:?}");
        assert!(answer.len() < 600, "short: {answer}");
    }
    assert_eq!(states(&app, "acme").await, planned, "nothing stored");
    // Nothing reached Slack but the locale lookup.
    assert!(
        app.double.calls()[calls_before..]
            .iter()
            .all(|c| c.method == "users.info")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_follow_the_users_locale_and_channel_posts_the_workspace_language() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    app.double.set_locale("UJA", "ja-JP");
    let ja = app.command_text("UJA", "C0GENERAL", "help").await;
    assert!(ja.contains("チェックリスト"), "{ja}");
    let en = app.command_text("UEN", "C0GENERAL", "").await;
    assert!(en.contains("Categories"), "{en}");
    let err = app.command_text("UJA", "C0GENERAL", "bogus").await;
    assert!(err.contains("コマンドはありません"), "{err}");

    // The default workspace language is Japanese, the seed's.
    let channel = app.new_customer("UEN", "Acme").await;
    let (_, overview) = app.double.messages_in(&channel).remove(0);
    assert!(overview.to_string().contains("セキュリティ"), "{overview}");
    // Help lists the caller's customers with their progress, and counts the others.
    app.new_customer("UOTHER", "Globex").await;
    let en = app.command_text("UEN", "C0GENERAL", "help").await;
    assert!(
        en.contains("Your customers") && en.contains("`acme`") && en.contains("0/"),
        "{en}"
    );
    assert!(!en.contains("`globex`") && en.contains("1 more"), "{en}");
    // Someone with no customer of their own sees the workspace's.
    let newcomer = app.command_text("UNEW", "C0GENERAL", "help").await;
    assert!(
        newcomer.contains("`acme`") && newcomer.contains("`globex`"),
        "{newcomer}"
    );
    app.stop().await;

    let db = TestDb::sqlite();
    let double = crate::support::slack_double::SlackDouble::start().await;
    let app = TestApp::spawn_with(&db, double, &[("language", "en")]).await;
    let channel = app.new_customer("UEN", "Acme").await;
    let (_, overview) = app.double.messages_in(&channel).remove(0);
    assert!(overview.to_string().contains("Security"), "{overview}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_on_an_ephemeral_copy_keeps_what_others_ticked_since() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let channel = app.new_customer(CSM, "Hooli").await;
    // The engineer looks at an ephemeral copy from elsewhere: nothing ticked.
    let (_, copy) = app.command(ENGINEER, "C0GENERAL", "show hooli 2").await;
    let (block_id, options, initial) = checkbox_groups(&copy).remove(0);
    assert!(initial.is_empty());
    // Meanwhile the CSM ticks the first item in the channel.
    let text = app
        .command_text(CSM, &channel, &format!("done {}", options[0]))
        .await;
    assert!(text.contains(&options[0]), "{text}");
    // The engineer ticks the second box on the ephemeral copy; Slack sends no message.
    let mut click = tick_payload(
        ENGINEER,
        "C0GENERAL",
        "1.1",
        &copy,
        &block_id,
        &[&options[1]],
    );
    click["container"]["is_ephemeral"] = Value::Bool(true);
    click.as_object_mut().unwrap().remove("message");
    assert_eq!(app.interact(&click).await.status(), StatusCode::OK);
    let s = states(&app, "hooli").await;
    assert!(s[&options[0]].done_at.is_some(), "the CSM's tick survived");
    assert_eq!(s[&options[1]].done_by.as_deref(), Some(ENGINEER));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_tick_then_untick_before_the_update_lands_leaves_the_box_unticked() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let channel = app.new_customer(CSM, "Pied Piper").await;
    app.command(CSM, &channel, "show 5").await;
    app.double
        .wait_for("legal checklist", |d| d.messages_in(&channel).len() >= 2)
        .await;
    let (ts, message) = app.double.messages_in(&channel).pop().unwrap();
    let (block_id, options, _) = checkbox_groups(&message).remove(0);
    // Both clicks come from the same copy: Slack's client shows the first click, but the
    // message (and its block_id) still says "unticked" when the second is sent.
    let tick = tick_payload(CSM, &channel, &ts, &message, &block_id, &[&options[0]]);
    let untick = tick_payload(CSM, &channel, &ts, &message, &block_id, &[]);
    app.interact(&tick).await;
    app.interact(&untick).await;
    let s = states(&app, "pied-piper").await;
    assert!(
        s.get(&options[0]).is_none_or(|i| i.done_at.is_none()),
        "unticked"
    );
    // Someone else's view of the same copy is their own.
    let other = tick_payload(ENGINEER, &channel, &ts, &message, &block_id, &[&options[1]]);
    app.interact(&other).await;
    let s = states(&app, "pied-piper").await;
    assert!(s[&options[1]].done_at.is_some());
    assert!(s.get(&options[0]).is_none_or(|i| i.done_at.is_none()));
    app.stop().await;
}

/// Slack sends `&` as `&amp;`: a name of 700 of them is refused briefly (names hold at
/// most 80 characters) and creates nothing; a name with one is stored as typed, and a
/// 2,000-character summary of `&` still gives a tickets list Slack accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_bounded_and_slacks_escapes_are_undone_once() {
    let db = crate::support::TestDb::sqlite();
    let app = crate::support::TestApp::spawn(&db).await;
    let refused = app
        .command_text(
            "U0CSM",
            "C0GENERAL",
            &format!("new {}", "&amp;".repeat(700)),
        )
        .await;
    assert!(refused.contains("at most 80 characters"), "{refused}");
    assert!(refused.chars().count() < 400, "{refused}");
    let channel = app.new_customer("U0CSM", "Smith &amp; Wesson").await;
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let names: Vec<String> = store
        .all_customers()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    store.close().await;
    assert_eq!(names, ["Smith & Wesson"]);
    let summary = "&amp;".repeat(2000);
    let opened = app
        .command_text("U0CSM", &channel, &format!("ticket P2 {summary}"))
        .await;
    assert!(opened.contains("T-1"), "{opened}");
    let (_, listed) = app.command("U0CSM", &channel, "tickets").await;
    readiness::blocks::limits::check_message(&listed).unwrap_or_else(|e| panic!("{e}: {listed}"));
    assert!(
        listed.to_string().contains("Smith &amp; Wesson"),
        "{listed}"
    );
    app.stop().await;
}
