//! Issue 13's edges: numbers from outside, stalled clients, key rotation, file modes,
//! the single-use install state and the audit chain.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::{SIGNING_SECRET, TEAM, TestApp, TestDb, sign};

/// Every audit entry of the test workspace (each change writes one).
async fn audit_count(app: &TestApp) -> usize {
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let n = store
        .recent_audit(TEAM, None, 0, 100_000)
        .await
        .unwrap()
        .len();
    store.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_at_the_edges_and_doubled_headers_get_401() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let body = app.command_body("U1", "C1", "new Acme");
    let url = format!("{}/slack/commands", app.base);
    let now = chrono::Utc::now().timestamp().to_string();
    let good = sign(SIGNING_SECRET, &now, &body);
    let signed = |ts: &str| sign(SIGNING_SECRET, ts, &body);
    let plus = format!("+{now}");
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "i64::MIN",
            vec![
                ("x-slack-signature", signed(&i64::MIN.to_string())),
                ("x-slack-request-timestamp", i64::MIN.to_string()),
            ],
        ),
        (
            "i64::MAX",
            vec![
                ("x-slack-signature", signed(&i64::MAX.to_string())),
                ("x-slack-request-timestamp", i64::MAX.to_string()),
            ],
        ),
        (
            "a plus sign",
            vec![
                ("x-slack-signature", signed(&plus)),
                ("x-slack-request-timestamp", plus.clone()),
            ],
        ),
        (
            "empty timestamp",
            vec![
                ("x-slack-signature", signed("")),
                ("x-slack-request-timestamp", String::new()),
            ],
        ),
        (
            "empty signature",
            vec![
                ("x-slack-signature", String::new()),
                ("x-slack-request-timestamp", now.clone()),
            ],
        ),
        (
            "doubled signature",
            vec![
                ("x-slack-signature", good.clone()),
                ("x-slack-signature", good.clone()),
                ("x-slack-request-timestamp", now.clone()),
            ],
        ),
        (
            "doubled timestamp",
            vec![
                ("x-slack-signature", good.clone()),
                ("x-slack-request-timestamp", now.clone()),
                ("x-slack-request-timestamp", now.clone()),
            ],
        ),
    ];
    for (case, headers) in cases {
        let mut request = app
            .client()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
    }
    assert_eq!(audit_count(&app).await, 0, "nothing was created");
    // The same request, signed once, is taken: the cases above failed for their edge.
    let text = app.command_text("U1", "C1", "new Acme").await;
    assert!(text.contains("Created"), "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_at_the_edges_get_a_short_refusal_and_change_nothing() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let channel = app.new_customer("U1", "Acme").await;
    let before = audit_count(&app).await;
    let calls_before = app.double.calls().len();
    for text in [
        "assign acme 1.1.1 <@U2> due=+99999-01-01",
        "assign acme 1.1.1 <@U2> due=9999-12-31",
        "golive acme 9999-12-31",
        "golive acme +99999-01-01",
        "remind acme every 0 months from 2026-12-01 hello",
        "remind acme every 121 months from 2026-12-01 hello",
        "remind acme every month from 9999-12-31 hello",
        "remind acme 9999-12-31 hello",
        "ticket acme P1 opened=0000-01-01T00:00:00Z Export is down",
        "ticket acme P1 opened=+99999-01-01T00:00:00Z Export is down",
    ] {
        for place in ["C0GENERAL", channel.as_str()] {
            let started = Instant::now();
            let answer = app.command_shown("U1", place, text).await;
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{text}: answered in {:?}",
                started.elapsed()
            );
            assert!(answer.len() < 2_000, "{text}: a short answer, got {answer}");
            assert!(
                !answer.contains("Created") && !answer.contains("作成"),
                "{text}: {answer}"
            );
        }
    }
    assert_eq!(audit_count(&app).await, before, "nothing changed");
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let acme = &store.customers(TEAM).await.unwrap()[0];
    assert_eq!(acme.golive_on, None);
    store.close().await;
    // Nothing went to Slack either (no post, no DM, no ticket message).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let posted: Vec<String> = app.double.calls()[calls_before..]
        .iter()
        .map(|c| c.method.clone())
        .filter(|m| m.starts_with("chat."))
        .collect();
    assert!(posted.is_empty(), "{posted:?}");
    app.stop().await;
}
