//! The Events API: the URL handshake, event callbacks dropped when Slack retries one
//! already handled, and thread replies under a ticket, which count as its first
//! response when a member of the workspace other than the reporter writes them.
//! `app_home_opened` publishes the viewer's Home. A customer channel archived, renamed
//! or left by the app is told to the customer's CSM, since posts there would otherwise
//! fail without anyone knowing why. Other events are acknowledged and recorded as seen.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use tracing::{debug, info, warn};

use super::Context;
use crate::blocks::Message;
use crate::domain::i18n::Lang;
use crate::domain::roles::Act;
use crate::domain::ticket::Action;
use crate::store::audit::{Actor, Source};
use crate::store::outbox::{DirectBody, Enqueue, Post};
use crate::usecase::tickets::ActError;

/// A reply in a ticket's thread by a person of this workspace (not the reporter, not a
/// bot, not a guest from a Slack Connect organisation, not a viewer) is the ticket's
/// first response.
async fn thread_reply(
    ctx: &Context,
    team: &str,
    event: &Value,
    now: DateTime<Utc>,
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
    let Some(ticket) = ctx
        .usecases
        .store
        .ticket_by_message(team, channel, thread)
        .await?
    else {
        return Ok(());
    };
    if ticket.reporter == user || ticket.responded_at.is_some() {
        return Ok(());
    }
    // A viewer's reply is a comment, not the support team's answer; nor is a reply
    // of the customer's side (a guest, or a person of another organisation), whoever
    // Slack says they are (`users.info`, not the event's `user_team`, which under
    // Enterprise Grid may name another workspace of our own organisation).
    let works_tickets = super::roles::allowed(ctx, team, user, Act::WorkTickets).await?;
    if works_tickets.is_err() {
        return Ok(());
    }
    // Answered when written, even if the event arrives late.
    let at = ts
        .parse::<f64>()
        .map_or(now, |s| crate::time_source::at_ms((s * 1000.0) as i64))
        .min(now);
    match ctx
        .usecases
        .tickets
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
    // Renames carry the channel as an object, the others as its id.
    let channel = event["channel"]
        .as_str()
        .or(event["channel"]["id"].as_str())
        .unwrap_or_default();
    let Some(customer) = ctx
        .usecases
        .store
        .customer_by_channel(team, channel)
        .await?
    else {
        return Ok(());
    };
    let lang = ctx.channel_lang;
    let name = crate::blocks::name(&customer.name);
    let what = match kind {
        "channel_archive" | "group_archive" => match lang {
            Lang::En => format!(
                ":file_cabinet: The channel of *{name}* (<#{channel}>) was archived. Reminders, escalations and ticket updates cannot be posted there: unarchive it, or link another with `/readiness customer {} channel=#…`.",
                customer.slug
            ),
            Lang::Ja => format!(
                ":file_cabinet: *{name}* のチャンネル（<#{channel}>）がアーカイブされました。リマインダー・エスカレーション・チケット更新を投稿できません。アーカイブを解除するか、`/readiness customer {} channel=#…` で別のチャンネルを設定してください。",
                customer.slug
            ),
        },
        "channel_left" | "group_left" => match lang {
            Lang::En => format!(
                ":warning: Readiness was removed from the channel of *{name}* (<#{channel}>). Invite it back (`/invite @Readiness`) or its reminders and escalations cannot be posted."
            ),
            Lang::Ja => format!(
                ":warning: *{name}* のチャンネル（<#{channel}>）から Readiness が外されました。再招待（`/invite @Readiness`）しないとリマインダーやエスカレーションを投稿できません。"
            ),
        },
        _ => {
            let new_name = event["channel"]["name"].as_str().unwrap_or_default();
            match lang {
                Lang::En => format!(
                    ":pencil2: The channel of *{name}* was renamed to #{}. Nothing breaks: Readiness follows the channel, not its name.",
                    crate::blocks::name(new_name)
                ),
                Lang::Ja => format!(
                    ":pencil2: *{name}* のチャンネル名が #{} に変わりました。Readiness はチャンネル名ではなくチャンネルを追うので影響はありません。",
                    crate::blocks::name(new_name)
                ),
            }
        }
    };
    let item = Enqueue {
        key: format!("channel-event:{event_id}"),
        team_id: team.to_string(),
        channel_id: customer.csm().to_string(),
        ticket_id: None,
        post: Post::Direct(DirectBody {
            customer_id: Some(customer.id),
            message: Message::plain(what),
        }),
    };
    ctx.usecases.store.enqueue(&item, now).await
}

/// Whom an uninstall event speaks for: the install it was delivered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended<'a> {
    /// A whole Enterprise Grid organisation's org-wide install (the event has no
    /// `team_id`, or its authorization is the org-wide install's).
    Organisation(&'a str),
    /// One workspace's own install, and nothing else.
    Workspace(&'a str),
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

/// The app was uninstalled, or its bot token revoked: the install the event speaks
/// for stops (its token is deleted, its queued posts cancelled); its data is purged
/// after the retention period. With one workspace's `SLACK_BOT_TOKEN` there is no
/// install to end: the operator is told in the log, if the event is about our token.
async fn uninstalled(
    ctx: &Context,
    ended: Ended<'_>,
    why: &str,
    sent: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if !ctx.api.is_multi_workspace() {
        let ours = match (ctx.api.home(), ended) {
            (None, _) => true,
            (Some(home), Ended::Workspace(team)) => home.team_id.as_deref() == Some(team),
            (Some(home), Ended::Organisation(org)) => {
                home.team_id.is_none() && home.enterprise_id.as_deref() == Some(org)
            }
        };
        if ours {
            warn!(
                event = why,
                "Slack says the app's token is gone: remove SLACK_BOT_TOKEN or install the app again"
            );
        } else {
            debug!(
                event = why,
                "an uninstall event for another workspace's install"
            );
        }
        return Ok(());
    }
    let workspace = match ended {
        Ended::Organisation(org) => ctx
            .usecases
            .store
            .installation(org)
            .await?
            .filter(|i| i.org_install)
            .map(|i| i.workspace),
        // The workspace's own install only: never its organisation's.
        Ended::Workspace(team) => ctx
            .usecases
            .store
            .installation(team)
            .await?
            .filter(|i| !i.org_install)
            .map(|i| i.workspace),
    };
    if let Some(workspace) = workspace
        && ctx
            .usecases
            .store
            .uninstall(&workspace, why, sent, now)
            .await?
    {
        info!(
            workspace,
            event = why,
            "uninstalled: its work stopped and its token was deleted"
        );
    }
    ctx.api.forget_tokens();
    Ok(())
}

/// An organisation took the app away from some of its workspaces: the org-wide
/// install stops serving them (their queued posts are cancelled); the rest of the
/// organisation goes on.
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
    let revoked = ctx
        .usecases
        .store
        .revoke_team_access(enterprise, &teams, now)
        .await?;
    if !revoked.is_empty() {
        info!(enterprise, teams = ?revoked, "the organisation's install no longer serves these workspaces");
    }
    ctx.api.forget_tokens();
    Ok(())
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
            if !ctx
                .usecases
                .store
                .first_sight_of_event(&event_id, now)
                .await?
            {
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
                        Some(uninstalled(ctx, ended, kind, sent, now).await)
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
                    let _ = ctx.usecases.store.forget_event(&event_id).await;
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
                "message" => thread_reply(ctx, team, &event, now).await,
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
                let _ = ctx.usecases.store.forget_event(&event_id).await;
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
