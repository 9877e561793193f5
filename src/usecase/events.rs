//! What Slack's events change: a ticket's first response seen in its thread, a
//! customer channel archived, renamed or left by the app (its CSM is told), the app
//! uninstalled or its token revoked, an organisation taking the app away from some of
//! its workspaces, and the record of events already handled. The Slack edge parses
//! the event and calls one of these.

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use super::UseCases;
use crate::blocks::channel as render;
use crate::delivery::slack_api::SlackApi;
use crate::delivery::users::Side;
use crate::domain::i18n::Lang;
use crate::domain::roles::{Act, Role};
use crate::domain::ticket::{Writer, thread_message_actions};
use crate::store::audit::{Actor, Source};
use crate::store::outbox::{DirectBody, Enqueue, Post};
use crate::usecase::tickets::{ActError, ticket_of};

/// Whom an uninstall event speaks for: the install it was delivered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended<'a> {
    /// A whole Enterprise Grid organisation's org-wide install (the event has no
    /// `team_id`, or its authorization is the org-wide install's).
    Organisation(&'a str),
    /// One workspace's own install, and nothing else.
    Workspace(&'a str),
}

/// What happened to a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelChange {
    Archived,
    /// The app was removed from it.
    Left,
    /// Its new name.
    Renamed(String),
}

/// A reply in a ticket's thread, as the event says it.
#[derive(Debug, Clone, Copy)]
pub struct ThreadReply<'a> {
    pub channel: &'a str,
    /// The thread's parent message.
    pub thread: &'a str,
    pub user: &'a str,
    /// The workspace of the writer, as the event says (`user_team`), if it does.
    pub user_team: Option<&'a str>,
    /// When it was written.
    pub at: DateTime<Utc>,
}

impl UseCases {
    /// Whether event `event_id` is seen for the first time (Slack retries one it
    /// thinks lost); it is recorded as seen.
    pub async fn first_sight_of_event(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        self.store.first_sight_of_event(event_id, now).await
    }

    /// Event `event_id` was not handled after all: Slack's retry of it is let
    /// through. (Best effort: a failure here only drops the retry.)
    pub async fn forget_event(&self, event_id: &str) {
        let _ = self.store.forget_event(event_id).await;
    }

    /// A message in a ticket's thread (of its message, or of the customer's message it
    /// was opened from) is conversation on the ticket, classified by its writer's side:
    /// staff's reply (a person of this workspace allowed to work tickets, not the
    /// reporter) is the first response, or meets the next response awaited; a
    /// customer-side person's message (the reporter included) reopens the ticket if it
    /// was resolved less than `[intake] reopen_within` ago, resumes it if it waits on
    /// the customer, and, once staff has answered, starts a next-response round.
    /// Whether it changed the ticket.
    pub async fn reply_in_thread(
        &self,
        team: &str,
        reply: ThreadReply<'_>,
        default_role: Role,
    ) -> Result<bool, sqlx::Error> {
        let Some(record) = self
            .store
            .ticket_by_message(team, reply.channel, reply.thread)
            .await?
        else {
            return Ok(false);
        };
        let writer = self
            .writer_of(team, &record.reporter, reply, default_role)
            .await?;
        let ticket = ticket_of(&record);
        let within = self.tickets.policy.intake.reopen_within;
        let mut changed = false;
        for action in thread_message_actions(&ticket, writer, reply.at, within) {
            match self
                .tickets
                .act(
                    team,
                    ticket.id,
                    &action,
                    Actor::new(reply.user, Source::Event),
                    reply.at,
                )
                .await
            {
                Ok(_) => {
                    debug!(ticket = ticket.id, ?action, "conversation in the thread");
                    changed = true;
                }
                Err(ActError::Database(e)) => return Err(e),
                Err(ActError::NotFound | ActError::Refused(_)) => {}
            }
        }
        Ok(changed)
    }

    /// Which side the writer of `reply` is on. A viewer's reply is a comment, not the
    /// support team's answer, and our own reporter's reply answers nobody.
    async fn writer_of(
        &self,
        team: &str,
        reporter: &str,
        reply: ThreadReply<'_>,
        default_role: Role,
    ) -> Result<Writer, sqlx::Error> {
        match self.side_of(team, reply.user, reply.user_team).await? {
            Side::Customer => Ok(Writer::Customer),
            Side::Unknown => Ok(Writer::Other),
            Side::Staff if reply.user == reporter => Ok(Writer::Other),
            Side::Staff => {
                let works_tickets = self
                    .allowed(team, reply.user, Act::WorkTickets, default_role)
                    .await?;
                Ok(if works_tickets.is_ok() {
                    Writer::Staff
                } else {
                    Writer::Other
                })
            }
        }
    }

    /// A customer channel archived, renamed or left by the app: the CSM hears of it
    /// in `lang` (in the outbox, keyed by the event, so once). Nothing for a channel
    /// that is no customer's.
    pub async fn channel_changed(
        &self,
        team: &str,
        channel: &str,
        change: &ChannelChange,
        event_id: &str,
        lang: Lang,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let Some(customer) = self.store.customer_by_channel(team, channel).await? else {
            return Ok(());
        };
        let message = match change {
            ChannelChange::Archived => render::archived(&customer, channel, lang),
            ChannelChange::Left => render::left(&customer, channel, lang),
            ChannelChange::Renamed(new_name) => render::renamed(&customer, new_name, lang),
        };
        let item = Enqueue {
            key: format!("channel-event:{event_id}"),
            team_id: team.to_string(),
            channel_id: customer.csm().to_string(),
            ticket_id: None,
            post: Post::Direct(DirectBody {
                customer_id: Some(customer.id),
                message,
            }),
        };
        self.store.enqueue(&item, now).await
    }

    /// The app was uninstalled, or its bot token revoked: the install the event speaks
    /// for stops (its token is deleted, its queued posts cancelled); its data is
    /// purged after the retention period. With one workspace's `SLACK_BOT_TOKEN` there
    /// is no install to end: the operator is told in the log, if the event is about
    /// our token.
    pub async fn uninstalled(
        &self,
        api: &SlackApi,
        ended: Ended<'_>,
        why: &str,
        sent: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        if !api.is_multi_workspace() {
            let ours = match (api.home(), ended) {
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
            Ended::Organisation(org) => self
                .store
                .installation(org)
                .await?
                .filter(|i| i.org_install)
                .map(|i| i.workspace),
            // The workspace's own install only: never its organisation's.
            Ended::Workspace(team) => self
                .store
                .installation(team)
                .await?
                .filter(|i| !i.org_install)
                .map(|i| i.workspace),
        };
        if let Some(workspace) = workspace
            && self.store.uninstall(&workspace, why, sent, now).await?
        {
            info!(
                workspace,
                event = why,
                "uninstalled: its work stopped and its token was deleted"
            );
        }
        api.forget_tokens();
        Ok(())
    }

    /// An organisation took the app away from workspaces `teams`: the org-wide
    /// install stops serving them (their queued posts are cancelled); the rest of the
    /// organisation goes on.
    pub async fn access_revoked(
        &self,
        api: &SlackApi,
        enterprise: &str,
        teams: &[&str],
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let revoked = self
            .store
            .revoke_team_access(enterprise, teams, now)
            .await?;
        if !revoked.is_empty() {
            info!(enterprise, teams = ?revoked, "the organisation's install no longer serves these workspaces");
        }
        api.forget_tokens();
        Ok(())
    }
}
