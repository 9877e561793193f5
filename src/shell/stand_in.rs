//! The terminal's stand-in for Slack's Web API: an HTTP server on 127.0.0.1 that the
//! app reaches through `SLACK_API_URL`, exactly as it reaches Slack. It keeps what a
//! workspace would hold (channels, messages, App Homes, open modals, people's names)
//! and shows every post, update, reply, modal and file on the [`Screen`], in the
//! channel it went to.
//!
//! It is not a checker: the test double (tests/api/support) enforces Slack's limits.
//! This one answers the way Slack answers when all is well, so the shell shows what
//! the app would show.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::HeaderMap,
    routing::{any, post},
};
use serde_json::{Value, json};

use super::render::{self, Names};
use super::screen::Screen;
use crate::time_source::TimeSource;

/// The one person typing, unless the script says otherwise.
pub const SHELL_TEAM: &str = "T0SHELL";
/// The channel commands are typed in until the shell is told another.
pub const START_CHANNEL: (&str, &str) = ("C0GENERAL", "general");

/// Where a person can click: a channel message, an ephemeral reply, a modal or a Home.
#[derive(Debug, Clone)]
pub enum Surface {
    Message {
        channel: String,
        ts: String,
    },
    /// An answer only its asker sees; `ts` is what Slack would put in its container.
    Ephemeral {
        channel: String,
        ts: String,
        message: Value,
    },
    Modal {
        view_id: String,
        view: Value,
    },
    Home {
        user: String,
        view: Value,
    },
}

#[derive(Default)]
struct Channel {
    name: String,
    private: bool,
}

#[derive(Default)]
pub struct Workspace {
    channels: BTreeMap<String, Channel>,
    users: HashMap<String, String>,
    /// (channel, ts) → the message as Slack would return it.
    messages: HashMap<(String, String), Value>,
    /// Everything clickable, oldest first; a surface shown again moves to the end.
    surfaces: Vec<Surface>,
    /// Response URLs handed out: id → the channel their command was typed in.
    response_channels: HashMap<u64, String>,
    homes: HashMap<String, Value>,
    /// Bumped by every views.publish, so the shell can wait for a Home it asked for.
    pub homes_published: u64,
    modals: Vec<(String, Value)>,
    uploads: HashMap<String, (String, usize)>,
    next_id: u64,
    next_ts: u64,
    locale: String,
    tz: String,
}

impl Names for Workspace {
    fn user(&self, id: &str) -> Option<String> {
        self.users.get(id).cloned()
    }
    fn channel(&self, id: &str) -> Option<String> {
        self.channels.get(id).map(|c| c.name.clone())
    }
    fn viewer_tz(&self) -> chrono_tz::Tz {
        self.tz.parse().unwrap_or(chrono_tz::UTC)
    }
}

impl Workspace {
    pub fn channel_named(&self, name: &str) -> Option<String> {
        let name = name.trim_start_matches('#');
        self.channels
            .iter()
            .find(|(_, c)| c.name == name)
            .map(|(id, _)| id.clone())
    }

    /// Newest first: what a click by key or label looks for.
    pub fn surfaces_newest_first(&self) -> Vec<(Surface, Value)> {
        self.surfaces
            .iter()
            .rev()
            .filter_map(|s| {
                let shown = match s {
                    Surface::Message { channel, ts } => {
                        self.messages.get(&(channel.clone(), ts.clone()))?.clone()
                    }
                    Surface::Ephemeral { message, .. } => message.clone(),
                    Surface::Modal { view, .. } | Surface::Home { view, .. } => view.clone(),
                };
                Some((s.clone(), shown))
            })
            .collect()
    }

    /// The modal on top, if one is open.
    pub fn top_modal(&self) -> Option<(String, Value)> {
        self.modals.last().cloned()
    }

    /// The top modal closed (submitted): it can no longer be clicked.
    pub fn close_modal(&mut self) {
        if let Some((view_id, _)) = self.modals.pop() {
            self.surfaces
                .retain(|s| !matches!(s, Surface::Modal { view_id: v, .. } if *v == view_id));
        }
    }

    pub fn home_of(&self, user: &str) -> Option<Value> {
        self.homes.get(user).cloned()
    }

    /// Shows the Home as the person would see it on opening the tab, and makes it
    /// clickable.
    pub fn mark_home_seen(&mut self, user: &str) {
        if let Some(view) = self.homes.get(user).cloned() {
            self.surfaces
                .retain(|s| !matches!(s, Surface::Home { user: u, .. } if u == user));
            self.surfaces.push(Surface::Home {
                user: user.to_string(),
                view,
            });
        }
    }

    fn touch(&mut self, surface: Surface) {
        if let Surface::Message { channel, ts } = &surface {
            self.surfaces.retain(
                |s| !matches!(s, Surface::Message { channel: c, ts: t } if c == channel && t == ts),
            );
        }
        self.surfaces.push(surface);
        // A long session keeps only what anyone could still scroll to.
        if self.surfaces.len() > 2000 {
            self.surfaces.drain(..1000);
        }
    }

    fn new_ts(&mut self, now_s: i64) -> String {
        self.next_ts += 1;
        format!("{now_s}.{:06}", self.next_ts)
    }

    fn new_id(&mut self, prefix: char) -> String {
        self.next_id += 1;
        format!("{prefix}{:07}", self.next_id)
    }

    /// How a channel or DM is named on screen.
    fn place(&self, channel: &str) -> String {
        if channel.starts_with('U') || channel.starts_with('W') {
            format!(
                "DM to @{}",
                self.user(channel).unwrap_or_else(|| channel.into())
            )
        } else {
            format!(
                "#{}",
                self.channel(channel).unwrap_or_else(|| channel.to_string())
            )
        }
    }
}

/// The stand-in: its state, its screen, and the URLs the app is given.
#[derive(Clone)]
pub struct StandIn {
    workspace: Arc<Mutex<Workspace>>,
    screen: Arc<Screen>,
    time: TimeSource,
    token: String,
    /// For `SLACK_API_URL`.
    pub api_url: String,
    base: String,
}

impl StandIn {
    /// Starts the stand-in on 127.0.0.1 (a free port).
    pub async fn start(
        screen: Arc<Screen>,
        time: TimeSource,
        token: &str,
        lang_is_english: bool,
        tz: &str,
        ts_offset: u64,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let mut workspace = Workspace {
            locale: if lang_is_english { "en-US" } else { "ja-JP" }.into(),
            tz: tz.into(),
            // Message ts are the clock's seconds and this counter. A virtual clock starts
            // at the same moment every session, so on a kept database each session's
            // counter starts elsewhere, or its ts would be an earlier session's.
            next_ts: ts_offset,
            ..Workspace::default()
        };
        workspace.channels.insert(
            START_CHANNEL.0.into(),
            Channel {
                name: START_CHANNEL.1.into(),
                private: false,
            },
        );
        let stand_in = Self {
            workspace: Arc::new(Mutex::new(workspace)),
            screen,
            time,
            token: token.to_string(),
            api_url: format!("{base}/api"),
            base,
        };
        let app = Router::new()
            .route("/api/{method}", any(api))
            .route("/response/{id}", post(response_url))
            .route("/upload/{id}", post(upload))
            .with_state(stand_in.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(stand_in)
    }

    pub fn workspace(&self) -> MutexGuard<'_, Workspace> {
        self.workspace.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Names a person: `@alice` typed in the shell is `<@UALICE|alice>` to the app.
    pub fn person(&self, name: &str) -> String {
        let id = user_id(name);
        self.workspace().users.insert(id.clone(), name.to_string());
        id
    }

    /// A channel the database already refers to, from an earlier session.
    pub fn know_channel(&self, id: &str, name: &str) {
        let mut w = self.workspace();
        // New ids must not collide with it.
        if let Some(Ok(n)) = id.get(1..).map(str::parse::<u64>) {
            w.next_id = w.next_id.max(n);
        }
        w.channels.entry(id.to_string()).or_insert(Channel {
            name: name.to_string(),
            private: true,
        });
    }

    /// A person's reply in a thread, as Slack shows it; its ts.
    pub fn post_as_person(&self, channel: &str, thread_ts: &str, user: &str, text: &str) -> String {
        let mut w = self.workspace();
        let ts = w.new_ts(self.time.now_ms() / 1000);
        let message = json!({"type": "message", "ts": ts, "user": user, "text": text, "thread_ts": thread_ts});
        let heading = format!("{} · in a thread", w.place(channel));
        let who = format!(
            "@{}: {text}",
            w.user(user).unwrap_or_else(|| user.to_string())
        );
        w.messages
            .insert((channel.to_string(), ts.clone()), message);
        self.screen.show(&heading, &[who]);
        ts
    }

    /// A response URL for a request typed in `channel`.
    pub fn response_url(&self, channel: &str) -> String {
        let mut w = self.workspace();
        w.next_id += 1;
        let id = w.next_id;
        w.response_channels.insert(id, channel.to_string());
        format!("{}/response/{id}", self.base)
    }

    /// Shows a command's direct answer (the HTTP response) as Slack would: only to
    /// the person who typed it, in the channel they typed it in.
    pub fn show_answer(&self, channel: &str, answer: &Value) {
        let mut w = self.workspace();
        let now_s = self.time.now_ms() / 1000;
        let ts = w.new_ts(now_s);
        let lines = render::message_lines(answer, &*w, self.screen.style());
        let heading = format!("{} · only you", w.place(channel));
        w.touch(Surface::Ephemeral {
            channel: channel.to_string(),
            ts,
            message: answer.clone(),
        });
        self.screen.show_first(&heading, &lines);
    }

    pub fn screen(&self) -> &Screen {
        &self.screen
    }
}

/// A stable id for a name typed in the shell: `alice` → `UALICE`. A name that does not
/// fit that form (`田中`, `al-ice`, a long one) gets a hash of itself appended, so two
/// names never share an id.
pub fn user_id(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .take(12)
        .collect();
    if !cleaned.is_empty() && cleaned.eq_ignore_ascii_case(name) {
        return format!("U{cleaned}");
    }
    // FNV-1a: the same id on every run (the standard hasher promises no such thing).
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("U{}{:08X}", &cleaned[..cleaned.len().min(4)], hash as u32)
}

fn ok(extra: Value) -> Value {
    let mut v = json!({"ok": true});
    if let (Some(map), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        map.extend(extra.clone());
    }
    v
}

fn err(code: &str) -> Value {
    json!({"ok": false, "error": code})
}

/// A Web API call's arguments, from its query string and its JSON or form body (where
/// structured arguments arrive as JSON strings). The tests' Slack double reads them so too.
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
            // Structured arguments arrive as JSON strings in a form.
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

fn arg<'a>(args: &'a Value, key: &str) -> &'a str {
    args[key].as_str().unwrap_or_default()
}

async fn api(
    State(stand_in): State<StandIn>,
    Path(method): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.strip_prefix("Bearer ") == Some(stand_in.token.as_str()));
    if !authorized {
        return Json(err("invalid_auth"));
    }
    let args = args_of(&headers, query, &body);
    Json(stand_in.handle(&method, &args))
}

impl StandIn {
    fn handle(&self, method: &str, args: &Value) -> Value {
        let style = self.screen.style();
        let now_s = self.time.now_ms() / 1000;
        let mut w = self.workspace();
        match method {
            "conversations.create" => {
                let name = arg(args, "name").to_string();
                if w.channel_named(&name).is_some() {
                    return err("name_taken");
                }
                let private = args["is_private"] == true || args["is_private"] == "true";
                let id = w.new_id(if private { 'G' } else { 'C' });
                w.channels.insert(
                    id.clone(),
                    Channel {
                        name: name.clone(),
                        private,
                    },
                );
                let kind = if private {
                    "private channel"
                } else {
                    "channel"
                };
                self.screen
                    .note(&format!("#{name}: {kind} created by the app"));
                ok(json!({"channel": {
                    "id": id, "name": name, "is_private": private, "is_channel": !private,
                    "is_group": private, "created": now_s, "creator": "UBOTSHELL",
                }}))
            }
            "conversations.invite" => {
                let channel = arg(args, "channel");
                let people: Vec<String> = arg(args, "users")
                    .split(',')
                    .filter(|u| !u.is_empty())
                    .map(|u| format!("@{}", w.user(u).unwrap_or_else(|| u.to_string())))
                    .collect();
                self.screen.note(&format!(
                    "{}: {} invited",
                    w.place(channel),
                    people.join(", ")
                ));
                ok(json!({"channel": {"id": channel}}))
            }
            "conversations.info" => {
                let channel = arg(args, "channel");
                match w.channels.get(channel) {
                    None => err("channel_not_found"),
                    Some(c) => ok(json!({"channel": {
                        "id": channel, "name": c.name, "is_private": c.private,
                        "is_shared": false, "is_ext_shared": false, "created": now_s
                    }})),
                }
            }
            "chat.postMessage" => {
                let channel = arg(args, "channel").to_string();
                let ts = w.new_ts(now_s);
                let thread = args["thread_ts"].as_str().map(str::to_string);
                let mut message = json!({
                    "type": "message", "ts": ts, "text": args["text"],
                    "blocks": args["blocks"], "metadata": args["metadata"],
                });
                if let Some(thread) = &thread {
                    message["thread_ts"] = json!(thread);
                }
                let lines = render::message_lines(&message, &*w, style);
                let heading = match thread {
                    Some(_) => format!("{} · in a thread", w.place(&channel)),
                    None => w.place(&channel),
                };
                w.messages
                    .insert((channel.clone(), ts.clone()), message.clone());
                w.touch(Surface::Message {
                    channel: channel.clone(),
                    ts: ts.clone(),
                });
                self.screen.show(&heading, &lines);
                ok(json!({"channel": channel, "ts": ts, "message": message}))
            }
            "chat.update" => {
                let key = (
                    arg(args, "channel").to_string(),
                    arg(args, "ts").to_string(),
                );
                let before = w.messages.get(&key).cloned();
                let mut message = before.clone().unwrap_or_else(|| json!({"ts": key.1}));
                message["text"] = args["text"].clone();
                message["blocks"] = args["blocks"].clone();
                let after_lines = render::message_lines(&message, &*w, style);
                let changed = match &before {
                    Some(before) => render::changed_lines(
                        &render::message_lines(before, &*w, style),
                        &after_lines,
                    ),
                    None => after_lines,
                };
                let heading = format!("{} · message updated", w.place(&key.0));
                w.messages.insert(key.clone(), message.clone());
                w.touch(Surface::Message {
                    channel: key.0.clone(),
                    ts: key.1.clone(),
                });
                if !changed.is_empty() {
                    self.screen.show(&heading, &changed);
                }
                ok(json!({"channel": key.0, "ts": key.1, "message": message}))
            }
            "conversations.history" | "conversations.replies" => {
                let channel = arg(args, "channel");
                let thread = args["ts"].as_str();
                let mut messages: Vec<Value> = w
                    .messages
                    .iter()
                    .filter(|((c, ts), m)| {
                        c == channel
                            && match thread {
                                Some(t) => ts == t || m["thread_ts"] == t,
                                None => m["thread_ts"].is_null(),
                            }
                    })
                    .map(|(_, m)| m.clone())
                    .collect();
                messages.sort_by(|a, b| arg(b, "ts").cmp(arg(a, "ts")));
                ok(json!({"messages": messages, "has_more": false}))
            }
            "chat.getPermalink" => {
                let channel = arg(args, "channel");
                let ts = arg(args, "message_ts").replace('.', "");
                ok(
                    json!({"channel": channel, "permalink": format!("https://shell.slack.invalid/archives/{channel}/p{ts}")}),
                )
            }
            "pins.add" => ok(json!({})),
            "auth.test" => ok(json!({
                "url": "https://shell.slack.com/", "team": "Shell", "user": "readiness",
                "team_id": SHELL_TEAM, "user_id": "U0READINESS", "bot_id": "B0READINESS",
                "is_enterprise_install": false,
            })),
            "users.info" => {
                let user = arg(args, "user");
                let name = w.user(user).unwrap_or_else(|| user.to_lowercase());
                // The person at the terminal runs the workspace in the shell.
                ok(json!({"user": {
                    "id": user, "team_id": SHELL_TEAM, "name": name, "real_name": name,
                    "locale": w.locale, "tz": w.tz, "is_admin": true, "is_owner": true,
                }}))
            }
            "views.publish" => {
                let user = arg(args, "user_id").to_string();
                w.homes.insert(user, args["view"].clone());
                w.homes_published += 1;
                ok(json!({"view": {"id": "VHOME"}}))
            }
            "views.open" | "views.push" => {
                if method == "views.open" {
                    w.modals.clear();
                }
                let view_id = w.new_id('V');
                let view = args["view"].clone();
                w.modals.push((view_id.clone(), view.clone()));
                let title = render::mrkdwn(arg(&view["title"], "text"), &*w);
                let lines = render::message_lines(&view, &*w, style);
                w.touch(Surface::Modal {
                    view_id: view_id.clone(),
                    view,
                });
                self.screen.show(&format!("modal · {title}"), &lines);
                ok(json!({"view": {"id": view_id}}))
            }
            "files.getUploadURLExternal" => {
                let id = w.new_id('F');
                let length = arg(args, "length").parse().unwrap_or(0);
                w.uploads
                    .insert(id.clone(), (arg(args, "filename").to_string(), length));
                ok(json!({"upload_url": format!("{}/upload/{id}", self.base), "file_id": id}))
            }
            "files.completeUploadExternal" => {
                let files = match &args["files"] {
                    Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                    other => other.clone(),
                };
                let channel = arg(args, "channel_id");
                let place = match args["thread_ts"].as_str() {
                    Some(_) => format!("{} · in a thread", w.place(channel)),
                    None => w.place(channel),
                };
                for f in files.as_array().into_iter().flatten() {
                    if let Some((name, length)) = w.uploads.get(arg(f, "id")) {
                        self.screen.show(
                            &place,
                            &[format!(
                                "📎 {name} ({} KB) {}",
                                length.div_ceil(1024),
                                arg(f, "title")
                            )],
                        );
                    }
                }
                ok(json!({"files": files}))
            }
            other => {
                self.screen.note(&style.warn(&format!(
                    "the shell's Slack stand-in does not know {other}; the app was told unknown_method"
                )));
                err("unknown_method")
            }
        }
    }
}

async fn response_url(
    State(stand_in): State<StandIn>,
    Path(id): Path<u64>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let style = stand_in.screen.style();
    let mut w = stand_in.workspace();
    let channel = w
        .response_channels
        .get(&id)
        .cloned()
        .unwrap_or_else(|| START_CHANNEL.0.to_string());
    let replaced = if body["replace_original"] == true {
        " (replaces the earlier reply)"
    } else {
        ""
    };
    let heading = format!("{} · only you{replaced}", w.place(&channel));
    let lines = render::message_lines(&body, &*w, style);
    let ts = w.new_ts(stand_in.time.now_ms() / 1000);
    w.touch(Surface::Ephemeral {
        channel,
        ts,
        message: body,
    });
    stand_in.screen.show(&heading, &lines);
    Json(json!({"ok": true}))
}

/// Where files.getUploadURLExternal sends the bytes: accepted, shown when completed.
async fn upload() -> &'static str {
    "OK - uploaded"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_typed_in_the_shell_get_distinct_stable_ids() {
        assert_eq!(user_id("alice"), "UALICE");
        assert_eq!(
            user_id("alice"),
            user_id("Alice"),
            "Slack names ignore case"
        );
        let others = ["田中", "佐藤", "al-ice", "a.lice", "averyveryverylongname"];
        let ids: std::collections::HashSet<String> = others.iter().map(|n| user_id(n)).collect();
        assert_eq!(ids.len(), others.len(), "{ids:?}");
        assert!(!ids.contains("UALICE"));
        assert_eq!(user_id("田中"), user_id("田中"), "the same on every call");
    }
}
