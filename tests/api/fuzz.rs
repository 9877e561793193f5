//! Fuzzing the edges, for a bounded time (`READINESS_FUZZ_SECS`, 10 s a target by
//! default; cargo-fuzz needs a nightly toolchain these machines do not have).
//!
//! Inputs come from a seeded generator (proptest's ChaCha `TestRng`, so a failure can be
//! replayed): random bytes, and Slack's own payloads from `tests/fixtures/` mutated a few
//! bytes or tokens at a time (flipped, cut, repeated, spliced with JSON and form
//! punctuation). Each is signed as Slack signs, so it gets past the signature check into
//! the parsers and handlers, and sent through the app's real router with a fresh
//! database. A request must never panic the app or get a 5xx; unsigned ones get 401.
//! The counts are printed (`--nocapture`) for docs/testing.md.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::RngCore;
use proptest::test_runner::{RngAlgorithm, TestRng};
use readiness::config::{SettingArgs, Settings};
use tower::ServiceExt;

use crate::support::slack_double::{BOT_TOKEN, SlackDouble};
use crate::support::{SIGNING_SECRET, TestDb, sign};

fn budget() -> Duration {
    let secs = std::env::var("READINESS_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(secs)
}

const FIXTURES: &[(&str, &str, &str)] = &[
    (
        "/slack/commands",
        "application/x-www-form-urlencoded",
        include_str!("../fixtures/slash_command.docs.form.txt"),
    ),
    (
        "/slack/commands",
        "application/x-www-form-urlencoded",
        include_str!("../fixtures/ssl_check.bolt_python_fixture.form.txt"),
    ),
    (
        "/slack/interactions",
        "application/x-www-form-urlencoded",
        include_str!("../fixtures/block_actions.bolt_python_fixture.form.txt"),
    ),
    (
        "/slack/interactions",
        "application/x-www-form-urlencoded",
        include_str!("../fixtures/block_actions.checkboxes.COMPOSED.form.txt"),
    ),
    (
        "/slack/events",
        "application/json",
        include_str!("../fixtures/event_callback.reaction_added.docs.json"),
    ),
    (
        "/slack/events",
        "application/json",
        include_str!("../fixtures/url_verification.docs.json"),
    ),
    (
        "/slack/events",
        "application/json",
        include_str!("../fixtures/app_rate_limited.docs.json"),
    ),
];

/// Tokens that matter to the parsers, spliced in by the mutator.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "%",
    "%2",
    "%ZZ",
    "&",
    "=",
    "+",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "-1",
    "1e999",
    "payload=",
    "text=",
    "type",
    "block_actions",
    "view_submission",
    "event_callback",
    "tick:1:ff:1.1.1",
    "<@U1|a>",
    "\u{0}",
    "\u{feff}",
];

fn pick<'a, T>(rng: &mut TestRng, items: &'a [T]) -> &'a T {
    &items[rng.next_u32() as usize % items.len()]
}

/// A few random edits of `seed`.
fn mutate(rng: &mut TestRng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.next_u32() % 4 {
        let at = if bytes.is_empty() {
            0
        } else {
            rng.next_u32() as usize % bytes.len()
        };
        match rng.next_u32() % 5 {
            0 if !bytes.is_empty() => bytes[at] ^= 1 << (rng.next_u32() % 8),
            1 => {
                let end = (at + 1 + rng.next_u32() as usize % 64).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => {
                let end = (at + 1 + rng.next_u32() as usize % 64).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            3 => {
                let token = pick(rng, TOKENS).as_bytes().to_vec();
                bytes.splice(at..at, token);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

/// The app started on these settings, without a listener (requests go through its
/// router).
async fn start(args: SettingArgs) -> readiness::app::App {
    let settings = Settings::resolve(&args).unwrap();
    readiness::app::App::start(settings, readiness::time_source::TimeSource::real())
        .await
        .unwrap()
}

fn random_bytes(rng: &mut TestRng) -> Vec<u8> {
    let len = rng.next_u32() as usize % 2048;
    (0..len).map(|_| rng.next_u32() as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_never_panic_the_app_or_get_a_5xx() {
    let db = TestDb::sqlite();
    let double = SlackDouble::start().await;
    let app = start(SettingArgs {
        database_url: Some(db.url.clone()),
        slack_signing_secret: Some(SIGNING_SECRET.into()),
        slack_bot_token: Some(BOT_TOKEN.into()),
        slack_api_url: Some(double.api_url.clone()),
        ..Default::default()
    })
    .await;
    let router = app.router();
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let started = Instant::now();
    let mut outcomes: BTreeMap<(String, u16), u64> = BTreeMap::new();
    let mut runs = 0u64;
    while started.elapsed() < budget() {
        let (path, content_type, seed) = *pick(&mut rng, FIXTURES);
        let kind = rng.next_u32() % 10;
        let body = match kind {
            0 => random_bytes(&mut rng),
            _ => mutate(&mut rng, seed.trim_end().as_bytes()),
        };
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let signed = kind != 9;
        let signature = if signed {
            sign(SIGNING_SECRET, &timestamp, &String::from_utf8_lossy(&body))
        } else {
            "v0=00".to_string()
        };
        // Lossy bytes are what was signed; send exactly those.
        let body = if signed {
            String::from_utf8_lossy(&body).into_owned().into_bytes()
        } else {
            body
        };
        let request = Request::post(path)
            .header("content-type", content_type)
            .header("content-length", body.len())
            .header("x-slack-request-timestamp", &timestamp)
            .header("x-slack-signature", signature)
            .body(Body::from(body.clone()))
            .unwrap();
        let status = router.clone().oneshot(request).await.unwrap().status();
        assert!(
            status.as_u16() < 500,
            "{status} for {path}: {:?}",
            String::from_utf8_lossy(&body)
        );
        if !signed {
            assert_eq!(status.as_u16(), 401, "unsigned {path}");
        }
        *outcomes
            .entry((path.to_string(), status.as_u16()))
            .or_default() += 1;
        runs += 1;
    }
    let health = router
        .clone()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200, "still up");
    eprintln!(
        "fuzzed the routes with {runs} requests in {:?}: {outcomes:?}",
        started.elapsed()
    );
    assert!(runs > 100, "the budget ran {runs} requests only");
    drop(router);
    app.stop().await;
}

/// Socket Mode envelopes wrapping Slack's payloads, to mutate.
fn envelope_seeds() -> Vec<String> {
    let form = |text: &str| -> serde_json::Value {
        serde_urlencoded::from_str::<Vec<(String, String)>>(text.trim())
            .unwrap_or_default()
            .into_iter()
            .collect()
    };
    let command = form(include_str!("../fixtures/slash_command.docs.form.txt"));
    let clicks = form(include_str!(
        "../fixtures/block_actions.checkboxes.COMPOSED.form.txt"
    ));
    let click: serde_json::Value =
        serde_json::from_str(clicks["payload"].as_str().unwrap_or("{}")).unwrap_or_default();
    let event: serde_json::Value = serde_json::from_str(include_str!(
        "../fixtures/event_callback.reaction_added.docs.json"
    ))
    .unwrap();
    [
        ("slash_commands", command),
        ("interactive", click),
        ("events_api", event),
    ]
    .into_iter()
    .map(|(kind, payload)| {
        serde_json::json!({
            "envelope_id": "e1", "type": kind, "accepts_response_payload": true,
            "retry_attempt": 0, "payload": payload
        })
        .to_string()
    })
    .chain([
        r#"{"type":"hello","num_connections":1}"#.to_string(),
        r#"{"type":"disconnect","reason":"refresh_requested"}"#.to_string(),
    ])
    .collect()
}

/// Socket Mode envelopes go to the same handlers as HTTP requests; mutated ones must
/// not panic. The install flow's callback gets random queries: never a 5xx, and never
/// an install.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_socket_envelopes_and_install_callbacks_never_panic() {
    let db = TestDb::sqlite();
    let double = SlackDouble::start().await;
    let app = start(SettingArgs {
        database_url: Some(db.url.clone()),
        slack_bot_token: Some(BOT_TOKEN.into()),
        slack_api_url: Some(double.api_url.clone()),
        ..Default::default()
    })
    .await;
    let seeds = envelope_seeds();
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let started = Instant::now();
    let (mut runs, mut parsed, mut acked) = (0u64, 0u64, 0u64);
    // Distinct ids, so redeliveries are not what is being tested.
    let mut id = 0u64;
    while started.elapsed() < budget() {
        let seed = pick(&mut rng, &seeds).replace("\"e1\"", &format!("\"e{id}\""));
        id += 1;
        let text = String::from_utf8_lossy(&mutate(&mut rng, seed.as_bytes())).into_owned();
        runs += 1;
        let Ok(envelope) = serde_json::from_str::<readiness::socket::Envelope>(&text) else {
            continue;
        };
        parsed += 1;
        if readiness::socket::handle(app.context(), envelope)
            .await
            .is_some()
        {
            acked += 1;
        }
    }
    eprintln!(
        "fuzzed Socket Mode with {runs} envelopes in {:?}: {parsed} parsed, {acked} acknowledged",
        started.elapsed()
    );
    assert!(runs > 100 && parsed > 0, "{runs} runs, {parsed} parsed");
    app.stop().await;

    // The install callback, in many-workspace mode.
    let db = TestDb::sqlite();
    let app = start(SettingArgs {
        database_url: Some(db.url.clone()),
        slack_api_url: Some(double.api_url.clone()),
        slack_client_id: Some("1.2".into()),
        slack_client_secret: Some("s".into()),
        encryption_key: Some(crate::support::ENCRYPTION_KEY.into()),
        public_url: Some("https://readiness.example.com".into()),
        ..Default::default()
    })
    .await;
    let router = app.router();
    // A real state and its cookie, so most requests get past the state check to the
    // code exchange (which the double refuses: it approved no install). A state is
    // spent by the first callback past the cookie check, so each request starts its
    // own install.
    let new_state = || {
        let router = router.clone();
        async move {
            let started_install = router
                .oneshot(Request::get("/slack/install").body(Body::empty()).unwrap())
                .await
                .unwrap();
            let location = started_install.headers()["location"].to_str().unwrap();
            let state = url::Url::parse(location)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "state")
                .unwrap()
                .1
                .to_string();
            (state, crate::support::cookie_of(started_install.headers()))
        }
    };
    let started = Instant::now();
    let mut callbacks = 0u64;
    let mut past_the_state = 0u64;
    let seed = "code=code-1001&error=access_denied&code=x";
    while started.elapsed() < budget() / 2 {
        let (state, cookie) = new_state().await;
        let mutated = mutate(&mut rng, seed.as_bytes());
        let mutated: String = url::form_urlencoded::byte_serialize(&mutated)
            .collect::<String>()
            .replace("%3D", "=")
            .replace("%26", "&");
        // Now and then the state itself is mutated too.
        let state = if rng.next_u32().is_multiple_of(8) {
            String::from_utf8_lossy(&mutate(&mut rng, state.as_bytes())).into_owned()
        } else {
            state.clone()
        };
        let state: String = url::form_urlencoded::byte_serialize(state.as_bytes()).collect();
        let query = format!("{mutated}&state={state}");
        let request = Request::get(format!("/slack/oauth/callback?{query}"))
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        assert!(status.as_u16() < 500, "{status} for {query}");
        let page = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        // The state check's own refusal; any other page is past it.
        if !String::from_utf8_lossy(&page).contains("was used already, or was started") {
            past_the_state += 1;
        }
        callbacks += 1;
    }
    let store = readiness::store::Store::connect(&db.url).await.unwrap();
    assert!(
        store.installations().await.unwrap().is_empty(),
        "a fuzzed callback installed"
    );
    store.close().await;
    eprintln!(
        "fuzzed the install callback with {callbacks} requests, {past_the_state} past the state check"
    );
    assert!(past_the_state > 0, "no request reached the code exchange");
    drop(router);
    app.stop().await;
}

/// A policy with every table, to mutate.
const POLICY_SEED: &str = r#"
[sla.P0]
first_response = "15m"
resolution = "4h"
[tiers.standard]
hours = "Mon-Fri 09:00-12:00,13:00-18:00; Sat 10:00-14:00"
timezone = "Asia/Tokyo"
holidays = ["jp", "2026-12-29"]
availability = "99.5%"
[tiers.enterprise]
hours = "24/7"
[escalation]
at = ["50%", "80%", "100%"]
repeat_after_breach = "1h"
internal_channel = "C0LEADS"
[escalation.path.P0]
levels = ["<@U0ONCALL>", "<!subteam^S0LEADS>"]
[reminders]
item_due_at = "09:00"
hypercare = "2w"
milestones = ["hypercare", "qbr"]
posts_per_minute = 240
[retention]
audit = "400d"
"#;

#[test]
fn the_loaders_parsers_and_signature_check_never_panic() {
    let template_seed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("templates/enterprise-readiness.toml"),
    )
    .unwrap();
    let verifier =
        readiness::http::signature::Verifier::new(&readiness::config::Secret::new(SIGNING_SECRET));
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let started = Instant::now();
    let mut runs: BTreeMap<&str, u64> = BTreeMap::new();
    let mut accepted: BTreeMap<&str, u64> = BTreeMap::new();
    while started.elapsed() < budget() {
        let target = rng.next_u32() % 6;
        let text = |rng: &mut TestRng, seed: &str| {
            let bytes = if rng.next_u32().is_multiple_of(8) {
                random_bytes(rng)
            } else {
                mutate(rng, seed.as_bytes())
            };
            String::from_utf8_lossy(&bytes).into_owned()
        };
        let (name, ok) = match target {
            0 => {
                let t = text(&mut rng, &template_seed);
                (
                    "template",
                    readiness::domain::template::Template::parse(&t).is_ok(),
                )
            }
            1 => {
                let t = text(&mut rng, POLICY_SEED);
                (
                    "policy",
                    readiness::domain::policy::Policy::from_toml_str(&t).is_ok(),
                )
            }
            2 => {
                let t = text(
                    &mut rng,
                    "new \"Acme Corp\" tier=enterprise channel=<#C1|acme>",
                );
                (
                    "command grammar",
                    readiness::domain::command::parse(&t).is_ok(),
                )
            }
            3 => {
                let (_, _, seed) = FIXTURES[2];
                let t = text(&mut rng, seed);
                let payload = serde_urlencoded::from_str::<Vec<(String, String)>>(&t)
                    .ok()
                    .and_then(|f| f.into_iter().find(|(k, _)| k == "payload"))
                    .map(|(_, v)| v)
                    .unwrap_or(t);
                (
                    "interaction payload",
                    readiness::slack::interactions::Interaction::parse(&payload).is_ok(),
                )
            }
            4 => {
                let (_, _, seed) = FIXTURES[4];
                let t = text(&mut rng, seed);
                (
                    "event envelope",
                    serde_json::from_str::<readiness::slack::events::Envelope>(&t).is_ok(),
                )
            }
            _ => {
                // A body signed right, then maybe changed, with maybe-changed headers:
                // accepted exactly when nothing was changed.
                let body = text(&mut rng, FIXTURES[0].2);
                let now = 1_700_000_000_i64;
                let timestamp = now.to_string();
                let good = sign(SIGNING_SECRET, &timestamp, &body);
                let tamper = rng.next_u32() % 4;
                let signature = if tamper == 1 {
                    text(&mut rng, &good)
                } else {
                    good.clone()
                };
                let sent_body = if tamper == 2 {
                    text(&mut rng, &body)
                } else {
                    body.clone()
                };
                let sent_ts = if tamper == 3 {
                    text(&mut rng, &timestamp)
                } else {
                    timestamp.clone()
                };
                let ok = verifier
                    .verify_at(&signature, &sent_ts, sent_body.as_bytes(), now)
                    .is_ok();
                let unchanged = signature == good && sent_body == body && sent_ts == timestamp;
                assert_eq!(ok, unchanged, "{signature} {sent_ts} {sent_body:?}");
                ("signature check", ok)
            }
        };
        *runs.entry(name).or_default() += 1;
        if ok {
            *accepted.entry(name).or_default() += 1;
        }
    }
    eprintln!(
        "fuzzed for {:?}: runs {runs:?}, accepted {accepted:?}",
        started.elapsed()
    );
    assert!(runs.values().all(|n| *n > 100), "{runs:?}");
}
