//! The Events API: the URL handshake, event callbacks dropped when Slack retries one
//! already handled, and thread replies under a ticket, which count as its first
//! response when a member of the workspace other than the reporter writes them.
//! Other events (App Home, for a later release) are acknowledged and recorded as seen.

use serde::Deserialize;
use serde_json::Value;
use tracing::{debug, warn};

use super::Context;
use crate::store::audit::{Actor, Source};
use crate::domain::ticket::Action;
use crate::support::ActError;

/// A reply in a ticket's thread by a person of this workspace (not the reporter, not a
/// bot, not a guest from a Slack Connect organisation) is the ticket's first response.
async fn thread_reply(
    ctx: &Context,
    team: &str,
    event: &Value,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let (Some(channel), Some(thread), Some(ts), Some(user)) = (
        event["channel"].as_str(),
        event["thread_ts"].as_str(),
        event["ts"].as_str(),
        event["user"].as_str(),
    ) else {
        return Ok(());
    };
    // Edits, joins and the app's own posts are not answers.
    let subtype = event["subtype"].as_str().unwrap_or("");
    if thread == ts
        || event.get("bot_id").is_some_and(|b| !b.is_null())
        || !matches!(subtype, "" | "thread_broadcast" | "file_share")
    {
        return Ok(());
    }
    let author_team = event["user_team"]
        .as_str()
        .or(event["team"].as_str())
        .unwrap_or(team);
    if author_team != team {
        return Ok(());
    }
    let Some(ticket) = ctx.store.ticket_by_message(team, channel, thread).await? else {
        return Ok(());
    };
    if ticket.reporter == user || ticket.responded_at.is_some() {
        return Ok(());
    }
    // Answered when written, even if the event arrives late.
    let written_ms = ts
        .parse::<f64>()
        .map(|s| (s * 1000.0) as i64)
        .unwrap_or(now_ms)
        .min(now_ms);
    let at = chrono::DateTime::from_timestamp_millis(written_ms).unwrap_or_default();
    match ctx
        .support
        .act(
            team,
            ticket.id,
            &Action::Respond,
            Actor::new(user, Source::Event),
            at,
        )
        .await
    {
        Ok(_) => {
            debug!(ticket = ticket.id, "first response seen in the thread");
            Ok(())
        }
        Err(ActError::Database(e)) => Err(e),
        Err(ActError::NotFound | ActError::Refused(_)) => Ok(()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
pub enum Envelope {
    #[serde(rename = "url_verification")]
    UrlVerification { challenge: String },
    #[serde(rename = "event_callback")]
    EventCallback {
        event_id: String,
        #[serde(default)]
        team_id: Option<String>,
        event: Value,
    },
    #[serde(rename = "app_rate_limited")]
    AppRateLimited {
        #[serde(default)]
        team_id: Option<String>,
        #[serde(default)]
        minute_rate_limited: Option<i64>,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventReply {
    Challenge(String),
    Ack,
}

pub async fn handle(
    ctx: &Context,
    envelope: Envelope,
    now_ms: i64,
) -> Result<EventReply, sqlx::Error> {
    match envelope {
        Envelope::UrlVerification { challenge } => Ok(EventReply::Challenge(challenge)),
        Envelope::EventCallback {
            event_id,
            team_id,
            event,
        } => {
            if !ctx.store.first_sight_of_event(&event_id, now_ms).await? {
                debug!(event_id, "duplicate event delivery dropped");
                return Ok(EventReply::Ack);
            }
            debug!(
                event_id,
                team = team_id.as_deref().unwrap_or("-"),
                kind = event["type"].as_str().unwrap_or("-"),
                "event received"
            );
            if let Some(team) = team_id.as_deref()
                && event["type"] == "message"
                && let Err(e) = thread_reply(ctx, team, &event, now_ms).await
            {
                // Not handled after all: let Slack's retry of it through.
                let _ = ctx.store.forget_event(&event_id).await;
                return Err(e);
            }
            Ok(EventReply::Ack)
        }
        Envelope::AppRateLimited {
            team_id,
            minute_rate_limited,
        } => {
            warn!(team = team_id.as_deref().unwrap_or("-"), minute = ?minute_rate_limited, "Slack is dropping this app's events (over 30,000 an hour)");
            Ok(EventReply::Ack)
        }
        Envelope::Other => Ok(EventReply::Ack),
    }
}
