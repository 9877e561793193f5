//! `cargo bench --bench home`: the App Home's own time, render and publish, for a
//! workspace of 500 customers and 5,000 open tickets on SQLite (and on PostgreSQL with
//! TEST_POSTGRES_URL set), against a one-customer workspace in the same database as
//! the baseline. "Publish" goes to a local stub that answers at once, so what is timed
//! is ours: reading, deciding, rendering, serializing and the HTTP call's own cost.
//!
//! Target (issue 4): p99 under 50 ms for the big workspace.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::{Json, Router, routing::any};
use chrono::Utc;
use readiness::config::Secret;
use readiness::delivery::slack_api::SlackApi;
use readiness::delivery::users::Users;
use readiness::domain::checklist::Tier;
use readiness::domain::i18n::Lang;
use readiness::domain::policy::Policy;
use readiness::domain::template::Template;
use readiness::slack::home::Home;
use readiness::store::audit::{Actor, Source};
use readiness::store::tickets::NewTicket;
use readiness::store::{ItemChange, NewCustomer, Store};
use readiness::time_source::at_ms;
use readiness::usecase::tickets::Tickets;

const BIG: &str = "TBIG";
const SMALL: &str = "TSMALL";
const VIEWER: &str = "U0VIEWER";
const ROUNDS: usize = 200;

/// `customers` customers of `team` with `tickets_each` open tickets each, and three
/// items per customer assigned to the viewer with due dates around today.
async fn seed(store: &Store, team: &str, customers: usize, tickets_each: usize) {
    let now = Utc::now();
    let today = now.date_naive();
    let tiers = [Tier::Standard, Tier::Professional, Tier::Enterprise];
    for n in 0..customers {
        let c = store
            .create_customer(&NewCustomer {
                team_id: team.into(),
                slug: format!("c{n:04}"),
                name: format!("Customer {n:04} 株式会社"),
                tier: tiers[n % 3],
                channel_id: Some(format!("C{team}{n:06}")),
                created_by: VIEWER.into(),
                created_at: now.timestamp_millis(),
            })
            .await
            .unwrap();
        for (i, key) in ["1.1.2", "2.1.1", "6.1.1"].iter().enumerate() {
            let change = ItemChange {
                assignee: Some(Some(VIEWER.into())),
                due: Some(Some(today + chrono::Duration::days(i as i64 * 3 - 2))),
                ..ItemChange::default()
            };
            store
                .change_item(
                    c.id,
                    key,
                    &change,
                    Actor::new(VIEWER, Source::Command),
                    at_ms(0),
                )
                .await
                .unwrap();
        }
        for t in 0..tickets_each {
            let opened = now.timestamp_millis() - (t as i64 + n as i64) * 7 * 60_000;
            store
                .open_ticket(
                    &NewTicket {
                        team_id: team.into(),
                        customer_id: c.id,
                        priority: ["P0", "P1", "P2", "P3"][t % 4].into(),
                        summary: format!("SSO のログインが失敗する件 #{t} {}", "詳細".repeat(40)),
                        reporter: VIEWER.into(),
                        assignee: None,
                        opened_at: opened,
                        used_ms: 0,
                        running_since: Some(opened),
                        channel_id: format!("C{team}{n:06}"),
                        source_ts: None,
                        timers: Vec::new(),
                    },
                    Actor::new(VIEWER, Source::Command),
                    now,
                )
                .await
                .unwrap();
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Times `ROUNDS` renders and `ROUNDS` render+publishes of the viewer's Home in `team`.
async fn measure(home: &Home, team: &str) -> (Vec<Duration>, Vec<Duration>) {
    // One warm-up each, which loads the SQLite cache as a running app would have.
    home.render(team, VIEWER, 0, Lang::En, Utc::now())
        .await
        .unwrap();
    let mut render = Vec::with_capacity(ROUNDS);
    let mut publish = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let page = round % 5;
        let started = Instant::now();
        let view = home
            .render(team, VIEWER, page, Lang::En, Utc::now())
            .await
            .unwrap();
        render.push(started.elapsed());
        let blocks = serde_json::to_value(&view).unwrap()["blocks"]
            .as_array()
            .map_or(0, Vec::len);
        assert!(blocks <= 100, "{blocks} blocks");
        let started = Instant::now();
        home.publish(team, VIEWER, page).await.unwrap();
        publish.push(started.elapsed());
    }
    render.sort();
    publish.sort();
    (render, publish)
}

async fn run(url: &str, label: &str, stub: &str) {
    let store = Store::connect(url).await.unwrap();
    let started = Instant::now();
    seed(&store, BIG, 500, 10).await;
    seed(&store, SMALL, 1, 0).await;
    eprintln!(
        "{label}: seeded 500 customers and 5,000 tickets in {:?}",
        started.elapsed()
    );
    // Reopened, as a running app would be, with its cache loaded at start.
    store.close().await;
    let store = Store::connect(url).await.unwrap();
    let support = Tickets::new(
        store.clone(),
        Arc::new(Policy::default()),
        Lang::En,
        readiness::time_source::TimeSource::real(),
    );
    let api = SlackApi::new(stub, &Secret::from("xoxb-bench".to_string())).unwrap();
    let home = Home::new(
        api.clone(),
        support,
        Arc::new(Template::builtin()),
        Users::new(api),
    );
    // The part of a render that reads the workspace's open tickets.
    let mut reads = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let open = store.open_tickets(BIG, None).await.unwrap();
        reads.push(started.elapsed());
        assert_eq!(open.len(), 5000);
    }
    reads.sort();
    eprintln!(
        "{label}: reading 5,000 open tickets: p50 {:.1} ms",
        ms(percentile(&reads, 50.0))
    );
    let (small_render, small_publish) = measure(&home, SMALL).await;
    let (big_render, big_publish) = measure(&home, BIG).await;
    println!("| {label} | workspace | render p50 / p99 | render + publish p50 / p99 |");
    println!("|---|---|---|---|");
    for (name, render, publish) in [
        (
            "1 customer, 0 tickets (baseline)",
            &small_render,
            &small_publish,
        ),
        ("500 customers, 5,000 tickets", &big_render, &big_publish),
    ] {
        println!(
            "| {label} | {name} | {:.1} / {:.1} ms | {:.1} / {:.1} ms |",
            ms(percentile(render, 50.0)),
            ms(percentile(render, 99.0)),
            ms(percentile(publish, 50.0)),
            ms(percentile(publish, 99.0)),
        );
    }
    let p99 = ms(percentile(&big_publish, 99.0));
    println!(
        "target: p99 < 50 ms for 500 customers and 5,000 tickets: {} ({p99:.1} ms)",
        if p99 < 50.0 { "met" } else { "NOT met" }
    );
    store.close().await;
}

/// A Slack stand-in that answers every method at once.
async fn start_stub() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new().route(
        "/api/{method}",
        any(|| async {
            Json(serde_json::json!({"ok": true, "view": {"id": "V1"}, "user": {"id": VIEWER, "locale": "en-US", "tz": "Asia/Tokyo"}}))
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/api")
}

#[tokio::main]
async fn main() {
    let stub = start_stub().await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("home.db").display());
    run(&sqlite, "SQLite", &stub).await;
    match std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(admin) => {
            // A fresh database next to the given one, dropped at the end.
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            let name = format!("readiness_bench_home_{}", std::process::id());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
            let mut url = url::Url::parse(&admin).unwrap();
            url.set_path(&format!("/{name}"));
            run(url.as_str(), "PostgreSQL", &stub).await;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        None => eprintln!("SKIPPED PostgreSQL: TEST_POSTGRES_URL is not set"),
    }
}
