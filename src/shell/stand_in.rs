//! The terminal's side of the Slack fake ([`crate::slack_fake`] in printing mode):
//! the fake keeps the workspace and answers the app; this shows every post, update,
//! reply, modal and file on the [`Screen`], in the channel it went to, and keeps what
//! a person could click, newest last.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::render::{self, Names};
use super::screen::Screen;
use crate::slack_fake::{Mode, Observer, Options, Seen, SlackFake, Workspace};
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

impl Names for Workspace {
    fn user(&self, id: &str) -> Option<String> {
        self.user_name(id)
    }
    fn channel(&self, id: &str) -> Option<String> {
        self.channel_name(id)
    }
    fn viewer_tz(&self) -> chrono_tz::Tz {
        self.tz().parse().unwrap_or(chrono_tz::UTC)
    }
}

/// How a channel or DM is named on screen.
fn place(w: &Workspace, channel: &str) -> String {
    let person = if channel.starts_with('U') || channel.starts_with('W') {
        Some(channel.to_string())
    } else {
        w.dm_user(channel)
    };
    match person {
        Some(user) => format!("DM to @{}", w.user(&user).unwrap_or(user)),
        None => format!(
            "#{}",
            w.channel(channel).unwrap_or_else(|| channel.to_string())
        ),
    }
}

/// What the fake reports, shown; and what can be clicked.
struct Shown {
    screen: Arc<Screen>,
    /// Everything clickable, oldest first; a surface shown again moves to the end.
    surfaces: Mutex<Vec<Surface>>,
}

impl Shown {
    fn surfaces(&self) -> MutexGuard<'_, Vec<Surface>> {
        self.surfaces.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn touch(&self, surface: Surface) {
        let mut surfaces = self.surfaces();
        match &surface {
            Surface::Message { channel, ts } => surfaces.retain(
                |s| !matches!(s, Surface::Message { channel: c, ts: t } if c == channel && t == ts),
            ),
            Surface::Home { user, .. } => {
                surfaces.retain(|s| !matches!(s, Surface::Home { user: u, .. } if u == user))
            }
            _ => {}
        }
        surfaces.push(surface);
        // A long session keeps only what anyone could still scroll to.
        if surfaces.len() > 2000 {
            surfaces.drain(..1000);
        }
    }
}

impl Observer for Shown {
    fn seen(&self, w: &Workspace, event: Seen<'_>) {
        let style = self.screen.style();
        match event {
            Seen::ChannelCreated { name, private } => {
                let kind = if private {
                    "private channel"
                } else {
                    "channel"
                };
                self.screen
                    .note(&format!("#{name}: {kind} created by the app"));
            }
            Seen::Reacted {
                channel,
                author,
                name,
            } => {
                let whose = match w.user(author) {
                    Some(person) => format!("@{person}'s message"),
                    None => "a message".into(),
                };
                self.screen.note(&format!(
                    "{}: the app reacted :{name}: to {whose}",
                    place(w, channel)
                ));
            }
            Seen::Invited { channel, users } => {
                let people: Vec<String> = users
                    .iter()
                    .map(|u| format!("@{}", w.user(u).unwrap_or_else(|| u.to_string())))
                    .collect();
                self.screen.note(&format!(
                    "{}: {} invited",
                    place(w, channel),
                    people.join(", ")
                ));
            }
            Seen::Posted {
                channel,
                ts,
                message,
            } => {
                let lines = render::message_lines(message, w, style);
                let heading = match message["thread_ts"].is_null() {
                    false => format!("{} · in a thread", place(w, channel)),
                    true => place(w, channel),
                };
                self.touch(Surface::Message {
                    channel: channel.to_string(),
                    ts: ts.to_string(),
                });
                self.screen.show(&heading, &lines);
            }
            Seen::Updated {
                channel,
                ts,
                before,
                after,
            } => {
                let after_lines = render::message_lines(after, w, style);
                let changed = match before {
                    Some(before) => render::changed_lines(
                        &render::message_lines(before, w, style),
                        &after_lines,
                    ),
                    None => after_lines,
                };
                self.touch(Surface::Message {
                    channel: channel.to_string(),
                    ts: ts.to_string(),
                });
                if !changed.is_empty() {
                    let heading = format!("{} · message updated", place(w, channel));
                    self.screen.show(&heading, &changed);
                }
            }
            Seen::ModalOpened { view_id, view } => {
                let title = render::mrkdwn(view["title"]["text"].as_str().unwrap_or_default(), w);
                let lines = render::message_lines(view, w, style);
                self.touch(Surface::Modal {
                    view_id: view_id.to_string(),
                    view: view.clone(),
                });
                self.screen.show(&format!("modal · {title}"), &lines);
            }
            Seen::FileShared {
                channel,
                in_thread,
                filename,
                length,
                title,
            } => {
                let heading = match in_thread {
                    true => format!("{} · in a thread", place(w, channel)),
                    false => place(w, channel),
                };
                self.screen.show(
                    &heading,
                    &[format!(
                        "📎 {filename} ({} KB) {title}",
                        length.div_ceil(1024)
                    )],
                );
            }
            Seen::Responded { channel, ts, body } => {
                let channel = channel.unwrap_or(START_CHANNEL.0);
                let replaced = if body["replace_original"] == true {
                    " (replaces the earlier reply)"
                } else {
                    ""
                };
                let heading = format!("{} · only you{replaced}", place(w, channel));
                let lines = render::message_lines(body, w, style);
                self.touch(Surface::Ephemeral {
                    channel: channel.to_string(),
                    ts: ts.to_string(),
                    message: body.clone(),
                });
                self.screen.show(&heading, &lines);
            }
            Seen::UnknownMethod(method) => self.screen.note(&style.warn(&format!(
                "the shell's Slack stand-in does not know {method}; the app was told unknown_method"
            ))),
        }
    }
}

/// The fake in printing mode, and the screen it prints to.
#[derive(Clone)]
pub struct StandIn {
    fake: SlackFake,
    shown: Arc<Shown>,
    /// For `SLACK_API_URL`.
    pub api_url: String,
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
        let shown = Arc::new(Shown {
            screen,
            surfaces: Mutex::new(Vec::new()),
        });
        let fake = SlackFake::start(Options {
            mode: Mode::Printing(shown.clone()),
            tokens: vec![(token.to_string(), SHELL_TEAM.to_string())],
            team_name: "Shell".into(),
            domain: "shell".into(),
            // Not a real workspace's address: a permalink clicked in the terminal goes
            // nowhere.
            permalink_host: "shell.slack.invalid".into(),
            bot_user: "UBOTSHELL".into(),
            locale: if lang_is_english { "en-US" } else { "ja-JP" }.into(),
            tz: tz.into(),
            // The person at the terminal runs the workspace in the shell.
            everyone_admin: true,
            // Message ts are the clock's seconds and this counter. A virtual clock
            // starts at the same moment every session, so on a kept database each
            // session's counter starts elsewhere, or its ts would be an earlier
            // session's.
            first_ts: ts_offset,
            time,
            client_id: String::new(),
            client_secret: String::new(),
        })
        .await?;
        fake.add_channel(START_CHANNEL.0, START_CHANNEL.1, true);
        Ok(Self {
            api_url: fake.api_url.clone(),
            fake,
            shown,
        })
    }

    /// `user` is a person of organisation `org`, in through Slack Connect.
    pub fn make_connect_person(&self, user: &str, org: &str) {
        self.fake.set_connect_person(user, org);
    }

    /// `user` is a (multi-channel) guest of the workspace.
    pub fn make_guest(&self, user: &str) {
        self.fake.set_guest(user, true);
    }

    /// The other organisation `user` belongs to, if Slack says they are of one.
    pub fn organisation_of(&self, user: &str) -> Option<String> {
        let w = self.fake.workspace();
        w.person_field(user, "team_id")
            .filter(|team| team != SHELL_TEAM)
    }

    /// A person's top-level message in `channel`, shown as message `number`; its ts.
    pub fn say_as_person(&self, channel: &str, user: &str, text: &str, number: usize) -> String {
        let ts = self.fake.message_as_person(channel, None, user, text);
        let w = self.fake.workspace();
        let heading = format!("{} · message {number}", place(&w, channel));
        let who = format!(
            "@{}: {text}",
            w.user(user).unwrap_or_else(|| user.to_string())
        );
        drop(w);
        self.shown.screen.show(&heading, &[who]);
        ts
    }

    /// A person's reaction on a message, as Slack shows it.
    pub fn react_as_person(&self, channel: &str, ts: &str, user: &str, emoji: &str, number: usize) {
        self.fake.reaction_by_person(channel, ts, user, emoji);
        let w = self.fake.workspace();
        let line = format!(
            "{}: @{} reacted :{emoji}: to message {number}",
            place(&w, channel),
            w.user(user).unwrap_or_else(|| user.to_string())
        );
        drop(w);
        self.shown.screen.note(&line);
    }

    /// The fake's workspace, locked: for names and channels.
    pub fn workspace(&self) -> MutexGuard<'_, Workspace> {
        self.fake.workspace()
    }

    /// Names a person: `@alice` typed in the shell is `<@UALICE|alice>` to the app.
    pub fn person(&self, name: &str) -> String {
        let id = user_id(name);
        self.fake.set_name(&id, name);
        id
    }

    /// A channel the database already refers to, from an earlier session.
    pub fn know_channel(&self, id: &str, name: &str) {
        self.fake.know_channel(id, name);
    }

    /// A person's reply in a thread, as Slack shows it; its ts.
    pub fn post_as_person(&self, channel: &str, thread_ts: &str, user: &str, text: &str) -> String {
        let ts = self.fake.post_as_person(channel, thread_ts, user, text);
        let w = self.fake.workspace();
        let heading = format!("{} · in a thread", place(&w, channel));
        let who = format!(
            "@{}: {text}",
            w.user(user).unwrap_or_else(|| user.to_string())
        );
        drop(w);
        self.shown.screen.show(&heading, &[who]);
        ts
    }

    /// A response URL for a request typed in `channel`.
    pub fn response_url(&self, channel: &str) -> String {
        self.fake.response_url_for(channel)
    }

    /// Shows a command's direct answer (the HTTP response) as Slack would: only to
    /// the person who typed it, in the channel they typed it in.
    pub fn show_answer(&self, channel: &str, answer: &Value) {
        let mut w = self.fake.workspace();
        let ts = w.new_ts();
        let lines = render::message_lines(answer, &*w, self.shown.screen.style());
        let heading = format!("{} · only you", place(&w, channel));
        drop(w);
        self.shown.touch(Surface::Ephemeral {
            channel: channel.to_string(),
            ts,
            message: answer.clone(),
        });
        self.shown.screen.show_first(&heading, &lines);
    }

    /// Keeps a click's checkboxes on the reply only its asker sees, as Slack's client
    /// does: the next click on the same copy sends every box as it now stands, not as
    /// the copy was first shown. (A channel message needs none of this: the app
    /// updates it, and the shell waits for that before the next line.)
    pub fn keep_ticks_on_copy(
        &self,
        channel: &str,
        ts: &str,
        block_id: &Value,
        selected: &[Value],
    ) {
        let mut surfaces = self.shown.surfaces();
        let copy = surfaces.iter_mut().find_map(|s| match s {
            Surface::Ephemeral {
                channel: c,
                ts: t,
                message,
            } if c == channel && t == ts => Some(message),
            _ => None,
        });
        let Some(message) = copy else { return };
        let Some(blocks) = message["blocks"].as_array_mut() else {
            return;
        };
        for block in blocks.iter_mut().filter(|b| &b["block_id"] == block_id) {
            if let Some(elements) = block["elements"].as_array_mut() {
                for element in elements.iter_mut().filter(|e| e["type"] == "checkboxes") {
                    element["initial_options"] = Value::Array(selected.to_vec());
                }
            }
        }
    }

    /// Newest first, with what each shows now: what a click by key or label looks for.
    pub fn surfaces_newest_first(&self) -> Vec<(Surface, Value)> {
        // The surfaces are copied before the workspace is locked: the fake tells the
        // observer with the workspace locked, so the locks are taken in that order only.
        let surfaces = self.shown.surfaces().clone();
        let w = self.fake.workspace();
        surfaces
            .into_iter()
            .rev()
            .filter_map(|s| {
                let shown = match &s {
                    Surface::Message { channel, ts } => w.message(channel, ts)?,
                    Surface::Ephemeral { message, .. } => message.clone(),
                    Surface::Modal { view, .. } | Surface::Home { view, .. } => view.clone(),
                };
                Some((s, shown))
            })
            .collect()
    }

    /// The modal on top, if one is open.
    pub fn top_modal(&self) -> Option<(String, Value)> {
        self.fake.workspace().top_modal()
    }

    /// The top modal closed (submitted): it can no longer be clicked.
    pub fn close_modal(&self) {
        let closed = self.fake.workspace().close_modal();
        if let Some(view_id) = closed {
            self.shown
                .surfaces()
                .retain(|s| !matches!(s, Surface::Modal { view_id: v, .. } if *v == view_id));
        }
    }

    /// Shows the view a submission's `response_action: "update"` put in the modal's
    /// place. It is a notice with only a close button, so the shell closes it once
    /// shown (there is nothing left to press in it).
    pub fn show_updated_modal(&self, view: &Value) {
        let w = self.fake.workspace();
        let title = render::mrkdwn(view["title"]["text"].as_str().unwrap_or_default(), &*w);
        let lines = render::message_lines(view, &*w, self.shown.screen.style());
        drop(w);
        self.shown.screen.show(&format!("modal · {title}"), &lines);
        self.close_modal();
    }

    /// How many times a Home was published.
    pub fn homes_published(&self) -> u64 {
        self.fake.workspace().homes_published
    }

    /// Shows the Home as the person would see it on opening the tab, and makes it
    /// clickable; whether there is one.
    pub fn open_home(&self, user: &str) -> bool {
        let w = self.fake.workspace();
        let Some(view) = w.home_of(user) else {
            return false;
        };
        let lines = render::message_lines(&view, &*w, self.shown.screen.style());
        let heading = format!("App Home of @{}", w.user(user).unwrap_or_default());
        drop(w);
        self.shown.touch(Surface::Home {
            user: user.to_string(),
            view,
        });
        self.shown.screen.show(&heading, &lines);
        true
    }

    pub fn screen(&self) -> &Screen {
        &self.shown.screen
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
