//! Test harness: a fresh database per test, the Slack double, the real app on port 0,
//! and requests signed the way Slack signs them.

#![allow(dead_code)]

pub mod slack_double;

use std::time::Duration;

use readiness::config::{SettingArgs, Settings};
use readiness::slack_fake::payloads::{self, Container, Origin, SlashCommand};
use reqwest::StatusCode;
use serde_json::{Value, json};
use slack_double::{BOT_TOKEN, SlackDouble};
use tokio::sync::oneshot;

pub const SIGNING_SECRET: &str = "test-signing-secret";
pub const TEAM: &str = "T0001";
/// The encryption key of the many-workspace tests (base64 of 32 bytes).
pub const ENCRYPTION_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// The `readiness` binary, with none of the settings a developer's environment may
/// hold.
pub fn readiness() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_readiness"));
    for var in [
        "SLACK_SIGNING_SECRET",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "READINESS_CONFIG",
        "READINESS_TEMPLATE",
        "READINESS_LANGUAGE",
        "DATABASE_URL",
        "READINESS_LISTEN",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "READINESS_ENCRYPTION_KEY",
        "READINESS_ENCRYPTION_KEY_FILE",
        "READINESS_PUBLIC_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// A database for one test: a temporary SQLite file, or a new PostgreSQL database.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// The database at `url`, made by another `TestDb` that keeps it.
    pub fn at(url: &str) -> Self {
        TestDb {
            url: url.to_string(),
            _dir: None,
        }
    }

    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("readiness.db").display());
        TestDb {
            url,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` when TEST_POSTGRES_URL is unset outside
    /// CI. In CI (CI=true) PostgreSQL is required: an unset or unreachable server fails.
    pub async fn postgres() -> Option<Self> {
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let admin = match std::env::var("TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => url,
            _ if in_ci => panic!(
                "CI=true but TEST_POSTGRES_URL is not set: PostgreSQL tests cannot be skipped in CI"
            ),
            _ => {
                eprintln!("SKIPPED the PostgreSQL variant: TEST_POSTGRES_URL is not set");
                return None;
            }
        };
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at TEST_POSTGRES_URL: {e}"));
        let now_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        // Databases of test runs over an hour old are dropped, so they do not pile up
        // on a machine that keeps its PostgreSQL between sessions.
        let old: Vec<(String,)> =
            sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'readiness_test_%'")
                .fetch_all(&mut conn)
                .await
                .unwrap_or_default();
        for (name,) in old {
            let born: u128 = name
                .rsplit('_')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(now_ns);
            if now_ns.saturating_sub(born) > 3_600 * 1_000_000_000 {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
            }
        }
        let name = format!("readiness_test_{}_{now_ns}", std::process::id());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        Some(TestDb {
            url: url.to_string(),
            _dir: None,
        })
    }
}

/// The real app, serving on 127.0.0.1:0, talking to the double.
pub struct TestApp {
    pub base: String,
    pub double: SlackDouble,
    pub db_url: String,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    next_response: std::sync::atomic::AtomicU32,
    /// With `("virtual_clock", "")`: the app's handlers and clock, which
    /// [`TestApp::advance`] moves.
    virtual_app: Option<readiness::slack::Context>,
}

impl TestApp {
    pub async fn spawn(db: &TestDb) -> Self {
        let double = SlackDouble::start().await;
        Self::spawn_with(db, double, &[]).await
    }

    /// Starts the app on `db` with an existing double; `extra` are further settings.
    pub async fn spawn_with(db: &TestDb, double: SlackDouble, extra: &[(&str, &str)]) -> Self {
        // The app's logs, shown with a failing test's output (RUST_LOG to change).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "readiness=info".into()),
            )
            .with_test_writer()
            .try_init();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut args = SettingArgs {
            database_url: Some(db.url.clone()),
            slack_signing_secret: Some(SIGNING_SECRET.into()),
            slack_bot_token: Some(BOT_TOKEN.into()),
            slack_api_url: Some(format!("{}/", double.api_url)),
            ..Default::default()
        };
        let mut virtual_clock: Option<chrono::DateTime<chrono::Utc>> = None;
        for (key, value) in extra {
            match *key {
                // The app's clock stands still until the test moves it (`advance`).
                // It starts now, or at the Unix ms given (a restart goes on from where
                // the last run's clock stood: `clock_ms`).
                "virtual_clock" => {
                    virtual_clock = Some(match value.parse::<i64>() {
                        Ok(ms) => readiness::time_source::at_ms(ms),
                        Err(_) => chrono::Utc::now(),
                    })
                }
                "language" => args.language = Some(value.to_string()),
                "template" => args.template = Some(value.into()),
                "config" => args.config = Some(value.into()),
                "backup_dir" => args.backup_dir = Some(value.into()),
                // Many workspaces, installed through OAuth: no SLACK_BOT_TOKEN.
                "many_workspaces" => {
                    args.slack_bot_token = None;
                    args.slack_client_id = Some(slack_double::CLIENT_ID.into());
                    args.slack_client_secret = Some(slack_double::CLIENT_SECRET.into());
                    args.public_url = Some(base.clone());
                    if args.encryption_key_file.is_none() {
                        args.encryption_key = Some(value.to_string());
                    }
                }
                "app_token" => args.slack_app_token = Some(value.to_string()),
                "http_header_timeout" => args.http_header_timeout = Some(value.to_string()),
                "http_body_timeout" => args.http_body_timeout = Some(value.to_string()),
                "http_max_requests" => args.http_max_requests = Some(value.parse().unwrap()),
                "encryption_key_file" => {
                    args.encryption_key = None;
                    args.encryption_key_file = Some(value.into());
                }
                other => panic!("unknown test setting {other}"),
            }
        }
        let settings = Settings::resolve(&args).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async {
            let _ = stopped.await;
        };
        let (task, virtual_app) = if let Some(start) = virtual_clock {
            double.set_unpaced();
            let time = readiness::time_source::TimeSource::virtual_at(start);
            let started = readiness::app::App::start(settings, time).await.unwrap();
            let ctx = started.context().clone();
            (tokio::spawn(started.serve(listener, shutdown)), Some(ctx))
        } else {
            let run = readiness::app::run(settings, listener, shutdown);
            (tokio::spawn(run), None)
        };
        let app = TestApp {
            base,
            double,
            db_url: db.url.clone(),
            client: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
            next_response: 0.into(),
            virtual_app,
        };
        app.wait_ready().await;
        app
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Ok(r) = self
                .client
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                && r.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the app did not become ready");
    }

    /// Stops the app the way SIGTERM does and waits for it.
    pub async fn stop(mut self) -> SlackDouble {
        // The handlers kept for `advance` hold the delivery queue open, and the app's
        // shutdown waits for it to close.
        self.virtual_app = None;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        self.double.clone()
    }

    /// Moves the app's virtual clock `by` forward, letting everything due on the way
    /// happen in order (timers, reminders, the outbox), and waits until the app is
    /// idle at the new time. Needs `("virtual_clock", "")`.
    pub async fn advance(&self, by: Duration) {
        let ctx = self
            .virtual_app
            .as_ref()
            .expect("advance needs the virtual_clock setting");
        let until = ctx.usecases.tickets.time.now_ms() + by.as_millis() as i64;
        readiness::app::settle(ctx, until - ctx.usecases.tickets.time.now_ms())
            .await
            .unwrap();
        ctx.usecases.tickets.time.advance_to(until);
        readiness::app::settle(ctx, 0).await.unwrap();
    }

    /// Where the app's virtual clock stands (Unix ms). Needs `("virtual_clock", "")`.
    pub fn clock_ms(&self) -> i64 {
        self.virtual_app
            .as_ref()
            .expect("clock_ms needs the virtual_clock setting")
            .usecases
            .tickets
            .time
            .now_ms()
    }

    /// Stops and starts again on the same database and double.
    pub async fn restart(self) -> TestApp {
        self.restart_with(&[]).await
    }

    /// Stops and starts again on the same database and double, with these settings.
    pub async fn restart_with(self, extra: &[(&str, &str)]) -> TestApp {
        let db_url = self.db_url.clone();
        let double = self.stop().await;
        let db = TestDb {
            url: db_url,
            _dir: None,
        };
        TestApp::spawn_with(&db, double, extra).await
    }

    pub fn response_url(&self) -> String {
        let n = self
            .next_response
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        format!("{}/r{n}", self.double.response_base)
    }

    pub async fn post_signed(
        &self,
        path: &str,
        content_type: &str,
        body: String,
    ) -> reqwest::Response {
        self.signed(path, content_type, body).send().await.unwrap()
    }

    /// A request signed as Slack signs it, with the current time, ready to send.
    fn signed(&self, path: &str, content_type: &str, body: String) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type);
        let now = chrono::Utc::now().timestamp();
        for (name, value) in payloads::signature_headers(SIGNING_SECRET, now, body.as_bytes()) {
            request = request.header(name, value);
        }
        request.body(body)
    }

    /// A slash command as Slack sends it: form-encoded, signed.
    pub fn command_body(&self, user: &str, channel: &str, text: &str) -> String {
        self.command_body_in(TEAM, user, channel, text)
    }

    /// A slash command from workspace `team`.
    pub fn command_body_in(&self, team: &str, user: &str, channel: &str, text: &str) -> String {
        origin(team).slash_command(&SlashCommand {
            command: "/readiness",
            text,
            user,
            user_name: "someone",
            channel,
            channel_name: "somewhere",
            response_url: &self.response_url(),
            trigger_id: "13345224609.738474920.8088930838d88f008e0",
        })
    }

    /// Runs `/readiness <text>`; returns the status and the JSON body (Null if empty).
    pub async fn command(&self, user: &str, channel: &str, text: &str) -> (StatusCode, Value) {
        let body = self.command_body(user, channel, text);
        let response = self
            .post_signed("/slack/commands", "application/x-www-form-urlencoded", body)
            .await;
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `/readiness <text>` typed in workspace `team`; the ephemeral answer's text (or
    /// "" when the answer is in the channel).
    pub async fn command_in(&self, team: &str, user: &str, channel: &str, text: &str) -> String {
        let body = self.command_body_in(team, user, channel, text);
        let response = self
            .post_signed("/slack/commands", "application/x-www-form-urlencoded", body)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap_or_default();
        format!(
            "{} {}",
            body["text"].as_str().unwrap_or_default(),
            body["blocks"]
        )
    }

    /// Installs the app into `team` through the OAuth flow, as an admin's browser
    /// would: /slack/install → Slack's authorize page (the double) → the callback.
    /// Returns the callback's status and page.
    pub async fn install(&self, team: &str, name: &str, user: &str) -> (StatusCode, String) {
        self.double.approve_install(team, name, user);
        self.run_install_flow().await
    }

    /// Follows the install flow from /slack/install, carrying its cookie like a browser.
    pub async fn run_install_flow(&self) -> (StatusCode, String) {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let start = browser
            .get(format!("{}/slack/install", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), StatusCode::FOUND);
        let cookie = cookie_of(start.headers());
        let authorize = start.headers()["location"].to_str().unwrap().to_string();
        let back = browser.get(&authorize).send().await.unwrap();
        assert_eq!(back.status(), StatusCode::FOUND);
        let callback = back.headers()["location"].to_str().unwrap().to_string();
        let done = browser
            .get(&callback)
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        (done.status(), done.text().await.unwrap())
    }

    /// The text of an ephemeral answer.
    pub async fn command_text(&self, user: &str, channel: &str, text: &str) -> String {
        let (status, body) = self.command(user, channel, text).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["response_type"], "ephemeral", "{body}");
        body["text"].as_str().unwrap().to_string()
    }

    /// Everything an ephemeral answer shows: its text and its blocks, as JSON text.
    pub async fn command_shown(&self, user: &str, channel: &str, text: &str) -> String {
        let (status, body) = self.command(user, channel, text).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["response_type"], "ephemeral", "{body}");
        format!("{} {}", body["text"], body["blocks"])
    }

    /// A signed interaction request, ready to send (from any task).
    pub fn interaction_request(&self, payload: &Value) -> reqwest::RequestBuilder {
        self.signed(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            payloads::interaction_form(payload),
        )
    }

    pub async fn interact(&self, payload: &Value) -> reqwest::Response {
        self.interaction_request(payload).send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Creates a customer through `/readiness new` and waits for its overview.
    pub async fn new_customer(&self, user: &str, args: &str) -> String {
        self.new_customer_in(TEAM, user, args).await
    }

    /// Creates a customer in workspace `team`; returns its channel once the overview
    /// is posted.
    pub async fn new_customer_in(&self, team: &str, user: &str, args: &str) -> String {
        let text = self
            .command_in(team, user, "C0GENERAL", &format!("new {args}"))
            .await;
        assert!(text.contains("Created"), "{text}");
        let responses_before = self.double.responses().len();
        // A generous deadline: the channel, the overview and its pin are several calls,
        // and a loaded machine (two cores, several test runs) once took over 10 s.
        self.double
            .wait_up_to(Duration::from_secs(60), "the overview to be posted", |d| {
                d.responses().len() > responses_before
            })
            .await;
        let (_, response) = self.double.responses().last().cloned().unwrap();
        let text = response["text"].as_str().unwrap_or_default().to_string();
        text.split("<#")
            .nth(1)
            .and_then(|s| s.split('>').next())
            .unwrap_or_else(|| panic!("no channel in {text}"))
            .to_string()
    }
}

/// A block_actions payload as Slack sends it: `user` of `team` clicked `action` on
/// the message `message_ts` in `channel`.
pub fn block_actions(
    team: &str,
    user: &str,
    channel: &str,
    message_ts: &str,
    action: Value,
) -> Value {
    let container = Container::Message {
        channel: channel.into(),
        channel_name: Some("cust".into()),
        ts: message_ts.into(),
        ephemeral: false,
        message: None,
        response_url: Some("http://127.0.0.1:9/unused".into()),
    };
    origin(team).block_actions(user, "1.2.3", &container, action)
}

/// Requests from workspace `team`, as the tests' Slack sends them.
pub fn origin(team: &str) -> Origin {
    Origin {
        team: team.into(),
        domain: "example".into(),
        api_app_id: "A0001".into(),
        token: "deprecated-verification-token".into(),
    }
}

/// A checkbox click on customer `customer`'s group of 1.1.1 and 1.1.2 as first
/// rendered (nothing ticked), selecting 1.1.1.
pub fn tick_1_1_1(customer: i64) -> Value {
    json!({
        "action_id": "tick", "block_id": format!("tick:{customer}:0:1.1.1,1.1.2"),
        "type": "checkboxes", "selected_options": [{"value": "1.1.1"}], "action_ts": "1"
    })
}

/// The `name=value` of a response's Set-Cookie, as a browser sends it back.
pub fn cookie_of(headers: &reqwest::header::HeaderMap) -> String {
    headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// An Events API callback of workspace TEAM carrying `event`, as Slack sends it.
pub fn event_callback(id: &str, event: Value) -> String {
    event_callback_in(TEAM, id, event)
}

/// An Events API callback of workspace `team`.
pub fn event_callback_in(team: &str, id: &str, event: Value) -> String {
    origin(team)
        .event_callback(id, chrono::Utc::now().timestamp(), event)
        .to_string()
}

/// Slack's request signature (`v0=` HMAC-SHA256), as the library's payload builder
/// computes it.
pub fn sign(secret: &str, ts: &str, body: &str) -> String {
    readiness::slack_fake::payloads::sign(secret, ts, body.as_bytes())
}

/// The checkbox groups of a message: (block_id, option values, initial values).
pub fn checkbox_groups(message: &Value) -> Vec<(String, Vec<String>, Vec<String>)> {
    let values = |list: &Value| -> Vec<String> {
        list.as_array()
            .map(|l| {
                l.iter()
                    .map(|o| o["value"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| {
            let e = b["elements"]
                .as_array()?
                .iter()
                .find(|e| e["type"] == "checkboxes")?;
            Some((
                b["block_id"].as_str().unwrap().to_string(),
                values(&e["options"]),
                values(&e["initial_options"]),
            ))
        })
        .collect()
}

/// `block_id` of a checkbox group as if rendered with the boxes in `mask` ticked (bit
/// `i` for the group's `i`-th item): what an older copy of the message carries.
pub fn as_rendered_with(block_id: &str, mask: u16) -> String {
    let mut parts: Vec<&str> = block_id.splitn(4, ':').collect();
    let hex = format!("{mask:x}");
    parts[2] = &hex;
    parts.join(":")
}

/// A block_actions payload for a checkbox click on `message` as the clicker saw it:
/// the group's whole selection is `selected`.
pub fn tick_payload(
    user: &str,
    channel: &str,
    ts: &str,
    message: &Value,
    block_id: &str,
    selected: &[&str],
) -> Value {
    // The group's items are the same whatever state the copy was rendered in.
    let items = |id: &str| id.splitn(4, ':').nth(3).unwrap_or("").to_string();
    let block = message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| items(b["block_id"].as_str().unwrap_or("")) == items(block_id))
        .unwrap();
    let element = block["elements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "checkboxes")
        .unwrap();
    let selected_options: Vec<Value> = element["options"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| selected.contains(&o["value"].as_str().unwrap()))
        .cloned()
        .collect();
    json!({
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": TEAM},
        "api_app_id": "A0001",
        "token": "deprecated",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
        "trigger_id": "1234567890123.1234567890.abcdef",
        "team": {"id": TEAM, "domain": "example"},
        "enterprise": null,
        "is_enterprise_install": false,
        "channel": {"id": channel, "name": "cust"},
        "message": {"type": "message", "subtype": "bot_message", "text": message["text"], "ts": ts, "bot_id": "B0001", "blocks": message["blocks"]},
        "state": {"values": {block_id: {"tick": {"type": "checkboxes", "selected_options": selected_options}}}},
        "response_url": format!("{}/ignored", "http://127.0.0.1:9"),
        "actions": [{
            "type": "checkboxes",
            "action_id": "tick",
            "block_id": block_id,
            "selected_options": selected_options,
            "action_ts": "1700000001.000100"
        }]
    })
}
