//! The HTTP edge: signatures, body cap, handshakes, malformed input, metrics, speed.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use readiness::time_source::at_ms;

use crate::support::{SIGNING_SECRET, TestApp, TestDb, sign};

async fn customers_in(app: &TestApp) -> usize {
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let n = store.customers(crate::support::TEAM).await.unwrap().len();
    store.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_badly_signed_or_stale_requests_get_401_and_change_nothing() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let body = app.command_body("U1", "C1", "new Acme");
    let url = format!("{}/slack/commands", app.base);
    let now = chrono::Utc::now().timestamp();
    let cases = [
        ("no headers", None, None),
        (
            "wrong secret",
            Some(sign("not-the-secret", &now.to_string(), &body)),
            Some(now.to_string()),
        ),
        (
            "six minutes old",
            Some(sign(SIGNING_SECRET, &(now - 360).to_string(), &body)),
            Some((now - 360).to_string()),
        ),
        (
            "six minutes ahead",
            Some(sign(SIGNING_SECRET, &(now + 360).to_string(), &body)),
            Some((now + 360).to_string()),
        ),
        (
            "signed for another body",
            Some(sign(SIGNING_SECRET, &now.to_string(), "text=x")),
            Some(now.to_string()),
        ),
    ];
    for (case, signature, ts) in cases {
        let mut request = app.client().post(&url).body(body.clone());
        if let Some(s) = signature {
            request = request.header("x-slack-signature", s);
        }
        if let Some(t) = ts {
            request = request.header("x-slack-request-timestamp", t);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
    }
    for path in ["/slack/interactions", "/slack/events"] {
        let r = app
            .client()
            .post(format!("{}{path}", app.base))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(customers_in(&app).await, 0);
    // Only the start's `auth.test` (whose token this is) reached Slack.
    let reached: Vec<String> = app
        .double
        .calls()
        .into_iter()
        .map(|c| c.method)
        .filter(|m| m != "auth.test")
        .collect();
    assert!(reached.is_empty(), "{reached:?} reached Slack");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_one_mebibyte_get_413() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let big = format!("text={}", "a".repeat(1024 * 1024 + 1));
    let response = app
        .post_signed("/slack/commands", "application/x-www-form-urlencoded", big)
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.text().await.unwrap().contains("1 MiB"));
    // Tens of KB, like a tick on a long Japanese checklist, are fine.
    let fine = app.command_body("U1", "C1", &"セキュリティ ".repeat(3000));
    assert!(fine.len() > 50_000);
    let response = app
        .post_signed("/slack/commands", "application/x-www-form-urlencoded", fine)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_verification_and_ssl_check_are_answered() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let handshake = include_str!("../fixtures/url_verification.docs.json");
    let response = app
        .post_signed("/slack/events", "application/json", handshake.into())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );

    let ssl = include_str!("../fixtures/ssl_check.bolt_python_fixture.form.txt")
        .trim()
        .to_string();
    let response = app
        .post_signed("/slack/commands", "application/x-www-form-urlencoded", ssl)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_event_is_recorded_once() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let event = include_str!("../fixtures/event_callback.reaction_added.docs.json");
    for _ in 0..2 {
        let r = app
            .post_signed("/slack/events", "application/json", event.into())
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    assert!(
        !store
            .first_sight_of_event("Ev123ABC456", at_ms(0))
            .await
            .unwrap(),
        "already recorded"
    );
    assert!(
        store
            .first_sight_of_event("EvOTHER", at_ms(0))
            .await
            .unwrap()
    );
    store.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_payloads_get_a_short_400_and_change_nothing() {
    let db = TestDb::sqlite();
    // On the virtual clock so that `advance(ZERO)` can wait until the app is idle:
    // the count of Slack calls below is taken when creating the customer has done
    // all it does, and compared once the forged clicks could have done anything.
    let app = TestApp::spawn_with(
        &db,
        crate::support::slack_double::SlackDouble::start().await,
        &[("virtual_clock", "")],
    )
    .await;
    let cases = [
        (
            "/slack/commands",
            "application/x-www-form-urlencoded",
            "text=new%20Acme".to_string(),
        ),
        (
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            "nopayload=1".to_string(),
        ),
        (
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            "payload=%7Bnot%20json".to_string(),
        ),
        (
            "/slack/events",
            "application/json",
            "{\"type\": ".to_string(),
        ),
    ];
    for (path, content_type, body) in cases {
        let r = app.post_signed(path, content_type, body.clone()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path} {body}");
        assert!(!r.text().await.unwrap().is_empty());
    }
    // A well-formed but unexpected interaction is simply acknowledged.
    let r = app
        .interact(&json!({"type": "view_closed", "team": {"id": "T0001"}, "user": {"id": "U1"}}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(customers_in(&app).await, 0);
    // A tick naming a customer that does not exist, or another workspace's, or a
    // forged group, changes nothing.
    let channel = app.new_customer("U1", "Acme").await;
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let acme = store
        .customer_by_slug(crate::support::TEAM, "acme")
        .await
        .unwrap()
        .unwrap();
    app.advance(Duration::ZERO).await;
    // The plan dated its items when it was created; nothing below may change them.
    let planned = store.item_states(acme.id).await.unwrap();
    let calls_before = app.double.calls().len();
    for (team, block_id) in [
        ("T0001", "tick:999:0:1.1.1".to_string()),
        ("T0OTHER", format!("tick:{}:0:1.1.1", acme.id)),
        ("T0001", format!("tick:{}:ff:1.1.1", acme.id)),
        ("T0001", format!("tick:{}:0:9.9.9", acme.id)),
    ] {
        let r = app
            .interact(
                &json!({"type": "block_actions", "team": {"id": team}, "user": {"id": "U1"},
                "channel": {"id": channel},
                "actions": [{"type": "checkboxes", "action_id": "tick", "block_id": block_id,
                    "selected_options": [{"value": "1.1.1"}, {"value": "9.9.9"}]}]}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    app.advance(Duration::ZERO).await;
    store.close().await;
    // A new connection each time: a SQLite store keeps its own copy of what it read,
    // so the first one would not see the app's writes.
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    assert_eq!(store.item_states(acme.id).await.unwrap(), planned);
    assert_eq!(
        app.double.calls().len(),
        calls_before,
        "nothing sent to Slack"
    );
    // The positive control: the same tick, well formed, changes the item and updates
    // the checklist in Slack, so the checks above would have seen a change.
    let tick = crate::support::block_actions(
        "T0001",
        "U1",
        &channel,
        "1.1",
        crate::support::tick_1_1_1(acme.id),
    );
    assert_eq!(app.interact(&tick).await.status(), StatusCode::OK);
    app.advance(Duration::ZERO).await;
    store.close().await;
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    assert!(store.item_states(acme.id).await.unwrap()["1.1.1"].is_done());
    assert!(
        app.double.calls().len() > calls_before,
        "the tick reached Slack"
    );
    store.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_and_outcome() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    app.command_text("U1", "C1", "help").await;
    app.client()
        .post(format!("{}/slack/commands", app.base))
        .body("x")
        .send()
        .await
        .unwrap();
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"readiness_http_requests_total{outcome="ok",route="/slack/commands"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"readiness_http_requests_total{outcome="unauthorized",route="/slack/commands"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains("readiness_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_acknowledged_in_time_even_when_slack_is_slow() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    app.double.set_delay(Duration::from_secs(4));
    // A person Slack has not yet said is staff (not a guest) is answered in time, and
    // asked to try again: a slow Slack never lets a guest act as staff.
    let started = Instant::now();
    let text = app
        .command_text("USLOW", "C0GENERAL", "new Slowpoke tier=standard")
        .await;
    let took = started.elapsed();
    assert!(text.contains("try again"), "{text}");
    assert!(
        took < Duration::from_millis(2500),
        "acknowledged after {took:?}"
    );
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    assert!(store.all_customers().await.unwrap().is_empty());
    store.close().await;
    // The lookup went on; once Slack has answered, the person is known.
    app.double
        .wait_for("users.info to be answered", |d| {
            d.calls_to("users.info").iter().any(|c| c.outcome == "ok")
        })
        .await;
    // The answer is recorded by the double a moment before the app has read it: a
    // refusal in between changes nothing, so the command is simply sent again.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (text, took) = loop {
        assert!(Instant::now() < deadline, "still not known after 10 s");
        let started = Instant::now();
        let text = app
            .command_text("USLOW", "C0GENERAL", "new Slowpoke tier=standard")
            .await;
        if !text.contains("try again") {
            break (text, started.elapsed());
        }
    };
    assert!(text.contains("Created"), "{text}");
    // Slack's deadline is 3 s; the slow channel creation is not waited for.
    assert!(
        took < Duration::from_millis(2500),
        "acknowledged after {took:?}"
    );
    // The channel still gets created, late, in the background.
    app.double
        .wait_for("the slow channel", |d| {
            d.channel_id_by_name("cust-slowpoke").is_some()
        })
        .await;
    app.double.set_delay(Duration::ZERO);
    app.stop().await;
}

/// Past the per-person limit a command gets a short answer with when to come back, and
/// does nothing; someone else in the workspace goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_past_a_persons_limit_get_a_short_answer_and_change_nothing() {
    let (_dir, config) = crate::sla::policy_file("commands_per_user_per_minute = 3\n");
    let db = TestDb::sqlite();
    let double = crate::support::slack_double::SlackDouble::start().await;
    let app = TestApp::spawn_with(&db, double, &[("config", &config)]).await;
    for _ in 0..3 {
        let text = app.command_text("U0BUSY", "C0GENERAL", "help").await;
        assert!(!text.contains("a minute"), "{text}");
    }
    let refused = app.command_text("U0BUSY", "C0GENERAL", "new Beta").await;
    assert!(
        refused.contains("3 commands a minute") && refused.contains("Try again in"),
        "{refused}"
    );
    let shown = app.command_text("U0CALM", "C0GENERAL", "show beta").await;
    assert!(
        shown.contains("beta"),
        "another person is answered: {shown}"
    );
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    assert!(
        store.all_customers().await.unwrap().is_empty(),
        "the refused command created nothing"
    );
    store.close().await;
    app.stop().await;
}

/// With one workspace's `SLACK_BOT_TOKEN`, the app asks Slack at start whose it is
/// (`auth.test`); requests from any other workspace are then told it is not
/// installed there, and change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_workspaces_token_serves_only_that_workspace() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    app.double
        .wait_for("auth.test", |d| {
            d.calls_to("auth.test").iter().any(|c| c.outcome == "ok")
        })
        .await;
    // Give the answer a moment to be read.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refused = app
        .command_in("T0STRANGER", "U0STRANGER", "C0GENERAL", "new Intruder")
        .await;
    assert!(refused.contains("not installed"), "{refused}");
    let served = app
        .command_in(crate::support::TEAM, "U0CSM", "C0GENERAL", "new Acme")
        .await;
    assert!(served.contains("Created"), "{served}");
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let names: Vec<String> = store
        .all_customers()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    store.close().await;
    assert_eq!(names, ["Acme"]);
    app.stop().await;
}
