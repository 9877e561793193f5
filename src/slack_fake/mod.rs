//! One stand-in for Slack's Web API, for everything that runs the app without Slack:
//! an HTTP server on 127.0.0.1 that the app reaches through `SLACK_API_URL`, keeping
//! what a workspace holds (channels and their members, messages, pins, modals, App
//! Homes, what `users.info` says of people, files, answers to response URLs) and
//! recording every call.
//!
//! It runs in one of two [`Mode`]s:
//! - **Strict** (the end-to-end tests): it rejects what Slack would reject: bad
//!   tokens, invalid or taken channel names, Block Kit over Slack's limits (checked on
//!   its own, in [`checks`], independently of the app's `blocks::limits`, so a renderer
//!   bug is not hidden by the same bug in the checker), unknown channels and messages,
//!   posting faster than a channel allows.
//! - **Printing** (`readiness shell`): it lets what is well-formed through, answering
//!   the way Slack answers when all is well, and tells an [`Observer`] of each post,
//!   update, reply, modal and file, so the shell can show what the app would show.
//!
//! Both modes keep the same state and answer in the same shapes (Slack's, as in
//! `shared/slack/specs/`), and both take injected failures, hangs and delays.
//! [`payloads`] builds the other direction: the requests Slack sends the app.

pub mod checks;
pub mod payloads;
mod web_api;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{any, get, post},
};
use serde_json::{Value, json};

use crate::time_source::TimeSource;
use checks::Bucket;

/// What the fake does besides keeping state.
#[derive(Clone)]
pub enum Mode {
    /// Rejects what Slack would reject.
    Strict,
    /// Lets what is well-formed through and reports it to the observer.
    Printing(Arc<dyn Observer>),
}

/// What a printing fake reports: what a person in the workspace would now see.
#[derive(Debug)]
pub enum Seen<'a> {
    ChannelCreated {
        name: &'a str,
        private: bool,
    },
    Invited {
        channel: &'a str,
        users: Vec<&'a str>,
    },
    /// A new message, in a thread when it has a `thread_ts`.
    Posted {
        channel: &'a str,
        ts: &'a str,
        message: &'a Value,
    },
    Updated {
        channel: &'a str,
        ts: &'a str,
        before: Option<&'a Value>,
        after: &'a Value,
    },
    ModalOpened {
        view_id: &'a str,
        view: &'a Value,
    },
    FileShared {
        channel: &'a str,
        in_thread: bool,
        filename: &'a str,
        length: usize,
        title: &'a str,
    },
    /// A message sent to a response URL; `channel` is where its request came from,
    /// when the URL was handed out by [`SlackFake::response_url_for`].
    Responded {
        channel: Option<&'a str>,
        ts: &'a str,
        body: &'a Value,
    },
    /// The app added a reaction (`name`) to a message `author` wrote.
    Reacted {
        channel: &'a str,
        author: &'a str,
        name: &'a str,
    },
    /// A method the fake does not know (answered `unknown_method`).
    UnknownMethod(&'a str),
}

/// Told of what the app shows, in a printing fake.
pub trait Observer: Send + Sync {
    /// Called with the workspace locked (so what it reads is what was just done): it
    /// must not call back into the fake.
    fn seen(&self, workspace: &Workspace, event: Seen<'_>);
}

/// One Web API call as the fake saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The workspace whose token made the call (empty for none, or a bad one).
    pub team: String,
    pub args: Value,
    /// What the fake answered: `ok` or the error code.
    pub outcome: String,
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

/// What an installer approves on Slack's authorize page.
#[derive(Debug, Clone)]
pub struct Approval {
    pub team: Option<(String, String)>,
    pub enterprise: Option<(String, String)>,
    pub org_install: bool,
    pub user: String,
}

/// The workspace the fake stands for, and how it answers.
#[derive(Clone)]
pub struct Options {
    pub mode: Mode,
    /// Valid bot tokens → the workspace (team id, or enterprise id) they act for.
    pub tokens: Vec<(String, String)>,
    /// The workspace's name and subdomain (auth.test, permalinks).
    pub team_name: String,
    pub domain: String,
    /// Where permalinks point (`example.slack.com`).
    pub permalink_host: String,
    /// The app's bot user.
    pub bot_user: String,
    /// What users.info says of anyone not told otherwise.
    pub locale: String,
    pub tz: String,
    pub everyone_admin: bool,
    /// Message ts are the clock's seconds and a counter starting here.
    pub first_ts: u64,
    pub time: TimeSource,
    /// The OAuth app's credentials (oauth.v2.access checks them).
    pub client_id: String,
    pub client_secret: String,
}

impl Options {
    /// A strict fake of workspace `team`, reached with `bot_token`.
    pub fn strict(team: &str, bot_token: &str) -> Self {
        Self {
            mode: Mode::Strict,
            tokens: vec![(bot_token.to_string(), team.to_string())],
            team_name: "Example".into(),
            domain: "example".into(),
            permalink_host: "example.slack.com".into(),
            bot_user: "UBOT0001".into(),
            locale: "en-US".into(),
            tz: "Asia/Tokyo".into(),
            everyone_admin: false,
            first_ts: 1,
            time: TimeSource::real(),
            client_id: String::new(),
            client_secret: String::new(),
        }
    }
}

#[derive(Default)]
pub(crate) struct Channel {
    name: String,
    private: bool,
    bot_is_member: bool,
    members: HashSet<String>,
    /// Shared with another organisation (Slack Connect).
    shared: bool,
}

/// Everything the fake keeps.
pub struct Workspace {
    options: Options,
    calls: Vec<Call>,
    channels: HashMap<String, Channel>,
    /// Current content of each message, by (channel, ts).
    messages: HashMap<(String, String), Value>,
    pins: HashSet<(String, String)>,
    next_id: u64,
    next_ts: u64,
    /// Per channel: ≈1 post a second, bursts of 3.
    post_buckets: HashMap<String, Bucket>,
    /// chat.update, a tier 3 method: ≈50 a minute with bursts of 50, per workspace.
    update_buckets: HashMap<String, Bucket>,
    /// conversations.history and .replies, tier 3 too (one bucket for both here).
    history_bucket: Option<Bucket>,
    /// People's names, for users.info and for showing `<@U…>`.
    names: HashMap<String, String>,
    /// What users.info says of a person beyond the defaults (a locale, a guest's
    /// `is_restricted`, a Slack Connect person's `team_id` and `is_stranger`, …).
    people: HashMap<String, Value>,
    /// Bodies sent to response URLs, by the URL's last segment.
    responses: Vec<(String, Value)>,
    /// Response URLs handed out by `response_url_for`: id → the channel of their request.
    response_channels: HashMap<String, String>,
    /// Every answer waits this long (a slow Slack).
    delay: Duration,
    /// chat.postMessage answers this long after it has posted (a crash of the caller
    /// in between leaves a post it cannot know about).
    post_answer_delay: Duration,
    /// Posts are not held to Slack's pace in real time (for an app on a virtual
    /// clock, which paces its posts in its own time).
    unpaced: bool,
    /// Errors to answer for a method, once each, before working normally again.
    failures: HashMap<String, Vec<String>>,
    /// Files asked for with files.getUploadURLExternal: id → (filename, length).
    upload_tickets: HashMap<String, (String, usize)>,
    /// Bytes received at an upload URL, by file id.
    uploaded: HashMap<String, Vec<u8>>,
    shared_files: Vec<SharedFile>,
    /// Calls of a method left unanswered (Slack hanging), how many still to come.
    hangs: HashMap<String, usize>,
    /// Each user's direct conversation with the app (`D…`), opened by a DM posted to
    /// their user id or by conversations.open.
    ims: HashMap<String, String>,
    /// The App Home last published for each user.
    homes: HashMap<String, Value>,
    /// Bumped by every views.publish, so a caller can wait for a Home it asked for.
    pub homes_published: u64,
    /// Open modals, the top one last.
    modals: Vec<(String, Value)>,
    /// A workspace-wide limit on chat.postMessage (off when `None`).
    workspace_posts: Option<Bucket>,
    /// Valid bot tokens → the workspace they act for.
    tokens: HashMap<String, String>,
    /// The next install to approve at the authorize page.
    approving: Option<Approval>,
    /// Codes given at the authorize page and not yet exchanged.
    codes: HashMap<String, (Approval, String)>,
    /// Every token minted by oauth.v2.access, in order.
    minted: Vec<String>,
    /// Where apps.connections.open sends the app.
    socket_url: String,
    /// User groups' members, for usergroups.users.list.
    groups: HashMap<String, Vec<String>>,
    /// This server's base URL.
    base: String,
}

impl Workspace {
    fn strict(&self) -> bool {
        matches!(self.options.mode, Mode::Strict)
    }

    fn tell(&self, event: Seen<'_>) {
        if let Mode::Printing(observer) = &self.options.mode {
            observer.seen(self, event);
        }
    }

    fn new_id(&mut self, prefix: char) -> String {
        self.next_id += 1;
        format!("{prefix}{:08}", self.next_id)
    }

    /// A new message ts: the clock's seconds and a counter that keeps ts unique.
    pub fn new_ts(&mut self) -> String {
        self.next_ts += 1;
        format!("{}.{:06}", self.options.time.now_ms() / 1000, self.next_ts)
    }

    /// A person's name, if the fake was told it.
    pub fn user_name(&self, id: &str) -> Option<String> {
        self.names.get(id).cloned()
    }

    /// A channel's name (`None` for an unknown channel or a DM).
    pub fn channel_name(&self, id: &str) -> Option<String> {
        self.channels
            .get(id)
            .filter(|c| !c.name.is_empty())
            .map(|c| c.name.clone())
    }

    /// The person whose DM with the app `channel` is.
    pub fn dm_user(&self, channel: &str) -> Option<String> {
        self.ims
            .iter()
            .find(|(_, im)| *im == channel)
            .map(|(user, _)| user.clone())
    }

    /// The time zone users.info gives people.
    pub fn tz(&self) -> &str {
        &self.options.tz
    }

    /// A string field of what users.info says of `user` (`team_id`, …), if set.
    pub fn person_field(&self, user: &str, field: &str) -> Option<String> {
        self.people
            .get(user)
            .and_then(|p| p[field].as_str())
            .map(str::to_string)
    }

    pub fn channel_named(&self, name: &str) -> Option<String> {
        let name = name.trim_start_matches('#');
        self.channels
            .iter()
            .find(|(_, c)| c.name == name)
            .map(|(id, _)| id.clone())
    }

    pub fn message(&self, channel: &str, ts: &str) -> Option<Value> {
        self.messages
            .get(&(channel.to_string(), ts.to_string()))
            .cloned()
    }

    pub fn home_of(&self, user: &str) -> Option<Value> {
        self.homes.get(user).cloned()
    }

    /// The modal on top, if one is open.
    pub fn top_modal(&self) -> Option<(String, Value)> {
        self.modals.last().cloned()
    }

    /// Closes the top modal (submitted); its id.
    pub fn close_modal(&mut self) -> Option<String> {
        self.modals.pop().map(|(id, _)| id)
    }

    /// The app's DM conversation with `user`, opened if it was not.
    fn open_im(&mut self, user: &str) -> String {
        if let Some(im) = self.ims.get(user) {
            return im.clone();
        }
        let im = format!("D{}", &user[1..]);
        self.ims.insert(user.to_string(), im.clone());
        self.channels.insert(
            im.clone(),
            Channel {
                private: true,
                bot_is_member: true,
                members: [user.to_string()].into(),
                ..Channel::default()
            },
        );
        im
    }
}

/// The app's bot user, as `auth.test` names it (and its reactions carry).
pub const BOT_USER_ID: &str = "U0READINESS";

/// The fake: its state and the URLs the app is given.
#[derive(Clone)]
pub struct SlackFake {
    workspace: Arc<Mutex<Workspace>>,
    /// Base of the Web API, for `SLACK_API_URL`.
    pub api_url: String,
    /// Base for response URLs: append any id.
    pub response_base: String,
    /// This server's address, `http://127.0.0.1:port`.
    pub base: String,
}

pub(crate) fn ok(extra: Value) -> Value {
    let mut v = json!({"ok": true});
    if let (Some(map), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        map.extend(extra.clone());
    }
    v
}

pub(crate) fn err(code: &str) -> Value {
    json!({"ok": false, "error": code})
}

impl SlackFake {
    /// Starts the fake on 127.0.0.1 (a free port).
    pub async fn start(options: Options) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let workspace = Workspace {
            calls: Vec::new(),
            channels: HashMap::new(),
            messages: HashMap::new(),
            pins: HashSet::new(),
            next_id: 1000,
            next_ts: options.first_ts,
            post_buckets: HashMap::new(),
            update_buckets: HashMap::new(),
            history_bucket: None,
            names: HashMap::new(),
            people: HashMap::new(),
            responses: Vec::new(),
            response_channels: HashMap::new(),
            delay: Duration::ZERO,
            post_answer_delay: Duration::ZERO,
            unpaced: false,
            failures: HashMap::new(),
            upload_tickets: HashMap::new(),
            uploaded: HashMap::new(),
            shared_files: Vec::new(),
            hangs: HashMap::new(),
            ims: HashMap::new(),
            homes: HashMap::new(),
            homes_published: 0,
            modals: Vec::new(),
            workspace_posts: None,
            tokens: options.tokens.iter().cloned().collect(),
            approving: None,
            codes: HashMap::new(),
            minted: Vec::new(),
            socket_url: String::new(),
            groups: HashMap::new(),
            base: base.clone(),
            options,
        };
        let fake = SlackFake {
            workspace: Arc::new(Mutex::new(workspace)),
            api_url: format!("{base}/api"),
            response_base: format!("{base}/response"),
            base,
        };
        let app = Router::new()
            .route("/api/{method}", any(api))
            .route("/response/{id}", post(response_url))
            .route("/upload/{id}", post(upload))
            .route("/oauth/v2/authorize", get(web_api::authorize))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(fake)
    }

    /// The workspace, locked: hold it briefly, and never across an await.
    pub fn workspace(&self) -> MutexGuard<'_, Workspace> {
        self.workspace.lock().unwrap_or_else(|e| e.into_inner())
    }

    // What the workspace holds, set up by a test or the shell.

    /// Names a person (users.info's `name`, and how the shell shows them).
    pub fn set_name(&self, user: &str, name: &str) {
        self.workspace()
            .names
            .insert(user.to_string(), name.to_string());
    }

    /// An existing channel the bot is (or is not) a member of.
    pub fn add_channel(&self, id: &str, name: &str, bot_is_member: bool) {
        self.workspace().channels.insert(
            id.to_string(),
            Channel {
                name: name.into(),
                bot_is_member,
                ..Channel::default()
            },
        );
    }

    /// A private channel the app made earlier (the shell's kept database), unless
    /// known; new ids do not collide with it.
    pub fn know_channel(&self, id: &str, name: &str) {
        let mut w = self.workspace();
        if let Some(Ok(n)) = id.get(1..).map(str::parse::<u64>) {
            w.next_id = w.next_id.max(n);
        }
        w.channels.entry(id.to_string()).or_insert(Channel {
            name: name.to_string(),
            private: true,
            bot_is_member: true,
            ..Channel::default()
        });
    }

    /// Marks a channel as shared with the customer's organisation (Slack Connect).
    pub fn set_shared(&self, id: &str, shared: bool) {
        if let Some(c) = self.workspace().channels.get_mut(id) {
            c.shared = shared;
        }
    }

    /// Who usergroups.users.list says is in `group`.
    pub fn set_group_members(&self, group: &str, users: &[&str]) {
        self.workspace().groups.insert(
            group.to_string(),
            users.iter().map(|u| u.to_string()).collect(),
        );
    }

    /// Fields users.info adds to (or changes in) its answer about `user`.
    pub fn set_person(&self, user: &str, fields: Value) {
        let mut w = self.workspace();
        let person = w.people.entry(user.into()).or_insert_with(|| json!({}));
        for (key, value) in fields.as_object().cloned().unwrap_or_default() {
            person[key] = value;
        }
    }

    pub fn set_admin(&self, user: &str) {
        self.set_person(user, json!({"is_admin": true}));
    }

    pub fn set_locale(&self, user: &str, locale: &str) {
        self.set_person(user, json!({"locale": locale}));
    }

    /// What users.info says is `user`'s time zone.
    pub fn set_tz(&self, user: &str, tz: &str) {
        self.set_person(user, json!({"tz": tz}));
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

    /// Where apps.connections.open sends the app.
    pub fn set_socket_url(&self, url: &str) {
        self.workspace().socket_url = url.to_string();
    }

    /// A valid token for `workspace` (a team id, an enterprise id, or `app` for the
    /// app-level token).
    pub fn add_token(&self, token: &str, workspace: &str) {
        self.workspace()
            .tokens
            .insert(token.to_string(), workspace.to_string());
    }

    /// Slack forgets every token of `workspace` (an uninstall).
    pub fn revoke(&self, workspace: &str) {
        self.workspace().tokens.retain(|_, w| w != workspace);
    }

    /// The next visit to the authorize page approves installing into `team`.
    pub fn approve_install(&self, team: &str, name: &str, user: &str) {
        self.workspace().approving = Some(Approval {
            team: Some((team.to_string(), name.to_string())),
            enterprise: None,
            org_install: false,
            user: user.to_string(),
        });
    }

    /// The next visit approves an org-wide install into the organisation `enterprise`.
    pub fn approve_org_install(&self, enterprise: &str, name: &str, user: &str) {
        self.workspace().approving = Some(Approval {
            team: None,
            enterprise: Some((enterprise.to_string(), name.to_string())),
            org_install: true,
            user: user.to_string(),
        });
    }

    // How Slack misbehaves.

    /// Enforces a workspace-wide limit of `per_minute` posts (429 past it).
    pub fn set_workspace_post_limit(&self, per_minute: f64) {
        self.workspace().workspace_posts = Some(Bucket::new(per_minute / 12.0, per_minute / 60.0));
    }

    /// Posts are no longer held to Slack's pace in real time: the app runs on a
    /// virtual clock and paces its posts in its own time.
    pub fn set_unpaced(&self) {
        self.workspace().unpaced = true;
    }

    pub fn set_post_answer_delay(&self, delay: Duration) {
        self.workspace().post_answer_delay = delay;
    }

    pub fn set_delay(&self, delay: Duration) {
        self.workspace().delay = delay;
    }

    /// The next `count` calls of `method` get no answer at all (the connection stays
    /// open): the caller must give up on its own.
    pub fn hang_next(&self, method: &str, count: usize) {
        self.workspace().hangs.insert(method.into(), count);
    }

    /// The next calls of `method` fail with these codes, in order (`ratelimited`
    /// answers 429, `http500` a 500, `posted_then_http500` does the work then answers
    /// a 500).
    pub fn fail_next(&self, method: &str, codes: &[&str]) {
        self.workspace()
            .failures
            .insert(method.into(), codes.iter().map(|c| c.to_string()).collect());
    }

    // What a person does in the workspace.

    /// A response URL for a request made in `channel`.
    pub fn response_url_for(&self, channel: &str) -> String {
        let mut w = self.workspace();
        w.next_id += 1;
        let id = w.next_id.to_string();
        w.response_channels.insert(id.clone(), channel.to_string());
        format!("{}/{id}", self.response_base)
    }

    /// A person's message in `channel` (in `thread`'s thread, or at its top level),
    /// kept as Slack keeps it, with the `team` of an outside organisation's person; its
    /// ts.
    pub fn message_as_person(
        &self,
        channel: &str,
        thread: Option<&str>,
        user: &str,
        text: &str,
    ) -> String {
        let mut w = self.workspace();
        let ts = w.new_ts();
        let mut message = json!({"type": "message", "ts": ts, "user": user, "text": text});
        if let Some(thread) = thread {
            message["thread_ts"] = json!(thread);
        }
        if let Some(team) = w.person_field(user, "team_id") {
            message["team"] = json!(team);
        }
        w.messages
            .insert((channel.to_string(), ts.clone()), message);
        ts
    }

    /// A person's reaction on a message, added to the message's `reactions` as Slack
    /// lists them (by name, with who and how many).
    pub fn reaction_by_person(&self, channel: &str, ts: &str, user: &str, emoji: &str) {
        let mut w = self.workspace();
        let Some(message) = w.messages.get_mut(&(channel.to_string(), ts.to_string())) else {
            return;
        };
        if !message["reactions"].is_array() {
            message["reactions"] = json!([]);
        }
        let reactions = message["reactions"].as_array_mut().expect("an array");
        match reactions.iter_mut().find(|r| r["name"] == emoji) {
            Some(r)
                if r["users"]
                    .as_array()
                    .is_some_and(|u| u.iter().any(|u| u == user)) => {}
            Some(r) => {
                r["users"].as_array_mut().expect("users").push(json!(user));
                r["count"] = json!(r["users"].as_array().map_or(0, Vec::len));
            }
            None => reactions.push(json!({"name": emoji, "users": [user], "count": 1})),
        }
    }

    /// A person's reply in a thread; its ts.
    pub fn post_as_person(&self, channel: &str, thread_ts: &str, user: &str, text: &str) -> String {
        let mut w = self.workspace();
        let ts = w.new_ts();
        let message = json!({"type": "message", "ts": ts, "user": user, "text": text, "thread_ts": thread_ts});
        w.messages
            .insert((channel.to_string(), ts.clone()), message);
        ts
    }

    /// A message "written by" `user` of organisation `team` (ours, or another's for
    /// a Slack Connect person) in `channel`, or in the thread of `thread_ts`: put in
    /// the channel's history as Slack keeps it. Its ts; [`SlackFake::message_event`]
    /// gives the event Slack would send for it.
    pub fn user_message(
        &self,
        channel: &str,
        user: &str,
        team: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> String {
        let mut w = self.workspace();
        let ts = w.new_ts();
        let mut message = json!({
            "type": "message", "ts": ts, "user": user, "text": text,
            "team": team, "user_team": team, "source_team": team,
        });
        if let Some(thread) = thread_ts {
            message["thread_ts"] = json!(thread);
        }
        w.messages
            .insert((channel.to_string(), ts.clone()), message);
        ts
    }

    /// The `message` event Slack sends for message `ts` of `channel` (the inner
    /// `event` of an `event_callback`), as it is now.
    pub fn message_event(&self, channel: &str, ts: &str) -> Option<Value> {
        let mut event = self.message(channel, ts)?;
        event["channel"] = json!(channel);
        event["event_ts"] = json!(ts);
        event["channel_type"] = json!("channel");
        event.as_object_mut().map(|o| o.remove("reactions"));
        Some(event)
    }

    /// A message deleted by its author: gone from history.
    pub fn delete_message(&self, channel: &str, ts: &str) {
        self.workspace()
            .messages
            .remove(&(channel.to_string(), ts.to_string()));
    }

    /// The reactions on a message: (emoji, users).
    pub fn reactions_on(&self, channel: &str, ts: &str) -> Vec<(String, Vec<String>)> {
        self.message(channel, ts)
            .and_then(|m| m["reactions"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let users = r["users"]
                    .as_array()
                    .map(|u| {
                        u.iter()
                            .filter_map(|u| u.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                (r["name"].as_str().unwrap_or_default().to_string(), users)
            })
            .collect()
    }

    // What happened.

    pub fn calls(&self) -> Vec<Call> {
        self.workspace().calls.clone()
    }

    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        self.workspace()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// How many calls of `method` Slack answered `ok` whose `text` holds `needle`
    /// (without copying the calls: a test may ask this every few milliseconds).
    pub fn count_ok(&self, method: &str, needle: &str) -> usize {
        self.workspace()
            .calls
            .iter()
            .filter(|c| c.method == method && c.outcome == "ok")
            .filter(|c| c.args["text"].as_str().unwrap_or("").contains(needle))
            .count()
    }

    /// Tokens minted by oauth.v2.access, oldest first.
    pub fn minted_tokens(&self) -> Vec<String> {
        self.workspace().minted.clone()
    }

    /// A file `user` uploads into a modal's `file_input`: Slack keeps it and reports it
    /// in the submission's state as a file object (`"files": [ … ]`), shaped as its
    /// reference page for the file object shows (the fields the app may read).
    pub fn file_uploaded_in_modal(&self, user: &str, name: &str) -> Value {
        let mut w = self.workspace();
        let id = w.new_id('F');
        let now_s = w.options.time.now_ms() / 1000;
        let host = w.options.permalink_host.clone();
        // The workspace the fake's (first) token acts for.
        let team = w
            .options
            .tokens
            .first()
            .map(|(_, team)| team.clone())
            .unwrap_or_default();
        json!({
            "id": id, "created": now_s, "timestamp": now_s,
            "name": name, "title": name,
            "mimetype": "application/pdf", "filetype": "pdf", "pretty_type": "PDF",
            "user": user, "user_team": team, "editable": false, "size": 1024,
            "mode": "hosted", "is_external": false, "external_type": "",
            "is_public": false, "public_url_shared": false, "display_as_bot": false,
            "username": "",
            "url_private": format!("https://files.slack.com/files-pri/{team}-{id}/{name}"),
            "url_private_download": format!("https://files.slack.com/files-pri/{team}-{id}/download/{name}"),
            "permalink": format!("https://{host}/files/{user}/{id}/{name}"),
            "permalink_public": format!("https://slack-files.com/{team}-{id}-0a1b2c3d4e"),
            "comments_count": 0, "is_starred": false, "shares": {}, "channels": [],
            "groups": [], "ims": [], "has_rich_preview": false
        })
    }

    /// Files shared so far.
    pub fn shared_files(&self) -> Vec<SharedFile> {
        self.workspace().shared_files.clone()
    }

    /// The App Home last published for `user`.
    pub fn home_of(&self, user: &str) -> Option<Value> {
        self.workspace().home_of(user)
    }

    /// The `D…` conversation of `user` with the app, once a DM opened it.
    pub fn im_of(&self, user: &str) -> Option<String> {
        self.workspace().ims.get(user).cloned()
    }

    /// The DMs sent to `user` (their texts), oldest first.
    pub fn dms_to(&self, user: &str) -> Vec<String> {
        let Some(im) = self.im_of(user) else {
            return Vec::new();
        };
        self.messages_in(&im)
            .into_iter()
            .map(|(_, m)| m["text"].as_str().unwrap_or("").to_string())
            .collect()
    }

    pub fn channel_id_by_name(&self, name: &str) -> Option<String> {
        self.workspace()
            .channels
            .iter()
            .find(|(_, c)| c.name == name)
            .map(|(id, _)| id.clone())
    }

    pub fn channel_is_private(&self, id: &str) -> bool {
        self.workspace().channels.get(id).is_some_and(|c| c.private)
    }

    pub fn members(&self, id: &str) -> HashSet<String> {
        self.workspace()
            .channels
            .get(id)
            .map(|c| c.members.clone())
            .unwrap_or_default()
    }

    /// Messages now in a channel (a user id: the app's DM with them), oldest first,
    /// as (ts, message).
    pub fn messages_in(&self, channel: &str) -> Vec<(String, Value)> {
        let w = self.workspace();
        let channel = w.ims.get(channel).map_or(channel, String::as_str);
        let mut list: Vec<(String, Value)> = w
            .messages
            .iter()
            .filter(|((c, _), _)| c == channel)
            .map(|((_, ts), m)| (ts.clone(), m.clone()))
            .collect();
        list.sort_by(|a, b| ts_order(&a.0).total_cmp(&ts_order(&b.0)));
        list
    }

    /// How many thread replies there are in `channel`, under any message.
    pub fn replies_in(&self, channel: &str) -> usize {
        self.messages_in(channel)
            .iter()
            .filter(|(ts, m)| m["thread_ts"].as_str().is_some_and(|t| t != ts))
            .count()
    }

    /// Replies in the thread of `thread_ts`, oldest first (the parent left out).
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

    pub fn message(&self, channel: &str, ts: &str) -> Option<Value> {
        self.workspace().message(channel, ts)
    }

    pub fn is_pinned(&self, channel: &str, ts: &str) -> bool {
        self.workspace()
            .pins
            .contains(&(channel.to_string(), ts.to_string()))
    }

    /// Bodies sent to response URLs, oldest first, with the URL's last segment.
    pub fn responses(&self) -> Vec<(String, Value)> {
        self.workspace().responses.clone()
    }

    /// Waits until `check` holds, for up to `limit`; panics naming `what` and the
    /// calls so far if it does not.
    pub async fn wait_up_to(&self, limit: Duration, what: &str, check: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + limit;
        while !check(self) {
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; calls: {:#?}", self.calls());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn ts_order(ts: &str) -> f64 {
    ts.parse::<f64>().unwrap_or(0.0)
}

/// A Web API call's arguments, from its query string and its JSON or form body (where
/// structured arguments arrive as JSON strings).
pub fn args_of(headers: &HeaderMap, query: HashMap<String, String>, body: &[u8]) -> Value {
    let mut args: serde_json::Map<String, Value> = query
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        if let Ok(Value::Object(map)) = serde_json::from_slice(body) {
            args.extend(map);
        }
    } else if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
        for (k, v) in pairs {
            let value = match k.as_str() {
                "blocks" | "view" | "files" | "metadata" => {
                    serde_json::from_str(&v).unwrap_or(Value::String(v))
                }
                _ => Value::String(v),
            };
            args.insert(k, value);
        }
    }
    Value::Object(args)
}

async fn response_url(
    State(fake): State<SlackFake>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut w = fake.workspace();
    w.responses.push((id.clone(), body.clone()));
    if !w.strict() {
        let ts = w.new_ts();
        let channel = w.response_channels.get(&id).cloned();
        w.tell(Seen::Responded {
            channel: channel.as_deref(),
            ts: &ts,
            body: &body,
        });
    }
    Json(json!({"ok": true})).into_response()
}

/// Where files.getUploadURLExternal sends the bytes.
async fn upload(State(fake): State<SlackFake>, Path(id): Path<String>, body: Bytes) -> Response {
    let mut w = fake.workspace();
    if !w.upload_tickets.contains_key(&id) {
        return (StatusCode::NOT_FOUND, "unknown upload").into_response();
    }
    w.uploaded.insert(id, body.to_vec());
    (StatusCode::OK, "OK - 1").into_response()
}

async fn api(
    State(fake): State<SlackFake>,
    Path(method): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args = args_of(&headers, query, &body);
    let hang = {
        let mut w = fake.workspace();
        let hang = w
            .hangs
            .get_mut(&method)
            .filter(|n| **n > 0)
            .map(|n| *n -= 1);
        if hang.is_some() {
            w.calls.push(Call {
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
    let delay = fake.workspace().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if method == "oauth.v2.access" {
        return web_api::oauth_access(&fake, &headers, &args);
    }
    // The lock is released before any wait (a std mutex guard must not cross an await).
    let (status, answer, answer_delay) = {
        let mut w = fake.workspace();
        let caller = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|token| w.tokens.get(token).cloned());
        let (status, answer) = web_api::answer(&mut w, &method, &args, caller.as_deref());
        let outcome = if answer["ok"] == true {
            "ok".to_string()
        } else {
            answer["error"].as_str().unwrap_or("?").to_string()
        };
        w.calls.push(Call {
            method: method.clone(),
            team: caller.unwrap_or_default(),
            args,
            outcome,
        });
        let answer_delay = if method == "chat.postMessage" {
            w.post_answer_delay
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
            .insert("retry-after", axum::http::HeaderValue::from_static("1"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what a printing fake reports, as text.
    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    impl Observer for Log {
        fn seen(&self, _: &Workspace, event: Seen<'_>) {
            self.0.lock().unwrap().push(format!("{event:?}"));
        }
    }

    fn call(fake: &SlackFake, method: &str, args: Value) -> Value {
        let mut w = fake.workspace();
        web_api::answer(&mut w, method, &args, Some("T1")).1
    }

    /// A message over Slack's 50 blocks.
    fn too_big() -> Value {
        let blocks: Vec<Value> = (0..51)
            .map(|i| json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("{i}")}}))
            .collect();
        json!({"channel": "C1", "text": "fallback", "blocks": blocks})
    }

    #[tokio::test]
    async fn strict_rejects_what_slack_would_and_printing_shows_it() {
        let strict = SlackFake::start(Options::strict("T1", "xoxb-1"))
            .await
            .unwrap();
        strict.add_channel("C1", "general", true);
        assert_eq!(
            call(&strict, "chat.postMessage", too_big())["error"],
            "invalid_blocks"
        );
        assert_eq!(
            call(
                &strict,
                "chat.postMessage",
                json!({"channel": "C9", "text": "x"})
            )["error"],
            "channel_not_found"
        );

        let log = Arc::new(Log::default());
        let printing = SlackFake::start(Options {
            mode: Mode::Printing(log.clone()),
            ..Options::strict("T1", "xoxb-1")
        })
        .await
        .unwrap();
        let posted = call(&printing, "chat.postMessage", too_big());
        assert_eq!(posted["ok"], true, "{posted}");
        let ts = posted["ts"].as_str().unwrap();
        assert!(
            printing.message("C1", ts).is_some(),
            "kept, as Slack keeps it"
        );
        let seen = log.0.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].starts_with("Posted"), "{seen:?}");
    }

    #[tokio::test]
    async fn uploads_answer_in_slack_s_shape_and_are_refused_where_slack_refuses() {
        let fake = SlackFake::start(Options::strict("T1", "xoxb-1"))
            .await
            .unwrap();
        fake.add_channel("C1", "globex", true);
        fake.add_channel("C2", "elsewhere", false);
        assert_eq!(
            call(
                &fake,
                "files.getUploadURLExternal",
                json!({"filename": "a.html"})
            )["error"],
            "invalid_arguments",
            "length is required"
        );
        let ticket = call(
            &fake,
            "files.getUploadURLExternal",
            json!({"filename": "a.html", "length": "5"}),
        );
        // Slack's documented answer: ok, upload_url and file_id, nothing else.
        let keys: Vec<&String> = ticket.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["file_id", "ok", "upload_url"], "{ticket}");
        let id = ticket["file_id"].as_str().unwrap().to_string();
        assert!(id.starts_with('F'), "{id}");
        let complete = |channel: &str| {
            call(
                &fake,
                "files.completeUploadExternal",
                json!({"files": [{"id": id, "title": "A"}], "channel_id": channel}),
            )
        };
        assert_eq!(complete("C1")["error"], "file_not_found", "no bytes yet");
        fake.workspace()
            .uploaded
            .insert(id.clone(), b"hello".to_vec());
        assert_eq!(complete("C9")["error"], "channel_not_found");
        assert_eq!(complete("C2")["error"], "not_in_channel");
        assert!(fake.shared_files().is_empty());
        assert_eq!(
            complete("C1"),
            json!({"ok": true, "files": [{"id": id, "title": "A"}]})
        );
        let shared = fake.shared_files();
        assert_eq!(shared.len(), 1);
        assert_eq!(
            (shared[0].channel.as_str(), shared[0].filename.as_str()),
            ("C1", "a.html")
        );
        assert_eq!(shared[0].content, b"hello");
    }

    #[tokio::test]
    async fn a_dm_to_a_person_lands_in_their_conversation_with_the_app() {
        let fake = SlackFake::start(Options::strict("T1", "xoxb-1"))
            .await
            .unwrap();
        let posted = call(
            &fake,
            "chat.postMessage",
            json!({"channel": "UALICE", "text": "hello"}),
        );
        assert_eq!(posted["channel"], "DALICE");
        assert_eq!(fake.dms_to("UALICE"), ["hello"]);
        assert_eq!(
            fake.workspace().dm_user("DALICE").as_deref(),
            Some("UALICE")
        );
    }

    #[tokio::test]
    async fn a_bad_token_is_refused_and_failures_are_injected_once_each() {
        let fake = SlackFake::start(Options::strict("T1", "xoxb-1"))
            .await
            .unwrap();
        let mut w = fake.workspace();
        let refused = web_api::answer(&mut w, "auth.test", &json!({}), None);
        assert_eq!(refused.1["error"], "invalid_auth");
        drop(w);
        fake.fail_next("auth.test", &["ratelimited"]);
        let mut w = fake.workspace();
        let limited = web_api::answer(&mut w, "auth.test", &json!({}), Some("T1"));
        assert_eq!(limited.0, StatusCode::TOO_MANY_REQUESTS);
        let then = web_api::answer(&mut w, "auth.test", &json!({}), Some("T1"));
        assert_eq!(then.1["team_id"], "T1");
    }
}
