//! The Events API: the URL handshake, event callbacks dropped when Slack retries one
//! already handled, and messages in a ticket's thread, which are conversation on the
//! ticket (staff's first or next response; the customer's follow-up, resume or reopen).
//! `app_home_opened` publishes the viewer's Home. A customer channel archived, renamed
//! or left by the app is told to the customer's CSM, since posts there would otherwise
//! fail without anyone knowing why. Other events are acknowledged and recorded as seen.
//! A top-level message, a mention of the app and a reaction in a customer's channel go
//! to intake (`usecase::intake`), which may make a ticket of the message.
//! Each handler here parses its event and calls one use case (`usecase::events`,
//! `usecase::intake`).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use tracing::{debug, warn};

use super::Context;
pub use crate::usecase::events::Ended;
use crate::usecase::events::{ChannelChange, ThreadReply};
use crate::usecase::intake::{AddedReaction, IncomingMessage, Intake, IntakeError, Via};

/// The reply an event is, if it may answer a ticket: in a thread, by a person, not
/// an edit or a join; `None` otherwise. Its time is when it was written (even if the
/// event arrives late), never after `now`.
fn thread_reply_of(event: &Value, now: DateTime<Utc>) -> Option<ThreadReply<'_>> {
    let (Some(channel), Some(thread), Some(ts), Some(user)) = (
        event["channel"].as_str(),
        event["thread_ts"].as_str(),
        event["ts"].as_str(),
        event["user"].as_str(),
    ) else {
        return None;
    };
    // Edits, joins and the app's own posts are not answers.
    let subtype = event["subtype"].as_str().unwrap_or("");
    if thread == ts
        || event.get("bot_id").is_some_and(|b| !b.is_null())
        || !matches!(subtype, "" | "thread_broadcast" | "file_share")
    {
        return None;
    }
    // Answered when written, even if the event arrives late.
    let at = ts
        .parse::<f64>()
        .map_or(now, |s| crate::time_source::at_ms((s * 1000.0) as i64))
        .min(now);
    Some(ThreadReply {
        channel,
        thread,
        user,
        user_team: event["user_team"].as_str().filter(|t| !t.is_empty()),
        at,
    })
}

/// A reply in a ticket's thread is conversation on the ticket: staff's is the first
/// (or the next) response; the customer's resumes, reopens or awaits an answer.
async fn thread_reply(
    ctx: &Context,
    team: &str,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let Some(reply) = thread_reply_of(event, now) else {
        return Ok(());
    };
    ctx.usecases
        .reply_in_thread(team, reply, ctx.default_role)
        .await?;
    Ok(())
}

/// A message event: a top-level message may become a ticket (intake, mode `all`); a
/// reply in a thread goes the thread-reply path.
async fn message(
    ctx: &Context,
    team: &str,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let (ts, thread) = (event["ts"].as_str(), event["thread_ts"].as_str());
    if thread.is_some() && thread != ts {
        return thread_reply(ctx, team, event, now).await;
    }
    intake_message(ctx, team, event, Via::Message, now).await
}

/// The message an event carries, as intake reads it.
fn incoming_message(event: &Value) -> IncomingMessage<'_> {
    IncomingMessage {
        channel: event["channel"].as_str().unwrap_or_default(),
        ts: event["ts"].as_str().unwrap_or_default(),
        thread_ts: event["thread_ts"].as_str(),
        user: event["user"].as_str().unwrap_or_default(),
        user_team: event["user_team"].as_str(),
        text: event["text"].as_str().unwrap_or_default(),
        subtype: event["subtype"].as_str(),
        bot_id: event["bot_id"].as_str(),
        file_name: event["files"][0]["name"].as_str(),
    }
}

/// What intake could not decide now, as the error that lets Slack's retry of the
/// event through (the edge answers 503; nothing was stored).
fn decide_later(e: IntakeError) -> sqlx::Error {
    match e {
        IntakeError::Database(e) => e,
        other => {
            warn!(error = %other, "intake cannot decide now; Slack will send the event again");
            sqlx::Error::Io(std::io::Error::other(other.to_string()))
        }
    }
}

/// A message (or a mention of the app) in a customer's channel: a ticket when the
/// customer's intake mode says so.
async fn intake_message(
    ctx: &Context,
    team: &str,
    event: &Value,
    via: Via,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let message = incoming_message(event);
    if message.channel.is_empty() || message.ts.is_empty() {
        return Ok(());
    }
    let outcome = ctx
        .usecases
        .intake_message(team, &message, via, now)
        .await
        .map_err(decide_later)?;
    debug!(?via, outcome = ?outcome_name(&outcome), "intake");
    Ok(())
}

/// A reaction added to a message: the intake emoji or the resolve emoji.
async fn reaction_added(
    ctx: &Context,
    team: &str,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let item = &event["item"];
    let (Some("message"), Some(channel), Some(ts), Some(user), Some(emoji)) = (
        item["type"].as_str(),
        item["channel"].as_str(),
        item["ts"].as_str(),
        event["user"].as_str(),
        event["reaction"].as_str(),
    ) else {
        return Ok(());
    };
    let reaction = AddedReaction {
        user,
        emoji,
        channel,
        ts,
    };
    let outcome = ctx
        .usecases
        .intake_reaction(&ctx.api, team, &reaction, now)
        .await
        .map_err(decide_later)?;
    debug!(outcome = ?outcome_name(&outcome), "intake reaction");
    Ok(())
}

fn outcome_name(outcome: &Intake) -> String {
    match outcome {
        Intake::Opened(t) => format!("opened {}", t.label()),
        Intake::Existing(t) => format!("already {}", t.label()),
        Intake::Resolved(t) => format!("resolved {}", t.label()),
        Intake::Ignored(why) => format!("ignored: {why}"),
    }
}

/// The Home tab opened: publish it, off the request's path.
fn home_opened(ctx: &Context, team: &str, event: &Value) {
    let (Some(user), Some("home")) = (event["user"].as_str(), event["tab"].as_str()) else {
        return;
    };
    let (home, team, user) = (ctx.home.clone(), team.to_string(), user.to_string());
    ctx.usecases.delivery.detach(async move {
        if let Err(e) = home.publish(&team, &user, 0).await {
            warn!(error = %e, "cannot publish an App Home");
        }
    });
}

/// The channel a channel event names and what happened to it. Renames carry the
/// channel as an object, the others as its id.
fn channel_change_of<'a>(kind: &str, event: &'a Value) -> (&'a str, ChannelChange) {
    let channel = event["channel"]
        .as_str()
        .or(event["channel"]["id"].as_str())
        .unwrap_or_default();
    let change = match kind {
        "channel_archive" | "group_archive" => ChannelChange::Archived,
        "channel_left" | "group_left" => ChannelChange::Left,
        _ => ChannelChange::Renamed(
            event["channel"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
    };
    (channel, change)
}

/// A customer channel archived, renamed or left by the app: the CSM hears of it (in
/// the outbox, keyed by the event, so once).
async fn channel_changed(
    ctx: &Context,
    team: &str,
    kind: &str,
    event: &Value,
    event_id: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let (channel, change) = channel_change_of(kind, event);
    ctx.usecases
        .channel_changed(team, channel, &change, event_id, ctx.channel_lang, now)
        .await
}

/// Which install an `app_uninstalled` or `tokens_revoked` event ends. Slack sends both
/// when one workspace removes the app; only an event that speaks for the organisation
/// may end the org-wide install, or one workspace would take the app away from every
/// workspace of its organisation. In a shared channel the envelope's `team_id` is the
/// source team, and the install is the one in `authorizations`.
pub fn ended_by<'a>(
    team_id: Option<&'a str>,
    enterprise_id: Option<&'a str>,
    authorizations: &'a [Authorization],
) -> Option<Ended<'a>> {
    let enterprise = enterprise_id.filter(|e| !e.is_empty());
    match authorizations.first() {
        Some(auth) if auth.is_enterprise_install => auth
            .enterprise_id
            .as_deref()
            .filter(|e| !e.is_empty())
            .or(enterprise)
            .map(Ended::Organisation),
        Some(auth) => auth
            .team_id
            .as_deref()
            .filter(|t| !t.is_empty())
            .or(team_id.filter(|t| !t.is_empty()))
            .map(Ended::Workspace),
        None => match team_id.filter(|t| !t.is_empty()) {
            Some(team) => Some(Ended::Workspace(team)),
            None => enterprise.map(Ended::Organisation),
        },
    }
}

/// An organisation took the app away from some of its workspaces (the event's
/// `team_ids`): the org-wide install stops serving them.
async fn access_revoked(
    ctx: &Context,
    enterprise: Option<&str>,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let Some(enterprise) = enterprise.filter(|e| !e.is_empty()) else {
        return Ok(());
    };
    let teams: Vec<&str> = event["team_ids"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    ctx.usecases
        .access_revoked(&ctx.api, enterprise, &teams, now)
        .await
}

/// One authorization an event was delivered for (the app's install that sees it).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Authorization {
    #[serde(default)]
    pub enterprise_id: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub is_enterprise_install: bool,
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
        /// Set in an Enterprise Grid organisation.
        #[serde(default)]
        enterprise_id: Option<String>,
        /// When Slack sent it (Unix seconds).
        #[serde(default)]
        event_time: Option<i64>,
        /// The installs the event is delivered for (ours; in a shared channel
        /// `team_id` is the team the event came from).
        #[serde(default)]
        authorizations: Vec<Authorization>,
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
    now: DateTime<Utc>,
) -> Result<EventReply, sqlx::Error> {
    match envelope {
        Envelope::UrlVerification { challenge } => Ok(EventReply::Challenge(challenge)),
        Envelope::EventCallback {
            event_id,
            team_id,
            enterprise_id,
            event_time,
            authorizations,
            event,
        } => {
            if !ctx.usecases.first_sight_of_event(&event_id, now).await? {
                debug!(event_id, "duplicate event delivery dropped");
                return Ok(EventReply::Ack);
            }
            debug!(
                event_id,
                team = team_id.as_deref().unwrap_or("-"),
                kind = event["type"].as_str().unwrap_or("-"),
                "event received"
            );
            let kind = event["type"].as_str().unwrap_or_default();
            // Uninstalls first: an organisation's carries no team.
            let ending = if kind == "app_uninstalled"
                || (kind == "tokens_revoked"
                    && event["tokens"]["bot"]
                        .as_array()
                        .is_some_and(|bots| !bots.is_empty()))
            {
                match ended_by(
                    team_id.as_deref(),
                    enterprise_id.as_deref(),
                    &authorizations,
                ) {
                    Some(ended) => {
                        let sent = event_time
                            .map_or(now, |t| crate::time_source::at_ms(t.saturating_mul(1000)));
                        Some(
                            ctx.usecases
                                .uninstalled(&ctx.api, ended, kind, sent, now)
                                .await,
                        )
                    }
                    None => Some(Ok(())),
                }
            } else if kind == "team_access_revoked" {
                Some(access_revoked(ctx, enterprise_id.as_deref(), &event, now).await)
            } else {
                None
            };
            if let Some(ended) = ending {
                if let Err(e) = ended {
                    // Not ended after all: let Slack's retry of it through.
                    ctx.usecases.forget_event(&event_id).await;
                    return Err(e);
                }
                return Ok(EventReply::Ack);
            }
            // The workspace the event is ours in: in a shared channel `team_id` is the
            // source team's, and our install's team is in `authorizations`.
            let Some(team) = authorizations
                .first()
                .and_then(|a| a.team_id.as_deref())
                .filter(|t| !t.is_empty())
                .or(team_id.as_deref())
            else {
                return Ok(EventReply::Ack);
            };
            if !super::admitted(ctx, team, enterprise_id.as_deref()).await {
                debug!(
                    event_id,
                    "an event from a workspace without the app installed"
                );
                return Ok(EventReply::Ack);
            }
            let handled = match kind {
                "message" => message(ctx, team, &event, now).await,
                "app_mention" => intake_message(ctx, team, &event, Via::Mention, now).await,
                "reaction_added" => reaction_added(ctx, team, &event, now).await,
                "app_home_opened" => {
                    home_opened(ctx, team, &event);
                    Ok(())
                }
                kind @ ("channel_archive" | "group_archive" | "channel_rename" | "group_rename"
                | "channel_left" | "group_left") => {
                    channel_changed(ctx, team, kind, &event, &event_id, now).await
                }
                _ => Ok(()),
            };
            if let Err(e) = handled {
                // Not handled after all: let Slack's retry of it through.
                ctx.usecases.forget_event(&event_id).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Which install a recorded event (Bolt for Python's fixtures) ends, as
    /// `org:<enterprise>` or `workspace:<team>`.
    fn ends(fixture: &str) -> String {
        let envelope: Value = serde_json::from_str(fixture).unwrap();
        let authorizations: Vec<Authorization> =
            serde_json::from_value(envelope["authorizations"].clone()).unwrap_or_default();
        match ended_by(
            envelope["team_id"].as_str(),
            envelope["enterprise_id"].as_str(),
            &authorizations,
        ) {
            Some(Ended::Organisation(org)) => format!("org:{org}"),
            Some(Ended::Workspace(team)) => format!("workspace:{team}"),
            None => "nothing".into(),
        }
    }

    #[test]
    fn only_the_organisations_own_events_end_its_install() {
        let fixtures = [
            (
                include_str!("../../tests/fixtures/uninstall/app_uninstalled__1.json"),
                "workspace:T111",
            ),
            (
                include_str!("../../tests/fixtures/uninstall/app_uninstalled__2.json"),
                "workspace:T_INSTALLED",
            ),
            (
                include_str!("../../tests/fixtures/uninstall/app_uninstalled__3.json"),
                "org:E111",
            ),
            // A shared channel: the event came from T_SOURCE, for our T_INSTALLED.
            (
                include_str!("../../tests/fixtures/uninstall/app_uninstalled__4.json"),
                "workspace:T_INSTALLED",
            ),
            (
                include_str!("../../tests/fixtures/uninstall/tokens_revoked__1.json"),
                "workspace:T111",
            ),
            (
                include_str!("../../tests/fixtures/uninstall/tokens_revoked__2.json"),
                "workspace:T_INSTALLED",
            ),
            (
                include_str!("../../tests/fixtures/uninstall/tokens_revoked__3.json"),
                "org:E111",
            ),
            (
                include_str!("../../tests/fixtures/uninstall/tokens_revoked__4.json"),
                "workspace:T_INSTALLED",
            ),
        ];
        for (fixture, expected) in fixtures {
            assert_eq!(ends(fixture), expected, "{fixture}");
        }
    }

    #[test]
    fn only_a_persons_new_reply_in_a_thread_may_answer_a_ticket() {
        let now = crate::time_source::at_ms(1_800_000_000_000);
        let reply = serde_json::json!({
            "type": "message", "channel": "C1", "thread_ts": "1700000000.000100",
            "ts": "1700000005.000200", "user": "U1",
        });
        let seen = thread_reply_of(&reply, now).unwrap();
        assert_eq!(
            (seen.channel, seen.thread, seen.user),
            ("C1", "1700000000.000100", "U1")
        );
        assert_eq!(seen.at.timestamp_millis(), 1_700_000_005_000);
        assert_eq!(seen.user_team, None);
        let mut connect = reply.clone();
        connect["user_team"] = "T0OTHER".into();
        assert_eq!(
            thread_reply_of(&connect, now).unwrap().user_team,
            Some("T0OTHER")
        );
        // Written "later" than now (a clock ahead): counted now.
        let mut ahead = reply.clone();
        ahead["ts"] = "1900000000.000000".into();
        assert_eq!(thread_reply_of(&ahead, now).unwrap().at, now);
        let mut parent = reply.clone();
        parent["ts"] = parent["thread_ts"].clone();
        assert!(thread_reply_of(&parent, now).is_none());
        let mut bot = reply.clone();
        bot["bot_id"] = "B1".into();
        assert!(thread_reply_of(&bot, now).is_none());
        let mut edit = reply.clone();
        edit["subtype"] = "message_changed".into();
        assert!(thread_reply_of(&edit, now).is_none());
        let mut broadcast = reply.clone();
        broadcast["subtype"] = "thread_broadcast".into();
        assert!(thread_reply_of(&broadcast, now).is_some());
        let mut outside = reply;
        outside.as_object_mut().unwrap().remove("thread_ts");
        assert!(thread_reply_of(&outside, now).is_none());
    }

    /// Recorded events (Bolt for Python's fixtures) read as intake reads them: a
    /// mention and a file shared are a person's message; a bot's post and an edit are
    /// not; a reaction names its message.
    #[test]
    fn recorded_message_events_read_as_intake_reads_them() {
        use crate::domain::intake::is_written_by_a_person;
        let event = |fixture: &str| -> Value {
            serde_json::from_str::<Value>(fixture).unwrap()["event"].clone()
        };
        let mention = event(include_str!(
            "../../tests/fixtures/intake/bolt-python__event-app_mention__1.json"
        ));
        let read = incoming_message(&mention);
        assert_eq!(
            (read.channel, read.user, read.ts),
            ("C111", "W222", "1595926230.009600")
        );
        assert_eq!(read.text, "<@W111> Hi there!");
        assert!(is_written_by_a_person(read.subtype, read.bot_id));
        let file = event(include_str!(
            "../../tests/fixtures/intake/bolt-python__event-message-file_share__1.json"
        ));
        let read = incoming_message(&file);
        assert_eq!(read.subtype, Some("file_share"));
        assert_eq!(read.file_name, Some("test.png"));
        assert!(is_written_by_a_person(read.subtype, read.bot_id));
        for fixture in [
            include_str!(
                "../../tests/fixtures/intake/bolt-python__event-message-bot_message__1.json"
            ),
            include_str!(
                "../../tests/fixtures/intake/bolt-python__event-message-message_changed__1.json"
            ),
        ] {
            let event = event(fixture);
            let read = incoming_message(&event);
            assert!(
                !is_written_by_a_person(read.subtype, read.bot_id),
                "{fixture}"
            );
        }
        let reaction = event(include_str!(
            "../../tests/fixtures/intake/bolt-python__event-reaction_added__1.json"
        ));
        assert_eq!(reaction["item"]["type"], "message");
        assert_eq!(reaction["item"]["ts"], "1599529504.000400");
        assert_eq!(reaction["reaction"], "heart_eyes");
    }

    #[test]
    fn a_channel_event_names_its_channel_and_what_happened() {
        let archived = serde_json::json!({ "type": "channel_archive", "channel": "C1" });
        assert_eq!(
            channel_change_of("channel_archive", &archived),
            ("C1", ChannelChange::Archived)
        );
        assert_eq!(
            channel_change_of("group_left", &archived),
            ("C1", ChannelChange::Left)
        );
        let renamed = serde_json::json!({
            "type": "channel_rename", "channel": { "id": "C2", "name": "acme-new" },
        });
        assert_eq!(
            channel_change_of("channel_rename", &renamed),
            ("C2", ChannelChange::Renamed("acme-new".into()))
        );
    }

    #[test]
    fn an_org_install_authorization_speaks_for_the_organisation() {
        let authorizations = [Authorization {
            enterprise_id: Some("E1".into()),
            team_id: None,
            is_enterprise_install: true,
        }];
        assert_eq!(
            ended_by(Some("T1"), Some("E1"), &authorizations),
            Some(Ended::Organisation("E1"))
        );
        assert_eq!(ended_by(None, None, &[]), None);
    }
}
