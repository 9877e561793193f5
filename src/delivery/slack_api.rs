//! The Slack Web API, through slack-morphism's client, pointed at `SLACK_API_URL`.
//!
//! A thin wrapper: it turns our [`Message`]s into slack-morphism requests and Slack's
//! failures into [`ApiError`], which says whether trying again can help.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use hyper_util::client::legacy::connect::HttpConnector;
use serde::{Deserialize, Serialize};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use super::idle_limit::{IDLE_LIMIT, IdleLimited};
use crate::blocks::Message;
use crate::config::Secret;
use crate::crypto::EncryptionKey;
use crate::store::Store;

/// slack-morphism's hyper connector over HTTPS, each connection retired when idle
/// ([`IdleLimited`]).
pub type Connector =
    SlackClientHyperConnector<IdleLimited<hyper_rustls::HttpsConnector<HttpConnector>>>;
pub type Client = SlackClient<Connector>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// No bot token is configured, so nothing can be sent.
    #[error("SLACK_BOT_TOKEN is not set")]
    NoToken,
    /// The workspace has not installed the app, or uninstalled it: nothing is sent.
    #[error("the app is not installed in this workspace")]
    NotInstalled,
    /// The installations table could not be read: nothing was sent.
    #[error("cannot read the installation: {0}")]
    Store(String),
    /// The workspace's stored token does not open with this server's key.
    #[error("cannot open the workspace's token: {0}")]
    Sealed(String),
    /// Slack answered `ok: false` with this code (`name_taken`, `not_in_channel`, …).
    #[error("Slack answered {0}")]
    Slack(String),
    /// HTTP 429: wait this long.
    #[error("rate limited; retry after {0:?}")]
    RateLimited(Duration),
    /// The network, a 5xx or a malformed answer: worth retrying.
    #[error("transport: {0}")]
    Transport(String),
}

impl ApiError {
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Slack(code) => Some(code),
            _ => None,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ApiError::RateLimited(_) | ApiError::Transport(_) | ApiError::Store(_)
        ) || matches!(
            self.code(),
            Some("internal_error" | "fatal_error" | "service_unavailable" | "request_timeout")
        )
    }
}

impl From<SlackClientError> for ApiError {
    fn from(e: SlackClientError) -> Self {
        match e {
            SlackClientError::ApiError(api) => ApiError::Slack(api.code),
            SlackClientError::RateLimitError(r) => {
                ApiError::RateLimited(r.retry_after.unwrap_or(Duration::from_secs(1)))
            }
            // Not `to_string()`: slack-morphism's text of these quotes the whole
            // answer, which may hold a token (oauth.v2.access) or people's names.
            SlackClientError::ProtocolError(_) => {
                ApiError::Transport("Slack's answer could not be read".into())
            }
            SlackClientError::HttpError(http) => {
                ApiError::Transport(format!("HTTP {}", http.status_code))
            }
            other => ApiError::Transport(other.to_string()),
        }
    }
}

/// How long one Web API call from the background (the checklist updater, the App Home
/// refresher, the worker's jobs) may take before it counts as failed: a call Slack
/// never answers must not hold up the work behind it.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `call` with [`CALL_TIMEOUT`]; no answer by then is a transport failure (worth
/// retrying, and for a post, in doubt).
pub async fn with_deadline<T>(
    call: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => result,
        Err(_) => Err(ApiError::Transport(format!(
            "no answer within {CALL_TIMEOUT:?}"
        ))),
    }
}

/// Whether a message's channel is a person (a DM posted to their user id): Slack files
/// it in their `D…` conversation with the app, and that is where it is read back.
pub fn is_user_id(channel: &str) -> bool {
    channel.starts_with('U') || channel.starts_with('W')
}

/// What the app needs to know about a Slack user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub locale: Option<String>,
    pub tz: Option<String>,
    /// A workspace admin or owner.
    pub is_admin: bool,
    /// The customer's side, not our staff: a guest of the workspace, or a person of
    /// another organisation (Slack Connect; under Enterprise Grid, another enterprise).
    pub customer_side: bool,
    /// The name to show for them in a document (the export): their real name, else
    /// their display name, else their handle.
    pub name: Option<String>,
}

/// Who `SLACK_BOT_TOKEN` acts for, from `auth.test` (single-workspace mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeTeam {
    /// `None` for an org-wide token.
    pub team_id: Option<String>,
    pub enterprise_id: Option<String>,
}

/// `auth.test`'s answer, read as our own type: slack-morphism's has no
/// `enterprise_id` and requires a `team_id`, which an org-wide token lacks.
#[derive(Deserialize)]
struct AuthTest {
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    enterprise_id: Option<String>,
}

/// What `oauth.v2.access` grants (the fields the app keeps).
#[derive(Deserialize)]
pub struct Granted {
    pub access_token: Secret,
    #[serde(default)]
    pub token_type: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub bot_user_id: String,
    #[serde(default)]
    pub app_id: String,
    pub team: Option<Named>,
    pub enterprise: Option<Named>,
    #[serde(default)]
    pub is_enterprise_install: bool,
    pub authed_user: Option<Named>,
}

#[derive(Deserialize)]
pub struct Named {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Serialize)]
struct InviteRequest<'a> {
    channel: &'a str,
    /// Slack documents a comma-separated string; slack-morphism would send an array.
    users: String,
}

#[derive(Deserialize)]
struct Empty {}

#[derive(Serialize)]
struct ReactionRequest<'a> {
    channel: &'a str,
    timestamp: &'a str,
    name: &'a str,
}

/// A message read back from Slack (`conversations.history` / `.replies`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReadMessage {
    pub ts: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub bot_id: Option<String>,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub thread_ts: Option<String>,
    #[serde(default)]
    pub subtype: Option<String>,
    /// The person's organisation, for a person of another one (Slack Connect).
    #[serde(default)]
    pub user_team: Option<String>,
}

#[derive(Deserialize)]
struct Messages {
    #[serde(default)]
    messages: Vec<ReadMessage>,
}

#[derive(Serialize)]
struct OpenRequest<'a> {
    users: &'a str,
}

/// `conversations.open`'s answer: the DM channel.
#[derive(Deserialize)]
struct OpenedConversation {
    channel: OpenedChannel,
}

#[derive(Deserialize)]
struct OpenedChannel {
    id: String,
}

/// The metadata event type of the app's own outbox posts.
pub const OUTBOX_EVENT: &str = "readiness_outbox";

/// Pages of history read when looking for a post left in doubt.
const FIND_PAGES: usize = 5;

#[derive(Deserialize)]
struct History {
    #[serde(default)]
    messages: Vec<HistoryMessage>,
    #[serde(default)]
    response_metadata: Option<NextCursor>,
}

#[derive(Deserialize)]
struct NextCursor {
    #[serde(default)]
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct HistoryMessage {
    ts: String,
    metadata: Option<SlackMessageMetadata>,
}

/// The Web API client, and whose token each call is made with: the one
/// `SLACK_BOT_TOKEN` (single-workspace mode), or each workspace's own, installed
/// through OAuth. [`SlackApi::workspace`] gives the calls of one workspace.
#[derive(Clone)]
pub struct SlackApi {
    client: Arc<Client>,
    tokens: Tokens,
    /// Single-workspace mode: whose `SLACK_BOT_TOKEN` is, once `auth.test` has said.
    home: Arc<std::sync::OnceLock<HomeTeam>>,
}

#[derive(Clone)]
enum Tokens {
    /// `SLACK_BOT_TOKEN`, for whichever workspace sent the request.
    Single(Option<SlackApiToken>),
    /// Each workspace's own token, opened from the installations table.
    Installed(Arc<Installed>),
}

/// How long an opened token is reused before the table is read again. Uninstalls in
/// this process forget it at once; another replica's are seen within this.
const TOKEN_TTL: Duration = Duration::from_secs(60);
const NOT_INSTALLED_TTL: Duration = Duration::from_secs(5);

struct Installed {
    store: Store,
    key: EncryptionKey,
    /// team → its token (`None`: not installed) and when it was read. A `None` is kept
    /// only [`NOT_INSTALLED_TTL`], so an install on another replica is seen soon.
    opened: Mutex<HashMap<String, (Instant, Option<Opened>)>>,
}

/// A workspace's token, opened, and the Enterprise Grid organisation its install is in.
#[derive(Clone)]
struct Opened {
    token: SlackApiToken,
    enterprise: Option<String>,
}

/// The Web API calls of one workspace, with its token.
pub struct Workspace {
    client: Arc<Client>,
    token: SlackApiToken,
    /// The Enterprise Grid organisation the workspace's install is in, if any: its
    /// people are staff wherever in the organisation they are homed.
    enterprise: Option<String>,
}

fn content(message: &Message) -> SlackMessageContent {
    SlackMessageContent::new()
        .with_text(message.text.clone())
        .with_blocks(message.blocks.clone())
}

pub(super) fn https_client(api_url: &str, idle_limit: Duration) -> anyhow::Result<Client> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_all_versions()
        .build();
    // slack-morphism builds its hyper client with hyper-util's defaults (idle pooled
    // connections kept 90 s) and offers no setting: the connector's connections retire
    // themselves after `idle_limit` without traffic instead (see `idle_limit`).
    // A request hyper had not yet written when its pooled connection closed is
    // replayed on a new one by hyper-util (`retry_canceled_requests`, on by default);
    // one already written is not, and a post lost so is in doubt for the outbox.
    // slack-morphism joins the base and the method name with a `/` (and the settings
    // have already dropped a trailing one).
    let connector = SlackClientHyperConnector::with_connector(IdleLimited::new(https, idle_limit))
        .with_slack_api_url(api_url);
    Ok(SlackClient::new(connector))
}

impl SlackApi {
    /// Single-workspace mode: every call with `bot_token` (http is accepted in
    /// `api_url`, for a local test double).
    pub fn new(api_url: &str, bot_token: &Secret) -> anyhow::Result<Self> {
        Ok(Self {
            client: Arc::new(https_client(api_url, IDLE_LIMIT)?),
            tokens: Tokens::Single((!bot_token.is_empty()).then(|| {
                SlackApiToken::new(SlackApiTokenValue::new(bot_token.expose().to_string()))
            })),
            home: Arc::default(),
        })
    }

    /// Many workspaces: each call with the token its workspace installed, sealed in
    /// `store` under `key`.
    pub fn installed(api_url: &str, store: Store, key: EncryptionKey) -> anyhow::Result<Self> {
        Ok(Self {
            client: Arc::new(https_client(api_url, IDLE_LIMIT)?),
            tokens: Tokens::Installed(Arc::new(Installed {
                store,
                key,
                opened: Mutex::new(HashMap::new()),
            })),
            home: Arc::default(),
        })
    }

    /// Whether calls can be made at all (single mode without a token cannot).
    pub fn has_token(&self) -> bool {
        match &self.tokens {
            Tokens::Single(token) => token.is_some(),
            Tokens::Installed(_) => true,
        }
    }

    /// Whether tokens come from OAuth installs.
    pub fn is_multi_workspace(&self) -> bool {
        matches!(self.tokens, Tokens::Installed(_))
    }

    /// `oauth.v2.access`: trades the code of an install for the workspace's bot token.
    /// (Read as our own type: slack-morphism's cannot hold an org-wide install, whose
    /// `team` is null.)
    pub async fn exchange_code(
        &self,
        client_id: &str,
        client_secret: &Secret,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Granted, ApiError> {
        use slack_morphism::SlackClientHttpConnector as _;
        let connector = &self.client.http_api.connector;
        let url = SlackClientHttpApiUri::create_url_with_params(
            connector.create_method_uri_path("oauth.v2.access")?,
            &vec![("code", Some(code)), ("redirect_uri", Some(redirect_uri))],
        )?;
        // A `Granted` that does not parse becomes "could not be read" (see `From`), so
        // the token in it is never quoted.
        let granted: Granted = connector
            .http_get_with_client_secret(
                url,
                &SlackClientId::new(client_id.to_string()),
                &SlackClientSecret::new(client_secret.expose().to_string()),
            )
            .await?;
        Ok(granted)
    }

    /// The calls of `team`, with its token.
    pub async fn workspace(&self, team: &str) -> Result<Workspace, ApiError> {
        let opened = match &self.tokens {
            Tokens::Single(token) => Opened {
                token: token.clone().ok_or(ApiError::NoToken)?,
                enterprise: self.home.get().and_then(|h| h.enterprise_id.clone()),
            },
            Tokens::Installed(installed) => {
                installed.token(team).await?.ok_or(ApiError::NotInstalled)?
            }
        };
        Ok(Workspace {
            client: self.client.clone(),
            token: opened.token,
            enterprise: opened.enterprise,
        })
    }

    /// Single-workspace mode: asks Slack (`auth.test`) whose `SLACK_BOT_TOKEN` is, so
    /// that requests from other workspaces are refused. Until it has answered, every
    /// workspace's requests are served, as before.
    pub async fn learn_home(&self) -> Result<HomeTeam, ApiError> {
        let Tokens::Single(Some(token)) = &self.tokens else {
            return Err(ApiError::NoToken);
        };
        let answer: AuthTest = self
            .client
            .open_session(token)
            .http_session_api
            .http_post("auth.test", &serde_json::json!({}), None)
            .await?;
        let home = HomeTeam {
            team_id: answer.team_id.filter(|t| !t.is_empty()),
            enterprise_id: answer.enterprise_id.filter(|e| !e.is_empty()),
        };
        let _ = self.home.set(home.clone());
        Ok(home)
    }

    /// Single-workspace mode: whose the token is, once known.
    pub fn home(&self) -> Option<&HomeTeam> {
        self.home.get()
    }

    /// Whether requests from `team` (of the Enterprise Grid organisation `enterprise`,
    /// if any) are served: with one workspace's token, those of its workspace (or
    /// organisation, for an org-wide token), once `auth.test` has said which; with
    /// many, only from a workspace that has the app installed, itself or through its
    /// organisation.
    pub async fn admits(&self, team: &str, enterprise: Option<&str>) -> Result<bool, ApiError> {
        let Tokens::Installed(installed) = &self.tokens else {
            return Ok(self
                .home
                .get()
                .is_none_or(|home| home.serves(team, enterprise)));
        };
        if team.is_empty() {
            return Ok(false);
        }
        if installed.token(team).await?.is_some() {
            return Ok(true);
        }
        if enterprise.is_none_or(str::is_empty) {
            return Ok(false);
        }
        // A workspace of an org-wide install, not seen before: remembered under its
        // organisation, so scheduled work for it finds the token too.
        let found = installed
            .store
            .installation_of_request(team, enterprise)
            .await
            .map_err(|e| ApiError::Store(e.to_string()))?;
        if !found.is_some_and(|i| i.is_active()) {
            return Ok(false);
        }
        installed.opened.lock().expect("token lock").remove(team);
        Ok(installed.token(team).await?.is_some())
    }

    /// `apps.connections.open` with the app-level token: a Socket Mode WebSocket URL.
    pub async fn open_socket(&self, app_token: &Secret) -> Result<String, ApiError> {
        let token = SlackApiToken::new(SlackApiTokenValue::new(app_token.expose().to_string()));
        let response = self
            .client
            .open_session(&token)
            .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
            .await?;
        Ok(response.url.0.to_string())
    }

    /// Forgets the opened tokens, after an install or an uninstall here (an org
    /// install acts for many teams; installs are rare, so all are read again).
    pub fn forget_tokens(&self) {
        if let Tokens::Installed(installed) = &self.tokens {
            installed.opened.lock().expect("token lock").clear();
        }
    }
}

impl HomeTeam {
    /// Whether a request from `team` (of `enterprise`) is this token's to serve.
    pub fn serves(&self, team: &str, enterprise: Option<&str>) -> bool {
        match &self.team_id {
            Some(own) => own == team,
            None => self.enterprise_id.is_some() && self.enterprise_id.as_deref() == enterprise,
        }
    }
}

impl Installed {
    async fn token(&self, team: &str) -> Result<Option<Opened>, ApiError> {
        if let Some((at, token)) = self.opened.lock().expect("token lock").get(team)
            && at.elapsed()
                < if token.is_some() {
                    TOKEN_TTL
                } else {
                    NOT_INSTALLED_TTL
                }
        {
            return Ok(token.clone());
        }
        let install = self
            .store
            .installation_for(team)
            .await
            .map_err(|e| ApiError::Store(e.to_string()))?;
        let token = match install.filter(|i| i.is_active()) {
            None => None,
            Some(install) => {
                let sealed = install.bot_token.as_deref().unwrap_or_default();
                let opened = self.key.open(sealed, &install.workspace).map_err(|e| {
                    // Not worth retrying: the operator must give the right key.
                    ApiError::Sealed(e.to_string())
                })?;
                Some(Opened {
                    token: SlackApiToken::new(SlackApiTokenValue::new(opened.expose().to_string())),
                    enterprise: install.enterprise_id.filter(|e| !e.is_empty()),
                })
            }
        };
        self.opened
            .lock()
            .expect("token lock")
            .insert(team.to_string(), (Instant::now(), token.clone()));
        Ok(token)
    }
}

impl Workspace {
    fn session(&self) -> SlackClientSession<'_, Connector> {
        self.client.open_session(&self.token)
    }

    /// Posts a message; returns its `ts`.
    pub async fn post_message(&self, channel: &str, message: &Message) -> Result<String, ApiError> {
        let request = SlackApiChatPostMessageRequest::new(channel.into(), content(message));
        let response = self.session().chat_post_message(&request).await?;
        Ok(response.ts.to_string())
    }

    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        message: &Message,
    ) -> Result<(), ApiError> {
        let request = SlackApiChatUpdateRequest::new(channel.into(), content(message), ts.into());
        self.session().chat_update(&request).await?;
        Ok(())
    }

    /// Posts a message that carries `key` in its metadata, so a sender that died after
    /// posting can find it again ([`Self::find_posted`]); threaded under `thread_ts`.
    pub async fn post_keyed(
        &self,
        channel: &str,
        message: &Message,
        thread_ts: Option<&str>,
        key: &str,
    ) -> Result<String, ApiError> {
        let metadata = SlackMessageMetadata {
            event_type: OUTBOX_EVENT.to_string(),
            event_payload: Some([("key".to_string(), key.to_string())].into_iter().collect()),
        };
        let mut request = SlackApiChatPostMessageRequest::new(
            channel.into(),
            content(message).with_metadata(metadata),
        );
        if let Some(thread) = thread_ts {
            request = request.with_thread_ts(thread.into());
        }
        let response = self.session().chat_post_message(&request).await?;
        Ok(response.ts.to_string())
    }

    /// The `ts` of the message carrying `key` posted after `oldest_ms`, in the channel
    /// or in the thread of `thread_ts`. Only for posts a crash left in doubt: Slack
    /// rate-limits these methods hard.
    pub async fn find_posted(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        oldest_ms: i64,
        key: &str,
    ) -> Result<Option<String>, ApiError> {
        // A little before the row was recorded: Slack's clock and ours differ.
        let oldest = format!("{:.6}", (oldest_ms - 60_000).max(0) as f64 / 1000.0);
        let channel = channel.to_string();
        let limit = "200".to_string();
        let yes = "true".to_string();
        let thread = thread_ts.map(str::to_string);
        let method = if thread.is_some() {
            "conversations.replies"
        } else {
            "conversations.history"
        };
        let mut cursor: Option<String> = None;
        // Up to 1,000 messages since the row was recorded: the post is among the first
        // unless the channel is very busy.
        for _ in 0..FIND_PAGES {
            let mut params: Vec<(&str, Option<&String>)> = vec![
                ("channel", Some(&channel)),
                ("oldest", Some(&oldest)),
                ("limit", Some(&limit)),
                ("include_all_metadata", Some(&yes)),
                ("ts", thread.as_ref()),
                ("cursor", cursor.as_ref()),
            ];
            params.retain(|(_, v)| v.is_some());
            let page: History = self
                .session()
                .http_session_api
                .http_get(method, &params, None)
                .await?;
            let found = page.messages.into_iter().find(|m| {
                m.metadata.as_ref().is_some_and(|meta| {
                    meta.event_type == OUTBOX_EVENT
                        && meta
                            .event_payload
                            .as_ref()
                            .and_then(|p| p.get("key"))
                            .is_some_and(|k| k == key)
                })
            });
            if let Some(message) = found {
                return Ok(Some(message.ts));
            }
            cursor = page
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.is_empty());
            if cursor.is_none() {
                break;
            }
        }
        Ok(None)
    }

    /// Adds reaction `emoji` (no colons) to message `ts` of `channel`
    /// (`reactions.add`, scope `reactions:write`). Already there is done.
    pub async fn add_reaction(&self, channel: &str, ts: &str, emoji: &str) -> Result<(), ApiError> {
        let request = ReactionRequest {
            channel,
            timestamp: ts,
            name: emoji,
        };
        let answer: Result<Empty, _> = self
            .session()
            .http_session_api
            .http_post("reactions.add", &request, None)
            .await;
        match answer.map_err(ApiError::from) {
            Ok(_) => Ok(()),
            Err(ApiError::Slack(code)) if code == "already_reacted" => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Message `ts` of `channel` as Slack has it now: top-level
    /// (`conversations.history` with `latest` = `ts`, inclusive, one message), else a
    /// reply in a thread (`conversations.replies`, which finds a reply by its own
    /// `ts`). `None`: Slack has no such message (deleted, or never there).
    pub async fn read_message(
        &self,
        channel: &str,
        ts: &str,
    ) -> Result<Option<ReadMessage>, ApiError> {
        let (channel, ts) = (channel.to_string(), ts.to_string());
        let (one, yes) = ("1".to_string(), "true".to_string());
        let history: Messages = self
            .session()
            .http_session_api
            .http_get(
                "conversations.history",
                &[
                    ("channel", Some(&channel)),
                    ("latest", Some(&ts)),
                    ("inclusive", Some(&yes)),
                    ("limit", Some(&one)),
                ],
                None,
            )
            .await?;
        if let Some(found) = history.messages.into_iter().find(|m| m.ts == ts) {
            return Ok(Some(found));
        }
        let replies: Result<Messages, _> = self
            .session()
            .http_session_api
            .http_get(
                "conversations.replies",
                &[
                    ("channel", Some(&channel)),
                    ("ts", Some(&ts)),
                    ("limit", Some(&one)),
                ],
                None,
            )
            .await;
        match replies.map_err(ApiError::from) {
            Ok(replies) => Ok(replies.messages.into_iter().find(|m| m.ts == ts)),
            Err(ApiError::Slack(code)) if code == "thread_not_found" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The `D…` id of the app's direct conversation with `user` (`conversations.open`,
    /// which needs `im:write`): DMs posted to a user id are filed there, and only there
    /// can `conversations.history` read them (with `im:history`).
    pub async fn open_dm(&self, user: &str) -> Result<String, ApiError> {
        // `users` as Slack documents it, a comma-separated string (slack-morphism's
        // request would send an array).
        let request = OpenRequest { users: user };
        let response: OpenedConversation = self
            .session()
            .http_session_api
            .http_post("conversations.open", &request, None)
            .await?;
        Ok(response.channel.id)
    }

    /// Whether the channel is shared with another organisation (Slack Connect).
    pub async fn is_shared(&self, channel: &str) -> Result<bool, ApiError> {
        let request = SlackApiConversationsInfoRequest::new(channel.into());
        let response = self.session().conversations_info(&request).await?;
        // slack-morphism models `is_shared`, which Slack sets for Slack Connect channels.
        Ok(response.channel.flags.is_shared.unwrap_or(false))
    }

    /// A link to a message, for escalations posted away from it.
    pub async fn permalink(&self, channel: &str, ts: &str) -> Result<String, ApiError> {
        let request = SlackApiChatGetPermalinkRequest::new(channel.into(), ts.into());
        let response = self.session().chat_get_permalink(&request).await?;
        Ok(response.permalink.to_string())
    }

    /// Creates a channel; returns its id.
    pub async fn create_channel(&self, name: &str, private: bool) -> Result<String, ApiError> {
        let request =
            SlackApiConversationsCreateRequest::new(name.to_string()).with_is_private(private);
        let response = self.session().conversations_create(&request).await?;
        Ok(response.channel.id.to_string())
    }

    pub async fn invite(&self, channel: &str, users: &[&str]) -> Result<(), ApiError> {
        let request = InviteRequest {
            channel,
            users: users.join(","),
        };
        let _: Empty = self
            .session()
            .http_session_api
            .http_post("conversations.invite", &request, None)
            .await?;
        Ok(())
    }

    pub async fn pin(&self, channel: &str, ts: &str) -> Result<(), ApiError> {
        let request = SlackApiPinsAddRequest::new(channel.into(), ts.into());
        self.session().pins_add(&request).await?;
        Ok(())
    }

    /// What Slack says of `user`, as seen from `team`: an admin or owner of another
    /// workspace (a Slack Connect guest, or an org member homed elsewhere) is not an
    /// admin here; a guest, a stranger or a person of another organisation is the
    /// customer's side.
    pub async fn user_info(&self, team: &str, user: &str) -> Result<UserInfo, ApiError> {
        let request = SlackApiUsersInfoRequest::new(user.into()).with_include_locale(true);
        let response = self.session().users_info(&request).await?;
        let person = &response.user;
        let of_team = person.team_id.as_ref().is_none_or(|t| t.0 == team)
            || person
                .enterprise_user
                .as_ref()
                .and_then(|e| e.teams.as_ref())
                .is_some_and(|teams| teams.iter().any(|t| t.0 == team));
        // Under Enterprise Grid, the organisation's other workspaces are ours too.
        let of_organisation = of_team
            || person
                .enterprise_user
                .as_ref()
                .is_some_and(|e| self.enterprise.as_deref() == Some(e.enterprise_id.0.as_str()));
        let flags = &person.flags;
        let is_admin = of_team
            && [flags.is_admin, flags.is_owner, flags.is_primary_owner]
                .into_iter()
                .any(|f| f == Some(true));
        let guest_or_stranger = [
            flags.is_restricted,
            flags.is_ultra_restricted,
            flags.is_stranger,
        ]
        .into_iter()
        .any(|f| f == Some(true));
        Ok(UserInfo {
            locale: person.locale.as_ref().map(|l| l.to_string()),
            tz: person.tz.clone(),
            is_admin: is_admin && !guest_or_stranger,
            customer_side: guest_or_stranger || !of_organisation,
            name: shown_name(person),
        })
    }

    /// The members of a Slack user group.
    pub async fn group_members(&self, group: &str) -> Result<Vec<String>, ApiError> {
        let request = SlackApiUserGroupsUsersListRequest::new(group.into());
        let response = self.session().usergroups_users_list(&request).await?;
        Ok(response.users.into_iter().map(|u| u.0).collect())
    }

    /// Publishes `view` as `user`'s App Home.
    pub async fn publish_home(&self, user: &str, view: SlackView) -> Result<(), ApiError> {
        let request = SlackApiViewsPublishRequest::new(user.into(), view);
        self.post_views("views.publish", &request).await
    }

    /// A `views.*` call whose answer is only read for `ok`: Slack echoes the whole view
    /// back, and parsing it again is work for nothing (and a failure if it holds
    /// anything the client's types do not know).
    async fn post_views(
        &self,
        method: &str,
        request: &(impl Serialize + Send + Sync),
    ) -> Result<(), ApiError> {
        let _: Empty = self
            .session()
            .http_session_api
            .http_post(method, request, None)
            .await?;
        Ok(())
    }

    /// Uploads a file into `channel` (under `thread_ts`), the way Slack asks for it
    /// since `files.upload` was retired: `files.getUploadURLExternal`, the bytes to the
    /// URL it gives, then `files.completeUploadExternal` to share it.
    pub async fn upload_file(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        filename: &str,
        title: &str,
        content: Vec<u8>,
        content_type: &str,
    ) -> Result<(), ApiError> {
        let session = self.session();
        let ticket = session
            .get_upload_url_external(&SlackApiFilesGetUploadUrlExternalRequest::new(
                filename.to_string(),
                content.len(),
            ))
            .await?;
        session
            .files_upload_via_url(&SlackApiFilesUploadViaUrlRequest::new(
                ticket.upload_url,
                content,
                content_type.to_string(),
            ))
            .await?;
        let mut complete = SlackApiFilesCompleteUploadExternalRequest::new(vec![
            SlackApiFilesComplete::new(ticket.file_id).with_title(title.to_string()),
        ])
        .with_channel_id(channel.into());
        if let Some(thread) = thread_ts {
            complete = complete.with_thread_ts(thread.into());
        }
        session.files_complete_upload_external(&complete).await?;
        Ok(())
    }

    /// Pushes `view` on top of the open modal (a checklist's category from its overview).
    pub async fn push_view(&self, trigger_id: &str, view: SlackView) -> Result<(), ApiError> {
        let request = SlackApiViewsPushRequest::new(trigger_id.into(), view);
        self.post_views("views.push", &request).await
    }

    pub async fn open_view(&self, trigger_id: &str, view: SlackView) -> Result<(), ApiError> {
        let request = SlackApiViewsOpenRequest::new(trigger_id.into(), view);
        self.post_views("views.open", &request).await
    }
}

/// A person's name for a document: real name, display name or handle, the first set.
fn shown_name(person: &SlackUser) -> Option<String> {
    let profile = person.profile.as_ref();
    [
        profile.and_then(|p| p.real_name.clone()),
        person.real_name.clone(),
        profile.and_then(|p| p.display_name.clone()),
        person.name.clone(),
    ]
    .into_iter()
    .flatten()
    .map(|n| n.trim().to_string())
    .find(|n| !n.is_empty())
}

impl SlackApi {
    /// Answers through a `response_url` (ephemeral unless the body says otherwise);
    /// the URL itself is the credential, so no workspace token is needed.
    pub async fn respond(
        &self,
        response_url: &str,
        message: &Message,
        replace_original: bool,
    ) -> Result<(), ApiError> {
        let url: SlackResponseUrl = url::Url::parse(response_url)
            .map_err(|e| ApiError::Transport(format!("bad response_url: {e}")))?
            .into();
        let mut request = SlackApiPostWebhookMessageRequest::new(content(message));
        if replace_original {
            request = request.with_replace_original(true);
        }
        self.client.respond_to_event(&url, &request).await?;
        Ok(())
    }
}
