//! Socket Mode: with `SLACK_APP_TOKEN` set, Slack's requests arrive over a WebSocket
//! the app opens (for teams that cannot expose a public URL) and go to the same
//! handlers as over HTTP.
//!
//! - `apps.connections.open` (slack-morphism, at `SLACK_API_URL`) gives the URL; the
//!   socket itself is tokio-tungstenite. slack-morphism's own listener hands its
//!   callbacks typed events that drop fields our handlers read (`enterprise_id`,
//!   unknown interaction types) and acknowledges only once a callback returns; here
//!   each envelope's payload is the very JSON Slack posts over HTTP, so it is parsed
//!   by the same code.
//! - Each envelope is acknowledged with its `envelope_id` (and the answer, where Slack
//!   takes one) as soon as its handler returns. An event whose handler failed is not
//!   acknowledged, so Slack delivers it again.
//! - An envelope is handled once: a command's or a click's envelope id is recorded
//!   with the processed events before its handler runs (an event's own `event_id`
//!   already is, by the events handler), so a redelivery, on this connection or after
//!   a reconnect (or a restart), is acknowledged and dropped.
//! - A dropped connection, a `disconnect` from Slack or a failed open is followed by a
//!   new connection, after a backoff that doubles from 1 s to 30 s while connecting
//!   keeps failing (and starts again at 1 s once a connection was greeted). The app
//!   pings every 30 s; a connection silent for 90 s is replaced.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as Frame;
use tracing::{debug, info, warn};

use crate::config::Secret;
use crate::slack::{
    self, Context,
    commands::{Answer, SlashCommand},
    events::Envelope as EventEnvelope,
    interactions::{Interaction, Reply},
};

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const LONGEST_BACKOFF: Duration = Duration::from_secs(30);
/// The app pings this often; a connection silent (not even a pong) for
/// [`SILENT_FOR`] is taken for dead, as a half-open TCP connection would be.
const PING_EVERY: Duration = Duration::from_secs(30);
const SILENT_FOR: Duration = Duration::from_secs(90);

/// One frame from Slack.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub envelope_id: Option<String>,
    #[serde(default)]
    pub payload: Value,
    #[serde(default)]
    pub accepts_response_payload: bool,
    /// `disconnect`: why (`refresh_requested`, `link_disabled`, …).
    #[serde(default)]
    pub reason: Option<String>,
}

/// How a connection ended.
enum Ended {
    /// Stop: the app is shutting down.
    Shutdown,
    /// Connect again now (Slack asked, or the socket closed after a good start).
    Reconnect,
}

/// Keeps a Socket Mode connection open until `shutdown`.
pub async fn run(ctx: Context, app_token: Secret, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let mut greeted = false;
        match connect_once(&ctx, &app_token, &mut shutdown, &mut greeted).await {
            Ok(Ended::Shutdown) => return,
            Ok(Ended::Reconnect) => {
                backoff = FIRST_BACKOFF;
                continue;
            }
            Err(e) => {
                // A connection that worked for a while starts the backoff again.
                if greeted {
                    backoff = FIRST_BACKOFF;
                }
                warn!(error = %e, retry_in = ?backoff, "Socket Mode connection failed");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
        backoff = (backoff * 2).min(LONGEST_BACKOFF);
    }
}

async fn connect_once(
    ctx: &Context,
    app_token: &Secret,
    shutdown: &mut watch::Receiver<bool>,
    greeted: &mut bool,
) -> anyhow::Result<Ended> {
    let url = ctx.api.open_socket(app_token).await?;
    let (socket, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    let (mut outgoing, mut incoming) = socket.split();
    let (acks, mut to_send) = mpsc::channel::<String>(256);
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut last_heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                let _ = outgoing.close().await;
                return Ok(Ended::Shutdown);
            }
            Some(ack) = to_send.recv() => outgoing.send(Frame::text(ack)).await?,
            _ = pings.tick() => {
                if last_heard.elapsed() > SILENT_FOR {
                    anyhow::bail!("nothing from Slack for {SILENT_FOR:?}");
                }
                outgoing.send(Frame::Ping(Default::default())).await?;
            }
            frame = incoming.next() => match frame {
                None | Some(Ok(Frame::Close(_))) if *greeted => {
                    info!("Socket Mode connection closed; connecting again");
                    return Ok(Ended::Reconnect);
                }
                None | Some(Ok(Frame::Close(_))) => anyhow::bail!("closed before Slack's hello"),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(Frame::Text(text))) => {
                    last_heard = tokio::time::Instant::now();
                    let envelope: Envelope = match serde_json::from_str(text.as_str()) {
                        Ok(envelope) => envelope,
                        Err(e) => {
                            warn!(error = %e, "a Socket Mode frame that is not an envelope");
                            continue;
                        }
                    };
                    match envelope.kind.as_str() {
                        "hello" => {
                            *greeted = true;
                            info!("Socket Mode connected");
                        }
                        "disconnect" => {
                            info!(reason = envelope.reason.as_deref().unwrap_or("-"), "Slack asks to reconnect");
                            let _ = outgoing.close().await;
                            return Ok(Ended::Reconnect);
                        }
                        _ => {
                            let ctx = ctx.clone();
                            let acks = acks.clone();
                            // Handled apart, so a slow one does not hold the others'
                            // acknowledgements (Slack waits 3 s for each).
                            tokio::spawn(async move {
                                if let Some(ack) = handle(&ctx, envelope).await {
                                    let _ = acks.send(ack).await;
                                }
                            });
                        }
                    }
                }
                // Pings are answered by tungstenite itself; pongs answer ours.
                Some(Ok(_)) => last_heard = tokio::time::Instant::now(),
            },
        }
    }
}

/// Handles one envelope; returns the acknowledgement to send (none: let Slack retry).
pub async fn handle(ctx: &Context, envelope: Envelope) -> Option<String> {
    let id = envelope.envelope_id.clone()?;
    let now = ctx.usecases.tickets.time.now();
    let ack = |payload: Option<Value>| {
        let mut ack = serde_json::json!({ "envelope_id": id });
        if let Some(payload) = payload.filter(|_| envelope.accepts_response_payload) {
            ack["payload"] = payload;
        }
        Some(ack.to_string())
    };
    // Events carry their own event_id, which their handler records; commands and
    // clicks have only the envelope's id.
    if envelope.kind != "events_api" {
        match ctx
            .usecases
            .store
            .first_sight_of_event(&format!("envelope:{id}"), now)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                debug!(envelope = %id, "a Socket Mode envelope delivered again; dropped");
                return ack(None);
            }
            Err(e) => {
                warn!(error = %e, "cannot record a Socket Mode envelope; Slack will send it again");
                return None;
            }
        }
    }
    let answer = match envelope.kind.as_str() {
        "slash_commands" => {
            match serde_json::from_value::<SlashCommand>(envelope.payload.clone()) {
                Ok(command) => match slack::commands::handle(ctx, &command, now).await {
                    Answer::Ephemeral(message) => serde_json::to_value(message.ephemeral()).ok(),
                    Answer::EphemeralJson(body) => serde_json::from_slice(&body).ok(),
                    Answer::Nothing => None,
                },
                Err(e) => {
                    warn!(error = %e, "a malformed slash command over Socket Mode");
                    None
                }
            }
        }
        "interactive" => match Interaction::parse(&envelope.payload.to_string()) {
            Ok(interaction) => match slack::interactions::handle(ctx, interaction, now).await {
                Reply::Ack => None,
                Reply::Json(value) => Some(value),
            },
            Err(e) => {
                warn!(error = %e, "a malformed interaction over Socket Mode");
                None
            }
        },
        "events_api" => match serde_json::from_value::<EventEnvelope>(envelope.payload.clone()) {
            Ok(event) => {
                if let Err(e) = slack::events::handle(ctx, event, now).await {
                    warn!(error = %e, "cannot record an event; Slack will send it again");
                    return None;
                }
                None
            }
            Err(e) => {
                warn!(error = %e, "a malformed event over Socket Mode");
                None
            }
        },
        other => {
            debug!(kind = other, "a Socket Mode envelope of a kind not handled");
            None
        }
    };
    ack(answer)
}
