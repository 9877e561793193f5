//! A Slack Web API test double on 127.0.0.1: it records every call, answers like
//! Slack, and rejects what Slack would reject (bad tokens, bad channel names, taken
//! names, messages over 50 blocks or with more than 10 checkbox options, unknown
//! channels and messages, posting faster than a channel allows).
//!
//! It checks Block Kit on its own, independently of the app's `blocks::limits`, so a
//! renderer bug is not hidden by the same bug in the checker.

#![allow(dead_code)]

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{any, get, post},
};
use serde_json::{Value, json};

pub const BOT_TOKEN: &str = "xoxb-test-double-token";
pub const BOT_USER: &str = "UBOT0001";
/// The app-level token (Socket Mode's apps.connections.open).
pub const APP_TOKEN: &str = "xapp-1-test-app-token";
/// The OAuth app's credentials the double knows (oauth.v2.access checks them).
pub const CLIENT_ID: &str = "1111.2222";
pub const CLIENT_SECRET: &str = "test-client-secret";

#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The workspace whose token made the call (empty for none, or a bad one).
    pub team: String,
    pub args: Value,
    /// What the double answered: `ok` or the error code.
    pub outcome: String,
}

#[derive(Default)]
struct Channel {
    name: String,
    private: bool,
    bot_is_member: bool,
    members: HashSet<String>,
    /// Shared with another organisation (Slack Connect).
    shared: bool,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    channels: HashMap<String, Channel>,
    /// Current content of each message, by (channel, ts).
    messages: HashMap<(String, String), Value>,
    pins: HashSet<(String, String)>,
    next_id: u64,
    next_ts: u64,
    /// Per channel: tokens left and when last refilled (≈1 post a second, bursts of 3).
    post_buckets: HashMap<String, (f64, Instant)>,
    /// chat.update, a tier 3 method: ≈50 a minute with bursts of 50, per workspace.
    update_buckets: HashMap<String, (f64, Instant)>,
    /// conversations.history and .replies, tier 3 too (one bucket for both here).
    history_bucket: Option<(f64, Instant)>,
    locales: HashMap<String, String>,
    /// Users whose users.info says is_admin.
    admins: HashSet<String>,
    /// What users.info says of a person beyond the defaults (a guest's
    /// `is_restricted`, a Slack Connect person's `team_id` and `is_stranger`, …).
    people: HashMap<String, Value>,
    responses: Vec<(String, Value)>,
    /// Every answer waits this long (a slow Slack).
    delay: Duration,
    /// chat.postMessage answers this long after it has posted (a crash of the caller
    /// in between leaves a post it cannot know about).
    post_answer_delay: Duration,
    /// Off: posts are not held to Slack's pace in real time (for an app on a virtual
    /// clock, which paces its posts in its own time).
    unpaced: bool,
    /// Errors to answer for a method, once each, before working normally again.
    failures: HashMap<String, Vec<String>>,
    /// users.info time zones (Asia/Tokyo for anyone not here).
    tzs: HashMap<String, String>,
    /// Where files.getUploadURLExternal sends uploads (this double).
    upload_base: String,
    /// Files asked for with files.getUploadURLExternal: id → (filename, length).
    upload_tickets: HashMap<String, (String, usize)>,
    /// Bytes received at an upload URL, by file id.
    uploaded: HashMap<String, Vec<u8>>,
    /// Files shared with files.completeUploadExternal.
    pub shared_files: Vec<SharedFile>,
    /// Calls of a method left unanswered (Slack hanging), how many still to come.
    hangs: HashMap<String, usize>,
    /// Each user's direct conversation with the app (`D…`), opened by a DM posted to
    /// their user id or by conversations.open.
    ims: HashMap<String, String>,
    /// The App Home last published for each user.
    homes: HashMap<String, Value>,
    /// A workspace-wide limit on chat.postMessage, posts a minute (off when `None`),
    /// as a bucket holding five seconds' worth.
    workspace_posts: Option<(f64, f64, Instant)>,
    /// Valid bot tokens → the workspace (team id, or enterprise id) they act for.
    tokens: HashMap<String, String>,
    /// The next install to approve at the authorize page.
    approving: Option<Approval>,
    /// Codes given at the authorize page and not yet exchanged.
    codes: HashMap<String, (Approval, String)>,
    /// Every token minted by oauth.v2.access, in order.
    pub minted: Vec<String>,
    /// Where apps.connections.open sends the app (this double's WebSocket server).
    socket_url: String,
    /// User groups' members, for usergroups.users.list.
    groups: HashMap<String, Vec<String>>,
}

/// What an installer approves on Slack's authorize page.
#[derive(Debug, Clone)]
pub struct Approval {
    pub team: Option<(String, String)>,
    pub enterprise: Option<(String, String)>,
    pub org_install: bool,
    pub user: String,
}

/// Slack's end of a Socket Mode connection.
pub struct SocketPeer {
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
}

impl SocketPeer {
    pub async fn send(&mut self, frame: Value) {
        use futures_util::SinkExt;
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::text(
                frame.to_string(),
            ))
            .await
            .unwrap();
    }

    /// The next text frame from the app (an acknowledgement), within 5 s.
    pub async fn next_ack(&mut self) -> Value {
        use futures_util::StreamExt;
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("no acknowledgement within 5 s")
                .expect("the app closed the socket")
                .unwrap();
            if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
                return serde_json::from_str(text.as_str()).unwrap();
            }
        }
    }

    /// Drops the connection without a word, as a network failure would.
    pub async fn drop_connection(self) {
        drop(self.ws);
    }
}

/// A file shared in a channel.
#[derive(Debug, Clone)]
pub struct SharedFile {
    pub channel: String,
    pub thread_ts: Option<String>,
    pub filename: String,
    pub title: String,
    pub content: Vec<u8>,
}

#[derive(Clone)]
pub struct SlackDouble {
    inner: Arc<Mutex<Inner>>,
    /// Socket Mode connections the app opened, in order.
    sockets: Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<SocketPeer>>>,
    /// Base of the Web API, for SLACK_API_URL.
    pub api_url: String,
    /// Base for response_urls: append any id.
    pub response_base: String,
}

fn ok(extra: Value) -> Value {
    let mut v = json!({"ok": true});
    if let (Some(map), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in extra {
            map.insert(k.clone(), val.clone());
        }
    }
    v
}

fn err(code: &str) -> Value {
    json!({"ok": false, "error": code})
}

impl SlackDouble {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            next_id: 1000,
            next_ts: 1,
            tokens: [
                (BOT_TOKEN.to_string(), "T0001".to_string()),
                (APP_TOKEN.to_string(), "app".to_string()),
            ]
            .into(),
            ..Default::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let socket_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let socket_addr = socket_listener.local_addr().unwrap();
        let (peers, sockets) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = socket_listener.accept().await {
                if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await
                    && peers.send(SocketPeer { ws }).is_err()
                {
                    return;
                }
            }
        });
        inner.lock().unwrap().socket_url = format!("ws://{socket_addr}/link");
        let double = SlackDouble {
            inner: inner.clone(),
            sockets: Arc::new(tokio::sync::Mutex::new(sockets)),
            api_url: format!("http://{addr}/api"),
            response_base: format!("http://{addr}/response"),
        };
        double.lock().upload_base = format!("http://{addr}/upload");
        let app = Router::new()
            .route("/api/{method}", any(api))
            .route("/response/{id}", post(response_url))
            .route("/upload/{id}", post(upload))
            .route("/oauth/v2/authorize", get(authorize))
            .with_state(double.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        double
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }

    /// The next Socket Mode connection the app opens (waits up to 10 s).
    pub async fn next_socket(&self) -> SocketPeer {
        tokio::time::timeout(Duration::from_secs(10), self.sockets.lock().await.recv())
            .await
            .expect("the app did not connect over Socket Mode")
            .unwrap()
    }

    /// Who usergroups.users.list says is in `group`.
    pub fn set_group_members(&self, group: &str, users: &[&str]) {
        self.lock().groups.insert(
            group.to_string(),
            users.iter().map(|u| u.to_string()).collect(),
        );
    }

    /// The next visit to the authorize page approves installing into `team`.
    pub fn approve_install(&self, team: &str, name: &str, user: &str) {
        self.lock().approving = Some(Approval {
            team: Some((team.to_string(), name.to_string())),
            enterprise: None,
            org_install: false,
            user: user.to_string(),
        });
    }

    /// The next visit approves an org-wide install into the organisation `enterprise`.
    pub fn approve_org_install(&self, enterprise: &str, name: &str, user: &str) {
        self.lock().approving = Some(Approval {
            team: None,
            enterprise: Some((enterprise.to_string(), name.to_string())),
            org_install: true,
            user: user.to_string(),
        });
    }

    /// Tokens minted by oauth.v2.access, oldest first.
    pub fn minted_tokens(&self) -> Vec<String> {
        self.lock().minted.clone()
    }

    /// Slack forgets every token of `workspace` (an uninstall).
    pub fn revoke(&self, workspace: &str) {
        self.lock().tokens.retain(|_, w| w != workspace);
    }

    /// Enforces a workspace-wide limit of `per_minute` posts (429 past it).
    pub fn set_workspace_post_limit(&self, per_minute: f64) {
        self.lock().workspace_posts = Some((per_minute, per_minute / 12.0, Instant::now()));
    }

    /// What users.info says is `user`'s time zone.
    pub fn set_tz(&self, user: &str, tz: &str) {
        self.lock().tzs.insert(user.into(), tz.into());
    }

    /// How many calls of `method` Slack answered `ok` whose `text` holds `needle`
    /// (without copying the calls: a test may ask this every few milliseconds).
    pub fn count_ok(&self, method: &str, needle: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method && c.outcome == "ok")
            .filter(|c| c.args["text"].as_str().unwrap_or("").contains(needle))
            .count()
    }

    /// Files shared so far.
    pub fn shared_files(&self) -> Vec<SharedFile> {
        self.lock().shared_files.clone()
    }

    /// The App Home last published for `user`.
    pub fn home_of(&self, user: &str) -> Option<Value> {
        self.lock().homes.get(user).cloned()
    }

    /// The DMs sent to `user` (their texts), oldest first.
    pub fn dms_to(&self, user: &str) -> Vec<String> {
        let inner = self.lock();
        let Some(im) = inner.ims.get(user) else {
            return Vec::new();
        };
        let mut dms: Vec<(String, String)> = inner
            .messages
            .iter()
            .filter(|((c, _), _)| c == im)
            .map(|((_, ts), m)| (ts.clone(), m["text"].as_str().unwrap_or("").to_string()))
            .collect();
        dms.sort_by(|a, b| {
            let ts = |t: &str| t.parse::<f64>().unwrap_or(0.0);
            ts(&a.0).total_cmp(&ts(&b.0))
        });
        dms.into_iter().map(|(_, text)| text).collect()
    }

    /// An existing channel the bot is (or is not) a member of, for `channel=` links.
    pub fn add_channel(&self, id: &str, name: &str, bot_is_member: bool) {
        self.lock().channels.insert(
            id.to_string(),
            Channel {
                name: name.into(),
                private: false,
                bot_is_member,
                members: HashSet::new(),
                shared: false,
            },
        );
    }

    /// Marks a channel as shared with the customer's organisation (Slack Connect).
    pub fn set_shared(&self, id: &str, shared: bool) {
        if let Some(c) = self.lock().channels.get_mut(id) {
            c.shared = shared;
        }
    }

    /// Replies in the thread of `thread_ts`, oldest first (the parent left out).
    /// How many thread replies there are in `channel`, under any message.
    pub fn replies_in(&self, channel: &str) -> usize {
        self.messages_in(channel)
            .iter()
            .filter(|(ts, m)| m["thread_ts"].as_str().is_some_and(|t| t != ts))
            .count()
    }

    pub fn thread_replies(&self, channel: &str, thread_ts: &str) -> Vec<Value> {
        self.messages_in(channel)
            .into_iter()
            .filter(|(ts, m)| m["thread_ts"] == thread_ts && ts != thread_ts)
            .map(|(_, m)| m)
            .collect()
    }

    /// Messages in a channel that are not thread replies, oldest first.
    pub fn top_level(&self, channel: &str) -> Vec<Value> {
        self.messages_in(channel)
            .into_iter()
            .filter(|(ts, m)| m["thread_ts"].is_null() || m["thread_ts"] == ts.as_str())
            .map(|(_, m)| m)
            .collect()
    }

    /// Posts are no longer held to Slack's pace in real time: the app under test runs
    /// on a virtual clock and paces its posts in its own time.
    pub fn set_unpaced(&self) {
        self.lock().unpaced = true;
    }

    pub fn set_admin(&self, user: &str) {
        self.lock().admins.insert(user.into());
    }

    /// A single-channel guest of the workspace (`is_ultra_restricted`), or with
    /// `multi`, a multi-channel guest (`is_restricted`).
    pub fn set_guest(&self, user: &str, multi: bool) {
        let flag = if multi {
            json!({"is_restricted": true})
        } else {
            json!({"is_restricted": true, "is_ultra_restricted": true})
        };
        self.set_person(user, flag);
    }

    /// A person of another organisation, met through Slack Connect.
    pub fn set_connect_person(&self, user: &str, team: &str) {
        self.set_person(user, json!({"team_id": team, "is_stranger": true}));
    }

    /// Fields users.info adds to (or changes in) its answer about `user`.
    pub fn set_person(&self, user: &str, fields: Value) {
        let mut inner = self.lock();
        let person = inner.people.entry(user.into()).or_insert_with(|| json!({}));
        for (key, value) in fields.as_object().cloned().unwrap_or_default() {
            person[key] = value;
        }
    }

    pub fn set_locale(&self, user: &str, locale: &str) {
        self.lock().locales.insert(user.into(), locale.into());
    }

    pub fn set_post_answer_delay(&self, delay: Duration) {
        self.lock().post_answer_delay = delay;
    }

    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// The next `count` calls of `method` get no answer at all (the connection stays
    /// open): the caller must give up on its own.
    pub fn hang_next(&self, method: &str, count: usize) {
        self.lock().hangs.insert(method.into(), count);
    }

    /// The `D…` conversation of `user` with the app, once a DM opened it.
    pub fn im_of(&self, user: &str) -> Option<String> {
        self.lock().ims.get(user).cloned()
    }

    /// The next calls of `method` fail with these codes, in order.
    pub fn fail_next(&self, method: &str, codes: &[&str]) {
        self.lock()
            .failures
            .insert(method.into(), codes.iter().map(|c| c.to_string()).collect());
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    pub fn channel_id_by_name(&self, name: &str) -> Option<String> {
        self.lock()
            .channels
            .iter()
            .find(|(_, c)| c.name == name)
            .map(|(id, _)| id.clone())
    }

    pub fn channel_is_private(&self, id: &str) -> bool {
        self.lock().channels.get(id).is_some_and(|c| c.private)
    }

    pub fn members(&self, id: &str) -> HashSet<String> {
        self.lock()
            .channels
            .get(id)
            .map(|c| c.members.clone())
            .unwrap_or_default()
    }

    /// Messages now in a channel, oldest first, as (ts, message).
    pub fn messages_in(&self, channel: &str) -> Vec<(String, Value)> {
        let inner = self.lock();
        // A user id stands for the app's DM conversation with them.
        let channel = inner.ims.get(channel).map_or(channel, String::as_str);
        let mut list: Vec<(String, Value)> = inner
            .messages
            .iter()
            .filter(|((c, _), _)| c == channel)
            .map(|((_, ts), m)| (ts.clone(), m.clone()))
            .collect();
        list.sort_by(|a, b| {
            a.0.parse::<f64>()
                .unwrap()
                .total_cmp(&b.0.parse::<f64>().unwrap())
        });
        list
    }

    pub fn message(&self, channel: &str, ts: &str) -> Option<Value> {
        self.lock()
            .messages
            .get(&(channel.to_string(), ts.to_string()))
            .cloned()
    }

    pub fn is_pinned(&self, channel: &str, ts: &str) -> bool {
        self.lock()
            .pins
            .contains(&(channel.to_string(), ts.to_string()))
    }

    pub fn responses(&self) -> Vec<(String, Value)> {
        self.lock().responses.clone()
    }

    /// Waits until `check` holds, for up to 10 s.
    pub async fn wait_for(&self, what: &str, check: impl Fn(&SlackDouble) -> bool) {
        self.wait_up_to(Duration::from_secs(10), what, check).await
    }

    /// Waits until `check` holds, for up to `limit`.
    pub async fn wait_up_to(
        &self,
        limit: Duration,
        what: &str,
        check: impl Fn(&SlackDouble) -> bool,
    ) {
        let deadline = Instant::now() + limit;
        while !check(self) {
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; calls: {:#?}", self.calls());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn response_url(
    State(double): State<SlackDouble>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    double.lock().responses.push((id, value));
    Json(json!({"ok": true})).into_response()
}

async fn upload(
    State(double): State<SlackDouble>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut inner = double.lock();
    if !inner.upload_tickets.contains_key(&id) {
        return (StatusCode::NOT_FOUND, "unknown upload").into_response();
    }
    inner.uploaded.insert(id, body.to_vec());
    (StatusCode::OK, "OK - 1").into_response()
}

async fn api(
    State(double): State<SlackDouble>,
    Path(method): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args = readiness::shell::stand_in::args_of(&headers, query, &body);
    let hang = {
        let mut inner = double.lock();
        let hang = inner
            .hangs
            .get_mut(&method)
            .filter(|n| **n > 0)
            .map(|n| *n -= 1);
        if hang.is_some() {
            inner.calls.push(Call {
                method: method.clone(),
                team: String::new(),
                args: args.clone(),
                outcome: "hung".into(),
            });
        }
        hang.is_some()
    };
    if hang {
        std::future::pending::<()>().await;
    }
    let delay = double.lock().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if method == "oauth.v2.access" {
        return oauth_access(&double, &headers, &args);
    }
    let caller = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| double.lock().tokens.get(token).cloned());
    let authorized = caller.is_some();
    // The lock is released before any wait (a std mutex guard must not cross an await).
    let (status, answer, answer_delay) = {
        let mut inner = double.lock();
        let (status, answer) = if !authorized {
            (StatusCode::OK, err("invalid_auth"))
        } else if (method == "apps.connections.open") != (caller.as_deref() == Some("app")) {
            // The app-level token opens sockets and nothing else.
            (StatusCode::OK, err("not_allowed_token_type"))
        } else if let Some(code) = inner
            .failures
            .get_mut(&method)
            .and_then(|f| (!f.is_empty()).then(|| f.remove(0)))
        {
            match code.as_str() {
                "ratelimited" => (StatusCode::TOO_MANY_REQUESTS, err("ratelimited")),
                "http500" => (StatusCode::INTERNAL_SERVER_ERROR, err("internal_error")),
                // Slack did the work, but the answer never arrived: the caller cannot know.
                "posted_then_http500" => {
                    let team = caller.clone().unwrap_or_default();
                    let _ = handle(&mut inner, &method, &args, &team);
                    (StatusCode::INTERNAL_SERVER_ERROR, err("internal_error"))
                }
                _ => (StatusCode::OK, err(&code)),
            }
        } else {
            let caller = caller.clone().unwrap_or_default();
            let (status, mut answer) = handle(&mut inner, &method, &args, &caller);
            // An org-wide token acts for its enterprise (`E…`), not one team.
            let org_token = caller.starts_with('E');
            if method == "users.info" && answer["ok"] == true {
                // People belong to the workspace asking about them; an organisation's
                // people are homed in one of its workspaces.
                if org_token {
                    answer["user"]["team_id"] = json!("T0ORGHOME");
                    answer["user"]["enterprise_user"] = json!({
                        "id": answer["user"]["id"], "enterprise_id": caller,
                        "enterprise_name": "Org", "is_admin": false, "is_owner": false,
                        "teams": ["T0ORGHOME"],
                    });
                } else {
                    answer["user"]["team_id"] = json!(caller);
                }
                let user = answer["user"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if let Some(fields) = inner.people.get(&user).and_then(Value::as_object) {
                    for (key, value) in fields {
                        answer["user"][key] = value.clone();
                    }
                }
            }
            if method == "auth.test" && answer["ok"] == true {
                if org_token {
                    answer["team_id"] = Value::Null;
                    answer["enterprise_id"] = json!(caller);
                    answer["is_enterprise_install"] = json!(true);
                } else {
                    answer["team_id"] = json!(caller);
                }
            }
            (status, answer)
        };
        let outcome = if answer["ok"] == true {
            "ok".to_string()
        } else {
            answer["error"].as_str().unwrap_or("?").to_string()
        };
        inner.calls.push(Call {
            method: method.clone(),
            team: caller.clone().unwrap_or_default(),
            args,
            outcome,
        });
        let answer_delay = if method == "chat.postMessage" {
            inner.post_answer_delay
        } else {
            Duration::ZERO
        };
        (status, answer, answer_delay)
    };
    if !answer_delay.is_zero() {
        tokio::time::sleep(answer_delay).await;
    }
    let mut response = (status, Json(answer)).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert("retry-after", "1".parse().unwrap());
    }
    response
}

/// Slack's authorize page, as if the installer approved what the test set up (or
/// cancelled, when nothing was): back to the redirect URI with a code and the state.
async fn authorize(
    State(double): State<SlackDouble>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let redirect = query.get("redirect_uri").cloned().unwrap_or_default();
    let state = query.get("state").cloned().unwrap_or_default();
    if query.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return (StatusCode::BAD_REQUEST, "invalid_client_id").into_response();
    }
    let mut inner = double.lock();
    let mut url = url::Url::parse(&redirect).unwrap();
    match inner.approving.take() {
        Some(approval) => {
            inner.next_id += 1;
            let code = format!("code-{}", inner.next_id);
            inner
                .codes
                .insert(code.clone(), (approval, redirect.clone()));
            url.query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("state", &state);
        }
        None => {
            url.query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("state", &state);
        }
    }
    (
        StatusCode::FOUND,
        [(axum::http::header::LOCATION, url.to_string())],
    )
        .into_response()
}

/// oauth.v2.access: the app's credentials in Basic auth, a code given once.
fn oauth_access(double: &SlackDouble, headers: &HeaderMap, args: &Value) -> Response {
    use base64::Engine;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Basic {basic}"));
    let mut inner = double.lock();
    let answer = if !authorized {
        err("invalid_client")
    } else {
        match inner.codes.remove(str_arg(args, "code").unwrap_or("")) {
            None => err("invalid_code"),
            Some((_, redirect)) if str_arg(args, "redirect_uri") != Some(redirect.as_str()) => {
                err("bad_redirect_uri")
            }
            Some((approval, _)) => {
                inner.next_id += 1;
                let workspace = if approval.org_install {
                    approval.enterprise.clone().unwrap().0
                } else {
                    approval.team.clone().unwrap().0
                };
                let token = format!("xoxb-{workspace}-{}", inner.next_id);
                inner.tokens.insert(token.clone(), workspace);
                inner.minted.push(token.clone());
                let named = |pair: &Option<(String, String)>| {
                    pair.as_ref()
                        .map_or(Value::Null, |(id, name)| json!({"id": id, "name": name}))
                };
                ok(json!({
                    "access_token": token,
                    "token_type": "bot",
                    "scope": "commands,chat:write",
                    "bot_user_id": BOT_USER,
                    "app_id": "A0001",
                    "team": named(&approval.team),
                    "enterprise": named(&approval.enterprise),
                    "is_enterprise_install": approval.org_install,
                    "authed_user": {"id": approval.user},
                }))
            }
        }
    };
    let outcome = if answer["ok"] == true {
        "ok".to_string()
    } else {
        answer["error"].as_str().unwrap_or("?").to_string()
    };
    inner.calls.push(Call {
        method: "oauth.v2.access".into(),
        team: String::new(),
        args: args.clone(),
        outcome,
    });
    Json(answer).into_response()
}

fn str_arg<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args[key].as_str().filter(|s| !s.is_empty())
}

fn valid_channel_name(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.chars().count() > 80 {
        return Some("invalid_name_maxlength");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Some("invalid_name_specials");
    }
    None
}

fn handle(inner: &mut Inner, method: &str, args: &Value, team: &str) -> (StatusCode, Value) {
    let answer = match method {
        "apps.connections.open" => ok(json!({"url": inner.socket_url})),
        "usergroups.users.list" => match inner.groups.get(str_arg(args, "usergroup").unwrap_or(""))
        {
            Some(users) => ok(json!({"users": users})),
            None => err("no_such_subteam"),
        },
        "conversations.create" => {
            let name = str_arg(args, "name").unwrap_or("");
            if let Some(code) = valid_channel_name(name) {
                err(code)
            } else if inner.channels.values().any(|c| c.name == name) {
                err("name_taken")
            } else {
                inner.next_id += 1;
                let private = args["is_private"] == true || args["is_private"] == "true";
                let id = format!("{}{:08}", if private { "G" } else { "C" }, inner.next_id);
                inner.channels.insert(
                    id.clone(),
                    Channel {
                        name: name.into(),
                        private,
                        bot_is_member: true,
                        members: HashSet::new(),
                        shared: false,
                    },
                );
                ok(
                    json!({"channel": {"id": id, "name": name, "is_private": private, "created": 1_700_000_000, "creator": BOT_USER}}),
                )
            }
        }
        "conversations.invite" => {
            let channel = str_arg(args, "channel").unwrap_or("").to_string();
            // Slack documents `users` as a comma-separated string.
            let Some(users) = args["users"].as_str() else {
                return (StatusCode::OK, err("invalid_arguments"));
            };
            match inner.channels.get_mut(&channel) {
                None => err("channel_not_found"),
                Some(c) if !c.bot_is_member => err("not_in_channel"),
                Some(c) => {
                    for u in users.split(',').filter(|u| !u.is_empty()) {
                        c.members.insert(u.to_string());
                    }
                    ok(json!({"channel": {"id": channel, "created": 1_700_000_000}}))
                }
            }
        }
        "chat.postMessage" => {
            if !take_workspace_post_token(inner) {
                return (StatusCode::TOO_MANY_REQUESTS, err("ratelimited"));
            }
            let channel = str_arg(args, "channel").unwrap_or("").to_string();
            let is_dm = channel.starts_with('U') || channel.starts_with('W');
            match inner.channels.get(&channel) {
                // Slack files a DM posted to a user id in their D conversation with the
                // app, and answers with that conversation's id.
                _ if is_dm => {
                    let im = open_im(inner, &channel);
                    record_post(inner, &im, args)
                }
                None => err("channel_not_found"),
                Some(c) if !c.bot_is_member => err("not_in_channel"),
                Some(_) => {
                    if !take_post_token(inner, &channel) {
                        return (StatusCode::TOO_MANY_REQUESTS, err("ratelimited"));
                    }
                    record_post(inner, &channel, args)
                }
            }
        }
        "chat.update" => {
            let key = (
                str_arg(args, "channel").unwrap_or("").to_string(),
                str_arg(args, "ts").unwrap_or("").to_string(),
            );
            if !take_update_token(inner, team) {
                return (StatusCode::TOO_MANY_REQUESTS, err("ratelimited"));
            }
            if !inner.channels.contains_key(&key.0) {
                err("channel_not_found")
            } else if !inner.messages.contains_key(&key) {
                err("message_not_found")
            } else if let Err(e) = check_message(args) {
                json!({"ok": false, "error": "invalid_blocks", "errors": [e]})
            } else {
                // An update replaces text and blocks; thread and metadata stay.
                let mut message = inner.messages[&key].clone();
                message["text"] = args["text"].clone();
                message["blocks"] = args["blocks"].clone();
                inner.messages.insert(key.clone(), message.clone());
                ok(json!({"channel": key.0, "ts": key.1, "text": args["text"], "message": message}))
            }
        }
        "pins.add" => {
            let key = (
                str_arg(args, "channel").unwrap_or("").to_string(),
                str_arg(args, "timestamp").unwrap_or("").to_string(),
            );
            if !inner.messages.contains_key(&key) {
                err("message_not_found")
            } else if !inner.pins.insert(key) {
                err("already_pinned")
            } else {
                ok(json!({}))
            }
        }
        "auth.test" => {
            // Filled in with the token's workspace by the caller (see `serve`).
            ok(
                json!({"url": "https://example.slack.com/", "team": "Example", "user": "readiness",
                "team_id": "", "user_id": "U0READINESS", "bot_id": "B0READINESS",
                "is_enterprise_install": false}),
            )
        }
        "users.info" => {
            let user = str_arg(args, "user").unwrap_or("").to_string();
            let locale = inner
                .locales
                .get(&user)
                .cloned()
                .unwrap_or_else(|| "en-US".into());
            let is_admin = inner.admins.contains(&user);
            let tz = inner
                .tzs
                .get(&user)
                .cloned()
                .unwrap_or_else(|| "Asia/Tokyo".into());
            ok(
                json!({"user": {"id": user, "team_id": "T0001", "name": "person", "locale": locale, "tz": tz, "is_admin": is_admin}}),
            )
        }
        "conversations.history" | "conversations.replies" => {
            if !take_history_token(inner) {
                return (StatusCode::TOO_MANY_REQUESTS, err("ratelimited"));
            }
            let channel = str_arg(args, "channel").unwrap_or("").to_string();
            if !inner.channels.contains_key(&channel) {
                return (StatusCode::OK, err("channel_not_found"));
            }
            let oldest: f64 = str_arg(args, "oldest")
                .and_then(|o| o.parse().ok())
                .unwrap_or(0.0);
            let metadata =
                args["include_all_metadata"] == "true" || args["include_all_metadata"] == true;
            let thread = str_arg(args, "ts").map(str::to_string);
            if method == "conversations.replies" && thread.is_none() {
                return (StatusCode::OK, err("invalid_arguments"));
            }
            let mut messages: Vec<Value> = inner
                .messages
                .iter()
                .filter(|((c, ts), m)| {
                    let in_thread = !m["thread_ts"].is_null() && m["thread_ts"] != ts.as_str();
                    c == &channel
                        && ts.parse::<f64>().unwrap_or(0.0) >= oldest
                        && match &thread {
                            Some(t) => ts == t || m["thread_ts"] == t.as_str(),
                            None => !in_thread,
                        }
                })
                .map(|(_, m)| {
                    let mut m = m.clone();
                    if !metadata {
                        m.as_object_mut().map(|o| o.remove("metadata"));
                    }
                    m
                })
                .collect();
            messages.sort_by(|a, b| {
                let ts = |m: &Value| {
                    m["ts"]
                        .as_str()
                        .unwrap_or("0")
                        .parse::<f64>()
                        .unwrap_or(0.0)
                };
                ts(b).total_cmp(&ts(a))
            });
            ok(json!({"messages": messages, "has_more": false}))
        }
        "conversations.open" => {
            // One user: their 1:1 conversation with the app (`users` is a comma-separated
            // string), or an existing conversation resumed by `channel`.
            match (str_arg(args, "users"), str_arg(args, "channel")) {
                (Some(users), _) if !users.contains(',') => {
                    let already = inner.ims.contains_key(users);
                    let im = open_im(inner, users);
                    ok(json!({"channel": {"id": im}, "already_open": already}))
                }
                (Some(_), _) => err("not_enough_users"),
                (None, Some(channel)) if inner.ims.values().any(|im| im == channel) => {
                    ok(json!({"channel": {"id": channel}, "already_open": true}))
                }
                (None, Some(_)) => err("channel_not_found"),
                (None, None) => err("users_list_not_supplied"),
            }
        }
        "conversations.info" => {
            let channel = str_arg(args, "channel").unwrap_or("").to_string();
            match inner.channels.get(&channel) {
                None => err("channel_not_found"),
                Some(c) => ok(json!({"channel": {
                    "id": channel, "name": c.name, "is_private": c.private,
                    "is_shared": c.shared, "is_ext_shared": c.shared, "created": 1_700_000_000
                }})),
            }
        }
        "chat.getPermalink" => {
            let channel = str_arg(args, "channel").unwrap_or("").to_string();
            let ts = str_arg(args, "message_ts").unwrap_or("").to_string();
            if inner.messages.contains_key(&(channel.clone(), ts.clone())) {
                ok(
                    json!({"channel": channel, "permalink": format!("https://example.slack.com/archives/{channel}/p{}", ts.replace('.', ""))}),
                )
            } else {
                err("message_not_found")
            }
        }
        "views.publish" => {
            let Some(user) = str_arg(args, "user_id") else {
                return (StatusCode::OK, err("invalid_arguments"));
            };
            if args["view"]["type"] != "home" {
                err("invalid_arguments")
            } else if let Err(e) = check_view(&args["view"]) {
                json!({"ok": false, "error": "invalid_arguments", "errors": [e]})
            } else {
                inner.homes.insert(user.to_string(), args["view"].clone());
                ok(json!({"view": {"id": "VHOME"}}))
            }
        }
        "files.getUploadURLExternal" => {
            let (Some(filename), Some(length)) = (
                str_arg(args, "filename"),
                str_arg(args, "length").and_then(|l| l.parse::<usize>().ok()),
            ) else {
                return (StatusCode::OK, err("invalid_arguments"));
            };
            inner.next_id += 1;
            let id = format!("F{:08}", inner.next_id);
            inner
                .upload_tickets
                .insert(id.clone(), (filename.to_string(), length));
            ok(json!({"upload_url": format!("{}/{id}", inner.upload_base), "file_id": id}))
        }
        "files.completeUploadExternal" => {
            // `files` is a JSON array, sent as JSON or as a JSON string in a form.
            let files = match &args["files"] {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                other => other.clone(),
            };
            let channel = str_arg(args, "channel_id").unwrap_or("").to_string();
            let thread_ts = str_arg(args, "thread_ts").map(str::to_string);
            let Some(files) = files.as_array() else {
                return (StatusCode::OK, err("invalid_arguments"));
            };
            if !inner.channels.contains_key(&channel) {
                return (StatusCode::OK, err("channel_not_found"));
            }
            let mut shared = Vec::new();
            for f in files {
                let id = f["id"].as_str().unwrap_or("");
                let (Some((filename, length)), Some(content)) =
                    (inner.upload_tickets.get(id), inner.uploaded.get(id))
                else {
                    return (StatusCode::OK, err("file_not_found"));
                };
                if content.len() != *length {
                    return (StatusCode::OK, err("file_upload_size_mismatch"));
                }
                shared.push(SharedFile {
                    channel: channel.clone(),
                    thread_ts: thread_ts.clone(),
                    filename: filename.clone(),
                    title: f["title"].as_str().unwrap_or("").to_string(),
                    content: content.clone(),
                });
            }
            inner.shared_files.extend(shared);
            ok(json!({"files": files}))
        }
        "views.push" => {
            if str_arg(args, "trigger_id").is_none() {
                err("invalid_trigger_id")
            } else if let Err(e) = check_view(&args["view"]) {
                json!({"ok": false, "error": "invalid_arguments", "errors": [e]})
            } else {
                ok(json!({"view": {"id": "V0002"}}))
            }
        }
        "views.open" => {
            if str_arg(args, "trigger_id").is_none() {
                err("invalid_trigger_id")
            } else if let Err(e) = check_view(&args["view"]) {
                json!({"ok": false, "error": "invalid_arguments", "errors": [e]})
            } else {
                ok(json!({"view": {"id": "V0001"}}))
            }
        }
        _ => err("unknown_method"),
    };
    (StatusCode::OK, answer)
}

fn take_post_token(inner: &mut Inner, channel: &str) -> bool {
    if inner.unpaced {
        return true;
    }
    let now = Instant::now();
    let (tokens, last) = inner
        .post_buckets
        .entry(channel.to_string())
        .or_insert((3.0, now));
    *tokens = (*tokens + now.duration_since(*last).as_secs_f64()).min(3.0);
    *last = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        true
    } else {
        false
    }
}

fn take_workspace_post_token(inner: &mut Inner) -> bool {
    let Some((per_minute, tokens, last)) = inner.workspace_posts.as_mut() else {
        return true;
    };
    let now = Instant::now();
    *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * *per_minute / 60.0)
        .min(*per_minute / 12.0);
    *last = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        true
    } else {
        false
    }
}

/// The app's DM conversation with `user`, opened if it was not.
fn open_im(inner: &mut Inner, user: &str) -> String {
    if let Some(im) = inner.ims.get(user) {
        return im.clone();
    }
    let im = format!("D{}", &user[1..]);
    inner.ims.insert(user.to_string(), im.clone());
    inner.channels.insert(
        im.clone(),
        Channel {
            name: String::new(),
            private: true,
            bot_is_member: true,
            members: [user.to_string()].into(),
            shared: false,
        },
    );
    im
}

fn take_update_token(inner: &mut Inner, team: &str) -> bool {
    let now = Instant::now();
    let (tokens, last) = inner
        .update_buckets
        .entry(team.to_string())
        .or_insert((50.0, now));
    *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * 50.0 / 60.0).min(50.0);
    *last = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        true
    } else {
        false
    }
}

fn take_history_token(inner: &mut Inner) -> bool {
    let now = Instant::now();
    let (tokens, last) = inner.history_bucket.get_or_insert((50.0, now));
    *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * 50.0 / 60.0).min(50.0);
    *last = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        true
    } else {
        false
    }
}

fn record_post(inner: &mut Inner, channel: &str, args: &Value) -> Value {
    if let Err(e) = check_message(args) {
        return json!({"ok": false, "error": "invalid_blocks", "errors": [e]});
    }
    inner.next_ts += 1;
    // Real seconds, as Slack's are, so `oldest` filters work; the counter keeps them
    // unique and ordered.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ts = format!("{secs}.{:06}", inner.next_ts % 1_000_000);
    let mut message = json!({"text": args["text"], "blocks": args["blocks"], "ts": ts});
    if let Some(thread) = str_arg(args, "thread_ts") {
        message["thread_ts"] = json!(thread);
    }
    if !args["metadata"].is_null() {
        let metadata = match &args["metadata"] {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            other => other.clone(),
        };
        message["metadata"] = metadata;
    }
    inner
        .messages
        .insert((channel.to_string(), ts.clone()), message.clone());
    ok(json!({"channel": channel, "ts": ts, "message": message}))
}

fn text_len(v: &Value) -> usize {
    v["text"].as_str().map(|s| s.chars().count()).unwrap_or(0)
}

/// Slack's Block Kit rules for a message.
pub fn check_message(args: &Value) -> Result<(), String> {
    let text = args["text"].as_str().unwrap_or("");
    let blocks = args["blocks"].as_array().cloned().unwrap_or_default();
    if text.is_empty() && blocks.is_empty() {
        return Err("no_text".into());
    }
    if text.is_empty() {
        return Err("blocks without a text fallback".into());
    }
    check_blocks(&blocks, 50)
}

pub fn check_view(view: &Value) -> Result<(), String> {
    if view["title"]["text"]
        .as_str()
        .map(|t| t.chars().count())
        .unwrap_or(0)
        > 24
    {
        return Err("title over 24 characters".into());
    }
    if serde_json::to_vec(view).unwrap().len() > 250 * 1024 {
        return Err("view over 250 KB".into());
    }
    check_blocks(
        view["blocks"].as_array().map(Vec::as_slice).unwrap_or(&[]),
        100,
    )
}

fn check_blocks(blocks: &[Value], max: usize) -> Result<(), String> {
    if blocks.len() > max {
        return Err(format!("{} blocks; at most {max}", blocks.len()));
    }
    let mut ids = HashSet::new();
    for block in blocks {
        if let Some(id) = block["block_id"].as_str()
            && (!ids.insert(id.to_string()) || id.len() > 255)
        {
            return Err(format!("bad or repeated block_id {id}"));
        }
        match block["type"].as_str().unwrap_or("") {
            "header" if text_len(&block["text"]) > 150 || block["text"]["type"] != "plain_text" => {
                return Err("header text".into());
            }
            "section" => {
                if let Some(t) = block.get("text")
                    && (text_len(t) == 0 || text_len(t) > 3000)
                {
                    return Err("section text length".into());
                }
                if block["fields"].as_array().is_some_and(|f| f.len() > 10) {
                    return Err("more than 10 fields".into());
                }
                if let Some(a) = block.get("accessory") {
                    check_element(a)?;
                }
            }
            "actions" => {
                let elements = block["elements"].as_array().cloned().unwrap_or_default();
                if elements.is_empty() || elements.len() > 25 {
                    return Err("actions elements".into());
                }
                for e in &elements {
                    check_element(e)?;
                }
            }
            "context" => {
                let n = block["elements"].as_array().map(Vec::len).unwrap_or(0);
                if n == 0 || n > 10 {
                    return Err("context elements".into());
                }
            }
            "input" => check_element(&block["element"])?,
            _ => {}
        }
    }
    Ok(())
}

fn check_element(e: &Value) -> Result<(), String> {
    if e["type"] == "checkboxes" {
        let options = e["options"].as_array().cloned().unwrap_or_default();
        if options.is_empty() || options.len() > 10 {
            return Err(format!("checkboxes with {} options", options.len()));
        }
        for o in &options {
            if text_len(&o["text"]) > 75 || o["value"].as_str().map(str::len).unwrap_or(0) > 75 {
                return Err("option text or value too long".into());
            }
        }
        if let Some(initial) = e.get("initial_options") {
            let initial = initial.as_array().cloned().unwrap_or_default();
            if initial.is_empty() || initial.iter().any(|i| !options.contains(i)) {
                return Err("initial_options must be non-empty and equal to options".into());
            }
        }
    }
    if e["type"] == "button" && (text_len(&e["text"]) == 0 || text_len(&e["text"]) > 75) {
        return Err("button text".into());
    }
    if e["type"] == "static_select" && e["options"].as_array().map(Vec::len).unwrap_or(0) > 100 {
        return Err("static select over 100 options".into());
    }
    Ok(())
}
