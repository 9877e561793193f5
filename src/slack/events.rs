//! The Events API: the URL handshake, and event callbacks dropped when Slack retries
//! one already handled. The events themselves (App Home, thread replies) are acted on
//! by later releases; today they are acknowledged and recorded as seen.

use serde::Deserialize;
use serde_json::Value;
use tracing::{debug, warn};

use super::Context;

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
