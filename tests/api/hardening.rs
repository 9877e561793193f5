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

on_both_backends!(
    an_install_state_is_spent_once_and_only_by_its_browser,
    single_use_state_scenario
);

async fn single_use_state_scenario(db: &TestDb) {
    use crate::support::{ENCRYPTION_KEY, cookie_of, slack_double::SlackDouble};
    let app = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("many_workspaces", ENCRYPTION_KEY)],
    )
    .await;
    app.double.approve_install("T0NEW", "New Co", "U0ADMIN");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = browser
        .get(format!("{}/slack/install", app.base))
        .send()
        .await
        .unwrap();
    let cookie = cookie_of(start.headers());
    let authorize = start.headers()["location"].to_str().unwrap().to_string();
    let back = browser.get(&authorize).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::FOUND);
    let callback = back.headers()["location"].to_str().unwrap().to_string();
    let visit = |cookie: Option<String>| {
        let mut request = browser.get(&callback);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        async move {
            let r = request.send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    // A stranger replays the link: without the cookie, or with another browser's.
    let (status, page) = visit(None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    let (status, page) = visit(Some("readiness_oauth=0123456789abcdef".into())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    assert!(store.installations().await.unwrap().is_empty());
    // The installer's own browser still installs: the replays burnt nothing.
    let (status, page) = visit(Some(cookie.clone())).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("installed"), "{page}");
    assert_eq!(store.installations().await.unwrap().len(), 1);
    // And the state is spent: the same browser cannot use it again, even with a code
    // Slack would take.
    app.double.approve_install("T0NEW", "New Co", "U0ADMIN");
    let again = browser.get(&authorize).send().await.unwrap();
    let fresh_code = again.headers()["location"].to_str().unwrap().to_string();
    let code = url::Url::parse(&fresh_code)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .to_string();
    let mut reused = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = reused
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "code" {
                code.clone()
            } else {
                v.to_string()
            };
            (k.to_string(), v)
        })
        .collect();
    reused.query_pairs_mut().clear().extend_pairs(pairs);
    let r = browser
        .get(reused.as_str())
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let page = r.text().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("used already"), "{page}");
    let oauth_calls = app.double.calls_to("oauth.v2.access").len();
    assert_eq!(oauth_calls, 1, "the spent state reached Slack no more");
    store.close().await;
    app.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_its_wal_and_backups_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("readiness.db");
    let db = TestDb::at(&format!("sqlite://{}", file.display()));
    let backups = dir.path().join("backups");
    let app = TestApp::spawn_with(
        &db,
        crate::support::slack_double::SlackDouble::start().await,
        &[("backup_dir", backups.to_str().unwrap())],
    )
    .await;
    app.new_customer("U1", "Acme").await;
    let wal = dir.path().join("readiness.db-wal");
    let shm = dir.path().join("readiness.db-shm");
    let lock = dir.path().join("readiness.db.lock");
    for path in [&file, &wal, &shm, &lock] {
        assert_eq!(mode(path), 0o600, "{}", path.display());
    }
    // The scheduled backup taken at start, and one taken by `readiness backup`.
    let mut scheduled = Vec::new();
    for _ in 0..100 {
        scheduled = std::fs::read_dir(&backups)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        if scheduled
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "db"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!scheduled.is_empty(), "no scheduled backup");
    for path in &scheduled {
        assert_eq!(mode(path), 0o600, "{}", path.display());
    }
    let copy = dir.path().join("copy.db");
    readiness::store::backup::backup(&db.url, &copy)
        .await
        .unwrap();
    assert_eq!(mode(&copy), 0o600);
    app.stop().await;
}

on_both_backends!(
    a_replica_with_new_and_old_keys_opens_old_tokens_and_seals_with_the_new,
    key_rollout_scenario
);

/// The rollout of a new key: a replica given `[new, old]` opens the tokens the old
/// key sealed (on PostgreSQL while a replica with only the old key still runs) and
/// seals new installs with the new key.
async fn key_rollout_scenario(db: &TestDb) {
    use crate::support::{ENCRYPTION_KEY, slack_double::SlackDouble};
    use base64::Engine;
    let new_key = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
    let old = readiness::crypto::EncryptionKey::from_base64(ENCRYPTION_KEY).unwrap();
    let new = readiness::crypto::EncryptionKey::from_base64(&new_key).unwrap();
    let sealed_by = |url: String, workspace: &'static str| async move {
        let store = readiness::store::Store::connect(&url).await.unwrap();
        let install = store.installation_for(workspace).await.unwrap().unwrap();
        store.close().await;
        readiness::crypto::sealed_key_id(install.bot_token.as_deref().unwrap())
            .unwrap()
            .to_string()
    };
    let first = TestApp::spawn_with(
        db,
        SlackDouble::start().await,
        &[("many_workspaces", ENCRYPTION_KEY)],
    )
    .await;
    let (status, page) = first.install("T0OLD", "Old Co", "U0OLD").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(sealed_by(db.url.clone(), "T0OLD").await, old.id());
    let postgres = db.url.starts_with("postgres");
    // SQLite is one process: the replica follows it. PostgreSQL: both run at once.
    let (still_running, double) = if postgres {
        let double = first.double.clone();
        (Some(first), double)
    } else {
        (None, first.stop().await)
    };
    let both = format!("{new_key},{ENCRYPTION_KEY}");
    let replica =
        TestApp::spawn_with(&TestDb::at(&db.url), double, &[("many_workspaces", &both)]).await;
    // The old token opens: its workspace's command reaches Slack with it.
    replica.new_customer_in("T0OLD", "U0OLD", "Acme").await;
    assert!(
        replica
            .double
            .calls_to("conversations.create")
            .iter()
            .any(|c| c.team == "T0OLD" && c.outcome == "ok"),
        "{:?}",
        replica.double.calls_to("conversations.create")
    );
    // A new install through the replica is sealed with the newest key.
    let (status, page) = replica.install("T0NEW", "New Co", "U0NEW").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(sealed_by(db.url.clone(), "T0NEW").await, new.id());
    assert_eq!(sealed_by(db.url.clone(), "T0OLD").await, old.id());
    if let Some(first) = still_running {
        // The replica still on the old key alone keeps serving the old workspace.
        first.new_customer_in("T0OLD", "U0OLD", "Globex").await;
        first.stop().await;
    }
    // Given only the old key, a server now refuses to start, naming the new key.
    replica.stop().await;
    let refused = crate::support::readiness()
        .env("DATABASE_URL", &db.url)
        .env("READINESS_ENCRYPTION_KEY", ENCRYPTION_KEY)
        .env("SLACK_CLIENT_ID", "1.2")
        .env("SLACK_CLIENT_SECRET", "s")
        .env("READINESS_PUBLIC_URL", "https://x.example")
        .env("READINESS_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains(new.id()),
        "{stderr}"
    );
    // `rotate-key` with both keys configured re-seals what the old one still holds.
    let dir = tempfile::tempdir().unwrap();
    let new_file = dir.path().join("new.key");
    std::fs::write(&new_file, &new_key).unwrap();
    let rotated = crate::support::readiness()
        .env("DATABASE_URL", &db.url)
        .env("READINESS_ENCRYPTION_KEY", &both)
        .args(["rotate-key", "--new-key-file", new_file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&rotated.stderr);
    assert!(rotated.status.success(), "{stderr}");
    assert!(stderr.contains("1 token(s) re-sealed"), "{stderr}");
    assert_eq!(sealed_by(db.url.clone(), "T0OLD").await, new.id());
}

/// A raw connection that sent `bytes` and then stalls.
async fn stalled(base: &str, bytes: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(bytes.as_bytes()).await.unwrap();
    stream
}

/// What the server sends on `stream` until it closes it, or `None` if it is still
/// open after `within`.
async fn until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_clients_are_closed_and_starve_neither_healthz_nor_commands() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn_with(
        &db,
        crate::support::slack_double::SlackDouble::start().await,
        &[("http_header_timeout", "2s"), ("http_body_timeout", "2s")],
    )
    .await;
    // 300 clients that sent half a request head, and one that sent its head and a
    // tenth of its body.
    let mut heads = Vec::new();
    for _ in 0..300 {
        heads.push(
            stalled(
                &app.base,
                "POST /slack/commands HTTP/1.1\r\nHost: readiness\r\nContent-Type: applic",
            )
            .await,
        );
    }
    let mut body = stalled(
        &app.base,
        "POST /slack/commands HTTP/1.1\r\nHost: readiness\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ntext=hello",
    )
    .await;
    let opened = Instant::now();
    // Meanwhile /healthz and a signed command answer at once.
    let started = Instant::now();
    let health = app.get("/healthz").await;
    let health_took = started.elapsed();
    assert_eq!(health.status(), StatusCode::OK);
    // One request a connection: an idle connection is never closed under a client
    // about to reuse it.
    assert_eq!(health.headers()["connection"], "close");
    let started = Instant::now();
    let text = app.command_text("U1", "C1", "help").await;
    let command_took = started.elapsed();
    assert!(!text.is_empty());
    eprintln!("with 301 stalled clients: /healthz {health_took:?}, a command {command_took:?}");
    assert!(health_took < Duration::from_secs(1), "{health_took:?}");
    assert!(command_took < Duration::from_secs(1), "{command_took:?}");
    // The stalled heads are closed after the header timeout (2 s), without an answer;
    // the stalled body gets 408.
    let answer = until_closed(&mut body, Duration::from_secs(4))
        .await
        .expect("the stalled body's connection is still open");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let mut still_open = 0;
    for stream in &mut heads {
        let left = Duration::from_secs(4).saturating_sub(opened.elapsed());
        if until_closed(stream, left.max(Duration::from_millis(10)))
            .await
            .is_none()
        {
            still_open += 1;
        }
    }
    eprintln!(
        "all stalled connections closed {:?} after they opened",
        opened.elapsed()
    );
    assert_eq!(still_open, 0, "stalled connections left open");
    assert!(
        opened.elapsed() >= Duration::from_millis(1500),
        "closed early"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_cap_are_shed_while_healthz_answers() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn_with(
        &db,
        crate::support::slack_double::SlackDouble::start().await,
        // Long enough for all 512 to be in at once on a busy machine.
        &[("http_body_timeout", "10s"), ("http_max_requests", "512")],
    )
    .await;
    // 512 requests in progress: their heads are in, their bodies never come.
    let mut held = Vec::new();
    for _ in 0..512 {
        held.push(
            stalled(
                &app.base,
                "POST /slack/events HTTP/1.1\r\nHost: readiness\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
            )
            .await,
        );
    }
    // Once all of them hold their place, one more is refused at once.
    let mut shed = None;
    for _ in 0..160 {
        let started = Instant::now();
        let (status, _) = app.command("U1", "C1", "help").await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            shed = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let shed = shed.expect("a request past the cap of 512 was not refused");
    assert!(shed < Duration::from_secs(1), "{shed:?}");
    let started = Instant::now();
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let health_took = started.elapsed();
    eprintln!("at the cap: a command shed in {shed:?}, /healthz in {health_took:?}");
    assert!(health_took < Duration::from_secs(1), "{health_took:?}");
    // The body timeout frees them (408), and commands are taken again.
    for stream in &mut held {
        let answer = until_closed(stream, Duration::from_secs(15))
            .await
            .expect("a stalled body's connection is still open");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    let text = app.command_text("U1", "C1", "help").await;
    assert!(!text.is_empty());
    app.stop().await;
}

on_both_backends!(
    sent_outbox_rows_are_pruned_after_a_week_by_the_scheduler,
    outbox_prune_scenario
);

async fn outbox_prune_scenario(db: &TestDb) {
    let day = 24 * 3600 * 1000_i64;
    let now = chrono::Utc::now().timestamp_millis();
    let store = readiness::store::Store::connect(&db.url).await.unwrap();
    let rows = [
        ("old-sent", "reminder", "sent", Some(now - 8 * day)),
        ("recent-sent", "reminder", "sent", Some(now - day)),
        (
            "old-ticket-message",
            "ticket_message",
            "sent",
            Some(now - 30 * day),
        ),
        ("old-cancelled", "escalation", "cancelled", None),
        ("old-pending", "reminder", "pending", None),
        ("old-failed", "direct", "failed", None),
    ];
    for (key, kind, status, sent_at) in rows {
        let sql = "INSERT INTO outbox (idem_key, team_id, channel_id, kind, body, status, next_attempt_at, created_at, sent_at)
                   VALUES ($1, 'T0001', 'C1', $2, '{}', $3, $4, $4, $5)";
        match store.postgres_pool() {
            Some(pool) => {
                sqlx::query(sql)
                    .bind(key)
                    .bind(kind)
                    .bind(status)
                    .bind(now - 10 * day)
                    .bind(sent_at)
                    .execute(pool)
                    .await
                    .unwrap();
            }
            None => {
                let file = db.url.trim_start_matches("sqlite://");
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{file}"))
                    .await
                    .unwrap();
                sqlx::query(sql)
                    .bind(key)
                    .bind(kind)
                    .bind(status)
                    .bind(now - 10 * day)
                    .bind(sent_at)
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
        }
    }
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.failed), (1, 1));
    store.close().await;
    // The scheduler's housekeeping runs at start, then daily.
    let app = TestApp::spawn(db).await;
    let store = readiness::store::Store::connect(&db.url).await.unwrap();
    let mut left = Vec::new();
    for _ in 0..100 {
        left.clear();
        for (key, ..) in rows {
            if store.outbox_status(key).await.unwrap().is_some() {
                left.push(key);
            }
        }
        if !left.contains(&"old-sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        left,
        [
            "recent-sent",
            "old-ticket-message",
            "old-pending",
            "old-failed"
        ],
        "sent and cancelled rows over a week old go; ticket messages and unsent rows stay"
    );
    store.close().await;
    app.stop().await;
}

/// `/metrics` counts the outbox on every scrape: from the status index, over the rows
/// still to send or parked, never a scan of the sent ones.
#[tokio::test]
async fn the_metrics_count_of_the_outbox_reads_the_index_only() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    readiness::store::Store::connect(&url)
        .await
        .unwrap()
        .close()
        .await;
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "EXPLAIN QUERY PLAN {}",
        readiness::store::outbox::OUTBOX_COUNTS_SQL
    )))
    .fetch_all(&pool)
    .await
    .unwrap();
    let steps: Vec<&str> = plan.iter().map(|(.., d)| d.as_str()).collect();
    assert!(
        steps
            .iter()
            .any(|s| s.contains("USING COVERING INDEX outbox_heads")),
        "{steps:?}"
    );
    assert!(
        !steps.iter().any(|s| s.starts_with("SCAN outbox")),
        "{steps:?}"
    );
    pool.close().await;
}

/// `readiness verify-audit` on `url`: (succeeded, its output).
fn verify_audit(url: &str) -> (bool, String) {
    let output = crate::support::readiness()
        .env("DATABASE_URL", url)
        .arg("verify-audit")
        .output()
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// Runs `sql` on the database at `url` as someone with direct access would, the audit
/// log's guard triggers dropped first.
async fn tamper(url: &str, sql: &str) {
    if url.starts_with("postgres") {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        for statement in ["DROP TRIGGER IF EXISTS audit_log_guard ON audit_log", sql] {
            sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        conn.close().await.unwrap();
    } else {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        for statement in [
            "DROP TRIGGER IF EXISTS audit_log_no_update",
            "DROP TRIGGER IF EXISTS audit_log_keep_90_days",
            sql,
        ] {
            sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        conn.close().await.unwrap();
    }
}

on_both_backends!(
    verify_audit_names_the_first_entry_that_does_not_match,
    audit_chain_scenario
);

async fn audit_chain_scenario(db: &TestDb) {
    use crate::support::slack_double::SlackDouble;
    let double = SlackDouble::start().await;
    let app = TestApp::spawn_with(db, double.clone(), &[]).await;
    // On PostgreSQL a second replica appends at the same time: the chain must not fork.
    let other = if db.url.starts_with("postgres") {
        Some(TestApp::spawn_with(&TestDb::at(&db.url), double.clone(), &[]).await)
    } else {
        None
    };
    let replicas: Vec<&TestApp> = std::iter::once(&app).chain(other.as_ref()).collect();
    let mut requests = Vec::new();
    for i in 0..16 {
        let replica = replicas[i % replicas.len()];
        requests.push(async move {
            replica
                .command_text("U1", "C0GENERAL", &format!("new Customer{i}"))
                .await
        });
    }
    for answer in futures_util::future::join_all(requests).await {
        assert!(answer.contains("Created"), "{answer}");
    }
    app.command_text("U1", "C0GENERAL", "golive customer3 2027-01-15")
        .await;
    // Ticks at once: on SQLite one writer commits them together, their entries in
    // multi-row inserts, and the chain still runs through each in order.
    let ticks = ["1.1.1", "1.1.2", "1.1.3", "1.2.1", "2.1.1", "2.1.2"].map(|key| {
        let replica = replicas[key.len() % replicas.len()];
        async move {
            replica
                .command_text("U1", "C0GENERAL", &format!("done customer3 {key}"))
                .await
        }
    });
    for answer in futures_util::future::join_all(ticks).await {
        assert!(answer.contains("is done"), "{answer}");
    }
    if let Some(other) = other {
        other.stop().await;
    }
    app.stop().await;
    let store = readiness::store::Store::connect(&db.url).await.unwrap();
    let mut entries = store.audit_page(0, 0, 1000).await.unwrap();
    store.close().await;
    assert!(entries.len() >= 23, "{}", entries.len());
    let ticked = entries.iter().filter(|e| e.action == "item.ticked").count();
    assert_eq!(ticked, 6, "one entry a tick");
    let (ok, out) = verify_audit(&db.url);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("verified: {} entries", entries.len())),
        "{out}"
    );

    // One entry's contents changed in the database: named.
    let target = entries.remove(7);
    tamper(
        &db.url,
        &format!(
            "UPDATE audit_log SET subject = 'someone-else' WHERE id = {}",
            target.id
        ),
    )
    .await;
    let (ok, out) = verify_audit(&db.url);
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("entry {}:", target.id)), "{out}");
    assert!(out.contains("changed"), "{out}");
    // Put back, it verifies again.
    tamper(
        &db.url,
        &format!(
            "UPDATE audit_log SET subject = '{}' WHERE id = {}",
            target.subject, target.id
        ),
    )
    .await;
    let (ok, out) = verify_audit(&db.url);
    assert!(ok, "{out}");
    // An entry removed: the one after it is named.
    tamper(
        &db.url,
        &format!("DELETE FROM audit_log WHERE id = {}", target.id),
    )
    .await;
    let (ok, out) = verify_audit(&db.url);
    assert!(!ok, "{out}");
    let next = entries[7].id;
    assert!(out.contains(&format!("entry {next}:")), "{out}");
    assert!(out.contains("removed"), "{out}");
    // The newest entry removed: the head no longer matches.
    tamper(
        &db.url,
        "DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)",
    )
    .await;
    let (ok, out) = verify_audit(&db.url);
    assert!(!ok && out.contains("BROKEN"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_purge_cuts_only_the_chains_start() {
    let db = TestDb::sqlite();
    let store = readiness::store::Store::connect(&db.url).await.unwrap();
    let actor = readiness::store::audit::Actor::new("U1", readiness::store::audit::Source::Command);
    let day = 24 * 3600 * 1000_i64;
    let now = chrono::Utc::now().timestamp_millis();
    // Entries 200 days old, then recent ones (an old `at` after a recent one stays).
    for (i, at) in [
        now - 200 * day,
        now - 199 * day,
        now - 150 * day,
        now - day,
        now - 300 * day,
        now,
    ]
    .into_iter()
    .enumerate()
    {
        store
            .audit(&actor.entry(TEAM, None, "test.entry", &format!("e{i}"), at))
            .await
            .unwrap();
    }
    let purged = store.purge_audit(now - 100 * day).await.unwrap();
    assert_eq!(purged, 3, "the three oldest, a prefix of the chain");
    let left: Vec<String> = store
        .audit_page(0, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.subject)
        .collect();
    assert_eq!(left, ["e3", "e4", "e5"]);
    store.close().await;
    let (ok, out) = verify_audit(&db.url);
    assert!(ok, "{out}");
    assert!(out.contains("verified: 3 entries"), "{out}");
    // Cutting further by hand shows.
    tamper(&db.url, "DELETE FROM audit_log WHERE subject = 'e3'").await;
    let (ok, out) = verify_audit(&db.url);
    assert!(!ok && out.contains("removed"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_answered_every_time_but_audited_at_a_bounded_rate() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db).await;
    let channel = app.new_customer("U0CSM", "Acme").await;
    let denied = |app: &TestApp, user: &'static str| {
        let db_url = app.db_url.clone();
        async move {
            let store = readiness::store::Store::connect(&db_url).await.unwrap();
            let n = store
                .recent_audit(TEAM, None, 0, 10_000)
                .await
                .unwrap()
                .iter()
                .filter(|e| e.action == "access.denied" && e.actor == user)
                .count();
            store.close().await;
            n
        }
    };
    // A CSM may not give roles: 30 tries, 30 refusals.
    for _ in 0..30 {
        let answer = app
            .command_text("U0CSM", &channel, "roles <@U0OTHER|o> viewer")
            .await;
        assert!(answer.contains("You are a CSM"), "{answer}");
    }
    let audited = denied(&app, "U0CSM").await;
    assert!(
        (1..=readiness::slack::limits::DENIALS_AT_ONCE as usize + 1).contains(&audited),
        "{audited} access.denied entries for 30 refusals"
    );
    // Another person's refusal is still audited.
    app.command_text("U0CSM2", &channel, "roles <@U0OTHER|o> viewer")
        .await;
    assert_eq!(denied(&app, "U0CSM2").await, 1);
    app.stop().await;
}

/// An event's own `event_time` at the ends of i64 is read without overflow: the
/// uninstall it carries is judged and answered like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_times_at_the_edges_are_read_without_overflow() {
    use crate::support::{ENCRYPTION_KEY, slack_double::SlackDouble};
    let db = TestDb::sqlite();
    let app = TestApp::spawn_with(
        &db,
        SlackDouble::start().await,
        &[("many_workspaces", ENCRYPTION_KEY)],
    )
    .await;
    let (status, page) = app.install("T0EDGE", "Edge Co", "U0EDGE").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for (id, time) in [("Ev0MIN", i64::MIN), ("Ev0MAX", i64::MAX)] {
        let body = serde_json::json!({
            "token": "x",
            "team_id": "T0EDGE",
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": id,
            "event_time": time,
            "event": {"type": "app_uninstalled"},
        })
        .to_string();
        let response = app
            .post_signed("/slack/events", "application/json", body)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "event_time {time}");
    }
    // i64::MIN is older than the install (ends nothing); i64::MAX is not (ends it).
    let store = readiness::store::Store::connect(&app.db_url).await.unwrap();
    let install = store.installation_for("T0EDGE").await.unwrap();
    assert!(
        install.as_ref().is_none_or(|i| !i.is_active()),
        "{install:?}"
    );
    store.close().await;
    app.stop().await;
}
