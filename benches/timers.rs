//! Scheduler benchmark (benches/README.md): the release `readiness` binary on a
//! database holding open tickets with their timers, pointed at the Slack test double.
//!
//! For each backend (SQLite; PostgreSQL when TEST_POSTGRES_URL is set) and for two
//! sizes, 1,000 pending tickets (the baseline) and 100,000:
//! - idle CPU: the process's CPU time over 4 s while nothing is due;
//! - memory: RSS while idle, and the peak over the whole run;
//! - firing lateness: 5 bursts of 1,000 tickets whose 50% threshold is due in the
//!   same second (3 s apart; each ticket's 80% and 100% follow 3 s and 5 s later, so
//!   15,000 firings in all). "Decided" lateness is the time the firing transaction
//!   started (the outbox row's `created_at`) minus the due time, exact per firing;
//!   "committed" is read from the app's `readiness_timer_lateness_seconds` histogram
//!   (commit time minus due time), as bucket bounds. Slack's per-channel pacing comes
//!   after and is not counted.

mod common;
#[path = "../tests/api/support/slack_double.rs"]
mod slack_double;

use std::{
    process::Command,
    time::{Duration, Instant},
};

use common::{cpu_seconds, peak_rss_mb, postgres_database, rss_mb, start};
use readiness::config::{SettingArgs, Settings};
use readiness::domain::policy::Policy;
use readiness::domain::sla::{Priority, Target, threshold_amount};
use slack_double::{BOT_TOKEN, SlackDouble};
use sqlx::Row;

const CUSTOMERS: usize = 100;
const BURSTS: i64 = 5;
const BURST_SIZE: i64 = 1000;
const BURST_GAP_MS: i64 = 3000;
const POLICY: &str = "[tiers.standard]\nhours = \"24/7\"\n[tiers.professional]\nhours = \"24/7\"\n[tiers.enterprise]\nhours = \"24/7\"\n[sla.P0]\nfirst_response = \"10s\"\nresolution = \"4h\"\n";

struct Outcome {
    backend: &'static str,
    pending: usize,
    seed_s: f64,
    idle_cpu_pct: f64,
    idle_rss_mb: f64,
    peak_rss_mb: f64,
    fired: usize,
    p50_ms: i64,
    p99_ms: i64,
    max_ms: i64,
    /// From the app's lateness histogram (committed, not just decided): upper bounds.
    committed_p50: String,
    committed_p99: String,
}

/// When escalation `level` of `target` falls for a `priority` ticket, in ms after it
/// opened (every tier is 24/7 here, so business time is wall time), from the policy.
fn offset_ms(priority: Priority, target: Target, level: u32) -> i64 {
    let policy = Policy::from_toml_str(POLICY).expect("the bench policy parses");
    threshold_amount(policy.target(priority, target), &policy.escalation, level)
        .expect("a level of the policy")
        .num_milliseconds()
}

/// The shares before the breach: the levels each burst ticket fires in the run.
fn shares() -> u32 {
    Policy::from_toml_str(POLICY).unwrap().escalation.at.len() as u32
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Inserts the customers, `pending` quiet P3 tickets and the burst tickets, with
/// their timers; returns the first burst's due time.
macro_rules! seed {
    ($pool:expr, $pending:expr) => {{
        let pool = $pool;
        let now = now_ms();
        let mut values = Vec::new();
        for n in 0..CUSTOMERS {
            values.push(format!(
                "('T0001', 'c{n}', 'Customer {n}', 'enterprise', 'C0B{n:03}', 'UBENCH', {now})"
            ));
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO customers (team_id, slug, name, tier, channel_id, created_by, created_at) VALUES {}",
            values.join(",")
        )))
        .execute(pool)
        .await
        .unwrap();
        let first_customer: i64 = sqlx::query("SELECT MIN(id) AS id FROM customers")
            .fetch_one(pool)
            .await
            .unwrap()
            .try_get("id")
            .unwrap();
        let total = $pending as i64 + BURSTS * BURST_SIZE;
        let mut number = 0i64;
        while number < total {
            let chunk: Vec<String> = (number..(number + 1000).min(total))
                .map(|n| {
                    let customer = first_customer + n % CUSTOMERS as i64;
                    let channel = n % CUSTOMERS as i64;
                    let priority = if n < $pending as i64 { "P3" } else { "P0" };
                    format!(
                        "('T0001', {}, {customer}, '{priority}', 'Request {n}', 'UBENCH', {now}, 0, {now}, 'C0B{channel:03}')",
                        n + 1
                    )
                })
                .collect();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO tickets (team_id, number, customer_id, priority, summary, reporter, opened_at, used_ms, running_since, channel_id) VALUES {}",
                chunk.join(",")
            )))
            .execute(pool)
            .await
            .unwrap();
            number += 1000;
        }
        sqlx::query("INSERT INTO ticket_numbers (team_id, last) VALUES ('T0001', $1)")
            .bind(total)
            .execute(pool)
            .await
            .unwrap();
        // The bursts: opened so that their first share falls on T0, T0 + 3 s, …
        let first_due = now_ms() + 14_000;
        sqlx::query(
            "UPDATE tickets SET opened_at = $1 - $5 + ((number - $2 - 1) / $3) * $4,
                 running_since = $1 - $5 + ((number - $2 - 1) / $3) * $4
             WHERE priority = 'P0'",
        )
        .bind(first_due)
        .bind($pending as i64)
        .bind(BURST_SIZE)
        .bind(BURST_GAP_MS)
        .bind(offset_ms(Priority::P0, Target::FirstResponse, 0))
        .execute(pool)
        .await
        .unwrap();
        // Level 0 of each target, as the app plans it.
        for target in Target::ALL {
            sqlx::query(
                "INSERT INTO timers (ticket_id, target, level, due_at)
                 SELECT id, $1, 0, opened_at + CASE priority WHEN 'P0' THEN $2 ELSE $3 END FROM tickets",
            )
            .bind(target.as_str())
            .bind(offset_ms(Priority::P0, target, 0))
            .bind(offset_ms(Priority::P3, target, 0))
            .execute(pool)
            .await
            .unwrap();
        }
        first_due
    }};
}

macro_rules! lateness {
    ($pool:expr) => {{
        let rows = sqlx::query(
            "SELECT o.idem_key, o.created_at, t.opened_at FROM outbox o JOIN tickets t ON t.id = o.ticket_id
             WHERE o.kind = 'escalation'",
        )
        .fetch_all($pool)
        .await
        .unwrap();
        let mut late: Vec<i64> = Vec::new();
        for row in &rows {
            let key: String = row.try_get("idem_key").unwrap();
            let created: i64 = row.try_get("created_at").unwrap();
            let opened: i64 = row.try_get("opened_at").unwrap();
            let level: u32 = key.rsplit(':').next().unwrap().parse().unwrap();
            if key.contains(":first_response:") && level < shares() {
                late.push(created - (opened + offset_ms(Priority::P0, Target::FirstResponse, level)));
            }
        }
        late
    }};
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return -1;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn run(
    rt: &tokio::runtime::Runtime,
    backend: &'static str,
    db_url: &str,
    pending: usize,
    config: &str,
    double: &SlackDouble,
) -> Outcome {
    let settings = Settings::resolve(&SettingArgs {
        database_url: Some(db_url.into()),
        config: Some(config.into()),
        ..Default::default()
    })
    .unwrap();
    let seed_started = Instant::now();
    let first_due = rt.block_on(async {
        let store = readiness::store::Store::connect(db_url).await.unwrap();
        // Planned with this policy already: the start does not re-plan.
        store
            .set_planned_policy(&settings.policy_text)
            .await
            .unwrap();
        store.close().await;
        if backend == "sqlite" {
            let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
            let due = seed!(&pool, pending);
            pool.close().await;
            due
        } else {
            let pool = sqlx::PgPool::connect(db_url).await.unwrap();
            let due = seed!(&pool, pending);
            pool.close().await;
            due
        }
    });
    let seed_s = seed_started.elapsed().as_secs_f64();
    let binary = std::env::var("READINESS_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_readiness").to_string());
    let mut app = Command::new(binary);
    app.env("DATABASE_URL", db_url)
        .env("READINESS_LISTEN", "127.0.0.1:0")
        .env("READINESS_CONFIG", config)
        .env("SLACK_SIGNING_SECRET", "bench-signing-secret")
        .env("SLACK_BOT_TOKEN", BOT_TOKEN)
        .env("SLACK_API_URL", &double.api_url)
        // The start line (with the address) is logged at info by readiness::app.
        .env(
            "RUST_LOG",
            std::env::var("READINESS_BENCH_LOG")
                .unwrap_or_else(|_| "warn,readiness::app=info".into()),
        )
        .env("NO_COLOR", "1");
    let (mut server, address) = start(app);
    let pid = server.id();
    std::thread::sleep(Duration::from_secs(1));
    let cpu_before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(4));
    let idle_cpu_pct = (cpu_seconds(pid) - cpu_before) / 4.0 * 100.0;
    let idle_rss_mb = rss_mb(pid);
    if now_ms() > first_due {
        eprintln!("warning: the idle window ran into the first burst ({backend}, {pending})");
    }
    let last_due = first_due
        + (BURSTS - 1) * BURST_GAP_MS
        + offset_ms(Priority::P0, Target::FirstResponse, shares() - 1)
        - offset_ms(Priority::P0, Target::FirstResponse, 0);
    let wait = (last_due + 4000 - now_ms()).max(0) as u64;
    std::thread::sleep(Duration::from_millis(wait));
    let peak = peak_rss_mb(pid);
    let metrics = reqwest::blocking::get(format!("http://{address}/metrics"))
        .and_then(|r| r.text())
        .unwrap_or_default();
    let (committed_p50, committed_p99) = (
        histogram_bound(&metrics, 0.5),
        histogram_bound(&metrics, 0.99),
    );
    let mut late = rt.block_on(async {
        if backend == "sqlite" {
            let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
            let late = lateness!(&pool);
            pool.close().await;
            late
        } else {
            let pool = sqlx::PgPool::connect(db_url).await.unwrap();
            let late = lateness!(&pool);
            pool.close().await;
            late
        }
    });
    let _ = server.kill();
    let _ = server.wait();
    late.sort_unstable();
    Outcome {
        backend,
        pending,
        seed_s,
        idle_cpu_pct,
        idle_rss_mb,
        peak_rss_mb: peak,
        fired: late.len(),
        p50_ms: percentile(&late, 0.5),
        p99_ms: percentile(&late, 0.99),
        max_ms: late.last().copied().unwrap_or(-1),
        committed_p50,
        committed_p99,
    }
}

/// The smallest bucket bound of `readiness_timer_lateness_seconds` holding the share
/// `p` of all firings, as "≤ N ms".
fn histogram_bound(metrics: &str, p: f64) -> String {
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    let mut count = 0.0;
    for line in metrics.lines() {
        if let Some(rest) = line.strip_prefix("readiness_timer_lateness_seconds_bucket{le=\"") {
            let (le, n) = rest.split_once("\"} ").unwrap_or(("", ""));
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap_or(f64::NAN)
            };
            buckets.push((le, n.trim().parse().unwrap_or(0.0)));
        } else if let Some(n) = line.strip_prefix("readiness_timer_lateness_seconds_count ") {
            count = n.trim().parse().unwrap_or(0.0);
        }
    }
    buckets
        .iter()
        .find(|(_, n)| *n >= count * p && count > 0.0)
        .map(|(le, _)| format!("≤ {} ms", le * 1000.0))
        .unwrap_or_else(|| "?".into())
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
    let double = rt.block_on(SlackDouble::start());
    for n in 0..CUSTOMERS {
        double.add_channel(&format!("C0B{n:03}"), &format!("bench-{n}"), true);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("policy.toml");
    std::fs::write(&config, POLICY).unwrap();
    let config = config.display().to_string();
    let mut sizes: Vec<usize> = match std::env::var("READINESS_BENCH_PENDING") {
        Ok(n) => vec![1_000, n.parse().expect("a number")],
        Err(_) => vec![1_000, 100_000],
    };
    sizes.dedup(); // each size gets its own database file
    let mut outcomes = Vec::new();
    for &pending in &sizes {
        let url = format!(
            "sqlite://{}",
            dir.path().join(format!("timers-{pending}.db")).display()
        );
        outcomes.push(run(&rt, "sqlite", &url, pending, &config, &double));
        match postgres_database(&rt) {
            Some(url) => outcomes.push(run(&rt, "postgres", &url, pending, &config, &double)),
            None => eprintln!("PostgreSQL skipped: TEST_POSTGRES_URL is not set"),
        }
    }
    println!(
        "\n| backend | open tickets | idle CPU | idle RSS (MB) | peak RSS (MB) | firings | decided p50 / p99 / max | committed p50 / p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for o in &outcomes {
        println!(
            "| {} | {} | {:.2}% | {:.1} | {:.1} | {} | {} / {} / {} ms | {} / {} |",
            o.backend,
            o.pending + (BURSTS * BURST_SIZE) as usize,
            o.idle_cpu_pct,
            o.idle_rss_mb,
            o.peak_rss_mb,
            o.fired,
            o.p50_ms,
            o.p99_ms,
            o.max_ms,
            o.committed_p50,
            o.committed_p99
        );
        eprintln!("({} {}: seeded in {:.1} s)", o.backend, o.pending, o.seed_s);
    }
    let expected = (BURSTS * BURST_SIZE) as usize * shares() as usize;
    for o in &outcomes {
        if o.fired != expected {
            eprintln!(
                "warning: {} with {} pending fired {} of {expected}",
                o.backend, o.pending, o.fired
            );
        }
    }
}
