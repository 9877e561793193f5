//! `readiness shell`: the whole app in one process, with the terminal standing in for
//! Slack at both edges, so it can be tried without a workspace.
//!
//! - **Inbound**, what a person types becomes the request Slack would send (a slash
//!   command form, a `block_actions` payload for a tick or a button, an Events API
//!   callback for the Home tab or a thread reply, built by
//!   [`crate::slack_fake::payloads`] as the tests build theirs), signed with the
//!   session's secret and handed to the app's own router: the signature check, the
//!   parsers, the handlers, the store and the outbox are the ones `readiness serve`
//!   runs.
//! - **Outbound**, the app's Web API client is pointed (`SLACK_API_URL`) at the Slack
//!   fake the tests use, in its printing mode ([`stand_in`]): it answers like Slack,
//!   and every post shows on the [`screen`].
//!
//! After each line the shell waits until the app has done what the line started
//! ([`Shell::settle`]), so output comes in a stable order. Under `--clock virtual`
//! the app's clock stands still and `wait` moves it straight to each next due row.

pub mod input;
pub mod render;
pub mod screen;
pub mod stand_in;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower::ServiceExt as _;

use crate::app::App;
use crate::config::{Secret, Settings};
use crate::domain::i18n::Lang;
use crate::slack::Context;
use crate::slack_fake::payloads::{self, Container, Origin, SlashCommand};
use crate::time_source::TimeSource;
use input::Input;
use render::Style;
use screen::Screen;
use stand_in::{SHELL_TEAM, START_CHANNEL, StandIn, Surface};

/// Where the virtual clock starts unless `--start` says otherwise: a fixed Monday
/// morning inside every tier's support hours, so a transcript is the same on every run.
pub const VIRTUAL_START: &str = "2026-01-05T10:00:00+09:00";
/// On the virtual clock, what a line sets going that shows within seconds in Slack
/// (posts paced a second apart in one channel) is played out before the next line.
const SETTLE_HORIZON_MS: i64 = 5_000;
/// The biggest answer the shell reads from the app.
const MAX_ANSWER_BYTES: usize = 4 << 20;

#[derive(Debug, Clone)]
pub struct Options {
    /// Commands from this file (`-`: standard input) instead of the prompt.
    pub script: Option<PathBuf>,
    pub virtual_clock: bool,
    /// Where the virtual clock starts.
    pub start: Option<DateTime<Utc>>,
    /// Time to let pass after the script's last line.
    pub wait: Duration,
    /// The database was set by flag, environment or file (else the shell picks one).
    pub database_configured: bool,
}

/// Runs the shell; the exit code is non-zero if a script line failed.
pub async fn run(mut settings: Settings, options: Options) -> anyhow::Result<i32> {
    let time = match (options.virtual_clock, options.start) {
        (false, _) => TimeSource::real(),
        (true, Some(start)) => TimeSource::virtual_at(start),
        (true, None) => TimeSource::virtual_at(
            DateTime::parse_from_rfc3339(VIRTUAL_START)
                .expect("a valid constant")
                .to_utc(),
        ),
    };
    let interactive = options.script.is_none() && std::io::stdin().is_terminal();
    // Read first: a missing file stops here, before a database is touched.
    let script = if interactive {
        Vec::new()
    } else {
        read_script(options.script.as_deref())?
    };
    let style = Style {
        colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let screen = Arc::new(Screen::new(style, time.clone(), Box::new(print_to_stdout)));
    // A script (or piped input) without a configured database starts from nothing, so
    // it does the same on every run; the prompt keeps its own file between sessions.
    let _scratch = if options.database_configured {
        None
    } else if interactive {
        settings.database_url = SHELL_DATABASE_URL.into();
        None
    } else {
        let dir = tempfile::tempdir().context("cannot create a scratch database")?;
        settings.database_url = format!("sqlite://{}", dir.path().join("shell.db").display());
        Some(dir)
    };
    // The shell's scratch copies are not the workspace's backups.
    settings.backup = None;
    let customers = shell_customers(&settings.database_url).await?;
    let secret = session_secret()?;
    let token = format!("xoxb-shell-{}", &secret[..12]);
    let stand_in = StandIn::start(
        screen.clone(),
        time.clone(),
        &token,
        settings.channel_language == Lang::En,
        SHELL_TZ,
        // A scratch database (a script's) needs no offset, and gets none, so that
        // transcripts stay the same; a kept one gets a per-session one.
        if options.database_configured || interactive {
            (Utc::now().timestamp_millis() as u64 % 900) * 1000
        } else {
            0
        },
    )
    .await?;
    settings.slack_api_url = stand_in.api_url.clone();
    settings.bot_token = Secret::new(token);
    settings.signing_secret = Secret::new(secret.clone());
    // The terminal is the one workspace and the one way in: no OAuth installs, no
    // Socket Mode, whatever the environment says.
    settings.client_id.clear();
    settings.client_secret = Secret::default();
    settings.app_token = Secret::default();
    let database = if options.database_configured || interactive {
        settings.database_url.clone()
    } else {
        "a fresh scratch SQLite database".into()
    };
    let settings_lang = settings.channel_language;
    let app = App::start(settings, time.clone()).await?;
    for customer in customers {
        if let Some(id) = &customer.channel_id {
            stand_in.know_channel(id, &crate::domain::slug::channel_name(&customer.slug, 1));
        }
    }
    let mut shell = Shell {
        router: app.router(),
        ctx: app.context().clone(),
        user: stand_in.person("you"),
        channel: START_CHANNEL.0.to_string(),
        stand_in,
        screen: screen.clone(),
        secret,
        time: time.clone(),
        serial: 0,
        echo: !interactive,
        session: format!("{:x}", Utc::now().timestamp_millis()),
        said: Vec::new(),
    };
    // Not part of a transcript: it names the database, which differs between runs.
    let greeting = |text: &str| {
        if interactive {
            screen.say(&style.dim(text));
        } else {
            eprintln!("{text}");
        }
    };
    let clock = if time.is_virtual() {
        "virtual (wait moves it at once)"
    } else {
        "real"
    };
    greeting(&format!(
        "Readiness shell: the app on {database}, with this terminal standing in for Slack. \
         Clock: {clock}. Type help."
    ));
    // Part of a transcript: which language the session answers in, and how to get the
    // other, in both (the default is Japanese, which an English reader may not expect).
    screen.say(&style.dim(&language_hint(settings_lang)));
    let failed = if interactive {
        shell.prompt().await;
        false
    } else {
        shell.script(script, options.wait).await
    };
    drop(shell);
    app.stop().await;
    Ok(if failed { 1 } else { 0 })
}

/// The database's customers, which must all be the shell's own (`T0SHELL`). The shell
/// posts to its stand-in and marks posts sent: on a database holding a real
/// workspace's customers it would swallow their escalations, so it refuses one.
async fn shell_customers(
    database_url: &str,
) -> anyhow::Result<Vec<crate::domain::customer::Customer>> {
    let store = crate::store::Store::connect(database_url).await?;
    let customers = store.all_customers().await;
    store.close().await;
    let customers = customers?;
    if customers.iter().any(|c| c.team_id != SHELL_TEAM) {
        anyhow::bail!(
            "this database holds a Slack workspace's customers; the shell runs only on its own \
             (leave --database-url out, or give it a new file)"
        );
    }
    Ok(customers)
}

/// Where the shell's requests come from, as Slack names it.
fn origin() -> Origin {
    Origin {
        team: SHELL_TEAM.into(),
        domain: "shell".into(),
        api_app_id: "A0SHELL".into(),
        token: "shell".into(),
    }
}

/// The session's language and how to switch, in both languages: `--language` sets the
/// language of channel posts and, in the shell, the Slack language of its people, so
/// every answer here is in it.
fn language_hint(lang: Lang) -> String {
    match lang {
        Lang::En => {
            "Language: English (posts and replies). For Japanese: readiness shell --language ja · \
             言語：英語。日本語にするには readiness shell --language ja"
                .into()
        }
        Lang::Ja => "言語：日本語（投稿も返答も）。英語にするには readiness shell --language en · \
             Language: Japanese. For English: readiness shell --language en"
            .into(),
    }
}

/// The prompt's database unless one is configured: kept apart from `readiness serve`'s
/// default, so nothing tried here reaches a real workspace's data.
pub const SHELL_DATABASE_URL: &str = "sqlite://readiness-shell.db";
/// The time zone of the shell's people (for due-date reminders and date tokens).
const SHELL_TZ: &str = "Asia/Tokyo";

fn print_to_stdout(text: String) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// 32 bytes from the operating system's random source. The shell's requests pass the
/// app's real signature check, so they are signed with a real secret; the bot token the
/// stand-in accepts (it listens on 127.0.0.1) is derived from it too.
fn session_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random source: {e}"))?;
    Ok(hex::encode(bytes))
}

fn read_script(path: Option<&std::path::Path>) -> anyhow::Result<Vec<String>> {
    match path {
        Some(p) if p.as_os_str() != "-" => Ok(std::fs::read_to_string(p)
            .with_context(|| format!("cannot read the script {}", p.display()))?
            .lines()
            .map(str::to_string)
            .collect()),
        _ => Ok(std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<_, _>>()
            .context("cannot read the script from standard input")?),
    }
}

struct Shell {
    router: axum::Router,
    ctx: Context,
    stand_in: StandIn,
    screen: Arc<Screen>,
    secret: String,
    time: TimeSource,
    /// Who types, and where.
    user: String,
    channel: String,
    /// Numbers trigger ids and event ids.
    serial: u64,
    /// Whether lines are echoed (a script's transcript; at the prompt they are on screen).
    echo: bool,
    /// Keeps event ids unique across sessions on one database (Slack's retries of an
    /// event id are dropped).
    session: String,
    /// The messages people wrote with `say`, in order (channel, ts, author): `react`
    /// names them by their number, 1 first.
    said: Vec<(String, String, String)>,
}

/// The organisation a customer-side person typed `as @x customer` belongs to.
const CUSTOMER_ORG: &str = "T0CUSTOMERORG";

/// What went wrong with a line: shown, and the end of a script.
type Failed = String;

impl Shell {
    /// Runs each line; stops at the first that fails. Returns whether one failed.
    async fn script(&mut self, lines: Vec<String>, wait: Duration) -> bool {
        for line in lines {
            match self.line(&line).await {
                Ok(true) => {}
                Ok(false) => return false,
                Err(e) => {
                    self.screen
                        .say(&self.screen.style().error(&format!("error: {e}")));
                    return true;
                }
            }
        }
        if !wait.is_zero()
            && let Err(e) = self.wait(wait).await
        {
            self.screen
                .say(&self.screen.style().error(&format!("error: {e}")));
            return true;
        }
        false
    }

    /// The prompt, with line editing and history, on its own thread; output printed
    /// meanwhile (timers firing) goes above the line being typed.
    async fn prompt(&mut self) {
        let (lines_tx, mut lines_rx) = mpsc::channel::<String>(1);
        let (done_tx, done_rx) = std::sync::mpsc::channel::<String>();
        let screen = self.screen.clone();
        let first_prompt = self.prompt_text();
        let editor = std::thread::spawn(move || {
            edit_lines(screen, first_prompt, lines_tx, done_rx);
        });
        while let Some(line) = lines_rx.recv().await {
            let go_on = match self.line(&line).await {
                Ok(go_on) => go_on,
                Err(e) => {
                    self.screen
                        .say(&self.screen.style().error(&format!("error: {e}")));
                    true
                }
            };
            if !go_on || done_tx.send(self.prompt_text()).is_err() {
                break;
            }
        }
        drop(done_tx);
        let _ = tokio::task::spawn_blocking(move || editor.join()).await;
    }

    fn prompt_text(&self) -> String {
        let w = self.stand_in.workspace();
        use render::Names;
        format!(
            "@{} in #{}> ",
            w.user(&self.user).unwrap_or_default(),
            w.channel(&self.channel).unwrap_or_default()
        )
    }

    /// One line: echoed (in a script), run, then waited out. `Ok(false)`: quit.
    async fn line(&mut self, line: &str) -> Result<bool, Failed> {
        let parsed = input::parse(line);
        if self.echo {
            self.echo(line);
        }
        match parsed? {
            Input::Nothing => {}
            Input::Quit => return Ok(false),
            Input::Help => self.screen.say(input::HELP),
            Input::Slash(text) => self.slash(&text).await?,
            Input::Tick { key, ticked } => self.tick(&key, ticked).await?,
            Input::Press { label, near } => self.press(&label, near.as_deref()).await?,
            Input::Choose { option, near } => self.choose(&option, near.as_deref()).await?,
            Input::Reply { ticket, text } => self.reply(&ticket, &text).await?,
            Input::Submit(fields) => self.submit(&fields).await?,
            Input::Home => self.home().await?,
            Input::Close => self.close().await?,
            Input::In(name) => {
                let id = self.stand_in.workspace().channel_named(&name);
                self.channel = id.ok_or_else(|| format!("there is no #{name} here"))?;
            }
            Input::As { name, side } => {
                self.user = self.stand_in.person(&name);
                match side {
                    input::Side::AsBefore => {}
                    input::Side::Customer => {
                        self.stand_in.make_connect_person(&self.user, CUSTOMER_ORG)
                    }
                    input::Side::Guest => self.stand_in.make_guest(&self.user),
                }
            }
            Input::Say(text) => self.say(&text).await?,
            Input::React { emoji, message } => self.react(&emoji, message).await?,
            Input::Wait(d) => self.wait(d).await?,
        }
        Ok(true)
    }

    fn echo(&self, line: &str) {
        let style = self.screen.style();
        let trimmed = line.trim();
        if trimmed.is_empty() {
            self.screen.say("");
        } else if trimmed.starts_with('#') {
            self.screen.say(&style.dim(trimmed));
        } else {
            self.screen.say(&format!(
                "{} {}{}",
                style.dim(&format!("[{}]", self.screen.elapsed())),
                style.accent(&self.prompt_text()),
                trimmed
            ));
        }
    }

    /// An id no other request of any session on this database has had.
    fn new_id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}{}x{}", self.session, self.serial)
    }

    /// Signs `body` as Slack would (with the real time: signatures are checked
    /// against the real clock) and hands it to the app's router; the answer's status
    /// and body.
    async fn send(
        &self,
        path: &str,
        content_type: &str,
        body: String,
    ) -> Result<(StatusCode, Vec<u8>), Failed> {
        let mut request = Request::post(path)
            .header("content-type", content_type)
            .header("content-length", body.len());
        for (name, value) in
            payloads::signature_headers(&self.secret, Utc::now().timestamp(), body.as_bytes())
        {
            request = request.header(name, value);
        }
        let request = request.body(Body::from(body)).map_err(|e| e.to_string())?;
        self.screen.hold();
        let response = self.router.clone().oneshot(request).await;
        match response {
            Ok(response) => {
                let status = response.status();
                axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES)
                    .await
                    .map(|b| (status, b.to_vec()))
                    .map_err(|e| format!("cannot read the app's answer: {e}"))
            }
            Err(never) => match never {},
        }
    }

    /// Sends an interaction payload the way Slack does: form-encoded under `payload`.
    async fn interaction(&self, payload: &Value) -> Result<(StatusCode, Vec<u8>), Failed> {
        self.send(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            payloads::interaction_form(payload),
        )
        .await
    }

    /// Shows a request's direct answer, then what the app did meanwhile, then waits
    /// for the rest of what the request started.
    async fn answered(&self, sent: Result<(StatusCode, Vec<u8>), Failed>) -> Result<(), Failed> {
        let result = match sent {
            Ok((status, body)) if status.is_success() => {
                if let Ok(answer) = serde_json::from_slice::<Value>(&body)
                    && (answer.get("text").is_some() || answer.get("blocks").is_some())
                {
                    self.stand_in.show_answer(&self.channel, &answer);
                }
                Ok(())
            }
            Ok((status, body)) => Err(format!(
                "the app answered {status}: {}",
                String::from_utf8_lossy(&body)
            )),
            Err(e) => Err(e),
        };
        self.screen.release();
        result?;
        // On the real clock the prompt comes back at once, and what follows prints as
        // it happens.
        let horizon = if self.time.is_virtual() {
            SETTLE_HORIZON_MS
        } else {
            0
        };
        self.settle(horizon).await
    }

    async fn slash(&mut self, text: &str) -> Result<(), Failed> {
        let stand_in = self.stand_in.clone();
        let escaped = input::escape_like_slack(
            text,
            |name| stand_in.person(name),
            |name| stand_in.workspace().channel_named(name),
        );
        let (user_name, channel_name) = {
            let w = self.stand_in.workspace();
            use render::Names;
            (
                w.user(&self.user).unwrap_or_default(),
                w.channel(&self.channel).unwrap_or_default(),
            )
        };
        let trigger = self.new_id("trigger");
        let form = origin().slash_command(&SlashCommand {
            command: "/readiness",
            text: &escaped,
            user: &self.user,
            user_name: &user_name,
            channel: &self.channel,
            channel_name: &channel_name,
            response_url: &self.stand_in.response_url(&self.channel),
            trigger_id: &trigger,
        });
        let sent = self
            .send("/slack/commands", "application/x-www-form-urlencoded", form)
            .await;
        self.answered(sent).await
    }

    /// Sends a `block_actions` payload for `action` on `surface`.
    async fn click(
        &mut self,
        surface: &Surface,
        shown: &Value,
        action: Value,
    ) -> Result<(), Failed> {
        let trigger = self.new_id("trigger");
        let container = match surface {
            Surface::Message { channel, ts } => Container::Message {
                channel: channel.clone(),
                channel_name: None,
                ts: ts.clone(),
                ephemeral: false,
                message: Some(shown.clone()),
                response_url: Some(self.stand_in.response_url(channel)),
            },
            Surface::Ephemeral { channel, ts, .. } => Container::Message {
                channel: channel.clone(),
                channel_name: None,
                ts: ts.clone(),
                ephemeral: true,
                message: None,
                response_url: Some(self.stand_in.response_url(channel)),
            },
            Surface::Modal { view_id, view } => Container::View {
                view_id: view_id.clone(),
                view: view.clone(),
            },
            Surface::Home { view, .. } => Container::View {
                view_id: "VHOME".into(),
                view: view.clone(),
            },
        };
        let payload = origin().block_actions(&self.user, &trigger, &container, action);
        let sent = self.interaction(&payload).await;
        self.answered(sent).await
    }

    async fn tick(&mut self, key: &str, ticked: bool) -> Result<(), Failed> {
        let surfaces = self.stand_in.surfaces_newest_first();
        for (surface, shown) in surfaces {
            for (block, element) in elements(&shown) {
                if element["type"] != "checkboxes" {
                    continue;
                }
                let options = element["options"].as_array().cloned().unwrap_or_default();
                let Some(option) = options.iter().find(|o| o["value"] == key) else {
                    continue;
                };
                let mut selected: Vec<Value> = element["initial_options"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let was = selected.iter().any(|o| o["value"] == key);
                if was == ticked {
                    return Err(format!(
                        "{key} is already {}",
                        if ticked { "ticked" } else { "unticked" }
                    ));
                }
                if ticked {
                    selected.push(option.clone());
                } else {
                    selected.retain(|o| o["value"] != key);
                }
                if let Surface::Ephemeral { channel, ts, .. } = &surface {
                    self.stand_in
                        .keep_ticks_on_copy(channel, ts, &block["block_id"], &selected);
                }
                let action = json!({
                    "type": "checkboxes",
                    "action_id": element["action_id"],
                    "block_id": block["block_id"],
                    "selected_options": selected,
                    "action_ts": "0",
                });
                return self.click(&surface, &shown, action).await;
            }
        }
        Err(format!(
            "no checklist on screen has {key}; show one first, like /readiness show acme security"
        ))
    }

    async fn press(&mut self, label: &str, near: Option<&str>) -> Result<(), Failed> {
        let wanted = label.to_lowercase();
        let Some((surface, shown, block, element)) = self.find_element(near, |element| {
            element["type"] == "button" && button_matches(element, &wanted)
        }) else {
            return Err(match near {
                Some(near) => format!("no button {label:?} on anything showing {near}"),
                None => format!("no button {label:?} on screen"),
            });
        };
        let action = json!({
            "type": "button",
            "action_id": element["action_id"],
            "block_id": block["block_id"],
            "text": element["text"],
            "value": element["value"],
            "action_ts": "0",
        });
        self.click(&surface, &shown, action).await
    }

    async fn choose(&mut self, option: &str, near: Option<&str>) -> Result<(), Failed> {
        let wanted = option.to_lowercase();
        let offered = |element: &Value| -> Option<Value> {
            if !matches!(element["type"].as_str(), Some("static_select" | "overflow")) {
                return None;
            }
            element["options"]
                .as_array()?
                .iter()
                .find(|o| {
                    o["value"]
                        .as_str()
                        .is_some_and(|v| v.eq_ignore_ascii_case(&wanted))
                        || o["text"]["text"]
                            .as_str()
                            .is_some_and(|t| t.to_lowercase().starts_with(&wanted))
                })
                .cloned()
        };
        let Some((surface, shown, block, element)) =
            self.find_element(near, |element| offered(element).is_some())
        else {
            return Err(format!("no menu on screen offers {option:?}"));
        };
        let action = json!({
            "type": element["type"],
            "action_id": element["action_id"],
            "block_id": block["block_id"],
            "selected_option": offered(&element),
            "action_ts": "0",
        });
        self.click(&surface, &shown, action).await
    }

    /// The newest element that `wanted` accepts, with its surface and block. With
    /// `near` (like `T-1`), only on surfaces showing it, and there preferably in a block
    /// that shows it (one reminder's Cancel among many).
    fn find_element(
        &self,
        near: Option<&str>,
        wanted: impl Fn(&Value) -> bool,
    ) -> Option<(Surface, Value, Value, Value)> {
        let surfaces = self.stand_in.surfaces_newest_first();
        let w = self.stand_in.workspace();
        let plain = Style { colour: false };
        let mentions = |lines: Vec<String>| match near {
            None => true,
            Some(near) => lines.iter().any(|l| mentions_word(l, near)),
        };
        for (surface, shown) in surfaces {
            if !mentions(render::message_lines(&shown, &*w, plain)) {
                continue;
            }
            let candidates: Vec<(Value, Value, Vec<Value>)> = elements_in_groups(&shown)
                .into_iter()
                .filter(|(_, element, _)| wanted(element))
                .collect();
            // Preferably a button whose own group of blocks shows `near`: on the Home,
            // a customer's buttons come in the block after the section naming it.
            let best = candidates
                .iter()
                .find(|(_, _, group)| {
                    near.is_some() && mentions(render::blocks_lines(group, &*w, plain))
                })
                .or(candidates.first());
            if let Some((block, element, _)) = best {
                return Some((surface, shown, block.clone(), element.clone()));
            }
        }
        None
    }

    /// Whether what a surface shows mentions `near`.
    fn shows(&self, shown: &Value, near: &str) -> bool {
        let w = self.stand_in.workspace();
        render::message_lines(shown, &*w, Style { colour: false })
            .iter()
            .any(|l| l.contains(near))
    }
    /// A reply in the thread of the newest channel message showing `ticket` (or of
    /// the message `say` numbered so), sent as the Events API's `message` event.
    async fn reply(&mut self, ticket: &str, text: &str) -> Result<(), Failed> {
        // `reply 2 …`: in the thread of message 2, as `say` numbered it.
        let said = ticket
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| self.said.get(i))
            .map(|(channel, ts, _)| (channel.clone(), ts.clone()));
        let surfaces = self.stand_in.surfaces_newest_first();
        let Some((channel, thread_ts)) = said.or_else(|| {
            surfaces.into_iter().find_map(|(s, shown)| match s {
                Surface::Message { channel, ts }
                    if shown["thread_ts"].is_null() && self.shows(&shown, ticket) =>
                {
                    Some((channel, ts))
                }
                _ => None,
            })
        }) else {
            return Err(format!("no message in a channel shows {ticket}"));
        };
        let ts = self
            .stand_in
            .post_as_person(&channel, &thread_ts, &self.user, text);
        let mut event = json!({
            "type": "message", "channel": channel, "user": self.user, "text": text,
            "ts": ts, "thread_ts": thread_ts, "team": SHELL_TEAM,
        });
        if let Some(org) = self.stand_in.organisation_of(&self.user) {
            event["user_team"] = json!(org);
            event["source_team"] = json!(org);
        }
        self.event(event).await
    }

    /// A top-level message in the current channel, as the current person, sent as the
    /// Events API's `message` event (with `user_team` when they are of another
    /// organisation, as Slack sends it in a shared channel).
    async fn say(&mut self, text: &str) -> Result<(), Failed> {
        let number = self.said.len() + 1;
        let channel = self.channel.clone();
        let ts = self
            .stand_in
            .say_as_person(&channel, &self.user, text, number);
        self.said
            .push((channel.clone(), ts.clone(), self.user.clone()));
        let mut event = json!({
            "type": "message", "channel": channel, "user": self.user, "text": text,
            "ts": ts, "team": SHELL_TEAM, "channel_type": "channel",
        });
        if let Some(org) = self.stand_in.organisation_of(&self.user) {
            event["user_team"] = json!(org);
            event["source_team"] = json!(org);
        }
        self.event(event).await
    }

    /// A reaction by the current person on message `number` (as `say` numbered it),
    /// sent as the Events API's `reaction_added` event.
    async fn react(&mut self, emoji: &str, number: usize) -> Result<(), Failed> {
        let Some((channel, ts, author)) = self.said.get(number - 1).cloned() else {
            return Err(match self.said.len() {
                0 => "no message has been written yet; write one with say".into(),
                n => format!("there is no message {number}; the messages are 1 to {n}"),
            });
        };
        self.stand_in
            .react_as_person(&channel, &ts, &self.user, emoji, number);
        let event = json!({
            "type": "reaction_added", "user": self.user, "reaction": emoji,
            "item_user": author,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": format!("{}.000100", self.time.now_ms() / 1000),
        });
        self.event(event).await
    }

    /// Fills in the open modal's inputs (by a word of their label or id; the rest keep
    /// what they show) and sends its `view_submission`. Field errors the app answers
    /// with are shown on the modal, which stays open, as in Slack.
    async fn submit(&mut self, fields: &[(String, String)]) -> Result<(), Failed> {
        let Some((view_id, view)) = self.stand_in.top_modal() else {
            return Err("no modal is open".into());
        };
        let mut values = serde_json::Map::new();
        let mut unused: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        for block in view["blocks"].as_array().into_iter().flatten() {
            if block["type"] != "input" {
                continue;
            }
            let element = &block["element"];
            let action_id = element["action_id"].as_str().unwrap_or_default();
            let label = block["label"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase();
            let given = fields
                .iter()
                .find(|(k, _)| action_id.contains(k.as_str()) || label.contains(k.as_str()));
            if let Some((key, _)) = given {
                unused.retain(|u| u != key);
            }
            let state = self.input_state(element, given.map(|(_, v)| v.as_str()))?;
            values.insert(
                block["block_id"].as_str().unwrap_or_default().to_string(),
                json!({ action_id: state }),
            );
        }
        if let Some(key) = unused.first() {
            return Err(format!("the modal has no field {key:?}"));
        }
        let mut submitted = view.clone();
        submitted["id"] = json!(view_id);
        submitted["state"] = json!({ "values": values });
        let trigger = self.new_id("trigger");
        let payload = origin().view_submission(&self.user, &trigger, submitted);
        let sent = self.interaction(&payload).await;
        let answer = match &sent {
            Ok((status, body)) if status.is_success() => serde_json::from_slice::<Value>(body).ok(),
            _ => None,
        };
        if let Some(answer) = answer.as_ref().filter(|a| a["response_action"] == "update") {
            self.stand_in.show_updated_modal(&answer["view"]);
            return self
                .answered(sent.map(|(status, _)| (status, Vec::new())))
                .await;
        }
        let errors = answer
            .filter(|a| a["response_action"] == "errors")
            .map(|a| a["errors"].clone());
        match errors {
            Some(errors) => {
                let lines: Vec<String> = errors
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(field, message)| {
                        let label = view["blocks"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|b| b["block_id"] == field.as_str())
                            .and_then(|b| b["label"]["text"].as_str())
                            .unwrap_or(field);
                        format!("⚠ {label}: {}", message.as_str().unwrap_or_default())
                    })
                    .collect();
                self.screen.show_first("modal · not submitted", &lines);
            }
            None => self.stand_in.close_modal(),
        }
        self.answered(sent.map(|(status, _)| (status, Vec::new())))
            .await
    }

    /// An input's state as Slack reports it: `given` (as typed in the shell) or what
    /// the input shows.
    fn input_state(&self, element: &Value, given: Option<&str>) -> Result<Value, Failed> {
        let kind = element["type"].as_str().unwrap_or_default();
        let option_named = |v: &str| {
            element["options"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|o| {
                    o["value"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(v))
                        || o["text"]["text"]
                            .as_str()
                            .is_some_and(|t| t.to_lowercase().starts_with(&v.to_lowercase()))
                })
        };
        Ok(match (kind, given) {
            ("plain_text_input" | "url_text_input", Some(v)) => json!({"type": kind, "value": v}),
            ("plain_text_input" | "url_text_input", None) => {
                json!({"type": kind, "value": element["initial_value"]})
            }
            // The shell has no files to upload: Slack reports an untouched field so.
            ("file_input", _) => json!({"type": kind, "files": []}),
            ("static_select", Some(v)) => {
                let option = option_named(v).ok_or_else(|| format!("no option {v:?}"))?;
                json!({"type": kind, "selected_option": option})
            }
            ("static_select", None) => {
                json!({"type": kind, "selected_option": element["initial_option"]})
            }
            ("users_select", Some(v)) => {
                json!({"type": kind, "selected_user": self.stand_in.person(v.trim_start_matches('@'))})
            }
            ("users_select", None) => {
                json!({"type": kind, "selected_user": element["initial_user"]})
            }
            ("datepicker", Some(v)) => {
                // Slack's date picker offers only days of the calendar: say which
                // is wrong, in the language the app speaks here.
                chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                    let text = if crate::domain::schedule::is_month_and_day(v) {
                        crate::blocks::texts::NO_SUCH_DAY
                    } else {
                        crate::blocks::texts::BAD_DATE
                    };
                    text.fill(self.ctx.channel_lang, &[("word", v)])
                })?;
                json!({"type": kind, "selected_date": v})
            }
            ("datepicker", None) => json!({"type": kind, "selected_date": element["initial_date"]}),
            ("checkboxes", Some(v)) => {
                let all = matches!(v.to_lowercase().as_str(), "yes" | "on" | "true");
                let options = if all {
                    element["options"].clone()
                } else {
                    json!([])
                };
                json!({"type": kind, "selected_options": options})
            }
            ("checkboxes", None) => {
                json!({"type": kind, "selected_options": element["initial_options"].as_array().cloned().unwrap_or_default()})
            }
            (_, _) => json!({"type": kind}),
        })
    }

    /// Closes the open modal without submitting it, as its Cancel button does in Slack.
    /// The app asks for no `view_closed` (its modals set no `notify_on_close`); one
    /// that does is told, as Slack would tell it.
    async fn close(&mut self) -> Result<(), Failed> {
        let Some((view_id, view)) = self.stand_in.top_modal() else {
            return Err("no modal is open".into());
        };
        self.stand_in.close_modal();
        self.screen.note(&format!(
            "modal closed: {}",
            view["title"]["text"].as_str().unwrap_or("(untitled)")
        ));
        if view["notify_on_close"] != true {
            return Ok(());
        }
        let mut closed = view.clone();
        closed["id"] = json!(view_id);
        let trigger = self.new_id("trigger");
        let mut payload = origin().view_submission(&self.user, &trigger, closed);
        payload["type"] = json!("view_closed");
        payload["is_cleared"] = json!(false);
        let sent = self.interaction(&payload).await;
        self.answered(sent).await
    }

    async fn home(&mut self) -> Result<(), Failed> {
        let before = self.stand_in.homes_published();
        let event = json!({
            "type": "app_home_opened", "user": self.user, "channel": "D0SHELL",
            "tab": "home", "event_ts": "0",
        });
        self.event(event).await?;
        if self.stand_in.homes_published() == before || !self.stand_in.open_home(&self.user) {
            return Err("the app did not publish the Home".into());
        }
        Ok(())
    }

    async fn event(&mut self, event: Value) -> Result<(), Failed> {
        let event_id = self.new_id("Ev");
        let envelope = origin().event_callback(&event_id, self.time.now_ms() / 1000, event);
        let sent = self
            .send("/slack/events", "application/json", envelope.to_string())
            .await;
        self.answered(sent).await
    }

    /// Lets `d` pass: on the virtual clock, straight from one due row to the next.
    async fn wait(&mut self, d: Duration) -> Result<(), Failed> {
        let until = self.time.now_ms() + d.as_millis() as i64;
        if self.time.is_virtual() {
            self.settle(until - self.time.now_ms()).await?;
            self.time.advance_to(until);
            self.settle(0).await
        } else {
            tokio::time::sleep(d).await;
            self.settle(0).await
        }
    }

    /// Waits until the app has done everything due within `horizon_ms` from now
    /// ([`crate::app::settle`]).
    async fn settle(&self, horizon_ms: i64) -> Result<(), Failed> {
        crate::app::settle(&self.ctx, horizon_ms).await
    }
}

/// Every interactive element of a message or view, with its block.
fn elements(shown: &Value) -> Vec<(Value, Value)> {
    let mut found = Vec::new();
    for block in shown["blocks"].as_array().into_iter().flatten() {
        for element in block["elements"].as_array().into_iter().flatten() {
            found.push((block.clone(), element.clone()));
        }
        for key in ["accessory", "element"] {
            if block[key].is_object() {
                found.push((block.clone(), block[key].clone()));
            }
        }
    }
    found
}

/// Every interactive element of a message or view, with its block and the group of
/// blocks it belongs to: its own, and those before it back to the previous block that
/// has elements (the section that says what the buttons below it are about).
fn elements_in_groups(shown: &Value) -> Vec<(Value, Value, Vec<Value>)> {
    let blocks = shown["blocks"].as_array().cloned().unwrap_or_default();
    let mut found = Vec::new();
    let mut group_start = 0;
    for (i, block) in blocks.iter().enumerate() {
        let group = blocks[group_start..=i].to_vec();
        let mut has_elements = false;
        for element in block["elements"].as_array().into_iter().flatten() {
            has_elements = true;
            found.push((block.clone(), element.clone(), group.clone()));
        }
        for key in ["accessory", "element"] {
            if block[key].is_object() {
                has_elements = true;
                found.push((block.clone(), block[key].clone(), group.clone()));
            }
        }
        if has_elements {
            group_start = i + 1;
        }
    }
    found
}

/// Whether `line` shows `near` as a word of its own, whatever the case: `acme` in
/// `*Acme*` or `#cust-acme`, `T-1` but not in `T-10`.
fn mentions_word(line: &str, near: &str) -> bool {
    let line = line.to_lowercase();
    let near = near.to_lowercase();
    if near.is_empty() {
        return true;
    }
    line.match_indices(&near).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + near.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// A button matches a word in its label (`security` for `1. Security`) or its action
/// (`ticket_respond` for `respond` or `responded`, so the English word works in a
/// Japanese channel).
fn button_matches(button: &Value, wanted: &str) -> bool {
    let label = button["text"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    let action = button["action_id"].as_str().unwrap_or_default();
    let verb = action.rsplit('_').next().unwrap_or_default();
    label.contains(wanted)
        || (!verb.is_empty() && (wanted.starts_with(verb) || verb.starts_with(wanted)))
}

/// The line editor's loop, on its own thread (rustyline blocks): each line goes to the
/// shell, and the next prompt waits until the shell has finished with it.
fn edit_lines(
    screen: Arc<Screen>,
    first_prompt: String,
    lines: mpsc::Sender<String>,
    done: std::sync::mpsc::Receiver<String>,
) {
    use rustyline::ExternalPrinter as _;
    let mut editor = match rustyline::DefaultEditor::new() {
        Ok(editor) => editor,
        Err(e) => {
            screen.say(&format!("cannot start the line editor: {e}"));
            return;
        }
    };
    let history =
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".readiness_shell_history"));
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    // While a line is being typed, output goes above it through the editor's printer;
    // while the shell runs a line, straight to stdout.
    let reading = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Ok(mut printer) = editor.create_external_printer() {
        let reading = reading.clone();
        screen.set_sink(Box::new(move |text: String| {
            if reading.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = printer.print(text.trim_end_matches('\n').to_string());
            } else {
                print_to_stdout(text);
            }
        }));
    }
    let mut prompt = first_prompt;
    loop {
        reading.store(true, std::sync::atomic::Ordering::SeqCst);
        let typed = editor.readline(&prompt);
        reading.store(false, std::sync::atomic::Ordering::SeqCst);
        match typed {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                if lines.blocking_send(line).is_err() {
                    break;
                }
                match done.recv() {
                    Ok(next) => prompt = next,
                    Err(_) => break,
                }
            }
            // Ctrl-C clears the line, as in a shell; Ctrl-D leaves.
            Err(rustyline::error::ReadlineError::Interrupted) => continue,
            Err(_) => break,
        }
    }
    screen.set_sink(Box::new(print_to_stdout));
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_match_by_label_or_by_action() {
        let responded = json!({"type": "button", "text": {"type": "plain_text", "text": "応答済み"}, "action_id": "ticket_respond"});
        assert!(button_matches(&responded, "responded"));
        assert!(button_matches(&responded, "respond"));
        assert!(!button_matches(&responded, "resolve"));
        let next = json!({"type": "button", "text": {"type": "plain_text", "text": "Next"}, "action_id": "home_page_next"});
        assert!(button_matches(&next, "next"));
    }

    #[test]
    fn near_is_a_word_of_its_own_in_any_case() {
        assert!(mentions_word("*Acme* · Enterprise · #cust-acme", "acme"));
        assert!(mentions_word("*T-1* (P0)", "T-1"));
        assert!(!mentions_word("*T-10* (P0)", "T-1"));
        assert!(!mentions_word("*Acmeco* · Standard", "acme"));
    }

    #[test]
    fn a_button_belongs_with_the_section_above_it() {
        let home = json!({"blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Acme*"}},
            {"type": "actions", "elements": [{"type": "button", "action_id": "a"}]},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Globex*"}},
            {"type": "actions", "elements": [{"type": "button", "action_id": "b"}]},
        ]});
        let found = elements_in_groups(&home);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].1["action_id"], "b");
        assert_eq!(found[1].2.len(), 2);
        assert_eq!(found[1].2[0]["text"]["text"], "*Globex*");
    }

    #[test]
    fn the_language_hint_names_the_language_and_the_switch_in_both() {
        let en = language_hint(Lang::En);
        assert!(en.contains("Language: English") && en.contains("言語：英語"));
        assert!(en.contains("--language ja") && !en.contains("--language en"));
        let ja = language_hint(Lang::Ja);
        assert!(ja.contains("言語：日本語") && ja.contains("Language: Japanese"));
        assert!(ja.contains("--language en") && !ja.contains("--language ja"));
    }

    #[test]
    fn the_virtual_start_is_a_valid_time() {
        assert!(DateTime::parse_from_rfc3339(VIRTUAL_START).is_ok());
    }
}
