//! The Slack Web API, through slack-morphism's client, pointed at `SLACK_API_URL`.
//!
//! A thin wrapper: it turns our [`Message`]s into slack-morphism requests and Slack's
//! failures into [`ApiError`], which says whether trying again can help.

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use crate::blocks::Message;
use crate::config::Secret;

pub type Client = SlackClient<SlackClientHyperHttpsConnector>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// No bot token is configured, so nothing can be sent.
    #[error("SLACK_BOT_TOKEN is not set")]
    NoToken,
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
        matches!(self, ApiError::RateLimited(_) | ApiError::Transport(_))
            || matches!(
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
            other => ApiError::Transport(other.to_string()),
        }
    }
}

/// What the app needs to know about a Slack user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub locale: Option<String>,
    pub tz: Option<String>,
    /// A workspace admin or owner.
    pub is_admin: bool,
}

#[derive(Clone)]
pub struct SlackApi {
    client: Arc<Client>,
    token: Option<SlackApiToken>,
}

#[derive(Serialize)]
struct InviteRequest<'a> {
    channel: &'a str,
    /// Slack documents a comma-separated string; slack-morphism would send an array.
    users: String,
}

#[derive(Deserialize)]
struct Empty {}

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

impl SlackApi {
    /// A client for `api_url` (http is accepted, for a local test double).
    pub fn new(api_url: &str, bot_token: &Secret) -> anyhow::Result<Self> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_all_versions()
            .build();
        // slack-morphism joins the base and the method name with a `/` (and the
        // settings have already dropped a trailing one).
        let connector = SlackClientHyperConnector::from(https).with_slack_api_url(api_url);
        Ok(Self {
            client: Arc::new(SlackClient::new(connector)),
            token: (!bot_token.is_empty()).then(|| {
                SlackApiToken::new(SlackApiTokenValue::new(bot_token.expose().to_string()))
            }),
        })
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    fn session(&self) -> Result<SlackClientSession<'_, SlackClientHyperHttpsConnector>, ApiError> {
        let token = self.token.as_ref().ok_or(ApiError::NoToken)?;
        Ok(self.client.open_session(token))
    }

    fn content(message: &Message) -> SlackMessageContent {
        SlackMessageContent::new()
            .with_text(message.text.clone())
            .with_blocks(message.blocks.clone())
    }

    /// Posts a message; returns its `ts`.
    pub async fn post_message(&self, channel: &str, message: &Message) -> Result<String, ApiError> {
        let request = SlackApiChatPostMessageRequest::new(channel.into(), Self::content(message));
        let response = self.session()?.chat_post_message(&request).await?;
        Ok(response.ts.to_string())
    }

    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        message: &Message,
    ) -> Result<(), ApiError> {
        let request =
            SlackApiChatUpdateRequest::new(channel.into(), Self::content(message), ts.into());
        self.session()?.chat_update(&request).await?;
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
            Self::content(message).with_metadata(metadata),
        );
        if let Some(thread) = thread_ts {
            request = request.with_thread_ts(thread.into());
        }
        let response = self.session()?.chat_post_message(&request).await?;
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
                .session()?
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

    /// Whether the channel is shared with another organisation (Slack Connect).
    pub async fn is_shared(&self, channel: &str) -> Result<bool, ApiError> {
        let request = SlackApiConversationsInfoRequest::new(channel.into());
        let response = self.session()?.conversations_info(&request).await?;
        // slack-morphism models `is_shared`, which Slack sets for Slack Connect channels.
        Ok(response.channel.flags.is_shared.unwrap_or(false))
    }

    /// A link to a message, for escalations posted away from it.
    pub async fn permalink(&self, channel: &str, ts: &str) -> Result<String, ApiError> {
        let request = SlackApiChatGetPermalinkRequest::new(channel.into(), ts.into());
        let response = self.session()?.chat_get_permalink(&request).await?;
        Ok(response.permalink.to_string())
    }

    /// Creates a channel; returns its id.
    pub async fn create_channel(&self, name: &str, private: bool) -> Result<String, ApiError> {
        let request =
            SlackApiConversationsCreateRequest::new(name.to_string()).with_is_private(private);
        let response = self.session()?.conversations_create(&request).await?;
        Ok(response.channel.id.to_string())
    }

    pub async fn invite(&self, channel: &str, users: &[&str]) -> Result<(), ApiError> {
        let request = InviteRequest {
            channel,
            users: users.join(","),
        };
        let _: Empty = self
            .session()?
            .http_session_api
            .http_post("conversations.invite", &request, None)
            .await?;
        Ok(())
    }

    pub async fn pin(&self, channel: &str, ts: &str) -> Result<(), ApiError> {
        let request = SlackApiPinsAddRequest::new(channel.into(), ts.into());
        self.session()?.pins_add(&request).await?;
        Ok(())
    }

    pub async fn user_info(&self, user: &str) -> Result<UserInfo, ApiError> {
        let request = SlackApiUsersInfoRequest::new(user.into()).with_include_locale(true);
        let response = self.session()?.users_info(&request).await?;
        let flags = &response.user.flags;
        let is_admin = [flags.is_admin, flags.is_owner, flags.is_primary_owner]
            .into_iter()
            .any(|f| f == Some(true));
        Ok(UserInfo {
            locale: response.user.locale.map(|l| l.to_string()),
            tz: response.user.tz,
            is_admin,
        })
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
            .session()?
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
        let session = self.session()?;
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

    /// Answers through a `response_url` (ephemeral unless the body says otherwise).
    pub async fn respond(
        &self,
        response_url: &str,
        message: &Message,
        replace_original: bool,
    ) -> Result<(), ApiError> {
        let url: SlackResponseUrl = url::Url::parse(response_url)
            .map_err(|e| ApiError::Transport(format!("bad response_url: {e}")))?
            .into();
        let mut request = SlackApiPostWebhookMessageRequest::new(Self::content(message));
        if replace_original {
            request = request.with_replace_original(true);
        }
        self.client.respond_to_event(&url, &request).await?;
        Ok(())
    }
}
