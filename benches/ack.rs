//! Acknowledgement benchmark (benches/README.md).
//!
//! Starts the release `readiness` binary on a fresh SQLite file, pointed at the Slack
//! test double, and drives it with `wrk` (64 connections) using requests signed like
//! Slack's:
//! - `show`: `/readiness show acme security` from outside the customer's channel, an
//!   ephemeral answer in the HTTP body (a database read and a render);
//! - `tick`: checkbox clicks on the posted security checklist, each stored before the
//!   ack; completed `chat.update`s are counted separately.
//!
//! The floor is this same executable started as the app's own HTTP server with the
//! app's signature check and body cap, answering each route with the bytes the app
//! answered (a fair floor: the same server, the same bytes, none of the app's work),
//! driven with the same requests in the same run. Peak RSS is the server's VmHWM.

mod common;
#[path = "../tests/api/support/slack_double.rs"]
mod slack_double;

use common::{peak_rss_mb, start};

use std::{
    io::Write,
    process::Command,
    time::{Duration, Instant},
};

use hmac::{Hmac, Mac};
use readiness::slack_fake::payloads::interaction_form;
use serde_json::{Value, json};
use slack_double::{BOT_TOKEN, SlackDouble};

const SECRET: &str = "bench-signing-secret";
const TEAM: &str = "T0001";
const CONNECTIONS: &str = "64";
const SECONDS: &str = "10s";

fn sign(ts: &str, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn command_body(user: &str, channel: &str, text: &str) -> String {
    serde_urlencoded::to_string([
        ("team_id", TEAM),
        ("channel_id", channel),
        ("user_id", user),
        ("command", "/readiness"),
        ("text", text),
        ("response_url", "http://127.0.0.1:9/unused"),
        ("trigger_id", "1.2.3"),
    ])
    .unwrap()
}

/// The fair floor: the app's own HTTP server (`http::serve`, with the same limits), the
/// app's own signature check and body cap, answering each route with the very bytes
/// the app answered (recorded by the main run in `READINESS_BENCH_FLOOR`'s folder).
/// What the app spends beyond this floor is its own work: the lookup, the decision, the
/// store and the render.
async fn floor(answers: std::path::PathBuf) {
    use axum::{
        body::Bytes,
        http::{HeaderMap, StatusCode, header},
        response::IntoResponse,
        routing::post,
    };
    use readiness::{
        config::HttpLimits,
        crypto::Secret,
        http::{MAX_BODY_BYTES, signature::Verifier},
    };
    let verifier = Verifier::new(&Secret::new(SECRET));
    let route = |name: &str| {
        let answer = Recorded::read(&answers, name);
        let verifier = verifier.clone();
        post(move |headers: HeaderMap, body: axum::body::Body| {
            let verifier = verifier.clone();
            let answer = answer.clone();
            async move {
                let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
                    return StatusCode::PAYLOAD_TOO_LARGE.into_response();
                };
                if verifier.verify(&headers, &bytes).is_err() {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                let mut response = (StatusCode::OK, Bytes::from(answer.body)).into_response();
                if let Some(kind) = answer.content_type {
                    response
                        .headers_mut()
                        .insert(header::CONTENT_TYPE, kind.parse().unwrap());
                }
                response
            }
        })
    };
    let app = axum::Router::new()
        .route("/slack/commands", route("show"))
        .route("/slack/interactions", route("tick"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("listening address={}", listener.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    readiness::http::serve(
        listener,
        app,
        HttpLimits::default().header_timeout,
        std::future::pending(),
    )
    .await;
}

/// An answer of the app, kept for the floor to send back byte for byte.
#[derive(Clone)]
struct Recorded {
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Recorded {
    fn of(response: reqwest::blocking::Response) -> Self {
        assert!(response.status().is_success());
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string());
        Self {
            content_type,
            body: response.bytes().unwrap().to_vec(),
        }
    }

    fn write(&self, dir: &std::path::Path, name: &str) {
        std::fs::write(dir.join(format!("{name}.body")), &self.body).unwrap();
        std::fs::write(
            dir.join(format!("{name}.type")),
            self.content_type.clone().unwrap_or_default(),
        )
        .unwrap();
    }

    fn read(dir: &std::path::Path, name: &str) -> Self {
        let kind = std::fs::read_to_string(dir.join(format!("{name}.type"))).unwrap();
        Self {
            content_type: (!kind.is_empty()).then_some(kind),
            body: std::fs::read(dir.join(format!("{name}.body"))).unwrap(),
        }
    }
}

#[derive(Debug, Default, Clone)]
struct WrkResult {
    requests_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    non_2xx: u64,
}

fn parse_ms(text: &str) -> f64 {
    let (num, unit): (String, String) = text.chars().partition(|c| c.is_ascii_digit() || *c == '.');
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit.as_str() {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

/// Runs wrk against `url`, cycling through pre-signed (body, signature) pairs.
fn wrk(url: &str, requests: &[(String, String)], ts: &str) -> WrkResult {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("signed.lua");
    let mut lua = String::from("local requests = {\n");
    for (body, sig) in requests {
        lua.push_str(&format!("  {{ body = {body:?}, sig = {sig:?} }},\n"));
    }
    lua.push_str(&format!(
        "}}\nlocal ts = {ts:?}\nlocal n = 0\nrequest = function()\n  n = n + 1\n  local r = requests[(n % #requests) + 1]\n  return wrk.format(\"POST\", nil, {{[\"Content-Type\"] = \"application/x-www-form-urlencoded\", [\"X-Slack-Signature\"] = r.sig, [\"X-Slack-Request-Timestamp\"] = ts}}, r.body)\nend\n"
    ));
    std::fs::write(&script, lua).unwrap();
    let out = Command::new("wrk")
        .args(["-t2", "-c", CONNECTIONS, "-d", SECONDS, "--latency", "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .expect("wrk is installed (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut r = WrkResult::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", v] => r.requests_per_sec = v.parse().unwrap_or(0.0),
            ["50%", v] => r.p50_ms = parse_ms(v),
            ["99%", v] => r.p99_ms = parse_ms(v),
            [n, "requests", "in", ..] => r.requests = n.parse().unwrap_or(0),
            ["Non-2xx", "or", "3xx", "responses:", n] => r.non_2xx = n.parse().unwrap_or(0),
            _ => {}
        }
    }
    assert!(r.requests > 0, "wrk produced no requests:\n{text}");
    r
}

/// Checkbox clicks on `message`: for each item, one payload that ticks it and one that
/// unticks it, so most clicks are real writes whatever order they land in.
fn tick_bodies(channel: &str, ts: &str, message: &Value) -> Vec<String> {
    let mut bodies = Vec::new();
    for block in message["blocks"].as_array().unwrap() {
        let Some(element) = block["elements"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["type"] == "checkboxes"))
        else {
            continue;
        };
        for (index, option) in element["options"].as_array().unwrap().iter().enumerate() {
            for ticking in [true, false] {
                // The copy the clicker saw: this one box unticked (then they tick it) or
                // ticked (then they untick it). The group's block_id carries that state.
                let block_id = block["block_id"].as_str().unwrap();
                let mut parts: Vec<String> = block_id.splitn(4, ':').map(str::to_string).collect();
                parts[2] = if ticking {
                    "0".into()
                } else {
                    format!("{:x}", 1u16 << index)
                };
                let seen_block_id = parts.join(":");
                let mut shown = message.clone();
                let group = shown["blocks"]
                    .as_array_mut()
                    .unwrap()
                    .iter_mut()
                    .find(|b| b["block_id"] == block["block_id"])
                    .unwrap();
                group["block_id"] = json!(seen_block_id);
                let selected = if ticking {
                    json!([option])
                } else {
                    group["elements"][0]["initial_options"] = json!([option]);
                    json!([])
                };
                let payload = json!({
                    "type": "block_actions",
                    "user": {"id": "UBENCH", "team_id": TEAM},
                    "team": {"id": TEAM, "domain": "bench"},
                    // No message_ts: wrk replays each click many times a second, which
                    // the per-copy click memory would rightly read as "no change" (a
                    // person's second identical click). Without it, every click is read
                    // against the rendered state in its block_id, so each is a write.
                    "container": {"type": "message", "channel_id": channel, "is_ephemeral": false},
                    "channel": {"id": channel},
                    "message": {"type": "message", "ts": ts, "text": shown["text"], "blocks": shown["blocks"]},
                    "trigger_id": "1.2.3",
                    "response_url": "http://127.0.0.1:9/unused",
                    "actions": [{"type": "checkboxes", "action_id": "tick", "block_id": seen_block_id, "selected_options": selected}]
                });
                // Form-encoded as Slack posts it, `type` first.
                bodies.push(interaction_form(&payload));
            }
        }
    }
    bodies
}

fn signed(bodies: &[String], ts: &str) -> Vec<(String, String)> {
    bodies.iter().map(|b| (b.clone(), sign(ts, b))).collect()
}

fn row(name: &str, r: &WrkResult) -> String {
    format!(
        "| {name} | {:.0} | {:.2} | {:.2} | {} | {} |",
        r.requests_per_sec, r.p50_ms, r.p99_ms, r.requests, r.non_2xx
    )
}

fn main() {
    if let Some(answers) = std::env::var_os("READINESS_BENCH_FLOOR") {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(floor(answers.into()));
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks for test names; there are none.
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let double = rt.block_on(SlackDouble::start());
    let dir = tempfile::tempdir().unwrap();
    // READINESS_BENCH_BIN runs another build of the app (one with symbols, to profile).
    let binary = std::env::var("READINESS_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_readiness").to_string());
    let mut app = Command::new(binary);
    app.env(
        "DATABASE_URL",
        format!("sqlite://{}", dir.path().join("bench.db").display()),
    )
    .env("READINESS_LISTEN", "127.0.0.1:0")
    .env("SLACK_SIGNING_SECRET", SECRET)
    .env("SLACK_BOT_TOKEN", BOT_TOKEN)
    .env("SLACK_API_URL", &double.api_url)
    .env(
        "RUST_LOG",
        std::env::var("READINESS_BENCH_LOG").unwrap_or_else(|_| "warn,readiness::app=info".into()),
    )
    .env("NO_COLOR", "1")
    // One person sends everything here: the command limits are kept in the path (each
    // command is checked) but set far above what the bench sends.
    .env("READINESS_COMMANDS_PER_USER_PER_MINUTE", "4000000000")
    .env("READINESS_COMMANDS_PER_WORKSPACE_PER_MINUTE", "4000000000")
    .env_remove("READINESS_CONFIG");
    let (mut server, address) = start(app);
    let client = reqwest::blocking::Client::new();
    let post = |path: &str, body: String| {
        let ts = chrono::Utc::now().timestamp().to_string();
        client
            .post(format!("http://{address}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", sign(&ts, &body))
            .body(body)
            .send()
            .unwrap()
    };

    // Setup: a customer, its channel, and its security checklist posted there.
    assert!(
        post(
            "/slack/commands",
            command_body("UBENCH", "C0GENERAL", "new Acme tier=enterprise")
        )
        .status()
        .is_success()
    );
    let wait = |what: &str, check: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait("the channel", &|| {
        double.channel_id_by_name("cust-acme").is_some()
    });
    let channel = double.channel_id_by_name("cust-acme").unwrap();
    wait("the overview", &|| !double.messages_in(&channel).is_empty());
    assert!(
        post(
            "/slack/commands",
            command_body("UBENCH", &channel, "show security")
        )
        .status()
        .is_success()
    );
    wait("the security checklist", &|| {
        double.messages_in(&channel).len() >= 2
    });
    let (msg_ts, message) = double.messages_in(&channel).pop().unwrap();

    let ts = chrono::Utc::now().timestamp().to_string();
    let show = signed(
        &[command_body("UBENCH", "C0GENERAL", "show acme security")],
        &ts,
    );
    let tick_bodies = tick_bodies(&channel, &msg_ts, &message);
    let ticks = signed(&tick_bodies, &ts);
    // Warm the caches and the connection pools, and keep one answer of each route for
    // the floor to send back byte for byte.
    let answers = tempfile::tempdir().unwrap();
    Recorded::of(post(
        "/slack/commands",
        command_body("UBENCH", "C0GENERAL", "show acme security"),
    ))
    .write(answers.path(), "show");
    Recorded::of(post("/slack/interactions", tick_bodies[0].clone())).write(answers.path(), "tick");

    let show_result = wrk(&format!("http://{address}/slack/commands"), &show, &ts);
    let updates_before = double.calls_to("chat.update").len();
    let tick_started = Instant::now();
    let tick_result = wrk(&format!("http://{address}/slack/interactions"), &ticks, &ts);
    let tick_seconds = tick_started.elapsed().as_secs_f64();
    let update_calls = double.calls_to("chat.update");
    let updates = update_calls[updates_before..]
        .iter()
        .filter(|c| c.outcome == "ok")
        .count();
    let limited = update_calls[updates_before..]
        .iter()
        .filter(|c| c.outcome == "ratelimited")
        .count();
    std::thread::sleep(Duration::from_secs(1));
    let rss = peak_rss_mb(server.id());
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();

    let mut floor_cmd = Command::new(std::env::current_exe().unwrap());
    floor_cmd.env("READINESS_BENCH_FLOOR", answers.path());
    let (mut floor_server, floor_address) = start(floor_cmd);
    let floor_show = wrk(
        &format!("http://{floor_address}/slack/commands"),
        &show,
        &ts,
    );
    let floor_tick = wrk(
        &format!("http://{floor_address}/slack/interactions"),
        &ticks,
        &ts,
    );
    let floor_rss = peak_rss_mb(floor_server.id());
    let _ = floor_server.kill();
    let _ = floor_server.wait();

    println!("\nwrk -t2 -c{CONNECTIONS} -d{SECONDS}, signed requests, SQLite (release build)\n");
    println!("| run | req/s | p50 ms | p99 ms | requests | non-2xx |");
    println!("|---|---|---|---|---|---|");
    println!("{}", row("show (readiness)", &show_result));
    println!(
        "{}",
        row(
            "show (floor: same server, verify, same answer)",
            &floor_show
        )
    );
    println!("{}", row("tick (readiness)", &tick_result));
    println!(
        "{}",
        row(
            "tick (floor: same server, verify, same answer)",
            &floor_tick
        )
    );
    println!();
    println!(
        "show throughput vs floor: {:.0}%",
        100.0 * show_result.requests_per_sec / floor_show.requests_per_sec
    );
    println!(
        "tick throughput vs floor: {:.0}%",
        100.0 * tick_result.requests_per_sec / floor_tick.requests_per_sec
    );
    println!(
        "completed chat.update during the tick run: {updates} in {tick_seconds:.1} s ({:.1}/s, coalesced from {} acknowledged ticks; {limited} answered 429)",
        updates as f64 / tick_seconds,
        tick_result.requests
    );
    println!("peak RSS: readiness {rss:.1} MB, floor {floor_rss:.1} MB");
    drop(rt);
}
