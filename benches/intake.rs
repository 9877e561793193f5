//! Intake benchmark (benches/README.md): a burst of customer messages becoming tickets.
//!
//! The release `readiness` binary, pointed at the Slack test double, with 50 customer
//! channels in intake mode `all` and a person of the customer's organisation (Slack
//! Connect) in each. Over one minute, 500 signed `message` events arrive (one every
//! 120 ms, round the 50 channels, from 4 senders at once); every tenth is delivered
//! again as Slack's retry (same event id, `X-Slack-Retry-Num: 1`) and once more under
//! a new event id (as a second delivery of the same message would be). Measured:
//! - the ack: each request's time to its HTTP answer, p50 / p99 / max;
//! - tickets: how many were opened, and that no message has two;
//! - first-response escalations (P2's target is 20 s here, every tier 24/7, shares at
//!   50/80/100 %): each one's lateness against its due time counted from the
//!   message's `ts`, when the firing decided it (the outbox row's `created_at`) and
//!   when it was posted (`sent_at`, after Slack's pace of about one message a second
//!   per channel, which the double enforces);
//! - the process's peak RSS.
//!
//! For each backend: SQLite, and PostgreSQL when TEST_POSTGRES_URL is set.

mod common;
#[path = "../tests/api/support/slack_double.rs"]
mod slack_double;

use std::{
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{peak_rss_mb, postgres_database, start};
use readiness::slack_fake::payloads::{Origin, signature_headers};
use serde_json::json;
use slack_double::{BOT_TOKEN, SlackDouble};
use sqlx::Row;

const CHANNELS: usize = 50;
const MESSAGES: usize = 500;
const SENDERS: usize = 4;
const BURST: Duration = Duration::from_secs(60);
const SECRET: &str = "bench-signing-secret";
const CUSTOMER_ORG: &str = "T0CUSTORG";
/// P2's first response in the bench policy, and its shares.
const FIRST_RESPONSE_MS: i64 = 20_000;
const SHARES_PERMILLE: [i64; 3] = [500, 800, 1000];
const POLICY: &str = r#"
[tiers.standard]
hours = "24/7"
[tiers.professional]
hours = "24/7"
[tiers.enterprise]
hours = "24/7"
[sla.P2]
first_response = "20s"
resolution = "8h"
[escalation]
repeat_after_breach = "0s"
[intake]
mode = "all"
csat = false
"#;

struct Outcome {
    backend: &'static str,
    acks: Vec<f64>,
    tickets: i64,
    distinct_messages: i64,
    reactions: usize,
    escalations: usize,
    decided: Vec<i64>,
    sent: Vec<i64>,
    peak_rss_mb: f64,
}

fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn channel(n: usize) -> String {
    format!("C0I{n:03}")
}

fn person(n: usize) -> String {
    format!("U0CUST{n:03}")
}

/// Each escalation row's (decided, sent) lateness in ms, against its ticket's
/// opening (the message's ts) plus its share of the first-response target.
macro_rules! escalations {
    ($pool:expr) => {{
        let rows = sqlx::query(
            "SELECT o.idem_key, o.created_at, o.sent_at, t.opened_at FROM outbox o
             JOIN tickets t ON t.id = o.ticket_id WHERE o.kind = 'escalation'",
        )
        .fetch_all($pool)
        .await
        .unwrap();
        let mut decided = Vec::new();
        let mut sent = Vec::new();
        for row in &rows {
            let key: String = row.try_get("idem_key").unwrap();
            if !key.contains(":first_response:") {
                continue;
            }
            let level: usize = key.rsplit(':').next().unwrap().parse().unwrap();
            let Some(share) = SHARES_PERMILLE.get(level) else {
                continue;
            };
            let opened: i64 = row.try_get("opened_at").unwrap();
            let due = opened + FIRST_RESPONSE_MS * share / 1000;
            decided.push(row.try_get::<i64, _>("created_at").unwrap() - due);
            if let Ok(Some(at)) = row.try_get::<Option<i64>, _>("sent_at") {
                sent.push(at - due);
            }
        }
        let counts = sqlx::query(
            "SELECT COUNT(*) AS n, COUNT(DISTINCT channel_id || ':' || COALESCE(source_ts, '')) AS d
             FROM tickets",
        )
        .fetch_one($pool)
        .await
        .unwrap();
        (
            decided,
            sent,
            counts.try_get::<i64, _>("n").unwrap(),
            counts.try_get::<i64, _>("d").unwrap(),
        )
    }};
}

fn run(
    rt: &tokio::runtime::Runtime,
    backend: &'static str,
    db_url: &str,
    config: &str,
    double: &SlackDouble,
) -> Outcome {
    let binary = std::env::var("READINESS_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_readiness").to_string());
    let mut app = Command::new(binary);
    app.env("DATABASE_URL", db_url)
        .env("READINESS_LISTEN", "127.0.0.1:0")
        .env("READINESS_CONFIG", config)
        .env("SLACK_SIGNING_SECRET", SECRET)
        .env("SLACK_BOT_TOKEN", BOT_TOKEN)
        .env("SLACK_API_URL", &double.api_url)
        .env(
            "RUST_LOG",
            std::env::var("READINESS_BENCH_LOG")
                .unwrap_or_else(|_| "warn,readiness::app=info".into()),
        )
        .env("NO_COLOR", "1");
    let (mut server, address) = start(app);
    let pid = server.id();
    let client = reqwest::blocking::Client::new();
    let origin = Origin {
        team: "T0001".into(),
        domain: "bench".into(),
        api_app_id: "A0BENCH".into(),
        token: "verification".into(),
    };
    // The customers, each linked to its channel (the overview is posted there).
    for n in 0..CHANNELS {
        let body = serde_urlencoded::to_string([
            ("team_id", origin.team.as_str()),
            ("user_id", "U0CSM"),
            ("user_name", "csm"),
            ("channel_id", "C0GENERAL"),
            ("channel_name", "general"),
            ("command", "/readiness"),
            (
                "text",
                &format!(
                    "new Bench {n} tier=enterprise slug=bench-{n} channel=<#{}>",
                    channel(n)
                ),
            ),
            ("response_url", &double.response_url_for("C0GENERAL")),
            ("trigger_id", "1.2.3"),
        ])
        .unwrap();
        let answer = signed(
            &client,
            &address,
            "/slack/commands",
            "application/x-www-form-urlencoded",
            body,
            None,
        );
        assert!(answer.1.is_success(), "customer {n}: {:?}", answer.1);
    }
    std::thread::sleep(Duration::from_secs(2));
    // The burst.
    let acks = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let prefix = format!("{backend}{}", now_ms());
    std::thread::scope(|scope| {
        for sender in 0..SENDERS {
            let (client, address, origin, acks, prefix) =
                (&client, &address, &origin, acks.clone(), &prefix);
            scope.spawn(move || {
                let gap = BURST / MESSAGES as u32;
                for n in (sender..MESSAGES).step_by(SENDERS) {
                    let at = gap * n as u32;
                    if let Some(wait) = at.checked_sub(started.elapsed()) {
                        std::thread::sleep(wait);
                    }
                    let c = n % CHANNELS;
                    let text = format!("Our SSO login fails for everyone (#{n})");
                    let ts = double.message_as_person(&channel(c), None, &person(c), &text);
                    let event = json!({
                        "type": "message", "channel": channel(c), "channel_type": "group",
                        "user": person(c), "text": text, "ts": ts, "event_ts": ts,
                        "team": CUSTOMER_ORG, "user_team": CUSTOMER_ORG,
                        "source_team": CUSTOMER_ORG,
                    });
                    let event_id = format!("Ev{prefix}x{n}");
                    let body = origin
                        .event_callback(&event_id, now_ms() / 1000, event.clone())
                        .to_string();
                    let (took, status) = signed(
                        client,
                        address,
                        "/slack/events",
                        "application/json",
                        body.clone(),
                        None,
                    );
                    assert!(status.is_success(), "message {n}: {status}");
                    acks.lock().unwrap().push(took);
                    if n % 10 == 0 {
                        // Slack's retry, then the same message under another event id.
                        let (took, _) = signed(
                            client,
                            address,
                            "/slack/events",
                            "application/json",
                            body,
                            Some("1"),
                        );
                        acks.lock().unwrap().push(took);
                        let again = origin
                            .event_callback(&format!("{event_id}b"), now_ms() / 1000, event)
                            .to_string();
                        let (took, _) = signed(
                            client,
                            address,
                            "/slack/events",
                            "application/json",
                            again,
                            None,
                        );
                        acks.lock().unwrap().push(took);
                    }
                }
            });
        }
    });
    let burst_s = started.elapsed().as_secs_f64();
    // Every first-response escalation is due 20 s after its message at the latest;
    // the channels' pace (10 tickets, 3 escalations and a card each) comes after.
    std::thread::sleep(Duration::from_millis(FIRST_RESPONSE_MS as u64 + 40_000));
    let peak = peak_rss_mb(pid);
    let (decided, sent, tickets, distinct) = rt.block_on(async {
        if backend == "sqlite" {
            let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
            let out = escalations!(&pool);
            pool.close().await;
            out
        } else {
            let pool = sqlx::PgPool::connect(db_url).await.unwrap();
            let out = escalations!(&pool);
            pool.close().await;
            out
        }
    });
    let _ = server.kill();
    let _ = server.wait();
    eprintln!("({backend}: the burst took {burst_s:.1} s)");
    let mut acks = Arc::try_unwrap(acks).unwrap().into_inner().unwrap();
    acks.sort_by(f64::total_cmp);
    let mut decided = decided;
    decided.sort_unstable();
    let mut sent = sent;
    sent.sort_unstable();
    Outcome {
        backend,
        acks,
        tickets,
        distinct_messages: distinct,
        reactions: double.count_ok("reactions.add", ""),
        escalations: decided.len(),
        decided,
        sent,
        peak_rss_mb: peak,
    }
}

/// Posts `body` signed as Slack would; (ms to the answer, status).
fn signed(
    client: &reqwest::blocking::Client,
    address: &str,
    path: &str,
    content_type: &str,
    body: String,
    retry: Option<&str>,
) -> (f64, reqwest::StatusCode) {
    let mut request = client
        .post(format!("http://{address}{path}"))
        .header("content-type", content_type);
    for (name, value) in signature_headers(SECRET, now_ms() / 1000, body.as_bytes()) {
        request = request.header(name, value);
    }
    if let Some(n) = retry {
        request = request
            .header("x-slack-retry-num", n)
            .header("x-slack-retry-reason", "http_timeout");
    }
    let started = Instant::now();
    let status = request.body(body).send().map(|r| r.status());
    let took = started.elapsed().as_secs_f64() * 1000.0;
    (
        took,
        status.unwrap_or(reqwest::StatusCode::INTERNAL_SERVER_ERROR),
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks for test names; there are none.
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("policy.toml");
    std::fs::write(&config, POLICY).unwrap();
    let config = config.display().to_string();
    let mut outcomes = Vec::new();
    let mut backends = vec![(
        "sqlite",
        Some(format!(
            "sqlite://{}",
            dir.path().join("intake.db").display()
        )),
    )];
    backends.push(("postgres", postgres_database(&rt)));
    for (backend, url) in backends {
        let Some(url) = url else {
            eprintln!("PostgreSQL skipped: TEST_POSTGRES_URL is not set");
            continue;
        };
        // A double per run, so calls are counted per backend.
        let double = rt.block_on(SlackDouble::start());
        for n in 0..CHANNELS {
            double.add_channel(&channel(n), &format!("cust-bench-{n}"), true);
            double.set_shared(&channel(n), true);
            double.set_connect_person(&person(n), CUSTOMER_ORG);
        }
        outcomes.push(run(&rt, backend, &url, &config, &double));
    }
    println!(
        "\n| backend | requests | ack p50 / p99 / max | tickets (distinct messages) | reactions | first-response escalations | decided p50 / p99 / max | posted p50 / p99 / max | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for o in &outcomes {
        println!(
            "| {} | {} | {:.1} / {:.1} / {:.1} ms | {} ({}) | {} | {} of {} | {} / {} / {} ms | {} / {} / {} ms | {:.1} MB |",
            o.backend,
            o.acks.len(),
            percentile(&o.acks, 0.5),
            percentile(&o.acks, 0.99),
            o.acks.last().copied().unwrap_or_default(),
            o.tickets,
            o.distinct_messages,
            o.reactions,
            o.escalations,
            MESSAGES * SHARES_PERMILLE.len(),
            percentile(&o.decided, 0.5),
            percentile(&o.decided, 0.99),
            o.decided.last().copied().unwrap_or_default(),
            percentile(&o.sent, 0.5),
            percentile(&o.sent, 0.99),
            o.sent.last().copied().unwrap_or_default(),
            o.peak_rss_mb,
        );
    }
}
