//! Many workspaces: each installs through the OAuth flow (against the Slack double),
//! acts with its own token, sees only its own data, even through guessed ids in
//! payloads, and stops when it uninstalls. Tokens are sealed at rest, and
//! `readiness rotate-key` re-seals them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::sla::policy_file;
use crate::support::slack_double::SlackDouble;
use crate::support::{
    ENCRYPTION_KEY, TestApp, TestDb, block_actions, cookie_of, event_callback_in, readiness,
    tick_1_1_1,
};

const TA: &str = "T0AAAAAAA";
const TB: &str = "T0BBBBBBB";
const UA: &str = "U0ALICE";
const UB: &str = "U0BOB";

fn button(team: &str, user: &str, action_id: &str, value: &str, channel: &str) -> Value {
    let action = json!({"action_id": action_id, "block_id": "b", "type": "button", "value": value, "action_ts": "1"});
    block_actions(team, user, channel, "1.1", action)
}

fn tick(team: &str, user: &str, customer: i64, channel: &str) -> Value {
    block_actions(team, user, channel, "1.1", tick_1_1_1(customer))
}

/// The methods the double refused for a bad token (a revoked one, or none).
fn refused_for_auth(double: &SlackDouble) -> Vec<String> {
    double
        .calls()
        .into_iter()
        .filter(|c| c.outcome == "invalid_auth")
        .map(|c| c.method)
        .collect()
}

/// Waits up to `tries` tenths of a second for `workspace`'s install to be purged.
async fn purged(app: &TestApp, workspace: &str, tries: u32) -> bool {
    for _ in 0..tries {
        let store = store_of(app).await;
        let gone = store.installation(workspace).await.unwrap().is_none();
        store.close().await;
        if gone {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// A slash command's signed form posted as is; the answer's body.
async fn post_command(app: &TestApp, form: String) -> String {
    app.post_signed("/slack/commands", "application/x-www-form-urlencoded", form)
        .await
        .text()
        .await
        .unwrap()
}

/// A look at the database as it is now (a SQLite store keeps a copy from when it
/// connected, so each look connects afresh).
async fn store_of(app: &TestApp) -> readiness::store::Store {
    readiness::store::Store::connect(&app.db_url).await.unwrap()
}

/// A's own reminders (not the digests and milestones a customer gets by itself).
async fn custom_reminders(app: &TestApp, team: &str) -> Vec<i64> {
    let store = store_of(app).await;
    let ids = store
        .active_reminders(team, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "custom")
        .map(|r| r.id)
        .collect();
    store.close().await;
    ids
}

async fn post_event(app: &TestApp, team: &str, id: &str, event: Value) {
    let response = app
        .post_signed(
            "/slack/events",
            "application/json",
            event_callback_in(team, id, event),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

on_both_backends!(
    two_workspaces_install_and_each_sees_only_its_own,
    isolation_scenario
);

async fn isolation_scenario(db: &TestDb) {
    let (_dir, config) = policy_file("");
    let app = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("config", &config), ("many_workspaces", ENCRYPTION_KEY)],
    )
    .await;

    // Before an install, a workspace is told how to install, and nothing is done.
    let refused = app.command_in(TA, UA, "C0GENERAL", "new Acme").await;
    assert!(refused.contains("not installed"), "{refused}");
    assert!(refused.contains("/slack/install"), "{refused}");

    for (team, name, user) in [(TA, "Alpha Inc", UA), (TB, "Beta Corp", UB)] {
        let (status, page) = app.install(team, name, user).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains(name), "{page}");
    }
    let channel_a = app.new_customer_in(TA, UA, "Acme tier=enterprise").await;
    let channel_b = app.new_customer_in(TB, UB, "Globex tier=enterprise").await;

    // Every Slack call was made with the token of the workspace it was for.
    let creates = app.double.calls_to("conversations.create");
    let made_by = |name: &str| {
        creates
            .iter()
            .find(|c| c.args["name"] == name)
            .map(|c| c.team.clone())
    };
    assert_eq!(made_by("cust-acme").as_deref(), Some(TA));
    assert_eq!(made_by("cust-globex").as_deref(), Some(TB));
    let unauthorised = refused_for_auth(&app.double);
    assert!(unauthorised.is_empty(), "{unauthorised:?}");
    assert!(
        app.double
            .calls_to("chat.postMessage")
            .iter()
            .all(|c| (c.args["channel"] == channel_a.as_str()) == (c.team == TA)),
        "a post went out with another workspace's token"
    );

    // Commands see only their own workspace's customers.
    let shown = app.command_in(TB, UB, &channel_b, "show acme").await;
    assert!(
        shown.contains("I don't know a customer") && shown.contains("globex"),
        "{shown}"
    );
    let list = app.command_in(TB, UB, "C0GENERAL", "help").await;
    assert!(!list.contains("Acme"), "{list}");
    app.command_in(TA, UA, &channel_a, "ticket P2 Alpha's own problem")
        .await;
    app.command_in(TA, UA, &channel_a, "remind in 1h Alpha's reminder")
        .await;
    let tickets_a = app.command_in(TA, UA, &channel_a, "tickets").await;
    assert!(tickets_a.contains("Alpha's own problem"), "{tickets_a}");
    let tickets_b = app.command_in(TB, UB, &channel_b, "tickets").await;
    assert!(!tickets_b.contains("Alpha's own problem"), "{tickets_b}");
    let reminders_b = app.command_in(TB, UB, &channel_b, "reminders").await;
    assert!(!reminders_b.contains("Alpha's reminder"), "{reminders_b}");

    // Guessed ids of workspace A, sent from workspace B, change nothing; the same
    // payloads from A do (so they were well-formed).
    let store = store_of(&app).await;
    let acme = store.customers(TA).await.unwrap()[0].clone();
    let ticket = store.open_tickets(TA, None).await.unwrap()[0].clone();
    store.close().await;
    let reminders = custom_reminders(&app, TA).await;
    assert_eq!(reminders.len(), 1);
    for payload in [
        tick(TB, UB, acme.id, &channel_a),
        button(TB, UB, "ticket_resolve", &ticket.id.to_string(), &channel_a),
        button(
            TB,
            UB,
            "reminder_cancel",
            &reminders[0].to_string(),
            &channel_a,
        ),
    ] {
        let response = app.interact(&payload).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    post_event(
        &app,
        TB,
        "EvGuess1",
        json!({"type": "message", "channel": channel_a, "user": UB, "text": "mine now",
               "ts": "1800000000.000100", "thread_ts": ticket.ts.clone().unwrap_or_default()}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let store = store_of(&app).await;
    let states = store.item_states_committed(acme.id).await.unwrap();
    assert!(
        states.get("1.1.1").is_none_or(|s| s.done_at.is_none()),
        "B ticked A's item"
    );
    let after = store.ticket_by_id(ticket.id).await.unwrap().unwrap();
    assert!(after.resolved_at.is_none() && after.responded_at.is_none());
    store.close().await;
    assert_eq!(custom_reminders(&app, TA).await, reminders);

    app.interact(&tick(TA, UA, acme.id, &channel_a)).await;
    app.interact(&button(
        TA,
        UA,
        "reminder_cancel",
        &reminders[0].to_string(),
        &channel_a,
    ))
    .await;
    let store = store_of(&app).await;
    let states = store.item_states_committed(acme.id).await.unwrap();
    store.close().await;
    assert!(states["1.1.1"].done_at.is_some(), "A's own tick counts");
    assert!(custom_reminders(&app, TA).await.is_empty());

    // The App Home shows each viewer their own workspace's customers.
    post_event(
        &app,
        TB,
        "EvHomeB",
        json!({"type": "app_home_opened", "user": UB, "tab": "home"}),
    )
    .await;
    app.double
        .wait_for("B's Home", |d| d.home_of(UB).is_some())
        .await;
    let home = app.double.home_of(UB).unwrap().to_string();
    assert!(home.contains("Globex") && !home.contains("Acme"), "{home}");
    let publishes = app.double.calls_to("views.publish");
    assert!(publishes.iter().all(|c| c.team == TB), "{publishes:?}");

    // The tokens are sealed at rest: not in the database, nor its journal.
    let minted = app.double.minted_tokens();
    assert_eq!(minted.len(), 2);
    let store = store_of(&app).await;
    let installs = store.installations().await.unwrap();
    assert_eq!(installs.len(), 2);
    for install in &installs {
        let sealed = install.bot_token.as_deref().unwrap();
        assert!(sealed.starts_with("rd1:"), "{sealed}");
        assert!(minted.iter().all(|t| !sealed.contains(t.as_str())));
    }
    store.close().await;
    if let Some(path) = app.db_url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        for token in &minted {
            let needle = token.as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "a token is readable in the database file"
            );
        }
        // The positive control: the file does hold the workspaces' names.
        assert!(bytes.windows(9).any(|w| w == b"Alpha Inc"));
    }
    app.stop().await;
}

on_both_backends!(
    uninstall_stops_the_work_and_the_data_is_purged_later,
    uninstall_scenario
);

async fn uninstall_scenario(db: &TestDb) {
    let (_dir, config) = policy_file(
        "[sla.P0]\nfirst_response = \"4s\"\nresolution = \"1h\"\n[retention]\nuninstalled = \"8s\"\n",
    );
    let app = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("config", &config), ("many_workspaces", ENCRYPTION_KEY)],
    )
    .await;
    app.install(TA, "Alpha Inc", UA).await;
    app.install(TB, "Beta Corp", UB).await;
    let channel_a = app.new_customer_in(TA, UA, "Acme tier=enterprise").await;
    let channel_b = app.new_customer_in(TB, UB, "Globex tier=enterprise").await;
    app.command_in(TA, UA, &channel_a, "ticket P0 Alpha down")
        .await;
    app.command_in(TB, UB, &channel_b, "ticket P0 Beta down")
        .await;
    app.command_in(TA, UA, &channel_a, "remind in 3s Alpha reminder")
        .await;

    // What A queued before it uninstalls is out first (its ticket's message): a post
    // still in flight when Slack revokes the token is refused, which is not what this
    // test is about (on a loaded machine it once was).
    app.double
        .wait_for("A's ticket message", |d| {
            d.top_level(&channel_a)
                .iter()
                .any(|m| m["text"].as_str().unwrap_or("").starts_with("T-1"))
        })
        .await;
    // A uninstalls: Slack revokes its token and sends the event.
    app.double.revoke(TA);
    post_event(&app, TA, "EvUninstall", json!({"type": "app_uninstalled"})).await;
    let store = store_of(&app).await;
    let install = store.installation(TA).await.unwrap().unwrap();
    assert!(install.bot_token.is_none() && install.uninstalled_at.is_some());
    let uninstalled_at = install.uninstalled_at.unwrap();
    let since_uninstall = || chrono::Utc::now().timestamp_millis() - uninstalled_at;
    store.close().await;

    // B's escalations go on (50% of 4 s, then 80%, 100%); nothing more is sent for A.
    app.double
        .wait_up_to(Duration::from_secs(10), "B's escalations", |d| {
            d.replies_in(&channel_b) >= 3
        })
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let calls_for_a = refused_for_auth(&app.double);
    assert!(
        calls_for_a.is_empty(),
        "calls were made with A's revoked token: {calls_for_a:?}"
    );
    assert!(
        app.double.replies_in(&channel_a) == 0,
        "an escalation was posted for the uninstalled workspace"
    );
    let refused = app.command_in(TA, UA, &channel_a, "tickets").await;
    assert!(refused.contains("not installed"), "{refused}");

    // After the retention period the data goes; B's stays.
    assert!(since_uninstall() < 8_000, "too slow to see the data kept");
    let store = store_of(&app).await;
    assert_eq!(store.customers(TA).await.unwrap().len(), 1, "kept for now");
    store.close().await;
    assert!(
        purged(&app, TA, 150).await,
        "A's install was not purged after its retention"
    );
    assert!(since_uninstall() >= 8_000, "purged before its retention");
    let store = store_of(&app).await;
    assert!(store.customers(TA).await.unwrap().is_empty());
    assert!(store.open_tickets(TA, None).await.unwrap().is_empty());
    assert!(store.active_reminders(TA, None).await.unwrap().is_empty());
    assert_eq!(store.customers(TB).await.unwrap().len(), 1);
    assert_eq!(store.open_tickets(TB, None).await.unwrap().len(), 1);
    // The audit log keeps its own retention: the uninstall is on record.
    let audit = store.recent_audit(TA, None, 0, 100).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "app.uninstalled"));
    store.close().await;
    app.stop().await;
}

on_both_backends!(
    a_forged_expired_or_cancelled_install_installs_nothing,
    forged_install_scenario
);

async fn forged_install_scenario(db: &TestDb) {
    let app = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("many_workspaces", ENCRYPTION_KEY)],
    )
    .await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: String, cookie: Option<String>| {
        let mut request = browser.get(format!("{}{path}", app.base));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        async move {
            let r = request.send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    // A made-up state, and a real one from another browser (no cookie).
    let (status, page) = get("/slack/oauth/callback?code=x&state=1.2.3".into(), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    let start = browser
        .get(format!("{}/slack/install", app.base))
        .send()
        .await
        .unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_string();
    let state = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    let (status, _) = get(format!("/slack/oauth/callback?code=x&state={state}"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Cancelled on Slack's page.
    let (status, page) = app.run_install_flow().await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Nothing was installed"), "{page}");
    // A code Slack does not know (or already spent): Slack says no, nothing stored.
    let cookie = cookie_of(start.headers());
    let (status, page) = get(
        format!("/slack/oauth/callback?code=code-9999&state={state}"),
        Some(cookie),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("did not confirm"), "{page}");
    let store = store_of(&app).await;
    assert!(store.installations().await.unwrap().is_empty());
    store.close().await;
    app.stop().await;
}

/// An Enterprise Grid org-wide install acts for every workspace of the organisation:
/// one seen first in a request gets the organisation's token for its scheduled work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_install_serves_its_workspaces() {
    let db = TestDb::sqlite();
    let (_dir, app) = org_installed(&db, "[retention]\nuninstalled = \"3s\"\n", &[]).await;
    // A workspace outside the organisation is still refused.
    let refused = app.command_in(TB, UB, "C0GENERAL", "new Nope").await;
    assert!(refused.contains("not installed"), "{refused}");
    let text = post_command(&app, in_org(&app, TA, "new Acme")).await;
    assert!(text.contains("Created"), "{text}");
    app.double
        .wait_for("the channel", |d| {
            !d.calls_to("conversations.create").is_empty()
        })
        .await;
    assert_eq!(app.double.calls_to("conversations.create")[0].team, "E0ORG");

    // A second workspace of the organisation, then A installs the app itself.
    let in_org = |team: &str, text: &str| in_org(&app, team, text);
    const TC: &str = "T0CCCCCCC";
    let created = post_command(&app, in_org(TC, "new Initech")).await;
    assert!(created.contains("Created"), "{created}");
    let (status, _) = app.install(TA, "Alpha Inc", UA).await;
    assert_eq!(status, StatusCode::OK);

    // The organisation uninstalls: its own workspaces stop, A (installed itself) does not.
    post_org_event(&app, "EvOrgGone", json!({"type": "app_uninstalled"})).await;
    let store = store_of(&app).await;
    assert!(
        !store
            .installation("E0ORG")
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );
    assert!(store.installation(TA).await.unwrap().unwrap().is_active());
    store.close().await;
    let refused = post_command(&app, in_org(TC, "help")).await;
    assert!(refused.contains("not installed"), "{refused}");
    let served = post_command(&app, in_org(TA, "show acme")).await;
    assert!(served.contains("Acme"), "{served}");

    // After the retention, the organisation's workspace is purged; A keeps everything.
    assert!(
        purged(&app, "E0ORG", 80).await,
        "the organisation's install was not purged"
    );
    let store = store_of(&app).await;
    assert!(store.customers(TC).await.unwrap().is_empty());
    assert_eq!(store.customers(TA).await.unwrap().len(), 1);
    assert!(store.installation(TA).await.unwrap().unwrap().is_active());
    store.close().await;
    app.stop().await;
}

/// Without a key, many workspaces refuse to start, saying what to set.
#[tokio::test]
async fn many_workspaces_without_a_key_refuse_to_start() {
    let db = TestDb::sqlite();
    let output = readiness()
        .env("DATABASE_URL", &db.url)
        .env("SLACK_CLIENT_ID", "1.2")
        .env("SLACK_CLIENT_SECRET", "s")
        .env("READINESS_PUBLIC_URL", "https://x.example")
        .env("READINESS_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("READINESS_ENCRYPTION_KEY"), "{stderr}");
}

on_both_backends!(rotate_key_reseals_every_token, rotate_scenario);

async fn rotate_scenario(db: &TestDb) {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let old_key = dir.path().join("old.key");
    let new_key = dir.path().join("new.key");
    std::fs::write(&old_key, ENCRYPTION_KEY).unwrap();
    std::fs::write(
        &new_key,
        base64::engine::general_purpose::STANDARD.encode([42u8; 32]),
    )
    .unwrap();
    let old_path = old_key.display().to_string();
    let new_path = new_key.display().to_string();
    let app = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("encryption_key_file", &old_path), ("many_workspaces", "")],
    )
    .await;
    app.install(TA, "Alpha Inc", UA).await;
    app.install(TB, "Beta Corp", UB).await;
    let double = app.stop().await;
    let sealed_before: Vec<String> = {
        let store = readiness::store::Store::connect(&db.url).await.unwrap();
        let all = store.installations().await.unwrap();
        store.close().await;
        all.into_iter().filter_map(|i| i.bot_token).collect()
    };

    let rotate = |current: &str| {
        readiness()
            .env("DATABASE_URL", &db.url)
            .env("READINESS_ENCRYPTION_KEY_FILE", current)
            .args(["rotate-key", "--new-key-file", &new_path])
            .output()
            .unwrap()
    };
    let rotated = rotate(&old_path);
    let stderr = String::from_utf8_lossy(&rotated.stderr);
    assert!(rotated.status.success(), "{stderr}");
    assert!(stderr.contains("2 token(s) re-sealed"), "{stderr}");
    let sealed_after: Vec<String> = {
        let store = readiness::store::Store::connect(&db.url).await.unwrap();
        let all = store.installations().await.unwrap();
        let audit = store.recent_audit("*", None, 0, 10).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "key.rotated"));
        store.close().await;
        all.into_iter().filter_map(|i| i.bot_token).collect()
    };
    assert_eq!(sealed_after.len(), 2);
    assert!(sealed_after.iter().all(|s| !sealed_before.contains(s)));
    // Run again (as after a rotation cut short), it keeps what is already re-sealed.
    let again = rotate(&old_path);
    assert!(again.status.success());
    let sealed_again: Vec<String> = {
        let store = readiness::store::Store::connect(&db.url).await.unwrap();
        let all = store.installations().await.unwrap();
        store.close().await;
        all.into_iter().filter_map(|i| i.bot_token).collect()
    };
    assert_eq!(sealed_again, sealed_after);

    // The old key no longer starts the server; the new one does, and its calls work.
    let db_again = TestDb::at(&db.url);
    let refused = readiness()
        .env("DATABASE_URL", &db.url)
        .env("READINESS_ENCRYPTION_KEY_FILE", &old_path)
        .env("SLACK_CLIENT_ID", "1.2")
        .env("SLACK_CLIENT_SECRET", "s")
        .env("READINESS_PUBLIC_URL", "https://x.example")
        .env("READINESS_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("sealed with key"),
        "{stderr}"
    );
    let app = TestApp::spawn_with(
        &db_again,
        double,
        &[("encryption_key_file", &new_path), ("many_workspaces", "")],
    )
    .await;
    app.new_customer_in(TB, UB, "Globex").await;
    assert!(
        app.double
            .calls_to("conversations.create")
            .iter()
            .any(|c| c.team == TB && c.outcome == "ok")
    );
    app.stop().await;
}

/// The app with the policy `policy` and the settings `extra`, installed org-wide by
/// the organisation `E0ORG`.
async fn org_installed(
    db: &TestDb,
    policy: &str,
    extra: &[(&str, &str)],
) -> (tempfile::TempDir, TestApp) {
    let (dir, config) = policy_file(policy);
    let mut settings = vec![
        ("config", config.as_str()),
        ("many_workspaces", ENCRYPTION_KEY),
    ];
    settings.extend_from_slice(extra);
    let app = TestApp::spawn_with(db, SlackDouble::start().await, &settings).await;
    app.double.approve_org_install("E0ORG", "Org Inc", UA);
    let (status, page) = app.run_install_flow().await;
    assert_eq!(status, StatusCode::OK, "{page}");
    (dir, app)
}

/// `/readiness <text>` from workspace `team` of the organisation `E0ORG`, signed.
fn in_org(app: &TestApp, team: &str, text: &str) -> String {
    app.command_body_in(team, UA, "C0GENERAL", text).replace(
        "team_domain=example",
        "team_domain=example&enterprise_id=E0ORG",
    )
}

/// An uninstall event as an Enterprise Grid organisation's install gets it: no
/// `team_id`, only the `enterprise_id` (as in Bolt for Python's
/// `test_events_token_revocations.py`).
async fn post_org_event(app: &TestApp, id: &str, event: Value) {
    let body = json!({
        "token": "x", "enterprise_id": "E0ORG", "api_app_id": "A0001",
        "type": "event_callback", "event_id": id,
        "event_time": chrono::Utc::now().timestamp(),
        "event": event,
    })
    .to_string();
    let response = app
        .post_signed("/slack/events", "application/json", body)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// An event delivered for workspace `team`'s own install in the organisation.
async fn post_workspace_event(app: &TestApp, team: &str, id: &str, event: Value) {
    let body = json!({
        "token": "x", "team_id": team, "enterprise_id": "E0ORG", "api_app_id": "A0001",
        "type": "event_callback", "event_id": id,
        "event_time": chrono::Utc::now().timestamp(),
        "authorizations": [{"enterprise_id": "E0ORG", "team_id": team, "user_id": "U0BOT",
            "is_bot": true, "is_enterprise_install": false}],
        "event": event,
    })
    .to_string();
    let response = app
        .post_signed("/slack/events", "application/json", body)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// When one workspace of an Enterprise Grid organisation removes its own install,
/// Slack sends it both `app_uninstalled` and `tokens_revoked`: they end that
/// workspace's install, never the organisation's. Only the organisation's own events
/// (no `team_id`) end the org-wide install, and then nothing more is sent for any of
/// its workspaces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_workspace_leaving_a_grid_org_leaves_the_org_install_alone() {
    let db = TestDb::sqlite();
    let (_dir, app) = org_installed(
        &db,
        "[sla.P0]\nfirst_response = \"3s\"\nresolution = \"6s\"\n",
        &[("virtual_clock", "")],
    )
    .await;
    let (status, _) = app.install(TA, "Alpha Inc", UA).await;
    assert_eq!(status, StatusCode::OK);
    const TC: &str = "T0CCCCCCC";
    let in_org = |team: &str, text: &str| in_org(&app, team, text);
    let created = post_command(&app, in_org(TC, "new Initech")).await;
    assert!(created.contains("Created"), "{created}");

    // Workspace A removes its own install: both of Slack's events, for A's install.
    post_workspace_event(&app, TA, "EvAGone1", json!({"type": "app_uninstalled"})).await;
    post_workspace_event(
        &app,
        TA,
        "EvAGone2",
        json!({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0BOT"]}}),
    )
    .await;
    let store = store_of(&app).await;
    assert!(!store.installation(TA).await.unwrap().unwrap().is_active());
    assert!(
        store
            .installation("E0ORG")
            .await
            .unwrap()
            .unwrap()
            .is_active(),
        "one workspace's uninstall ended the organisation's install"
    );
    store.close().await;
    // Another workspace of the organisation goes on, with the organisation's token.
    let calls_before = app.double.calls().len();
    let created = post_command(&app, in_org(TC, "new Hooli")).await;
    assert!(created.contains("Created"), "{created}");
    app.double
        .wait_for("Hooli's channel", |d| {
            d.calls()[calls_before..]
                .iter()
                .any(|c| c.method == "conversations.create" && c.outcome == "ok")
        })
        .await;
    let made = app.double.calls()[calls_before..]
        .iter()
        .find(|c| c.method == "conversations.create")
        .cloned()
        .unwrap();
    assert_eq!(made.team, "E0ORG");
    // A P0 whose escalations would come after the organisation leaves.
    let mut opened = String::new();
    for _ in 0..50 {
        opened = post_command(&app, in_org(TC, "ticket hooli P0 SSO is down")).await;
        if !opened.contains("no channel yet") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(opened.contains("T-1"), "{opened}");
    app.double
        .wait_for("the ticket's post", |d| {
            d.count_ok("chat.postMessage", "SSO is down") > 0
        })
        .await;

    // The organisation uninstalls: Slack's two events carry no team.
    post_org_event(&app, "EvOrgGone1", json!({"type": "app_uninstalled"})).await;
    post_org_event(
        &app,
        "EvOrgGone2",
        json!({"type": "tokens_revoked", "tokens": {"oauth": ["W111"], "bot": ["W222"]}}),
    )
    .await;
    let store = store_of(&app).await;
    assert!(
        !store
            .installation("E0ORG")
            .await
            .unwrap()
            .unwrap()
            .is_active(),
        "the organisation's own uninstall did not end its install"
    );
    store.close().await;
    let refused = post_command(&app, in_org(TC, "tickets")).await;
    assert!(refused.contains("not installed"), "{refused}");
    // Past the P0's escalations (50%, 80%, 100% of 3 s): nothing more was sent with
    // the organisation's token.
    let calls_after = app.double.calls().len();
    app.advance(Duration::from_secs(4)).await;
    let later: Vec<_> = app.double.calls()[calls_after..]
        .iter()
        .filter(|c| c.team == "E0ORG" || c.outcome == "invalid_auth")
        .map(|c| c.method.clone())
        .collect();
    assert!(
        later.is_empty(),
        "sent after the organisation left: {later:?}"
    );
    app.stop().await;
}

/// `team_access_revoked`: the organisation takes the app away from one workspace; the
/// org-wide install stops serving it and goes on for the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_access_revoked_stops_only_that_workspace() {
    let db = TestDb::sqlite();
    let (_dir, app) = org_installed(&db, "", &[]).await;
    const TC: &str = "T0CCCCCCC";
    const TD: &str = "T0DDDDDDD";
    let in_org = |team: &str, text: &str| in_org(&app, team, text);
    for (team, name) in [(TC, "Initech"), (TD, "Hooli")] {
        let created = post_command(&app, in_org(team, &format!("new {name}"))).await;
        assert!(created.contains("Created"), "{created}");
    }
    post_org_event(
        &app,
        "EvRevoked",
        json!({"type": "team_access_revoked", "team_ids": [TD], "event_ts": "1606805732.987656"}),
    )
    .await;
    let store = store_of(&app).await;
    assert!(store.installation_for(TD).await.unwrap().is_none());
    assert!(store.installation_for(TC).await.unwrap().is_some());
    store.close().await;
    let served = post_command(&app, in_org(TC, "show initech")).await;
    assert!(served.contains("Initech"), "{served}");
    app.stop().await;
}

/// `GET /` says what the server is and where its health is, and links the install only
/// when installs are on; `/slack/install` with installs off says so, and names every
/// setting that turns them on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_page_and_the_install_page_say_what_this_server_is() {
    let db = TestDb::sqlite();
    let single = TestApp::spawn(&db).await;
    let root = single.get("/").await;
    assert_eq!(root.status(), StatusCode::OK);
    assert!(
        root.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = root.text().await.unwrap();
    assert!(
        page.contains("Readiness") && page.contains("Slack app"),
        "{page}"
    );
    assert!(page.contains("/healthz"), "{page}");
    assert!(page.contains("Installs are off"), "{page}");
    assert!(!page.contains("/slack/install"), "{page}");
    let install = single.get("/slack/install").await;
    assert_eq!(install.status(), StatusCode::NOT_FOUND);
    let page = install.text().await.unwrap();
    assert!(page.contains("Installs are off"), "{page}");
    for setting in [
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "READINESS_PUBLIC_URL",
        "READINESS_ENCRYPTION_KEY",
    ] {
        assert!(page.contains(setting), "{setting} not named: {page}");
    }
    drop(single);

    let db = TestDb::sqlite();
    let (_dir, config) = policy_file("");
    let many = TestApp::spawn_with(
        &db,
        SlackDouble::start().await,
        &[("config", &config), ("many_workspaces", ENCRYPTION_KEY)],
    )
    .await;
    let page = many.get("/").await.text().await.unwrap();
    let link = format!("href=\"{}/slack/install\"", many.base);
    assert!(page.contains(&link), "no {link} in {page}");
    assert!(!page.contains("Installs are off"), "{page}");
}
