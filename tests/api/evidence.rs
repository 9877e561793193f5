//! Evidence on checklist items (issue 17, item 4): `/readiness evidence` and the item
//! modal's link and file fields attach proof with who and when; the checklist shows a
//! paperclip with the count; the audit log records it; bad input is answered briefly
//! and changes nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TEAM, TestApp, TestDb, origin};
use readiness::domain::customer::Customer;
use readiness::domain::evidence::{Attachment, EvidenceKind, MAX_PER_ITEM};
use readiness::slack_fake::SlackFake;
use readiness::store::Store;
use readiness::store::audit::{Actor, Source};

const CSM: &str = "U0CSM";
const JA: &str = "U0JA";
const CONTACT: &str = "U0CAROL";

async fn store_of(app: &TestApp) -> Store {
    Store::connect(&app.db_url).await.unwrap()
}

async fn customer(store: &Store, slug: &str) -> Customer {
    store.customer_by_slug(TEAM, slug).await.unwrap().unwrap()
}

/// The text of the checkbox option `key` in the messages of `channel` as they now are.
fn option_text(slack: &SlackFake, channel: &str, key: &str) -> Option<String> {
    slack
        .messages_in(channel)
        .into_iter()
        .flat_map(|(_, m)| m["blocks"].as_array().cloned().unwrap_or_default())
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["type"] == "checkboxes")
        .flat_map(|e| e["options"].as_array().cloned().unwrap_or_default())
        .find(|o| o["value"] == key)
        .and_then(|o| o["text"]["text"].as_str().map(str::to_string))
}

/// Posts category 1 (which holds 1.1.1) in `channel` and waits for it.
async fn show_category_1(app: &TestApp, channel: &str) {
    app.command(CSM, channel, "show 1").await;
    app.double
        .wait_for("category 1", |d| option_text(d, channel, "1.1.1").is_some())
        .await;
}

on_both_backends!(
    evidence_by_command_and_by_the_item_modal_shows_a_paperclip_and_is_audited,
    attach_scenario
);

async fn attach_scenario(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let channel = app.new_customer(CSM, "Acme tier=enterprise").await;
    show_category_1(&app, &channel).await;
    let before = option_text(&app.double, &channel, "1.1.1").unwrap();
    assert!(!before.contains('📎'), "{before}");

    let text = app
        .command_text(
            CSM,
            &channel,
            "evidence 1.1.1 https://trust.example.com/soc2.pdf SOC 2 Type II, 2026",
        )
        .await;
    assert!(text.contains("1.1.1"), "{text}");
    assert!(text.contains("trust.example.com/soc2.pdf"), "{text}");
    assert!(text.contains("📎 1"), "{text}");

    // The posted checklist is re-rendered: the item shows the paperclip with its count.
    app.double
        .wait_for("the paperclip", |d| {
            option_text(d, &channel, "1.1.1").is_some_and(|t| t.ends_with("📎 1"))
        })
        .await;
    let shown = option_text(&app.double, &channel, "1.1.1").unwrap();
    assert!(shown.chars().count() <= 75, "{shown}");
    assert!(
        option_text(&app.double, &channel, "1.1.2").is_some_and(|t| !t.contains('📎')),
        "only the item with evidence has a paperclip"
    );

    let store = store_of(&app).await;
    let acme = customer(&store, "acme").await;
    let held = store.evidence_of_customer(TEAM, acme.id).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].item_key, "1.1.1");
    assert_eq!(held[0].kind, EvidenceKind::Link);
    assert_eq!(held[0].url, "https://trust.example.com/soc2.pdf");
    assert_eq!(held[0].note.as_deref(), Some("SOC 2 Type II, 2026"));
    assert_eq!(held[0].added_by, CSM);
    // The audit log records who attached what to which item.
    let audit = store
        .recent_audit(TEAM, Some(acme.id), 0, 50)
        .await
        .unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == "item.evidence_added")
        .expect("the evidence is audited");
    assert_eq!(entry.subject, "1.1.1");
    assert_eq!(entry.actor, CSM);
    assert_eq!(entry.source, "command");
    let after = entry.after.as_ref().unwrap();
    assert_eq!(after["url"], "https://trust.example.com/soc2.pdf");
    assert_eq!(after["kind"], "link");
    store.close().await;

    // The item modal lists what the item holds and offers a link and a file field.
    let (ts, message) = app
        .double
        .messages_in(&channel)
        .into_iter()
        .find(|(_, m)| m.to_string().contains("\"1.1.1\""))
        .unwrap();
    let menu_block = message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["block_id"].as_str())
        .find(|id| id.ends_with(":1.1"))
        .unwrap()
        .to_string();
    let click = json!({
        "type": "block_actions", "team": {"id": TEAM}, "user": {"id": CSM, "team_id": TEAM},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
        "channel": {"id": channel}, "trigger_id": "111.222.valid", "message": message,
        "actions": [{"type": "static_select", "action_id": "item_menu", "block_id": menu_block,
            "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": "1.1.1"}}]
    });
    assert_eq!(app.interact(&click).await.status(), StatusCode::OK);
    app.double
        .wait_for("views.open", |d| !d.calls_to("views.open").is_empty())
        .await;
    let opened = app.double.calls_to("views.open").remove(0);
    assert_eq!(
        opened.outcome, "ok",
        "Slack takes the modal: {:?}",
        opened.args
    );
    let view = opened.args["view"].clone();
    let shown = view.to_string();
    assert!(shown.contains("\"file_input\""), "{shown}");
    assert!(shown.contains("\"url_text_input\""), "{shown}");
    assert!(shown.contains("trust.example.com/soc2.pdf"), "{shown}");

    let file = app.double.file_uploaded_in_modal(CSM, "pen-test-2026.pdf");
    let submit = |link: &str, files: Value| {
        origin(TEAM).view_submission(
            CSM,
            "1.2.3",
            json!({"id": "V1", "type": "modal", "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "state": {"values": {
                "assignee": {"assignee": {"type": "users_select", "selected_user": null}},
                "due": {"due": {"type": "datepicker", "selected_date": null}},
                "note": {"note": {"type": "plain_text_input", "value": "Proof attached"}},
                "evidence_link": {"evidence_link": {"type": "url_text_input", "value": link}},
                "evidence_files": {"evidence_files": {"type": "file_input", "files": files}}
            }}}),
        )
    };

    // Not a link: the field says so, and nothing changes (not even the note).
    let r = app
        .interact(&submit("javascript:alert(1)", json!([file.clone()])))
        .await;
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["response_action"], "errors", "{answer}");
    assert!(answer["errors"]["evidence_link"].is_string(), "{answer}");
    let store = store_of(&app).await;
    assert_eq!(
        store
            .evidence_of_customer(TEAM, acme.id)
            .await
            .unwrap()
            .len(),
        1
    );
    let states = store.item_states_committed(acme.id).await.unwrap();
    assert!(states["1.1.1"].note.is_none());
    store.close().await;

    let r = app
        .interact(&submit(
            "https://trust.example.com/pentest-letter",
            json!([file.clone()]),
        ))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().is_empty(), "the modal closes");
    let store = store_of(&app).await;
    let held = store.evidence_of_customer(TEAM, acme.id).await.unwrap();
    assert_eq!(held.len(), 3, "{held:?}");
    let link = held
        .iter()
        .find(|e| e.url == "https://trust.example.com/pentest-letter")
        .expect("the link is kept");
    assert_eq!(link.kind, EvidenceKind::Link);
    let kept = held
        .iter()
        .find(|e| e.kind == EvidenceKind::File)
        .expect("the file is kept");
    assert_eq!(kept.file_id.as_deref(), file["id"].as_str());
    assert_eq!(kept.url, file["permalink"].as_str().unwrap());
    assert!(kept.url.contains("/files/"), "{}", kept.url);
    assert_eq!(kept.file_name.as_deref(), Some("pen-test-2026.pdf"));
    assert_eq!(kept.added_by, CSM);
    // The form's other fields still work alongside.
    let states = store.item_states_committed(acme.id).await.unwrap();
    assert_eq!(states["1.1.1"].note.as_deref(), Some("Proof attached"));
    assert_eq!(states["1.1.1"].evidence, 3);
    let audit = store
        .recent_audit(TEAM, Some(acme.id), 0, 50)
        .await
        .unwrap();
    let from_modal: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "item.evidence_added" && e.source == "modal")
        .collect();
    assert_eq!(from_modal.len(), 2, "one entry a piece");
    store.close().await;
    app.double
        .wait_for("the paperclip counts three", |d| {
            option_text(d, &channel, "1.1.1").is_some_and(|t| t.ends_with("📎 3"))
        })
        .await;

    // The same file submitted again is already there: the rest of the form is saved.
    let r = app.interact(&submit("", json!([file]))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let store = store_of(&app).await;
    assert_eq!(
        store
            .evidence_of_customer(TEAM, acme.id)
            .await
            .unwrap()
            .len(),
        3
    );
    store.close().await;
    app.stop().await;
}

on_both_backends!(
    bad_evidence_is_answered_briefly_and_changes_nothing,
    refusal_scenario
);

async fn refusal_scenario(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    app.double.set_locale(JA, "ja-JP");
    let channel = app.new_customer(CSM, "Globex tier=standard").await;
    let store = store_of(&app).await;
    let globex = customer(&store, "globex").await;
    let held = |store: &Store| {
        let store = store.clone();
        async move {
            store
                .evidence_of_customer(TEAM, globex.id)
                .await
                .unwrap()
                .len()
        }
    };

    let cases: [(&str, &str, &str); 7] = [
        // An item of another tier: the Standard checklist has no phone support.
        (
            CSM,
            "evidence globex 3.1.3 https://example.com/phone",
            "not on Globex's checklist",
        ),
        (
            JA,
            "evidence globex 3.1.3 https://example.com/phone",
            "チェックリストにありません",
        ),
        (CSM, "evidence globex 9.9.9 https://example.com/x", "9.9.9"),
        (CSM, "evidence globex 1.1.1 soc2.pdf", "is not a link"),
        (
            CSM,
            "evidence globex 1.1.1 ftp://example.com/x",
            "is not a link",
        ),
        (
            CSM,
            "evidence nosuch 1.1.1 https://example.com/x",
            "I don't know a customer",
        ),
        (CSM, "evidence globex 1.1.1", "link"),
    ];
    for (user, command, said) in cases {
        let text = app.command_text(user, "C0GENERAL", command).await;
        assert!(text.contains(said), "{command}: {text}");
        assert!(text.chars().count() < 600, "brief: {text}");
    }
    assert_eq!(held(&store).await, 0, "nothing attached");

    // A customer-side person (a contact the CSM named) attaches nothing: the staff's
    // checklist work is refused them, as a tick is.
    let text = app
        .command_text(
            CSM,
            &channel,
            &format!("customer contacts=<@{CONTACT}|carol>"),
        )
        .await;
    assert!(text.contains(CONTACT), "{text}");
    let text = app
        .command_text(CONTACT, &channel, "evidence 1.1.1 https://example.com/ours")
        .await;
    assert!(text.contains("can't do that"), "{text}");
    assert_eq!(
        held(&store).await,
        0,
        "nothing attached by the customer's side"
    );

    // An item holds at most MAX_PER_ITEM pieces: the next is refused.
    let actor = Actor::new(CSM, Source::Command);
    for n in 0..MAX_PER_ITEM {
        let link = Attachment::link(&format!("https://example.com/{n}")).unwrap();
        store
            .add_evidence(
                TEAM,
                globex.id,
                "1.1.1",
                &[link],
                None,
                actor,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
    }
    let text = app
        .command_text(CSM, &channel, "evidence 1.1.1 https://example.com/one-more")
        .await;
    assert!(text.contains(&format!("at most {MAX_PER_ITEM}")), "{text}");
    // A link already there changes nothing either.
    let text = app
        .command_text(CSM, &channel, "evidence 1.1.2 https://example.com/a")
        .await;
    assert!(text.contains("📎 1"), "{text}");
    let text = app
        .command_text(CSM, &channel, "evidence 1.1.2 https://example.com/a")
        .await;
    assert!(text.contains("already attached"), "{text}");
    assert_eq!(held(&store).await, MAX_PER_ITEM + 1);
    let states = store.item_states_committed(globex.id).await.unwrap();
    assert_eq!(states["1.1.1"].evidence, MAX_PER_ITEM);
    assert_eq!(states["1.1.2"].evidence, 1);
    store.close().await;
    app.stop().await;
}
