//! Intake: a customer's own message becomes a ticket, timed from when it was written.
//! Per customer, one of the modes (`all`: every top-level message of a customer-side
//! person; `reaction`: the intake emoji added by staff; `mention`: a message that
//! mentions the app; `off`). One message is one ticket whatever Slack repeats: the
//! store's unique key on the message decides (see `Store::open_ticket_from`). The
//! ticket's reaction on the customer's message and the reply in its thread are
//! recorded in the outbox with the ticket, so a crash loses neither.
//!
//! The Slack edge (`slack::events`) parses `message`, `app_mention` and
//! `reaction_added` events and calls one of these.

use chrono::{DateTime, Utc};
use tracing::{debug, info};

use super::UseCases;
use crate::blocks::ticket_modal::MAX_SUMMARY_CHARS;
use crate::delivery::slack_api::{ApiError, SlackApi};
use crate::delivery::users::Side;
use crate::domain::customer::Customer;
use crate::domain::intake::{
    is_written_by_a_person, opens_a_ticket, priority_of, readable, summary_of,
    without_leading_mentions, written_at,
};
use crate::domain::policy::IntakeMode;
use crate::domain::ticket::{Action, Ticket};
use crate::store::audit::{Actor, Source};
use crate::store::outbox::{Enqueue, IntakeAckBody, IntakeReactionBody, Post};
use crate::store::tickets::{IntakeOrigin, TicketRecord, intake_key};
use crate::usecase::tickets::ActError;

/// A message as its event says it.
#[derive(Debug, Clone, Copy, Default)]
pub struct IncomingMessage<'a> {
    pub channel: &'a str,
    pub ts: &'a str,
    /// Set for a reply in a thread (different from `ts`) and for a thread's parent.
    pub thread_ts: Option<&'a str>,
    pub user: &'a str,
    /// The author's organisation (Slack Connect: another than ours).
    pub user_team: Option<&'a str>,
    pub text: &'a str,
    pub subtype: Option<&'a str>,
    pub bot_id: Option<&'a str>,
    /// The name of its first file, for a file shared without words.
    pub file_name: Option<&'a str>,
}

/// A reaction added, as its event says it.
#[derive(Debug, Clone, Copy)]
pub struct AddedReaction<'a> {
    /// Who added it.
    pub user: &'a str,
    /// Without colons (a skin tone after `::` is ignored).
    pub emoji: &'a str,
    pub channel: &'a str,
    /// The message it was added to.
    pub ts: &'a str,
}

/// How a message reached intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A `message` event (mode `all`).
    Message,
    /// An `app_mention` event (mode `mention`).
    Mention,
}

/// What intake did with a message or a reaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Intake {
    /// A new ticket.
    Opened(Ticket),
    /// The ticket made from this message before (a retry, a second reaction, …).
    Existing(Ticket),
    /// The resolve emoji resolved this ticket.
    Resolved(Ticket),
    /// Nothing to do, and why (for the log).
    Ignored(&'static str),
}

/// Why intake could not decide now: Slack's retry of the event, or the outbox, gets
/// another chance. Nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// Reading the message back, or the channel, failed in a way worth retrying.
    #[error("Slack: {0}")]
    Slack(#[from] ApiError),
    /// Slack did not say in time whether the author is on the customer's side.
    #[error("the author's side is not known yet")]
    SideUnknown,
}

impl UseCases {
    /// A top-level message (`Via::Message`) or a mention of the app (`Via::Mention`)
    /// in a customer's channel: a ticket when the customer's intake mode says so and
    /// the message says something (not a short acknowledgement, not emoji alone).
    pub async fn intake_message(
        &self,
        team: &str,
        message: &IncomingMessage<'_>,
        via: Via,
        now: DateTime<Utc>,
    ) -> Result<Intake, IntakeError> {
        if !is_written_by_a_person(message.subtype, message.bot_id) || message.user.is_empty() {
            return Ok(Intake::Ignored("not a person's message"));
        }
        let Some(customer) = self
            .store
            .customer_by_channel(team, message.channel)
            .await?
        else {
            debug!(
                channel = message.channel,
                "a message in a channel that is no customer's"
            );
            return Ok(Intake::Ignored("not a customer's channel"));
        };
        let mut mode = self.intake_mode_of(&customer).await?;
        // `auto` reads an unshared channel as `reaction`; a guest or a contact writing
        // in it shows the customer is there, as in a shared channel: `all` then.
        let follows_auto = customer
            .intake_mode
            .unwrap_or(self.tickets.policy.intake.mode)
            == IntakeMode::Auto;
        // The writer's side, once asked (the check below reuses it).
        let mut writer_side = None;
        if via == Via::Message
            && mode == IntakeMode::Reaction
            && follows_auto
            && message.thread_ts.is_none_or(|t| t == message.ts)
        {
            let side = self.side_of(team, message.user, message.user_team).await?;
            writer_side = Some(side);
            if side == Side::Customer {
                mode = IntakeMode::All;
            }
        }
        let wanted = match via {
            Via::Message => IntakeMode::All,
            Via::Mention => IntakeMode::Mention,
        };
        if mode != wanted {
            return Ok(Intake::Ignored("another intake mode"));
        }
        let in_thread = message.thread_ts.filter(|t| *t != message.ts);
        if let Some(thread) = in_thread {
            if via == Via::Message {
                // Conversation: the thread-reply path's.
                return Ok(Intake::Ignored("a reply in a thread"));
            }
            if self
                .store
                .ticket_by_message(team, message.channel, thread)
                .await?
                .is_some()
            {
                return Ok(Intake::Ignored("a mention in a ticket's thread"));
            }
        }
        if via == Via::Message {
            let side = match writer_side {
                Some(side) => side,
                None => self.side_of(team, message.user, message.user_team).await?,
            };
            match side {
                Side::Customer => {}
                Side::Staff => return Ok(Intake::Ignored("staff's message")),
                Side::Unknown => return Err(IntakeError::SideUnknown),
            }
        }
        let said = match via {
            Via::Mention => without_leading_mentions(message.text),
            Via::Message => message.text,
        };
        let text = match (said.trim(), message.file_name) {
            ("", Some(file)) => file.to_string(),
            (text, _) => text.to_string(),
        };
        let shown = readable(&text, &|_| None);
        if !opens_a_ticket(&shown, &self.tickets.policy.intake.acknowledgements) {
            return Ok(Intake::Ignored("an acknowledgement"));
        }
        let thread = in_thread.unwrap_or(message.ts);
        let actor = Actor::new(message.user, Source::Event);
        self.open_from_message(
            &customer,
            message.channel,
            message.ts,
            thread,
            message.user,
            &text,
            actor,
            now,
        )
        .await
    }

    /// A reaction added in a customer's channel: the intake emoji added by staff
    /// makes a ticket of the message (read back from Slack; its author reports it),
    /// the resolve emoji added by staff on a ticket's message resolves the ticket.
    pub async fn intake_reaction(
        &self,
        api: &SlackApi,
        team: &str,
        reaction: &AddedReaction<'_>,
        now: DateTime<Utc>,
    ) -> Result<Intake, IntakeError> {
        let policy = &self.tickets.policy.intake;
        let emoji = reaction.emoji.split("::").next().unwrap_or_default();
        let resolves = emoji == policy.resolve_emoji;
        if emoji != policy.emoji && !resolves {
            return Ok(Intake::Ignored("another emoji"));
        }
        let Some(customer) = self
            .store
            .customer_by_channel(team, reaction.channel)
            .await?
        else {
            return Ok(Intake::Ignored("not a customer's channel"));
        };
        let key = intake_key(reaction.channel, reaction.ts);
        let made = self.store.ticket_by_intake_key(team, &key).await?;
        if !resolves && let Some(made) = &made {
            // The app's own reaction comes back as an event too.
            return Ok(Intake::Existing(super::tickets::ticket_of(made)));
        }
        match self.side_of(team, reaction.user, None).await? {
            Side::Staff => {}
            Side::Customer => return Ok(Intake::Ignored("a customer's reaction")),
            Side::Unknown => return Err(IntakeError::SideUnknown),
        }
        let actor = Actor::new(reaction.user, Source::Event);
        if resolves {
            let ticket = match made {
                Some(made) => Some(made),
                None => {
                    self.store
                        .ticket_by_message(team, reaction.channel, reaction.ts)
                        .await?
                }
            };
            let Some(ticket) = ticket else {
                return Ok(Intake::Ignored("the resolve emoji on no ticket's message"));
            };
            return match self
                .tickets
                .act(team, ticket.id, &Action::Resolve, actor, now)
                .await
            {
                Ok(ticket) => Ok(Intake::Resolved(ticket)),
                Err(ActError::Database(e)) => Err(e.into()),
                Err(ActError::NotFound | ActError::Refused(_)) => {
                    Ok(Intake::Ignored("the ticket cannot be resolved"))
                }
            };
        }
        if self.intake_mode_of(&customer).await? == IntakeMode::Off {
            return Ok(Intake::Ignored("intake is off for this customer"));
        }
        let read = api
            .workspace(team)
            .await?
            .read_message(reaction.channel, reaction.ts)
            .await;
        let message = match read {
            Ok(Some(message)) => message,
            Ok(None) => {
                info!(
                    channel = reaction.channel,
                    ts = reaction.ts,
                    "the intake emoji on a message Slack no longer has; nothing opened"
                );
                return Ok(Intake::Ignored("the message is gone"));
            }
            Err(e) if e.is_retryable() => return Err(e.into()),
            Err(e) => {
                info!(channel = reaction.channel, ts = reaction.ts, error = %e, "the intake emoji on a message the app cannot read; nothing opened");
                return Ok(Intake::Ignored("the message cannot be read"));
            }
        };
        if !is_written_by_a_person(message.subtype.as_deref(), None)
            && message.subtype.as_deref() != Some("bot_message")
        {
            return Ok(Intake::Ignored("not a message"));
        }
        let reporter = message
            .user
            .clone()
            .unwrap_or_else(|| reaction.user.to_string());
        let thread = message
            .thread_ts
            .clone()
            .unwrap_or_else(|| message.ts.clone());
        self.open_from_message(
            &customer,
            reaction.channel,
            reaction.ts,
            &thread,
            &reporter,
            &message.text,
            actor,
            now,
        )
        .await
    }

    /// Opens (once) the ticket of message `ts` of `channel`, timed from when it was
    /// written, with the priority its words raise it to; its reaction and, if the
    /// policy says so, the reply in its thread are recorded with it.
    #[allow(clippy::too_many_arguments)]
    async fn open_from_message(
        &self,
        customer: &Customer,
        channel: &str,
        ts: &str,
        thread: &str,
        reporter: &str,
        text: &str,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Intake, IntakeError> {
        let policy = &self.tickets.policy.intake;
        let summary = summary_of(text, &|_| None, MAX_SUMMARY_CHARS);
        let priority = priority_of(&summary, policy.default_priority, &policy.priority_words);
        let origin = IntakeOrigin {
            key: intake_key(channel, ts),
            thread: Some(thread.to_string()),
            posts: intake_posts(ts, thread, &policy.emoji, policy.acknowledge),
        };
        let (ticket, new) = self
            .tickets
            .open_from(
                customer,
                channel,
                priority,
                &summary,
                reporter,
                written_at(ts, now),
                Some(ts.to_string()),
                Some(&origin),
                actor,
                now,
            )
            .await?;
        Ok(if new {
            Intake::Opened(ticket)
        } else {
            Intake::Existing(ticket)
        })
    }
}

/// The posts a ticket made from message `ts` records with itself: the intake emoji on
/// the message and, with `acknowledge`, the reply in `thread`.
pub fn intake_posts(
    ts: &str,
    thread: &str,
    emoji: &str,
    acknowledge: bool,
) -> Box<crate::store::tickets::OriginPosts> {
    let (ts, thread, emoji) = (ts.to_string(), thread.to_string(), emoji.to_string());
    Box::new(move |ticket: &TicketRecord| {
        let row = |key: String, post: Post| Enqueue {
            key,
            team_id: ticket.team_id.clone(),
            channel_id: ticket.channel_id.clone(),
            ticket_id: Some(ticket.id),
            post,
        };
        let mut posts = vec![row(
            format!("intake:{}:reaction", ticket.id),
            Post::IntakeReaction(IntakeReactionBody {
                ticket_id: ticket.id,
                ts: ts.clone(),
                emoji: emoji.clone(),
            }),
        )];
        if acknowledge {
            posts.push(row(
                format!("intake:{}:ack", ticket.id),
                Post::IntakeAck(IntakeAckBody {
                    ticket_id: ticket.id,
                    thread_ts: thread.clone(),
                }),
            ));
        }
        posts
    })
}
